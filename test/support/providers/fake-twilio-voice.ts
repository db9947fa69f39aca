/**
 * A local stand-in for Twilio's Calls API (live call updates) that checks requests the way Twilio
 * does — Basic auth with the account SID and auth token, the account in the path, a CallSid-shaped
 * path and a `Twiml` form field — records each update, and answers with scripted statuses, so tests
 * see retries and refusals as the adapter would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface TwilioCallUpdate {
  callSid: string;
  twiml: string;
  answered: number;
}

const CALL_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Calls\/(CA[0-9a-fA-F]{32})\.json$/;

export class FakeTwilioVoice {
  readonly updates: TwilioCallUpdate[] = [];
  /** Statuses to answer, in order; when empty, 200 with the call. */
  readonly script: Array<{ status: number; body?: unknown; retryAfterS?: number }> = [];
  private readonly server: Server;

  private constructor(
    private readonly accountSid: string,
    private readonly authToken: string,
  ) {
    this.server = createServer((request, response) => this.handle(request, response));
  }

  static async start(accountSid: string, authToken: string): Promise<FakeTwilioVoice> {
    const fake = new FakeTwilioVoice(accountSid, authToken);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  updatesFor(callSid: string): TwilioCallUpdate[] {
    return this.updates.filter((update) => update.callSid === callSid);
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
      const path = CALL_PATH.exec(request.url ?? '');
      if (request.method !== 'POST' || !path || path[1] !== this.accountSid) {
        return reply(404, { code: 20404, message: 'The requested resource was not found' });
      }
      if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        return reply(400, { code: 20001, message: 'expected a form-encoded body' });
      }
      const twiml = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('Twiml') ?? '';
      if (!/^(<\?xml[^>]*\?>)?<Response>[\s\S]*<\/Response>$/.test(twiml) || !/<(Dial|Record)\b/.test(twiml)) {
        return reply(400, { code: 12100, message: 'Document parse failure: expected TwiML with <Dial> or <Record>' });
      }
      const next = this.script.shift() ?? { status: 200 };
      this.updates.push({ callSid: path[2]!, twiml, answered: next.status });
      if (next.status === 200) return reply(200, { sid: path[2], account_sid: this.accountSid, status: 'in-progress' });
      return reply(next.status, next.body ?? { code: 0, message: 'scripted failure' }, next.retryAfterS ? { 'retry-after': String(next.retryAfterS) } : {});
    });
  }
}
