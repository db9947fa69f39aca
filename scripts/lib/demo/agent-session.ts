/**
 * An agent at the gateway as a desk is one: REST with the agent's token and the socket.io namespace
 * `/agent` (events `ready`, `event`; see apps/gateway/src/realtime/agent-stream.ts), online with a
 * presence lease renewed by heartbeats. Two modes:
 *   - `scripted`: accepts offers after a short delay, greets, answers a few customer messages and
 *     closes after a while, so capacity frees and the queue drains;
 *   - `watch`: goes online and keeps the lease, reports what the agent is offered and given, and does
 *     nothing else — a person at the desk (or nobody) works it. Offers to an empty desk time out.
 * Events are deduplicated on eventId (a reconnect resumes from the last one, with overlap).
 */
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type { Channel } from '@app/contracts';
import type { AgentEventKind, DemoFeed } from './demo-feed';
import { GatewayClient, GatewayError } from './gateway-client';

/** A range in milliseconds: a delay is drawn uniformly from it. */
export type DelayRange = readonly [number, number];

export interface AgentBehaviour {
  acceptAfterMs: DelayRange;
  greetAfterMs: DelayRange;
  answerAfterMs: DelayRange;
  /** Customer messages answered per conversation, besides the greeting. */
  maxAnswers: number;
  closeSyncAfterMs: DelayRange;
  closeAsyncAfterMs: DelayRange;
}

export const SCRIPTED_BEHAVIOUR: Readonly<AgentBehaviour> = Object.freeze({
  acceptAfterMs: [1_500, 3_000],
  greetAfterMs: [1_500, 3_000],
  answerAfterMs: [2_000, 4_000],
  maxAnswers: 2,
  closeSyncAfterMs: [12_000, 20_000],
  closeAsyncAfterMs: [15_000, 25_000],
} satisfies AgentBehaviour);

export interface AgentSessionOptions {
  gatewayUrl: string;
  agentId: string;
  token: string;
  mode: 'scripted' | 'watch';
  behaviour?: Partial<AgentBehaviour>;
  feed?: DemoFeed;
  /** Presence lease renewal; well inside the router's PRESENCE_LEASE_S (30 s by default). */
  heartbeatMs?: number;
  /** For reproducible delays and texts in tests. */
  random?: () => number;
}

interface AgentSocketEvent {
  eventId: string;
  type: string;
  conversationId?: string;
  channel?: Channel;
  mode?: 'sync' | 'async';
  via?: string;
  reason?: string;
  expiresAt?: string;
  sender?: string;
  direction?: string;
  message?: { sender?: string; direction?: string };
}

export interface HeldConversation {
  conversationId: string;
  channel?: Channel;
  mode?: 'sync' | 'async';
  answers: number;
}

const TYPES: Record<string, AgentEventKind | undefined> = {
  'agent.offer': 'offer',
  'agent.offer-withdrawn': 'offer-withdrawn',
  'agent.assigned': 'assigned',
  'agent.revoked': 'revoked',
  'agent.message': 'customer-message',
};

const GREETINGS = ['Hi, thanks for reaching out — I am looking into it now.', 'Hello! Let me check that for you.', 'Thanks for your message, I am on it.'];
const ANSWERS = ['Found it: it ships tomorrow.', 'Done — you will get a confirmation shortly.', 'I have updated that for you.', 'Anything else I can help with?'];

export class AgentSession {
  /** What the agent holds now (assigned to it, not yet closed or taken away). */
  readonly held = new Map<string, HeldConversation>();
  private readonly behaviour: AgentBehaviour;
  private readonly seen = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly client: GatewayClient;
  private readonly random: () => number;
  private socket: Socket | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastEventId: string | undefined;
  private stopped = false;
  private windingDown = false;

  constructor(private readonly options: AgentSessionOptions) {
    this.behaviour = { ...SCRIPTED_BEHAVIOUR, ...options.behaviour };
    this.client = new GatewayClient(options.gatewayUrl, options.token);
    this.random = options.random ?? Math.random;
  }

  get agentId(): string {
    return this.options.agentId;
  }

  get mode(): 'scripted' | 'watch' {
    return this.options.mode;
  }

  async start(): Promise<void> {
    await this.connect();
    await this.setPresence('online');
    this.heartbeat = setInterval(() => void this.renewLease(), this.options.heartbeatMs ?? 10_000);
  }

  /**
   * A scripted agent clearing up: until `resumeWork`, it accepts at once and closes at once, without a
   * word, starting with what it holds — so that what waits is taken and ended rather than left queued.
   */
  windDown(): void {
    if (this.mode !== 'scripted' || this.stopped) return;
    this.windingDown = true;
    for (const conversationId of this.held.keys()) this.later([0, 300], () => this.close(conversationId).then(() => undefined));
  }

  resumeWork(): void {
    this.windingDown = false;
  }

  async setPresence(presence: 'online' | 'away' | 'offline'): Promise<void> {
    await this.client.put('/v1/me/presence', { presence });
    this.options.feed?.emit({ kind: 'presence', agentId: this.agentId, presence, scripted: this.mode === 'scripted' });
  }

  /**
   * Stops acting and watching. With `offline` the agent signs off (a watched human keeps the presence
   * a person may have set at the desk); with `closeHeld` it closes what it still holds, between going
   * away (no new work, held work kept) and going offline (which would put held live chats back in the
   * queue, where nobody would end them).
   */
  async stop(options: { closeHeld?: boolean; offline?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.socket?.disconnect();
    if (options.offline && options.closeHeld) await this.client.put('/v1/me/presence', { presence: 'away' }).catch(() => undefined);
    if (options.closeHeld) await clearAgentWork(this.client).catch(() => 0);
    if (options.offline) await this.setPresence('offline').catch(() => undefined);
  }

  /** Closes a held conversation now (scripted agents also do it on their own after a while). */
  async close(conversationId: string): Promise<boolean> {
    const conversation = this.held.get(conversationId);
    try {
      await this.client.post(`/v1/conversations/${conversationId}/close`, {});
    } catch (error) {
      if (error instanceof GatewayError && (error.status === 409 || error.status === 404 || error.status === 403)) return false;
      throw error;
    }
    this.held.delete(conversationId);
    this.options.feed?.emit({ kind: 'agent-action', action: 'closed', agentId: this.agentId, conversationId, mode: conversation?.mode });
    return true;
  }

  async reply(conversationId: string, text: string): Promise<void> {
    await this.client.post(`/v1/conversations/${conversationId}/replies`, { clientMessageId: randomUUID(), text });
    this.options.feed?.emit({ kind: 'agent-action', action: 'replied', agentId: this.agentId, conversationId });
  }

  private connect(): Promise<void> {
    const socket = io(`${this.options.gatewayUrl.replace(/\/$/, '')}/agent`, {
      auth: (callback) => callback({ token: this.options.token, ...(this.lastEventId ? { lastEventId: this.lastEventId } : {}) }),
      transports: ['websocket'],
      forceNew: true,
      reconnectionDelayMax: 2_000,
    });
    this.socket = socket;
    socket.on('event', (event: AgentSocketEvent) => this.onEvent(event));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.disconnect();
        reject(new Error(`${this.agentId}: the agent socket was not ready in 10 s`));
      }, 10_000);
      socket.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (refusal: { code?: string; message?: string }) => {
        clearTimeout(timer);
        socket.disconnect();
        reject(new Error(`${this.agentId}: the gateway refused the agent socket: ${refusal.code ?? ''} ${refusal.message ?? ''}`.trim()));
      });
    });
  }

  private async renewLease(): Promise<void> {
    try {
      await this.client.post('/v1/me/heartbeat', {});
    } catch (error) {
      if (this.stopped) return;
      // Scripted agents stay online; a watched human may have been signed off at the desk on purpose.
      if (error instanceof GatewayError && error.code === 'not_present' && this.mode === 'scripted') {
        await this.client.put('/v1/me/presence', { presence: 'online' }).catch(() => undefined);
        return;
      }
      if (!(error instanceof GatewayError && error.code === 'not_present')) {
        this.options.feed?.emit({ kind: 'problem', source: this.agentId, message: `heartbeat failed: ${(error as Error).message}` });
      }
    }
  }

  private onEvent(event: AgentSocketEvent): void {
    if (this.stopped || this.seen.has(event.eventId)) return;
    this.seen.add(event.eventId);
    this.lastEventId = event.eventId;
    const kind = TYPES[event.type];
    const conversationId = event.conversationId;
    if (!kind || !conversationId) return;
    if (kind === 'customer-message') {
      const sender = event.message?.sender ?? event.sender ?? 'customer';
      const direction = event.message?.direction ?? event.direction ?? 'inbound';
      if (sender !== 'customer' || direction !== 'inbound') return;
    }
    this.options.feed?.emit({
      kind: 'agent',
      event: kind,
      agentId: this.agentId,
      conversationId,
      channel: event.channel,
      mode: event.mode,
      via: event.via,
      reason: event.reason,
      expiresAt: event.expiresAt,
    });
    if (kind === 'assigned') this.held.set(conversationId, { conversationId, channel: event.channel, mode: event.mode, answers: 0 });
    if (kind === 'revoked') this.held.delete(conversationId);
    if (this.mode === 'scripted') this.act(kind, conversationId);
  }

  private act(kind: AgentEventKind, conversationId: string): void {
    const b = this.behaviour;
    if (this.windingDown) {
      if (kind === 'offer') this.later([0, 200], () => this.accept(conversationId));
      if (kind === 'assigned') this.later([0, 300], () => this.close(conversationId).then(() => undefined));
      return;
    }
    if (kind === 'offer') {
      this.later(b.acceptAfterMs, () => this.accept(conversationId));
    } else if (kind === 'assigned') {
      const held = this.held.get(conversationId)!;
      this.later(b.greetAfterMs, () => this.replyIfHeld(conversationId, this.pick(GREETINGS)));
      this.later(held.mode === 'sync' ? b.closeSyncAfterMs : b.closeAsyncAfterMs, async () => {
        if (this.held.has(conversationId)) await this.close(conversationId);
      });
    } else if (kind === 'customer-message') {
      const held = this.held.get(conversationId);
      if (!held || held.answers >= b.maxAnswers) return;
      held.answers += 1;
      this.later(b.answerAfterMs, () => this.replyIfHeld(conversationId, this.pick(ANSWERS)));
    }
  }

  private async accept(conversationId: string): Promise<void> {
    try {
      await this.client.post(`/v1/offers/${conversationId}/accept`, {});
      this.options.feed?.emit({ kind: 'agent-action', action: 'accepted', agentId: this.agentId, conversationId, mode: 'sync' });
    } catch (error) {
      if (!(error instanceof GatewayError && error.status === 409)) throw error;
      this.options.feed?.emit({ kind: 'agent-action', action: 'accept-refused', agentId: this.agentId, conversationId, mode: 'sync' });
    }
  }

  private async replyIfHeld(conversationId: string, text: string): Promise<void> {
    if (!this.held.has(conversationId)) return;
    try {
      await this.reply(conversationId, text);
    } catch (error) {
      // Closed or taken away meanwhile: nothing to say any more.
      if (!(error instanceof GatewayError && (error.status === 409 || error.status === 403 || error.status === 404))) throw error;
    }
  }

  private later(range: DelayRange, run: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopped) return;
      run().catch((error: Error) => this.options.feed?.emit({ kind: 'problem', source: this.agentId, message: error.message }));
    }, range[0] + this.random() * (range[1] - range[0]));
    this.timers.add(timer);
  }

  private pick(texts: string[]): string {
    return texts[Math.floor(this.random() * texts.length) % texts.length];
  }
}

/** Declines what is offered to the token's agent and closes what it holds; returns how many. */
export async function clearAgentWork(client: GatewayClient): Promise<number> {
  interface Item {
    conversationId: string;
  }
  const work = await client.get<{ offers: Item[]; sync: { items: Item[] }; async: { items: Item[] } }>('/v1/me/work');
  let cleared = 0;
  const tolerate = (error: unknown) => {
    if (!(error instanceof GatewayError && (error.status === 409 || error.status === 404))) throw error;
  };
  for (const offer of work.offers) {
    await client.post(`/v1/offers/${offer.conversationId}/decline`, { reason: 'demo reset' }).then(() => (cleared += 1), tolerate);
  }
  for (const item of [...work.sync.items, ...work.async.items]) {
    await client.post(`/v1/conversations/${item.conversationId}/close`, {}).then(() => (cleared += 1), tolerate);
  }
  return cleared;
}

export async function startAgentSession(options: AgentSessionOptions): Promise<AgentSession> {
  const session = new AgentSession(options);
  try {
    await session.start();
  } catch (error) {
    await session.stop();
    throw error;
  }
  return session;
}

/** An agent that works on its own (see the module header). */
export function startScriptedAgent(options: Omit<AgentSessionOptions, 'mode'>): Promise<AgentSession> {
  return startAgentSession({ ...options, mode: 'scripted' });
}

/** A human agent's presence kept online and their work reported, for a person at the desk. */
export function watchAgent(options: Omit<AgentSessionOptions, 'mode' | 'behaviour'>): Promise<AgentSession> {
  return startAgentSession({ ...options, mode: 'watch' });
}
