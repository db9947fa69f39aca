/** Broker metrics, on prom-client's default registry so every app's /metrics shows them. */
import { counter, histogram } from '@app/observability';

export const messagingMetrics = {
  published: counter('amqp_published_total', 'Messages published, by exchange and outcome (confirmed/failed)', [
    'exchange',
    'outcome',
  ]),
  publishDuration: histogram(
    'amqp_publish_confirm_seconds',
    'Time from publish to broker confirm',
    ['exchange'],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  ),
  consumed: counter(
    'amqp_consumed_total',
    'Messages consumed, by queue and outcome (acked/retried/dead_lettered)',
    ['queue', 'outcome'],
  ),
  handleDuration: histogram(
    'amqp_handle_seconds',
    'Time from delivery to ack',
    ['queue'],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  ),
};
