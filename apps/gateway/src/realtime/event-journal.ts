/**
 * Replays an agent's missed events from the router's journal. Events commit out of order across
 * transactions (a lower sequence number can become visible after a higher one was delivered), so
 * the replay also repeats the few seconds before the client's last event; clients dedupe on eventId.
 */
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { GATEWAY_CONFIG, type GatewayConfig } from '../gateway.config';
import type { AgentEvent } from './agent-event-hub';

export const REPLAY_OVERLAP_S = 5;

export type Replay = { kind: 'events'; events: AgentEvent[] } | { kind: 'resync'; cause: 'unknown' | 'too-many'; reason: string };

@Injectable()
export class EventJournal {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async since(tenantId: string, agentId: string, lastEventId: string): Promise<Replay> {
    const [anchor] = (await this.dataSource.query(
      `SELECT seq, created_at FROM agent_events WHERE event_id = $1 AND agent_id = $2 AND tenant_id = $3`,
      [lastEventId, agentId, tenantId],
    )) as Array<{ seq: string; created_at: Date }>;
    if (!anchor) return { kind: 'resync', cause: 'unknown', reason: 'last event not in the journal (too old, or not this agent\'s)' };
    const found = (await this.dataSource.query(
      `SELECT payload FROM agent_events
        WHERE agent_id = $1 AND tenant_id = $2 AND event_id <> $3
          AND (seq > $4 OR created_at >= $5::timestamptz - make_interval(secs => $6))
        ORDER BY seq
        LIMIT $7`,
      [agentId, tenantId, lastEventId, anchor.seq, anchor.created_at, REPLAY_OVERLAP_S, this.config.EVENT_REPLAY_LIMIT + 1],
    )) as Array<{ payload: AgentEvent }>;
    if (found.length > this.config.EVENT_REPLAY_LIMIT) {
      return { kind: 'resync', cause: 'too-many', reason: `more than ${this.config.EVENT_REPLAY_LIMIT} events were missed` };
    }
    return { kind: 'events', events: found.map((row) => row.payload) };
  }
}
