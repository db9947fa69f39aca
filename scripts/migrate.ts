/** `npm run migrate`: creates the database if needed and applies pending migrations (advisory-locked). */
import { loadConfigOrExit, commonEnvSchema } from '@app/config';
import { createDataSource, runMigrationsLocked } from '@app/persistence';
import { ensureDatabase } from './lib/preflight';

async function main(): Promise<void> {
  const config = loadConfigOrExit(commonEnvSchema, 'migrate');
  await ensureDatabase(config.DATABASE_URL);
  const dataSource = createDataSource({ url: config.DATABASE_URL, poolSize: 2, applicationName: 'migrate' });
  await dataSource.initialize();
  try {
    const applied = await runMigrationsLocked(dataSource);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema up to date\n');
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`migrate: ${error.message}\n`);
  process.exit(1);
});
