import { PriorityPolicy } from './priority.policy';

const ANGRY = 'This is terrible, I am furious, worst service ever';

describe('PriorityPolicy', () => {
  const policy = new PriorityPolicy();

  it('keeps the explicit priority for neutral text', () => {
    const result = policy.score({ explicitPriority: 30, text: 'Where is my parcel? Order 1234.', attributes: {} });
    expect(result).toEqual({ priority: 30, sentiment: 0, reasons: [] });
  });

  it('never lowers the explicit priority for happy text', () => {
    const result = policy.score({ explicitPriority: 30, text: 'Thanks, great help, I love it!', attributes: {} });
    expect(result.priority).toBe(30);
    expect(result.sentiment).toBeGreaterThan(0);
    expect(result.reasons).toEqual([]);
  });

  it('raises the priority for angry text', () => {
    const result = policy.score({ explicitPriority: 30, text: ANGRY, attributes: {} });
    expect(result.sentiment).toBeLessThanOrEqual(-0.5);
    expect(result.priority).toBe(45);
    expect(result.reasons).toEqual(['negative-sentiment']);
  });

  it('applies the milder step for mildly negative text', () => {
    // "disappointed" over eight words: comparative -0.375, between -0.5 and -0.2.
    const result = policy.score({ explicitPriority: 30, text: 'I am a bit disappointed with the delay', attributes: {} });
    expect(result.sentiment).toBeCloseTo(-0.375);
    expect(result.priority).toBe(38);
  });

  it.each([
    [{ vip: true }],
    [{ tier: 'vip' }],
    [{ tier: 'gold' }],
    [{ tier: ' Platinum ' }],
  ])('boosts a VIP customer %j', (attributes) => {
    expect(policy.score({ explicitPriority: 10, attributes })).toEqual({ priority: 30, reasons: ['vip'] });
  });

  it.each([[{ vip: 'true' }], [{ vip: false }], [{ tier: 'silver' }], [{ tier: null }], [{ tier: 3 }]])(
    'does not boost %j',
    (attributes) => {
      expect(policy.score({ explicitPriority: 10, attributes }).priority).toBe(10);
    },
  );

  it('clamps at 100', () => {
    const result = policy.score({ explicitPriority: 95, text: ANGRY, attributes: { vip: true } });
    expect(result).toEqual({ priority: 100, sentiment: expect.any(Number), reasons: ['vip', 'negative-sentiment'] });
  });

  it('clamps an out-of-range explicit priority into 0..100', () => {
    expect(policy.score({ explicitPriority: 250, attributes: {} }).priority).toBe(100);
    expect(policy.score({ explicitPriority: -5, attributes: {} }).priority).toBe(0);
    expect(() => policy.score({ explicitPriority: Number.NaN, attributes: {} })).toThrow(RangeError);
  });

  it('reports no sentiment when there is no text', () => {
    expect(policy.score({ explicitPriority: 40, attributes: {} })).toEqual({ priority: 40, reasons: [] });
    expect(policy.score({ explicitPriority: 40, text: '   ', attributes: {} })).toEqual({ priority: 40, reasons: [] });
  });

  it('never returns the text or its words', () => {
    const result = policy.score({ explicitPriority: 0, text: ANGRY, attributes: { tier: 'gold' } });
    const serialized = JSON.stringify(result);
    for (const word of ['terrible', 'furious', 'worst', 'service']) expect(serialized).not.toContain(word);
  });

  it('takes a custom VIP boost and custom sentiment steps', () => {
    const custom = new PriorityPolicy({ vipBoost: 5, sentimentSteps: [{ atOrBelow: -0.9, boost: 40 }] });
    expect(custom.score({ explicitPriority: 10, text: ANGRY, attributes: { vip: true } }).priority).toBe(55);
    expect(custom.score({ explicitPriority: 10, text: 'I am a bit disappointed with the delay', attributes: {} }).priority).toBe(10);
  });

  it('uses the largest matching step, not the sum of steps', () => {
    const unordered = new PriorityPolicy({ sentimentSteps: [{ atOrBelow: -0.2, boost: 8 }, { atOrBelow: -0.5, boost: 15 }] });
    expect(unordered.score({ explicitPriority: 0, text: ANGRY, attributes: {} }).priority).toBe(15);
  });

  it('treats an undefined option as the default', () => {
    const partial = new PriorityPolicy({ vipBoost: undefined });
    expect(partial.score({ explicitPriority: 0, attributes: { vip: true } }).priority).toBe(20);
  });

  it('rejects boosts that could lower a priority', () => {
    expect(() => new PriorityPolicy({ vipBoost: -10 })).toThrow(RangeError);
    expect(() => new PriorityPolicy({ sentimentSteps: [{ atOrBelow: -0.5, boost: Number.NaN }] })).toThrow(RangeError);
    expect(() => new PriorityPolicy({ sentimentSteps: [{ atOrBelow: Number.NaN, boost: 5 }] })).toThrow(RangeError);
  });
});
