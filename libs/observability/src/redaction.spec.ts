import { REDACTED, scrubDeep, scrubString } from './redaction';

describe('log scrubbing', () => {
  it.each([
    ['call me on +1 555 000 1234 please', 'call me on [redacted] please'],
    ['mail jane.doe+x@example.co.uk now', `mail ${REDACTED} now`],
    ['Authorization: Bearer abc.def-ghi', `Authorization: Bearer ${REDACTED}`],
    ['amqp://guest:s3cret@rabbit:5672/', `amqp://${REDACTED}@rabbit:5672/`],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhMSJ9.sig', `token ${REDACTED}`],
  ])('%s', (input, expected) => {
    expect(scrubString(input)).toBe(expected);
  });

  it('leaves timestamps, uuids and counts readable', () => {
    const input = '2026-11-23T10:00:00.000Z 3f2b1c7e-1a2b-4c3d-8e9f-001122334455 took 1234 ms';
    expect(scrubString(input)).toBe(input);
  });

  it('scrubs nested objects and errors', () => {
    const scrubbed = scrubDeep({ a: { b: ['+15550001234'] }, err: new Error('bad from +15550001234') }) as {
      a: { b: string[] };
      err: { message: string };
    };
    expect(scrubbed.a.b[0]).toBe(REDACTED);
    expect(scrubbed.err.message).toBe(`bad from ${REDACTED}`);
  });
});
