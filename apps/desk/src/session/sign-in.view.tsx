/**
 * Sign-in with a pasted token. The token is checked against the gateway (GET /v1/me) before it is
 * kept: a refused token never reaches storage. A supervisor without an agent profile may still sign in.
 */
import { useState, type FormEvent } from 'react';
import { ApiFailure, createApi, describeFailure } from '../api/api.client';
import { sessionFromToken, type Session } from './session';

interface SignInProps {
  message?: string;
  onSignedIn(session: Session): void;
  /** For tests: how the token is checked. */
  verify?: (token: string) => Promise<void>;
}

async function verifyWithGateway(token: string): Promise<void> {
  try {
    await createApi(token).me();
  } catch (error) {
    if (error instanceof ApiFailure && error.code === 'agent_not_found') return;
    throw error;
  }
}

export function SignIn({ message, onSignedIn, verify = verifyWithGateway }: SignInProps) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const session = sessionFromToken(token);
    if (typeof session === 'string') {
      setError(session);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await verify(session.token);
      onSignedIn(session);
    } catch (failure) {
      setError(`The gateway refused this token: ${describeFailure(failure)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin-page" id="main" tabIndex={-1}>
      <form className="panel signin" data-testid="signin" onSubmit={(event) => void submit(event)} aria-labelledby="signin-title">
        <h1 id="signin-title">Agent desk</h1>
        <p className="hint">
          Paste your access token. For a development token run <code>npm run -s token -- --agent a1 --role agent</code>.
        </p>
        {message && (
          <p className="notice notice-info" role="status">
            {message}
          </p>
        )}
        <label htmlFor="token">Token</label>
        <textarea
          id="token"
          rows={4}
          value={token}
          spellCheck={false}
          autoComplete="off"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'token-error' : undefined}
          onChange={(event) => setToken(event.target.value)}
        />
        {error && (
          <p id="token-error" className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !token.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}
