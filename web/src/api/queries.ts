// Queries shared by the views (keys in live/cache.ts, which keeps them current).
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { keys } from '../live/cache';
import { toQuery, type ResourceFilter } from '../lib/filters';
import { api } from './client';
import type { ChangeList, ClusterList, EventList, FleetStats, ResourceDetail, ResourceList } from './types';

export const PAGE = 500;

export function useClusters() {
  return useQuery({ queryKey: keys.clusters, queryFn: ({ signal }) => api<ClusterList>('/api/v1/clusters', { signal }) });
}

export function useStats() {
  return useQuery({ queryKey: keys.stats, queryFn: ({ signal }) => api<FleetStats>('/api/v1/stats', { signal }) });
}

export function useFailing() {
  return useQuery({
    queryKey: keys.failing,
    queryFn: ({ signal }) =>
      api<ResourceList>('/api/v1/resources', { signal, query: { health: ['failed', 'stalled'], sort: '-updated', limit: 100 } }),
  });
}

export function useResources(filter: ResourceFilter) {
  return useInfiniteQuery({
    queryKey: keys.resources(filter),
    queryFn: ({ signal, pageParam }) =>
      api<ResourceList>('/api/v1/resources', { signal, query: { ...toQuery(filter), limit: PAGE, continue: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.continue ?? undefined,
  });
}

export function useResource(id: string) {
  return useQuery({
    queryKey: keys.resource(id),
    queryFn: ({ signal }) => api<ResourceDetail>(`/api/v1/resources/${encodeURIComponent(id)}`, { signal }),
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
