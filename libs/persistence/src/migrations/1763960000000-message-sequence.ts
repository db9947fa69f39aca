/**
 * A sequence number per conversation on every message, assigned under the conversation's row lock
 * when the message is stored: a live-chat client resumes from the last number it saw, and numbers
 * never shift once given (ordering by time cannot promise that when transactions commit out of order).
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class MessageSequence1763960000000 implements MigrationInterface {
  name = 'MessageSequence1763960000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE conversations ADD COLUMN message_seq bigint NOT NULL DEFAULT 0`);
    await queryRunner.query(`ALTER TABLE messages ADD COLUMN seq bigint`);
    await queryRunner.query(`
      UPDATE messages m SET seq = numbered.seq
        FROM (SELECT id, row_number() OVER (PARTITION BY conversation_id ORDER BY created_at, id) AS seq FROM messages) numbered
       WHERE numbered.id = m.id`);
    await queryRunner.query(`
      UPDATE conversations c SET message_seq = counted.last
        FROM (SELECT conversation_id, max(seq) AS last FROM messages GROUP BY conversation_id) counted
       WHERE counted.conversation_id = c.id`);
    await queryRunner.query(`ALTER TABLE messages ALTER COLUMN seq SET NOT NULL`);
    await queryRunner.query(`CREATE UNIQUE INDEX messages_conversation_seq_uq ON messages (conversation_id, seq)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX messages_conversation_seq_uq`);
    await queryRunner.query(`ALTER TABLE messages DROP COLUMN seq`);
    await queryRunner.query(`ALTER TABLE conversations DROP COLUMN message_seq`);
  }
}
