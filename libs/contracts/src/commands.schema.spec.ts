import { randomUUID } from 'node:crypto';
import { routerCommandSchema } from './commands.schema';

describe('bot.reply command', () => {
  const valid = () => ({
    type: 'bot.reply',
    commandId: randomUUID(),
    tenantId: 't1',
    agentId: 'faq-bot',
    conversationId: randomUUID(),
    clientMessageId: 'b-1',
    text: '  It ships tomorrow.  ',
  });

  it('takes a bot reply with the agent reply text limits (trimmed, 1 to 10,000 characters)', () => {
    expect(routerCommandSchema.parse(valid())).toMatchObject({ type: 'bot.reply', agentId: 'faq-bot', text: 'It ships tomorrow.' });
    expect(routerCommandSchema.safeParse({ ...valid(), text: 'x'.repeat(10_000) }).success).toBe(true);
    expect(routerCommandSchema.safeParse({ ...valid(), text: 'x'.repeat(10_001) }).success).toBe(false);
    expect(routerCommandSchema.safeParse({ ...valid(), text: '   ' }).success).toBe(false);
  });

  it('refuses unknown fields, a malformed client id or bot id, and a missing conversation', () => {
    expect(routerCommandSchema.safeParse({ ...valid(), sender: 'bot' }).success).toBe(false);
    expect(routerCommandSchema.safeParse({ ...valid(), clientMessageId: 'has space' }).success).toBe(false);
    expect(routerCommandSchema.safeParse({ ...valid(), agentId: 'bot:1' }).success).toBe(false);
    const { conversationId: _omitted, ...rest } = valid();
    expect(routerCommandSchema.safeParse(rest).success).toBe(false);
  });
});
