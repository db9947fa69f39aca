/**
 * Agent and supervisor commands the router accepts on the `commands` exchange (routing key
 * `command.<type>`), for the agent gateway and for UI backends that prefer AMQP. Every command
 * carries a `commandId`; the router processes each id once and answers with a `command-result`
 * event on the agent exchange.
 */
import { z } from 'zod';
import { CHANNELS } from './channel.constant';
import { AGENT_ID_PATTERN } from './topology.constant';

const base = {
  commandId: z.uuid(),
  tenantId: z.string().min(1).default('default'),
  agentId: z.string().regex(AGENT_ID_PATTERN),
  issuedAt: z.iso.datetime({ offset: true }).optional(),
  correlationId: z.string().max(128).optional(),
};

export const setPresenceCommandSchema = z
  .object({ ...base, type: z.literal('presence.set'), presence: z.enum(['online', 'away', 'offline']) })
  .strict();
export const heartbeatCommandSchema = z.object({ ...base, type: z.literal('presence.heartbeat') }).strict();
export const acceptOfferCommandSchema = z.object({ ...base, type: z.literal('offer.accept'), conversationId: z.uuid() }).strict();
export const declineOfferCommandSchema = z
  .object({ ...base, type: z.literal('offer.decline'), conversationId: z.uuid(), reason: z.string().max(500).optional() })
  .strict();
export const closeConversationCommandSchema = z
  .object({ ...base, type: z.literal('conversation.close'), conversationId: z.uuid(), wrapUp: z.string().max(2000).optional() })
  .strict();
export const releaseConversationCommandSchema = z
  .object({ ...base, type: z.literal('conversation.release'), conversationId: z.uuid() })
  .strict();
export const transferConversationCommandSchema = z
  .object({
    ...base,
    type: z.literal('conversation.transfer'),
    conversationId: z.uuid(),
    to: z.union([
      z.object({ agentId: z.string().regex(AGENT_ID_PATTERN) }).strict(),
      z.object({ queueId: z.string().min(1).max(64) }).strict(),
    ]),
  })
  .strict();

export const escalateConversationCommandSchema = z
  .object({ ...base, type: z.literal('conversation.escalate'), conversationId: z.uuid() })
  .strict()
  .describe('The holding agent turns an async thread into a live item (a call): kept if they have sync room');
export const setCapacityCommandSchema = z
  .object({
    ...base,
    type: z.literal('agent.capacity.set'),
    targetAgentId: z.string().regex(AGENT_ID_PATTERN),
    syncCap: z.number().int().min(0).max(100).nullable().optional().describe('null = inherit from queue/global'),
    asyncCap: z.number().int().min(0).max(100).nullable().optional().describe('null = inherit from queue/global'),
  })
  .strict()
  .describe('A supervisor (agentId) changes another agent\'s caps; raised room is used at once, lowering never revokes work');

const clientMessageId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/)
  .describe('Chosen by the client; the same id twice stores and sends one message');
const text = z.string().trim().min(1).max(10_000);

export const replyCommandSchema = z
  .object({ ...base, type: z.literal('conversation.reply'), conversationId: z.uuid(), clientMessageId, text })
  .strict()
  .describe('The holding agent answers the customer: stored, then sent on the conversation\'s channel');
export const noteCommandSchema = z
  .object({ ...base, type: z.literal('conversation.note'), conversationId: z.uuid(), clientMessageId, text })
  .strict()
  .describe('An internal note on the conversation, seen by agents only, never sent to the customer');
export const reassignCommandSchema = z
  .object({
    ...base,
    type: z.literal('conversation.reassign'),
    conversationId: z.uuid(),
    to: z.union([
      z.object({ agentId: z.string().regex(AGENT_ID_PATTERN) }).strict(),
      z.object({ queueId: z.string().min(1).max(64) }).strict(),
    ]),
  })
  .strict()
  .describe('A supervisor (agentId) moves a queued or held conversation to an agent (who must have room) or a queue');
export const setQueuesCommandSchema = z
  .object({
    ...base,
    type: z.literal('agent.queues.set'),
    targetAgentId: z.string().regex(AGENT_ID_PATTERN),
    queueIds: z.array(z.string().min(1).max(64)).max(100),
  })
  .strict()
  .describe('A supervisor (agentId) changes the queues another agent serves; held work stays with them');

export const CALL_END_REASONS = ['completed', 'abandoned', 'no-answer', 'busy', 'failed', 'canceled'] as const;
export const endConversationCommandSchema = z
  .object({
    ...base,
    type: z.literal('conversation.end'),
    channel: z.enum(CHANNELS),
    threadId: z.string().min(1).max(512).describe("The provider's thread id the conversation was opened with (a call's CallSid)"),
    reason: z.enum(CALL_END_REASONS),
  })
  .strict()
  .describe(
    'A channel ends a live item itself (agentId = the adapter): a caller who hangs up while queued is recorded as abandoned; ' +
      'an offered or held call closes, and the agent gets wrap-up time',
  );

export const botHandoffCommandSchema = z
  .object({
    ...base,
    type: z.literal('bot.handoff'),
    conversationId: z.uuid(),
    context: z
      .object({
        summary: z.string().max(4_000).optional(),
        attributes: z.record(z.string().max(128), z.union([z.string().max(4_096), z.number(), z.boolean(), z.null()])).default({}),
      })
      .strict()
      .default({ attributes: {} }),
  })
  .strict()
  .describe('A bot (agentId = the bot id) hands the conversation to a human, with what it gathered');
export const botReplyCommandSchema = z
  .object({ ...base, type: z.literal('bot.reply'), conversationId: z.uuid(), clientMessageId, text })
  .strict()
  .describe(
    'A bot (agentId = the bot id) answers the customer while the conversation is with it: stored in the history with sender ' +
      '`bot`, then sent on the conversation\'s channel. Refused `not_with_bot` once handed off or closed; the same ' +
      'clientMessageId again (even after the hand-off) returns the first message',
  );
export const botResolveCommandSchema = z
  .object({ ...base, type: z.literal('bot.resolve'), conversationId: z.uuid() })
  .strict()
  .describe('A bot answered the customer fully: the conversation closes without a human');

export const routerCommandSchema = z.discriminatedUnion('type', [
  setPresenceCommandSchema,
  heartbeatCommandSchema,
  acceptOfferCommandSchema,
  declineOfferCommandSchema,
  closeConversationCommandSchema,
  releaseConversationCommandSchema,
  transferConversationCommandSchema,
  escalateConversationCommandSchema,
  setCapacityCommandSchema,
  replyCommandSchema,
  noteCommandSchema,
  reassignCommandSchema,
  setQueuesCommandSchema,
  endConversationCommandSchema,
  botHandoffCommandSchema,
  botReplyCommandSchema,
  botResolveCommandSchema,
]);

export type RouterCommand = z.output<typeof routerCommandSchema>;
export type RouterCommandInput = z.input<typeof routerCommandSchema>;
export type CommandOf<T extends RouterCommand['type']> = Extract<RouterCommand, { type: T }>;
export const COMMAND_TYPES = routerCommandSchema.options.map((option) => option.shape.type.value);
