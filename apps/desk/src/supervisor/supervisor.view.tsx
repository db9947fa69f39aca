/**
 * The supervisor view: queues (waiting by mode, oldest wait against the SLA, agents online and of
 * those the ones with room now by mode) and agents (presence, load per mode) from the live stats
 * feed; a click on a queue or agent row lists its open conversations (re-read at each push), each
 * with a shortcut into the reassign form. Changing an
 * agent's caps and reassigning a conversation are REST commands whose effect shows up in the next push.
 */
import { useId, useState, type FormEvent, type MouseEvent } from 'react';
import { describeFailure, type DeskApi } from '../api/api.client';
import type { AgentStats, QueueStats, StatsSnapshot, SupervisedConversation } from '../api/api.types';
import type { ConnectionState } from '../desk/agent-connection';
import { ConnectionIndicator } from '../shared/connection-indicator.view';
import { ChannelBadge } from '../shared/channel-badge.view';
import { formatAge, formatClock, formatDuration, modeLabel } from '../shared/format';
import { useSupervisedConversations, type ListSelection, type SupervisedList } from './use-supervisor.hook';

type Api = Pick<DeskApi, 'setCapacity' | 'reassign' | 'conversation' | 'supervisedConversations'>;

interface SupervisorViewProps {
  stats: StatsSnapshot | undefined;
  connection: ConnectionState;
  error?: string;
  api: Api;
  now: number;
}

type Outcome = { kind: 'ok' | 'error'; text: string } | undefined;

/** What the reassign form shows about the conversation it will move. */
interface Found {
  channel: string;
  customer: string;
  status: string;
  queueId: string | null;
  holder: string | null;
}

/** A listed conversation picked for the reassign form; `nonce` starts a fresh form even for the same one. */
interface Picked {
  conversation: SupervisedConversation;
  nonce: number;
}

const PAGE = 50;
/** The gateway's largest page: the list grows by PAGE up to here. */
const MAX_PAGE = 200;

export function SupervisorView({ stats, connection, error, api, now }: SupervisorViewProps) {
  const [selection, setSelection] = useState<ListSelection>();
  const [limit, setLimit] = useState(PAGE);
  const [picked, setPicked] = useState<Picked>();
  const listed = useSupervisedConversations(api.supervisedConversations, selection, stats?.at, limit);
  const canList = api.supervisedConversations !== undefined;
  const select = (next: ListSelection) => {
    setLimit(PAGE);
    setSelection((current) => (current?.kind === next.kind && current.id === next.id ? undefined : next));
  };
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
          <QueuesTable queues={stats.queues} selected={selection?.kind === 'queue' ? selection.id : undefined} onSelect={canList ? (id) => select({ kind: 'queue', id }) : undefined} />
          <AgentsTable
            agents={stats.agents}
            api={api}
            now={now}
            selected={selection?.kind === 'agent' ? selection.id : undefined}
            onSelect={canList ? (id) => select({ kind: 'agent', id }) : undefined}
          />
          {selection && (
            <ConversationList
              title={listTitle(selection, stats)}
              list={listed}
              limit={limit}
              now={now}
              onMore={() => setLimit((current) => Math.min(MAX_PAGE, current + PAGE))}
              onHide={() => setSelection(undefined)}
              onPick={(conversation) => setPicked((current) => ({ conversation, nonce: (current?.nonce ?? 0) + 1 }))}
            />
          )}
          <Reassign key={picked?.nonce ?? 0} stats={stats} api={api} picked={picked?.conversation} onMoved={listed.reload} />
        </>
      )}
    </main>
  );
}

/** A row that lists its conversations when clicked; its name is a button, for the keyboard. */
function rowProps(id: string, selected: string | undefined, onSelect: ((id: string) => void) | undefined) {
  if (!onSelect) return {};
  return { onClick: () => onSelect(id), 'data-selected': selected === id ? 'true' : undefined };
}

function RowName({ name, id, selected, selectable }: { name: string; id: string; selected: boolean; selectable: boolean }) {
  if (!selectable) return <>{name}</>;
  // No onClick of its own: the click bubbles to the row, which handles mouse and keyboard alike.
  return (
    <button type="button" aria-pressed={selected} aria-label={`${name} conversations`} title={`Show the conversations of ${id}`}>
      {name}
    </button>
  );
}

function QueuesTable({ queues, selected, onSelect }: { queues: QueueStats[]; selected?: string; onSelect?: (id: string) => void }) {
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
            <th scope="col" title="Online, with the queue's skills, serving it">
              Agents online
            </th>
            <th scope="col" title="Of the agents online, those with room now for one more live item">
              Free for live
            </th>
            <th scope="col" title="Of the agents online, those with room now for one more async thread">
              Free for async
            </th>
          </tr>
        </thead>
        <tbody>
          {queues.map((queue) => (
            <tr key={queue.id} data-testid="queue-row" data-queue-id={queue.id} data-sla={queue.slaState} {...rowProps(queue.id, selected, onSelect)}>
              <th scope="row">
                <RowName name={queue.name} id={queue.id} selected={selected === queue.id} selectable={onSelect !== undefined} /> <span className="meta">{queue.id}</span>
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
              <td data-testid="queue-agents-online">{queue.agentsOnline}</td>
              <td data-testid="queue-agents-sync">{queue.agentsAvailableSync}</td>
              <td data-testid="queue-agents-async">{queue.agentsAvailableAsync}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface AgentsTableProps {
  agents: AgentStats[];
  api: Api;
  now: number;
  selected?: string;
  onSelect?: (id: string) => void;
}

function AgentsTable({ agents, api, now, selected, onSelect }: AgentsTableProps) {
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
              <tr key={agent.id} data-testid="agent-row" data-agent-id={agent.id} data-presence={agent.presence} {...rowProps(agent.id, selected, onSelect)}>
                <th scope="row">
                  <RowName name={agent.name} id={agent.id} selected={selected === agent.id} selectable={onSelect !== undefined} /> <span className="meta">{agent.id}</span>
                </th>
                <td>
                  <span className={`badge presence presence-${agent.presence}`}>{agent.presence}</span>
                  {wrapUp !== undefined && <span className="meta"> wrap-up {wrapUp}s</span>}
                </td>
                <td data-testid="agent-sync-load">{`${agent.syncLoad}/${agent.syncCap}`}</td>
                <td data-testid="agent-async-load">{`${agent.asyncLoad}/${agent.asyncCap}`}</td>
                <td>{agent.queueIds.join(', ') || '—'}</td>
                {/* Editing caps is not a click on the row. */}
                <td onClick={stopPropagation}>
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

const stopPropagation = (event: MouseEvent) => event.stopPropagation();

function listTitle(selection: ListSelection, stats: StatsSnapshot): string {
  if (selection.kind === 'queue') {
    const queue = stats.queues.find((candidate) => candidate.id === selection.id);
    return `Conversations in ${queue?.name ?? selection.id}`;
  }
  const agent = stats.agents.find((candidate) => candidate.id === selection.id);
  return `Conversations of ${agent?.name ?? selection.id}`;
}

const customerOf = (conversation: SupervisedConversation) => conversation.customer.name ?? 'unnamed customer';

/** Waiting time (ticking from the page's time), or who has it and since when. */
function whereItIs(conversation: SupervisedConversation, at: string, now: number): string {
  const holder = conversation.assignedAgentName ?? conversation.assignedAgentId ?? 'an agent';
  switch (conversation.status) {
    case 'queued':
      return `waiting ${formatDuration((conversation.waitingS ?? 0) + Math.max(0, (now - Date.parse(at)) / 1000))}`;
    case 'offered':
      return `offered to ${holder}`;
    case 'assigned':
      return conversation.assignedAt ? `with ${holder} · ${formatAge(conversation.assignedAt, now)}` : `with ${holder}`;
    default:
      return 'with the bot';
  }
}

interface ConversationListProps {
  title: string;
  list: SupervisedList;
  limit: number;
  now: number;
  onMore(): void;
  onHide(): void;
  onPick(conversation: SupervisedConversation): void;
}

function ConversationList({ title, list, limit, now, onMore, onHide, onPick }: ConversationListProps) {
  const id = useId();
  const { page, error } = list;
  return (
    <section className="panel" aria-labelledby={`${id}-title`} data-testid="supervisor-conversations">
      <div className="buttons">
        <h2 id={`${id}-title`}>{title}</h2>
        <button type="button" onClick={onHide}>
          Hide list
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!page ? (
        !error && <p className="empty">Loading…</p>
      ) : page.conversations.length === 0 ? (
        <p className="empty">No open conversations.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Channel</th>
              <th scope="col">Customer</th>
              <th scope="col">Waiting or holder</th>
              <th scope="col">Queue</th>
              <th scope="col">
                <span className="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.conversations.map((conversation) => (
              <tr key={conversation.id} data-testid="supervisor-conversation" data-conversation-id={conversation.id} data-status={conversation.status}>
                <td>
                  <span className={`badge status-${conversation.status}`}>{conversation.status}</span>
                </td>
                <td>
                  <ChannelBadge channel={conversation.channel} /> <span className={`badge mode-${conversation.mode}`}>{modeLabel(conversation.mode)}</span>
                </td>
                <td>{customerOf(conversation)}</td>
                <td>{whereItIs(conversation, page.at, now)}</td>
                <td>{conversation.queueId ?? '—'}</td>
                <td>
                  <button type="button" aria-label={`Reassign conversation ${conversation.id}`} onClick={() => onPick(conversation)}>
                    Reassign
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page?.nextCursor && (
        limit < MAX_PAGE ? (
          <button type="button" onClick={onMore}>
            Show more conversations
          </button>
        ) : (
          <p className="hint">Showing the first {MAX_PAGE}; filter by agent or queue to see the rest.</p>
        )
      )}
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

interface ReassignProps {
  stats: StatsSnapshot;
  api: Api;
  /** A conversation picked from a list: the form opens filled in with it (remounted per pick). */
  picked?: SupervisedConversation;
  onMoved?(): void;
}

function Reassign({ stats, api, picked, onMoved }: ReassignProps) {
  const [conversationId, setConversationId] = useState(picked?.id ?? '');
  const [kind, setKind] = useState<'agent' | 'queue'>('agent');
  const [agentId, setAgentId] = useState('');
  const [queueId, setQueueId] = useState('');
  const [found, setFound] = useState<Found | undefined>(
    picked && {
      channel: picked.channel,
      customer: customerOf(picked),
      status: picked.status,
      queueId: picked.queueId,
      holder: picked.assignedAgentId,
    },
  );
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
      const detail = await api.conversation(trimmed);
      setFound({
        channel: detail.channel,
        customer: detail.customer.name ?? detail.customer.address,
        status: detail.status,
        queueId: detail.queueId,
        holder: detail.assignedAgentId,
      });
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
      onMoved?.();
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
            <ChannelBadge channel={found.channel} /> {found.customer} · {found.status} · queue {found.queueId ?? '—'}
            {found.holder ? ` · with ${found.holder}` : ''}
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
            {/* Focused when a listed conversation was picked, which also scrolls the form into view. */}
            <select id={`${id}-agent`} value={target ?? ''} autoFocus={picked !== undefined} onChange={(event) => setAgentId(event.target.value)}>
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
