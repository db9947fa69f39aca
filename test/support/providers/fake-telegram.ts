/**
 * A local stand-in for the Telegram Bot API's sendMessage that checks requests the way Telegram
 * does (the bot token in the path, a JSON body with chat_id and text) and answers with scripted
 * statuses in Telegram's `{ok, description, parameters}` shape, so tests see retries, retry_after
 * and refusals as the adapter would.
 */
import { FakeHttpProvider, parseJson, type ProviderRequest, type Reply } from './fake-http-provider';

export interface TelegramCall {
  chatId: string;
  text: string;
  answered: number;
  /** When the call arrived (ms since the epoch), to check the adapter waited as told. */
  at: number;
}

export interface TelegramScriptedAnswer {
  status: number;
  description?: string;
  /** Sent as `parameters.retry_after`, as Telegram does with a 429. */
  retryAfterS?: number;
}

/** Scripted answers: when empty, 200 with a new message id. */
export class FakeTelegram extends FakeHttpProvider<TelegramScriptedAnswer> {
  readonly calls: TelegramCall[] = [];
  private nextMessageId = 1;

  private constructor(private readonly botToken: string) {
    super();
  }

  static start(botToken: string): Promise<FakeTelegram> {
    return new FakeTelegram(botToken).listen();
  }

  protected handle(request: ProviderRequest, reply: Reply): void {
    const refuse = (status: number, description: string, parameters?: unknown) =>
      reply(status, { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) });
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(request.url ?? '');
    if (!match || match[1] !== this.botToken) return refuse(401, 'Unauthorized');
    if (request.method !== 'POST' || match[2] !== 'sendMessage') return refuse(404, 'Not Found');
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) return refuse(400, 'Bad Request: chat_id is empty');
    const body = parseJson(request.body) as { chat_id?: unknown; text?: unknown } | undefined;
    if (body === undefined) return refuse(400, "Bad Request: can't parse JSON");
    if (body.chat_id === undefined || body.chat_id === '') return refuse(400, 'Bad Request: chat_id is empty');
    if (typeof body.text !== 'string' || body.text === '') return refuse(400, 'Bad Request: message text is empty');
    const next = this.script.shift() ?? { status: 200 };
    const chatId = String(body.chat_id);
    this.calls.push({ chatId, text: body.text, answered: next.status, at: Date.now() });
    if (next.status === 200) {
      const chat = /^-?\d+$/.test(chatId) ? Number(chatId) : chatId;
      return reply(200, { ok: true, result: { message_id: this.nextMessageId++, chat: { id: chat }, date: Math.floor(Date.now() / 1000), text: body.text } });
    }
    return refuse(
      next.status,
      next.description ?? (next.status === 429 ? `Too Many Requests: retry after ${next.retryAfterS ?? 1}` : 'Internal Server Error'),
      next.retryAfterS !== undefined ? { retry_after: next.retryAfterS } : undefined,
    );
  }
}
