/**
 * The pipeline under test, end to end: signed SMS webhooks over HTTP → sms adapter (process) →
 * broker → router (process: persisted, conversation resolved, routed, event through the outbox) →
 * `agent.<id>.assigned` / `agent.<id>.message` received by a subscriber bound to `agent` / `agent.#`
 * the way the gateway binds. A message is correlated with its event by the envelope id (the adapter
 * derives it from the MessageSid and sends it as the correlation id; the router stamps it on every
 * event the message causes).
 *
 * Phases: closed-loop saturation (a fixed number of messages in flight end to end, each worker sending
 * its next message when the previous one's agent event arrived), and open-loop fixed offered rates
 * (latency from the scheduled send time, so a backlog counts). After each phase every message sent
 * must be stored exactly once (messages table) and announced exactly once (one distinct assigned or
 * message event per message); anything else fails the run.
 */
import { performance } from 'node:perf_hooks';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { Client } from 'pg';
import { envelopeId } from '@app/channel-kit';
import { EXCHANGES, routingKeys } from '@app/contracts';
import { BenchFailure, err, sleep, summarize, type LatencySummary } from './report';
import { SmsTraffic, WebhookClient, type OutgoingSms } from './sms-traffic';

const TENANT = 'default';
const SUBSCRIBER_PREFETCH = 500;

interface Tracked {
  sms: OutgoingSms;
  phase: string;
  sentAt: number;
  status?: number;
  eventAt?: number;
  eventIds: Set<string>;
  types: Set<string>;
  done?: () => void;
}

export interface PhaseFigures {
  label: string;
  messages: number;
  followUps: number;
  wallMs: number;
  msgsPerSec: number;
  offeredRate?: number;
  achievedSendRate?: number;
  latency: LatencySummary;
}

/** Receives agent events and matches them to the messages that caused them. */
export class AgentEventSubscriber {
  private model!: ChannelModel;
  private channel!: Channel;
  readonly byEnvelope = new Map<string, Tracked>();
  unknown = 0;
  otherTypes = new Map<string, number>();

  constructor(
    private readonly url: string,
    private readonly onFirstEvent: (tracked: Tracked) => void,
  ) {}

  async open(): Promise<void> {
    this.model = await connect(this.url);
    this.channel = await this.model.createChannel();
    await this.channel.prefetch(SUBSCRIBER_PREFETCH);
    await this.channel.assertExchange(EXCHANGES.agent, 'topic', { durable: true });
    const { queue } = await this.channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await this.channel.bindQueue(queue, EXCHANGES.agent, routingKeys.agentAll);
    await this.channel.consume(queue, (message) => this.onMessage(message));
  }

  async close(): Promise<void> {
    await this.model?.close().catch(() => undefined);
  }

  private onMessage(message: ConsumeMessage | null): void {
    if (!message) return;
    const now = performance.now();
    this.channel.ack(message);
    const event = JSON.parse(message.content.toString('utf8')) as { type?: string; eventId?: string; correlationId?: string };
    const type = event.type ?? '?';
    if (type !== 'agent.assigned' && type !== 'agent.message') {
      this.otherTypes.set(type, (this.otherTypes.get(type) ?? 0) + 1);
      return;
    }
    const correlation = typeof message.properties.correlationId === 'string' ? message.properties.correlationId : event.correlationId;
    const tracked = correlation ? this.byEnvelope.get(correlation) : undefined;
    if (!tracked) {
      this.unknown += 1;
      return;
    }
    tracked.eventIds.add(event.eventId ?? '');
    tracked.types.add(type);
    if (tracked.eventAt === undefined) {
      tracked.eventAt = now;
      this.onFirstEvent(tracked);
      tracked.done?.();
    }
  }
}

export interface PipelineDriverOptions {
  amqpUrl: string;
  databaseUrl: string;
  adapterPort: number;
  account: import('./sms-traffic').TwilioAccount;
  maxSockets: number;
  followUpShare: number;
  random: () => number;
}

export class PipelineDriver {
  private readonly traffic: SmsTraffic;
  readonly client: WebhookClient;
  readonly subscriber: AgentEventSubscriber;
  private readonly sentSids: string[] = [];

  constructor(private readonly options: PipelineDriverOptions) {
    this.traffic = new SmsTraffic(options.followUpShare, options.random);
    this.client = new WebhookClient('127.0.0.1', options.adapterPort, options.account, options.maxSockets);
    this.subscriber = new AgentEventSubscriber(options.amqpUrl, (tracked) => {
      if (!tracked.sms.followUp) this.traffic.establish(tracked.sms.from);
    });
  }

  async open(): Promise<void> {
    await this.subscriber.open();
  }

  async close(): Promise<void> {
    this.client.close();
    await this.subscriber.close();
  }

  private track(phase: string, sentAt: number): Tracked {
    const sms = this.traffic.next();
    const tracked: Tracked = { sms, phase, sentAt, eventIds: new Set(), types: new Set() };
    this.subscriber.byEnvelope.set(envelopeId('sms', TENANT, sms.sid), tracked);
    this.sentSids.push(sms.sid);
    return tracked;
  }

  private async post(tracked: Tracked): Promise<void> {
    tracked.status = await this.client.send(tracked.sms);
  }

  /** `concurrency` messages in flight end to end until `durationMs` (or `maxMessages`) is reached. */
  async closedLoop(label: string, concurrency: number, durationMs: number, maxMessages: number, drainMs: number): Promise<PhaseFigures> {
    const phase: Tracked[] = [];
    const started = performance.now();
    const deadline = started + durationMs;
    let lastEventAt = started;
    const worker = async () => {
      while (performance.now() < deadline && phase.length < maxMessages) {
        const tracked = this.track(label, performance.now());
        phase.push(tracked);
        const event = new Promise<void>((resolve) => {
          tracked.done = resolve;
        });
        await this.post(tracked);
        if (tracked.status !== 200) return; // reported by the checks
        const timedOut = await Promise.race([event.then(() => false), sleep(drainMs).then(() => true)]);
        if (timedOut) return;
        lastEventAt = Math.max(lastEventAt, tracked.eventAt ?? 0);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    await this.awaitEvents(phase, drainMs);
    const wallMs = lastEventAt - started;
    return this.figures(label, phase, wallMs);
  }

  /**
   * The first stage alone: `concurrency` webhooks in flight, each worker sending its next one when
   * the adapter has answered (after the broker confirmed the publish), while `pause` holds the rest
   * of the pipeline still; then `resume`, and every message must still reach an agent (`verify`).
   * What this sustains bounds the pipeline from above: everything after the adapter is extra work on
   * the same cores.
   */
  async adapterOnly(
    label: string,
    concurrency: number,
    durationMs: number,
    drainMsFor: (backlog: number) => number,
    pause: () => void,
    resume: () => void,
  ): Promise<PhaseFigures> {
    const phase: Tracked[] = [];
    const answered: number[] = [];
    pause();
    const started = performance.now();
    const deadline = started + durationMs;
    try {
      const worker = async () => {
        while (performance.now() < deadline) {
          const tracked = this.track(label, performance.now());
          phase.push(tracked);
          await this.post(tracked);
          if (tracked.status !== 200) return; // reported by the checks
          answered.push(performance.now() - tracked.sentAt);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    } finally {
      resume();
    }
    const wallMs = performance.now() - started;
    await this.awaitEvents(phase, drainMsFor(phase.length));
    return this.figures(label, phase, wallMs, answered);
  }

  /** Open loop: message i is due at start + i/rate whatever happened to the earlier ones. */
  async fixedRate(label: string, rate: number, durationMs: number, drainMs: number): Promise<PhaseFigures> {
    const total = Math.round((rate * durationMs) / 1000);
    const interval = 1000 / rate;
    const phase: Tracked[] = [];
    const posts: Promise<void>[] = [];
    const started = performance.now();
    while (phase.length < total) {
      const due = Math.min(total, Math.floor((performance.now() - started) / interval) + 1);
      while (phase.length < due) {
        const tracked = this.track(label, started + phase.length * interval);
        phase.push(tracked);
        posts.push(this.post(tracked));
      }
      await sleep(1);
    }
    const sendWallMs = performance.now() - started;
    await Promise.all(posts);
    await this.awaitEvents(phase, drainMs);
    const lastEventAt = Math.max(...phase.map((tracked) => tracked.eventAt ?? 0));
    const figures = this.figures(label, phase, lastEventAt - started);
    return { ...figures, offeredRate: rate, achievedSendRate: total / (sendWallMs / 1000) };
  }

  private async awaitEvents(phase: Tracked[], drainMs: number): Promise<void> {
    const deadline = performance.now() + drainMs;
    while (phase.some((tracked) => tracked.status === 200 && tracked.eventAt === undefined) && performance.now() < deadline) {
      await sleep(20);
    }
    // A short grace period, so an event published twice is seen before the checks.
    await sleep(300);
  }

  /** `latencies` default to send → agent event. */
  private figures(
    label: string,
    phase: Tracked[],
    wallMs: number,
    latencies = phase.filter((tracked) => tracked.eventAt !== undefined).map((tracked) => tracked.eventAt! - tracked.sentAt),
  ): PhaseFigures {
    return {
      label,
      messages: phase.length,
      followUps: phase.filter((tracked) => tracked.sms.followUp).length,
      wallMs,
      msgsPerSec: phase.length / (wallMs / 1000),
      latency: summarize(latencies),
    };
  }

  /** Stored once and routed once, for the phase and for everything sent so far; throws on a loss. */
  async verify(label: string): Promise<string[]> {
    const phase = [...this.subscriber.byEnvelope.values()].filter((tracked) => tracked.phase === label);
    const sids = phase.map((tracked) => tracked.sms.sid);
    const problems: string[] = [];
    const rejected = phase.filter((tracked) => tracked.status !== 200);
    if (rejected.length > 0) {
      const statuses = [...new Set(rejected.map((tracked) => tracked.status))].join(', ');
      problems.push(`${rejected.length} webhook(s) not answered 200 (status ${statuses})`);
    }
    const unrouted = phase.filter((tracked) => tracked.eventAt === undefined).length;
    if (unrouted > 0) problems.push(`${unrouted} message(s) never reached an agent`);
    const twice = phase.filter((tracked) => tracked.eventIds.size > 1).length;
    if (twice > 0) problems.push(`${twice} message(s) announced by more than one event`);
    const wrongType = phase.filter((tracked) => tracked.eventAt !== undefined && !tracked.types.has(tracked.sms.followUp ? 'agent.message' : 'agent.assigned')).length;
    if (wrongType > 0) problems.push(`${wrongType} message(s) announced with the wrong event type`);
    if (this.subscriber.unknown > 0) problems.push(`${this.subscriber.unknown} assigned/message event(s) for no message sent`);

    const client = new Client({ connectionString: this.options.databaseUrl });
    await client.connect();
    try {
      const stored = await client.query<{ rows: number; sids: number }>(
        `SELECT count(*)::int AS rows, count(DISTINCT provider_message_id)::int AS sids FROM messages
          WHERE tenant_id = $1 AND channel = 'sms' AND provider_message_id = ANY ($2::text[])`,
        [TENANT, sids],
      );
      const { rows, sids: distinct } = stored.rows[0];
      if (rows !== sids.length || distinct !== sids.length) {
        problems.push(`messages table holds ${rows} row(s) for ${distinct} of the ${sids.length} sids sent in this phase`);
      }
      const total = await client.query<{ rows: number }>(`SELECT count(*)::int AS rows FROM messages`);
      if (total.rows[0].rows !== this.sentSids.length) {
        problems.push(`messages table holds ${total.rows[0].rows} row(s) after ${this.sentSids.length} messages sent in all`);
      }
      const waiting = await client.query<{ rows: number }>(`SELECT count(*)::int AS rows FROM conversations WHERE status <> 'assigned'`);
      if (waiting.rows[0].rows > 0) problems.push(`${waiting.rows[0].rows} conversation(s) not assigned`);
    } finally {
      await client.end();
    }
    if (problems.length > 0) throw new BenchFailure(`pipeline ${label}: ${problems.join('; ')}`);
    if (this.client.connectionErrors.size > 0) {
      err(`bench: webhook connection errors so far (retried): ${[...this.client.connectionErrors].map(([code, n]) => `${code} ×${n}`).join(', ')}`);
    }
    const others = [...this.subscriber.otherTypes].map(([type, count]) => `${type} ${count}`).join(', ');
    const line = `pipeline ${label}: ok — ${sids.length} sent, stored once, one agent event each` + (others ? ` (other agent events: ${others})` : '');
    err(`bench: ${line}`);
    return problems;
  }

  get newConversations(): number {
    return this.traffic.newNumbers;
  }
}
