import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../api/types';
import { mockApi, renderAt } from '../../test-utils';
import { Actions } from './Actions';

const r = (extra: Partial<Resource> = {}): Resource => ({
  id: 'r1', clusterId: 'c', cluster: 'prod', apiGroup: 'helm.toolkit.fluxcd.io', apiVersion: 'v2', kind: 'HelmRelease', namespace: 'apps',
  name: 'web', health: 'ready', suspended: false, dependsOn: [], labels: {}, updatedAt: '2025-01-01T00:00:00Z', seq: 1,
  sourceRef: { kind: 'HelmRepository', namespace: 'apps', name: 'charts' }, ...extra,
});

describe('Actions', () => {
  it('offers force and reset for HelmReleases, and suspends with the reason after confirmation', async () => {
    let sent: unknown;
    mockApi({
      '/api/v1/session': { subject: 'ops', role: 'operator', method: 'session', authEnabled: true, oidc: false },
      'POST /api/v1/resources/r1/suspend': (init: RequestInit | undefined) => {
        sent = JSON.parse(String(init?.body));
        return { status: 202, body: { resourceId: 'r1', action: 'suspend', token: 't', patched: [] } };
      },
    });
    renderAt(<Actions r={r()} />);
    expect(screen.getByRole('button', { name: 'Force' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Reset' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Reconcile with source' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Suspend' }));
    expect(sent).toBeUndefined();
    fireEvent.change(screen.getByPlaceholderText(/incident/), { target: { value: 'freeze' } });
    fireEvent.click(screen.getAllByRole('button', { name: 'Suspend' }).at(-1)!);
    await waitFor(() => expect(sent).toEqual({ reason: 'freeze' }));
    await screen.findByText('waiting for the controller');
  });

  it('offers nothing to a viewer', async () => {
    mockApi({ '/api/v1/session': { subject: 'v', role: 'viewer', method: 'token', authEnabled: true, oidc: false } });
    renderAt(<Actions r={r()} />);
    await screen.findByText('Your role may view this object but not act on it.');
    expect(screen.queryByRole('button', { name: 'Reconcile' })).toBeNull();
  });

  it('offers resume for a suspended object', () => {
    mockApi({});
    renderAt(<Actions r={r({ suspended: true, health: 'suspended' })} />);
    expect(screen.getByRole('button', { name: 'Resume' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Suspend' })).toBeNull();
  });
});
