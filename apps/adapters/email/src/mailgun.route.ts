/**
 * Mailgun's inbound route (`POST /mailgun/messages`, form-encoded or multipart). Mailgun signs
 * timestamp + token with the webhook signing key; a stale timestamp or a token already used for
 * another message is refused. Every refusal is 406, which Mailgun takes as "do not retry".
 * A token seen again with the very same body is Mailgun retrying after a failed answer (a broker
 * outage): it is processed again, and the router stores the message once.
 * Multipart bodies are read with the platform's own form parser (undici's Response.formData), so
 * no undeclared dependency is needed.
 */
import { createHash } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import { hmac, safeEqual, WebhookRejected, type WebhookRequest, type WebhookRoute } from '@app/channel-kit';
import { customerMessage, UnacceptableEmail } from './inbound-email';
import { messageIds } from './threading';

export interface MailgunOptions {
  signingKey: string;
  tokenTtlSeconds: number;
  domain: string;
  now?: () => number;
}

async function formFields(request: WebhookRequest): Promise<FormData> {
  const type = request.headers['content-type'] ?? '';
  if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(type)) {
    throw new WebhookRejected(406, 'unsupported_media_type', 'Mailgun routes post multipart/form-data or application/x-www-form-urlencoded');
  }
  try {
    return await new Response(new Uint8Array(request.rawBody), { headers: { 'content-type': type } }).formData();
  } catch {
    throw new WebhookRejected(406, 'malformed_form', 'the form body could not be parsed');
  }
}

function field(form: FormData, name: string): string | undefined {
  const value = form.get(name);
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** `message-headers` is a JSON list of [name, value] pairs; the first of a name wins. */
function headerOf(form: FormData, name: string): string | undefined {
  try {
    const headers = JSON.parse(field(form, 'message-headers') ?? '[]') as unknown;
    if (!Array.isArray(headers)) return undefined;
    const found = headers.find((pair): pair is [string, string] => Array.isArray(pair) && String(pair[0]).toLowerCase() === name.toLowerCase());
    return found ? String(found[1]) : undefined;
  } catch {
    throw new WebhookRejected(406, 'malformed_headers', 'message-headers is not a JSON list of [name, value] pairs');
  }
}

export function mailgunRoute(options: MailgunOptions): WebhookRoute {
  const now = options.now ?? Date.now;
  /** token → hash of the body it signed, until the token is too old to be accepted anyway. */
  const tokens = new Map<string, { body: string; expiresAt: number }>();

  const checkToken = (token: string, body: string) => {
    const at = now();
    for (const [key, entry] of tokens) if (entry.expiresAt <= at) tokens.delete(key);
    const seen = tokens.get(token);
    if (seen && seen.body !== body) throw new WebhookRejected(406, 'token_reused', 'this token was already used for another request');
    tokens.set(token, { body, expiresAt: at + options.tokenTtlSeconds * 1000 });
  };

  return {
    method: 'POST',
    path: '/mailgun/messages',
    async handle(request) {
      const form = await formFields(request);
      const timestamp = field(form, 'timestamp');
      const token = field(form, 'token');
      const signature = field(form, 'signature');
      if (!timestamp || !token || !signature) {
        throw new WebhookRejected(406, 'missing_signature', 'timestamp, token and signature are required');
      }
      const expected = hmac('sha256', options.signingKey, timestamp + token, 'hex');
      if (!safeEqual(expected, signature)) throw new WebhookRejected(406, 'bad_signature', 'the signature does not match timestamp and token');
      if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now() / 1000 - Number(timestamp)) > options.tokenTtlSeconds) {
        throw new WebhookRejected(406, 'stale_timestamp', `the timestamp is more than ${options.tokenTtlSeconds} s from now`);
      }
      checkToken(token, createHash('sha256').update(request.rawBody).digest('hex'));

      const fromHeader = field(form, 'from') ?? field(form, 'sender');
      const recipient = field(form, 'recipient');
      if (!fromHeader || !recipient) throw new WebhookRejected(406, 'missing_fields', 'recipient and from (or sender) are required');
      const [from] = addressparser(fromHeader, { flatten: true });
      const attachments = [...form.values()]
        .filter((value): value is File => typeof value !== 'string')
        .map((file) => ({ contentType: file.type, size: file.size, filename: file.name }));
      try {
        const message = customerMessage(
          {
            raw: request.rawBody,
            messageId: messageIds(field(form, 'Message-Id') ?? headerOf(form, 'Message-Id'))[0],
            inReplyTo: messageIds(field(form, 'In-Reply-To') ?? headerOf(form, 'In-Reply-To')),
            references: messageIds(field(form, 'References') ?? headerOf(form, 'References')),
            recipients: recipient.split(',').map((item) => item.trim()),
            from: { address: from?.address || field(form, 'sender') || '', name: from?.name },
            subject: field(form, 'subject'),
            text: field(form, 'body-plain') ?? field(form, 'stripped-text'),
            attachments,
            date: headerOf(form, 'Date') ? new Date(headerOf(form, 'Date')!) : undefined,
          },
          options.domain,
        );
        return { messages: [message], response: { status: 200, contentType: 'application/json', body: '{"status":"queued"}' } };
      } catch (error) {
        if (error instanceof UnacceptableEmail) throw new WebhookRejected(406, 'unacceptable_message', error.message);
        throw error;
      }
    },
  };
}
