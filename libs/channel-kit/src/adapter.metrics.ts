import { counter, histogram } from '@app/observability';

export const adapterMetrics = {
  webhooks: counter('adapter_webhooks_total', 'Webhook requests by channel and outcome (accepted, rejected, duplicate, error)', [
    'channel',
    'outcome',
  ]),
  sends: counter('adapter_sends_total', 'Outbound messages by channel, kind and outcome (sent, failed, skipped)', [
    'channel',
    'kind',
    'outcome',
  ]),
  sendSeconds: histogram('adapter_send_seconds', 'Provider API call time, by channel', ['channel'], [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  sendRetries: counter('adapter_send_retries_total', 'Temporary provider failures retried, by channel', ['channel']),
};
