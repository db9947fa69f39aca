/**
 * Agent commands from the broker (`command.<type>` on the `commands` exchange). Each command id is
 * processed once: its effect and its recorded result commit together, and a redelivered command
 * only republishes the recorded result. A command the router refuses (not the holder, offer expired)
 * is answered with `ok: false` and a code — it is a result, not a failure to retry.
 *
 * Under load, commands come in batches (`submit`, through a `Batcher`: COMMAND_BATCH_SIZE together,
 * COMMAND_BATCHES_IN_FLIGHT at once, a batch forming only while every slot is busy): one transaction
 * for the batch, one look-up of the results recorded before, each command's own statements, one
 * insert of every result and one outbox write. Closes from agents with nothing else in the batch run
 * together, in two statements for all of them (`closeMany`: the closes, then one drain that hands
 * each agent the next item). The other commands run in arrival order, grouped by agent
 * so that concurrent batches take agent rows in the same order. A refusal, or anything else that
 * fails in a batch, rolls the batch back and every command runs again on its own (each agent's in
 * arrival order), so one command never fails or changes another's answer.
 * A batch never waits long for a row lock (`limitLockWaits`); past that it rolls back the same way.
 */
import { randomUUID } from 'node:crypto';
import { Controller, Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { DataSource, type QueryRunner } from 'typeorm';
import { EXCHANGES, routerCommandSchema, routingKeys, type RouterCommand } from '@app/contracts';
import { AmqpContext } from '@app/messaging';
import { inTransaction, rows, sqlState } from '@app/persistence';
import { Batcher, BatcherClosed, LOCK_NOT_AVAILABLE, limitLockWaits, settle, type Settled } from '../batching/batcher';
import { OutboxRelay } from '../outbox/outbox.relay';
import { withCorrelation, writeOutbox, type OutboxEvent } from '../outbox/outbox.writer';
import { ROUTER_CONFIG, type RouterConfig } from '../router.config';
import { routerMetrics } from '../router.metrics';
import { RoutingEngine } from '../routing/routing-engine';
import { AgentMessagesUseCase } from '../use-cases/agent-messages.use-case';
import { BotFirstUseCase } from '../use-cases/bot-first.use-case';
import { ChannelEndUseCase } from '../use-cases/channel-end.use-case';
import { CommandRejected } from '../use-cases/command-rejected.error';
import { ConversationHandlingUseCase } from '../use-cases/conversation-handling.use-case';
import { OfferResponseUseCase } from '../use-cases/offer-response.use-case';
import { SetPresenceUseCase } from '../use-cases/set-presence.use-case';
import { SupervisionUseCase } from '../use-cases/supervision.use-case';

export type CommandResult = { ok: true; data?: unknown } | { ok: false; code: string; message: string };

export interface CommandRequest {
  command: RouterCommand;
  correlationId: string | undefined;
}

/** A transaction's answers, and the conversations its events concern (see `afterCommit`). */
interface Applied {
  results: CommandResult[];
  moved: string[];
}

/** Something in a batch the batch cannot answer for; the batch rolls back and its commands run alone. */
class BatchAbandoned extends Error {}

const fallbackReason = (error: unknown) =>
  error instanceof BatchAbandoned ? 'refused' : sqlState(error) === LOCK_NOT_AVAILABLE ? 'contended' : 'error';

@Controller()
export class CommandController implements OnModuleDestroy {
  private readonly logger = new Logger(CommandController.name);
  private readonly batcher: Batcher<CommandRequest, CommandResult>;

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
    @Inject(ROUTER_CONFIG) config: RouterConfig,
  ) {
    this.batcher = new Batcher((batch, closing) => this.executeBatch(batch, closing), {
      size: config.COMMAND_BATCH_SIZE,
      inFlight: config.COMMAND_BATCHES_IN_FLIGHT,
    });
  }

  @EventPattern<string>(routingKeys.commandAll)
  async onCommand(@Payload() payload: unknown, @Ctx() context: AmqpContext): Promise<void> {
    const command = routerCommandSchema.parse(payload);
    const correlationId = context.getCorrelationId() ?? command.correlationId ?? command.commandId;
    const result = await this.submit(command, correlationId);
    this.logger.log(
      { commandId: command.commandId, type: command.type, agentId: command.agentId, correlationId, ok: result.ok },
      'command processed',
    );
  }

  /** Before the consumers drain: commands not yet in a batch go back to the broker (`Batcher.close`). */
  onModuleDestroy(): void {
    this.batcher.close();
  }

  /** A command as the broker delivers it: alone on a quiet router, in a batch under load. */
  submit(command: RouterCommand, correlationId?: string): Promise<CommandResult> {
    return this.batcher.submit({ command, correlationId });
  }

  /** One command in its own transaction. */
  async execute(command: RouterCommand, correlationId?: string): Promise<CommandResult> {
    let result: CommandResult;
    let moved: string[] = [];
    try {
      const applied = await inTransaction(this.dataSource, (runner) => this.applyAll(runner, [{ command, correlationId }]));
      [result] = applied.results;
      moved = applied.moved;
    } catch (error) {
      if (!(error instanceof CommandRejected)) throw error;
      const rejected: CommandResult = { ok: false, code: error.code, message: error.message };
      result = await inTransaction(this.dataSource, async (runner) => {
        await this.storeResults(runner, [{ command, result: rejected }]);
        await writeOutbox(runner, [this.resultEvent(command, rejected, correlationId)], correlationId);
        return rejected;
      });
    }
    await this.afterCommit([{ command, correlationId }], [result], moved);
    return result;
  }

  /** Several commands in one transaction (see the file's comment); each settles on its own. */
  async executeBatch(requests: CommandRequest[], closing: () => boolean = () => false): Promise<Array<Settled<CommandResult>>> {
    if (requests.length === 1) return [await settle(this.execute(requests[0].command, requests[0].correlationId))];
    routerMetrics.commandBatchSize.observe(requests.length);
    let applied: Applied;
    try {
      applied = await inTransaction(this.dataSource, (runner) => this.applyAll(runner, requests));
    } catch (error) {
      routerMetrics.commandBatchFallbacks.inc({ reason: fallbackReason(error) });
      // Shutting down: nothing of the batch was written; its commands go back to the broker.
      if (closing()) return requests.map(() => ({ ok: false, error: new BatcherClosed() }));
      return this.oneByOne(requests);
    }
    // Should this fail, every command of the batch fails: its redelivery republishes the recorded
    // result and routes again, as for a single command.
    await this.afterCommit(requests, applied.results, applied.moved);
    return applied.results.map((outcome) => ({ ok: true, outcome }));
  }

  /** Each agent's commands in arrival order, the agents side by side. */
  private async oneByOne(requests: CommandRequest[]): Promise<Array<Settled<CommandResult>>> {
    const settled: Array<Settled<CommandResult>> = [];
    const byAgent = new Map<string, number[]>();
    requests.forEach(({ command }, index) => byAgent.set(command.agentId, [...(byAgent.get(command.agentId) ?? []), index]));
    await Promise.all(
      [...byAgent.values()].map(async (indexes) => {
        for (const index of indexes) settled[index] = await settle(this.execute(requests[index].command, requests[index].correlationId));
      }),
    );
    return settled;
  }

  /**
   * Applies every command not processed before, in one transaction, and records the results and
   * events. A refusal in a batch of several abandons the batch (`BatchAbandoned`); alone, it is
   * thrown as it is, for `execute` to record after the rollback.
   */
  private async applyAll(runner: QueryRunner, requests: CommandRequest[]): Promise<Applied> {
    if (requests.length > 1) await limitLockWaits(runner);
    const previous = await rows<{ command_id: string; result: CommandResult }>(
      runner,
      `SELECT command_id, result FROM processed_commands WHERE command_id = ANY ($1::uuid[])`,
      [requests.map(({ command }) => command.commandId)],
    );
    const known = new Map(previous.map((row) => [row.command_id, row.result]));
    const results: CommandResult[] = [];
    const fresh: Array<{ command: RouterCommand; result: CommandResult }> = [];
    const events: OutboxEvent[] = [];
    /** The i-th command's answer, and its events followed by its command-result event. */
    const answer = (index: number, result: CommandResult, own: OutboxEvent[]) => {
      const { command, correlationId } = requests[index];
      own.push(this.resultEvent(command, result, correlationId));
      events.push(...withCorrelation(own, correlationId));
      results[index] = result;
    };
    const order = this.lockOrder(requests);
    const together = this.closesTogether(requests, order, known);
    if (together.length > 0) {
      const own = together.map((): OutboxEvent[] => []);
      const outcomes = await this.conversations.closeMany(
        runner,
        together.map((index) => requests[index].command as RouterCommand & { conversationId: string }),
        own,
      );
      together.forEach((index, at) => {
        const outcome = outcomes[at];
        if (!outcome) throw new BatchAbandoned('not_holder');
        const result: CommandResult = { ok: true, data: outcome };
        fresh.push({ command: requests[index].command, result });
        answer(index, result, own[at]);
      });
    }
    for (const index of order) {
      if (results[index]) continue;
      const { command } = requests[index];
      const own: OutboxEvent[] = [];
      let result = known.get(command.commandId);
      if (!result) {
        let data: unknown;
        try {
          data = await this.apply(runner, command, own);
        } catch (error) {
          throw requests.length > 1 && error instanceof CommandRejected ? new BatchAbandoned(error.code) : error;
        }
        result = { ok: true, data };
        // The same command twice in one batch: the second delivery only repeats the first's answer.
        known.set(command.commandId, result);
        fresh.push({ command, result });
      }
      answer(index, result, own);
    }
    await this.storeResults(runner, fresh);
    await writeOutbox(runner, events);
    const moved = new Set<string>();
    for (const { payload } of events) if (typeof payload.conversationId === 'string') moved.add(payload.conversationId);
    return { results, moved: [...moved] };
  }

  /**
   * The closes of a batch that run together (`ConversationHandlingUseCase.closeMany`): not processed
   * before, without a wrap-up note, from agents with no other command in the batch — at least two.
   */
  private closesTogether(requests: CommandRequest[], order: number[], known: Map<string, CommandResult>): number[] {
    const perAgent = new Map<string, number>();
    for (const { command } of requests) perAgent.set(command.agentId, (perAgent.get(command.agentId) ?? 0) + 1);
    const closes = order.filter((index) => {
      const { command } = requests[index];
      return command.type === 'conversation.close' && !command.wrapUp && !known.has(command.commandId) && perAgent.get(command.agentId) === 1;
    });
    return closes.length > 1 ? closes : [];
  }

  /** Arrival order, grouped by agent (a stable sort, so each agent's commands keep their order). */
  private lockOrder(requests: CommandRequest[]): number[] {
    return requests
      .map((_, index) => index)
      .sort((a, b) => {
        const left = requests[a].command.agentId;
        const right = requests[b].command.agentId;
        return left < right ? -1 : left > right ? 1 : a - b;
      });
  }

  /**
   * Closes the window between concurrent transactions: two agents declining at the same moment each
   * saw the other still busy, so each item went back to the queue while both agents became free.
   * After commit, the conversations the commands touched are routed once more and the agents they
   * concern drain again. The conversations are those the commands name and those their events
   * concern: an agent going away puts back offers no command named. One look, without locks, finds
   * the few that would do anything (usually none); only those run, in one transaction.
   */
  private async afterCommit(requests: CommandRequest[], results: CommandResult[], moved: string[]): Promise<void> {
    const touched = requests.filter((_, index) => results[index].ok);
    if (touched.length > 0) {
      const named = touched.flatMap(({ command }) => ('conversationId' in command ? [command.conversationId] : []));
      const conversations = [...new Set([...named, ...moved])];
      const agents = [...new Set(touched.flatMap(({ command }) => this.agentsConcerned(command)))];
      const runner = this.dataSource.createQueryRunner();
      let waiting: { queued: string[]; draining: string[] };
      try {
        waiting = await this.engine.waitingWork(runner, conversations, agents);
      } finally {
        await runner.release();
      }
      if (waiting.queued.length > 0 || waiting.draining.length > 0) await this.reroute(touched, waiting);
    }
    this.outbox.kick();
  }

  private async reroute(requests: CommandRequest[], waiting: { queued: string[]; draining: string[] }): Promise<void> {
    const correlationOf = (matches: (command: RouterCommand) => boolean) => requests.find(({ command }) => matches(command))?.correlationId;
    await inTransaction(this.dataSource, async (runner) => {
      const events: OutboxEvent[] = [];
      for (const conversationId of waiting.queued) {
        const own: OutboxEvent[] = [];
        await this.engine.route(runner, conversationId, 'router', own);
        events.push(...withCorrelation(own, correlationOf((command) => 'conversationId' in command && command.conversationId === conversationId)));
      }
      for (const agentId of waiting.draining) {
        const own: OutboxEvent[] = [];
        await this.engine.drainForAgent(runner, agentId, 'router', own);
        events.push(...withCorrelation(own, correlationOf((command) => this.agentsConcerned(command).includes(agentId))));
      }
      await writeOutbox(runner, events);
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
      case 'bot.reply':
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
        return this.bots.handoff(runner, command.tenantId, command.conversationId, command.context, `bot:${command.agentId}`, events);
      case 'bot.reply':
        return this.messages.botReply(runner, { botId: command.agentId, tenantId: command.tenantId }, command, events);
      case 'bot.resolve':
        return this.bots.resolve(runner, command.tenantId, command.conversationId, `bot:${command.agentId}`, events);
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

  private async storeResults(runner: QueryRunner, results: Array<{ command: RouterCommand; result: CommandResult }>): Promise<void> {
    if (results.length === 0) return;
    await runner.query(
      `INSERT INTO processed_commands (command_id, type, result)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])`,
      [results.map(({ command }) => command.commandId), results.map(({ command }) => command.type), results.map(({ result }) => JSON.stringify(result))],
    );
  }

  private resultEvent(command: RouterCommand, result: CommandResult, correlationId: string | undefined): OutboxEvent {
    return {
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
    };
  }
}
