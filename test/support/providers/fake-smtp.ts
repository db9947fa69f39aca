/**
 * A local stand-in for an outbound SMTP relay: requires AUTH PLAIN (or LOGIN) with the given
 * credentials, records every accepted message parsed with mailparser, and answers scripted reply
 * codes (451, 550…) for the next messages, so tests see retries and bounces as the adapter would.
 */
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SmtpMessage {
  envelopeTo: string[];
  headers: Map<string, unknown>;
  messageId?: string;
  inReplyTo?: string;
  references?: string | string[];
  replyTo?: string;
  subject?: string;
  text?: string;
}

export class FakeSmtp {
  readonly messages: SmtpMessage[] = [];
  /** Every DATA answer, in order: 250 or the scripted code. */
  readonly answers: number[] = [];
  /** Reply codes for the next messages, in order; when empty, 250. */
  readonly script: Array<{ code: number; message?: string }> = [];
  private readonly server: SMTPServer;

  private constructor(
    readonly user: string,
    readonly password: string,
  ) {
    this.server = new SMTPServer({
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (auth, _session, callback) => {
        if (auth.username === this.user && auth.password === this.password) callback(null, { user: auth.username });
        else callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const next = this.script.shift();
          if (next) {
            this.answers.push(next.code);
            callback(Object.assign(new Error(next.message ?? 'scripted failure'), { responseCode: next.code }));
            return;
          }
          void simpleParser(Buffer.concat(chunks)).then((parsed) => {
            this.answers.push(250);
            this.messages.push({
              envelopeTo: session.envelope.rcptTo.map((item) => item.address),
              headers: parsed.headers,
              messageId: parsed.messageId,
              inReplyTo: parsed.inReplyTo,
              references: parsed.references,
              replyTo: parsed.replyTo?.text,
              subject: parsed.subject,
              text: parsed.text,
            });
            callback();
          }, callback);
        });
      },
    });
    // A client killed mid-session (the adapter under kill -9) resets its connection: expected, not a test failure.
    this.server.on('error', () => undefined);
  }

  static async start(user = 'relay-user', password = 'relay-password'): Promise<FakeSmtp> {
    const fake = new FakeSmtp(user, password);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    const address = this.server.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** The SMTP_OUT_URL for this relay, with credentials. */
  url(user = this.user, password = this.password): string {
    return `smtp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
