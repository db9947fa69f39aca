/**
 * Twilio's webhook authenticity, shared by the SMS and voice adapters: form-encoded bodies signed
 * with X-Twilio-Signature = base64(HMAC-SHA1(authToken, publicUrl + every POST parameter as
 * key+value, sorted by key)), for the configured account only.
 */
import { WebhookRejected, type WebhookRequest } from './channel-adapter';
import { hmac, safeEqual } from './signatures';

export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const data = [...new Set(params.keys())]
    .sort()
    .map((key) => key + params.getAll(key).join(''))
    .join('');
  return hmac('sha1', authToken, url + data, 'base64');
}

/** The request's parameters once its signature and account are checked; refusals say which check failed. */
export function verifiedTwilioParams(request: WebhookRequest, account: { accountSid: string; authToken: string }): URLSearchParams {
  const signature = request.headers['x-twilio-signature'];
  if (!signature) throw new WebhookRejected(401, 'missing_signature', 'the X-Twilio-Signature header is missing');
  if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    throw new WebhookRejected(415, 'unsupported_media_type', 'Twilio webhooks are application/x-www-form-urlencoded');
  }
  const params = new URLSearchParams(request.rawBody.toString('utf8'));
  if (!safeEqual(twilioSignature(account.authToken, request.publicUrl, params), signature)) {
    throw new WebhookRejected(403, 'bad_signature', 'the X-Twilio-Signature does not match this request');
  }
  if (params.get('AccountSid') !== account.accountSid) {
    throw new WebhookRejected(403, 'wrong_account', 'the request is for another Twilio account');
  }
  return params;
}
