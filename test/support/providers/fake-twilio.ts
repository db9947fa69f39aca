/**
 * A local stand-in for Twilio's Messages API that checks requests the way Twilio does (Basic auth
 * with the account SID and auth token, the account in the path, To/Body and a sender present) and
 * answers with scripted statuses, so tests see retries and refusals as the adapter would.
 */
import { randomBytes } from 'node:crypto';
import { FakeHttpProvider, retryAfterHeader, type ProviderRequest, type Reply } from './fake-http-provider';

export interface TwilioCall {
  to: string;
  body: string;
  from?: string;
  statusCallback?: string;
  answered: number;
}

/** A scripted answer of either Twilio fake; `body` replaces Twilio's default error object. */
export interface TwilioScriptedAnswer {
  status: number;
  body?: unknown;
  retryAfterS?: number;
}

/**
 * Twilio's checks before any resource-specific ones: Basic auth with the account's SID and token
 * (401), then the resource path (404). Answers the refusal and returns false when one applies.
 */
export function acceptedByTwilio(request: ProviderRequest, reply: Reply, account: { sid: string; token: string }, pathMatches: boolean): boolean {
  const expectedAuth = `Basic ${Buffer.from(`${account.sid}:${account.token}`).toString('base64')}`;
  if (request.headers.authorization !== expectedAuth) {
    reply(401, { code: 20003, message: 'Authenticate' });
    return false;
  }
  if (request.method !== 'POST' || !pathMatches) {
    reply(404, { code: 20404, message: 'The requested resource was not found' });
    return false;
  }
  return true;
}

/** Twilio's answer to a scripted failure. */
export function replyScriptedFailure(reply: Reply, answer: TwilioScriptedAnswer): void {
  reply(answer.status, answer.body ?? { code: 0, message: 'scripted failure' }, retryAfterHeader(answer.retryAfterS));
}

/** Scripted answers: when empty, 201 with a new SID. */
export class FakeTwilio extends FakeHttpProvider<TwilioScriptedAnswer> {
  readonly calls: TwilioCall[] = [];

  private constructor(
    private readonly accountSid: string,
    private readonly authToken: string,
  ) {
    super();
  }

  static start(accountSid: string, authToken: string): Promise<FakeTwilio> {
    return new FakeTwilio(accountSid, authToken).listen();
  }

  protected handle(request: ProviderRequest, reply: Reply): void {
    const account = { sid: this.accountSid, token: this.authToken };
    if (!acceptedByTwilio(request, reply, account, request.url === `/2010-04-01/Accounts/${this.accountSid}/Messages.json`)) return;
    const form = new URLSearchParams(request.body);
    const to = form.get('To');
    const body = form.get('Body');
    if (!to || !body || !(form.get('From') || form.get('MessagingServiceSid'))) {
      return reply(400, { code: 21604, message: "A 'To', 'Body' and sender are required" });
    }
    const next = this.script.shift() ?? { status: 201 };
    this.calls.push({ to, body, from: form.get('From') ?? undefined, statusCallback: form.get('StatusCallback') ?? undefined, answered: next.status });
    if (next.status === 201) return reply(201, { sid: `SM${randomBytes(16).toString('hex')}`, status: 'queued' });
    replyScriptedFailure(reply, next);
  }
}
