import { keyFromOurMessageId, messageIds, ourMessageId, plusAddress, providerId, threadKey } from './threading';

const DOMAIN = 'support.example.com';
const CONVERSATION = '0b7f5a52-3c1e-4d4f-9a51-3f2d8a1c9e10';
const ITEM = '6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f';

const headers = (overrides: Partial<Parameters<typeof threadKey>[0]> = {}) => ({
  messageId: 'new@customer.example',
  inReplyTo: [],
  references: [],
  recipients: [`support@${DOMAIN}`],
  ...overrides,
});

describe('email threading', () => {
  it('parses Message-ID lists with or without brackets, in order', () => {
    expect(messageIds('<a@x> <b@y>\r\n <c@z>')).toEqual(['a@x', 'b@y', 'c@z']);
    expect(messageIds(['<a@x>', 'b@y'])).toEqual(['a@x', 'b@y']);
    expect(messageIds(undefined)).toEqual([]);
  });

  it('a reply to one of our emails gets the conversation key our Message-ID carries', () => {
    const ours = ourMessageId(DOMAIN, ITEM, CONVERSATION, 'msg:first@customer.example');
    expect(threadKey(headers({ inReplyTo: [ours], references: ['first@customer.example', ours] }), DOMAIN)).toBe('msg:first@customer.example');
  });

  it('our Message-ID without a key, or with one we never issue, means conv:<conversationId>', () => {
    expect(keyFromOurMessageId(ourMessageId(DOMAIN, ITEM, CONVERSATION), DOMAIN)).toBe(`conv:${CONVERSATION}`);
    const forged = `reply.${ITEM}.${CONVERSATION}.${Buffer.from('other:thing').toString('base64url')}@${DOMAIN}`;
    expect(keyFromOurMessageId(forged, DOMAIN)).toBe(`conv:${CONVERSATION}`);
  });

  it('only ids on our domain count as ours', () => {
    expect(keyFromOurMessageId(ourMessageId('elsewhere.example', ITEM, CONVERSATION), DOMAIN)).toBeUndefined();
    expect(keyFromOurMessageId(`reply.x.y@${DOMAIN}`, DOMAIN)).toBeUndefined();
  });

  it('looks at In-Reply-To, then References newest first', () => {
    const older = ourMessageId(DOMAIN, ITEM, CONVERSATION, 'msg:older@x');
    const newer = ourMessageId(DOMAIN, ITEM, CONVERSATION, 'msg:newer@x');
    expect(threadKey(headers({ references: ['root@x', older, newer] }), DOMAIN)).toBe('msg:newer@x');
    expect(threadKey(headers({ inReplyTo: [older], references: ['root@x', newer] }), DOMAIN)).toBe('msg:older@x');
  });

  it('a plus-address recipient names the conversation when no header names our email', () => {
    const recipients = ['someone@else.example', plusAddress(DOMAIN, CONVERSATION).toUpperCase()];
    expect(threadKey(headers({ recipients, references: ['root@x'] }), DOMAIN)).toBe(`conv:${CONVERSATION}`);
  });

  it('otherwise the thread root: oldest reference, then In-Reply-To, then the message itself', () => {
    expect(threadKey(headers({ inReplyTo: ['parent@x'], references: ['root@x', 'parent@x'] }), DOMAIN)).toBe('msg:root@x');
    expect(threadKey(headers({ inReplyTo: ['parent@x'] }), DOMAIN)).toBe('msg:parent@x');
    expect(threadKey(headers(), DOMAIN)).toBe('msg:new@customer.example');
  });

  it('long ids are hashed: keys stay short enough to ride in our Message-ID, provider ids fit the envelope', () => {
    const long = `${'x'.repeat(600)}@x`;
    const key = threadKey(headers({ messageId: long }), DOMAIN);
    expect(key).toMatch(/^msg:sha256:[0-9a-f]{32}$/);
    expect(providerId(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(providerId('short@x')).toBe('short@x');
    const ours = ourMessageId(DOMAIN, ITEM, CONVERSATION, threadKey(headers({ messageId: `${'y'.repeat(80)}@x` }), DOMAIN));
    expect(ours.length + 2).toBeLessThanOrEqual(256);
    expect(threadKey(headers({ inReplyTo: [ours] }), DOMAIN)).toBe(threadKey(headers({ messageId: `${'y'.repeat(80)}@x` }), DOMAIN));
  });
});
