/**
 * Visitor tokens: the only thing that identifies a web chat visitor, kept by the widget in
 * localStorage so the same visitor (and conversation) comes back after a reload or days later.
 * `v1.<visitorId>.<issuedAt seconds>.<base64url HMAC-SHA256 of the first three parts>`. Nothing else is
 * stored server-side, so any replica verifies any token; rotating the secret signs everyone out.
 */
import { randomUUID } from 'node:crypto';
import { hmac, safeEqual } from '@app/channel-kit';

const TOKEN = /^v1\.([0-9a-f-]{36})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;
/** Long enough for a visitor who left an email to come back to the answer; the widget asks again after. */
export const VISITOR_TOKEN_MAX_AGE_S = 90 * 86_400;
/** Clocks of replicas drift a little: a token issued "in the future" by this much is still fine. */
const CLOCK_SKEW_S = 60;

export type VerifiedVisitor = { ok: true; visitorId: string } | { ok: false; code: 'missing_token' | 'invalid_token' | 'expired_token'; message: string };

const signature = (secret: string, payload: string) => hmac('sha256', secret, payload, 'base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

export function issueVisitorToken(secret: string, now = new Date()): { visitorId: string; token: string } {
  const visitorId = randomUUID();
  const payload = `v1.${visitorId}.${Math.floor(now.getTime() / 1000)}`;
  return { visitorId, token: `${payload}.${signature(secret, payload)}` };
}

export function verifyVisitorToken(secret: string, token: unknown, now = new Date()): VerifiedVisitor {
  if (typeof token !== 'string' || token.length === 0) {
    return { ok: false, code: 'missing_token', message: 'connect with auth: { visitorToken } from POST /webchat/visitors' };
  }
  const match = TOKEN.exec(token);
  if (!match || !safeEqual(signature(secret, `v1.${match[1]}.${match[2]}`), match[3])) {
    return { ok: false, code: 'invalid_token', message: 'the visitor token is not one this server issued; request a new one' };
  }
  const age = Math.floor(now.getTime() / 1000) - Number(match[2]);
  if (age < -CLOCK_SKEW_S || age > VISITOR_TOKEN_MAX_AGE_S) {
    return { ok: false, code: 'expired_token', message: 'the visitor token has expired; request a new one' };
  }
  return { ok: true, visitorId: match[1]! };
}
