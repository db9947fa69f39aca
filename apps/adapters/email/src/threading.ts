/**
 * Email threading: which conversation an email belongs to, as the key the router continues an open
 * conversation by (`provider.threadId`, matched per customer identity). The router fixes a
 * conversation's key from its first message, so a reply must come back with that same key: our own
 * Message-IDs therefore carry the conversation id and the conversation's key (base64url), and a
 * customer's reply that names one of them gets the key back exactly. Otherwise the key is
 * `conv:<conversationId>` from a plus-address we handed out, or `msg:<root Message-ID>` of the thread.
 */
import { createHash } from 'node:crypto';

/** The envelope's limit on provider ids; longer Message-IDs are replaced by their hash. */
const MAX_ID = 500;
/** Keys stay short so that our Message-IDs, which carry them, fit a delivery status (256 characters). */
const MAX_KEY_ID = 80;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

export interface ThreadHeaders {
  /** Message-IDs without angle brackets; the message's own is its provider id (a hash when it has none). */
  messageId: string;
  inReplyTo: string[];
  /** Oldest first, as in the header. */
  references: string[];
  /** Every address the message was sent to (envelope recipients, To, Cc), any case. */
  recipients: string[];
}

/** `<a@b> <c@d>` or a parsed list → bare ids, in order. */
export function messageIds(value: string | string[] | undefined): string[] {
  const values = Array.isArray(value) ? value : value ? [value] : [];
  return values
    .flatMap((item) => item.match(/<[^<>\s]+>/g) ?? item.split(/\s+/))
    .map((item) => item.replace(/^<|>$/g, '').trim())
    .filter((item) => item.length > 0);
}

/** A Message-ID as a provider id that fits the envelope. */
export function providerId(id: string): string {
  return id.length <= MAX_ID ? id : `sha256:${createHash('sha256').update(id).digest('hex')}`;
}

function rootKey(id: string): string {
  return id.length <= MAX_KEY_ID ? `msg:${id}` : `msg:sha256:${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

export function ourMessageId(domain: string, itemId: string, conversationId: string, threadKey?: string): string {
  const key = threadKey ? `.${Buffer.from(threadKey, 'utf8').toString('base64url')}` : '';
  return `reply.${itemId}.${conversationId}${key}@${domain}`;
}

export function plusAddress(domain: string, conversationId: string): string {
  return `support+${conversationId}@${domain}`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The conversation key carried by one of our Message-IDs, or undefined when the id is not ours. */
export function keyFromOurMessageId(id: string, domain: string): string | undefined {
  const match = new RegExp(`^reply\\.${UUID}\\.(${UUID})(?:\\.([A-Za-z0-9_-]+))?@${escape(domain)}$`, 'i').exec(id);
  if (!match) return undefined;
  const key = match[2] ? Buffer.from(match[2], 'base64url').toString('utf8') : '';
  // A key that does not decode to one we issue is ignored rather than trusted.
  return /^(msg|conv):\S{1,120}$/.test(key) ? key : `conv:${match[1]!.toLowerCase()}`;
}

export function threadKey(headers: ThreadHeaders, domain: string): string {
  for (const id of [...headers.inReplyTo, ...[...headers.references].reverse()]) {
    const key = keyFromOurMessageId(id, domain);
    if (key) return key;
  }
  const plus = new RegExp(`^support\\+(${UUID})@${escape(domain)}$`, 'i');
  for (const recipient of headers.recipients) {
    const match = plus.exec(recipient.trim());
    if (match) return `conv:${match[1]!.toLowerCase()}`;
  }
  return rootKey(headers.references[0] ?? headers.inReplyTo[0] ?? headers.messageId);
}
