/**
 * The routing engine's state: queues with their policies, agent presence with leases and wrap-up,
 * offers (assignments in state `offered` that hold capacity until accepted or withdrawn), declines
 * (never re-offer to a decliner — I5), per-conversation timings, and an append-only audit log of
 * every assignment transition (replayed by the A4 check).
 *
 * Queue order (I6) is stored, not computed: an item's effective priority `p + r·minutesWaited`
 * ranks the same as the constant `rank_at = queued_at − p/r minutes`, so the next item of a queue is
 * the first entry of an index, however deep the queue.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RoutingEngine1763910000000 implements MigrationInterface {
  name = 'RoutingEngine1763910000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE queues (
        tenant_id text NOT NULL,
        id text NOT NULL CONSTRAINT queues_id_format_ck CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
        name text NOT NULL,
        channels text[] NOT NULL DEFAULT '{}',
        required_skills text[] NOT NULL DEFAULT '{}',
        base_priority integer NOT NULL DEFAULT 0,
        aging_per_minute real NOT NULL DEFAULT 1 CONSTRAINT queues_aging_ck CHECK (aging_per_minute > 0),
        sync_cap integer CONSTRAINT queues_sync_cap_ck CHECK (sync_cap >= 0),
        async_cap integer CONSTRAINT queues_async_cap_ck CHECK (async_cap >= 0),
        sync_blocks_async boolean,
        offer_timeout_s integer NOT NULL DEFAULT 20 CONSTRAINT queues_offer_timeout_ck CHECK (offer_timeout_s > 0),
        auto_accept boolean NOT NULL DEFAULT false,
        wrap_up_s integer NOT NULL DEFAULT 0 CONSTRAINT queues_wrap_up_ck CHECK (wrap_up_s >= 0),
        max_wait_s integer CONSTRAINT queues_max_wait_ck CHECK (max_wait_s > 0),
        overflow_queue_id text,
        downgrade_to_async boolean NOT NULL DEFAULT true,
        business_hours jsonb,
        reopen_window_s integer NOT NULL DEFAULT 604800,
        sticky_window_s integer NOT NULL DEFAULT 604800,
        offline_grace_s integer NOT NULL DEFAULT 300,
        expected_reply_s integer NOT NULL DEFAULT 3600,
        bot_first boolean NOT NULL DEFAULT false,
        bot_timeout_s integer NOT NULL DEFAULT 30,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id),
        CONSTRAINT queues_overflow_fk FOREIGN KEY (tenant_id, overflow_queue_id) REFERENCES queues (tenant_id, id),
        CONSTRAINT queues_overflow_not_self_ck CHECK (overflow_queue_id IS DISTINCT FROM id)
      )`);

    // Agent caps become overrides (NULL = the queue's, then the global default).
    await queryRunner.query(`ALTER TABLE agents ALTER COLUMN sync_cap DROP NOT NULL, ALTER COLUMN sync_cap DROP DEFAULT`);
    await queryRunner.query(`ALTER TABLE agents ALTER COLUMN async_cap DROP NOT NULL, ALTER COLUMN async_cap DROP DEFAULT`);
    await queryRunner.query(`
      ALTER TABLE agents
        ADD COLUMN queue_ids text[] NOT NULL DEFAULT '{}',
        ADD COLUMN sync_blocks_async boolean,
        ADD COLUMN lease_expires_at timestamptz,
        ADD COLUMN offline_since timestamptz,
        ADD COLUMN wrap_up_until timestamptz,
        ADD COLUMN idle_since timestamptz NOT NULL DEFAULT now(),
        ADD COLUMN version integer NOT NULL DEFAULT 0`);
    await queryRunner.query(`DROP INDEX agents_online_idle_idx`);
    await queryRunner.query(`CREATE INDEX agents_sync_pick_idx ON agents (tenant_id, idle_since) WHERE presence = 'online'`);
    await queryRunner.query(
      `CREATE INDEX agents_async_pick_idx ON agents (tenant_id, active_async, last_assigned_at NULLS FIRST) WHERE presence = 'online'`,
    );
    await queryRunner.query(`CREATE INDEX agents_lease_idx ON agents (lease_expires_at) WHERE presence <> 'offline'`);
    await queryRunner.query(`CREATE INDEX agents_wrap_up_idx ON agents (wrap_up_until) WHERE wrap_up_until IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX agents_offline_grace_idx ON agents (offline_since) WHERE active_async > 0`);

    await queryRunner.query(`ALTER TABLE conversations DROP CONSTRAINT conversations_status_ck`);
    await queryRunner.query(`ALTER TABLE conversations DROP CONSTRAINT conversations_assignee_ck`);
    await queryRunner.query(`DROP INDEX conversations_waiting_idx`);
    await queryRunner.query(`
      ALTER TABLE conversations
        ADD COLUMN queue_id text,
        ADD COLUMN rank_at timestamptz,
        ADD COLUMN last_agent_id text REFERENCES agents (id),
        ADD COLUMN last_assigned_at timestamptz,
        ADD COLUMN bot_until timestamptz,
        ADD COLUMN context jsonb NOT NULL DEFAULT '{}',
        ADD COLUMN version integer NOT NULL DEFAULT 0`);
    // Every tenant that already has conversations or agents gets its `default` queue, and waiting
    // conversations join it in their old order.
    await queryRunner.query(`
      INSERT INTO queues (tenant_id, id, name)
      SELECT tenant_id, 'default', 'Default' FROM (SELECT tenant_id FROM conversations UNION SELECT tenant_id FROM agents) t`);
    await queryRunner.query(`
      UPDATE conversations
         SET queue_id = 'default',
             rank_at = COALESCE(queued_at, created_at) - make_interval(mins => priority)
       WHERE status <> 'closed'`);
    await queryRunner.query(`
      ALTER TABLE conversations
        ADD CONSTRAINT conversations_queue_fk FOREIGN KEY (tenant_id, queue_id) REFERENCES queues (tenant_id, id),
        ADD CONSTRAINT conversations_status_ck CHECK (status IN ('bot', 'queued', 'offered', 'assigned', 'closed')),
        ADD CONSTRAINT conversations_assignee_ck CHECK ((status IN ('offered', 'assigned')) = (assigned_agent_id IS NOT NULL)),
        ADD CONSTRAINT conversations_queued_rank_ck CHECK (status <> 'queued' OR (rank_at IS NOT NULL AND queue_id IS NOT NULL))`);
    await queryRunner.query(
      `CREATE INDEX conversations_queue_order_idx ON conversations (tenant_id, queue_id, mode, rank_at) WHERE status = 'queued'`,
    );
    await queryRunner.query(`CREATE INDEX conversations_bot_idx ON conversations (bot_until) WHERE status = 'bot'`);
    await queryRunner.query(`CREATE INDEX conversations_agent_open_idx ON conversations (assigned_agent_id) WHERE status IN ('offered', 'assigned')`);

    await queryRunner.query(`ALTER TABLE assignments ADD COLUMN expires_at timestamptz, ADD COLUMN accepted_at timestamptz`);
    await queryRunner.query(`CREATE INDEX assignments_offer_expiry_idx ON assignments (expires_at) WHERE state = 'offered'`);

    await queryRunner.query(`
      CREATE TABLE declines (
        conversation_id uuid NOT NULL REFERENCES conversations (id),
        agent_id text NOT NULL REFERENCES agents (id),
        reason text NOT NULL CONSTRAINT declines_reason_ck CHECK (reason IN ('declined', 'timeout')),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (conversation_id, agent_id)
      )`);

    await queryRunner.query(`
      CREATE TABLE conversation_timings (
        conversation_id uuid PRIMARY KEY REFERENCES conversations (id),
        queued_at timestamptz,
        first_offered_at timestamptz,
        first_assigned_at timestamptz,
        first_agent_reply_at timestamptz,
        closed_at timestamptz
      )`);

    await queryRunner.query(`
      CREATE TABLE assignment_audit (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        tenant_id text NOT NULL,
        conversation_id uuid NOT NULL,
        agent_id text,
        mode text NOT NULL,
        action text NOT NULL,
        from_status text,
        to_status text NOT NULL,
        actor text NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'
      )`);
    await queryRunner.query(`CREATE INDEX assignment_audit_agent_idx ON assignment_audit (agent_id, id)`);
    await queryRunner.query(`CREATE INDEX assignment_audit_conversation_idx ON assignment_audit (conversation_id, id)`);

    await queryRunner.query(`
      CREATE TABLE processed_commands (
        command_id uuid PRIMARY KEY,
        type text NOT NULL,
        result jsonb NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE processed_commands`);
    await queryRunner.query(`DROP TABLE assignment_audit`);
    await queryRunner.query(`DROP TABLE conversation_timings`);
    await queryRunner.query(`DROP TABLE declines`);
    await queryRunner.query(`DROP INDEX assignments_offer_expiry_idx`);
    await queryRunner.query(`ALTER TABLE assignments DROP COLUMN expires_at, DROP COLUMN accepted_at`);
    await queryRunner.query(`DROP INDEX conversations_agent_open_idx`);
    await queryRunner.query(`DROP INDEX conversations_bot_idx`);
    await queryRunner.query(`DROP INDEX conversations_queue_order_idx`);
    await queryRunner.query(`DELETE FROM conversations WHERE status IN ('bot', 'offered')`);
    await queryRunner.query(`
      ALTER TABLE conversations
        DROP CONSTRAINT conversations_queued_rank_ck,
        DROP CONSTRAINT conversations_assignee_ck,
        DROP CONSTRAINT conversations_status_ck,
        DROP CONSTRAINT conversations_queue_fk,
        DROP COLUMN version, DROP COLUMN context, DROP COLUMN bot_until, DROP COLUMN last_assigned_at,
        DROP COLUMN last_agent_id, DROP COLUMN rank_at, DROP COLUMN queue_id`);
    await queryRunner.query(
      `ALTER TABLE conversations ADD CONSTRAINT conversations_status_ck CHECK (status IN ('queued', 'assigned', 'closed')),
         ADD CONSTRAINT conversations_assignee_ck CHECK ((status = 'assigned') = (assigned_agent_id IS NOT NULL))`,
    );
    await queryRunner.query(
      `CREATE INDEX conversations_waiting_idx ON conversations (tenant_id, priority DESC, queued_at) WHERE status = 'queued'`,
    );
    await queryRunner.query(`DROP INDEX agents_offline_grace_idx`);
    await queryRunner.query(`DROP INDEX agents_wrap_up_idx`);
    await queryRunner.query(`DROP INDEX agents_lease_idx`);
    await queryRunner.query(`DROP INDEX agents_async_pick_idx`);
    await queryRunner.query(`DROP INDEX agents_sync_pick_idx`);
    await queryRunner.query(
      `CREATE INDEX agents_online_idle_idx ON agents (tenant_id, last_assigned_at NULLS FIRST) WHERE presence = 'online'`,
    );
    await queryRunner.query(`
      ALTER TABLE agents
        DROP COLUMN version, DROP COLUMN idle_since, DROP COLUMN wrap_up_until, DROP COLUMN offline_since,
        DROP COLUMN lease_expires_at, DROP COLUMN sync_blocks_async, DROP COLUMN queue_ids`);
    await queryRunner.query(`UPDATE agents SET sync_cap = COALESCE(sync_cap, 1), async_cap = COALESCE(async_cap, 8)`);
    await queryRunner.query(`ALTER TABLE agents ALTER COLUMN sync_cap SET DEFAULT 1, ALTER COLUMN sync_cap SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE agents ALTER COLUMN async_cap SET DEFAULT 8, ALTER COLUMN async_cap SET NOT NULL`);
    await queryRunner.query(`DROP TABLE queues`);
  }
}
