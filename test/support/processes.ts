/**
 * Starts built services (dist/) as real processes for end-to-end tests, on a free port, and waits
 * until they report ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SERVICE_NODE_FLAGS } from '@app/config';
import { waitFor } from './wait';

const ROOT = join(__dirname, '..', '..');

/**
 * Ports are handed out from a range of this jest worker's own, each at most once per run: a port the
 * OS picks at random can be picked again by another worker before the first service binds it, and
 * that test then talks to someone else's service.
 */
const PORTS_PER_WORKER = 700;
const workerBase = 20_000 + Number(process.env.JEST_WORKER_ID ?? '0') * PORTS_PER_WORKER;
let nextOffset = 0;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  while (nextOffset < PORTS_PER_WORKER) {
    const port = workerBase + nextOffset;
    nextOffset += 1;
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port left in ${workerBase}–${workerBase + PORTS_PER_WORKER - 1}`);
}

export class ServiceProcess {
  readonly output: string[] = [];
  private exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
    }
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(app: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
    // A fixed HTTP_PORT lets a test restart a service where its clients expect it.
    const port = env.HTTP_PORT ? Number(env.HTTP_PORT) : await freePort();
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, join(ROOT, 'dist', 'apps', app, 'src', 'main.js')], {
      env: { ...process.env, LOG_LEVEL: 'info', HTTP_PORT: String(port), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const service = new ServiceProcess(app, port, child);
    try {
      await service.waitReady();
    } catch (error) {
      await service.kill9();
      throw error;
    }
    return service;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => {
        if (this.child.exitCode !== null) throw new Error(`${this.name} exited: ${this.output.join('').slice(-2000)}`);
        // A 200 alone could come from another process on the port: the answer must be this child's.
        const live = (await (await fetch(this.url('/health/live'))).json()) as { pid?: number };
        if (live.pid !== this.child.pid) return false;
        const response = await fetch(this.url('/health/ready'));
        return response.status === 200;
      },
      `${this.name} ready`,
      timeoutMs,
      100,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- ${this.name} output (tail) ---\n${this.logs().slice(-3_000)}`);
    });
  }

  /** Graceful stop; resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }

  async kill9(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  logs(): string {
    return this.output.join('');
  }
}
