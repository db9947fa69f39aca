/**
 * A1: the commands of the model-based routing test. Each one acts on the real router (ingest,
 * agent commands, timers, redeliveries) and then checks every invariant against Postgres.
 *
 * Targets are resolved when a command runs, from the state read after the previous step: "accept
 * offer k" accepts the k-th live offer (by conversation label) as the agent it went to. A `stale`
 * command instead sends agent k's command for some conversation regardless of state — what a UI
 * with an out-of-date view does — and is usually refused; a refused command must change nothing.
 *
 * Crashes: `before-commit` first runs the same unit of work in a transaction that is rolled back
 * (the router died before committing), then delivers it; `after-commit` delivers it and then
 * delivers the very same envelope/command again (the router died before acking) — the second
 * delivery must change nothing (I7).
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { inboundEnvelopeSchema, routerCommandSchema, type InboundEnvelope, type RouterCommand, type RouterCommandInput } from '@app/contracts';
import type { CommandResult } from '../../../apps/router/src/commands/command.controller';
import { buildEnvelope } from '../fixtures';
import { fingerprint, InvariantViolation, verifyInvariants, type StepExpectation } from './invariants';
import { agentLabel, conversationLabel, newModel, relabel, type ConversationView, type RoutingModel } from './model';
import { QUEUE_OFFER_TIMEOUT_S, QUEUE_OFFLINE_GRACE_S, RouterWorld } from './world';

export type Crash = 'none' | 'before-commit' | 'after-commit';
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type CommandArgs = DistributiveOmit<RouterCommandInput, 'commandId' | 'tenantId'>;

/** Time that passes between two steps. */
const STEP_MS = 500;
const LEASE_S = 30;

/** Sets up a run: the model, and the agents that start online (through presence.set, as in production). */
export async function startRun(world: RouterWorld): Promise<RoutingModel> {
  const { rows } = await world.pool.query<{ id: string }>(`SELECT coalesce(max(id), 0)::text AS id FROM assignment_audit`);
  const model = newModel(world.tenant, world.agents, rows[0].id);
  for (const agent of world.agents.filter((spec) => spec.initiallyOnline)) {
    world.clock.advance(1_000);
    const { result } = await send(model, world, { type: 'presence.set', agentId: agent.id, presence: 'online' }, 'setup');
    if (!result.ok) throw new Error(`setup: ${agent.label} could not go online: ${result.code}`);
  }
  model.trace.push(
    `0. setup: ${world.agents.map((agent) => `${agent.label}(sync cap ${agent.syncCap}, async cap ${agent.asyncCap}, ${agent.initiallyOnline ? 'online' : 'offline'})`).join(', ')}`,
  );
  await verifyInvariants(model, world);
  return model;
}

export abstract class RoutingStep implements fc.AsyncCommand<RoutingModel, RouterWorld> {
  /** What the last run of this command resolved to (targets, outcome). */
  private resolved = '';

  check(_model: Readonly<RoutingModel>): boolean {
    return true;
  }

  async run(model: RoutingModel, world: RouterWorld): Promise<void> {
    model.step += 1;
    world.clock.advance(STEP_MS);
    this.resolved = '';
    let expectation: StepExpectation;
    try {
      expectation = await this.act(model, world);
    } catch (error) {
      model.trace.push(`${model.step}. ${relabel(model, this.traced())}  ← threw`);
      if (error instanceof InvariantViolation) throw error;
      throw new Error(
        relabel(model, `step ${model.step} threw: ${(error as Error).stack ?? String(error)}\nsteps of this run:\n  ${model.trace.join('\n  ')}`),
        { cause: error },
      );
    }
    model.trace.push(`${model.step}. ${relabel(model, this.traced())}`);
    await verifyInvariants(model, world, expectation);
  }

  /** The step as generated — stable across runs; fast-check prints these for a counterexample. */
  toString(): string {
    return this.describe();
  }

  /**
   * The step as it ran this time, with the targets and outcome it resolved to; the failure message
   * lists these. (fast-check reuses command objects while shrinking, so only the failing run's own
   * list is trustworthy for resolved targets.)
   */
  traced(): string {
    return this.resolved ? `${this.describe()} ⇒ ${this.resolved}` : this.describe();
  }

  protected note(model: RoutingModel, text: string): void {
    this.resolved = relabel(model, text);
  }

  protected abstract describe(): string;
  protected abstract act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation>;

  /** Runs this step's action while another one runs (see Race); its own I7 expectation does not apply then. */
  async actRacing(model: RoutingModel, world: RouterWorld): Promise<void> {
    this.resolved = '';
    await this.act(model, world);
  }
}

function crashSuffix(crash: Crash): string {
  return crash === 'none' ? '' : `, crash ${crash}`;
}

function normalized(result: unknown): unknown {
  return JSON.parse(JSON.stringify(result ?? null));
}

/** Runs `redeliver` and fails unless it leaves the state exactly as it was (I7). */
async function expectNoChange(model: RoutingModel, world: RouterWorld, what: string, redeliver: () => Promise<string | undefined>) {
  const before = await fingerprint(model, world);
  const complaint = await redeliver();
  const after = await fingerprint(model, world);
  if (complaint || before !== after) {
    const changed = before === after ? '' : `\n  state before:\n    ${before.split('\n').join('\n    ')}\n  state after:\n    ${after.split('\n').join('\n    ')}`;
    throw new InvariantViolation(
      relabel(model, `I7 (${what}) after step ${model.step}: ${complaint ?? 'the state changed'}${changed}\nsteps of this run:\n  ${model.trace.join('\n  ')}`),
    );
  }
}

/** A short, resolved description of a command: `offer.accept by a1 on c2`. */
function describeCommand(model: RoutingModel, command: RouterCommand, origin: string): string {
  const parts = [`${command.type} by ${agentLabel(model, command.agentId)}`];
  if ('conversationId' in command) parts.push(`on ${model.labels.get(command.conversationId) ?? 'unknown conversation'}`);
  if ('presence' in command) parts.push(command.presence);
  if ('to' in command) parts.push('agentId' in command.to ? `to ${agentLabel(model, command.to.agentId)}` : `to queue ${command.to.queueId}`);
  return `${parts.join(' ')} (${origin})`;
}

async function send(
  model: RoutingModel,
  world: RouterWorld,
  args: CommandArgs,
  origin: string,
  crash: Crash = 'none',
): Promise<{ result: CommandResult; expectation: StepExpectation }> {
  const command: RouterCommand = routerCommandSchema.parse({ commandId: randomUUID(), tenantId: model.tenant, ...args });
  const what = describeCommand(model, command, origin);
  if (crash === 'before-commit') await world.crashCommand(command);
  const result = await world.execute(command);
  model.commands.push({ what, command, result });
  if (crash === 'after-commit') {
    await expectNoChange(model, world, `redelivered ${command.type}`, async () => {
      const again = await world.execute(command);
      return isDeepStrictEqual(normalized(again), normalized(result))
        ? undefined
        : `redelivery answered ${JSON.stringify(again)}, first delivery ${JSON.stringify(result)}`;
    });
  }
  return { result, expectation: result.ok ? {} : { unchanged: `refused ${command.type} (${result.code})` } };
}

function outcomeText(result: CommandResult): string {
  if (!result.ok) return `refused ${result.code}`;
  const data = result.data as { status?: string; agentId?: string } | undefined;
  return data?.status ? `ok (${data.status}${data.agentId ? ` ${data.agentId}` : ''})` : 'ok';
}

export class SetPresence extends RoutingStep {
  constructor(
    private readonly agent: number,
    private readonly presence: 'online' | 'away' | 'offline',
    private readonly crash: Crash,
  ) {
    super();
  }

  protected describe(): string {
    return `Presence(agent#${this.agent}, ${this.presence}${crashSuffix(this.crash)})`;
  }

  protected async act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation> {
    const agent = model.agents[this.agent % model.agents.length];
    const { result, expectation } = await send(
      model,
      world,
      { type: 'presence.set', agentId: agent.id, presence: this.presence },
      `step ${model.step}`,
      this.crash,
    );
    this.note(model, `${agent.label} ${this.presence}: ${outcomeText(result)}`);
    return expectation;
  }
}

export class Heartbeat extends RoutingStep {
  constructor(private readonly agent: number) {
    super();
  }

  protected describe(): string {
    return `Heartbeat(agent#${this.agent})`;
  }

  protected async act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation> {
    const agent = model.agents[this.agent % model.agents.length];
    const { result, expectation } = await send(model, world, { type: 'presence.heartbeat', agentId: agent.id }, `step ${model.step}`);
    this.note(model, `${agent.label}: ${outcomeText(result)}`);
    return expectation;
  }
}

export class Arrive extends RoutingStep {
  constructor(
    private readonly channel: 'webchat' | 'voice' | 'sms',
    private readonly customer: number,
    private readonly priority: number,
    private readonly crash: Crash,
  ) {
    super();
  }

  protected describe(): string {
    return `Arrive(${this.channel}, customer ${this.customer}${this.priority ? `, priority ${this.priority}` : ''}${crashSuffix(this.crash)})`;
  }

  protected async act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation> {
    const envelope: InboundEnvelope = inboundEnvelopeSchema.parse(
      buildEnvelope({
        tenantId: model.tenant,
        channel: this.channel,
        // The same customer (CRM id) on every channel, one identity per channel: continuation,
        // reopening and cross-channel stickiness all happen.
        customer: { address: `+1555000000${this.customer}`, customerId: `cust-${this.customer}`, displayName: `Customer ${this.customer}` },
        content: { text: 'hello' },
        priority: this.priority,
        receivedAt: world.clock.now().toISOString(),
      }),
    );
    if (this.crash === 'before-commit') await world.crashIngest(envelope);
    const outcome = await world.ingest(envelope);
    model.arrivals.add(envelope.messageId);
    if (outcome.kind !== 'stored') {
      // A fresh message id reported as a duplicate: the message would be dropped (I4).
      throw new InvariantViolation(relabel(model, `I4: a new message was treated as a duplicate at step ${model.step}\n  ${model.trace.join('\n  ')}`));
    }
    const label = conversationLabel(model, outcome.conversationId);
    model.envelopes.push({ what: `${this.channel} message of customer ${this.customer} on ${label} (step ${model.step})`, envelope });
    this.note(model, `${label} ${outcome.opened}, ${outcome.status}${outcome.agentId ? ` ${agentLabel(model, outcome.agentId)}` : ''}`);
    if (this.crash === 'after-commit') {
      await expectNoChange(model, world, 'redelivered envelope', async () => {
        const again = await world.ingest(envelope);
        return again.kind === 'duplicate' ? undefined : `redelivery was processed again: ${JSON.stringify(again)}`;
      });
    }
    return {};
  }
}

/**
 * Several messages delivered together, as the router batches them under load (one transaction for
 * all): arrivals of several customers, or several messages of one customer, optionally with a
 * redelivery of an earlier message in the same batch. Each new message must be stored once, the
 * redelivery must be a duplicate, and nothing else about the batch may differ from one-by-one.
 */
export class ArriveTogether extends RoutingStep {
  constructor(
    private readonly arrivals: Array<{ channel: 'webchat' | 'voice' | 'sms'; customer: number }>,
    private readonly redeliver: number | undefined,
    private readonly crash: Crash,
  ) {
    super();
  }

  protected describe(): string {
    const list = this.arrivals.map(({ channel, customer }) => `${channel} ${customer}`).join(', ');
    const again = this.redeliver === undefined ? '' : `, redelivering #${this.redeliver}`;
    return `ArriveTogether(${list}${again}${crashSuffix(this.crash)})`;
  }

  protected async act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation> {
    const fresh = this.arrivals.map(({ channel, customer }) => ({
      what: `${channel} message of customer ${customer}`,
      envelope: inboundEnvelopeSchema.parse(
        buildEnvelope({
          tenantId: model.tenant,
          channel,
          customer: { address: `+1555000000${customer}`, customerId: `cust-${customer}`, displayName: `Customer ${customer}` },
          content: { text: 'hello again' },
          receivedAt: world.clock.now().toISOString(),
        }),
      ),
    }));
    const earlier = this.redeliver === undefined || model.envelopes.length === 0 ? undefined : model.envelopes[this.redeliver % model.envelopes.length];
    const batch = [...fresh.map(({ envelope }) => envelope), ...(earlier ? [earlier.envelope] : [])];
    if (this.crash === 'before-commit') await world.crashIngestBatch(batch);
    const fallbacksBefore = await world.batchFallbacks();
    const settled = await world.ingestBatch(batch);
    // Nothing runs beside this step: a batch that fell back to one by one would test the single path only.
    if ((await world.batchFallbacks()) !== fallbacksBefore) {
      throw new InvariantViolation(relabel(model, `the batch fell back to one-by-one at step ${model.step}\n  ${model.trace.join('\n  ')}`));
    }
    const notes: string[] = [];
    fresh.forEach(({ what, envelope }, index) => {
      const result = settled[index];
      if (!result.ok) throw new InvariantViolation(relabel(model, `I4: ${what} failed in a batch: ${String(result.error)}\n  ${model.trace.join('\n  ')}`));
      const { outcome } = result;
      if (outcome.kind !== 'stored') {
        throw new InvariantViolation(relabel(model, `I4: a new message in a batch was treated as a duplicate at step ${model.step}\n  ${model.trace.join('\n  ')}`));
      }
      model.arrivals.add(envelope.messageId);
      const label = conversationLabel(model, outcome.conversationId);
      model.envelopes.push({ what: `${what} on ${label} (step ${model.step})`, envelope });
      notes.push(`${label} ${outcome.opened}, ${outcome.status}${outcome.agentId ? ` ${agentLabel(model, outcome.agentId)}` : ''}`);
    });
    if (earlier) {
      const result = settled[fresh.length];
      if (!result.ok || result.outcome.kind !== 'duplicate') {
        throw new InvariantViolation(
          relabel(model, `I7: redelivered ${earlier.what} in a batch was not a duplicate (${JSON.stringify(result)})\n  ${model.trace.join('\n  ')}`),
        );
      }
      notes.push(`${earlier.what}: duplicate`);
    }
    this.note(model, notes.join('; '));
    return {};
  }
}

type Target = { agentId: string; conversation?: ConversationView };

/** Resolves "the k-th item in `status`" (as its holder), or — stale, or nothing in that status — agent k and any conversation. */
function resolveTarget(model: RoutingModel, k: number, stale: boolean, status: 'offered' | 'assigned'): Target {
  const candidates = model.conversations.filter((conversation) => conversation.status === status && conversation.agentId);
  if (!stale && candidates.length > 0) {
    const conversation = candidates[k % candidates.length];
    return { agentId: conversation.agentId!, conversation };
  }
  const agentId = model.agents[k % model.agents.length].id;
  const conversation = model.conversations.length > 0 ? model.conversations[k % model.conversations.length] : undefined;
  return { agentId, conversation };
}

abstract class ConversationStep extends RoutingStep {
  constructor(
    protected readonly k: number,
    protected readonly stale: boolean,
    protected readonly crash: Crash,
  ) {
    super();
  }

  protected abstract readonly name: string;
  protected abstract readonly status: 'offered' | 'assigned';
  protected abstract args(model: RoutingModel, target: Target, conversationId: string): CommandArgs;
  protected extra(): string {
    return '';
  }

  /** Only when there is something to act on — unless the command is deliberately stale. */
  override check(model: Readonly<RoutingModel>): boolean {
    return this.stale || model.conversations.some((conversation) => conversation.status === this.status);
  }

  protected describe(): string {
    const what = this.status === 'offered' ? 'offer' : 'held';
    return `${this.name}(${this.stale ? `stale: agent#${this.k}, any conversation` : `${what}#${this.k}`}${this.extra()}${crashSuffix(this.crash)})`;
  }

  protected async act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation> {
    const target = resolveTarget(model, this.k, this.stale, this.status);
    const conversationId = target.conversation?.id ?? randomUUID();
    const { result, expectation } = await send(model, world, this.args(model, target, conversationId), `step ${model.step}`, this.crash);
    const label = target.conversation ? `${target.conversation.label} (${target.conversation.status})` : 'unknown conversation';
    this.note(model, `${agentLabel(model, target.agentId)} on ${label}${this.resolvedExtra(model, target)}: ${outcomeText(result)}`);
    return expectation;
  }

  protected resolvedExtra(_model: RoutingModel, _target: Target): string {
    return '';
  }
}

export class Accept extends ConversationStep {
  protected readonly name = 'Accept';
  protected readonly status = 'offered';
  protected args(_model: RoutingModel, target: Target, conversationId: string): CommandArgs {
    return { type: 'offer.accept', agentId: target.agentId, conversationId };
  }
}

export class Decline extends ConversationStep {
  protected readonly name = 'Decline';
  protected readonly status = 'offered';
  protected args(_model: RoutingModel, target: Target, conversationId: string): CommandArgs {
    return { type: 'offer.decline', agentId: target.agentId, conversationId };
  }
}

export class Close extends ConversationStep {
  protected readonly name = 'Close';
  protected readonly status = 'assigned';
  protected args(_model: RoutingModel, target: Target, conversationId: string): CommandArgs {
    return { type: 'conversation.close', agentId: target.agentId, conversationId };
  }
}

export class Release extends ConversationStep {
  protected readonly name = 'Release';
  protected readonly status = 'assigned';
  protected args(_model: RoutingModel, target: Target, conversationId: string): CommandArgs {
    return { type: 'conversation.release', agentId: target.agentId, conversationId };
  }
}

export class Transfer extends ConversationStep {
  protected readonly name = 'Transfer';
  protected readonly status = 'assigned';

  constructor(
    k: number,
    stale: boolean,
    private readonly to: { agent: number } | { queue: 'live' | 'msg' },
    crash: Crash,
  ) {
    super(k, stale, crash);
  }

  protected override extra(): string {
    return 'agent' in this.to ? ` → agent#${this.to.agent}` : ` → queue ${this.to.queue}`;
  }

  private destination(model: RoutingModel, target: Target): { agentId: string } | { queueId: string } {
    if ('queue' in this.to) return { queueId: this.to.queue };
    const n = model.agents.length;
    let index = this.to.agent % n;
    if (model.agents[index].id === target.agentId) index = (index + 1) % n;
    return { agentId: model.agents[index].id };
  }

  protected args(model: RoutingModel, target: Target, conversationId: string): CommandArgs {
    return { type: 'conversation.transfer', agentId: target.agentId, conversationId, to: this.destination(model, target) };
  }

  protected override resolvedExtra(model: RoutingModel, target: Target): string {
    const to = this.destination(model, target);
    return 'agentId' in to ? ` to ${agentLabel(model, to.agentId)}` : ` to queue ${to.queueId}`;
  }
}

type BatchedKind = 'accept' | 'decline' | 'close' | 'release' | 'presence';

/**
 * Several agent commands delivered together, as the router batches them under load (one
 * transaction for all): accepts, declines, closes, releases and presence changes of several agents
 * (or one agent twice), optionally with a redelivery of an earlier command in the same batch. Every
 * command is answered on its own: the redelivery repeats its first answer (I7). A batch may fall back
 * to one by one only because a command was refused; the A1 run as a whole must commit batches whole,
 * or it would test the single path only.
 */
export class CommandsTogether extends RoutingStep {
  constructor(
    private readonly parts: Array<{ kind: BatchedKind; k: number }>,
    private readonly redeliver: number | undefined,
  ) {
    super();
  }

  protected describe(): string {
    const again = this.redeliver === undefined ? '' : `, redelivering #${this.redeliver}`;
    return `CommandsTogether(${this.parts.map(({ kind, k }) => `${kind}#${k}`).join(', ')}${again})`;
  }

  /** Only when some agent holds or is offered something: the batch is about those. */
  override check(model: Readonly<RoutingModel>): boolean {
    return model.conversations.some((conversation) => conversation.agentId);
  }

  /**
   * Each part's command, aimed at a conversation in the status it needs (a part with none is
   * dropped, and so is a second part on the same conversation); a batch with nothing left changes
   * the first agent's presence.
   */
  private commands(model: RoutingModel): CommandArgs[] {
    const aimed = new Set<string>();
    const args: CommandArgs[] = [];
    for (const { kind, k } of this.parts) {
      if (kind === 'presence') {
        const agent = model.agents[k % model.agents.length];
        args.push({ type: 'presence.set', agentId: agent.id, presence: model.presence.get(agent.id) === 'online' ? 'away' : 'online' });
        continue;
      }
      const status = kind === 'accept' || kind === 'decline' ? 'offered' : 'assigned';
      const candidates = model.conversations.filter((conversation) => conversation.status === status && conversation.agentId && !aimed.has(conversation.id));
      if (candidates.length === 0) continue;
      const { id: conversationId, agentId } = candidates[k % candidates.length];
      aimed.add(conversationId);
      const type = ({ accept: 'offer.accept', decline: 'offer.decline', close: 'conversation.close', release: 'conversation.release' } as const)[kind];
      args.push({ type, agentId: agentId!, conversationId });
    }
    return args.length > 0 ? args : [{ type: 'presence.set', agentId: model.agents[0].id, presence: 'online' }];
  }

  protected async act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation> {
    const fresh = this.commands(model).map((args) => {
      const command = routerCommandSchema.parse({ commandId: randomUUID(), tenantId: model.tenant, ...args });
      return { command, what: describeCommand(model, command, `step ${model.step}, batched`) };
    });
    const earlier = this.redeliver === undefined || model.commands.length === 0 ? undefined : model.commands[this.redeliver % model.commands.length];
    const batch = [...fresh.map(({ command }) => command), ...(earlier ? [earlier.command] : [])];
    const fallbacksBefore = await RouterWorld.commandBatchFallbacks();
    const settled = await world.executeBatch(batch);
    const fallbacks = await RouterWorld.commandBatchFallbacks();
    const notes: string[] = [];
    const results = settled.map((outcome, index) => {
      if (!outcome.ok) {
        throw new InvariantViolation(relabel(model, `command #${index} of a batch failed: ${String(outcome.error)}\n  ${model.trace.join('\n  ')}`));
      }
      return outcome.outcome;
    });
    fresh.forEach(({ command, what }, index) => {
      model.commands.push({ what, command, result: results[index] });
      notes.push(`${what}: ${outcomeText(results[index])}`);
    });
    if (earlier) {
      const again = results[fresh.length];
      if (!isDeepStrictEqual(normalized(again), normalized(earlier.result))) {
        throw new InvariantViolation(
          relabel(model, `I7: redelivered ${earlier.what} in a batch answered ${JSON.stringify(again)}, first delivery ${JSON.stringify(earlier.result)}\n  ${model.trace.join('\n  ')}`),
        );
      }
      notes.push(`${earlier.what} again: ${outcomeText(again)}`);
    }
    // Nothing runs beside this step: a batch may go one by one because a command was refused in
    // it (whose answer alone may then differ: one by one, each command is routed after its own
    // commit), never for another reason — no lock can be contended, nothing may fail.
    if (fallbacks.other !== fallbacksBefore.other) {
      throw new InvariantViolation(relabel(model, `a command batch failed and fell back to one-by-one at step ${model.step}\n  ${model.trace.join('\n  ')}`));
    }
    this.note(model, notes.join('; '));
    return results.slice(0, fresh.length).every((result) => !result.ok) ? { unchanged: 'every command of the batch refused' } : {};
  }
}

export type TimeOutKind = 'offers' | 'offers+heartbeats' | 'leases' | 'offline-grace';
const ADVANCE_MS: Record<TimeOutKind, number> = {
  offers: (QUEUE_OFFER_TIMEOUT_S + 1) * 1_000,
  'offers+heartbeats': (QUEUE_OFFER_TIMEOUT_S + 1) * 1_000,
  leases: (LEASE_S + 1) * 1_000,
  'offline-grace': (QUEUE_OFFLINE_GRACE_S + 1) * 1_000,
};

/** Time passes (past the offer timeout, the presence lease, or the offline grace) and the timers run. */
export class TimeOut extends RoutingStep {
  constructor(private readonly kind: TimeOutKind) {
    super();
  }

  protected describe(): string {
    return `TimeOut(${this.kind}, +${ADVANCE_MS[this.kind] / 1000}s)`;
  }

  protected async act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation> {
    if (this.kind === 'offers+heartbeats') {
      for (const agent of model.agents.filter((spec) => model.presence.get(spec.id) !== 'offline')) {
        await send(model, world, { type: 'presence.heartbeat', agentId: agent.id }, `step ${model.step}`);
      }
    }
    world.clock.advance(ADVANCE_MS[this.kind]);
    await world.tick();
    return {};
  }
}

export class RedeliverMessage extends RoutingStep {
  constructor(private readonly k: number) {
    super();
  }

  override check(model: Readonly<RoutingModel>): boolean {
    return model.envelopes.length > 0;
  }

  protected describe(): string {
    return `RedeliverMessage(#${this.k})`;
  }

  protected async act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation> {
    const { what, envelope } = model.envelopes[this.k % model.envelopes.length];
    const outcome = await world.ingest(envelope);
    this.note(model, `${what}: ${outcome.kind}`);
    if (outcome.kind !== 'duplicate') {
      throw new InvariantViolation(
        relabel(model, `I7: redelivered ${what} was processed again (${JSON.stringify(outcome)})\n  ${model.trace.join('\n  ')}`),
      );
    }
    return { unchanged: `redelivered ${what}` };
  }
}

export class RedeliverCommand extends RoutingStep {
  constructor(private readonly k: number) {
    super();
  }

  override check(model: Readonly<RoutingModel>): boolean {
    return model.commands.length > 0;
  }

  protected describe(): string {
    return `RedeliverCommand(#${this.k})`;
  }

  protected async act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation> {
    const { what, command, result } = model.commands[this.k % model.commands.length];
    const again = await world.execute(command);
    this.note(model, `${what}: ${outcomeText(again)}`);
    if (!isDeepStrictEqual(normalized(again), normalized(result))) {
      throw new InvariantViolation(
        relabel(
          model,
          `I7: redelivered ${what} answered ${JSON.stringify(again)}, first delivery ${JSON.stringify(result)}\n  ${model.trace.join('\n  ')}`,
        ),
      );
    }
    return { unchanged: `redelivered ${command.type} (${what})` };
  }
}

/**
 * Two deliveries processed at the same time, as two router replicas (or two consumer channels) do:
 * both resolve their targets from the same view, then run concurrently. Every invariant must hold
 * once both have finished; a delivery that fails outright is reported.
 */
export class Race extends RoutingStep {
  constructor(
    private readonly first: RoutingStep,
    private readonly second: RoutingStep,
  ) {
    super();
  }

  override check(model: Readonly<RoutingModel>): boolean {
    return this.first.check(model) && this.second.check(model);
  }

  protected describe(): string {
    return `Race(${this.first.toString()} ‖ ${this.second.toString()})`;
  }

  override traced(): string {
    return `Race(${this.first.traced()} ‖ ${this.second.traced()})`;
  }

  protected async act(model: RoutingModel, world: RouterWorld): Promise<StepExpectation> {
    const outcomes = await Promise.allSettled([this.first.actRacing(model, world), this.second.actRacing(model, world)]);
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    return {};
  }
}

const crash = fc.constantFrom<Crash>('none', 'none', 'none', 'before-commit', 'after-commit');
const index = fc.nat({ max: 5 });
const stale = fc.nat({ max: 4 }).map((n) => n === 0);

/** The command arbitraries; entries repeat to weight the mix toward the interesting transitions. */
export const routingCommands = (() => {
  const presence = fc
    .tuple(index, fc.constantFrom<'online' | 'away' | 'offline'>('online', 'online', 'away', 'offline'), crash)
    .map(([agent, state, c]) => new SetPresence(agent, state, c));
  const heartbeat = index.map((agent) => new Heartbeat(agent));
  const arrive = fc
    .tuple(fc.constantFrom<'webchat' | 'voice' | 'sms'>('webchat', 'voice', 'sms', 'sms'), fc.nat({ max: 2 }), fc.constantFrom(0, 0, 80), crash)
    .map(([channel, customer, priority, c]) => new Arrive(channel, customer, priority, c));
  const arriveTogether = fc
    .tuple(
      fc.array(fc.record({ channel: fc.constantFrom<'webchat' | 'voice' | 'sms'>('webchat', 'sms', 'sms'), customer: fc.nat({ max: 2 }) }), {
        minLength: 2,
        maxLength: 4,
      }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.constantFrom<Crash>('none', 'none', 'before-commit'),
    )
    .map(([arrivals, redeliver, c]) => new ArriveTogether(arrivals, redeliver, c));
  const commandsTogether = fc
    .tuple(
      fc.array(fc.record({ kind: fc.constantFrom<BatchedKind>('accept', 'decline', 'close', 'close', 'release', 'presence'), k: index }), {
        minLength: 2,
        maxLength: 4,
      }),
      fc.option(fc.nat(), { nil: undefined }),
    )
    .map(([parts, redeliver]) => new CommandsTogether(parts, redeliver));
  const accept = fc.tuple(index, stale, crash).map(([k, s, c]) => new Accept(k, s, c));
  const decline = fc.tuple(index, stale, crash).map(([k, s, c]) => new Decline(k, s, c));
  const close = fc.tuple(index, stale, crash).map(([k, s, c]) => new Close(k, s, c));
  const release = fc.tuple(index, stale, crash).map(([k, s, c]) => new Release(k, s, c));
  const transfer = fc
    .tuple(
      index,
      stale,
      fc.oneof(
        index.map((agent) => ({ agent })),
        fc.constantFrom<{ queue: 'live' | 'msg' }>({ queue: 'live' }, { queue: 'msg' }),
      ),
      crash,
    )
    .map(([k, s, to, c]) => new Transfer(k, s, to, c));
  const timeOut = fc
    .constantFrom<TimeOutKind>('offers', 'offers+heartbeats', 'offers+heartbeats', 'leases', 'offline-grace')
    .map((kind) => new TimeOut(kind));
  const redeliverMessage = fc.nat().map((k) => new RedeliverMessage(k));
  const redeliverCommand = fc.nat().map((k) => new RedeliverCommand(k));
  const none = fc.constant<Crash>('none');
  const racer: fc.Arbitrary<RoutingStep> = fc.oneof(
    fc.tuple(fc.constantFrom<'webchat' | 'voice' | 'sms'>('webchat', 'voice', 'sms'), fc.nat({ max: 2 })).map(
      ([channel, customer]) => new Arrive(channel, customer, 0, 'none'),
    ),
    fc.tuple(index, stale, none).map(([k, s, c]) => new Accept(k, s, c)),
    fc.tuple(index, stale, none).map(([k, s, c]) => new Decline(k, s, c)),
    fc.tuple(index, stale, none).map(([k, s, c]) => new Close(k, s, c)),
    fc.tuple(index, stale, none).map(([k, s, c]) => new Release(k, s, c)),
    fc.tuple(index, stale, fc.constantFrom<{ agent: number } | { queue: 'live' | 'msg' }>({ agent: 1 }, { queue: 'msg' }), none).map(
      ([k, s, to, c]) => new Transfer(k, s, to, c),
    ),
    fc.tuple(index, fc.constantFrom<'online' | 'away' | 'offline'>('online', 'away', 'offline')).map(
      ([agent, state]) => new SetPresence(agent, state, 'none'),
    ),
    fc.constantFrom<TimeOutKind>('offers', 'leases').map((kind) => new TimeOut(kind)),
    redeliverMessage,
    redeliverCommand,
  );
  const race = fc.tuple(racer, racer).map(([first, second]) => new Race(first, second));
  return [
    presence,
    heartbeat,
    arrive,
    arrive,
    arrive,
    arriveTogether,
    commandsTogether,
    commandsTogether,
    accept,
    accept,
    decline,
    close,
    close,
    release,
    transfer,
    timeOut,
    redeliverMessage,
    redeliverCommand,
    race,
    race,
    race,
  ] as Array<fc.Arbitrary<fc.AsyncCommand<RoutingModel, RouterWorld>>>;
})();
