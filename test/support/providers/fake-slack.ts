/**
 * A local stand-in for Slack's chat.postMessage that checks requests the way Slack does (a Bearer
 * bot token, a JSON body with channel and text) and answers like Slack: HTTP 200 with `{ok:false,
 * error}` for refusals, 429 with Retry-After when rate limited, scripted 5xx for outages.
 */
import { FakeHttpProvider, parseJson, retryAfterHeader, type ProviderRequest, type Reply } from './fake-http-provider';

export interface SlackCall {
  channel: string;
  text: string;
  threadTs?: string;
  /** The HTTP status answered and, for refusals, Slack's error code. */
  answered: number;
  error?: string;
  at: number;
}

export interface SlackScriptedAnswer {
  /** HTTP status; 200 with `error` is a Slack refusal. */
  status?: number;
  error?: string;
  retryAfterS?: number;
}

/** Scripted answers: when empty, ok with a new ts. */
export class FakeSlack extends FakeHttpProvider<SlackScriptedAnswer> {
  readonly calls: SlackCall[] = [];
  private sequence = 0;

  private constructor(private readonly botToken: string) {
    super('application/json; charset=utf-8');
  }

  static start(botToken: string): Promise<FakeSlack> {
    return new FakeSlack(botToken).listen();
  }

  protected handle(request: ProviderRequest, reply: Reply): void {
    if (request.method !== 'POST' || request.url !== '/chat.postMessage') return reply(404, { ok: false, error: 'unknown_method' });
    const authorization = request.headers.authorization;
    if (!authorization) return reply(200, { ok: false, error: 'not_authed' });
    if (authorization !== `Bearer ${this.botToken}`) return reply(200, { ok: false, error: 'invalid_auth' });
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) return reply(200, { ok: false, error: 'invalid_form_data' });
    const body = parseJson(request.body) as { channel?: unknown; text?: unknown; thread_ts?: unknown } | undefined;
    if (body === undefined) return reply(200, { ok: false, error: 'invalid_json' });
    if (typeof body.channel !== 'string' || body.channel === '') return reply(200, { ok: false, error: 'channel_not_found' });
    if (typeof body.text !== 'string' || body.text === '') return reply(200, { ok: false, error: 'no_text' });
    const next = this.script.shift() ?? {};
    const status = next.status ?? 200;
    this.calls.push({
      channel: body.channel,
      text: body.text,
      threadTs: typeof body.thread_ts === 'string' ? body.thread_ts : undefined,
      answered: status,
      error: next.error,
      at: Date.now(),
    });
    const headers = retryAfterHeader(next.retryAfterS);
    if (status !== 200) return reply(status, { ok: false, error: next.error ?? (status === 429 ? 'ratelimited' : 'internal_error') }, headers);
    if (next.error) return reply(200, { ok: false, error: next.error }, headers);
    this.sequence += 1;
    const ts = `${Math.floor(Date.now() / 1000)}.${String(this.sequence).padStart(6, '0')}`;
    return reply(200, { ok: true, channel: body.channel, ts, message: { type: 'message', text: body.text, ts, ...(body.thread_ts ? { thread_ts: body.thread_ts } : {}) } });
  }
}
