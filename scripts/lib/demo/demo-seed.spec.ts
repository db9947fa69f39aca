import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { AgentDto, QueueDto } from '../../../apps/gateway/src/admin/admin.dto';
import { agentsOf, DEMO_QUEUES, DEMO_SKILL, demoSeed } from './demo-seed';

/** The gateway's validation pipe refuses unknown fields; the same rules here. */
async function problems(dto: new () => object, body: object): Promise<string[]> {
  const errors = await validate(plainToInstance(dto, body), { whitelist: true, forbidNonWhitelisted: true });
  return errors.flatMap((error) => Object.values(error.constraints ?? {}));
}

describe('demo seed', () => {
  const seed = demoSeed();

  it('every queue and agent body passes the admin API\'s validation', async () => {
    for (const queue of seed.queues) expect(await problems(QueueDto, queue.body)).toEqual([]);
    for (const agent of seed.agents) expect(await problems(AgentDto, agent.body)).toEqual([]);
    expect(await problems(QueueDto, { ...seed.queues[0].body, channels: [] })).toEqual([]);
  });

  it('two humans, two scripted agents and a supervisor who takes no work', () => {
    expect(agentsOf(seed, 'human')).toEqual(['alice', 'bob']);
    expect(agentsOf(seed, 'scripted')).toEqual(['carol', 'dave']);
    expect(agentsOf(seed, 'supervisor')).toEqual(['sue']);
    const sue = seed.agents.find((agent) => agent.id === 'sue')!;
    expect(sue.body).toMatchObject({ queueIds: [], syncCap: 0, asyncCap: 0 });
  });

  it('caps small enough to fill within a minute: 4 threads for a human, 2 for a scripted agent, one live chat each', () => {
    const caps = Object.fromEntries(seed.agents.map((agent) => [agent.id, [agent.body.syncCap, agent.body.asyncCap]]));
    expect(caps).toMatchObject({ alice: [1, 4], bob: [1, 4], carol: [1, 2], dave: [1, 2] });
  });

  it('keeps demo work and development work apart', () => {
    // Demo queues need a skill only demo agents have, and demo agents serve only demo queues.
    for (const queue of seed.queues) expect(queue.body.requiredSkills).toEqual([DEMO_SKILL]);
    for (const agent of seed.agents.filter((a) => a.body.queueIds.length > 0)) {
      expect(agent.body.skills).toContain(DEMO_SKILL);
      expect(agent.body.queueIds).toEqual([DEMO_QUEUES.live, DEMO_QUEUES.messaging]);
    }
    const dev = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'config', 'dev-seed.json'), 'utf8')) as {
      queues: Array<{ id: string; channels: string[] }>;
      agents: Array<{ skills?: string[] }>;
    };
    for (const agent of dev.agents) expect(agent.skills ?? []).not.toContain(DEMO_SKILL);
    // A new conversation joins the first queue by id that lists its channel: the demo's, while seeded.
    for (const queue of seed.queues) {
      for (const channel of queue.body.channels) {
        const devQueue = dev.queues.find((q) => q.channels.includes(channel));
        if (devQueue) expect(queue.id < devQueue.id).toBe(true);
      }
    }
  });

  it('an agent prefix keeps several seeds apart (agent ids are global)', () => {
    const other = demoSeed({ agentPrefix: 't1-' });
    expect(other.agents.map((agent) => agent.id)).toEqual(['t1-alice', 't1-bob', 't1-carol', 't1-dave', 't1-sue']);
    expect(other.adminId).toBe('t1-demo-admin');
    expect(other.queues.map((queue) => queue.id)).toEqual([DEMO_QUEUES.live, DEMO_QUEUES.messaging]);
  });
});
