/**
 * The normalized inbound envelope, version 1: what every adapter and every other system publishes on
 * the `inbound` exchange as plain JSON (no NestJS `{pattern,data}` wrapper). The zod schema is the
 * single source: runtime validation at every edge, the TypeScript type, and the exported JSON Schema
 * all come from it.
 */
import { z } from 'zod';
import { CHANNELS, MODES } from './channel.constant';

export const ENVELOPE_VERSION = 1;

const id = (max: number) => z.string().min(1).max(max);

export const attachmentSchema = z
  .object({
    contentType: z.string().min(1).max(255).describe('MIME type, e.g. image/jpeg'),
    size: z.number().int().nonnegative().optional().describe('Size in bytes, when the provider says'),
    filename: z.string().max(1024).optional(),
    url: z.url().max(4096).optional().describe('Where the provider serves the file'),
    providerId: id(512).optional().describe("The provider's id for the media"),
  })
  .strict();

export const customerSchema = z
  .object({
    address: id(512).describe('The channel address: E.164 phone, email address, platform user id'),
    displayName: z.string().max(512).optional(),
    customerId: id(128).optional().describe('A known customer id from a CRM, when the sender knows it'),
  })
  .strict();

export const attributeValueSchema = z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]);

export const inboundEnvelopeSchema = z
  .object({
    version: z.literal(ENVELOPE_VERSION).describe('Envelope schema version'),
    messageId: z.uuid().describe("Our id for this message, chosen by the publisher; redelivery keeps it"),
    tenantId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .default('default'),
    channel: z.enum(CHANNELS),
    mode: z.enum(MODES).optional().describe("Overrides the channel's default mode"),
    direction: z.literal('inbound'),
    provider: z
      .object({
        messageId: id(512).describe("The provider's message id; with the channel, the dedupe key"),
        threadId: id(512).optional().describe("The provider's thread/conversation id, if it has one"),
        accountId: id(512).optional().describe('The provider account or number that received it'),
      })
      .strict(),
    customer: customerSchema,
    content: z
      .object({
        text: z.string().max(65_536).optional(),
        attachments: z.array(attachmentSchema).max(50).default([]),
      })
      .strict()
      .refine((content) => (content.text?.length ?? 0) > 0 || content.attachments.length > 0, {
        message: 'content needs text or at least one attachment',
      }),
    providerTimestamp: z.iso.datetime({ offset: true }).optional(),
    receivedAt: z.iso.datetime({ offset: true }),
    priority: z.number().int().min(0).max(100).default(0).describe('0 = normal, 100 = most urgent'),
    attributes: z.record(z.string().max(128), attributeValueSchema).default({}),
    correlationId: z.string().max(128).optional(),
  })
  .strict();

export type InboundEnvelope = z.output<typeof inboundEnvelopeSchema>;
export type InboundEnvelopeInput = z.input<typeof inboundEnvelopeSchema>;
