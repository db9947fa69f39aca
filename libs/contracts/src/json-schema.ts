/**
 * JSON Schemas derived from the zod contracts, for systems that do not run TypeScript. The inbound
 * envelope is exported in its input form (what a publisher must send: defaults may be omitted); the
 * events in their output form (what a consumer receives).
 */
import { z } from 'zod';
import { inboundEnvelopeSchema } from './envelope.schema';
import { routerEventSchema } from './events.schema';
import { routerCommandSchema } from './commands.schema';
import { customerNoticeSchema } from './notices.schema';
import { agentTypingSchema, customerTypingSchema, deliveryStatusSchema, outboundMessageSchema } from './outbound.schema';

export type JsonSchema = Record<string, unknown>;

function toDraft7(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'throw' });
  return rest as JsonSchema;
}

export const jsonSchemas = {
  inboundEnvelope: () => ({ title: 'InboundEnvelopeV1', ...toDraft7(inboundEnvelopeSchema, 'input') }),
  routerEvent: () => ({ title: 'RouterEvent', ...toDraft7(routerEventSchema, 'output') }),
  routerCommand: () => ({ title: 'RouterCommand', ...toDraft7(routerCommandSchema, 'input') }),
  customerNotice: () => ({ title: 'CustomerNotice', ...toDraft7(customerNoticeSchema, 'output') }),
  outboundMessage: () => ({ title: 'OutboundMessage', ...toDraft7(outboundMessageSchema, 'output') }),
  agentTyping: () => ({ title: 'AgentTyping', ...toDraft7(agentTypingSchema, 'output') }),
  deliveryStatus: () => ({ title: 'DeliveryStatus', ...toDraft7(deliveryStatusSchema, 'input') }),
  customerTyping: () => ({ title: 'CustomerTyping', ...toDraft7(customerTypingSchema, 'input') }),
};
