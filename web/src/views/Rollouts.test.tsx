import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockApi, renderAt } from '../test-utils';
import Rollouts from './Rollouts';

const obj = (id: string, name: string, state: string, health: string, message?: string) => ({ id, kind: 'Kustomization', namespace: 'apps', name, state, health, message });
const counts = (applied: number, pending: number, failing: number) => ({ applied, pending, failing, superseded: 0 });

const page = {
  items: [
    {
      source: 'GitRepository|https://example.com/apps|branch=main', kind: 'GitRepository', url: 'https://example.com/apps', reference: 'branch=main',
      consumers: 3, clusters: 3, latest: 'main@sha1:bbbbbbbbbbbb', revisionsTotal: 2,
      revisions: [
        {
          revision: 'main@sha1:bbbbbbbbbbbb', firstSeenAt: '2026-01-01T00:00:00Z', lastAppliedAt: '2026-01-01T00:02:00Z', medianSeconds: 60, p90Seconds: 120,
          counts: counts(1, 1, 1),
          clusters: [
            { clusterId: 'c1', cluster: 'alpha', state: 'applied', objects: [obj('k1', 'web', 'applied', 'ready')] },
            { clusterId: 'c2', cluster: 'beta', state: 'pending', objects: [obj('k2', 'web', 'pending', 'progressing')] },
            { clusterId: 'c3', cluster: 'gamma', state: 'failing', objects: [obj('k3', 'web', 'failing', 'failed', 'health check failed')] },
          ],
        },
        { revision: 'main@sha1:aaaaaaaaaaaa', firstSeenAt: '2025-12-31T00:00:00Z', counts: counts(3, 0, 0), clusters: [] },
      ],
    },
    { source: 'HelmRepository|https://charts|chart=podinfo', kind: 'HelmRepository', url: 'https://charts', chart: 'podinfo', consumers: 1, clusters: 1, revisionsTotal: 0, revisions: [] },
  ],
};

describe('Rollouts', () => {
  it('shows the newest revision per cluster with a bar, links and the failing message', async () => {
    const fetch = mockApi({ '/api/v1/rollouts': page });
    renderAt(<Rollouts />, { url: '/rollouts?clusterSelector=env%3Dprod' });
    const sources = await screen.findAllByTestId('rollout-source');
    expect(sources).toHaveLength(2);
    const newest = within(sources[0]!).getAllByTestId('rollout-revision')[0]!;
    expect(within(newest).getByTestId('rollout-bar').getAttribute('aria-label')).toBe('1 applied, 1 failing, 1 pending');
    const states = within(newest).getAllByTestId('rollout-cluster').map((c) => `${c.dataset.cluster}:${c.dataset.state}`);
    expect(states).toEqual(['alpha:applied', 'beta:pending', 'gamma:failing']);
    expect(within(newest).getByText('health check failed')).toBeTruthy();
    expect(within(newest).getAllByRole('link', { name: 'Kustomization/apps/web' })[2]!.getAttribute('href')).toBe('/resources/k3');
    expect(within(sources[0]!).getByText('1 older revision')).toBeTruthy();
    expect(within(sources[1]!).getByText('No revision recorded yet.')).toBeTruthy();
    expect(String(fetch.mock.calls[0]![0])).toContain('clusterSelector=env%3Dprod');
  });

  it('filters by text on the page', async () => {
    mockApi({ '/api/v1/rollouts': page });
    renderAt(<Rollouts />, { url: '/rollouts?q=podinfo' });
    await screen.findByText(/chart podinfo/);
    expect(screen.getAllByTestId('rollout-source')).toHaveLength(1);
  });
});
