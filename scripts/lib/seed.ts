/**
 * Seeds queues and agents from a JSON file (idempotent: existing rows are updated, live counters
 * kept). Seeded online agents get a day-long presence lease so a development system routes without a
 * desktop sending heartbeats; real agents renew theirs through the gateway.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { AGENT_ID_PATTERN } from '@app/contracts';

export const seedFileSchema = z
  .object({
    agents: z
      .array(
        z
          .object({
            id: z.string().regex(AGENT_ID_PATTERN),
            tenantId: z.string().default('default'),
            name: z.string().min(1),
            skills: z.array(z.string()).default([]),
            queues: z.array(z.string()).default([]),
            syncCap: z.number().int().min(0).optional(),
            asyncCap: z.number().int().min(0).optional(),
            presence: z.enum(['online', 'away', 'offline']).default('offline'),
          })
          .strict(),
      )
      .default([]),
    queues: z
      .array(
        z
          .object({
            id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
            tenantId: z.string().default('default'),
            name: z.string().min(1),
            channels: z.array(z.string()).default([]),
            requiredSkills: z.array(z.string()).default([]),
            basePriority: z.number().int().default(0),
            syncCap: z.number().int().min(0).optional(),
            asyncCap: z.number().int().min(0).optional(),
            offerTimeoutS: z.number().int().positive().default(20),
            autoAccept: z.boolean().default(false),
            wrapUpS: z.number().int().min(0).default(0),
            stickyWindowS: z.number().int().min(0).default(604_800),
            offlineGraceS: z.number().int().min(0).default(300),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type SeedFile = z.output<typeof seedFileSchema>;

export async function readSeedFile(path: string): Promise<SeedFile> {
  const raw: unknown = JSON.parse(await readFile(path, 'utf8'));
  const result = seedFileSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(`${path}: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return result.data;
}

export async function applySeed(dataSource: DataSource, seed: SeedFile): Promise<void> {
  for (const queue of seed.queues) {
    await dataSource.query(
      `INSERT INTO queues (tenant_id, id, name, channels, required_skills, base_priority, sync_cap, async_cap, offer_timeout_s,
                           auto_accept, wrap_up_s, sticky_window_s, offline_grace_s)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name, channels = EXCLUDED.channels,
         required_skills = EXCLUDED.required_skills, base_priority = EXCLUDED.base_priority, sync_cap = EXCLUDED.sync_cap,
         async_cap = EXCLUDED.async_cap, offer_timeout_s = EXCLUDED.offer_timeout_s, auto_accept = EXCLUDED.auto_accept,
         wrap_up_s = EXCLUDED.wrap_up_s, sticky_window_s = EXCLUDED.sticky_window_s,
         offline_grace_s = EXCLUDED.offline_grace_s, updated_at = now()`,
      [
        queue.tenantId,
        queue.id,
        queue.name,
        queue.channels,
        queue.requiredSkills,
        queue.basePriority,
        queue.syncCap ?? null,
        queue.asyncCap ?? null,
        queue.offerTimeoutS,
        queue.autoAccept,
        queue.wrapUpS,
        queue.stickyWindowS,
        queue.offlineGraceS,
      ],
    );
  }
  for (const agent of seed.agents) {
    await dataSource.query(
      `INSERT INTO agents (id, tenant_id, name, skills, queue_ids, sync_cap, async_cap, presence, lease_expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8 = 'offline' THEN NULL ELSE now() + interval '1 day' END)
       ON CONFLICT (id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, name = EXCLUDED.name, skills = EXCLUDED.skills,
         queue_ids = EXCLUDED.queue_ids, sync_cap = EXCLUDED.sync_cap, async_cap = EXCLUDED.async_cap,
         presence = EXCLUDED.presence, lease_expires_at = EXCLUDED.lease_expires_at,
         presence_changed_at = now(), updated_at = now()`,
      [agent.id, agent.tenantId, agent.name, agent.skills, agent.queues, agent.syncCap ?? null, agent.asyncCap ?? null, agent.presence],
    );
  }
}
