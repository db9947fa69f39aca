/**
 * libs/messaging against a real RabbitMQ: topology, confirmed publishing, and the transport's
 * ack / dead-letter / retry decisions, including recovery after the connection is cut.
 */
import { Controller, Logger, Module } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { EXCHANGES, HEADERS } from '@app/contracts';
import {
  AmqpConnection,
  AmqpContext,
  AmqpTransport,
  deadLetterQueueName,
  declareTopology,
  MessagingModule,
  PermanentMessageError,
  Publisher,
  UnroutableMessageError,
  type TopologySpec,
} from '@app/messaging';
import { TcpProxy, TestBroker, waitFor } from '@app/testing';

const QUEUE = 'test.work';
const TOPOLOGY: TopologySpec = {
  exchanges: [EXCHANGES.inbound, EXCHANGES.deadLetter],
  workQueues: [{ name: QUEUE, bindings: [{ exchange: EXCHANGES.inbound, pattern: 'test.#' }], deliveryLimit: 3, maxLength: 1_000 }],
};

const seen: Array<{ key: string; body: unknown; deliveryCount: number; correlationId?: string }> = [];
const database = { up: true };

@Controller()
class TestHandler {
  @EventPattern<string>('test.ok.*')
  ok(@Payload() body: unknown, @Ctx() context: AmqpContext): void {
    seen.push({ key: context.getRoutingKey(), body, deliveryCount: context.getDeliveryCount(), correlationId: context.getCorrelationId() });
  }

  @EventPattern<string>('test.permanent')
  permanent(): void {
    throw new PermanentMessageError('bad_thing', 'this message can never work');
  }

  @EventPattern<string>('test.flaky')
  async flaky(@Payload() body: { failTimes: number }, @Ctx() context: AmqpContext): Promise<void> {
    seen.push({ key: context.getRoutingKey(), body, deliveryCount: context.getDeliveryCount() });
    if (context.getDeliveryCount() < body.failTimes) throw new Error('database briefly unavailable');
  }

  @EventPattern<string>('test.needs-db')
  needsDatabase(@Payload() body: unknown, @Ctx() context: AmqpContext): void {
    if (!database.up) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    seen.push({ key: context.getRoutingKey(), body, deliveryCount: context.getDeliveryCount() });
  }

  @EventPattern<string>('test.slow')
  async slow(@Payload() body: { ms: number }, @Ctx() context: AmqpContext): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, body.ms));
    seen.push({ key: context.getRoutingKey(), body, deliveryCount: context.getDeliveryCount() });
  }
}

async function startApp(
  amqpUrl: string,
  dependenciesUp?: () => Promise<boolean>,
): Promise<{ app: INestApplication; transport: AmqpTransport }> {
  @Module({
    imports: [
      MessagingModule.forRoot({
        connection: { url: amqpUrl, heartbeatSeconds: 2, connectionName: 'messaging-test', maxReconnectDelayMs: 500 },
        topology: TOPOLOGY,
        confirmTimeoutMs: 3_000,
      }),
    ],
    controllers: [TestHandler],
  })
  class TestModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TestModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  const transport = new AmqpTransport(
    app.get(AmqpConnection),
    app.get(Publisher),
    { queues: [QUEUE], prefetch: 10, deliveryLimit: 3, retryDelayMs: 20, maxRetryDelayMs: 50, dependenciesUp, resumeCheckMs: 100 },
    new Logger('test'),
  );
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
  await app.init();
  await app.startAllMicroservices();
  await app.get(AmqpConnection).waitUntilConnected(10_000);
  return { app, transport };
}

/** An app whose broker connection runs through a TCP proxy the test can cut or silence. */
async function startBehindProxy() {
  const url = new URL(process.env.AMQP_URL!);
  const proxy = await TcpProxy.start(url.hostname, Number(url.port || 5672));
  const proxied = new URL(url.toString());
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return { proxy, local: await startApp(proxied.toString()) };
}

describe('messaging', () => {
  let broker: TestBroker;
  let app: INestApplication;
  let transport: AmqpTransport;

  beforeAll(async () => {
    broker = await TestBroker.open();
    ({ app, transport } = await startApp(process.env.AMQP_URL!));
  });

  afterAll(async () => {
    await app?.close();
    await broker?.close();
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it('declares quorum work queues with a delivery limit, a dead-letter queue and a length bound', async () => {
    const channel = await broker.connection.createChannel();
    // Re-declaring with the same arguments succeeds; any difference would be PRECONDITION_FAILED.
    await expect(declareTopology(channel, TOPOLOGY)).resolves.toBeUndefined();
    await channel.close();
    const probe = await broker.connection.createChannel();
    const closed = new Promise((resolve) => probe.once('error', resolve));
    probe.assertQueue(QUEUE, { durable: true, arguments: { 'x-queue-type': 'classic' } }).catch(() => undefined);
    expect(String(await closed)).toContain('PRECONDITION_FAILED');
    const dlq = await broker.channel.checkQueue(deadLetterQueueName(QUEUE));
    expect(dlq.queue).toBe(`${QUEUE}.dlq`);
  });

  it('delivers plain JSON to the matching wildcard handler and carries the correlation id', async () => {
    await broker.publish(EXCHANGES.inbound, 'test.ok.one', { hello: 'world' }, { headers: { [HEADERS.correlationId]: 'corr-1' } });
    const [message] = await waitFor(() => (seen.length ? seen : undefined), 'handled message');
    expect(message).toEqual({ key: 'test.ok.one', body: { hello: 'world' }, deliveryCount: 0, correlationId: 'corr-1' });
  });

  it('dead-letters a permanent failure with its reason and keeps consuming', async () => {
    await broker.publish(EXCHANGES.inbound, 'test.permanent', { any: 1 });
    await broker.publish(EXCHANGES.inbound, 'test.ok.after', { next: true });
    await waitFor(() => seen.find((entry) => entry.key === 'test.ok.after'), 'next message handled');
    const dead = await broker.drainUntil(deadLetterQueueName(QUEUE), 1);
    expect(dead).toHaveLength(1);
    expect(dead[0].headers[HEADERS.deadLetterCode]).toBe('bad_thing');
    expect(dead[0].headers[HEADERS.deadLetterReason]).toBe('this message can never work');
    expect(dead[0].headers[HEADERS.originalRoutingKey]).toBe('test.permanent');
    expect(dead[0].body).toEqual({ any: 1 });
  });

  it('dead-letters malformed JSON and routing keys nobody handles', async () => {
    await broker.publish(EXCHANGES.inbound, 'test.ok.x', Buffer.from('{not json'));
    await broker.publish(EXCHANGES.inbound, 'test.nobody', { x: 1 });
    const dead = await broker.drainUntil(deadLetterQueueName(QUEUE), 2);
    expect(dead.map((d) => d.headers[HEADERS.deadLetterCode]).sort()).toEqual(['malformed_json', 'no_handler']);
  });

  it('retries a temporary failure and acks once it succeeds', async () => {
    await broker.publish(EXCHANGES.inbound, 'test.flaky', { failTimes: 2 });
    await waitFor(() => (seen.length >= 3 ? seen : undefined), 'three attempts');
    expect(seen.map((entry) => entry.deliveryCount)).toEqual([0, 1, 2]);
    expect(await broker.drain(deadLetterQueueName(QUEUE))).toEqual([]);
  });

  it('gives up at the delivery limit and dead-letters with the last reason', async () => {
    await broker.publish(EXCHANGES.inbound, 'test.flaky', { failTimes: 99 });
    const dead = await broker.drainUntil(deadLetterQueueName(QUEUE), 1);
    expect(seen).toHaveLength(3);
    expect(String(dead[0].headers[HEADERS.deadLetterReason])).toBe('gave up after 3 attempts: database briefly unavailable');
  });

  it('rejects a publish nobody can receive (mandatory + basic.return)', async () => {
    await expect(app.get(Publisher).publish(EXCHANGES.inbound, 'nothing.bound.here', { x: 1 })).rejects.toBeInstanceOf(
      UnroutableMessageError,
    );
    await expect(app.get(Publisher).publish(EXCHANGES.inbound, 'test.ok.confirmed', { x: 2 })).resolves.toBeUndefined();
    await waitFor(() => seen.find((entry) => entry.key === 'test.ok.confirmed'), 'confirmed message handled');
  });

  it('finishes in-flight work before close returns', async () => {
    const local = await startApp(process.env.AMQP_URL!);
    await broker.publish(EXCHANGES.inbound, 'test.slow', { ms: 500 });
    await waitFor(() => local.transport.inFlightCount() > 0 || transport.inFlightCount() > 0, 'delivery in flight');
    await local.app.close();
    await waitFor(() => seen.find((entry) => entry.key === 'test.slow'), 'slow message finished');
    expect(seen.filter((entry) => entry.key === 'test.slow')).toHaveLength(1);
  });

  it('reconnects after the connection is cut and re-declares the topology', async () => {
    const { proxy, local } = await startBehindProxy();
    const connection = local.app.get(AmqpConnection);
    try {
      // Remove the queue behind the service's back: only a re-declaration brings it back.
      proxy.cut();
      await waitFor(() => !connection.isConnected(), 'disconnect noticed');
      await broker.channel.deleteQueue(QUEUE);
      await waitFor(() => connection.isConnected(), 'reconnected', 15_000);
      expect((await broker.channel.checkQueue(QUEUE)).queue).toBe(QUEUE);
      // The long-lived app's consumer was cancelled by the deletion; it must re-subscribe by itself.
      await waitFor(async () => (await broker.channel.checkQueue(QUEUE)).consumerCount === 2, 'both consumers back');
      await broker.publish(EXCHANGES.inbound, 'test.ok.after-reconnect', { back: true });
      await waitFor(() => seen.find((entry) => entry.key === 'test.ok.after-reconnect'), 'message after reconnect');
    } finally {
      await local.app.close();
      await proxy.close();
    }
  });

  it('pauses during a dependency outage instead of burning delivery attempts, then resumes by itself', async () => {
    await app.close();
    ({ app, transport } = await startApp(process.env.AMQP_URL!, async () => database.up));
    database.up = false;
    try {
      for (let i = 0; i < 5; i += 1) await broker.publish(EXCHANGES.inbound, 'test.needs-db', { i });
      await waitFor(async () => (await broker.channel.checkQueue(QUEUE)).consumerCount === 0, 'consumer paused');
      // Far longer than three attempts with 20-50 ms backoff would take: nothing may be dead-lettered.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect((await broker.channel.checkQueue(QUEUE)).messageCount).toBe(5);
      expect(await broker.drain(deadLetterQueueName(QUEUE))).toEqual([]);
    } finally {
      database.up = true;
    }
    await waitFor(() => seen.filter((entry) => entry.key === 'test.needs-db').length === 5, 'all five handled after recovery');
    expect(await broker.drain(deadLetterQueueName(QUEUE))).toEqual([]);
  });

  it('detects a silently dead connection through heartbeats', async () => {
    const { proxy, local } = await startBehindProxy();
    const connection = local.app.get(AmqpConnection);
    try {
      proxy.blackhole();
      await waitFor(() => !connection.isConnected(), 'heartbeat timeout noticed', 15_000, 100);
      proxy.restore();
      await waitFor(() => connection.isConnected(), 'reconnected after silence', 15_000, 100);
    } finally {
      await local.app.close();
      await proxy.close();
    }
  });
});
