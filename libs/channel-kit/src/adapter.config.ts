import { z } from 'zod';
import { commonEnvSchema, envTypes } from '@app/config';

/** What every adapter reads, besides its own provider settings. */
export const adapterEnvSchema = commonEnvSchema.extend({
  HTTP_PORT: envTypes.int(1, 65_535).optional(),
  /**
   * The public base URL providers call (scheme, host, optional path prefix). Signatures that cover
   * the URL (Twilio) are checked against this, never against the Host header an ingress rewrites.
   */
  PUBLIC_BASE_URL: envTypes.url(['http:', 'https:'], 'https://hooks.example.com').optional(),
  /** The tenant this adapter's traffic belongs to (one provider account per tenant and adapter). */
  TENANT_ID: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).default('default'),
  WEBHOOK_BODY_LIMIT: z.string().regex(/^\d+(kb|mb)$/).default('1mb'),
  /** Attempts per outbound message before it is reported failed; temporary failures back off between them. */
  SEND_MAX_ATTEMPTS: envTypes.int(1, 20).default(5),
  SEND_RETRY_BASE_MS: envTypes.int(10, 60_000).default(500),
  SEND_RETRY_MAX_MS: envTypes.int(100, 600_000).default(30_000),
  /** How long a provider call may take before it counts as a temporary failure. */
  SEND_TIMEOUT_MS: envTypes.int(100, 120_000).default(10_000),
});

export type AdapterEnv = z.output<typeof adapterEnvSchema>;
