/**
 * Development bearer tokens for the demo's identities, minted as scripts/token.ts mints them
 * (HS256 with JWT_SECRET, else the gateway's development secret; issuer and audience likewise), and
 * the desk links that carry them (`<desk>#token=<jwt>`; the desk reads the fragment, which never
 * reaches a server log).
 */
import type { Role } from '../../../apps/gateway/src/auth/principal';
import { mintDevToken } from '../../../apps/gateway/src/auth/token-verifier';
import { DEV_JWT_ISSUER, DEV_JWT_SECRET, JWT_AUDIENCE_DEFAULT } from '../../../apps/gateway/src/gateway.config';

export interface TokenSettings {
  secret: string;
  issuer: string;
  audience: string;
  tenantId: string;
  ttlSeconds: number;
}

/** The gateway's settings as `npm start` runs it: the environment, else the development values. */
export function devTokenSettings(env: Record<string, string | undefined> = {}, tenantId = 'default', ttlSeconds = 8 * 3_600): TokenSettings {
  return {
    secret: env.JWT_SECRET || DEV_JWT_SECRET,
    issuer: env.JWT_ISSUER || DEV_JWT_ISSUER,
    audience: env.JWT_AUDIENCE || JWT_AUDIENCE_DEFAULT,
    tenantId,
    ttlSeconds,
  };
}

export function mintToken(settings: TokenSettings, agentId: string, role: Role): Promise<string> {
  return mintDevToken({ ...settings, agentId, role });
}

export function deskLink(deskUrl: string, token: string): string {
  return `${deskUrl.replace(/#.*$/, '')}#token=${token}`;
}
