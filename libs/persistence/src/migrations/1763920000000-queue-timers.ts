/**
 * What the queue timers need: when an item entered its current queue (max wait is measured from
 * there, so an overflow hop starts a fresh wait), when the customer was last told where they stand,
 * and an index for finding items past their max wait.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class QueueTimers1763920000000 implements MigrationInterface {
  name = 'QueueTimers1763920000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE conversations
        ADD COLUMN queue_entered_at timestamptz,
        ADD COLUMN last_notice_at timestamptz`);
    await queryRunner.query(`UPDATE conversations SET queue_entered_at = queued_at WHERE status = 'queued'`);
    await queryRunner.query(
      `CREATE INDEX conversations_queue_entered_idx ON conversations (queue_entered_at) WHERE status = 'queued'`,
    );
    await queryRunner.query(`ALTER TABLE queues ADD COLUMN notice_interval_s integer NOT NULL DEFAULT 60
      CONSTRAINT queues_notice_interval_ck CHECK (notice_interval_s > 0)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE queues DROP COLUMN notice_interval_s`);
    await queryRunner.query(`DROP INDEX conversations_queue_entered_idx`);
    await queryRunner.query(`ALTER TABLE conversations DROP COLUMN last_notice_at, DROP COLUMN queue_entered_at`);
  }
}
