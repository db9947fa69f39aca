import type { DataSource } from 'typeorm';
import { ApiError } from '../http/api-error';
import { decodePosition, encodePosition, listConversations, type ConversationFilter } from './conversation-list.query';
import { OPEN_STATUSES } from './supervisor.dto';

const ID = '00000000-0000-4000-8000-000000000001';
const AT = new Date('2030-01-01T12:00:00.000Z');

/** A DataSource that records each statement and answers with the given rows. */
function fakeDatabase(rows: Array<Record<string, unknown>> = []) {
  const calls: Array<{ sql: string; params: unknown[] }> = [];
  const dataSource = {
    query: async (sql: string, params: unknown[]) => {
      calls.push({ sql, params });
      return rows;
    },
  } as unknown as DataSource;
  return { dataSource, calls };
}

function row(n: number): Record<string, unknown> {
  return {
    group: 0,
    cursorKey: `2030-01-01T11:00:0${n}.000001Z`,
    cursorTieBreak: `2030-01-01T11:59:0${n}.000000Z`,
    id: `00000000-0000-4000-8000-00000000000${n}`,
    channel: 'sms',
    mode: 'async',
    status: 'queued',
    queueId: 'messaging',
    priority: 0,
    assignedAgentId: null,
    assignedAgentName: null,
    customerId: ID,
    customerName: 'Jo',
    queuedAt: new Date(AT.getTime() - 61_500),
    waitingS: 61.5,
    assignedAt: null,
    lastMessageAt: new Date(AT.getTime() - 1_000),
  };
}

const filter = (overrides: Partial<ConversationFilter> = {}): ConversationFilter => ({ statuses: OPEN_STATUSES, limit: 50, ...overrides });

describe('the supervisor conversation list', () => {
  it('round-trips its cursor and refuses one it did not issue', () => {
    const position = { group: 1, key: '2030-01-01T11:00:00.123456Z', tieBreak: '2030-01-01T10:00:00.000000Z', id: ID };
    expect(decodePosition(encodePosition(position))).toEqual(position);
    for (const bad of ['garbage', encodePosition({ ...position, group: 7 }), encodePosition({ ...position, id: 'not-a-uuid' }), encodePosition({ ...position, key: 'yesterday' })]) {
      expect(() => decodePosition(bad)).toThrow(ApiError);
      try {
        decodePosition(bad);
      } catch (error) {
        expect(error).toMatchObject({ code: 'invalid_cursor' });
        expect((error as ApiError).getStatus()).toBe(400);
      }
    }
  });

  it('asks nothing when the filters leave no group: an agent never holds waiting or bot work', async () => {
    const { dataSource, calls } = fakeDatabase();
    const page = await listConversations(dataSource, 't1', filter({ agentId: 'a1', statuses: ['queued', 'bot'] }), AT);
    expect(page).toEqual({ at: AT.toISOString(), conversations: [], nextCursor: null });
    expect(calls).toEqual([]);
  });

  it('scopes every branch to the tenant and reads held work by agent through its partial index predicate', async () => {
    const { dataSource, calls } = fakeDatabase();
    await listConversations(dataSource, 't1', filter({ agentId: 'a1', mode: 'sync' }), AT);
    const [{ sql, params }] = calls;
    expect(sql).toContain(`c.status IN ('offered', 'assigned')`);
    expect(sql).toContain('c.assigned_agent_id = $');
    expect(sql).not.toContain('SELECT 0 AS grp');
    expect(sql).not.toContain('SELECT 2 AS grp');
    expect(params).toEqual(expect.arrayContaining(['t1', 'a1', 'sync', 51]));
  });

  it('skips the groups a cursor has passed and continues inside its own', async () => {
    const { dataSource, calls } = fakeDatabase();
    const after = encodePosition({ group: 1, key: '2030-01-01T11:00:00.000000Z', tieBreak: '2030-01-01T10:00:00.000000Z', id: ID });
    await listConversations(dataSource, 't1', filter({ after }), AT);
    const [{ sql, params }] = calls;
    expect(sql).not.toContain('SELECT 0 AS grp');
    expect(sql).toMatch(/\(COALESCE\(s\.accepted_at, s\.created_at, c\.updated_at\), c\.created_at, c\.id\) > \(\$\d+::timestamptz/);
    expect(sql).toContain('SELECT 2 AS grp');
    expect(params).toEqual(expect.arrayContaining(['2030-01-01T11:00:00.000000Z', ID]));
  });

  it('answers one page and a cursor at its last row when there is more', async () => {
    const { dataSource } = fakeDatabase([row(1), row(2), row(3)]);
    const page = await listConversations(dataSource, 't1', filter({ limit: 2 }), AT);
    expect(page.conversations.map((item) => item.id)).toEqual([row(1).id, row(2).id]);
    expect(page.conversations[0]).toMatchObject({ waitingS: 61, queuedAt: '2030-01-01T11:58:58.500Z', customer: { id: ID, name: 'Jo' } });
    expect(decodePosition(page.nextCursor!)).toEqual({ group: 0, key: row(2).cursorKey, tieBreak: row(2).cursorTieBreak, id: row(2).id });

    const last = await listConversations(fakeDatabase([row(1)]).dataSource, 't1', filter({ limit: 2 }), AT);
    expect(last.nextCursor).toBeNull();
  });
});
