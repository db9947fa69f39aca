/**
 * Is the system up, and if not, start it as `npm start` does (scripts/start-all, as a child in its
 * own process group, its output to a log file) and stop it again. A service is `ready` when its
 * `/health/ready` answers 200, `unready` when it answers anything else (starting, or shutting down),
 * `down` when nothing answers. The caller decides what a partial system means; the demo refuses to
 * start a second copy beside one.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { DemoService } from './demo-endpoints';

export type ServiceState = 'ready' | 'unready' | 'down';

export interface ServiceProbe {
  service: DemoService;
  url: string;
  state: ServiceState;
}

export interface SystemProbe {
  services: ServiceProbe[];
  /** Every service ready. */
  ready: boolean;
  /** Nothing answers at any of them. */
  down: boolean;
}

export async function probeService(url: string, timeoutMs = 2_000): Promise<ServiceState> {
  try {
    const response = await fetch(`${url.replace(/\/$/, '')}/health/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status === 200 ? 'ready' : 'unready';
  } catch {
    return 'down';
  }
}

export async function probeSystem(services: Array<{ service: DemoService; url: string }>): Promise<SystemProbe> {
  const probes = await Promise.all(services.map(async ({ service, url }) => ({ service, url, state: await probeService(url) })));
  return {
    services: probes,
    ready: probes.every((probe) => probe.state === 'ready'),
    down: probes.every((probe) => probe.state === 'down'),
  };
}

export interface StartedSystem {
  readonly pid: number;
  readonly logFile: string;
  /** Settles with the exit code when start-all ends (on its own or after `stop`). */
  readonly exited: Promise<number | null>;
  /** SIGTERM to start-all (which stops every service it runs); SIGKILL to its group after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  /** The last lines of its log, to show when it failed. */
  tail(lines?: number): string;
}

export interface StartSystemOptions {
  /** dist/scripts/start-all.js */
  startAllPath: string;
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** The Node to run it with: this process's by default (the project's Node 24 under `npm run`). */
  nodePath?: string;
}

export function startSystem(options: StartSystemOptions): StartedSystem {
  const log = openSync(options.logFile, 'a');
  // Its own process group: a Ctrl-C at the terminal reaches the demo only, which then stops the
  // agents while the gateway still answers, and the system after them.
  const child = spawn(options.nodePath ?? process.execPath, [options.startAllPath], {
    env: options.env ?? process.env,
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`could not run ${options.startAllPath}`);
  const pid = child.pid;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.once('error', () => resolve(1));
  });
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    pid,
    logFile: options.logFile,
    exited,
    async stop(timeoutMs = 30_000) {
      if (ended) return;
      child.kill('SIGTERM');
      const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), timeoutMs).unref());
      if ((await Promise.race([exited, timer])) === 'late') {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exited;
      }
    },
    tail(lines = 20) {
      try {
        return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
}

/** Waits until every service is ready; fails early when `exited` settles first (start-all gave up). */
export async function waitForSystem(
  services: Array<{ service: DemoService; url: string }>,
  options: { timeoutMs?: number; exited?: Promise<number | null>; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let exitCode: number | null | undefined;
  void options.exited?.then((code) => (exitCode = code));
  let probe: SystemProbe | undefined;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`the system stopped while starting (exit code ${exitCode})`);
    probe = await probeSystem(services);
    if (probe.ready) return;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
  }
  const missing = (probe?.services ?? []).filter((s) => s.state !== 'ready').map((s) => `${s.service} (${s.url}: ${s.state})`);
  throw new Error(`not ready after ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s: ${missing.join(', ')}`);
}
