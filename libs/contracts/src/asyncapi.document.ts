/**
 * The AsyncAPI 3 document of the router's AMQP contract, generated from the constants and schemas in
 * this library so that the document cannot drift from the code. `npm run contracts` writes it to
 * docs/asyncapi.json; a test checks the committed file is current and valid.
 */
import { AGENT_EVENTS, CONVERSATION_EVENTS, EXCHANGES, HEADERS, QUEUES } from './topology.constant';
import { COMMAND_TYPES } from './commands.schema';
import { CHANNELS } from './channel.constant';
import { jsonSchemas } from './json-schema';

const AMQP_BINDING_VERSION = '0.3.0';

const topicExchange = (name: string) => ({
  amqp: {
    is: 'routingKey',
    exchange: { name, type: 'topic', durable: true, autoDelete: false, vhost: '/' },
    bindingVersion: AMQP_BINDING_VERSION,
  },
});

const headers = {
  type: 'object',
  properties: {
    [HEADERS.correlationId]: {
      type: 'string',
      description: 'Carried end to end; the router copies it onto every event it causes',
    },
  },
};

const message = (name: string, title: string, summary: string, payload: Record<string, unknown>) => ({
  name,
  title,
  summary,
  contentType: 'application/json',
  headers,
  payload,
  bindings: { amqp: { messageType: name, bindingVersion: AMQP_BINDING_VERSION } },
});

export function buildAsyncApiDocument(version: string): Record<string, unknown> {
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Channel router AMQP contract',
      version,
      description: [
        'How other systems talk to the channel router over RabbitMQ.',
        'Publish plain JSON envelopes (no framework wrapper) with a routing key; publish persistent',
        'messages with publisher confirms and `mandatory`. Every work queue is a quorum queue with a',
        'delivery limit and a dead-letter queue: a message that fails validation is dead-lettered with',
        `the reason in the \`${HEADERS.deadLetterReason}\` header.`,
      ].join(' '),
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: '127.0.0.1:5672',
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        description: 'Local RabbitMQ (guest/guest) started by the README',
      },
    },
    channels: {
      inbound: {
        address: 'inbound.{channel}',
        title: `Exchange \`${EXCHANGES.inbound}\``,
        description: `Normalized customer messages. The router consumes them from the \`${QUEUES.routerInbound}\` queue.`,
        parameters: {
          channel: { enum: [...CHANNELS], description: 'The channel the message arrived on' },
        },
        messages: { inboundEnvelope: { $ref: '#/components/messages/InboundEnvelope' } },
        bindings: topicExchange(EXCHANGES.inbound),
      },
      delivery: {
        address: 'delivery.{channel}',
        title: `Exchange \`${EXCHANGES.inbound}\``,
        description: `Delivery statuses of agent replies, from the channel's adapter. The router consumes them from \`${QUEUES.routerDelivery}\`; a status never moves a message backwards.`,
        parameters: { channel: { enum: [...CHANNELS] } },
        messages: { deliveryStatus: { $ref: '#/components/messages/DeliveryStatus' } },
        bindings: topicExchange(EXCHANGES.inbound),
      },
      typing: {
        address: 'typing.{channel}',
        title: `Exchange \`${EXCHANGES.inbound}\``,
        description: 'Customer typing on a live channel, for the holding agent\'s desktop (transient, not stored).',
        parameters: { channel: { enum: [...CHANNELS] } },
        messages: { customerTyping: { $ref: '#/components/messages/CustomerTyping' } },
        bindings: topicExchange(EXCHANGES.inbound),
      },
      outbound: {
        address: 'outbound.{channel}',
        title: `Exchange \`${EXCHANGES.outbound}\``,
        description:
          "What a channel's adapter sends to the customer: agent and bot replies (send each messageId once), customer notices " +
          'from the router, and agent typing on live channels (transient).',
        parameters: { channel: { enum: [...CHANNELS] } },
        messages: {
          outboundMessage: { $ref: '#/components/messages/OutboundMessage' },
          customerNotice: { $ref: '#/components/messages/CustomerNotice' },
          agentTyping: { $ref: '#/components/messages/AgentTyping' },
        },
        bindings: topicExchange(EXCHANGES.outbound),
      },
      bot: {
        address: 'bot.{channel}',
        title: `Exchange \`${EXCHANGES.bot}\``,
        description:
          'Bot-first queues: the router hands new conversations (and the customer messages that follow) to a bot. ' +
          'The bot answers the customer with `bot.reply` (stored in the conversation history with sender `bot` and sent on ' +
          '`outbound.<channel>`, so the agent who takes over sees it) and ends with `bot.handoff` (with a summary and ' +
          'attributes for the agent) or `bot.resolve`; ' +
          "a customer message the bot leaves unanswered (no `bot.reply`) for the queue's bot timeout hands the conversation off " +
          'automatically; a reply stops that clock until the customer writes again.',
        parameters: { channel: { enum: [...CHANNELS] } },
        messages: { routerEvent: { $ref: '#/components/messages/RouterEvent' } },
        bindings: topicExchange(EXCHANGES.bot),
      },
      agentEvents: {
        address: 'agent.{agentId}.{event}',
        title: `Exchange \`${EXCHANGES.agent}\``,
        description: "Events for one agent's desktop; the agent gateway and UI backends bind `agent.<id>.#`.",
        parameters: {
          agentId: { description: 'The agent id' },
          event: { enum: [...AGENT_EVENTS] },
        },
        messages: { routerEvent: { $ref: '#/components/messages/RouterEvent' } },
        bindings: topicExchange(EXCHANGES.agent),
      },
      conversationEvents: {
        address: 'conversation.{event}',
        title: `Exchange \`${EXCHANGES.events}\``,
        description: 'Conversation lifecycle events for CRMs, analytics and other systems.',
        parameters: { event: { enum: [...CONVERSATION_EVENTS] } },
        messages: { routerEvent: { $ref: '#/components/messages/RouterEvent' } },
        bindings: topicExchange(EXCHANGES.events),
      },
      commands: {
        address: 'command.{type}',
        title: `Exchange \`${EXCHANGES.commands}\``,
        description: `Agent, supervisor and bot commands (presence, accept, decline, reply, note, close, release, transfer, escalate, reassign, caps, queues; bot reply, hand-off, resolve). The router consumes them from \`${QUEUES.routerCommands}\`, processes each commandId once and answers with \`agent.<agentId>.command-result\`.`,
        parameters: { type: { enum: [...COMMAND_TYPES] } },
        messages: { routerCommand: { $ref: '#/components/messages/RouterCommand' } },
        bindings: topicExchange(EXCHANGES.commands),
      },
      deadLetter: {
        address: QUEUES.routerInbound,
        title: `Exchange \`${EXCHANGES.deadLetter}\``,
        description: `Messages the router gave up on, routed by source queue name into \`${QUEUES.routerInbound}.dlq\`.`,
        messages: { inboundEnvelope: { $ref: '#/components/messages/InboundEnvelope' } },
        bindings: topicExchange(EXCHANGES.deadLetter),
      },
    },
    operations: {
      receiveInbound: {
        action: 'receive',
        title: 'The router consumes inbound envelopes',
        channel: { $ref: '#/channels/inbound' },
        messages: [{ $ref: '#/channels/inbound/messages/inboundEnvelope' }],
      },
      receiveCommand: {
        action: 'receive',
        title: 'The router carries out agent commands',
        channel: { $ref: '#/channels/commands' },
        messages: [{ $ref: '#/channels/commands/messages/routerCommand' }],
      },
      receiveDeliveryStatus: {
        action: 'receive',
        title: 'The router records delivery statuses and tells the agent',
        channel: { $ref: '#/channels/delivery' },
        messages: [{ $ref: '#/channels/delivery/messages/deliveryStatus' }],
      },
      receiveCustomerTyping: {
        action: 'receive',
        title: 'The agent gateway shows customer typing to the holding agent',
        channel: { $ref: '#/channels/typing' },
        messages: [{ $ref: '#/channels/typing/messages/customerTyping' }],
      },
      sendReply: {
        action: 'send',
        title: 'The router hands agent replies and typing to the channel adapter',
        channel: { $ref: '#/channels/outbound' },
        messages: [
          { $ref: '#/channels/outbound/messages/outboundMessage' },
          { $ref: '#/channels/outbound/messages/agentTyping' },
        ],
      },
      sendCustomerNotice: {
        action: 'send',
        title: 'The router asks the channel adapter to tell the customer where they stand',
        channel: { $ref: '#/channels/outbound' },
        messages: [{ $ref: '#/channels/outbound/messages/customerNotice' }],
      },
      sendToBot: {
        action: 'send',
        title: 'The router hands a bot-first conversation to a bot',
        channel: { $ref: '#/channels/bot' },
        messages: [{ $ref: '#/channels/bot/messages/routerEvent' }],
      },
      sendAgentEvent: {
        action: 'send',
        title: 'The router tells an agent about offers, assignments and messages',
        channel: { $ref: '#/channels/agentEvents' },
        messages: [{ $ref: '#/channels/agentEvents/messages/routerEvent' }],
      },
      sendConversationEvent: {
        action: 'send',
        title: 'The router announces conversation lifecycle changes',
        channel: { $ref: '#/channels/conversationEvents' },
        messages: [{ $ref: '#/channels/conversationEvents/messages/routerEvent' }],
      },
      sendDeadLetter: {
        action: 'send',
        title: 'The router dead-letters envelopes it cannot process, with the reason',
        channel: { $ref: '#/channels/deadLetter' },
        messages: [{ $ref: '#/channels/deadLetter/messages/inboundEnvelope' }],
      },
    },
    components: {
      messages: {
        InboundEnvelope: message(
          'InboundEnvelope',
          'Inbound envelope v1',
          'A customer message normalized from any channel',
          jsonSchemas.inboundEnvelope(),
        ),
        RouterEvent: message('RouterEvent', 'Router event', 'An assignment or lifecycle event', jsonSchemas.routerEvent()),
        RouterCommand: message('RouterCommand', 'Router command', 'An agent command', jsonSchemas.routerCommand()),
        OutboundMessage: message('OutboundMessage', 'Agent reply', 'An agent (or bot) reply for the customer', jsonSchemas.outboundMessage()),
        AgentTyping: message('AgentTyping', 'Agent typing', 'The agent is typing (live channels)', jsonSchemas.agentTyping()),
        DeliveryStatus: message('DeliveryStatus', 'Delivery status', 'Sent, delivered, read or failed', jsonSchemas.deliveryStatus()),
        CustomerTyping: message('CustomerTyping', 'Customer typing', 'The customer is typing (live channels)', jsonSchemas.customerTyping()),
        CustomerNotice: message('CustomerNotice', 'Customer notice', 'Position, expected wait or reply time, after-hours', jsonSchemas.customerNotice()),
      },
    },
  };
}
