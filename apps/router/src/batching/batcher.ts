/**
 * Gathers requests into batches without timers: while fewer than `inFlight` batches run, a request
 * starts at once (alone, on a quiet system); when they are all busy, requests queue here and the
 * next free slot takes up to `size` of them together. So batches grow with the load, and latency
 * does not. The broker's prefetch bounds what can wait here; each caller's promise settles with its
 * own outcome.
 */
import type { QueryRunner } from 'typeorm';
import { TemporaryMessageError } from '@app/messaging';

export type Settled<T> = { ok: true; outcome: T } | { ok: false; error: unknown };

/** SQLSTATE of a lock wait cut short by `lock_timeout`. */
export const LOCK_NOT_AVAILABLE = '55P03';

/**
 * For a batch's transaction: it holds the rows of many requests at once, and routing waits for agent
 * rows while holding others, so a batch that waited would tie transactions into lock cycles that
 * Postgres breaks only after its deadlock timeout (a second), over and over under load. A batch
 * therefore never waits long for a row lock: past this it fails (LOCK_NOT_AVAILABLE), rolls back,
 * and its requests run one by one, each holding only its own rows.
 */
export async function limitLockWaits(runner: QueryRunner): Promise<void> {
  await runner.query(`SET LOCAL lock_timeout = '100ms'`);
}

export function settle<T>(work: Promise<T>): Promise<Settled<T>> {
  return work.then(
    (outcome): Settled<T> => ({ ok: true, outcome }),
    (error: unknown): Settled<T> => ({ ok: false, error }),
  );
}

export interface BatchLimits {
  /** Requests handled together at most (1 turns batching off). */
  size: number;
  /** Batches running at once. */
  inFlight: number;
}

interface Waiting<R, T> {
  request: R;
  resolve: (settled: Settled<T>) => void;
}

/** Why a request was handed back unhandled: the process is shutting down (see `Batcher.close`). */
export class BatcherClosed extends TemporaryMessageError {
  constructor() {
    super('shutting_down', 'shutting down: handed back unhandled, for redelivery');
    this.name = 'BatcherClosed';
  }
}

export class Batcher<R, T> {
  private readonly waiting: Array<Waiting<R, T>> = [];
  private running = 0;
  private closed = false;

  /**
   * `run` settles each request of a batch, in the batch's order; `closing` tells it the batcher was
   * closed meanwhile, so a batch that failed hands its requests back instead of retrying them one by one.
   */
  constructor(
    private readonly run: (batch: R[], closing: () => boolean) => Promise<Array<Settled<T>>>,
    private readonly limits: BatchLimits,
  ) {}

  async submit(request: R): Promise<T> {
    if (this.closed) throw new BatcherClosed();
    const settled = await new Promise<Settled<T>>((resolve) => {
      this.waiting.push({ request, resolve });
      this.pump();
    });
    if (!settled.ok) throw settled.error;
    return settled.outcome;
  }

  /**
   * On shutdown: batches already running finish; requests still waiting fail with `BatcherClosed`
   * (their messages go back to the broker for another replica, nothing of them was written), and so
   * does anything submitted later. Shutdown then waits for at most the running batches.
   */
  close(): void {
    this.closed = true;
    for (const waiting of this.waiting.splice(0)) waiting.resolve({ ok: false, error: new BatcherClosed() });
  }

  private pump(): void {
    while (this.running < this.limits.inFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.limits.size);
      this.running += 1;
      void this.runBatch(batch).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async runBatch(batch: Array<Waiting<R, T>>): Promise<void> {
    try {
      const results = await this.run(
        batch.map((waiting) => waiting.request),
        () => this.closed,
      );
      batch.forEach((waiting, index) => waiting.resolve(results[index] ?? { ok: false, error: new Error('the batch settled no outcome for this request') }));
    } catch (error) {
      for (const waiting of batch) waiting.resolve({ ok: false, error });
    }
  }
}
