/** Pending offers, each with a live countdown to its expiry and Accept / Decline. */
import { useState } from 'react';
import type { WorkItem } from '../api/api.types';
import { ChannelBadge } from '../shared/channel-badge.view';
import { formatCountdown, modeLabel } from '../shared/format';
import { secondsLeft } from './desk.reducer';

interface OffersProps {
  offers: WorkItem[];
  now: number;
  onAccept(conversationId: string): Promise<void>;
  onDecline(conversationId: string): Promise<void>;
}

export function Offers({ offers, now, onAccept, onDecline }: OffersProps) {
  return (
    <section className="panel offers" aria-labelledby="offers-title">
      <h2 id="offers-title">
        Offers <span className="count">{offers.length}</span>
      </h2>
      {offers.length === 0 ? (
        <p className="empty">No offers right now.</p>
      ) : (
        <ul className="offer-list">
          {offers.map((offer) => (
            <li key={offer.conversationId}>
              <OfferCard offer={offer} now={now} onAccept={onAccept} onDecline={onDecline} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function OfferCard({ offer, now, onAccept, onDecline }: { offer: WorkItem } & Omit<OffersProps, 'offers'>) {
  const [busy, setBusy] = useState(false);
  const left = secondsLeft(offer, now);
  const total = offer.expiresAt ? Math.max(1, (Date.parse(offer.expiresAt) - Date.parse(offer.since)) / 1000) : undefined;
  const titleId = `offer-${offer.conversationId}`;
  const answer = async (run: (id: string) => Promise<void>) => {
    setBusy(true);
    try {
      await run(offer.conversationId);
    } finally {
      setBusy(false);
    }
  };
  return (
    <article
      className={`offer ${left !== undefined && left <= 5 ? 'urgent' : ''}`}
      data-testid="offer"
      data-conversation-id={offer.conversationId}
      data-mode={offer.mode}
      aria-labelledby={titleId}
    >
      <header>
        <ChannelBadge channel={offer.channel} />
        <span className={`badge mode mode-${offer.mode}`}>{modeLabel(offer.mode)}</span>
        <h3 id={titleId}>{offer.customer?.name ?? 'New customer'}</h3>
      </header>
      {offer.queueId && <p className="meta">Queue {offer.queueId}</p>}
      {left !== undefined && (
        <p className="countdown-line">
          Expires in{' '}
          <span data-testid="countdown" role="timer" aria-label={`${left} seconds left`}>
            {formatCountdown(left)}
          </span>
          {total !== undefined && <progress max={total} value={left} aria-hidden="true" />}
        </p>
      )}
      <div className="buttons">
        <button type="button" className="primary" disabled={busy} onClick={() => void answer(onAccept)}>
          Accept
        </button>
        <button type="button" disabled={busy} onClick={() => void answer(onDecline)}>
          Decline
        </button>
      </div>
    </article>
  );
}
