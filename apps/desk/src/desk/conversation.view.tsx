/**
 * One conversation: what a bot gathered before handing it over and the customer's attributes, the
 * customer's history on every channel (oldest first, a divider where the conversation changes),
 * delivery ticks on the agent's replies, and — while the agent holds it — the reply box, internal
 * notes and the hand-off actions (transfer, release, close, escalate).
 */
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import type { ConversationDetail, ConversationSummary, DeliveryStatus, MessageView, TransferTarget, WorkItem } from '../api/api.types';
import { botHandoffOf, customerFactsOf, type Attribute, type AttributeValue } from '../api/conversation-context.parser';
import { ChannelBadge } from '../shared/channel-badge.view';
import { formatClock, formatDateTime, modeLabel } from '../shared/format';
import { newClientId } from '../shared/client-id';
import type { DeskState, Thread } from './desk.reducer';
import { deliveryOf, deliveryReasonOf } from './desk.reducer';
import type { DeskActions } from './use-desk.hook';

/** Agent typing is re-announced at most this often, and withdrawn after this long without a keystroke. */
const TYPING_REPEAT_MS = 2_000;
const TYPING_IDLE_MS = 4_000;

export interface Draft {
  reply: string;
  replyId?: string;
  note: string;
  noteId?: string;
}

interface ConversationProps {
  conversationId: string;
  thread: Thread | undefined;
  item: WorkItem | undefined;
  endedReason: string | undefined;
  deliveries: DeskState['deliveries'];
  customerTyping: boolean;
  agentId: string;
  queueIds: string[];
  draft: Draft;
  onDraft(draft: Draft): void;
  actions: Pick<DeskActions, 'reply' | 'note' | 'transfer' | 'close' | 'release' | 'escalate' | 'typing' | 'loadOlder' | 'select'>;
}

const TICKS: Record<DeliveryStatus, string> = { queued: '◷', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '!' };

export function Conversation(props: ConversationProps) {
  const { conversationId, thread, item, endedReason, deliveries, customerTyping, agentId, draft, onDraft, actions } = props;
  const detail = thread?.detail;
  const held = item !== undefined && endedReason === undefined;
  const mode = item?.mode ?? detail?.mode;
  const channel = item?.channel ?? detail?.channel ?? '';
  const customerName = detail?.customer.name ?? item?.customer?.name ?? 'Customer';
  const [panel, setPanel] = useState<'none' | 'transfer' | 'close'>('none');
  const [busy, setBusy] = useState(false);
  const titleId = useId();
  const logRef = useRef<HTMLOListElement>(null);
  const typingState = useRef<{ lastSent: number; idle?: ReturnType<typeof setTimeout> }>({ lastSent: 0 });

  const messageCount = thread?.messages.length ?? 0;
  const newestId = thread?.messages.at(-1)?.id;
  useEffect(() => {
    const log = logRef.current;
    if (log && typeof log.scrollTo === 'function') log.scrollTo({ top: log.scrollHeight });
  }, [newestId, conversationId]);

  useEffect(() => {
    const state = typingState.current;
    return () => clearTimeout(state.idle);
  }, [conversationId]);

  const run = async (action: () => Promise<boolean>, after?: () => void) => {
    setBusy(true);
    try {
      if (await action()) after?.();
    } finally {
      setBusy(false);
    }
  };

  const stopTyping = () => {
    clearTimeout(typingState.current.idle);
    if (typingState.current.lastSent > 0) actions.typing(conversationId, false);
    typingState.current.lastSent = 0;
  };

  const onReplyChange = (text: string) => {
    onDraft({ ...draft, reply: text });
    if (!held || mode !== 'sync') return;
    const now = Date.now();
    if (text && now - typingState.current.lastSent > TYPING_REPEAT_MS) {
      actions.typing(conversationId, true);
      typingState.current.lastSent = now;
    }
    clearTimeout(typingState.current.idle);
    typingState.current.idle = setTimeout(stopTyping, text ? TYPING_IDLE_MS : 0);
  };

  const sendReply = (event?: FormEvent) => {
    event?.preventDefault();
    const text = draft.reply.trim();
    if (!text || busy) return;
    // The client id is kept until the send succeeds, so a retry after an error cannot send twice.
    const clientMessageId = draft.replyId ?? newClientId('r');
    onDraft({ ...draft, replyId: clientMessageId });
    stopTyping();
    void run(
      () => actions.reply(conversationId, clientMessageId, text),
      () => onDraft({ ...draft, reply: '', replyId: undefined }),
    );
  };

  const onReplyKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      sendReply();
    }
  };

  const addNote = (event: FormEvent) => {
    event.preventDefault();
    const text = draft.note.trim();
    if (!text || busy) return;
    const clientMessageId = draft.noteId ?? newClientId('n');
    onDraft({ ...draft, noteId: clientMessageId });
    void run(
      () => actions.note(conversationId, clientMessageId, text),
      () => onDraft({ ...draft, note: '', noteId: undefined }),
    );
  };

  return (
    <section className="panel conversation" data-testid="conversation" data-conversation-id={conversationId} aria-labelledby={titleId}>
      <header className="conversation-header">
        <div>
          <h2 id={titleId}>{customerName}</h2>
          <p className="meta">
            <ChannelBadge channel={channel} />
            {mode && <span className={`badge mode mode-${mode}`}>{modeLabel(mode)}</span>}
            {detail && <span>{detail.customer.address}</span>}
            {detail && <span>queue {detail.queueId}</span>}
            {detail && <span>{held ? 'assigned to you' : (endedReason ?? detail.status)}</span>}
          </p>
        </div>
        <button type="button" className="ghost" aria-label="Hide conversation" onClick={() => actions.select(null)}>
          ×
        </button>
      </header>

      {detail && <HandoffFacts detail={detail} />}

      {detail && detail.otherConversations.length > 0 && <OtherConversations conversations={detail.otherConversations} />}

      {endedReason !== undefined && (
        <p className="banner" role="status">
          This conversation is no longer on your desk ({endedReason}).
        </p>
      )}
      {!item && endedReason === undefined && detail && (
        <p className="banner" role="status">
          You do not hold this conversation: history only.
        </p>
      )}

      <div className="history">
        {thread?.nextCursor && (
          <button type="button" className="link" onClick={() => void actions.loadOlder(conversationId)}>
            Load older messages
          </button>
        )}
        {thread?.error && (
          <p className="error" role="alert">
            Could not load the conversation: {thread.error}
          </p>
        )}
        <ol className="messages" ref={logRef} role="log" aria-label="Messages" aria-busy={thread?.loading ?? true}>
          {thread?.messages.map((message, index) => (
            <MessageRow
              key={message.id}
              message={message}
              previous={thread.messages[index - 1]}
              current={conversationId}
              detail={detail}
              agentId={agentId}
              customerName={customerName}
              delivery={deliveryOf({ deliveries }, message)}
              reason={deliveryReasonOf({ deliveries }, message)}
            />
          ))}
        </ol>
        {thread && !thread.loading && messageCount === 0 && !thread.error && <p className="empty">No messages yet.</p>}
        {thread?.loading && messageCount === 0 && <p className="empty">Loading…</p>}
      </div>

      <p className="typing" aria-live="polite">
        {customerTyping ? `${customerName} is typing…` : ''}
      </p>

      <form className="composer" onSubmit={sendReply}>
        <label htmlFor={`${titleId}-reply`}>Reply</label>
        <textarea
          id={`${titleId}-reply`}
          rows={3}
          value={draft.reply}
          disabled={!held}
          placeholder={held ? `Reply on ${channel} (Enter sends, Shift+Enter for a new line)` : ''}
          onChange={(event) => onReplyChange(event.target.value)}
          onKeyDown={onReplyKey}
          onBlur={stopTyping}
        />
        <button type="submit" className="primary" disabled={!held || busy || !draft.reply.trim()}>
          Send
        </button>
      </form>

      <form className="composer note" onSubmit={addNote}>
        <label htmlFor={`${titleId}-note`}>Note</label>
        <textarea
          id={`${titleId}-note`}
          rows={2}
          value={draft.note}
          disabled={!held}
          placeholder={held ? 'Internal note, seen by agents only' : ''}
          onChange={(event) => onDraft({ ...draft, note: event.target.value })}
        />
        <button type="submit" disabled={!held || busy || !draft.note.trim()}>
          Add note
        </button>
      </form>

      <div className="actions" role="group" aria-label="Conversation actions">
        <button type="button" disabled={!held || busy} aria-expanded={panel === 'transfer'} onClick={() => setPanel(panel === 'transfer' ? 'none' : 'transfer')}>
          Transfer
        </button>
        <button type="button" disabled={!held || busy} onClick={() => void run(() => actions.release(conversationId))}>
          Release
        </button>
        <button type="button" disabled={!held || busy} aria-expanded={panel === 'close'} onClick={() => setPanel(panel === 'close' ? 'none' : 'close')}>
          Close
        </button>
        <button
          type="button"
          disabled={!held || busy || mode !== 'async'}
          title={mode === 'async' ? 'Turn this thread into a live call' : 'Already live'}
          onClick={() => void run(() => actions.escalate(conversationId))}
        >
          Escalate to call
        </button>
      </div>

      {held && panel === 'transfer' && (
        <TransferForm
          queueIds={props.queueIds}
          busy={busy}
          onCancel={() => setPanel('none')}
          onSubmit={(to) => void run(() => actions.transfer(conversationId, to), () => setPanel('none'))}
        />
      )}
      {held && panel === 'close' && (
        <CloseForm busy={busy} onCancel={() => setPanel('none')} onSubmit={(wrapUp) => void run(() => actions.close(conversationId, wrapUp), () => setPanel('none'))} />
      )}
    </section>
  );
}

function OtherConversations({ conversations }: { conversations: ConversationSummary[] }) {
  return (
    <details className="others">
      <summary>
        {conversations.length} other conversation{conversations.length === 1 ? '' : 's'} with this customer
      </summary>
      <ul>
        {conversations.map((other) => (
          <li key={other.id}>
            <ChannelBadge channel={other.channel} /> {other.status} · started {formatDateTime(other.createdAt)}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** What the bot gathered and what is known about the customer, so the agent does not ask again. */
function HandoffFacts({ detail }: { detail: ConversationDetail }) {
  const bot = botHandoffOf(detail.context);
  const customer = customerFactsOf(detail.customer.attributes);
  if (!bot && customer.attributes.length === 0) return null;
  return (
    <div className="facts">
      {bot && (
        <FactPanel title="From the bot" className="bot-handoff" testId="bot-handoff">
          {bot.summary === undefined ? (
            <p className="hint">The bot left no summary.</p>
          ) : (
            <p className="summary" data-testid="bot-summary">
              {bot.summary}
            </p>
          )}
          {bot.attributes.length > 0 && <AttributeList attributes={bot.attributes} testId="bot-attributes" />}
        </FactPanel>
      )}
      {customer.attributes.length > 0 && (
        <FactPanel
          title="Customer"
          className="customer-facts"
          testId="customer-facts"
          badges={
            <>
              {customer.vip && (
                <span className="badge vip" data-testid="customer-vip">
                  VIP
                </span>
              )}
              {customer.tier !== undefined && (
                <span className="badge vip" data-testid="customer-tier">
                  {customer.tier} tier
                </span>
              )}
            </>
          }
        >
          <AttributeList attributes={customer.attributes} testId="customer-attributes" />
        </FactPanel>
      )}
    </div>
  );
}

function FactPanel({ title, className, testId, badges, children }: { title: string; className: string; testId: string; badges?: ReactNode; children: ReactNode }) {
  const headingId = useId();
  return (
    <section className={`fact-panel ${className}`} data-testid={testId} aria-labelledby={headingId}>
      <h3>
        <span id={headingId}>{title}</span>
        {badges}
      </h3>
      {children}
    </section>
  );
}

function AttributeList({ attributes, testId }: { attributes: Attribute[]; testId: string }) {
  return (
    <dl className="attributes" data-testid={testId}>
      {attributes.map(({ key, value }) => (
        <div key={key} data-testid="attribute" data-key={key}>
          <dt>{key}</dt>
          <dd className={value === null ? 'hint' : undefined}>{attributeText(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

const attributeText = (value: AttributeValue) => (value === null ? 'not set' : typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value));

interface MessageRowProps {
  message: MessageView;
  previous: MessageView | undefined;
  current: string;
  detail: Thread['detail'];
  agentId: string;
  customerName: string;
  delivery: DeliveryStatus | null;
  reason: string | null;
}

function MessageRow({ message, previous, current, detail, agentId, customerName, delivery, reason }: MessageRowProps) {
  const divider = !previous || previous.conversationId !== message.conversationId;
  const summary = message.conversationId === current ? detail : detail?.otherConversations.find((other) => other.id === message.conversationId);
  const author = message.authorAgentId === agentId ? 'You' : message.authorAgentId ? `Agent ${message.authorAgentId}` : 'Agent';
  const who =
    message.direction === 'inbound'
      ? customerName
      : message.direction === 'internal'
        ? `Note · ${author}`
        : message.sender === 'bot'
          ? 'Bot'
          : message.sender === 'system'
            ? 'System'
            : author;
  return (
    <>
      {divider && (
        <li className="divider" aria-hidden="true">
          <span>
            {message.channel} · {message.conversationId === current ? 'this conversation' : (summary?.status ?? 'earlier conversation')}
            {summary ? ` · started ${formatDateTime(summary.createdAt)}` : ''}
          </span>
        </li>
      )}
      <li
        className={`message message-${message.direction} ${message.conversationId === current ? '' : 'other'}`}
        data-testid="message"
        data-direction={message.direction}
        data-delivery={delivery ?? undefined}
        data-conversation-id={message.conversationId}
      >
        <div className="message-meta">
          <span className="who">{who}</span>
          <ChannelBadge channel={message.channel} />
          <time dateTime={message.createdAt}>{formatClock(message.createdAt)}</time>
        </div>
        <p className="text">{message.text ?? (message.attachments.length > 0 ? '' : '(no text)')}</p>
        {message.attachments.length > 0 && (
          <p className="attachments">
            {message.attachments.length} attachment{message.attachments.length === 1 ? '' : 's'}
          </p>
        )}
        {delivery && (
          <p className={`ticks ticks-${delivery}`} title={reason ? `${delivery}: ${reason}` : delivery}>
            <span aria-hidden="true">{TICKS[delivery]}</span>
            <span className="visually-hidden">Delivery: </span>
            <span className="delivery-label">{delivery}</span>
            {delivery === 'failed' && reason && <span className="reason"> — {reason}</span>}
          </p>
        )}
      </li>
    </>
  );
}

function TransferForm({ queueIds, busy, onCancel, onSubmit }: { queueIds: string[]; busy: boolean; onCancel(): void; onSubmit(to: TransferTarget): void }) {
  const [kind, setKind] = useState<'agent' | 'queue'>('queue');
  const [target, setTarget] = useState('');
  const id = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = target.trim();
    if (!value) return;
    onSubmit(kind === 'agent' ? { agentId: value } : { queueId: value });
  };
  return (
    <form className="subform" onSubmit={submit} aria-label="Transfer the conversation">
      <fieldset>
        <legend>Hand over to</legend>
        <label>
          <input type="radio" name={`${id}-kind`} checked={kind === 'queue'} onChange={() => setKind('queue')} /> a queue
        </label>
        <label>
          <input type="radio" name={`${id}-kind`} checked={kind === 'agent'} onChange={() => setKind('agent')} /> an agent
        </label>
      </fieldset>
      <label htmlFor={`${id}-target`}>{kind === 'agent' ? 'Agent id' : 'Queue id'}</label>
      <input
        id={`${id}-target`}
        value={target}
        list={kind === 'queue' ? `${id}-queues` : undefined}
        autoComplete="off"
        required
        pattern={kind === 'agent' ? '[A-Za-z0-9_\\-]{1,64}' : '[A-Za-z0-9._\\-]{1,64}'}
        onChange={(event) => setTarget(event.target.value)}
      />
      <datalist id={`${id}-queues`}>
        {queueIds.map((queue) => (
          <option key={queue} value={queue} />
        ))}
      </datalist>
      <div className="buttons">
        <button type="submit" className="primary" disabled={busy || !target.trim()}>
          Confirm transfer
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function CloseForm({ busy, onCancel, onSubmit }: { busy: boolean; onCancel(): void; onSubmit(wrapUp?: string): void }) {
  const [wrapUp, setWrapUp] = useState('');
  const id = useId();
  return (
    <form
      className="subform"
      aria-label="Close the conversation"
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit(wrapUp.trim() || undefined);
      }}
    >
      <label htmlFor={`${id}-wrap-up`}>Wrap-up (optional)</label>
      <textarea id={`${id}-wrap-up`} rows={2} maxLength={2000} value={wrapUp} onChange={(event) => setWrapUp(event.target.value)} />
      <div className="buttons">
        <button type="submit" className="primary danger" disabled={busy}>
          Confirm close
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
