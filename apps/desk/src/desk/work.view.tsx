/** Held work in two lanes — live (sync, at most one at a time by default) and async threads — each with load/cap. */
import type { Mode, WorkItem } from '../api/api.types';
import { ChannelBadge } from '../shared/channel-badge.view';
import { formatAge } from '../shared/format';

interface WorkLaneProps {
  mode: Mode;
  items: WorkItem[];
  load: number;
  cap: number;
  now: number;
  selectedId: string | null;
  unread: Record<string, number>;
  typing: (conversationId: string) => boolean;
  onOpen(conversationId: string): void;
}

const TITLES: Record<Mode, { title: string; empty: string }> = {
  sync: { title: 'Live', empty: 'No live conversation.' },
  async: { title: 'Threads', empty: 'No async threads.' },
};

export function WorkLane({ mode, items, load, cap, now, selectedId, unread, typing, onOpen }: WorkLaneProps) {
  const titleId = `${mode}-work-title`;
  const full = load >= cap;
  return (
    <section className={`panel work work-${mode}`} data-testid={`${mode}-work`} aria-labelledby={titleId}>
      <h2 id={titleId}>
        {TITLES[mode].title}{' '}
        <span className={`load ${full ? 'full' : ''}`} title="load / cap">
          <span className="visually-hidden">load </span>
          <span data-testid="load">{`${load}/${cap}`}</span>
        </span>
      </h2>
      {items.length === 0 ? (
        <p className="empty">{TITLES[mode].empty}</p>
      ) : (
        <ul className="work-list">
          {items.map((item) => {
            const count = unread[item.conversationId] ?? 0;
            const selected = item.conversationId === selectedId;
            return (
              <li key={item.conversationId}>
                <button
                  type="button"
                  className={`work-item ${selected ? 'selected' : ''}`}
                  data-testid="work-item"
                  data-conversation-id={item.conversationId}
                  data-mode={item.mode}
                  data-channel={item.channel}
                  aria-current={selected ? 'true' : undefined}
                  onClick={() => onOpen(item.conversationId)}
                >
                  <ChannelBadge channel={item.channel} />
                  <span className="name">{item.customer?.name ?? 'Customer'}</span>
                  {typing(item.conversationId) && <span className="typing-dot">typing…</span>}
                  {count > 0 && (
                    <span className="badge unread" aria-label={`${count} unread`}>
                      {count}
                    </span>
                  )}
                  <span className="age" title="last message">
                    {formatAge(item.lastMessageAt ?? item.since, now)}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
