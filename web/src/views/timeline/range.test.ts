import { describe, expect, it } from 'vitest';
import { PRESETS, fromFor, isLive, parseView, rangeAt, timelineFor, viewToParams, zoom } from './range';

const now = new Date('2026-01-31T12:00:00Z');

describe('timeline range presets', () => {
  it('go back from now by their length, in RFC 3339', () => {
    expect(fromFor(3600, now)).toBe('2026-01-31T11:00:00.000Z');
    expect(PRESETS.map((p) => p.label)).toEqual(['15m', '1h', '6h', '24h', '7d']);
  });
});

describe('the timeline view in the URL', () => {
  it('defaults to the last hour, live', () => {
    const v = parseView(new URLSearchParams());
    expect(rangeAt(v, now)).toEqual({ from: '2026-01-31T11:00:00.000Z', to: '2026-01-31T12:00:00.000Z' });
    expect(isLive(v)).toBe(true);
    expect(viewToParams(v).toString()).toBe('');
  });

  it('round-trips a custom range and filters, ignoring an unparsable time', () => {
    const p = 'from=2026-01-31T10%3A00%3A00.000Z&to=2026-01-31T10%3A10%3A00.000Z&cluster=prod&kind=Kustomization&namespace=apps&q=web';
    const v = parseView(new URLSearchParams(p));
    expect(isLive(v)).toBe(false);
    expect(viewToParams(v).toString()).toBe(p);
    expect(parseView(new URLSearchParams('from=soon')).from).toBeUndefined();
    expect(viewToParams(parseView(new URLSearchParams('range=24h'))).toString()).toBe('range=24h');
  });

  it('links an object to the timeline filtered to it', () => {
    const link = timelineFor({ cluster: 'prod', clusterId: 'c1', kind: 'HelmRelease', namespace: 'apps', name: 'web' });
    const v = parseView(new URLSearchParams(link.split('?')[1]));
    expect(link.startsWith('/timeline?')).toBe(true);
    expect(v).toMatchObject({ cluster: ['prod'], kind: ['HelmRelease'], namespace: ['apps'], q: 'web', seconds: 86400 });
  });
});

describe('zoom', () => {
  const range = { from: '2026-01-31T10:00:00.000Z', to: '2026-01-31T11:00:00.000Z' };

  it('narrows around the middle', () => {
    expect(zoom(range, 0.5, now)).toEqual({ from: '2026-01-31T10:15:00.000Z', to: '2026-01-31T10:45:00.000Z' });
  });

  it('widens around the middle, moved back so as not to reach past now', () => {
    expect(zoom(range, 2, now)).toEqual({ from: '2026-01-31T09:30:00.000Z', to: '2026-01-31T11:30:00.000Z' });
    expect(zoom(range, 4, now)).toEqual({ from: '2026-01-31T08:00:00.000Z', to: '2026-01-31T12:00:00.000Z' });
  });
});
