/**
 * Claims an agent for a conversation. The claim is one conditional UPDATE: it picks a candidate and
 * raises that agent's counter only if the counter is still under the cap, so two routers (or two
 * deliveries in one router) can never push an agent past its cap (I2), and the unique index on live
 * assignments means a conversation can never hold two (I1).
 *
 * Selection: sync work goes to the longest-idle free agent; async work to the agent with the lowest
 * load (active/cap), ties to the longest idle, and never to an agent holding a sync item (I3).
 * Issue #3 replaces the direct assignment of sync work with offers, queues and skills.
 */
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { Mode } from '@app/contracts';
import { rows } from '@app/persistence';

export interface ClaimedAgent {
  agentId: string;
}

const CLAIM_SYNC = `
  WITH candidate AS (
    SELECT id FROM agents
    WHERE tenant_id = $1 AND presence = 'online' AND active_sync < sync_cap
    ORDER BY last_assigned_at NULLS FIRST, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
  )
  UPDATE agents a
     SET active_sync = a.active_sync + 1, last_assigned_at = now(), updated_at = now()
    FROM candidate
   WHERE a.id = candidate.id AND a.active_sync < a.sync_cap
  RETURNING a.id`;

const CLAIM_ASYNC = `
  WITH candidate AS (
    SELECT id FROM agents
    WHERE tenant_id = $1 AND presence = 'online' AND active_async < async_cap AND active_sync = 0
    ORDER BY active_async::float8 / async_cap, last_assigned_at NULLS FIRST, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
  )
  UPDATE agents a
     SET active_async = a.active_async + 1, last_assigned_at = now(), updated_at = now()
    FROM candidate
   WHERE a.id = candidate.id AND a.active_async < a.async_cap AND a.active_sync = 0
  RETURNING a.id`;

@Injectable()
export class AssignConversationUseCase {
  /** Runs inside the caller's transaction; returns the agent, or undefined when nobody has room. */
  async execute(runner: QueryRunner, conversation: { id: string; tenantId: string; mode: Mode }): Promise<ClaimedAgent | undefined> {
    const claimed = await rows<{ id: string }>(runner, conversation.mode === 'sync' ? CLAIM_SYNC : CLAIM_ASYNC, [
      conversation.tenantId,
    ]);
    const agentId = claimed[0]?.id;
    if (!agentId) return undefined;
    await runner.query(
      `INSERT INTO assignments (conversation_id, agent_id, mode, state) VALUES ($1, $2, $3, 'active')`,
      [conversation.id, agentId, conversation.mode],
    );
    const updated = await rows(
      runner,
      `UPDATE conversations SET status = 'assigned', assigned_agent_id = $2, updated_at = now()
        WHERE id = $1 AND status = 'queued' RETURNING id`,
      [conversation.id, agentId],
    );
    if (updated.length !== 1) {
      throw new Error(`conversation ${conversation.id} was no longer queued when assigned`);
    }
    return { agentId };
  }
}
