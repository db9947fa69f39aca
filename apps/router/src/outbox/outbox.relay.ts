/**
 * Publishes committed outbox rows. A commit kicks it at once; a slow poll picks up rows left by a
 * replica that crashed between commit and publish. Rows are claimed with SKIP LOCKED (each row is
 * independent), deleted in the same transaction that publishes them, and restored by rollback if
 * any publish is not confirmed — so delivery is at least once, and consumers dedupe on eventId.
 */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HEADERS } from '@app/contracts';
import { Publisher } from '@app/messaging';
import { inTransaction, preparedRows, statementName } from '@app/persistence';
import { ROUTER_CONFIG, type RouterConfig } from '../router.config';
import { routerMetrics } from '../router.metrics';

/** Runs on every relay pass (under load, every few commits): parsed and planned once per connection. */
const CLAIM_BATCH_SQL = `DELETE FROM outbox WHERE id IN (
   SELECT id FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
 ) RETURNING id, message_id, exchange, routing_key, payload, headers`;
const CLAIM_BATCH = { name: statementName(CLAIM_BATCH_SQL), text: CLAIM_BATCH_SQL };

interface OutboxRow {
  id: string;
  message_id: string;
  exchange: string;
  routing_key: string;
  payload: unknown;
  headers: Record<string, unknown>;
}

@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: Publisher,
    @Inject(ROUTER_CONFIG) private readonly config: RouterConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.kick(), this.config.OUTBOX_POLL_MS);
    this.kick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.kick();
    await this.running;
    this.stopped = true;
  }

  /** Asks for a drain; concurrent kicks coalesce into one more pass. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      let published: number;
      do {
        published = await this.publishBatch();
      } while (published === this.config.OUTBOX_BATCH_SIZE);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'outbox publish failed; will retry');
    }
  }

  private publishBatch(): Promise<number> {
    return inTransaction(this.dataSource, async (runner) => {
      const rows = await preparedRows<OutboxRow>(runner, CLAIM_BATCH, [this.config.OUTBOX_BATCH_SIZE]);
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      await Promise.all(
        rows.map((row) => {
          const correlationId = row.headers[HEADERS.correlationId];
          return this.publisher.publish(row.exchange, row.routing_key, row.payload, {
            messageId: row.message_id,
            correlationId: typeof correlationId === 'string' ? correlationId : undefined,
            headers: row.headers,
            // Events go to whoever listens; an agent with no desktop bound is not an error.
            mandatory: false,
          });
        }),
      );
      for (const row of rows) routerMetrics.outboxPublished.inc({ exchange: row.exchange });
      return rows.length;
    });
  }
}
