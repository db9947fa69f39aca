/**
 * Email: inbound over our own SMTP server (and, when a signing key is set, Mailgun's inbound
 * route), outbound through an SMTP relay with nodemailer. Every reply carries our own Message-ID,
 * derived from the reply id (a resend keeps it) and carrying the conversation, plus In-Reply-To /
 * References to the customer's last email and a plus-address Reply-To, so the customer's answer
 * threads back into the same conversation (see threading.ts).
 */
import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import { z } from 'zod';
import { envTypes } from '@app/config';
import { defineAdapter, PermanentSendFailure, TemporarySendFailure, type OutboundItem } from '@app/channel-kit';
import { mailgunRoute } from './mailgun.route';
import { SmtpInbound } from './smtp-inbound';
import { ourMessageId, plusAddress } from './threading';

const env = z.object({
  SMTP_LISTEN_PORT: envTypes.int(1, 65_535).default(2525),
  SMTP_LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
  /** Both or neither: with a certificate the SMTP server offers STARTTLS. */
  SMTP_TLS_CERT_FILE: z.string().min(1).optional(),
  SMTP_TLS_KEY_FILE: z.string().min(1).optional(),
  EMAIL_MAX_BYTES: envTypes.int(1_024, 100 * 1024 * 1024).default(10 * 1024 * 1024),
  EMAIL_DOMAIN: z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i, { error: 'expected our support domain, e.g. support.example.com' }),
  EMAIL_FROM: z.string().min(3, { error: 'expected the sender, e.g. "Support <support@support.example.com>"' }),
  SMTP_OUT_URL: envTypes.url(['smtp:', 'smtps:'], 'smtp://user:pass@smtp.example.com:587'),
  MAILGUN_SIGNING_KEY: z.string().min(8).optional(),
  MAILGUN_TOKEN_TTL_S: envTypes.int(10, 86_400).default(300),
});

/** nodemailer's error: an SMTP reply code when the server answered, a code such as ECONNECTION when it did not. */
interface SmtpError extends Error {
  responseCode?: number;
  response?: string;
}

function failure(error: SmtpError): Error {
  const code = error.responseCode;
  if (code !== undefined && code >= 500) return new PermanentSendFailure(`the mail server refused the message: ${error.response ?? error.message}`);
  return new TemporarySendFailure(`the mail server did not take the message: ${error.response ?? error.message}`);
}

/** Ids we stored for an email without a Message-ID are hashes, not something to reply to. */
const replyableId = (id: string | undefined) => (id && id.includes('@') ? `<${id}>` : undefined);

export const emailAdapter = defineAdapter({
  channel: 'email',
  env,
  create({ env: config, ingest }) {
    // The kit merges only the schema's shape into its own, so this cross-field rule is checked here.
    if (Boolean(config.SMTP_TLS_CERT_FILE) !== Boolean(config.SMTP_TLS_KEY_FILE)) {
      throw new Error('set both SMTP_TLS_CERT_FILE and SMTP_TLS_KEY_FILE, or neither');
    }
    const smtp = new SmtpInbound({
      host: config.SMTP_LISTEN_HOST,
      port: config.SMTP_LISTEN_PORT,
      maxBytes: config.EMAIL_MAX_BYTES,
      domain: config.EMAIL_DOMAIN,
      ...(config.SMTP_TLS_CERT_FILE && config.SMTP_TLS_KEY_FILE
        ? { tls: { cert: readFileSync(config.SMTP_TLS_CERT_FILE), key: readFileSync(config.SMTP_TLS_KEY_FILE) } }
        : {}),
      ingest: (message) => ingest({ messages: [message] }),
    });
    const transport = createTransport({
      url: config.SMTP_OUT_URL,
      connectionTimeout: config.SEND_TIMEOUT_MS,
      greetingTimeout: config.SEND_TIMEOUT_MS,
      socketTimeout: config.SEND_TIMEOUT_MS,
    });

    return {
      routes: config.MAILGUN_SIGNING_KEY
        ? [mailgunRoute({ signingKey: config.MAILGUN_SIGNING_KEY, tokenTtlSeconds: config.MAILGUN_TOKEN_TTL_S, domain: config.EMAIL_DOMAIN })]
        : [],
      start: () => smtp.start(),
      stop: async () => {
        transport.close();
        await smtp.stop();
      },

      async send(item: OutboundItem) {
        const messageId = ourMessageId(config.EMAIL_DOMAIN, item.id, item.conversationId, item.to.threadId);
        const inReplyTo = replyableId(item.to.inReplyTo);
        try {
          await transport.sendMail({
            from: config.EMAIL_FROM,
            to: item.to.address,
            replyTo: plusAddress(config.EMAIL_DOMAIN, item.conversationId),
            subject: `Your conversation with us [#${item.conversationId.slice(0, 8)}]`,
            text: item.text,
            messageId: `<${messageId}>`,
            ...(inReplyTo ? { inReplyTo, references: inReplyTo } : {}),
          });
        } catch (error) {
          throw failure(error as SmtpError);
        }
        return { providerMessageId: messageId };
      },
    };
  },
});
