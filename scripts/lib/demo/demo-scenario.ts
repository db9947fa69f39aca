/**
 * The demo's script: a timeline of customers arriving (`demoTimeline`, pure) and its runner
 * (`runScenario`), repeated in cycles with new customers each time. One cycle shows, in order:
 *   1. live work — a web chat is offered to one free agent at a time (an offer nobody takes moves on);
 *   2. messaging threads (SMS, WhatsApp, Telegram) going to the least-loaded agent until every agent
 *      holds its async cap, then waiting in the queue until scripted agents close threads;
 *   3. a burst of web chats — more visitors than free agents, so the waiting ones get queue notices
 *      (position, estimated wait), then agent replies;
 *   4. stickiness — a customer whose thread a scripted agent closed writes again, once that agent has
 *      room and nothing waits or is on offer in the demo queues, and the reopened thread goes back to
 *      that same agent.
 * Customers are labelled per channel ("sms customer 3"); their addresses are unique to the run and
 * to the channel, so nothing from an earlier run or another channel is mistaken for them.
 */
import type { AgentSession } from './agent-session';
import type { CustomerDirectory, KnownCustomer } from './customer-directory';
import type { DemoFeed } from './demo-feed';
import type { ChannelEndpoints } from './demo-endpoints';
import { DEMO_QUEUES } from './demo-seed';
import { sendSms } from './sms-customer';
import type { StatsWatch } from './stats-watch';
import { sendTelegram } from './telegram-customer';
import { startWebchatVisitor, type WebchatVisitor } from './webchat-visitor';
import { sendWhatsApp } from './whatsapp-customer';

export type AsyncChannel = 'sms' | 'whatsapp' | 'telegram';

export type ScenarioStep =
  | { at: number; kind: 'step'; text: string }
  | { at: number; kind: 'webchat'; visitor: number; text: string }
  | { at: number; kind: 'message'; channel: AsyncChannel; customer: number; text: string }
  | { at: number; kind: 'return'; text: string };

export interface TimelineOptions {
  /** Messaging customers per cycle; with the demo's caps (4 + 4 + 2 + 2) more than 12 have to wait. */
  asyncCustomers?: number;
  asyncChannels?: AsyncChannel[];
  /** Web chat visitors arriving together in the burst (besides the first one). */
  burstVisitors?: number;
  /** Milliseconds between two messaging customers. */
  asyncSpacingMs?: number;
  /**
   * How long after both the burst and the last messaging customer the returning customer writes: the
   * time the scripted agents get to close threads. By default 30 s after the burst and 20 s after the
   * last customer, for agents who take their time; faster agents (`AgentBehaviour`) need less.
   */
  returnAfterMs?: number;
  cycleMs?: number;
}

export const LABELS: Record<AsyncChannel | 'webchat', string> = {
  sms: 'sms customer',
  whatsapp: 'whatsapp customer',
  telegram: 'telegram customer',
  webchat: 'web chat visitor',
};

const FIRST_MESSAGES = [
  'Hello, my parcel has not arrived yet.',
  'Hi, can I change my delivery address?',
  'I was charged twice for my last order.',
  'Do you have this jacket in medium?',
  'How do I return an item?',
  'My discount code does not work.',
];

/** One cycle of the demo, `at` in milliseconds from the cycle's start, in order. */
export function demoTimeline(options: TimelineOptions = {}): ScenarioStep[] {
  const asyncCustomers = options.asyncCustomers ?? 14;
  const channels = options.asyncChannels ?? ['sms', 'whatsapp', 'telegram'];
  const spacing = options.asyncSpacingMs ?? 2_000;
  const burst = options.burstVisitors ?? 5;
  const counters = new Map<AsyncChannel, number>();
  const steps: ScenarioStep[] = [
    { at: 0, kind: 'step', text: 'Live chat: each chat is offered to one free agent at a time (the longest idle); an offer nobody takes moves on when it lapses' },
    { at: 1_000, kind: 'webchat', visitor: 1, text: 'Hi! Is anyone there? I have a question about my order.' },
    {
      at: 5_000,
      kind: 'step',
      text: 'Messaging: threads go to the least-loaded agent until every agent is at its async cap or busy with a live chat (which holds off new threads); the rest wait in the queue',
    },
  ];
  for (let i = 0; i < asyncCustomers; i += 1) {
    const channel = channels[i % channels.length];
    const customer = (counters.get(channel) ?? 0) + 1;
    counters.set(channel, customer);
    steps.push({ at: 6_000 + i * spacing, kind: 'message', channel, customer, text: FIRST_MESSAGES[i % FIRST_MESSAGES.length] });
  }
  const burstAt = 6_000 + Math.ceil(asyncCustomers / 2) * spacing + 4_000;
  steps.push({ at: burstAt, kind: 'step', text: 'A burst of web chats: more visitors than free agents; those waiting are told their position and estimated wait' });
  for (let j = 0; j < burst; j += 1) {
    steps.push({ at: burstAt + j * 400, kind: 'webchat', visitor: j + 2, text: FIRST_MESSAGES[(j + 3) % FIRST_MESSAGES.length] });
  }
  const asyncEnd = 6_000 + asyncCustomers * spacing;
  const returnAt =
    options.returnAfterMs === undefined ? Math.max(burstAt + 30_000, asyncEnd + 20_000) : Math.max(burstAt, asyncEnd) + options.returnAfterMs;
  steps.push({ at: returnAt, kind: 'step', text: 'Stickiness: a customer whose thread was closed writes again and goes back to the same agent' });
  steps.push({ at: returnAt, kind: 'return', text: 'Me again, one more question about the same order.' });
  const cycleMs = options.cycleMs ?? returnAt + 45_000;
  if (cycleMs <= returnAt) throw new Error(`a cycle of ${cycleMs} ms ends before its last step at ${returnAt} ms`);
  return steps.sort((a, b) => a.at - b.at);
}

/** How long one cycle of this timeline lasts: its last step plus the time the return may take. */
export function cycleLength(steps: ScenarioStep[], options: TimelineOptions = {}): number {
  return options.cycleMs ?? Math.max(...steps.map((step) => step.at)) + 45_000;
}

export interface DemoCustomer extends KnownCustomer {
  channel: AsyncChannel | 'webchat';
  send(text: string): Promise<void>;
  visitor?: WebchatVisitor;
}

export interface ScenarioContext {
  channels: ChannelEndpoints;
  feed: DemoFeed;
  directory: CustomerDirectory<DemoCustomer>;
  stats: StatsWatch;
  /** The scripted agents: the returning customer is one whose thread one of them closed. */
  scripted: AgentSession[];
  /** Digits that make this run's addresses its own (four, by default random). */
  runId?: string;
}

export interface ScenarioOptions {
  timeline?: ScenarioStep[];
  timelineOptions?: TimelineOptions;
  /** Cycles to run; unbounded by default (until `stop`). */
  cycles?: number;
  /** How long the returning customer waits for their agent to have room. */
  returnWaitMs?: number;
}

export interface RunningScenario {
  readonly customers: DemoCustomer[];
  /** Settles when every cycle ran (or `stop` was called) and the steps under way ended. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function runScenario(context: ScenarioContext, options: ScenarioOptions = {}): RunningScenario {
  const runId = context.runId ?? pad(Math.floor(Math.random() * 10_000), 4);
  const timeline = options.timeline ?? demoTimeline(options.timelineOptions);
  const cycleMs = cycleLength(timeline, options.timelineOptions);
  const customers: DemoCustomer[] = [];
  const numbers = new Map<string, number>();
  const byStep = new Map<string, DemoCustomer>();
  const running = new Set<Promise<void>>();
  const closeTimers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let wake: (() => void) | undefined;
  const { feed, directory } = context;

  const sleepUntil = (at: number) =>
    new Promise<void>((resolve) => {
      if (stopped) return resolve();
      const timer = setTimeout(resolve, Math.max(0, at - Date.now()));
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const track = (work: Promise<void>) => {
    const tracked = work.catch((error: Error) => feed.emit({ kind: 'problem', source: 'scenario', message: error.message }));
    running.add(tracked);
    void tracked.finally(() => running.delete(tracked));
  };

  const nextNumber = (channel: DemoCustomer['channel']) => {
    const n = (numbers.get(channel) ?? 0) + 1;
    numbers.set(channel, n);
    return n;
  };

  const messagingCustomer = (channel: AsyncChannel, cycle: number, local: number): DemoCustomer => {
    const key = `${cycle}:${channel}:${local}`;
    const existing = byStep.get(key);
    if (existing) return existing;
    const n = nextNumber(channel);
    const label = `${LABELS[channel]} ${n}`;
    const digits = `${runId}${{ sms: 1, whatsapp: 2, telegram: 3 }[channel]}${pad(n % 1_000, 3)}`;
    // Fictional 555 numbers; a Telegram chat id is a number, so it must not start with a zero.
    const address = channel === 'sms' ? `+1555${digits}` : channel === 'whatsapp' ? `1555${digits}` : `7${digits}`;
    const send = async (text: string) => {
      if (channel === 'sms') await sendSms(context.channels.sms, { from: address, text });
      else if (channel === 'whatsapp') await sendWhatsApp(context.channels.whatsapp, { from: address, name: label, text });
      else await sendTelegram(context.channels.telegram, { chatId: Number(address), firstName: label, text });
    };
    const customer = directory.add({ label, channel, address, send });
    customers.push(customer);
    byStep.set(key, customer);
    return customer;
  };

  const visitorArrives = async (text: string) => {
    const label = `${LABELS.webchat} ${nextNumber('webchat')}`;
    const visitor = await startWebchatVisitor({ url: context.channels.webchat.url, label, feed });
    const customer = directory.add({ label, channel: 'webchat', address: visitor.visitorId, send: (t) => visitor.send(t), visitor });
    customers.push(customer);
    // One follow-up once someone answers, as a person would; the socket goes a little after the chat closes.
    void visitor
      .waitForReply(undefined, 10 * 60_000)
      .then(async () => {
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        if (!stopped && !visitor.closed) await visitor.send('Thanks! It is about my last order.');
        await visitor.waitForClosed(10 * 60_000);
        const timer = setTimeout(() => {
          closeTimers.delete(timer);
          visitor.stop();
        }, 5_000);
        closeTimers.add(timer);
      })
      .catch(() => undefined);
    await visitor.send(text);
  };

  const scriptedIds = new Set(context.scripted.map((agent) => agent.agentId));

  /** A messaging customer whose thread a scripted agent closed, with that agent free to take it back. */
  const returningCustomer = async (): Promise<{ customer: DemoCustomer; agentId: string; conversationId: string } | undefined> => {
    const closes = feed.events.filter(
      (event): event is Extract<typeof event, { kind: 'agent-action' }> =>
        event.kind === 'agent-action' && event.action === 'closed' && event.mode === 'async' && scriptedIds.has(event.agentId),
    );
    // Work waiting or on offer in either demo queue (a live chat whose offer lapses at a desk) could
    // land on the agent first and take the room the returning thread needs.
    const queues = Object.values(DEMO_QUEUES).map((id) => context.stats.queue(id));
    if (queues.some((queue) => !queue || queue.waitingSync + queue.waitingAsync + queue.offered > 0)) return undefined;
    for (const close of closes) {
      const agent = context.stats.agent(close.agentId);
      if (!agent || agent.presence !== 'online' || agent.syncLoad > 0 || agent.asyncLoad >= agent.asyncCap) continue;
      const customer = await directory.customerOf(close.conversationId);
      if (customer && customer.channel !== 'webchat') return { customer, agentId: close.agentId, conversationId: close.conversationId };
    }
    return undefined;
  };

  const customerReturns = async (text: string) => {
    const deadline = Date.now() + (options.returnWaitMs ?? 40_000);
    let found = await returningCustomer();
    while (!found && !stopped && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      found = await returningCustomer();
    }
    if (!found) {
      if (!stopped) feed.emit({ kind: 'step', text: 'no closed thread with a free agent yet; nobody returns this round' });
      return;
    }
    const { customer, agentId, conversationId } = found;
    const sentAt = Date.now();
    feed.emit({ kind: 'customer-wrote', customer: customer.label, channel: customer.channel, returning: true });
    await customer.send(text);
    const assigned = await feed
      .waitFor('agent', (event) => event.event === 'assigned' && event.conversationId === conversationId && event.at >= sentAt, 'the returning thread assigned', 20_000)
      .catch(() => undefined);
    if (!assigned) feed.emit({ kind: 'step', text: `${customer.label}'s thread was not assigned within 20 s (still waiting?)` });
    else if (assigned.agentId === agentId) feed.emit({ kind: 'step', text: `sticky: ${customer.label} is back with ${agentId}, who closed their thread before` });
    else feed.emit({ kind: 'step', text: `${customer.label} went to ${assigned.agentId}, not back to ${agentId} (${agentId} had no room by then)` });
  };

  const run = async (step: ScenarioStep, cycle: number) => {
    if (step.kind === 'step') feed.emit({ kind: 'step', text: step.text });
    else if (step.kind === 'webchat') track(visitorArrives(step.text));
    else if (step.kind === 'message') {
      const customer = messagingCustomer(step.channel, cycle, step.customer);
      track(
        customer.send(step.text).then(() => feed.emit({ kind: 'customer-wrote', customer: customer.label, channel: customer.channel })),
      );
    } else track(customerReturns(step.text));
  };

  const timelineRun = (async () => {
    const started = Date.now();
    for (let cycle = 0; cycle < (options.cycles ?? Infinity) && !stopped; cycle += 1) {
      for (const step of timeline) {
        await sleepUntil(started + cycle * cycleMs + step.at);
        if (stopped) break;
        await run(step, cycle);
      }
    }
  })();
  const done = timelineRun.then(() => Promise.all(running)).then(() => undefined);

  return {
    customers,
    done,
    async stop() {
      stopped = true;
      wake?.();
      await timelineRun;
      for (const timer of closeTimers) clearTimeout(timer);
      for (const customer of customers) customer.visitor?.stop();
      // Steps under way (a webhook, a return being watched) get a moment to end, not the whole of their waits.
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    },
  };
}
