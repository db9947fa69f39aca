/**
 * A built service (dist/apps/<app>/src/main.js) run as a child process with the bench's env, ready
 * once /health/ready answers 200. Output is drained (a full pipe would stall the service) and only
 * its tail is kept, to explain a failure. Extra node flags (e.g. --cpu-prof) go before the script.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS } from '@app/config';
import { sleep } from './report';

const ROOT = join(__dirname, '..', '..', '..');
const TAIL_CHUNKS = 200;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export class ServiceProcess {
  private readonly tail: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        this.tail.push(chunk.toString('utf8'));
        if (this.tail.length > TAIL_CHUNKS) this.tail.shift();
      });
    }
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(app: string, env: Record<string, string>, nodeFlags: string[] = []): Promise<ServiceProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...nodeFlags, join(ROOT, 'dist', 'apps', app, 'src', 'main.js')], {
      env: { ...process.env, NODE_OPTIONS: '', HTTP_PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(app, port, child);
    try {
      await service.waitReady(60_000);
    } catch (error) {
      await service.stop('SIGKILL');
      throw error;
    }
    return service;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  logs(): string {
    return this.tail.join('');
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited during start:\n${this.logs().slice(-3_000)}`);
      try {
        const response = await fetch(this.url('/health/ready'), { signal: AbortSignal.timeout(2_000) });
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.logs().slice(-3_000)}`);
      await sleep(100);
    }
  }

  /** Graceful stop (SIGTERM lets --cpu-prof write its profile); SIGKILL after 30 s. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(killer);
    }
  }
}
