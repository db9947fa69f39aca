/**
 * What desktops read, straight from Postgres (the router's tables are the source of truth; the
 * gateway never writes them — changes go to the router as commands). Every read is scoped by the
 * caller: an agent sees conversations it holds, is offered, or held before (HISTORY_ACCESS=held),
 * supervisors and admins see their tenant; anything else is reported as not found, so ids of other
 * agents' or tenants' conversations cannot be probed.
 */
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AGENT_ASYNC_CAP, AGENT_SYNC_CAP, bindRoutingParams } from '@app/persistence';
import { hasRole, type Principal } from '../auth/principal';
import { GATEWAY_CONFIG, type GatewayConfig } from '../gateway.config';
import { ApiError } from '../http/api-error';

export interface WorkItem {
  conversationId: string;
  channel: string;
  mode: 'sync' | 'async';
  queueId: string;
  priority: number;
  customer: { id: string; name: string | null };
  since: string;
  lastMessageAt: string;
  expiresAt?: string;
}

export interface AgentProfile {
  id: string;
  name: string;
  tenantId: string;
  skills: string[];
  queueIds: string[];
  presence: 'online' | 'away' | 'offline';
  leaseExpiresAt: string | null;
  wrapUpUntil: string | null;
  syncLoad: number;
  asyncLoad: number;
  syncCap: number;
  asyncCap: number;
  syncCapOverride: number | null;
  asyncCapOverride: number | null;
}

export interface MessageView {
  id: string;
  conversationId: string;
  /** Position in its conversation, from 1; never reused or shifted. */
  seq: number;
  channel: string;
  direction: 'inbound' | 'outbound' | 'internal';
  sender: string;
  authorAgentId: string | null;
  text: string | null;
  attachments: unknown[];
  createdAt: string;
  deliveryStatus: string | null;
  deliveryReason: string | null;
}

const MESSAGE_COLUMNS = `m.id, m.conversation_id AS "conversationId", m.seq::int AS seq, m.channel, m.direction, m.sender,
  m.author_agent_id AS "authorAgentId", m.body AS text, m.attachments, m.created_at AS "createdAt",
  m.delivery_status AS "deliveryStatus", m.delivery_reason AS "deliveryReason"`;
/** Microsecond precision: a millisecond cursor would skip messages stored within the same millisecond. */
const CURSOR_AT = `to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorAt"`;

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : (value as string));

/** The profile query's positions of the cap fragments' defaults. */
const bindProfile = (fragment: string) => bindRoutingParams(fragment, { defSync: 3, defAsync: 4 });

@Injectable()
export class ReadModel {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** The caller's view of one conversation, or 404 when it is not theirs to see. */
  async requireConversation(principal: Principal, conversationId: string): Promise<{ id: string; customerId: string; tenantId: string }> {
    const supervisor = hasRole(principal, 'supervisor');
    const [found] = (await this.dataSource.query(
      `SELECT c.id, c.customer_id AS "customerId", c.tenant_id AS "tenantId"
         FROM conversations c
        WHERE c.id = $1 AND c.tenant_id = $2
          AND ($3 OR c.assigned_agent_id = $4
               OR EXISTS (SELECT 1 FROM assignments s WHERE s.conversation_id = c.id AND s.agent_id = $4
                           AND (s.state <> 'ended' OR $5)))`,
      [conversationId, principal.tenantId, supervisor, principal.agentId, this.config.HISTORY_ACCESS === 'held'],
    )) as Array<{ id: string; customerId: string; tenantId: string }>;
    if (!found) throw new ApiError(404, 'conversation_not_found', `conversation ${conversationId} does not exist or is not yours`);
    return found;
  }

  /** The agent's own view of itself; its caps are the figures the supervisor sees too (AGENT_SYNC_CAP, AGENT_ASYNC_CAP). */
  async agentProfile(tenantId: string, agentId: string): Promise<AgentProfile> {
    const [agent] = (await this.dataSource.query(
      `SELECT a.id, a.name, a.tenant_id AS "tenantId", a.skills, a.queue_ids AS "queueIds", a.presence,
              a.lease_expires_at AS "leaseExpiresAt", a.wrap_up_until AS "wrapUpUntil",
              a.active_sync AS "syncLoad", a.active_async AS "asyncLoad",
              ${bindProfile(AGENT_SYNC_CAP)} AS "syncCap", ${bindProfile(AGENT_ASYNC_CAP)} AS "asyncCap",
              a.sync_cap AS "syncCapOverride", a.async_cap AS "asyncCapOverride"
         FROM agents a WHERE a.id = $1 AND a.tenant_id = $2`,
      [agentId, tenantId, this.config.DEFAULT_SYNC_CAP, this.config.DEFAULT_ASYNC_CAP],
    )) as Array<Record<string, unknown>>;
    if (!agent) throw new ApiError(404, 'agent_not_found', `agent ${agentId} does not exist in this tenant`);
    return {
      ...agent,
      leaseExpiresAt: agent.leaseExpiresAt ? iso(agent.leaseExpiresAt) : null,
      wrapUpUntil: agent.wrapUpUntil ? iso(agent.wrapUpUntil) : null,
    } as AgentProfile;
  }

  /** Offers, then held work split by mode, each with load and cap. */
  async work(principal: Principal) {
    const profile = await this.agentProfile(principal.tenantId, principal.agentId);
    const items = (await this.dataSource.query(
      `SELECT c.id AS "conversationId", c.channel, c.mode, c.queue_id AS "queueId", c.priority,
              cu.id AS "customerId", cu.display_name AS "customerName", s.state,
              COALESCE(s.accepted_at, s.created_at) AS since, c.last_message_at AS "lastMessageAt", s.expires_at AS "expiresAt"
         FROM assignments s
         JOIN conversations c ON c.id = s.conversation_id
         JOIN customers cu ON cu.id = c.customer_id
        WHERE s.agent_id = $1 AND s.state <> 'ended' AND c.tenant_id = $2
        ORDER BY since`,
      [principal.agentId, principal.tenantId],
    )) as Array<Record<string, unknown>>;
    const view = (row: Record<string, unknown>): WorkItem => ({
      conversationId: row.conversationId as string,
      channel: row.channel as string,
      mode: row.mode as WorkItem['mode'],
      queueId: row.queueId as string,
      priority: row.priority as number,
      customer: { id: row.customerId as string, name: (row.customerName as string | null) ?? null },
      since: iso(row.since),
      lastMessageAt: iso(row.lastMessageAt),
      ...(row.state === 'offered' && row.expiresAt ? { expiresAt: iso(row.expiresAt) } : {}),
    });
    const held = items.filter((row) => row.state === 'active').map(view);
    return {
      presence: profile.presence,
      offers: items.filter((row) => row.state === 'offered').map(view),
      sync: { load: profile.syncLoad, cap: profile.syncCap, items: held.filter((item) => item.mode === 'sync') },
      async: { load: profile.asyncLoad, cap: profile.asyncCap, items: held.filter((item) => item.mode === 'async') },
    };
  }

  async conversation(principal: Principal, conversationId: string) {
    const visible = await this.requireConversation(principal, conversationId);
    const [conversation] = (await this.dataSource.query(
      `SELECT c.id, c.channel, c.mode, c.status, c.queue_id AS "queueId", c.priority, c.assigned_agent_id AS "assignedAgentId",
              c.created_at AS "createdAt", c.closed_at AS "closedAt", c.last_message_at AS "lastMessageAt", c.context,
              ci.address AS "customerAddress", ci.display_name AS "identityName",
              cu.id AS "customerId", cu.display_name AS "customerName", cu.attributes AS "customerAttributes"
         FROM conversations c
         JOIN channel_identities ci ON ci.id = c.identity_id
         JOIN customers cu ON cu.id = c.customer_id
        WHERE c.id = $1`,
      [visible.id],
    )) as Array<Record<string, unknown>>;
    const others = (await this.dataSource.query(
      `SELECT c.id, c.channel, c.mode, c.status, c.created_at AS "createdAt", c.closed_at AS "closedAt",
              c.last_message_at AS "lastMessageAt"
         FROM conversations c
        WHERE c.customer_id = $1 AND c.tenant_id = $2 AND c.id <> $3
        ORDER BY c.created_at DESC LIMIT 50`,
      [visible.customerId, visible.tenantId, visible.id],
    )) as Array<Record<string, unknown>>;
    return {
      id: conversation.id,
      channel: conversation.channel,
      mode: conversation.mode,
      status: conversation.status,
      queueId: conversation.queueId,
      priority: conversation.priority,
      assignedAgentId: conversation.assignedAgentId,
      createdAt: iso(conversation.createdAt),
      closedAt: conversation.closedAt ? iso(conversation.closedAt) : null,
      lastMessageAt: iso(conversation.lastMessageAt),
      context: conversation.context ?? null,
      customer: {
        id: conversation.customerId,
        name: conversation.customerName ?? conversation.identityName ?? null,
        address: conversation.customerAddress,
        attributes: conversation.customerAttributes,
      },
      otherConversations: others.map((other) => ({
        ...other,
        createdAt: iso(other.createdAt),
        closedAt: other.closedAt ? iso(other.closedAt) : null,
        lastMessageAt: iso(other.lastMessageAt),
      })),
    };
  }

  /**
   * Messages newest first, `limit` at a time; `before` is the cursor of the previous page. With
   * `scope=customer` the page spans every conversation of the customer on every channel.
   */
  async messages(principal: Principal, conversationId: string, page: { before?: string; limit: number; scope: 'conversation' | 'customer' }) {
    const visible = await this.requireConversation(principal, conversationId);
    const cursor = page.before ? decodeCursor(page.before) : undefined;
    const [scope, scopeParams] =
      page.scope === 'customer'
        ? ['c.customer_id = $4 AND c.tenant_id = $5', [visible.customerId, visible.tenantId]]
        : ['m.conversation_id = $4', [visible.id]];
    const found = (await this.dataSource.query(
      `SELECT ${MESSAGE_COLUMNS}, ${CURSOR_AT}
         FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE ${scope} AND ($1::timestamptz IS NULL OR (m.created_at, m.id) < ($1::timestamptz, $2::uuid))
        ORDER BY m.created_at DESC, m.id DESC
        LIMIT $3`,
      [cursor?.at ?? null, cursor?.id ?? null, page.limit + 1, ...scopeParams],
    )) as Array<Record<string, unknown>>;
    const more = found.length > page.limit;
    const pageRows = found.slice(0, page.limit);
    const messages = pageRows.map(({ cursorAt: _cursor, ...row }) => ({ ...row, createdAt: iso(row.createdAt) }) as MessageView);
    const last = pageRows.at(-1);
    return { messages, nextCursor: more && last ? encodeCursor(last.cursorAt as string, last.id as string) : null };
  }

  async message(messageId: string): Promise<MessageView | undefined> {
    const [found] = (await this.dataSource.query(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = $1`, [messageId])) as Array<
      Record<string, unknown>
    >;
    return found ? ({ ...found, createdAt: iso(found.createdAt) } as MessageView) : undefined;
  }
}

function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at)) && /^[0-9a-f-]{36}$/i.test(id)) {
      return { at, id };
    }
  } catch {
    // falls through to the error below
  }
  throw new ApiError(400, 'invalid_cursor', 'the `before` cursor is not one this API returned');
}
