import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { loadConfig } from '@app/config';
import { authSettings, gatewayEnvSchema, type AuthSettings } from '../gateway.config';
import { ApiError, type ErrorBody } from '../http/api-error';
import { mintDevToken, TokenVerifier } from './token-verifier';

const SECRET = 'spec-secret-long-enough-for-hs256-0123456789';
const ISSUER = 'https://idp.spec.example';
const AUDIENCE = 'channel-router';
const ROOT = join(__dirname, '..', '..', '..', '..');

const nowS = () => Math.floor(Date.now() / 1000);

function hsSettings(overrides: Partial<AuthSettings> = {}): AuthSettings {
  return { secret: SECRET, algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, clockToleranceS: 5, ...overrides };
}

/** A valid claim set; an override of `undefined` removes that claim. */
function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const all: Record<string, unknown> = {
    sub: 'a1',
    tenant: 'default',
    role: 'agent',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: nowS(),
    exp: nowS() + 3_600,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
}

/** Signs any claim set, including ones `mintDevToken` refuses to produce. */
function sign(payload: JWTPayload, key: Uint8Array | CryptoKey, header: { alg: string; kid?: string } = { alg: 'HS256' }) {
  return new SignJWT(payload).setProtectedHeader({ typ: 'JWT', ...header }).sign(key);
}

const hmac = (secret: string | Buffer) => (typeof secret === 'string' ? new TextEncoder().encode(secret) : new Uint8Array(secret));
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The refusal a verification ends in, checking on the way that its message does not echo the token. */
async function refusal(token: string, verifier: TokenVerifier) {
  const error: unknown = await verifier.verify(token).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApiError);
  const apiError = error as ApiError;
  const { message } = (apiError.getResponse() as ErrorBody).error;
  for (const segment of token.split('.').filter((part) => part.length > 8)) expect(message).not.toContain(segment);
  return { status: apiError.getStatus(), code: apiError.code, message };
}

/** A stand-in identity provider: serves whatever key set the test gives it at /jwks.json. */
class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<JwksServer> {
    const server = createServer();
    const jwks = new JwksServer(server);
    server.on('request', (request, response) => {
      if (request.url !== '/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      jwks.fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: jwks.keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return jwks;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function rsaKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, jwk, pem: await exportSPKI(publicKey) };
}

describe('TokenVerifier with a shared secret (HS256)', () => {
  const verifier = new TokenVerifier(hsSettings());

  it('turns a valid token into the principal it names', async () => {
    const token = await sign(claims({ sub: 'agent_7-b', tenant: 'acme', role: 'supervisor' }), hmac(SECRET));
    await expect(verifier.verify(token)).resolves.toEqual({
      subject: 'agent_7-b',
      agentId: 'agent_7-b',
      tenantId: 'acme',
      role: 'supervisor',
    });
  });

  it.each(['none', 'None', 'NONE'])('refuses an unsigned token (alg %s)', async (alg) => {
    const token = `${base64url({ alg, typ: 'JWT' })}.${base64url(claims())}.`;
    expect(await refusal(token, verifier)).toMatchObject({ status: 401, code: 'token_invalid' });
  });

  it('refuses an HS512 token when only HS256 is allowed, though the secret is right', async () => {
    const token = await sign(claims(), hmac(SECRET), { alg: 'HS512' });
    expect(await refusal(token, verifier)).toEqual({
      status: 401,
      code: 'token_invalid',
      message: 'token algorithm HS512 is not allowed (accepted: HS256)',
    });
  });

  it('refuses a token signed with another secret', async () => {
    const token = await sign(claims(), hmac('another-secret-long-enough-for-hs256-9876543210'));
    expect(await refusal(token, verifier)).toEqual({ status: 401, code: 'token_invalid', message: 'token signature does not verify' });
  });

  it('refuses an expired token as token_expired', async () => {
    const token = await sign(claims({ iat: nowS() - 7_200, exp: nowS() - 60 }), hmac(SECRET));
    expect(await refusal(token, verifier)).toMatchObject({
      status: 401,
      code: 'token_expired',
      message: expect.stringMatching(/^token expired at \d{4}-/),
    });
  });

  it('tolerates the configured clock skew on exp', async () => {
    const token = await sign(claims({ exp: nowS() - 2 }), hmac(SECRET));
    await expect(verifier.verify(token)).resolves.toMatchObject({ agentId: 'a1' });
  });

  it.each([
    ['the wrong audience', { aud: 'someone-else' }, 'token audience is not channel-router'],
    ['the wrong issuer', { iss: 'https://evil.example' }, `token issuer is not ${ISSUER}`],
    ['no exp', { exp: undefined }, 'token has no exp claim'],
    ['no sub', { sub: undefined }, 'token has no sub claim'],
    ['no aud', { aud: undefined }, 'token has no aud claim'],
    ['an nbf in the future', { nbf: nowS() + 600 }, 'token is not valid yet'],
    ['an unknown role', { role: 'owner' }, 'token role must be one of agent, supervisor, admin'],
    ['no role', { role: undefined }, 'token role must be one of agent, supervisor, admin'],
    ['no tenant', { tenant: undefined }, 'token has no tenant claim'],
    ['a numeric tenant', { tenant: 42 }, 'token has no tenant claim'],
    ['an empty tenant', { tenant: '' }, 'token has no tenant claim'],
    ['an agent id with a dot', { sub: 'a.1' }, 'token subject is not a valid agent id (1 to 64 letters, digits, _ or -)'],
    ['an agent id of 65 characters', { sub: 'a'.repeat(65) }, 'token subject is not a valid agent id (1 to 64 letters, digits, _ or -)'],
  ])('refuses a token with %s', async (_case, overrides, message) => {
    const token = await sign(claims(overrides), hmac(SECRET));
    expect(await refusal(token, verifier)).toEqual({ status: 401, code: 'token_invalid', message });
  });

  it('refuses a token whose payload was edited after signing', async () => {
    const [header, , signature] = (await sign(claims(), hmac(SECRET))).split('.');
    const escalated = `${header}.${base64url(claims({ role: 'admin' }))}.${signature}`;
    expect(await refusal(escalated, verifier)).toMatchObject({ status: 401, code: 'token_invalid' });
  });

  it('refuses a token with one payload byte flipped', async () => {
    const [header, payload, signature] = (await sign(claims(), hmac(SECRET))).split('.');
    const bytes = Buffer.from(payload, 'base64url');
    bytes[bytes.indexOf('agent')] ^= 0x20; // "agent" -> "Agent": still JSON, no longer what was signed
    const tampered = `${header}.${bytes.toString('base64url')}.${signature}`;
    expect(await refusal(tampered, verifier)).toEqual({ status: 401, code: 'token_invalid', message: 'token signature does not verify' });
  });

  it.each([
    ['no dots', 'not-a-jwt'],
    ['segments that are not base64url JSON', 'a.b.c'],
    ['no signature segment', `${base64url({ alg: 'HS256' })}.${base64url(claims())}`],
    ['a header that is not an object', `${base64url(['HS256'])}.e30.sig`],
  ])(
    'refuses a malformed token (%s)',
    async (_case, token) => {
      expect(await refusal(token, verifier)).toMatchObject({ status: 401, code: 'token_malformed' });
    },
  );

  it('refuses an empty token as token_missing', async () => {
    expect(await refusal('', verifier)).toMatchObject({ status: 401, code: 'token_missing' });
  });

  it('will not be configured to accept alg none, or without any key', () => {
    expect(() => new TokenVerifier(hsSettings({ algorithms: ['HS256', 'none'] }))).toThrow('must not include none');
    expect(() => new TokenVerifier(hsSettings({ secret: undefined }))).toThrow('needs a JWT secret or a JWKS URL');
  });
});

describe('TokenVerifier with the identity provider keys (JWKS, RS256)', () => {
  let jwks: JwksServer;
  let current: Awaited<ReturnType<typeof rsaKey>>;

  beforeAll(async () => {
    jwks = await JwksServer.start();
  });
  beforeEach(async () => {
    current = await rsaKey('k1');
    jwks.keys = [current.jwk];
    jwks.fetches = 0;
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => jwks.stop());

  const jwksSettings = (overrides: Partial<AuthSettings> = {}) =>
    hsSettings({ secret: undefined, jwksUrl: jwks.url, algorithms: ['RS256', 'ES256', 'EdDSA'], ...overrides });

  it('turns a valid RS256 token into its principal', async () => {
    const verifier = new TokenVerifier(jwksSettings());
    const token = await sign(claims({ role: 'admin' }), current.privateKey, { alg: 'RS256', kid: 'k1' });
    await expect(verifier.verify(token)).resolves.toEqual({ subject: 'a1', agentId: 'a1', tenantId: 'default', role: 'admin' });
  });

  // Algorithm confusion: the attacker uses the published public key as an HMAC secret.
  it.each([
    ['the default RS/ES/EdDSA allow-list', {}],
    ['an allow-list that names HS256 but no secret', { algorithms: ['RS256', 'HS256'] }],
    ['a secret too, so HS256 is checked against the secret only', { secret: SECRET, algorithms: ['RS256', 'HS256'] }],
  ])('refuses an HS256 token keyed with the public key, with %s', async (_case, overrides) => {
    const verifier = new TokenVerifier(jwksSettings(overrides));
    for (const publicBytes of [Buffer.from(current.pem), Buffer.from(JSON.stringify(current.jwk))]) {
      const forged = await sign(claims({ role: 'admin' }), hmac(publicBytes), { alg: 'HS256', kid: 'k1' });
      expect(await refusal(forged, verifier)).toMatchObject({ status: 401, code: 'token_invalid' });
    }
  });

  it('accepts both kinds when configured with a secret and a JWKS, choosing the key by alg', async () => {
    const verifier = new TokenVerifier(jwksSettings({ secret: SECRET, algorithms: ['RS256', 'HS256'] }));
    await expect(verifier.verify(await sign(claims(), hmac(SECRET)))).resolves.toMatchObject({ agentId: 'a1' });
    await expect(verifier.verify(await sign(claims(), current.privateKey, { alg: 'RS256', kid: 'k1' }))).resolves.toMatchObject({
      agentId: 'a1',
    });
  });

  it('refuses a token signed by a key the provider does not publish', async () => {
    const verifier = new TokenVerifier(jwksSettings());
    const stranger = await rsaKey('k1');
    const token = await sign(claims(), stranger.privateKey, { alg: 'RS256', kid: 'k1' });
    expect(await refusal(token, verifier)).toEqual({ status: 401, code: 'token_invalid', message: 'token signature does not verify' });
  });

  it('follows a key rotation: an unknown kid makes jose refetch the set once its 30 s cooldown is over', async () => {
    const verifier = new TokenVerifier(jwksSettings());
    const oldToken = await sign(claims(), current.privateKey, { alg: 'RS256', kid: 'k1' });
    await verifier.verify(oldToken);
    expect(jwks.fetches).toBe(1);

    const next = await rsaKey('k2');
    jwks.keys = [next.jwk];
    const newToken = await sign(claims(), next.privateKey, { alg: 'RS256', kid: 'k2' });
    // Within the cooldown the cached set is kept (a flood of made-up kids cannot hammer the provider).
    expect(await refusal(newToken, verifier)).toMatchObject({ status: 401, code: 'token_invalid' });
    expect(jwks.fetches).toBe(1);

    const later = Date.now() + 31_000;
    jest.spyOn(Date, 'now').mockImplementation(() => later);
    await expect(verifier.verify(newToken)).resolves.toMatchObject({ agentId: 'a1' });
    expect(jwks.fetches).toBe(2);
    // The retired key is gone from the refetched set.
    expect(await refusal(oldToken, verifier)).toMatchObject({ status: 401, code: 'token_invalid' });
  });

  it('answers 503 auth_unavailable, not 401, when the provider cannot be reached', async () => {
    const gone = await JwksServer.start();
    const url = gone.url;
    await gone.stop();
    const verifier = new TokenVerifier(jwksSettings({ jwksUrl: url }));
    const token = await sign(claims(), current.privateKey, { alg: 'RS256', kid: 'k1' });
    expect(await refusal(token, verifier)).toMatchObject({ status: 503, code: 'auth_unavailable' });
  });
});

describe('development tokens (npm run token)', () => {
  const developmentSettings = () => authSettings(loadConfig(gatewayEnvSchema, {}));

  it('mints a token the gateway accepts with its default development settings', async () => {
    const token = await mintDevToken({
      secret: developmentSettings().secret!,
      issuer: developmentSettings().issuer,
      audience: developmentSettings().audience,
      agentId: 'a1',
      tenantId: 'default',
      role: 'supervisor',
      ttlSeconds: 60,
    });
    await expect(new TokenVerifier(developmentSettings()).verify(token)).resolves.toEqual({
      subject: 'a1',
      agentId: 'a1',
      tenantId: 'default',
      role: 'supervisor',
    });
  });

  it('refuses to mint what the gateway would refuse', async () => {
    const request = { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, agentId: 'a1', tenantId: 't', role: 'agent' as const };
    await expect(mintDevToken({ ...request, ttlSeconds: 60 })).resolves.toEqual(expect.any(String));
    await expect(mintDevToken({ ...request, ttlSeconds: 60, agentId: 'a.1' })).rejects.toThrow('agent id must be');
    await expect(mintDevToken({ ...request, ttlSeconds: 60, tenantId: '' })).rejects.toThrow('tenant must not be empty');
    await expect(mintDevToken({ ...request, ttlSeconds: 0 })).rejects.toThrow('ttl must be');
  });

  it('prints only the token, on one line, from the built CLI (dist/, built by npm test)', async () => {
    const env = { ...process.env };
    for (const name of ['JWT_SECRET', 'JWT_ISSUER', 'JWT_AUDIENCE']) delete env[name];
    const stdout = execFileSync(process.execPath, [join(ROOT, 'dist', 'scripts', 'token.js'), '--agent', 'a1', '--role', 'agent'], {
      env,
      encoding: 'utf8',
    });
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    await expect(new TokenVerifier(developmentSettings()).verify(stdout.trim())).resolves.toMatchObject({ agentId: 'a1', role: 'agent' });
  });
});
