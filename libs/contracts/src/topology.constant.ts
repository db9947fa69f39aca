/**
 * Exchange names, routing keys and queue names: the AMQP contract's vocabulary. Everything that
 * publishes or binds takes its names from here, and the AsyncAPI document is generated from it.
 */
import type { Channel } from './channel.constant';

export const EXCHANGES = {
  /**
   * Normalized customer messages from adapters and other systems: `inbound.<channel>`; delivery
   * statuses of replies: `delivery.<channel>`; customer typing (transient): `typing.<channel>`.
   */
  inbound: 'inbound',
  /** Agent replies and customer notices for a channel's adapter: `outbound.<channel>`. */
  outbound: 'outbound',
  /** Events for one agent's desktop: `agent.<agentId>.<event>`. */
  agent: 'agent',
  /** Conversation lifecycle events for other systems: `conversation.<event>`. */
  events: 'events',
  /** Conversations handed to a bot first (queues with bot-first): `bot.<channel>`. */
  bot: 'bot',
  /** Agent and supervisor commands for the router: `command.<type>`. */
  commands: 'commands',
  /** Messages a consumer gave up on, routed by the name of the queue they came from. */
  deadLetter: 'dead-letter',
} as const;

export type ExchangeName = (typeof EXCHANGES)[keyof typeof EXCHANGES];

export const QUEUES = {
  /** The router's work queue: every `inbound.*` envelope. */
  routerInbound: 'router.inbound',
  /** The router's command queue: every `command.*`. */
  routerCommands: 'router.commands',
  /** Delivery statuses of replies, from adapters: every `delivery.*` on the inbound exchange. */
  routerDelivery: 'router.delivery',
} as const;

/** A channel adapter's work queue: every `outbound.<channel>` (agent replies, notices, typing). */
export const adapterOutboundQueue = (channel: Channel) => `adapter.${channel}.outbound`;

export const AGENT_EVENTS = [
  'offer',
  'offer-withdrawn',
  'assigned',
  'message',
  'revoked',
  'delivery',
  'command-result',
] as const;
export type AgentEventName = (typeof AGENT_EVENTS)[number];

export const CONVERSATION_EVENTS = [
  'created',
  'queued',
  'assigned',
  'closed',
  'reopened',
  'transferred',
  'downgraded',
  'escalated',
  'bot-started',
  'handed-off',
] as const;
export type ConversationEventName = (typeof CONVERSATION_EVENTS)[number];

/** Agent ids travel inside routing keys, so they may not contain the topic separator or wildcards. */
export const AGENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Queue ids (per tenant), as the queues table's check constraint allows them. */
export const QUEUE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export const routingKeys = {
  inbound: (channel: Channel) => `inbound.${channel}`,
  inboundAll: 'inbound.*',
  delivery: (channel: Channel) => `delivery.${channel}`,
  deliveryAll: 'delivery.*',
  typing: (channel: Channel) => `typing.${channel}`,
  typingAll: 'typing.*',
  outbound: (channel: Channel) => `outbound.${channel}`,
  agent: (agentId: string, event: AgentEventName) => `agent.${agentId}.${event}`,
  agentAll: 'agent.#',
  conversation: (event: ConversationEventName) => `conversation.${event}`,
  command: (type: string) => `command.${type}`,
  bot: (channel: Channel) => `bot.${channel}`,
  commandAll: 'command.#',
} as const;

/** AMQP headers this product sets and reads. */
export const HEADERS = {
  correlationId: 'x-correlation-id',
  deadLetterReason: 'x-dead-letter-reason',
  deadLetterCode: 'x-dead-letter-code',
  originalExchange: 'x-original-exchange',
  originalRoutingKey: 'x-original-routing-key',
  /** Set by RabbitMQ on quorum queues: how many times this message was delivered before. */
  deliveryCount: 'x-delivery-count',
} as const;
