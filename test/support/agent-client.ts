/**
 * A desktop as a test sees it: REST calls with a bearer token and the `/agent` socket, collecting
 * events (deduplicated on eventId, as clients are told to) and remembering the last one for resume.
 */
import { io, type Socket } from 'socket.io-client';
import { mintDevToken } from '../../apps/gateway/src/auth/token-verifier';
import { DEV_JWT_ISSUER, DEV_JWT_SECRET, JWT_AUDIENCE_DEFAULT } from '../../apps/gateway/src/gateway.config';
import { waitFor } from './wait';

export type Role = 'agent' | 'supervisor' | 'admin';

export interface ReceivedEvent {
  eventId: string;
  type: string;
  conversationId?: string;
  [key: string]: unknown;
}

export function devToken(agentId: string, tenantId: string, role: Role = 'agent', ttlSeconds = 3_600): Promise<string> {
  return mintDevToken({ secret: DEV_JWT_SECRET, issuer: DEV_JWT_ISSUER, audience: JWT_AUDIENCE_DEFAULT, agentId, tenantId, role, ttlSeconds });
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export async function api<T = Record<string, unknown>>(
  baseUrl: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: tests assert on it as text
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

export class AgentSocket {
  readonly events: ReceivedEvent[] = [];
  readonly typing: Array<{ conversationId: string; typing: boolean }> = [];
  readonly resyncs: string[] = [];
  private readonly seen = new Set<string>();
  lastEventId: string | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('event', (event: ReceivedEvent) => {
      if (this.seen.has(event.eventId)) return;
      this.seen.add(event.eventId);
      this.events.push(event);
      this.lastEventId = event.eventId;
    });
    socket.on('typing', (signal: { conversationId: string; typing: boolean }) => this.typing.push(signal));
    socket.on('resync', (body: { reason: string }) => this.resyncs.push(body.reason));
  }

  /** Connects and waits for `ready` (after any replay); rejects with the server's refusal. */
  static async connect(baseUrl: string, token: string, lastEventId?: string, previous?: AgentSocket): Promise<AgentSocket> {
    const socket = io(`${baseUrl}/agent`, { auth: { token, lastEventId }, transports: ['websocket'], reconnection: false, forceNew: true });
    const client = previous ? previous.adopt(socket) : new AgentSocket(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket not ready in 10 s')), 10_000);
      socket.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (refusal: { code: string; message: string }) => {
        clearTimeout(timer);
        reject(Object.assign(new Error(refusal.message), { code: refusal.code }));
      });
      socket.once('connect_error', (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return client;
  }

  /** Reconnecting keeps what was received: the new socket feeds the same event list. */
  private adopt(socket: Socket): AgentSocket {
    const next = new AgentSocket(socket);
    next.events.push(...this.events);
    for (const id of this.seen) next.seen.add(id);
    next.lastEventId = this.lastEventId;
    return next;
  }

  waitForEvent(predicate: (event: ReceivedEvent) => boolean, what: string, timeoutMs = 15_000): Promise<ReceivedEvent> {
    return waitFor(() => this.events.find(predicate), what, timeoutMs);
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** The first `stats` push of the supervisor stream. */
export function firstSupervisorSnapshot(baseUrl: string, token: string): Promise<{ queues: unknown[]; agents: unknown[] }> {
  return new Promise((resolve, reject) => {
    const socket = io(`${baseUrl}/supervisor`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    const timer = setTimeout(() => reject(new Error('no supervisor stats in 10 s')), 10_000);
    socket.once('stats', (snapshot: { queues: unknown[]; agents: unknown[] }) => {
      clearTimeout(timer);
      socket.disconnect();
      resolve(snapshot);
    });
    socket.once('error', (refusal: { message: string }) => {
      clearTimeout(timer);
      reject(new Error(refusal.message));
    });
  });
}
