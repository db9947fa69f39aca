/**
 * Delivery statuses of agent replies, reported by the channel adapters. A status only ever moves a
 * message forward (queued → sent → delivered → read; failed only from queued or sent), so statuses
 * that arrive out of order or twice change nothing. The first report that carries the provider's id
 * for a reply records it, so later callbacks that know only that id find the message. The author
 * hears of it on `agent.<author>.delivery`; a bot's reply has no agent author, so its status is only
 * recorded (the history shows it to whoever holds the conversation).
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EXCHANGES, routingKeys, type AgentDeliveryEvent, type DeliveryStatusUpdate } from '@app/contracts';
import { inTransaction, rows } from '@app/persistence';
import { OutboxRelay } from '../outbox/outbox.relay';
import { writeOutbox } from '../outbox/outbox.writer';
import { routerMetrics } from '../router.metrics';

/** Failed ranks between sent and delivered: a message the provider delivered cannot fail afterwards. */
const RANK = `CASE %s WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 WHEN 'failed' THEN 2 WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 END`;
const rank = (expression: string) => RANK.replace('%s', expression);

export type DeliveryOutcome = 'applied' | 'stale' | 'unknown';

interface Updated {
  id: string;
  conversation_id: string;
  author_agent_id: string | null;
  mode: 'sync' | 'async';
}

@Injectable()
export class DeliveryStatusUseCase {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxRelay,
  ) {}

  async apply(update: DeliveryStatusUpdate, correlationId?: string): Promise<DeliveryOutcome> {
    const outcome = await inTransaction(this.dataSource, async (runner) => {
      const match = '(m.id = $3::uuid OR ($3::uuid IS NULL AND m.provider_ref = $4::text))';
      const [updated] = await rows<Updated>(
        runner,
        `UPDATE messages m
            SET delivery_status = $5, delivery_reason = $6, delivery_updated_at = now(),
                provider_ref = COALESCE(m.provider_ref, $4)
           FROM conversations c
          WHERE c.id = m.conversation_id AND m.tenant_id = $1 AND m.channel = $2 AND m.direction = 'outbound'
            AND ${match} AND ${rank('m.delivery_status')} < ${rank('$5::text')}
          RETURNING m.id, m.conversation_id, m.author_agent_id, c.mode`,
        [update.tenantId, update.channel, update.messageId ?? null, update.providerMessageId ?? null, update.status, update.reason ?? null],
      );
      if (!updated) {
        const known = await rows(
          runner,
          `SELECT 1 FROM messages m WHERE m.tenant_id = $1 AND m.channel = $2 AND m.direction = 'outbound' AND ${match}`,
          [update.tenantId, update.channel, update.messageId ?? null, update.providerMessageId ?? null],
        );
        return known.length > 0 ? 'stale' : 'unknown';
      }
      if (updated.author_agent_id === null) return 'applied';
      const event: AgentDeliveryEvent = {
        eventId: randomUUID(),
        type: 'agent.delivery',
        occurredAt: new Date().toISOString(),
        tenantId: update.tenantId,
        conversationId: updated.conversation_id,
        agentId: updated.author_agent_id,
        channel: update.channel,
        messageId: updated.id,
        status: update.status,
        ...(update.reason ? { reason: update.reason } : {}),
      };
      await writeOutbox(
        runner,
        [{ exchange: EXCHANGES.agent, routingKey: routingKeys.agent(updated.author_agent_id, 'delivery'), payload: { ...event, mode: updated.mode } }],
        correlationId,
      );
      return 'applied';
    });
    routerMetrics.deliveryStatuses.inc({ channel: update.channel, status: update.status, outcome });
    if (outcome === 'applied') this.outbox.kick();
    return outcome;
  }
}
