import { effectivePriority, rankAt } from './aging.policy';

const MINUTE_MS = 60_000;
const T0 = Date.parse('2026-03-04T08:00:00Z');

/** mulberry32: a tiny seeded generator, so a failure replays exactly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Item {
  id: number;
  queuedAt: Date;
  priority: number;
}

describe('aging policy', () => {
  it.each([0.1, 0.25, 1 / 3, 1, 2, 5])(
    'orders by rankAt ascending exactly as by effective priority descending (agingPerMinute %d)',
    (aging) => {
      const random = seededRandom(Math.round(aging * 1000));
      // Whole seconds and integer priorities keep distinct effective priorities ≥ 1/600 apart, far above
      // float noise, so "equal within 1e-9" is a true tie and both orders can break it by id.
      const items: Item[] = Array.from({ length: 300 }, (_, id) => ({
        id,
        queuedAt: new Date(T0 + Math.floor(random() * 3 * 24 * 3600) * 1000),
        priority: Math.floor(random() * 101),
      }));
      const byRank = items
        .map((item) => ({ id: item.id, rank: rankAt(item.queuedAt, item.priority, aging).getTime() }))
        .sort((a, b) => a.rank - b.rank || a.id - b.id)
        .map((entry) => entry.id);

      for (let round = 0; round < 5; round += 1) {
        // Any `now`, even before some items were queued: the identity is linear, not "after arrival".
        const now = new Date(T0 + Math.floor((random() * 5 - 1) * 24 * 3600) * 1000);
        const byEffective = items
          .map((item) => ({ id: item.id, effective: effectivePriority(item.priority, item.queuedAt, now, aging) }))
          .sort((a, b) => (Math.abs(a.effective - b.effective) < 1e-9 ? a.id - b.id : b.effective - a.effective))
          .map((entry) => entry.id);
        expect(byEffective).toEqual(byRank);
      }
    },
  );

  it('lets an old low-priority item outrank a high-priority one that arrives late enough', () => {
    const aging = 1; // one priority point per minute waited
    const old = { queuedAt: new Date(T0), priority: 10 };
    const rankOf = (item: { queuedAt: Date; priority: number }) => rankAt(item.queuedAt, item.priority, aging).getTime();

    // A newcomer 60 points higher jumps ahead while the old item has waited less than 60 minutes...
    const early = { queuedAt: new Date(T0 + 30 * MINUTE_MS), priority: 70 };
    expect(rankOf(early)).toBeLessThan(rankOf(old));
    expect(effectivePriority(early.priority, early.queuedAt, early.queuedAt, aging)).toBeGreaterThan(
      effectivePriority(old.priority, old.queuedAt, early.queuedAt, aging),
    );

    // ...but not once it has waited longer: the old item has aged past it.
    const late = { queuedAt: new Date(T0 + 61 * MINUTE_MS), priority: 70 };
    expect(rankOf(old)).toBeLessThan(rankOf(late));
    expect(effectivePriority(old.priority, old.queuedAt, late.queuedAt, aging)).toBeCloseTo(71);
    expect(effectivePriority(late.priority, late.queuedAt, late.queuedAt, aging)).toBe(70);
  });

  it('computes rankAt and effective priority from the definition', () => {
    expect(rankAt(new Date(T0), 30, 0.5)).toEqual(new Date(T0 - 60 * MINUTE_MS));
    expect(effectivePriority(30, new Date(T0), new Date(T0 + 90 * MINUTE_MS), 0.5)).toBe(75);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects agingPerMinute %d', (aging) => {
    expect(() => rankAt(new Date(T0), 10, aging)).toThrow(RangeError);
    expect(() => effectivePriority(10, new Date(T0), new Date(T0), aging)).toThrow(RangeError);
  });

  it('rejects invalid dates and priorities', () => {
    expect(() => rankAt(new Date(Number.NaN), 10, 1)).toThrow(RangeError);
    expect(() => rankAt(new Date(T0), Number.NaN, 1)).toThrow(RangeError);
    expect(() => effectivePriority(10, new Date(T0), new Date(Number.NaN), 1)).toThrow(RangeError);
  });
});
