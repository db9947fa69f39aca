/**
 * Sends what the router hands this channel (`outbound.<channel>`): agent replies and customer
 * notices. Each id is sent at most once: a row in `outbound_sends` is claimed before the provider
 * is called and settled after. Temporary failures are retried here with backoff (or after the
 * provider's retry-after) while the delivery stays unacknowledged; when attempts run out, or the
 * provider refuses for good, the reply is reported failed with the reason, which the agent sees.
 * Agent typing is only for live channels and is ignored by the asynchronous ones.
 */
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  customerNoticeSchema,
  deliveryStatusSchema,
  EXCHANGES,
  outboundMessageSchema,
  routingKeys,
  type Channel,
  type DeliveryStatusUpdate,
} from '@app/contracts';
import { PermanentMessageError, Publisher } from '@app/messaging';
import type { AdapterEnv } from './adapter.config';
import { adapterMetrics } from './adapter.metrics';
import { PermanentSendFailure, TemporarySendFailure, type AdapterRuntime, type OutboundItem } from './channel-adapter';

type Claim = { state: 'claimed' } | { state: 'sent'; providerMessageId: string | null } | { state: 'failed' | 'sending' };

export class OutboundWorker {
  private readonly logger = new Logger(OutboundWorker.name);

  constructor(
    private readonly channel: Channel,
    private readonly runtime: AdapterRuntime,
    private readonly dataSource: DataSource,
    private readonly publisher: Publisher,
    private readonly env: AdapterEnv,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  async handle(payload: unknown): Promise<void> {
    const type = (payload as { type?: unknown } | null)?.type;
    if (type === 'agent.typing') return;
    const item = this.parse(type, payload);
    const claim = await this.claim(item);
    if (claim.state === 'sent') {
      // Redelivered after the send was recorded: tell the router again, never the customer.
      if (item.kind === 'reply') await this.report(item, { messageId: item.id, providerMessageId: claim.providerMessageId ?? undefined, status: 'sent' });
      adapterMetrics.sends.inc({ channel: this.channel, kind: item.kind, outcome: 'skipped' });
      return;
    }
    if (claim.state === 'failed') return;
    if (claim.state === 'sending') {
      await this.settle(item, 'failed', null, 'delivery outcome unknown after an interruption; check the conversation and resend if needed');
      return;
    }
    await this.send(item);
  }

  private parse(type: unknown, payload: unknown): OutboundItem {
    if (type === 'agent.reply') {
      const reply = outboundMessageSchema.parse(payload);
      return { kind: 'reply', id: reply.messageId, tenantId: reply.tenantId, conversationId: reply.conversationId, to: reply.to, text: reply.text };
    }
    if (type === 'customer.notice') {
      const notice = customerNoticeSchema.parse(payload);
      return { kind: 'notice', id: notice.noticeId, tenantId: notice.tenantId, conversationId: notice.conversationId, to: notice.to, text: notice.text };
    }
    throw new PermanentMessageError('unknown_outbound_type', `outbound messages of type ${String(type)} are not handled by the ${this.channel} adapter`);
  }

  private async send(item: OutboundItem): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const stop = adapterMetrics.sendSeconds.startTimer({ channel: this.channel });
      try {
        const result = await this.runtime.send(item);
        stop();
        await this.settle(item, 'sent', result.providerMessageId ?? null, null, attempt);
        return;
      } catch (error) {
        stop();
        const permanent = error instanceof PermanentSendFailure;
        if (permanent || attempt >= this.env.SEND_MAX_ATTEMPTS) {
          const reason = permanent ? error.reason : `the provider kept failing (${attempt} attempts): ${(error as Error).message}`;
          await this.settle(item, 'failed', null, reason, attempt);
          return;
        }
        adapterMetrics.sendRetries.inc({ channel: this.channel });
        const backoff = Math.min(this.env.SEND_RETRY_MAX_MS, this.env.SEND_RETRY_BASE_MS * 2 ** (attempt - 1));
        const wait = error instanceof TemporarySendFailure && error.retryAfterMs !== undefined ? error.retryAfterMs : backoff;
        this.logger.warn({ channel: this.channel, id: item.id, attempt, waitMs: wait, err: (error as Error).message }, 'send failed; retrying');
        await this.sleep(Math.min(wait, this.env.SEND_RETRY_MAX_MS));
      }
    }
  }

  private async claim(item: OutboundItem): Promise<Claim> {
    const claimed = (await this.dataSource.query(
      `INSERT INTO outbound_sends (id, channel, kind, state) VALUES ($1, $2, $3, 'sending') ON CONFLICT (id) DO NOTHING RETURNING id`,
      [item.id, this.channel, item.kind],
    )) as unknown[];
    if (claimed.length === 1) return { state: 'claimed' };
    const [existing] = (await this.dataSource.query(`SELECT state, provider_message_id FROM outbound_sends WHERE id = $1`, [item.id])) as Array<{
      state: 'sending' | 'sent' | 'failed';
      provider_message_id: string | null;
    }>;
    return existing.state === 'sent' ? { state: 'sent', providerMessageId: existing.provider_message_id } : { state: existing.state };
  }

  private async settle(item: OutboundItem, state: 'sent' | 'failed', providerMessageId: string | null, reason: string | null, attempts = 0) {
    await this.dataSource.query(
      `UPDATE outbound_sends SET state = $2, provider_message_id = $3, reason = $4, attempts = $5, updated_at = now() WHERE id = $1`,
      [item.id, state, providerMessageId, reason, attempts],
    );
    adapterMetrics.sends.inc({ channel: this.channel, kind: item.kind, outcome: state });
    if (state === 'failed') this.logger.warn({ channel: this.channel, id: item.id, kind: item.kind, reason }, 'outbound message failed');
    if (item.kind === 'reply') {
      await this.report(item, {
        messageId: item.id,
        providerMessageId: providerMessageId ?? undefined,
        status: state,
        reason: reason ?? undefined,
      });
    }
  }

  private async report(
    item: OutboundItem,
    status: Pick<DeliveryStatusUpdate, 'messageId' | 'providerMessageId' | 'status' | 'reason'>,
  ): Promise<void> {
    const update = deliveryStatusSchema.parse({
      version: 1,
      tenantId: item.tenantId,
      channel: this.channel,
      occurredAt: new Date().toISOString(),
      ...Object.fromEntries(Object.entries(status).filter(([, value]) => value !== undefined)),
    });
    await this.publisher.publish(EXCHANGES.inbound, routingKeys.delivery(this.channel), update);
  }
}
