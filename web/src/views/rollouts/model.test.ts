import { describe, expect, it } from 'vitest';
import type { RolloutSource } from '../../api/types';
import { bar, duration, matchesText, parseView, viewToParams } from './model';

const source = {
  source: 'GitRepository|https://example.com/apps|branch=main', kind: 'GitRepository', url: 'https://example.com/apps', reference: 'branch=main',
  consumers: 1, clusters: 1, latest: 'main@sha1:b', revisionsTotal: 1,
  revisions: [{
    revision: 'main@sha1:b', firstSeenAt: '2026-01-01T00:00:00Z', counts: { applied: 1, pending: 0, failing: 0, superseded: 0 },
    clusters: [{ clusterId: 'c1', cluster: 'prod-eu', state: 'applied', objects: [{ id: 'k1', kind: 'Kustomization', namespace: 'apps', name: 'web', state: 'applied', health: 'ready' }] }],
  }],
} as RolloutSource;

describe('rollouts model', () => {
  it('round-trips the view through the URL', () => {
    const v = parseView(new URLSearchParams('clusterSelector=env%3Dprod&q=web&resource=r1'));
    expect(v).toEqual({ selector: 'env=prod', q: 'web', resource: 'r1' });
    expect(viewToParams(v).toString()).toBe('clusterSelector=env%3Dprod&q=web&resource=r1');
    expect(viewToParams(parseView(new URLSearchParams())).toString()).toBe('');
  });

  it('matches text on the source, clusters and consumers', () => {
    expect(matchesText(source, '')).toBe(true);
    expect(matchesText(source, 'EXAMPLE.com/apps')).toBe(true);
    expect(matchesText(source, 'prod-eu')).toBe(true);
    expect(matchesText(source, 'apps/web')).toBe(true);
    expect(matchesText(source, 'nothing')).toBe(false);
  });

  it('builds the bar from non-empty states, applied first', () => {
    const b = bar({ applied: 2, pending: 1, failing: 1, superseded: 0 });
    expect(b.segments.map((s) => s.state)).toEqual(['applied', 'failing', 'pending']);
    expect(b.text).toBe('2 applied, 1 failing, 1 pending');
    expect(bar({ applied: 0, pending: 0, failing: 0, superseded: 0 }).text).toBe('no consumers');
  });

  it('says durations briefly', () => {
    expect(duration(null)).toBe('–');
    expect(duration(45)).toBe('45s');
    expect(duration(90)).toBe('1m 30s');
    expect(duration(120)).toBe('2m');
    expect(duration(7500)).toBe('2h 5m');
  });
});
