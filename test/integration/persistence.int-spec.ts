/**
 * libs/persistence against a real Postgres: migrations from several replicas at once, the
 * invariants the schema itself enforces, and side effects deferred to a transaction's commit.
 */
import { randomUUID } from 'node:crypto';
import { afterCommit, ConcurrentUpdateError, createDataSource, inTransaction, MIGRATIONS, rows, runMigrationsLocked } from '@app/persistence';
import { openDatabase } from '@app/testing';
import { createDatabase, dropDatabase, withDatabase } from '../support/infrastructure';

describe('migrations', () => {
  const adminUrl = process.env.TEST_ADMIN_DATABASE_URL!;
  const database = `cr_mig_${process.env.TEST_RUN_ID}`;

  beforeAll(() => createDatabase(adminUrl, database));
  afterAll(() => dropDatabase(adminUrl, database));

  it('applies each migration once when five replicas start at the same moment', async () => {
    const url = withDatabase(adminUrl, database);
    const sources = Array.from({ length: 5 }, (_, index) =>
      createDataSource({ url, poolSize: 2, applicationName: `replica-${index}` }),
    );
    await Promise.all(sources.map((source) => source.initialize()));
    try {
      const results = await Promise.all(sources.map((source) => runMigrationsLocked(source)));
      const applied = results.flat();
      expect(applied).toEqual(MIGRATIONS.map((migration) => new migration().name));
      const rows = await sources[0].query('SELECT name FROM schema_migrations');
      expect(rows).toHaveLength(MIGRATIONS.length);
    } finally {
      await Promise.all(sources.map((source) => source.destroy()));
    }
  });

  it('reverts cleanly with down()', async () => {
    const source = createDataSource({ url: withDatabase(adminUrl, database), poolSize: 2, applicationName: 'revert' });
    await source.initialize();
    try {
      for (let i = 0; i < MIGRATIONS.length; i += 1) await source.undoLastMigration();
      const tables = await source.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations'`,
      );
      expect(tables).toEqual([]);
      await runMigrationsLocked(source);
    } finally {
      await source.destroy();
    }
  });
});

describe('schema invariants', () => {
  const pool = openDatabase();
  afterAll(() => pool.end());

  async function conversationWithAgent(): Promise<{ conversationId: string; agentId: string }> {
    const customerId = randomUUID();
    const identityId = randomUUID();
    const conversationId = randomUUID();
    const agentId = `inv-${randomUUID().slice(0, 8)}`;
    await pool.query(`INSERT INTO customers (id, tenant_id) VALUES ($1, 'default')`, [customerId]);
    await pool.query(
      `INSERT INTO channel_identities (id, tenant_id, customer_id, channel, address) VALUES ($1, 'default', $2, 'sms', $3)`,
      [identityId, customerId, `+1${Date.now()}${Math.floor(Math.random() * 1000)}`],
    );
    await pool.query(`INSERT INTO queues (tenant_id, id, name) VALUES ('default', 'default', 'Default') ON CONFLICT DO NOTHING`);
    await pool.query(
      `INSERT INTO conversations (id, tenant_id, customer_id, identity_id, channel, mode, status, last_message_at, queue_id, rank_at)
       VALUES ($1, 'default', $2, $3, 'sms', 'async', 'queued', now(), 'default', now())`,
      [conversationId, customerId, identityId],
    );
    await pool.query(`INSERT INTO agents (id, tenant_id, name) VALUES ($1, 'default', $1)`, [agentId]);
    return { conversationId, agentId };
  }

  it('I1: a conversation cannot hold two live assignments', async () => {
    const { conversationId, agentId } = await conversationWithAgent();
    await pool.query(`INSERT INTO assignments (conversation_id, agent_id, mode, state) VALUES ($1, $2, 'async', 'active')`, [
      conversationId,
      agentId,
    ]);
    await expect(
      pool.query(`INSERT INTO assignments (conversation_id, agent_id, mode, state) VALUES ($1, $2, 'async', 'offered')`, [
        conversationId,
        agentId,
      ]),
    ).rejects.toThrow(/assignments_one_live_uq/);
  });

  it('an assigned conversation must name its agent, and counters cannot go negative', async () => {
    const { conversationId, agentId } = await conversationWithAgent();
    await expect(pool.query(`UPDATE conversations SET status = 'assigned' WHERE id = $1`, [conversationId])).rejects.toThrow(
      /conversations_assignee_ck/,
    );
    await expect(pool.query(`UPDATE agents SET active_async = -1 WHERE id = $1`, [agentId])).rejects.toThrow(
      /agents_active_async_ck/,
    );
  });

  it('a provider message id is stored once per tenant and channel', async () => {
    const { conversationId } = await conversationWithAgent();
    const insert = (seq: number) =>
      pool.query(
        `INSERT INTO messages (id, tenant_id, conversation_id, channel, direction, sender, provider_message_id, received_at, seq)
         VALUES ($1, 'default', $2, 'sms', 'inbound', 'customer', 'SM-dup-1', now(), $3)`,
        [randomUUID(), conversationId, seq],
      );
    await insert(1);
    await expect(insert(2)).rejects.toThrow(/messages_provider_uq/);
  });
});

describe('afterCommit: a side effect counts committed work only', () => {
  const source = createDataSource({ url: process.env.DATABASE_URL!, poolSize: 2, applicationName: 'after-commit' });
  beforeAll(() => source.initialize());
  afterAll(() => source.destroy());

  it('runs after the commit, once per committed unit, and never for an attempt rolled back or retried', async () => {
    const seen: string[] = [];
    let attempts = 0;
    const committed = await inTransaction(source, async (runner) => {
      attempts += 1;
      const [row] = await rows<{ attempt: number }>(runner, 'SELECT $1::int AS attempt', [attempts]);
      afterCommit(runner, () => seen.push(`attempt ${row.attempt}`));
      expect(seen).toEqual([]);
      if (attempts === 1) throw new ConcurrentUpdateError('first attempt loses a race');
      return row.attempt;
    });
    expect(committed).toBe(2);
    expect(seen).toEqual(['attempt 2']);

    await expect(
      inTransaction(source, async (runner) => {
        afterCommit(runner, () => seen.push('rolled back'));
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(seen).toEqual(['attempt 2']);
  });

  it('runs at once on a runner outside a transaction unit', async () => {
    const runner = source.createQueryRunner();
    try {
      const seen: number[] = [];
      afterCommit(runner, () => seen.push(1));
      expect(seen).toEqual([1]);
    } finally {
      await runner.release();
    }
  });
});
