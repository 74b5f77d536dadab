import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../api/types';
import { RollUp } from './RollUp';

const ks: Resource = {
  id: 'k1', clusterId: 'c', cluster: 'c', apiGroup: 'kustomize.toolkit.fluxcd.io', apiVersion: 'v1', kind: 'Kustomization', namespace: 'apps',
  name: 'apps', health: 'ready', suspended: false, dependsOn: [], labels: {}, updatedAt: '2025-01-01T00:00:00Z', seq: 1,
};

describe('RollUp', () => {
  it('shows an unhealthy roll-up linking to the workloads, and nothing when they are ready or absent', () => {
    const { rerender } = render(<MemoryRouter><RollUp r={{ ...ks, workloadHealth: 'failed' }} /></MemoryRouter>);
    expect(screen.getByTestId('rollup').textContent).toBe('workloads failed');
    expect(screen.getByTestId('rollup').getAttribute('href')).toBe('/workloads?owner=k1');
    rerender(<MemoryRouter><RollUp r={{ ...ks, workloadHealth: 'ready' }} /></MemoryRouter>);
    expect(screen.queryByTestId('rollup')).toBeNull();
    rerender(<MemoryRouter><RollUp r={ks} /></MemoryRouter>);
    expect(screen.queryByTestId('rollup')).toBeNull();
  });
});
