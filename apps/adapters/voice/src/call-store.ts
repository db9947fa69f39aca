/**
 * What the voice adapter reads from the router's database, read-only: which call a conversation is,
 * where a call stands (queued at which place, offered, held, turned into a voicemail thread), and an
 * agent's phone number. The router owns these rows; the adapter never writes them.
 */
import { Pool } from 'pg';

export interface CallState {
  status: 'bot' | 'queued' | 'offered' | 'assigned' | 'closed';
  mode: 'sync' | 'async';
  agentId: string | null;
  /** 1 = next in line; only while queued. */
  position: number | null;
}

export class CallStore {
  constructor(private readonly pool: Pool) {}

  async conversation(conversationId: string): Promise<{ channel: string; threadKey: string } | undefined> {
    const { rows } = await this.pool.query<{ channel: string; thread_key: string }>(
      `SELECT channel, thread_key FROM conversations WHERE id = $1`,
      [conversationId],
    );
    return rows[0] && { channel: rows[0].channel, threadKey: rows[0].thread_key };
  }

  /** The newest conversation the call opened; undefined until the router has stored the call. */
  async callState(tenantId: string, callId: string): Promise<CallState | undefined> {
    const { rows } = await this.pool.query<{ status: CallState['status']; mode: CallState['mode']; assigned_agent_id: string | null; position: number | null }>(
      `SELECT c.status, c.mode, c.assigned_agent_id,
              CASE WHEN c.status = 'queued' THEN
                (SELECT count(*)::int FROM conversations q
                  WHERE q.tenant_id = c.tenant_id AND q.queue_id = c.queue_id AND q.mode = c.mode
                    AND q.status = 'queued' AND q.rank_at < c.rank_at) + 1
              END AS position
         FROM conversations c
        WHERE c.tenant_id = $1 AND c.channel = 'voice' AND c.thread_key = $2
        ORDER BY c.created_at DESC
        LIMIT 1`,
      [tenantId, callId],
    );
    const row = rows[0];
    return row && { status: row.status, mode: row.mode, agentId: row.assigned_agent_id, position: row.position };
  }

  async agentPhone(agentId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ phone: string | null }>(`SELECT attributes->>'phone' AS phone FROM agents WHERE id = $1`, [agentId]);
    return rows[0]?.phone ?? undefined;
  }
}
