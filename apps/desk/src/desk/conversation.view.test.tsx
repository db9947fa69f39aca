import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import type { ConversationDetail, MessageView } from '../api/api.types';
import { botHandoffContext, conversationDetail, message, uuid, workItem } from '../testing/fixtures';
import { Conversation, type Draft } from './conversation.view';
import type { Thread } from './desk.reducer';

function actions() {
  return {
    reply: vi.fn(async () => true),
    note: vi.fn(async () => true),
    transfer: vi.fn(async () => true),
    close: vi.fn(async () => true),
    release: vi.fn(async () => true),
    escalate: vi.fn(async () => true),
    typing: vi.fn(),
    loadOlder: vi.fn(async () => undefined),
    select: vi.fn(),
  };
}

function setup({
  ended,
  mode = 'async' as const,
  facts = {},
  later = [],
}: { ended?: string; mode?: 'sync' | 'async'; facts?: Pick<Partial<ConversationDetail>, 'context' | 'customer'>; later?: Array<Partial<MessageView>> } = {}) {
  const id = uuid();
  const earlier = uuid();
  const item = workItem({ conversationId: id, mode, channel: mode === 'sync' ? 'webchat' : 'sms' });
  const detail = conversationDetail({
    id,
    mode,
    channel: item.channel,
    otherConversations: [{ id: earlier, channel: 'email', mode: 'async', status: 'closed', createdAt: '2029-12-01T10:00:00Z', closedAt: null, lastMessageAt: '2029-12-01T10:00:00Z' }],
    ...facts,
  });
  const reply = message({ conversationId: id, direction: 'outbound', sender: 'agent', authorAgentId: 'a1', deliveryStatus: 'sent' });
  const thread: Thread = {
    conversationId: id,
    detail,
    messages: [
      message({ conversationId: earlier, channel: 'email', text: 'old email' }),
      message({ conversationId: id, text: 'hello' }),
      reply,
      message({ conversationId: id, direction: 'internal', sender: 'agent', authorAgentId: 'a2', text: 'vip' }),
      ...later.map((overrides) => message({ conversationId: id, ...overrides })),
    ],
    nextCursor: 'more',
    loading: false,
    stale: false,
  };
  const calls = actions();
  function Harness() {
    const [draft, setDraft] = useState<Draft>({ reply: '', note: '' });
    return (
      <Conversation
        conversationId={id}
        thread={thread}
        item={item}
        endedReason={ended}
        deliveries={{ [reply.id]: { status: 'read' } }}
        customerTyping
        agentId="a1"
        queueIds={['live', 'messaging']}
        draft={draft}
        onDraft={setDraft}
        actions={calls}
      />
    );
  }
  render(<Harness />);
  return { id, calls };
}

describe('conversation', () => {
  it("shows the customer's history across channels with directions and delivery ticks", () => {
    const { id } = setup();
    const view = screen.getByTestId('conversation');
    expect(view.dataset.conversationId).toBe(id);
    const rows = within(view).getAllByTestId('message');
    expect(rows.map((row) => [row.dataset.direction, row.dataset.delivery])).toEqual([
      ['inbound', undefined],
      ['inbound', undefined],
      ['outbound', 'read'],
      ['internal', undefined],
    ]);
    expect(within(rows[0]).getByText('email')).toBeTruthy();
    expect(within(rows[3]).getByText('Note · Agent a2')).toBeTruthy();
    expect(screen.getByText('Jo Customer is typing…')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Load older messages' })).toBeTruthy();
  });

  it("names who wrote each outbound message: the bot's replies as Bot, never as an agent", () => {
    setup({
      later: [
        { direction: 'outbound', sender: 'bot', authorAgentId: null, text: 'It ships tomorrow.' },
        { direction: 'outbound', sender: 'agent', authorAgentId: 'a2', text: 'Anything else?' },
      ],
    });
    const rows = screen.getAllByTestId('message');
    expect(rows.map((row) => row.querySelector('.who')?.textContent)).toEqual(['Jo Customer', 'Jo Customer', 'You', 'Note · Agent a2', 'Bot', 'Agent a2']);
    expect(within(rows[4]).getByText('It ships tomorrow.')).toBeTruthy();
    expect(rows[4].dataset.direction).toBe('outbound');
  });

  it('sends a reply with a client message id and clears the box; notes likewise', async () => {
    const { id, calls } = setup();
    await userEvent.type(screen.getByRole('textbox', { name: 'Reply' }), 'On it');
    await userEvent.click(screen.getByRole('button', { name: 'Send' }));
    expect(calls.reply).toHaveBeenCalledWith(id, expect.stringMatching(/^r-[A-Za-z0-9._:-]+$/), 'On it');
    expect((screen.getByRole('textbox', { name: 'Reply' }) as HTMLTextAreaElement).value).toBe('');

    await userEvent.type(screen.getByRole('textbox', { name: 'Note' }), 'called back');
    await userEvent.click(screen.getByRole('button', { name: 'Add note' }));
    expect(calls.note).toHaveBeenCalledWith(id, expect.stringMatching(/^n-/), 'called back');
  });

  it('announces agent typing on live conversations only', async () => {
    const { id, calls } = setup({ mode: 'sync' });
    await userEvent.type(screen.getByRole('textbox', { name: 'Reply' }), 'hi');
    expect(calls.typing).toHaveBeenCalledWith(id, true);
  });

  it('transfers to a queue, closes with a wrap-up, releases and escalates', async () => {
    const { id, calls } = setup();
    await userEvent.click(screen.getByRole('button', { name: 'Transfer' }));
    await userEvent.type(screen.getByRole('combobox', { name: 'Queue id' }), 'live');
    await userEvent.click(screen.getByRole('button', { name: 'Confirm transfer' }));
    expect(calls.transfer).toHaveBeenCalledWith(id, { queueId: 'live' });

    await userEvent.click(screen.getByRole('button', { name: 'Close' }));
    await userEvent.type(screen.getByRole('textbox', { name: 'Wrap-up (optional)' }), 'refunded');
    await userEvent.click(screen.getByRole('button', { name: 'Confirm close' }));
    expect(calls.close).toHaveBeenCalledWith(id, 'refunded');

    await userEvent.click(screen.getByRole('button', { name: 'Release' }));
    expect(calls.release).toHaveBeenCalledWith(id);
    await userEvent.click(screen.getByRole('button', { name: 'Escalate to call' }));
    expect(calls.escalate).toHaveBeenCalledWith(id);
  });

  it('turns read-only once the conversation left the desk', () => {
    setup({ ended: 'closed' });
    expect(screen.getByText(/no longer on your desk \(closed\)/)).toBeTruthy();
    expect((screen.getByRole('textbox', { name: 'Reply' }) as HTMLTextAreaElement).disabled).toBe(true);
    for (const name of ['Send', 'Add note', 'Transfer', 'Release', 'Close', 'Escalate to call']) {
      expect((screen.getByRole('button', { name }) as HTMLButtonElement).disabled).toBe(true);
    }
  });

  describe('what the bot gathered and who the customer is', () => {
    const customer = (attributes: unknown) => ({ id: uuid(), name: 'Jo Customer', address: '+15550001', attributes });
    const rows = (list: HTMLElement) => within(list).getAllByTestId('attribute').map((row) => [row.dataset.key, within(row).getByRole('definition').textContent]);

    it("shows the bot's summary and the attributes it gathered", () => {
      setup({ facts: { context: botHandoffContext({ summary: 'Wants a refund for order 42.\nAsked twice.', attributes: { orderId: '42', eligible: true, amount: 19.5, reason: null } }) } });
      const panel = screen.getByRole('region', { name: 'From the bot' });
      expect(panel.dataset.testid).toBe('bot-handoff');
      expect(within(panel).getByTestId('bot-summary').textContent).toBe('Wants a refund for order 42.\nAsked twice.');
      expect(rows(within(panel).getByTestId('bot-attributes'))).toEqual([
        ['amount', '19.5'],
        ['eligible', 'yes'],
        ['orderId', '42'],
        ['reason', 'not set'],
      ]);
      expect(screen.queryByTestId('customer-facts')).toBeNull();
    });

    it('says so when a timed-out bot handed over without a summary', () => {
      setup({ facts: { context: botHandoffContext({ attributes: { botTimedOut: true } }) } });
      const panel = screen.getByTestId('bot-handoff');
      expect(within(panel).getByText('The bot left no summary.')).toBeTruthy();
      expect(within(panel).queryByTestId('bot-summary')).toBeNull();
      expect(rows(within(panel).getByTestId('bot-attributes'))).toEqual([['botTimedOut', 'yes']]);
    });

    it("highlights a VIP customer and their tier beside the customer's attributes", () => {
      setup({ facts: { customer: customer({ vip: true, tier: 'gold', email: 'jo@example.com', address: { city: 'Oslo' } }) } });
      const panel = screen.getByRole('region', { name: 'Customer' });
      expect(within(panel).getByTestId('customer-vip').textContent).toBe('VIP');
      expect(within(panel).getByTestId('customer-tier').textContent).toBe('gold tier');
      expect(rows(within(panel).getByTestId('customer-attributes'))).toEqual([
        ['email', 'jo@example.com'],
        ['tier', 'gold'],
        ['vip', 'yes'],
      ]);
      expect(screen.queryByTestId('bot-handoff')).toBeNull();
    });

    it('does not call a customer VIP on a look-alike value', () => {
      setup({ facts: { customer: customer({ vip: 'true', plan: 'basic' }) } });
      expect(screen.getByTestId('customer-facts')).toBeTruthy();
      expect(screen.queryByTestId('customer-vip')).toBeNull();
      expect(screen.queryByTestId('customer-tier')).toBeNull();
    });

    it.each([
      ['null', null, {}],
      ['empty', {}, null],
      ['a string', 'x', 'x'],
      ['a number as bot', { bot: 5 }, [1, 2]],
      ['a null bot', { bot: null }, { vip: undefined }],
      ['an empty hand-off', { bot: { summary: '  ', attributes: {} } }, { nested: { vip: true } }],
      ['a malformed hand-off', { bot: { summary: ['s'], attributes: [['k', 'v']] } }, 7],
    ])('shows no panel when the context is %s', (_name, context, attributes) => {
      setup({ facts: { context, customer: customer(attributes) } });
      expect(screen.getByTestId('conversation')).toBeTruthy();
      expect(screen.queryByTestId('bot-handoff')).toBeNull();
      expect(screen.queryByTestId('customer-facts')).toBeNull();
    });

    it('renders HTML-like text as text', () => {
      const summary = '<img src=x onerror="alert(1)"><b>urgent</b>';
      setup({
        facts: {
          context: botHandoffContext({ summary, attributes: { '<i>key</i>': '<script>alert(2)</script>' } }),
          customer: customer({ tier: '<u>gold</u>' }),
        },
      });
      const view = screen.getByTestId('conversation');
      expect(screen.getByTestId('bot-summary').textContent).toBe(summary);
      expect(rows(screen.getByTestId('bot-attributes'))).toEqual([['<i>key</i>', '<script>alert(2)</script>']]);
      expect(screen.getByTestId('customer-tier').textContent).toBe('<u>gold</u> tier');
      expect(view.querySelector('img, b, i, u, script')).toBeNull();
    });
  });
});
