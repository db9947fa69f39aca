/**
 * The whole demo against a running system: seed the demo queues and agents, clear work the demo
 * agents still hold from an earlier run, hand out desk links, put the human agents online (watched,
 * for people at the desk) and the scripted ones to work, watch the supervisor view, play the
 * scenario and narrate it. Work an earlier run left waiting in the demo queues (its customers long
 * gone) is first taken and ended by the scripted agents, so it does not hold up this run's customers.
 *
 * `stop` undoes it in the right order, while the gateway still answers: customers first, the humans
 * set away (nothing new lands on their desks), the scripted agents take and end what still waits,
 * close what they hold and sign off, then the demo queues are parked — so the next run starts clean.
 */
import { agentsOf, applyDemoSeed, demoSeed, DEMO_QUEUES, parkDemoQueues, type DemoSeed, type DemoSeedOptions } from './demo-seed';
import { clearAgentWork, startScriptedAgent, watchAgent, type AgentBehaviour, type AgentSession } from './agent-session';
import { CustomerDirectory } from './customer-directory';
import type { ChannelEndpoints } from './demo-endpoints';
import { DemoFeed } from './demo-feed';
import { runScenario, type DemoCustomer, type RunningScenario, type ScenarioOptions } from './demo-scenario';
import { deskLink, mintToken, type TokenSettings } from './demo-tokens';
import { GatewayClient } from './gateway-client';
import { Narrator, summarize, type DemoSummary, type NarrationLevel } from './narrator';
import { watchStats, type StatsWatch } from './stats-watch';

export interface DeskLinkInfo {
  agentId: string;
  role: 'agent' | 'supervisor';
  url: string;
}

export interface DemoRunOptions {
  gatewayUrl: string;
  deskUrl: string;
  channels: ChannelEndpoints;
  tokens: TokenSettings;
  seed?: DemoSeedOptions;
  scenario?: ScenarioOptions;
  behaviour?: Partial<AgentBehaviour>;
  /** Narration, one line per call; none when left out. */
  write?: (line: string) => void;
  narration?: NarrationLevel;
  /** Called once seeded, before anyone goes online: the links to print. */
  onReady?: (info: { links: DeskLinkInfo[]; cleared: number }) => void;
  /** Give the demo's channels back to the development queues on stop (default true). */
  parkOnStop?: boolean;
  /**
   * How long the scripted agents may spend taking and ending what waits in the demo queues, at the
   * start (an earlier run's leftovers) and on stop (default 30 s; 0: never).
   */
  windDownMs?: number;
}

export interface DemoResult extends DemoSummary {
  peakWaiting: Record<string, number>;
}

export interface RunningDemo {
  readonly seed: DemoSeed;
  readonly feed: DemoFeed;
  readonly directory: CustomerDirectory<DemoCustomer>;
  readonly stats: StatsWatch;
  readonly humans: AgentSession[];
  readonly scripted: AgentSession[];
  readonly scenario: RunningScenario;
  readonly links: DeskLinkInfo[];
  stop(): Promise<DemoResult>;
}

type Snapshot = StatsWatch['latest'];

/** Nothing waiting or on offer in the demo queues. */
function settled(snapshot: Snapshot): boolean {
  const ids: string[] = Object.values(DEMO_QUEUES);
  return (snapshot?.queues ?? []).filter((queue) => ids.includes(queue.id)).every((queue) => queue.waitingSync + queue.waitingAsync + queue.offered === 0);
}

/** The scripted agents take and end whatever waits, until the demo queues are empty or time is up. */
async function clearUp(sessions: AgentSession[], stats: StatsWatch, feed: DemoFeed, timeoutMs: number): Promise<void> {
  for (const session of sessions) session.windDown();
  await stats.until((snapshot) => settled(snapshot), 'the demo queues to empty', timeoutMs).catch(() => {
    feed.emit({ kind: 'problem', source: 'demo', message: `the demo queues still hold work after ${Math.round(timeoutMs / 1000)} s; it stays queued` });
  });
}

export async function startDemo(options: DemoRunOptions): Promise<RunningDemo> {
  // The messaging queue takes the channels the scenario's customers use, unless told otherwise.
  const seed = demoSeed({ messagingChannels: options.scenario?.timelineOptions?.asyncChannels, ...options.seed });
  const token = (agentId: string, role: 'agent' | 'supervisor' | 'admin') => mintToken(options.tokens, agentId, role);
  const admin = new GatewayClient(options.gatewayUrl, await token(seed.adminId, 'admin'));
  await applyDemoSeed(admin, seed);

  const humans = agentsOf(seed, 'human');
  const scriptedIds = agentsOf(seed, 'scripted');
  const [supervisorId] = agentsOf(seed, 'supervisor');
  const agentTokens = new Map<string, string>();
  for (const id of [...humans, ...scriptedIds]) agentTokens.set(id, await token(id, 'agent'));
  const supervisorToken = await token(supervisorId, 'supervisor');

  let cleared = 0;
  for (const id of [...humans, ...scriptedIds]) cleared += await clearAgentWork(new GatewayClient(options.gatewayUrl, agentTokens.get(id)!));

  const links: DeskLinkInfo[] = [
    ...humans.map((agentId) => ({ agentId, role: 'agent' as const, url: deskLink(options.deskUrl, agentTokens.get(agentId)!) })),
    { agentId: supervisorId, role: 'supervisor' as const, url: deskLink(options.deskUrl, supervisorToken) },
  ];
  options.onReady?.({ links, cleared });

  const feed = new DemoFeed();
  const directory = new CustomerDirectory<DemoCustomer>(new GatewayClient(options.gatewayUrl, supervisorToken));
  const narrator = options.write ? new Narrator({ feed, directory, write: options.write, level: options.narration }) : undefined;
  const clearUpMs = options.windDownMs ?? 30_000;
  const sessions: AgentSession[] = [];
  let stats: StatsWatch | undefined;
  const startHumans = async () => {
    for (const agentId of humans) sessions.push(await watchAgent({ gatewayUrl: options.gatewayUrl, agentId, token: agentTokens.get(agentId)!, feed }));
  };
  const startScripted = async () => {
    for (const agentId of scriptedIds) {
      sessions.push(
        await startScriptedAgent({ gatewayUrl: options.gatewayUrl, agentId, token: agentTokens.get(agentId)!, feed, behaviour: options.behaviour }),
      );
    }
  };
  try {
    stats = await watchStats({
      gatewayUrl: options.gatewayUrl,
      token: supervisorToken,
      queueIds: Object.values(DEMO_QUEUES),
      agentIds: [...humans, ...scriptedIds],
      feed,
    });
    if (settled(stats.latest) || clearUpMs === 0 || scriptedIds.length === 0) {
      // Humans first: they have been idle longest, so the first live chat is offered at a desk.
      await startHumans();
      await startScripted();
    } else {
      // Work an earlier run left waiting (customers long gone) would hold up this run's customers.
      feed.emit({ kind: 'step', text: 'an earlier run left work waiting in the demo queues: the scripted agents take and end it first' });
      await startScripted();
      await clearUp(sessions, stats, feed, clearUpMs);
      for (const session of sessions) session.resumeWork();
      await startHumans();
    }
  } catch (error) {
    for (const session of sessions) await session.stop({ offline: session.mode === 'scripted' });
    stats?.stop();
    await narrator?.stop();
    throw error;
  }
  const humanSessions = sessions.filter((session) => session.mode === 'watch');
  const scriptedSessions = sessions.filter((session) => session.mode === 'scripted');
  const watch = stats;
  const scenario = runScenario({ channels: options.channels, feed, directory, stats: watch, scripted: scriptedSessions }, options.scenario);

  return {
    seed,
    feed,
    directory,
    stats: watch,
    humans: humanSessions,
    scripted: scriptedSessions,
    scenario,
    links,
    async stop() {
      await scenario.stop();
      // Nothing new for the humans' desks; pending offers to them go back to the queue for the scripted agents.
      for (const session of humanSessions) await session.setPresence('away').catch(() => undefined);
      if (clearUpMs > 0 && scriptedSessions.length > 0 && !settled(watch.latest)) {
        feed.emit({ kind: 'step', text: 'winding down: no new customers; the scripted agents take and end what still waits' });
        await clearUp(scriptedSessions, watch, feed, clearUpMs);
      }
      for (const session of scriptedSessions) await session.stop({ closeHeld: true, offline: true });
      for (const session of humanSessions) await session.stop();
      watch.stop();
      if (options.parkOnStop ?? true) await parkDemoQueues(admin, seed).catch(() => undefined);
      await narrator?.stop();
      return { ...summarize(feed.events), peakWaiting: Object.fromEntries(watch.peakWaiting) };
    },
  };
}
