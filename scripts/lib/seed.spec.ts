import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedFileSchema } from './seed';

describe('seed file', () => {
  it('the development seed is valid', () => {
    const raw: unknown = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'dev-seed.json'), 'utf8'));
    const seed = seedFileSchema.parse(raw);
    expect(seed.queues.map((queue) => queue.id)).toEqual(['live', 'messaging']);
    expect(seed.agents).toHaveLength(3);
  });

  it('rejects unknown fields and bad business hours with the path of the problem', () => {
    const result = seedFileSchema.safeParse({
      queues: [{ id: 'q', name: 'Q', businessHours: { timeZone: 'Mars/Olympus', weekly: {} }, colour: 'red' }],
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['queues.0.businessHours.timeZone']));
  });
});
