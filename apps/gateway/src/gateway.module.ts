import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AmqpConnection, MessagingModule } from '@app/messaging';
import { HealthModule, LoggingModule, MetricsModule } from '@app/observability';
import { DatabaseHealth, PersistenceModule } from '@app/persistence';
import { AdminController } from './admin/admin.controller';
import { AdminRepository } from './admin/admin.repository';
import { AgentController } from './agent/agent.controller';
import { ConversationsController } from './agent/conversations.controller';
import { ReadModel } from './agent/read-model';
import { AuthGuard } from './auth/auth.guard';
import { TokenVerifier } from './auth/token-verifier';
import { CommandBus } from './commands/command-bus';
import { authSettings, GATEWAY_CONFIG, type GatewayConfig } from './gateway.config';
import { CallerThrottlerGuard } from './http/caller-throttler.guard';
import { ErrorFilter } from './http/error.filter';
import { AgentEventHub } from './realtime/agent-event-hub';
import { AgentStream } from './realtime/agent-stream';
import { EventJournal } from './realtime/event-journal';
import { SupervisorStream } from './realtime/supervisor-stream';
import { SupervisorController } from './supervisor/supervisor.controller';
import { SupervisorStats } from './supervisor/supervisor-stats';

/** The broker side, global so that readiness can report whether this replica receives agent events. */
@Global()
@Module({ providers: [AgentEventHub, CommandBus], exports: [AgentEventHub, CommandBus] })
class GatewayBrokerModule {}

@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        LoggingModule.forRoot({ service: 'agent-gateway', level: config.LOG_LEVEL }),
        MessagingModule.forRoot({
          connection: { url: config.AMQP_URL, heartbeatSeconds: config.AMQP_HEARTBEAT_S, connectionName: 'agent-gateway' },
          amqpConsumers: false,
        }),
        PersistenceModule.forRoot({
          url: config.DATABASE_URL,
          poolSize: config.DATABASE_POOL_SIZE,
          applicationName: 'agent-gateway',
          runMigrations: config.MIGRATIONS_RUN,
        }),
        { module: GatewayBrokerModule, providers: [{ provide: GATEWAY_CONFIG, useValue: config }] },
        HealthModule.register([AmqpConnection, DatabaseHealth, AgentEventHub]),
        MetricsModule,
        ThrottlerModule.forRoot({ throttlers: [{ ttl: config.RATE_LIMIT_WINDOW_MS, limit: config.RATE_LIMIT }] }),
      ],
      controllers: [AgentController, ConversationsController, SupervisorController, AdminController],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: TokenVerifier, useFactory: () => new TokenVerifier(authSettings(config)) },
        { provide: APP_FILTER, useClass: ErrorFilter },
        AuthGuard,
        CallerThrottlerGuard,
        ReadModel,
        EventJournal,
        SupervisorStats,
        AdminRepository,
        AgentStream,
        SupervisorStream,
      ],
    };
  }
}
