import { issueVisitorToken, verifyVisitorToken, VISITOR_TOKEN_MAX_AGE_S } from './visitor-token';

const SECRET = 'a-webchat-token-secret-of-32-chars!!';

describe('visitor tokens', () => {
  it('round-trips the visitor id', () => {
    const { visitorId, token } = issueVisitorToken(SECRET);
    expect(verifyVisitorToken(SECRET, token)).toEqual({ ok: true, visitorId });
  });

  it('refuses missing, malformed, tampered and foreign tokens with a code', () => {
    const { token } = issueVisitorToken(SECRET);
    const tampered = token.replace(/\.(\d)/, (_, digit: string) => `.${(Number(digit) + 1) % 10}`);
    expect(verifyVisitorToken(SECRET, undefined)).toMatchObject({ ok: false, code: 'missing_token' });
    expect(verifyVisitorToken(SECRET, 'v1.nope')).toMatchObject({ ok: false, code: 'invalid_token' });
    expect(verifyVisitorToken(SECRET, tampered)).toMatchObject({ ok: false, code: 'invalid_token' });
    expect(verifyVisitorToken(`${SECRET}-other`, token)).toMatchObject({ ok: false, code: 'invalid_token' });
  });

  it('expires after the maximum age', () => {
    const issuedAt = new Date('2026-01-01T00:00:00Z');
    const { token } = issueVisitorToken(SECRET, issuedAt);
    const later = new Date(issuedAt.getTime() + (VISITOR_TOKEN_MAX_AGE_S + 1) * 1000);
    expect(verifyVisitorToken(SECRET, token, later)).toMatchObject({ ok: false, code: 'expired_token' });
  });
});
