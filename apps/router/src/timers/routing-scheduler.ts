/**
 * The routing timers, run by every router replica: offer timeouts, presence leases, the offline
 * grace for async threads, wrap-up ends, bot timeouts, max wait (overflow to another queue, or a live item becomes
 * a message thread), notices that fall due for waiting customers (position again, a late reply, a queue that closed), and a sweep that offers each queue's
 * head item again (the safety net for capacity freed while an item was still being committed), and
 * pruning of the agent event journal past its retention. Each
 * due item is handled in its own transaction by a conditional update, so replicas racing for the
 * same item do it once.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import { inTransaction, rows } from '@app/persistence';
import { OutboxRelay } from '../outbox/outbox.relay';
import { writeOutbox, type OutboxEvent } from '../outbox/outbox.writer';
import { ROUTER_CONFIG, type RouterConfig } from '../router.config';
import { Clock } from '../routing/clock';
import { CustomerNotices } from '../routing/customer-notices';
import { RoutingEngine, type ConversationRow } from '../routing/routing-engine';
import { BotFirstUseCase } from '../use-cases/bot-first.use-case';
import { SetPresenceUseCase } from '../use-cases/set-presence.use-case';

const BATCH = 100;
const JOURNAL_PRUNE_EVERY_MS = 60_000;
const JOURNAL_PRUNE_BATCH = 5_000;

@Injectable()
export class RoutingScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RoutingScheduler.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private journalPrunedAt = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly engine: RoutingEngine,
    private readonly presence: SetPresenceUseCase,
    private readonly notices: CustomerNotices,
    private readonly bots: BotFirstUseCase,
    private readonly outbox: OutboxRelay,
    private readonly clock: Clock,
    @Inject(ROUTER_CONFIG) private readonly config: RouterConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.SCHEDULER_INTERVAL_MS === 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => {
        this.running = undefined;
      });
    }, this.config.SCHEDULER_INTERVAL_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every timer; public so tests drive it with a manual clock. */
  async tick(): Promise<void> {
    for (const [name, job] of [
      ['offers', () => this.expireOffers()],
      ['leases', () => this.expireLeases()],
      ['offline-grace', () => this.requeueAfterGrace()],
      ['wrap-up', () => this.endWrapUps()],
      ['bot-timeout', () => this.handOffOverdueBots()],
      ['max-wait', () => this.handleMaxWait()],
      ['notices', () => this.followUpNotices()],
      ['sweep', () => this.sweepQueueHeads()],
      ['journal', () => this.pruneAgentEvents()],
    ] as const) {
      try {
        await job();
      } catch (error) {
        this.logger.warn({ job: name, err: (error as Error).message }, 'routing timer failed; will retry');
      }
    }
    this.outbox.kick();
  }

  private async each<T>(due: T[], work: (runner: QueryRunner, item: T, events: OutboxEvent[]) => Promise<unknown>) {
    for (const item of due) {
      await inTransaction(this.dataSource, async (runner) => {
        const events: OutboxEvent[] = [];
        await work(runner, item, events);
        await writeOutbox(runner, events);
      });
    }
  }

  private async expireOffers(): Promise<void> {
    const due = await this.dataSource.query(
      `SELECT conversation_id, agent_id FROM assignments WHERE state = 'offered' AND expires_at <= $1 ORDER BY expires_at LIMIT ${BATCH}`,
      [this.clock.now()],
    );
    await this.each(due as Array<{ conversation_id: string; agent_id: string }>, (runner, offer, events) =>
      this.engine.withdrawOffer(runner, offer.conversation_id, offer.agent_id, 'timeout', 'system', events),
    );
  }

  private async expireLeases(): Promise<void> {
    const due = await this.dataSource.query(
      `SELECT id FROM agents WHERE presence <> 'offline' AND lease_expires_at <= $1 ORDER BY lease_expires_at LIMIT ${BATCH}`,
      [this.clock.now()],
    );
    await this.each(due as Array<{ id: string }>, (runner, agent, events) => this.presence.expireLease(runner, agent.id, events));
  }

  private async requeueAfterGrace(): Promise<void> {
    const due = await this.dataSource.query(
      `SELECT c.id FROM agents a
         JOIN conversations c ON c.assigned_agent_id = a.id AND c.status = 'assigned' AND c.mode = 'async'
         JOIN queues q ON q.tenant_id = c.tenant_id AND q.id = c.queue_id
        WHERE a.presence = 'offline' AND a.active_async > 0
          AND a.offline_since + make_interval(secs => q.offline_grace_s) <= $1
        LIMIT ${BATCH}`,
      [this.clock.now()],
    );
    await this.each(due as Array<{ id: string }>, async (runner, item, events) => {
      const conversation = await this.engine.lockConversation(runner, item.id);
      if (!conversation || conversation.status !== 'assigned' || !conversation.assigned_agent_id) return;
      const agent = await rows<{ presence: string }>(runner, `SELECT presence FROM agents WHERE id = $1`, [
        conversation.assigned_agent_id,
      ]);
      if (agent[0]?.presence !== 'offline') return;
      await this.engine.requeue(runner, conversation as ConversationRow, { reason: 'agent-offline', action: 'requeue', actor: 'system' }, events);
    });
  }

  private async endWrapUps(): Promise<void> {
    const due = await this.dataSource.query(
      `SELECT id FROM agents WHERE wrap_up_until <= $1 ORDER BY wrap_up_until LIMIT ${BATCH}`,
      [this.clock.now()],
    );
    await this.each(due as Array<{ id: string }>, async (runner, agent, events) => {
      const ended = await this.engine.query(
        runner,
        `UPDATE agents SET wrap_up_until = NULL, idle_since = $now WHERE id = $agent AND wrap_up_until <= $now RETURNING id`,
        { agent: agent.id },
      );
      if (ended.length === 1) await this.engine.drainForAgent(runner, agent.id, 'system', events);
    });
  }

  /** A bot that did not act within its queue's bot timeout hands off automatically. */
  private async handOffOverdueBots(): Promise<void> {
    const due = await inTransaction(this.dataSource, (runner) => this.bots.overdue(runner, BATCH));
    await this.each(due, async (runner, id, events) => {
      const conversation = await this.engine.lockConversation(runner, id);
      if (conversation?.status !== 'bot') return;
      await this.bots.handoff(runner, conversation.tenant_id, id, { attributes: { botTimedOut: true } }, 'system', events);
    });
  }

  /**
   * An item past its queue's max wait moves to the overflow queue (a fresh wait starts there), or —
   * for live work with no overflow — becomes an async thread and the customer is told. Either way
   * the item keeps its place (rank) and its history; an item with nowhere to go stops being checked.
   */
  private async handleMaxWait(): Promise<void> {
    const due = (await this.dataSource.query(
      `SELECT c.id FROM conversations c JOIN queues q ON q.tenant_id = c.tenant_id AND q.id = c.queue_id
        WHERE c.status = 'queued' AND q.max_wait_s IS NOT NULL
          AND c.queue_entered_at + make_interval(secs => q.max_wait_s) <= $1
        LIMIT ${BATCH}`,
      [this.clock.now()],
    )) as Array<{ id: string }>;
    await this.each(due, async (runner, item, events) => {
      const conversation = await this.engine.lockConversation(runner, item.id);
      if (!conversation || conversation.status !== 'queued') return;
      const queue = (
        await rows<{ overflow_queue_id: string | null; downgrade_to_async: boolean; max_wait_s: number }>(
          runner,
          `SELECT overflow_queue_id, downgrade_to_async, max_wait_s FROM queues WHERE tenant_id = $1 AND id = $2`,
          [conversation.tenant_id, conversation.queue_id],
        )
      )[0];
      if (queue.overflow_queue_id) {
        const moved = await this.engine.transition(runner, conversation.id, 'queued', 'queued', { queueId: queue.overflow_queue_id });
        await this.engine.audit(runner, moved, null, 'overflow', 'queued', 'queued', 'system', {
          from: conversation.queue_id,
          to: queue.overflow_queue_id,
        });
      } else if (conversation.mode === 'sync' && queue.downgrade_to_async) {
        await this.engine.downgrade(runner, conversation.id, 'max-wait', events);
        await this.notices.forQueued(runner, conversation.id, events, 'downgraded');
      } else {
        await this.engine.query(runner, `UPDATE conversations SET queue_entered_at = NULL WHERE id = $id`, { id: conversation.id });
        return;
      }
      await this.engine.route(runner, conversation.id, 'system', events);
    });
  }

  /** Waiting customers due a notice (see `CustomerNotices.followUp`), in the order they fell due. */
  private async followUpNotices(): Promise<void> {
    const due = (await this.dataSource.query(
      `SELECT id FROM conversations WHERE status = 'queued' AND next_notice_at <= $1 ORDER BY next_notice_at LIMIT ${BATCH}`,
      [this.clock.now()],
    )) as Array<{ id: string }>;
    await this.each(due, (runner, item, events) => this.notices.followUp(runner, item.id, events));
  }

  private async sweepQueueHeads(): Promise<void> {
    for (let round = 0; round < 10; round += 1) {
      const heads = (await this.dataSource.query(
        `SELECT DISTINCT ON (tenant_id, queue_id, mode) id FROM conversations
          WHERE status = 'queued' ORDER BY tenant_id, queue_id, mode, rank_at LIMIT ${BATCH}`,
      )) as Array<{ id: string }>;
      let routed = 0;
      await this.each(heads, async (runner, head, events) => {
        const result = await this.engine.route(runner, head.id, 'system', events);
        if (result.status !== 'queued') routed += 1;
      });
      if (routed === 0) return;
    }
  }

  /** Once a minute, in bounded batches so a large backlog never holds one long transaction. */
  private async pruneAgentEvents(): Promise<void> {
    const now = this.clock.now();
    if (now.getTime() - this.journalPrunedAt < JOURNAL_PRUNE_EVERY_MS) return;
    this.journalPrunedAt = now.getTime();
    const cutoff = new Date(now.getTime() - this.config.AGENT_EVENT_RETENTION_H * 3_600_000);
    let deleted: number;
    do {
      const result = (await this.dataSource.query(
        `WITH old AS (SELECT seq FROM agent_events WHERE created_at < $1 ORDER BY seq LIMIT ${JOURNAL_PRUNE_BATCH})
         DELETE FROM agent_events e USING old WHERE e.seq = old.seq RETURNING e.seq`,
        [cutoff],
      )) as [unknown[], number];
      deleted = result[1];
    } while (deleted === JOURNAL_PRUNE_BATCH);
  }
}
