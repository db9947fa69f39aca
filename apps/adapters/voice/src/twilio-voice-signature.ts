/**
 * Twilio's request signature: base64(HMAC-SHA1(authToken, url + every POST parameter as key+value,
 * sorted by key)). The same algorithm as apps/adapters/sms/src/twilio-signature.ts; kept here because
 * an adapter folder imports nothing from another adapter's.
 */
import { hmac, safeEqual } from '@app/channel-kit';

export function verifyTwilioSignature(authToken: string, url: string, params: URLSearchParams, received: string | undefined): boolean {
  const data = [...new Set(params.keys())]
    .sort()
    .map((key) => key + params.getAll(key).join(''))
    .join('');
  return safeEqual(hmac('sha1', authToken, url + data, 'base64'), received);
}
