import { describe, expect, it } from 'vitest';
import type { Resource } from '../api/types';
import { collated, compareIn, timeKey } from './order';

const r = (id: string, extra: Partial<Resource> = {}): Resource => ({
  id, clusterId: 'c', cluster: 'prod', apiGroup: 'g', apiVersion: 'v1', kind: 'Kustomization', namespace: 'apps',
  name: 'web', health: 'ready', suspended: false, dependsOn: [], labels: {}, updatedAt: '2025-01-01T00:00:00Z', seq: 1, ...extra,
});

describe('the server order', () => {
  it('reads RFC 3339 times to the nanosecond, whatever the fraction length or offset', () => {
    expect(timeKey('2025-01-01T00:00:00.5+00:00') > timeKey('2025-01-01T00:00:00.123456+00:00')).toBe(true);
    expect(timeKey('2025-01-01T00:00:00.000001Z') > timeKey('2025-01-01T00:00:00Z')).toBe(true);
    expect(timeKey('2025-01-01T01:00:00+01:00')).toBe(timeKey('2025-01-01T00:00:00Z'));
  });

  it('is sure of text order only where every collation agrees', () => {
    expect(collated('apps', 'flux-system')).toEqual({ c: -1, sure: true });
    expect(collated('team-1', 'team-2')).toEqual({ c: -1, sure: true });
    expect(collated('sim', 'sim-1')).toEqual({ c: -1, sure: true }); // a digit follows the prefix
    expect(collated('sim', 'sim-')).toMatchObject({ sure: false }); // only punctuation follows
    expect(collated('a-b', 'ab')).toMatchObject({ sure: false }); // "-" vs "b": C and en_US differ
    expect(collated('Bucket', 'alert')).toMatchObject({ sure: false }); // case
    expect(collated('HelmChart', 'HelmRelease')).toEqual({ c: -1, sure: true });
    expect(collated('app2', 'app10')).toEqual({ c: 1, sure: true });
  });

  it('puts problems first, newest first within a health, and reverses it all for -severity', () => {
    const old = r('00000000-0000-0000-0000-000000000001', { health: 'failed', updatedAt: '2025-01-01T00:00:01Z' });
    const recent = r('00000000-0000-0000-0000-000000000002', { health: 'failed', updatedAt: '2025-01-01T00:00:02Z' });
    const ready = r('00000000-0000-0000-0000-000000000003', { health: 'ready', updatedAt: '2025-01-01T00:00:09Z' });
    const sorted = (sort: 'severity' | '-severity') => [ready, old, recent].sort((a, b) => compareIn(sort, a, b).c).map((x) => x.id.slice(-1));
    expect(sorted('severity')).toEqual(['2', '1', '3']);
    expect(sorted('-severity')).toEqual(['3', '1', '2']);
  });

  it('breaks name ties by namespace, kind and id, and reports an unsure namespace comparison', () => {
    const a = r('a', { namespace: 'team-a' });
    const b = r('b', { namespace: 'teama' });
    expect(compareIn('name', a, b).sure).toBe(false);
    expect(compareIn('name', r('a', { name: 'api' }), b)).toEqual({ c: -1, sure: true });
    expect(compareIn('-updated', r('a', { updatedAt: '2025-01-01T00:00:05Z' }), r('b'))).toEqual({ c: -1, sure: true });
  });
});
