/**
 * A WhatsApp customer as Meta's Cloud API delivers them: a `whatsapp_business_account` notification
 * to the WhatsApp adapter, signed with the channel kit's `metaSignature` (X-Hub-Signature-256).
 */
import { randomBytes } from 'node:crypto';
import { metaSignature } from '@app/channel-kit';
import type { WhatsAppEndpoint } from './demo-endpoints';
import { postWebhook, type SignedWebhook } from './signed-webhook';

export interface WhatsAppMessage {
  /** The customer's WhatsApp id: their number in digits, without `+`. */
  from: string;
  /** The profile name agents see. */
  name?: string;
  text: string;
  /** Meta's message id (wamid…); a fresh one when left out. */
  id?: string;
}

const PATH = '/meta/whatsapp';

export function whatsAppWebhook(endpoint: WhatsAppEndpoint, message: WhatsAppMessage): SignedWebhook {
  const id = message.id ?? `wamid.${randomBytes(24).toString('base64url')}`;
  const notification = {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '0',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: endpoint.phoneNumberId, phone_number_id: endpoint.phoneNumberId },
              contacts: [{ wa_id: message.from, ...(message.name ? { profile: { name: message.name } } : {}) }],
              messages: [{ from: message.from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: message.text } }],
            },
          },
        ],
      },
    ],
  };
  const body = JSON.stringify(notification);
  return {
    url: `${endpoint.url.replace(/\/$/, '')}${PATH}`,
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(endpoint.appSecret, body) },
    body,
  };
}

/** Resolves once the adapter accepted the notification. */
export async function sendWhatsApp(endpoint: WhatsAppEndpoint, message: WhatsAppMessage): Promise<{ id: string }> {
  const webhook = whatsAppWebhook(endpoint, message);
  await postWebhook(webhook, 'WhatsApp webhook');
  const parsed = JSON.parse(webhook.body) as { entry: Array<{ changes: Array<{ value: { messages: Array<{ id: string }> } }> }> };
  return { id: parsed.entry[0].changes[0].value.messages[0].id };
}
