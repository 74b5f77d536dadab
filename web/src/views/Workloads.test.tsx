import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockApi, renderAt } from '../test-utils';
import Workloads, { workloadQuery } from './Workloads';

const web = {
  id: 'w1', clusterId: 'c1', cluster: 'prod', apiGroup: 'apps', apiVersion: 'v1', kind: 'Deployment', namespace: 'apps', name: 'web',
  health: 'failed', reason: 'ProgressDeadlineExceeded', message: 'Progress deadline exceeded', suspended: false, dependsOn: [], labels: {},
  updatedAt: '2025-01-01T00:00:00Z', seq: 4,
  workload: {
    kstatus: 'Failed', readyReplicas: 1, desiredReplicas: 3,
    owner: { id: 'k1', kind: 'Kustomization', namespace: 'flux-system', name: 'apps' },
    images: [
      { container: 'web', init: false, image: 'nginx:1.25.3', repository: 'docker.io/library/nginx', tag: '1.25.3' },
      { container: 'wait', init: true, image: 'busybox:1.36', repository: 'docker.io/library/busybox', tag: '1.36' },
    ],
  },
};

describe('Workloads', () => {
  it('reads its query from the URL', () => {
    const q = workloadQuery(new URLSearchParams('image=nginx%3A1.25&health=failed&health=bogus&owner=k1&kind=Deployment'));
    expect(q).toMatchObject({ image: 'nginx:1.25', health: ['failed'], owner: ['k1'], kind: ['Deployment'] });
    expect(workloadQuery(new URLSearchParams()).image).toBeUndefined();
  });

  it('lists workloads with health, replicas, images and a link to the owner', async () => {
    mockApi({ '/api/v1/workloads': { items: [web], total: 1, totalCapped: false }, '/api/v1/clusters': { items: [] } });
    renderAt(<Workloads />, { url: '/workloads?image=nginx' });
    await screen.findByRole('link', { name: 'web' });
    expect(screen.getByRole('link', { name: 'Kustomization/apps' }).getAttribute('href')).toBe('/resources/k1');
    expect(screen.getByText('1/3')).toBeTruthy();
    expect(screen.getByText('nginx:1.25.3')).toBeTruthy();
    expect(screen.getByText('ProgressDeadlineExceeded')).toBeTruthy();
    expect(screen.getByTestId('workload-count').textContent).toBe('1 workload');
    expect((screen.getByLabelText('Search images') as HTMLInputElement).value).toBe('nginx');
  });

  it('says when the count stopped at its cap', async () => {
    mockApi({ '/api/v1/workloads': { items: [web], total: 1000, totalCapped: true }, '/api/v1/clusters': { items: [] } });
    renderAt(<Workloads />, { url: '/workloads?image=nginx' });
    await screen.findByRole('link', { name: 'web' });
    expect(screen.getByTestId('workload-count').textContent).toBe('1,000+ workloads');
  });
});
