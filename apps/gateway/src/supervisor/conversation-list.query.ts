/**
 * The supervisor's list of open conversations of a tenant, straight from Postgres: waiting ones first
 * in the order the router will take them (`rank_at`, i.e. effective priority, then the longest wait in
 * the queue), then those offered to or held by an agent (longest held first), then those still with
 * the bot. Closed conversations are never listed.
 *
 * Each status group is its own branch of a UNION, so each can use its partial index — waiting work
 * `conversations_queue_order_idx` (tenant, queue, mode, rank_at), held work
 * `conversations_agent_open_idx` (agent) — and each is cut to one page before the details are joined.
 * Pages are keyset-paginated on (group, key, tie-break, id): the cursor is the last row's position,
 * so a page never repeats a row the previous one showed even while work moves (an item that changes
 * group between two pages may be missed or seen twice; the next refresh shows it where it is).
 */
import type { DataSource } from 'typeorm';
import type { Mode } from '@app/contracts';
import { ApiError } from '../http/api-error';
import type { OpenStatus } from './supervisor.dto';

export interface ConversationFilter {
  queueId?: string;
  agentId?: string;
  statuses: readonly OpenStatus[];
  mode?: Mode;
  limit: number;
  after?: string;
}

export interface SupervisedConversation {
  id: string;
  channel: string;
  mode: Mode;
  status: OpenStatus;
  queueId: string | null;
  priority: number;
  assignedAgentId: string | null;
  assignedAgentName: string | null;
  customer: { id: string; name: string | null };
  /** Waiting ones: when it entered its current queue (max wait and the queue's oldest wait count from here). */
  queuedAt: string | null;
  /** Waiting ones: seconds since `queuedAt`, on the gateway's clock at `at`. */
  waitingS: number | null;
  /** Offered or held ones: when the current agent got it (the offer, or its acceptance). */
  assignedAt: string | null;
  lastMessageAt: string;
}

export interface ConversationPage {
  at: string;
  conversations: SupervisedConversation[];
  nextCursor: string | null;
}

interface Position {
  group: number;
  key: string;
  tieBreak: string;
  id: string;
}

/** One status group: which statuses it covers, how it is filtered, and its sort key and tie-break. */
interface Group {
  statuses: readonly OpenStatus[];
  /** The partial index's own predicate, so the planner can use it. */
  predicate: string;
  join?: string;
  key: string;
  tieBreak: string;
  /** False when the group has no agent, so an agent filter leaves it out. */
  held: boolean;
}

const GROUPS: readonly Group[] = [
  {
    statuses: ['queued'],
    predicate: `c.status = 'queued'`,
    key: 'c.rank_at',
    tieBreak: 'COALESCE(c.queue_entered_at, c.queued_at, c.created_at)',
    held: false,
  },
  {
    statuses: ['offered', 'assigned'],
    predicate: `c.status IN ('offered', 'assigned')`,
    join: `LEFT JOIN assignments s ON s.conversation_id = c.id AND s.state <> 'ended'`,
    key: 'COALESCE(s.accepted_at, s.created_at, c.updated_at)',
    tieBreak: 'c.created_at',
    held: true,
  },
  { statuses: ['bot'], predicate: `c.status = 'bot'`, key: 'c.created_at', tieBreak: 'c.created_at', held: false },
];

/** Microseconds: a millisecond cursor could skip rows stamped within the same millisecond. */
const text = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));

export async function listConversations(dataSource: DataSource, tenantId: string, filter: ConversationFilter, at: Date): Promise<ConversationPage> {
  const after = filter.after === undefined ? undefined : decodePosition(filter.after);
  const params: unknown[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  const tenant = param(tenantId);
  const pageSize = param(filter.limit + 1);

  const branches = GROUPS.flatMap((group, index) => {
    const statuses = group.statuses.filter((status) => filter.statuses.includes(status));
    if (statuses.length === 0 || (filter.agentId !== undefined && !group.held)) return [];
    if (after && after.group > index) return [];
    const where = [`c.tenant_id = ${tenant}`, group.predicate];
    if (statuses.length < group.statuses.length) where.push(`c.status = ANY (${param(statuses)}::text[])`);
    if (filter.queueId !== undefined) where.push(`c.queue_id = ${param(filter.queueId)}`);
    if (filter.agentId !== undefined) where.push(`c.assigned_agent_id = ${param(filter.agentId)}`);
    if (filter.mode !== undefined) where.push(`c.mode = ${param(filter.mode)}`);
    if (after && after.group === index) {
      where.push(
        `(${group.key}, ${group.tieBreak}, c.id) > (${param(after.key)}::timestamptz, ${param(after.tieBreak)}::timestamptz, ${param(after.id)}::uuid)`,
      );
    }
    return [
      `(SELECT ${index} AS grp, ${group.key} AS sort_key, ${group.tieBreak} AS tie_break, c.id
          FROM conversations c ${group.join ?? ''}
         WHERE ${where.join(' AND ')}
         ORDER BY sort_key, tie_break, c.id
         LIMIT ${pageSize})`,
    ];
  });
  if (branches.length === 0) return { at: at.toISOString(), conversations: [], nextCursor: null };

  const rows = (await dataSource.query(
    `WITH page AS (${branches.join(' UNION ALL ')})
     SELECT p.grp AS "group", ${text('p.sort_key')} AS "cursorKey", ${text('p.tie_break')} AS "cursorTieBreak",
            c.id, c.channel, c.mode, c.status, c.queue_id AS "queueId", c.priority,
            c.assigned_agent_id AS "assignedAgentId", a.name AS "assignedAgentName",
            cu.id AS "customerId", COALESCE(cu.display_name, ci.display_name) AS "customerName",
            CASE WHEN c.status = 'queued' THEN COALESCE(c.queue_entered_at, c.queued_at) END AS "queuedAt",
            CASE WHEN c.status = 'queued'
                 THEN extract(epoch FROM ${param(at)}::timestamptz - COALESCE(c.queue_entered_at, c.queued_at))::float8 END AS "waitingS",
            CASE WHEN c.status IN ('offered', 'assigned') THEN COALESCE(s.accepted_at, s.created_at) END AS "assignedAt",
            c.last_message_at AS "lastMessageAt"
       FROM page p
       JOIN conversations c ON c.id = p.id
       JOIN customers cu ON cu.id = c.customer_id
       JOIN channel_identities ci ON ci.id = c.identity_id
       LEFT JOIN agents a ON a.id = c.assigned_agent_id
       LEFT JOIN assignments s ON s.conversation_id = c.id AND s.state <> 'ended'
      ORDER BY p.grp, p.sort_key, p.tie_break, p.id
      LIMIT ${pageSize}`,
    params,
  )) as Array<Record<string, unknown>>;

  const more = rows.length > filter.limit;
  const pageRows = rows.slice(0, filter.limit);
  const last = pageRows.at(-1);
  return {
    at: at.toISOString(),
    conversations: pageRows.map(view),
    nextCursor:
      more && last
        ? encodePosition({ group: Number(last.group), key: last.cursorKey as string, tieBreak: last.cursorTieBreak as string, id: last.id as string })
        : null,
  };
}

function view(row: Record<string, unknown>): SupervisedConversation {
  return {
    id: row.id as string,
    channel: row.channel as string,
    mode: row.mode as Mode,
    status: row.status as OpenStatus,
    queueId: (row.queueId as string | null) ?? null,
    priority: row.priority as number,
    assignedAgentId: (row.assignedAgentId as string | null) ?? null,
    assignedAgentName: (row.assignedAgentName as string | null) ?? null,
    customer: { id: row.customerId as string, name: (row.customerName as string | null) ?? null },
    queuedAt: row.queuedAt ? iso(row.queuedAt) : null,
    waitingS: row.waitingS === null || row.waitingS === undefined ? null : Math.max(0, Math.floor(row.waitingS as number)),
    assignedAt: row.assignedAt ? iso(row.assignedAt) : null,
    lastMessageAt: iso(row.lastMessageAt),
  };
}

export function encodePosition(position: Position): string {
  return Buffer.from(JSON.stringify([position.group, position.key, position.tieBreak, position.id])).toString('base64url');
}

export function decodePosition(cursor: string): Position {
  try {
    const [group, key, tieBreak, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const instant = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));
    if (
      Number.isInteger(group) && (group as number) >= 0 && (group as number) < GROUPS.length &&
      instant(key) && instant(tieBreak) &&
      typeof id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
    ) {
      return { group: group as number, key, tieBreak, id };
    }
  } catch {
    // falls through to the error below
  }
  throw new ApiError(400, 'invalid_cursor', 'the `after` cursor is not one this API returned');
}
