/**
 * The gateway's REST API with the signed-in token. Every failure is an ApiFailure carrying the
 * gateway's stable error code (`{ error: { code, message } }`), so callers branch on codes, not text.
 */
import type {
  AgentProfile,
  ConversationDetail,
  MessagePage,
  Presence,
  StatsSnapshot,
  SupervisedConversationPage,
  SupervisedConversationQuery,
  TransferTarget,
  WorkSnapshot,
  Written,
} from './api.types';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export interface DeskApi {
  me(): Promise<AgentProfile>;
  work(): Promise<WorkSnapshot>;
  setPresence(presence: Presence): Promise<{ presence: Presence; leaseExpiresAt: string | null }>;
  heartbeat(): Promise<{ leaseExpiresAt?: string }>;
  accept(conversationId: string): Promise<unknown>;
  decline(conversationId: string, reason?: string): Promise<unknown>;
  conversation(conversationId: string): Promise<ConversationDetail>;
  messages(conversationId: string, options?: { before?: string; limit?: number; scope?: 'conversation' | 'customer' }): Promise<MessagePage>;
  reply(conversationId: string, clientMessageId: string, text: string): Promise<Written>;
  note(conversationId: string, clientMessageId: string, text: string): Promise<Written>;
  transfer(conversationId: string, to: TransferTarget): Promise<unknown>;
  close(conversationId: string, wrapUp?: string): Promise<unknown>;
  release(conversationId: string): Promise<unknown>;
  escalate(conversationId: string): Promise<unknown>;
  stats(): Promise<StatsSnapshot>;
  /** Optional so that clients (and test fakes) written before it still type-check; createApi has it. */
  supervisedConversations?(query?: SupervisedConversationQuery): Promise<SupervisedConversationPage>;
  reassign(conversationId: string, to: TransferTarget): Promise<unknown>;
  setCapacity(agentId: string, caps: { syncCap?: number | null; asyncCap?: number | null }): Promise<unknown>;
}

const id = (value: string) => encodeURIComponent(value);

export function createApi(token: string, baseUrl = '', fetchImpl: typeof fetch = (...args) => fetch(...args)): DeskApi {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetchImpl(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiFailure(0, 'network', `the gateway cannot be reached (${(error as Error).message})`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiFailure(response.status, error?.code ?? `http_${response.status}`, error?.message ?? (response.statusText || 'request failed'));
    }
    return parsed as T;
  }

  return {
    me: () => call('GET', '/v1/me'),
    work: () => call('GET', '/v1/me/work'),
    setPresence: (presence) => call('PUT', '/v1/me/presence', { presence }),
    heartbeat: () => call('POST', '/v1/me/heartbeat'),
    accept: (conversationId) => call('POST', `/v1/offers/${id(conversationId)}/accept`),
    decline: (conversationId, reason) => call('POST', `/v1/offers/${id(conversationId)}/decline`, reason ? { reason } : {}),
    conversation: (conversationId) => call('GET', `/v1/conversations/${id(conversationId)}`),
    messages: (conversationId, options = {}) => {
      const query = new URLSearchParams();
      if (options.before) query.set('before', options.before);
      if (options.limit) query.set('limit', String(options.limit));
      if (options.scope) query.set('scope', options.scope);
      const suffix = query.size > 0 ? `?${query.toString()}` : '';
      return call('GET', `/v1/conversations/${id(conversationId)}/messages${suffix}`);
    },
    reply: (conversationId, clientMessageId, text) => call('POST', `/v1/conversations/${id(conversationId)}/replies`, { clientMessageId, text }),
    note: (conversationId, clientMessageId, text) => call('POST', `/v1/conversations/${id(conversationId)}/notes`, { clientMessageId, text }),
    transfer: (conversationId, to) => call('POST', `/v1/conversations/${id(conversationId)}/transfer`, to),
    close: (conversationId, wrapUp) => call('POST', `/v1/conversations/${id(conversationId)}/close`, wrapUp ? { wrapUp } : {}),
    release: (conversationId) => call('POST', `/v1/conversations/${id(conversationId)}/release`),
    escalate: (conversationId) => call('POST', `/v1/conversations/${id(conversationId)}/escalate`),
    stats: () => call('GET', '/v1/supervisor/stats'),
    supervisedConversations: (filters = {}) => {
      const query = new URLSearchParams();
      for (const key of ['queueId', 'agentId', 'mode', 'after'] as const) {
        const value = filters[key];
        if (value) query.set(key, value);
      }
      for (const status of filters.status ?? []) query.append('status', status);
      if (filters.limit) query.set('limit', String(filters.limit));
      const suffix = query.size > 0 ? `?${query.toString()}` : '';
      return call('GET', `/v1/supervisor/conversations${suffix}`);
    },
    reassign: (conversationId, to) => call('POST', `/v1/supervisor/conversations/${id(conversationId)}/reassign`, to),
    setCapacity: (agentId, caps) => call('PUT', `/v1/supervisor/agents/${id(agentId)}/capacity`, caps),
  };
}

/** A failure as one line for a person. */
export function describeFailure(error: unknown): string {
  if (error instanceof ApiFailure) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}
