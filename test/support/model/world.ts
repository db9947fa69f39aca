/**
 * A1: the "real" side of the model-based routing test — one fresh tenant on a router module that is
 * built once per file. Ingests envelopes and executes commands exactly as the consumers do, drives
 * the timers with the manual clock, and simulates a crash mid-processing by running the same work
 * inside a transaction that is rolled back instead of committed.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource, type QueryRunner } from 'typeorm';
import type { InboundEnvelope, RouterCommand } from '@app/contracts';
import type { Settled } from '../../../apps/router/src/batching/batcher';
import { CommandController, type CommandResult } from '../../../apps/router/src/commands/command.controller';
import { routerMetrics } from '../../../apps/router/src/router.metrics';
import {
  IngestMessageUseCase,
  type IngestOutcome,
  type IngestRequest,
  type IngestSettled,
} from '../../../apps/router/src/ingest/ingest-message.use-case';
import type { ManualClock } from '../../../apps/router/src/routing/clock';
import { RoutingScheduler } from '../../../apps/router/src/timers/routing-scheduler';
import { seedAgents } from '../database';

export interface AgentSpec {
  /** Short name used in traces: a0, a1… */
  label: string;
  id: string;
  syncCap: number;
  asyncCap: number;
  initiallyOnline: boolean;
}

export interface RouterHandles {
  app: INestApplication;
  pool: Pool;
  clock: ManualClock;
}

/** Private entry points used to replay the unit of work without committing it (a crash before commit). */
interface IngestInternals {
  ingest(runner: QueryRunner, envelope: InboundEnvelope, correlationId: string | undefined, events: unknown[]): Promise<unknown>;
  ingestBatch(runner: QueryRunner, requests: IngestRequest[]): Promise<unknown>;
}
interface CommandInternals {
  apply(runner: QueryRunner, command: RouterCommand, events: unknown[]): Promise<unknown>;
}

export const QUEUE_OFFER_TIMEOUT_S = 20;
export const QUEUE_OFFLINE_GRACE_S = 300;

export class RouterWorld {
  private constructor(
    readonly handles: RouterHandles,
    readonly tenant: string,
    readonly agents: AgentSpec[],
  ) {}

  get pool(): Pool {
    return this.handles.pool;
  }

  get clock(): ManualClock {
    return this.handles.clock;
  }

  /** A fresh tenant: queue `live` (webchat, voice → sync) and `msg` (sms → async), wrap-up 0, and its agents. */
  static async create(handles: RouterHandles, agents: Array<Omit<AgentSpec, 'id' | 'label'>>): Promise<RouterWorld> {
    const tenant = `m-${randomUUID().slice(0, 8)}`;
    await handles.pool.query(
      `INSERT INTO queues (tenant_id, id, name, channels, offer_timeout_s, wrap_up_s, offline_grace_s) VALUES
         ($1, 'live', 'Live', '{webchat,voice}', $2, 0, $3), ($1, 'msg', 'Messaging', '{sms}', $2, 0, $3)`,
      [tenant, QUEUE_OFFER_TIMEOUT_S, QUEUE_OFFLINE_GRACE_S],
    );
    const specs = agents.map((agent, index) => ({ ...agent, label: `a${index}`, id: `${tenant}-a${index}` }));
    await seedAgents(
      handles.pool,
      specs.map((agent) => ({ id: agent.id, tenantId: tenant, presence: 'offline', syncCap: agent.syncCap, asyncCap: agent.asyncCap })),
    );
    return new RouterWorld(handles, tenant, specs);
  }

  ingest(envelope: InboundEnvelope): Promise<IngestOutcome> {
    return this.handles.app.get(IngestMessageUseCase).execute(envelope, undefined);
  }

  execute(command: RouterCommand): Promise<CommandResult> {
    return this.handles.app.get(CommandController).execute(command);
  }

  /** Commands delivered together, handled in one transaction as the router batches them under load. */
  executeBatch(commands: RouterCommand[]): Promise<Array<Settled<CommandResult>>> {
    return this.handles.app.get(CommandController).executeBatch(commands.map((command) => ({ command, correlationId: undefined })));
  }

  /**
   * How many command batches have rolled back and run one command at a time, in this process: because
   * a command was refused, and for any other reason (contended, error).
   */
  static async commandBatchFallbacks(): Promise<{ refused: number; other: number }> {
    const { values } = await routerMetrics.commandBatchFallbacks.get();
    const refused = values.find((value) => value.labels.reason === 'refused')?.value ?? 0;
    return { refused, other: values.reduce((sum, value) => sum + value.value, 0) - refused };
  }

  /** Command batches of several commands that committed whole, in this process. */
  static async commandBatchesCommitted(): Promise<number> {
    const { values } = await routerMetrics.commandBatchSize.get();
    const batches = values.find((value) => value.metricName === 'router_command_batch_size_count')?.value ?? 0;
    const { refused, other } = await RouterWorld.commandBatchFallbacks();
    return batches - refused - other;
  }

  tick(): Promise<void> {
    return this.handles.app.get(RoutingScheduler).tick();
  }

  /** The router crashed after doing the work of this delivery but before committing it. */
  crashIngest(envelope: InboundEnvelope): Promise<void> {
    const useCase = this.handles.app.get(IngestMessageUseCase) as unknown as IngestInternals;
    return this.rolledBack((runner) => useCase.ingest(runner, envelope, undefined, []));
  }

  /** Messages delivered together, handled in one transaction as the router batches them under load. */
  ingestBatch(envelopes: InboundEnvelope[]): Promise<IngestSettled[]> {
    return this.handles.app.get(IngestMessageUseCase).executeBatch(envelopes.map((envelope) => ({ envelope, correlationId: undefined })));
  }

  /** How many ingest batches have rolled back and run one message at a time, in this process. */
  async batchFallbacks(): Promise<number> {
    const { values } = await routerMetrics.ingestBatchFallbacks.get();
    return values[0]?.value ?? 0;
  }

  /** The router crashed after doing the work of a batch but before committing it. */
  crashIngestBatch(envelopes: InboundEnvelope[]): Promise<void> {
    const useCase = this.handles.app.get(IngestMessageUseCase) as unknown as IngestInternals;
    return this.rolledBack((runner) => useCase.ingestBatch(runner, envelopes.map((envelope) => ({ envelope, correlationId: undefined }))));
  }

  crashCommand(command: RouterCommand): Promise<void> {
    const controller = this.handles.app.get(CommandController) as unknown as CommandInternals;
    return this.rolledBack((runner) => controller.apply(runner, command, []));
  }

  private async rolledBack(work: (runner: QueryRunner) => Promise<unknown>): Promise<void> {
    const runner = this.handles.app.get(DataSource).createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      // A refusal or a duplicate is as good as any other outcome here: nothing is committed either way.
      await work(runner).catch(() => undefined);
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    }
  }

  /**
   * Takes the tenant out of the scheduler's way once a run is over (every timer query spans all
   * tenants): ends live work, closes conversations, takes agents offline. Test-only SQL.
   */
  async retire(): Promise<void> {
    const now = this.clock.now();
    await this.pool.query(
      `UPDATE assignments s SET state = 'ended', ended_at = $2, end_reason = 'test-retired'
         FROM conversations c WHERE c.id = s.conversation_id AND c.tenant_id = $1 AND s.state <> 'ended'`,
      [this.tenant, now],
    );
    await this.pool.query(
      `UPDATE conversations SET status = 'closed', assigned_agent_id = NULL, closed_at = $2 WHERE tenant_id = $1 AND status <> 'closed'`,
      [this.tenant, now],
    );
    await this.pool.query(
      `UPDATE agents SET presence = 'offline', lease_expires_at = NULL, active_sync = 0, active_async = 0, wrap_up_until = NULL
        WHERE tenant_id = $1`,
      [this.tenant],
    );
  }
}
