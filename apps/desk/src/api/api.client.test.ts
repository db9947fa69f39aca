import { describe, expect, it, vi } from 'vitest';
import { ApiFailure, createApi } from './api.client';

function recordingFetch(status = 200, body: unknown = { at: '2030-01-01T12:00:00.000Z', conversations: [], nextCursor: null }) {
  return vi.fn(async (_url: string | URL | Request, _init?: RequestInit) => new Response(JSON.stringify(body), { status }));
}

describe('api client: the supervisor conversation list', () => {
  it('sends each filter once, statuses repeated, with the token', async () => {
    const fetchImpl = recordingFetch();
    const api = createApi('tok', 'http://gw', fetchImpl);
    await api.supervisedConversations!({ queueId: 'live chat', status: ['queued', 'offered'], mode: 'sync', limit: 20, after: 'abc' });
    const [url, init] = fetchImpl.mock.calls[0];
    expect(url).toBe('http://gw/v1/supervisor/conversations?queueId=live+chat&mode=sync&after=abc&status=queued&status=offered&limit=20');
    expect(init).toMatchObject({ method: 'GET', headers: { authorization: 'Bearer tok' } });

    await api.supervisedConversations!();
    expect(fetchImpl.mock.calls[1][0]).toBe('http://gw/v1/supervisor/conversations');
  });

  it("turns the gateway's refusal into an ApiFailure with its code", async () => {
    const api = createApi('tok', '', recordingFetch(400, { error: { code: 'invalid_cursor', message: 'the `after` cursor is not one this API returned' } }));
    const failure = await api.supervisedConversations!({ after: 'x' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiFailure);
    expect(failure).toMatchObject({ status: 400, code: 'invalid_cursor' });
  });
});
