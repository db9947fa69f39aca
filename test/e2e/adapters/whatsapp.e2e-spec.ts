/**
 * The WhatsApp adapter (Cloud API) as a process beside the router, against real RabbitMQ and
 * Postgres: the subscription handshake, signed batched notifications become one envelope per
 * message and one delivery status per status, bad signatures publish nothing (S1), a redelivered
 * wamid is stored once, and replies go to a local Graph API that checks token, path and body
 * (retried on 500, failed with the 24-hour-window reason on 131047, never sent twice).
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
const ACCESS_TOKEN = `EAAG${randomBytes(24).toString('hex')}`;
const PHONE_NUMBER_ID = '106540352242922';

const waId = () => `1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
const wamid = () => `wamid.${randomBytes(24).toString('base64url')}`;
const unixNow = () => String(Math.floor(Date.now() / 1000));

/** One notification as the Cloud API posts it: one entry, one `messages` change. */
function notification(value: { contacts?: unknown[]; messages?: unknown[]; statuses?: unknown[] }) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

const contact = (from: string, name: string) => ({ profile: { name }, wa_id: from });
const textMessage = (from: string, body: string, extra: Record<string, unknown> = {}) => ({ from, id: wamid(), timestamp: unixNow(), type: 'text', text: { body }, ...extra });
const byBody = (collected: Collected) => collected.body as Record<string, unknown>;

describe('whatsapp adapter (process)', () => {
  const harness = adapterHarness({
    app: 'adapters/whatsapp',
    provider: () => FakeMeta.start('whatsapp', PHONE_NUMBER_ID, ACCESS_TOKEN),
    env: (meta) => ({
      META_APP_SECRET: APP_SECRET,
      META_VERIFY_TOKEN: VERIFY_TOKEN,
      WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
      WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
      GRAPH_API_BASE_URL: meta.url,
    }),
  });
  const { pool } = harness;
  const post = (payload: unknown, options?: WebhookOptions) =>
    postMetaWebhook(`${harness.base}/meta/whatsapp`, payload, APP_SECRET, options);

  it('verification handshake: the right token gets the challenge as text, a wrong one 403', async () => {
    const query = (token: string, mode = 'subscribe') => new URLSearchParams({ 'hub.mode': mode, 'hub.verify_token': token, 'hub.challenge': '1158201444' });
    const accepted = await fetch(`${harness.base}/meta/whatsapp?${query(VERIFY_TOKEN)}`);
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('content-type')).toContain('text/plain');
    expect(await accepted.text()).toBe('1158201444');
    for (const refused of [await fetch(`${harness.base}/meta/whatsapp?${query('not-the-verify-token')}`), await fetch(`${harness.base}/meta/whatsapp?${query(VERIFY_TOKEN, 'unsubscribe')}`)]) {
      expect(refused.status).toBe(403);
      const { error } = (await refused.json()) as { error: { code: string; message: string } };
      expect(error.message).toContain('hub.verify_token');
    }
  });

  it('a signed batch of 2 messages and a status → 2 envelopes and 1 delivery status, answered 200 after the publish', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('whatsapp'));
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('whatsapp'));
    const from = waId();
    const text = textMessage(from, 'Where is my order?', { context: { from: '15550783881', id: 'wamid.earlier' } });
    const image = {
      from,
      id: wamid(),
      timestamp: unixNow(),
      type: 'image',
      image: { id: '1479537139650973', mime_type: 'image/jpeg', sha256: randomBytes(32).toString('base64'), caption: 'the broken part' },
    };
    const sentId = wamid();
    const payload = notification({
      contacts: [contact(from, 'Ana Silva')],
      messages: [text, image],
      statuses: [{ id: sentId, status: 'delivered', timestamp: unixNow(), recipient_id: from }],
    });
    const response = await post(payload);
    expect(response.status).toBe(200);
    const published = await envelopes.waitForCount(2, 'the envelopes');
    const envelope = (id: string) => published.map(byBody).find((body) => (body.provider as { messageId: string }).messageId === id);
    expect(envelope(text.id)).toMatchObject({
      version: 1,
      channel: 'whatsapp',
      direction: 'inbound',
      tenantId: 'default',
      provider: { messageId: text.id, accountId: PHONE_NUMBER_ID },
      customer: { address: from, displayName: 'Ana Silva' },
      providerTimestamp: new Date(Number(text.timestamp) * 1000).toISOString(),
      content: { text: 'Where is my order?', attachments: [] },
      attributes: { replyTo: 'wamid.earlier' },
    });
    expect(envelope(image.id)).toMatchObject({
      customer: { address: from, displayName: 'Ana Silva' },
      content: { text: 'the broken part', attachments: [{ contentType: 'image/jpeg', providerId: '1479537139650973' }] },
    });
    const [status] = await statuses.waitForCount(1, 'the delivery status');
    expect(status!.body).toMatchObject({ channel: 'whatsapp', providerMessageId: sentId, status: 'delivered' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(envelopes.items).toHaveLength(2);
    expect(statuses.items).toHaveLength(1);
  });

  it('locations, reactions and button replies are carried as text; a failed status says the 24-hour window closed', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('whatsapp'));
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('whatsapp'));
    const from = waId();
    const location = { from, id: wamid(), timestamp: unixNow(), type: 'location', location: { latitude: 38.7223, longitude: -9.1393, name: 'Warehouse', address: 'Rua Augusta 1' } };
    const reaction = { from, id: wamid(), timestamp: unixNow(), type: 'reaction', reaction: { message_id: 'wamid.agentreply', emoji: '👍' } };
    const interactive = {
      from,
      id: wamid(),
      timestamp: unixNow(),
      type: 'interactive',
      interactive: { type: 'button_reply', button_reply: { id: 'yes-refund', title: 'Yes, refund' } },
    };
    const failedId = wamid();
    const payload = notification({
      contacts: [contact(from, 'Rui')],
      messages: [location, reaction, interactive],
      statuses: [
        {
          id: failedId,
          status: 'failed',
          timestamp: unixNow(),
          recipient_id: from,
          errors: [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' } }],
        },
      ],
    });
    expect((await post(payload)).status).toBe(200);
    const published = (await envelopes.waitForCount(3, 'the envelopes')).map(byBody);
    const find = (id: string) => published.find((body) => (body.provider as { messageId: string }).messageId === id);
    expect(find(location.id)).toMatchObject({ content: { text: expect.stringContaining('Warehouse') }, attributes: { messageType: 'location', latitude: 38.7223, longitude: -9.1393 } });
    expect(find(reaction.id)).toMatchObject({ content: { text: expect.stringContaining('👍') }, attributes: { messageType: 'reaction', reactionTo: 'wamid.agentreply' } });
    expect(find(interactive.id)).toMatchObject({ content: { text: expect.stringContaining('Yes, refund') }, attributes: { messageType: 'interactive', choiceId: 'yes-refund' } });
    const [failed] = await statuses.waitForCount(1, 'the failed status');
    expect(failed!.body).toMatchObject({ providerMessageId: failedId, status: 'failed', reason: expect.stringMatching(/24-hour.*template/s) });
  });

  it('S1: tampered byte, wrong secret, missing header, wrong length, wrong prefix → 401/403 with a clear body, nothing published', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('whatsapp'));
    const from = waId();
    const payload = notification({ contacts: [contact(from, 'Eve')], messages: [textMessage(from, 'please refund me')] });
    const body = JSON.stringify(payload);
    const digest = metaSignature(body, APP_SECRET).slice('sha256='.length);
    const cases: Array<[string, Response, number]> = [
      ['tampered byte', await post(payload, { body: body.replace('refund', 'refunt') }), 403],
      ['wrong secret', await post(payload, { signature: metaSignature(body, 'not-the-app-secret-at-all') }), 403],
      ['missing header', await post(payload, { signature: null }), 401],
      ['wrong length', await post(payload, { signature: `sha256=${digest.slice(0, 40)}` }), 403],
      ['wrong prefix', await post(payload, { signature: `sha1=${digest}` }), 403],
    ];
    for (const [name, response, status] of cases) {
      const { error } = await expectClearRefusal(name, response, status);
      expect(error.message).toContain('X-Hub-Signature-256');
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  it('the same wamid delivered three times is stored once', async () => {
    const from = waId();
    const message = textMessage(from, 'is anyone there?');
    const payload = notification({ contacts: [contact(from, 'Duplicated')], messages: [message] });
    for (let index = 0; index < 3; index += 1) expect((await post(payload)).status).toBe(200);
    await expectStoredOnce(pool, message.id);
  });

  const reply = (text: string, to = waId()) => agentReplyPayload('whatsapp', { to: { address: to }, text });

  it('outbound: the Graph API gets the right call, a 500 is retried, 131047 fails with the 24-hour reason, a redelivered reply is not sent twice', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('whatsapp'));
    harness.provider.script.push({ status: 500 }, { status: 503 });
    const retried = reply('your refund is on its way');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('whatsapp'), retried);
    const sent = await waitForStatus(statuses, retried.messageId, 'sent status');
    const calls = harness.provider.calls.filter((call) => call.text === retried.text);
    expect(calls.map((call) => call.answered)).toEqual([500, 503, 200]);
    expect(calls[2]).toMatchObject({ version: 'v21.0', body: { messaging_product: 'whatsapp', to: retried.to.address, type: 'text', text: { body: retried.text } } });
    expect(sent).toMatchObject({ status: 'sent', channel: 'whatsapp', providerMessageId: expect.stringMatching(/^wamid\./) });

    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('whatsapp'), retried);
    await waitFor(() => statusesFor(statuses, retried.messageId).length === 2, 'the redelivery acknowledged');
    expect(harness.provider.calls.filter((call) => call.text === retried.text)).toHaveLength(3);

    harness.provider.script.push({
      status: 400,
      error: { message: '(#131047) Re-engagement message', type: 'OAuthException', code: 131047, error_subcode: 2494010 },
    });
    const late = reply('sorry for the late answer');
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('whatsapp'), late);
    const failed = await waitForStatus(statuses, late.messageId, 'failed status');
    expect(failed).toMatchObject({ status: 'failed', reason: expect.stringMatching(/24-hour.*template/s) });
    expect(harness.provider.calls.filter((call) => call.text === late.text)).toHaveLength(1);
  });
});
