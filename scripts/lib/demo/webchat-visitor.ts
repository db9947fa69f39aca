/**
 * A web chat visitor as the widget is one: a visitor token from `POST <webchat>/webchat/visitors`,
 * then the socket.io namespace `/webchat` (protocol: apps/adapters/webchat/src/visitor-sockets.ts).
 * It sends with `send` (acknowledged once the broker has the message) and collects what the visitor
 * is shown: agent replies (`message`, deduplicated on id), queue notices (`notice`: position and
 * estimated wait), `agent-joined`, `downgraded` and `closed`. After a reconnect it resumes from its
 * last sequence number, as the widget does.
 */
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type { ChatMessage } from '../../../apps/adapters/webchat/src/visitor-store';
import type { DemoFeed } from './demo-feed';

/** What the adapter's socket sends a visitor: the adapter's own chat message shape. */
export type VisitorMessage = ChatMessage;

export interface VisitorNotice {
  conversationId: string;
  kind: string;
  text: string;
  position?: number;
  estimatedWaitS?: number;
  expectedReplyS?: number;
  opensAt?: string;
}

export interface WebchatVisitorOptions {
  /** The web chat adapter's base URL. */
  url: string;
  /** How the narration names this visitor ("web chat visitor 2"). */
  label?: string;
  feed?: DemoFeed;
  timeoutMs?: number;
}

type Ack = { ok: true; conversationId?: string | null; lastSeq?: number } | { ok: false; error: { code: string; message: string } };

export class WebchatVisitor {
  readonly messages: VisitorMessage[] = [];
  readonly notices: VisitorNotice[] = [];
  conversationId: string | null = null;
  agentName: string | undefined;
  closed = false;
  private readonly seen = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private lastSeq = 0;

  constructor(
    readonly visitorId: string,
    readonly label: string,
    private readonly socket: Socket,
    private readonly feed?: DemoFeed,
  ) {
    socket.on('message', (message: VisitorMessage) => this.onMessage(message));
    socket.on('notice', (notice: VisitorNotice) => {
      this.notices.push(notice);
      this.conversationId ??= notice.conversationId;
      this.feed?.emit({
        kind: 'visitor-notice',
        customer: label,
        noticeKind: notice.kind,
        position: notice.position,
        estimatedWaitS: notice.estimatedWaitS,
        expectedReplyS: notice.expectedReplyS,
      });
      this.wake();
    });
    socket.on('agent-joined', (payload: { conversationId: string; agentName?: string }) => {
      this.conversationId = payload.conversationId;
      this.agentName = payload.agentName;
      this.closed = false;
      this.feed?.emit({ kind: 'visitor-agent-joined', customer: label, conversationId: payload.conversationId, agentName: payload.agentName });
      this.wake();
    });
    socket.on('downgraded', (payload: { conversationId: string }) => {
      this.feed?.emit({ kind: 'visitor-downgraded', customer: label, conversationId: payload.conversationId });
      this.wake();
    });
    socket.on('closed', (payload: { conversationId: string }) => {
      this.closed = true;
      this.feed?.emit({ kind: 'visitor-closed', customer: label, conversationId: payload.conversationId });
      this.wake();
    });
    // After a dropped connection the widget asks for what it missed; so does this visitor.
    socket.io.on('reconnect', () => void this.resume().catch(() => undefined));
  }

  /** Agent (and bot/system) messages received, oldest first. */
  get replies(): VisitorMessage[] {
    return this.messages.filter((message) => message.sender !== 'customer');
  }

  async send(text: string): Promise<void> {
    const answer = (await this.socket.timeout(10_000).emitWithAck('send', { clientMessageId: randomUUID(), text })) as Ack;
    if (!answer.ok) throw new Error(`${this.label}: the web chat refused the message: ${answer.error.code} ${answer.error.message}`);
    this.closed = false;
    this.feed?.emit({ kind: 'customer-wrote', customer: this.label, channel: 'webchat' });
  }

  /** Asks the adapter for the current conversation and every message after the last one seen. */
  async resume(): Promise<void> {
    const answer = (await this.socket.timeout(10_000).emitWithAck('resume', { conversationId: this.conversationId, lastSeq: this.lastSeq })) as Ack;
    if (answer.ok && answer.conversationId) this.conversationId = answer.conversationId;
  }

  waitForReply(predicate: (message: VisitorMessage) => boolean = () => true, timeoutMs = 60_000): Promise<VisitorMessage> {
    return this.until(() => this.replies.find(predicate), `a reply to ${this.label}`, timeoutMs);
  }

  waitForNotice(predicate: (notice: VisitorNotice) => boolean = () => true, timeoutMs = 60_000): Promise<VisitorNotice> {
    return this.until(() => this.notices.find(predicate), `a notice to ${this.label}`, timeoutMs);
  }

  waitForAgent(timeoutMs = 60_000): Promise<{ conversationId: string; agentName?: string }> {
    return this.until(
      () => (this.agentName !== undefined && this.conversationId ? { conversationId: this.conversationId, agentName: this.agentName } : undefined),
      `an agent joining ${this.label}'s chat`,
      timeoutMs,
    );
  }

  waitForClosed(timeoutMs = 60_000): Promise<void> {
    return this.until(() => this.closed || undefined, `${this.label}'s chat to close`, timeoutMs).then(() => undefined);
  }

  stop(): void {
    this.socket.disconnect();
    this.wake();
  }

  private onMessage(message: VisitorMessage): void {
    if (this.seen.has(message.id)) return;
    this.seen.add(message.id);
    this.messages.push(message);
    if (message.conversationId !== this.conversationId) this.lastSeq = 0;
    this.conversationId = message.conversationId;
    this.lastSeq = Math.max(this.lastSeq, message.seq);
    if (message.sender !== 'customer') this.feed?.emit({ kind: 'visitor-reply', customer: this.label, conversationId: message.conversationId });
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private until<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(poll);
      };
      const poll = () => {
        const value = check();
        if (value === undefined) return;
        done();
        resolve(value);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(poll);
    });
  }
}

/** Gets a visitor token and connects; rejects when the adapter refuses either. */
export async function startWebchatVisitor(options: WebchatVisitorOptions): Promise<WebchatVisitor> {
  const base = options.url.replace(/\/$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const response = await fetch(`${base}/webchat/visitors`, { method: 'POST', signal: AbortSignal.timeout(timeoutMs) });
  if (response.status !== 201) throw new Error(`POST ${base}/webchat/visitors answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  const { visitorId, token } = (await response.json()) as { visitorId: string; token: string };
  const socket = io(`${base}/webchat`, { auth: { visitorToken: token }, transports: ['websocket'], forceNew: true, reconnectionDelayMax: 2_000 });
  const visitor = new WebchatVisitor(visitorId, options.label ?? `web chat visitor ${visitorId.slice(0, 8)}`, socket, options.feed);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.disconnect();
      reject(new Error(`the web chat socket at ${base} did not connect in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect_error', (error: Error & { data?: { code?: string; message?: string } }) => {
      clearTimeout(timer);
      socket.disconnect();
      reject(new Error(`the web chat socket refused the visitor: ${error.data?.message ?? error.message}`));
    });
  });
  return visitor;
}
