/**
 * Database reachability as the readiness probe sees it: a background ping through the existing pool
 * every few seconds, cached. A probe reads the cached state and never opens a connection.
 */
import type { DataSource } from 'typeorm';

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

  private async ping(): Promise<void> {
    if (!this.dataSource.isInitialized) {
      this.healthy = false;
      return;
    }
    try {
      await this.dataSource.query('SELECT 1');
      this.healthy = true;
    } catch {
      this.healthy = false;
    }
  }
}
