import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockApi, renderAt } from '../test-utils';
import Clusters from './Clusters';

const cluster = {
  id: 'c1', name: 'prod-eu-1', description: '', labels: { env: 'prod' }, source: 'kubeconfig', serverUrl: 'https://10.0.0.1:6443', context: 'prod',
  insecure: false, createdAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T00:00:00Z',
  status: {
    state: 'degraded', message: 'helmreleases: forbidden', resyncDriftTotal: 0, updatedAt: '2025-01-01T00:00:00Z',
    kinds: { Kustomization: { state: 'watching', version: 'v1' }, HelmRelease: { state: 'forbidden', message: '403' } },
  },
};

describe('Clusters', () => {
  it('shows state and per-kind watch status', async () => {
    mockApi({ '/api/v1/clusters': { items: [cluster] } });
    renderAt(<Clusters />);
    await screen.findByText('prod-eu-1');
    expect(screen.getByText('degraded')).toBeTruthy();
    expect(screen.getByText('helmreleases: forbidden')).toBeTruthy();
    expect(screen.getByText('forbidden', { selector: 'em' })).toBeTruthy();
  });

  it('deletes only once the name is typed', async () => {
    let deleted = false;
    mockApi({
      '/api/v1/clusters': { items: [cluster] },
      'DELETE /api/v1/clusters/c1': () => {
        deleted = true;
        return { status: 204 };
      },
    });
    renderAt(<Clusters />);
    fireEvent.click(await screen.findByRole('button', { name: 'Delete' }));
    const confirm = screen.getAllByRole('button', { name: 'Delete' }).at(-1)! as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText('Cluster name to confirm'), { target: { value: 'prod-eu' } });
    expect(confirm.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText('Cluster name to confirm'), { target: { value: 'prod-eu-1' } });
    fireEvent.click(confirm);
    await waitFor(() => expect(deleted).toBe(true));
  });

  it('summarises fourteen watching kinds in one chip and says when the first backstop relist is due', async () => {
    const kinds = Object.fromEntries(
      ['Alert', 'Bucket', 'Event', 'GitRepository', 'HelmChart', 'HelmRelease', 'HelmRepository', 'ImagePolicy', 'ImageRepository',
        'ImageUpdateAutomation', 'Kustomization', 'OCIRepository', 'Provider', 'Receiver'].map((k) => [k, { state: 'watching', version: 'v1' }]),
    );
    const watching = { ...cluster, status: { ...cluster.status, state: 'ready', message: '', kinds } };
    mockApi({ '/api/v1/clusters': { items: [watching], resyncIntervalSecs: 600 } });
    renderAt(<Clusters />);
    const summary = await screen.findByTestId('watch-summary');
    expect(summary.textContent).toBe('14/14 watching');
    expect(summary.closest('summary')?.querySelectorAll('.kind-state')).toHaveLength(1);
    expect(summary.closest('summary')?.getAttribute('title')).toContain('ImageUpdateAutomation v1: watching');
    expect(screen.getByText(/first backstop relist within 10 min/)).toBeTruthy();
    expect(screen.queryByText(/relisted —/)).toBeNull();
  });

  it('names the kinds that are not watched next to the summary', async () => {
    mockApi({ '/api/v1/clusters': { items: [{ ...cluster, status: { ...cluster.status, lastResyncAt: '2025-01-01T00:00:00Z' } }], resyncIntervalSecs: null } });
    renderAt(<Clusters />);
    expect((await screen.findByTestId('watch-summary')).textContent).toBe('1/2 watching');
    expect(screen.getByText(/relisted/)).toBeTruthy();
  });
});
