import { DemoFeed } from './demo-feed';
import { CustomerDirectory } from './customer-directory';
import { cycleLength, demoTimeline, runScenario, type DemoCustomer, type ScenarioStep } from './demo-scenario';
import type { StatsWatch } from './stats-watch';
import type { ChannelEndpoints } from './demo-endpoints';

const of = <K extends ScenarioStep['kind']>(steps: ScenarioStep[], kind: K) => steps.filter((step): step is Extract<ScenarioStep, { kind: K }> => step.kind === kind);

describe('demo timeline', () => {
  const steps = demoTimeline();

  it('is in time order and starts with a live chat', () => {
    expect(steps.map((step) => step.at)).toEqual([...steps.map((step) => step.at)].sort((a, b) => a - b));
    expect(steps.find((step) => step.kind !== 'step')).toMatchObject({ kind: 'webchat', visitor: 1 });
  });

  it('brings more messaging customers than the demo agents can hold (4 + 4 + 2 + 2), spread over the channels', () => {
    const messages = of(steps, 'message');
    expect(messages.length).toBeGreaterThan(12);
    expect(new Set(messages.map((step) => step.channel))).toEqual(new Set(['sms', 'whatsapp', 'telegram']));
    // Per channel, customers are numbered 1, 2, 3… without gaps.
    for (const channel of ['sms', 'whatsapp', 'telegram'] as const) {
      const numbers = messages.filter((step) => step.channel === channel).map((step) => step.customer);
      expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    }
    expect(messages.at(-1)!.at - messages[0].at).toBeLessThanOrEqual(40_000);
  });

  it('a burst of more web chats than free agents, together', () => {
    const visitors = of(steps, 'webchat').slice(1);
    expect(visitors.length).toBeGreaterThan(4);
    expect(visitors.at(-1)!.at - visitors[0].at).toBeLessThan(5_000);
    expect(visitors.map((step) => step.visitor)).toEqual([2, 3, 4, 5, 6]);
  });

  it('the returning customer comes after the last new thread had time to be closed, within a 90 s run', () => {
    const [back] = of(steps, 'return');
    const lastMessage = of(steps, 'message').at(-1)!;
    expect(back.at - lastMessage.at).toBeGreaterThanOrEqual(20_000);
    expect(back.at).toBeLessThanOrEqual(70_000);
    expect(cycleLength(steps)).toBeGreaterThan(back.at);
  });

  it('follows its options, and refuses a cycle shorter than its steps', () => {
    const small = demoTimeline({ asyncCustomers: 4, asyncChannels: ['sms'], burstVisitors: 2 });
    expect(of(small, 'message').map((step) => [step.channel, step.customer])).toEqual([['sms', 1], ['sms', 2], ['sms', 3], ['sms', 4]]);
    expect(of(small, 'webchat')).toHaveLength(3);
    expect(() => demoTimeline({ cycleMs: 10_000 })).toThrow(/ends before its last step/);
  });
});

describe('running a timeline', () => {
  it('repeats it for the cycles asked, and stop ends a run under way', async () => {
    const feed = new DemoFeed();
    const context = {
      channels: {} as ChannelEndpoints,
      feed,
      directory: new CustomerDirectory<DemoCustomer>(),
      stats: {} as StatsWatch,
      scripted: [],
    };
    const timeline: ScenarioStep[] = [
      { at: 0, kind: 'step', text: 'first' },
      { at: 20, kind: 'step', text: 'second' },
    ];
    const twice = runScenario(context, { timeline, timelineOptions: { cycleMs: 40 }, cycles: 2 });
    await twice.done;
    expect(feed.events.map((event) => event.kind === 'step' && event.text)).toEqual(['first', 'second', 'first', 'second']);

    const endless = runScenario(context, { timeline: [{ at: 0, kind: 'step', text: 'again' }, { at: 60_000, kind: 'step', text: 'never' }] });
    await feed.waitFor('step', (event) => event.text === 'again');
    await endless.stop();
    expect(feed.events.some((event) => event.kind === 'step' && event.text === 'never')).toBe(false);
  });
});
