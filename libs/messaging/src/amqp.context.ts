import { BaseRpcContext } from '@nestjs/microservices';
import type { Channel, ConsumeMessage } from 'amqplib';
import { HEADERS } from '@app/contracts';

type AmqpContextArgs = [message: ConsumeMessage, channel: Channel, queue: string];

/** What a handler may know about the delivery it is processing (it never acks: the transport does). */
export class AmqpContext extends BaseRpcContext<AmqpContextArgs> {
  getMessage(): ConsumeMessage {
    return this.args[0];
  }

  getQueue(): string {
    return this.args[2];
  }

  getRoutingKey(): string {
    return this.args[0].fields.routingKey;
  }

  getCorrelationId(): string | undefined {
    const message = this.args[0];
    const header = message.properties.headers?.[HEADERS.correlationId];
    if (typeof header === 'string' && header.length > 0) return header;
    return typeof message.properties.correlationId === 'string' ? message.properties.correlationId : undefined;
  }

  /** 0 on first delivery; RabbitMQ counts redeliveries on quorum queues. */
  getDeliveryCount(): number {
    const count = this.args[0].properties.headers?.[HEADERS.deliveryCount];
    return typeof count === 'number' ? count : 0;
  }
}
