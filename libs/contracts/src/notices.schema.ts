/**
 * Customer notices the router asks a channel adapter to deliver (on `outbound.<channel>`): where a
 * waiting customer stands, when to expect a reply, that the team is closed, that a live chat became
 * a message thread. `text` is a ready English rendering; adapters may localize from the fields.
 */
import { z } from 'zod';
import { CHANNELS } from './channel.constant';

export const NOTICE_KINDS = ['queue-position', 'expected-reply', 'after-hours', 'downgraded', 'reply-late'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

export const customerNoticeSchema = z.object({
  version: z.literal(1),
  type: z.literal('customer.notice'),
  noticeId: z.uuid(),
  occurredAt: z.iso.datetime({ offset: true }),
  tenantId: z.string(),
  conversationId: z.uuid(),
  channel: z.enum(CHANNELS),
  to: z.object({ address: z.string(), threadId: z.string().optional() }),
  kind: z.enum(NOTICE_KINDS),
  position: z.number().int().nonnegative().optional().describe('1 = next in line'),
  estimatedWaitS: z.number().int().nonnegative().optional(),
  expectedReplyS: z.number().int().nonnegative().optional(),
  opensAt: z.iso.datetime({ offset: true }).optional().describe('After hours: when the team is back'),
  text: z.string(),
});

export type CustomerNotice = z.output<typeof customerNoticeSchema>;
