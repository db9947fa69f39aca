import { describe, expect, it } from 'vitest';
import { attributesOf, botHandoffOf, customerFactsOf } from './conversation-context.parser';

describe('conversation context parser', () => {
  it('reads a bot hand-off: the summary trimmed, scalar attributes sorted by key', () => {
    const context = { locale: 'en', bot: { summary: '  Wants a refund.\nOrder 42.  ', attributes: { orderId: '42', amount: 19.5, eligible: true, note: null } } };
    expect(botHandoffOf(context)).toEqual({
      summary: 'Wants a refund.\nOrder 42.',
      attributes: [
        { key: 'amount', value: 19.5 },
        { key: 'eligible', value: true },
        { key: 'note', value: null },
        { key: 'orderId', value: '42' },
      ],
    });
  });

  it('keeps a hand-off without a summary (a timed-out bot) as attributes only', () => {
    expect(botHandoffOf({ bot: { attributes: { botTimedOut: true } } })).toEqual({ attributes: [{ key: 'botTimedOut', value: true }] });
  });

  it.each([
    ['null', null],
    ['a string', 'x'],
    ['an array', [{ bot: { summary: 's' } }]],
    ['no bot', { locale: 'en' }],
    ['a number as bot', { bot: 5 }],
    ['a null bot', { bot: null }],
    ['an array as bot', { bot: ['summary'] }],
    ['a bot with nothing readable', { bot: { summary: 7, attributes: 'x' } }],
    ['a blank summary and no attributes', { bot: { summary: '   ', attributes: {} } }],
  ])('finds no hand-off in %s', (_name, context) => {
    expect(botHandoffOf(context)).toBeUndefined();
  });

  it('drops nested, non-finite and blank-keyed attribute values instead of guessing how to show them', () => {
    expect(attributesOf({ ok: 'yes', nested: { a: 1 }, list: [1], inf: Infinity, ' ': 'blank', fn: () => 1 })).toEqual([{ key: 'ok', value: 'yes' }]);
    expect(attributesOf(['a'])).toEqual([]);
    expect(attributesOf('vip')).toEqual([]);
  });

  it('marks a customer VIP only on vip === true, and reports a non-blank tier', () => {
    expect(customerFactsOf({ vip: true, tier: ' gold ' })).toMatchObject({ vip: true, tier: 'gold' });
    expect(customerFactsOf({ vip: 'true', tier: 3 })).toEqual({ vip: false, attributes: [{ key: 'tier', value: 3 }, { key: 'vip', value: 'true' }] });
    expect(customerFactsOf({ tier: '  ' })).not.toHaveProperty('tier');
    expect(customerFactsOf(null)).toEqual({ vip: false, attributes: [] });
  });
});
