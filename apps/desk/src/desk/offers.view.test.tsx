import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { NOW, offer } from '../testing/fixtures';
import { Offers } from './offers.view';

describe('offers', () => {
  it('shows each offer with its countdown and answers it', async () => {
    const item = offer({ expiresAt: new Date(NOW + 75_000).toISOString(), customer: { id: 'c', name: 'Sam' } });
    const onAccept = vi.fn(async () => undefined);
    const onDecline = vi.fn(async () => undefined);
    render(<Offers offers={[item]} now={NOW} onAccept={onAccept} onDecline={onDecline} />);

    const card = screen.getByTestId('offer');
    expect(card.dataset).toMatchObject({ conversationId: item.conversationId, mode: 'sync' });
    expect(within(card).getByTestId('countdown').textContent).toBe('1:15');
    expect(within(card).getByRole('heading', { name: 'Sam' })).toBeTruthy();

    await userEvent.click(within(card).getByRole('button', { name: 'Accept' }));
    expect(onAccept).toHaveBeenCalledWith(item.conversationId);
    await userEvent.click(within(card).getByRole('button', { name: 'Decline' }));
    expect(onDecline).toHaveBeenCalledWith(item.conversationId);
  });

  it('counts down to zero, never below', () => {
    const item = offer({ expiresAt: new Date(NOW + 2_000).toISOString() });
    const { rerender } = render(<Offers offers={[item]} now={NOW} onAccept={vi.fn()} onDecline={vi.fn()} />);
    expect(screen.getByTestId('countdown').textContent).toBe('0:02');
    rerender(<Offers offers={[item]} now={NOW + 10_000} onAccept={vi.fn()} onDecline={vi.fn()} />);
    expect(screen.getByTestId('countdown').textContent).toBe('0:00');
  });

  it('says when there is nothing on offer', () => {
    render(<Offers offers={[]} now={NOW} onAccept={vi.fn()} onDecline={vi.fn()} />);
    expect(screen.queryByTestId('offer')).toBeNull();
    expect(screen.getByText('No offers right now.')).toBeTruthy();
  });
});
