import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { mockApi, renderAt } from '../test-utils';
import Reliability from './Reliability';

// uPlot draws on a canvas, which jsdom lacks: the chart's own test is the e2e run.
vi.mock('./reliability/BarChart', () => ({
  BarChart: ({ title, categories }: { title: string; categories: string[] }) => <div data-testid="chart">{`${title}: ${categories.join(',')}`}</div>,
}));

const figures = (failed: number, failures: number) => ({
  observedSeconds: 86_400, failedSeconds: failed, stalledSeconds: 0, availability: 100 * (1 - failed / 86_400),
  failures, recoveries: failures, mttrSeconds: failures ? failed / failures : null, transitions: 2 * failures, flappingPerDay: 2 * failures,
});

const object = { id: 'o1', clusterId: 'c1', cluster: 'prod', apiGroup: 'kustomize.toolkit.fluxcd.io', kind: 'Kustomization', namespace: 'apps', name: 'web', health: 'failed', figures: figures(3_600, 2) };

const report = {
  group: 'cluster', window: '7d', from: '2026-03-01T00:00:00Z', to: '2026-03-08T12:00:00Z', days: 7.5,
  coveredFrom: '2026-03-05T00:00:00Z', complete: false, total: figures(3_600, 2), groupsTruncated: false,
  groups: [
    { key: 'prod', objects: 3, figures: figures(3_600, 2), top: [object] },
    { key: 'dev', objects: 1, figures: figures(0, 0), top: [] },
  ],
  top: [object],
};

describe('Reliability', () => {
  it('charts the groups, tabulates them and links the top offenders', async () => {
    const fetch = mockApi({ '/api/v1/reliability': report });
    renderAt(<Reliability />, { url: '/reliability?window=7d&group=cluster' });
    await screen.findByTestId('reliability-groups');
    expect(screen.getAllByTestId('chart').map((c) => c.textContent)).toEqual([
      'Time failed or stalled: prod,dev', 'Failures: prod,dev', 'Flapping: prod,dev',
    ]);
    expect(screen.getByRole('link', { name: 'prod/Kustomization/apps/web' }).getAttribute('href')).toBe('/resources/o1');
    expect(screen.getByTestId('reliability-partial').textContent).toContain('cover part of the window');
    expect(screen.getAllByText('1 h').length).toBeGreaterThan(0);
    expect(screen.getByTestId('reliability-total').textContent).toContain('95.83 % available');
    expect(String(fetch.mock.calls[0]![0])).toContain('window=7d');
  });

  it('asks again when the window or the grouping changes', async () => {
    const fetch = mockApi({ '/api/v1/reliability': report });
    renderAt(<Reliability />, { url: '/reliability' });
    await screen.findByTestId('reliability-groups');
    fireEvent.click(screen.getByRole('button', { name: '30d' }));
    fireEvent.change(screen.getByLabelText('Group by'), { target: { value: 'kind' } });
    await vi.waitFor(() => {
      const urls = fetch.mock.calls.map((c) => String(c[0]));
      expect(urls.some((u) => u.includes('window=30d') && u.includes('group=kind'))).toBe(true);
    });
  });
});
