import { inboundEnvelopeSchema } from './envelope.schema';
import { buildEnvelope } from '@app/testing';

describe('inboundEnvelopeSchema', () => {
  it('accepts a minimal envelope and fills defaults', () => {
    const parsed = inboundEnvelopeSchema.parse(buildEnvelope());
    expect(parsed.tenantId).toBe('default');
    expect(parsed.priority).toBe(0);
    expect(parsed.content.attachments).toEqual([]);
  });

  it('rejects an envelope with neither text nor attachments', () => {
    const result = inboundEnvelopeSchema.safeParse(buildEnvelope({ content: { text: '' } }));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].message).toBe('content needs text or at least one attachment');
  });

  it('rejects unknown fields so typos do not pass silently', () => {
    const result = inboundEnvelopeSchema.safeParse({ ...buildEnvelope(), chanel: 'sms' });
    expect(result.success).toBe(false);
  });

  it('rejects an unknown channel and a bad message id', () => {
    expect(inboundEnvelopeSchema.safeParse(buildEnvelope({ channel: 'fax' as never })).success).toBe(false);
    expect(inboundEnvelopeSchema.safeParse(buildEnvelope({ messageId: 'nope' })).success).toBe(false);
  });

  it('accepts attachments without text', () => {
    const envelope = buildEnvelope({
      content: { attachments: [{ contentType: 'image/jpeg', size: 1024, url: 'https://media.example/1' }] },
    });
    expect(inboundEnvelopeSchema.safeParse(envelope).success).toBe(true);
  });
});
