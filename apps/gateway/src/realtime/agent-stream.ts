/**
 * The agent desktop's WebSocket (socket.io namespace `/agent`). A client connects with
 * `auth: { token, lastEventId? }`; with a lastEventId it is first replayed what it missed, and live
 * events that arrive meanwhile are held back until the replay is sent, so nothing is skipped and
 * order is kept. Every event goes out as `event` with its payload; customer messages carry the
 * message itself (read from Postgres — bodies never travel on the broker's agent events).
 *
 * Client → server: `typing` {conversationId, typing} (sent to the customer on live channels),
 * `heartbeat` (renews the presence lease; acknowledged with the router's answer).
 * Server → client: `ready` {agentId, replayed}, `event`, `resync` {reason} (reload state over REST),
 * `typing` {conversationId, typing} (the customer), `error` {code, message} before a refused connection closes.
 */
import { randomUUID } from 'node:crypto';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { WebSocketGateway, WebSocketServer, type OnGatewayConnection, type OnGatewayDisconnect } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { DataSource } from 'typeorm';
import { EXCHANGES, routingKeys, type AgentTyping, type Channel } from '@app/contracts';
import { Publisher } from '@app/messaging';
import { gauge } from '@app/observability';
import { TokenVerifier } from '../auth/token-verifier';
import type { Principal } from '../auth/principal';
import { CommandBus } from '../commands/command-bus';
import { gatewayMetrics } from '../gateway.metrics';
import { ReadModel } from '../agent/read-model';
import { ApiError } from '../http/api-error';
import { AgentEventHub, type AgentEvent, type CustomerTypingSignal } from './agent-event-hub';
import { EventJournal } from './event-journal';

interface SocketState {
  principal: Principal;
  /** Live events held back while the replay is being sent. */
  held: AgentEvent[] | undefined;
  lastTypingAt: Map<string, number>;
}

const TYPING_MIN_INTERVAL_MS = 1_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const agentKey = (tenantId: string, agentId: string) => `${tenantId}\u0000${agentId}`;

@WebSocketGateway({ namespace: '/agent', cors: { origin: true }, maxHttpBufferSize: 64 * 1024 })
export class AgentStream implements OnGatewayConnection, OnGatewayDisconnect, OnApplicationShutdown {
  private readonly logger = new Logger(AgentStream.name);
  @WebSocketServer() private readonly server!: Namespace;
  private readonly sockets = new Map<string, Set<Socket>>();
  private readonly state = new WeakMap<Socket, SocketState>();
  /** One chain per agent keeps event order while messages are read from Postgres. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly unsubscribe: Array<() => void>;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly journal: EventJournal,
    private readonly reads: ReadModel,
    private readonly commands: CommandBus,
    private readonly publisher: Publisher,
    private readonly dataSource: DataSource,
    hub: AgentEventHub,
  ) {
    this.unsubscribe = [hub.onEvent((event) => this.onEvent(event)), hub.onCustomerTyping((signal) => void this.onCustomerTyping(signal))];
    gauge('gateway_connected_agents', 'Agents with at least one socket on this replica', [], (metric) => metric.set(this.sockets.size));
  }

  onApplicationShutdown(): void {
    for (const stop of this.unsubscribe) stop();
    this.server?.disconnectSockets(true);
  }

  async handleConnection(socket: Socket): Promise<void> {
    const auth = (socket.handshake.auth ?? {}) as { token?: unknown; lastEventId?: unknown };
    const header = socket.handshake.headers.authorization;
    const token = typeof auth.token === 'string' ? auth.token : typeof header === 'string' ? header.replace(/^Bearer\s+/i, '') : '';
    let principal: Principal;
    try {
      principal = await this.verifier.verify(token);
    } catch (error) {
      const refusal = error instanceof ApiError ? { code: error.code, message: error.message } : { code: 'unauthorized', message: 'token refused' };
      socket.emit('error', refusal);
      socket.disconnect(true);
      return;
    }
    const key = agentKey(principal.tenantId, principal.agentId);
    const lastEventId = typeof auth.lastEventId === 'string' && UUID.test(auth.lastEventId) ? auth.lastEventId : undefined;
    const state: SocketState = { principal, held: lastEventId ? [] : undefined, lastTypingAt: new Map() };
    this.state.set(socket, state);
    let set = this.sockets.get(key);
    if (!set) this.sockets.set(key, (set = new Set()));
    set.add(socket);
    socket.on('typing', (body: unknown) => void this.onAgentTyping(socket, body));
    socket.on('heartbeat', (ack?: unknown) => void this.onHeartbeat(socket, ack));

    let replayed = 0;
    if (lastEventId) {
      try {
        const replay = await this.journal.since(principal.tenantId, principal.agentId, lastEventId);
        if (replay.kind === 'resync') {
          gatewayMetrics.resyncs.inc({ reason: replay.cause });
          socket.emit('resync', { reason: replay.reason });
        } else {
          for (const event of replay.events) socket.emit('event', await this.decorate(event));
          replayed = replay.events.length;
          gatewayMetrics.eventsForwarded.inc({ source: 'replay' }, replayed);
        }
      } catch (error) {
        this.logger.warn({ err: (error as Error).message, agentId: principal.agentId }, 'replay failed; asking the client to resync');
        gatewayMetrics.resyncs.inc({ reason: 'error' });
        socket.emit('resync', { reason: 'replay failed' });
      }
      const held = state.held ?? [];
      state.held = undefined;
      for (const event of held) socket.emit('event', await this.decorate(event));
    }
    socket.emit('ready', { agentId: principal.agentId, tenantId: principal.tenantId, role: principal.role, replayed });
  }

  handleDisconnect(socket: Socket): void {
    const state = this.state.get(socket);
    if (!state) return;
    const key = agentKey(state.principal.tenantId, state.principal.agentId);
    const set = this.sockets.get(key);
    set?.delete(socket);
    if (set?.size === 0) this.sockets.delete(key);
  }

  private onEvent(event: AgentEvent): void {
    if (event.type === 'agent.command-result') return;
    const key = agentKey(event.tenantId, event.agentId);
    const set = this.sockets.get(key);
    if (!set) return;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        const decorated = await this.decorate(event);
        for (const socket of this.sockets.get(key) ?? []) {
          const state = this.state.get(socket);
          if (state?.held) {
            state.held.push(event);
          } else {
            socket.emit('event', decorated);
            gatewayMetrics.eventsForwarded.inc({ source: 'live' });
          }
        }
      })
      .catch((error: Error) => this.logger.warn({ err: error.message, type: event.type }, 'could not forward an agent event'))
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }

  private async decorate(event: AgentEvent): Promise<AgentEvent> {
    if (event.type !== 'agent.message' || typeof event.messageId !== 'string') return event;
    const message = await this.reads.message(event.messageId);
    return message ? { ...event, message } : event;
  }

  private async onHeartbeat(socket: Socket, ack: unknown): Promise<void> {
    const state = this.state.get(socket);
    if (!state) return;
    const { principal } = state;
    const outcome = await this.commands
      .send({ commandId: randomUUID(), tenantId: principal.tenantId, agentId: principal.agentId, type: 'presence.heartbeat' })
      .catch((error: unknown) => ({ ok: false as const, code: error instanceof ApiError ? error.code : 'error', message: (error as Error).message }));
    if (typeof ack === 'function') (ack as (answer: unknown) => void)(outcome);
  }

  /** The agent's typing goes to the customer on the conversation's channel; only the holder may type. */
  private async onAgentTyping(socket: Socket, body: unknown): Promise<void> {
    const state = this.state.get(socket);
    const input = body as { conversationId?: unknown; typing?: unknown } | undefined;
    if (!state || typeof input?.conversationId !== 'string' || !UUID.test(input.conversationId) || typeof input.typing !== 'boolean') return;
    const now = Date.now();
    if (input.typing && now - (state.lastTypingAt.get(input.conversationId) ?? 0) < TYPING_MIN_INTERVAL_MS) return;
    state.lastTypingAt.set(input.conversationId, now);
    const [held] = (await this.dataSource.query(
      `SELECT c.channel, ci.address, c.tenant_id AS "tenantId"
         FROM conversations c JOIN channel_identities ci ON ci.id = c.identity_id
        WHERE c.id = $1 AND c.tenant_id = $2 AND c.assigned_agent_id = $3 AND c.status = 'assigned' AND c.mode = 'sync'`,
      [input.conversationId, state.principal.tenantId, state.principal.agentId],
    )) as Array<{ channel: Channel; address: string; tenantId: string }>;
    if (!held) return;
    const typing: AgentTyping = {
      version: 1,
      type: 'agent.typing',
      occurredAt: new Date().toISOString(),
      tenantId: held.tenantId,
      conversationId: input.conversationId,
      channel: held.channel,
      to: { address: held.address },
      typing: input.typing,
    };
    await this.publisher
      .publish(EXCHANGES.outbound, routingKeys.outbound(held.channel), typing, { mandatory: false })
      .catch((error: Error) => this.logger.warn({ err: error.message }, 'could not publish agent typing'));
  }

  private async onCustomerTyping(signal: CustomerTypingSignal): Promise<void> {
    if (this.sockets.size === 0) return;
    const [holder] = (await this.dataSource.query(
      `SELECT assigned_agent_id AS "agentId" FROM conversations WHERE id = $1 AND tenant_id = $2 AND status = 'assigned'`,
      [signal.conversationId, signal.tenantId],
    )) as Array<{ agentId: string }>;
    if (!holder) return;
    for (const socket of this.sockets.get(agentKey(signal.tenantId, holder.agentId)) ?? []) {
      socket.emit('typing', { conversationId: signal.conversationId, typing: signal.typing });
    }
  }
}
