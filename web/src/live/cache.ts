// Applies live stream messages to the query cache, so every view updates without polling and
// never shows what a fresh REST read would not (docs/streaming.md, "A consistent client").
//
// - Lists: each change is one object version; live/lists.ts replaces, removes or inserts the
//   row exactly as the list's filter and sort decide. Every REST answer gets the remembered
//   stream versions re-applied (live/latest.ts), so a page read before a change committed never
//   undoes it. A complete list counts its rows; a partial one (more pages on the server) keeps
//   the server's total, re-read once the changes that may alter it have settled.
// - What the browser cannot decide (an order that depends on the database's collation, counts
//   under filters) is refetched once the stream has been quiet for a moment: `settle`.
// - A list says which change-log position it reflects (`seq`). One older than where the stream
//   resumed after a resync (`floor`: a read standby lagging the primary) lacks changes the
//   stream will never send: it is read again shortly, until it is at least that new.
import type { InfiniteData, QueryClient, QueryKey } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Change, ChangeList, ChangeMessage, Cluster, ClusterList, ClusterMessage, FleetStats, Impact, ResourceDetail, ResourceGraph, ResourceList } from '../api/types';
import { matches, toQuery, type ResourceFilter } from '../lib/filters';
import { kindOf } from '../lib/flux';
import { tracker } from './actions';
import { markChanged } from './flash';
import { forgetLatest, latestSize, latestVersions, remember, rememberCluster } from './latest';
import { applyVersion, applyVersions, complete, dedupe, rowsMove, type ListData } from './lists';
import { Store } from './store';

/** Lists with more loaded pages than this are not refetched automatically to fix an order. */
export const AUTO_REFETCH_PAGES = 2;
/** Quiet time after the last relevant change before a refetch, and the longest wait under churn. */
export const SETTLE_MS = 250;
export const SETTLE_MAX_MS = 2000;
/** Wait before reading again a list older than where the stream resumed (a lagging standby). */
export const LAG_RETRY_MS = 500;

/** Long lists whose order may be off (by query key), for the "refresh" notice. */
export const unplaced = new Store<Readonly<Record<string, number>>>({});

export function countUnplaced(key: string): void {
  unplaced.set({ ...unplaced.get(), [key]: (unplaced.get()[key] ?? 0) + 1 });
}

export function clearUnplaced(key: string): void {
  const next = { ...unplaced.get() };
  delete next[key];
  unplaced.set(next);
}

export const keys = {
  clusters: ['clusters'] as const,
  stats: ['stats'] as const,
  failing: ['failing'] as const,
  resources: (f: ResourceFilter) => ['resources', f] as const,
  /** Matches per health under a filter whose `health` is empty (the health chips). */
  healthCounts: (f: ResourceFilter) => ['health-counts', f] as const,
  resource: (id: string) => ['resource', id] as const,
  changes: (id: string) => ['resource', id, 'changes'] as const,
  events: (id: string) => ['resource', id, 'events'] as const,
  graph: (id: string, depth: number, direction: string) => ['graph', id, depth, direction] as const,
  /** The workloads page's lists, by their query. */
  workloads: (query: Record<string, unknown>) => ['workloads', query] as const,
  impact: (id: string) => ['impact', id] as const,
  /** A read of the fleet at a past moment (`asOf`): never patched or refetched by the stream. */
  historical: (what: string, asOf: string, filter?: ResourceFilter) => ['historical', what, asOf, filter ?? null] as const,
  /** A timeline page; `to` unset means it ends now, and a change refetches it. */
  timeline: (view: object) => ['timeline', view] as const,
  /** The rollouts page, by its query; read again soon after a change of a consumer or source. */
  rollouts: (query: object) => ['rollouts', query] as const,
  /** Reliability figures: today's part comes from the change log, so a change refetches them. */
  reliability: (view: object) => ['reliability', view] as const,
};

/** Kinds whose changes can move a rollout: the consumers and the sources they take revisions from. */
export const ROLLOUT_KINDS = new Set(['Kustomization', 'HelmRelease', 'GitRepository', 'OCIRepository', 'HelmRepository', 'Bucket']);

/**
 * Whether a change may concern objects a filter selects (cluster, kind and namespace only).
 * A change of a deleted cluster has no cluster name: it may concern a filter by name.
 */
export function mayConcern(f: ResourceFilter, m: ChangeMessage): boolean {
  // Workloads (Deployments, Services, …) are never in resource lists.
  if (isWorkload(m)) return false;
  if (f.cluster.length && m.cluster && !f.cluster.some((c) => c.trim() === m.clusterId || c.trim() === m.cluster)) return false;
  if (f.kind.length && !f.kind.some((k) => kindOf(k) === m.kind)) return false;
  if (f.namespace.length && !f.namespace.some((n) => n.trim() === m.namespace)) return false;
  return true;
}

/**
 * Whether the object matched `f` just before the change (`mayConcern` holds), when the change
 * alone tells: its health before, its identity; not its old labels or message.
 */
function matchedBefore(f: ResourceFilter, m: ChangeMessage): boolean | null {
  if (f.label.length) return null;
  if (f.q && !m.name.toLowerCase().includes(f.q.toLowerCase())) return null;
  if (!m.healthBefore) return m.op === 'upsert' ? false : null;
  return !f.health.length || f.health.includes(m.healthBefore);
}

export class LiveCache {
  private timers = new Map<string, { timer: ReturnType<typeof setTimeout>; first: number }>();
  /** Relevant changes seen per list key, so a count read during churn is read again. */
  private epochs = new Map<string, number>();
  /** The seq the stream last resumed at after a resync: a list must reflect at least this. */
  private floor = 0;
  private offCache: () => void;

  constructor(private readonly qc: QueryClient) {
    // Every list the server answers gets the stream's newer versions re-applied.
    this.offCache = qc.getQueryCache().subscribe((e) => {
      if (e.type !== 'updated' || e.action.type !== 'success' || e.action.manual) return;
      if (e.query.queryKey[0] === 'resources') this.reconcile(e.query.queryKey);
    });
  }

  dispose(): void {
    this.offCache();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Run `fn` once changes under `id` have been quiet for SETTLE_MS (at most SETTLE_MAX_MS late). */
  private settle(id: string, fn: () => void): void {
    const now = Date.now();
    const t = this.timers.get(id);
    if (t) clearTimeout(t.timer);
    const first = t?.first ?? now;
    const wait = Math.max(0, Math.min(SETTLE_MS, first + SETTLE_MAX_MS - now));
    const timer = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, wait);
    this.timers.set(id, { timer, first });
  }

  private refetchSoon(key: QueryKey, exact = false): void {
    this.settle('refetch' + JSON.stringify(key) + exact, () => void this.qc.invalidateQueries({ queryKey: key, exact }));
  }

  /** Throttled refetch (at most once per `ms`) for views where a second late is fine. */
  private soon(key: QueryKey, ms: number, exact = false): void {
    const id = 'soon' + JSON.stringify(key) + exact;
    if (this.timers.has(id)) return;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      void this.qc.invalidateQueries(exact ? { queryKey: key, exact } : { queryKey: key });
    }, ms);
    this.timers.set(id, { timer, first: Date.now() });
  }

  change(m: ChangeMessage): void {
    remember(m);
    markChanged(m.resourceId);
    if (m.resource) tracker.observe(m.resource);
    if (m.op !== 'event') {
      this.patchLists(m);
      this.recountHealth(m);
    }
    this.patchDetail(m);
    if (m.op !== 'event') this.patchGraphs(m);
    if (isWorkload(m)) this.patchWorkloads(m);
    this.soon(keys.stats, 1000);
    this.soon(keys.failing, 1000);
    this.refetchTimelines();
    if (m.op !== 'event' && ROLLOUT_KINDS.has(m.kind)) this.soon(['rollouts'], 1000);
    if (m.op !== 'event') this.soon(['reliability'], 3000);
  }

  /** Timelines that end now get the new entry at their top: their first page is read again. */
  private refetchTimelines(): void {
    for (const q of this.qc.getQueryCache().findAll({ queryKey: ['timeline'] })) {
      if (!(q.queryKey[1] as { to?: string } | undefined)?.to) this.soon(q.queryKey, 300);
    }
  }

  /**
   * Graphs and impacts that show the object: its node takes the new health at once; the graph
   * is read again soon, since the change may have added or removed edges (a new inventory).
   */
  private patchGraphs(m: ChangeMessage): void {
    for (const q of this.qc.getQueryCache().findAll({ predicate: (q) => q.queryKey[0] === 'graph' || q.queryKey[0] === 'impact' })) {
      const data = q.state.data as ResourceGraph | Impact | undefined;
      if (!data) continue;
      const next = withNodeState(data, m);
      if (next === data) continue;
      this.qc.setQueryData(q.queryKey, next);
      this.soon(q.queryKey, 1500);
    }
  }

  /**
   * Workload lists: a listed workload takes its new state at once (its images stay: the
   * stream leaves them out); which workloads a list holds is read again soon.
   */
  private patchWorkloads(m: ChangeMessage): void {
    for (const q of this.qc.getQueryCache().findAll({ queryKey: ['workloads'] })) {
      const data = q.state.data as InfiniteData<ResourceList> | undefined;
      if (!data) continue;
      this.qc.setQueryData(q.queryKey, withWorkload(data, m));
      this.soon(q.queryKey, 1000);
    }
  }

  private patchLists(m: ChangeMessage): void {
    const v = { id: m.resourceId, seq: m.resource?.seq ?? m.seq, resource: m.resource ?? null };
    for (const q of this.qc.getQueryCache().findAll({ queryKey: ['resources'] })) {
      const filter = q.queryKey[1] as ResourceFilter;
      const data = q.state.data as ListData | undefined;
      if (!data) continue;
      // A loaded row is always looked at (its object may have left by any filter).
      const r = applyVersion(data, filter, v);
      let next = r.data;
      const key = JSON.stringify(q.queryKey);
      if (mayConcern(filter, m)) this.epochs.set(key, (this.epochs.get(key) ?? 0) + 1);
      if (!complete(data) && mayConcern(filter, m)) {
        // The server's total, kept by what this change tells; re-read once changes settle.
        const before = r.membership === null ? matchedBefore(filter, m) : true;
        const after = !!m.resource && matches(filter, m.resource);
        if (before !== null) next = addToTotal(next, Number(after) - Number(before));
        this.settle('count' + key, () => void this.recount(q.queryKey, filter));
      }
      if (next !== data) this.qc.setQueryData<ListData>(q.queryKey, next);
      if (r.unsure) this.unsure(q.queryKey, data);
    }
  }

  /** An order the browser could not decide: refetch a short list, flag a long one. */
  private unsure(key: QueryKey, data: ListData): void {
    if (data.pages.length <= AUTO_REFETCH_PAGES) this.refetchSoon(key, true);
    else countUnplaced(JSON.stringify(key));
  }

  /**
   * Re-apply every remembered stream version to a list the server just answered. An unsure
   * placement here is not refetched: the answer is fresh, and refetching could repeat forever
   * (a remembered version beyond the loaded pages stays unsure against every new answer).
   */
  private reconcile(key: QueryKey): void {
    const fetched = this.qc.getQueryData<ListData>(key);
    if (!fetched) return;
    const filter = key[1] as ResourceFilter;
    if (fetched.pages.some((p) => p.seq != null && p.seq < this.floor)) this.soon(key, LAG_RETRY_MS, true);
    const data = rowsMove(filter.sort) ? dedupe(fetched) : fetched;
    const r = latestSize() ? applyVersions(data, filter, latestVersions()) : { data, changed: false };
    if (r.changed || data !== fetched) this.qc.setQueryData<ListData>(key, r.data);
    if (r.changed && !complete(data)) this.settle('count' + JSON.stringify(key), () => void this.recount(key, filter));
  }

  /** Read a partial list's total again; again later if relevant changes arrived meanwhile. */
  private async recount(key: QueryKey, filter: ResourceFilter): Promise<void> {
    const id = JSON.stringify(key);
    const epoch = this.epochs.get(id) ?? 0;
    let page: ResourceList;
    try {
      page = await api<ResourceList>('/api/v1/resources', { query: { ...toQuery(filter), limit: 1 } });
    } catch {
      return;
    }
    if ((this.epochs.get(id) ?? 0) !== epoch) {
      this.settle('count' + id, () => void this.recount(key, filter));
      return;
    }
    const data = this.qc.getQueryData<ListData>(key);
    const first = data?.pages[0];
    if (!data || !first || page.total === undefined) return;
    const pages = [{ ...first, total: page.total, totalCapped: page.totalCapped }, ...data.pages.slice(1)];
    this.qc.setQueryData<ListData>(key, { ...data, pages });
  }

  /** The health chips' counts: read again once the changes that concern them settle. */
  private recountHealth(m: ChangeMessage): void {
    for (const q of this.qc.getQueryCache().findAll({ queryKey: ['health-counts'] })) {
      if (mayConcern(q.queryKey[1] as ResourceFilter, m)) this.refetchSoon(q.queryKey, true);
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
      this.refetchSoon(key, true);
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
    rememberCluster(c, m.removed);
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

  /**
   * After `resync`: what the stream delivered may have gaps; start over from REST. The stream
   * carries the changes after `head`; the lists must bring the ones before.
   */
  refetch(head = 0): void {
    this.floor = Math.max(this.floor, head);
    forgetLatest();
    unplaced.set({});
    void this.qc.invalidateQueries();
  }
}

function addToTotal(data: ListData, delta: number): ListData {
  const first = data.pages[0];
  if (!delta || !first || first.total == null || first.totalCapped) return data;
  return { ...data, pages: [{ ...first, total: Math.max(0, first.total + delta) }, ...data.pages.slice(1)] };
}

/** The API groups of the workload kinds (src/flux/workloads.rs); no Flux kind is in them. */
const WORKLOAD_GROUPS: ReadonlySet<string> = new Set(['', 'apps', 'batch', 'networking.k8s.io']);

/** Whether a change is about a workload (a delete carries no object: its group tells). */
export function isWorkload(m: ChangeMessage): boolean {
  return !!m.resource?.workload || WORKLOAD_GROUPS.has(m.apiGroup);
}

/** A workload list with the changed workload's row replaced (images kept) or dropped when deleted. */
export function withWorkload(data: InfiniteData<ResourceList>, m: ChangeMessage): InfiniteData<ResourceList> {
  let changed = false;
  const pages = data.pages.map((page) => {
    const i = page.items.findIndex((r) => r.id === m.resourceId);
    const old = page.items[i];
    if (!old || (m.resource && m.resource.seq <= old.seq)) return page;
    changed = true;
    const items = page.items.slice();
    if (!m.resource) items.splice(i, 1);
    else items[i] = { ...m.resource, workload: m.resource.workload && { ...m.resource.workload, images: old.workload?.images } };
    return { ...page, items };
  });
  return changed ? { ...data, pages } : data;
}

type Node = ResourceGraph['nodes'][number];

/** `node` as the change leaves it: the new state, or not stored once deleted. */
function nodeAfter(node: Node, m: ChangeMessage): Node {
  const r = m.resource;
  if (!r) return { ...node, stored: false, health: 'unknown', reason: undefined, message: undefined, revision: undefined };
  return { ...node, stored: true, watched: true, health: r.health, reason: r.reason, message: r.message, revision: r.revision };
}

/** A graph or impact with the changed object's node updated; the same object when it has none. */
export function withNodeState<T extends ResourceGraph | Impact>(data: T, m: ChangeMessage): T {
  const patch = (nodes: Node[]) => {
    const i = nodes.findIndex((n) => n.id === m.resourceId);
    if (i < 0) return nodes;
    const next = nodes.slice();
    next[i] = nodeAfter(nodes[i]!, m);
    return next;
  };
  if ('nodes' in data) {
    const nodes = patch(data.nodes);
    return nodes === data.nodes ? data : { ...data, nodes };
  }
  let changed = false;
  const clusters = data.clusters.map((c) => {
    const nodes = patch(c.nodes);
    if (nodes === c.nodes) return c;
    changed = true;
    return { ...c, nodes };
  });
  return changed ? { ...data, clusters } : data;
}
