/**
 * The generic call-events endpoint for call platforms other than Twilio (a PBX, a video platform):
 * `started` opens a sync work item for the caller, `ended` ends it as a Twilio status callback
 * would, `answered` needs nothing (the agent accepted through the gateway). Requests are signed with
 * `X-Call-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>` and carry
 * `X-Call-Timestamp` (Unix seconds) within five minutes of ours, so a captured request cannot be
 * replayed later. See docs/call-events.md.
 */
import { z } from 'zod';
import { CALL_END_REASONS } from '@app/contracts';
import { hmac, safeEqual, WebhookRejected, type WebhookRequest, type WebhookRoute } from '@app/channel-kit';
import type { CallEnder } from './call-ender';

export const CALL_EVENTS_PATH = '/calls/events';
const MAX_SKEW_S = 300;
const SIGNATURE = /^sha256=[0-9a-f]{64}$/;

const callEventSchema = z
  .object({
    event: z.enum(['started', 'answered', 'ended']),
    callId: z.string().regex(/^[A-Za-z0-9._:@-]{1,128}$/),
    from: z.string().min(1).max(512),
    displayName: z.string().max(512).optional(),
    reason: z.enum(CALL_END_REASONS).default('completed'),
  })
  .strict();

const ACCEPTED = { status: 200, contentType: 'application/json', body: '{"accepted":true}' };

function verified(request: WebhookRequest, secret: string, nowMs: number): z.output<typeof callEventSchema> {
  const signature = request.headers['x-call-signature'];
  const timestamp = request.headers['x-call-timestamp'];
  if (!signature || !timestamp) throw new WebhookRejected(401, 'missing_signature', 'the X-Call-Signature and X-Call-Timestamp headers are required');
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > MAX_SKEW_S) {
    throw new WebhookRejected(401, 'stale_timestamp', `X-Call-Timestamp must be Unix seconds within ${MAX_SKEW_S} s of now`);
  }
  const expected = `sha256=${hmac('sha256', secret, Buffer.concat([Buffer.from(`${timestamp}.`), request.rawBody]), 'hex')}`;
  if (!SIGNATURE.test(signature) || !safeEqual(expected, signature)) {
    throw new WebhookRejected(403, 'bad_signature', 'the X-Call-Signature does not match this request');
  }
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
    throw new WebhookRejected(415, 'unsupported_media_type', 'call events are application/json');
  }
  let body: unknown;
  try {
    body = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected(400, 'invalid_json', 'the request body is not JSON');
  }
  const parsed = callEventSchema.safeParse(body);
  if (!parsed.success) {
    throw new WebhookRejected(400, 'invalid_event', `not a call event: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')}`);
  }
  return parsed.data;
}

export function callEventsRoute(secret: string, ender: CallEnder, now: () => number = Date.now): WebhookRoute {
  return {
    method: 'POST',
    path: CALL_EVENTS_PATH,
    async handle(request) {
      const call = verified(request, secret, now());
      if (call.event === 'ended') {
        await ender.end(call.callId, call.reason, `call-events\u0000${call.callId}`);
        return { response: ACCEPTED };
      }
      if (call.event === 'answered') return { response: ACCEPTED };
      return {
        messages: [
          {
            mode: 'sync',
            provider: { messageId: `${call.callId}:started`, threadId: call.callId },
            customer: { address: call.from, ...(call.displayName ? { displayName: call.displayName } : {}) },
            content: { text: 'Incoming call' },
            attributes: { source: 'call-events' },
          },
        ],
        response: ACCEPTED,
      };
    },
  };
}
