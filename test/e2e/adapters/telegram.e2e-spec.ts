/**
 * The Telegram adapter (Bot API) as a process beside the router, against real RabbitMQ and
 * Postgres: updates carrying the webhook secret become envelopes, a missing or wrong secret
 * publishes nothing (S1), a redelivered update is stored once, bot messages are dropped, and replies
 * go to a local Bot API that checks token and payload (500 retried, 429 retry_after honoured, 403
 * failed with Telegram's description, never sent twice).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EXCHANGES, routingKeys } from '@app/contracts';
import { adapterHarness, agentReplyPayload, expectClearRefusal, expectStoredOnce, FakeTelegram, statusesFor, waitFor, waitForStatus } from '@app/testing';

const BOT_TOKEN = `${1_000_000 + Math.floor(Math.random() * 1e6)}:${randomBytes(24).toString('base64url')}`;
const SECRET = randomBytes(24).toString('hex');

let updateIds = Math.floor(Math.random() * 1e8);
const nextUpdateId = () => (updateIds += 1);
const randomChatId = () => 100_000_000 + Math.floor(Math.random() * 1e8);

describe('telegram adapter (process)', () => {
  const harness = adapterHarness({
    app: 'adapters/telegram',
    provider: () => FakeTelegram.start(BOT_TOKEN),
    env: (telegram) => ({ TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET: SECRET, TELEGRAM_API_BASE_URL: telegram.url }),
  });
  const { pool } = harness;

  /** What Telegram POSTs to the webhook: the Update as JSON, with the setWebhook secret_token in a header. */
  function deliver(update: unknown, secret: string | null = SECRET) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (secret !== null) headers['x-telegram-bot-api-secret-token'] = secret;
    return fetch(`${harness.base}/telegram/webhook`, { method: 'POST', headers, body: JSON.stringify(update) });
  }

  /** A private-chat text message Update as the Bot API documents it. */
  function privateUpdate(overrides: Record<string, unknown> = {}, from: Record<string, unknown> = {}) {
    const chatId = randomChatId();
    return {
      update_id: nextUpdateId(),
      message: {
        message_id: 1 + Math.floor(Math.random() * 10_000),
        from: { id: chatId, is_bot: false, first_name: 'Ada', last_name: 'Lovelace', username: 'ada', language_code: 'en', ...from },
        chat: { id: chatId, first_name: 'Ada', last_name: 'Lovelace', username: 'ada', type: 'private' },
        date: 1_760_000_000,
        text: 'Where is my parcel?',
        ...overrides,
      },
    };
  }

  it('a private text message becomes the expected envelope', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('telegram'));
    const update = privateUpdate();
    const response = await deliver(update);
    expect(response.status).toBe(200);
    const [published] = await envelopes.waitForCount(1, 'the envelope');
    const chat = String(update.message.chat.id);
    expect(published.body).toMatchObject({
      version: 1,
      channel: 'telegram',
      direction: 'inbound',
      tenantId: 'default',
      provider: { messageId: `${chat}:${update.message.message_id}`, threadId: chat },
      customer: { address: chat, displayName: 'Ada Lovelace' },
      content: { text: 'Where is my parcel?', attachments: [] },
      providerTimestamp: new Date(1_760_000_000 * 1000).toISOString(),
      attributes: { updateId: update.update_id },
    });
    expect((published.body as { attributes: Record<string, unknown> }).attributes).not.toHaveProperty('edited');
  });

  it('a group photo with a caption: the member is the customer, the chat the thread, the largest size the attachment', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('telegram'));
    const groupId = -(1_000_000_000_000 + Math.floor(Math.random() * 1e9));
    const update = {
      update_id: nextUpdateId(),
      message: {
        message_id: 77,
        from: { id: 4242, is_bot: false, username: 'grace_h' },
        chat: { id: groupId, title: 'Support', type: 'supergroup' },
        date: 1_760_000_100,
        caption: 'the box arrived broken',
        photo: [
          { file_id: 'small', file_unique_id: 's', file_size: 1_000, width: 90, height: 67 },
          { file_id: 'large', file_unique_id: 'l', file_size: 90_000, width: 1280, height: 960 },
          { file_id: 'medium', file_unique_id: 'm', file_size: 20_000, width: 320, height: 240 },
        ],
      },
    };
    expect((await deliver(update)).status).toBe(200);
    const [published] = await envelopes.waitForCount(1, 'the envelope');
    expect(published.body).toMatchObject({
      provider: { messageId: `${groupId}:77`, threadId: String(groupId) },
      customer: { address: '4242', displayName: 'grace_h' },
      content: { text: 'the box arrived broken', attachments: [{ contentType: 'image/jpeg', size: 90_000, providerId: 'large' }] },
    });
  });

  it('documents and voice notes become attachments; an edit is flagged and is not taken for a duplicate', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('telegram'));
    const update = privateUpdate({
      text: undefined,
      document: { file_id: 'doc-1', file_unique_id: 'd', file_name: 'invoice.pdf', mime_type: 'application/pdf', file_size: 5_000 },
      voice: { file_id: 'voice-1', file_unique_id: 'v', duration: 3, mime_type: 'audio/ogg', file_size: 4_000 },
    });
    const original = privateUpdate({ text: 'original text' });
    const edit = { update_id: nextUpdateId(), edited_message: { ...original.message, text: 'edited text', edit_date: 1_760_000_050 } };
    for (const item of [update, original, edit]) expect((await deliver(item)).status).toBe(200);
    const published = (await envelopes.waitForCount(3, 'the document, the message and its edit')).map((item) => item.body as { content: { text?: string } });
    expect(published.find((body) => body.content.text === undefined)).toMatchObject({
      content: {
        attachments: [
          { contentType: 'application/pdf', size: 5_000, filename: 'invoice.pdf', providerId: 'doc-1' },
          { contentType: 'audio/ogg', size: 4_000, providerId: 'voice-1' },
        ],
      },
    });
    const chat = original.message.chat.id;
    expect(published.find((body) => body.content.text === 'original text')).toMatchObject({ provider: { messageId: `${chat}:${original.message.message_id}` } });
    expect(published.find((body) => body.content.text === 'edited text')).toMatchObject({
      provider: { messageId: expect.stringMatching(new RegExp(`^${chat}:${original.message.message_id}:`)), threadId: String(chat) },
      attributes: { edited: true, updateId: edit.update_id },
    });
  });

  it('S1: missing, wrong or wrong-length secret → 401/403 with a clear JSON body, nothing published', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('telegram'));
    const update = privateUpdate();
    const cases: Array<[string, Response, number]> = [
      ['missing header', await deliver(update, null), 401],
      ['wrong secret', await deliver(update, randomBytes(24).toString('hex')), 403],
      ['wrong length', await deliver(update, SECRET.slice(0, -1)), 403],
      ['secret plus a byte', await deliver(update, `${SECRET}0`), 403],
    ];
    for (const [name, response, status] of cases) {
      expect(response.headers.get('content-type')).toContain('application/json');
      const { text } = await expectClearRefusal(name, response, status);
      expect(text).not.toContain(SECRET);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  it('the same update delivered three times is stored once', async () => {
    const update = privateUpdate({ text: 'delivered thrice' });
    const providerId = `${update.message.chat.id}:${update.message.message_id}`;
    for (let index = 0; index < 3; index += 1) expect((await deliver(update)).status).toBe(200);
    await expectStoredOnce(pool, providerId, 'telegram');
  });

  it('bot messages and updates without a message are acknowledged and publish nothing', async () => {
    const envelopes = await harness.broker.collect(EXCHANGES.inbound, routingKeys.inbound('telegram'));
    const fromBot = privateUpdate({ text: 'I am a bot' }, { is_bot: true, first_name: 'OtherBot', username: 'other_bot' });
    const callback = {
      update_id: nextUpdateId(),
      callback_query: { id: '123', from: { id: 5, is_bot: false, first_name: 'Ada' }, chat_instance: '1', data: 'button' },
    };
    const sticker = privateUpdate({ text: undefined, sticker: { file_id: 'st', file_unique_id: 'st', width: 512, height: 512, is_animated: false } });
    for (const update of [fromBot, callback, sticker]) expect((await deliver(update)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(envelopes.items).toEqual([]);
  });

  const reply = (text: string, to: { address: string; threadId?: string }) => agentReplyPayload('telegram', { to, text });

  it('outbound: sendMessage to the thread chat, a 500 retried, a redelivered reply not sent twice', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('telegram'));
    harness.provider.script.push({ status: 500 });
    const text = `hello ${randomUUID()}`;
    const retried = reply(text, { address: '4242', threadId: '-1001234567890' });
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('telegram'), retried);
    const sent = await waitForStatus(statuses, retried.messageId, 'sent status');
    const calls = harness.provider.calls.filter((call) => call.text === text);
    expect(calls.map((call) => [call.chatId, call.answered])).toEqual([
      ['-1001234567890', 500],
      ['-1001234567890', 200],
    ]);
    expect(sent).toMatchObject({ status: 'sent', channel: 'telegram', providerMessageId: expect.stringMatching(/^-1001234567890:\d+$/) });

    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('telegram'), retried);
    await waitFor(() => statusesFor(statuses, retried.messageId).length === 2, 'the redelivery acknowledged');
    expect(harness.provider.calls.filter((call) => call.text === text)).toHaveLength(2);
  });

  it('outbound: a 429 waits retry_after before trying again', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('telegram'));
    harness.provider.script.push({ status: 429, retryAfterS: 1 });
    const text = `slow down ${randomUUID()}`;
    const limited = reply(text, { address: '555' });
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('telegram'), limited);
    const sent = await waitForStatus(statuses, limited.messageId, 'sent status');
    expect(sent).toMatchObject({ status: 'sent', providerMessageId: expect.stringMatching(/^555:\d+$/) });
    const calls = harness.provider.calls.filter((call) => call.text === text);
    expect(calls.map((call) => [call.chatId, call.answered])).toEqual([
      ['555', 429],
      ['555', 200],
    ]);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('outbound: a 403 (bot blocked) becomes a failed delivery with Telegram\'s description, not retried', async () => {
    const statuses = await harness.broker.collect(EXCHANGES.inbound, routingKeys.delivery('telegram'));
    harness.provider.script.push({ status: 403, description: 'Forbidden: bot was blocked by the user' });
    const text = `blocked ${randomUUID()}`;
    const refused = reply(text, { address: '777', threadId: '777' });
    await harness.broker.publish(EXCHANGES.outbound, routingKeys.outbound('telegram'), refused);
    const failed = await waitForStatus(statuses, refused.messageId, 'failed status');
    expect(failed).toMatchObject({ status: 'failed', reason: expect.stringContaining('bot was blocked by the user') });
    expect(harness.provider.calls.filter((call) => call.text === text)).toHaveLength(1);
  });
});
