/**
 * A1: the model of the model-based routing test. Deliberately thin — the truth is read back from
 * Postgres after every step; the model only remembers what the test itself did (which messages
 * arrived, which envelopes and commands were delivered, so they can be delivered again) and a view
 * of the last state read, which the commands use to pick sensible targets.
 */
import type { InboundEnvelope, RouterCommand } from '@app/contracts';
import type { CommandResult } from '../../../apps/router/src/commands/command.controller';
import type { AgentSpec } from './world';

export interface ConversationView {
  id: string;
  label: string;
  status: string;
  mode: 'sync' | 'async';
  agentId: string | null;
}

export interface ReplayState {
  /** The audit log's last id before the run began: the run's rows all come after it. */
  baseAuditId: string;
  lastAuditId: string;
  held: Map<string, { sync: number; async: number }>;
  /** `conversation|agent` pairs that declined or let an offer time out (I5). */
  refused: Set<string>;
}

export interface RoutingModel {
  tenant: string;
  agents: AgentSpec[];
  step: number;
  trace: string[];
  /** Conversation id → c0, c1… in order of first arrival. */
  labels: Map<string, string>;
  /** Distinct message ids that arrived (I4). */
  arrivals: Set<string>;
  envelopes: Array<{ what: string; envelope: InboundEnvelope }>;
  commands: Array<{ what: string; command: RouterCommand; result: CommandResult }>;
  /** Refreshed from the database after every step. */
  conversations: ConversationView[];
  presence: Map<string, string>;
  fingerprint: string;
  replay: ReplayState;
}

export function newModel(tenant: string, agents: AgentSpec[], lastAuditId: string): RoutingModel {
  return {
    tenant,
    agents,
    step: 0,
    trace: [],
    labels: new Map(),
    arrivals: new Set(),
    envelopes: [],
    commands: [],
    conversations: [],
    presence: new Map(),
    fingerprint: '',
    replay: { baseAuditId: lastAuditId, lastAuditId, held: new Map(), refused: new Set() },
  };
}

export function conversationLabel(model: RoutingModel, id: string): string {
  let label = model.labels.get(id);
  if (!label) {
    label = `c${model.labels.size}`;
    model.labels.set(id, label);
  }
  return label;
}

export function agentLabel(model: RoutingModel, id: string | null | undefined): string {
  if (!id) return '-';
  return model.agents.find((agent) => agent.id === id)?.label ?? id;
}

/** Replaces every agent id and conversation id in a text by its short label, for readable failures. */
export function relabel(model: RoutingModel, text: string): string {
  let out = text;
  for (const [id, label] of model.labels) out = out.split(id).join(label);
  for (const agent of model.agents) out = out.split(agent.id).join(agent.label);
  return out;
}
