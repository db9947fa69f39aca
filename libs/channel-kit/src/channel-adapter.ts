/**
 * What a channel adapter is: a set of webhook routes that verify and normalize a provider's requests,
 * and a sender that calls the provider's API. Everything else — raw-body capture, publishing with
 * confirms before answering, deduplication, the outbound queue, idempotent sends, retries with
 * backoff, delivery statuses, health and metrics — is the kit's, the same for every channel.
 */
import type { Server as HttpServer } from 'node:http';
import type { z } from 'zod';
import type { Channel, DeliveryStatus, InboundEnvelopeInput } from '@app/contracts';
import type { AmqpConnection, Publisher } from '@app/messaging';
import type { AdapterEnv } from './adapter.config';

export interface WebhookRequest {
  method: string;
  /** The public URL the provider called (PUBLIC_BASE_URL + path + query), as providers sign it. */
  publicUrl: string;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  /** The body exactly as received: signatures are checked over these bytes, never a re-serialization. */
  rawBody: Buffer;
  query: Record<string, string>;
}

export interface WebhookResponse {
  status: number;
  contentType?: string;
  body?: string;
}

/** A delivery status as a provider reports it, before the kit adds tenant, channel and version. */
export interface StatusReport {
  messageId?: string;
  providerMessageId?: string;
  status: Exclude<DeliveryStatus, 'queued'>;
  reason?: string;
  occurredAt?: string;
}

export interface WebhookOutcome {
  /** Customer messages to publish (the kit fills tenantId, channel, version, receivedAt, messageId). */
  messages?: Array<Omit<InboundEnvelopeInput, 'version' | 'channel' | 'direction' | 'messageId' | 'receivedAt'> & { receivedAt?: string }>;
  statuses?: StatusReport[];
  /** Sent only after everything above is confirmed by the broker. */
  response: WebhookResponse;
}

/** A request the adapter refuses: the kit answers with this status and a JSON error, and publishes nothing. */
export class WebhookRejected extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookRejected';
  }
}

export interface WebhookRoute {
  method: 'GET' | 'POST';
  path: string;
  handle(request: WebhookRequest): Promise<WebhookOutcome> | WebhookOutcome;
}

/** What the kit hands the sender: an agent reply or a customer notice, already validated. */
export interface OutboundItem {
  kind: 'reply' | 'notice';
  /** The reply's message id or the notice id: the idempotency key. */
  id: string;
  tenantId: string;
  conversationId: string;
  to: { address: string; threadId?: string; inReplyTo?: string };
  text: string;
}

export interface SendResult {
  providerMessageId?: string;
}

/** Worth retrying (5xx, timeouts, 429): the kit backs off, or waits `retryAfterMs` when the provider says. */
export class TemporarySendFailure extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TemporarySendFailure';
  }
}

/** Never worth retrying (4xx, a closed messaging window): becomes a failed-delivery event with this reason. */
export class PermanentSendFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'PermanentSendFailure';
  }
}

export interface AdapterRuntime {
  routes: WebhookRoute[];
  send(item: OutboundItem): Promise<SendResult>;
  /**
   * For adapters that serve more than webhooks (the SMTP server, web chat's socket.io server on the
   * same HTTP server): started after the app listens, stopped before it closes.
   */
  start?(context: { httpServer: HttpServer }): Promise<void>;
  stop?(): Promise<void>;
}

export interface AdapterContext<Env> {
  /** The adapter's own settings and the kit's (PUBLIC_BASE_URL, TENANT_ID, SEND_TIMEOUT_MS…). */
  env: Env & AdapterEnv;
  /** Publishes a customer message as a webhook would (for non-HTTP inbound such as SMTP); resolves once confirmed. */
  ingest(outcome: Omit<WebhookOutcome, 'response'>): Promise<void>;
  /**
   * The process's one broker connection (its setups re-run after every reconnect, and readiness
   * follows it) and its confirmed publisher, for adapters that consume or publish more than the kit does.
   */
  broker: { connection: AmqpConnection; publisher: Publisher };
}

export interface ChannelAdapter<Schema extends z.ZodObject = z.ZodObject> {
  channel: Channel;
  /** The adapter's own environment variables (provider credentials, base URLs). */
  env: Schema;
  create(context: AdapterContext<z.output<Schema>>): AdapterRuntime;
}

export function defineAdapter<Schema extends z.ZodObject>(adapter: ChannelAdapter<Schema>): ChannelAdapter<Schema> {
  return adapter;
}
