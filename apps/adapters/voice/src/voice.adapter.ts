/**
 * Phone calls through Twilio Voice as sync work. An incoming call becomes a work item for the caller
 * and is greeted, then held in a wait loop that re-reads the caller's place in the queue. When the
 * router's decision arrives on the broker (see call-connector.ts) the live call is redirected: it
 * dials the agent who accepted it, or, when the queue gives up on it, offers voicemail — the
 * recording then continues the same conversation as async work. The wait loop reads the same state,
 * so a call whose redirect was missed still reaches its agent or the voicemail at the next turn.
 * Status callbacks end the item (the router tells abandoned from completed by state). Other call
 * platforms use the signed generic endpoint in call-events.route.ts.
 */
import { Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { z } from 'zod';
import { envTypes } from '@app/config';
import {
  defineAdapter,
  PermanentSendFailure,
  verifiedTwilioParams,
  WebhookRejected,
  type WebhookRequest,
  type WebhookRoute,
} from '@app/channel-kit';
import { CallBroker } from './call-broker';
import { CallConnector, TWILIO_CALL_SID } from './call-connector';
import { CallEnder, type CallEndReason } from './call-ender';
import { callEventsRoute } from './call-events.route';
import { CallStore, type CallState } from './call-store';
import { TwilioCallsClient } from './twilio-calls.client';
import { dialTwiml, goodbyeTwiml, holdTwiml, voicemailTwiml } from './twiml';

const RECORDING_SID = /^RE[0-9a-fA-F]{32}$/;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

const env = z.object({
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, { error: 'expected a Twilio account SID (AC + 32 hex digits)' }),
  TWILIO_AUTH_TOKEN: z.string().min(16, { error: 'expected the Twilio auth token' }),
  TWILIO_API_BASE_URL: envTypes.url(['https:', 'http:'], 'https://api.twilio.com').default('https://api.twilio.com'),
  /** Required here: TwiML pushed onto a live call has no document URL that a relative callback could resolve against. */
  PUBLIC_BASE_URL: envTypes.url(['http:', 'https:'], 'https://hooks.example.com'),
  /** `client`: dial the agent's Twilio Client identity (their agent id); `number`: their `agents.attributes.phone`. */
  VOICE_AGENT_DIAL: z.enum(['client', 'number']).default('client'),
  VOICE_GREETING: z.string().min(1).max(1_000).default('Thank you for calling. Please hold while we connect you to an agent.'),
  VOICE_HOLD_MUSIC_URL: envTypes.url(['https:', 'http:'], 'https://example.com/hold.mp3').optional(),
  /** Silence between position announcements when no hold music is set. */
  VOICE_HOLD_S: envTypes.int(5, 300).default(20),
  VOICE_VOICEMAIL_PROMPT: z
    .string()
    .min(1)
    .max(1_000)
    .default('All our agents are busy. Please leave a message after the tone, and we will get back to you.'),
  VOICE_VOICEMAIL_MAX_S: envTypes.int(5, 600).default(120),
  /** Signs the generic call-events endpoint; without it the endpoint is not served. */
  CALL_EVENTS_SECRET: z.string().min(16, { error: 'expected a secret of at least 16 characters' }).optional(),
});

/** Twilio's final call statuses → the reason the router records; the others say the call goes on. */
const END_REASON: Record<string, CallEndReason | undefined> = {
  completed: 'completed',
  busy: 'busy',
  failed: 'failed',
  'no-answer': 'no-answer',
  canceled: 'canceled',
};

export const voiceAdapter = defineAdapter({
  channel: 'voice',
  env,
  create({ env: config, broker }) {
    const logger = new Logger('VoiceAdapter');
    const base = config.PUBLIC_BASE_URL.replace(/\/$/, '');
    const waitUrl = `${base}/twilio/voice/wait`;
    const voicemailUrl = `${base}/twilio/voice/voicemail`;
    // Read-only lookups; pg connects on first use, so nothing is opened before the app starts.
    const pool = new Pool({ connectionString: config.DATABASE_URL, max: 4, application_name: 'voice-adapter-calls' });
    const store = new CallStore(pool);
    const calls = new TwilioCallsClient({
      accountSid: config.TWILIO_ACCOUNT_SID,
      authToken: config.TWILIO_AUTH_TOKEN,
      baseUrl: config.TWILIO_API_BASE_URL,
      maxAttempts: config.SEND_MAX_ATTEMPTS,
      retryBaseMs: config.SEND_RETRY_BASE_MS,
      retryMaxMs: config.SEND_RETRY_MAX_MS,
      timeoutMs: config.SEND_TIMEOUT_MS,
    });
    const connector = new CallConnector(
      store,
      calls,
      { dial: config.VOICE_AGENT_DIAL, voicemailPrompt: config.VOICE_VOICEMAIL_PROMPT, voicemailActionUrl: voicemailUrl, voicemailMaxS: config.VOICE_VOICEMAIL_MAX_S },
      logger,
    );
    const callEvents = new CallBroker(broker, { prefetch: 16, tenantId: config.TENANT_ID }, (event) => connector.handle(event), logger);
    const ender = new CallEnder(store, callEvents, config.TENANT_ID);

    const verified = (request: WebhookRequest): URLSearchParams => {
      const params = verifiedTwilioParams(request, { accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN });
      const callSid = params.get('CallSid') ?? '';
      if (!TWILIO_CALL_SID.test(callSid)) throw new WebhookRejected(400, 'invalid_call', 'CallSid is required');
      return params;
    };
    const twiml = (body: string) => ({ status: 200, contentType: 'text/xml', body });
    const hold = (announcement: string) =>
      holdTwiml({ announcement, holdMusicUrl: config.VOICE_HOLD_MUSIC_URL, pauseSeconds: config.VOICE_HOLD_S, waitUrl });

    /** What a caller in the wait loop hears next, from where the router has the call now. */
    const nextStep = async (state: CallState | undefined): Promise<string> => {
      if (!state || state.status === 'bot') return hold('Please hold.');
      if (state.status === 'closed') return goodbyeTwiml('Thank you for calling. Goodbye.');
      if (state.mode === 'async') return voicemailTwiml(config.VOICE_VOICEMAIL_PROMPT, voicemailUrl, config.VOICE_VOICEMAIL_MAX_S);
      if (state.status === 'assigned' && state.agentId) {
        const phone = config.VOICE_AGENT_DIAL === 'number' ? await store.agentPhone(state.agentId) : undefined;
        return dialTwiml(phone ? { number: phone } : { client: state.agentId });
      }
      if (state.status === 'offered') return hold('An agent is about to take your call.');
      return hold(state.position === 1 ? 'You are next in line.' : `You are number ${state.position} in the queue.`);
    };

    const routes: WebhookRoute[] = [
      {
        method: 'POST',
        path: '/twilio/voice/incoming',
        handle(request) {
          const params = verified(request);
          const callSid = params.get('CallSid')!;
          const from = params.get('From');
          if (!from) throw new WebhookRejected(400, 'invalid_call', 'From is required');
          const to = params.get('To') ?? undefined;
          const callerName = params.get('CallerName');
          return {
            messages: [
              {
                mode: 'sync',
                provider: { messageId: callSid, threadId: callSid, ...(to ? { accountId: to } : {}) },
                customer: { address: from, ...(callerName ? { displayName: callerName } : {}) },
                content: { text: 'Incoming call' },
                attributes: { to: to ?? null },
              },
            ],
            response: twiml(
              holdTwiml({ announcement: config.VOICE_GREETING, pauseSeconds: 1, waitUrl }),
            ),
          };
        },
      },
      {
        method: 'POST',
        path: '/twilio/voice/wait',
        async handle(request) {
          const params = verified(request);
          return { response: twiml(await nextStep(await store.callState(config.TENANT_ID, params.get('CallSid')!))) };
        },
      },
      {
        method: 'POST',
        path: '/twilio/voice/voicemail',
        handle(request) {
          const params = verified(request);
          const recordingSid = params.get('RecordingSid') ?? '';
          const recordingUrl = params.get('RecordingUrl');
          const from = params.get('From');
          const duration = Number(params.get('RecordingDuration') ?? '0');
          const goodbye = twiml(goodbyeTwiml('Thank you for your message. Goodbye.'));
          if (!RECORDING_SID.test(recordingSid) || !recordingUrl || !from || !(duration > 0)) return { response: goodbye };
          const to = params.get('To') ?? undefined;
          return {
            messages: [
              {
                // Async: the queue gave up on the live call; should the call's item have closed meanwhile, the recording still opens a thread, not a call.
                mode: 'async',
                provider: { messageId: recordingSid, threadId: params.get('CallSid')!, ...(to ? { accountId: to } : {}) },
                customer: { address: from },
                content: {
                  text: `Voicemail (${duration} s)`,
                  attachments: [{ contentType: 'audio/wav', url: recordingUrl, providerId: recordingSid }],
                },
                attributes: { to: to ?? null, recordingDurationS: duration },
              },
            ],
            response: goodbye,
          };
        },
      },
      {
        method: 'POST',
        path: '/twilio/voice/status',
        async handle(request) {
          const params = verified(request);
          const callSid = params.get('CallSid')!;
          const status = params.get('CallStatus') ?? '';
          const reason = END_REASON[status];
          if (reason) {
            const outcome = await ender.end(callSid, reason, `${callSid}\u0000${params.get('SequenceNumber') ?? status}`);
            logger.log({ callSid, channel: 'voice', status, outcome }, 'call ended');
          }
          return { response: twiml(EMPTY_TWIML) };
        },
      },
    ];
    if (config.CALL_EVENTS_SECRET) routes.push(callEventsRoute(config.CALL_EVENTS_SECRET, ender));

    return {
      routes,
      async send() {
        throw new PermanentSendFailure('a phone call cannot carry text: answer a voicemail by calling back or on another channel');
      },
      start: () => callEvents.start(),
      async stop() {
        await pool.end();
      },
    };
  },
});
