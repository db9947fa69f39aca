/**
 * REST calls that change routing state become router commands on the broker, the same commands a UI
 * backend may publish itself. The bus publishes with a confirm and waits for the router's
 * `command-result` event, which reaches every gateway replica; a call that gets no answer in time
 * fails with 504 — the command may still be carried out, and retrying it with the same id is safe.
 */
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { EXCHANGES, routerCommandSchema, routingKeys, type RouterCommandInput } from '@app/contracts';
import { Publisher } from '@app/messaging';
import { ApiError } from '../http/api-error';
import { GATEWAY_CONFIG, type GatewayConfig } from '../gateway.config';
import { gatewayMetrics } from '../gateway.metrics';
import { AgentEventHub, type AgentEvent } from '../realtime/agent-event-hub';

export type CommandOutcome = { ok: true; data?: unknown } | { ok: false; code: string; message: string };

interface Waiter {
  resolve: (outcome: CommandOutcome) => void;
  timer: NodeJS.Timeout;
}

/** Router refusals and the HTTP status each becomes; anything else is a conflict with current state. */
const REFUSAL_STATUS: Record<string, number> = {
  unknown_agent: 404,
  unknown_queue: 404,
  unknown_conversation: 404,
  not_holder: 403,
  invalid_transfer: 400,
};

@Injectable()
export class CommandBus implements OnApplicationShutdown {
  private readonly waiters = new Map<string, Waiter>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly publisher: Publisher,
    hub: AgentEventHub,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    this.unsubscribe = hub.onEvent((event) => this.settle(event));
  }

  onApplicationShutdown(): void {
    this.unsubscribe();
    for (const [id, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve({ ok: false, code: 'shutting_down', message: 'the gateway is shutting down' });
      this.waiters.delete(id);
    }
  }

  /** Sends a command and returns the router's data, or throws the refusal as an ApiError. */
  async execute<T = unknown>(input: RouterCommandInput, correlationId?: string): Promise<T> {
    const outcome = await this.send(input, correlationId);
    if (outcome.ok) return outcome.data as T;
    if (outcome.code === 'shutting_down') throw new ApiError(503, outcome.code, outcome.message);
    throw new ApiError(REFUSAL_STATUS[outcome.code] ?? 409, outcome.code, outcome.message);
  }

  async send(input: RouterCommandInput, correlationId?: string): Promise<CommandOutcome> {
    const command = routerCommandSchema.parse({ ...input, issuedAt: new Date().toISOString() });
    const timer = gatewayMetrics.commandSeconds.startTimer({ command: command.type });
    const answer = new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(command.commandId);
        resolve({ ok: false, code: 'command_timeout', message: 'the router did not answer in time; retrying with the same id is safe' });
      }, this.config.COMMAND_TIMEOUT_MS);
      this.waiters.set(command.commandId, { resolve, timer });
    });
    try {
      await this.publisher.publish(EXCHANGES.commands, routingKeys.command(command.type), command, {
        messageId: command.commandId,
        correlationId: correlationId ?? command.commandId,
      });
    } catch (error) {
      this.cancel(command.commandId);
      timer({ outcome: 'broker' });
      throw new ApiError(503, 'broker_unavailable', `the command could not be handed to the broker: ${(error as Error).message}`);
    }
    const outcome = await answer;
    timer({ outcome: outcome.ok ? 'ok' : outcome.code === 'command_timeout' ? 'timeout' : 'refused' });
    if (!outcome.ok && outcome.code === 'command_timeout') throw new ApiError(504, outcome.code, outcome.message);
    return outcome;
  }

  private cancel(commandId: string): void {
    const waiter = this.waiters.get(commandId);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.waiters.delete(commandId);
  }

  private settle(event: AgentEvent): void {
    if (event.type !== 'agent.command-result' || typeof event.commandId !== 'string') return;
    const waiter = this.waiters.get(event.commandId);
    if (!waiter) return;
    this.cancel(event.commandId);
    waiter.resolve(
      event.ok === true
        ? { ok: true, data: event.data }
        : { ok: false, code: String(event.code ?? 'refused'), message: String(event.message ?? 'the router refused the command') },
    );
  }
}
