/**
 * Turns what the live feed carries into visitor socket events: agent replies as `message` (with the
 * sequence number the router stored, so the widget's resume point advances), customer notices as
 * `notice`, agent typing as `typing`, and the lifecycle events as `agent-joined`, `downgraded` and
 * `closed`. Replies, notices and typing name the visitor (`to.address`); lifecycle events name only
 * the conversation, so the visitor is looked up. Other tenants' traffic is ignored.
 */
import { agentTypingSchema, conversationEventSchema, customerNoticeSchema, outboundMessageSchema, routingKeys } from '@app/contracts';
import type { VisitorSockets } from './visitor-sockets';
import type { VisitorStore } from './visitor-store';

const LIFECYCLE_EVENTS: Record<string, string | undefined> = {
  'conversation.assigned': 'agent-joined',
  'conversation.downgraded': 'downgraded',
  'conversation.closed': 'closed',
};

export function liveRelay(tenantId: string, store: VisitorStore, sockets: VisitorSockets) {
  return async (routingKey: string, body: unknown): Promise<void> => {
    if (routingKey === routingKeys.outbound('webchat')) {
      const type = (body as { type?: unknown } | null)?.type;
      if (type === 'agent.reply') {
        const reply = outboundMessageSchema.safeParse(body);
        if (!reply.success || reply.data.tenantId !== tenantId) return;
        const message = await store.message(reply.data.messageId, reply.data.to.address);
        if (message) sockets.emit(reply.data.to.address, 'message', message);
      } else if (type === 'customer.notice') {
        const notice = customerNoticeSchema.safeParse(body);
        if (!notice.success || notice.data.tenantId !== tenantId) return;
        const { conversationId, kind, text, position, estimatedWaitS, expectedReplyS, opensAt } = notice.data;
        sockets.emit(notice.data.to.address, 'notice', { conversationId, kind, text, position, estimatedWaitS, expectedReplyS, opensAt });
      } else if (type === 'agent.typing') {
        const typing = agentTypingSchema.safeParse(body);
        if (!typing.success || typing.data.tenantId !== tenantId) return;
        sockets.emitVolatile(typing.data.to.address, 'typing', { conversationId: typing.data.conversationId, typing: typing.data.typing });
      }
      return;
    }
    const event = conversationEventSchema.safeParse(body);
    const name = event.success ? LIFECYCLE_EVENTS[event.data.type] : undefined;
    if (!event.success || !name || event.data.channel !== 'webchat' || event.data.tenantId !== tenantId) return;
    const visitor = await store.visitorOf(event.data.conversationId);
    if (!visitor) return;
    sockets.emit(visitor.visitorId, name, {
      conversationId: event.data.conversationId,
      ...(name === 'agent-joined' && visitor.agentName ? { agentName: visitor.agentName } : {}),
    });
  };
}
