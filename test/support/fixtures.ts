/** Fixture factories: tests build envelopes here instead of copying literals around. */
import { randomUUID } from 'node:crypto';
import type { InboundEnvelopeInput } from '@app/contracts';

let sequence = 0;

export function uniquePhone(): string {
  sequence += 1;
  return `+1555${String(Date.now() % 1_000_000).padStart(6, '0')}${String(sequence % 100).padStart(2, '0')}`;
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
