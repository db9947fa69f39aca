/**
 * The supervisor's live feed: the gateway's `/supervisor` namespace pushes a full `stats` snapshot
 * on connect and then every few seconds, so the latest snapshot is the whole state (nothing to merge).
 */
import { useEffect, useState } from 'react';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { Refusal, StatsSnapshot } from '../api/api.types';
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
