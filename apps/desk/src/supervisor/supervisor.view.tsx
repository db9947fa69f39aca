/**
 * The supervisor view: queues (waiting by mode, oldest wait against the SLA) and agents (presence,
 * load per mode) from the live stats feed; changing an agent's caps and reassigning a conversation
 * are REST commands whose effect shows up in the next push.
 */
import { useId, useState, type FormEvent } from 'react';
import { describeFailure, type DeskApi } from '../api/api.client';
import type { AgentStats, ConversationDetail, QueueStats, StatsSnapshot } from '../api/api.types';
import type { ConnectionState } from '../desk/agent-connection';
import { ConnectionIndicator } from '../shared/connection-indicator.view';
import { ChannelBadge } from '../shared/channel-badge.view';
import { formatClock, formatDuration, modeLabel } from '../shared/format';

type Api = Pick<DeskApi, 'setCapacity' | 'reassign' | 'conversation'>;

interface SupervisorViewProps {
  stats: StatsSnapshot | undefined;
  connection: ConnectionState;
  error?: string;
  api: Api;
  now: number;
}

type Outcome = { kind: 'ok' | 'error'; text: string } | undefined;

export function SupervisorView({ stats, connection, error, api, now }: SupervisorViewProps) {
  return (
    <main className="supervisor" id="main" tabIndex={-1}>
      <header className="supervisor-header">
        <h1>Supervisor</h1>
        <ConnectionIndicator state={connection} testId="supervisor-connection" label="Live stats" />
        {stats && <p className="meta">updated {formatClock(stats.at)}</p>}
      </header>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!stats ? (
        <p className="empty">Waiting for the first stats…</p>
      ) : (
        <>
          <QueuesTable queues={stats.queues} />
          <AgentsTable agents={stats.agents} api={api} now={now} />
          <Reassign stats={stats} api={api} />
        </>
      )}
    </main>
  );
}

function QueuesTable({ queues }: { queues: QueueStats[] }) {
  return (
    <section className="panel" aria-labelledby="queues-title">
      <h2 id="queues-title">Queues</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col">Waiting live</th>
            <th scope="col">Waiting async</th>
            <th scope="col">Offered</th>
            <th scope="col">Held</th>
            <th scope="col">Oldest wait</th>
            <th scope="col">SLA</th>
            <th scope="col">Agents online</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((queue) => (
            <tr key={queue.id} data-testid="queue-row" data-queue-id={queue.id} data-sla={queue.slaState}>
              <th scope="row">
                {queue.name} <span className="meta">{queue.id}</span>
              </th>
              <td>{queue.waitingSync}</td>
              <td>{queue.waitingAsync}</td>
              <td>{queue.offered}</td>
              <td>{queue.assigned}</td>
              <td>
                {queue.oldestWaitS === null ? '—' : formatDuration(queue.oldestWaitS)}
                {queue.maxWaitS !== null && <span className="meta max-wait">of {formatDuration(queue.maxWaitS)}</span>}
              </td>
              <td>
                <span className={`badge sla sla-${queue.slaState}`}>{queue.slaState}</span>
              </td>
              <td>{queue.agentsOnline}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AgentsTable({ agents, api, now }: { agents: AgentStats[]; api: Api; now: number }) {
  const [editing, setEditing] = useState<string>();
  return (
    <section className="panel" aria-labelledby="agents-title">
      <h2 id="agents-title">Agents</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Agent</th>
            <th scope="col">Presence</th>
            <th scope="col">{modeLabel('sync')} load</th>
            <th scope="col">{modeLabel('async')} load</th>
            <th scope="col">Queues</th>
            <th scope="col">Caps</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((agent) => {
            const wrapUp = agent.wrapUpUntil && Date.parse(agent.wrapUpUntil) > now ? Math.ceil((Date.parse(agent.wrapUpUntil) - now) / 1000) : undefined;
            return (
              <tr key={agent.id} data-testid="agent-row" data-agent-id={agent.id} data-presence={agent.presence}>
                <th scope="row">
                  {agent.name} <span className="meta">{agent.id}</span>
                </th>
                <td>
                  <span className={`badge presence presence-${agent.presence}`}>{agent.presence}</span>
                  {wrapUp !== undefined && <span className="meta"> wrap-up {wrapUp}s</span>}
                </td>
                <td data-testid="agent-sync-load">{`${agent.syncLoad}/${agent.syncCap}`}</td>
                <td data-testid="agent-async-load">{`${agent.asyncLoad}/${agent.asyncCap}`}</td>
                <td>{agent.queueIds.join(', ') || '—'}</td>
                <td>
                  {editing === agent.id ? (
                    <CapsForm agent={agent} api={api} onDone={() => setEditing(undefined)} />
                  ) : (
                    <button type="button" aria-label={`Edit caps of ${agent.id}`} onClick={() => setEditing(agent.id)}>
                      Edit
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** Blank means inherit (the queues' cap, else the default); the API takes null for that. */
function capValue(text: string): number | null {
  return text.trim() === '' ? null : Number(text);
}

function CapsForm({ agent, api, onDone }: { agent: AgentStats; api: Api; onDone(): void }) {
  const [sync, setSync] = useState(String(agent.syncCap));
  const [async, setAsync] = useState(String(agent.asyncCap));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const id = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api.setCapacity(agent.id, { syncCap: capValue(sync), asyncCap: capValue(async) });
      onDone();
    } catch (failure) {
      setError(describeFailure(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="caps-form" onSubmit={(event) => void submit(event)} aria-label={`Caps of ${agent.id}`}>
      <label htmlFor={`${id}-sync`}>Live cap of {agent.id}</label>
      <input id={`${id}-sync`} type="number" min={0} max={100} step={1} value={sync} placeholder="inherit" onChange={(event) => setSync(event.target.value)} />
      <label htmlFor={`${id}-async`}>Async cap of {agent.id}</label>
      <input id={`${id}-async`} type="number" min={0} max={100} step={1} value={async} placeholder="inherit" onChange={(event) => setAsync(event.target.value)} />
      <button type="submit" className="primary" disabled={busy}>
        Save
      </button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
      <p className="hint">Leave blank to inherit the queue cap.</p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function Reassign({ stats, api }: { stats: StatsSnapshot; api: Api }) {
  const [conversationId, setConversationId] = useState('');
  const [kind, setKind] = useState<'agent' | 'queue'>('agent');
  const [agentId, setAgentId] = useState('');
  const [queueId, setQueueId] = useState('');
  const [found, setFound] = useState<ConversationDetail>();
  const [outcome, setOutcome] = useState<Outcome>();
  const [busy, setBusy] = useState(false);
  const id = useId();
  const trimmed = conversationId.trim();
  const target = kind === 'agent' ? agentId || stats.agents[0]?.id : queueId || stats.queues[0]?.id;

  const lookUp = async () => {
    setFound(undefined);
    setOutcome(undefined);
    if (!UUID.test(trimmed)) {
      setOutcome({ kind: 'error', text: 'A conversation id is a UUID.' });
      return;
    }
    try {
      setFound(await api.conversation(trimmed));
    } catch (failure) {
      setOutcome({ kind: 'error', text: describeFailure(failure) });
    }
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!UUID.test(trimmed) || !target) {
      setOutcome({ kind: 'error', text: 'Give a conversation id (a UUID) and a target.' });
      return;
    }
    setBusy(true);
    setOutcome(undefined);
    try {
      await api.reassign(trimmed, kind === 'agent' ? { agentId: target } : { queueId: target });
      setOutcome({ kind: 'ok', text: `Moved to ${kind} ${target}.` });
      setFound(undefined);
    } catch (failure) {
      setOutcome({ kind: 'error', text: describeFailure(failure) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Reassign a conversation</h2>
      <form className="reassign" onSubmit={(event) => void submit(event)}>
        <div className="field">
          <label htmlFor={`${id}-conversation`}>Conversation id</label>
          <input
            id={`${id}-conversation`}
            value={conversationId}
            autoComplete="off"
            spellCheck={false}
            onChange={(event) => setConversationId(event.target.value)}
            onBlur={() => UUID.test(conversationId.trim()) && void lookUp()}
          />
          <button type="button" onClick={() => void lookUp()}>
            Look up
          </button>
        </div>
        {found && (
          <p className="meta" role="status">
            <ChannelBadge channel={found.channel} /> {found.customer.name ?? found.customer.address} · {found.status} · queue {found.queueId}
            {found.assignedAgentId ? ` · with ${found.assignedAgentId}` : ''}
          </p>
        )}
        <fieldset>
          <legend>Move to</legend>
          <label>
            <input type="radio" name={`${id}-kind`} checked={kind === 'agent'} onChange={() => setKind('agent')} /> an agent
          </label>
          <label>
            <input type="radio" name={`${id}-kind`} checked={kind === 'queue'} onChange={() => setKind('queue')} /> a queue
          </label>
        </fieldset>
        {kind === 'agent' ? (
          <div className="field">
            <label htmlFor={`${id}-agent`}>Target agent</label>
            <select id={`${id}-agent`} value={target ?? ''} onChange={(event) => setAgentId(event.target.value)}>
              {stats.agents.map((agent) => (
                <option key={agent.id} value={agent.id}>
                  {agent.name} ({agent.id}, {agent.presence}, live {agent.syncLoad}/{agent.syncCap}, async {agent.asyncLoad}/{agent.asyncCap})
                </option>
              ))}
            </select>
          </div>
        ) : (
          <div className="field">
            <label htmlFor={`${id}-queue`}>Target queue</label>
            <select id={`${id}-queue`} value={target ?? ''} onChange={(event) => setQueueId(event.target.value)}>
              {stats.queues.map((queue) => (
                <option key={queue.id} value={queue.id}>
                  {queue.name} ({queue.id})
                </option>
              ))}
            </select>
          </div>
        )}
        <button type="submit" className="primary" disabled={busy}>
          Reassign
        </button>
        {outcome && (
          <p className={outcome.kind === 'error' ? 'error' : 'ok'} role={outcome.kind === 'error' ? 'alert' : 'status'}>
            {outcome.text}
          </p>
        )}
      </form>
    </section>
  );
}
