/**
 * Gathers inbound envelopes into batches for `IngestMessageUseCase.executeBatch`. Nothing waits for a
 * timer: while fewer than INGEST_BATCHES_IN_FLIGHT batches run, an envelope starts at once (alone, on
 * a quiet system); when they are all busy, envelopes queue here and the next free slot takes up to
 * INGEST_BATCH_SIZE of them together. So batches grow with the load, and latency does not.
 * The broker's prefetch bounds what can wait here; each caller's promise settles with its own outcome.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { InboundEnvelope } from '@app/contracts';
import { ROUTER_CONFIG, type RouterConfig } from '../router.config';
import { IngestMessageUseCase, type IngestOutcome, type IngestRequest, type IngestSettled } from './ingest-message.use-case';

interface Waiting extends IngestRequest {
  settle: (settled: IngestSettled) => void;
}

@Injectable()
export class IngestBatcher {
  private readonly waiting: Waiting[] = [];
  private running = 0;

  constructor(
    private readonly ingest: IngestMessageUseCase,
    @Inject(ROUTER_CONFIG) private readonly config: RouterConfig,
  ) {}

  async submit(envelope: InboundEnvelope, correlationId: string | undefined): Promise<IngestOutcome> {
    const settled = await new Promise<IngestSettled>((settle) => {
      this.waiting.push({ envelope, correlationId, settle });
      this.pump();
    });
    if (!settled.ok) throw settled.error;
    return settled.outcome;
  }

  private pump(): void {
    while (this.running < this.config.INGEST_BATCHES_IN_FLIGHT && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.config.INGEST_BATCH_SIZE);
      this.running += 1;
      void this.run(batch).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async run(batch: Waiting[]): Promise<void> {
    try {
      const results = await this.ingest.executeBatch(batch);
      batch.forEach((waiting, index) => waiting.settle(results[index]));
    } catch (error) {
      for (const waiting of batch) waiting.settle({ ok: false, error });
    }
  }
}
