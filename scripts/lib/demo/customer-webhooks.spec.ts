/**
 * The demo's customers sign their webhooks with the channel kit; here each request they would send
 * goes through the adapter's own route handler, configured with the development settings
 * (config/dev-adapters.json), exactly as `npm start` configures it.
 */
import { join } from 'node:path';
import type { z } from 'zod';
import { adapterEnvSchema, WebhookRejected, type AdapterRuntime, type ChannelAdapter, type WebhookRequest } from '@app/channel-kit';
import type { AmqpConnection, Publisher } from '@app/messaging';
import { smsAdapter } from '../../../apps/adapters/sms/src/sms.adapter';
import { telegramAdapter } from '../../../apps/adapters/telegram/src/telegram.adapter';
import { whatsappAdapter } from '../../../apps/adapters/whatsapp/src/whatsapp.adapter';
import { channelEndpoints, DEFAULT_ENDPOINTS, readAdapterSettings, type AdapterSettings, type ChannelEndpoints } from './demo-endpoints';
import type { SignedWebhook } from './signed-webhook';
import { smsWebhook } from './sms-customer';
import { telegramWebhook } from './telegram-customer';
import { whatsAppWebhook } from './whatsapp-customer';

function runtime<S extends z.ZodObject>(adapter: ChannelAdapter<S>, env: Record<string, string>): AdapterRuntime {
  const parsed = adapterEnvSchema.extend(adapter.env.shape).parse(env);
  // Handling a webhook touches neither the broker nor ingest.
  const broker = { connection: {} as AmqpConnection, publisher: {} as Publisher };
  return adapter.create({ env: parsed as never, ingest: async () => undefined, broker });
}

/** The request as the adapter's HTTP layer hands it over: public URL from PUBLIC_BASE_URL, headers in lower case. */
function received(webhook: SignedWebhook, publicBase: string): WebhookRequest {
  const url = new URL(webhook.url);
  return {
    method: 'POST',
    publicUrl: `${publicBase.replace(/\/$/, '')}${url.pathname}`,
    headers: Object.fromEntries(Object.entries(webhook.headers).map(([name, value]) => [name.toLowerCase(), value])),
    rawBody: Buffer.from(webhook.body, 'utf8'),
    query: {},
  };
}

function handle(adapter: AdapterRuntime, path: string, request: WebhookRequest) {
  const route = adapter.routes.find((candidate) => candidate.method === 'POST' && candidate.path === path);
  if (!route) throw new Error(`no POST ${path}`);
  return route.handle(request);
}

describe('demo customers: webhooks the adapters accept', () => {
  let settings: AdapterSettings;
  let channels: ChannelEndpoints;

  beforeAll(async () => {
    settings = await readAdapterSettings(join(__dirname, '..', '..', '..', 'config', 'dev-adapters.json'));
    channels = channelEndpoints(DEFAULT_ENDPOINTS, settings);
  });

  it('SMS: signed over the public URL the adapter is configured with', async () => {
    const adapter = runtime(smsAdapter, settings.sms);
    const webhook = smsWebhook(channels.sms, { from: '+15550100001', text: 'Hello, my parcel has not arrived yet.' });
    expect(webhook.url).toBe(`${DEFAULT_ENDPOINTS.sms}/twilio/sms`);
    const outcome = await handle(adapter, '/twilio/sms', received(webhook, settings.sms.PUBLIC_BASE_URL));
    expect(outcome.messages).toEqual([
      expect.objectContaining({ customer: { address: '+15550100001' }, content: expect.objectContaining({ text: 'Hello, my parcel has not arrived yet.' }) }),
    ]);
  });

  it('SMS: a different public URL or a changed body fails the adapter\'s check', async () => {
    const adapter = runtime(smsAdapter, settings.sms);
    const webhook = smsWebhook(channels.sms, { from: '+15550100001', text: 'hi' });
    await expect(async () => handle(adapter, '/twilio/sms', received(webhook, 'https://hooks.example.com'))).rejects.toThrow(WebhookRejected);
    const tampered = { ...webhook, body: webhook.body.replace('Body=hi', 'Body=ho') };
    await expect(async () => handle(adapter, '/twilio/sms', received(tampered, settings.sms.PUBLIC_BASE_URL))).rejects.toThrow(/does not match/);
  });

  it('SMS: the signed URL follows an explicit public URL', async () => {
    const adapter = runtime(smsAdapter, { ...settings.sms, PUBLIC_BASE_URL: 'https://hooks.example.com/tw' });
    const endpoints = channelEndpoints({ ...DEFAULT_ENDPOINTS, sms: 'http://127.0.0.1:4011' }, settings, {}, 'https://hooks.example.com/tw');
    const webhook = smsWebhook(endpoints.sms, { from: '+15550100002', text: 'hi' });
    expect(webhook.url).toBe('http://127.0.0.1:4011/twilio/sms');
    const outcome = await handle(adapter, '/twilio/sms', received(webhook, 'https://hooks.example.com/tw'));
    expect(outcome.messages).toHaveLength(1);
  });

  it('WhatsApp: a Cloud API notification with the X-Hub-Signature-256 the adapter checks', async () => {
    const adapter = runtime(whatsappAdapter, settings.whatsapp);
    const webhook = whatsAppWebhook(channels.whatsapp, { from: '15550100003', name: 'whatsapp customer 1', text: 'How do I return an item?' });
    const outcome = await handle(adapter, '/meta/whatsapp', received(webhook, DEFAULT_ENDPOINTS.whatsapp));
    expect(outcome.messages).toEqual([
      expect.objectContaining({
        provider: expect.objectContaining({ messageId: expect.stringMatching(/^wamid\./), accountId: settings.whatsapp.WHATSAPP_PHONE_NUMBER_ID }),
        customer: { address: '15550100003', displayName: 'whatsapp customer 1' },
        content: expect.objectContaining({ text: 'How do I return an item?' }),
      }),
    ]);
    const forged = { ...webhook, body: webhook.body.replace('return', 'refund') };
    await expect(async () => handle(adapter, '/meta/whatsapp', received(forged, DEFAULT_ENDPOINTS.whatsapp))).rejects.toThrow(WebhookRejected);
  });

  it('Telegram: an Update with the webhook secret token', async () => {
    const adapter = runtime(telegramAdapter, settings.telegram);
    const webhook = telegramWebhook(channels.telegram, { chatId: 712341001, firstName: 'telegram customer 1', text: 'Do you have this jacket in medium?' });
    const outcome = await handle(adapter, '/telegram/webhook', received(webhook, DEFAULT_ENDPOINTS.telegram));
    expect(outcome.messages).toEqual([
      expect.objectContaining({
        customer: { address: '712341001', displayName: 'telegram customer 1' },
        content: expect.objectContaining({ text: 'Do you have this jacket in medium?' }),
      }),
    ]);
  });

  it('the environment wins over the settings file, as for the adapters start-all runs', () => {
    const endpoints = channelEndpoints(DEFAULT_ENDPOINTS, settings, { TWILIO_AUTH_TOKEN: 'from-the-environment-0000' });
    expect(endpoints.sms.authToken).toBe('from-the-environment-0000');
    expect(endpoints.sms.publicUrl).toBe(settings.sms.PUBLIC_BASE_URL);
    expect(() => channelEndpoints(DEFAULT_ENDPOINTS, { ...settings, telegram: {} })).toThrow(/TELEGRAM_WEBHOOK_SECRET/);
  });
});
