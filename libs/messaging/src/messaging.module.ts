import { DynamicModule, Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { PassThroughRpcFilter } from './pass-through.filter';
import { AmqpConnection, type AmqpConnectionOptions } from './amqp-connection';
import { Publisher } from './publisher';
import { declareTopology, PRODUCT_TOPOLOGY, type TopologySpec } from './topology';

export interface MessagingModuleOptions {
  connection: AmqpConnectionOptions;
  topology?: TopologySpec;
  confirmTimeoutMs?: number;
  /**
   * Installs the filter that hands broker-delivery errors to the AMQP transport (default true).
   * A service without Nest AMQP consumers turns it off so its own HTTP filter is the only global one.
   */
  amqpConsumers?: boolean;
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');

/** Closes the broker connection last, after Nest has drained the transports. */
@Injectable()
class MessagingLifecycle implements OnApplicationShutdown {
  constructor(@Inject(AmqpConnection) private readonly connection: AmqpConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}

@Global()
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        { provide: MESSAGING_OPTIONS, useValue: options },
        {
          provide: AmqpConnection,
          useFactory: async () => {
            const connection = new AmqpConnection(options.connection, new Logger('AmqpConnection'));
            const topology = options.topology ?? PRODUCT_TOPOLOGY;
            await connection.register(async (model) => {
              const channel = await model.createChannel();
              try {
                await declareTopology(channel, topology);
              } finally {
                await channel.close().catch(() => undefined);
              }
            });
            connection.start();
            return connection;
          },
        },
        {
          provide: Publisher,
          inject: [AmqpConnection],
          useFactory: async (connection: AmqpConnection) => {
            const publisher = new Publisher(
              connection,
              { confirmTimeoutMs: options.confirmTimeoutMs ?? 10_000 },
              new Logger('Publisher'),
            );
            await publisher.init();
            return publisher;
          },
        },
        MessagingLifecycle,
        ...(options.amqpConsumers === false ? [] : [{ provide: APP_FILTER, useClass: PassThroughRpcFilter }]),
      ],
      exports: [AmqpConnection, Publisher, MESSAGING_OPTIONS],
    };
  }
}
