/**
 * When a waiting customer is next due a notice. Each notice sets it from what it promised: a live
 * customer's position again after the queue's notice interval, a messaging customer's expected reply
 * once that time has passed, an after-hours notice at the reopening. So a closed queue says "we are
 * closed" once instead of every interval, and a thread that outlives its promise hears so.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class NoticeSchedule1763970000000 implements MigrationInterface {
  name = 'NoticeSchedule1763970000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE conversations ADD COLUMN next_notice_at timestamptz`);
    await queryRunner.query(`
      UPDATE conversations c
         SET next_notice_at = COALESCE(c.last_notice_at, c.queue_entered_at, c.queued_at)
               + make_interval(secs => CASE WHEN c.mode = 'sync' THEN q.notice_interval_s
                                            ELSE GREATEST(q.notice_interval_s, q.expected_reply_s) END)
        FROM queues q
       WHERE q.tenant_id = c.tenant_id AND q.id = c.queue_id AND c.status = 'queued'`);
    await queryRunner.query(`CREATE INDEX conversations_next_notice_idx ON conversations (next_notice_at) WHERE status = 'queued'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX conversations_next_notice_idx`);
    await queryRunner.query(`ALTER TABLE conversations DROP COLUMN next_notice_at`);
  }
}
