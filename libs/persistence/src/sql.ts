/**
 * Thin helpers over TypeORM's query runner. `rows()` always returns the rows (TypeORM's plain
 * `query()` returns `[rows, count]` for UPDATE/DELETE, a trap for RETURNING clauses).
 * `preparedRows()` does the same through a named prepared statement. `inTransaction()` retries the
 * whole unit on serialization failures and deadlocks, which Postgres may raise under contention and
 * which are safe to retry by definition. `afterCommit()` defers a side effect that must count only
 * committed work (a metric) to the moment the unit commits: a rolled-back or retried attempt drops it.
 */
import { createHash } from 'node:crypto';
import type { DataSource, QueryResult, QueryRunner } from 'typeorm';

export async function rows<T>(runner: QueryRunner, text: string, params: unknown[] = []): Promise<T[]> {
  const result = (await runner.query(text, params, true)) as QueryResult;
  return result.records as T[];
}

/** What `pg` takes for a named statement; `text` stays readable for whoever inspects the query. */
export interface PreparedStatement {
  name: string;
  text: string;
}

/** A statement name derived from the text, so one name never stands for two texts on a connection. */
export function statementName(text: string): string {
  return `s_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
}

/**
 * `rows()` through a named prepared statement: each connection parses the text once, and after a
 * few runs Postgres reuses a generic plan — for hot statements whose parsing and planning cost more
 * than running them. Only for statements whose plan does not depend on the parameter values (key
 * lookups, index-ordered probes), since a generic plan ignores them. TypeORM has no named
 * statements but hands its query to `pg` untouched, so the `pg` query config goes through the
 * runner and errors are still TypeORM's.
 */
export async function preparedRows<T>(runner: QueryRunner, statement: PreparedStatement, params: unknown[]): Promise<T[]> {
  // pg fills the config with the values, so each call gets its own.
  const config = { name: statement.name, text: statement.text };
  const result = (await runner.query(config as unknown as string, params, true)) as QueryResult;
  return result.records as T[];
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

/**
 * A concurrent update the statement could not see: one READ COMMITTED statement waited for a row
 * lock and re-read that row, but its other parts still read the snapshot taken before the wait.
 * Carries SQLSTATE 40001 (serialization failure), so `inTransaction()` runs the unit again.
 */
export class ConcurrentUpdateError extends Error {
  readonly code = '40001';

  constructor(message: string) {
    super(message);
    this.name = 'ConcurrentUpdateError';
  }
}

export function sqlState(error: unknown): string | undefined {
  const candidate = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = candidate?.driverError?.code ?? candidate?.code;
  return typeof code === 'string' ? code : undefined;
}

const commitHooks = new WeakMap<QueryRunner, Array<() => void>>();

/**
 * Runs `hook` once the `inTransaction()` unit on `runner` has committed, never when it rolls back.
 * On a runner outside such a unit there is nothing to wait for, so it runs at once.
 */
export function afterCommit(runner: QueryRunner, hook: () => void): void {
  const hooks = commitHooks.get(runner);
  if (hooks) hooks.push(hook);
  else hook();
}

export async function inTransaction<T>(
  dataSource: DataSource,
  work: (runner: QueryRunner) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      const hooks: Array<() => void> = [];
      commitHooks.set(runner, hooks);
      const result = await work(runner);
      await runner.commitTransaction();
      commitHooks.delete(runner);
      for (const hook of hooks) hook();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      if (attempt >= attempts || !RETRYABLE_SQLSTATES.has(sqlState(error) ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    } finally {
      commitHooks.delete(runner);
      await runner.release();
    }
  }
}
