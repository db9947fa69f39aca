/**
 * The desk's socket to the gateway's `/agent` namespace (protocol in
 * apps/gateway/src/realtime/agent-stream.ts). Every (re)connection sends `{token, lastEventId}`, so
 * the server replays what was missed before `ready`; the connection is `live` only once `ready`
 * arrived. While the agent is present it sends `heartbeat` (renewing the presence lease) at a third of
 * the lease the router last granted, over REST when the socket is down so a reconnect storm does not
 * cost the agent their presence. A refusal of the token (`error` then a server disconnect) is final;
 * any other server disconnect (a replica shutting down) is retried.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { AgentEvent, HeartbeatAnswer, ReadyInfo, Refusal } from '../api/api.types';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface AgentConnectionHandlers {
  onState(state: ConnectionState): void;
  /** `resumed`: the server was given a lastEventId and replayed from it (or will send `resync`). */
  onReady(info: ReadyInfo, resumed: boolean): void;
  onEvent(event: AgentEvent): void;
  onResync(reason: string): void;
  onTyping(signal: { conversationId: string; typing: boolean }): void;
  /** The token was refused: the connection is closed for good. */
  onRefused(refusal: Refusal): void;
  onHeartbeat(answer: HeartbeatAnswer): void;
}

export interface AgentConnectionOptions {
  token: string;
  /** The gateway's origin; empty for the page's own. */
  url?: string;
  lastEventId(): string | undefined;
  /** The REST heartbeat, used while the socket is down. */
  restHeartbeat?(): Promise<HeartbeatAnswer>;
  handlers: AgentConnectionHandlers;
  connect?: (url: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;
}

export const HEARTBEAT_MAX_MS = 10_000;
export const HEARTBEAT_MIN_MS = 2_000;
const HEARTBEAT_ACK_TIMEOUT_MS = 5_000;
const SERVER_DISCONNECT_RETRY_MS = 1_000;
/** Refusals that a retry cannot fix. */
const FATAL_REFUSAL = /^(token_|unauthorized|forbidden)/;

/** When the next heartbeat is due: a third of the lease left, within bounds. */
export function nextHeartbeatDelay(answer: HeartbeatAnswer | undefined, now: number): number {
  const lease = answer?.ok ? answer.data?.leaseExpiresAt : undefined;
  if (!lease) return HEARTBEAT_MAX_MS;
  return Math.min(HEARTBEAT_MAX_MS, Math.max(HEARTBEAT_MIN_MS, Math.floor((Date.parse(lease) - now) / 3)));
}

export class AgentConnection {
  private readonly socket: Socket;
  private everReady = false;
  private refused = false;
  private closed = false;
  private resumedFrom: string | undefined;
  private heartbeatWanted = false;
  /** Bumped on every start and stop, so a beat in flight from an earlier start schedules nothing. */
  private heartbeatRun = 0;
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private state: ConnectionState = 'connecting';

  constructor(private readonly options: AgentConnectionOptions) {
    const { handlers } = options;
    const connect = options.connect ?? io;
    this.socket = connect(`${options.url ?? ''}/agent`, {
      auth: (send: (auth: Record<string, string>) => void) => {
        this.resumedFrom = options.lastEventId();
        send(this.resumedFrom ? { token: options.token, lastEventId: this.resumedFrom } : { token: options.token });
      },
      transports: ['websocket'],
      reconnectionDelay: 500,
      reconnectionDelayMax: 10_000,
    });
    this.socket.on('ready', (info: ReadyInfo) => {
      this.everReady = true;
      this.setState('live');
      handlers.onReady(info, this.resumedFrom !== undefined);
    });
    this.socket.on('event', (event: AgentEvent) => handlers.onEvent(event));
    this.socket.on('resync', (body: { reason?: string } | undefined) => handlers.onResync(body?.reason ?? 'resync'));
    this.socket.on('typing', (signal: { conversationId: string; typing: boolean }) => handlers.onTyping(signal));
    this.socket.on('error', (refusal: Refusal) => {
      if (FATAL_REFUSAL.test(refusal?.code ?? '')) {
        this.refused = true;
        handlers.onRefused(refusal);
      }
    });
    this.socket.on('connect_error', () => this.setState(this.everReady ? 'reconnecting' : 'connecting'));
    this.socket.on('disconnect', (reason: string) => {
      if (this.closed || this.refused) {
        this.setState('offline');
        return;
      }
      this.setState(this.everReady ? 'reconnecting' : 'connecting');
      // socket.io does not retry a disconnect the server asked for; a replica shutting down is one.
      if (reason === 'io server disconnect') {
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => {
          if (!this.closed) this.socket.connect();
        }, SERVER_DISCONNECT_RETRY_MS);
      }
    });
  }

  get connected(): boolean {
    return this.state === 'live';
  }

  /** Starts (at once) or stops the presence heartbeat. */
  setHeartbeat(wanted: boolean): void {
    if (wanted === this.heartbeatWanted) return;
    this.heartbeatWanted = wanted;
    this.heartbeatRun += 1;
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    if (wanted) void this.beat(this.heartbeatRun);
  }

  sendTyping(conversationId: string, typing: boolean): void {
    if (this.socket.connected) this.socket.emit('typing', { conversationId, typing });
  }

  close(): void {
    this.closed = true;
    this.heartbeatWanted = false;
    this.heartbeatRun += 1;
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.retryTimer);
    this.socket.disconnect();
    this.setState('offline');
  }

  private async beat(run: number): Promise<void> {
    let answer: HeartbeatAnswer | undefined;
    try {
      if (this.socket.connected) {
        answer = (await this.socket.timeout(HEARTBEAT_ACK_TIMEOUT_MS).emitWithAck('heartbeat')) as HeartbeatAnswer;
      } else if (this.options.restHeartbeat) {
        answer = await this.options.restHeartbeat();
      }
    } catch {
      answer = undefined;
    }
    if (run !== this.heartbeatRun || this.closed) return;
    if (answer) this.options.handlers.onHeartbeat(answer);
    if (run !== this.heartbeatRun) return;
    this.heartbeatTimer = setTimeout(() => void this.beat(run), answer ? nextHeartbeatDelay(answer, Date.now()) : HEARTBEAT_MIN_MS);
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    this.options.handlers.onState(state);
  }
}
