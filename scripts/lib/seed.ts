/**
 * Seeds agents from a JSON file (idempotent: existing agents are updated, their live counters kept).
 * The routing-engine issue extends the file with queues.
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
            syncCap: z.number().int().min(0).default(1),
            asyncCap: z.number().int().min(0).default(8),
            presence: z.enum(['online', 'away', 'offline']).default('offline'),
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
  for (const agent of seed.agents) {
    await dataSource.query(
      `INSERT INTO agents (id, tenant_id, name, skills, sync_cap, async_cap, presence)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, name = EXCLUDED.name, skills = EXCLUDED.skills,
         sync_cap = EXCLUDED.sync_cap, async_cap = EXCLUDED.async_cap, presence = EXCLUDED.presence,
         presence_changed_at = now(), updated_at = now()`,
      [agent.id, agent.tenantId, agent.name, agent.skills, agent.syncCap, agent.asyncCap, agent.presence],
    );
  }
}
