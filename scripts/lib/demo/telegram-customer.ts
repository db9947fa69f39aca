/**
 * A Telegram customer as the Bot API delivers them: an Update to the Telegram adapter's webhook with
 * the secret token given to setWebhook in X-Telegram-Bot-Api-Secret-Token. A private chat: the chat
 * id is the customer.
 */
import { randomInt } from 'node:crypto';
import type { TelegramEndpoint } from './demo-endpoints';
import { postWebhook, type SignedWebhook } from './signed-webhook';

export interface TelegramMessage {
  chatId: number;
  firstName?: string;
  text: string;
  /** Telegram's ids; fresh ones when left out. */
  updateId?: number;
  messageId?: number;
}

const PATH = '/telegram/webhook';

export function telegramWebhook(endpoint: TelegramEndpoint, message: TelegramMessage): SignedWebhook {
  const update = {
    update_id: message.updateId ?? randomInt(1, 2 ** 31 - 1),
    message: {
      message_id: message.messageId ?? randomInt(1, 2 ** 31 - 1),
      date: Math.floor(Date.now() / 1000),
      from: { id: message.chatId, is_bot: false, ...(message.firstName ? { first_name: message.firstName } : {}) },
      chat: { id: message.chatId, type: 'private' },
      text: message.text,
    },
  };
  return {
    url: `${endpoint.url.replace(/\/$/, '')}${PATH}`,
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': endpoint.secretToken },
    body: JSON.stringify(update),
  };
}

/** Resolves once the adapter accepted the update. */
export async function sendTelegram(endpoint: TelegramEndpoint, message: TelegramMessage): Promise<void> {
  await postWebhook(telegramWebhook(endpoint, message), 'Telegram webhook');
}
