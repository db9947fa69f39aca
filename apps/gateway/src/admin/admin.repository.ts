/**
 * Queues and agents of a tenant as configuration, written straight to Postgres: they are not routing
 * state, and the router reads them fresh (queue policies within a couple of seconds). An agent's
 * presence, held-work counters and lease belong to the router and are never written here.
 *
 * Deletion never leaves a dangling reference: a queue still named by a conversation, another
 * queue's overflow or an agent stays, as does an agent with history (assignments, messages). The
 * checks name what is in the way; the foreign keys cover a reference created meanwhile, and the
 * queue rows an agent lists are share-locked while it is written, so a concurrent queue deletion
 * either waits and sees the agent or wins and makes the write fail as an unknown queue.
 */
import { Injectable } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import { inTransaction, rows, sqlState } from '@app/persistence';
import type { BusinessHours } from '@app/contracts';
import { ApiError } from '../http/api-error';
import type { AgentDto, QueueDto } from './admin.dto';

export interface QueueConfig {
  name: string;
  channels: string[];
  requiredSkills: string[];
  basePriority: number;
  agingPerMinute: number;
  syncCap: number | null;
  asyncCap: number | null;
  syncBlocksAsync: boolean | null;
  offerTimeoutS: number;
  autoAccept: boolean;
  wrapUpS: number;
  maxWaitS: number | null;
  overflowQueueId: string | null;
  downgradeToAsync: boolean;
  businessHours: BusinessHours | null;
  reopenWindowS: number;
  stickyWindowS: number;
  offlineGraceS: number;
  expectedReplyS: number;
  noticeIntervalS: number;
  botFirst: boolean;
  botTimeoutS: number;
}

export interface QueueView extends QueueConfig {
  id: string;
  createdAt: string;
  updatedAt: string;
}

export interface AgentView {
  id: string;
  name: string;
  skills: string[];
  queueIds: string[];
  syncCap: number | null;
  asyncCap: number | null;
  syncBlocksAsync: boolean | null;
  /** Read-only here: set by the agent through the router. */
  presence: 'online' | 'away' | 'offline';
  createdAt: string;
  updatedAt: string;
}

/** API field → column; the API is camelCase, the schema snake_case. */
const QUEUE_COLUMNS: Record<keyof QueueConfig, string> = {
  name: 'name',
  channels: 'channels',
  requiredSkills: 'required_skills',
  basePriority: 'base_priority',
  agingPerMinute: 'aging_per_minute',
  syncCap: 'sync_cap',
  asyncCap: 'async_cap',
  syncBlocksAsync: 'sync_blocks_async',
  offerTimeoutS: 'offer_timeout_s',
  autoAccept: 'auto_accept',
  wrapUpS: 'wrap_up_s',
  maxWaitS: 'max_wait_s',
  overflowQueueId: 'overflow_queue_id',
  downgradeToAsync: 'downgrade_to_async',
  businessHours: 'business_hours',
  reopenWindowS: 'reopen_window_s',
  stickyWindowS: 'sticky_window_s',
  offlineGraceS: 'offline_grace_s',
  expectedReplyS: 'expected_reply_s',
  noticeIntervalS: 'notice_interval_s',
  botFirst: 'bot_first',
  botTimeoutS: 'bot_timeout_s',
};

const QUEUE_SELECT = [
  'id',
  ...Object.entries(QUEUE_COLUMNS).map(([field, column]) => `${column} AS "${field}"`),
  'created_at AS "createdAt"',
  'updated_at AS "updatedAt"',
].join(', ');

const AGENT_SELECT = `id, name, skills, queue_ids AS "queueIds", sync_cap AS "syncCap", async_cap AS "asyncCap",
  sync_blocks_async AS "syncBlocksAsync", presence, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** A PUT replaces the configuration: what the body leaves out takes the seed file's default. */
function queueConfig(body: QueueDto): QueueConfig {
  return {
    name: body.name,
    channels: body.channels ?? [],
    requiredSkills: body.requiredSkills ?? [],
    basePriority: body.basePriority ?? 0,
    agingPerMinute: body.agingPerMinute ?? 1,
    syncCap: body.syncCap ?? null,
    asyncCap: body.asyncCap ?? null,
    syncBlocksAsync: body.syncBlocksAsync ?? null,
    offerTimeoutS: body.offerTimeoutS ?? 20,
    autoAccept: body.autoAccept ?? false,
    wrapUpS: body.wrapUpS ?? 0,
    maxWaitS: body.maxWaitS ?? null,
    overflowQueueId: body.overflowQueueId ?? null,
    downgradeToAsync: body.downgradeToAsync ?? true,
    businessHours: body.businessHours ?? null,
    reopenWindowS: body.reopenWindowS ?? 604_800,
    stickyWindowS: body.stickyWindowS ?? 604_800,
    offlineGraceS: body.offlineGraceS ?? 300,
    expectedReplyS: body.expectedReplyS ?? 3_600,
    noticeIntervalS: body.noticeIntervalS ?? 60,
    botFirst: body.botFirst ?? false,
    botTimeoutS: body.botTimeoutS ?? 30,
  };
}

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));

function withTimes<T extends { createdAt: unknown; updatedAt: unknown }>(row: T): T & { createdAt: string; updatedAt: string } {
  return { ...row, createdAt: iso(row.createdAt), updatedAt: iso(row.updatedAt) };
}

const FOREIGN_KEY_VIOLATION = '23503';

function listed(ids: string[], most = 10): string {
  return ids.length > most ? `${ids.slice(0, most).join(', ')} and ${ids.length - most} more` : ids.join(', ');
}

@Injectable()
export class AdminRepository {
  constructor(private readonly dataSource: DataSource) {}

  async listQueues(tenantId: string): Promise<QueueView[]> {
    const found = (await this.dataSource.query(`SELECT ${QUEUE_SELECT} FROM queues WHERE tenant_id = $1 ORDER BY id`, [
      tenantId,
    ])) as QueueView[];
    return found.map(withTimes);
  }

  async getQueue(tenantId: string, id: string): Promise<QueueView> {
    const [found] = (await this.dataSource.query(`SELECT ${QUEUE_SELECT} FROM queues WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      id,
    ])) as QueueView[];
    if (!found) throw new ApiError(404, 'queue_not_found', `queue ${id} does not exist in this tenant`);
    return withTimes(found);
  }

  /** Creates or replaces a queue; `created` tells which. */
  async putQueue(tenantId: string, id: string, body: QueueDto): Promise<{ queue: QueueView; created: boolean }> {
    const config = queueConfig(body);
    if (config.overflowQueueId === id) {
      throw new ApiError(400, 'invalid_overflow_queue', 'a queue cannot overflow into itself');
    }
    const columns = Object.values(QUEUE_COLUMNS);
    const values = Object.keys(QUEUE_COLUMNS).map((field) => {
      const value = config[field as keyof QueueConfig];
      return field === 'businessHours' && value !== null ? JSON.stringify(value) : value;
    });
    try {
      const [stored] = await inTransaction(this.dataSource, (runner) =>
        rows<QueueView & { created: boolean }>(
          runner,
          `INSERT INTO queues (tenant_id, id, ${columns.join(', ')})
           VALUES ($1, $2, ${columns.map((_, i) => `$${i + 3}`).join(', ')})
           ON CONFLICT (tenant_id, id) DO UPDATE
             SET ${columns.map((column) => `${column} = EXCLUDED.${column}`).join(', ')}, updated_at = now()
           RETURNING ${QUEUE_SELECT}, (xmax = 0) AS created`,
          [tenantId, id, ...values],
        ),
      );
      const { created, ...queue } = stored!;
      return { queue: withTimes(queue), created };
    } catch (error) {
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) {
        throw new ApiError(400, 'unknown_overflow_queue', `overflow queue ${config.overflowQueueId} does not exist in this tenant`);
      }
      throw error;
    }
  }

  async deleteQueue(tenantId: string, id: string): Promise<void> {
    try {
      await inTransaction(this.dataSource, async (runner) => {
        const locked = await rows(runner, `SELECT 1 FROM queues WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id]);
        if (locked.length === 0) throw new ApiError(404, 'queue_not_found', `queue ${id} does not exist in this tenant`);
        const [usage] = await rows<{ conversations: boolean; overflowOf: string[]; agents: string[] }>(
          runner,
          `SELECT EXISTS (SELECT 1 FROM conversations WHERE tenant_id = $1 AND queue_id = $2) AS conversations,
                  ARRAY(SELECT id FROM queues WHERE tenant_id = $1 AND overflow_queue_id = $2 ORDER BY id) AS "overflowOf",
                  ARRAY(SELECT id FROM agents WHERE tenant_id = $1 AND $2 = ANY (queue_ids) ORDER BY id) AS agents`,
          [tenantId, id],
        );
        const { conversations, overflowOf, agents } = usage!;
        const reasons = [
          ...(conversations ? ['conversations refer to it'] : []),
          ...(overflowOf.length > 0 ? [`it is the overflow queue of ${listed(overflowOf)}`] : []),
          ...(agents.length === 1 ? [`agent ${agents[0]} serves it`] : []),
          ...(agents.length > 1 ? [`agents ${listed(agents)} serve it`] : []),
        ];
        if (reasons.length > 0) {
          throw new ApiError(409, 'queue_in_use', `queue ${id} is in use: ${reasons.join('; ')}`, usage);
        }
        await rows(runner, `DELETE FROM queues WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      });
    } catch (error) {
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) {
        throw new ApiError(409, 'queue_in_use', `queue ${id} is in use: something started referring to it; try again`);
      }
      throw error;
    }
  }

  async listAgents(tenantId: string): Promise<AgentView[]> {
    const found = (await this.dataSource.query(`SELECT ${AGENT_SELECT} FROM agents WHERE tenant_id = $1 ORDER BY id`, [
      tenantId,
    ])) as AgentView[];
    return found.map(withTimes);
  }

  async getAgent(tenantId: string, id: string): Promise<AgentView> {
    const [found] = (await this.dataSource.query(`SELECT ${AGENT_SELECT} FROM agents WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      id,
    ])) as AgentView[];
    if (!found) throw new ApiError(404, 'agent_not_found', `agent ${id} does not exist in this tenant`);
    return withTimes(found);
  }

  /**
   * Creates or replaces an agent's configuration; presence, counters and lease of an existing agent
   * are kept. Agent ids are global (they travel in routing keys), so an id another tenant uses is taken.
   */
  async putAgent(tenantId: string, id: string, body: AgentDto): Promise<{ agent: AgentView; created: boolean }> {
    const queueIds = [...new Set(body.queueIds ?? [])].sort();
    const stored = await inTransaction(this.dataSource, async (runner) => {
      await this.lockQueues(runner, tenantId, queueIds);
      const [row] = await rows<AgentView & { created: boolean }>(
        runner,
        `INSERT INTO agents (id, tenant_id, name, skills, queue_ids, sync_cap, async_cap, sync_blocks_async)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE
           SET name = EXCLUDED.name, skills = EXCLUDED.skills, queue_ids = EXCLUDED.queue_ids,
               sync_cap = EXCLUDED.sync_cap, async_cap = EXCLUDED.async_cap, sync_blocks_async = EXCLUDED.sync_blocks_async,
               version = agents.version + 1, updated_at = now()
           WHERE agents.tenant_id = EXCLUDED.tenant_id
         RETURNING ${AGENT_SELECT}, (xmax = 0) AS created`,
        [id, tenantId, body.name, body.skills ?? [], queueIds, body.syncCap ?? null, body.asyncCap ?? null, body.syncBlocksAsync ?? null],
      );
      return row;
    });
    if (!stored) throw new ApiError(409, 'agent_id_taken', `agent id ${id} is already in use; choose another`);
    const { created, ...agent } = stored;
    return { agent: withTimes(agent), created };
  }

  async deleteAgent(tenantId: string, id: string): Promise<void> {
    const refused = () =>
      new ApiError(409, 'agent_has_history', `agent ${id} has handled conversations or written messages; their history needs the agent`);
    try {
      await inTransaction(this.dataSource, async (runner) => {
        const locked = await rows(runner, `SELECT 1 FROM agents WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id]);
        if (locked.length === 0) throw new ApiError(404, 'agent_not_found', `agent ${id} does not exist in this tenant`);
        const [history] = await rows<{ assignments: boolean; messages: boolean }>(
          runner,
          `SELECT EXISTS (SELECT 1 FROM assignments WHERE agent_id = $1) AS assignments,
                  EXISTS (SELECT 1 FROM messages WHERE author_agent_id = $1) AS messages`,
          [id],
        );
        if (history!.assignments || history!.messages) throw refused();
        await rows(runner, `DELETE FROM agents WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      });
    } catch (error) {
      // Declines and conversations also refer to agents; the foreign keys turn those into history too.
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) throw refused();
      throw error;
    }
  }

  /** Share-locks the listed queues so none is deleted before this transaction commits. */
  private async lockQueues(runner: QueryRunner, tenantId: string, queueIds: string[]): Promise<void> {
    if (queueIds.length === 0) return;
    const found = await rows<{ id: string }>(runner, `SELECT id FROM queues WHERE tenant_id = $1 AND id = ANY ($2) FOR SHARE`, [
      tenantId,
      queueIds,
    ]);
    const missing = queueIds.filter((queueId) => !found.some((queue) => queue.id === queueId));
    if (missing.length > 0) {
      const message = missing.length === 1 ? `queue ${missing[0]} does not exist` : `queues ${listed(missing)} do not exist`;
      throw new ApiError(400, 'unknown_queue', `${message} in this tenant`, { queueIds: missing });
    }
  }
}
