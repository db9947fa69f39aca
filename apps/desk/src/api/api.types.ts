/**
 * The gateway's REST and socket shapes as the desk reads them (docs/openapi.json and
 * apps/gateway/src/agent/read-model.ts are the source; these are copies, because the desk is
 * bundled for the browser and must not import server code).
 */
export type Mode = 'sync' | 'async';
export type Presence = 'online' | 'away' | 'offline';
export type Role = 'agent' | 'supervisor' | 'admin';
export type Direction = 'inbound' | 'outbound' | 'internal';
export type DeliveryStatus = 'queued' | 'sent' | 'delivered' | 'read' | 'failed';

export const PRESENCES: readonly Presence[] = ['online', 'away', 'offline'];

export interface WorkItem {
  conversationId: string;
  channel: string;
  mode: Mode;
  queueId?: string;
  priority?: number;
  customer?: { id: string; name: string | null };
  since: string;
  lastMessageAt?: string;
  /** Offers only: when the offer lapses. */
  expiresAt?: string;
}

export interface WorkLane {
  load: number;
  cap: number;
  items: WorkItem[];
}

/** GET /v1/me/work */
export interface WorkSnapshot {
  presence: Presence;
  offers: WorkItem[];
  sync: WorkLane;
  async: WorkLane;
}

/** GET /v1/me */
export interface AgentProfile {
  id: string;
  name: string;
  tenantId: string;
  skills: string[];
  queueIds: string[];
  presence: Presence;
  leaseExpiresAt: string | null;
  wrapUpUntil: string | null;
  syncLoad: number;
  asyncLoad: number;
  syncCap: number;
  asyncCap: number;
}

export interface MessageView {
  id: string;
  conversationId: string;
  seq: number;
  channel: string;
  direction: Direction;
  sender: string;
  authorAgentId: string | null;
  text: string | null;
  attachments: unknown[];
  createdAt: string;
  deliveryStatus: DeliveryStatus | null;
  deliveryReason: string | null;
}

/** GET /v1/conversations/{id}/messages: newest first. */
export interface MessagePage {
  messages: MessageView[];
  nextCursor: string | null;
}

export interface ConversationSummary {
  id: string;
  channel: string;
  mode: Mode;
  status: string;
  createdAt: string;
  closedAt: string | null;
  lastMessageAt: string;
}

/** GET /v1/conversations/{id} */
export interface ConversationDetail extends ConversationSummary {
  queueId: string;
  priority: number;
  assignedAgentId: string | null;
  /** Free-form JSONB (what a bot gathered is `context.bot`): read it through conversation-context.parser.ts only. */
  context: unknown;
  /** Free-form JSONB too, from CRMs and adapters; same parser. */
  customer: { id: string; name: string | null; address: string; attributes: unknown };
  otherConversations: ConversationSummary[];
}

/** POST replies and notes. */
export interface Written {
  messageId: string;
  deliveryStatus: DeliveryStatus | null;
  duplicate: boolean;
}

export type TransferTarget = { agentId: string } | { queueId: string };

/** Events on the `/agent` socket (libs/contracts/src/events.schema.ts), bodies added for messages. */
export interface AgentEvent {
  eventId: string;
  type: string;
  occurredAt: string;
  tenantId: string;
  agentId: string;
  conversationId?: string;
  channel?: string;
  mode?: Mode;
  expiresAt?: string;
  reason?: string;
  via?: string;
  messageId?: string;
  sender?: string;
  direction?: Direction;
  status?: DeliveryStatus;
  message?: MessageView;
}

export interface ReadyInfo {
  agentId: string;
  tenantId: string;
  role: Role;
  replayed: number;
}

export interface Refusal {
  code: string;
  message: string;
}

export type HeartbeatAnswer = { ok: true; data?: { leaseExpiresAt?: string } } | { ok: false; code: string; message: string };

export type SlaState = 'ok' | 'warning' | 'breached';

export interface QueueStats {
  id: string;
  name: string;
  waitingSync: number;
  waitingAsync: number;
  offered: number;
  assigned: number;
  oldestWaitS: number | null;
  maxWaitS: number | null;
  slaState: SlaState;
  /** Agents the router may give this queue's work to: online, with its skills, serving it (an empty queue list serves every queue). */
  agentsOnline: number;
  /** Of those, the ones with room now for one more live (sync) item. */
  agentsAvailableSync: number;
  /** Of those, the ones with room now for one more async thread. */
  agentsAvailableAsync: number;
}

export interface AgentStats {
  id: string;
  name: string;
  presence: Presence;
  syncLoad: number;
  asyncLoad: number;
  syncCap: number;
  asyncCap: number;
  queueIds: string[];
  wrapUpUntil: string | null;
  presenceChangedAt: string;
}

/** The `stats` event of the `/supervisor` socket, and GET /v1/supervisor/stats. */
export interface StatsSnapshot {
  at: string;
  queues: QueueStats[];
  agents: AgentStats[];
}

/** The statuses of a conversation that is not closed. */
export type OpenStatus = 'queued' | 'offered' | 'assigned' | 'bot';

/** One item of GET /v1/supervisor/conversations. */
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
  /** Waiting ones: when it entered its current queue. */
  queuedAt: string | null;
  /** Waiting ones: seconds since `queuedAt`, as of the page's `at`. */
  waitingS: number | null;
  /** Offered and held ones: when the current agent got it. */
  assignedAt: string | null;
  lastMessageAt: string;
}

/** GET /v1/supervisor/conversations: waiting first (in the order they will be taken), then offered and held. */
export interface SupervisedConversationPage {
  at: string;
  conversations: SupervisedConversation[];
  nextCursor: string | null;
}

export interface SupervisedConversationQuery {
  queueId?: string;
  agentId?: string;
  status?: OpenStatus[];
  mode?: Mode;
  limit?: number;
  /** The `nextCursor` of the previous page, with the same filters. */
  after?: string;
}
