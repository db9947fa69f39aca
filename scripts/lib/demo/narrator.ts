/**
 * Tells the demo as it happens: one line per event, stamped with the seconds since the start, naming
 * customers by label and conversations through the customer directory. Lines are written in the
 * order the events came (a label lookup never reorders them). `summarize` counts what happened.
 */
import type { CustomerDirectory } from './customer-directory';
import type { DemoEvent, DemoFeed, StampedEvent } from './demo-feed';

export interface NarratorOptions {
  feed: DemoFeed;
  directory: CustomerDirectory;
  write: (line: string) => void;
  startedAt?: number;
  /** `quiet`: problems only; `verbose`: also every customer message an agent receives and every answer it sends. */
  level?: NarrationLevel;
}

export type NarrationLevel = 'quiet' | 'normal' | 'verbose';

const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));

function duration(s: number | undefined): string {
  if (s === undefined) return 'unknown';
  return s < 90 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/** The line for one event, or undefined when it is not worth one at `level`; `label` names its conversation. */
export function describeEvent(event: DemoEvent, label: string, level: NarrationLevel = 'normal'): string | undefined {
  const verbose = level === 'verbose';
  if (level === 'quiet' && event.kind !== 'problem') return undefined;
  switch (event.kind) {
    case 'step':
      return `── ${event.text}`;
    case 'customer-wrote':
      return event.returning ? `${event.customer} writes again` : `${event.customer} writes`;
    case 'visitor-notice':
      if (event.noticeKind === 'queue-position') {
        return `${event.customer} is told: number ${event.position ?? '?'} in line, about ${duration(event.estimatedWaitS)} to wait`;
      }
      if (event.noticeKind === 'expected-reply') return `${event.customer} is told: expect a reply within ${duration(event.expectedReplyS)}`;
      return `${event.customer} gets a notice (${event.noticeKind})`;
    case 'visitor-agent-joined':
      return `${event.customer} sees ${event.agentName ?? 'an agent'} join the chat`;
    case 'visitor-reply':
      return `${event.customer} gets a reply`;
    case 'visitor-closed':
      return `${event.customer}'s chat is closed`;
    case 'visitor-downgraded':
      return `${event.customer}'s chat waited too long and became a message thread`;
    case 'agent':
      switch (event.event) {
        case 'offer': {
          const left = event.expiresAt ? ` for ${seconds(Date.parse(event.expiresAt) - Date.now())} s` : '';
          return `${label} → offered to ${event.agentId}, and only to ${event.agentId}${left}`;
        }
        case 'offer-withdrawn':
          return event.reason === 'timeout'
            ? `${label}: nobody took it at ${event.agentId}'s desk; the offer moves on`
            : `${label}: ${event.agentId} ${event.reason === 'declined' ? 'declined' : `lost the offer (${event.reason ?? 'withdrawn'})`}; it moves on`;
        case 'assigned':
          if (event.via === 'offer') return `${event.agentId} accepts ${label}`;
          if (event.via === 'sticky') return `${label} → ${event.agentId} again (sticky: back to their last agent)`;
          return `${label} → ${event.agentId} (${event.mode === 'sync' ? 'live' : 'thread'})`;
        case 'revoked':
          // Every close revokes the closer's assignment; only someone else's move is news.
          return event.reason === 'closed' ? undefined : `${label} taken back from ${event.agentId} (${event.reason ?? 'revoked'})`;
        case 'customer-message':
          return verbose ? `${label} writes to ${event.agentId}` : undefined;
      }
      return undefined;
    case 'agent-action':
      if (event.action === 'closed') return `${event.agentId} closes ${label}'s ${event.mode === 'sync' ? 'chat' : 'thread'}`;
      if (event.action === 'accept-refused') return `${event.agentId} was too late for ${label}`;
      if (event.action === 'replied') return verbose ? `${event.agentId} answers ${label}` : undefined;
      return undefined;
    case 'presence':
      return `${event.agentId} is ${event.presence}${event.presence === 'online' ? (event.scripted ? ' (scripted)' : ' (human: open their desk to work as them)') : ''}`;
    case 'queue': {
      if (event.waitingSync === 0 && event.waitingAsync === 0) return `queue ${event.queueId}: nobody waiting`;
      const parts = [];
      if (event.waitingSync > 0) parts.push(`${event.waitingSync} chat${event.waitingSync === 1 ? '' : 's'}`);
      if (event.waitingAsync > 0) parts.push(`${event.waitingAsync} thread${event.waitingAsync === 1 ? '' : 's'}`);
      return `queue ${event.queueId}: ${parts.join(' and ')} waiting`;
    }
    case 'capacity':
      return event.full
        ? `${event.agentId} holds ${event.load}/${event.cap} threads: at the cap, gets no more until one closes`
        : `${event.agentId} has room again (${event.load}/${event.cap})`;
    case 'problem':
      return `! ${event.source}: ${event.message}`;
  }
}

export class Narrator {
  private chain: Promise<void> = Promise.resolve();
  private readonly unsubscribe: () => void;
  private readonly startedAt: number;

  constructor(private readonly options: NarratorOptions) {
    this.startedAt = options.startedAt ?? Date.now();
    this.unsubscribe = options.feed.on((event) => {
      this.chain = this.chain.then(() => this.tell(event));
    });
  }

  /** Stops listening once every event so far is told. */
  async stop(): Promise<void> {
    this.unsubscribe();
    await this.chain;
  }

  private async tell(event: StampedEvent): Promise<void> {
    const conversationId = 'conversationId' in event ? event.conversationId : undefined;
    let label = 'a customer';
    if (conversationId && (event.kind === 'agent' || event.kind === 'agent-action')) {
      const customer = await this.options.directory.customerOf(conversationId).catch(() => undefined);
      label = customer?.label ?? `an earlier customer (${conversationId.slice(0, 8)})`;
    }
    const line = describeEvent(event, label, this.options.level);
    if (line === undefined) return;
    const at = ((event.at - this.startedAt) / 1000).toFixed(1).padStart(6);
    this.options.write(`[${at}s] ${line}`);
  }
}

export interface DemoSummary {
  customersWrote: number;
  offers: number;
  offersTimedOut: number;
  assigned: number;
  assignedSticky: number;
  closed: number;
  queueNotices: number;
  visitorReplies: number;
  capsReached: number;
  stickyReturns: number;
  problems: number;
}

export function summarize(events: readonly DemoEvent[]): DemoSummary {
  const count = (predicate: (event: DemoEvent) => boolean) => events.filter(predicate).length;
  return {
    customersWrote: count((e) => e.kind === 'customer-wrote'),
    offers: count((e) => e.kind === 'agent' && e.event === 'offer'),
    offersTimedOut: count((e) => e.kind === 'agent' && e.event === 'offer-withdrawn' && e.reason === 'timeout'),
    assigned: count((e) => e.kind === 'agent' && e.event === 'assigned'),
    assignedSticky: count((e) => e.kind === 'agent' && e.event === 'assigned' && e.via === 'sticky'),
    closed: count((e) => e.kind === 'agent-action' && e.action === 'closed'),
    queueNotices: count((e) => e.kind === 'visitor-notice' && e.noticeKind === 'queue-position'),
    visitorReplies: count((e) => e.kind === 'visitor-reply'),
    capsReached: count((e) => e.kind === 'capacity' && e.full),
    stickyReturns: count((e) => e.kind === 'step' && e.text.startsWith('sticky:')),
    problems: count((e) => e.kind === 'problem'),
  };
}
