/**
 * What flows between the router and the channel adapters besides inbound envelopes:
 *   - agent replies for a channel's adapter (`outbound.<channel>`), next to customer notices; a bot's
 *     reply has the same shape (type `agent.reply`, `sender: 'bot'`), so every adapter sends it unchanged;
 *   - agent typing for a live channel (`outbound.<channel>`, transient: nothing is stored);
 *   - delivery statuses of sent replies from the adapter (`delivery.<channel>` on the inbound exchange);
 *   - customer typing from a live channel (`typing.<channel>` on the inbound exchange, transient).
 * A reply's `messageId` is the product's id; an adapter that sends it reports the provider's id for it
 * once (`providerMessageId` with status `sent`), and later statuses may name either id.
 */
import { z } from 'zod';
import { CHANNELS } from './channel.constant';

export const outboundMessageSchema = z.object({
  version: z.literal(1),
  type: z.literal('agent.reply'),
  messageId: z.uuid().describe('Idempotency key: an adapter sends one message per id, however often it is delivered'),
  occurredAt: z.iso.datetime({ offset: true }),
  tenantId: z.string(),
  conversationId: z.uuid(),
  channel: z.enum(CHANNELS),
  agentId: z.string().describe('The author: the agent, or the bot when `sender` is `bot`'),
  sender: z
    .enum(['agent', 'bot'])
    .optional()
    .describe("`bot`: a bot-first queue's bot wrote it (agentId is the bot's id), sent and reported like an agent reply; absent: an agent"),
  to: z.object({
    address: z.string().describe('The customer\'s address on the channel (phone number, chat id, email…)'),
    threadId: z.string().optional().describe('The provider\'s thread or conversation id, when it has one'),
    inReplyTo: z.string().optional().describe('The provider id of the customer\'s last message (email threading)'),
  }),
  text: z.string(),
  correlationId: z.string().optional(),
});

export const agentTypingSchema = z.object({
  version: z.literal(1),
  type: z.literal('agent.typing'),
  occurredAt: z.iso.datetime({ offset: true }),
  tenantId: z.string(),
  conversationId: z.uuid(),
  channel: z.enum(CHANNELS),
  to: z.object({ address: z.string(), threadId: z.string().optional() }),
  typing: z.boolean(),
});

export const DELIVERY_STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const deliveryStatusSchema = z
  .object({
    version: z.literal(1),
    tenantId: z.string().min(1).default('default'),
    channel: z.enum(CHANNELS),
    messageId: z.uuid().optional().describe('The reply\'s id, as received on outbound'),
    providerMessageId: z.string().min(1).max(256).optional().describe('The provider\'s id for the sent message'),
    status: z.enum(DELIVERY_STATUSES).exclude(['queued']),
    reason: z.string().max(1_000).optional().describe('Failed: the provider\'s reason, shown to the agent'),
    occurredAt: z.iso.datetime({ offset: true }),
  })
  .strict()
  .refine((value) => value.messageId !== undefined || value.providerMessageId !== undefined, {
    message: 'a delivery status names messageId or providerMessageId',
  });

export const customerTypingSchema = z
  .object({
    version: z.literal(1),
    tenantId: z.string().min(1).default('default'),
    conversationId: z.uuid(),
    typing: z.boolean(),
  })
  .strict();

export type OutboundMessage = z.output<typeof outboundMessageSchema>;
export type AgentTyping = z.output<typeof agentTypingSchema>;
export type DeliveryStatusUpdate = z.output<typeof deliveryStatusSchema>;
export type CustomerTyping = z.output<typeof customerTypingSchema>;
