import { z } from 'zod';
import { commonEnvSchema, envTypes } from '@app/config';

/** Development signing secret: only accepted when NODE_ENV is not `production`. */
export const DEV_JWT_SECRET = 'channel-router-dev-secret-not-for-production';
export const DEV_JWT_ISSUER = 'channel-router-dev';
export const JWT_AUDIENCE_DEFAULT = 'channel-router';

const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

export const gatewayEnvSchema = commonEnvSchema
  .extend({
    NODE_ENV: z.string().default('development'),
    HTTP_PORT: envTypes.int(1, 65_535).default(3002),
    /** Shared HMAC secret (HS256/384/512). Set this or JWKS_URL; in production one of them is required. */
    JWT_SECRET: z.string().min(32, { error: 'JWT_SECRET must be at least 32 characters' }).optional(),
    /** Where the identity provider publishes its signing keys (RS256/ES256/EdDSA tokens). */
    JWKS_URL: envTypes.url(['https:', 'http:'], 'https://idp.example.com/.well-known/jwks.json').optional(),
    /** Algorithm allow-list; a token signed with anything else is refused (no `none`, ever). */
    JWT_ALGORITHMS: list.pipe(z.array(z.enum(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'])).min(1)).optional(),
    JWT_ISSUER: z.string().min(1).default(DEV_JWT_ISSUER),
    JWT_AUDIENCE: z.string().min(1).default(JWT_AUDIENCE_DEFAULT),
    /** Seconds of clock skew tolerated on exp/nbf/iat. */
    JWT_CLOCK_TOLERANCE_S: envTypes.int(0, 300).default(5),
    /** `held`: an agent reads conversations it holds, is offered or held before; `holding`: only current ones. */
    HISTORY_ACCESS: z.enum(['held', 'holding']).default('held'),
    MIGRATIONS_RUN: envTypes.bool.default(false),
    /** Largest accepted request body. */
    BODY_LIMIT: z.string().regex(/^\d+(kb|mb)$/, { error: 'expected a size such as 64kb or 1mb' }).default('64kb'),
    /** Requests per caller (token subject, else client address) per window. */
    RATE_LIMIT: envTypes.int(1, 1_000_000).default(600),
    RATE_LIMIT_WINDOW_MS: envTypes.int(100, 3_600_000).default(60_000),
    /**
     * The router's global capacity defaults and sync/async rule (same variables and defaults), for an
     * agent's effective caps and the supervisor's count of agents with room — keep them equal to the router's.
     */
    DEFAULT_SYNC_CAP: envTypes.int(0, 100).default(1),
    DEFAULT_ASYNC_CAP: envTypes.int(0, 100).default(8),
    SYNC_BLOCKS_ASYNC: envTypes.bool.default(true),
    /** How long a REST call waits for the router's answer to its command. */
    COMMAND_TIMEOUT_MS: envTypes.int(100, 120_000).default(10_000),
    /** How often the supervisor stream pushes queue and agent stats. */
    SUPERVISOR_STREAM_MS: envTypes.int(250, 60_000).default(2_000),
    /** Most events replayed to one reconnecting socket; a desktop further behind reloads its state over REST. */
    EVENT_REPLAY_LIMIT: envTypes.int(1, 10_000).default(1_000),
  });

export type GatewayConfig = z.output<typeof gatewayEnvSchema>;
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');

export interface AuthSettings {
  secret?: string;
  jwksUrl?: string;
  algorithms: string[];
  issuer: string;
  audience: string;
  clockToleranceS: number;
}

/** The verification keys and rules; the development secret is used only outside production. */
export function authSettings(config: GatewayConfig): AuthSettings {
  const production = config.NODE_ENV === 'production';
  if (production && !config.JWT_SECRET && !config.JWKS_URL) {
    throw new Error('JWT_SECRET or JWKS_URL must be set when NODE_ENV=production');
  }
  return {
    secret: config.JWT_SECRET ?? (config.JWKS_URL || production ? undefined : DEV_JWT_SECRET),
    jwksUrl: config.JWKS_URL,
    algorithms: config.JWT_ALGORITHMS ?? (config.JWKS_URL ? ['RS256', 'ES256', 'EdDSA'] : ['HS256']),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    clockToleranceS: config.JWT_CLOCK_TOLERANCE_S,
  };
}
