/**
 * Turns a bearer token into a Principal, or refuses it with a 401 (reliability requirement S3).
 *
 * Invariants:
 * - only algorithms on the configured allow-list verify, and `none` never does;
 * - the key is chosen by the gateway's configuration, never by the token: an HS* token is checked
 *   against the shared secret only and anything else against the identity provider's JWKS only, so
 *   a published public key can never serve as an HMAC secret (algorithm confusion);
 * - issuer, audience and expiry are always checked, with the configured clock tolerance;
 * - messages say what is wrong in plain words but never echo the token.
 *
 * An identity provider that cannot be reached is the gateway's problem, not the caller's: it answers
 * 503 so clients retry instead of discarding a good token.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AGENT_ID_PATTERN } from '@app/contracts';
import type { AuthSettings } from '../gateway.config';
import { ApiError } from '../http/api-error';
import { isRole, ROLES, type Principal, type Role } from './principal';

const HMAC_ALGORITHM = /^HS\d+$/;
/** Key-resolution failures the token causes; any other failure while fetching keys is the provider's. */
const TOKEN_KEY_ERRORS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED']);
const AGENT_ID_RULE = '1 to 64 letters, digits, _ or -';

export class TokenVerifier {
  private readonly secret?: Uint8Array;
  private readonly jwks?: JWTVerifyGetKey;

  constructor(private readonly settings: AuthSettings) {
    // The env schema cannot produce these; a hand-built AuthSettings could, and must not boot.
    if (settings.algorithms.some((alg) => alg.toLowerCase() === 'none')) {
      throw new Error('JWT algorithms must not include none');
    }
    if (!settings.secret && !settings.jwksUrl) throw new Error('token verification needs a JWT secret or a JWKS URL');
    this.secret = settings.secret ? new TextEncoder().encode(settings.secret) : undefined;
    this.jwks = settings.jwksUrl ? providerKeys(new URL(settings.jwksUrl)) : undefined;
  }

  async verify(token: string): Promise<Principal> {
    if (!token) throw new ApiError(401, 'token_missing', 'no bearer token was sent');
    const alg = algorithmOf(token);
    if (alg.toLowerCase() === 'none') throw invalid('unsigned tokens (alg none) are never accepted');
    const key = HMAC_ALGORITHM.test(alg) ? this.secret : this.jwks;
    if (!this.settings.algorithms.includes(alg) || !key) {
      throw invalid(`token algorithm ${printable(alg)} is not allowed (accepted: ${this.settings.algorithms.join(', ')})`);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: this.settings.algorithms,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: this.settings.clockToleranceS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw this.refusal(error);
    }
    return principalFrom(payload);
  }

  /** jose's errors, by their stable `code`, as the gateway's 401s. */
  private refusal(error: unknown): unknown {
    if (error instanceof ApiError) return error;
    const { code, claim, reason, payload } = error as { code?: string; claim?: string; reason?: string; payload?: JWTPayload };
    switch (code) {
      case 'ERR_JWT_EXPIRED':
        return new ApiError(
          401,
          'token_expired',
          typeof payload?.exp === 'number' ? `token expired at ${new Date(payload.exp * 1000).toISOString()}` : 'token has expired',
        );
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
        return invalid(this.claimProblem(claim, reason));
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return invalid('token signature does not verify');
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
      case 'ERR_JOSE_NOT_SUPPORTED':
        return invalid('token algorithm is not allowed');
      case 'ERR_JWKS_NO_MATCHING_KEY':
        return invalid("no signing key published by the identity provider matches the token's key id");
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        return invalid('token does not say which of the published signing keys signed it');
      case 'ERR_JWS_INVALID':
      case 'ERR_JWT_INVALID':
        return malformed();
      default:
        return error;
    }
  }

  private claimProblem(claim: string | undefined, reason: string | undefined): string {
    if (reason === 'missing') return `token has no ${claim} claim`;
    switch (claim) {
      case 'iss':
        return `token issuer is not ${this.settings.issuer}`;
      case 'aud':
        return `token audience is not ${this.settings.audience}`;
      case 'nbf':
        return 'token is not valid yet';
      case 'iat':
        return 'token was issued in the future';
      default:
        return `token claim ${claim} is invalid`;
    }
  }
}

export interface DevTokenRequest {
  secret: string;
  issuer: string;
  audience: string;
  agentId: string;
  tenantId: string;
  role: Role;
  ttlSeconds: number;
}

/** Signs an HS256 token shaped like the identity provider's, for local runs (`npm run token`) and tests. */
export async function mintDevToken(request: DevTokenRequest): Promise<string> {
  // Refuse to mint what the verifier would refuse, so a typo fails here rather than at the first call.
  if (!AGENT_ID_PATTERN.test(request.agentId)) throw new Error(`agent id must be ${AGENT_ID_RULE}`);
  if (!request.tenantId) throw new Error('tenant must not be empty');
  if (!isRole(request.role)) throw new Error(`role must be one of ${ROLES.join(', ')}`);
  if (!Number.isInteger(request.ttlSeconds) || request.ttlSeconds <= 0) {
    throw new Error('ttl must be a positive whole number of seconds');
  }
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ tenant: request.tenantId, role: request.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(request.agentId)
    .setIssuer(request.issuer)
    .setAudience(request.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + request.ttlSeconds)
    .sign(new TextEncoder().encode(request.secret));
}

/** The provider's JWKS, cached and refetched by jose when an unknown key id appears (key rotation). */
function providerKeys(url: URL): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url);
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (TOKEN_KEY_ERRORS.has((error as { code?: string }).code ?? '')) throw error;
      throw new ApiError(503, 'auth_unavailable', "the identity provider's signing keys could not be fetched; retry shortly");
    }
  };
}

function algorithmOf(token: string): string {
  try {
    const { alg } = decodeProtectedHeader(token);
    if (typeof alg === 'string') return alg;
  } catch {
    // Not decodable: reported as malformed below.
  }
  throw malformed();
}

function principalFrom(payload: JWTPayload): Principal {
  const { sub, tenant, role } = payload;
  if (!sub || !AGENT_ID_PATTERN.test(sub)) throw invalid(`token subject is not a valid agent id (${AGENT_ID_RULE})`);
  if (typeof tenant !== 'string' || !tenant) throw invalid('token has no tenant claim');
  if (!isRole(role)) throw invalid(`token role must be one of ${ROLES.join(', ')}`);
  return { subject: sub, agentId: sub, tenantId: tenant, role };
}

/** The header's alg is the caller's text: shown only when it looks like an algorithm name. */
function printable(alg: string): string {
  return /^[A-Za-z0-9]{1,16}$/.test(alg) ? alg : '(unrecognised)';
}

function invalid(message: string): ApiError {
  return new ApiError(401, 'token_invalid', message);
}

function malformed(): ApiError {
  return new ApiError(401, 'token_malformed', 'token is not a well-formed signed JWT (header.payload.signature)');
}
