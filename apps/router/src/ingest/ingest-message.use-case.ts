/**
 * Ingests one inbound envelope in one transaction: resolve the customer and their channel identity,
 * continue the open conversation on that identity and thread, reopen a recently closed async thread,
 * or open a new conversation in its queue; store the message once (dedupe on tenant + channel +
 * provider message id); then route: a new or reopened conversation goes to the routing engine (sticky
 * to the customer's last agent), a message on a held thread goes to the holding agent and is never
 * re-routed. Events are written to the outbox in the same transaction; the caller acks only after
 * commit (I4, I7).
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import {
  DEFAULT_CHANNEL_MODE,
  EXCHANGES,
  routingKeys,
  type AgentMessageEvent,
  type ConversationEvent,
  type ConversationEventName,
  type InboundEnvelope,
  type Mode,
} from '@app/contracts';
import { inTransaction, rows } from '@app/persistence';
import { OutboxRelay } from '../outbox/outbox.relay';
import { rankAt } from '../policy/aging.policy';
import { PriorityPolicy } from '../policy/priority.policy';
import { CustomerNotices } from '../routing/customer-notices';
import { QueueResolver } from '../routing/queue-resolver';
import { RoutingEngine } from '../routing/routing-engine';
import { BotFirstUseCase } from '../use-cases/bot-first.use-case';
import { writeOutbox, type OutboxEvent } from '../outbox/outbox.writer';
import { routerMetrics } from '../router.metrics';

export type IngestOutcome =
  | { kind: 'duplicate' }
  | {
      kind: 'stored';
      conversationId: string;
      status: 'queued' | 'offered' | 'assigned' | 'bot';
      agentId?: string;
      opened: 'new' | 'reopened' | 'continued';
    };

interface ConversationRow {
  id: string;
  status: 'bot' | 'queued' | 'offered' | 'assigned';
  mode: Mode;
  assigned_agent_id: string | null;
  customer_id: string;
}

const OPEN_CONVERSATION_COLUMNS = 'id, status, mode, assigned_agent_id, customer_id';

interface ResolvedIdentity {
  id: string;
  customerId: string;
  /** The open conversation on the envelope's thread, locked; undefined when not looked up yet. */
  open: ConversationRow | null | undefined;
}

/** The identity row and, prefixed `c_`, its open conversation's columns (all null when there is none). */
type IdentityWithOpenConversation = { id: string; customer_id: string } & {
  [K in keyof ConversationRow as `c_${K}`]: ConversationRow[K] | null;
};

const threadKeyOf = (envelope: InboundEnvelope) => envelope.provider.threadId ?? '';

class DuplicateMessage extends Error {}

@Injectable()
export class IngestMessageUseCase {
  constructor(
    private readonly dataSource: DataSource,
    private readonly engine: RoutingEngine,
    private readonly queues: QueueResolver,
    private readonly priority: PriorityPolicy,
    private readonly notices: CustomerNotices,
    private readonly bots: BotFirstUseCase,
    private readonly outbox: OutboxRelay,
  ) {}

  async execute(envelope: InboundEnvelope, correlationId: string | undefined): Promise<IngestOutcome> {
    let outcome: IngestOutcome;
    try {
      outcome = await inTransaction(this.dataSource, (runner) => this.ingest(runner, envelope, correlationId));
    } catch (error) {
      if (!(error instanceof DuplicateMessage)) throw error;
      outcome = { kind: 'duplicate' };
    }
    routerMetrics.messages.inc({ channel: envelope.channel, outcome: outcome.kind });
    if (outcome.kind === 'stored' && outcome.status === 'queued' && outcome.opened !== 'continued') {
      outcome = await this.routeAfterCommit(outcome, correlationId);
    }
    if (outcome.kind === 'stored') this.outbox.kick();
    return outcome;
  }

  /**
   * Closes the lost-wakeup window: an agent may have freed capacity while this item was being
   * committed, draining before the item was visible. One more attempt after commit either finds
   * that capacity or waits on the agent row of the transaction still freeing it.
   */
  private async routeAfterCommit(
    outcome: Extract<IngestOutcome, { kind: 'stored' }>,
    correlationId: string | undefined,
  ): Promise<IngestOutcome> {
    const routed = await inTransaction(this.dataSource, async (runner) => {
      const events: OutboxEvent[] = [];
      const result = await this.engine.route(runner, outcome.conversationId, 'router', events);
      await writeOutbox(runner, events, correlationId);
      return result;
    });
    return routed.status === 'queued' ? outcome : { ...outcome, status: routed.status, agentId: routed.agentId };
  }

  private async ingest(
    runner: QueryRunner,
    envelope: InboundEnvelope,
    correlationId: string | undefined,
  ): Promise<IngestOutcome> {
    // No separate duplicate check: a redelivered provider message (or envelope id) conflicts on the
    // message insert below, which rolls the whole transaction back, whatever it changed before.
    const identity = await this.resolveIdentity(runner, envelope);
    let mode = envelope.mode ?? DEFAULT_CHANNEL_MODE[envelope.channel];
    const score = this.priority.score({
      explicitPriority: envelope.priority,
      text: envelope.content.text,
      attributes: envelope.attributes,
    });
    const { conversation, opened } = await this.resolveConversation(runner, envelope, identity, mode, score.priority);

    // The conversation row is locked by now: the sequence number and the message are stored together.
    const inserted = await rows(
      runner,
      `WITH counted AS (
         UPDATE conversations SET message_seq = message_seq + 1, last_message_at = now(), priority = GREATEST(priority, $10),
                updated_at = now()
          WHERE id = $3 RETURNING message_seq)
       INSERT INTO messages (id, tenant_id, conversation_id, channel, direction, sender, provider_message_id,
                             provider_thread_id, body, attachments, attributes, priority, provider_timestamp,
                             received_at, correlation_id, seq)
       SELECT $1, $2, $3, $4, 'inbound', 'customer', $5, $6, $7, $8, $9, $10, $11, $12, $13, counted.message_seq
         FROM counted
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        envelope.messageId,
        envelope.tenantId,
        conversation.id,
        envelope.channel,
        envelope.provider.messageId,
        envelope.provider.threadId ?? null,
        envelope.content.text ?? null,
        JSON.stringify(envelope.content.attachments),
        JSON.stringify(envelope.attributes),
        score.priority,
        envelope.providerTimestamp ?? null,
        envelope.receivedAt,
        correlationId ?? null,
      ],
    );
    // Stored before (a redelivery), or a concurrent delivery of the same provider message won the race.
    if (inserted.length === 0) throw new DuplicateMessage();

    const events: OutboxEvent[] = [];
    const base = {
      occurredAt: this.engine.now().toISOString(),
      tenantId: envelope.tenantId,
      conversationId: conversation.id,
      correlationId,
    };

    if (opened === 'continued') {
      if (conversation.status === 'bot') {
        this.bots.forward(events, { id: conversation.id, tenant_id: envelope.tenantId, channel: envelope.channel }, envelope.messageId);
      } else if (conversation.status === 'assigned' && conversation.assigned_agent_id) {
        const agentId = conversation.assigned_agent_id;
        const event: AgentMessageEvent = {
          ...base,
          eventId: randomUUID(),
          type: 'agent.message',
          agentId,
          channel: envelope.channel,
          messageId: envelope.messageId,
        };
        events.push({ exchange: EXCHANGES.agent, routingKey: routingKeys.agent(agentId, 'message'), payload: event, correlationId });
      }
      await writeOutbox(runner, events, correlationId);
      return {
        kind: 'stored',
        conversationId: conversation.id,
        status: conversation.status,
        agentId: conversation.assigned_agent_id ?? undefined,
        opened,
      };
    }

    const lifecycle = opened === 'new' ? 'conversation.created' : 'conversation.reopened';
    routerMetrics.conversations.inc({ channel: envelope.channel, mode });
    events.push(this.conversationEvent({ ...base, eventId: randomUUID(), type: lifecycle, channel: envelope.channel, mode }));
    await this.engine.audit(
      runner,
      { id: conversation.id, tenant_id: envelope.tenantId, mode },
      null,
      opened === 'new' ? 'enqueue' : 'reopen',
      null,
      'queued',
      'router',
      { priority: score.priority, reasons: score.reasons },
    );
    if (await this.bots.start(runner, conversation.id, envelope.messageId, events)) {
      await writeOutbox(runner, events, correlationId);
      return { kind: 'stored', conversationId: conversation.id, status: 'bot', opened };
    }
    if (mode === 'sync' && (await this.closedAndDowngrades(runner, conversation.id))) {
      if (await this.engine.downgrade(runner, conversation.id, 'after-hours', events)) mode = 'async';
    }
    const routed = await this.engine.route(runner, conversation.id, 'router', events);
    if (routed.status === 'queued') {
      routerMetrics.queued.inc({ mode });
      events.push(this.conversationEvent({ ...base, eventId: randomUUID(), type: 'conversation.queued', channel: envelope.channel, mode }));
      await this.notices.forQueued(runner, conversation.id, events);
    }
    await writeOutbox(runner, events, correlationId);
    return { kind: 'stored', conversationId: conversation.id, status: routed.status, agentId: routed.agentId, opened };
  }

  /** Live work arriving while its queue is closed becomes a message thread, if the queue says so. */
  private async closedAndDowngrades(runner: QueryRunner, conversationId: string): Promise<boolean> {
    const queue = await rows<{ business_hours: unknown; downgrade_to_async: boolean }>(
      runner,
      `SELECT q.business_hours, q.downgrade_to_async FROM conversations c
         JOIN queues q ON q.tenant_id = c.tenant_id AND q.id = c.queue_id WHERE c.id = $1`,
      [conversationId],
    );
    return queue[0].downgrade_to_async && this.notices.isClosed(this.notices.hoursOf(queue[0].business_hours));
  }

  private conversationEvent(event: ConversationEvent): OutboxEvent {
    const name = event.type.slice('conversation.'.length) as ConversationEventName;
    return {
      exchange: EXCHANGES.events,
      routingKey: routingKeys.conversation(name),
      payload: event,
      correlationId: event.correlationId,
    };
  }

  /**
   * The customer's identity on this channel, and — in the same statement — the open conversation on
   * the envelope's thread, locked (`open` is undefined when the identity was only just created, so
   * the conversation is looked up on its own).
   */
  private async resolveIdentity(runner: QueryRunner, envelope: InboundEnvelope): Promise<ResolvedIdentity> {
    const [existing] = await rows<IdentityWithOpenConversation>(
      runner,
      `SELECT i.id, i.customer_id, c.id AS c_id, c.status AS c_status, c.mode AS c_mode,
              c.assigned_agent_id AS c_assigned_agent_id, c.customer_id AS c_customer_id
         FROM channel_identities i
         LEFT JOIN LATERAL (
           SELECT ${OPEN_CONVERSATION_COLUMNS} FROM conversations
            WHERE identity_id = i.id AND thread_key = $4 AND status <> 'closed' FOR UPDATE) c ON true
        WHERE i.tenant_id = $1 AND i.channel = $2 AND i.address = $3`,
      [envelope.tenantId, envelope.channel, envelope.customer.address, threadKeyOf(envelope)],
    );
    if (existing) {
      const open =
        existing.c_id === null
          ? null
          : {
              id: existing.c_id,
              status: existing.c_status!,
              mode: existing.c_mode!,
              assigned_agent_id: existing.c_assigned_agent_id,
              customer_id: existing.c_customer_id!,
            };
      return { id: existing.id, customerId: existing.customer_id, open };
    }

    const customerId = await this.resolveCustomer(runner, envelope);
    const created = await rows<{ id: string }>(
      runner,
      `INSERT INTO channel_identities (id, tenant_id, customer_id, channel, address, display_name)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tenant_id, channel, address) DO NOTHING RETURNING id`,
      [randomUUID(), envelope.tenantId, customerId, envelope.channel, envelope.customer.address, envelope.customer.displayName ?? null],
    );
    if (created[0]) return { id: created[0].id, customerId, open: null };
    // Another delivery created the identity first; use theirs.
    const [winner] = await rows<{ id: string; customer_id: string }>(
      runner,
      `SELECT id, customer_id FROM channel_identities WHERE tenant_id = $1 AND channel = $2 AND address = $3`,
      [envelope.tenantId, envelope.channel, envelope.customer.address],
    );
    if (!winner) throw new Error('channel identity vanished during resolution');
    if (!envelope.customer.customerId) {
      await runner.query(`DELETE FROM customers WHERE id = $1`, [customerId]);
    }
    return { id: winner.id, customerId: winner.customer_id, open: undefined };
  }

  private async resolveCustomer(runner: QueryRunner, envelope: InboundEnvelope): Promise<string> {
    const { customerId: externalId, displayName } = envelope.customer;
    if (externalId) {
      const found = await rows<{ id: string }>(
        runner,
        `INSERT INTO customers (id, tenant_id, external_id, display_name) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, external_id) WHERE external_id IS NOT NULL
         DO UPDATE SET updated_at = now() RETURNING id`,
        [randomUUID(), envelope.tenantId, externalId, displayName ?? null],
      );
      return found[0].id;
    }
    const id = randomUUID();
    await runner.query(`INSERT INTO customers (id, tenant_id, display_name) VALUES ($1, $2, $3)`, [
      id,
      envelope.tenantId,
      displayName ?? null,
    ]);
    return id;
  }

  private async resolveConversation(
    runner: QueryRunner,
    envelope: InboundEnvelope,
    identity: ResolvedIdentity,
    mode: Mode,
    priority: number,
  ): Promise<{ conversation: ConversationRow; opened: 'new' | 'reopened' | 'continued' }> {
    const threadKey = threadKeyOf(envelope);
    const lookup = async () =>
      (
        await rows<ConversationRow>(
          runner,
          `SELECT ${OPEN_CONVERSATION_COLUMNS} FROM conversations
            WHERE identity_id = $1 AND thread_key = $2 AND status <> 'closed' FOR UPDATE`,
          [identity.id, threadKey],
        )
      )[0];
    const open = identity.open === undefined ? await lookup() : identity.open;
    if (open) return { conversation: open, opened: 'continued' };

    const queue = await this.queues.resolve(runner, envelope.tenantId, envelope.channel, envelope.attributes.queue);
    const now = this.engine.now();
    const rank = rankAt(now, priority + queue.base_priority, queue.aging_per_minute);

    // Async threads never really end: a customer who writes again within the window continues
    // the same conversation (and history), routed back to the last agent when they have room.
    const reopened = await rows<ConversationRow>(
      runner,
      `UPDATE conversations c
          SET status = 'queued', queue_id = q.id, queued_at = $3, queue_entered_at = $3, rank_at = $4, closed_at = NULL,
              priority = $5, version = c.version + 1, updated_at = $3
         FROM queues q
        WHERE c.id = (
                SELECT id FROM conversations
                 WHERE identity_id = $1 AND thread_key = $2 AND status = 'closed' AND mode = 'async'
                 ORDER BY closed_at DESC LIMIT 1)
          AND q.tenant_id = c.tenant_id AND q.id = COALESCE(c.queue_id, $6)
          AND c.closed_at > $3::timestamptz - make_interval(secs => q.reopen_window_s)
        RETURNING c.id, c.status, c.mode, c.assigned_agent_id, c.customer_id`,
      [identity.id, threadKey, now, rank, priority, queue.id],
    );
    if (reopened[0]) {
      await this.startTimings(runner, reopened[0].id, now);
      return { conversation: reopened[0], opened: 'reopened' };
    }

    // A new conversation inherits the customer's last agent (any channel) for stickiness.
    const inserted = await rows<ConversationRow>(
      runner,
      `INSERT INTO conversations (id, tenant_id, customer_id, identity_id, channel, thread_key, mode, status, priority,
                                  queue_id, queued_at, queue_entered_at, rank_at, last_message_at, last_agent_id, last_assigned_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $10, $10, $11, $10, prev.last_agent_id, prev.last_assigned_at
         FROM (SELECT NULL) seed
         LEFT JOIN LATERAL (
           SELECT last_agent_id, last_assigned_at FROM conversations
            WHERE customer_id = $3 AND last_agent_id IS NOT NULL
            ORDER BY last_assigned_at DESC NULLS LAST LIMIT 1) prev ON true
       ON CONFLICT (identity_id, thread_key) WHERE status <> 'closed' DO NOTHING
       RETURNING ${OPEN_CONVERSATION_COLUMNS}`,
      [
        randomUUID(),
        envelope.tenantId,
        identity.customerId,
        identity.id,
        envelope.channel,
        threadKey,
        mode,
        priority,
        queue.id,
        now,
        rank,
      ],
    );
    if (inserted[0]) {
      await this.startTimings(runner, inserted[0].id, now);
      return { conversation: inserted[0], opened: 'new' };
    }
    const raced = await lookup();
    if (!raced) throw new Error('open conversation vanished during resolution');
    return { conversation: raced, opened: 'continued' };
  }

  private async startTimings(runner: QueryRunner, conversationId: string, at: Date): Promise<void> {
    await runner.query(
      `INSERT INTO conversation_timings (conversation_id, queued_at) VALUES ($1, $2)
       ON CONFLICT (conversation_id) DO UPDATE SET queued_at = EXCLUDED.queued_at, first_offered_at = NULL,
         first_assigned_at = NULL, first_agent_reply_at = NULL, closed_at = NULL`,
      [conversationId, at],
    );
  }
}
