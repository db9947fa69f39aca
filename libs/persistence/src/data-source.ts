/**
 * The one place that lists migrations (explicitly, in order — no globs) and builds the DataSource.
 * `synchronize` is never on: the schema changes only through reviewed migrations.
 */
import { DataSource } from 'typeorm';
import { InitialSchema1763900000000 } from './migrations/1763900000000-initial-schema';
import { RoutingEngine1763910000000 } from './migrations/1763910000000-routing-engine';
import { QueueTimers1763920000000 } from './migrations/1763920000000-queue-timers';
import { AgentGateway1763930000000 } from './migrations/1763930000000-agent-gateway';
import { OutboundSends1763950000000 } from './migrations/1763950000000-outbound-sends';
import { MessageSequence1763960000000 } from './migrations/1763960000000-message-sequence';
import { NoticeSchedule1763970000000 } from './migrations/1763970000000-notice-schedule';

export const MIGRATIONS = [
  InitialSchema1763900000000,
  RoutingEngine1763910000000,
  QueueTimers1763920000000,
  AgentGateway1763930000000,
  OutboundSends1763950000000,
  MessageSequence1763960000000,
  NoticeSchedule1763970000000,
];

export interface DataSourceSettings {
  url: string;
  poolSize: number;
  applicationName: string;
}

export function createDataSource(settings: DataSourceSettings): DataSource {
  return new DataSource({
    type: 'postgres',
    url: settings.url,
    applicationName: settings.applicationName,
    poolSize: settings.poolSize,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    entities: [],
    logging: false,
    extra: { connectionTimeoutMillis: 5_000 },
  });
}
