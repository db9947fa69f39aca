/**
 * WhatsApp through Meta's Cloud API. Notifications are batched and unordered: every message in
 * every entry and change becomes one envelope (deduped on its wamid), every status a delivery
 * status. Message types without text (locations, reactions, button taps) are carried as a short
 * text rendering, so the agent sees every customer action. Free text can only be sent within 24 h
 * of the customer's last message; past that Meta answers 131047 (synchronously or in a failed
 * status) and the agent is told a template is needed.
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
  WHATSAPP_ACCESS_TOKEN: z.string().min(16, { error: 'expected a WhatsApp Cloud API access token' }),
  WHATSAPP_PHONE_NUMBER_ID: z.string().regex(/^\d{5,20}$/, { error: 'expected the numeric phone number id of the WhatsApp business number' }),
});

const WINDOW_CLOSED =
  "the customer's 24-hour WhatsApp window has closed (their last message is more than 24 hours old), so free-form text " +
  'cannot be delivered; send an approved message template to re-engage them (WhatsApp error 131047)';

const STATUS: Record<string, StatusReport['status'] | undefined> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
};

const MEDIA = ['image', 'video', 'audio', 'document', 'sticker'] as const;

interface Media {
  id?: string;
  mime_type?: string;
  caption?: string;
  filename?: string;
}

interface WhatsAppError {
  code?: number;
  title?: string;
  message?: string;
  error_data?: { details?: string };
}

interface WhatsAppMessage extends Partial<Record<(typeof MEDIA)[number], Media>> {
  from?: string;
  id?: string;
  timestamp?: string;
  type?: string;
  text?: { body?: string };
  location?: { latitude?: number; longitude?: number; name?: string; address?: string };
  reaction?: { message_id?: string; emoji?: string };
  interactive?: { type?: string; button_reply?: { id?: string; title?: string }; list_reply?: { id?: string; title?: string } };
  button?: { text?: string; payload?: string };
  context?: { id?: string; forwarded?: boolean };
}

interface WhatsAppStatus {
  id?: string;
  status?: string;
  timestamp?: string;
  errors?: WhatsAppError[];
}

interface Notification {
  object?: string;
  entry?: Array<{
    changes?: Array<{
      field?: string;
      value?: {
        metadata?: { phone_number_id?: string };
        contacts?: Array<{ wa_id?: string; profile?: { name?: string } }>;
        messages?: WhatsAppMessage[];
        statuses?: WhatsAppStatus[];
      };
    }>;
  }>;
}

type Message = NonNullable<Omit<WebhookOutcome, 'response'>['messages']>[number];
type Attributes = Record<string, string | number | boolean>;

function fromUnixSeconds(value: string | undefined): string | undefined {
  const seconds = Number(value);
  return value && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : undefined;
}

/** What the agent reads for each message type; attributes keep what a text rendering would lose. */
function render(message: WhatsAppMessage): Pick<Message, 'content'> & { attributes: Attributes } {
  const attributes: Attributes = { messageType: message.type ?? 'unknown' };
  if (message.context?.id) attributes.replyTo = message.context.id;
  if (message.context?.forwarded) attributes.forwarded = true;
  const media = MEDIA.find((type) => type === message.type);
  if (media) {
    const file = message[media] ?? {};
    const attachment = { contentType: file.mime_type ?? 'application/octet-stream', providerId: file.id, filename: file.filename };
    return { content: { text: file.caption, attachments: [attachment] }, attributes };
  }
  let text: string | undefined;
  if (message.type === 'text') text = message.text?.body;
  else if (message.type === 'location' && message.location) {
    const { latitude, longitude, name, address } = message.location;
    if (typeof latitude === 'number' && typeof longitude === 'number') Object.assign(attributes, { latitude, longitude });
    text = `Shared a location: ${[name, address, `${latitude}, ${longitude}`].filter(Boolean).join(' — ')}`;
  } else if (message.type === 'reaction' && message.reaction) {
    if (message.reaction.message_id) attributes.reactionTo = message.reaction.message_id;
    text = message.reaction.emoji ? `Reacted ${message.reaction.emoji} to a message` : 'Removed a reaction';
  } else if (message.type === 'interactive') {
    const choice = message.interactive?.button_reply ?? message.interactive?.list_reply;
    if (choice?.id) attributes.choiceId = choice.id;
    text = choice?.title ? `Chose: ${choice.title}` : undefined;
  } else if (message.type === 'button') {
    if (message.button?.payload) attributes.buttonPayload = message.button.payload;
    text = message.button?.text ? `Tapped: ${message.button.text}` : undefined;
  }
  return { content: { text: text || `[${message.type ?? 'unknown'} message, not supported by this adapter]`, attachments: [] }, attributes };
}

function failureReason(errors: WhatsAppError[] | undefined): string {
  const error = errors?.[0];
  if (!error) return 'WhatsApp reported the message as failed without a reason';
  if (error.code === 131047) return WINDOW_CLOSED;
  const details = error.error_data?.details;
  return `WhatsApp error ${error.code ?? 'unknown'}: ${error.title ?? error.message ?? 'no title'}${details ? ` — ${details}` : ''}`.slice(0, 1000);
}

function normalize(body: unknown): Omit<WebhookOutcome, 'response'> {
  const notification = (body ?? {}) as Notification;
  if (notification.object !== 'whatsapp_business_account') {
    throw new WebhookRejected(400, 'unexpected_object', 'expected a notification for object whatsapp_business_account');
  }
  const messages: Message[] = [];
  const statuses: StatusReport[] = [];
  for (const entry of notification.entry ?? []) {
    // Other fields (template and account updates) are acknowledged and not published.
    for (const change of (entry.changes ?? []).filter((item) => item.field === 'messages')) {
      const value = change.value ?? {};
      const names = new Map((value.contacts ?? []).map((contact) => [contact.wa_id, contact.profile?.name]));
      for (const message of value.messages ?? []) {
        if (!message.id || !message.from) throw new WebhookRejected(400, 'invalid_message', 'every message needs an id and a from');
        const displayName = names.get(message.from);
        const providerTimestamp = fromUnixSeconds(message.timestamp);
        messages.push({
          provider: { messageId: message.id, accountId: value.metadata?.phone_number_id },
          customer: { address: message.from, ...(displayName ? { displayName } : {}) },
          ...(providerTimestamp ? { providerTimestamp } : {}),
          ...render(message),
        });
      }
      for (const update of value.statuses ?? []) {
        const status = STATUS[update.status ?? ''];
        if (!status || !update.id) continue;
        const occurredAt = fromUnixSeconds(update.timestamp);
        statuses.push({
          providerMessageId: update.id,
          status,
          ...(status === 'failed' ? { reason: failureReason(update.errors) } : {}),
          ...(occurredAt ? { occurredAt } : {}),
        });
      }
    }
  }
  return { messages, statuses };
}

export const whatsappAdapter = defineAdapter({
  channel: 'whatsapp',
  env,
  create({ env: config }) {
    return {
      routes: metaWebhookRoutes({ path: '/meta/whatsapp', appSecret: config.META_APP_SECRET, verifyToken: config.META_VERIFY_TOKEN, normalize }),

      async send(item) {
        const answer = await postToGraph<{ messages?: Array<{ id?: string }> }>({
          baseUrl: config.GRAPH_API_BASE_URL,
          version: config.GRAPH_API_VERSION,
          path: `/${config.WHATSAPP_PHONE_NUMBER_ID}/messages`,
          accessToken: config.WHATSAPP_ACCESS_TOKEN,
          timeoutMs: config.SEND_TIMEOUT_MS,
          product: 'WhatsApp',
          body: { messaging_product: 'whatsapp', to: item.to.address, type: 'text', text: { body: item.text } },
          explain: (error) => (error.code === 131047 || /re-engagement message/i.test(error.message ?? '') ? WINDOW_CLOSED : undefined),
        });
        return { providerMessageId: answer.messages?.[0]?.id };
      },
    };
  },
});
