/**
 * A local stand-in for Twilio's Calls API (live call updates) that checks requests the way Twilio
 * does — Basic auth with the account SID and auth token, the account in the path, a CallSid-shaped
 * path and a `Twiml` form field — records each update, and answers with scripted statuses, so tests
 * see retries and refusals as the adapter would.
 */
import { FakeHttpProvider, type ProviderRequest, type Reply } from './fake-http-provider';
import { acceptedByTwilio, replyScriptedFailure, type TwilioScriptedAnswer } from './fake-twilio';

export interface TwilioCallUpdate {
  callSid: string;
  twiml: string;
  answered: number;
}

const CALL_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Calls\/(CA[0-9a-fA-F]{32})\.json$/;

/** Scripted answers: when empty, 200 with the call. */
export class FakeTwilioVoice extends FakeHttpProvider<TwilioScriptedAnswer> {
  readonly updates: TwilioCallUpdate[] = [];

  private constructor(
    private readonly accountSid: string,
    private readonly authToken: string,
  ) {
    super();
  }

  static start(accountSid: string, authToken: string): Promise<FakeTwilioVoice> {
    return new FakeTwilioVoice(accountSid, authToken).listen();
  }

  updatesFor(callSid: string): TwilioCallUpdate[] {
    return this.updates.filter((update) => update.callSid === callSid);
  }

  protected handle(request: ProviderRequest, reply: Reply): void {
    const path = CALL_PATH.exec(request.url ?? '');
    if (!acceptedByTwilio(request, reply, { sid: this.accountSid, token: this.authToken }, path?.[1] === this.accountSid)) return;
    const callSid = path![2]!;
    if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return reply(400, { code: 20001, message: 'expected a form-encoded body' });
    }
    const twiml = new URLSearchParams(request.body).get('Twiml') ?? '';
    if (!/^(<\?xml[^>]*\?>)?<Response>[\s\S]*<\/Response>$/.test(twiml) || !/<(Dial|Record)\b/.test(twiml)) {
      return reply(400, { code: 12100, message: 'Document parse failure: expected TwiML with <Dial> or <Record>' });
    }
    const next = this.script.shift() ?? { status: 200 };
    this.updates.push({ callSid, twiml, answered: next.status });
    if (next.status === 200) return reply(200, { sid: callSid, account_sid: this.accountSid, status: 'in-progress' });
    replyScriptedFailure(reply, next);
  }
}
