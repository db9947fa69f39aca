/**
 * Gathers inbound envelopes into batches for `IngestMessageUseCase.executeBatch` (see `Batcher`):
 * up to INGEST_BATCH_SIZE together, INGEST_BATCHES_IN_FLIGHT transactions at once, and a batch
 * forms only while every slot is busy. On shutdown, envelopes still waiting go back to the broker.
 */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { InboundEnvelope } from '@app/contracts';
import { Batcher } from '../batching/batcher';
import { ROUTER_CONFIG, type RouterConfig } from '../router.config';
import { IngestMessageUseCase, type IngestOutcome, type IngestRequest } from './ingest-message.use-case';

@Injectable()
export class IngestBatcher implements OnModuleDestroy {
  private readonly batcher: Batcher<IngestRequest, IngestOutcome>;

  constructor(ingest: IngestMessageUseCase, @Inject(ROUTER_CONFIG) config: RouterConfig) {
    this.batcher = new Batcher((batch, closing) => ingest.executeBatch(batch, closing), {
      size: config.INGEST_BATCH_SIZE,
      inFlight: config.INGEST_BATCHES_IN_FLIGHT,
    });
  }

  submit(envelope: InboundEnvelope, correlationId: string | undefined): Promise<IngestOutcome> {
    return this.batcher.submit({ envelope, correlationId });
  }

  /** Before the consumers drain: envelopes not yet in a batch go back to the broker (`Batcher.close`). */
  onModuleDestroy(): void {
    this.batcher.close();
  }
}
