import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeConnector } from '../testing/fake-socket';
import { AgentConnection, HEARTBEAT_MAX_MS, HEARTBEAT_MIN_MS, nextHeartbeatDelay, type AgentConnectionHandlers } from './agent-connection';

function handlers(): AgentConnectionHandlers & { states: string[] } {
  const states: string[] = [];
  return {
    states,
    onState: (state) => states.push(state),
    onReady: vi.fn(),
    onEvent: vi.fn(),
    onResync: vi.fn(),
    onTyping: vi.fn(),
    onRefused: vi.fn(),
    onHeartbeat: vi.fn(),
  };
}

function open(lastEventId?: () => string | undefined) {
  const { sockets, connect } = fakeConnector();
  const events = handlers();
  const connection = new AgentConnection({ token: 'tok', lastEventId: lastEventId ?? (() => undefined), handlers: events, connect });
  return { connection, socket: sockets[0], events };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('agent connection', () => {
  it('is live only after ready, and resumes from the newest event on every reconnection', () => {
    const resume: { from?: string } = {};
    const { socket, events } = open(() => resume.from);
    expect(socket.url).toBe('/agent');
    socket.fire('connect');
    expect(events.states).toEqual([]);
    socket.ready();
    expect(events.states).toEqual(['live']);
    expect(events.onReady).toHaveBeenLastCalledWith(expect.objectContaining({ agentId: 'a1' }), false);

    resume.from = '11111111-1111-4111-8111-111111111111';
    socket.drop();
    expect(events.states.at(-1)).toBe('reconnecting');
    expect(socket.auth()).toEqual({ token: 'tok', lastEventId: resume.from });
    socket.ready();
    expect(events.onReady).toHaveBeenLastCalledWith(expect.anything(), true);
  });

  it('forwards events, resyncs and customer typing', () => {
    const { socket, events } = open();
    socket.ready();
    socket.fire('event', { eventId: 'e1', type: 'agent.offer' });
    socket.fire('resync', { reason: 'too far behind' });
    socket.fire('typing', { conversationId: 'c1', typing: true });
    expect(events.onEvent).toHaveBeenCalledWith({ eventId: 'e1', type: 'agent.offer' });
    expect(events.onResync).toHaveBeenCalledWith('too far behind');
    expect(events.onTyping).toHaveBeenCalledWith({ conversationId: 'c1', typing: true });
  });

  it('a refused token is final; a server shutting the socket down is retried', () => {
    vi.useFakeTimers();
    const { socket, events } = open();
    socket.ready();
    socket.drop('io server disconnect');
    vi.advanceTimersByTime(1_000);
    expect(socket.connectCalls).toBe(1);

    socket.fire('error', { code: 'token_expired', message: 'token expired' });
    socket.drop('io server disconnect');
    expect(events.onRefused).toHaveBeenCalledWith({ code: 'token_expired', message: 'token expired' });
    expect(events.states.at(-1)).toBe('offline');
  });

  it('sends heartbeats while wanted, paced by the lease the router grants', async () => {
    vi.useFakeTimers();
    const { connection, socket, events } = open();
    socket.ready();
    connection.setHeartbeat(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.emitted.filter((item) => item.event === 'heartbeat')).toHaveLength(1);
    expect(events.onHeartbeat).toHaveBeenCalledWith(expect.objectContaining({ ok: true }));
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MAX_MS);
    expect(socket.emitted.filter((item) => item.event === 'heartbeat')).toHaveLength(2);
    connection.setHeartbeat(false);
    await vi.advanceTimersByTimeAsync(HEARTBEAT_MAX_MS * 3);
    expect(socket.emitted.filter((item) => item.event === 'heartbeat')).toHaveLength(2);
    connection.close();
    expect(events.states.at(-1)).toBe('offline');
  });

  it('paces heartbeats at a third of the lease left, within bounds', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    const lease = (seconds: number) => ({ ok: true as const, data: { leaseExpiresAt: new Date(now + seconds * 1000).toISOString() } });
    expect(nextHeartbeatDelay(lease(15), now)).toBe(5_000);
    expect(nextHeartbeatDelay(lease(300), now)).toBe(HEARTBEAT_MAX_MS);
    expect(nextHeartbeatDelay(lease(1), now)).toBe(HEARTBEAT_MIN_MS);
    expect(nextHeartbeatDelay({ ok: false, code: 'not_present', message: '' }, now)).toBe(HEARTBEAT_MAX_MS);
  });
});
