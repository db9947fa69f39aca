/**
 * Wires the desk reducer to the world: the `/agent` socket (events, resync, typing, heartbeat), the
 * REST reloads the reducer asks for (`refreshWanted`, stale threads), a clock tick for countdowns,
 * and the agent's actions. Side effects live here; every decision about state lives in the reducer.
 */
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { ApiFailure, describeFailure, type DeskApi } from '../api/api.client';
import type { AgentProfile, HeartbeatAnswer, MessageView, Presence, Refusal, TransferTarget } from '../api/api.types';
import type { Session } from '../session/session';
import { AgentConnection, type AgentConnectionOptions, type ConnectionState } from './agent-connection';
import { deskReducer, initialDeskState, type DeskState } from './desk.reducer';

const TICK_MS = 500;
const REFRESH_DEBOUNCE_MS = 150;
const REFRESH_RETRY_MS = 3_000;
/** A safety net: presence can change without an event (a lease running out), so work is re-read now and then. */
const PERIODIC_REFRESH_MS = 60_000;
const THREAD_PAGE = 50;

export interface DeskActions {
  setPresence(presence: Presence): Promise<void>;
  accept(conversationId: string): Promise<void>;
  decline(conversationId: string): Promise<void>;
  select(conversationId: string | null): void;
  loadOlder(conversationId: string): Promise<void>;
  reply(conversationId: string, clientMessageId: string, text: string): Promise<boolean>;
  note(conversationId: string, clientMessageId: string, text: string): Promise<boolean>;
  transfer(conversationId: string, to: TransferTarget): Promise<boolean>;
  close(conversationId: string, wrapUp?: string): Promise<boolean>;
  release(conversationId: string): Promise<boolean>;
  escalate(conversationId: string): Promise<boolean>;
  typing(conversationId: string, typing: boolean): void;
  dismissNotice(id: number): void;
}

export interface Desk {
  state: DeskState;
  connection: ConnectionState;
  profile: AgentProfile | undefined;
  actions: DeskActions;
}

export interface UseDeskOptions {
  /** Called when the gateway refuses the token: the session is over. */
  onSessionEnded(message: string): void;
  /** For tests: how the socket is made. */
  connect?: AgentConnectionOptions['connect'];
}

export function useDesk(session: Session, api: DeskApi, options: UseDeskOptions): Desk {
  const [state, dispatch] = useReducer(deskReducer, undefined, () => initialDeskState(Date.now()));
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const [profile, setProfile] = useState<AgentProfile>();
  const [refreshAttempt, setRefreshAttempt] = useState(0);
  const lastEventId = useRef<string | undefined>(undefined);
  const socket = useRef<AgentConnection | undefined>(undefined);
  const onSessionEnded = useRef(options.onSessionEnded);
  const { connect } = options;

  useEffect(() => {
    lastEventId.current = state.lastEventId;
  }, [state.lastEventId]);
  useEffect(() => {
    onSessionEnded.current = options.onSessionEnded;
  }, [options.onSessionEnded]);

  const fail = useCallback((error: unknown, what: string) => {
    if (error instanceof ApiFailure && error.status === 401) {
      onSessionEnded.current(`Signed out: ${error.message}`);
      return;
    }
    dispatch({ type: 'notice', kind: 'error', text: `${what}: ${describeFailure(error)}` });
  }, []);

  // The socket, for as long as the session lasts.
  useEffect(() => {
    const connection = new AgentConnection({
      token: session.token,
      lastEventId: () => lastEventId.current,
      restHeartbeat: async (): Promise<HeartbeatAnswer> => {
        try {
          return { ok: true, data: await api.heartbeat() };
        } catch (error) {
          return error instanceof ApiFailure && error.status !== 0
            ? { ok: false, code: error.code, message: error.message }
            : Promise.reject(error);
        }
      },
      connect,
      handlers: {
        onState: setConnection,
        // A resumed socket was replayed what it missed; a fresh one missed an unknown amount.
        onReady: (_info, resumed) => dispatch(resumed ? { type: 'work/refresh' } : { type: 'socket/resync' }),
        onEvent: (event) => dispatch({ type: 'socket/event', event, now: Date.now() }),
        onResync: () => dispatch({ type: 'socket/resync' }),
        onTyping: (signal) => dispatch({ type: 'socket/typing', conversationId: signal.conversationId, typing: signal.typing }),
        onRefused: (refusal: Refusal) => onSessionEnded.current(`Signed out: ${refusal.message} (${refusal.code})`),
        onHeartbeat: (answer) => {
          if (answer.ok || answer.code !== 'not_present') return;
          dispatch({ type: 'presence/changed', presence: 'offline' });
          dispatch({ type: 'notice', kind: 'info', text: 'Your presence lapsed: you are offline. Go online to receive work again.' });
          dispatch({ type: 'work/refresh' });
        },
      },
    });
    socket.current = connection;
    return () => {
      socket.current = undefined;
      connection.close();
    };
  }, [session.token, api, connect]);

  useEffect(() => {
    socket.current?.setHeartbeat(state.loaded && !state.noProfile && state.presence !== 'offline');
  }, [state.loaded, state.noProfile, state.presence]);

  useEffect(() => {
    const timer = setInterval(() => dispatch({ type: 'tick', now: Date.now() }), TICK_MS);
    const periodic = setInterval(() => dispatch({ type: 'work/refresh' }), PERIODIC_REFRESH_MS);
    return () => {
      clearInterval(timer);
      clearInterval(periodic);
    };
  }, []);

  const { noProfile } = state;
  useEffect(() => {
    if (noProfile) return;
    let cancelled = false;
    api.me().then(
      (me) => !cancelled && setProfile(me),
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [api, state.presence, noProfile]);

  // Work reloads: debounced, tagged with the version they were asked at, retried on failure.
  const { refreshWanted, workVersion } = state;
  useEffect(() => {
    if (!refreshWanted) return;
    const timer = setTimeout(() => {
      api.work().then(
        (snapshot) => dispatch({ type: 'work/loaded', snapshot, version: workVersion }),
        (error: unknown) => {
          if (error instanceof ApiFailure && error.code === 'agent_not_found') {
            dispatch({ type: 'work/no-profile' });
            return;
          }
          if (error instanceof ApiFailure && error.status === 401) {
            fail(error, 'Loading work');
            return;
          }
          setTimeout(() => setRefreshAttempt((attempt) => attempt + 1), REFRESH_RETRY_MS);
        },
      );
    }, REFRESH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [refreshWanted, workVersion, refreshAttempt, api, fail]);

  // The open conversation: loaded when first opened and whenever it went stale.
  const selected = state.selectedId;
  const thread = selected ? state.threads[selected] : undefined;
  const threadNeedsLoad = selected !== null && (!thread || (thread.stale && !thread.loading));
  useEffect(() => {
    if (!selected || !threadNeedsLoad) return;
    dispatch({ type: 'thread/loading', conversationId: selected });
    Promise.all([api.conversation(selected), api.messages(selected, { scope: 'customer', limit: THREAD_PAGE })]).then(
      ([detail, page]) => dispatch({ type: 'thread/loaded', conversationId: selected, detail, page, older: false }),
      (error: unknown) => dispatch({ type: 'thread/failed', conversationId: selected, error: describeFailure(error) }),
    );
  }, [selected, threadNeedsLoad, api]);

  const cursors = useRef<Record<string, string | null>>({});
  useEffect(() => {
    cursors.current = Object.fromEntries(Object.entries(state.threads).map(([id, item]) => [id, item.nextCursor]));
  }, [state.threads]);

  const actions = useMemo<DeskActions>(() => {
    const written = (conversationId: string, direction: MessageView['direction'], text: string, messageId: string, status: MessageView['deliveryStatus']) =>
      dispatch({
        type: 'message/written',
        message: {
          id: messageId,
          conversationId,
          seq: Number.MAX_SAFE_INTEGER,
          channel: '',
          direction,
          sender: 'agent',
          authorAgentId: session.agentId,
          text,
          attachments: [],
          createdAt: new Date().toISOString(),
          deliveryStatus: direction === 'outbound' ? (status ?? 'queued') : null,
          deliveryReason: null,
        },
      });
    const attempt = async (what: string, run: () => Promise<unknown>): Promise<boolean> => {
      try {
        await run();
        return true;
      } catch (error) {
        fail(error, what);
        return false;
      }
    };
    /** Hand-offs: the revocation they cause is expected, so it raises no notice. */
    const leave = async (conversationId: string, what: string, run: () => Promise<unknown>, reason: string) => {
      dispatch({ type: 'conversation/leaving', conversationId });
      const done = await attempt(what, run);
      dispatch(done ? { type: 'conversation/left', conversationId, reason } : { type: 'conversation/stayed', conversationId });
      return done;
    };
    return {
      setPresence: async (presence) => {
        try {
          const answer = await api.setPresence(presence);
          dispatch({ type: 'presence/changed', presence: answer.presence ?? presence });
          dispatch({ type: 'work/refresh' });
        } catch (error) {
          fail(error, 'Changing presence');
        }
      },
      accept: async (conversationId) => {
        try {
          await api.accept(conversationId);
          dispatch({ type: 'offer/answered', conversationId, accepted: true });
          dispatch({ type: 'conversation/select', conversationId });
        } catch (error) {
          fail(error, 'Accepting the offer');
          dispatch({ type: 'work/refresh' });
        }
      },
      decline: async (conversationId) => {
        try {
          await api.decline(conversationId);
          dispatch({ type: 'offer/answered', conversationId, accepted: false });
        } catch (error) {
          fail(error, 'Declining the offer');
          dispatch({ type: 'work/refresh' });
        }
      },
      select: (conversationId) => dispatch({ type: 'conversation/select', conversationId }),
      loadOlder: async (conversationId) => {
        const before = cursors.current[conversationId];
        if (!before) return;
        try {
          const page = await api.messages(conversationId, { scope: 'customer', limit: THREAD_PAGE, before });
          dispatch({ type: 'thread/loaded', conversationId, page, older: true });
        } catch (error) {
          fail(error, 'Loading older messages');
        }
      },
      reply: (conversationId, clientMessageId, text) =>
        attempt('Sending the reply', async () => {
          const answer = await api.reply(conversationId, clientMessageId, text);
          written(conversationId, 'outbound', text, answer.messageId, answer.deliveryStatus);
          socket.current?.sendTyping(conversationId, false);
        }),
      note: (conversationId, clientMessageId, text) =>
        attempt('Adding the note', async () => {
          const answer = await api.note(conversationId, clientMessageId, text);
          written(conversationId, 'internal', text, answer.messageId, null);
        }),
      transfer: (conversationId, to) =>
        leave(conversationId, 'Transferring', () => api.transfer(conversationId, to), 'agentId' in to ? `transferred to ${to.agentId}` : `transferred to queue ${to.queueId}`),
      close: (conversationId, wrapUp) => leave(conversationId, 'Closing', () => api.close(conversationId, wrapUp), 'closed'),
      release: (conversationId) => leave(conversationId, 'Releasing', () => api.release(conversationId), 'released'),
      escalate: (conversationId) =>
        attempt('Escalating to a call', async () => {
          await api.escalate(conversationId);
          dispatch({ type: 'work/refresh' });
        }),
      typing: (conversationId, typing) => socket.current?.sendTyping(conversationId, typing),
      dismissNotice: (id) => dispatch({ type: 'notice/dismiss', id }),
    };
  }, [api, fail, session.agentId]);

  return { state, connection, profile, actions };
}
