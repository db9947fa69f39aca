/**
 * A NestJS transport for our own topology. Handlers use `@EventPattern('inbound.*')` with AMQP topic
 * wildcards and receive the plain JSON body — other systems never need Nest's `{pattern,data}`
 * wrapper. The transport, not the handler, settles every delivery:
 *   - handler resolved            → ack (so the durable work it awaited is committed first);
 *   - permanent failure           → republish to the dead-letter exchange with the reason, then ack;
 *   - temporary failure           → short backoff, then nack+requeue; the quorum queue's delivery
 *                                   limit dead-letters it after the last attempt.
 * When a temporary failure comes with a dependency down (`dependenciesUp` says so — e.g. Postgres
 * unreachable), the message is returned without counting as an attempt against it and consuming
 * pauses until the dependency is back: an outage must not burn through delivery limits and
 * dead-letter good messages.
 * Closing cancels the consumers and waits for in-flight handlers to settle before returning.
 */
import { randomUUID } from 'node:crypto';
import type { LoggerService } from '@nestjs/common';
import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { isObservable, lastValueFrom } from 'rxjs';
import { EXCHANGES, HEADERS } from '@app/contracts';
import type { AmqpConnection } from './amqp-connection';
import { AmqpContext } from './amqp.context';
import { classifyFailure, PermanentMessageError, type FailureClass } from './message-errors';
import { messagingMetrics } from './messaging.metrics';
import type { Publisher } from './publisher';
import { matchesTopic } from './topic-pattern';

export interface AmqpTransportOptions {
  queues: string[];
  prefetch: number;
  /** The queues' `x-delivery-limit`: on the last attempt the transport dead-letters with the reason itself. */
  deliveryLimit: number;
  /** Checks the handlers' dependencies now (not from a cache); false pauses consuming until true. */
  dependenciesUp?: () => Promise<boolean>;
  /** How often a paused transport checks whether its dependencies are back. */
  resumeCheckMs?: number;
  /** First retry delay; doubles per delivery up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export class AmqpTransport extends Server implements CustomTransportStrategy {
  private channel: Channel | undefined;
  private consumerTags: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;
  private reopening = false;
  private paused = false;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly publisher: Publisher,
    private readonly options: AmqpTransportOptions,
    private readonly log: LoggerService,
  ) {
    super();
  }

  listen(callback: (...optionalParams: unknown[]) => void): void {
    this.connection
      .register((model) => this.startConsuming(model))
      .then(() => callback())
      .catch((error: Error) => callback(error));
  }

  async close(): Promise<void> {
    this.closing = true;
    const channel = this.channel;
    if (channel) {
      for (const tag of this.consumerTags) {
        await channel.cancel(tag).catch(() => undefined);
      }
    }
    await Promise.allSettled([...this.inFlight]);
    this.consumerTags = [];
    if (channel) await channel.close().catch(() => undefined);
    this.channel = undefined;
  }

  /** In-flight deliveries, for graceful shutdown and tests. */
  inFlightCount(): number {
    return this.inFlight.size;
  }

  on(): void {
    throw new Error('AmqpTransport does not emit events');
  }

  unwrap<T>(): T {
    return this.channel as T;
  }

  private async startConsuming(model: ChannelModel): Promise<void> {
    if (this.closing) return;
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.log.warn?.({ err: error.message }, 'consumer channel error'));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      // The connection is up but this channel died (a channel-level error): consume on a new one.
      this.reopen(model);
    });
    await channel.prefetch(this.options.prefetch);
    this.channel = channel;
    const tags: string[] = [];
    for (const queue of this.options.queues) {
      const { consumerTag } = await channel.consume(
        queue,
        (message) => {
          if (message) this.track(this.handle(channel, queue, message));
          else {
            // The broker cancelled us (queue deleted or failed over): start over on a fresh channel.
            this.log.warn?.({ queue }, 'consumer cancelled by the broker; re-subscribing');
            void channel.close().catch(() => undefined);
          }
        },
        { noAck: false },
      );
      tags.push(consumerTag);
    }
    this.consumerTags = tags;
  }

  /** Stops taking deliveries on this channel until the dependencies answer again, then resumes. */
  private pauseUntilDependenciesUp(channel: Channel): void {
    if (this.paused || this.channel !== channel) return;
    this.paused = true;
    const tags = this.consumerTags;
    this.consumerTags = [];
    this.log.warn?.({ queues: this.options.queues }, 'dependencies down: consuming paused');
    void Promise.all(tags.map((tag) => channel.cancel(tag).catch(() => undefined)));
    const check = () =>
      setTimeout(async () => {
        if (this.closing) return;
        const up = await this.options.dependenciesUp!().catch(() => false);
        if (!up) return check();
        this.paused = false;
        const model = this.connection.current();
        if (this.channel === channel && model) {
          // Consume afresh on a new channel; the old one closes once its in-flight work settled.
          this.channel = undefined;
          await Promise.allSettled([...this.inFlight]);
          await channel.close().catch(() => undefined);
          this.reopen(model);
        }
        this.log.log?.({ queues: this.options.queues }, 'dependencies back: consuming resumed');
      }, this.options.resumeCheckMs ?? 1_000);
    check();
  }

  /** One re-subscription loop at a time, backing off until the queue is consumable again. */
  private reopen(model: ChannelModel): void {
    if (this.reopening) return;
    this.reopening = true;
    const attempt = (delayMs: number) =>
      setTimeout(() => {
        if (this.closing || this.connection.current() !== model) {
          this.reopening = false;
          return;
        }
        this.startConsuming(model).then(
          () => {
            this.reopening = false;
          },
          (error: Error) => {
            this.log.warn?.({ err: error.message }, 'reopening consumer channel failed; retrying');
            attempt(Math.min(5_000, Math.max(200, delayMs * 2)));
          },
        );
      }, delayMs);
    attempt(0);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private findHandler(routingKey: string) {
    for (const [pattern, handler] of this.messageHandlers) {
      if (matchesTopic(pattern, routingKey)) return handler;
    }
    return undefined;
  }

  private async handle(channel: Channel, queue: string, message: ConsumeMessage): Promise<void> {
    const stopTimer = messagingMetrics.handleDuration.startTimer({ queue });
    const context = new AmqpContext([message, channel, queue]);
    try {
      const handler = this.findHandler(message.fields.routingKey);
      if (!handler) {
        throw new PermanentMessageError('no_handler', `no handler for routing key ${message.fields.routingKey}`);
      }
      let payload: unknown;
      try {
        payload = JSON.parse(message.content.toString('utf8'));
      } catch {
        throw new PermanentMessageError('malformed_json', 'the message body is not valid JSON');
      }
      const result = await handler(payload, context);
      if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
      this.settle(channel, () => channel.ack(message));
      messagingMetrics.consumed.inc({ queue, outcome: 'acked' });
    } catch (error) {
      const failure = classifyFailure(error);
      if (failure.kind === 'temporary' && this.options.dependenciesUp && !(await this.options.dependenciesUp())) {
        this.settle(channel, () => channel.nack(message, false, true));
        messagingMetrics.consumed.inc({ queue, outcome: 'deferred' });
        this.pauseUntilDependenciesUp(channel);
        return;
      }
      if (failure.kind === 'temporary' && context.getDeliveryCount() + 1 >= this.options.deliveryLimit) {
        failure.kind = 'permanent';
        failure.reason = `gave up after ${this.options.deliveryLimit} attempts: ${failure.reason}`;
      }
      await this.fail(channel, queue, message, context, failure);
    } finally {
      stopTimer();
    }
  }

  private async fail(
    channel: Channel,
    queue: string,
    message: ConsumeMessage,
    context: AmqpContext,
    failure: FailureClass,
  ): Promise<void> {
    const fields = {
      queue,
      routingKey: message.fields.routingKey,
      messageId: message.properties.messageId as unknown,
      correlationId: context.getCorrelationId(),
      code: failure.code,
      deliveryCount: context.getDeliveryCount(),
    };
    if (failure.kind === 'permanent') {
      try {
        await this.publisher.publish(EXCHANGES.deadLetter, queue, message.content, {
          messageId: typeof message.properties.messageId === 'string' ? message.properties.messageId : randomUUID(),
          correlationId: context.getCorrelationId(),
          contentType: message.properties.contentType as string | undefined,
          headers: {
            ...message.properties.headers,
            [HEADERS.deadLetterReason]: failure.reason,
            [HEADERS.deadLetterCode]: failure.code,
            [HEADERS.originalExchange]: message.fields.exchange,
            [HEADERS.originalRoutingKey]: message.fields.routingKey,
          },
        });
        this.settle(channel, () => channel.ack(message));
        messagingMetrics.consumed.inc({ queue, outcome: 'dead_lettered' });
        this.log.warn?.({ ...fields, reason: failure.reason }, 'message dead-lettered');
        return;
      } catch (error) {
        this.log.error?.({ ...fields, err: (error as Error).message }, 'dead-lettering failed; message will be retried');
      }
    } else {
      this.log.warn?.({ ...fields, reason: failure.reason }, 'message failed, will be retried');
    }
    const base = this.options.retryDelayMs ?? 100;
    const delay = Math.min(this.options.maxRetryDelayMs ?? 5_000, base * 2 ** context.getDeliveryCount());
    if (!this.closing) await new Promise((resolve) => setTimeout(resolve, delay));
    this.settle(channel, () => channel.nack(message, false, true));
    messagingMetrics.consumed.inc({ queue, outcome: 'retried' });
  }

  /** A channel that closed under us cannot ack; the broker redelivers and the handler is idempotent. */
  private settle(channel: Channel, action: () => void): void {
    if (this.channel !== channel) return;
    try {
      action();
    } catch (error) {
      this.log.warn?.({ err: (error as Error).message }, 'could not settle delivery; it will be redelivered');
    }
  }
}
