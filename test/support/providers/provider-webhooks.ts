/**
 * Webhooks as Twilio and Meta post them, signed as their documentation describes (not as the
 * adapters' code does), so that a shared mistake cannot make both sides agree. Options let a test
 * leave the signature header out (`signature: null`), set it by hand, or send other bytes than the
 * signed ones (`body`).
 */
import { createHmac } from 'node:crypto';

export interface WebhookOptions {
  signature?: string | null;
  body?: string;
}

/** Meta's X-Hub-Signature-256: HMAC-SHA256 of the raw body with the app secret. */
export function metaSignature(body: string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/** A Graph API notification POSTed as JSON. */
export function postMetaWebhook(url: string, payload: unknown, appSecret: string, options: WebhookOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const signature = options.signature === undefined ? metaSignature(JSON.stringify(payload), appSecret) : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return fetch(url, { method: 'POST', headers, body: options.body ?? JSON.stringify(payload) });
}

/** Twilio's X-Twilio-Signature: HMAC-SHA1 of the public URL followed by the sorted form fields. */
export function twilioSignature(url: string, params: Record<string, string>, authToken: string): string {
  const data = Object.keys(params)
    .sort()
    .map((key) => key + params[key])
    .join('');
  return createHmac('sha1', authToken).update(url + data).digest('base64');
}

/** A form POSTed to `url`, signed over `publicUrl`: the address Twilio was configured with. */
export function postTwilioWebhook(
  url: string,
  publicUrl: string,
  params: Record<string, string>,
  authToken: string,
  options: WebhookOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const signature = options.signature === undefined ? twilioSignature(publicUrl, params, authToken) : options.signature;
  if (signature !== null) headers['x-twilio-signature'] = signature;
  return fetch(url, { method: 'POST', headers, body: options.body ?? new URLSearchParams(params).toString() });
}
