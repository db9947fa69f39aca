/**
 * The Slack adapter (Events API) as a process beside the router, against real RabbitMQ and
 * Postgres: signed events become envelopes (a thread is one conversation), url_verification is
 * answered, bad or stale signatures publish nothing (S1), a retried event is stored once, bot and
 * subtype messages are dropped, and replies go to a local chat.postMessage that checks token and
 * payload (500 and ratelimited retried, ok:false failed with Slack's error, never sent twice).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { EXCHANGES, routingKeys } from '@app/contracts';
import { adapterHarness, agentReplyPayload, expectClearRefusal, expectStoredOnce, FakeSlack, statusesFor, waitFor, waitForStatus } from '@app/testing';

const SIGNING_SECRET = randomBytes(16).toString('hex');
const BOT_TOKEN = `xoxb-${randomBytes(6).toString('hex')}-${randomBytes(12).toString('hex')}`;
const TEAM = 'T0123ABCD';
const BOT_USER = 'U0BOTUSER';

/** Slack's request signature, written from its documentation (not the adapter's code). */
function sign(timestamp: string, body: string, secret = SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

const now = () => String(Math.floor(Date.now() / 1000));
const eventId = () => `Ev${randomBytes(5).toString('hex').toUpperCase()}`;
const slackTs = () => `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
const userId = () => `U${randomBytes(5).toString('hex').toUpperCase()}`;

describe('slack adapter (process)', () => {
  const harness = adapterHarness({
    app: 'adapters/slack',
    provider: () => FakeSlack.start(BOT_TOKEN),
    env: (slack) => ({ SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_API_BASE_URL: slack.url }),
  });
  const { pool } = harness;

  interface DeliverOptions {
    /** null leaves the signature header out. */
    signature?: string | null;
    timestamp?: string | null;
    secret?: string;
    /** Sent instead of the signed body. */
    body?: string;
    headers?: Record<string, string>;
  }

  /** What Slack POSTs to the Request URL: JSON, signed over "v0:<timestamp>:<raw body>". */
  function deliver(payload: unknown, options: DeliverOptions = {}) {
    const signed = JSON.stringify(payload);
    const timestamp = options.timestamp === undefined ? now() : options.timestamp;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (timestamp !== null) headers['x-slack-request-timestamp'] = timestamp;
    const signature = options.signature === undefined ? sign(timestamp ?? '', signed, options.secret) : options.signature;
    if (signature !== null) headers['x-slack-signature'] = signature;
    return fetch(`${harness.base}/slack/events`, { method: 'POST', headers, body: options.body ?? signed });
  }

  function messageEvent(event: Record<string, unknown> = {}, id = eventId()) {
    const ts = slackTs();
    return {
      token: 'deprecated-verification-token',
      team_id: TEAM,
      api_app_id: 'A0APP',
      type: 'event_callback',
      event_id: id,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ enterprise_id: null, team_id: TEAM, user_id: BOT_USER, is_bot: true, is_enterprise_install: false }],
      event: { type: 'message', channel: 'C0SUPPORT', channel_type: 'channel', user: userId(), text: 'My order never came', ts, event_ts: ts, ...event },
    };
  }

  it('url_verification is answered with the challenge', async () => {
    const challenge = randomBytes(20).toString('base64url');
    const response = await deliver({ token: 'x', challenge, type: 'url_verification' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual({ challenge });
  });

  it('a signed message event becomes the expected envelope; a thread reply keeps the thread root as thread id', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('slack'));
    const root = messageEvent();
    const response = await deliver(root);
    expect(response.status).toBe(200);
    const [published] = await envelopes.waitForCount(1, 'the envelope');
    expect(published!.body).toMatchObject({
      version: 1,
      channel: 'slack',
      direction: 'inbound',
      tenantId: 'default',
      provider: { messageId: root.event_id, threadId: `C0SUPPORT:${root.event.ts}`, accountId: TEAM },
      customer: { address: root.event.user },
      content: { text: 'My order never came', attachments: [] },
      attributes: { slackChannel: 'C0SUPPORT', ts: root.event.ts },
    });

    const threaded = messageEvent({ user: root.event.user, text: 'any news?', thread_ts: root.event.ts });
    expect((await deliver(threaded)).status).toBe(200);
    const [, second] = await envelopes.waitForCount(2, 'the thread reply');
    expect(second!.body).toMatchObject({
      provider: { messageId: threaded.event_id, threadId: `C0SUPPORT:${root.event.ts}` },
      attributes: { ts: threaded.event.ts },
    });
  });

  it('S1: tampered byte, wrong secret, missing header, wrong length, stale timestamp → 401/403 with a clear body, nothing published', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('slack'));
    const payload = messageEvent();
    const body = JSON.stringify(payload);
    const stale = String(Math.floor(Date.now() / 1000) - 301);
    const cases: Array<[string, Response, number]> = [
      ['tampered byte', await deliver(payload, { body: body.replace('never came', 'never camf') }), 403],
      ['wrong secret', await deliver(payload, { secret: randomBytes(16).toString('hex') }), 403],
      ['missing signature', await deliver(payload, { signature: null }), 401],
      ['missing timestamp', await deliver(payload, { timestamp: null, signature: sign(now(), body) }), 401],
      ['wrong length', await deliver(payload, { signature: 'v0=abcdef' }), 403],
      ['stale timestamp', await deliver(payload, { timestamp: stale }), 401],
      ['future timestamp', await deliver(payload, { timestamp: String(Math.floor(Date.now() / 1000) + 301) }), 401],
    ];
    for (const [name, response, status] of cases) {
      expect(response.headers.get('content-type')).toContain('application/json');
      const { error } = await expectClearRefusal(name, response, status);
      if (name.endsWith('timestamp') && name !== 'missing timestamp') expect(error.code).toBe('stale_timestamp');
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  it('an event delivered again with X-Slack-Retry-Num is stored once', async () => {
    const payload = messageEvent({ text: 'retried by Slack' });
    expect((await deliver(payload)).status).toBe(200);
    for (const retry of ['1', '2']) {
      expect((await deliver(payload, { headers: { 'x-slack-retry-num': retry, 'x-slack-retry-reason': 'http_timeout' } })).status).toBe(200);
    }
    await expectStoredOnce(pool, payload.event_id, 'slack');
  });

  it('bot messages, subtypes, the app\'s own messages and other events are acknowledged and publish nothing', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('slack'));
    const ignored = [
      messageEvent({ bot_id: 'B0OTHER', text: 'beep' }),
      messageEvent({ subtype: 'bot_message', bot_id: 'B0OTHER', user: undefined, username: 'otherbot' }),
      messageEvent({ subtype: 'message_changed', user: undefined, message: { type: 'message', user: 'U0X', text: 'edited', ts: slackTs() } }),
      messageEvent({ subtype: 'channel_join', text: '<@U0X> has joined the channel' }),
      messageEvent({ user: BOT_USER, text: 'our own reply' }),
      messageEvent({ type: 'app_mention', text: '<@U0BOTUSER> hi' }),
    ];
    for (const payload of ignored) expect((await deliver(payload)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  const reply = (text: string, threadId: string) => agentReplyPayload('slack', { to: { address: 'U0CUSTOMER', threadId }, text });

  it('outbound: chat.postMessage into the thread, a 500 and a rate limit retried, a redelivered reply not sent twice', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('slack'));
    harness.provider.script.push({ status: 500 }, { status: 429, retryAfterS: 1 });
    const text = `on its way ${randomUUID()}`;
    const retried = reply(text, 'C0SUPPORT:1760000000.000100');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('slack'), retried);
    const sent = await waitForStatus(statuses, retried.messageId, 'sent status');
    const calls = harness.provider.calls.filter((call) => call.text === text);
    expect(calls.map((call) => [call.channel, call.threadTs, call.answered])).toEqual([
      ['C0SUPPORT', '1760000000.000100', 500],
      ['C0SUPPORT', '1760000000.000100', 429],
      ['C0SUPPORT', '1760000000.000100', 200],
    ]);
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(950);
    expect(sent).toMatchObject({ status: 'sent', channel: 'slack', providerMessageId: expect.stringMatching(/^C0SUPPORT:\d+\.\d{6}$/) });

    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('slack'), retried);
    await waitFor(() => statusesFor(statuses, retried.messageId).length === 2, 'the redelivery acknowledged');
    expect(harness.provider.calls.filter((call) => call.text === text)).toHaveLength(3);
  });

  it('outbound: ok:false (channel_not_found, not_in_channel) becomes a failed delivery with Slack\'s error, not retried', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('slack'));
    for (const error of ['channel_not_found', 'not_in_channel']) {
      harness.provider.script.push({ error });
      const text = `refused ${randomUUID()}`;
      const refused = reply(text, 'C0GONE:1760000000.000200');
      await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('slack'), refused);
      const failed = await waitForStatus(statuses, refused.messageId, `failed status (${error})`);
      expect(failed).toMatchObject({ status: 'failed', reason: expect.stringContaining(error) });
      expect(harness.provider.calls.filter((call) => call.text === text)).toHaveLength(1);
    }
  });

  it('outbound: ok:false ratelimited is retried like a 429', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('slack'));
    harness.provider.script.push({ error: 'ratelimited' });
    const text = `later ${randomUUID()}`;
    const limited = reply(text, 'C0SUPPORT:1760000000.000300');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('slack'), limited);
    const sent = await waitForStatus(statuses, limited.messageId, 'sent status');
    expect(sent).toMatchObject({ status: 'sent' });
    expect(harness.provider.calls.filter((call) => call.text === text).map((call) => call.error ?? 'ok')).toEqual(['ratelimited', 'ok']);
  });
});
