/**
 * What the demo's pieces report, as one typed stream: customers writing, what web chat visitors
 * receive, what agents are offered and do, and what the supervisor view shows (queues waiting, agents
 * at their caps). The narrator prints it; a test awaits it. Events name customers by their label
 * ("sms customer 3") and conversations by id — never a message body or a phone number.
 */
import type { Channel } from '@app/contracts';

export type AgentEventKind = 'offer' | 'offer-withdrawn' | 'assigned' | 'revoked' | 'customer-message';
export type AgentActionKind = 'accepted' | 'accept-refused' | 'replied' | 'closed';

export type DemoEvent =
  | { kind: 'customer-wrote'; customer: string; channel: Channel; returning?: boolean }
  | { kind: 'visitor-notice'; customer: string; noticeKind: string; position?: number; estimatedWaitS?: number; expectedReplyS?: number }
  | { kind: 'visitor-agent-joined'; customer: string; conversationId: string; agentName?: string }
  | { kind: 'visitor-reply'; customer: string; conversationId: string }
  | { kind: 'visitor-closed'; customer: string; conversationId: string }
  | { kind: 'visitor-downgraded'; customer: string; conversationId: string }
  | {
      kind: 'agent';
      event: AgentEventKind;
      agentId: string;
      conversationId: string;
      channel?: Channel;
      mode?: 'sync' | 'async';
      via?: string;
      reason?: string;
      expiresAt?: string;
    }
  | { kind: 'agent-action'; action: AgentActionKind; agentId: string; conversationId: string; mode?: 'sync' | 'async' }
  | { kind: 'presence'; agentId: string; presence: 'online' | 'away' | 'offline'; scripted: boolean }
  | { kind: 'queue'; queueId: string; waitingSync: number; waitingAsync: number; offered: number; assigned: number }
  | { kind: 'capacity'; agentId: string; mode: 'sync' | 'async'; load: number; cap: number; full: boolean }
  | { kind: 'step'; text: string }
  | { kind: 'problem'; source: string; message: string };

export type DemoEventOf<K extends DemoEvent['kind']> = Extract<DemoEvent, { kind: K }> & { at: number };
export type StampedEvent = DemoEvent & { at: number };

/** Events with the time they were reported, kept for `waitFor`; listeners get each one as it comes. */
export class DemoFeed {
  readonly events: StampedEvent[] = [];
  private readonly listeners = new Set<(event: StampedEvent) => void>();

  constructor(private readonly clock: () => number = Date.now) {}

  emit(event: DemoEvent): void {
    const stamped = { ...event, at: this.clock() };
    this.events.push(stamped);
    for (const listener of this.listeners) listener(stamped);
  }

  /** Returns the unsubscribe function. */
  on(listener: (event: StampedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The first event (already reported or still to come) of `kind` that matches. */
  waitFor<K extends DemoEvent['kind']>(
    kind: K,
    predicate: (event: DemoEventOf<K>) => boolean = () => true,
    what: string = kind,
    timeoutMs = 30_000,
  ): Promise<DemoEventOf<K>> {
    const matches = (event: StampedEvent): event is DemoEventOf<K> => event.kind === kind && predicate(event as DemoEventOf<K>);
    const found = this.events.find(matches);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const stop = this.on((event) => {
        if (!matches(event)) return;
        clearTimeout(timer);
        stop();
        resolve(event);
      });
    });
  }
}
