import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockApi, renderAt } from '../test-utils';
import Overview from './Overview';

const zero = { total: 0, ready: 0, progressing: 0, failed: 0, stalled: 0, suspended: 0, unknown: 0 };

describe('Overview', () => {
  it('says what to do without clusters', async () => {
    mockApi({ '/api/v1/stats': { health: zero, kinds: [], workloads: zero, workloadHealth: zero, clusters: [] }, '/api/v1/clusters': { items: [] }, '/api/v1/resources': { items: [], totalCapped: false } });
    renderAt(<Overview />);
    await screen.findByText('No clusters yet');
    expect(screen.getByRole('link', { name: 'Add a cluster' }).getAttribute('href')).toBe('/clusters/new');
  });

  it('shows totals, a card per cluster and what is failing', async () => {
    mockApi({
      '/api/v1/stats': {
        health: { ...zero, total: 3, ready: 2, failed: 1 },
        kinds: [],
        workloads: { ...zero, total: 5, ready: 4, failed: 1 },
        workloadHealth: { ...zero, total: 2, ready: 1, failed: 1 },
        clusters: [{ id: 'c1', name: 'prod', health: { ...zero, total: 3, ready: 2, failed: 1 }, kinds: [], workloads: { ...zero, total: 5, ready: 4, failed: 1 }, workloadHealth: { ...zero, total: 2, ready: 1, failed: 1 }, status: { state: 'ready', message: '', kinds: {}, resyncDriftTotal: 0, updatedAt: '2025-01-01T00:00:00Z', kubernetesVersion: 'v1.31.0', fluxVersion: 'v2.4.0' } }],
      },
      '/api/v1/clusters': { items: [] },
      '/api/v1/resources': {
        totalCapped: false,
        total: 1,
        items: [{ id: 'r1', clusterId: 'c1', cluster: 'prod', apiGroup: 'g', apiVersion: 'v1', kind: 'Kustomization', namespace: 'apps', name: 'web', health: 'failed', reason: 'HealthCheckFailed', message: 'timeout', suspended: false, dependsOn: [], labels: {}, updatedAt: '2025-01-01T00:00:00Z', seq: 1 }],
      },
    });
    renderAt(<Overview />);
    await screen.findByRole('article', { name: 'cluster prod' });
    expect(screen.getByText('v1.31.0')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'apps/web' }).getAttribute('href')).toBe('/resources/r1');
    expect(screen.getByText('HealthCheckFailed')).toBeTruthy();
    expect(screen.getByTestId('rollup-total').getAttribute('href')).toBe('/resources?workloadHealth=failed');
    expect(screen.getByTestId('rollup-failed').textContent).toContain('1 owner with failed workloads');
  });
});

describe('Overview as of a past moment', () => {
  it('asks for the fleet at asOf and says the view is historical', async () => {
    const spy = mockApi({
      '/api/v1/stats': { health: { ...zero, total: 1, failed: 1 }, kinds: [], clusters: [{ id: 'c1', name: 'prod', health: { ...zero, total: 1, failed: 1 }, kinds: [] }], asOf: '2026-03-10T14:03:00Z' },
      '/api/v1/clusters': { items: [] },
      '/api/v1/resources': { items: [], totalCapped: false },
    });
    renderAt(<Overview />, { url: '/?asOf=2026-03-10T14:03:00Z' });
    await screen.findByTestId('asof-banner');
    expect(screen.getByText(/Historical view — the fleet as of/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Back to live' })).toBeTruthy();
    const urls = spy.mock.calls.map((c) => String(c[0]));
    expect(urls.some((u) => u.startsWith('/api/v1/stats?asOf=2026-03-10T14%3A03%3A00.000Z'))).toBe(true);
    expect((await screen.findByRole('link', { name: 'prod' })).getAttribute('href')).toBe('/resources?cluster=prod&asOf=2026-03-10T14%3A03%3A00.000Z');
  });

  it('shows a 410 plainly, with the oldest time still kept', async () => {
    mockApi({
      '/api/v1/stats': () => ({ status: 410, body: { code: 'history_pruned', message: 'pruned', oldest: '2026-03-09T00:00:00Z' } }),
      '/api/v1/clusters': { items: [] },
      '/api/v1/resources': { items: [], totalCapped: false },
    });
    renderAt(<Overview />, { url: '/?asOf=2026-01-01T00:00:00Z' });
    const box = await screen.findByTestId('asof-pruned');
    expect(box.textContent).toMatch(/is no\s+longer kept/);
    expect(screen.getByRole('button', { name: /Show the oldest available/ })).toBeTruthy();
  });
});
