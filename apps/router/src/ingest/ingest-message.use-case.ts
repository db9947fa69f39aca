/**
 * Ingests one inbound envelope in one transaction: resolve the customer and their channel identity,
 * continue the open conversation on that identity and thread (or open one), store the message once
 * (dedupe on tenant + channel + provider message id), then route: a new or waiting conversation is
 * offered to the assignment use case, a message on an assigned thread goes to the holding agent.
 * Events are written to the outbox in the same transaction. The caller acks only after commit (I4, I7).
 */
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import {
  DEFAULT_CHANNEL_MODE,
  EXCHANGES,
  routingKeys,
  type AgentAssignedEvent,
  type AgentMessageEvent,
  type ConversationEvent,
  type InboundEnvelope,
  type Mode,
} from '@app/contracts';
import { inTransaction, rows } from '@app/persistence';
import { AssignConversationUseCase } from '../assignment/assign-conversation.use-case';
import { OutboxRelay } from '../outbox/outbox.relay';
import { writeOutbox, type OutboxEvent } from '../outbox/outbox.writer';
import { routerMetrics } from '../router.metrics';

export type IngestOutcome =
  | { kind: 'duplicate' }
  | { kind: 'stored'; conversationId: string; status: 'assigned' | 'queued'; agentId?: string; newConversation: boolean };

interface ConversationRow {
  id: string;
  status: 'queued' | 'assigned';
  mode: Mode;
  assigned_agent_id: string | null;
  customer_id: string;
}

class DuplicateMessage extends Error {}

@Injectable()
export class IngestMessageUseCase {
  constructor(
    private readonly dataSource: DataSource,
    private readonly assign: AssignConversationUseCase,
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
    if (outcome.kind === 'stored') this.outbox.kick();
    return outcome;
  }

  private async ingest(
    runner: QueryRunner,
    envelope: InboundEnvelope,
    correlationId: string | undefined,
  ): Promise<IngestOutcome> {
    const known = await rows(
      runner,
      `SELECT 1 FROM messages WHERE (tenant_id = $1 AND channel = $2 AND provider_message_id = $3) OR id = $4 LIMIT 1`,
      [envelope.tenantId, envelope.channel, envelope.provider.messageId, envelope.messageId],
    );
    if (known.length > 0) throw new DuplicateMessage();

    const identity = await this.resolveIdentity(runner, envelope);
    const mode = envelope.mode ?? DEFAULT_CHANNEL_MODE[envelope.channel];
    const { conversation, created } = await this.resolveConversation(runner, envelope, identity, mode);

    const inserted = await rows(
      runner,
      `INSERT INTO messages (id, tenant_id, conversation_id, channel, direction, sender, provider_message_id,
                             provider_thread_id, body, attachments, attributes, priority, provider_timestamp,
                             received_at, correlation_id)
       VALUES ($1, $2, $3, $4, 'inbound', 'customer', $5, $6, $7, $8, $9, $10, $11, $12, $13)
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
        envelope.priority,
        envelope.providerTimestamp ?? null,
        envelope.receivedAt,
        correlationId ?? null,
      ],
    );
    // A concurrent delivery of the same provider message won the race: roll everything back.
    if (inserted.length === 0) throw new DuplicateMessage();

    await runner.query(
      `UPDATE conversations SET last_message_at = now(), priority = GREATEST(priority, $2), updated_at = now() WHERE id = $1`,
      [conversation.id, envelope.priority],
    );

    const events: OutboxEvent[] = [];
    const base = {
      occurredAt: new Date().toISOString(),
      tenantId: envelope.tenantId,
      conversationId: conversation.id,
      correlationId,
    };
    if (created) {
      routerMetrics.conversations.inc({ channel: envelope.channel, mode });
      events.push(this.conversationEvent({ ...base, eventId: randomUUID(), type: 'conversation.created', channel: envelope.channel, mode }));
    }

    if (conversation.status === 'assigned' && conversation.assigned_agent_id) {
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
      await writeOutbox(runner, events);
      return { kind: 'stored', conversationId: conversation.id, status: 'assigned', agentId, newConversation: created };
    }

    const claimed = await this.assign.execute(runner, { id: conversation.id, tenantId: envelope.tenantId, mode });
    if (claimed) {
      routerMetrics.assignments.inc({ mode });
      const assigned: AgentAssignedEvent = {
        ...base,
        eventId: randomUUID(),
        type: 'agent.assigned',
        agentId: claimed.agentId,
        channel: envelope.channel,
        mode,
        messageId: envelope.messageId,
        customer: { customerId: conversation.customer_id, displayName: envelope.customer.displayName },
      };
      events.push(
        { exchange: EXCHANGES.agent, routingKey: routingKeys.agent(claimed.agentId, 'assigned'), payload: assigned, correlationId },
        this.conversationEvent({
          ...base,
          eventId: randomUUID(),
          type: 'conversation.assigned',
          channel: envelope.channel,
          mode,
          agentId: claimed.agentId,
        }),
      );
    } else if (created) {
      routerMetrics.queued.inc({ mode });
      events.push(this.conversationEvent({ ...base, eventId: randomUUID(), type: 'conversation.queued', channel: envelope.channel, mode }));
    }
    await writeOutbox(runner, events);
    return {
      kind: 'stored',
      conversationId: conversation.id,
      status: claimed ? 'assigned' : 'queued',
      agentId: claimed?.agentId,
      newConversation: created,
    };
  }

  private conversationEvent(event: ConversationEvent): OutboxEvent {
    const name = event.type.slice('conversation.'.length) as 'created' | 'queued' | 'assigned';
    return {
      exchange: EXCHANGES.events,
      routingKey: routingKeys.conversation(name),
      payload: event,
      correlationId: event.correlationId,
    };
  }

  private async resolveIdentity(runner: QueryRunner, envelope: InboundEnvelope): Promise<{ id: string; customerId: string }> {
    const lookup = () =>
      rows<{ id: string; customer_id: string }>(
        runner,
        `SELECT id, customer_id FROM channel_identities WHERE tenant_id = $1 AND channel = $2 AND address = $3`,
        [envelope.tenantId, envelope.channel, envelope.customer.address],
      );
    const existing = (await lookup())[0];
    if (existing) return { id: existing.id, customerId: existing.customer_id };

    const customerId = await this.resolveCustomer(runner, envelope);
    const created = await rows<{ id: string }>(
      runner,
      `INSERT INTO channel_identities (id, tenant_id, customer_id, channel, address, display_name)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tenant_id, channel, address) DO NOTHING RETURNING id`,
      [randomUUID(), envelope.tenantId, customerId, envelope.channel, envelope.customer.address, envelope.customer.displayName ?? null],
    );
    if (created[0]) return { id: created[0].id, customerId };
    // Another delivery created the identity first; use theirs.
    const winner = (await lookup())[0];
    if (!winner) throw new Error('channel identity vanished during resolution');
    if (!envelope.customer.customerId) {
      await runner.query(`DELETE FROM customers WHERE id = $1`, [customerId]);
    }
    return { id: winner.id, customerId: winner.customer_id };
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
    identity: { id: string; customerId: string },
    mode: Mode,
  ): Promise<{ conversation: ConversationRow; created: boolean }> {
    const threadKey = envelope.provider.threadId ?? '';
    const lookup = async () =>
      (
        await rows<ConversationRow>(
          runner,
          `SELECT id, status, mode, assigned_agent_id, customer_id FROM conversations
            WHERE identity_id = $1 AND thread_key = $2 AND status <> 'closed' FOR UPDATE`,
          [identity.id, threadKey],
        )
      )[0];
    const open = await lookup();
    if (open) return { conversation: open, created: false };
    const inserted = await rows<ConversationRow>(
      runner,
      `INSERT INTO conversations (id, tenant_id, customer_id, identity_id, channel, thread_key, mode, status, priority,
                                  queued_at, last_message_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, now(), now())
       ON CONFLICT (identity_id, thread_key) WHERE status <> 'closed' DO NOTHING
       RETURNING id, status, mode, assigned_agent_id, customer_id`,
      [randomUUID(), envelope.tenantId, identity.customerId, identity.id, envelope.channel, threadKey, mode, envelope.priority],
    );
    if (inserted[0]) return { conversation: inserted[0], created: true };
    const raced = await lookup();
    if (!raced) throw new Error('open conversation vanished during resolution');
    return { conversation: raced, created: false };
  }
}
