/**
 * Setting expectations: a waiting customer is told where they stand (position and estimated wait
 * for live channels), when to expect a reply (messaging), or that the team is closed and when it is
 * back. Estimates come from what this queue measured recently, not from a constant: the estimated
 * wait of a live item is its position times the recent average handle time, shared by the agents
 * online for the queue; the expected reply time of a thread is the recent median wait. The notice
 * goes to the channel's adapter on `outbound.<channel>` through the outbox.
 *
 * Each notice also sets when the customer is due the next one (`next_notice_at`): a live customer
 * hears their position again after the queue's notice interval; a messaging customer hears again
 * only once the reply they were promised is late (and no sooner than the queue's expected reply
 * time); a closed queue says so once and speaks again at its reopening. A live item still waiting
 * when its queue closes becomes a thread then, if the queue downgrades live work after hours.
 */
import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { EXCHANGES, routingKeys, type Channel, type CustomerNotice, type NoticeKind } from '@app/contracts';
import type { OutboxEvent } from '../outbox/outbox.writer';
import { businessHoursSchema, isOpen, nextOpening, type BusinessHours } from '../policy/business-hours.policy';
import { RoutingEngine } from './routing-engine';

interface QueuedItem {
  id: string;
  tenant_id: string;
  queue_id: string;
  mode: 'sync' | 'async';
  channel: Channel;
  rank_at: Date;
  address: string;
  thread_key: string;
  expected_reply_s: number;
  notice_interval_s: number;
  business_hours: unknown;
}

/** With no history yet, assume a live contact takes this long to handle. */
const DEFAULT_HANDLE_S = 180;

@Injectable()
export class CustomerNotices {
  private readonly logger = new Logger(CustomerNotices.name);

  constructor(private readonly engine: RoutingEngine) {}

  /** The queue's business hours, or undefined when it has none (always open) or they are unreadable. */
  hoursOf(value: unknown): BusinessHours | undefined {
    if (value === null || value === undefined) return undefined;
    const parsed = businessHoursSchema.safeParse(value);
    if (!parsed.success) {
      this.logger.warn({ problems: parsed.error.issues.length }, 'queue business hours unreadable; treating as always open');
      return undefined;
    }
    return parsed.data;
  }

  isClosed(hours: BusinessHours | undefined): boolean {
    return hours !== undefined && !isOpen(hours, this.engine.now());
  }

  /** Live work in a queue that is closed now, and whose queue turns such work into a thread. */
  async closedAndDowngrades(runner: QueryRunner, conversationId: string): Promise<boolean> {
    const [queue] = await this.engine.query<{ business_hours: unknown; downgrade_to_async: boolean }>(
      runner,
      `SELECT q.business_hours, q.downgrade_to_async FROM conversations c
         JOIN queues q ON q.tenant_id = c.tenant_id AND q.id = c.queue_id
        WHERE c.id = $id AND c.mode = 'sync'`,
      { id: conversationId },
    );
    return queue !== undefined && queue.downgrade_to_async && this.isClosed(this.hoursOf(queue.business_hours));
  }

  /**
   * Tells a waiting customer where they stand, and schedules the next notice. `kind` forces a
   * downgrade notice (the live item just became a thread) or a late-reply notice (a repeat).
   */
  async forQueued(
    runner: QueryRunner,
    conversationId: string,
    events: OutboxEvent[],
    kind?: Extract<NoticeKind, 'downgraded' | 'reply-late'>,
  ): Promise<void> {
    const item = await this.item(runner, conversationId);
    if (!item) return;
    const now = this.engine.now();
    const hours = this.hoursOf(item.business_hours);
    const closed = this.isClosed(hours);
    let next: Date | undefined;
    if (closed || kind === 'downgraded') {
      const opensAt = hours && closed ? nextOpening(hours, now) : undefined;
      const expectedReplyS = await this.expectedReply(runner, item);
      this.push(events, item, closed ? 'after-hours' : 'downgraded', { opensAt: opensAt?.toISOString(), expectedReplyS });
      next = closed ? opensAt : this.afterPromise(now, item, expectedReplyS);
    } else if (item.mode === 'sync') {
      const position = await this.position(runner, item);
      const estimatedWaitS = await this.estimatedWait(runner, item, position);
      this.push(events, item, 'queue-position', { position, estimatedWaitS });
      next = new Date(now.getTime() + item.notice_interval_s * 1000);
    } else {
      const expectedReplyS = await this.expectedReply(runner, item);
      this.push(events, item, kind ?? 'expected-reply', { expectedReplyS });
      next = this.afterPromise(now, item, expectedReplyS);
    }
    await this.engine.query(runner, `UPDATE conversations SET last_notice_at = $now, next_notice_at = $next WHERE id = $id`, {
      id: conversationId,
      next: next ?? null,
    });
  }

  /**
   * A notice that fell due (see `next_notice_at`), unless another replica took it first: a live item
   * in a queue that closed meanwhile becomes a thread when the queue says so (and is routed as one);
   * whatever still waits hears where it stands, or that its reply is late.
   */
  async followUp(runner: QueryRunner, conversationId: string, events: OutboxEvent[]): Promise<void> {
    const [due] = await this.engine.query<{ mode: 'sync' | 'async' }>(
      runner,
      `UPDATE conversations SET next_notice_at = NULL
        WHERE id = $id AND status = 'queued' AND next_notice_at <= $now RETURNING mode`,
      { id: conversationId },
    );
    if (!due) return;
    if (due.mode === 'sync' && (await this.closedAndDowngrades(runner, conversationId))) {
      await this.engine.downgrade(runner, conversationId, 'after-hours', events);
      if ((await this.engine.route(runner, conversationId, 'system', events)).status !== 'queued') return;
      await this.forQueued(runner, conversationId, events);
      return;
    }
    await this.forQueued(runner, conversationId, events, due.mode === 'async' ? 'reply-late' : undefined);
  }

  /** When a thread's promise is late: the reply time it was told, but never sooner than the queue's expected reply time. */
  private afterPromise(now: Date, item: QueuedItem, expectedReplyS: number): Date {
    return new Date(now.getTime() + Math.max(expectedReplyS, item.expected_reply_s) * 1000);
  }

  private async item(runner: QueryRunner, conversationId: string): Promise<QueuedItem | undefined> {
    const found = await this.engine.query<QueuedItem>(
      runner,
      `SELECT c.id, c.tenant_id, c.queue_id, c.mode, c.channel, c.rank_at, c.thread_key, i.address,
              q.expected_reply_s, q.notice_interval_s, q.business_hours
         FROM conversations c
         JOIN channel_identities i ON i.id = c.identity_id
         JOIN queues q ON q.tenant_id = c.tenant_id AND q.id = c.queue_id
        WHERE c.id = $id AND c.status = 'queued'`,
      { id: conversationId },
    );
    return found[0];
  }

  private async position(runner: QueryRunner, item: QueuedItem): Promise<number> {
    const ahead = await this.engine.query<{ n: number }>(
      runner,
      `SELECT count(*)::int AS n FROM conversations
        WHERE tenant_id = $tenant AND queue_id = $queue AND mode = $mode AND status = 'queued' AND rank_at < $rank`,
      { tenant: item.tenant_id, queue: item.queue_id, mode: item.mode, rank: item.rank_at },
    );
    return ahead[0].n + 1;
  }

  private async estimatedWait(runner: QueryRunner, item: QueuedItem, position: number): Promise<number> {
    const stats = await this.engine.query<{ handle_s: number | null; agents: number }>(
      runner,
      `SELECT (SELECT avg(extract(epoch FROM t.closed_at - t.first_assigned_at))
                 FROM (SELECT t.closed_at, t.first_assigned_at FROM conversation_timings t
                         JOIN conversations c ON c.id = t.conversation_id
                        WHERE c.tenant_id = $tenant AND c.queue_id = $queue AND c.mode = 'sync'
                          AND t.closed_at IS NOT NULL AND t.first_assigned_at IS NOT NULL
                        ORDER BY t.closed_at DESC LIMIT 50) t)::float8 AS handle_s,
              (SELECT count(*)::int FROM agents a JOIN queues q ON q.tenant_id = a.tenant_id AND q.id = $queue
                WHERE a.tenant_id = $tenant AND a.presence = 'online' AND q.required_skills <@ a.skills
                  AND (cardinality(a.queue_ids) = 0 OR q.id = ANY (a.queue_ids))) AS agents`,
      { tenant: item.tenant_id, queue: item.queue_id },
    );
    const handleS = stats[0].handle_s ?? DEFAULT_HANDLE_S;
    return Math.ceil((position * handleS) / Math.max(1, stats[0].agents));
  }

  private async expectedReply(runner: QueryRunner, item: QueuedItem): Promise<number> {
    const measured = await this.engine.query<{ wait_s: number | null }>(
      runner,
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY w)::float8 AS wait_s
         FROM (SELECT extract(epoch FROM t.first_assigned_at - t.queued_at) AS w FROM conversation_timings t
                 JOIN conversations c ON c.id = t.conversation_id
                WHERE c.tenant_id = $tenant AND c.queue_id = $queue AND c.mode = 'async'
                  AND t.first_assigned_at IS NOT NULL AND t.first_assigned_at > $now::timestamptz - interval '1 day'
                ORDER BY t.first_assigned_at DESC LIMIT 100) recent`,
      { tenant: item.tenant_id, queue: item.queue_id },
    );
    return Math.ceil(measured[0].wait_s ?? item.expected_reply_s);
  }

  private push(
    events: OutboxEvent[],
    item: QueuedItem,
    kind: NoticeKind,
    fields: { position?: number; estimatedWaitS?: number; expectedReplyS?: number; opensAt?: string },
  ): void {
    const notice: CustomerNotice = {
      version: 1,
      type: 'customer.notice',
      noticeId: randomUUID(),
      occurredAt: this.engine.now().toISOString(),
      tenantId: item.tenant_id,
      conversationId: item.id,
      channel: item.channel,
      to: { address: item.address, ...(item.thread_key ? { threadId: item.thread_key } : {}) },
      kind,
      ...fields,
      text: render(kind, fields),
    };
    events.push({ exchange: EXCHANGES.outbound, routingKey: routingKeys.outbound(item.channel), payload: { eventId: notice.noticeId, ...notice } });
  }
}

function duration(seconds: number): string {
  if (seconds < 90) return 'about a minute';
  if (seconds < 3_600) return `about ${Math.round(seconds / 60)} minutes`;
  if (seconds < 36 * 3_600) return `about ${Math.round(seconds / 3_600)} hours`;
  return `about ${Math.round(seconds / 86_400)} days`;
}

function render(kind: NoticeKind, fields: { position?: number; estimatedWaitS?: number; expectedReplyS?: number; opensAt?: string }): string {
  switch (kind) {
    case 'queue-position':
      return `You are number ${fields.position} in line; the expected wait is ${duration(fields.estimatedWaitS ?? 0)}.`;
    case 'expected-reply':
      return `Thanks for your message. We usually reply within ${duration(fields.expectedReplyS ?? 0)}.`;
    case 'after-hours':
      return fields.opensAt
        ? `We are closed right now and will reply after we reopen at ${fields.opensAt}. You can leave your message here.`
        : 'We are closed right now and will reply as soon as we can. You can leave your message here.';
    case 'downgraded':
      return `No agent is free right now. We will reply here within ${duration(fields.expectedReplyS ?? 0)}; you can close this page.`;
    case 'reply-late':
      return `Sorry for the wait: we have your message and now expect to reply within ${duration(fields.expectedReplyS ?? 0)}.`;
  }
}
