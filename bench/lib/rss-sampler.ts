/**
 * Peak resident set size of named processes, read from /proc/<pid>/status (VmRSS) on a timer, so a
 * child's figure is taken the same way as the bench's own. A process that has exited keeps its peak.
 */
import { readFileSync } from 'node:fs';

export class RssSampler {
  private readonly pids = new Map<string, number>();
  private readonly peaks = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 100) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  watch(name: string, pid: number | undefined): void {
    if (pid === undefined) return;
    this.pids.set(name, pid);
    this.sampleOne(name, pid);
  }

  sample(): void {
    for (const [name, pid] of this.pids) this.sampleOne(name, pid);
  }

  /** Peak RSS per process name, in bytes. */
  peaksBytes(): Map<string, number> {
    this.sample();
    return new Map(this.peaks);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sampleOne(name: string, pid: number): void {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return;
    }
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (!kb) return;
    const bytes = Number(kb[1]) * 1024;
    if (bytes > (this.peaks.get(name) ?? 0)) this.peaks.set(name, bytes);
  }
}
