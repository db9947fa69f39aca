/**
 * Environment variables shared by every service. Each app extends this shape with its own.
 * Defaults point at the local RabbitMQ and Postgres so that `npm start` works on a developer machine.
 */
import { z } from 'zod';

const url = (protocols: string[], example: string) =>
  z
    .string({ error: `expected a URL such as ${example}` })
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      { message: `expected a ${protocols.join(' or ')}// URL such as ${example}` },
    );

const bool = z
  .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
  .transform((value) => value === 'true' || value === '1');

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: `expected an integer from ${min} to ${max}` })
    .int({ error: `expected an integer from ${min} to ${max}` })
    .min(min, { error: `expected an integer from ${min} to ${max}` })
    .max(max, { error: `expected an integer from ${min} to ${max}` });

export const envTypes = { url, bool, int };

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/channel_router';

export const commonEnvSchema = z.object({
  AMQP_URL: url(['amqp:', 'amqps:'], 'amqp://user:pass@host:5672/vhost').default(DEFAULT_AMQP_URL),
  AMQP_HEARTBEAT_S: int(1, 600).default(15),
  AMQP_PREFETCH: int(1, 10_000).default(50),
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://user@host:5432/db').default(DEFAULT_DATABASE_URL),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  SHUTDOWN_DELAY_MS: int(0, 120_000).default(0),
  SHUTDOWN_TIMEOUT_MS: int(1_000, 600_000).default(25_000),
});

export type CommonEnv = z.output<typeof commonEnvSchema>;
