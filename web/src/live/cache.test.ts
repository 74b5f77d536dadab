import { QueryClient, type InfiniteData } from '@tanstack/react-query';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChangeMessage, GraphNode, Health, Impact, Resource, ResourceGraph } from '../api/types';
import { parseFilter, type ResourceFilter } from '../lib/filters';
import { isWorkload, keys, LAG_RETRY_MS, LiveCache, SETTLE_MAX_MS, SETTLE_MS, withNodeState, withWorkload } from './cache';
import { changedRecently } from './flash';
import { forgetLatest, freshen, freshenClusters, freshStatus } from './latest';
import { withEdge, type ListData, type ListPage } from './lists';

const r = (id: string, seq: number, extra: Partial<Resource> = {}): Resource => ({
  id, clusterId: 'c', cluster: 'c', apiGroup: 'g', apiVersion: 'v1', kind: 'Kustomization', namespace: 'n',
  name: id, health: 'ready', suspended: false, dependsOn: [], labels: {}, updatedAt: '2025-01-01T00:00:00Z', seq, ...extra,
});
const msg = (id: string, seq: number, resource: Resource | null, op: ChangeMessage['op'] = 'upsert', healthBefore: Health | undefined = 'ready'): ChangeMessage => ({
  seq, at: '2025-01-01T00:00:00Z', clusterId: 'c', cluster: 'c', resourceId: id, apiGroup: 'g', kind: 'Kustomization', namespace: 'n', name: id, op,
  healthBefore, healthAfter: resource?.health, resource: resource ?? undefined,
});
const pageOf = (items: Resource[], more?: string, total?: number): ListPage => withEdge({ items, totalCapped: false, continue: more, total });
const view = (qc: QueryClient, f: ResourceFilter) =>
  qc.getQueryData<ListData>(keys.resources(f))?.pages.map((p) => p.items.map((x) => `${x.id}:${x.health}`));

afterEach(() => {
  forgetLatest();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('LiveCache and filtered lists', () => {
  it('updates a loaded list in place and flashes the row', () => {
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams('sort=name'));
    qc.setQueryData(keys.resources(f), { pages: [pageOf([r('a', 1), r('b', 1)], undefined, 2)], pageParams: [undefined] });
    new LiveCache(qc).change(msg('b', 2, r('b', 2, { health: 'failed' })));
    expect(view(qc, f)).toEqual([['a:ready', 'b:failed']]);
    expect(changedRecently('b')).toBe(true);
  });

  it('drops rows that leave the filter and shows rows that enter it (health=failed)', () => {
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams('health=failed&sort=name'));
    qc.setQueryData(keys.resources(f), { pages: [pageOf([r('a', 1, { health: 'failed' }), r('c', 1, { health: 'failed' })])], pageParams: [undefined] });
    const cache = new LiveCache(qc);
    cache.change(msg('a', 2, r('a', 2), 'upsert', 'failed'));
    cache.change(msg('b', 3, r('b', 3, { health: 'failed' })));
    expect(view(qc, f)).toEqual([['b:failed', 'c:failed']]);
  });

  it('empties a Suspended list as a bulk resume is handled', () => {
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams('health=suspended'));
    const suspended = ['x', 'y', 'z'].map((id) => r(id, 1, { health: 'suspended', suspended: true }));
    qc.setQueryData(keys.resources(f), { pages: [pageOf(suspended)], pageParams: [undefined] });
    const cache = new LiveCache(qc);
    for (const [i, id] of ['x', 'y', 'z'].entries()) cache.change(msg(id, 10 + i, r(id, 10 + i, { health: 'progressing' }), 'upsert', 'suspended'));
    expect(view(qc, f)).toEqual([[]]);
  });

  it('re-applies what the stream delivered to a REST answer read before it committed', async () => {
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams('health=failed&sort=name'));
    const cache = new LiveCache(qc);
    cache.change(msg('a', 10, r('a', 10, { health: 'ready' }), 'upsert', 'failed'));
    cache.change(msg('b', 11, r('b', 11, { health: 'failed' })));
    // The server read its page before seq 10 and 11 committed.
    await qc.fetchInfiniteQuery({
      queryKey: keys.resources(f),
      queryFn: () => pageOf([r('a', 4, { health: 'failed' }), r('c', 5, { health: 'failed' })]),
      initialPageParam: undefined as string | undefined,
      getNextPageParam: () => undefined,
    });
    expect(view(qc, f)).toEqual([['b:failed', 'c:failed']]);
    cache.dispose();
  });

  it('reads a list again while it is older than where the stream resumed (a lagging read standby)', async () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams('sort=name'));
    const cache = new LiveCache(qc);
    const invalidate = vi.spyOn(qc, 'invalidateQueries');
    cache.refetch(20); // the stream resumed after seq 20: changes up to it come only from REST
    invalidate.mockClear();
    const answers = [18, 20];
    const read = () =>
      qc.fetchInfiniteQuery({
        queryKey: keys.resources(f),
        queryFn: () => ({ ...pageOf([r('a', 3)]), seq: answers.shift() }),
        initialPageParam: undefined as string | undefined,
        getNextPageParam: () => undefined,
      });
    await read(); // seq 18: the standby has not replayed 19 and 20 yet
    await vi.advanceTimersByTimeAsync(LAG_RETRY_MS + 1);
    expect(invalidate).toHaveBeenCalledWith({ queryKey: keys.resources(f), exact: true });
    invalidate.mockClear();
    await read(); // seq 20: complete
    await vi.advanceTimersByTimeAsync(LAG_RETRY_MS * 4);
    expect(invalidate).not.toHaveBeenCalled();
    cache.dispose();
  });

  it('refetches a short list whose order depends on the database collation, once changes settle', () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams('sort=namespace'));
    qc.setQueryData(keys.resources(f), { pages: [pageOf([r('a', 1, { namespace: 'team-a' })])], pageParams: [undefined] });
    const invalidate = vi.spyOn(qc, 'invalidateQueries').mockResolvedValue();
    new LiveCache(qc).change(msg('b', 2, r('b', 2, { namespace: 'teamb' })));
    expect(view(qc, f)).toEqual([['a:ready', 'b:ready']]); // placed by byte order meanwhile
    vi.advanceTimersByTime(SETTLE_MS + 1);
    expect(invalidate).toHaveBeenCalledWith({ queryKey: keys.resources(f), exact: true });
  });

  it('does not refetch a fresh answer again and again for a remembered row it cannot place', async () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams('sort=namespace'));
    const cache = new LiveCache(qc);
    cache.change(msg('x', 9, r('x', 9, { namespace: 'team-a' }))); // vs the edge "teama": collation decides
    const invalidate = vi.spyOn(qc, 'invalidateQueries');
    await qc.fetchInfiniteQuery({
      queryKey: keys.resources(f),
      queryFn: () => pageOf([r('a', 1, { namespace: 'apps' }), r('b', 1, { namespace: 'teama' })], 'p1', 900),
      initialPageParam: undefined as string | undefined,
      getNextPageParam: () => undefined,
    });
    await vi.advanceTimersByTimeAsync(SETTLE_MAX_MS * 2);
    expect(invalidate.mock.calls.filter(([o]) => o?.queryKey?.[0] === 'resources')).toEqual([]);
    cache.dispose();
  });

  it('keeps a partial list total by what each change tells, then re-reads it when changes settle', async () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams('health=failed&sort=name'));
    qc.setQueryData(keys.resources(f), { pages: [pageOf([r('a', 1, { health: 'failed' })], 'p1', 700)], pageParams: [undefined] });
    const fetch = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify({ items: [], total: 697, totalCapped: false })));
    const cache = new LiveCache(qc);
    cache.change(msg('a', 2, r('a', 2), 'upsert', 'failed')); // a loaded row recovered: -1
    cache.change(msg('zz', 3, r('zz', 3), 'upsert', 'failed')); // an unloaded one recovered: -1
    cache.change(msg('new', 4, r('new', 4, { health: 'failed' }), 'upsert', undefined)); // a new failing one (beyond the edge): +1
    expect(qc.getQueryData<ListData>(keys.resources(f))?.pages[0]?.total).toBe(699);
    expect(fetch).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(SETTLE_MS + 1);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(String(fetch.mock.calls[0]![0])).toContain('health=failed');
    expect(qc.getQueryData<ListData>(keys.resources(f))?.pages[0]?.total).toBe(697);
  });

  it('refetches the health counts once changes concerning them settle, at most SETTLE_MAX_MS late under churn', () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const base = { ...parseFilter(new URLSearchParams('cluster=c')), sort: 'name' as const };
    qc.setQueryData(keys.healthCounts(base), {});
    const invalidate = vi.spyOn(qc, 'invalidateQueries').mockResolvedValue();
    const cache = new LiveCache(qc);
    for (let t = 0; t < SETTLE_MAX_MS; t += 100) {
      cache.change(msg('a', 2 + t, r('a', 2 + t, { health: 'failed' })));
      vi.advanceTimersByTime(100);
    }
    expect(invalidate).toHaveBeenCalledWith({ queryKey: keys.healthCounts(base), exact: true });
  });

  it('updates the cluster list from cluster messages', () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.clusters, { items: [] });
    const cluster = {
      id: 'c1', name: 'sim-1', description: '', labels: {}, source: 'kubeconfig' as const, serverUrl: 'https://x', context: 'sim-1',
      insecure: false, watchWorkloads: true, createdAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T00:00:00Z',
    };
    const cache = new LiveCache(qc);
    cache.cluster({ cluster, removed: false });
    expect(qc.getQueryData<{ items: unknown[] }>(keys.clusters)?.items).toHaveLength(1);
    cache.cluster({ cluster, removed: true });
    expect(qc.getQueryData<{ items: unknown[] }>(keys.clusters)?.items).toHaveLength(0);
  });
});

describe('history', () => {
  it('gets live entries at the top, once, without the stream-only fields', () => {
    const qc = new QueryClient();
    const detail = { resource: r('a', 1), createdAt: '', object: {}, conditions: [], changes: [], events: [] };
    qc.setQueryData(keys.resource('a'), detail);
    qc.setQueryData(keys.changes('a'), { pages: [{ items: [] }], pageParams: [undefined] });
    const cache = new LiveCache(qc);
    const m = { ...msg('a', 2, r('a', 2, { health: 'failed' })), type: 'change' } as ChangeMessage;
    cache.change(m);
    cache.change(m);
    const items = qc.getQueryData<InfiniteData<{ items: object[] }>>(keys.changes('a'))?.pages[0]?.items ?? [];
    expect(items).toHaveLength(1);
    expect(items[0]).not.toHaveProperty('resource');
    expect(items[0]).not.toHaveProperty('type');
    expect(qc.getQueryData<{ resource: Resource }>(keys.resource('a'))?.resource.health).toBe('failed');
  });
});

describe('REST answers read before a change committed', () => {
  it('do not undo what the stream delivered', () => {
    const cache = new LiveCache(new QueryClient());
    cache.change(msg('x', 10, r('x', 10, { health: 'failed' })));
    cache.change(msg('gone', 11, null, 'delete'));
    const stale = [r('x', 4), r('gone', 5), r('other', 3)];
    expect(freshen(stale).map((i) => `${i.id}:${i.health}`)).toEqual(['x:failed', 'other:ready']);
    expect(freshen([r('x', 12)])[0]?.seq).toBe(12);
  });

  it('keep the newest cluster status', () => {
    const cache = new LiveCache(new QueryClient());
    const base = {
      id: 'c9', name: 'sim-9', description: '', labels: {}, source: 'kubeconfig' as const, serverUrl: 'https://x', context: 'sim-9',
      insecure: false, watchWorkloads: true, createdAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T00:00:00Z',
    };
    const status = (state: 'connecting' | 'ready', at: string) => ({ state, message: '', kinds: {}, resyncDriftTotal: 0, updatedAt: at });
    cache.cluster({ cluster: { ...base, status: status('ready', '2025-01-01T00:00:05Z') }, removed: false });
    const rest = [{ ...base, status: status('connecting', '2025-01-01T00:00:01Z') }];
    expect(freshenClusters(rest)[0]?.status?.state).toBe('ready');
    expect(freshStatus({ id: 'c9', status: status('connecting', '2025-01-01T00:00:01Z') }).status?.state).toBe('ready');
  });
});

describe('LiveCache and graphs', () => {
  const node = (id: string, health: Health = 'ready'): GraphNode => ({
    id, clusterId: 'c', cluster: 'c', apiGroup: 'g', kind: 'Kustomization', namespace: 'n', name: id, stored: true, watched: true, health, depth: 1,
  });

  it('recolours a graph node at once and re-reads the graph soon', () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const graph: ResourceGraph = { root: 'a', nodes: [node('a'), node('b')], edges: [{ from: 'a', to: 'b', type: 'inventory' }], truncated: false };
    qc.setQueryData(keys.graph('a', 3, 'both'), graph);
    const refetch = vi.spyOn(qc, 'invalidateQueries');
    new LiveCache(qc).change(msg('b', 2, r('b', 2, { health: 'failed', message: 'boom' })));
    const after = qc.getQueryData<ResourceGraph>(keys.graph('a', 3, 'both'))!;
    expect(after.nodes.map((n) => `${n.id}:${n.health}`)).toEqual(['a:ready', 'b:failed']);
    expect(after.nodes[1]!.message).toBe('boom');
    vi.advanceTimersByTime(2000);
    expect(refetch).toHaveBeenCalledWith({ queryKey: keys.graph('a', 3, 'both') });
  });

  it('marks a deleted node as not stored, in impacts too, and leaves unrelated answers alone', () => {
    const impact: Impact = { root: 'a', edges: [], truncated: false, clusters: [{ clusterId: 'c', cluster: 'c', nodes: [node('a'), node('b')] }] };
    const gone = withNodeState(impact, msg('b', 3, null, 'delete'));
    expect(gone.clusters[0]!.nodes[1]).toMatchObject({ stored: false, health: 'unknown' });
    expect(withNodeState(impact, msg('z', 3, r('z', 3)))).toBe(impact);
  });
});

describe('LiveCache and the timeline', () => {
  it('reads a timeline that ends now again after a change, and leaves a past range alone', async () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const live = { seconds: 3600, cluster: [], kind: [], namespace: [], q: '' };
    const past = { ...live, from: '2025-01-01T00:00:00Z', to: '2025-01-01T01:00:00Z' };
    qc.setQueryData(keys.timeline(live), { items: [] });
    qc.setQueryData(keys.timeline(past), { items: [] });
    const spy = vi.spyOn(qc, 'invalidateQueries');
    new LiveCache(qc).change(msg('a', 2, r('a', 2, { health: 'failed' })));
    await vi.advanceTimersByTimeAsync(1000);
    const invalidated = spy.mock.calls.map((c) => JSON.stringify(c[0]?.queryKey));
    expect(invalidated).toContain(JSON.stringify(keys.timeline(live)));
    expect(invalidated).not.toContain(JSON.stringify(keys.timeline(past)));
  });

  it('reads the rollouts again after a change of a consumer or a source, not of other kinds or events', async () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    const key = keys.rollouts({ clusterSelector: 'env=prod' });
    qc.setQueryData(key, { items: [] });
    const spy = vi.spyOn(qc, 'invalidateQueries');
    const cache = new LiveCache(qc);
    const reads = () => spy.mock.calls.filter((c) => JSON.stringify(c[0]?.queryKey) === JSON.stringify(['rollouts'])).length;
    cache.change({ ...msg('a', 2, r('a', 2)), kind: 'Alert' });
    cache.change({ ...msg('a', 3, null, 'event') });
    await vi.advanceTimersByTimeAsync(1500);
    expect(reads()).toBe(0);
    cache.change(msg('a', 4, r('a', 4, { health: 'failed' })));
    cache.change({ ...msg('g', 5, r('g', 5)), kind: 'GitRepository' });
    await vi.advanceTimersByTimeAsync(1500);
    expect(reads()).toBe(1);
  });

  it('reads reliability figures again 3 s after a change, not after an event', async () => {
    vi.useFakeTimers();
    const qc = new QueryClient();
    qc.setQueryData(keys.reliability({ window: '7d' }), { groups: [] });
    const spy = vi.spyOn(qc, 'invalidateQueries');
    const cache = new LiveCache(qc);
    cache.change(msg('a', 2, r('a', 2, { health: 'failed' }), 'event'));
    await vi.advanceTimersByTimeAsync(3500);
    const reliability = () => spy.mock.calls.filter((c) => JSON.stringify(c[0]?.queryKey) === JSON.stringify(['reliability']));
    expect(reliability()).toHaveLength(0);
    cache.change(msg('a', 3, r('a', 3, { health: 'failed' })));
    await vi.advanceTimersByTimeAsync(2900);
    expect(reliability()).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(reliability()).toHaveLength(1);
  });

  it('never touches a historical (asOf) list', () => {
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams('sort=name'));
    const key = keys.historical('resources', '2025-01-01T00:00:00Z', f);
    const data = { pages: [pageOf([r('a', 1), r('b', 1)], undefined, 2)], pageParams: [undefined] };
    qc.setQueryData(key, data);
    new LiveCache(qc).change(msg('b', 2, r('b', 2, { health: 'failed' })));
    expect(qc.getQueryData(key)).toBe(data);
  });
});

describe('workload lists', () => {
  const image = { container: 'app', init: false, image: 'nginx:1.25.3', repository: 'docker.io/library/nginx', tag: '1.25.3' };
  const deployment = (seq: number, health: Health, images?: (typeof image)[]): Resource =>
    r('d1', seq, { apiGroup: 'apps', kind: 'Deployment', health, workload: { kstatus: health === 'failed' ? 'Failed' : 'Current', images } });
  const data = (items: Resource[]): InfiniteData<ListPage> => ({ pages: [pageOf(items)], pageParams: [undefined] });

  it('replace a listed workload by a newer version, keeping its images, and drop a deleted one', () => {
    const list = data([deployment(1, 'ready', [image])]);
    const change = { ...msg('d1', 2, deployment(2, 'failed')), apiGroup: 'apps', kind: 'Deployment' };
    expect(isWorkload(change)).toBe(true);
    const next = withWorkload(list, change);
    expect(next.pages[0]!.items[0]!.health).toBe('failed');
    expect(next.pages[0]!.items[0]!.workload?.images).toEqual([image]);
    expect(withWorkload(next, change)).toBe(next);
    const gone = withWorkload(next, { ...change, seq: 3, op: 'delete', resource: undefined });
    expect(gone.pages[0]!.items).toEqual([]);
  });

  it('never place a workload change in a resource list', () => {
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams());
    qc.setQueryData(keys.resources(f), data([r('a', 1)]));
    new LiveCache(qc).change({ ...msg('d1', 2, deployment(2, 'failed'), 'upsert', undefined), apiGroup: 'apps', kind: 'Deployment' });
    expect(view(qc, f)).toEqual([['a:ready']]);
  });
});
