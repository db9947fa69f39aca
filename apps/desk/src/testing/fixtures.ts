/** Fixture factories for the desk's tests: one place that knows the shapes, overridable per test. */
import type { AgentEvent, ConversationDetail, MessageView, StatsSnapshot, WorkItem, WorkSnapshot } from '../api/api.types';

let counter = 0;
const next = () => (counter += 1);

export function uuid(n = next()): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

export const NOW = Date.parse('2030-01-01T12:00:00.000Z');
export const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

export function workItem(overrides: Partial<WorkItem> = {}): WorkItem {
  return {
    conversationId: uuid(),
    channel: 'sms',
    mode: 'async',
    queueId: 'messaging',
    priority: 0,
    customer: { id: uuid(), name: 'Jo Customer' },
    since: at(-60_000),
    lastMessageAt: at(-30_000),
    ...overrides,
  };
}

export function offer(overrides: Partial<WorkItem> = {}): WorkItem {
  return workItem({ mode: 'sync', channel: 'webchat', queueId: 'live', since: at(-5_000), expiresAt: at(15_000), ...overrides });
}

export function snapshot(overrides: { offers?: WorkItem[]; sync?: WorkItem[]; async?: WorkItem[]; caps?: { sync: number; async: number }; loads?: { sync?: number; async?: number }; presence?: WorkSnapshot['presence'] } = {}): WorkSnapshot {
  const offers = overrides.offers ?? [];
  const sync = overrides.sync ?? [];
  const async = overrides.async ?? [];
  const counted = (mode: 'sync' | 'async', items: WorkItem[]) => items.length + offers.filter((item) => item.mode === mode).length;
  return {
    presence: overrides.presence ?? 'online',
    offers,
    sync: { load: overrides.loads?.sync ?? counted('sync', sync), cap: overrides.caps?.sync ?? 1, items: sync },
    async: { load: overrides.loads?.async ?? counted('async', async), cap: overrides.caps?.async ?? 8, items: async },
  };
}

export function event(type: string, overrides: Partial<AgentEvent> = {}): AgentEvent {
  return {
    eventId: uuid(),
    type,
    occurredAt: at(0),
    tenantId: 'default',
    agentId: 'a1',
    conversationId: uuid(),
    channel: 'sms',
    mode: 'async',
    ...overrides,
  };
}

export function message(overrides: Partial<MessageView> = {}): MessageView {
  const n = next();
  return {
    id: uuid(n),
    conversationId: uuid(),
    seq: n,
    channel: 'sms',
    direction: 'inbound',
    sender: 'customer',
    authorAgentId: null,
    text: `message ${n}`,
    attachments: [],
    createdAt: at(n),
    deliveryStatus: null,
    deliveryReason: null,
    ...overrides,
  };
}

export function conversationDetail(overrides: Partial<ConversationDetail> = {}): ConversationDetail {
  return {
    id: uuid(),
    channel: 'sms',
    mode: 'async',
    status: 'assigned',
    queueId: 'messaging',
    priority: 0,
    assignedAgentId: 'a1',
    createdAt: at(-120_000),
    closedAt: null,
    lastMessageAt: at(-30_000),
    context: null,
    customer: { id: uuid(), name: 'Jo Customer', address: '+15550001', attributes: {} },
    otherConversations: [],
    ...overrides,
  };
}

/** `context` as the router leaves it after a bot.handoff (apps/router/src/use-cases/bot-first.use-case.ts). */
export function botHandoffContext(bot: { summary?: string; attributes?: Record<string, string | number | boolean | null> } = {}): { bot: unknown } {
  return { bot: { attributes: {}, ...bot } };
}

export function stats(): StatsSnapshot {
  return {
    at: at(0),
    queues: [
      { id: 'live', name: 'Live chat', waitingSync: 2, waitingAsync: 0, offered: 1, assigned: 3, oldestWaitS: 100, maxWaitS: 120, slaState: 'warning', agentsOnline: 2, agentsAvailableSync: 0, agentsAvailableAsync: 1 },
      { id: 'messaging', name: 'Messaging', waitingSync: 0, waitingAsync: 5, offered: 0, assigned: 4, oldestWaitS: null, maxWaitS: null, slaState: 'ok', agentsOnline: 2, agentsAvailableSync: 1, agentsAvailableAsync: 2 },
    ],
    agents: [
      { id: 'a1', name: 'Ada Lovelace', presence: 'online', syncLoad: 1, asyncLoad: 3, syncCap: 1, asyncCap: 8, queueIds: ['live', 'messaging'], wrapUpUntil: null, presenceChangedAt: at(-1_000) },
      { id: 'a3', name: 'Alan Turing', presence: 'away', syncLoad: 0, asyncLoad: 0, syncCap: 1, asyncCap: 4, queueIds: ['messaging'], wrapUpUntil: null, presenceChangedAt: at(-1_000) },
    ],
  };
}
