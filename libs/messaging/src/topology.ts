/**
 * The whole broker topology, declared in one place and re-declared after every reconnect.
 * Every work queue is a quorum queue with a delivery limit, a dead-letter exchange with
 * at-least-once dead-lettering, and a length bound that rejects publishes (so a full queue pushes
 * back on publishers instead of dropping messages). Dead letters are routed by source queue name
 * into `<queue>.dlq`.
 */
import type { Channel } from 'amqplib';
import { EXCHANGES, QUEUES, routingKeys } from '@app/contracts';

export interface Binding {
  exchange: string;
  pattern: string;
}

export interface WorkQueueSpec {
  name: string;
  bindings: Binding[];
  deliveryLimit: number;
  maxLength: number;
}

export interface TopologySpec {
  exchanges: string[];
  workQueues: WorkQueueSpec[];
}

export const DEAD_LETTER_QUEUE_MAX_LENGTH = 1_000_000;

export const deadLetterQueueName = (queue: string) => `${queue}.dlq`;

export const workQueueArguments = (queue: WorkQueueSpec): Record<string, unknown> => ({
  'x-queue-type': 'quorum',
  'x-delivery-limit': queue.deliveryLimit,
  'x-dead-letter-exchange': EXCHANGES.deadLetter,
  'x-dead-letter-routing-key': queue.name,
  'x-dead-letter-strategy': 'at-least-once',
  'x-max-length': queue.maxLength,
  'x-overflow': 'reject-publish',
});

export const PRODUCT_TOPOLOGY: TopologySpec = {
  exchanges: [
    EXCHANGES.inbound,
    EXCHANGES.outbound,
    EXCHANGES.agent,
    EXCHANGES.events,
    EXCHANGES.commands,
    EXCHANGES.bot,
    EXCHANGES.deadLetter,
  ],
  workQueues: [
    {
      name: QUEUES.routerInbound,
      bindings: [{ exchange: EXCHANGES.inbound, pattern: routingKeys.inboundAll }],
      deliveryLimit: 5,
      maxLength: 1_000_000,
    },
    {
      name: QUEUES.routerDelivery,
      bindings: [{ exchange: EXCHANGES.inbound, pattern: routingKeys.deliveryAll }],
      deliveryLimit: 5,
      maxLength: 1_000_000,
    },
    {
      name: QUEUES.routerCommands,
      bindings: [{ exchange: EXCHANGES.commands, pattern: routingKeys.commandAll }],
      deliveryLimit: 5,
      maxLength: 100_000,
    },
  ],
};

export async function declareTopology(channel: Channel, spec: TopologySpec): Promise<void> {
  for (const exchange of spec.exchanges) {
    await channel.assertExchange(exchange, 'topic', { durable: true });
  }
  for (const queue of spec.workQueues) {
    const dlq = deadLetterQueueName(queue.name);
    await channel.assertQueue(dlq, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-max-length': DEAD_LETTER_QUEUE_MAX_LENGTH,
        'x-overflow': 'reject-publish',
      },
    });
    await channel.bindQueue(dlq, EXCHANGES.deadLetter, queue.name);
    await channel.assertQueue(queue.name, { durable: true, arguments: workQueueArguments(queue) });
    for (const binding of queue.bindings) {
      await channel.bindQueue(queue.name, binding.exchange, binding.pattern);
    }
  }
}
