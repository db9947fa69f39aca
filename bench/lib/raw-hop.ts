/**
 * The physical limit the pipeline is measured against: one broker hop with the same durability the
 * product uses — persistent 512-byte messages into a quorum queue, publisher confirms with a bounded
 * window in flight, a consumer acking each message by hand — on plain amqplib.
 *
 * Saturation: publish as fast as the confirm window allows for a fixed time; throughput is messages
 * consumed over the time from the first publish to the last ack. Latency: publish on a fixed
 * schedule (open loop); each message carries its scheduled send time, and latency is consume time
 * minus that, so a stall in publishing shows up as latency instead of being hidden (no coordinated
 * omission). Every message must be confirmed and consumed exactly once, or the phase fails.
 */
import { performance } from 'node:perf_hooks';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { BenchFailure, sleep, summarize, type LatencySummary } from './report';

export const RAW_MESSAGE_BYTES = 512;

export interface RawHopOptions {
  url: string;
  queue: string;
  confirmWindow: number;
  prefetch: number;
  warmupMessages: number;
  saturationMs: number;
  latencyRate: number;
  latencyMs: number;
}

export interface RawHopResult {
  saturation: { messages: number; wallMs: number; msgsPerSec: number; latency: LatencySummary };
  fixedRate: { rate: number; messages: number; achievedRate: number; latency: LatencySummary };
}

interface PhaseState {
  id: number;
  published: number;
  confirmed: number;
  nacked: number;
  consumed: number;
  duplicates: number;
  seen: Uint8Array;
  latencies: number[];
  lastConsumedAt: number;
}

export class RawHop {
  private publisherModel!: ChannelModel;
  private consumerModel!: ChannelModel;
  private publisher!: ConfirmChannel;
  private consumer!: Channel;
  private phase: PhaseState | undefined;
  private strays = 0;
  private inFlight = 0;
  private windowFreed: (() => void) | undefined;

  constructor(private readonly options: RawHopOptions) {}

  async open(): Promise<void> {
    this.publisherModel = await connect(this.options.url);
    this.consumerModel = await connect(this.options.url);
    this.publisher = await this.publisherModel.createConfirmChannel();
    this.consumer = await this.consumerModel.createChannel();
    await this.publisher.assertQueue(this.options.queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await this.consumer.prefetch(this.options.prefetch);
    await this.consumer.consume(this.options.queue, (message) => this.onMessage(message), { noAck: false });
  }

  async close(): Promise<void> {
    await this.publisher?.deleteQueue(this.options.queue).catch(() => undefined);
    await this.consumerModel?.close().catch(() => undefined);
    await this.publisherModel?.close().catch(() => undefined);
  }

  async run(): Promise<RawHopResult> {
    await this.saturate(-1, this.options.warmupMessages, Number.POSITIVE_INFINITY);
    const saturation = await this.saturate(1, Number.POSITIVE_INFINITY, this.options.saturationMs);
    const fixedRate = await this.fixedRate(2, this.options.latencyRate, this.options.latencyMs);
    return { saturation, fixedRate };
  }

  private newPhase(id: number, capacity: number): PhaseState {
    const phase: PhaseState = {
      id,
      published: 0,
      confirmed: 0,
      nacked: 0,
      consumed: 0,
      duplicates: 0,
      seen: new Uint8Array(capacity),
      latencies: [],
      lastConsumedAt: 0,
    };
    this.phase = phase;
    return phase;
  }

  private onMessage(message: ConsumeMessage | null): void {
    if (!message) return;
    const now = performance.now();
    const content = message.content;
    const phaseId = content.readInt32BE(0);
    const seq = content.readUInt32BE(4);
    const sentAt = content.readDoubleBE(8);
    const phase = this.phase;
    if (!phase || phase.id !== phaseId || seq >= phase.seen.length) {
      this.strays += 1;
    } else if (phase.seen[seq]) {
      phase.duplicates += 1;
    } else {
      phase.seen[seq] = 1;
      phase.consumed += 1;
      phase.latencies.push(now - sentAt);
      phase.lastConsumedAt = now;
    }
    this.consumer.ack(message);
  }

  private publishOne(phase: PhaseState, sentAt: number): void {
    const body = Buffer.alloc(RAW_MESSAGE_BYTES, 0x61);
    body.writeInt32BE(phase.id, 0);
    body.writeUInt32BE(phase.published, 4);
    body.writeDoubleBE(sentAt, 8);
    phase.published += 1;
    this.inFlight += 1;
    this.publisher.publish('', this.options.queue, body, { persistent: true, contentType: 'application/octet-stream' }, (error) => {
      this.inFlight -= 1;
      if (error) phase.nacked += 1;
      else phase.confirmed += 1;
      const freed = this.windowFreed;
      this.windowFreed = undefined;
      freed?.();
    });
  }

  private waitForWindow(): Promise<void> {
    return new Promise((resolve) => {
      this.windowFreed = resolve;
    });
  }

  /** Publishes until `count` or `durationMs`, whichever first, keeping at most the window unconfirmed. */
  private async saturate(id: number, count: number, durationMs: number): Promise<RawHopResult['saturation']> {
    const capacity = Number.isFinite(count) ? count : Math.ceil(durationMs * 60); // ≤ 60k msg/s
    const phase = this.newPhase(id, capacity);
    const started = performance.now();
    const deadline = started + durationMs;
    while (phase.published < Math.min(count, capacity) && performance.now() < deadline) {
      if (this.inFlight >= this.options.confirmWindow) {
        await this.waitForWindow();
        continue;
      }
      this.publishOne(phase, performance.now());
      // Let the socket write and the confirms arrive between bursts of a window.
      if (phase.published % this.options.confirmWindow === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await this.settle(phase, 30_000);
    const wallMs = phase.lastConsumedAt - started;
    return { messages: phase.consumed, wallMs, msgsPerSec: phase.consumed / (wallMs / 1000), latency: summarize(phase.latencies) };
  }

  private async fixedRate(id: number, rate: number, durationMs: number): Promise<RawHopResult['fixedRate']> {
    const total = Math.round((rate * durationMs) / 1000);
    const phase = this.newPhase(id, total);
    const started = performance.now();
    const interval = 1000 / rate;
    while (phase.published < total) {
      const due = Math.min(total, Math.floor((performance.now() - started) / interval) + 1);
      while (phase.published < due && this.inFlight < this.options.confirmWindow) {
        this.publishOne(phase, started + phase.published * interval);
      }
      if (this.inFlight >= this.options.confirmWindow) await this.waitForWindow();
      else await sleep(1);
    }
    const sendWallMs = performance.now() - started;
    await this.settle(phase, 30_000);
    return { rate, messages: phase.consumed, achievedRate: total / (sendWallMs / 1000), latency: summarize(phase.latencies) };
  }

  /** Waits until everything published is confirmed and consumed; anything missing fails the run. */
  private async settle(phase: PhaseState, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (phase.confirmed + phase.nacked < phase.published || phase.consumed < phase.published) {
      if (performance.now() > deadline) break;
      await sleep(5);
    }
    this.phase = undefined;
    const label = phase.id < 0 ? 'warm-up' : phase.id === 1 ? 'saturation' : 'fixed rate';
    const problems = [
      phase.nacked > 0 ? `${phase.nacked} nacked by the broker` : '',
      phase.confirmed + phase.nacked < phase.published ? `${phase.published - phase.confirmed - phase.nacked} never confirmed` : '',
      phase.consumed < phase.published ? `${phase.published - phase.consumed} of ${phase.published} never consumed` : '',
      phase.duplicates > 0 ? `${phase.duplicates} consumed twice` : '',
      this.strays > 0 ? `${this.strays} messages from no current phase` : '',
    ].filter(Boolean);
    if (problems.length > 0) throw new BenchFailure(`raw hop ${label}: ${problems.join(', ')}`);
  }
}
