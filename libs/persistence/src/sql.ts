/**
 * Thin helpers over TypeORM's query runner. `rows()` always returns the rows (TypeORM's plain
 * `query()` returns `[rows, count]` for UPDATE/DELETE, a trap for RETURNING clauses).
 * `inTransaction()` retries the whole unit on serialization failures and deadlocks, which Postgres
 * may raise under contention and which are safe to retry by definition.
 */
import type { DataSource, QueryResult, QueryRunner } from 'typeorm';

export async function rows<T>(runner: QueryRunner, text: string, params: unknown[] = []): Promise<T[]> {
  const result = (await runner.query(text, params, true)) as QueryResult;
  return result.records as T[];
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

export function sqlState(error: unknown): string | undefined {
  const candidate = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = candidate?.driverError?.code ?? candidate?.code;
  return typeof code === 'string' ? code : undefined;
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
      const result = await work(runner);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      if (attempt >= attempts || !RETRYABLE_SQLSTATES.has(sqlState(error) ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    } finally {
      await runner.release();
    }
  }
}
