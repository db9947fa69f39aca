/**
 * Ingests one inbound envelope in one transaction: resolve the customer and their channel identity,
 * continue the open conversation on that identity and thread, reopen a recently closed async thread,
 * or open a new conversation in its queue; store the message once (dedupe on tenant + channel +
 * provider message id); then route: a new or reopened conversation goes to the routing engine (sticky
 * to the customer's last agent), a message on a held thread goes to the holding agent and is never
 * re-routed. Events are written to the outbox in the same transaction; the caller acks only after
 * commit (I4, I7).
 *
 * Under load, envelopes come in batches (`executeBatch`, fed by `IngestBatcher`): one transaction for
 * the batch, one statement that looks up every envelope's identity and open conversation and whether
 * it was stored before, one that locks those conversations (skipping any another transaction holds:
 * their envelopes run on their own after the batch), one that stores every follow-up; the rest (new
 * and reopened conversations) take the single-envelope path inside the same transaction, and one
 * outbox write carries every event. Whatever fails in a batch — a duplicate that
 * raced in, a deadlock after the retries, a row lock held too long (a batch never waits long for
 * one: `limitLockWaits`), one bad envelope — rolls the batch back and each envelope runs again on
 * its own, so one message never fails another.
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
import { afterCommit, inTransaction, rows } from '@app/persistence';
import { BatcherClosed, limitLockWaits, settle, type Settled } from '../batching/batcher';
import { OutboxRelay } from '../outbox/outbox.relay';
import { rankAt } from '../policy/aging.policy';
import { PriorityPolicy } from '../policy/priority.policy';
import { CustomerNotices } from '../routing/customer-notices';
import { QueueResolver } from '../routing/queue-resolver';
import {
  CONVERSATION_COLUMNS,
  RoutingEngine,
  type ConversationRow as RoutableConversation,
  type RouteResult,
} from '../routing/routing-engine';
import { BotFirstUseCase } from '../use-cases/bot-first.use-case';
import { withCorrelation, writeOutbox, type OutboxEvent } from '../outbox/outbox.writer';
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
const ROUTABLE_COLUMNS_OF_C = CONVERSATION_COLUMNS.split(', ')
  .map((column) => `c.${column}`)
  .join(', ');

/** A new or reopened conversation, as the routing engine reads it (locked by this transaction). */
type OpenedConversation = ConversationRow & RoutableConversation;

interface ResolvedIdentity {
  id: string;
  customerId: string;
  /** The open conversation on the envelope's thread, locked; undefined when not looked up yet. */
  open: ConversationRow | null | undefined;
  /** Created by this transaction: it has no conversations, closed or open. */
  fresh: boolean;
}

/** The identity row and, prefixed `c_`, its open conversation's columns (all null when there is none). */
type IdentityWithOpenConversation = { id: string; customer_id: string } & {
  [K in keyof ConversationRow as `c_${K}`]: ConversationRow[K] | null;
};

const threadKeyOf = (envelope: InboundEnvelope) => envelope.provider.threadId ?? '';

export interface IngestRequest {
  envelope: InboundEnvelope;
  correlationId: string | undefined;
}

export type IngestSettled = Settled<IngestOutcome>;

/** What the batch lookup finds for one envelope (by its index in the batch). */
interface BatchLookupRow {
  ord: number;
  identity_id: string | null;
  customer_id: string | null;
  duplicate: boolean;
  c_id: string | null;
}

type LockedConversation = Pick<ConversationRow, 'id' | 'status' | 'assigned_agent_id'>;

/**
 * Every envelope's identity and open conversation on its thread, and whether its message was stored
 * before; read without locks (`LOCK_OPEN` locks what is found, in id order).
 */
const BATCH_LOOKUP = `
  SELECT x.ord, i.id AS identity_id, i.customer_id, c.id AS c_id,
         (EXISTS (SELECT 1 FROM messages m WHERE m.id = x.message_id)
          OR EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = x.tenant_id AND m.channel = x.channel
                                                AND m.provider_message_id = x.provider_message_id)) AS duplicate
    FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[])
      AS x(ord, tenant_id, channel, address, thread_key, message_id, provider_message_id)
    LEFT JOIN channel_identities i ON i.tenant_id = x.tenant_id AND i.channel = x.channel AND i.address = x.address
    LEFT JOIN LATERAL (
      SELECT id FROM conversations
       WHERE identity_id = i.id AND thread_key = x.thread_key AND status <> 'closed') c ON true`;

/**
 * Locks the open conversations the lookup found, as they are now, skipping any another transaction
 * holds: a batch never waits for another while holding its own locks. The envelopes of a skipped
 * conversation (or of one closed meanwhile) are handled on their own after the batch.
 */
const LOCK_OPEN = `
  SELECT id, status, assigned_agent_id FROM conversations
   WHERE id = ANY ($1::uuid[]) AND status <> 'closed'
   ORDER BY id FOR NO KEY UPDATE SKIP LOCKED`;

/**
 * Stores follow-ups on open conversations (already locked): each conversation's sequence moves on by
 * its number of messages, and its messages take the numbers in arrival order. Messages of one batch
 * share the transaction's time, so each is a microsecond after the one before, keeping history order.
 */
/**
 * The rank of a waiting conversation `c` when a new customer message brings priority `priority`: as
 * if it had entered its queue with it (see aging.policy: rankAt), and never worse than before — an
 * upset follow-up moves a waiting item up, a calm one leaves it where it was. The queue is read only
 * then, so an ordinary follow-up costs nothing more.
 */
const raisedRank = (priority: string) => `CASE WHEN c.status = 'queued' AND ${priority} > c.priority
    THEN LEAST(c.rank_at, (SELECT c.queued_at - make_interval(secs => (${priority} + q.base_priority)::float8 * 60 / q.aging_per_minute)
                             FROM queues q WHERE q.tenant_id = c.tenant_id AND q.id = c.queue_id))
    ELSE c.rank_at END`;

/**
 * A customer message to a bot starts the bot's clock unless one is running: the bot must answer
 * within its queue's bot timeout from the first message it has not answered (`bot.reply` stops the
 * clock), so a bot in a long exchange keeps the conversation, and one that went silent is timed out
 * however often the customer writes meanwhile.
 */
const botClock = (now: string) => `CASE WHEN c.status = 'bot' AND c.bot_until IS NULL
    THEN ${now}::timestamptz + (SELECT make_interval(secs => q.bot_timeout_s) FROM queues q WHERE q.tenant_id = c.tenant_id AND q.id = c.queue_id)
    ELSE c.bot_until END`;

const STORE_FOLLOW_UPS = `
  WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
      ord int, id uuid, tenant_id text, conversation_id uuid, channel text, provider_message_id text,
      provider_thread_id text, body text, attachments jsonb, attributes jsonb, priority int,
      provider_timestamp timestamptz, received_at timestamptz, correlation_id text)
  ), numbered AS (
    SELECT x.*, row_number() OVER (PARTITION BY conversation_id ORDER BY ord)::int AS n,
           count(*) OVER (PARTITION BY conversation_id)::int AS total,
           max(priority) OVER (PARTITION BY conversation_id) AS top,
           row_number() OVER (ORDER BY ord) - 1 AS step
      FROM input x
  ), counted AS (
    UPDATE conversations c
       SET message_seq = c.message_seq + n.total, last_message_at = now(), priority = GREATEST(c.priority, n.top),
           rank_at = ${raisedRank('n.top')}, bot_until = ${botClock('$2')}, updated_at = now()
      FROM numbered n
     WHERE n.n = 1 AND c.id = n.conversation_id
    RETURNING c.id, c.message_seq
  )
  INSERT INTO messages (id, tenant_id, conversation_id, channel, direction, sender, provider_message_id,
                        provider_thread_id, body, attachments, attributes, priority, provider_timestamp,
                        received_at, correlation_id, seq, created_at)
  SELECT n.id, n.tenant_id, n.conversation_id, n.channel, 'inbound', 'customer', n.provider_message_id,
         n.provider_thread_id, n.body, n.attachments, n.attributes, n.priority, n.provider_timestamp,
         n.received_at, n.correlation_id, counted.message_seq - n.total + n.n, now() + make_interval(secs => n.step / 1e6)
    FROM numbered n JOIN counted ON counted.id = n.conversation_id
   ORDER BY n.ord
  ON CONFLICT DO NOTHING RETURNING id`;

/** One customer's thread on one channel: the envelopes that continue the same conversation. */
const threadOf = (envelope: InboundEnvelope): string =>
  [envelope.tenantId, envelope.channel, envelope.customer.address, threadKeyOf(envelope)].join('\u0000');

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
      outcome = await inTransaction(this.dataSource, async (runner) => {
        const events: OutboxEvent[] = [];
        const stored = await this.ingest(runner, envelope, correlationId, events);
        await writeOutbox(runner, events, correlationId);
        return stored;
      });
    } catch (error) {
      if (!(error instanceof DuplicateMessage)) throw error;
      outcome = { kind: 'duplicate' };
    }
    // An envelope with an outcome is always settled.
    const settled = (await this.afterCommit([{ envelope, correlationId }], [outcome]))[0] as IngestSettled;
    if (!settled.ok) throw settled.error;
    return settled.outcome;
  }

  /**
   * Several envelopes in one transaction (see the file's comment). Settles each envelope on its own:
   * the batch commits whole, or every envelope runs again through `execute` and succeeds or fails alone.
   */
  async executeBatch(requests: IngestRequest[], closing: () => boolean = () => false): Promise<IngestSettled[]> {
    if (requests.length === 1) return [await settle(this.execute(requests[0].envelope, requests[0].correlationId))];
    routerMetrics.ingestBatchSize.observe(requests.length);
    let outcomes: Array<IngestOutcome | undefined>;
    try {
      outcomes = await inTransaction(this.dataSource, (runner) => this.ingestBatch(runner, requests));
    } catch {
      routerMetrics.ingestBatchFallbacks.inc();
      // Shutting down: nothing of the batch was written; its messages go back to the broker.
      if (closing()) return requests.map(() => ({ ok: false, error: new BatcherClosed() }));
      return Promise.all(requests.map((request) => settle(this.execute(request.envelope, request.correlationId))));
    }
    const settled = await this.afterCommit(requests, outcomes);
    // Envelopes whose conversation another transaction held: each thread's in arrival order, the
    // threads side by side (a held thread must not hold up the others, nor a shutdown's drain).
    const deferred = new Map<string, number[]>();
    outcomes.forEach((outcome, index) => {
      if (outcome) return;
      const thread = threadOf(requests[index].envelope);
      deferred.set(thread, [...(deferred.get(thread) ?? []), index]);
    });
    await Promise.all(
      [...deferred.values()].map(async (indexes) => {
        for (const index of indexes) {
          settled[index] = await settle(this.execute(requests[index].envelope, requests[index].correlationId));
        }
      }),
    );
    return settled as IngestSettled[];
  }

  /**
   * After commit: counts outcomes, then gives new and reopened conversations still queued one more
   * routing attempt, all in one transaction. That closes the lost-wakeup window: an agent may have
   * freed capacity while the items were being committed, draining before they were visible. One more
   * attempt either finds that capacity or waits on the agent row of the transaction still freeing it.
   * If that attempt fails, the envelopes it was for fail (their redelivery finds them stored).
   * Envelopes without an outcome (left to run on their own) stay unsettled.
   */
  private async afterCommit(
    requests: IngestRequest[],
    outcomes: Array<IngestOutcome | undefined>,
  ): Promise<Array<IngestSettled | undefined>> {
    const settled = outcomes.map((outcome): IngestSettled | undefined => outcome && { ok: true, outcome });
    const waiting: number[] = [];
    outcomes.forEach((outcome, index) => {
      if (!outcome) return;
      routerMetrics.messages.inc({ channel: requests[index].envelope.channel, outcome: outcome.kind });
      if (outcome.kind === 'stored' && outcome.status === 'queued' && outcome.opened !== 'continued') waiting.push(index);
    });
    if (waiting.length > 0) {
      try {
        const routed = await inTransaction(this.dataSource, async (runner) => {
          const events: OutboxEvent[] = [];
          const results: RouteResult[] = [];
          for (const index of waiting) {
            const own: OutboxEvent[] = [];
            const outcome = outcomes[index] as Extract<IngestOutcome, { kind: 'stored' }>;
            results.push(await this.engine.route(runner, outcome.conversationId, 'router', own));
            events.push(...withCorrelation(own, requests[index].correlationId));
          }
          await writeOutbox(runner, events);
          return results;
        });
        waiting.forEach((index, at) => {
          const result = routed[at];
          const outcome = outcomes[index] as Extract<IngestOutcome, { kind: 'stored' }>;
          if (result.status !== 'queued') settled[index] = { ok: true, outcome: { ...outcome, status: result.status, agentId: result.agentId } };
        });
      } catch (error) {
        for (const index of waiting) settled[index] = { ok: false, error };
      }
    }
    if (outcomes.some((outcome) => outcome?.kind === 'stored')) this.outbox.kick();
    return settled;
  }

  /** The outcome of each envelope, or undefined for one left to run on its own after the batch. */
  private async ingestBatch(runner: QueryRunner, requests: IngestRequest[]): Promise<Array<IngestOutcome | undefined>> {
    await limitLockWaits(runner);
    const column = <T>(pick: (envelope: InboundEnvelope) => T) => requests.map(({ envelope }) => pick(envelope));
    const found = await rows<BatchLookupRow>(runner, BATCH_LOOKUP, [
      requests.map((_, index) => index),
      column((envelope) => envelope.tenantId),
      column((envelope) => envelope.channel),
      column((envelope) => envelope.customer.address),
      column(threadKeyOf),
      column((envelope) => envelope.messageId),
      column((envelope) => envelope.provider.messageId),
    ]);
    const byIndex = new Map(found.map((row) => [row.ord, row]));
    const open = [...new Set(found.flatMap((row) => (row.c_id ? [row.c_id] : [])))].sort();
    const locked = new Map(
      open.length === 0 ? [] : (await rows<LockedConversation>(runner, LOCK_OPEN, [open])).map((row) => [row.id, row]),
    );

    const outcomes = new Array<IngestOutcome | undefined>(requests.length);
    const followUps: Array<{ index: number; conversation: LockedConversation }> = [];
    const others: number[] = [];
    const seen = new Set<string>();
    // Arrival order from here on: one conversation's messages are numbered as they came.
    for (let index = 0; index < requests.length; index += 1) {
      const { envelope } = requests[index];
      const row = byIndex.get(index);
      if (!row) throw new Error(`batch lookup returned no row for envelope ${index}`);
      const keys = [envelope.messageId, `${envelope.tenantId}\u0000${envelope.channel}\u0000${envelope.provider.messageId}`];
      if (row.duplicate || keys.some((key) => seen.has(key))) {
        outcomes[index] = { kind: 'duplicate' };
        continue;
      }
      for (const key of keys) seen.add(key);
      if (!row.c_id) others.push(index);
      else if (locked.has(row.c_id)) followUps.push({ index, conversation: locked.get(row.c_id)! });
    }

    const events: OutboxEvent[] = [];
    if (followUps.length > 0) await this.storeFollowUps(runner, requests, followUps, outcomes, events);
    for (const index of others) {
      const { envelope, correlationId } = requests[index];
      const own: OutboxEvent[] = [];
      // The lookup found no open conversation: only the identity (if any) is left to resolve.
      const row = byIndex.get(index)!;
      const known = row.identity_id ? { id: row.identity_id, customerId: row.customer_id!, open: null, fresh: false } : undefined;
      outcomes[index] = await this.ingest(runner, envelope, correlationId, own, known);
      events.push(...withCorrelation(own, correlationId));
    }
    await writeOutbox(runner, events);
    return outcomes;
  }

  private async storeFollowUps(
    runner: QueryRunner,
    requests: IngestRequest[],
    followUps: Array<{ index: number; conversation: LockedConversation }>,
    outcomes: Array<IngestOutcome | undefined>,
    events: OutboxEvent[],
  ): Promise<void> {
    const input = followUps.map(({ index, conversation }) => {
      const { envelope, correlationId } = requests[index];
      return {
        ord: index,
        id: envelope.messageId,
        tenant_id: envelope.tenantId,
        conversation_id: conversation.id,
        channel: envelope.channel,
        provider_message_id: envelope.provider.messageId,
        provider_thread_id: envelope.provider.threadId ?? null,
        body: envelope.content.text ?? null,
        attachments: envelope.content.attachments,
        attributes: envelope.attributes,
        priority: this.scoreOf(envelope).priority,
        provider_timestamp: envelope.providerTimestamp ?? null,
        received_at: envelope.receivedAt,
        correlation_id: correlationId ?? null,
      };
    });
    const inserted = await rows<{ id: string }>(runner, STORE_FOLLOW_UPS, [JSON.stringify(input), this.engine.now()]);
    // A concurrent delivery of one of these messages won the race: the batch falls back to one by one.
    if (inserted.length !== input.length) throw new DuplicateMessage();
    for (const { index, conversation } of followUps) {
      const { envelope, correlationId } = requests[index];
      const own: OutboxEvent[] = [];
      this.announceFollowUp(own, envelope, conversation, correlationId);
      events.push(...withCorrelation(own, correlationId));
      outcomes[index] = {
        kind: 'stored',
        conversationId: conversation.id,
        status: conversation.status,
        agentId: conversation.assigned_agent_id ?? undefined,
        opened: 'continued',
      };
    }
  }

  /** A customer message on an open conversation goes to whoever holds it: the bot, or the agent. */
  private announceFollowUp(
    events: OutboxEvent[],
    envelope: InboundEnvelope,
    conversation: Pick<ConversationRow, 'id' | 'status' | 'assigned_agent_id'>,
    correlationId: string | undefined,
  ): void {
    if (conversation.status === 'bot') {
      this.bots.forward(events, { id: conversation.id, tenant_id: envelope.tenantId, channel: envelope.channel }, envelope.messageId);
      return;
    }
    if (conversation.status !== 'assigned' || !conversation.assigned_agent_id) return;
    const agentId = conversation.assigned_agent_id;
    const event: AgentMessageEvent = {
      eventId: randomUUID(),
      occurredAt: this.engine.now().toISOString(),
      tenantId: envelope.tenantId,
      conversationId: conversation.id,
      correlationId,
      type: 'agent.message',
      agentId,
      channel: envelope.channel,
      messageId: envelope.messageId,
    };
    events.push({ exchange: EXCHANGES.agent, routingKey: routingKeys.agent(agentId, 'message'), payload: event, correlationId });
  }

  private scoreOf(envelope: InboundEnvelope) {
    return this.priority.score({
      explicitPriority: envelope.priority,
      text: envelope.content.text,
      attributes: envelope.attributes,
    });
  }

  private async ingest(
    runner: QueryRunner,
    envelope: InboundEnvelope,
    correlationId: string | undefined,
    events: OutboxEvent[],
    known?: ResolvedIdentity,
  ): Promise<IngestOutcome> {
    // No separate duplicate check: a redelivered provider message (or envelope id) conflicts on the
    // message insert below, which rolls the whole transaction back, whatever it changed before.
    const identity = known ?? (await this.resolveIdentity(runner, envelope));
    let mode = envelope.mode ?? DEFAULT_CHANNEL_MODE[envelope.channel];
    const score = this.scoreOf(envelope);
    const { conversation, opened, botFirst, routable } = await this.resolveConversation(runner, envelope, identity, mode, score.priority);

    // The conversation row is locked by now: the sequence number and the message are stored together.
    const inserted = await rows(
      runner,
      `WITH counted AS (
         UPDATE conversations c
            SET message_seq = c.message_seq + 1, last_message_at = now(), priority = GREATEST(c.priority, $10),
                rank_at = ${raisedRank('$10')}, bot_until = ${botClock('$14')}, updated_at = now()
          WHERE c.id = $3 RETURNING c.message_seq)
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
        this.engine.now(),
      ],
    );
    // Stored before (a redelivery), or a concurrent delivery of the same provider message won the race.
    if (inserted.length === 0) throw new DuplicateMessage();

    const base = {
      occurredAt: this.engine.now().toISOString(),
      tenantId: envelope.tenantId,
      conversationId: conversation.id,
      correlationId,
    };

    if (opened === 'continued') {
      this.announceFollowUp(events, envelope, conversation, correlationId);
      return {
        kind: 'stored',
        conversationId: conversation.id,
        status: conversation.status,
        agentId: conversation.assigned_agent_id ?? undefined,
        opened,
      };
    }

    const lifecycle = opened === 'new' ? 'conversation.created' : 'conversation.reopened';
    const created = { channel: envelope.channel, mode };
    afterCommit(runner, () => routerMetrics.conversations.inc(created));
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
    if (botFirst && (await this.bots.start(runner, conversation.id, envelope.messageId, events))) {
      return { kind: 'stored', conversationId: conversation.id, status: 'bot', opened };
    }
    let downgraded = false;
    if (mode === 'sync' && (await this.notices.closedAndDowngrades(runner, conversation.id))) {
      downgraded = await this.engine.downgrade(runner, conversation.id, 'after-hours', events);
      if (downgraded) mode = 'async';
    }
    const routed = await this.engine.route(runner, conversation.id, 'router', events, {
      locked: downgraded ? undefined : routable,
    });
    if (routed.status === 'queued') {
      const queued = { mode };
      afterCommit(runner, () => routerMetrics.queued.inc(queued));
      events.push(this.conversationEvent({ ...base, eventId: randomUUID(), type: 'conversation.queued', channel: envelope.channel, mode }));
      await this.notices.forQueued(runner, conversation.id, events);
    }
    return { kind: 'stored', conversationId: conversation.id, status: routed.status, agentId: routed.agentId, opened };
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
      return { id: existing.id, customerId: existing.customer_id, open, fresh: false };
    }

    const customerId = await this.resolveCustomer(runner, envelope);
    const created = await rows<{ id: string }>(
      runner,
      `INSERT INTO channel_identities (id, tenant_id, customer_id, channel, address, display_name)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tenant_id, channel, address) DO NOTHING RETURNING id`,
      [randomUUID(), envelope.tenantId, customerId, envelope.channel, envelope.customer.address, envelope.customer.displayName ?? null],
    );
    if (created[0]) return { id: created[0].id, customerId, open: null, fresh: true };
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
    return { id: winner.id, customerId: winner.customer_id, open: undefined, fresh: false };
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
  ): Promise<{
    conversation: ConversationRow;
    opened: 'new' | 'reopened' | 'continued';
    botFirst: boolean;
    /** New and reopened conversations: the whole row, so routing does not read it again. */
    routable?: OpenedConversation;
  }> {
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
    if (open) return { conversation: open, opened: 'continued', botFirst: false };

    const queue = await this.queues.resolve(runner, envelope.tenantId, envelope.channel, envelope.attributes.queue);
    const now = this.engine.now();
    const rank = rankAt(now, priority + queue.base_priority, queue.aging_per_minute);

    // Async threads never really end: a customer who writes again within the window continues
    // the same conversation (and history), routed back to the last agent when they have room.
    const reopened = identity.fresh ? [] : await rows<OpenedConversation & { bot_first: boolean }>(
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
        RETURNING ${ROUTABLE_COLUMNS_OF_C}, q.bot_first`,
      [identity.id, threadKey, now, rank, priority, queue.id],
    );
    if (reopened[0]) {
      const { bot_first: botFirst, ...conversation } = reopened[0];
      await this.startTimings(runner, conversation.id, now);
      return { conversation, opened: 'reopened', botFirst, routable: conversation };
    }

    // A new conversation inherits the customer's last agent (any channel) for stickiness.
    const inserted = await rows<OpenedConversation>(
      runner,
      `WITH inserted AS (
       INSERT INTO conversations (id, tenant_id, customer_id, identity_id, channel, thread_key, mode, status, priority,
                                  queue_id, queued_at, queue_entered_at, rank_at, last_message_at, last_agent_id, last_assigned_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $10, $10, $11, $10, prev.last_agent_id, prev.last_assigned_at
         FROM (SELECT NULL) seed
         LEFT JOIN LATERAL (
           SELECT last_agent_id, last_assigned_at FROM conversations
            WHERE customer_id = $3 AND last_agent_id IS NOT NULL
            ORDER BY last_assigned_at DESC NULLS LAST LIMIT 1) prev ON true
       ON CONFLICT (identity_id, thread_key) WHERE status <> 'closed' DO NOTHING
       RETURNING ${CONVERSATION_COLUMNS}
       ), timing AS (
         INSERT INTO conversation_timings (conversation_id, queued_at) SELECT id, $10 FROM inserted
       )
       SELECT * FROM inserted`,
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
    if (inserted[0]) return { conversation: inserted[0], opened: 'new', botFirst: queue.bot_first, routable: inserted[0] };
    const raced = await lookup();
    if (!raced) throw new Error('open conversation vanished during resolution');
    return { conversation: raced, opened: 'continued', botFirst: false };
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
