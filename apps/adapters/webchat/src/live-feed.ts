/**
 * Every replica's own copy of what web chat visitors must see live. The kit's durable
 * `adapter.webchat.outbound` queue hands each reply to ONE replica, but the visitor's socket may be on
 * any of them; so each replica also binds an exclusive, auto-delete queue to `outbound.webchat` and to
 * the conversation lifecycle events, and emits to the sockets it holds. Nothing here is durable: a
 * visitor who misses something live gets it on `resume`, from Postgres. The same connection
 * publishes customer typing (transient, like the agent's). A lost connection is reopened.
 */
import { Logger } from '@nestjs/common';
import { connect, type Channel as AmqpChannel, type ChannelModel } from 'amqplib';
import { EXCHANGES, routingKeys, type CustomerTyping } from '@app/contracts';

/** The lifecycle events a visitor is told about: an agent joined, the chat became a message thread, it ended. */
export const LIFECYCLE_KEYS = (['assigned', 'downgraded', 'closed'] as const).map((event) => routingKeys.conversation(event));

export class LiveFeed {
  private readonly logger = new Logger(LiveFeed.name);
  private connection: ChannelModel | undefined;
  private channel: AmqpChannel | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly onMessage: (routingKey: string, body: unknown) => Promise<void>,
  ) {}

  async start(): Promise<void> {
    const connection = await connect(this.url, { clientProperties: { connection_name: 'webchat-adapter-live' } });
    connection.on('error', (error: Error) => this.logger.warn({ err: error.message }, 'live feed connection error'));
    connection.on('close', () => this.reopenLater());
    const channel = await connection.createChannel();
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
    this.connection = connection;
    this.channel = channel;
  }

  publishTyping(signal: CustomerTyping): void {
    this.channel?.publish(EXCHANGES.inbound, routingKeys.typing('webchat'), Buffer.from(JSON.stringify(signal)), { contentType: 'application/json' });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const connection = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    await connection?.close().catch(() => undefined);
  }

  private reopenLater(): void {
    this.connection = undefined;
    this.channel = undefined;
    // A failed start can report twice (its error and its connection's close): one retry is enough.
    if (this.stopped || this.retry) return;
    this.logger.warn('live feed connection lost; reopening');
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start().catch((error: Error) => {
        this.logger.warn({ err: error.message }, 'live feed reopen failed');
        this.reopenLater();
      });
    }, 1_000);
  }
}
