/**
 * Acts on the router's decisions about a Twilio call: an agent accepted it → the live call dials the
 * agent (their client identity, or their phone from `agents.attributes.phone`); the queue gave up
 * on it (no agent within the max wait, after hours) → the call offers voicemail. Calls that came in
 * through the generic call-events endpoint are connected by their own platform and are left alone.
 */
import type { LoggerService } from '@nestjs/common';
import type { ConversationEvent } from '@app/contracts';
import type { CallStore } from './call-store';
import type { TwilioCallsClient } from './twilio-calls.client';
import { dialTwiml, voicemailTwiml, type DialTarget } from './twiml';

export const TWILIO_CALL_SID = /^CA[0-9a-fA-F]{32}$/;

export interface CallConnectorOptions {
  dial: 'client' | 'number';
  voicemailPrompt: string;
  voicemailActionUrl: string;
  voicemailMaxS: number;
}

export class CallConnector {
  constructor(
    private readonly store: CallStore,
    private readonly calls: TwilioCallsClient,
    private readonly options: CallConnectorOptions,
    private readonly logger: LoggerService,
  ) {}

  async handle(event: ConversationEvent): Promise<void> {
    if (event.channel !== 'voice') return;
    const assigned = event.type === 'conversation.assigned';
    // An agent taking a voicemail thread is async work, not a live call to connect.
    if (assigned ? event.mode !== 'sync' || !event.agentId : event.type !== 'conversation.downgraded') return;
    const conversation = await this.store.conversation(event.conversationId);
    if (!conversation || !TWILIO_CALL_SID.test(conversation.threadKey)) return;
    const twiml = assigned
      ? dialTwiml(await this.target(event.agentId!))
      : voicemailTwiml(this.options.voicemailPrompt, this.options.voicemailActionUrl, this.options.voicemailMaxS);
    const result = await this.calls.update(conversation.threadKey, twiml);
    const fields = { conversationId: event.conversationId, callSid: conversation.threadKey, agentId: event.agentId, channel: 'voice' };
    if (result.ok) this.logger.log?.(fields, assigned ? 'call connected to the agent' : 'call offered voicemail');
    else this.logger.warn?.({ ...fields, status: result.status, reason: result.message }, 'Twilio refused the call update (the caller may have hung up)');
  }

  private async target(agentId: string): Promise<DialTarget> {
    if (this.options.dial === 'client') return { client: agentId };
    const phone = await this.store.agentPhone(agentId);
    if (phone) return { number: phone };
    this.logger.warn?.({ agentId }, 'agent has no attributes.phone; dialing their client identity instead');
    return { client: agentId };
  }
}
