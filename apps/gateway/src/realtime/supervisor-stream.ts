/**
 * The supervisor's live view (socket.io namespace `/supervisor`, supervisors and admins only):
 * `stats` with every queue and agent of the tenant, pushed every SUPERVISOR_STREAM_MS while anyone
 * of that tenant watches — one query set per tenant per period, however many supervisors watch.
 */
import { Inject, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { WebSocketGateway, WebSocketServer, type OnGatewayConnection, type OnGatewayDisconnect } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { hasRole } from '../auth/principal';
import { TokenVerifier } from '../auth/token-verifier';
import { GATEWAY_CONFIG, type GatewayConfig } from '../gateway.config';
import { ApiError } from '../http/api-error';
import { SupervisorStats } from '../supervisor/supervisor-stats';

@WebSocketGateway({ namespace: '/supervisor', cors: { origin: true }, maxHttpBufferSize: 16 * 1024 })
export class SupervisorStream implements OnGatewayConnection, OnGatewayDisconnect, OnApplicationShutdown {
  private readonly logger = new Logger(SupervisorStream.name);
  @WebSocketServer() private readonly server!: Namespace;
  private readonly watchers = new Map<string, Set<Socket>>();
  private readonly tenantOf = new WeakMap<Socket, string>();
  private timer: NodeJS.Timeout | undefined;
  private pushing = false;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly stats: SupervisorStats,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.server?.disconnectSockets(true);
  }

  async handleConnection(socket: Socket): Promise<void> {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    try {
      const principal = await this.verifier.verify(typeof token === 'string' ? token : '');
      if (!hasRole(principal, 'supervisor')) throw new ApiError(403, 'forbidden_role', 'the supervisor stream needs the supervisor role');
      this.tenantOf.set(socket, principal.tenantId);
      let set = this.watchers.get(principal.tenantId);
      if (!set) this.watchers.set(principal.tenantId, (set = new Set()));
      set.add(socket);
      socket.emit('stats', await this.stats.snapshot(principal.tenantId));
      this.timer ??= setInterval(() => void this.push(), this.config.SUPERVISOR_STREAM_MS);
    } catch (error) {
      const refusal = error instanceof ApiError ? { code: error.code, message: error.message } : { code: 'unauthorized', message: 'token refused' };
      socket.emit('error', refusal);
      socket.disconnect(true);
    }
  }

  handleDisconnect(socket: Socket): void {
    const tenant = this.tenantOf.get(socket);
    if (tenant === undefined) return;
    const set = this.watchers.get(tenant);
    set?.delete(socket);
    if (set?.size === 0) this.watchers.delete(tenant);
    if (this.watchers.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async push(): Promise<void> {
    if (this.pushing) return;
    this.pushing = true;
    try {
      for (const [tenant, sockets] of this.watchers) {
        const snapshot = await this.stats.snapshot(tenant);
        for (const socket of sockets) socket.emit('stats', snapshot);
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'supervisor stats failed; will retry');
    } finally {
      this.pushing = false;
    }
  }
}
