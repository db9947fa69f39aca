/**
 * The transactional outbox: events are rows written in the same transaction as the state change they
 * describe, and the relay publishes them after commit. An event is never published for a change that
 * rolled back, and never lost for one that committed.
 */
import { randomUUID } from 'node:crypto';
import type { QueryRunner } from 'typeorm';
import { HEADERS } from '@app/contracts';

export interface OutboxEvent {
  exchange: string;
  routingKey: string;
  payload: { eventId?: string } & Record<string, unknown>;
  correlationId?: string;
}

/** `correlationId` stamps every event that has none: everything a message or command causes carries its id. */
export async function writeOutbox(runner: QueryRunner, events: OutboxEvent[], correlationId?: string): Promise<void> {
  if (events.length === 0) return;
  if (correlationId) {
    for (const event of events) {
      event.correlationId ??= correlationId;
      event.payload.correlationId ??= correlationId;
    }
  }
  const values: unknown[] = [];
  const rows = events.map((event, index) => {
    const base = index * 5;
    values.push(
      event.payload.eventId ?? randomUUID(),
      event.exchange,
      event.routingKey,
      JSON.stringify(event.payload),
      JSON.stringify(event.correlationId ? { [HEADERS.correlationId]: event.correlationId } : {}),
    );
    return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5})`;
  });
  await runner.query(
    `INSERT INTO outbox (message_id, exchange, routing_key, payload, headers) VALUES ${rows.join(', ')}`,
    values,
  );
}
