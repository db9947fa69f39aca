import { DemoFeed } from './demo-feed';
import { CustomerDirectory } from './customer-directory';
import { cycleLength, demoTimeline, runScenario, type DemoCustomer, type ScenarioStep } from './demo-scenario';
import type { AgentSession } from './agent-session';
import type { ChannelEndpoints } from './demo-endpoints';
import { DEMO_QUEUES } from './demo-seed';
import type { AgentStats, QueueStats, StatsWatch } from './stats-watch';

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

  it('compressed: the returning customer comes `returnAfterMs` after both the burst and the last messaging customer', () => {
    const quick = demoTimeline({ asyncCustomers: 10, asyncSpacingMs: 200, returnAfterMs: 5_000 });
    const [back] = of(quick, 'return');
    const burst = of(quick, 'webchat')[1];
    expect(burst.at).toBe(11_000);
    expect(back.at).toBe(burst.at + 5_000);
    expect(back.at).toBeGreaterThan(of(quick, 'message').at(-1)!.at);
    // Many slow customers: the last of them sets the pace, not the burst.
    const long = demoTimeline({ asyncCustomers: 20, asyncSpacingMs: 2_000, returnAfterMs: 1_000 });
    expect(of(long, 'return')[0].at).toBe(6_000 + 20 * 2_000 + 1_000);
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

describe('the returning customer', () => {
  const queue = (id: string, fields: Partial<QueueStats> = {}): QueueStats => ({
    id,
    waitingSync: 0,
    waitingAsync: 0,
    offered: 0,
    assigned: 0,
    oldestWaitS: null,
    agentsOnline: 4,
    ...fields,
  });

  it('waits while a live chat is on offer (it could land on the agent first), then goes back to the agent who closed their thread', async () => {
    const feed = new DemoFeed();
    const directory = new CustomerDirectory<DemoCustomer>();
    const sent: number[] = [];
    const customer: DemoCustomer = {
      label: 'sms customer 1',
      channel: 'sms',
      address: '+15550001',
      send: async () => {
        sent.push(Date.now());
        feed.emit({ kind: 'agent', event: 'assigned', agentId: 'carol', conversationId: 'c1', mode: 'async', via: 'sticky' });
      },
    };
    directory.add(customer);
    directory.remember('c1', customer);
    feed.emit({ kind: 'agent-action', action: 'closed', agentId: 'carol', conversationId: 'c1', mode: 'async' });
    let live = queue(DEMO_QUEUES.live, { offered: 1 });
    const carol: AgentStats = { id: 'carol', presence: 'online', syncLoad: 0, asyncLoad: 0, syncCap: 1, asyncCap: 1 };
    const stats = {
      queue: (id: string) => (id === DEMO_QUEUES.live ? live : queue(id)),
      agent: (id: string) => (id === 'carol' ? carol : undefined),
    } as unknown as StatsWatch;
    const context = { channels: {} as ChannelEndpoints, feed, directory, stats, scripted: [{ agentId: 'carol' } as AgentSession] };

    const running = runScenario(context, { timeline: [{ at: 0, kind: 'return', text: 'Me again' }], cycles: 1, returnWaitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(sent).toEqual([]);
    const settledAt = Date.now();
    live = queue(DEMO_QUEUES.live);
    await running.done;
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeGreaterThanOrEqual(settledAt);
    expect(feed.events.filter((event) => event.kind === 'step').map((event) => event.kind === 'step' && event.text)).toEqual([
      'sticky: sms customer 1 is back with carol, who closed their thread before',
    ]);
  });
});
