/**
 * Agent commands from the broker (`command.<type>` on the `commands` exchange). Each command id is
 * processed once: its effect and its recorded result commit together, and a redelivered command
 * only republishes the recorded result. A command the router refuses (not the holder, offer expired)
 * is answered with `ok: false` and a code — it is a result, not a failure to retry.
 */
import { randomUUID } from 'node:crypto';
import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { DataSource, type QueryRunner } from 'typeorm';
import { EXCHANGES, routerCommandSchema, routingKeys, type RouterCommand } from '@app/contracts';
import { AmqpContext } from '@app/messaging';
import { inTransaction, rows } from '@app/persistence';
import { OutboxRelay } from '../outbox/outbox.relay';
import { RoutingEngine } from '../routing/routing-engine';
import { writeOutbox, type OutboxEvent } from '../outbox/outbox.writer';
import { AgentMessagesUseCase } from '../use-cases/agent-messages.use-case';
import { BotFirstUseCase } from '../use-cases/bot-first.use-case';
import { ChannelEndUseCase } from '../use-cases/channel-end.use-case';
import { CommandRejected } from '../use-cases/command-rejected.error';
import { ConversationHandlingUseCase } from '../use-cases/conversation-handling.use-case';
import { OfferResponseUseCase } from '../use-cases/offer-response.use-case';
import { SetPresenceUseCase } from '../use-cases/set-presence.use-case';
import { SupervisionUseCase } from '../use-cases/supervision.use-case';

export type CommandResult = { ok: true; data?: unknown } | { ok: false; code: string; message: string };

@Controller()
export class CommandController {
  private readonly logger = new Logger(CommandController.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly presence: SetPresenceUseCase,
    private readonly offers: OfferResponseUseCase,
    private readonly conversations: ConversationHandlingUseCase,
    private readonly bots: BotFirstUseCase,
    private readonly messages: AgentMessagesUseCase,
    private readonly supervision: SupervisionUseCase,
    private readonly channelEnd: ChannelEndUseCase,
    private readonly engine: RoutingEngine,
    private readonly outbox: OutboxRelay,
  ) {}

  @EventPattern<string>(routingKeys.commandAll)
  async onCommand(@Payload() payload: unknown, @Ctx() context: AmqpContext): Promise<void> {
    const command = routerCommandSchema.parse(payload);
    const correlationId = context.getCorrelationId() ?? command.correlationId ?? command.commandId;
    const result = await this.execute(command, correlationId);
    this.logger.log(
      { commandId: command.commandId, type: command.type, agentId: command.agentId, correlationId, ok: result.ok },
      'command processed',
    );
  }

  async execute(command: RouterCommand, correlationId?: string): Promise<CommandResult> {
    let result: CommandResult;
    try {
      result = await inTransaction(this.dataSource, async (runner) => {
        const previous = await this.previousResult(runner, command.commandId);
        if (previous) return this.record(runner, command, previous, [], correlationId, false);
        const events: OutboxEvent[] = [];
        const data = await this.apply(runner, command, events);
        return this.record(runner, command, { ok: true, data }, events, correlationId, true);
      });
    } catch (error) {
      if (!(error instanceof CommandRejected)) throw error;
      const rejected: CommandResult = { ok: false, code: error.code, message: error.message };
      result = await inTransaction(this.dataSource, (runner) => this.record(runner, command, rejected, [], correlationId, true));
    }
    if (result.ok) await this.rerouteAfterCommit(command, correlationId);
    this.outbox.kick();
    return result;
  }

  /**
   * Closes the window between concurrent transactions: two agents declining at the same moment each
   * saw the other still busy, so each item went back to the queue while both agents became free.
   * After commit, the conversation the command touched is routed once more and the agents it
   * concerns drain again — each a no-op unless something is waiting and someone has room.
   */
  private async rerouteAfterCommit(command: RouterCommand, correlationId: string | undefined): Promise<void> {
    await inTransaction(this.dataSource, async (runner) => {
      const events: OutboxEvent[] = [];
      if ('conversationId' in command) await this.engine.route(runner, command.conversationId, 'router', events);
      const agents = this.agentsConcerned(command);
      for (const agentId of agents) await this.engine.drainForAgent(runner, agentId, 'router', events);
      await writeOutbox(runner, events, correlationId);
    });
  }

  private agentsConcerned(command: RouterCommand): string[] {
    switch (command.type) {
      case 'agent.capacity.set':
      case 'agent.queues.set':
        return [command.targetAgentId];
      case 'conversation.reassign':
        return 'agentId' in command.to ? [command.to.agentId] : [];
      case 'conversation.end':
        return [];
      default:
        return [command.agentId];
    }
  }

  private async apply(runner: QueryRunner, command: RouterCommand, events: OutboxEvent[]): Promise<unknown> {
    const agent = { agentId: command.agentId, tenantId: command.tenantId };
    switch (command.type) {
      case 'presence.set':
        return this.presence.set(runner, agent, command.presence, `agent:${command.agentId}`, events);
      case 'presence.heartbeat':
        return this.presence.heartbeat(runner, agent);
      case 'offer.accept':
        return this.offers.accept(runner, command.agentId, command.conversationId, events);
      case 'offer.decline':
        return this.offers.decline(runner, command.agentId, command.conversationId, events);
      case 'conversation.close':
        // The wrap-up text is kept as an internal note, written while the agent still holds the conversation.
        if (command.wrapUp) {
          const wrapUp = { conversationId: command.conversationId, clientMessageId: `wrap-up:${command.commandId}`, text: command.wrapUp };
          await this.messages.note(runner, command.agentId, wrapUp, events);
        }
        return this.conversations.close(runner, command.agentId, command.conversationId, events);
      case 'conversation.release':
        return this.conversations.release(runner, command.agentId, command.conversationId, events);
      case 'conversation.transfer':
        return this.conversations.transfer(runner, command.agentId, command.conversationId, command.to, events);
      case 'conversation.escalate':
        return this.conversations.escalate(runner, command.agentId, command.conversationId, events);
      case 'conversation.reply':
        return this.messages.reply(runner, command.agentId, command, events);
      case 'conversation.note':
        return this.messages.note(runner, command.agentId, command, events);
      case 'conversation.reassign':
        return this.supervision.reassign(runner, agent, command.conversationId, command.to, events);
      case 'agent.queues.set':
        return this.supervision.setQueues(runner, agent, command.targetAgentId, command.queueIds, events);
      case 'conversation.end':
        return this.channelEnd.end(runner, command, events);
      case 'bot.handoff':
        return this.bots.handoff(runner, command.conversationId, command.context, `bot:${command.agentId}`, events);
      case 'bot.resolve':
        return this.bots.resolve(runner, command.conversationId, `bot:${command.agentId}`, events);
      case 'agent.capacity.set':
        return this.presence.setCapacity(
          runner,
          command.tenantId,
          command.targetAgentId,
          { syncCap: command.syncCap, asyncCap: command.asyncCap },
          `supervisor:${command.agentId}`,
          events,
        );
    }
  }

  private async previousResult(runner: QueryRunner, commandId: string): Promise<CommandResult | undefined> {
    const found = await rows<{ result: CommandResult }>(runner, `SELECT result FROM processed_commands WHERE command_id = $1`, [
      commandId,
    ]);
    return found[0]?.result;
  }

  private async record(
    runner: QueryRunner,
    command: RouterCommand,
    result: CommandResult,
    events: OutboxEvent[],
    correlationId: string | undefined,
    store: boolean,
  ): Promise<CommandResult> {
    if (store) {
      await runner.query(`INSERT INTO processed_commands (command_id, type, result) VALUES ($1, $2, $3)`, [
        command.commandId,
        command.type,
        JSON.stringify(result),
      ]);
    }
    events.push({
      exchange: EXCHANGES.agent,
      routingKey: routingKeys.agent(command.agentId, 'command-result'),
      payload: {
        eventId: randomUUID(),
        type: 'agent.command-result',
        occurredAt: new Date().toISOString(),
        tenantId: command.tenantId,
        agentId: command.agentId,
        commandId: command.commandId,
        command: command.type,
        ...result,
      },
      correlationId,
    });
    await writeOutbox(runner, events, correlationId);
    return result;
  }
}
