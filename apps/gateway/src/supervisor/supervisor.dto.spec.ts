import type { ArgumentMetadata } from '@nestjs/common';
import { ApiError } from '../http/api-error';
import { createValidationPipe } from '../http/validation';
import { ConversationsQuery } from './supervisor.dto';

const metadata: ArgumentMetadata = { type: 'query', metatype: ConversationsQuery };
const parse = (query: Record<string, unknown>) => createValidationPipe().transform(query, metadata) as Promise<ConversationsQuery>;

async function refusal(query: Record<string, unknown>) {
  const error = await parse(query).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ApiError);
  return { status: (error as ApiError).getStatus(), code: (error as ApiError).code };
}

describe('the supervisor conversation list query', () => {
  it('takes statuses repeated or comma-separated, and numbers from the query string', async () => {
    expect(await parse({ status: ['queued', 'offered'], limit: '20', mode: 'sync', queueId: 'live.chat', agentId: 'a-1' })).toMatchObject({
      status: ['queued', 'offered'],
      limit: 20,
      mode: 'sync',
      queueId: 'live.chat',
      agentId: 'a-1',
    });
    expect((await parse({ status: 'assigned,bot' })).status).toEqual(['assigned', 'bot']);
    expect((await parse({ status: 'queued' })).status).toEqual(['queued']);
    expect(await parse({})).toEqual({});
  });

  it.each([
    ['closed is never listed', { status: 'closed' }],
    ['an unknown status among good ones', { status: ['queued', 'waiting'] }],
    ['an unknown mode', { mode: 'voice' }],
    ['a limit of 0', { limit: '0' }],
    ['a limit over 200', { limit: '201' }],
    ['a limit that is no number', { limit: 'ten' }],
    ['a queue id with a space', { queueId: 'my queue' }],
    ['an agent id with a dot', { agentId: 'a.1' }],
    ['a queue given twice', { queueId: ['a', 'b'] }],
    ['an unknown field', { tenant: 'other' }],
  ])('refuses %s with 400 validation_failed', async (_name, query) => {
    expect(await refusal(query)).toEqual({ status: 400, code: 'validation_failed' });
  });
});
