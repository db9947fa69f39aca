import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { conversationDetail, NOW, stats, uuid } from '../testing/fixtures';
import { SupervisorView } from './supervisor.view';

function api() {
  return {
    setCapacity: vi.fn(async () => ({})),
    reassign: vi.fn(async () => ({})),
    conversation: vi.fn(async (id: string) => conversationDetail({ id })),
  };
}

describe('supervisor view', () => {
  it('shows queues and agents from the stats feed', () => {
    render(<SupervisorView stats={stats()} connection="live" api={api()} now={NOW} />);
    const queues = screen.getAllByTestId('queue-row');
    expect(queues.map((row) => [row.dataset.queueId, row.dataset.sla])).toEqual([
      ['live', 'warning'],
      ['messaging', 'ok'],
    ]);
    expect(within(queues[0]).getByText('1m 40s')).toBeTruthy();
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
