import { describe, expect, it } from 'vitest';
import type { Resource } from '../api/types';
import { filterToParams, matches, parseFilter, toggleSort } from './filters';

const r: Resource = {
  id: '1', clusterId: 'c1', cluster: 'prod', apiGroup: 'kustomize.toolkit.fluxcd.io', apiVersion: 'v1',
  kind: 'Kustomization', namespace: 'apps', name: 'web-frontend', health: 'failed', suspended: false,
  dependsOn: [], labels: {}, updatedAt: '2025-01-01T00:00:00Z', seq: 3, message: 'Health check failed',
};

describe('filters', () => {
  it('round-trips through the URL and drops unknown values', () => {
    const p = new URLSearchParams('health=failed&health=bogus&kind=HelmRelease&q=web&sort=-updated&cluster=prod&label=team%3Dpayments');
    const f = parseFilter(p);
    expect(f).toEqual({ cluster: ['prod'], kind: ['HelmRelease'], namespace: [], health: ['failed'], workloadHealth: [], label: ['team=payments'], q: 'web', sort: '-updated' });
    expect(parseFilter(filterToParams(f))).toEqual(f);
    expect(parseFilter(new URLSearchParams('sort=nope')).sort).toBe('severity');
    expect(filterToParams(parseFilter(new URLSearchParams())).toString()).toBe('');
  });

  it('toggles sort direction per column', () => {
    expect(toggleSort('name', 'name')).toBe('-name');
    expect(toggleSort('-name', 'name')).toBe('name');
    expect(toggleSort('name', 'updated')).toBe('updated');
  });

  it('matches like the server does', () => {
    const f = parseFilter(new URLSearchParams());
    expect(matches(f, r)).toBe(true);
    expect(matches({ ...f, health: ['ready'] }, r)).toBe(false);
    expect(matches({ ...f, cluster: ['c1'] }, r)).toBe(true);
    expect(matches({ ...f, cluster: ['prod'] }, r)).toBe(true);
    expect(matches({ ...f, kind: ['kustomization'] }, r)).toBe(true);
    expect(matches({ ...f, q: 'HEALTH' }, r)).toBe(true);
    expect(matches({ ...f, q: 'zzz' }, r)).toBe(false);
  });

  it('keeps workloads out of resource lists and filters by the workloads roll-up', () => {
    const f = parseFilter(new URLSearchParams('workloadHealth=failed'));
    expect(f.workloadHealth).toEqual(['failed']);
    expect(matches(f, r)).toBe(false);
    expect(matches(f, { ...r, workloadHealth: 'failed' })).toBe(true);
    const all = parseFilter(new URLSearchParams());
    expect(matches(all, { ...r, workload: { kstatus: 'Current' } })).toBe(false);
  });

  it('resolves kinds by plural and short name, as the server does', () => {
    const f = parseFilter(new URLSearchParams());
    for (const k of ['ks', 'KS', 'kustomizations', 'Kustomization']) expect(matches({ ...f, kind: [k] }, r)).toBe(true);
    expect(matches({ ...f, kind: ['hr'] }, r)).toBe(false);
  });

  it('applies label selectors to the object labels (repeated selectors AND together)', () => {
    const f = parseFilter(new URLSearchParams());
    const labelled = { ...r, labels: { team: 'payments', tier: 'web' } };
    expect(matches({ ...f, label: ['team=payments'] }, labelled)).toBe(true);
    expect(matches({ ...f, label: ['team=payments', 'tier!=web'] }, labelled)).toBe(false);
    expect(matches({ ...f, label: ['team in (a,payments),!legacy'] }, labelled)).toBe(true);
    expect(matches({ ...f, label: ['team'] }, r)).toBe(false);
  });
});
