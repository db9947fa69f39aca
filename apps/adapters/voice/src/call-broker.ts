/**
 * The voice adapter's broker work, on the process's connection: it publishes `conversation.end`
 * commands with confirms, and consumes the router's `conversation.assigned` / `conversation.downgraded`
 * events from a durable queue of its own (one per tenant), so an assignment made while the adapter
 * restarts still reaches the caller, and replicas share the work. A message is acked only after its
 * handler finished; a failing handler's message is requeued until the queue's delivery limit
 * dead-letters it.
 */
import type { LoggerService } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { conversationEventSchema, EXCHANGES, routingKeys, type CommandOf, type ConversationEvent } from '@app/contracts';
import { declareTopology, type AmqpConnection, type Publisher } from '@app/messaging';

export interface CallBrokerOptions {
  prefetch: number;
  tenantId: string;
}

const REQUEUE_DELAY_MS = 1_000;

export class CallBroker {
  readonly queue: string;

  constructor(
    private readonly broker: { connection: AmqpConnection; publisher: Publisher },
    private readonly options: CallBrokerOptions,
    private readonly handle: (event: ConversationEvent) => Promise<void>,
    private readonly logger: LoggerService,
  ) {
    this.queue = `adapter.voice.${options.tenantId}.calls`;
  }

  /** On the process's connection: the queue is declared and consumed again after every reconnect. */
  async start(): Promise<void> {
    await this.broker.connection.register((model) => this.consume(model));
  }

  /** Resolves when the broker confirmed the command. */
  async publishEnd(command: CommandOf<'conversation.end'>): Promise<void> {
    await this.broker.publisher.publish(EXCHANGES.commands, routingKeys.command(command.type), command, {
      messageId: command.commandId,
      correlationId: command.correlationId ?? command.commandId,
    });
  }

  private async consume(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.logger.warn?.({ err: error.message }, 'call events channel error'));
    await declareTopology(channel, {
      exchanges: [EXCHANGES.events, EXCHANGES.deadLetter],
      workQueues: [
        {
          name: this.queue,
          bindings: [
            { exchange: EXCHANGES.events, pattern: routingKeys.conversation('assigned') },
            { exchange: EXCHANGES.events, pattern: routingKeys.conversation('downgraded') },
          ],
          deliveryLimit: 5,
          maxLength: 100_000,
        },
      ],
    });
    await channel.prefetch(this.options.prefetch);
    await channel.consume(this.queue, (message) => {
      if (message) void this.deliver(channel, message);
    });
  }

  private async deliver(channel: Channel, message: ConsumeMessage): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(message.content.toString('utf8'));
    } catch {
      body = undefined;
    }
    const parsed = conversationEventSchema.safeParse(body);
    if (!parsed.success) {
      this.logger.warn?.({ queue: this.queue, routingKey: message.fields.routingKey }, 'unreadable conversation event dead-lettered');
      settle(() => channel.nack(message, false, false));
      return;
    }
    if (parsed.data.tenantId !== this.options.tenantId) {
      settle(() => channel.ack(message));
      return;
    }
    try {
      await this.handle(parsed.data);
      settle(() => channel.ack(message));
    } catch (error) {
      this.logger.warn?.({ conversationId: parsed.data.conversationId, err: (error as Error).message }, 'call update failed; requeued');
      await new Promise((resolve) => setTimeout(resolve, REQUEUE_DELAY_MS));
      settle(() => channel.nack(message, false, true));
    }
  }
}

/** The channel may have closed while the handler ran; the broker then redelivers on its own. */
function settle(action: () => void): void {
  try {
    action();
  } catch {
    // nothing to settle on a closed channel
  }
}
