/** Fixture factories: tests build envelopes here instead of copying literals around. */
import { randomInt, randomUUID } from 'node:crypto';
import type { InboundEnvelopeInput } from '@app/contracts';

let sequence = 0;

/** An E.164 number no other test (or worker) will draw: random prefix per call, sequence per process. */
export function uniquePhone(): string {
  sequence += 1;
  return `+1${randomInt(100_000, 1_000_000)}${String(sequence).padStart(6, '0')}`;
}

export function buildEnvelope(overrides: Partial<InboundEnvelopeInput> = {}): InboundEnvelopeInput {
  const messageId = randomUUID();
  return {
    version: 1,
    messageId,
    channel: 'sms',
    direction: 'inbound',
    provider: { messageId: `SM${messageId.replace(/-/g, '')}` },
    customer: { address: uniquePhone(), displayName: 'Test Customer' },
    content: { text: 'hello' },
    receivedAt: new Date().toISOString(),
    ...overrides,
  };
}
