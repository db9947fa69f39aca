/**
 * A test's own view of the broker: publish exactly as another system would (plain JSON, confirms,
 * mandatory) and collect what the product publishes by binding a private queue.
 */
import { connect, type ChannelModel, type ConfirmChannel, type Message } from 'amqplib';
import { waitFor } from './wait';

export interface Collected {
  routingKey: string;
  headers: Record<string, unknown>;
  body: unknown;
  raw: Message;
}

export class TestBroker {
  private constructor(
    readonly connection: ChannelModel,
    readonly channel: ConfirmChannel,
  ) {}

  static async open(url = process.env.AMQP_URL): Promise<TestBroker> {
    if (!url) throw new Error('AMQP_URL is not set: run tests through jest so the global setup provides it');
    const connection = await connect(url);
    const channel = await connection.createConfirmChannel();
    return new TestBroker(connection, channel);
  }

  async publish(
    exchange: string,
    routingKey: string,
    body: unknown,
    options: { headers?: Record<string, unknown>; messageId?: string } = {},
  ): Promise<void> {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    await new Promise<void>((resolve, reject) => {
      this.channel.publish(
        exchange,
        routingKey,
        content,
        { persistent: true, contentType: 'application/json', headers: options.headers, messageId: options.messageId },
        (error: unknown) => (error ? reject(new Error('publish nacked')) : resolve()),
      );
    });
  }

  /** Binds a private queue and collects every message from now on. */
  async collect(exchange: string, pattern: string): Promise<Collector> {
    const channel = await this.connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, exchange, pattern);
    const collector = new Collector();
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        collector.items.push({
          routingKey: message.fields.routingKey,
          headers: message.properties.headers ?? {},
          body: JSON.parse(message.content.toString('utf8')),
          raw: message,
        });
      },
      { noAck: true },
    );
    return collector;
  }

  /** Reads (and acks) everything currently in a queue, e.g. a dead-letter queue. */
  async drain(queue: string): Promise<Collected[]> {
    const channel = await this.connection.createChannel();
    const found: Collected[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (!message) break;
      found.push({
        routingKey: message.fields.routingKey,
        headers: message.properties.headers ?? {},
        body: safeJson(message.content),
        raw: message,
      });
    }
    await channel.close();
    return found;
  }

  /** Reads from a queue until `count` messages have arrived (accumulating across polls). */
  async drainUntil(queue: string, count: number, timeoutMs = 15_000): Promise<Collected[]> {
    const found: Collected[] = [];
    return waitFor(
      async () => {
        found.push(...(await this.drain(queue)));
        return found.length >= count ? found : undefined;
      },
      `${count} message(s) in ${queue}`,
      timeoutMs,
      100,
    );
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

function safeJson(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return content.toString('utf8');
  }
}

export class Collector {
  readonly items: Collected[] = [];

  async waitForCount(count: number, what: string, timeoutMs?: number): Promise<Collected[]> {
    return waitFor(() => (this.items.length >= count ? this.items.slice() : undefined), `${count} × ${what}`, timeoutMs);
  }

  matching(predicate: (item: Collected) => boolean): Collected[] {
    return this.items.filter(predicate);
  }
}
