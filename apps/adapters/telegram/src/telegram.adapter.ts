/**
 * Telegram through the Bot API: the webhook set with `setWebhook(url, secret_token)` (Telegram sends
 * the secret back in a header on every update) and sending with `sendMessage`. Message ids are only
 * unique within a chat, so the provider id is `<chat>:<message>`; the chat is the thread, so a group
 * is one conversation per member while a private chat is one per customer. Updates from bots are
 * dropped, so a bot answering ours cannot start a loop.
 */
import { z } from 'zod';
import { envTypes } from '@app/config';
import {
  defineAdapter,
  PermanentSendFailure,
  safeEqual,
  TemporarySendFailure,
  WebhookRejected,
  type WebhookOutcome,
  type WebhookRequest,
} from '@app/channel-kit';

const env = z.object({
  TELEGRAM_BOT_TOKEN: z.string().regex(/^\d+:[A-Za-z0-9_-]{20,}$/, { error: 'expected a Telegram bot token (<bot id>:<secret>)' }),
  /** The secret_token given to setWebhook; Telegram allows 1–256 of A-Z a-z 0-9 _ -. */
  TELEGRAM_WEBHOOK_SECRET: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, { error: 'expected 1-256 characters of A-Z a-z 0-9 _ -' }),
  TELEGRAM_API_BASE_URL: envTypes.url(['https:', 'http:'], 'https://api.telegram.org').default('https://api.telegram.org'),
});

interface TelegramFile {
  file_id: string;
  file_size?: number;
  mime_type?: string;
  file_name?: string;
  width?: number;
  height?: number;
}

interface TelegramMessage {
  message_id: number;
  date?: number;
  from?: { id: number; is_bot?: boolean; first_name?: string; last_name?: string; username?: string };
  chat: { id: number; type?: string };
  text?: string;
  caption?: string;
  photo?: TelegramFile[];
  document?: TelegramFile;
  voice?: TelegramFile;
  video?: TelegramFile;
}

interface TelegramUpdate {
  update_id: number;
  message?: TelegramMessage;
  edited_message?: TelegramMessage;
}

type Attachment = { contentType: string; size?: number; filename?: string; providerId: string };

const OK: WebhookOutcome['response'] = { status: 200 };

function parseUpdate(request: WebhookRequest): TelegramUpdate {
  let update: unknown;
  try {
    update = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected(400, 'invalid_json', 'the body is not a JSON Telegram Update');
  }
  if (typeof update !== 'object' || update === null || !Number.isInteger((update as TelegramUpdate).update_id)) {
    throw new WebhookRejected(400, 'invalid_update', 'a Telegram Update needs an integer update_id');
  }
  return update as TelegramUpdate;
}

function attachment(file: TelegramFile, fallbackType: string): Attachment {
  return {
    contentType: file.mime_type ?? fallbackType,
    ...(file.file_size !== undefined ? { size: file.file_size } : {}),
    ...(file.file_name ? { filename: file.file_name } : {}),
    providerId: file.file_id,
  };
}

function attachments(message: TelegramMessage): Attachment[] {
  const found: Attachment[] = [];
  // Telegram sends every resolution of a photo; the largest is the one worth showing an agent.
  const photo = message.photo?.reduce((best, size) => ((size.width ?? 0) * (size.height ?? 0) > (best.width ?? 0) * (best.height ?? 0) ? size : best));
  if (photo) found.push(attachment(photo, 'image/jpeg'));
  if (message.document) found.push(attachment(message.document, 'application/octet-stream'));
  if (message.voice) found.push(attachment(message.voice, 'audio/ogg'));
  if (message.video) found.push(attachment(message.video, 'video/mp4'));
  return found;
}

function displayName(from: TelegramMessage['from']): string | undefined {
  const name = [from?.first_name, from?.last_name].filter(Boolean).join(' ');
  return name || from?.username || undefined;
}

export const telegramAdapter = defineAdapter({
  channel: 'telegram',
  env,
  create({ env: config }) {
    const api = `${config.TELEGRAM_API_BASE_URL.replace(/\/$/, '')}/bot${config.TELEGRAM_BOT_TOKEN}`;

    return {
      routes: [
        {
          method: 'POST',
          path: '/telegram/webhook',
          handle(request) {
            const secret = request.headers['x-telegram-bot-api-secret-token'];
            if (!secret) throw new WebhookRejected(401, 'missing_secret_token', 'the X-Telegram-Bot-Api-Secret-Token header is missing');
            if (!safeEqual(config.TELEGRAM_WEBHOOK_SECRET, secret)) {
              throw new WebhookRejected(403, 'bad_secret_token', 'the X-Telegram-Bot-Api-Secret-Token does not match the webhook secret');
            }
            const update = parseUpdate(request);
            const edited = update.edited_message !== undefined;
            const message = update.message ?? update.edited_message;
            // Callback queries, channel posts, member changes…: acknowledged so Telegram stops resending them.
            if (!message || !Number.isInteger(message.message_id) || !Number.isInteger(message.chat?.id)) return { response: OK };
            if (message.from?.is_bot) return { response: OK };
            const text = message.text ?? message.caption;
            const files = attachments(message);
            // Stickers, locations, service messages carry nothing an envelope can hold.
            if (!text && files.length === 0) return { response: OK };
            const chat = String(message.chat.id);
            const sender = message.chat.type === 'private' || !message.from ? chat : String(message.from.id);
            const name = displayName(message.from);
            return {
              messages: [
                {
                  // An edit keeps the message id; the update id makes each edit a message of its own instead of a duplicate.
                  provider: { messageId: edited ? `${chat}:${message.message_id}:edit-${update.update_id}` : `${chat}:${message.message_id}`, threadId: chat },
                  customer: { address: sender, ...(name ? { displayName: name } : {}) },
                  content: { ...(text ? { text } : {}), attachments: files },
                  ...(message.date ? { providerTimestamp: new Date(message.date * 1000).toISOString() } : {}),
                  attributes: { updateId: update.update_id, ...(edited ? { edited: true } : {}) },
                },
              ],
              response: OK,
            };
          },
        },
      ],

      async send(item) {
        const chatId = item.to.threadId ?? item.to.address;
        let response: Response;
        try {
          response = await fetch(`${api}/sendMessage`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ chat_id: chatId, text: item.text }),
            signal: AbortSignal.timeout(config.SEND_TIMEOUT_MS),
          });
        } catch (error) {
          // The URL holds the bot token, so only the cause is reported, never the request.
          throw new TemporarySendFailure(`Telegram unreachable: ${(error as Error).message}`);
        }
        const answer = (await response.json().catch(() => ({}))) as {
          ok?: boolean;
          result?: { message_id?: number; chat?: { id?: number } };
          description?: string;
          parameters?: { retry_after?: number };
        };
        if (response.ok && answer.ok && answer.result?.message_id !== undefined) {
          return { providerMessageId: `${answer.result.chat?.id ?? chatId}:${answer.result.message_id}` };
        }
        if (response.status === 429 || response.status >= 500) {
          const retryAfter = answer.parameters?.retry_after;
          throw new TemporarySendFailure(
            `Telegram answered ${response.status}${answer.description ? `: ${answer.description}` : ''}`,
            typeof retryAfter === 'number' && retryAfter > 0 ? retryAfter * 1000 : undefined,
          );
        }
        throw new PermanentSendFailure(`Telegram refused the message: ${answer.description ?? `HTTP ${response.status}`}`);
      },
    };
  },
});
