import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { deliveryStatusSchema, routingKeys } from '@app/contracts';
import { AmqpContext, PermanentMessageError } from '@app/messaging';
import { DeliveryStatusUseCase } from './delivery-status.use-case';

/** Delivery statuses from the adapters (`delivery.<channel>`); a malformed one is dead-lettered with the reason. */
@Controller()
export class DeliveryStatusController {
  private readonly logger = new Logger(DeliveryStatusController.name);

  constructor(private readonly statuses: DeliveryStatusUseCase) {}

  @EventPattern<string>(routingKeys.deliveryAll)
  async onStatus(@Payload() payload: unknown, @Ctx() context: AmqpContext): Promise<void> {
    const update = deliveryStatusSchema.parse(payload);
    const routingKey = context.getRoutingKey();
    if (routingKey !== routingKeys.delivery(update.channel)) {
      throw new PermanentMessageError('channel_mismatch', `routing key ${routingKey} does not match the status's channel ${update.channel}`);
    }
    const outcome = await this.statuses.apply(update, context.getCorrelationId());
    const log = outcome === 'unknown' ? 'warn' : 'log';
    this.logger[log]({ messageId: update.messageId, channel: update.channel, status: update.status, outcome }, 'delivery status processed');
  }
}
