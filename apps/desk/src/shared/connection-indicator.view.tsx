/** The socket's state: `live` only once the server said `ready`; the text is a stable selector. */
import type { ConnectionState } from '../desk/agent-connection';

export function ConnectionIndicator({ state, testId = 'connection', label = 'Connection' }: { state: ConnectionState; testId?: string; label?: string }) {
  return (
    <p className={`connection connection-${state}`} role="status">
      <span className="dot" aria-hidden="true" />
      <span className="visually-hidden">{label}: </span>
      <span data-testid={testId}>{state}</span>
    </p>
  );
}
