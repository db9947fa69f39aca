import { counter, histogram } from '@app/observability';

const WAIT_BUCKETS = [1, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600];

export const routerMetrics = {
  waitSeconds: histogram(
    'router_wait_seconds',
    "Time from entering the queue to the episode's first agent (a transfer or requeue later is not a second wait), by queue and mode",
    ['queue', 'mode'],
    WAIT_BUCKETS,
  ),
  handleSeconds: histogram(
    'router_handle_seconds',
    'Time an agent held a conversation until closing it, by queue and mode',
    ['queue', 'mode'],
    WAIT_BUCKETS,
  ),
  firstResponseSeconds: histogram(
    'router_first_response_seconds',
    "Time from a conversation first entering the queue to the agent's first reply, by queue and mode",
    ['queue', 'mode'],
    WAIT_BUCKETS,
  ),
  replies: counter('router_agent_replies_total', 'Agent replies stored and handed to a channel, by channel', ['channel']),
  deliveryStatuses: counter(
    'router_delivery_statuses_total',
    'Delivery statuses from adapters, by channel, status and outcome (applied/stale/unknown)',
    ['channel', 'status', 'outcome'],
  ),
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
  ingestBatchSize: histogram(
    'router_ingest_batch_size',
    'Inbound messages handled together in one transaction',
    [],
    [1, 2, 4, 8, 16, 32, 64, 128],
  ),
  ingestBatchFallbacks: counter(
    'router_ingest_batch_fallbacks_total',
    'Batches rolled back and handled one message at a time (a duplicate, a conflict or an error in one message)',
    [],
  ),
  commandBatchSize: histogram(
    'router_command_batch_size',
    'Agent commands handled together in one transaction',
    [],
    [1, 2, 4, 8, 16, 32, 64, 128],
  ),
  commandBatchFallbacks: counter(
    'router_command_batch_fallbacks_total',
    'Command batches rolled back and handled one command at a time, by reason: refused (a command was refused), contended (a row lock was held too long), error',
    ['reason'],
  ),
  outboxPublished: counter('router_outbox_published_total', 'Outbox events published to the broker', ['exchange']),
};
