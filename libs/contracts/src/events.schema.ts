/**
 * Events the router publishes: on the `agent` exchange for one agent's desktop, and on the `events`
 * exchange for other systems. A discriminated union on `type`; the routing key carries the same name.
 */
import { z } from 'zod';
import { CHANNELS, MODES } from './channel.constant';

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
  messageId: z.uuid().describe('The message that caused the assignment'),
  customer: z.object({ customerId: z.uuid(), displayName: z.string().optional() }),
});

export const agentMessageEventSchema = z.object({
  ...base,
  type: z.literal('agent.message'),
  agentId: z.string(),
  channel: z.enum(CHANNELS),
  messageId: z.uuid(),
});

export const conversationEventSchema = z.object({
  ...base,
  type: z.enum(['conversation.created', 'conversation.queued', 'conversation.assigned']),
  channel: z.enum(CHANNELS),
  mode: z.enum(MODES),
  agentId: z.string().optional(),
});

export const routerEventSchema = z.discriminatedUnion('type', [
  agentAssignedEventSchema,
  agentMessageEventSchema,
  conversationEventSchema,
]);

export type AgentAssignedEvent = z.output<typeof agentAssignedEventSchema>;
export type AgentMessageEvent = z.output<typeof agentMessageEventSchema>;
export type ConversationEvent = z.output<typeof conversationEventSchema>;
export type RouterEvent = z.output<typeof routerEventSchema>;
