/** The agent's desk: offers and held work on the left, the open conversation on the right. */
import { useCallback, useState } from 'react';
import type { AgentProfile } from '../api/api.types';
import { Conversation, type Draft } from './conversation.view';
import { heldOf, isCustomerTyping, loadOf, type DeskState } from './desk.reducer';
import { Offers } from './offers.view';
import type { DeskActions } from './use-desk.hook';
import { WorkLane } from './work.view';

interface DeskViewProps {
  state: DeskState;
  actions: DeskActions;
  agentId: string;
  profile: AgentProfile | undefined;
  canSupervise: boolean;
}

const EMPTY_DRAFT: Draft = { reply: '', note: '' };

export function DeskView({ state, actions, agentId, profile, canSupervise }: DeskViewProps) {
  const [drafts, setDrafts] = useState<Record<string, Draft>>({});
  const typing = useCallback((conversationId: string) => isCustomerTyping(state, conversationId), [state]);

  if (state.noProfile) {
    return (
      <main className="desk-empty" id="main" tabIndex={-1}>
        <h1 className="visually-hidden">Agent desk</h1>
        <p>
          You have no agent profile in this tenant, so there is no work to show here.
          {canSupervise && (
            <>
              {' '}
              Open the <a href="#/supervisor">supervisor view</a>.
            </>
          )}
        </p>
      </main>
    );
  }

  const selected = state.selectedId;
  const item = selected ? state.held.find((held) => held.conversationId === selected) : undefined;
  return (
    <main className="desk" id="main" tabIndex={-1}>
      <h1 className="visually-hidden">Agent desk</h1>
      <div className="column work-column">
        {!state.loaded && <p className="empty">Loading your work…</p>}
        <Offers offers={state.offers} now={state.now} onAccept={actions.accept} onDecline={actions.decline} />
        {(['sync', 'async'] as const).map((mode) => (
          <WorkLane
            key={mode}
            mode={mode}
            items={heldOf(state, mode)}
            load={loadOf(state, mode)}
            cap={state.caps[mode]}
            now={state.now}
            selectedId={selected}
            unread={state.unread}
            typing={typing}
            onOpen={actions.select}
          />
        ))}
      </div>
      <div className="column conversation-column">
        {selected ? (
          <Conversation
            key={selected}
            conversationId={selected}
            thread={state.threads[selected]}
            item={item}
            endedReason={state.ended[selected]}
            deliveries={state.deliveries}
            customerTyping={isCustomerTyping(state, selected)}
            agentId={agentId}
            queueIds={profile?.queueIds ?? []}
            draft={drafts[selected] ?? EMPTY_DRAFT}
            onDraft={(draft) => setDrafts((current) => ({ ...current, [selected]: draft }))}
            actions={actions}
          />
        ) : (
          <section className="panel placeholder" aria-label="No conversation open">
            <p className="empty">Pick a conversation on the left, or accept an offer, to see it here.</p>
          </section>
        )}
      </div>
    </main>
  );
}
