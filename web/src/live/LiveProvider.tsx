// Starts the one live connection for the app, once someone is signed in, and feeds the query
// cache from it. Not on the sign-in page: the stream would only be refused (a console error)
// and retried in the background.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useLocation } from 'react-router';
import { api } from '../api/client';
import { sessionKey } from '../api/session';
import type { SessionInfo } from '../api/types';
import { tracker, type TrackedAction } from './actions';
import { LiveCache } from './cache';
import { LiveConnection, streamUrl, type LiveState } from './connection';

const LiveContext = createContext<LiveConnection | null>(null);

export function LiveProvider({ children, connection }: { children: ReactNode; connection?: LiveConnection }) {
  const qc = useQueryClient();
  const [live] = useState(() => connection ?? new LiveConnection({ url: streamUrl() }));
  const onSignIn = useLocation().pathname === '/signin';
  // The same query as useSession(), but not asked on the sign-in page (it would answer 401).
  const session = useQuery({
    queryKey: sessionKey,
    queryFn: ({ signal }) => api<SessionInfo>('/api/v1/session', { signal }),
    staleTime: 5 * 60_000,
    enabled: !onSignIn,
  });
  const signedIn = !onSignIn && session.isSuccess;
  useEffect(() => {
    const cache = new LiveCache(qc);
    const off = live.subscribe({
      change: (m) => cache.change(m),
      cluster: (m) => cache.cluster(m),
      refetch: (head) => cache.refetch(head),
    });
    return () => {
      off();
      cache.dispose();
    };
  }, [live, qc]);
  useEffect(() => {
    if (!signedIn) return;
    const online = () => live.retryNow();
    window.addEventListener('online', online);
    live.start();
    return () => {
      window.removeEventListener('online', online);
      live.stop();
    };
  }, [live, signedIn]);
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

function useLive(): LiveConnection {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside LiveProvider');
  return live;
}

/** The connection state for the header's indicator. */
export function useLiveState(): LiveState {
  const live = useLive();
  return useSyncExternalStore(
    (cb) => live.onState(cb),
    () => live.state,
  );
}

/** Actions in flight, by resource id. */
export function useTrackedActions(): ReadonlyMap<string, TrackedAction> {
  return useSyncExternalStore(tracker.store.subscribe, tracker.store.get);
}
