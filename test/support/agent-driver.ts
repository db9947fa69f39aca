/**
 * Scripted agents for multi-process tests: they answer offers (accepting most, declining some)
 * and close what they are given after a short random handling time, over the broker, exactly as a
 * UI backend would. Commands carry fresh ids; the router dedupes redeliveries.
 */
import { randomUUID } from 'node:crypto';
import { EXCHANGES, routingKeys } from '@app/contracts';
import type { TestBroker } from './broker';

export interface AgentDriverOptions {
  tenantId: string;
  declineRate: number;
  maxHandleMs: number;
}

export class AgentDriver {
  commandsSent = 0;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly broker: TestBroker,
    private readonly options: AgentDriverOptions,
  ) {}

  async start(): Promise<void> {
    const channel = await this.broker.connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, EXCHANGES.agent, 'agent.#');
    await channel.consume(
      queue,
      (message) => {
        if (!message || this.stopped) return;
        const event = JSON.parse(message.content.toString('utf8')) as {
          type: string;
          tenantId: string;
          agentId: string;
          conversationId: string;
        };
        if (event.tenantId !== this.options.tenantId) return;
        if (event.type === 'agent.offer') {
          const decline = Math.random() < this.options.declineRate;
          void this.send(decline ? 'offer.decline' : 'offer.accept', event.agentId, { conversationId: event.conversationId });
        } else if (event.type === 'agent.assigned') {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            void this.send('conversation.close', event.agentId, { conversationId: event.conversationId });
          }, Math.random() * this.options.maxHandleMs);
          this.timers.add(timer);
        }
      },
      { noAck: true },
    );
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
  }

  private async send(type: string, agentId: string, fields: Record<string, unknown>): Promise<void> {
    this.commandsSent += 1;
    await this.broker
      .publish(EXCHANGES.commands, routingKeys.command(type), {
        commandId: randomUUID(),
        tenantId: this.options.tenantId,
        agentId,
        type,
        ...fields,
      })
      .catch(() => undefined);
  }
}
