/**
 * A TCP proxy between a service and a dependency, for fault tests: `cut()` destroys every open
 * connection (a reset), `blackhole()` keeps sockets open but drops traffic silently (what heartbeats
 * must detect), `restore()` lets traffic flow again.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private dropping = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const holder: { proxy?: TcpProxy } = {};
    const server = createServer((client) => {
      const proxy = holder.proxy;
      const upstream = connect(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        proxy!.sockets.add(socket);
        socket.on('close', () => proxy!.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.on('data', (chunk) => {
        if (!proxy!.dropping) upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (!proxy!.dropping) client.write(chunk);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    holder.proxy = new TcpProxy(server, typeof address === 'object' && address ? address.port : 0);
    return holder.proxy;
  }

  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  blackhole(): void {
    this.dropping = true;
  }

  restore(): void {
    this.dropping = false;
  }

  connectionCount(): number {
    return this.sockets.size / 2;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
