/**
 * Slack through the Events API and `chat.postMessage`. Every request is signed over
 * "v0:<timestamp>:<raw body>" and refused when the timestamp is more than five minutes off, so a
 * captured request cannot be replayed later. A Slack thread is one conversation: its thread id is
 * `<channel>:<root ts>` and replies are posted into that thread. Bot messages, the app's own and
 * edits or joins (subtypes) are acknowledged and dropped, so nothing we post comes back as a
 * customer message. Slack retries (X-Slack-Retry-Num) reuse the event_id, which is the dedupe key.
 */
import { z } from 'zod';
import { envTypes } from '@app/config';
import { defineAdapter, hmac, PermanentSendFailure, safeEqual, TemporarySendFailure, WebhookRejected, type WebhookRequest } from '@app/channel-kit';

const env = z.object({
  SLACK_SIGNING_SECRET: z.string().min(16, { error: 'expected the Slack app signing secret' }),
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-[A-Za-z0-9-]+$/, { error: 'expected a Slack bot token (xoxb-…)' }),
  SLACK_API_BASE_URL: envTypes.url(['https:', 'http:'], 'https://slack.com/api').default('https://slack.com/api'),
});

const MAX_CLOCK_SKEW_S = 300;
const SLACK_TS = /^\d+\.\d+$/;

/** Subtypes a person sends (a file, a thread reply also shown in the channel); every other subtype is an edit, a join, a bot. */
const CUSTOMER_SUBTYPES = new Set(['file_share', 'thread_broadcast']);

/** Refusals that are Slack's own trouble, worth another attempt. */
const TEMPORARY_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

interface SlackFile {
  id: string;
  name?: string;
  mimetype?: string;
  size?: number;
  url_private?: string;
}

interface SlackMessageEvent {
  type: string;
  channel?: string;
  user?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  subtype?: string;
  bot_id?: string;
  files?: SlackFile[];
}

/** The outer request: `url_verification` carries `challenge`, `event_callback` the rest. */
interface SlackPayload {
  type: string;
  challenge?: string;
  team_id?: string;
  event_id?: string;
  /** The installations this event is delivered for; a bot user here is this app posting. */
  authorizations?: Array<{ user_id?: string; is_bot?: boolean }>;
  event?: SlackMessageEvent;
}

function verify(request: WebhookRequest, secret: string): void {
  const signature = request.headers['x-slack-signature'];
  const timestamp = request.headers['x-slack-request-timestamp'];
  if (!signature || !timestamp) {
    throw new WebhookRejected(401, 'missing_signature', 'the X-Slack-Signature and X-Slack-Request-Timestamp headers are required');
  }
  const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
  if (!(Math.abs(Date.now() / 1000 - seconds) <= MAX_CLOCK_SKEW_S)) {
    throw new WebhookRejected(401, 'stale_timestamp', `X-Slack-Request-Timestamp is more than ${MAX_CLOCK_SKEW_S} s from now`);
  }
  const expected = `v0=${hmac('sha256', secret, Buffer.concat([Buffer.from(`v0:${timestamp}:`), request.rawBody]), 'hex')}`;
  if (!safeEqual(expected, signature)) throw new WebhookRejected(403, 'bad_signature', 'the X-Slack-Signature does not match this request');
}

function parse(request: WebhookRequest): SlackPayload {
  let payload: unknown;
  try {
    payload = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected(400, 'invalid_json', 'the body is not a JSON Slack event');
  }
  if (typeof payload !== 'object' || payload === null || typeof (payload as { type?: unknown }).type !== 'string') {
    throw new WebhookRejected(400, 'invalid_event', 'a Slack event needs a type');
  }
  return payload as SlackPayload;
}

/** `<channel>:<ts>` as the inbound side builds it; channel ids have no colon, timestamps none either. */
function parseThread(threadId: string | undefined): { channel: string; threadTs: string } | undefined {
  const match = /^([A-Z0-9]+):(\d+\.\d+)$/.exec(threadId ?? '');
  return match ? { channel: match[1]!, threadTs: match[2]! } : undefined;
}

export const slackAdapter = defineAdapter({
  channel: 'slack',
  env,
  create({ env: config }) {
    const api = config.SLACK_API_BASE_URL.replace(/\/$/, '');

    return {
      routes: [
        {
          method: 'POST',
          path: '/slack/events',
          handle(request) {
            verify(request, config.SLACK_SIGNING_SECRET);
            const payload = parse(request);
            if (payload.type === 'url_verification') {
              return { response: { status: 200, contentType: 'application/json', body: JSON.stringify({ challenge: payload.challenge }) } };
            }
            if (payload.type !== 'event_callback') return { response: { status: 200 } };
            const event = payload.event;
            const ownUsers = new Set((payload.authorizations ?? []).flatMap((entry) => (entry.is_bot && entry.user_id ? [entry.user_id] : [])));
            if (
              event?.type !== 'message' ||
              event.bot_id !== undefined ||
              (event.subtype !== undefined && !CUSTOMER_SUBTYPES.has(event.subtype)) ||
              (event.user !== undefined && ownUsers.has(event.user))
            ) {
              return { response: { status: 200 } };
            }
            const { user, channel, ts } = event;
            if (!user || !channel || !ts || !SLACK_TS.test(ts) || !payload.event_id) {
              throw new WebhookRejected(400, 'invalid_event', 'a message event needs event_id, user, channel and ts');
            }
            const attachments = (event.files ?? []).map((file) => ({
              contentType: file.mimetype || 'application/octet-stream',
              ...(file.size !== undefined ? { size: file.size } : {}),
              ...(file.name ? { filename: file.name } : {}),
              ...(file.url_private ? { url: file.url_private } : {}),
              providerId: file.id,
            }));
            if (!event.text && attachments.length === 0) return { response: { status: 200 } };
            return {
              messages: [
                {
                  provider: { messageId: payload.event_id, threadId: `${channel}:${event.thread_ts ?? ts}`, ...(payload.team_id ? { accountId: payload.team_id } : {}) },
                  customer: { address: user },
                  content: { ...(event.text ? { text: event.text } : {}), attachments },
                  providerTimestamp: new Date(Number(ts) * 1000).toISOString(),
                  attributes: { slackChannel: channel, ts },
                },
              ],
              response: { status: 200 },
            };
          },
        },
      ],

      async send(item) {
        const thread = parseThread(item.to.threadId);
        if (!thread) throw new PermanentSendFailure(`no Slack thread to reply in (expected <channel>:<ts>, got ${item.to.threadId ?? 'none'})`);
        let response: Response;
        try {
          response = await fetch(`${api}/chat.postMessage`, {
            method: 'POST',
            headers: { authorization: `Bearer ${config.SLACK_BOT_TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
            body: JSON.stringify({ channel: thread.channel, text: item.text, thread_ts: thread.threadTs }),
            signal: AbortSignal.timeout(config.SEND_TIMEOUT_MS),
          });
        } catch (error) {
          throw new TemporarySendFailure(`Slack unreachable: ${(error as Error).message}`);
        }
        const answer = (await response.json().catch(() => ({}))) as { ok?: boolean; error?: string; channel?: string; ts?: string };
        if (response.ok && answer.ok && answer.ts) return { providerMessageId: `${answer.channel ?? thread.channel}:${answer.ts}` };
        if (response.status === 429 || response.status >= 500 || TEMPORARY_ERRORS.has(answer.error ?? '')) {
          const retryAfter = Number(response.headers.get('retry-after'));
          throw new TemporarySendFailure(
            `Slack answered ${response.status}${answer.error ? ` (${answer.error})` : ''}`,
            Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
          );
        }
        throw new PermanentSendFailure(`Slack refused the message: ${answer.error ?? `HTTP ${response.status}`}`);
      },
    };
  },
});
