import { DynamicModule, Module } from '@nestjs/common';
import { AmqpConnection, MessagingModule } from '@app/messaging';
import { HealthModule, LoggingModule, MetricsModule } from '@app/observability';
import { DatabaseHealth, PersistenceModule } from '@app/persistence';
import { AssignConversationUseCase } from './assignment/assign-conversation.use-case';
import { InboundController } from './ingest/inbound.controller';
import { IngestMessageUseCase } from './ingest/ingest-message.use-case';
import { OutboxRelay } from './outbox/outbox.relay';
import { ROUTER_CONFIG, type RouterConfig } from './router.config';

@Module({})
export class RouterModule {
  static forRoot(config: RouterConfig): DynamicModule {
    return {
      module: RouterModule,
      imports: [
        LoggingModule.forRoot({ service: 'router', level: config.LOG_LEVEL }),
        MessagingModule.forRoot({
          connection: { url: config.AMQP_URL, heartbeatSeconds: config.AMQP_HEARTBEAT_S, connectionName: 'router' },
        }),
        PersistenceModule.forRoot({
          url: config.DATABASE_URL,
          poolSize: config.DATABASE_POOL_SIZE,
          applicationName: 'router',
          runMigrations: config.MIGRATIONS_RUN,
        }),
        HealthModule.register([AmqpConnection, DatabaseHealth]),
        MetricsModule,
      ],
      controllers: [InboundController],
      providers: [
        { provide: ROUTER_CONFIG, useValue: config },
        AssignConversationUseCase,
        IngestMessageUseCase,
        OutboxRelay,
      ],
    };
  }
}
