import { dropDatabase } from './infrastructure';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__CHANNEL_ROUTER_TEST_RUN__;
  if (!state) return;
  await state.vhostAdmin.remove(state.vhost).catch(() => undefined);
  await dropDatabase(state.adminDatabaseUrl, state.database).catch(() => undefined);
  for (const stop of state.stopContainers) await stop();
}
