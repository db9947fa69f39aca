import { createHmac } from 'node:crypto';
import type { WebhookRequest } from '@app/channel-kit';
import type { CallEnder } from './call-ender';
import { callEventsRoute } from './call-events.route';
import { dialTwiml } from './twiml';

const SECRET = 'a-call-events-secret-for-tests';
const NOW_S = 1_800_000_000;

function request(body: string, headers: Record<string, string | undefined> = {}): WebhookRequest {
  const timestamp = headers['x-call-timestamp'] ?? String(NOW_S);
  return {
    method: 'POST',
    publicUrl: 'https://hooks.example.com/calls/events',
    rawBody: Buffer.from(body),
    query: {},
    headers: {
      'content-type': 'application/json',
      'x-call-timestamp': timestamp,
      'x-call-signature': `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex')}`,
      ...headers,
    },
  };
}

describe('callEventsRoute', () => {
  const ended: Array<[string, string]> = [];
  const ender = { end: async (callId: string, reason: string) => void ended.push([callId, reason]) } as unknown as CallEnder;
  const route = callEventsRoute(SECRET, ender, () => NOW_S * 1000);

  it('opens a sync item on started and ends it on ended', async () => {
    const started = await route.handle(request(JSON.stringify({ event: 'started', callId: 'c-1', from: '+4930123456' })));
    expect(started.messages).toEqual([
      expect.objectContaining({ mode: 'sync', provider: { messageId: 'c-1:started', threadId: 'c-1' }, customer: { address: '+4930123456' } }),
    ]);
    await route.handle(request(JSON.stringify({ event: 'ended', callId: 'c-1', from: '+4930123456', reason: 'busy' })));
    expect(ended).toEqual([['c-1', 'busy']]);
  });

  it.each([
    ['missing signature', { 'x-call-signature': undefined }, 401],
    ['timestamp 301 s old', { 'x-call-timestamp': String(NOW_S - 301) }, 401],
    ['signature of other bytes', { 'x-call-signature': `sha256=${'a'.repeat(64)}` }, 403],
    ['signature not hex', { 'x-call-signature': 'sha256=zz' }, 403],
  ])('refuses a request with %s', async (_name, headers, status) => {
    const body = JSON.stringify({ event: 'started', callId: 'c-2', from: '+4930123456' });
    await expect(Promise.resolve().then(() => route.handle(request(body, headers)))).rejects.toMatchObject({ status });
  });
});

describe('twiml', () => {
  it('escapes what it interpolates', () => {
    expect(dialTwiml({ client: 'a<b>&"c' })).toContain('<Client>a&lt;b&gt;&amp;&quot;c</Client>');
  });
});
