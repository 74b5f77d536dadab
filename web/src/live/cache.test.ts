import { QueryClient, type InfiniteData } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import type { ChangeMessage, Resource, ResourceList } from '../api/types';
import { parseFilter } from '../lib/filters';
import { clearUnseen, freshen, freshenClusters, freshStatus, keys, LiveCache, patchItems, unseen } from './cache';
import { changedRecently } from './flash';

const r = (id: string, seq: number, extra: Partial<Resource> = {}): Resource => ({
  id, clusterId: 'c', cluster: 'c', apiGroup: 'g', apiVersion: 'v1', kind: 'Kustomization', namespace: 'n',
  name: id, health: 'ready', suspended: false, dependsOn: [], labels: {}, updatedAt: '2025-01-01T00:00:00Z', seq, ...extra,
});
const msg = (id: string, seq: number, resource: Resource | null, op: ChangeMessage['op'] = 'upsert'): ChangeMessage => ({
  seq, at: '2025-01-01T00:00:00Z', clusterId: 'c', resourceId: id, apiGroup: 'g', kind: 'Kustomization', namespace: 'n', name: id, op, resource: resource ?? undefined,
});

describe('patchItems', () => {
  it('replaces only with newer versions and removes deleted objects', () => {
    const items = [r('a', 5), r('b', 6)];
    expect(patchItems(items, msg('a', 7, r('a', 7, { health: 'failed' })))?.[0]?.health).toBe('failed');
    expect(patchItems(items, msg('a', 4, r('a', 4)))).toBe(items);
    expect(patchItems(items, msg('b', 9, null, 'delete'))).toEqual([r('a', 5)]);
    expect(patchItems(items, msg('z', 9, r('z', 9)))).toBeNull();
  });
});

describe('LiveCache', () => {
  it('updates a loaded list in place and flashes the row', () => {
    const qc = new QueryClient();
    const f = parseFilter(new URLSearchParams());
    const data: InfiniteData<ResourceList> = { pages: [{ items: [r('a', 1), r('b', 1)], total: 2, totalCapped: false }], pageParams: [undefined] };
    qc.setQueryData(keys.resources(f), data);
    new LiveCache(qc).change(msg('b', 2, r('b', 2, { health: 'failed' })));
    const after = qc.getQueryData<InfiniteData<ResourceList>>(keys.resources(f));
    expect(after?.pages[0]?.items.map((x) => x.health)).toEqual(['ready', 'failed']);
    expect(changedRecently('b')).toBe(true);
  });

  it('updates the cluster list from cluster messages', () => {
    const qc = new QueryClient();
    qc.setQueryData(keys.clusters, { items: [] });
    const cluster = {
      id: 'c1', name: 'sim-1', description: '', labels: {}, source: 'kubeconfig' as const, serverUrl: 'https://x', context: 'sim-1',
      insecure: false, createdAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T00:00:00Z',
    };
    const cache = new LiveCache(qc);
    cache.cluster({ cluster, removed: false });
    expect(qc.getQueryData<{ items: unknown[] }>(keys.clusters)?.items).toHaveLength(1);
    cache.cluster({ cluster, removed: true });
    expect(qc.getQueryData<{ items: unknown[] }>(keys.clusters)?.items).toHaveLength(0);
  });
});

describe('new objects', () => {
  const f = parseFilter(new URLSearchParams());
  const page = (ids: string[]): ResourceList => ({ items: ids.map((id) => r(id, 1)), continue: 'x', totalCapped: false });

  it('are counted for long lists instead of refetching every loaded page', () => {
    const qc = new QueryClient();
    const key = keys.resources(f);
    qc.setQueryData(key, { pages: [page(['a']), page(['b']), page(['c'])], pageParams: [undefined, 'x', 'y'] });
    new LiveCache(qc).change(msg('new', 5, r('new', 5)));
    expect(unseen.get()[JSON.stringify(key)]).toBe(1);
    clearUnseen(JSON.stringify(key));
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
      insecure: false, createdAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T00:00:00Z',
    };
    const status = (state: 'connecting' | 'ready', at: string) => ({ state, message: '', kinds: {}, resyncDriftTotal: 0, updatedAt: at });
    cache.cluster({ cluster: { ...base, status: status('ready', '2025-01-01T00:00:05Z') }, removed: false });
    const rest = [{ ...base, status: status('connecting', '2025-01-01T00:00:01Z') }];
    expect(freshenClusters(rest)[0]?.status?.state).toBe('ready');
    expect(freshStatus({ id: 'c9', status: status('connecting', '2025-01-01T00:00:01Z') }).status?.state).toBe('ready');
  });
});
