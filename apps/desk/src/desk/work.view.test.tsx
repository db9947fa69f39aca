import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { NOW, workItem } from '../testing/fixtures';
import { WorkLane } from './work.view';

describe('work lane', () => {
  it('shows load/cap and one item per held conversation, which opens on click', async () => {
    const items = [workItem({ channel: 'sms' }), workItem({ channel: 'email', customer: { id: 'x', name: 'Kim' } })];
    const onOpen = vi.fn();
    render(
      <WorkLane mode="async" items={items} load={3} cap={8} now={NOW} selectedId={null} unread={{ [items[1].conversationId]: 2 }} typing={() => false} onOpen={onOpen} />,
    );
    const lane = screen.getByTestId('async-work');
    expect(within(lane).getByTestId('load').textContent).toBe('3/8');
    const rows = within(lane).getAllByTestId('work-item');
    expect(rows.map((row) => [row.dataset.conversationId, row.dataset.mode, row.dataset.channel])).toEqual([
      [items[0].conversationId, 'async', 'sms'],
      [items[1].conversationId, 'async', 'email'],
    ]);
    expect(within(rows[1]).getByLabelText('2 unread')).toBeTruthy();
    await userEvent.click(rows[1]);
    expect(onOpen).toHaveBeenCalledWith(items[1].conversationId);
  });

  it('an empty live lane still shows its load', () => {
    render(<WorkLane mode="sync" items={[]} load={0} cap={1} now={NOW} selectedId={null} unread={{}} typing={() => false} onOpen={vi.fn()} />);
    expect(within(screen.getByTestId('sync-work')).getByTestId('load').textContent).toBe('0/1');
  });
});
