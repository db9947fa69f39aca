/**
 * Events the router publishes: on the `agent` exchange for one agent's desktop, and on the `events`
 * exchange for other systems. A discriminated union on `type`; the routing key carries the same name.
 */
import { z } from 'zod';
import { CHANNELS, MODES } from './channel.constant';
import { DELIVERY_STATUSES } from './outbound.schema';
import { CONVERSATION_EVENTS, type ConversationEventName } from './topology.constant';

const base = {
  eventId: z.uuid(),
  occurredAt: z.iso.datetime({ offset: true }),
  tenantId: z.string(),
  conversationId: z.uuid(),
  correlationId: z.string().optional(),
};

export const agentAssignedEventSchema = z.object({
  ...base,
  type: z.literal('agent.assigned'),
  agentId: z.string(),
  channel: z.enum(CHANNELS),
  mode: z.enum(MODES),
  via: z
    .enum(['routing', 'sticky', 'offer', 'transfer', 'escalation'])
    .describe('How the agent got it: chosen, returned to, accepted, transferred to them (history and context come with it), or escalated to a call they kept'),
});

export const agentMessageEventSchema = z.object({
  ...base,
  type: z.literal('agent.message'),
  agentId: z.string(),
  channel: z.enum(CHANNELS),
  messageId: z.uuid(),
  sender: z.enum(['customer', 'agent', 'bot', 'system']).optional().describe('Absent means customer'),
  direction: z.enum(['inbound', 'outbound', 'internal']).optional().describe('internal = a note; absent means inbound'),
});

export const agentDeliveryEventSchema = z.object({
  ...base,
  type: z.literal('agent.delivery'),
  agentId: z.string(),
  channel: z.enum(CHANNELS),
  messageId: z.uuid(),
  status: z.enum(DELIVERY_STATUSES),
  reason: z.string().optional().describe('Failed: why, in the provider\'s words'),
});

export const agentRoutingEventSchema = z.object({
  ...base,
  type: z.enum(['agent.offer', 'agent.offer-withdrawn', 'agent.revoked']),
  agentId: z.string(),
  channel: z.enum(CHANNELS),
  mode: z.enum(MODES),
  expiresAt: z.iso.datetime({ offset: true }).optional().describe('Offers: when the offer lapses'),
  reason: z.string().optional().describe('Withdrawals and revocations: declined, timeout, closed, transferred…'),
});

export const commandResultEventSchema = z.object({
  eventId: z.uuid(),
  occurredAt: z.iso.datetime({ offset: true }),
  tenantId: z.string(),
  type: z.literal('agent.command-result'),
  agentId: z.string(),
  commandId: z.uuid(),
  command: z.string(),
  ok: z.boolean(),
  code: z.string().optional(),
  message: z.string().optional(),
  data: z
    .unknown()
    .optional()
    .describe(
      'What the command did, by command: conversation.close → {handed: [ids of the conversations the freed capacity went to at once]}; release, transfer and escalate → the routing result {status, agentId}',
    ),
});

export const botMessageEventSchema = z.object({
  eventId: z.uuid(),
  occurredAt: z.iso.datetime({ offset: true }),
  tenantId: z.string(),
  conversationId: z.uuid(),
  correlationId: z.string().optional(),
  type: z.literal('bot.message'),
  channel: z.enum(CHANNELS),
  messageId: z.uuid().describe('The customer message for the bot to read'),
});

export const conversationEventSchema = z.object({
  ...base,
  type: z.enum(CONVERSATION_EVENTS.map((name) => `conversation.${name}` as const) as [`conversation.${ConversationEventName}`, ...Array<`conversation.${ConversationEventName}`>]),
  channel: z.enum(CHANNELS),
  mode: z.enum(MODES),
  agentId: z.string().optional(),
});

export const routerEventSchema = z.discriminatedUnion('type', [
  agentAssignedEventSchema,
  agentMessageEventSchema,
  agentDeliveryEventSchema,
  agentRoutingEventSchema,
  commandResultEventSchema,
  botMessageEventSchema,
  conversationEventSchema,
]);

export type AgentAssignedEvent = z.output<typeof agentAssignedEventSchema>;
export type AgentMessageEvent = z.output<typeof agentMessageEventSchema>;
export type AgentDeliveryEvent = z.output<typeof agentDeliveryEventSchema>;
export type ConversationEvent = z.output<typeof conversationEventSchema>;
export type RouterEvent = z.output<typeof routerEventSchema>;
