import { counter, histogram } from '@app/observability';

export const gatewayMetrics = {
  commandSeconds: histogram(
    'gateway_command_seconds',
    'Time from publishing a router command to its result, by command type and outcome (ok, refused, timeout, broker)',
    ['command', 'outcome'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ),
  eventsForwarded: counter('gateway_socket_events_total', 'Agent events sent to sockets, live or replayed', ['source']),
  resyncs: counter('gateway_socket_resyncs_total', 'Reconnecting sockets told to reload over REST, by reason', ['reason']),
};
