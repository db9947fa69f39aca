/**
 * Twilio's request signature: base64(HMAC-SHA1(authToken, url + every POST parameter as key+value,
 * sorted by key)). Shared by the SMS adapter and, later, voice.
 */
import { hmac, safeEqual } from '@app/channel-kit';

export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const keys = [...new Set(params.keys())].sort();
  const data = keys.map((key) => key + params.getAll(key).join('')).join('');
  return hmac('sha1', authToken, url + data, 'base64');
}

export function verifyTwilioSignature(authToken: string, url: string, params: URLSearchParams, received: string | undefined): boolean {
  return safeEqual(twilioSignature(authToken, url, params), received);
}
