/**
 * Database reachability as the readiness probe sees it: a background ping through the existing pool
 * every few seconds, cached. A probe reads the cached state and never opens a connection.
 */
import type { DataSource } from 'typeorm';

const PING_TIMEOUT_MS = 2_000;

export class DatabaseHealth {
  private healthy = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly intervalMs = 2_000,
  ) {}

  readonly name = 'database';

  start(): void {
    void this.ping();
    this.timer = setInterval(() => void this.ping(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.healthy = false;
  }

  isHealthy(): boolean {
    return this.healthy;
  }

  /** Pings now (for a consumer deciding whether a failure was an outage) and updates the cached state. */
  async checkNow(): Promise<boolean> {
    await this.ping();
    return this.healthy;
  }

  private async ping(): Promise<void> {
    if (!this.dataSource.isInitialized) {
      this.healthy = false;
      return;
    }
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('ping timed out')), PING_TIMEOUT_MS).unref()),
      ]);
      this.healthy = true;
    } catch {
      this.healthy = false;
    }
  }
}
