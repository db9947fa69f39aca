/**
 * Receives email over SMTP. The sending server is answered 250 only once the message is confirmed
 * by the broker; a broker that does not confirm gets 451 so the sender keeps the message and
 * retries, a message we can never accept gets 550 (a bounce), one over the advertised SIZE gets 552.
 */
import { Logger } from '@nestjs/common';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { customerMessage, UnacceptableEmail, type CustomerMessage } from './inbound-email';
import { messageIds } from './threading';

export interface SmtpInboundOptions {
  host: string;
  port: number;
  maxBytes: number;
  domain: string;
  tls?: { key: Buffer; cert: Buffer };
  ingest(message: CustomerMessage): Promise<void>;
}

class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  return (Array.isArray(field) ? field : field ? [field] : []).flatMap((group) => group.value.map((item) => item.address ?? ''));
}

function received(raw: Buffer, parsed: ParsedMail, session: SMTPServerSession, domain: string): CustomerMessage {
  const from = parsed.from?.value[0];
  return customerMessage(
    {
      raw,
      messageId: messageIds(parsed.messageId)[0],
      inReplyTo: messageIds(parsed.inReplyTo),
      references: messageIds(parsed.references),
      recipients: [...session.envelope.rcptTo.map((item) => item.address), ...addresses(parsed.to), ...addresses(parsed.cc)].filter(Boolean),
      from: { address: from?.address ?? '', name: from?.name },
      subject: parsed.subject,
      text: parsed.text,
      attachments: parsed.attachments.map((item) => ({ contentType: item.contentType, size: item.size, filename: item.filename })),
      date: parsed.date,
    },
    domain,
  );
}

export class SmtpInbound {
  private readonly logger = new Logger(SmtpInbound.name);
  private readonly server: SMTPServer;

  constructor(private readonly options: SmtpInboundOptions) {
    this.server = new SMTPServer({
      name: options.domain,
      size: options.maxBytes,
      authOptional: true,
      disabledCommands: options.tls ? [] : ['STARTTLS'],
      ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
      logger: false,
      // Idle connections are closed after this on shutdown, well inside the service's drain deadline.
      closeTimeout: 5_000,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if (stream.sizeExceeded) {
            callback(new SmtpReply(552, `message exceeds the fixed maximum message size of ${options.maxBytes} bytes`));
            return;
          }
          this.accept(Buffer.concat(chunks), session).then(
            () => callback(null, 'queued'),
            (error: SmtpReply) => callback(error),
          );
        });
      },
    });
    this.server.on('error', (error) => this.logger.warn({ err: error.message }, 'SMTP connection error'));
  }

  private async accept(raw: Buffer, session: SMTPServerSession): Promise<void> {
    let message: CustomerMessage;
    try {
      message = received(raw, await simpleParser(raw), session, this.options.domain);
    } catch (error) {
      const reason = error instanceof UnacceptableEmail ? error.message : 'the message could not be parsed';
      this.logger.warn({ reason }, 'email refused');
      throw new SmtpReply(550, reason);
    }
    try {
      await this.options.ingest(message);
    } catch (error) {
      this.logger.error({ err: (error as Error).message }, 'email not queued; the sender will retry');
      throw new SmtpReply(451, 'the message could not be queued; try again later');
    }
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.server.off('error', reject);
        resolve();
      });
    });
    this.logger.log({ host: this.options.host, port: this.options.port }, 'SMTP listening');
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
