import { CustomerDirectory } from './customer-directory';
import { DemoFeed } from './demo-feed';
import { describeEvent, Narrator, summarize } from './narrator';

describe('narration', () => {
  it('tells routing decisions with customer labels, never addresses', () => {
    expect(describeEvent({ kind: 'agent', event: 'assigned', agentId: 'carol', conversationId: 'c', mode: 'async', via: 'sticky' }, 'sms customer 3')).toBe(
      'sms customer 3 → carol again (sticky: back to their last agent)',
    );
    expect(describeEvent({ kind: 'agent', event: 'offer-withdrawn', agentId: 'alice', conversationId: 'c', reason: 'timeout' }, 'web chat visitor 1')).toMatch(
      /nobody took it at alice's desk/,
    );
    expect(describeEvent({ kind: 'visitor-notice', customer: 'web chat visitor 4', noticeKind: 'queue-position', position: 2, estimatedWaitS: 40 }, '')).toBe(
      'web chat visitor 4 is told: number 2 in line, about 40 s to wait',
    );
    expect(describeEvent({ kind: 'capacity', agentId: 'alice', mode: 'async', load: 4, cap: 4, full: true }, '')).toMatch(/4\/4 threads: at the cap/);
    expect(describeEvent({ kind: 'agent', event: 'customer-message', agentId: 'bob', conversationId: 'c' }, 'x')).toBeUndefined();
    expect(describeEvent({ kind: 'agent', event: 'customer-message', agentId: 'bob', conversationId: 'c' }, 'x', 'verbose')).toBe('x writes to bob');
    expect(describeEvent({ kind: 'agent', event: 'revoked', agentId: 'bob', conversationId: 'c', reason: 'closed' }, 'x')).toBeUndefined();
    expect(describeEvent({ kind: 'queue', queueId: 'demo-live', waitingSync: 0, waitingAsync: 0, offered: 0, assigned: 1 }, '')).toBe('queue demo-live: nobody waiting');
  });

  it('says only what went wrong when quiet', () => {
    expect(describeEvent({ kind: 'customer-wrote', customer: 'sms customer 1', channel: 'sms' }, '', 'quiet')).toBeUndefined();
    expect(describeEvent({ kind: 'problem', source: 'carol', message: 'heartbeat failed' }, '', 'quiet')).toBe('! carol: heartbeat failed');
  });

  it('writes lines in the order events came, labels from the directory', async () => {
    const feed = new DemoFeed();
    const directory = new CustomerDirectory();
    directory.remember('conv-1', { label: 'whatsapp customer 1', channel: 'whatsapp', address: '15550100001' });
    const lines: string[] = [];
    const narrator = new Narrator({ feed, directory, write: (line) => lines.push(line), startedAt: Date.now() });
    feed.emit({ kind: 'customer-wrote', customer: 'whatsapp customer 1', channel: 'whatsapp' });
    feed.emit({ kind: 'agent', event: 'assigned', agentId: 'bob', conversationId: 'conv-1', mode: 'async', via: 'routing' });
    feed.emit({ kind: 'agent', event: 'assigned', agentId: 'bob', conversationId: 'conv-unknown-0000', mode: 'async', via: 'routing' });
    await narrator.stop();
    expect(lines.map((line) => line.replace(/^\[\s*[\d.]+s\] /, ''))).toEqual([
      'whatsapp customer 1 writes',
      'whatsapp customer 1 → bob (thread)',
      'an earlier customer (conv-unk) → bob (thread)',
    ]);
  });

  it('sums up', () => {
    const summary = summarize([
      { kind: 'agent', event: 'offer', agentId: 'alice', conversationId: 'a' },
      { kind: 'agent', event: 'offer-withdrawn', agentId: 'alice', conversationId: 'a', reason: 'timeout' },
      { kind: 'agent', event: 'assigned', agentId: 'carol', conversationId: 'a', via: 'offer' },
      { kind: 'agent', event: 'assigned', agentId: 'carol', conversationId: 'b', via: 'sticky' },
      { kind: 'visitor-notice', customer: 'v', noticeKind: 'queue-position', position: 1 },
      { kind: 'step', text: 'sticky: sms customer 1 is back with carol, who closed their thread before' },
    ]);
    expect(summary).toMatchObject({ offers: 1, offersTimedOut: 1, assigned: 2, assignedSticky: 1, queueNotices: 1, stickyReturns: 1, problems: 0 });
  });
});
