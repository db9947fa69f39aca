/**
 * A4: replays the assignment audit log in order and checks that no agent ever held more than their
 * cap. Audit rows are written after the agent's row is locked, so for any one agent their order is
 * the order in which that agent's capacity changed.
 */
import type { Pool } from 'pg';

/** Capacity effect of each audit action on its agent; an unclassified action fails the replay. */
export const AUDIT_CAPACITY_DELTA: Record<string, number> = {
  enqueue: 0,
  reopen: 0,
  overflow: 0,
  bot: 0,
  handoff: 0,
  'bot-resolve': 0,
  downgrade: 0,
  accept: 0,
  offer: 1,
  assign: 1,
  decline: -1,
  'offer-timeout': -1,
  'offer-withdrawn': -1,
  requeue: -1,
  release: -1,
  transfer: -1,
  reassign: -1,
  abandon: -1,
  close: -1,
  escalate: -1,
};

export interface ReplayResult {
  rows: number;
  violations: string[];
  peak: Map<string, { sync: number; async: number }>;
}

export async function replayAudit(pool: Pool, tenantId: string, defaults = { syncCap: 1, asyncCap: 8 }): Promise<ReplayResult> {
  const caps = new Map<string, { sync: number; async: number }>();
  for (const agent of (await pool.query(`SELECT id, sync_cap, async_cap FROM agents WHERE tenant_id = $1`, [tenantId])).rows) {
    caps.set(agent.id, { sync: agent.sync_cap ?? defaults.syncCap, async: agent.async_cap ?? defaults.asyncCap });
  }
  const { rows } = await pool.query(
    `SELECT id, agent_id, mode, action FROM assignment_audit WHERE tenant_id = $1 ORDER BY id`,
    [tenantId],
  );
  const held = new Map<string, { sync: number; async: number }>();
  const peak = new Map<string, { sync: number; async: number }>();
  const violations: string[] = [];
  for (const row of rows) {
    const delta = AUDIT_CAPACITY_DELTA[row.action];
    if (delta === undefined) throw new Error(`audit action "${row.action}" is not classified for replay`);
    if (delta === 0 || !row.agent_id) continue;
    const mode = row.mode as 'sync' | 'async';
    const current = held.get(row.agent_id) ?? { sync: 0, async: 0 };
    current[mode] += delta;
    held.set(row.agent_id, current);
    const top = peak.get(row.agent_id) ?? { sync: 0, async: 0 };
    top[mode] = Math.max(top[mode], current[mode]);
    peak.set(row.agent_id, top);
    const cap = caps.get(row.agent_id);
    if (current[mode] < 0) violations.push(`audit ${row.id}: ${row.agent_id} ${mode} count went negative`);
    if (cap && current[mode] > cap[mode]) {
      violations.push(`audit ${row.id}: ${row.agent_id} held ${current[mode]} ${mode} items, cap ${cap[mode]}`);
    }
  }
  return { rows: rows.length, violations, peak };
}
