/**
 * The SMS adapter (Twilio Messaging) as a process beside the router, against real RabbitMQ and
 * Postgres: signed webhooks become envelopes, bad signatures publish nothing (S1), duplicates are
 * stored once, replies go to a local Twilio that checks auth and payload (retried on 500, failed on
 * 400, never sent twice), status callbacks become delivery statuses, and kill -9 under retrying
 * load loses nothing (R1).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EXCHANGES, routingKeys } from '@app/contracts';
import {
  adapterHarness,
  agentReplyPayload,
  expectClearRefusal,
  expectStoredOnce,
  FakeTwilio,
  postTwilioWebhook,
  statusesFor,
  waitFor,
  waitForStatus,
  type WebhookOptions,
} from '@app/testing';

const ACCOUNT = `AC${randomBytes(16).toString('hex')}`;
const TOKEN = randomBytes(16).toString('hex');
const FROM = '+15005550006';

const sid = () => `SM${randomBytes(16).toString('hex')}`;

describe('sms adapter (process)', () => {
  const harness = adapterHarness({
    app: 'adapters/sms',
    provider: () => FakeTwilio.start(ACCOUNT, TOKEN),
    env: (twilio) => ({
      TWILIO_ACCOUNT_SID: ACCOUNT,
      TWILIO_AUTH_TOKEN: TOKEN,
      TWILIO_FROM: FROM,
      TWILIO_API_BASE_URL: twilio.url,
      PUBLIC_BASE_URL: `https://hooks.example.com/sms-gw`,
    }),
  });
  const { pool } = harness;

  /** What Twilio POSTs for an inbound SMS; signed over the public URL, as Twilio sees it. */
  const inbound = (params: Record<string, string>, options: WebhookOptions & { token?: string } = {}) =>
    postTwilioWebhook(`${harness.base}/twilio/sms`, 'https://hooks.example.com/sms-gw/twilio/sms', params, options.token ?? TOKEN, options);

  const smsParams = (overrides: Record<string, string> = {}) => ({
    MessageSid: sid(),
    AccountSid: ACCOUNT,
    From: `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`,
    To: FROM,
    Body: 'Where is my parcel?',
    NumMedia: '0',
    NumSegments: '1',
    SmsStatus: 'received',
    ...overrides,
  });

  it('a signed webhook becomes the expected envelope, answered with empty TwiML after the publish', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('sms'));
    const params = smsParams({ NumMedia: '1', MediaUrl0: 'https://api.twilio.com/media/ME1', MediaContentType0: 'image/jpeg' });
    const response = await inbound(params);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/xml');
    expect(await response.text()).toContain('<Response/>');
    const [published] = await envelopes.waitForCount(1, 'the envelope');
    expect(published.body).toMatchObject({
      version: 1,
      channel: 'sms',
      direction: 'inbound',
      tenantId: 'default',
      provider: { messageId: params.MessageSid, accountId: FROM },
      customer: { address: params.From },
      content: { text: 'Where is my parcel?', attachments: [{ contentType: 'image/jpeg', url: 'https://api.twilio.com/media/ME1' }] },
    });
  });

  it('S1: tampered byte, wrong secret, missing header, wrong length, other account → 401/403 with a clear body, nothing published', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('sms'));
    const params = smsParams();
    const body = new URLSearchParams(params).toString();
    const cases: Array<[string, Response, number]> = [
      ['tampered byte', await inbound(params, { body: body.replace('parcel', 'parcek') }), 403],
      ['wrong secret', await inbound(params, { token: 'not-the-token-at-all' }), 403],
      ['missing header', await inbound(params, { signature: null }), 401],
      ['wrong length', await inbound(params, { signature: 'c2hvcnQ=' }), 403],
      ['other account', await inbound({ ...params, AccountSid: `AC${randomBytes(16).toString('hex')}` }), 403],
    ];
    for (const [name, response, status] of cases) await expectClearRefusal(name, response, status);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  it('the same MessageSid delivered three times is stored once', async () => {
    const params = smsParams();
    for (let index = 0; index < 3; index += 1) expect((await inbound(params)).status).toBe(200);
    await expectStoredOnce(pool, params.MessageSid);
  });

  const reply = (text: string) => agentReplyPayload('sms', { to: { address: '+15557654321' }, text });

  it('outbound: a 500 is retried, a 400 becomes a failed delivery with the reason, a redelivered reply is not sent twice', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('sms'));
    harness.provider.script.push({ status: 500 }, { status: 503 });
    const retried = reply('first try fails twice');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('sms'), retried);
    const sent = await waitForStatus(statuses, retried.messageId, 'sent status');
    const sentCalls = harness.provider.calls.filter((call) => call.body === 'first try fails twice');
    expect(sentCalls.map((call) => call.answered)).toEqual([500, 503, 201]);
    expect(sentCalls[2]).toMatchObject({ to: '+15557654321', from: FROM, statusCallback: `https://hooks.example.com/sms-gw/twilio/sms/status?messageId=${retried.messageId}` });
    expect(sent).toMatchObject({ status: 'sent', channel: 'sms', providerMessageId: expect.stringMatching(/^SM[0-9a-f]{32}$/) });

    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('sms'), retried);
    await waitFor(() => statusesFor(statuses, retried.messageId).length === 2, 'the redelivery acknowledged');
    expect(harness.provider.calls.filter((call) => call.body === 'first try fails twice')).toHaveLength(3);

    harness.provider.script.push({ status: 400, body: { code: 21211, message: "The 'To' number is not a valid phone number." } });
    const refused = reply('to a bad number');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('sms'), refused);
    const failed = await waitForStatus(statuses, refused.messageId, 'failed status');
    expect(failed).toMatchObject({ status: 'failed', reason: expect.stringContaining('not a valid phone number') });
  });

  it('customer notices from the router are sent as SMS, once, without a delivery status', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('sms'));
    const notice = {
      version: 1,
      type: 'customer.notice',
      noticeId: randomUUID(),
      occurredAt: new Date().toISOString(),
      tenantId: 'default',
      conversationId: randomUUID(),
      channel: 'sms',
      to: { address: '+15551230000' },
      kind: 'expected-reply',
      expectedReplyS: 3600,
      text: 'Thanks for your message. We usually reply within an hour.',
    };
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('sms'), notice);
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('sms'), notice);
    await waitFor(() => harness.provider.calls.find((call) => call.body === notice.text), 'the notice sent');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = harness.provider.calls.filter((call) => call.body === notice.text);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ to: '+15551230000', from: FROM, statusCallback: undefined });
    expect(statuses.items).toEqual([]);
  });

  it('status callbacks: signed, mapped to delivery statuses with the reply id from the callback URL', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('sms'));
    const messageId = randomUUID();
    const url = `https://hooks.example.com/sms-gw/twilio/sms/status?messageId=${messageId}`;
    const params = { MessageSid: sid(), AccountSid: ACCOUNT, MessageStatus: 'undelivered', ErrorCode: '30003' };
    const response = await postTwilioWebhook(`${harness.base}/twilio/sms/status?messageId=${messageId}`, url, params, TOKEN);
    expect(response.status).toBe(200);
    const [status] = await statuses.waitForCount(1, 'the delivery status');
    expect(status.body).toMatchObject({ messageId, providerMessageId: params.MessageSid, status: 'failed', reason: expect.stringContaining('30003') });
  });

  it('R1: kill -9 during 1,000 webhooks whose sender retries → 0 lost, stored messages = distinct MessageSids', async () => {
    const total = Number(process.env.R1_REQUESTS ?? 1000);
    const params = Array.from({ length: total }, () => smsParams({ Body: 'r1' }));
    const senders = 20;
    let next = 0;
    let killed = false;
    const sendWithRetry = async (item: Record<string, string>) => {
      for (;;) {
        try {
          const response = await inbound(item);
          if (response.status === 200) return;
        } catch {
          // connection refused or reset while the adapter is down: retry, as Twilio does
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const restart = (async () => {
      await waitFor(() => next >= total / 3, 'a third sent', 60_000);
      await harness.kill9AndRestart();
      killed = true;
    })();
    await Promise.all(
      Array.from({ length: senders }, async () => {
        while (next < total) await sendWithRetry(params[next++]!);
      }),
    );
    await restart;
    expect(killed).toBe(true);
    const sids = params.map((item) => item.MessageSid);
    const stored = await waitFor(async () => {
      const { rows } = await pool.query(`SELECT count(DISTINCT provider_message_id)::int AS n, count(*)::int AS total FROM messages WHERE provider_message_id = ANY ($1)`, [sids]);
      return rows[0].n === total ? rows[0] : undefined;
    }, 'every message stored', 60_000);
    expect(stored).toEqual({ n: total, total });
  });
});
