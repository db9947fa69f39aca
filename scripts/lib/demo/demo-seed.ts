/**
 * The demo's queues and agents, put through the gateway's admin API (PUT: idempotent, so a second
 * run replaces the same records and keeps presence and held work).
 *
 * Isolation from the development seed: both demo queues require the skill `demo`, which only demo
 * agents have, and demo agents serve only the demo queues — so the development agents (a1, a2…)
 * never get demo work and demo agents never get theirs. A new conversation joins the tenant's first
 * queue (by id) listing its channel: `demo-live` and `demo-messaging` sort before `live` and
 * `messaging`, so they take the demo's channels while they list them; `parkDemoQueues` empties
 * their channel lists again so that after the demo, traffic goes where the development seed sends it.
 *
 * Caps are small so that the pile-up is visible: a human agent holds at most 4 threads, a scripted
 * one 2; everyone holds one live chat.
 */
import type { Channel } from '@app/contracts';
import type { GatewayClient } from './gateway-client';

export const DEMO_SKILL = 'demo';

export interface QueueBody {
  name: string;
  channels: Channel[];
  requiredSkills: string[];
  syncCap?: number;
  asyncCap?: number;
  offerTimeoutS?: number;
  wrapUpS?: number;
  maxWaitS?: number;
  downgradeToAsync?: boolean;
  noticeIntervalS?: number;
  expectedReplyS?: number;
  stickyWindowS?: number;
  reopenWindowS?: number;
  offlineGraceS?: number;
}

export interface AgentBody {
  name: string;
  skills: string[];
  queueIds: string[];
  syncCap: number | null;
  asyncCap: number | null;
}

export type DemoRole = 'human' | 'scripted' | 'supervisor';

export interface DemoSeed {
  queues: Array<{ id: string; body: QueueBody }>;
  agents: Array<{ id: string; role: DemoRole; body: AgentBody }>;
  /** Signs the admin calls; never an agent. */
  adminId: string;
}

export interface DemoSeedOptions {
  /** Put before every agent id (agent ids are global, queue ids per tenant): lets tests run side by side. */
  agentPrefix?: string;
  humans?: string[];
  scripted?: string[];
  supervisor?: string;
  humanAsyncCap?: number;
  scriptedAsyncCap?: number;
  /** How long a live chat is offered to one agent before it moves on. */
  offerTimeoutS?: number;
  liveChannels?: Channel[];
  messagingChannels?: Channel[];
}

export const DEMO_QUEUES = { live: 'demo-live', messaging: 'demo-messaging' } as const;

const capitalized = (id: string) => id.charAt(0).toUpperCase() + id.slice(1);

export function demoSeed(options: DemoSeedOptions = {}): DemoSeed {
  const prefix = options.agentPrefix ?? '';
  const queueIds = [DEMO_QUEUES.live, DEMO_QUEUES.messaging];
  const agent = (name: string, role: DemoRole, asyncCap: number | null) => ({
    id: `${prefix}${name}`,
    role,
    body: {
      name: role === 'supervisor' ? `${capitalized(name)} (supervisor)` : capitalized(name),
      skills: role === 'supervisor' ? [] : [DEMO_SKILL],
      queueIds: role === 'supervisor' ? [] : queueIds,
      syncCap: role === 'supervisor' ? 0 : 1,
      asyncCap: role === 'supervisor' ? 0 : asyncCap,
    },
  });
  return {
    adminId: `${prefix}demo-admin`,
    queues: [
      {
        id: DEMO_QUEUES.live,
        body: {
          name: 'Demo: live chat',
          channels: options.liveChannels ?? ['webchat'],
          requiredSkills: [DEMO_SKILL],
          syncCap: 1,
          offerTimeoutS: options.offerTimeoutS ?? 15,
          // No wrap-up: agents free up at once, which keeps the demo's pace.
          wrapUpS: 0,
          maxWaitS: 180,
          downgradeToAsync: true,
          noticeIntervalS: 10,
        },
      },
      {
        id: DEMO_QUEUES.messaging,
        body: {
          name: 'Demo: messaging',
          channels: options.messagingChannels ?? ['sms', 'whatsapp', 'telegram'],
          requiredSkills: [DEMO_SKILL],
          asyncCap: options.humanAsyncCap ?? 4,
          expectedReplyS: 300,
          noticeIntervalS: 60,
          offlineGraceS: 60,
        },
      },
    ],
    agents: [
      ...(options.humans ?? ['alice', 'bob']).map((name) => agent(name, 'human', options.humanAsyncCap ?? 4)),
      ...(options.scripted ?? ['carol', 'dave']).map((name) => agent(name, 'scripted', options.scriptedAsyncCap ?? 2)),
      agent(options.supervisor ?? 'sue', 'supervisor', 0),
    ],
  };
}

export function agentsOf(seed: DemoSeed, role: DemoRole): string[] {
  return seed.agents.filter((agent) => agent.role === role).map((agent) => agent.id);
}

/** Creates or replaces every queue, then every agent (agents name the queues). */
export async function applyDemoSeed(admin: GatewayClient, seed: DemoSeed): Promise<void> {
  for (const queue of seed.queues) await admin.put(`/v1/admin/queues/${encodeURIComponent(queue.id)}`, queue.body);
  for (const agent of seed.agents) await admin.put(`/v1/admin/agents/${encodeURIComponent(agent.id)}`, agent.body);
}

/** The demo queues stop taking new conversations by channel (held and waiting work stays theirs). */
export async function parkDemoQueues(admin: GatewayClient, seed: DemoSeed): Promise<void> {
  for (const queue of seed.queues) await admin.put(`/v1/admin/queues/${encodeURIComponent(queue.id)}`, { ...queue.body, channels: [] });
}
