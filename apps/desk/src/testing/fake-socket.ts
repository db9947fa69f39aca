/** A stand-in for a socket.io client socket: tests play the server by firing its events. */
import type { Socket } from 'socket.io-client';

type Listener = (...args: unknown[]) => void;
type AuthCallback = (send: (auth: Record<string, string>) => void) => void;

export class FakeSocket {
  connected = false;
  readonly emitted: Array<{ event: string; args: unknown[] }> = [];
  connectCalls = 0;
  ackAnswer: unknown = { ok: true, data: { leaseExpiresAt: new Date(Date.now() + 30_000).toISOString() } };
  private readonly listeners = new Map<string, Listener[]>();

  constructor(
    readonly url: string,
    readonly options: { auth?: AuthCallback | Record<string, string> },
  ) {}

  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  emit(event: string, ...args: unknown[]): this {
    this.emitted.push({ event, args });
    return this;
  }

  timeout(): { emitWithAck: (event: string, ...args: unknown[]) => Promise<unknown> } {
    return {
      emitWithAck: async (event: string, ...args: unknown[]) => {
        this.emitted.push({ event, args });
        return this.ackAnswer;
      },
    };
  }

  connect(): this {
    this.connectCalls += 1;
    return this;
  }

  disconnect(): this {
    const was = this.connected;
    this.connected = false;
    if (was) this.fire('disconnect', 'io client disconnect');
    return this;
  }

  /** What the client would send as `auth` on its next connection. */
  auth(): Record<string, string> {
    const { auth } = this.options;
    if (typeof auth !== 'function') return auth ?? {};
    let sent: Record<string, string> = {};
    auth((value) => (sent = value));
    return sent;
  }

  fire(event: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }

  /** The server accepts the connection and says `ready`. */
  ready(info: Record<string, unknown> = { agentId: 'a1', tenantId: 'default', role: 'agent', replayed: 0 }): void {
    this.auth();
    this.connected = true;
    this.fire('connect');
    this.fire('ready', info);
  }

  drop(reason = 'transport close'): void {
    this.connected = false;
    this.fire('disconnect', reason);
  }
}

export function fakeConnector() {
  const sockets: FakeSocket[] = [];
  const connect = (url: string, options: object) => {
    const socket = new FakeSocket(url, options as FakeSocket['options']);
    sockets.push(socket);
    return socket as unknown as Socket;
  };
  return { sockets, connect };
}

/** An unsigned JWT-shaped token: the desk only decodes it, the (absent) gateway would verify it. */
export function fakeToken(claims: Record<string, unknown> = {}): string {
  const encode = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: 'a1', tenant: 'default', role: 'agent', exp: Math.floor(Date.now() / 1000) + 3_600, ...claims })}.c2lnbmF0dXJl`;
}
