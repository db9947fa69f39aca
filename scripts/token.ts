/**
 * `npm run -s token -- --agent a1 --role agent`: prints a development bearer token for the gateway,
 * signed HS256 with JWT_SECRET (the built-in development secret when unset) and carrying the issuer
 * and audience the gateway checks (JWT_ISSUER / JWT_AUDIENCE, else the development defaults). Only
 * the token goes to stdout, on one line, so `TOKEN=$(npm run -s token -- ...)` works.
 */
import { parseArgs } from 'node:util';
import { isRole, ROLES } from '../apps/gateway/src/auth/principal';
import { mintDevToken } from '../apps/gateway/src/auth/token-verifier';
import { DEV_JWT_ISSUER, DEV_JWT_SECRET, JWT_AUDIENCE_DEFAULT } from '../apps/gateway/src/gateway.config';

const USAGE =
  `usage: npm run -s token -- --agent <id> --role ${ROLES.join('|')} [--tenant <id>] [--ttl 8h|30m|3600] [--secret <secret>]\n` +
  '  --tenant defaults to "default", --ttl to 8h (a bare number is seconds; s, m, h and d suffixes work)\n' +
  '  the secret, issuer and audience default to JWT_SECRET, JWT_ISSUER and JWT_AUDIENCE, else the development values\n';

const TTL_UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3_600, d: 86_400 };

function fail(message: string): never {
  process.stderr.write(`token: ${message} (see --help)\n`);
  process.exit(2);
}

function ttlSeconds(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text);
  return match ? Number(match[1]) * TTL_UNIT_SECONDS[match[2]] : undefined;
}

/** An empty variable counts as unset, as in the services' own config loading. */
function env(name: string): string | undefined {
  return process.env[name] || undefined;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        agent: { type: 'string' },
        role: { type: 'string' },
        tenant: { type: 'string', default: 'default' },
        ttl: { type: 'string', default: '8h' },
        secret: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!values.agent) fail('--agent is required');
  if (!isRole(values.role)) fail(`--role must be one of ${ROLES.join(', ')}`);
  const ttl = ttlSeconds(values.ttl);
  if (!ttl) fail('--ttl must be a positive duration such as 8h, 30m or 3600 (seconds)');

  // mintDevToken refuses only what the gateway would refuse (a bad agent id, an empty tenant): argument errors.
  const token = await mintDevToken({
    secret: values.secret ?? env('JWT_SECRET') ?? DEV_JWT_SECRET,
    issuer: env('JWT_ISSUER') ?? DEV_JWT_ISSUER,
    audience: env('JWT_AUDIENCE') ?? JWT_AUDIENCE_DEFAULT,
    agentId: values.agent,
    tenantId: values.tenant,
    role: values.role,
    ttlSeconds: ttl,
  }).catch((error: Error) => fail(error.message));
  process.stdout.write(`${token}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`token: ${error.message}\n`);
  process.exit(1);
});
