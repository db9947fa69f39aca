/**
 * Seeds queues and agents from a JSON file (idempotent: existing rows are updated, live counters
 * kept). Seeded online agents get a day-long presence lease so a development system routes without a
 * desktop sending heartbeats; real agents renew theirs through the gateway.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { DataSource } from 'typeorm';
import { AGENT_ID_PATTERN, QUEUE_ID_PATTERN } from '@app/contracts';
import { businessHoursSchema } from '../../apps/router/src/policy/business-hours.policy';

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
            id: z.string().regex(QUEUE_ID_PATTERN),
            tenantId: z.string().default('default'),
            name: z.string().min(1),
            channels: z.array(z.string()).default([]),
            requiredSkills: z.array(z.string()).default([]),
            basePriority: z.number().int().default(0),
            agingPerMinute: z.number().positive().default(1),
            syncCap: z.number().int().min(0).optional(),
            asyncCap: z.number().int().min(0).optional(),
            syncBlocksAsync: z.boolean().optional(),
            offerTimeoutS: z.number().int().positive().default(20),
            autoAccept: z.boolean().default(false),
            wrapUpS: z.number().int().min(0).default(0),
            maxWaitS: z.number().int().positive().optional(),
            overflowQueueId: z.string().optional(),
            downgradeToAsync: z.boolean().default(true),
            businessHours: businessHoursSchema.optional(),
            reopenWindowS: z.number().int().min(0).default(604_800),
            stickyWindowS: z.number().int().min(0).default(604_800),
            offlineGraceS: z.number().int().min(0).default(300),
            expectedReplyS: z.number().int().positive().default(3_600),
            noticeIntervalS: z.number().int().positive().default(60),
            botFirst: z.boolean().default(false),
            botTimeoutS: z.number().int().positive().default(30),
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
  // Queues without an overflow first, so that an overflow always names an existing queue.
  const ordered = [...seed.queues].sort((a, b) => Number(Boolean(a.overflowQueueId)) - Number(Boolean(b.overflowQueueId)));
  for (const queue of ordered) {
    const columns: Record<string, unknown> = {
      tenant_id: queue.tenantId,
      id: queue.id,
      name: queue.name,
      channels: queue.channels,
      required_skills: queue.requiredSkills,
      base_priority: queue.basePriority,
      aging_per_minute: queue.agingPerMinute,
      sync_cap: queue.syncCap ?? null,
      async_cap: queue.asyncCap ?? null,
      sync_blocks_async: queue.syncBlocksAsync ?? null,
      offer_timeout_s: queue.offerTimeoutS,
      auto_accept: queue.autoAccept,
      wrap_up_s: queue.wrapUpS,
      max_wait_s: queue.maxWaitS ?? null,
      overflow_queue_id: queue.overflowQueueId ?? null,
      downgrade_to_async: queue.downgradeToAsync,
      business_hours: queue.businessHours ? JSON.stringify(queue.businessHours) : null,
      reopen_window_s: queue.reopenWindowS,
      sticky_window_s: queue.stickyWindowS,
      offline_grace_s: queue.offlineGraceS,
      expected_reply_s: queue.expectedReplyS,
      notice_interval_s: queue.noticeIntervalS,
      bot_first: queue.botFirst,
      bot_timeout_s: queue.botTimeoutS,
    };
    const names = Object.keys(columns);
    await dataSource.query(
      `INSERT INTO queues (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})
       ON CONFLICT (tenant_id, id) DO UPDATE SET ${names
         .filter((name) => name !== 'tenant_id' && name !== 'id')
         .map((name) => `${name} = EXCLUDED.${name}`)
         .join(', ')}, updated_at = now()`,
      Object.values(columns),
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
