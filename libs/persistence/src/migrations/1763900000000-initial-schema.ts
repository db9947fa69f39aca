/**
 * Customers, their channel identities, conversations, messages, agents, assignments and the
 * transactional outbox. The schema carries the invariants that must hold across router replicas:
 *   - one open conversation per identity and thread            (conversations_open_thread_uq)
 *   - a provider message is stored once per tenant and channel  (messages_provider_uq)
 *   - a conversation has at most one live assignment — I1       (assignments_one_live_uq)
 *   - an assigned conversation names its agent and vice versa   (conversations_assignee_ck)
 *   - capacity counters never go negative; caps are enforced by conditional updates on them.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1763900000000 implements MigrationInterface {
  name = 'InitialSchema1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE customers (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        external_id text,
        display_name text,
        attributes jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX customers_external_uq ON customers (tenant_id, external_id) WHERE external_id IS NOT NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE channel_identities (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        customer_id uuid NOT NULL REFERENCES customers (id),
        channel text NOT NULL,
        address text NOT NULL,
        display_name text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT channel_identities_address_uq UNIQUE (tenant_id, channel, address)
      )`);
    await queryRunner.query(`CREATE INDEX channel_identities_customer_idx ON channel_identities (customer_id)`);
    await queryRunner.query(`
      CREATE TABLE agents (
        id text PRIMARY KEY CONSTRAINT agents_id_format_ck CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
        tenant_id text NOT NULL,
        name text NOT NULL,
        skills text[] NOT NULL DEFAULT '{}',
        attributes jsonb NOT NULL DEFAULT '{}',
        presence text NOT NULL DEFAULT 'offline' CONSTRAINT agents_presence_ck CHECK (presence IN ('online', 'away', 'offline')),
        sync_cap integer NOT NULL DEFAULT 1 CONSTRAINT agents_sync_cap_ck CHECK (sync_cap >= 0),
        async_cap integer NOT NULL DEFAULT 8 CONSTRAINT agents_async_cap_ck CHECK (async_cap >= 0),
        active_sync integer NOT NULL DEFAULT 0 CONSTRAINT agents_active_sync_ck CHECK (active_sync >= 0),
        active_async integer NOT NULL DEFAULT 0 CONSTRAINT agents_active_async_ck CHECK (active_async >= 0),
        last_assigned_at timestamptz,
        presence_changed_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX agents_online_idle_idx ON agents (tenant_id, last_assigned_at NULLS FIRST) WHERE presence = 'online'`,
    );
    await queryRunner.query(`
      CREATE TABLE conversations (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        customer_id uuid NOT NULL REFERENCES customers (id),
        identity_id uuid NOT NULL REFERENCES channel_identities (id),
        channel text NOT NULL,
        thread_key text NOT NULL DEFAULT '',
        mode text NOT NULL CONSTRAINT conversations_mode_ck CHECK (mode IN ('sync', 'async')),
        status text NOT NULL CONSTRAINT conversations_status_ck CHECK (status IN ('queued', 'assigned', 'closed')),
        priority integer NOT NULL DEFAULT 0,
        assigned_agent_id text REFERENCES agents (id),
        queued_at timestamptz,
        last_message_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        closed_at timestamptz,
        CONSTRAINT conversations_assignee_ck CHECK ((status = 'assigned') = (assigned_agent_id IS NOT NULL))
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX conversations_open_thread_uq ON conversations (identity_id, thread_key) WHERE status <> 'closed'`,
    );
    await queryRunner.query(
      `CREATE INDEX conversations_waiting_idx ON conversations (tenant_id, priority DESC, queued_at) WHERE status = 'queued'`,
    );
    await queryRunner.query(`CREATE INDEX conversations_customer_idx ON conversations (customer_id, created_at DESC)`);
    await queryRunner.query(`
      CREATE TABLE messages (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        conversation_id uuid NOT NULL REFERENCES conversations (id),
        channel text NOT NULL,
        direction text NOT NULL CONSTRAINT messages_direction_ck CHECK (direction IN ('inbound', 'outbound')),
        sender text NOT NULL CONSTRAINT messages_sender_ck CHECK (sender IN ('customer', 'agent', 'bot', 'system')),
        provider_message_id text NOT NULL,
        provider_thread_id text,
        body text,
        attachments jsonb NOT NULL DEFAULT '[]',
        attributes jsonb NOT NULL DEFAULT '{}',
        priority integer NOT NULL DEFAULT 0,
        provider_timestamp timestamptz,
        received_at timestamptz NOT NULL,
        correlation_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT messages_provider_uq UNIQUE (tenant_id, channel, provider_message_id)
      )`);
    await queryRunner.query(`CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at)`);
    await queryRunner.query(`
      CREATE TABLE assignments (
        id bigserial PRIMARY KEY,
        conversation_id uuid NOT NULL REFERENCES conversations (id),
        agent_id text NOT NULL REFERENCES agents (id),
        mode text NOT NULL CONSTRAINT assignments_mode_ck CHECK (mode IN ('sync', 'async')),
        state text NOT NULL CONSTRAINT assignments_state_ck CHECK (state IN ('offered', 'active', 'ended')),
        created_at timestamptz NOT NULL DEFAULT now(),
        ended_at timestamptz,
        end_reason text
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX assignments_one_live_uq ON assignments (conversation_id) WHERE state <> 'ended'`,
    );
    await queryRunner.query(`CREATE INDEX assignments_agent_live_idx ON assignments (agent_id) WHERE state <> 'ended'`);
    await queryRunner.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        message_id uuid NOT NULL,
        exchange text NOT NULL,
        routing_key text NOT NULL,
        payload jsonb NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['outbox', 'assignments', 'messages', 'conversations', 'agents', 'channel_identities', 'customers']) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
