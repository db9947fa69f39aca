/**
 * Ends a call's work item by publishing `conversation.end` to the router, which decides by state:
 * queued → abandoned, offered or held → closed with the agent's wrap-up. The command id is derived
 * from the provider's callback identity, so a repeated callback is one command to the router too.
 * A call whose queue gave up on it (downgraded to a voicemail or callback thread) is not ended: the
 * thread lives on as async work in the customer's history.
 */
import { envelopeId } from '@app/channel-kit';
import { endConversationCommandSchema, type CALL_END_REASONS } from '@app/contracts';
import type { CallBroker } from './call-broker';
import type { CallState, CallStore } from './call-store';

export type CallEndReason = (typeof CALL_END_REASONS)[number];
export type EndOutcome = 'ended' | 'duplicate' | 'kept-as-thread';

/** How long an end waits for the router to store a call that was hung up at once (the two travel on different queues). */
const STORED_WAIT_MS = 5_000;
const STORED_POLL_MS = 200;
const RECENT_CAPACITY = 10_000;

export class CallEnder {
  private readonly recent = new Set<string>();

  constructor(
    private readonly store: CallStore,
    private readonly broker: Pick<CallBroker, 'publishEnd'>,
    private readonly tenantId: string,
  ) {}

  /** `callbackKey` identifies the provider's callback (CallSid + SequenceNumber); resolves once the command is confirmed. */
  async end(callId: string, reason: CallEndReason, callbackKey: string): Promise<EndOutcome> {
    if (this.recent.has(callbackKey)) return 'duplicate';
    const state = await this.storedCall(callId);
    if (state && state.status !== 'closed' && state.mode === 'async') {
      this.remember(callbackKey);
      return 'kept-as-thread';
    }
    await this.broker.publishEnd(
      endConversationCommandSchema.parse({
        // A stable UUID from the callback's identity (the kit's provider-id derivation).
        commandId: envelopeId('voice', this.tenantId, `end\u0000${callbackKey}`),
        tenantId: this.tenantId,
        agentId: 'voice',
        type: 'conversation.end',
        channel: 'voice',
        threadId: callId,
        reason,
        issuedAt: new Date().toISOString(),
      }),
    );
    this.remember(callbackKey);
    return 'ended';
  }

  private async storedCall(callId: string): Promise<CallState | undefined> {
    const deadline = Date.now() + STORED_WAIT_MS;
    for (;;) {
      const state = await this.store.callState(this.tenantId, callId);
      if (state || Date.now() >= deadline) return state;
      await new Promise((resolve) => setTimeout(resolve, STORED_POLL_MS));
    }
  }

  private remember(key: string): void {
    this.recent.add(key);
    if (this.recent.size > RECENT_CAPACITY) this.recent.delete(this.recent.values().next().value as string);
  }
}
