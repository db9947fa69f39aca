/**
 * Publishes what a webhook carried — customer messages as inbound envelopes, delivery statuses —
 * and resolves only when the broker has confirmed every one, so the provider is answered 2xx only
 * for what is durably queued. Envelope ids are derived from the provider id, so a provider's retry
 * publishes the same envelope again and the router stores it once.
 */
import { createHash } from 'node:crypto';
import {
  deliveryStatusSchema,
  EXCHANGES,
  inboundEnvelopeSchema,
  routingKeys,
  type Channel,
  type InboundEnvelope,
} from '@app/contracts';
import type { Publisher } from '@app/messaging';
import type { WebhookOutcome } from './channel-adapter';
import { RecentIds } from './recent-ids';

/** A stable UUID (v5-shaped) for a provider message, so a redelivered webhook keeps its envelope id. */
export function envelopeId(channel: Channel, tenantId: string, providerMessageId: string): string {
  const hex = createHash('sha256').update(`${tenantId}\u0000${channel}\u0000${providerMessageId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export class InboundPublisher {
  private readonly recent = new RecentIds();

  constructor(
    private readonly publisher: Publisher,
    private readonly channel: Channel,
    private readonly tenantId: string,
  ) {}

  /** Returns how many messages were new to this process (the rest were recent duplicates). */
  async publish(outcome: Omit<WebhookOutcome, 'response'>): Promise<{ published: number; duplicates: number }> {
    const now = new Date().toISOString();
    const envelopes: InboundEnvelope[] = [];
    let duplicates = 0;
    for (const message of outcome.messages ?? []) {
      const tenantId = message.tenantId ?? this.tenantId;
      const key = `${tenantId}\u0000${message.provider.messageId}`;
      if (this.recent.has(key)) {
        duplicates += 1;
        continue;
      }
      envelopes.push(
        inboundEnvelopeSchema.parse({
          ...message,
          version: 1,
          tenantId,
          channel: this.channel,
          direction: 'inbound',
          messageId: envelopeId(this.channel, tenantId, message.provider.messageId),
          receivedAt: message.receivedAt ?? now,
        }),
      );
    }
    const statuses = (outcome.statuses ?? []).map((status) =>
      deliveryStatusSchema.parse({ version: 1, tenantId: this.tenantId, channel: this.channel, occurredAt: now, ...status }),
    );
    await Promise.all([
      ...envelopes.map((envelope) =>
        this.publisher.publish(EXCHANGES.inbound, routingKeys.inbound(this.channel), envelope, {
          messageId: envelope.messageId,
          correlationId: envelope.messageId,
        }),
      ),
      ...statuses.map((status) => this.publisher.publish(EXCHANGES.inbound, routingKeys.delivery(this.channel), status)),
    ]);
    for (const envelope of envelopes) this.recent.add(`${envelope.tenantId}\u0000${envelope.provider.messageId}`);
    return { published: envelopes.length, duplicates };
  }
}
