import { z } from 'zod';
import { ConfigError, loadConfig } from './config.loader';
import { commonEnvSchema, DEFAULT_AMQP_URL } from './common-env.schema';

describe('loadConfig', () => {
  it('applies defaults for a bare environment', () => {
    const config = loadConfig(commonEnvSchema, {});
    expect(config.AMQP_URL).toBe(DEFAULT_AMQP_URL);
    expect(config.AMQP_PREFETCH).toBe(50);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('coerces numbers and booleans', () => {
    const schema = commonEnvSchema.extend({ FLAG: z.enum(['true', 'false']).transform((v) => v === 'true') });
    const config = loadConfig(schema, { AMQP_PREFETCH: '7', FLAG: 'false' });
    expect(config.AMQP_PREFETCH).toBe(7);
    expect(config.FLAG).toBe(false);
  });

  it('names every bad variable without echoing its value', () => {
    const secret = 'postgres-with-s3cret';
    let caught: unknown;
    try {
      loadConfig(commonEnvSchema, { DATABASE_URL: secret, AMQP_PREFETCH: 'lots' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as ConfigError).message;
    expect(message).toContain('DATABASE_URL: expected a postgres: or postgresql:// URL');
    expect(message).toContain('AMQP_PREFETCH: expected an integer from 1 to 10000');
    expect(message).not.toContain(secret);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(commonEnvSchema, { LOG_LEVEL: '' }).LOG_LEVEL).toBe('info');
  });
});
