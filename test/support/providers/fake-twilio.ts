/**
 * A local stand-in for Twilio's Messages API that checks requests the way Twilio does (Basic auth
 * with the account SID and auth token, the account in the path, To/Body and a sender present) and
 * answers with scripted statuses, so tests see retries and refusals as the adapter would.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface TwilioCall {
  to: string;
  body: string;
  from?: string;
  statusCallback?: string;
  answered: number;
}

export class FakeTwilio {
  readonly calls: TwilioCall[] = [];
  /** Statuses to answer, in order; when empty, 201 with a new SID. */
  readonly script: Array<{ status: number; body?: unknown; retryAfterS?: number }> = [];
  private readonly server: Server;

  private constructor(
    private readonly accountSid: string,
    private readonly authToken: string,
  ) {
    this.server = createServer((request, response) => this.handle(request, response));
  }

  static async start(accountSid: string, authToken: string): Promise<FakeTwilio> {
    const fake = new FakeTwilio(accountSid, authToken);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(body));
      };
      const expectedAuth = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
      if (request.headers.authorization !== expectedAuth) return reply(401, { code: 20003, message: 'Authenticate' });
      if (request.method !== 'POST' || request.url !== `/2010-04-01/Accounts/${this.accountSid}/Messages.json`) {
        return reply(404, { code: 20404, message: 'The requested resource was not found' });
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const to = form.get('To');
      const body = form.get('Body');
      if (!to || !body || !(form.get('From') || form.get('MessagingServiceSid'))) {
        return reply(400, { code: 21604, message: "A 'To', 'Body' and sender are required" });
      }
      const next = this.script.shift() ?? { status: 201 };
      this.calls.push({ to, body, from: form.get('From') ?? undefined, statusCallback: form.get('StatusCallback') ?? undefined, answered: next.status });
      if (next.status === 201) return reply(201, { sid: `SM${randomBytes(16).toString('hex')}`, status: 'queued' });
      return reply(next.status, next.body ?? { code: 0, message: 'scripted failure' }, next.retryAfterS ? { 'retry-after': String(next.retryAfterS) } : {});
    });
  }
}
