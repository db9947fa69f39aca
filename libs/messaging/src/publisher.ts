/**
 * Publishing that tells the caller the truth: a publish resolves only when the broker confirmed it,
 * and rejects when the broker nacked it (e.g. a full queue), when nothing was bound to take it
 * (`mandatory` + basic.return), when the channel died before the confirm, or when no confirm came in
 * time. Callers answer their provider (or ack their own input) only after it resolves.
 */
import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import type { LoggerService } from '@nestjs/common';
import { HEADERS } from '@app/contracts';
import { TemporaryMessageError } from './message-errors';
import type { AmqpConnection } from './amqp-connection';
import { messagingMetrics } from './messaging.metrics';

export interface PublishOptions {
  messageId?: string;
  correlationId?: string;
  headers?: Record<string, unknown>;
  /** Defaults to true: a message nobody would receive is an error, not a silent drop. */
  mandatory?: boolean;
  contentType?: string;
}

export class UnroutableMessageError extends TemporaryMessageError {
  constructor(exchange: string, routingKey: string) {
    super('unroutable', `no queue is bound for ${exchange} / ${routingKey}`);
  }
}

export interface PublisherOptions {
  confirmTimeoutMs: number;
}

export class Publisher {
  private channel: ConfirmChannel | undefined;
  private readonly returned = new Map<string, number>();
  private readonly pending = new Set<(error: Error) => void>();

  constructor(
    private readonly connection: AmqpConnection,
    private readonly options: PublisherOptions,
    private readonly logger: LoggerService,
  ) {}

  async init(): Promise<void> {
    await this.connection.register((model) => this.openChannel(model));
  }

  async publish(exchange: string, routingKey: string, payload: unknown, options: PublishOptions = {}): Promise<void> {
    const channel = this.channel ?? (await this.waitForChannel());
    const messageId = options.messageId ?? randomUUID();
    const content = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
    const headers = { ...options.headers };
    if (options.correlationId) headers[HEADERS.correlationId] = options.correlationId;
    const publishOptions: Options.Publish = {
      persistent: true,
      mandatory: options.mandatory ?? true,
      contentType: options.contentType ?? 'application/json',
      messageId,
      correlationId: options.correlationId,
      timestamp: Math.floor(Date.now() / 1000),
      headers,
    };
    const timer = messagingMetrics.publishDuration.startTimer({ exchange });
    try {
      await this.confirm(channel, exchange, routingKey, content, publishOptions, messageId);
      messagingMetrics.published.inc({ exchange, outcome: 'confirmed' });
    } catch (error) {
      messagingMetrics.published.inc({ exchange, outcome: 'failed' });
      throw error;
    } finally {
      timer();
    }
  }

  private confirm(
    channel: ConfirmChannel,
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
    messageId: string,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending.delete(settle);
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(
        () => settle(new TemporaryMessageError('confirm_timeout', `no publisher confirm within ${this.options.confirmTimeoutMs} ms`)),
        this.options.confirmTimeoutMs,
      );
      this.pending.add(settle);
      try {
        channel.publish(exchange, routingKey, content, options, (error: unknown) => {
          // The broker sends basic.return before the basic.ack of the same message.
          const returns = this.returned.get(messageId) ?? 0;
          if (returns > 0) {
            if (returns === 1) this.returned.delete(messageId);
            else this.returned.set(messageId, returns - 1);
            settle(new UnroutableMessageError(exchange, routingKey));
          } else if (error) {
            settle(new TemporaryMessageError('publish_nacked', `broker refused the message on ${exchange}`));
          } else {
            settle();
          }
        });
      } catch (error) {
        settle(new TemporaryMessageError('channel_closed', (error as Error).message));
      }
    });
  }

  private async openChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('return', (message: Message) => {
      const id = String(message.properties.messageId);
      this.returned.set(id, (this.returned.get(id) ?? 0) + 1);
    });
    channel.on('error', (error: Error) => this.logger.warn?.({ err: error.message }, 'publisher channel error'));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
      for (const settle of [...this.pending]) {
        settle(new TemporaryMessageError('channel_closed', 'publisher channel closed before the confirm'));
      }
      const current = this.connection.current();
      if (current === model) {
        // The connection is fine but the channel died (e.g. a publish to a missing exchange): reopen it.
        void this.openChannel(model).catch((error: Error) =>
          this.logger.warn?.({ err: error.message }, 'reopening publisher channel failed'),
        );
      }
    });
    this.channel = channel;
  }

  private async waitForChannel(): Promise<ConfirmChannel> {
    const deadline = Date.now() + this.options.confirmTimeoutMs;
    while (Date.now() < deadline) {
      if (this.channel) return this.channel;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new TemporaryMessageError('broker_unavailable', 'RabbitMQ is not connected');
  }
}
