import { matchesTopic } from './topic-pattern';

describe('matchesTopic', () => {
  it.each([
    ['inbound.*', 'inbound.sms', true],
    ['inbound.*', 'inbound', false],
    ['inbound.*', 'inbound.sms.extra', false],
    ['agent.#', 'agent', true],
    ['agent.#', 'agent.a1.assigned', true],
    ['#.assigned', 'agent.a1.assigned', true],
    ['#', 'anything.at.all', true],
    ['agent.*.message', 'agent.a1.assigned', false],
    ['exact.key', 'exact.key', true],
  ])('%s against %s → %s', (pattern, key, expected) => {
    expect(matchesTopic(pattern, key)).toBe(expected);
  });
});
