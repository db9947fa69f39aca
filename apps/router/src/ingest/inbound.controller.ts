import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { inboundEnvelopeSchema, routingKeys } from '@app/contracts';
import { AmqpContext, PermanentMessageError } from '@app/messaging';
import { IngestBatcher } from './ingest-batcher';

/** Validates every inbound envelope at the edge; a bad one is dead-lettered with the reason. */
@Controller()
export class InboundController {
  private readonly logger = new Logger(InboundController.name);

  constructor(private readonly ingest: IngestBatcher) {}

  @EventPattern<string>(routingKeys.inboundAll)
  async onInbound(@Payload() payload: unknown, @Ctx() context: AmqpContext): Promise<void> {
    const envelope = inboundEnvelopeSchema.parse(payload);
    const routingKey = context.getRoutingKey();
    if (routingKey !== routingKeys.inbound(envelope.channel)) {
      throw new PermanentMessageError(
        'channel_mismatch',
        `routing key ${routingKey} does not match the envelope's channel ${envelope.channel}`,
      );
    }
    const correlationId = context.getCorrelationId() ?? envelope.correlationId ?? envelope.messageId;
    const outcome = await this.ingest.submit(envelope, correlationId);
    this.logger.log(
      {
        messageId: envelope.messageId,
        channel: envelope.channel,
        correlationId,
        outcome: outcome.kind,
        ...(outcome.kind === 'stored'
          ? { conversationId: outcome.conversationId, status: outcome.status, agentId: outcome.agentId }
          : {}),
      },
      'inbound message processed',
    );
  }
}
