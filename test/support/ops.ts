/**
 * Operations helpers (K2, K3). `StoppableProxy` stands for a dependency that is stopped and started
 * again where its clients expect it: `stop()` resets every open connection and stops listening (new
 * connections are refused, as from a stopped server), `resume()` listens on the same port again.
 * `TcpProxy` covers resets and blackholes on a live path; this one covers the dependency going away.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ServiceProcess } from './processes';

export class StoppableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
    public port: number,
  ) {}

  /** Proxies to the host and port of `targetUrl` (amqp://…, postgres://…). */
  static async start(targetUrl: string): Promise<StoppableProxy> {
    const target = new URL(targetUrl);
    const defaultPort = target.protocol.startsWith('amqp') ? 5672 : 5432;
    const proxy = new StoppableProxy(target.hostname, Number(target.port || defaultPort), 0);
    await proxy.resume();
    return proxy;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** `targetUrl` with its host and port replaced by this proxy's. */
  rewrite(targetUrl: string): string {
    const url = new URL(targetUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  /** The dependency "stops": open connections are reset and new ones refused. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** The dependency "comes back" on the same port. */
  async resume(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.pipe(client));
    for (let attempt = 0; ; attempt += 1) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : this.port;
    this.server = server;
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}

/** The HTTP status of a service's path, or 'unreachable' when nothing answers. */
export async function httpStatus(service: ServiceProcess, path: string, timeoutMs = 2_000): Promise<number | 'unreachable'> {
  try {
    const response = await fetch(service.url(path), { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 'unreachable';
  }
}

/** Whether a process with this pid still exists (signal 0 checks without signalling). */
export function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
