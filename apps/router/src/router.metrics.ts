import { Counter, register } from 'prom-client';

function counter(name: string, help: string, labelNames: string[]): Counter {
  return (register.getSingleMetric(name) as Counter | undefined) ?? new Counter({ name, help, labelNames });
}

export const routerMetrics = {
  messages: counter('router_messages_total', 'Inbound messages by channel and outcome (stored/duplicate)', [
    'channel',
    'outcome',
  ]),
  conversations: counter('router_conversations_created_total', 'Conversations opened, by channel and mode', [
    'channel',
    'mode',
  ]),
  assignments: counter('router_assignments_total', 'Conversations assigned to an agent, by mode', ['mode']),
  queued: counter('router_conversations_queued_total', 'Conversations that found no agent and wait in queue', [
    'mode',
  ]),
  outboxPublished: counter('router_outbox_published_total', 'Outbox events published to the broker', ['exchange']),
};
