/**
 * A live channel ends an item itself: the caller hung up, the call completed, a PBX reports the end.
 * Queued (or still with a bot), it is closed as abandoned and leaves the queue; offered, the offer is
 * withdrawn and the agent freed; held, it closes as an agent's close would, with wrap-up time. The
 * conversation is found by the thread id the channel opened it with (a call's CallSid), so duplicate
 * or late callbacks find nothing open and change nothing.
 */
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { CommandOf } from '@app/contracts';
import type { OutboxEvent } from '../outbox/outbox.writer';
import { RoutingEngine, type Actor } from '../routing/routing-engine';
import { CommandRejected } from './command-rejected.error';

@Injectable()
export class ChannelEndUseCase {
  constructor(private readonly engine: RoutingEngine) {}

  async end(runner: QueryRunner, command: CommandOf<'conversation.end'>, events: OutboxEvent[]): Promise<{ conversationId: string; was: string }> {
    const actor: Actor = 'system';
    const [open] = await this.engine.query<{ id: string }>(
      runner,
      `SELECT id FROM conversations
        WHERE tenant_id = $tenant AND channel = $channel AND thread_key = $thread AND status <> 'closed'
        LIMIT 1`,
      { tenant: command.tenantId, channel: command.channel, thread: command.threadId },
    );
    const conversation = open ? await this.engine.lockConversation(runner, open.id) : undefined;
    if (!conversation || conversation.status === 'closed') {
      throw new CommandRejected('not_open', `no open ${command.channel} conversation for this thread`);
    }
    const was = conversation.status;
    const details = { reason: command.reason, by: command.agentId };
    if (was === 'queued' || was === 'bot') {
      const closed = await this.engine.transition(runner, conversation.id, was, 'closed', {});
      await this.engine.audit(runner, closed, null, 'abandon', was, 'closed', actor, details);
      await this.closeTimings(runner, conversation.id);
      this.engine.lifecycleEvent(events, closed, 'closed');
      return { conversationId: conversation.id, was };
    }
    const agentId = await this.engine.endHold(runner, conversation, was === 'offered' ? 'abandoned' : 'closed', events);
    const closed = await this.engine.transition(runner, conversation.id, was, 'closed', { agentId: null });
    await this.engine.audit(runner, closed, agentId, was === 'offered' ? 'abandon' : 'close', was, 'closed', actor, details);
    await this.closeTimings(runner, conversation.id);
    this.engine.lifecycleEvent(events, closed, 'closed', agentId);
    await this.engine.drainForAgent(runner, agentId, 'router', events);
    return { conversationId: conversation.id, was };
  }

  private async closeTimings(runner: QueryRunner, conversationId: string): Promise<void> {
    await this.engine.query(runner, `UPDATE conversation_timings SET closed_at = $now WHERE conversation_id = $id`, { id: conversationId });
  }
}
