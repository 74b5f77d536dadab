import { describe, expect, it } from 'vitest';
import type { Resource } from '../api/types';
import { parseFilter } from '../lib/filters';
import { applyVersion, applyVersions, dedupe, withEdge, type ListData } from './lists';

const r = (id: string, seq: number, extra: Partial<Resource> = {}): Resource => ({
  id, clusterId: 'c', cluster: 'c', apiGroup: 'g', apiVersion: 'v1', kind: 'Kustomization', namespace: 'n',
  name: id, health: 'failed', suspended: false, dependsOn: [], labels: {}, updatedAt: '2025-01-01T00:00:00Z', seq, ...extra,
});
const list = (...pages: Resource[][]): ListData => ({
  pages: pages.map((items, i) => withEdge({ items, totalCapped: false, continue: i < pages.length - 1 ? `p${i + 1}` : undefined })),
  pageParams: pages.map((_, i) => (i ? `p${i}` : undefined)),
});
const names = (d: ListData) => d.pages.map((p) => p.items.map((x) => `${x.name}:${x.health}`).join(' '));
const failedByName = parseFilter(new URLSearchParams('health=failed&sort=name'));
const v = (x: Resource) => ({ id: x.id, seq: x.seq, resource: x });

describe('a filtered list under changes', () => {
  it('drops a row whose new version leaves the filter and inserts one that enters, in order', () => {
    let d = list([r('a', 1), r('c', 1), r('e', 1)]);
    d = applyVersion(d, failedByName, v(r('c', 2, { health: 'ready' }))).data;
    expect(names(d)).toEqual(['a:failed e:failed']);
    d = applyVersion(d, failedByName, v(r('d', 3))).data;
    expect(names(d)).toEqual(['a:failed d:failed e:failed']);
    // Older versions and deletes of rows already newer change nothing.
    expect(applyVersion(d, failedByName, v(r('d', 2, { health: 'ready' }))).changed).toBe(false);
    expect(names(applyVersion(d, failedByName, { id: 'a', seq: 9, resource: null }).data)).toEqual(['d:failed e:failed']);
  });

  it('keeps the newest-first order: a changed row moves to the top', () => {
    const byUpdated = parseFilter(new URLSearchParams('sort=-updated'));
    let d = list([r('a', 3, { updatedAt: '2025-01-01T00:00:03Z' }), r('b', 2, { updatedAt: '2025-01-01T00:00:02Z' }), r('c', 1, { updatedAt: '2025-01-01T00:00:01Z' })]);
    d = applyVersion(d, byUpdated, v(r('c', 4, { updatedAt: '2025-01-01T00:00:04.000001Z', health: 'ready' }))).data;
    expect(names(d)).toEqual(['c:ready a:failed b:failed']);
  });

  it('inserts into the page whose range holds the row, and not past the last loaded page', () => {
    const byName = parseFilter(new URLSearchParams('sort=name'));
    let d = list([r('a', 1), r('c', 1)], [r('e', 1), r('g', 1)]);
    d = applyVersion(d, byName, v(r('b', 2))).data;
    d = applyVersion(d, byName, v(r('d', 2))).data;
    expect(names(d)).toEqual(['a:failed b:failed c:failed', 'd:failed e:failed g:failed']);
    d = { ...d, pages: [d.pages[0]!, withEdge({ ...d.pages[1]!, continue: 'p2' })] };
    const beyond = applyVersion(d, byName, v(r('z', 2)));
    expect(beyond.data).toBe(d); // page 3 will bring it
    // A loaded row that moves past the last loaded page's edge leaves the loaded rows; the
    // next page (read after that edge) brings it back. It still matches: the count stays.
    const oldestFirst = parseFilter(new URLSearchParams('sort=updated'));
    const partial: ListData = {
      pages: [withEdge({ items: [r('x', 1, { updatedAt: '2025-01-01T00:00:01Z' }), r('y', 1, { updatedAt: '2025-01-01T00:00:02Z' })], totalCapped: false, continue: 'p1' })],
      pageParams: [undefined],
    };
    const moved = applyVersion(partial, oldestFirst, v(r('x', 2, { updatedAt: '2025-01-01T00:00:10Z' })));
    expect(names(moved.data)).toEqual(['y:failed']);
    expect(moved.membership).toBe(0);
  });

  it('says when an order depends on the database collation', () => {
    const byNs = parseFilter(new URLSearchParams('sort=namespace'));
    const d = list([r('a', 1, { namespace: 'team-a' })]);
    expect(applyVersion(d, byNs, v(r('b', 2, { namespace: 'teamb' }))).unsure).toBe(true);
    expect(applyVersion(d, byNs, v(r('b', 2, { namespace: 'zeta' }))).unsure).toBe(false);
  });

  it('re-applies remembered versions to a page read before they committed', () => {
    const stale = list([r('a', 1), r('b', 1)]);
    const out = applyVersions(stale, failedByName, [v(r('a', 5, { health: 'ready' })), v(r('new', 6)), { id: 'b', seq: 7, resource: null }, v(r('old', 0))]);
    expect(names(out.data)).toEqual(['new:failed old:failed']);
  });

  it('keeps one copy of a row two page reads both returned, the newest', () => {
    const d = list([r('a', 1), r('b', 1)], [r('a', 2), r('c', 1)]);
    expect(dedupe(d).pages.map((p) => p.items.map((x) => `${x.id}${x.seq}`))).toEqual([['b1'], ['a2', 'c1']]);
  });
});
