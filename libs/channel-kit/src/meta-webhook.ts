/**
 * What the Meta channels (WhatsApp Cloud API, Messenger, Instagram) share: the webhook subscription
 * handshake, `X-Hub-Signature-256` over the raw body, and sending through the Graph API with Meta's
 * error shape mapped onto temporary and permanent failures. A notification is parsed only after its
 * signature checks out, so nothing unsigned ever reaches an adapter's normalizer.
 */
import { z } from 'zod';
import { envTypes } from '@app/config';
import { hmac, safeEqual } from './signatures';
import {
  PermanentSendFailure,
  TemporarySendFailure,
  WebhookRejected,
  type WebhookOutcome,
  type WebhookRequest,
  type WebhookRoute,
} from './channel-adapter';

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;
/** Meta's reasons can be long; delivery statuses carry at most 1,000 characters. */
const MAX_REASON = 500;
/** Graph throttling codes answered with 4xx statuses: waiting helps, so they are not final. */
const THROTTLED = new Set([4, 17, 32, 613, 80007, 130429, 131056]);

/** Settings every Meta adapter reads; each adds its own token and sender id. */
export const metaEnvSchema = z.object({
  META_APP_SECRET: z.string().min(16, { error: 'expected the Meta app secret (it signs every webhook)' }),
  META_VERIFY_TOKEN: z.string().min(8, { error: 'expected the verify token configured for the webhook subscription (8+ characters)' }),
  GRAPH_API_BASE_URL: envTypes.url(['https:', 'http:'], 'https://graph.facebook.com').default('https://graph.facebook.com'),
  GRAPH_API_VERSION: z.string().regex(/^v\d+\.\d+$/, { error: 'expected a Graph API version such as v21.0' }).default('v21.0'),
});

export interface MetaWebhookOptions {
  /** The route for both the handshake (GET) and the notifications (POST), e.g. `/meta/whatsapp`. */
  path: string;
  appSecret: string;
  verifyToken: string;
  /** Turns a verified notification (parsed JSON) into the messages and statuses to publish. */
  normalize(body: unknown): Omit<WebhookOutcome, 'response'>;
}

function checkSubscription(request: WebhookRequest, verifyToken: string): WebhookOutcome {
  const challenge = request.query['hub.challenge'];
  if (request.query['hub.mode'] !== 'subscribe' || !safeEqual(verifyToken, request.query['hub.verify_token'])) {
    throw new WebhookRejected(403, 'verification_failed', 'hub.mode must be subscribe and hub.verify_token must match the configured verify token');
  }
  if (!challenge || challenge.length > 256) throw new WebhookRejected(400, 'missing_challenge', 'hub.challenge is required');
  return { response: { status: 200, contentType: 'text/plain', body: challenge } };
}

/** The X-Hub-Signature-256 header Meta sends with a notification: `sha256=` + HMAC-SHA256 of the raw body. */
export function metaSignature(appSecret: string, rawBody: Buffer | string): string {
  return `sha256=${hmac('sha256', appSecret, rawBody, 'hex')}`;
}

function verifySignature(request: WebhookRequest, appSecret: string): void {
  const header = request.headers['x-hub-signature-256'];
  if (!header) throw new WebhookRejected(401, 'missing_signature', 'the X-Hub-Signature-256 header is missing');
  const digest = SIGNATURE.exec(header)?.[1];
  if (!digest) throw new WebhookRejected(403, 'malformed_signature', 'the X-Hub-Signature-256 header must be sha256=<64 hex digits>');
  if (!safeEqual(metaSignature(appSecret, request.rawBody), `sha256=${digest.toLowerCase()}`)) {
    throw new WebhookRejected(403, 'bad_signature', 'the X-Hub-Signature-256 does not match this request body');
  }
}

function parseJson(request: WebhookRequest): unknown {
  try {
    return JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected(400, 'bad_request', 'the notification body is not valid JSON');
  }
}

/** The GET handshake and the signed POST notifications on one path. */
export function metaWebhookRoutes(options: MetaWebhookOptions): WebhookRoute[] {
  return [
    { method: 'GET', path: options.path, handle: (request) => checkSubscription(request, options.verifyToken) },
    {
      method: 'POST',
      path: options.path,
      handle(request) {
        verifySignature(request, options.appSecret);
        return { ...options.normalize(parseJson(request)), response: { status: 200 } };
      },
    },
  ];
}

/** Meta's error object, as the Graph API answers a refused call. */
export interface GraphError {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  fbtrace_id?: string;
}

export interface GraphSend {
  baseUrl: string;
  version: string;
  /** After the version, e.g. `/{phone-number-id}/messages`. */
  path: string;
  accessToken: string;
  body: unknown;
  timeoutMs: number;
  /** Names the product in failure reasons the agent reads ("WhatsApp", "Messenger"). */
  product: string;
  /** A plainer reason for refusals the product knows, such as a closed messaging window. */
  explain?(error: GraphError): string | undefined;
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds > 0 ? seconds * 1000 : undefined;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** POSTs JSON to the Graph API with a Bearer token; resolves with Meta's answer when it accepted the call. */
export async function postToGraph<T>(send: GraphSend): Promise<T> {
  const url = `${send.baseUrl.replace(/\/$/, '')}/${send.version}${send.path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${send.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(send.body),
      signal: AbortSignal.timeout(send.timeoutMs),
    });
  } catch (error) {
    throw new TemporarySendFailure(`the Graph API is unreachable: ${(error as Error).message}`);
  }
  const answer = (await response.json().catch(() => ({}))) as { error?: GraphError };
  if (response.ok) return answer as T;
  const error = answer.error ?? {};
  const code = error.code === undefined ? '' : ` (Meta error ${error.code}${error.error_subcode ? `/${error.error_subcode}` : ''})`;
  const detail = `${(error.message ?? `HTTP ${response.status}`).slice(0, MAX_REASON)}${code}`;
  if (response.status === 429 || response.status >= 500 || error.is_transient === true || THROTTLED.has(error.code ?? -1)) {
    throw new TemporarySendFailure(`the Graph API answered ${response.status}: ${detail}`, retryAfterMs(response.headers.get('retry-after')));
  }
  throw new PermanentSendFailure(send.explain?.(error) ?? `${send.product} refused the message: ${detail}`);
}
