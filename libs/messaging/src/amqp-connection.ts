/**
 * One AMQP connection per process, kept up for the life of the process. Everything that needs the
 * broker registers a setup callback; the callbacks run, in registration order, after every
 * (re)connection — the topology first, so that a broker restart or a lost connection never leaves a
 * consumer bound to nothing. Readiness reads `isConnected()`; it never opens a connection of its own.
 */
import { EventEmitter } from 'node:events';
import { connect, type ChannelModel } from 'amqplib';
import type { LoggerService } from '@nestjs/common';

export interface AmqpConnectionOptions {
  url: string;
  heartbeatSeconds: number;
  /** Shown in the broker's connection list. */
  connectionName: string;
  initialReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

export type ConnectionSetup = (model: ChannelModel) => Promise<void>;

export class AmqpConnection extends EventEmitter {
  private model: ChannelModel | undefined;
  private readonly setups: ConnectionSetup[] = [];
  private stopped = false;
  private started = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly connectedWaiters = new Set<() => void>();

  constructor(
    private readonly options: AmqpConnectionOptions,
    private readonly logger: LoggerService,
  ) {
    super();
  }

  /** Starts connecting in the background; the process stays up (and unready) while the broker is away. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.connectLoop();
  }

  /** Registers a setup to run now (when connected) and after every reconnection. */
  async register(setup: ConnectionSetup): Promise<void> {
    this.setups.push(setup);
    if (this.model) await setup(this.model);
  }

  /** For readiness probes (DependencyHealth). */
  readonly name = 'broker';

  isConnected(): boolean {
    return this.model !== undefined;
  }

  isHealthy(): boolean {
    return this.isConnected();
  }

  current(): ChannelModel | undefined {
    return this.model;
  }

  /** Resolves once connected and set up, or rejects after `timeoutMs`. */
  waitUntilConnected(timeoutMs: number): Promise<void> {
    if (this.model) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.connectedWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.connectedWaiters.delete(done);
        reject(new Error(`RabbitMQ not reachable within ${timeoutMs} ms`));
      }, timeoutMs);
      this.connectedWaiters.add(done);
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const model = this.model;
    this.model = undefined;
    if (model) {
      await model.close().catch(() => undefined);
    }
  }

  private async connectLoop(): Promise<void> {
    if (this.stopped) return;
    let model: ChannelModel | undefined;
    try {
      model = await connect(withHeartbeat(this.options.url, this.options.heartbeatSeconds), {
        clientProperties: { connection_name: this.options.connectionName },
      });
      model.on('error', (error: Error) => this.logger.warn?.({ err: error.message }, 'AMQP connection error'));
      model.on('close', () => this.onClosed(model));
      model.on('blocked', (reason: string) => this.logger.warn?.({ reason }, 'AMQP connection blocked by broker'));
      for (const setup of this.setups) {
        await setup(model);
      }
      this.model = model;
      this.attempt = 0;
      this.logger.log({ connection: this.options.connectionName }, 'AMQP connected, topology declared');
      for (const waiter of [...this.connectedWaiters]) waiter();
      this.emit('connected', model);
    } catch (error) {
      this.logger.warn?.({ err: (error as Error).message, attempt: this.attempt }, 'AMQP connect failed');
      if (model) await model.close().catch(() => undefined);
      this.scheduleReconnect();
    }
  }

  private onClosed(model: ChannelModel | undefined): void {
    if (this.model !== model) return;
    this.model = undefined;
    this.emit('disconnected');
    if (!this.stopped) {
      this.logger.warn?.({ connection: this.options.connectionName }, 'AMQP connection lost, reconnecting');
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const initial = this.options.initialReconnectDelayMs ?? 200;
    const max = this.options.maxReconnectDelayMs ?? 5_000;
    const delay = Math.min(max, initial * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connectLoop(), delay);
  }
}

/** Heartbeats detect a silently dead TCP connection; an explicit `heartbeat` in the URL wins. */
function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}
