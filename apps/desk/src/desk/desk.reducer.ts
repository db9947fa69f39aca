/**
 * The agent desk's state, as a pure reducer: what REST snapshots say, with the socket's events
 * applied on top. Invariants:
 * - every event is applied at most once (deduplicated on eventId; the server replays a few seconds of
 *   overlap on resume), and `lastEventId` is the newest event applied, for the next resume;
 * - load is derived from the items and offers held, plus the offset the last snapshot showed between
 *   that count and the server's counter, so applying an event twice or out of order cannot drift it;
 * - a work snapshot that was requested before a work-changing event arrived is stale and ignored
 *   (`workVersion`), and `refreshWanted` stays set so the caller fetches again;
 * - offers past their expiry disappear on the next tick even if the withdrawal event is lost.
 */
import type {
  AgentEvent,
  ConversationDetail,
  DeliveryStatus,
  MessagePage,
  MessageView,
  Mode,
  Presence,
  WorkItem,
  WorkSnapshot,
} from '../api/api.types';

/** How many recent eventIds are remembered for deduplication (the replay overlap is a few seconds). */
export const SEEN_LIMIT = 2_000;
/** A customer's typing indicator stays this long without a new signal. */
export const TYPING_TTL_MS = 6_000;
const NOTICE_LIMIT = 5;

export interface Thread {
  conversationId: string;
  detail?: ConversationDetail;
  /** The customer's messages on every channel, oldest first. */
  messages: MessageView[];
  /** Cursor for older messages; null when the start of the history is loaded. */
  nextCursor: string | null;
  loading: boolean;
  /** Set when the thread must be reloaded over REST (resync, or a message event without a body). */
  stale: boolean;
  error?: string;
}

export interface Notice {
  id: number;
  kind: 'info' | 'error';
  text: string;
}

export interface DeskState {
  now: number;
  /** The first work snapshot has been applied. */
  loaded: boolean;
  /** Set when the caller has no agent profile (a supervisor without agent work). */
  noProfile: boolean;
  presence: Presence;
  offers: WorkItem[];
  held: WorkItem[];
  caps: Record<Mode, number>;
  loadOffset: Record<Mode, number>;
  workVersion: number;
  refreshWanted: boolean;
  seen: string[];
  lastEventId?: string;
  deliveries: Record<string, { status: DeliveryStatus; reason?: string }>;
  threads: Record<string, Thread>;
  typing: Record<string, number>;
  unread: Record<string, number>;
  selectedId: string | null;
  /** Conversations taken away or ended while open, with why: their view turns read-only. */
  ended: Record<string, string>;
  /** Conversations the agent is closing, releasing or transferring: their revocation is no news. */
  leaving: Record<string, true>;
  notices: Notice[];
  nextNoticeId: number;
}

export type DeskAction =
  | { type: 'tick'; now: number }
  | { type: 'work/loaded'; snapshot: WorkSnapshot; version: number }
  | { type: 'work/no-profile' }
  | { type: 'work/refresh' }
  | { type: 'socket/event'; event: AgentEvent; now?: number }
  | { type: 'socket/resync' }
  | { type: 'socket/typing'; conversationId: string; typing: boolean }
  | { type: 'presence/changed'; presence: Presence }
  | { type: 'offer/answered'; conversationId: string; accepted: boolean }
  | { type: 'conversation/leaving'; conversationId: string }
  | { type: 'conversation/stayed'; conversationId: string }
  | { type: 'conversation/left'; conversationId: string; reason: string }
  | { type: 'conversation/select'; conversationId: string | null }
  | { type: 'thread/loading'; conversationId: string }
  | { type: 'thread/loaded'; conversationId: string; detail?: ConversationDetail; page: MessagePage; older: boolean }
  | { type: 'thread/failed'; conversationId: string; error: string }
  | { type: 'message/written'; message: MessageView }
  | { type: 'notice'; kind: Notice['kind']; text: string }
  | { type: 'notice/dismiss'; id: number };

export function initialDeskState(now: number): DeskState {
  return {
    now,
    loaded: false,
    noProfile: false,
    presence: 'offline',
    offers: [],
    held: [],
    caps: { sync: 0, async: 0 },
    loadOffset: { sync: 0, async: 0 },
    workVersion: 0,
    refreshWanted: true,
    seen: [],
    deliveries: {},
    threads: {},
    typing: {},
    unread: {},
    selectedId: null,
    ended: {},
    leaving: {},
    notices: [],
    nextNoticeId: 1,
  };
}

const DELIVERY_RANK: Record<DeliveryStatus, number> = { queued: 0, sent: 1, failed: 2, delivered: 3, read: 4 };

/** The later of two delivery statuses: a late `sent` never moves a `read` message back. */
export function laterDelivery(current: DeliveryStatus | null | undefined, next: DeliveryStatus): DeliveryStatus {
  return current && DELIVERY_RANK[current] >= DELIVERY_RANK[next] ? current : next;
}

/** What a message's ticks show: its stored status merged with any delivery event seen since. */
export function deliveryOf(state: Pick<DeskState, 'deliveries'>, message: MessageView): DeliveryStatus | null {
  if (message.direction !== 'outbound') return null;
  const event = state.deliveries[message.id];
  if (!event) return message.deliveryStatus ?? 'queued';
  return laterDelivery(message.deliveryStatus, event.status);
}

export function deliveryReasonOf(state: Pick<DeskState, 'deliveries'>, message: MessageView): string | null {
  return state.deliveries[message.id]?.reason ?? message.deliveryReason;
}

const byMode = (mode: Mode) => (item: WorkItem) => item.mode === mode;

/** Load as the router counts it: held items and outstanding offers of the mode. */
export function loadOf(state: Pick<DeskState, 'held' | 'offers' | 'loadOffset'>, mode: Mode): number {
  const counted = state.held.filter(byMode(mode)).length + state.offers.filter(byMode(mode)).length;
  return Math.max(0, counted + state.loadOffset[mode]);
}

export function heldOf(state: Pick<DeskState, 'held'>, mode: Mode): WorkItem[] {
  return state.held.filter(byMode(mode));
}

/** Seconds left on an offer, never negative; undefined when the offer has no expiry. */
export function secondsLeft(offer: WorkItem, now: number): number | undefined {
  if (!offer.expiresAt) return undefined;
  return Math.max(0, Math.ceil((Date.parse(offer.expiresAt) - now) / 1000));
}

export function isCustomerTyping(state: Pick<DeskState, 'typing' | 'now'>, conversationId: string): boolean {
  return (state.typing[conversationId] ?? 0) > state.now;
}

const without = <T extends { conversationId: string }>(list: T[], conversationId: string) => list.filter((item) => item.conversationId !== conversationId);

function omit<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const { [key]: _removed, ...rest } = record;
  return rest;
}

function addNotice(state: DeskState, kind: Notice['kind'], text: string): DeskState {
  const notices = [...state.notices, { id: state.nextNoticeId, kind, text }].slice(-NOTICE_LIMIT);
  return { ...state, notices, nextNoticeId: state.nextNoticeId + 1 };
}

function describe(item: Pick<WorkItem, 'channel' | 'customer'> | undefined, fallback: string): string {
  if (!item) return fallback;
  return item.customer?.name ? `${item.customer.name} (${item.channel})` : `the ${item.channel} conversation`;
}

/** Inserts messages into a thread's list, oldest first, replacing any with the same id. */
export function mergeMessages(current: MessageView[], incoming: MessageView[]): MessageView[] {
  if (incoming.length === 0) return current;
  const byId = new Map(current.map((message) => [message.id, message]));
  for (const message of incoming) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.seq - b.seq || a.id.localeCompare(b.id));
}

function threadCovers(thread: Thread, conversationId: string): boolean {
  return thread.conversationId === conversationId || (thread.detail?.otherConversations.some((other) => other.id === conversationId) ?? false);
}

function applyMessage(state: DeskState, event: AgentEvent): DeskState {
  const conversationId = event.conversationId!;
  const inbound = (event.direction ?? 'inbound') === 'inbound';
  const held = state.held.map((item) => (item.conversationId === conversationId ? { ...item, lastMessageAt: event.occurredAt } : item));
  const threads = { ...state.threads };
  for (const [key, thread] of Object.entries(state.threads)) {
    if (!threadCovers(thread, conversationId)) continue;
    threads[key] = event.message ? { ...thread, messages: mergeMessages(thread.messages, [event.message]) } : { ...thread, stale: true };
  }
  const unread =
    inbound && state.selectedId !== conversationId ? { ...state.unread, [conversationId]: (state.unread[conversationId] ?? 0) + 1 } : state.unread;
  // The customer wrote: whatever they were typing has been sent.
  const typing = inbound ? omit(state.typing, conversationId) : state.typing;
  return { ...state, held, threads, unread, typing };
}

function applyEvent(state: DeskState, event: AgentEvent): DeskState {
  const conversationId = event.conversationId;
  switch (event.type) {
    case 'agent.offer': {
      if (!conversationId || state.held.some((item) => item.conversationId === conversationId)) return state;
      const previous = state.offers.find((item) => item.conversationId === conversationId);
      const offer: WorkItem = {
        ...previous,
        conversationId,
        channel: event.channel ?? previous?.channel ?? 'unknown',
        mode: event.mode ?? previous?.mode ?? 'async',
        since: previous?.since ?? event.occurredAt,
        expiresAt: event.expiresAt ?? previous?.expiresAt,
      };
      return {
        ...state,
        offers: [...without(state.offers, conversationId), offer],
        ended: omit(state.ended, conversationId),
        workVersion: state.workVersion + 1,
        refreshWanted: true,
      };
    }
    case 'agent.offer-withdrawn': {
      if (!conversationId) return state;
      const offer = state.offers.find((item) => item.conversationId === conversationId);
      const next = { ...state, offers: without(state.offers, conversationId), workVersion: state.workVersion + 1 };
      return offer && event.reason !== 'declined' ? addNotice(next, 'info', `Offer of ${describe(offer, 'a conversation')} withdrawn: ${event.reason ?? 'no reason'}`) : next;
    }
    case 'agent.revoked': {
      if (!conversationId) return state;
      const item = state.held.find((held) => held.conversationId === conversationId);
      const next: DeskState = {
        ...state,
        held: without(state.held, conversationId),
        offers: without(state.offers, conversationId),
        ended: item || state.threads[conversationId] ? { ...state.ended, [conversationId]: event.reason ?? 'revoked' } : state.ended,
        typing: omit(state.typing, conversationId),
        workVersion: state.workVersion + 1,
      };
      return item && !state.leaving[conversationId] ? addNotice(next, 'info', `${describe(item, 'A conversation')} left your desk: ${event.reason ?? 'revoked'}`) : next;
    }
    case 'agent.assigned': {
      if (!conversationId) return state;
      const known = state.held.find((item) => item.conversationId === conversationId) ?? state.offers.find((item) => item.conversationId === conversationId);
      const item: WorkItem = {
        ...known,
        conversationId,
        channel: event.channel ?? known?.channel ?? 'unknown',
        mode: event.mode ?? known?.mode ?? 'async',
        since: known && state.held.includes(known) ? known.since : event.occurredAt,
        expiresAt: undefined,
      };
      const heldIndex = state.held.findIndex((held) => held.conversationId === conversationId);
      const held = heldIndex >= 0 ? state.held.map((existing, index) => (index === heldIndex ? item : existing)) : [...state.held, item];
      return {
        ...state,
        held,
        offers: without(state.offers, conversationId),
        ended: omit(state.ended, conversationId),
        workVersion: state.workVersion + 1,
        refreshWanted: state.refreshWanted || !item.customer,
      };
    }
    case 'agent.message':
      return conversationId ? applyMessage(state, event) : state;
    case 'agent.delivery': {
      if (!event.messageId || !event.status) return state;
      const current = state.deliveries[event.messageId];
      const status = laterDelivery(current?.status, event.status);
      if (current?.status === status) return state;
      return { ...state, deliveries: { ...state.deliveries, [event.messageId]: { status, reason: event.reason ?? current?.reason } } };
    }
    default:
      return state;
  }
}

function markSeen(state: DeskState, eventId: string): DeskState {
  const seen = state.seen.length >= SEEN_LIMIT ? [...state.seen.slice(-(SEEN_LIMIT - 1)), eventId] : [...state.seen, eventId];
  return { ...state, seen, lastEventId: eventId };
}

export function deskReducer(state: DeskState, action: DeskAction): DeskState {
  switch (action.type) {
    case 'tick': {
      const live = (offer: WorkItem) => !offer.expiresAt || Date.parse(offer.expiresAt) > action.now;
      const expired = state.offers.filter((offer) => !live(offer));
      const typing = Object.fromEntries(Object.entries(state.typing).filter(([, until]) => until > action.now));
      const next: DeskState = { ...state, now: action.now, offers: expired.length === 0 ? state.offers : state.offers.filter(live), typing };
      // The router's withdrawal follows; by then the offer is gone here, so this is the one notice.
      return expired.reduce((current, offer) => addNotice(current, 'info', `Offer of ${describe(offer, 'a conversation')} expired`), next);
    }
    case 'work/loaded': {
      if (action.version !== state.workVersion) return { ...state, refreshWanted: true };
      const { snapshot } = action;
      const held = [...snapshot.sync.items, ...snapshot.async.items];
      const counted = (mode: Mode) => held.filter(byMode(mode)).length + snapshot.offers.filter(byMode(mode)).length;
      const heldIds = new Set(held.map((item) => item.conversationId));
      return {
        ...state,
        loaded: true,
        noProfile: false,
        presence: snapshot.presence,
        offers: snapshot.offers.filter((offer) => !offer.expiresAt || Date.parse(offer.expiresAt) > state.now),
        held,
        caps: { sync: snapshot.sync.cap, async: snapshot.async.cap },
        loadOffset: { sync: snapshot.sync.load - counted('sync'), async: snapshot.async.load - counted('async') },
        refreshWanted: false,
        ended: Object.fromEntries(Object.entries(state.ended).filter(([id]) => !heldIds.has(id))),
      };
    }
    case 'work/no-profile':
      return { ...state, loaded: true, noProfile: true, refreshWanted: false };
    case 'work/refresh':
      // Without an agent profile there is no work to reload; a resync still tries again.
      if (state.noProfile) return state;
      // A new version too: a snapshot already in flight may predate what prompted this.
      return { ...state, refreshWanted: true, workVersion: state.workVersion + 1 };
    case 'socket/event': {
      const { event } = action;
      if (!event?.eventId || state.seen.includes(event.eventId)) return state;
      // The clock moves with the event, so a new offer's countdown starts from the right second.
      const now = action.now !== undefined && action.now > state.now ? action.now : state.now;
      return applyEvent(markSeen({ ...state, now }, event.eventId), event);
    }
    case 'socket/resync': {
      const threads = Object.fromEntries(Object.entries(state.threads).map(([id, thread]) => [id, { ...thread, stale: true }]));
      return { ...state, refreshWanted: true, workVersion: state.workVersion + 1, threads, typing: {} };
    }
    case 'socket/typing': {
      const typing = action.typing ? { ...state.typing, [action.conversationId]: state.now + TYPING_TTL_MS } : omit(state.typing, action.conversationId);
      return { ...state, typing };
    }
    case 'presence/changed':
      return { ...state, presence: action.presence };
    case 'offer/answered': {
      const offer = state.offers.find((item) => item.conversationId === action.conversationId);
      if (!offer) return state;
      const offers = without(state.offers, action.conversationId);
      if (!action.accepted || state.held.some((item) => item.conversationId === action.conversationId)) {
        return { ...state, offers, workVersion: state.workVersion + 1 };
      }
      const held = [...state.held, { ...offer, expiresAt: undefined, since: new Date(state.now).toISOString() }];
      return { ...state, offers, held, workVersion: state.workVersion + 1 };
    }
    case 'conversation/leaving':
      return { ...state, leaving: { ...state.leaving, [action.conversationId]: true } };
    case 'conversation/stayed':
      return { ...state, leaving: omit(state.leaving, action.conversationId) };
    case 'conversation/left': {
      const leaving = omit(state.leaving, action.conversationId);
      // The revocation event may have come first: then only the bookkeeping is left to do.
      if (!state.held.some((item) => item.conversationId === action.conversationId)) return { ...state, leaving };
      return {
        ...state,
        leaving,
        held: without(state.held, action.conversationId),
        ended: { ...state.ended, [action.conversationId]: action.reason },
        workVersion: state.workVersion + 1,
        refreshWanted: true,
      };
    }
    case 'conversation/select': {
      const id = action.conversationId;
      return { ...state, selectedId: id, unread: id ? omit(state.unread, id) : state.unread };
    }
    case 'thread/loading': {
      const current = state.threads[action.conversationId];
      const thread: Thread = current
        ? { ...current, loading: true, error: undefined }
        : { conversationId: action.conversationId, messages: [], nextCursor: null, loading: true, stale: false };
      return { ...state, threads: { ...state.threads, [action.conversationId]: thread } };
    }
    case 'thread/loaded': {
      const current = state.threads[action.conversationId];
      const chronological = [...action.page.messages].reverse();
      const thread: Thread = {
        conversationId: action.conversationId,
        detail: action.detail ?? current?.detail,
        // A fresh first page replaces what was there (a resync may have removed messages from view);
        // messages that arrived by event while it loaded are kept by the merge.
        messages: action.older ? mergeMessages(current?.messages ?? [], chronological) : mergeMessages(liveSince(current, chronological), chronological),
        nextCursor: action.page.nextCursor,
        loading: false,
        stale: false,
      };
      return { ...state, threads: { ...state.threads, [action.conversationId]: thread } };
    }
    case 'thread/failed': {
      const current = state.threads[action.conversationId];
      if (!current) return state;
      return { ...state, threads: { ...state.threads, [action.conversationId]: { ...current, loading: false, stale: false, error: action.error } } };
    }
    case 'message/written': {
      const threads = { ...state.threads };
      const { conversationId } = action.message;
      const channel =
        action.message.channel ||
        state.held.find((item) => item.conversationId === conversationId)?.channel ||
        state.threads[conversationId]?.detail?.channel ||
        '';
      const message = { ...action.message, channel };
      for (const [key, thread] of Object.entries(state.threads)) {
        // The event with the stored message may already have arrived: it wins over this local copy.
        if (!threadCovers(thread, conversationId) || thread.messages.some((known) => known.id === message.id)) continue;
        threads[key] = { ...thread, messages: mergeMessages(thread.messages, [message]) };
      }
      return { ...state, threads };
    }
    case 'notice':
      return addNotice(state, action.kind, action.text);
    case 'notice/dismiss':
      return { ...state, notices: state.notices.filter((notice) => notice.id !== action.id) };
    default:
      return state;
  }
}

/** Messages of a thread newer than the newest of a fresh page: they came by event while the page loaded. */
function liveSince(thread: Thread | undefined, page: MessageView[]): MessageView[] {
  if (!thread) return [];
  const newest = page.at(-1)?.createdAt;
  if (!newest) return thread.messages;
  return thread.messages.filter((message) => message.createdAt > newest);
}
