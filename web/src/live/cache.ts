// Applies live stream messages to the query cache, so every view updates without polling.
// Objects are replaced only by newer versions (`resource.seq`), as docs/streaming.md asks;
// what cannot be patched in place (a new object in a sorted list, counts) is refetched,
// debounced so a burst of changes costs one request.
import type { InfiniteData, QueryClient, QueryKey } from '@tanstack/react-query';
import type { Change, ChangeList, ChangeMessage, Cluster, ClusterList, ClusterMessage, FleetStats, Resource, ResourceDetail, ResourceList } from '../api/types';
import { matches, type ResourceFilter } from '../lib/filters';
import { tracker } from './actions';
import { markChanged } from './flash';
import { Store } from './store';

/** Lists with more loaded pages than this are not refetched automatically for new objects. */
export const AUTO_REFETCH_PAGES = 2;

/** New matching objects not yet in each long list (by query key), for the "refresh" notice. */
export const unseen = new Store<Readonly<Record<string, number>>>({});

export function countUnseen(key: string): void {
  unseen.set({ ...unseen.get(), [key]: (unseen.get()[key] ?? 0) + 1 });
}

export function clearUnseen(key: string): void {
  const next = { ...unseen.get() };
  delete next[key];
  unseen.set(next);
}

/**
 * The newest version of each object and cluster the stream delivered (bounded). A REST answer
 * that was read before a change committed must not undo it in the cache: queries pass their
 * results through `freshen*` (the stream's version wins when its seq is higher).
 */
const latest = new Map<string, { seq: number; resource: Resource | null }>();
const latestClusters = new Map<string, Cluster | null>();
const LATEST_MAX = 20_000;

function remember(m: ChangeMessage): void {
  if (m.op === 'event' && !m.resource) return;
  latest.delete(m.resourceId);
  latest.set(m.resourceId, { seq: m.resource?.seq ?? m.seq, resource: m.resource ?? null });
  if (latest.size > LATEST_MAX) latest.delete(latest.keys().next().value as string);
}

/** Objects as REST returned them, with newer stream versions swapped in and deleted ones dropped. */
export function freshen(items: Resource[]): Resource[] {
  if (latest.size === 0) return items;
  const out: Resource[] = [];
  for (const r of items) {
    const l = latest.get(r.id);
    if (!l || l.seq <= r.seq) out.push(r);
    else if (l.resource) out.push(l.resource);
  }
  return out;
}

/** One object as REST returned it, or the stream's newer version. */
export function freshenOne(r: Resource): Resource {
  const l = latest.get(r.id);
  return l?.resource && l.seq > r.seq ? l.resource : r;
}

function stamp(c: Cluster): number {
  return Math.max(Date.parse(c.updatedAt), c.status ? Date.parse(c.status.updatedAt) : 0);
}

/** Clusters as REST returned them, with newer stream versions swapped in and removed ones dropped. */
export function freshenClusters(items: Cluster[]): Cluster[] {
  const out: Cluster[] = [];
  for (const c of items) {
    const l = latestClusters.get(c.id);
    if (l === undefined) out.push(c);
    else if (l !== null) out.push(stamp(l) >= stamp(c) ? l : c);
  }
  return out;
}

/** The stream's newer status of a cluster, if any (for the overview's cluster stats). */
export function freshStatus<T extends { id: string; status?: Cluster['status'] }>(s: T): T {
  const l = latestClusters.get(s.id);
  const restAt = s.status ? Date.parse(s.status.updatedAt) : 0;
  return l?.status && Date.parse(l.status.updatedAt) > restAt ? { ...s, status: l.status } : s;
}

export const keys = {
  clusters: ['clusters'] as const,
  stats: ['stats'] as const,
  failing: ['failing'] as const,
  resources: (f: ResourceFilter) => ['resources', f] as const,
  resource: (id: string) => ['resource', id] as const,
  changes: (id: string) => ['resource', id, 'changes'] as const,
  events: (id: string) => ['resource', id, 'events'] as const,
};

/** Replace, remove or keep an item of a list according to a change; null when not in it. */
export function patchItems(items: Resource[], m: ChangeMessage): Resource[] | null {
  const i = items.findIndex((r) => r.id === m.resourceId);
  if (i < 0) return null;
  const old = items[i]!;
  const next = m.resource;
  if (!next) {
    return old.seq < m.seq ? items.filter((_, j) => j !== i) : items;
  }
  if (next.seq <= old.seq) return items;
  const copy = items.slice();
  copy[i] = next;
  return copy;
}

export class LiveCache {
  private timers = new Map<string, ReturnType<typeof setTimeout>>();
  constructor(private readonly qc: QueryClient) {}

  /** Refetch active queries with this key prefix at most once per `ms`. */
  private soon(key: QueryKey, ms: number, exact = false): void {
    const id = JSON.stringify(key) + exact;
    if (this.timers.has(id)) return;
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        void this.qc.invalidateQueries({ queryKey: key, exact });
      }, ms),
    );
  }

  change(m: ChangeMessage): void {
    remember(m);
    markChanged(m.resourceId);
    if (m.resource) tracker.observe(m.resource);
    if (m.op !== 'event') this.patchLists(m);
    this.patchDetail(m);
    this.soon(keys.stats, 1000);
    this.soon(keys.failing, 1000);
  }

  private patchLists(m: ChangeMessage): void {
    for (const q of this.qc.getQueryCache().findAll({ queryKey: ['resources'] })) {
      const filter = q.queryKey[1] as ResourceFilter;
      const data = q.state.data as InfiniteData<ResourceList> | undefined;
      if (!data) continue;
      let found = false;
      const pages = data.pages.map((p) => {
        const items = patchItems(p.items, m);
        if (items === null) return p;
        found = true;
        return items === p.items ? p : { ...p, items };
      });
      if (found) {
        this.qc.setQueryData<InfiniteData<ResourceList>>(q.queryKey, { ...data, pages });
      } else if (m.resource && matches(filter, m.resource)) {
        // A new object (or one that now matches): its place in the sort is the server's call.
        // A short list is refetched; a long one (refetching means every loaded page again) is
        // only told, and the view offers a refresh.
        if (data.pages.length <= AUTO_REFETCH_PAGES) this.soon(q.queryKey, 1000);
        else countUnseen(JSON.stringify(q.queryKey));
      }
    }
  }

  private patchDetail(m: ChangeMessage): void {
    const key = keys.resource(m.resourceId);
    const detail = this.qc.getQueryData<ResourceDetail>(key);
    if (!detail) return;
    if (m.resource && m.resource.seq > detail.resource.seq) {
      this.qc.setQueryData<ResourceDetail>(key, { ...detail, resource: m.resource });
    }
    this.prependHistory(m);
    if (m.op === 'event') {
      this.soon(keys.events(m.resourceId), 300);
    } else {
      // Conditions, the object and its inventory come with the detail: refetch it.
      this.soon(key, 300, true);
    }
  }

  /** The history tab's newest page gets the entry at its top (once). */
  private prependHistory(m: ChangeMessage): void {
    const key = keys.changes(m.resourceId);
    const changes = this.qc.getQueryData<InfiniteData<ChangeList>>(key);
    const first = changes?.pages[0];
    if (!changes || !first || (first.items[0] && first.items[0].seq >= m.seq)) return;
    const { resource, ...entry } = m as ChangeMessage & { type?: string };
    delete entry.type;
    const change: Change = entry;
    this.qc.setQueryData<InfiniteData<ChangeList>>(key, {
      ...changes,
      pages: [{ ...first, items: [change, ...first.items] }, ...changes.pages.slice(1)],
    });
  }

  cluster(m: ClusterMessage): void {
    const c: Cluster = m.cluster;
    latestClusters.set(c.id, m.removed ? null : c);
    const list = this.qc.getQueryData<ClusterList>(keys.clusters);
    if (list) {
      const others = list.items.filter((x) => x.id !== c.id);
      const items = m.removed ? others : [...others, c].sort((a, b) => a.name.localeCompare(b.name));
      this.qc.setQueryData<ClusterList>(keys.clusters, { ...list, items });
    }
    const stats = this.qc.getQueryData<FleetStats>(keys.stats);
    if (stats) {
      this.qc.setQueryData<FleetStats>(keys.stats, {
        ...stats,
        clusters: stats.clusters.map((s) => (s.id === c.id ? { ...s, status: c.status } : s)),
      });
    }
    this.soon(keys.stats, 1000);
  }

  refetch(): void {
    unseen.set({});
    void this.qc.invalidateQueries();
  }
}
