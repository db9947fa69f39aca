import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { DeskApi } from './api/api.client';
import type { WorkSnapshot } from './api/api.types';
import { App } from './app.view';
import { TOKEN_KEY } from './session/session';
import { fakeConnector, fakeToken } from './testing/fake-socket';
import { conversationDetail, event, snapshot, uuid, workItem } from './testing/fixtures';

function memoryStorage(token?: string) {
  const values = new Map<string, string>(token ? [[TOKEN_KEY, token]] : []);
  return {
    values,
    getItem: (key: string) => values.get(key) ?? null,
    setItem: (key: string, value: string) => void values.set(key, value),
    removeItem: (key: string) => void values.delete(key),
  };
}

function fakeApi(work: () => WorkSnapshot) {
  return {
    me: vi.fn(async () => ({ id: 'a1', name: 'Ada Lovelace', tenantId: 'default', skills: [], queueIds: ['live', 'messaging'], presence: 'online' as const, leaseExpiresAt: null, wrapUpUntil: null, syncLoad: 0, asyncLoad: 0, syncCap: 1, asyncCap: 8 })),
    work: vi.fn(async () => work()),
    setPresence: vi.fn(async (presence: 'online' | 'away' | 'offline') => ({ presence, leaseExpiresAt: null })),
    heartbeat: vi.fn(async () => ({})),
    accept: vi.fn(async () => ({})),
    decline: vi.fn(async () => ({})),
    conversation: vi.fn(async (id: string) => conversationDetail({ id })),
    messages: vi.fn(async () => ({ messages: [], nextCursor: null })),
    reply: vi.fn(async () => ({ messageId: uuid(), deliveryStatus: 'queued' as const, duplicate: false })),
    note: vi.fn(async () => ({ messageId: uuid(), deliveryStatus: null, duplicate: false })),
    transfer: vi.fn(async () => ({})),
    close: vi.fn(async () => ({})),
    release: vi.fn(async () => ({})),
    escalate: vi.fn(async () => ({})),
    stats: vi.fn(),
    reassign: vi.fn(),
    setCapacity: vi.fn(),
  } satisfies DeskApi;
}

describe('app', () => {
  it('without a token, shows the sign-in form', () => {
    render(<App storage={memoryStorage()} connect={fakeConnector().connect} />);
    expect(screen.getByTestId('signin')).toBeTruthy();
  });

  it('connects, loads work, takes live offers and answers them, and resumes from the last event', async () => {
    const held = workItem({ channel: 'email' });
    let work = snapshot({ async: [held] });
    const api = fakeApi(() => work);
    const { sockets, connect } = fakeConnector();
    render(<App storage={memoryStorage(fakeToken())} connect={connect} makeApi={() => api} />);

    expect(screen.getByTestId('connection').textContent).toBe('connecting');
    const socket = sockets[0];
    expect(socket.auth()).toEqual({ token: expect.any(String) });
    act(() => socket.ready());
    expect(screen.getByTestId('connection').textContent).toBe('live');

    await waitFor(() => expect(within(screen.getByTestId('async-work')).getAllByTestId('work-item')).toHaveLength(1));
    expect(within(screen.getByTestId('async-work')).getByTestId('load').textContent).toBe('1/8');
    expect((screen.getByRole('combobox', { name: 'Presence' }) as HTMLSelectElement).value).toBe('online');
    // Present agents renew their lease over the socket.
    await waitFor(() => expect(socket.emitted.some((item) => item.event === 'heartbeat')).toBe(true));

    const offered = event('agent.offer', { mode: 'sync', channel: 'webchat', expiresAt: new Date(Date.now() + 20_000).toISOString() });
    act(() => socket.fire('event', offered));
    const card = await screen.findByTestId('offer');
    expect(card.dataset).toMatchObject({ conversationId: offered.conversationId, mode: 'sync' });
    expect(within(card).getByTestId('countdown').textContent).toMatch(/^0:(19|20)$/);
    expect(within(screen.getByTestId('sync-work')).getByTestId('load').textContent).toBe('1/1');

    work = snapshot({ async: [held], sync: [workItem({ conversationId: offered.conversationId, mode: 'sync', channel: 'webchat' })] });
    await userEvent.click(within(card).getByRole('button', { name: 'Accept' }));
    expect(api.accept).toHaveBeenCalledWith(offered.conversationId);
    await waitFor(() => expect(screen.queryByTestId('offer')).toBeNull());
    const live = within(screen.getByTestId('sync-work')).getByTestId('work-item');
    expect(live.dataset).toMatchObject({ conversationId: offered.conversationId, mode: 'sync', channel: 'webchat' });
    // Accepting opens the conversation.
    expect((await screen.findByTestId('conversation')).dataset.conversationId).toBe(offered.conversationId);
    expect(api.messages).toHaveBeenCalledWith(offered.conversationId, { scope: 'customer', limit: 50 });

    act(() => socket.drop());
    expect(screen.getByTestId('connection').textContent).toBe('reconnecting');
    expect(socket.auth()).toEqual({ token: expect.any(String), lastEventId: offered.eventId });
  });

  it('a refused token signs the agent out with the reason', async () => {
    const storage = memoryStorage(fakeToken());
    const { sockets, connect } = fakeConnector();
    render(<App storage={storage} connect={connect} makeApi={() => fakeApi(() => snapshot())} />);
    act(() => {
      sockets[0].fire('connect');
      sockets[0].fire('error', { code: 'token_expired', message: 'token expired' });
    });
    expect(await screen.findByTestId('signin')).toBeTruthy();
    expect(screen.getByText(/token expired/)).toBeTruthy();
    expect(storage.values.has(TOKEN_KEY)).toBe(false);
  });

  it('shows the supervisor view to supervisors, fed by the stats stream', async () => {
    window.location.hash = '#/supervisor';
    try {
      const { sockets, connect } = fakeConnector();
      render(<App storage={memoryStorage(fakeToken({ role: 'supervisor' }))} connect={connect} makeApi={() => fakeApi(() => snapshot())} />);
      const feed = sockets.find((socket) => socket.url === '/supervisor')!;
      expect(feed.auth()).toEqual({ token: expect.any(String) });
      act(() =>
        feed.fire('stats', {
          at: new Date().toISOString(),
          queues: [{ id: 'live', name: 'Live', waitingSync: 1, waitingAsync: 0, offered: 0, assigned: 0, oldestWaitS: 3, maxWaitS: 120, slaState: 'ok', agentsOnline: 1, agentsAvailableSync: 1, agentsAvailableAsync: 1 }],
          agents: [],
        }),
      );
      expect((await screen.findByTestId('queue-row')).dataset.queueId).toBe('live');
      expect(screen.getByRole('link', { name: 'Supervisor' }).getAttribute('aria-current')).toBe('page');
    } finally {
      window.location.hash = '';
    }
  });
});
