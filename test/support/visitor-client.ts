/**
 * A web chat visitor as a test sees it: a token from the adapter's endpoint and the `/webchat`
 * socket, collecting messages (deduplicated on id, as the widget does), notices and lifecycle events,
 * and remembering the resume point (conversation and last sequence number).
 */
import { randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type { ChatMessage } from '../../apps/adapters/webchat/src/visitor-store';
import { waitFor } from './wait';

/** What the adapter's socket sends a visitor: the adapter's own chat message shape. */
export type VisitorMessage = ChatMessage;

export interface VisitorEvent {
  name: string;
  payload: Record<string, unknown>;
}

export type VisitorAck = { ok: true; [key: string]: unknown } | { ok: false; error: { code: string; message: string } };

export async function createVisitor(baseUrl: string): Promise<{ visitorId: string; token: string }> {
  const response = await fetch(`${baseUrl}/webchat/visitors`, { method: 'POST' });
  if (response.status !== 201) throw new Error(`POST /webchat/visitors answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { visitorId: string; token: string };
}

export class VisitorClient {
  readonly messages: VisitorMessage[] = [];
  readonly events: VisitorEvent[] = [];
  private readonly seen = new Set<string>();
  conversationId: string | null = null;
  lastSeq = 0;

  private constructor(readonly socket: Socket) {
    socket.on('message', (message: VisitorMessage) => {
      if (this.seen.has(message.id)) return;
      this.seen.add(message.id);
      this.messages.push(message);
    });
    for (const name of ['notice', 'agent-joined', 'downgraded', 'closed', 'typing']) {
      socket.on(name, (payload: Record<string, unknown>) => this.events.push({ name, payload }));
    }
  }

  /** Connects; rejects with the server's refusal (`code` from the handshake error's data). */
  static async connect(baseUrl: string, visitorToken: string | undefined, previous?: VisitorClient): Promise<VisitorClient> {
    const socket = io(`${baseUrl}/webchat`, { auth: visitorToken === undefined ? {} : { visitorToken }, transports: ['websocket'], reconnection: false, forceNew: true });
    const client = new VisitorClient(socket);
    if (previous) client.adopt(previous);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('visitor socket not connected in 10 s')), 10_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('connect_error', (error: Error & { data?: { code: string; message: string } }) => {
        clearTimeout(timer);
        reject(Object.assign(new Error(error.data?.message ?? error.message), { code: error.data?.code }));
      });
    });
    return client;
  }

  /** Reconnecting keeps what was received and where to resume from. */
  private adopt(previous: VisitorClient): void {
    this.messages.push(...previous.messages);
    for (const id of previous.seen) this.seen.add(id);
    this.conversationId = previous.conversationId;
    this.lastSeq = previous.lastSeq;
  }

  async send(text: string, clientMessageId: string = randomUUID()): Promise<VisitorAck & { clientMessageId?: string }> {
    return (await this.socket.timeout(10_000).emitWithAck('send', { clientMessageId, text })) as VisitorAck;
  }

  /** Replays everything after the resume point; the messages arrive before the acknowledgement. */
  async resume(lastSeq = this.lastSeq, conversationId = this.conversationId): Promise<VisitorAck> {
    const answer = (await this.socket.timeout(10_000).emitWithAck('resume', { conversationId, lastSeq })) as VisitorAck & {
      conversationId?: string | null;
      lastSeq?: number;
    };
    if (answer.ok) {
      this.conversationId = answer.conversationId ?? null;
      this.lastSeq = answer.lastSeq ?? 0;
    }
    return answer;
  }

  email(address: string): Promise<VisitorAck> {
    return this.socket.timeout(10_000).emitWithAck('email', { address }) as Promise<VisitorAck>;
  }

  typing(typing: boolean): void {
    this.socket.emit('typing', { typing });
  }

  waitForMessage(predicate: (message: VisitorMessage) => boolean, what: string, timeoutMs = 15_000): Promise<VisitorMessage> {
    return waitFor(() => this.messages.find(predicate), what, timeoutMs);
  }

  waitForEvent(name: string, predicate: (payload: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000): Promise<VisitorEvent> {
    return waitFor(() => this.events.find((event) => event.name === name && predicate(event.payload)), what, timeoutMs);
  }

  close(): void {
    this.socket.disconnect();
  }
}
