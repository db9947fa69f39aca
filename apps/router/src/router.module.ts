import { DynamicModule, Module } from '@nestjs/common';
import { AmqpConnection, MessagingModule } from '@app/messaging';
import { HealthModule, LoggingModule, MetricsModule } from '@app/observability';
import { DatabaseHealth, PersistenceModule } from '@app/persistence';
import { CommandController } from './commands/command.controller';
import { DeliveryStatusController } from './delivery/delivery-status.controller';
import { DeliveryStatusUseCase } from './delivery/delivery-status.use-case';
import { InboundController } from './ingest/inbound.controller';
import { IngestBatcher } from './ingest/ingest-batcher';
import { IngestMessageUseCase } from './ingest/ingest-message.use-case';
import { OutboxRelay } from './outbox/outbox.relay';
import { PriorityPolicy } from './policy/priority.policy';
import { ROUTER_CONFIG, type RouterConfig } from './router.config';
import { Clock, SystemClock } from './routing/clock';
import { CustomerNotices } from './routing/customer-notices';
import { QueueResolver } from './routing/queue-resolver';
import { ROUTING_DEFAULTS, type RoutingDefaults } from './routing/routing-defaults';
import { RoutingEngine } from './routing/routing-engine';
import { RoutingStats } from './routing/routing-stats';
import { RoutingScheduler } from './timers/routing-scheduler';
import { AgentMessagesUseCase } from './use-cases/agent-messages.use-case';
import { BotFirstUseCase } from './use-cases/bot-first.use-case';
import { ChannelEndUseCase } from './use-cases/channel-end.use-case';
import { ConversationHandlingUseCase } from './use-cases/conversation-handling.use-case';
import { OfferResponseUseCase } from './use-cases/offer-response.use-case';
import { SetPresenceUseCase } from './use-cases/set-presence.use-case';
import { SupervisionUseCase } from './use-cases/supervision.use-case';

@Module({})
export class RouterModule {
  static forRoot(config: RouterConfig, clock: Clock = new SystemClock()): DynamicModule {
    const defaults: RoutingDefaults = {
      syncCap: config.DEFAULT_SYNC_CAP,
      asyncCap: config.DEFAULT_ASYNC_CAP,
      syncBlocksAsync: config.SYNC_BLOCKS_ASYNC,
      leaseSeconds: config.PRESENCE_LEASE_S,
    };
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
          applicationName: config.DATABASE_APPLICATION_NAME,
          runMigrations: config.MIGRATIONS_RUN,
        }),
        HealthModule.register([AmqpConnection, DatabaseHealth]),
        MetricsModule,
      ],
      controllers: [InboundController, CommandController, DeliveryStatusController],
      providers: [
        { provide: ROUTER_CONFIG, useValue: config },
        { provide: ROUTING_DEFAULTS, useValue: defaults },
        { provide: Clock, useValue: clock },
        { provide: PriorityPolicy, useFactory: () => new PriorityPolicy() },
        QueueResolver,
        CustomerNotices,
        RoutingEngine,
        RoutingStats,
        IngestMessageUseCase,
        IngestBatcher,
        SetPresenceUseCase,
        OfferResponseUseCase,
        ConversationHandlingUseCase,
        BotFirstUseCase,
        AgentMessagesUseCase,
        SupervisionUseCase,
        ChannelEndUseCase,
        DeliveryStatusUseCase,
        OutboxRelay,
        RoutingScheduler,
      ],
    };
  }
}
