// Starts the one live connection for the app and feeds the query cache from it.
import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { tracker, type TrackedAction } from './actions';
import { LiveCache } from './cache';
import { LiveConnection, streamUrl, type LiveState } from './connection';

const LiveContext = createContext<LiveConnection | null>(null);

export function LiveProvider({ children, connection }: { children: ReactNode; connection?: LiveConnection }) {
  const qc = useQueryClient();
  const [live] = useState(() => connection ?? new LiveConnection({ url: streamUrl() }));
  useEffect(() => {
    const cache = new LiveCache(qc);
    const off = live.subscribe({
      change: (m) => cache.change(m),
      cluster: (m) => cache.cluster(m),
      refetch: () => cache.refetch(),
    });
    const online = () => live.retryNow();
    window.addEventListener('online', online);
    live.start();
    return () => {
      off();
      window.removeEventListener('online', online);
      live.stop();
    };
  }, [live, qc]);
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
