import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockApi, renderAt } from '../test-utils';
import ResourceDetail from './ResourceDetail';

const resource = {
  id: 'r1', clusterId: 'c1', cluster: 'prod', apiGroup: 'kustomize.toolkit.fluxcd.io', apiVersion: 'v1', kind: 'Kustomization',
  namespace: 'apps', name: 'web', health: 'failed', reason: 'HealthCheckFailed', message: 'deployment web not ready', suspended: false,
  dependsOn: [{ namespace: 'apps', name: 'infra' }], labels: {}, updatedAt: '2025-01-01T00:00:00Z', seq: 7,
  sourceRef: { kind: 'GitRepository', namespace: 'flux-system', name: 'repo' }, revision: 'main@sha1:1a2b3c4d5e6f',
};
const detail = {
  resource, createdAt: '2025-01-01T00:00:00Z', generation: 2, observedGeneration: 2,
  object: { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'web' }, spec: { path: './web' } },
  conditions: [{ type: 'Ready', status: 'False', reason: 'HealthCheckFailed', message: 'deployment web not ready' }],
  inventory: { total: 1, groups: [{ group: 'apps', kind: 'Deployment', entries: [{ id: 'apps_web_apps_Deployment', version: 'v1', namespace: 'apps', name: 'web' }] }] },
  changes: [], events: [],
};
const change = (seq: number, before: string | null, after: string) => ({
  seq, at: '2025-01-01T00:00:00Z', clusterId: 'c1', resourceId: 'r1', apiGroup: 'g', kind: 'Kustomization', namespace: 'apps', name: 'web',
  op: 'upsert', healthBefore: before, healthAfter: after, message: `change ${seq}`, version: `v${seq}`,
  summary: before ? 'Ready True → False (HealthCheckFailed); spec.interval 10m0s → 5m0s' : null,
});
const side = (seq: number, interval: string) => ({
  seq, at: '2025-01-01T00:00:00Z', version: `v${seq}`, object: { apiVersion: 'v1', kind: 'Kustomization', metadata: { name: 'web' }, spec: { interval } },
});
const diffOf = (_: RequestInit | undefined, url: string) => ({
  status: 200,
  body: {
    from: side(3, '10m0s'), to: side(7, '5m0s'), summary: `diff for ${new URL(url, 'http://x').search}`,
    changes: [{ path: 'spec.interval', section: 'spec', added: false, removed: false, before: '10m0s', after: '5m0s' }],
  },
});

function setup(url: string, d: typeof detail = detail) {
  mockApi({
    '/api/v1/resources/r1': d,
    '/api/v1/resources/r1/changes': { items: [change(7, 'ready', 'failed'), change(3, null, 'ready')], continue: 'older' },
    '/api/v1/resources/r1/events': { items: [] },
    '/api/v1/resources/r1/diff': diffOf,
    '/api/v1/session': { subject: 'a', role: 'admin', method: 'session', authEnabled: true, oidc: false },
  });
  renderAt(<ResourceDetail />, { url, path: '/resources/:id' });
}

describe('ResourceDetail', () => {
  it('links the source and dependencies', async () => {
    setup('/resources/r1');
    await screen.findByRole('heading', { name: 'web' });
    expect(screen.getByRole('link', { name: /GitRepository\/flux-system\/repo/ }).getAttribute('href')).toBe('/resources/ref/c1/GitRepository/flux-system/repo');
    expect(screen.getByRole('link', { name: 'apps/infra' }).getAttribute('href')).toBe('/resources/ref/c1/Kustomization/apps/infra');
  });

  it('opens the tab named in the URL: history with transitions and more pages', async () => {
    setup('/resources/r1?tab=history');
    await screen.findByText('change 7');
    expect(screen.getByText('changed')).toBeTruthy();
    expect(screen.getByText('created')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Older changes' })).toBeTruthy();
  });

  it('says what each change changed and opens the diff with the previous version', async () => {
    setup('/resources/r1?tab=history');
    expect((await screen.findByTestId('change-summary')).textContent).toBe('Ready True → False (HealthCheckFailed); spec.interval 10m0s → 5m0s');
    expect(screen.getAllByTestId('change-summary')).toHaveLength(1);
    expect(screen.queryByRole('button', { name: 'Compare #3 with the previous version' }), 'a creation has no previous version').toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Compare #7 with the previous version' }));
    expect((await screen.findByTestId('diff-summary')).textContent).toBe('diff for ?to=7');
    expect(screen.getByLabelText('spec: #3 and #7 side by side').querySelector('tr[data-kind=changed] .dl-right')!.textContent).toBe('  interval: 5m0s');
    fireEvent.click(screen.getByRole('button', { name: 'Close diff' }));
    expect(screen.queryByTestId('version-diff')).toBeNull();
  });

  it('compares any two selected versions', async () => {
    setup('/resources/r1?tab=history');
    fireEvent.click(await screen.findByRole('checkbox', { name: 'Select version #7' }));
    expect(screen.queryByRole('button', { name: /^Compare #\d+ with #\d+$/ })).toBeNull();
    fireEvent.click(screen.getByRole('checkbox', { name: 'Select version #3' }));
    fireEvent.click(screen.getByRole('button', { name: 'Compare #3 with #7' }));
    expect((await screen.findByTestId('diff-summary')).textContent).toBe('diff for ?from=3&to=7');
  });

  it('shows the object as YAML and the inventory by kind', async () => {
    setup('/resources/r1?tab=yaml');
    expect((await screen.findByLabelText('Object YAML (read-only)')).textContent).toContain('spec:\n  path: ./web');
    fireEvent.click(screen.getByRole('tab', { name: /Inventory/ }));
    expect(await screen.findByText('Deployment')).toBeTruthy();
  });

  it('shows a suspended object with one Suspended badge, not two', async () => {
    const suspended = { ...detail, resource: { ...resource, health: 'suspended', suspended: true, reason: undefined, message: undefined } };
    setup('/resources/r1', suspended as unknown as typeof detail);
    const head = await screen.findByTestId('detail-head');
    expect(head.getAttribute('data-health')).toBe('suspended');
    expect(head.querySelector('.detail-title')?.textContent?.match(/suspended/gi)).toHaveLength(1);
    expect(await screen.findByRole('button', { name: 'Resume' })).toBeTruthy();
  });
});
