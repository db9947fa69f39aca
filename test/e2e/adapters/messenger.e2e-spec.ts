/**
 * The Messenger adapter (Messenger and Instagram Direct) as a process beside the router, against
 * real RabbitMQ and Postgres: the subscription handshake, signed notifications become envelopes and
 * delivery receipts delivery statuses, echoes and read receipts publish nothing, bad signatures
 * publish nothing (S1), a redelivered mid is stored once, and replies go to a local Send API that
 * checks token, page and body (retried on 500, failed with the 24-hour reason, never sent twice).
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { EXCHANGES, routingKeys } from '@app/contracts';
import { FakeMeta, freePort, openDatabase, ServiceProcess, TestBroker, waitFor, type Collected } from '@app/testing';

const APP_SECRET = randomBytes(16).toString('hex');
const VERIFY_TOKEN = randomBytes(12).toString('hex');
const PAGE_TOKEN = `EAAB${randomBytes(24).toString('hex')}`;
const PAGE_ID = '104425135716281';
const INSTAGRAM_ID = '17841405822304914';

/** Meta's X-Hub-Signature-256, written from its documentation (not the adapter's code). */
function sign(body: string, secret = APP_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

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
  const pool = openDatabase();
  let broker: TestBroker;
  let meta: FakeMeta;
  let router: ServiceProcess;
  let adapter: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    broker = await TestBroker.open();
    meta = await FakeMeta.start('messenger', PAGE_ID, PAGE_TOKEN);
    const port = await freePort();
    router = await ServiceProcess.start('router');
    adapter = await ServiceProcess.start('adapters/messenger', {
      META_APP_SECRET: APP_SECRET,
      META_VERIFY_TOKEN: VERIFY_TOKEN,
      MESSENGER_PAGE_ACCESS_TOKEN: PAGE_TOKEN,
      MESSENGER_PAGE_ID: PAGE_ID,
      GRAPH_API_BASE_URL: meta.url,
      HTTP_PORT: String(port),
      SEND_RETRY_BASE_MS: '20',
      TENANT_ID: 'default',
    });
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await adapter?.stop();
    await router?.stop();
    await meta?.close();
    await broker?.close();
    await pool.end();
  });

  function post(payload: unknown, options: { signature?: string | null; body?: string } = {}) {
    const body = options.body ?? JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const signature = options.signature === undefined ? sign(JSON.stringify(payload)) : options.signature;
    if (signature !== null) headers['x-hub-signature-256'] = signature;
    return fetch(`${base}/meta/messenger`, { method: 'POST', headers, body });
  }

  it('verification handshake: the right token gets the challenge as text, a wrong one 403', async () => {
    const query = (token: string) => new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': 'CHALLENGE_ACCEPTED' });
    const accepted = await fetch(`${base}/meta/messenger?${query(VERIFY_TOKEN)}`);
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('content-type')).toContain('text/plain');
    expect(await accepted.text()).toBe('CHALLENGE_ACCEPTED');
    const refused = await fetch(`${base}/meta/messenger?${query(`${VERIFY_TOKEN}x`)}`);
    expect(refused.status).toBe(403);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    expect(error.message).toContain('hub.verify_token');
  });

  it('a signed batch of 2 messages, a delivery and a read receipt → 2 envelopes and 1 delivery status', async () => {
    const envelopes = await broker.collect(EXCHANGES.inbound, routingKeys.inbound('messenger'));
    const statuses = await broker.collect(EXCHANGES.inbound, routingKeys.delivery('messenger'));
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
    const envelopes = await broker.collect(EXCHANGES.inbound, routingKeys.inbound('messenger'));
    const message = customerMessage(psid(), { text: 'saw your story' }, INSTAGRAM_ID);
    expect((await post(notification([message], 'instagram'))).status).toBe(200);
    const [published] = await envelopes.waitForCount(1, 'the envelope');
    expect(published!.body).toMatchObject({ channel: 'messenger', provider: { messageId: message.message.mid, accountId: INSTAGRAM_ID }, attributes: { platform: 'instagram' } });
  });

  it('echoes of the page\'s own messages publish nothing', async () => {
    const envelopes = await broker.collect(EXCHANGES.inbound, routingKeys.inbound('messenger'));
    const echo = { sender: { id: PAGE_ID }, recipient: { id: psid() }, timestamp: Date.now(), message: { mid: mid(), is_echo: true, app_id: 1517776481860111, text: 'our own reply' } };
    expect((await post(notification([echo]))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  it('S1: tampered byte, wrong secret, missing header, wrong length, wrong prefix → 401/403 with a clear body, nothing published', async () => {
    const envelopes = await broker.collect(EXCHANGES.inbound, routingKeys.inbound('messenger'));
    const payload = notification([customerMessage(psid(), { text: 'please refund me' })]);
    const body = JSON.stringify(payload);
    const digest = sign(body).slice('sha256='.length);
    const cases: Array<[string, Response, number]> = [
      ['tampered byte', await post(payload, { body: body.replace('refund', 'refunt') }), 403],
      ['wrong secret', await post(payload, { signature: sign(body, 'not-the-app-secret-at-all') }), 403],
      ['missing header', await post(payload, { signature: null }), 401],
      ['wrong length', await post(payload, { signature: `sha256=${digest}00` }), 403],
      ['wrong prefix', await post(payload, { signature: digest }), 403],
    ];
    for (const [name, response, status] of cases) {
      const text = await response.text();
      expect({ name, status: response.status }).toEqual({ name, status });
      const { error } = JSON.parse(text) as { error: { code: string; message: string } };
      expect(error.message).toContain('X-Hub-Signature-256');
      expect(text).not.toMatch(/at .*\.js:\d+/);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  it('the same mid delivered three times is stored once', async () => {
    const message = customerMessage(psid(), { text: 'hello?' });
    for (let index = 0; index < 3; index += 1) expect((await post(notification([message]))).status).toBe(200);
    const count = async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM messages WHERE provider_message_id = $1`, [message.message.mid]);
      return rows[0].n as number;
    };
    await waitFor(async () => (await count()) === 1, 'the message stored');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await count()).toBe(1);
  });

  function reply(text: string, to = psid()) {
    return {
      version: 1,
      type: 'agent.reply',
      messageId: randomUUID(),
      occurredAt: new Date().toISOString(),
      tenantId: 'default',
      conversationId: randomUUID(),
      channel: 'messenger',
      agentId: 'a1',
      to: { address: to },
      text,
    };
  }

  it('outbound: the Send API gets the right call, a 500 is retried, 10/2018278 fails with the 24-hour reason, a redelivered reply is not sent twice', async () => {
    const statuses = await broker.collect(EXCHANGES.inbound, routingKeys.delivery('messenger'));
    const statusOf = (messageId: string) => statuses.items.map(byBody).filter((body) => body.messageId === messageId);
    meta.script.push({ status: 500 });
    const retried = reply('yes, we ship to Porto');
    await broker.publish(EXCHANGES.outbound, routingKeys.outbound('messenger'), retried);
    await waitFor(() => statusOf(retried.messageId).length === 1, 'sent status');
    const calls = meta.calls.filter((call) => call.text === retried.text);
    expect(calls.map((call) => call.answered)).toEqual([500, 200]);
    expect(calls[1]!.body).toEqual({ recipient: { id: retried.to.address }, messaging_type: 'RESPONSE', message: { text: retried.text } });
    expect(statusOf(retried.messageId)[0]).toMatchObject({ status: 'sent', channel: 'messenger', providerMessageId: expect.stringMatching(/^m_/) });

    await broker.publish(EXCHANGES.outbound, routingKeys.outbound('messenger'), retried);
    await waitFor(() => statusOf(retried.messageId).length === 2, 'the redelivery acknowledged');
    expect(meta.calls.filter((call) => call.text === retried.text)).toHaveLength(2);

    meta.script.push({
      status: 400,
      error: { message: '(#10) This message is sent outside of allowed window.', type: 'OAuthException', code: 10, error_subcode: 2018278 },
    });
    const late = reply('sorry for the late answer');
    await broker.publish(EXCHANGES.outbound, routingKeys.outbound('messenger'), late);
    await waitFor(() => statusOf(late.messageId).length === 1, 'failed status');
    expect(statusOf(late.messageId)[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/24-hour.*HUMAN_AGENT/s) });
    expect(meta.calls.filter((call) => call.text === late.text)).toHaveLength(1);
  });
});
