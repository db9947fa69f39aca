import { Pool } from 'pg';

/** A plain pg pool on the run's database, for assertions in SQL. */
export function openDatabase(url = process.env.DATABASE_URL): Pool {
  if (!url) throw new Error('DATABASE_URL is not set: run tests through jest so the global setup provides it');
  return new Pool({ connectionString: url, max: 4 });
}

export async function seedAgents(
  pool: Pool,
  agents: Array<{ id: string; tenantId?: string; presence?: string; syncCap?: number; asyncCap?: number }>,
): Promise<void> {
  for (const agent of agents) {
    await pool.query(
      `INSERT INTO agents (id, tenant_id, name, presence, sync_cap, async_cap) VALUES ($1, $2, $1, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET presence = EXCLUDED.presence, sync_cap = EXCLUDED.sync_cap, async_cap = EXCLUDED.async_cap`,
      [agent.id, agent.tenantId ?? 'default', agent.presence ?? 'online', agent.syncCap ?? 1, agent.asyncCap ?? 8],
    );
  }
}
