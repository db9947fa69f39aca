/**
 * Which queue a new conversation joins: the queue the sender asked for (attribute `queue`), else the
 * tenant's first queue that lists the channel, else the tenant's `default` queue — created on first
 * use with the global defaults, so a tenant routes before anyone configures anything.
 */
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { rows } from '@app/persistence';

export interface ResolvedQueue {
  id: string;
  base_priority: number;
  aging_per_minute: number;
  reopen_window_s: number;
  bot_first: boolean;
}

const COLUMNS = 'id, base_priority, aging_per_minute, reopen_window_s, bot_first';

@Injectable()
export class QueueResolver {
  async resolve(runner: QueryRunner, tenantId: string, channel: string, requested: unknown): Promise<ResolvedQueue> {
    if (typeof requested === 'string' && requested.length > 0) {
      const explicit = await rows<ResolvedQueue>(runner, `SELECT ${COLUMNS} FROM queues WHERE tenant_id = $1 AND id = $2`, [
        tenantId,
        requested,
      ]);
      if (explicit[0]) return explicit[0];
    }
    const byChannel = await rows<ResolvedQueue>(
      runner,
      `SELECT ${COLUMNS} FROM queues WHERE tenant_id = $1 AND $2 = ANY (channels) ORDER BY id LIMIT 1`,
      [tenantId, channel],
    );
    if (byChannel[0]) return byChannel[0];
    await runner.query(
      `INSERT INTO queues (tenant_id, id, name) VALUES ($1, 'default', 'Default') ON CONFLICT (tenant_id, id) DO NOTHING`,
      [tenantId],
    );
    const fallback = await rows<ResolvedQueue>(runner, `SELECT ${COLUMNS} FROM queues WHERE tenant_id = $1 AND id = 'default'`, [
      tenantId,
    ]);
    return fallback[0];
  }
}
