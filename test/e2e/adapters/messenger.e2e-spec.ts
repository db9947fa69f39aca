/**
 * The Messenger adapter (Messenger and Instagram Direct) as a process beside the router, against
 * real RabbitMQ and Postgres: the subscription handshake, signed notifications become envelopes and
 * delivery receipts delivery statuses, echoes and read receipts publish nothing, bad signatures
 * publish nothing (S1), a redelivered mid is stored once, and replies go to a local Send API that
 * checks token, page and body (retried on 500, failed with the 24-hour reason, never sent twice).
 */
import { randomBytes } from 'node:crypto';
import { EXCHANGES, routingKeys } from '@app/contracts';
import {
  adapterHarness,
  agentReplyPayload,
  expectClearRefusal,
  expectStoredOnce,
  FakeMeta,
  metaSignature,
  postMetaWebhook,
  statusesFor,
  waitFor,
  waitForStatus,
  type Collected,
  type WebhookOptions,
} from '@app/testing';

const APP_SECRET = randomBytes(16).toString('hex');
const VERIFY_TOKEN = randomBytes(12).toString('hex');
const PAGE_TOKEN = `EAAB${randomBytes(24).toString('hex')}`;
const PAGE_ID = '104425135716281';
const INSTAGRAM_ID = '17841405822304914';

const psid = () => String(5_000_000_000_000_000 + Math.floor(Math.random() * 1e15));
const mid = () => `m_${randomBytes(24).toString('base64url')}`;

/** One notification as the Page webhook posts it. */
function notification(messaging: unknown[], object: 'page' | 'instagram' = 'page') {
  return { object, entry: [{ id: object === 'page' ? PAGE_ID : INSTAGRAM_ID, time: Date.now(), messaging }] };
}

const customerMessage = (sender: string, message: Record<string, unknown>, recipient = PAGE_ID) => ({
  sender: { id: sender },
  recipient: { id: recipient },
  timestamp: Date.now(),
  message: { mid: mid(), ...message },
});
const byBody = (collected: Collected) => collected.body as Record<string, unknown>;
const providerId = (body: Record<string, unknown>) => (body.provider as { messageId: string }).messageId;

describe('messenger adapter (process)', () => {
  const harness = adapterHarness({
    app: 'adapters/messenger',
    provider: () => FakeMeta.start('messenger', PAGE_ID, PAGE_TOKEN),
    env: (meta) => ({
      META_APP_SECRET: APP_SECRET,
      META_VERIFY_TOKEN: VERIFY_TOKEN,
      MESSENGER_PAGE_ACCESS_TOKEN: PAGE_TOKEN,
      MESSENGER_PAGE_ID: PAGE_ID,
      GRAPH_API_BASE_URL: meta.url,
    }),
  });
  const { pool } = harness;
  const post = (payload: unknown, options?: WebhookOptions) =>
    postMetaWebhook(`${harness.base}/meta/messenger`, payload, APP_SECRET, options);

  it('verification handshake: the right token gets the challenge as text, a wrong one 403', async () => {
    const query = (token: string) => new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': 'CHALLENGE_ACCEPTED' });
    const accepted = await fetch(`${harness.base}/meta/messenger?${query(VERIFY_TOKEN)}`);
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('content-type')).toContain('text/plain');
    expect(await accepted.text()).toBe('CHALLENGE_ACCEPTED');
    const refused = await fetch(`${harness.base}/meta/messenger?${query(`${VERIFY_TOKEN}x`)}`);
    expect(refused.status).toBe(403);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.message).toContain('hub.verify_token');
  });

  it('a signed batch of 2 messages, a delivery and a read receipt → 2 envelopes and 1 delivery status', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('messenger'));
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('messenger'));
    const sender = psid();
    const text = customerMessage(sender, { text: 'Do you ship to Porto?', reply_to: { mid: 'm_earlier' } });
    const photo = customerMessage(sender, { attachments: [{ type: 'image', payload: { url: 'https://scontent.xx.fbcdn.net/v/photo.jpg' } }] });
    const deliveredMid = mid();
    const payload = notification([
      text,
      photo,
      { sender: { id: sender }, recipient: { id: PAGE_ID }, timestamp: Date.now(), delivery: { mids: [deliveredMid], watermark: Date.now() } },
      { sender: { id: sender }, recipient: { id: PAGE_ID }, timestamp: Date.now(), read: { watermark: Date.now() } },
    ]);
    expect((await post(payload)).status).toBe(200);
    const published = (await envelopes.waitForCount(2, 'the envelopes')).map(byBody);
    expect(published.find((body) => providerId(body) === text.message.mid)).toMatchObject({
      version: 1,
      channel: 'messenger',
      direction: 'inbound',
      provider: { messageId: text.message.mid, accountId: PAGE_ID },
      customer: { address: sender },
      providerTimestamp: new Date(text.timestamp).toISOString(),
      content: { text: 'Do you ship to Porto?', attachments: [] },
      attributes: { platform: 'messenger', replyTo: 'm_earlier' },
    });
    expect(published.find((body) => providerId(body) === photo.message.mid)).toMatchObject({
      content: { attachments: [{ contentType: 'image/*', url: 'https://scontent.xx.fbcdn.net/v/photo.jpg' }] },
    });
    const [status] = await statuses.waitForCount(1, 'the delivery status');
    expect(status!.body).toMatchObject({ channel: 'messenger', providerMessageId: deliveredMid, status: 'delivered' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(envelopes.items).toHaveLength(2);
    expect(statuses.items).toHaveLength(1);
  });

  it('Instagram stays on the messenger channel with attributes.platform = instagram', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('messenger'));
    const message = customerMessage(psid(), { text: 'saw your story' }, INSTAGRAM_ID);
    expect((await post(notification([message], 'instagram'))).status).toBe(200);
    const [published] = await envelopes.waitForCount(1, 'the envelope');
    expect(published!.body).toMatchObject({ channel: 'messenger', provider: { messageId: message.message.mid, accountId: INSTAGRAM_ID }, attributes: { platform: 'instagram' } });
  });

  it('echoes of the page\'s own messages publish nothing', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('messenger'));
    const echo = { sender: { id: PAGE_ID }, recipient: { id: psid() }, timestamp: Date.now(), message: { mid: mid(), is_echo: true, app_id: 1517776481860111, text: 'our own reply' } };
    expect((await post(notification([echo]))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  it('S1: tampered byte, wrong secret, missing header, wrong length, wrong prefix → 401/403 with a clear body, nothing published', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('messenger'));
    const payload = notification([customerMessage(psid(), { text: 'please refund me' })]);
    const body = JSON.stringify(payload);
    const digest = metaSignature(body, APP_SECRET).slice('sha256='.length);
    const cases: Array<[string, Response, number]> = [
      ['tampered byte', await post(payload, { body: body.replace('refund', 'refunt') }), 403],
      ['wrong secret', await post(payload, { signature: metaSignature(body, 'not-the-app-secret-at-all') }), 403],
      ['missing header', await post(payload, { signature: null }), 401],
      ['wrong length', await post(payload, { signature: `sha256=${digest}00` }), 403],
      ['wrong prefix', await post(payload, { signature: digest }), 403],
    ];
    for (const [name, response, status] of cases) {
      const { error } = await expectClearRefusal(name, response, status);
      expect(error.message).toContain('X-Hub-Signature-256');
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  it('the same mid delivered three times is stored once', async () => {
    const message = customerMessage(psid(), { text: 'hello?' });
    for (let index = 0; index < 3; index += 1) expect((await post(notification([message]))).status).toBe(200);
    await expectStoredOnce(pool, message.message.mid);
  });

  const reply = (text: string, to = psid()) => agentReplyPayload('messenger', { to: { address: to }, text });

  it('outbound: the Send API gets the right call, a 500 is retried, 10/2018278 fails with the 24-hour reason, a redelivered reply is not sent twice', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('messenger'));
    harness.provider.script.push({ status: 500 });
    const retried = reply('yes, we ship to Porto');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('messenger'), retried);
    const sent = await waitForStatus(statuses, retried.messageId, 'sent status');
    const calls = harness.provider.calls.filter((call) => call.text === retried.text);
    expect(calls.map((call) => call.answered)).toEqual([500, 200]);
    expect(calls[1]!.body).toEqual({ recipient: { id: retried.to.address }, messaging_type: 'RESPONSE', message: { text: retried.text } });
    expect(sent).toMatchObject({ status: 'sent', channel: 'messenger', providerMessageId: expect.stringMatching(/^m_/) });

    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('messenger'), retried);
    await waitFor(() => statusesFor(statuses, retried.messageId).length === 2, 'the redelivery acknowledged');
    expect(harness.provider.calls.filter((call) => call.text === retried.text)).toHaveLength(2);

    harness.provider.script.push({
      status: 400,
      error: { message: '(#10) This message is sent outside of allowed window.', type: 'OAuthException', code: 10, error_subcode: 2018278 },
    });
    const late = reply('sorry for the late answer');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('messenger'), late);
    const failed = await waitForStatus(statuses, late.messageId, 'failed status');
    expect(failed).toMatchObject({ status: 'failed', reason: expect.stringMatching(/24-hour.*HUMAN_AGENT/s) });
    expect(harness.provider.calls.filter((call) => call.text === late.text)).toHaveLength(1);
  });
});
