import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { SupervisedConversation, SupervisedConversationPage, SupervisedConversationQuery } from '../api/api.types';
import { at, conversationDetail, NOW, stats, uuid } from '../testing/fixtures';
import { SupervisorView } from './supervisor.view';

function listed(overrides: Partial<SupervisedConversation> = {}): SupervisedConversation {
  return {
    id: uuid(),
    channel: 'webchat',
    mode: 'sync',
    status: 'queued',
    queueId: 'live',
    priority: 0,
    assignedAgentId: null,
    assignedAgentName: null,
    customer: { id: uuid(), name: 'Jo Customer' },
    queuedAt: at(-100_000),
    waitingS: 100,
    assignedAt: null,
    lastMessageAt: at(-90_000),
    ...overrides,
  };
}

const page = (conversations: SupervisedConversation[], nextCursor: string | null = null, time = at(0)): SupervisedConversationPage => ({
  at: time,
  conversations,
  nextCursor,
});

const waiting = listed({ customer: { id: uuid(), name: 'Wendy Waiting' } });
const held = listed({
  status: 'assigned',
  channel: 'sms',
  mode: 'async',
  queueId: 'messaging',
  assignedAgentId: 'a1',
  assignedAgentName: 'Ada Lovelace',
  customer: { id: uuid(), name: 'Harry Held' },
  queuedAt: null,
  waitingS: null,
  assignedAt: at(-600_000),
});

function api(answer: (query: SupervisedConversationQuery) => Promise<SupervisedConversationPage> = async () => page([waiting, held])) {
  return {
    setCapacity: vi.fn(async () => ({})),
    reassign: vi.fn(async () => ({})),
    conversation: vi.fn(async (id: string) => conversationDetail({ id })),
    supervisedConversations: vi.fn(answer),
  };
}

const rows = () => screen.queryAllByTestId('supervisor-conversation');
const rowOf = (type: 'queue' | 'agent', id: string) =>
  screen.getAllByTestId(`${type}-row`).find((row) => row.dataset[type === 'queue' ? 'queueId' : 'agentId'] === id)!;

describe('supervisor view', () => {
  it('shows queues and agents from the stats feed', () => {
    render(<SupervisorView stats={stats()} connection="live" api={api()} now={NOW} />);
    const queues = screen.getAllByTestId('queue-row');
    expect(queues.map((row) => [row.dataset.queueId, row.dataset.sla])).toEqual([
      ['live', 'warning'],
      ['messaging', 'ok'],
    ]);
    expect(within(queues[0]).getByText('1m 40s')).toBeTruthy();
    // Agents online, then of those the ones with room now for a live item and for an async thread.
    const agentFigures = (row: HTMLElement) =>
      ['queue-agents-online', 'queue-agents-sync', 'queue-agents-async'].map((id) => within(row).getByTestId(id).textContent);
    expect(queues.map(agentFigures)).toEqual([
      ['2', '0', '1'],
      ['2', '1', '2'],
    ]);
    expect(screen.getAllByRole('columnheader').map((header) => header.textContent)).toEqual(
      expect.arrayContaining(['Agents online', 'Free for live', 'Free for async']),
    );
    const agents = screen.getAllByTestId('agent-row');
    expect(agents.map((row) => row.dataset.agentId)).toEqual(['a1', 'a3']);
    expect(within(agents[0]).getByTestId('agent-async-load').textContent).toBe('3/8');
    expect(screen.getByTestId('supervisor-connection').textContent).toBe('live');
  });

  it("changes an agent's caps; a blank cap means inherit", async () => {
    const calls = api();
    render(<SupervisorView stats={stats()} connection="live" api={calls} now={NOW} />);
    await userEvent.click(screen.getByRole('button', { name: 'Edit caps of a3' }));
    await userEvent.clear(screen.getByRole('spinbutton', { name: 'Live cap of a3' }));
    const asyncCap = screen.getByRole('spinbutton', { name: 'Async cap of a3' });
    await userEvent.clear(asyncCap);
    await userEvent.type(asyncCap, '6');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(calls.setCapacity).toHaveBeenCalledWith('a3', { syncCap: null, asyncCap: 6 });
  });

  it('reassigns a conversation to an agent or a queue', async () => {
    const calls = api();
    const id = uuid();
    render(<SupervisorView stats={stats()} connection="live" api={calls} now={NOW} />);
    await userEvent.type(screen.getByRole('textbox', { name: 'Conversation id' }), id);
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Target agent' }), 'a3');
    await userEvent.click(screen.getByRole('button', { name: 'Reassign' }));
    expect(calls.reassign).toHaveBeenCalledWith(id, { agentId: 'a3' });
    expect(calls.conversation).toHaveBeenCalledWith(id);

    await userEvent.click(screen.getByRole('radio', { name: 'a queue' }));
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Target queue' }), 'messaging');
    await userEvent.click(screen.getByRole('button', { name: 'Reassign' }));
    expect(calls.reassign).toHaveBeenLastCalledWith(id, { queueId: 'messaging' });
  });
});

describe('supervisor view: the conversations behind a row', () => {
  it("clicking a queue row lists that queue's open conversations: status, channel, waiting time or holder, customer", async () => {
    const calls = api();
    render(<SupervisorView stats={stats()} connection="live" api={calls} now={NOW + 5_000} />);
    expect(rows()).toEqual([]);
    await userEvent.click(within(rowOf('queue', 'live')).getByText('1m 40s'));

    expect(calls.supervisedConversations).toHaveBeenCalledWith({ queueId: 'live', status: ['queued', 'offered', 'assigned'], limit: 50 });
    expect(await screen.findByRole('heading', { name: 'Conversations in Live chat' })).toBeTruthy();
    await waitFor(() => expect(rows().map((row) => row.dataset.conversationId)).toEqual([waiting.id, held.id]));
    const [first, second] = rows();
    expect(first.dataset.status).toBe('queued');
    expect(within(first).getByText('webchat')).toBeTruthy();
    expect(within(first).getByText('Wendy Waiting')).toBeTruthy();
    // 100 s at the page's time, and the clock has moved on 5 s since.
    expect(within(first).getByText('waiting 1m 45s')).toBeTruthy();
    expect(within(second).getByText('with Ada Lovelace · 10m')).toBeTruthy();
    expect(rowOf('queue', 'live').dataset.selected).toBe('true');
    expect(within(rowOf('queue', 'live')).getByRole('button', { name: 'Live chat conversations' }).getAttribute('aria-pressed')).toBe('true');

    // The same row again closes the list.
    await userEvent.click(within(rowOf('queue', 'live')).getByRole('button', { name: 'Live chat conversations' }));
    expect(screen.queryByTestId('supervisor-conversations')).toBeNull();
  });

  it("clicking an agent row lists what it is offered and holds; editing its caps does not", async () => {
    const calls = api(async () => page([held]));
    render(<SupervisorView stats={stats()} connection="live" api={calls} now={NOW} />);
    await userEvent.click(screen.getByRole('button', { name: 'Edit caps of a3' }));
    await userEvent.click(screen.getByRole('spinbutton', { name: 'Async cap of a3' }));
    expect(calls.supervisedConversations).not.toHaveBeenCalled();

    await userEvent.click(within(rowOf('agent', 'a1')).getByTestId('agent-async-load'));
    expect(calls.supervisedConversations).toHaveBeenLastCalledWith({ agentId: 'a1', status: ['queued', 'offered', 'assigned'], limit: 50 });
    expect(await screen.findByRole('heading', { name: 'Conversations of Ada Lovelace' })).toBeTruthy();
    await waitFor(() => expect(rows().map((row) => row.dataset.conversationId)).toEqual([held.id]));

    // Another row replaces the list.
    calls.supervisedConversations.mockImplementation(async () => page([]));
    await userEvent.click(within(rowOf('queue', 'messaging')).getByRole('button', { name: 'Messaging conversations' }));
    expect(await screen.findByText('No open conversations.')).toBeTruthy();
    expect(rowOf('agent', 'a1').dataset.selected).toBeUndefined();
  });

  it('is read again with each stats push, and a slow older answer never replaces a newer one', async () => {
    const answers: Array<(value: SupervisedConversationPage) => void> = [];
    const calls = api(() => new Promise((resolve) => answers.push(resolve)));
    const first = stats();
    const { rerender } = render(<SupervisorView stats={first} connection="live" api={calls} now={NOW} />);
    await userEvent.click(within(rowOf('queue', 'live')).getByRole('button', { name: 'Live chat conversations' }));
    expect(screen.getByText('Loading…')).toBeTruthy();

    rerender(<SupervisorView stats={{ ...first, at: at(2_000) }} connection="live" api={calls} now={NOW + 2_000} />);
    expect(calls.supervisedConversations).toHaveBeenCalledTimes(2);
    answers[1](page([held], null, at(2_000)));
    await waitFor(() => expect(rows().map((row) => row.dataset.conversationId)).toEqual([held.id]));
    answers[0](page([waiting, held]));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(rows().map((row) => row.dataset.conversationId)).toEqual([held.id]);
  });

  it('keeps the last list on a failed refresh, with the error', async () => {
    const calls = api();
    const first = stats();
    const { rerender } = render(<SupervisorView stats={first} connection="live" api={calls} now={NOW} />);
    await userEvent.click(within(rowOf('queue', 'live')).getByRole('button', { name: 'Live chat conversations' }));
    await waitFor(() => expect(rows()).toHaveLength(2));
    calls.supervisedConversations.mockImplementation(async () => {
      throw new Error('the gateway cannot be reached');
    });
    rerender(<SupervisorView stats={{ ...first, at: at(2_000) }} connection="live" api={calls} now={NOW} />);
    expect((await screen.findByRole('alert')).textContent).toContain('the gateway cannot be reached');
    expect(rows()).toHaveLength(2);
  });

  it('shows more on request, up to the largest page', async () => {
    // There is always more than was asked for.
    const calls = api(async () => page([waiting], 'next'));
    render(<SupervisorView stats={stats()} connection="live" api={calls} now={NOW} />);
    await userEvent.click(within(rowOf('queue', 'live')).getByRole('button', { name: 'Live chat conversations' }));
    for (const limit of [100, 150, 200]) {
      await userEvent.click(await screen.findByRole('button', { name: 'Show more conversations' }));
      expect(calls.supervisedConversations).toHaveBeenLastCalledWith(expect.objectContaining({ limit }));
    }
    expect(await screen.findByText(/Showing the first 200/)).toBeTruthy();
  });

  it('"Reassign" on a listed conversation fills in the reassign form, and the list is read again after the move', async () => {
    const calls = api();
    render(<SupervisorView stats={stats()} connection="live" api={calls} now={NOW} />);
    await userEvent.click(within(rowOf('queue', 'live')).getByRole('button', { name: 'Live chat conversations' }));
    await waitFor(() => expect(rows()).toHaveLength(2));
    await userEvent.click(within(rows()[1]).getByRole('button', { name: `Reassign conversation ${held.id}` }));

    const idField = screen.getByRole('textbox', { name: 'Conversation id' }) as HTMLInputElement;
    expect(idField.value).toBe(held.id);
    expect(within(idField.closest('form')!).getByRole('status').textContent).toContain('Harry Held · assigned · queue messaging · with a1');
    const targetAgent = screen.getByRole('combobox', { name: 'Target agent' });
    expect(document.activeElement).toBe(targetAgent);
    expect(calls.conversation).not.toHaveBeenCalled();

    await userEvent.selectOptions(targetAgent, 'a3');
    const before = calls.supervisedConversations.mock.calls.length;
    await userEvent.click(screen.getByRole('button', { name: 'Reassign' }));
    expect(calls.reassign).toHaveBeenCalledWith(held.id, { agentId: 'a3' });
    expect(await screen.findByText('Moved to agent a3.')).toBeTruthy();
    await waitFor(() => expect(calls.supervisedConversations.mock.calls.length).toBe(before + 1));

    // Picking another one starts a fresh form; the pasted-id form is still there for anything else.
    await userEvent.click(within(rows()[0]).getByRole('button', { name: `Reassign conversation ${waiting.id}` }));
    expect((screen.getByRole('textbox', { name: 'Conversation id' }) as HTMLInputElement).value).toBe(waiting.id);
    expect(screen.queryByText('Moved to agent a3.')).toBeNull();
  });

  it('without a list call in the API, rows are plain (no buttons, nothing to click)', async () => {
    const { supervisedConversations: _unused, ...older } = api();
    render(<SupervisorView stats={stats()} connection="live" api={older} now={NOW} />);
    expect(within(rowOf('queue', 'live')).queryByRole('button')).toBeNull();
    await userEvent.click(rowOf('queue', 'live'));
    expect(screen.queryByTestId('supervisor-conversations')).toBeNull();
  });
});
