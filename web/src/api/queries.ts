// Queries shared by the views (keys in live/cache.ts, which keeps them current).
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { keys } from '../live/cache';
import { freshen, freshenClusters, freshenOne, freshStatus } from '../live/latest';
import { withEdge } from '../live/lists';
import { historicalQuery } from '../lib/asof';
import { toQuery, withoutHealth, type ResourceFilter } from '../lib/filters';
import { ApiError, api } from './client';
import type { ChangeList, ClusterList, EventList, FleetStats, GraphDirection, Health, Impact, ResourceDetail, ResourceGraph, ResourceList } from './types';
import { HEALTHS } from './types';

export const PAGE = 500;

export function useClusters() {
  return useQuery({
    queryKey: keys.clusters,
    queryFn: async ({ signal }) => {
      const list = await api<ClusterList>('/api/v1/clusters', { signal });
      return { ...list, items: freshenClusters(list.items) };
    },
  });
}

// With `asOf` (a past moment) the reads below use keys under `historical`, which the live cache
// never patches or refetches: a past state does not change with the stream.

export function useStats(asOf?: string) {
  return useQuery({
    queryKey: asOf ? keys.historical('stats', asOf) : keys.stats,
    queryFn: async ({ signal }) => {
      const stats = await api<FleetStats>('/api/v1/stats', { signal, query: { asOf } });
      return asOf ? stats : { ...stats, clusters: stats.clusters.map(freshStatus) };
    },
    retry: (n, e) => !isGone(e) && n < 3,
  });
}

export function useFailing(asOf?: string) {
  return useQuery({
    queryKey: asOf ? keys.historical('failing', asOf) : keys.failing,
    queryFn: async ({ signal }) => {
      const list = await api<ResourceList>('/api/v1/resources', { signal, query: { health: ['failed', 'stalled'], sort: '-updated', limit: 100, asOf } });
      if (asOf) return list;
      // A newer version that is no longer failing leaves the list.
      return { ...list, items: freshen(list.items).filter((r) => r.health === 'failed' || r.health === 'stalled') };
    },
    retry: (n, e) => !isGone(e) && n < 3,
  });
}

/** A 410: the moment asked for is older than the retained history (no point retrying). */
export function isGone(e: unknown): e is ApiError {
  return e instanceof ApiError && e.status === 410;
}

export function useResources(filter: ResourceFilter, asOf?: string) {
  return useInfiniteQuery({
    queryKey: asOf ? keys.historical('resources', asOf, filter) : keys.resources(filter),
    // The live cache re-applies the stream's newer versions once the pages are stored.
    queryFn: async ({ signal, pageParam }) => {
      const query = asOf ? historicalQuery(toQuery(filter), asOf) : toQuery(filter);
      return withEdge(await api<ResourceList>('/api/v1/resources', { signal, query: { ...query, limit: PAGE, continue: pageParam } }));
    },
    retry: (n, e) => !isGone(e) && n < 3,
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.continue ?? undefined,
  });
}

/** How many objects match per health, counted up to 10,000 each. */
export type HealthTotals = Record<Health, { count: number; capped: boolean }>;

/** Matches per health under the filter's other conditions (the health chips); kept by the live cache. */
export function useHealthCounts(filter: ResourceFilter, asOf?: string) {
  const base = { ...withoutHealth(filter), sort: 'name' as const };
  return useQuery({
    queryKey: asOf ? keys.historical('health-counts', asOf, base) : keys.healthCounts(base),
    queryFn: async ({ signal }) => {
      const one = (h: Health) => {
        const q = toQuery({ ...base, health: [h] });
        return api<ResourceList>('/api/v1/resources', { signal, query: { ...(asOf ? historicalQuery(q, asOf) : q), limit: 1 } });
      };
      const lists = await Promise.all(HEALTHS.map(one));
      return Object.fromEntries(HEALTHS.map((h, i) => [h, { count: lists[i]!.total ?? 0, capped: lists[i]!.totalCapped }])) as HealthTotals;
    },
  });
}

export function useResource(id: string) {
  return useQuery({
    queryKey: keys.resource(id),
    queryFn: async ({ signal }) => {
      const detail = await api<ResourceDetail>(`/api/v1/resources/${encodeURIComponent(id)}`, { signal });
      return { ...detail, resource: freshenOne(detail.resource) };
    },
  });
}

export function useResourceChanges(id: string) {
  return useInfiniteQuery({
    queryKey: keys.changes(id),
    queryFn: ({ signal, pageParam }) =>
      api<ChangeList>(`/api/v1/resources/${encodeURIComponent(id)}/changes`, { signal, query: { limit: 100, continue: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.continue ?? undefined,
  });
}

export function useResourceEvents(id: string) {
  return useInfiniteQuery({
    queryKey: keys.events(id),
    queryFn: ({ signal, pageParam }) =>
      api<EventList>(`/api/v1/resources/${encodeURIComponent(id)}/events`, { signal, query: { limit: 100, continue: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.continue ?? undefined,
  });
}

/** The objects around one object (kept current by the live cache: health patched, shape re-read). */
export function useGraph(id: string, depth: number, direction: GraphDirection, enabled = true) {
  return useQuery({
    queryKey: keys.graph(id, depth, direction),
    queryFn: ({ signal }) => api<ResourceGraph>(`/api/v1/resources/${encodeURIComponent(id)}/graph`, { signal, query: { depth, direction } }),
    enabled,
  });
}

/** What is downstream of an object, by cluster. */
export function useImpact(id: string) {
  return useQuery({
    queryKey: keys.impact(id),
    queryFn: ({ signal }) => api<Impact>(`/api/v1/resources/${encodeURIComponent(id)}/impact`, { signal }),
  });
}
