/**
 * Messenger and Instagram Direct through the Page's webhooks and the Send API. Both arrive on one
 * route and stay on the messenger channel (Instagram is marked in `attributes.platform`). Echoes of
 * the Page's own messages are dropped, or every reply would come back as a customer message;
 * delivery receipts name the messages they cover, read receipts only a per-conversation watermark,
 * so only the former become delivery statuses. Replies are allowed within 24 h of the customer's
 * last message; past that Meta refuses and the agent is told why.
 */
import { z } from 'zod';
import {
  defineAdapter,
  metaEnvSchema,
  metaWebhookRoutes,
  postToGraph,
  WebhookRejected,
  type StatusReport,
  type WebhookOutcome,
} from '@app/channel-kit';

const env = metaEnvSchema.extend({
  MESSENGER_PAGE_ACCESS_TOKEN: z.string().min(16, { error: 'expected the Page access token' }),
  MESSENGER_PAGE_ID: z.string().regex(/^\d{5,20}$/, { error: 'expected the numeric Facebook Page id' }),
});

const WINDOW_CLOSED =
  "outside the 24-hour messaging window: Messenger accepts a free-form reply only within 24 hours of the customer's last " +
  'message (Meta error 10/2018278); a human agent can still answer for up to 7 days with the HUMAN_AGENT message tag';

/** Meta's subcodes for "sent outside the allowed window" (Messenger, Instagram). */
const OUTSIDE_WINDOW = new Set([2018278, 2534022]);

/** Messenger names only the kind of file, never its exact type. */
const MEDIA_TYPES: Record<string, string | undefined> = {
  image: 'image/*',
  video: 'video/*',
  audio: 'audio/*',
  file: 'application/octet-stream',
};

interface Attachment {
  type?: string;
  payload?: { url?: string; title?: string; sticker_id?: number };
}

interface MessagingEvent {
  sender?: { id?: string };
  recipient?: { id?: string };
  timestamp?: number;
  message?: {
    mid?: string;
    text?: string;
    is_echo?: boolean;
    is_deleted?: boolean;
    attachments?: Attachment[];
    quick_reply?: { payload?: string };
    reply_to?: { mid?: string };
  };
  delivery?: { mids?: string[] };
}

interface Notification {
  object?: string;
  entry?: Array<{ messaging?: MessagingEvent[] }>;
}

type Message = NonNullable<Omit<WebhookOutcome, 'response'>['messages']>[number];

function fromMilliseconds(value: number | undefined): string | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? new Date(value).toISOString() : undefined;
}

function toMessage(event: MessagingEvent, platform: string): Message {
  const message = event.message!;
  const sender = event.sender?.id;
  if (!message.mid || !sender) throw new WebhookRejected(400, 'invalid_message', 'every message needs a mid and a sender id');
  const attributes: Record<string, string | number | boolean> = { platform };
  if (message.reply_to?.mid) attributes.replyTo = message.reply_to.mid;
  if (message.quick_reply?.payload) attributes.quickReplyPayload = message.quick_reply.payload;
  const attachments: NonNullable<Message['content']['attachments']> = [];
  const renderings: string[] = [];
  for (const attachment of message.attachments ?? []) {
    const contentType = MEDIA_TYPES[attachment.type ?? ''];
    const url = attachment.payload?.url;
    if (attachment.payload?.sticker_id !== undefined) attributes.stickerId = attachment.payload.sticker_id;
    if (contentType) attachments.push({ contentType, ...(url && URL.canParse(url) ? { url } : {}) });
    else renderings.push(`[${attachment.type ?? 'unknown'} attachment${attachment.payload?.title ? `: ${attachment.payload.title}` : ''}${url ? ` ${url}` : ''}]`);
  }
  const text = [message.text, ...renderings].filter(Boolean).join('\n');
  const providerTimestamp = fromMilliseconds(event.timestamp);
  return {
    provider: { messageId: message.mid, accountId: event.recipient?.id },
    customer: { address: sender },
    ...(providerTimestamp ? { providerTimestamp } : {}),
    content: { text: text || (attachments.length ? undefined : '[message without text or attachments]'), attachments },
    attributes,
  };
}

function normalize(body: unknown): Omit<WebhookOutcome, 'response'> {
  const notification = (body ?? {}) as Notification;
  if (notification.object !== 'page' && notification.object !== 'instagram') {
    throw new WebhookRejected(400, 'unexpected_object', 'expected a notification for object page or instagram');
  }
  const platform = notification.object === 'instagram' ? 'instagram' : 'messenger';
  const messages: Message[] = [];
  const statuses: StatusReport[] = [];
  for (const entry of notification.entry ?? []) {
    for (const event of entry.messaging ?? []) {
      const occurredAt = fromMilliseconds(event.timestamp);
      for (const mid of event.delivery?.mids ?? []) statuses.push({ providerMessageId: mid, status: 'delivered', ...(occurredAt ? { occurredAt } : {}) });
      // An unsent (deleted) Instagram message withdraws an earlier one; it is not a new message.
      if (!event.message || event.message.is_echo || event.message.is_deleted) continue;
      messages.push(toMessage(event, platform));
    }
  }
  return { messages, statuses };
}

export const messengerAdapter = defineAdapter({
  channel: 'messenger',
  env,
  create({ env: config }) {
    return {
      routes: metaWebhookRoutes({ path: '/meta/messenger', appSecret: config.META_APP_SECRET, verifyToken: config.META_VERIFY_TOKEN, normalize }),

      async send(item) {
        const answer = await postToGraph<{ message_id?: string }>({
          baseUrl: config.GRAPH_API_BASE_URL,
          version: config.GRAPH_API_VERSION,
          path: `/${config.MESSENGER_PAGE_ID}/messages`,
          accessToken: config.MESSENGER_PAGE_ACCESS_TOKEN,
          timeoutMs: config.SEND_TIMEOUT_MS,
          product: 'Messenger',
          body: { recipient: { id: item.to.address }, messaging_type: 'RESPONSE', message: { text: item.text } },
          explain: (error) => (error.code === 10 && OUTSIDE_WINDOW.has(error.error_subcode ?? -1) ? WINDOW_CLOSED : undefined),
        });
        return { providerMessageId: answer.message_id };
      },
    };
  },
});
