/**
 * The supervisor's live view (socket.io namespace `/supervisor`, a `stats` push every couple of
 * seconds) turned into changes worth telling: a queue's waiting count moves, an agent reaches or
 * leaves one of its caps. Only the queues and agents asked for are reported; the latest snapshot is
 * kept for whoever needs to look (the scenario waits on it).
 */
import { io, type Socket } from 'socket.io-client';
import type { DemoFeed } from './demo-feed';

export interface QueueStats {
  id: string;
  waitingSync: number;
  waitingAsync: number;
  offered: number;
  assigned: number;
  oldestWaitS: number | null;
  agentsOnline: number;
}

export interface AgentStats {
  id: string;
  presence: 'online' | 'away' | 'offline';
  syncLoad: number;
  asyncLoad: number;
  syncCap: number;
  asyncCap: number;
}

export interface StatsSnapshot {
  at: string;
  queues: QueueStats[];
  agents: AgentStats[];
}

export interface StatsWatchOptions {
  gatewayUrl: string;
  /** A supervisor (or admin) token. */
  token: string;
  queueIds: string[];
  agentIds: string[];
  feed?: DemoFeed;
}

export class StatsWatch {
  latest: StatsSnapshot | undefined;
  /** The most items seen waiting at once, per queue. */
  readonly peakWaiting = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly socket: Socket,
    private readonly options: StatsWatchOptions,
  ) {
    socket.on('stats', (snapshot: StatsSnapshot) => this.onStats(snapshot));
  }

  agent(id: string): AgentStats | undefined {
    return this.latest?.agents.find((agent) => agent.id === id);
  }

  queue(id: string): QueueStats | undefined {
    return this.latest?.queues.find((queue) => queue.id === id);
  }

  /** Resolves with the first snapshot (the current one, or one to come) for which `check` holds. */
  until(check: (snapshot: StatsSnapshot) => boolean, what: string, timeoutMs = 30_000): Promise<StatsSnapshot> {
    if (this.latest && check(this.latest)) return Promise.resolve(this.latest);
    return new Promise((resolve, reject) => {
      const listener = () => {
        if (!this.latest || !check(this.latest)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(this.latest);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  stop(): void {
    this.socket.disconnect();
  }

  private onStats(snapshot: StatsSnapshot): void {
    const previous = this.latest;
    this.latest = snapshot;
    const feed = this.options.feed;
    for (const queue of snapshot.queues.filter((q) => this.options.queueIds.includes(q.id))) {
      const waiting = queue.waitingSync + queue.waitingAsync;
      this.peakWaiting.set(queue.id, Math.max(this.peakWaiting.get(queue.id) ?? 0, waiting));
      const before = previous?.queues.find((q) => q.id === queue.id);
      // The first snapshot is news only when something already waits.
      if (before ? before.waitingSync !== queue.waitingSync || before.waitingAsync !== queue.waitingAsync : waiting > 0) {
        feed?.emit({ kind: 'queue', queueId: queue.id, waitingSync: queue.waitingSync, waitingAsync: queue.waitingAsync, offered: queue.offered, assigned: queue.assigned });
      }
    }
    // Live chats come and go every few seconds; async caps filling and freeing are what is worth a line.
    const full = (agent: AgentStats | undefined) => agent !== undefined && agent.asyncCap > 0 && agent.asyncLoad >= agent.asyncCap;
    for (const agent of snapshot.agents.filter((a) => this.options.agentIds.includes(a.id))) {
      const before = previous?.agents.find((a) => a.id === agent.id);
      if (full(agent) !== full(before) && (full(agent) || before)) {
        feed?.emit({ kind: 'capacity', agentId: agent.id, mode: 'async', load: agent.asyncLoad, cap: agent.asyncCap, full: full(agent) });
      }
    }
    for (const listener of [...this.listeners]) listener();
  }
}

export async function watchStats(options: StatsWatchOptions): Promise<StatsWatch> {
  const socket = io(`${options.gatewayUrl.replace(/\/$/, '')}/supervisor`, {
    auth: { token: options.token },
    transports: ['websocket'],
    forceNew: true,
    reconnectionDelayMax: 2_000,
  });
  const watch = new StatsWatch(socket, options);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.disconnect();
      reject(new Error('no supervisor stats in 10 s'));
    }, 10_000);
    socket.once('stats', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (refusal: { message?: string }) => {
      clearTimeout(timer);
      socket.disconnect();
      reject(new Error(`the gateway refused the supervisor stream: ${refusal.message ?? 'no reason given'}`));
    });
  });
  return watch;
}
