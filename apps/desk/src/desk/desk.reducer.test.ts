import { describe, expect, it } from 'vitest';
import { at, conversationDetail, event, message, NOW, offer, snapshot, uuid, workItem } from '../testing/fixtures';
import {
  deliveryOf,
  deskReducer,
  heldOf,
  initialDeskState,
  isCustomerTyping,
  loadOf,
  SEEN_LIMIT,
  TYPING_TTL_MS,
  type DeskAction,
  type DeskState,
} from './desk.reducer';

const run = (state: DeskState, ...actions: DeskAction[]) => actions.reduce(deskReducer, state);
const loaded = (work = snapshot()) => run(initialDeskState(NOW), { type: 'work/loaded', snapshot: work, version: 0 });

describe('desk reducer', () => {
  describe('work snapshots', () => {
    it('splits held work by mode and shows load/cap as the server counts it', () => {
      const state = loaded(snapshot({ sync: [workItem({ mode: 'sync', channel: 'webchat' })], async: [workItem(), workItem()], offers: [offer({ mode: 'async' })] }));
      expect(state.loaded).toBe(true);
      expect(heldOf(state, 'sync')).toHaveLength(1);
      expect(heldOf(state, 'async')).toHaveLength(2);
      // Offers reserve capacity: the router counts them in the load.
      expect([loadOf(state, 'sync'), state.caps.sync]).toEqual([1, 1]);
      expect([loadOf(state, 'async'), state.caps.async]).toEqual([3, 8]);
    });

    it('keeps the server load when it differs from what the lists show, and tracks events from there', () => {
      const state = loaded(snapshot({ async: [workItem()], loads: { async: 4 } }));
      expect(loadOf(state, 'async')).toBe(4);
      const assigned = run(state, { type: 'socket/event', event: event('agent.assigned', { mode: 'async' }) });
      expect(loadOf(assigned, 'async')).toBe(5);
    });

    it('ignores a snapshot requested before a work event arrived, and asks again', () => {
      const state = run(initialDeskState(NOW), { type: 'socket/event', event: event('agent.offer', { expiresAt: at(10_000) }) });
      expect(state.workVersion).toBe(1);
      const stale = run(state, { type: 'work/loaded', snapshot: snapshot(), version: 0 });
      expect(stale.offers).toHaveLength(1);
      expect(stale.refreshWanted).toBe(true);
      const fresh = run(stale, { type: 'work/loaded', snapshot: snapshot(), version: 1 });
      expect(fresh.offers).toHaveLength(0);
      expect(fresh.refreshWanted).toBe(false);
    });

    it('drops offers from a snapshot that have already expired', () => {
      const state = loaded(snapshot({ offers: [offer({ expiresAt: at(-1) }), offer()] }));
      expect(state.offers).toHaveLength(1);
    });
  });

  describe('events', () => {
    it('applies each eventId once and remembers the newest for resume', () => {
      const offered = event('agent.offer', { mode: 'sync', channel: 'webchat', expiresAt: at(20_000) });
      const once = run(loaded(), { type: 'socket/event', event: offered });
      const twice = run(once, { type: 'socket/event', event: offered });
      expect(twice).toBe(once);
      expect(once.offers).toHaveLength(1);
      expect(once.lastEventId).toBe(offered.eventId);
      expect(loadOf(once, 'sync')).toBe(1);
    });

    it('remembers a bounded number of eventIds', () => {
      let state = loaded();
      for (let index = 0; index < SEEN_LIMIT + 10; index += 1) state = run(state, { type: 'socket/event', event: event('agent.delivery', { messageId: uuid(), status: 'sent' }) });
      expect(state.seen).toHaveLength(SEEN_LIMIT);
    });

    it('offer → assigned moves the conversation to held work without counting it twice', () => {
      const conversationId = uuid();
      const state = run(
        loaded(),
        { type: 'socket/event', event: event('agent.offer', { conversationId, mode: 'sync', channel: 'webchat', expiresAt: at(20_000) }) },
        { type: 'socket/event', event: event('agent.assigned', { conversationId, mode: 'sync', channel: 'webchat', via: 'offer' }) },
      );
      expect(state.offers).toEqual([]);
      expect(heldOf(state, 'sync').map((item) => item.conversationId)).toEqual([conversationId]);
      expect(loadOf(state, 'sync')).toBe(1);
    });

    it('a withdrawn offer frees its capacity and tells the agent why (except their own decline)', () => {
      const item = offer();
      const base = loaded(snapshot({ offers: [item] }));
      const timedOut = run(base, { type: 'socket/event', event: event('agent.offer-withdrawn', { conversationId: item.conversationId, reason: 'timeout' }) });
      expect(timedOut.offers).toEqual([]);
      expect(loadOf(timedOut, 'sync')).toBe(0);
      expect(timedOut.notices.map((notice) => notice.text)).toEqual([expect.stringContaining('timeout')]);
      const declined = run(base, { type: 'socket/event', event: event('agent.offer-withdrawn', { conversationId: item.conversationId, reason: 'declined' }) });
      expect(declined.notices).toEqual([]);
    });

    it('a revoked conversation leaves held work, and an open view of it turns read-only', () => {
      const item = workItem();
      const state = run(
        loaded(snapshot({ async: [item] })),
        { type: 'conversation/select', conversationId: item.conversationId },
        { type: 'socket/event', event: event('agent.revoked', { conversationId: item.conversationId, reason: 'transferred' }) },
      );
      expect(state.held).toEqual([]);
      expect(loadOf(state, 'async')).toBe(0);
      expect(state.ended[item.conversationId]).toBe('transferred');
      expect(state.notices).toHaveLength(1);
    });

    it('escalation re-assigns an async thread as live work: it changes lanes', () => {
      const item = workItem({ mode: 'async' });
      const state = run(loaded(snapshot({ async: [item] })), {
        type: 'socket/event',
        event: event('agent.assigned', { conversationId: item.conversationId, mode: 'sync', via: 'escalation' }),
      });
      expect(heldOf(state, 'async')).toEqual([]);
      expect(heldOf(state, 'sync')).toMatchObject([{ conversationId: item.conversationId, customer: item.customer }]);
      expect([loadOf(state, 'sync'), loadOf(state, 'async')]).toEqual([1, 0]);
    });

    it('an assignment it knows nothing about asks for a REST reload (for the customer and queue)', () => {
      const state = run(loaded(), { type: 'socket/event', event: event('agent.assigned', { via: 'routing' }) });
      expect(state.refreshWanted).toBe(true);
    });

    it('a customer message lands in the open thread and counts as unread elsewhere', () => {
      const open = workItem();
      const other = workItem();
      const first = message({ conversationId: open.conversationId });
      let state = run(
        loaded(snapshot({ async: [open, other] })),
        { type: 'conversation/select', conversationId: open.conversationId },
        { type: 'thread/loaded', conversationId: open.conversationId, detail: conversationDetail({ id: open.conversationId }), page: { messages: [first], nextCursor: null }, older: false },
      );
      const incoming = message({ conversationId: open.conversationId });
      state = run(
        state,
        { type: 'socket/event', event: event('agent.message', { conversationId: open.conversationId, messageId: incoming.id, message: incoming }) },
        { type: 'socket/event', event: event('agent.message', { conversationId: open.conversationId, messageId: incoming.id, message: incoming }) },
        { type: 'socket/event', event: event('agent.message', { conversationId: other.conversationId, messageId: uuid() }) },
      );
      expect(state.threads[open.conversationId].messages.map((item) => item.id)).toEqual([first.id, incoming.id]);
      expect(state.unread).toEqual({ [other.conversationId]: 1 });
      expect(run(state, { type: 'conversation/select', conversationId: other.conversationId }).unread).toEqual({});
    });

    it("a message of the customer's other conversation joins the cross-channel history", () => {
      const open = workItem();
      const earlier = uuid();
      const detail = conversationDetail({ id: open.conversationId, otherConversations: [{ id: earlier, channel: 'email', mode: 'async', status: 'closed', createdAt: at(-1e6), closedAt: at(-9e5), lastMessageAt: at(-9e5) }] });
      const state = run(
        loaded(snapshot({ async: [open] })),
        { type: 'thread/loaded', conversationId: open.conversationId, detail, page: { messages: [], nextCursor: null }, older: false },
        { type: 'socket/event', event: event('agent.message', { conversationId: earlier, message: message({ conversationId: earlier, channel: 'email' }) }) },
      );
      expect(state.threads[open.conversationId].messages).toHaveLength(1);
    });

    it('a message event without its body marks the thread for reloading', () => {
      const open = workItem();
      const state = run(
        loaded(snapshot({ async: [open] })),
        { type: 'thread/loaded', conversationId: open.conversationId, page: { messages: [], nextCursor: null }, older: false },
        { type: 'socket/event', event: event('agent.message', { conversationId: open.conversationId, messageId: uuid() }) },
      );
      expect(state.threads[open.conversationId].stale).toBe(true);
    });

    it('delivery ticks only move forward: a late "sent" never undoes "read"', () => {
      const reply = message({ direction: 'outbound', sender: 'agent', deliveryStatus: 'queued' });
      const state = run(
        loaded(),
        { type: 'socket/event', event: event('agent.delivery', { messageId: reply.id, status: 'read' }) },
        { type: 'socket/event', event: event('agent.delivery', { messageId: reply.id, status: 'sent' }) },
      );
      expect(deliveryOf(state, reply)).toBe('read');
      expect(deliveryOf(state, { ...reply, deliveryStatus: 'delivered' })).toBe('read');
      expect(deliveryOf(state, message({ direction: 'inbound' }))).toBeNull();
      expect(deliveryOf(loaded(), { ...reply, deliveryStatus: null })).toBe('queued');
    });
  });

  describe('time', () => {
    it('offers expire on the clock even when the withdrawal is lost, freeing their load', () => {
      const state = loaded(snapshot({ offers: [offer({ expiresAt: at(5_000) })] }));
      expect(loadOf(state, 'sync')).toBe(1);
      const later = run(state, { type: 'tick', now: NOW + 5_000 });
      expect(later.offers).toEqual([]);
      expect(loadOf(later, 'sync')).toBe(0);
      expect(later.notices.map((notice) => notice.text)).toEqual([expect.stringContaining('expired')]);
    });

    it('the customer typing indicator fades without a new signal', () => {
      const id = uuid();
      const typing = run(loaded(), { type: 'socket/typing', conversationId: id, typing: true });
      expect(isCustomerTyping(typing, id)).toBe(true);
      expect(isCustomerTyping(run(typing, { type: 'tick', now: NOW + TYPING_TTL_MS + 1 }), id)).toBe(false);
      expect(isCustomerTyping(run(typing, { type: 'socket/typing', conversationId: id, typing: false }), id)).toBe(false);
    });
  });

  describe('resync and reloads', () => {
    it('resync invalidates in-flight snapshots and marks threads for reloading', () => {
      const open = workItem();
      const state = run(
        loaded(snapshot({ async: [open] })),
        { type: 'thread/loaded', conversationId: open.conversationId, page: { messages: [message({ conversationId: open.conversationId })], nextCursor: null }, older: false },
        { type: 'socket/resync' },
      );
      expect(state.refreshWanted).toBe(true);
      expect(state.threads[open.conversationId].stale).toBe(true);
      expect(run(state, { type: 'work/loaded', snapshot: snapshot(), version: 0 }).held).toHaveLength(1);
      expect(run(state, { type: 'work/loaded', snapshot: snapshot(), version: state.workVersion }).held).toHaveLength(0);
    });

    it('a fresh first page replaces the thread but keeps messages that arrived while it loaded', () => {
      const id = uuid();
      const old = message({ conversationId: id, createdAt: at(1) });
      const live = message({ conversationId: id, createdAt: at(10_000) });
      const page = message({ conversationId: id, createdAt: at(5_000) });
      const state = run(
        loaded(),
        { type: 'thread/loaded', conversationId: id, page: { messages: [old], nextCursor: null }, older: false },
        { type: 'message/written', message: live },
        { type: 'thread/loaded', conversationId: id, page: { messages: [page], nextCursor: 'c1' }, older: false },
      );
      expect(state.threads[id].messages.map((item) => item.id)).toEqual([page.id, live.id]);
      expect(state.threads[id].nextCursor).toBe('c1');
      const older = run(state, { type: 'thread/loaded', conversationId: id, page: { messages: [old], nextCursor: null }, older: true });
      expect(older.threads[id].messages.map((item) => item.id)).toEqual([old.id, page.id, live.id]);
      expect(older.threads[id].nextCursor).toBeNull();
    });

    it("the agent's own actions update the desk before the events arrive, and the events change nothing more", () => {
      const item = offer({ mode: 'async', channel: 'sms' });
      const accepted = run(loaded(snapshot({ offers: [item] })), { type: 'offer/answered', conversationId: item.conversationId, accepted: true });
      expect(heldOf(accepted, 'async').map((held) => held.conversationId)).toEqual([item.conversationId]);
      const echoed = run(accepted, { type: 'socket/event', event: event('agent.assigned', { conversationId: item.conversationId, mode: 'async', via: 'offer' }) });
      expect(loadOf(echoed, 'async')).toBe(1);
      const closed = run(echoed, { type: 'conversation/left', conversationId: item.conversationId, reason: 'closed' });
      const revoked = run(closed, { type: 'socket/event', event: event('agent.revoked', { conversationId: item.conversationId, reason: 'closed' }) });
      expect(loadOf(revoked, 'async')).toBe(0);
      expect(revoked.ended[item.conversationId]).toBe('closed');
      expect(revoked.notices).toEqual([]);
    });

    it("an own hand-off whose revocation arrives before the REST answer raises no notice; a failed one keeps the item", () => {
      const item = workItem();
      const base = loaded(snapshot({ async: [item] }));
      const closing = run(base, { type: 'conversation/leaving', conversationId: item.conversationId });
      const revoked = run(closing, { type: 'socket/event', event: event('agent.revoked', { conversationId: item.conversationId, reason: 'closed' }) });
      const left = run(revoked, { type: 'conversation/left', conversationId: item.conversationId, reason: 'closed' });
      expect([left.held, left.notices, left.leaving, left.ended[item.conversationId]]).toEqual([[], [], {}, 'closed']);
      const refused = run(closing, { type: 'conversation/stayed', conversationId: item.conversationId });
      expect([refused.held, refused.leaving]).toEqual([[item], {}]);
    });
  });
});
