/**
 * A1: the invariants, checked in SQL against the run's tenant after every step.
 *   I1  no conversation has more than one live assignment; and a conversation's status agrees with
 *       its live assignment (offered ⇔ one live offer to assigned_agent_id, assigned ⇔ one active
 *       assignment to it, queued/closed ⇔ none).
 *   I2  no agent above its sync or async cap; counters equal the live assignment rows per mode.
 *   I3  (audit, incremental) no async item offered/assigned to an agent while they held sync work.
 *   I4  every arrived message stored exactly once; redeliveries add no row.
 *   I5  (audit, incremental) nobody is offered a conversation they declined or let time out.
 *   I6  no conversation waits while an online, eligible agent has room in its mode (and, for live
 *       work, has not declined it); offered/assigned always names an agent.
 *   I7  a redelivered message or command — and a refused command — changes nothing.
 *   P   presence: an agent who is not online holds no offer; an offline agent holds no live work.
 *   A4  the audit log replays to the agents' counters, never above a cap nor below zero.
 */
import { isDeepStrictEqual } from 'node:util';
import { agentLabel, conversationLabel, relabel, type ConversationView, type RoutingModel } from './model';
import type { RouterWorld } from './world';
import { AUDIT_CAPACITY_DELTA } from '../audit-replay';

const DELTA = AUDIT_CAPACITY_DELTA;

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

interface AuditRow {
  id: string;
  conversation_id: string;
  agent_id: string | null;
  mode: 'sync' | 'async';
  action: string;
}

interface StateRow {
  conversations: Array<{ id: string; status: string; mode: 'sync' | 'async'; agent: string | null }>;
  i1: unknown[];
  i2: Array<{ id: string; active_sync: number; active_async: number; sync_cap: number; async_cap: number; live_sync: number; live_async: number }>;
  agents: Array<{ id: string; presence: string; active_sync: number; active_async: number }>;
  presence: unknown[];
  i6: unknown[];
  i6_unnamed: unknown[];
  messages_tenant: number;
  messages_arrived: number;
  audit: AuditRow[];
  fingerprint: string;
}

const STATE_SQL = `
WITH conv AS (
  SELECT c.id, c.status, c.mode, c.assigned_agent_id, c.queue_id,
         count(s.id)::int AS live,
         array_remove(array_agg(s.state), NULL) AS states,
         array_remove(array_agg(s.agent_id), NULL) AS holders,
         array_remove(array_agg(s.mode), NULL) AS modes
    FROM conversations c
    LEFT JOIN assignments s ON s.conversation_id = c.id AND s.state <> 'ended'
   WHERE c.tenant_id = $1
   GROUP BY c.id
), agent AS (
  SELECT a.*,
         (SELECT count(*)::int FROM assignments s WHERE s.agent_id = a.id AND s.state <> 'ended' AND s.mode = 'sync') AS live_sync,
         (SELECT count(*)::int FROM assignments s WHERE s.agent_id = a.id AND s.state <> 'ended' AND s.mode = 'async') AS live_async,
         (SELECT count(*)::int FROM assignments s WHERE s.agent_id = a.id AND s.state = 'offered') AS offers
    FROM agents a
   WHERE a.id = ANY ($2::text[])
)
SELECT
  (SELECT coalesce(json_agg(json_build_object('id', id, 'status', status, 'mode', mode, 'agent', assigned_agent_id)), '[]')
     FROM conv) AS conversations,
  (SELECT coalesce(json_agg(conv), '[]') FROM conv
    WHERE live > 1
       OR NOT ((status = 'offered' AND live = 1 AND states[1] = 'offered' AND holders[1] = assigned_agent_id AND modes[1] = mode)
            OR (status = 'assigned' AND live = 1 AND states[1] = 'active' AND holders[1] = assigned_agent_id AND modes[1] = mode)
            OR (status IN ('queued', 'closed') AND live = 0 AND assigned_agent_id IS NULL))) AS i1,
  (SELECT coalesce(json_agg(json_build_object('id', id, 'active_sync', active_sync, 'active_async', active_async,
            'sync_cap', sync_cap, 'async_cap', async_cap, 'live_sync', live_sync, 'live_async', live_async)), '[]')
     FROM agent
    WHERE active_sync > sync_cap OR active_async > async_cap OR active_sync <> live_sync OR active_async <> live_async) AS i2,
  (SELECT coalesce(json_agg(json_build_object('id', id, 'presence', presence, 'active_sync', active_sync,
            'active_async', active_async)), '[]') FROM agent) AS agents,
  (SELECT coalesce(json_agg(json_build_object('id', id, 'presence', presence, 'offers', offers, 'live_sync', live_sync)), '[]')
     FROM agent
    WHERE (presence <> 'online' AND offers > 0) OR (presence = 'offline' AND live_sync > 0)) AS presence,
  (SELECT coalesce(json_agg(json_build_object('conversation', c.id, 'mode', c.mode, 'queue', c.queue_id, 'agent', a.id,
            'active_sync', a.active_sync, 'active_async', a.active_async)), '[]')
     FROM conversations c
     JOIN queues q ON q.tenant_id = c.tenant_id AND q.id = c.queue_id
     JOIN agent a ON a.tenant_id = c.tenant_id AND a.presence = 'online'
                 AND q.required_skills <@ a.skills AND (cardinality(a.queue_ids) = 0 OR q.id = ANY (a.queue_ids))
    WHERE c.tenant_id = $1 AND c.status = 'queued'
      AND ((c.mode = 'sync'
            AND (a.wrap_up_until IS NULL OR a.wrap_up_until <= $3)
            AND a.active_sync < COALESCE(a.sync_cap, q.sync_cap, 1)
            AND NOT EXISTS (SELECT 1 FROM declines d WHERE d.conversation_id = c.id AND d.agent_id = a.id))
        OR (c.mode = 'async'
            AND a.active_async < COALESCE(a.async_cap, q.async_cap, 8)
            AND (a.active_sync = 0 OR NOT COALESCE(a.sync_blocks_async, q.sync_blocks_async, true))))) AS i6,
  (SELECT coalesce(json_agg(conv), '[]') FROM conv WHERE status IN ('offered', 'assigned') AND assigned_agent_id IS NULL) AS i6_unnamed,
  (SELECT count(*)::int FROM messages WHERE tenant_id = $1) AS messages_tenant,
  (SELECT count(*)::int FROM messages WHERE id = ANY ($4::uuid[])) AS messages_arrived,
  (SELECT coalesce(json_agg(json_build_object('id', id::text, 'conversation_id', conversation_id, 'agent_id', agent_id, 'mode', mode,
            'action', action) ORDER BY id), '[]')
     FROM assignment_audit WHERE tenant_id = $1 AND id > $6) AS audit,
  concat_ws(E'\\n',
    (SELECT string_agg(format('conversation %s status=%s mode=%s agent=%s queue=%s rank_at=%s version=%s priority=%s last_agent=%s last_assigned_at=%s closed_at=%s',
                              id, status, mode, assigned_agent_id, queue_id, rank_at, version, priority, last_agent_id, last_assigned_at, closed_at),
                       E'\\n' ORDER BY id)
       FROM conversations WHERE tenant_id = $1),
    (SELECT string_agg(format('agent %s presence=%s sync=%s async=%s version=%s lease=%s idle_since=%s wrap_up_until=%s offline_since=%s last_assigned_at=%s caps=%s/%s',
                              id, presence, active_sync, active_async, version, lease_expires_at, idle_since, wrap_up_until, offline_since,
                              last_assigned_at, sync_cap, async_cap),
                       E'\\n' ORDER BY id)
       FROM agent),
    (SELECT string_agg(format('assignment %s %s→%s mode=%s state=%s ended_at=%s accepted_at=%s',
                              s.id, s.conversation_id, s.agent_id, s.mode, s.state, s.ended_at, s.accepted_at),
                       E'\\n' ORDER BY s.id)
       FROM assignments s WHERE s.conversation_id = ANY (ARRAY(SELECT id FROM conversations WHERE tenant_id = $1))),
    (SELECT format('declines %s', count(*)) FROM declines WHERE conversation_id = ANY (ARRAY(SELECT id FROM conversations WHERE tenant_id = $1))),
    (SELECT format('messages %s', count(*)) FROM messages WHERE tenant_id = $1),
    (SELECT format('identities %s', count(*)) FROM channel_identities WHERE tenant_id = $1),
    (SELECT format('customers %s', count(*)) FROM customers WHERE tenant_id = $1),
    (SELECT format('audit rows %s', count(*)) FROM assignment_audit WHERE tenant_id = $1 AND id > $5)
  ) AS fingerprint`;

export interface StepExpectation {
  /** I7: the step must not change anything; the reason names the kind of redelivery or refusal. */
  unchanged?: string;
}

/** Reads the tenant's state, refreshes the model's view and throws an InvariantViolation on any breach. */
export async function verifyInvariants(model: RoutingModel, world: RouterWorld, expectation: StepExpectation = {}): Promise<void> {
  const state = await readState(model, world);
  const problems: string[] = [];

  if (state.i1.length > 0) problems.push(`I1 (one live assignment, status agrees with it): ${json(state.i1)}`);
  if (state.i2.length > 0) problems.push(`I2 (caps and counters): ${json(state.i2)}`);
  if (state.presence.length > 0) problems.push(`P (presence: no offers unless online, no live work when offline): ${json(state.presence)}`);
  if (state.messages_tenant !== model.arrivals.size || state.messages_arrived !== model.arrivals.size) {
    problems.push(
      `I4 (each arrival stored once): ${model.arrivals.size} distinct arrivals, ${state.messages_arrived} of them stored, ` +
        `${state.messages_tenant} messages in the tenant`,
    );
  }
  if (state.i6.length > 0) problems.push(`I6 (capacity left idle while work waits): ${json(state.i6)}`);
  if (state.i6_unnamed.length > 0) problems.push(`I6 (offered/assigned without an agent): ${json(state.i6_unnamed)}`);
  if (expectation.unchanged && state.fingerprint !== model.fingerprint) {
    problems.push(`I7 (${expectation.unchanged} changed the state):\n${diff(model.fingerprint, state.fingerprint)}`);
  }
  problems.push(...replayNewAudit(model, state.audit, state.agents));

  model.fingerprint = state.fingerprint;
  model.conversations = state.conversations.map(
    (row): ConversationView => ({ id: row.id, label: conversationLabel(model, row.id), status: row.status, mode: row.mode, agentId: row.agent }),
  );
  model.conversations.sort((a, b) => Number(a.label.slice(1)) - Number(b.label.slice(1)));
  model.presence = new Map(state.agents.map((agent) => [agent.id, agent.presence]));

  if (problems.length > 0) {
    throw new InvariantViolation(
      relabel(
        model,
        [
          `invariant violated after step ${model.step} (tenant ${model.tenant}):`,
          ...problems.map((problem) => `  - ${problem}`),
          'steps of this run (agents a0…, conversations c0… in order of arrival):',
          ...model.trace.map((line) => `  ${line}`),
          'state now:',
          ...describeState(model, state).map((line) => `  ${line}`),
        ].join('\n'),
      ),
    );
  }
}

/** The state fingerprint only (I7 checks around a redelivery inside one step). */
export async function fingerprint(model: RoutingModel, world: RouterWorld): Promise<string> {
  return (await readState(model, world)).fingerprint;
}

/** One round trip, a prepared statement: the whole state of the tenant and the audit rows since the last read. */
async function readState(model: RoutingModel, world: RouterWorld): Promise<StateRow> {
  const { rows } = await world.pool.query<StateRow>({
    name: 'a1-routing-model-state',
    text: STATE_SQL,
    values: [
      model.tenant,
      model.agents.map((agent) => agent.id),
      world.clock.now(),
      [...model.arrivals],
      model.replay.baseAuditId,
      model.replay.lastAuditId,
    ],
  });
  return rows[0];
}

/**
 * Replays the audit rows written since the last step, in id order: I3 (no async work handed to an
 * agent holding sync work), I5 (no offer to a decliner), A4 (never above a cap, never negative, and
 * the replayed holdings equal the counters).
 */
function replayNewAudit(model: RoutingModel, rows: AuditRow[], agents: StateRow['agents']): string[] {
  const problems: string[] = [];
  const { held, refused } = model.replay;
  for (const row of rows) {
    model.replay.lastAuditId = row.id;
    const delta = DELTA[row.action];
    const where = `audit ${row.id} ${row.action} ${row.mode} ${conversationLabel(model, row.conversation_id)} → ${agentLabel(model, row.agent_id)}`;
    if (delta === undefined) {
      problems.push(`A4: ${where}: action not classified for replay`);
      continue;
    }
    if (!row.agent_id) continue;
    const current = held.get(row.agent_id) ?? { sync: 0, async: 0 };
    held.set(row.agent_id, current);
    const pair = `${row.conversation_id}|${row.agent_id}`;
    if ((row.action === 'offer' || row.action === 'assign') && row.mode === 'async' && current.sync > 0) {
      problems.push(`I3 (async work to an agent holding sync work): ${where} while holding ${current.sync} sync`);
    }
    if ((row.action === 'offer' || row.action === 'assign') && row.mode === 'sync' && refused.has(pair)) {
      problems.push(`I5 (offered again after a decline/timeout): ${where}`);
    }
    if (row.action === 'decline' || row.action === 'offer-timeout') refused.add(pair);
    current[row.mode] += delta;
    const spec = model.agents.find((agent) => agent.id === row.agent_id);
    if (current[row.mode] < 0) problems.push(`A4: ${where}: ${row.mode} holdings went negative`);
    if (spec && current[row.mode] > (row.mode === 'sync' ? spec.syncCap : spec.asyncCap)) {
      problems.push(`A4: ${where}: ${current[row.mode]} ${row.mode} held, cap ${row.mode === 'sync' ? spec.syncCap : spec.asyncCap}`);
    }
  }
  for (const agent of agents) {
    const replayed = held.get(agent.id) ?? { sync: 0, async: 0 };
    if (!isDeepStrictEqual(replayed, { sync: agent.active_sync, async: agent.active_async })) {
      problems.push(
        `A4: audit replays ${agentLabel(model, agent.id)} to sync ${replayed.sync}/async ${replayed.async}, ` +
          `counters say ${agent.active_sync}/${agent.active_async}`,
      );
    }
  }
  return problems;
}

function describeState(model: RoutingModel, state: StateRow): string[] {
  const agents = state.agents.map(
    (agent) => `${agentLabel(model, agent.id)} ${agent.presence} sync ${agent.active_sync} async ${agent.active_async}`,
  );
  const conversations = model.conversations.map(
    (conversation) => `${conversation.label} ${conversation.mode} ${conversation.status} ${agentLabel(model, conversation.agentId)}`,
  );
  return [agents.join('; '), conversations.join('; ')];
}

function diff(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const removed = a.filter((line) => !b.includes(line)).map((line) => `    - ${line}`);
  const added = b.filter((line) => !a.includes(line)).map((line) => `    + ${line}`);
  return [...removed, ...added].join('\n');
}

function json(value: unknown): string {
  return JSON.stringify(value);
}
