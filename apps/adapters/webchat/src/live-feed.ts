/**
 * Every replica's own copy of what web chat visitors must see live. The kit's durable
 * `adapter.webchat.outbound` queue hands each reply to ONE replica, but the visitor's socket may be on
 * any of them; so each replica also binds an exclusive, auto-delete queue to `outbound.webchat` and to
 * the conversation lifecycle events, and emits to the sockets it holds. Nothing here is durable: a
 * visitor who misses something live gets it on `resume`, from Postgres. It rides the process's own
 * broker connection, so the queue is bound again after every reconnect; customer typing (transient,
 * like the agent's) goes out through the process's publisher.
 */
import { Logger } from '@nestjs/common';
import type { Channel as AmqpChannel, ChannelModel } from 'amqplib';
import { EXCHANGES, routingKeys, type CustomerTyping } from '@app/contracts';
import type { AmqpConnection, Publisher } from '@app/messaging';

/** The lifecycle events a visitor is told about: an agent joined, the chat became a message thread, it ended. */
export const LIFECYCLE_KEYS = (['assigned', 'downgraded', 'closed'] as const).map((event) => routingKeys.conversation(event));

export class LiveFeed {
  private readonly logger = new Logger(LiveFeed.name);
  private channel: AmqpChannel | undefined;
  private stopped = false;

  constructor(
    private readonly broker: { connection: AmqpConnection; publisher: Publisher },
    private readonly onMessage: (routingKey: string, body: unknown) => Promise<void>,
  ) {}

  async start(): Promise<void> {
    await this.broker.connection.register((model) => this.subscribe(model));
  }

  publishTyping(signal: CustomerTyping): void {
    this.broker.publisher
      .publish(EXCHANGES.inbound, routingKeys.typing('webchat'), signal, { mandatory: false })
      .catch((error: Error) => this.logger.warn({ err: error.message }, 'visitor typing not published'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  private async subscribe(model: ChannelModel): Promise<void> {
    if (this.stopped) return;
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.logger.warn({ err: error.message }, 'live feed channel error'));
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, EXCHANGES.outbound, routingKeys.outbound('webchat'));
    for (const key of LIFECYCLE_KEYS) await channel.bindQueue(queue, EXCHANGES.events, key);
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        let body: unknown;
        try {
          body = JSON.parse(message.content.toString('utf8'));
        } catch {
          return;
        }
        // Live delivery is best effort by design (resume fills gaps), so a failure is logged and dropped.
        this.onMessage(message.fields.routingKey, body).catch((error: Error) =>
          this.logger.warn({ routingKey: message.fields.routingKey, err: error.message }, 'live delivery to visitors failed'),
        );
      },
      { noAck: true },
    );
    this.channel = channel;
  }
}
