/**
 * The visitors' socket.io namespace `/webchat`, on the adapter's own HTTP server. A socket is
 * admitted only with a valid visitor token and joins its visitor's room, so every tab of a visitor
 * gets what the agent says. Client events (each answered through its acknowledgement):
 *   - `send {clientMessageId, text}`: acknowledged `{ok:true}` only once the broker confirmed the
 *     envelope; the provider id `<visitorId>:<clientMessageId>` makes a retried send a duplicate the
 *     router stores once;
 *   - `resume {conversationId?, lastSeq}`: replays the visitor's conversation after `lastSeq` from
 *     Postgres as `message` events, then acknowledges (a different conversation replays from 0);
 *   - `typing {typing}`: transient and throttled;
 *   - `email {address}`: where to send replies once the chat became a message thread.
 */
import type { Server as HttpServer } from 'node:http';
import { Logger } from '@nestjs/common';
import { Server, type Namespace, type Socket } from 'socket.io';
import { z } from 'zod';
import type { AdapterContext } from '@app/channel-kit';
import type { CustomerTyping } from '@app/contracts';
import { originAllowed, type AllowedOrigins } from './origins';
import { verifyVisitorToken } from './visitor-token';
import { RESUME_LIMIT, type VisitorStore } from './visitor-store';

const sendSchema = z.object({
  clientMessageId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'clientMessageId: 1 to 64 letters, digits, - or _' }),
  text: z.string().trim().min(1, { error: 'text is empty' }).max(4_000, { error: 'text is longer than 4000 characters' }),
});
const resumeSchema = z.object({ conversationId: z.uuid().nullish(), lastSeq: z.number().int().nonnegative().default(0) });
const typingSchema = z.object({ typing: z.boolean() });
const emailSchema = z.object({ address: z.email({ error: 'not an email address' }).max(254) });

/** A visitor typing continuously is announced again at most this often. */
const TYPING_INTERVAL_MS = 3_000;
/** Sends per socket per window: generous for a person, a stop for a script. */
const SEND_LIMIT = 30;
const SEND_WINDOW_MS = 60_000;

type Ack = (answer: Record<string, unknown>) => void;
type Ingest = AdapterContext<object>['ingest'];

interface VisitorData {
  visitorId: string;
  typingSentAt: number;
  typing: boolean;
  sendWindowStart: number;
  sends: number;
}

const room = (visitorId: string) => `visitor:${visitorId}`;
const refusal = (code: string, message: string) => ({ ok: false, error: { code, message } });

export class VisitorSockets {
  private readonly logger = new Logger(VisitorSockets.name);
  private io: Server | undefined;
  private namespace: Namespace | undefined;

  constructor(
    private readonly options: {
      secret: string;
      tenantId: string;
      origins: AllowedOrigins;
      store: VisitorStore;
      ingest: Ingest;
      publishTyping: (signal: CustomerTyping) => void;
    },
  ) {}

  attach(httpServer: HttpServer): void {
    const { origins } = this.options;
    this.io = new Server(httpServer, {
      cors: { origin: origins === '*' ? true : [...origins] },
      allowRequest: (request, callback) => callback(null, originAllowed(origins, request.headers.origin)),
    });
    this.namespace = this.io.of('/webchat');
    this.namespace.use((socket, next) => {
      const verified = verifyVisitorToken(this.options.secret, (socket.handshake.auth as { visitorToken?: unknown }).visitorToken);
      if (!verified.ok) {
        next(Object.assign(new Error(verified.message), { data: { code: verified.code, message: verified.message } }));
        return;
      }
      const data: VisitorData = { visitorId: verified.visitorId, typingSentAt: 0, typing: false, sendWindowStart: Date.now(), sends: 0 };
      socket.data = data;
      next();
    });
    this.namespace.on('connection', (socket) => this.connected(socket));
    // Nest closes the HTTP server before the kit stops the runtime, and an HTTP server waits for all
    // its connections, upgraded WebSockets included: without this, shutdown would hang until its deadline.
    const closeServer = httpServer.close.bind(httpServer);
    httpServer.close = ((callback?: (error?: Error) => void) => {
      this.close();
      return closeServer(callback);
    }) as typeof httpServer.close;
  }

  emit(visitorId: string, event: string, payload: unknown): void {
    this.namespace?.to(room(visitorId)).emit(event, payload);
  }

  /** For signals worth nothing late (typing): dropped rather than buffered for a slow socket. */
  emitVolatile(visitorId: string, event: string, payload: unknown): void {
    this.namespace?.to(room(visitorId)).volatile.emit(event, payload);
  }

  /** Whether this replica holds a socket of the visitor (other replicas are not asked). */
  async isConnectedHere(visitorId: string): Promise<boolean> {
    return ((await this.namespace?.in(room(visitorId)).fetchSockets()) ?? []).length > 0;
  }

  /**
   * Drops the visitors' connections as a network failure would, so their widgets reconnect (to another
   * replica) on their own; a socket.io disconnect would tell them not to. The HTTP server is the app's to close.
   */
  close(): void {
    this.io?.engine.close();
  }

  private connected(socket: Socket): void {
    const data = socket.data as VisitorData;
    void socket.join(room(data.visitorId));
    const handle = (event: string, run: (input: unknown, ack: Ack) => Promise<void>) =>
      socket.on(event, (input: unknown, ack?: unknown) => {
        const answer: Ack = typeof ack === 'function' ? (ack as Ack) : () => undefined;
        run(input, answer).catch((error: Error) => {
          this.logger.warn({ event, err: error.message }, 'visitor event failed');
          answer(refusal('unavailable', 'the server could not handle this right now; retry'));
        });
      });

    handle('send', async (input, ack) => {
      const parsed = sendSchema.safeParse(input);
      if (!parsed.success) return ack(refusal('invalid_message', parsed.error.issues.map((issue) => issue.message).join('; ')));
      const now = Date.now();
      if (now - data.sendWindowStart > SEND_WINDOW_MS) Object.assign(data, { sendWindowStart: now, sends: 0 });
      data.sends += 1;
      if (data.sends > SEND_LIMIT) return ack(refusal('rate_limited', 'too many messages; wait a minute'));
      const { clientMessageId, text } = parsed.data;
      try {
        await this.options.ingest({
          messages: [
            {
              mode: 'sync',
              provider: { messageId: `${data.visitorId}:${clientMessageId}`, threadId: data.visitorId },
              customer: { address: data.visitorId },
              content: { text },
            },
          ],
        });
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'visitor message not queued');
        return ack(refusal('unavailable', 'the message could not be queued; send it again with the same clientMessageId'));
      }
      ack({ ok: true, clientMessageId });
    });

    handle('resume', async (input, ack) => {
      const parsed = resumeSchema.safeParse(input ?? {});
      if (!parsed.success) return ack(refusal('invalid_resume', 'expected {conversationId?, lastSeq}'));
      const conversation = await this.options.store.currentConversation(data.visitorId);
      if (!conversation) return ack({ ok: true, conversationId: null, lastSeq: 0, more: false });
      const from = parsed.data.conversationId === conversation.id ? parsed.data.lastSeq : 0;
      const messages = await this.options.store.messagesAfter(conversation.id, from, data.visitorId);
      for (const message of messages) socket.emit('message', message);
      ack({
        ok: true,
        conversationId: conversation.id,
        status: conversation.status,
        mode: conversation.mode,
        lastSeq: messages.at(-1)?.seq ?? from,
        more: messages.length === RESUME_LIMIT,
      });
    });

    handle('typing', async (input) => {
      const parsed = typingSchema.safeParse(input);
      if (!parsed.success) return;
      const now = Date.now();
      const { typing } = parsed.data;
      if (typing === data.typing && (!typing || now - data.typingSentAt < TYPING_INTERVAL_MS)) return;
      Object.assign(data, { typing, typingSentAt: now });
      const conversation = await this.options.store.currentConversation(data.visitorId);
      if (!conversation || conversation.status === 'closed') return;
      this.options.publishTyping({ version: 1, tenantId: this.options.tenantId, conversationId: conversation.id, typing });
    });

    handle('email', async (input, ack) => {
      const parsed = emailSchema.safeParse(input);
      if (!parsed.success) return ack(refusal('invalid_email', 'expected {address} with a valid email address'));
      const saved = await this.options.store.saveEmail(data.visitorId, parsed.data.address);
      ack(saved ? { ok: true } : refusal('no_conversation', 'send a message first; the address belongs to a conversation'));
    });
  }
}
