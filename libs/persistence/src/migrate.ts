/**
 * Applies pending migrations under a Postgres advisory lock, so that several replicas starting at
 * once run them one after another: the first applies, the others wait and then find nothing to do.
 * The lock is session-level and held on a dedicated connection; it is released even on failure (and
 * by Postgres itself if the process dies). Needs a pool of at least two connections: one holds the
 * lock while the migrations run on another.
 */
import type { DataSource } from 'typeorm';

const MIGRATION_LOCK_KEY = 'channel-router:migrations';

export async function runMigrationsLocked(dataSource: DataSource): Promise<string[]> {
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock(hashtext($1))', [MIGRATION_LOCK_KEY]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await lockRunner.query('SELECT pg_advisory_unlock(hashtext($1))', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lockRunner.release();
  }
}
