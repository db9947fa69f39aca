/**
 * The transactional outbox: events are rows written in the same transaction as the state change they
 * describe, and the relay publishes them after commit. An event is never published for a change that
 * rolled back, and never lost for one that committed.
 */
import { randomUUID } from 'node:crypto';
import type { QueryRunner } from 'typeorm';
import { EXCHANGES, HEADERS } from '@app/contracts';

export interface OutboxEvent {
  exchange: string;
  routingKey: string;
  payload: { eventId?: string } & Record<string, unknown>;
  correlationId?: string;
}

/** Stamps `correlationId` on every event that has none: everything a message or command causes carries its id. */
export function withCorrelation(events: OutboxEvent[], correlationId: string | undefined): OutboxEvent[] {
  if (!correlationId) return events;
  for (const event of events) {
    event.correlationId ??= correlationId;
    event.payload.correlationId ??= correlationId;
  }
  return events;
}

/**
 * One statement per transaction: the rows go to the outbox in order, and events for an agent's
 * desktop are also kept in the agent event journal, from which a reconnecting desktop is replayed
 * what it missed. Command results are answers to one request, not state, and are not journaled.
 * `correlationId` stamps every event that has none (`withCorrelation`).
 */
export async function writeOutbox(runner: QueryRunner, events: OutboxEvent[], correlationId?: string): Promise<void> {
  if (events.length === 0) return;
  const rows = withCorrelation(events, correlationId).map((event, ord) => ({
    message_id: event.payload.eventId ?? randomUUID(),
    exchange: event.exchange,
    routing_key: event.routingKey,
    payload: event.payload,
    headers: event.correlationId ? { [HEADERS.correlationId]: event.correlationId } : {},
    ord,
  }));
  await runner.query(
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS x(message_id uuid, exchange text, routing_key text, payload jsonb, headers jsonb, ord int)
     ), journal AS (
       INSERT INTO agent_events (event_id, tenant_id, agent_id, type, payload)
       SELECT message_id, payload->>'tenantId', payload->>'agentId', payload->>'type', payload
         FROM input
        WHERE exchange = $2 AND payload->>'type' <> $3 AND payload->>'agentId' IS NOT NULL
        ORDER BY ord
       ON CONFLICT (event_id) DO NOTHING
     )
     INSERT INTO outbox (message_id, exchange, routing_key, payload, headers)
     SELECT message_id, exchange, routing_key, payload, headers FROM input ORDER BY ord`,
    [JSON.stringify(rows), EXCHANGES.agent, 'agent.command-result'],
  );
}
