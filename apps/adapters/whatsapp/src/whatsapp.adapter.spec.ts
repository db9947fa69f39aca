/**
 * The WhatsApp adapter without a broker: how Graph API answers map onto temporary and permanent
 * failures (Retry-After, throttling codes, the closed 24-hour window, an unreachable API), and how
 * the rarer notification shapes are normalized. The happy paths run end to end in
 * test/e2e/adapters/whatsapp.e2e-spec.ts.
 */
import { createHmac } from 'node:crypto';
import { adapterEnvSchema, PermanentSendFailure, TemporarySendFailure, WebhookRejected, type AdapterRuntime, type OutboundItem } from '@app/channel-kit';
import type { AmqpConnection, Publisher } from '@app/messaging';
import { FakeMeta, freePort } from '@app/testing';
import { whatsappAdapter } from './whatsapp.adapter';

const SECRET = 'app-secret-0123456789';
const TOKEN = 'EAAG-access-token-0123456789';
const PHONE_NUMBER_ID = '106540352242922';

function runtime(graphUrl: string): AdapterRuntime {
  const env = adapterEnvSchema.extend(whatsappAdapter.env.shape).parse({
    META_APP_SECRET: SECRET,
    META_VERIFY_TOKEN: 'verify-token',
    WHATSAPP_ACCESS_TOKEN: TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
    GRAPH_API_BASE_URL: graphUrl,
    SEND_TIMEOUT_MS: '1000',
  });
  // Sending touches neither the broker nor ingest: the spec runs without them.
  const broker = { connection: {} as AmqpConnection, publisher: {} as Publisher };
  return whatsappAdapter.create({ env, ingest: async () => undefined, broker });
}

const item: OutboundItem = { kind: 'reply', id: '6f1c1c52-64f4-4c2e-9d67-0e6f0f7a1b11', tenantId: 'default', conversationId: '0b9c0f0e-3c0a-4f5e-8a59-2b1d4b7d2d11', to: { address: '15551234567' }, text: 'hello' };

describe('whatsapp adapter: sending', () => {
  let meta: FakeMeta;
  let adapter: AdapterRuntime;

  beforeAll(async () => {
    meta = await FakeMeta.start('whatsapp', PHONE_NUMBER_ID, TOKEN);
    adapter = runtime(meta.url);
  });

  afterAll(() => meta.close());

  it('returns the wamid Meta assigned', async () => {
    await expect(adapter.send(item)).resolves.toEqual({ providerMessageId: expect.stringMatching(/^wamid\./) });
  });

  it('429 is temporary and honours Retry-After', async () => {
    meta.script.push({ status: 429, error: { message: 'Too many requests', code: 4 }, retryAfterS: 7 });
    const failure = await adapter.send(item).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TemporarySendFailure);
    expect((failure as TemporarySendFailure).retryAfterMs).toBe(7_000);
  });

  it('a throttling code on a 400 is temporary, not a refusal', async () => {
    meta.script.push({ status: 400, error: { message: '(#130429) Rate limit hit', code: 130429 } });
    await expect(adapter.send(item)).rejects.toBeInstanceOf(TemporarySendFailure);
  });

  it('131047 is permanent with a reason that asks for a template', async () => {
    meta.script.push({ status: 400, error: { message: '(#131047) Re-engagement message', code: 131047 } });
    const failure = (await adapter.send(item).catch((error: unknown) => error)) as PermanentSendFailure;
    expect(failure).toBeInstanceOf(PermanentSendFailure);
    expect(failure.reason).toMatch(/24-hour.*template/s);
  });

  it('other 4xx are permanent with Meta\'s message and code', async () => {
    meta.script.push({ status: 400, error: { message: '(#100) Invalid parameter', code: 100, error_subcode: 2494010 } });
    const failure = (await adapter.send(item).catch((error: unknown) => error)) as PermanentSendFailure;
    expect(failure).toBeInstanceOf(PermanentSendFailure);
    expect(failure.reason).toBe('WhatsApp refused the message: (#100) Invalid parameter (Meta error 100/2494010)');
  });

  it('a wrong token is refused for good', async () => {
    const other = await FakeMeta.start('whatsapp', PHONE_NUMBER_ID, 'another-token-0123456789');
    try {
      const failure = (await runtime(other.url).send(item).catch((error: unknown) => error)) as PermanentSendFailure;
      expect(failure).toBeInstanceOf(PermanentSendFailure);
      expect(failure.reason).toContain('Invalid OAuth access token');
    } finally {
      await other.close();
    }
  });

  it('an unreachable API is temporary', async () => {
    const closed = runtime(`http://127.0.0.1:${await freePort()}`);
    await expect(closed.send(item)).rejects.toBeInstanceOf(TemporarySendFailure);
  });
});

describe('whatsapp adapter: notifications', () => {
  const adapter = runtime('http://127.0.0.1:9');
  const post = adapter.routes.find((route) => route.method === 'POST')!;
  const handle = (payload: unknown) => {
    const rawBody = Buffer.from(JSON.stringify(payload));
    const signature = `sha256=${createHmac('sha256', SECRET).update(rawBody).digest('hex')}`;
    return post.handle({ method: 'POST', publicUrl: 'http://localhost/meta/whatsapp', headers: { 'x-hub-signature-256': signature }, rawBody, query: {} });
  };
  const withChange = (field: string, value: unknown) => ({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field, value }] }] });

  it('an unsupported message type is carried as text, never dropped', async () => {
    const outcome = await handle(withChange('messages', { metadata: { phone_number_id: PHONE_NUMBER_ID }, messages: [{ from: '15551234567', id: 'wamid.X', timestamp: '1700000000', type: 'unsupported' }] }));
    expect(outcome.messages).toEqual([expect.objectContaining({ content: { text: '[unsupported message, not supported by this adapter]', attachments: [] } })]);
  });

  it('other fields (template updates) are acknowledged without publishing', async () => {
    const outcome = await handle(withChange('message_template_status_update', { event: 'APPROVED' }));
    expect(outcome).toMatchObject({ messages: [], statuses: [], response: { status: 200 } });
  });

  it('a notification for another object is refused', async () => {
    const refusal = await (async () => handle({ object: 'page', entry: [] }))().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(WebhookRejected);
    expect(refusal).toMatchObject({ status: 400, code: 'unexpected_object' });
  });
});
