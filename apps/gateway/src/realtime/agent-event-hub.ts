/**
 * Every gateway replica binds its own exclusive, auto-deleted queue to all agent events and to
 * customer typing, so a desktop's socket receives its events whichever replica it is connected to
 * and whichever router replica published them. The queue is re-declared after every reconnection;
 * what a replica missed while disconnected, its sockets recover by resuming from the journal.
 *
 * Agent events carry no message bodies; listeners that need them read Postgres.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { EXCHANGES, routingKeys } from '@app/contracts';
import { AmqpConnection } from '@app/messaging';

export interface AgentEvent {
  eventId: string;
  type: string;
  tenantId: string;
  agentId: string;
  conversationId?: string;
  commandId?: string;
  [key: string]: unknown;
}

export interface CustomerTypingSignal {
  tenantId: string;
  conversationId: string;
  typing: boolean;
}

type Listener<T> = (event: T) => void;

const PREFETCH = 500;

@Injectable()
export class AgentEventHub implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AgentEventHub.name);
  readonly queueName = `gateway.${hostname().replace(/[^A-Za-z0-9_-]/g, '')}.${randomUUID().slice(0, 8)}`;
  private readonly eventListeners = new Set<Listener<AgentEvent>>();
  private readonly typingListeners = new Set<Listener<CustomerTypingSignal>>();
  private channel: Channel | undefined;
  private ready = false;

  constructor(private readonly connection: AmqpConnection) {}

  /** For readiness: a replica that cannot receive events must not take sockets. */
  readonly name = 'agent-events';

  isHealthy(): boolean {
    return this.ready && this.connection.isConnected();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.connection.register((model) => this.subscribe(model));
  }

  async onApplicationShutdown(): Promise<void> {
    this.ready = false;
    await this.channel?.close().catch(() => undefined);
  }

  onEvent(listener: Listener<AgentEvent>): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onCustomerTyping(listener: Listener<CustomerTypingSignal>): () => void {
    this.typingListeners.add(listener);
    return () => this.typingListeners.delete(listener);
  }

  private async subscribe(model: ChannelModel): Promise<void> {
    this.ready = false;
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.logger.warn({ err: error.message }, 'agent event channel error'));
    channel.on('close', () => {
      if (this.channel === channel) this.ready = false;
    });
    await channel.prefetch(PREFETCH);
    await channel.assertQueue(this.queueName, { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(this.queueName, EXCHANGES.agent, routingKeys.agentAll);
    await channel.bindQueue(this.queueName, EXCHANGES.inbound, routingKeys.typingAll);
    await channel.consume(this.queueName, (message) => {
      if (!message) return;
      this.dispatch(message);
      channel.ack(message);
    });
    this.channel = channel;
    this.ready = true;
  }

  private dispatch(message: ConsumeMessage): void {
    let body: unknown;
    try {
      body = JSON.parse(message.content.toString('utf8'));
    } catch {
      this.logger.warn({ routingKey: message.fields.routingKey }, 'ignored an event that is not JSON');
      return;
    }
    if (typeof body !== 'object' || body === null) return;
    if (message.fields.exchange === EXCHANGES.inbound) {
      const typing = body as Partial<CustomerTypingSignal>;
      if (typeof typing.conversationId !== 'string' || typeof typing.typing !== 'boolean') return;
      const signal = { tenantId: typing.tenantId ?? 'default', conversationId: typing.conversationId, typing: typing.typing };
      for (const listener of this.typingListeners) listener(signal);
      return;
    }
    const event = body as AgentEvent;
    if (typeof event.agentId !== 'string' || typeof event.type !== 'string') return;
    for (const listener of this.eventListeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn({ err: (error as Error).message, type: event.type }, 'agent event listener failed');
      }
    }
  }
}
