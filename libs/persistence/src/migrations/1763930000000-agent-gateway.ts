/**
 * What the agent gateway needs:
 *   - agent replies and internal notes are messages: a reply is idempotent on the agent's client id,
 *     and carries a delivery status that only moves forward (queued → sent → delivered → read; failed);
 *     the id a provider gives a sent reply is kept so its status callbacks find the message;
 *   - an agent event journal, so a desktop that reconnects is replayed what it missed.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AgentGateway1763930000000 implements MigrationInterface {
  name = 'AgentGateway1763930000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE messages DROP CONSTRAINT messages_direction_ck`);
    await queryRunner.query(`
      ALTER TABLE messages
        ADD CONSTRAINT messages_direction_ck CHECK (direction IN ('inbound', 'outbound', 'internal')),
        ADD COLUMN author_agent_id text REFERENCES agents (id),
        ADD COLUMN client_message_id text,
        ADD COLUMN provider_ref text,
        ADD COLUMN delivery_status text CONSTRAINT messages_delivery_status_ck
          CHECK (delivery_status IN ('queued', 'sent', 'delivered', 'read', 'failed')),
        ADD COLUMN delivery_reason text,
        ADD COLUMN delivery_updated_at timestamptz`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX messages_client_id_uq ON messages (conversation_id, author_agent_id, client_message_id)
        WHERE client_message_id IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX messages_provider_ref_idx ON messages (tenant_id, channel, provider_ref) WHERE provider_ref IS NOT NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE agent_events (
        seq bigserial PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        tenant_id text NOT NULL,
        agent_id text NOT NULL,
        type text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX agent_events_agent_idx ON agent_events (agent_id, seq)`);
    await queryRunner.query(`CREATE INDEX agent_events_created_idx ON agent_events (created_at)`);
    await queryRunner.query(`CREATE INDEX assignments_agent_history_idx ON assignments (agent_id, conversation_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX assignments_agent_history_idx`);
    await queryRunner.query(`DROP TABLE agent_events`);
    await queryRunner.query(`DELETE FROM messages WHERE direction = 'internal'`);
    await queryRunner.query(`DROP INDEX messages_provider_ref_idx`);
    await queryRunner.query(`DROP INDEX messages_client_id_uq`);
    await queryRunner.query(`
      ALTER TABLE messages
        DROP COLUMN delivery_updated_at, DROP COLUMN delivery_reason, DROP COLUMN delivery_status,
        DROP COLUMN provider_ref, DROP COLUMN client_message_id, DROP COLUMN author_agent_id,
        DROP CONSTRAINT messages_direction_ck`);
    await queryRunner.query(
      `ALTER TABLE messages ADD CONSTRAINT messages_direction_ck CHECK (direction IN ('inbound', 'outbound'))`,
    );
  }
}
