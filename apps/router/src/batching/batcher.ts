/**
 * Gathers requests into batches without timers: while fewer than `inFlight` batches run, a request
 * starts at once (alone, on a quiet system); when they are all busy, requests queue here and the
 * next free slot takes up to `size` of them together. So batches grow with the load, and latency
 * does not. The broker's prefetch bounds what can wait here; each caller's promise settles with its
 * own outcome.
 */
export type Settled<T> = { ok: true; outcome: T } | { ok: false; error: unknown };

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

export class Batcher<R, T> {
  private readonly waiting: Array<Waiting<R, T>> = [];
  private running = 0;

  /** `run` settles each request of a batch, in the batch's order. */
  constructor(
    private readonly run: (batch: R[]) => Promise<Array<Settled<T>>>,
    private readonly limits: BatchLimits,
  ) {}

  async submit(request: R): Promise<T> {
    const settled = await new Promise<Settled<T>>((resolve) => {
      this.waiting.push({ request, resolve });
      this.pump();
    });
    if (!settled.ok) throw settled.error;
    return settled.outcome;
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
      const results = await this.run(batch.map((waiting) => waiting.request));
      batch.forEach((waiting, index) => waiting.resolve(results[index] ?? { ok: false, error: new Error('the batch settled no outcome for this request') }));
    } catch (error) {
      for (const waiting of batch) waiting.resolve({ ok: false, error });
    }
  }
}
