/**
 * The app shell: the sign-in gate, the top bar (presence, connection, views, sign-out) and the two
 * views, chosen by the URL fragment (`#/` the desk, `#/supervisor` the supervisor view). The desk's
 * state and socket live above the views, so switching to the supervisor view keeps the agent connected.
 */
import { useCallback, useEffect, useMemo, useState, type MouseEvent } from 'react';
import { createApi, type DeskApi } from './api/api.client';
import { PRESENCES, type Presence } from './api/api.types';
import type { AgentConnectionOptions } from './desk/agent-connection';
import { DeskView } from './desk/desk.view';
import { useDesk } from './desk/use-desk.hook';
import { isSupervisor, loadToken, saveToken, sessionFromToken, type Session } from './session/session';
import { SignIn } from './session/sign-in.view';
import { ConnectionIndicator } from './shared/connection-indicator.view';
import { Notices } from './shared/notices.view';
import { SupervisorView } from './supervisor/supervisor.view';
import { useSupervisorFeed } from './supervisor/use-supervisor.hook';

type Storage = Pick<globalThis.Storage, 'getItem' | 'setItem' | 'removeItem'>;

interface AppProps {
  storage: Storage;
  /** For tests: how sockets are made and REST is called. */
  connect?: AgentConnectionOptions['connect'];
  makeApi?: (token: string) => DeskApi;
}

function routeOf(hash: string): 'desk' | 'supervisor' {
  return hash.replace(/^#/, '').split('?')[0] === '/supervisor' ? 'supervisor' : 'desk';
}

function useRoute(): 'desk' | 'supervisor' {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(routeOf(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function App({ storage, connect, makeApi = createApi }: AppProps) {
  const [session, setSession] = useState<Session | string | undefined>(() => {
    const token = loadToken(storage);
    return token ? sessionFromToken(token) : undefined;
  });
  const [message, setMessage] = useState<string>();

  const signOut = useCallback(
    (reason?: string) => {
      saveToken(storage, undefined);
      setSession(undefined);
      setMessage(reason);
    },
    [storage],
  );

  if (!session || typeof session === 'string') {
    return (
      <SignIn
        message={typeof session === 'string' ? `The saved token cannot be used: ${session}` : message}
        onSignedIn={(next) => {
          saveToken(storage, next.token);
          setMessage(undefined);
          setSession(next);
        }}
      />
    );
  }
  return <SignedIn key={session.token} session={session} connect={connect} makeApi={makeApi} onSignOut={signOut} />;
}

interface SignedInProps {
  session: Session;
  connect?: AgentConnectionOptions['connect'];
  makeApi: (token: string) => DeskApi;
  onSignOut(reason?: string): void;
}

function SignedIn({ session, connect, makeApi, onSignOut }: SignedInProps) {
  const api = useMemo(() => makeApi(session.token), [makeApi, session.token]);
  const desk = useDesk(session, api, { onSessionEnded: onSignOut, connect });
  const route = useRoute();
  const canSupervise = isSupervisor(session);
  const { state, actions, profile } = desk;

  useEffect(() => {
    if (!session.expiresAt) return;
    const timer = setTimeout(() => onSignOut('Your token expired: sign in again.'), Math.max(0, session.expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [session.expiresAt, onSignOut]);

  const signOut = async () => {
    // Ending the session ends the shift: no more work is offered to a desk nobody watches.
    if (!state.noProfile && state.presence !== 'offline') {
      await Promise.race([api.setPresence('offline').catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2_000))]);
    }
    onSignOut('Signed out.');
  };

  const skipToMain = (event: MouseEvent) => {
    event.preventDefault();
    document.getElementById('main')?.focus();
  };

  return (
    <>
      <a className="skip-link" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Channel desk</span>
        <nav aria-label="Views">
          <a href="#/" aria-current={route === 'desk' ? 'page' : undefined}>
            Desk
          </a>
          {canSupervise && (
            <a href="#/supervisor" aria-current={route === 'supervisor' ? 'page' : undefined}>
              Supervisor
            </a>
          )}
        </nav>
        <span className="me" title={`tenant ${session.tenantId}`}>
          {profile?.name ?? session.agentId} <span className="meta">{session.role}</span>
        </span>
        <PresenceSelect presence={state.presence} disabled={!state.loaded || state.noProfile} onChange={actions.setPresence} />
        <ConnectionIndicator state={desk.connection} />
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <Notices notices={state.notices} onDismiss={actions.dismissNotice} />
      {route === 'supervisor' ? (
        canSupervise ? (
          <SupervisorPage token={session.token} api={api} now={state.now} connect={connect} />
        ) : (
          <main id="main" tabIndex={-1} className="desk-empty">
            <p>The supervisor view needs the supervisor or admin role.</p>
          </main>
        )
      ) : (
        <DeskView state={state} actions={actions} agentId={session.agentId} profile={profile} canSupervise={canSupervise} />
      )}
    </>
  );
}

function PresenceSelect({ presence, disabled, onChange }: { presence: Presence; disabled: boolean; onChange(presence: Presence): Promise<void> }) {
  const [pending, setPending] = useState<Presence>();
  const change = async (next: Presence) => {
    setPending(next);
    try {
      await onChange(next);
    } finally {
      setPending(undefined);
    }
  };
  return (
    <span className={`presence presence-${pending ?? presence}`}>
      <label htmlFor="presence">Presence</label>
      <select id="presence" data-testid="presence" value={pending ?? presence} disabled={disabled || pending !== undefined} onChange={(event) => void change(event.target.value as Presence)}>
        {PRESENCES.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    </span>
  );
}

function SupervisorPage({ token, api, now, connect }: { token: string; api: DeskApi; now: number; connect?: AgentConnectionOptions['connect'] }) {
  const feed = useSupervisorFeed(token, connect);
  return (
    <SupervisorView
      stats={feed.stats}
      connection={feed.connection}
      error={feed.refusal ? `The stats feed refused this token: ${feed.refusal.message}` : undefined}
      api={api}
      now={now}
    />
  );
}
