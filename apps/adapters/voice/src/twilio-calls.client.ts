/**
 * Redirects a live call by replacing its TwiML through Twilio's Calls API (Basic auth, form-encoded
 * `Twiml`). 5xx, 429 and network failures are retried with backoff (or after Twilio's retry-after);
 * a 4xx is final — usually the caller already hung up — and is returned for the caller to log.
 */
export interface TwilioCallsConfig {
  accountSid: string;
  authToken: string;
  baseUrl: string;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  timeoutMs: number;
}

export type CallUpdateResult = { ok: true } | { ok: false; status: number; message: string };

export class TwilioCallsClient {
  constructor(
    private readonly config: TwilioCallsConfig,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Resolves with Twilio's refusal for a 4xx; rejects when temporary failures outlast the attempts. */
  async update(callSid: string, twiml: string): Promise<CallUpdateResult> {
    const { accountSid, authToken } = this.config;
    const url = `${this.config.baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${accountSid}/Calls/${callSid}.json`;
    for (let attempt = 1; ; attempt += 1) {
      let retryAfterMs: number | undefined;
      let failure: string;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ Twiml: twiml }),
          signal: AbortSignal.timeout(this.config.timeoutMs),
        });
        if (response.ok) return { ok: true };
        const answer = (await response.json().catch(() => ({}))) as { code?: number; message?: string };
        failure = `Twilio answered ${response.status}${answer.code ? ` (error ${answer.code})` : ''}: ${answer.message ?? ''}`;
        if (response.status !== 429 && response.status < 500) return { ok: false, status: response.status, message: failure };
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = retryAfter * 1000;
      } catch (error) {
        failure = `Twilio unreachable: ${(error as Error).message}`;
      }
      if (attempt >= this.config.maxAttempts) throw new Error(`${failure} (after ${attempt} attempts)`);
      await this.sleep(Math.min(this.config.retryMaxMs, retryAfterMs ?? this.config.retryBaseMs * 2 ** (attempt - 1)));
    }
  }
}
