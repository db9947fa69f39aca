import { Controller, DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import { adapterOutboundQueue, EXCHANGES, routingKeys, type Channel } from '@app/contracts';
import { AmqpConnection, MessagingModule, PRODUCT_TOPOLOGY, Publisher, type TopologySpec } from '@app/messaging';
import { HealthModule, LoggingModule, MetricsModule } from '@app/observability';
import { DatabaseHealth, PersistenceModule } from '@app/persistence';
import type { AdapterEnv } from './adapter.config';
import type { AdapterRuntime, ChannelAdapter } from './channel-adapter';
import { InboundPublisher } from './inbound-publisher';
import { OutboundWorker } from './outbound-worker';

export const ADAPTER = Symbol('ADAPTER');

export interface AdapterInstance {
  channel: Channel;
  env: AdapterEnv;
  runtime: AdapterRuntime;
  inbound: InboundPublisher;
}

/** The product topology plus this adapter's outbound queue (declaring the router's queues too keeps publishes routable). */
export function adapterTopology(channel: Channel): TopologySpec {
  return {
    exchanges: PRODUCT_TOPOLOGY.exchanges,
    workQueues: [
      ...PRODUCT_TOPOLOGY.workQueues,
      {
        name: adapterOutboundQueue(channel),
        bindings: [{ exchange: EXCHANGES.outbound, pattern: routingKeys.outbound(channel) }],
        deliveryLimit: 5,
        maxLength: 100_000,
      },
    ],
  };
}

@Controller()
class OutboundController {
  constructor(private readonly worker: OutboundWorker) {}

  @EventPattern<string>('outbound.*')
  handle(@Payload() payload: unknown): Promise<void> {
    return this.worker.handle(payload);
  }
}

/** Stops an adapter's own servers (SMTP) before the broker and database connections close. */
@Injectable()
class RuntimeLifecycle implements OnApplicationShutdown {
  constructor(@Inject(ADAPTER) private readonly adapter: AdapterInstance) {}

  async onApplicationShutdown(): Promise<void> {
    await this.adapter.runtime.stop?.();
  }
}

@Module({})
export class AdapterModule {
  static forRoot(definition: ChannelAdapter, env: AdapterEnv): DynamicModule {
    const service = `${definition.channel}-adapter`;
    return {
      module: AdapterModule,
      imports: [
        LoggingModule.forRoot({ service, level: env.LOG_LEVEL }),
        MessagingModule.forRoot({
          connection: { url: env.AMQP_URL, heartbeatSeconds: env.AMQP_HEARTBEAT_S, connectionName: service },
          topology: adapterTopology(definition.channel),
        }),
        PersistenceModule.forRoot({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, applicationName: service, runMigrations: false }),
        HealthModule.register([AmqpConnection, DatabaseHealth]),
        MetricsModule,
      ],
      controllers: [OutboundController],
      providers: [
        {
          provide: ADAPTER,
          inject: [Publisher, AmqpConnection],
          useFactory: (publisher: Publisher, connection: AmqpConnection): AdapterInstance => {
            const inbound = new InboundPublisher(publisher, definition.channel, env.TENANT_ID);
            const runtime = definition.create({
              env: env as Parameters<typeof definition.create>[0]['env'],
              ingest: (outcome) => inbound.publish(outcome).then(() => undefined),
              broker: { connection, publisher },
            });
            return { channel: definition.channel, env, runtime, inbound };
          },
        },
        {
          provide: OutboundWorker,
          inject: [ADAPTER, DataSource, Publisher],
          useFactory: (adapter: AdapterInstance, dataSource: DataSource, publisher: Publisher) =>
            new OutboundWorker(adapter.channel, adapter.runtime, dataSource, publisher, env),
        },
        RuntimeLifecycle,
      ],
    };
  }
}
