/**
 * Boot-time configuration: every app describes its environment with a zod schema and gets a typed,
 * frozen object back. A missing or malformed variable stops the process with one line per problem,
 * naming the variable and what it expects — never echoing the value, which may be a secret.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<z.output<S>> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    input[key] = value === '' ? undefined : value;
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(root)';
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  return Object.freeze(result.data);
}

/** Runs `loadConfig` for a process entry point: on error prints one clear line and exits 1. */
export function loadConfigOrExit<S extends z.ZodObject>(schema: S, app: string): Readonly<z.output<S>> {
  try {
    return loadConfig(schema);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${app}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
