/**
 * The channel adapters' send log: one row per agent reply or customer notice an adapter was asked to
 * send, so that a redelivered outbound message is never sent twice. A row left in `sending` means a
 * process died between calling the provider and recording the answer: the outcome is unknown, and
 * the reply is reported failed (the agent may resend) rather than risk sending it again.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OutboundSends1763950000000 implements MigrationInterface {
  name = 'OutboundSends1763950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE outbound_sends (
        id uuid PRIMARY KEY,
        channel text NOT NULL,
        kind text NOT NULL CONSTRAINT outbound_sends_kind_ck CHECK (kind IN ('reply', 'notice')),
        state text NOT NULL CONSTRAINT outbound_sends_state_ck CHECK (state IN ('sending', 'sent', 'failed')),
        provider_message_id text,
        reason text,
        attempts integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE outbound_sends`);
  }
}
