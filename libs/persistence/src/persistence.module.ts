import { DynamicModule, Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { createDataSource, type DataSourceSettings } from './data-source';
import { DatabaseHealth } from './database-health';
import { runMigrationsLocked } from './migrate';

export interface PersistenceModuleOptions extends DataSourceSettings {
  /** The owning service applies pending migrations at start (under the advisory lock). */
  runMigrations: boolean;
}

@Injectable()
class PersistenceLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(DatabaseHealth) private readonly health: DatabaseHealth,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    this.health.stop();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Global()
@Module({})
export class PersistenceModule {
  static forRoot(options: PersistenceModuleOptions): DynamicModule {
    return {
      module: PersistenceModule,
      providers: [
        {
          provide: DataSource,
          useFactory: async () => {
            const logger = new Logger('Persistence');
            const dataSource = createDataSource(options);
            await dataSource.initialize();
            if (options.runMigrations) {
              const applied = await runMigrationsLocked(dataSource);
              logger.log({ applied }, applied.length ? 'migrations applied' : 'schema up to date');
            }
            return dataSource;
          },
        },
        {
          provide: DatabaseHealth,
          inject: [DataSource],
          useFactory: (dataSource: DataSource) => {
            const health = new DatabaseHealth(dataSource);
            health.start();
            return health;
          },
        },
        PersistenceLifecycle,
      ],
      exports: [DataSource, DatabaseHealth],
    };
  }
}
