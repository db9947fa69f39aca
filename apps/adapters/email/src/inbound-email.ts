/**
 * One received email as the customer message the kit publishes, the same for SMTP and Mailgun:
 * the Message-ID (or a hash of the raw message) is the dedupe key, the thread key comes from
 * threading.ts, and attachments are described, never carried.
 */
import { createHash } from 'node:crypto';
import type { WebhookOutcome } from '@app/channel-kit';
import { providerId, threadKey } from './threading';

export type CustomerMessage = NonNullable<WebhookOutcome['messages']>[number];

export interface ReceivedEmail {
  /** The whole message as received, for the dedupe hash when it has no Message-ID. */
  raw: Buffer | string;
  messageId?: string;
  inReplyTo: string[];
  references: string[];
  recipients: string[];
  from: { address: string; name?: string };
  subject?: string;
  text?: string;
  attachments: Array<{ contentType: string; size?: number; filename?: string }>;
  date?: Date;
}

/** A message we will never accept, however often it is sent (an SMTP 550, a Mailgun 406). */
export class UnacceptableEmail extends Error {}

const MAX_TEXT = 65_536;
const MAX_ATTACHMENTS = 50;

export function customerMessage(email: ReceivedEmail, domain: string): CustomerMessage {
  const address = email.from.address.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(address) || address.length > 512) throw new UnacceptableEmail('the message has no valid From address');
  const text = email.text?.trim().slice(0, MAX_TEXT);
  const attachments = email.attachments.slice(0, MAX_ATTACHMENTS).map((attachment) => ({
    contentType: attachment.contentType.slice(0, 255) || 'application/octet-stream',
    ...(attachment.size !== undefined ? { size: attachment.size } : {}),
    ...(attachment.filename ? { filename: attachment.filename.slice(0, 1024) } : {}),
  }));
  if (!text && attachments.length === 0) throw new UnacceptableEmail('the message has neither text nor attachments');
  const messageId = email.messageId ? providerId(email.messageId) : `sha256:${createHash('sha256').update(email.raw).digest('hex')}`;
  const accountId = email.recipients[0]?.toLowerCase().slice(0, 512);
  const name = email.from.name?.trim().slice(0, 512);
  const date = email.date && !Number.isNaN(email.date.getTime()) ? email.date.toISOString() : undefined;
  return {
    provider: {
      messageId,
      threadId: threadKey({ messageId, inReplyTo: email.inReplyTo, references: email.references, recipients: email.recipients }, domain),
      ...(accountId ? { accountId } : {}),
    },
    customer: { address, ...(name ? { displayName: name } : {}) },
    content: { ...(text ? { text } : {}), attachments },
    ...(date ? { providerTimestamp: date } : {}),
    attributes: email.subject ? { subject: email.subject.slice(0, 4096) } : {},
  };
}
