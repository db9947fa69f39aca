/**
 * SMS and MMS through Twilio Messaging: the inbound webhook (form-encoded, signed over the public
 * URL and the sorted parameters), status callbacks (out of order; the router keeps the furthest
 * status), and sending through the Messages API with Basic auth. Replies carry their own id in the
 * status callback URL, so every callback finds its message even before Twilio's id is recorded.
 */
import { z } from 'zod';
import { envTypes } from '@app/config';
import {
  defineAdapter,
  PermanentSendFailure,
  TemporarySendFailure,
  verifiedTwilioParams,
  WebhookRejected,
  type OutboundItem,
  type StatusReport,
  type WebhookRequest,
} from '@app/channel-kit';

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
const MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;

const env = z.object({
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, { error: 'expected a Twilio account SID (AC + 32 hex digits)' }),
  TWILIO_AUTH_TOKEN: z.string().min(16, { error: 'expected the Twilio auth token' }),
  /** The sender: a phone number in E.164, or leave empty and set TWILIO_MESSAGING_SERVICE_SID. */
  TWILIO_FROM: z.string().regex(/^\+[1-9]\d{6,14}$/).optional(),
  TWILIO_MESSAGING_SERVICE_SID: z.string().regex(/^MG[0-9a-fA-F]{32}$/).optional(),
  TWILIO_API_BASE_URL: envTypes.url(['https:', 'http:'], 'https://api.twilio.com').default('https://api.twilio.com'),
});

/** Twilio statuses → ours; queued/accepted/sending/scheduled say nothing new. */
const STATUS: Record<string, StatusReport['status'] | undefined> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  undelivered: 'failed',
  failed: 'failed',
};

export const smsAdapter = defineAdapter({
  channel: 'sms',
  env,
  create({ env: config }) {
    const verified = (request: WebhookRequest): URLSearchParams =>
      verifiedTwilioParams(request, { accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN });
    const statusCallback = (item: OutboundItem) =>
      config.PUBLIC_BASE_URL ? `${config.PUBLIC_BASE_URL.replace(/\/$/, '')}/twilio/sms/status?messageId=${item.id}` : undefined;

    return {
      routes: [
        {
          method: 'POST',
          path: '/twilio/sms',
          handle(request) {
            const params = verified(request);
            const sid = params.get('MessageSid') ?? '';
            const from = params.get('From');
            if (!MESSAGE_SID.test(sid) || !from) throw new WebhookRejected(400, 'invalid_message', 'MessageSid and From are required');
            const media = Number(params.get('NumMedia') ?? '0');
            const attachments = Array.from({ length: Number.isInteger(media) ? Math.min(media, 10) : 0 }, (_, index) => ({
              contentType: params.get(`MediaContentType${index}`) ?? 'application/octet-stream',
              url: params.get(`MediaUrl${index}`) ?? undefined,
              providerId: `${sid}/${index}`,
            }));
            const text = params.get('Body') ?? '';
            return {
              messages: [
                {
                  provider: { messageId: sid, accountId: params.get('To') ?? undefined },
                  customer: { address: from },
                  content: { ...(text ? { text } : {}), attachments },
                  attributes: { segments: Number(params.get('NumSegments') ?? '1') },
                },
              ],
              response: { status: 200, contentType: 'text/xml', body: EMPTY_TWIML },
            };
          },
        },
        {
          method: 'POST',
          path: '/twilio/sms/status',
          handle(request) {
            const params = verified(request);
            const status = STATUS[params.get('MessageStatus') ?? ''];
            const sid = params.get('MessageSid') ?? undefined;
            const messageId = /^[0-9a-f-]{36}$/i.test(request.query.messageId ?? '') ? request.query.messageId : undefined;
            const errorCode = params.get('ErrorCode');
            const statuses: StatusReport[] =
              status && (messageId || sid)
                ? [
                    {
                      messageId,
                      providerMessageId: sid,
                      status,
                      ...(status === 'failed' ? { reason: `Twilio error ${errorCode ?? 'unknown'} (${params.get('MessageStatus')})` } : {}),
                    },
                  ]
                : [];
            return { statuses, response: { status: 200 } };
          },
        },
      ],

      async send(item) {
        const body = new URLSearchParams({ To: item.to.address, Body: item.text });
        if (config.TWILIO_MESSAGING_SERVICE_SID) body.set('MessagingServiceSid', config.TWILIO_MESSAGING_SERVICE_SID);
        else if (config.TWILIO_FROM) body.set('From', config.TWILIO_FROM);
        else throw new PermanentSendFailure('no sender configured (TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID)');
        const callback = item.kind === 'reply' ? statusCallback(item) : undefined;
        if (callback) body.set('StatusCallback', callback);
        const url = `${config.TWILIO_API_BASE_URL.replace(/\/$/, '')}/2010-04-01/Accounts/${config.TWILIO_ACCOUNT_SID}/Messages.json`;
        let response: Response;
        try {
          response = await fetch(url, {
            method: 'POST',
            headers: {
              authorization: `Basic ${Buffer.from(`${config.TWILIO_ACCOUNT_SID}:${config.TWILIO_AUTH_TOKEN}`).toString('base64')}`,
              'content-type': 'application/x-www-form-urlencoded',
            },
            body,
            signal: AbortSignal.timeout(config.SEND_TIMEOUT_MS),
          });
        } catch (error) {
          throw new TemporarySendFailure(`Twilio unreachable: ${(error as Error).message}`);
        }
        const answer = (await response.json().catch(() => ({}))) as { sid?: string; code?: number; message?: string };
        if (response.ok && answer.sid) return { providerMessageId: answer.sid };
        if (response.status === 429 || response.status >= 500) {
          const retryAfter = Number(response.headers.get('retry-after'));
          throw new TemporarySendFailure(`Twilio answered ${response.status}`, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
        }
        throw new PermanentSendFailure(`Twilio refused the message: ${answer.message ?? `HTTP ${response.status}`}${answer.code ? ` (error ${answer.code})` : ''}`);
      },
    };
  },
});
