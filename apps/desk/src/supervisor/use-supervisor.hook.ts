/**
 * The supervisor's live feed: the gateway's `/supervisor` namespace pushes a full `stats` snapshot
 * on connect and then every few seconds, so the latest snapshot is the whole state (nothing to merge).
 * The conversations behind a queue or agent row are read over REST, again at each snapshot, so the
 * list moves with the numbers beside it.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { describeFailure, type DeskApi } from '../api/api.client';
import type { OpenStatus, Refusal, StatsSnapshot, SupervisedConversationPage } from '../api/api.types';
import type { ConnectionState } from '../desk/agent-connection';

export interface SupervisorFeed {
  stats: StatsSnapshot | undefined;
  connection: ConnectionState;
  refusal: Refusal | undefined;
}

export type Connect = (url: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;

export function useSupervisorFeed(token: string, connect: Connect = io): SupervisorFeed {
  const [stats, setStats] = useState<StatsSnapshot>();
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const [refusal, setRefusal] = useState<Refusal>();

  useEffect(() => {
    let everLive = false;
    let refused = false;
    let closed = false;
    const socket = connect('/supervisor', { auth: { token }, transports: ['websocket'], reconnectionDelay: 500, reconnectionDelayMax: 10_000 });
    socket.on('stats', (snapshot: StatsSnapshot) => {
      everLive = true;
      setConnection('live');
      setStats(snapshot);
    });
    socket.on('error', (body: Refusal) => {
      refused = true;
      setRefusal(body);
    });
    socket.on('connect_error', () => setConnection(everLive ? 'reconnecting' : 'connecting'));
    socket.on('disconnect', (reason: string) => {
      if (refused || closed) {
        setConnection('offline');
        return;
      }
      setConnection('reconnecting');
      // socket.io does not retry a disconnect the server asked for; a replica shutting down is one.
      if (reason === 'io server disconnect') setTimeout(() => !closed && socket.connect(), 1_000);
    });
    return () => {
      closed = true;
      socket.disconnect();
    };
  }, [token, connect]);

  return { stats, connection, refusal };
}

/** A queue row or an agent row whose conversations are listed. */
export interface ListSelection {
  kind: 'queue' | 'agent';
  id: string;
}

export interface SupervisedList {
  /** The latest page for the current selection; undefined until the first one arrives. */
  page: SupervisedConversationPage | undefined;
  error: string | undefined;
  reload(): void;
}

/** What a queue row counts (waiting, offered, held) — so the list matches it; an agent's are all offered or held. */
const LISTED: OpenStatus[] = ['queued', 'offered', 'assigned'];

/**
 * The open conversations of the selected queue or agent, `limit` at most, read again whenever
 * `refreshKey` (the stats snapshot's time) or the selection changes. Answers are applied in the order
 * they were asked for, so a slow answer never replaces a newer one; one for another selection is kept
 * but not shown.
 */
export function useSupervisedConversations(
  list: DeskApi['supervisedConversations'],
  selection: ListSelection | undefined,
  refreshKey: string | undefined,
  limit: number,
): SupervisedList {
  const [result, setResult] = useState<{ key: string; page?: SupervisedConversationPage; error?: string }>();
  const [reloads, setReloads] = useState(0);
  const asked = useRef(0);
  const applied = useRef(0);
  const kind = selection?.kind;
  const id = selection?.id;
  const key = kind && id !== undefined ? `${kind}:${id}` : undefined;

  useEffect(() => {
    if (!list || !kind || id === undefined) return;
    const current = `${kind}:${id}`;
    const request = (asked.current += 1);
    const apply = (next: { page?: SupervisedConversationPage; error?: string }) => {
      if (request < applied.current) return;
      applied.current = request;
      // A failed refresh keeps the last page of the same selection on screen, with the error.
      setResult((previous) => ({ key: current, page: next.page ?? (previous?.key === current ? previous.page : undefined), error: next.error }));
    };
    list({ ...(kind === 'queue' ? { queueId: id } : { agentId: id }), status: LISTED, limit }).then(
      (page) => apply({ page }),
      (failure: unknown) => apply({ error: describeFailure(failure) }),
    );
  }, [list, kind, id, refreshKey, limit, reloads]);

  const reload = useCallback(() => setReloads((count) => count + 1), []);
  const shown = result && result.key === key ? result : undefined;
  return { page: shown?.page, error: shown?.error, reload };
}
