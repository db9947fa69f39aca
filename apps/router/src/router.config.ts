import { z } from 'zod';
import { commonEnvSchema, envTypes } from '@app/config';

export const routerEnvSchema = commonEnvSchema.extend({
  HTTP_PORT: envTypes.int(1, 65_535).default(3001),
  MIGRATIONS_RUN: envTypes.bool.default(true),
  OUTBOX_POLL_MS: envTypes.int(50, 60_000).default(1_000),
  OUTBOX_BATCH_SIZE: envTypes.int(1, 10_000).default(200),
});

export type RouterConfig = z.output<typeof routerEnvSchema>;
export const ROUTER_CONFIG = Symbol('ROUTER_CONFIG');
