import { fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockApi, renderAt } from '../test-utils';
import { Retry, until } from './Retry';

const operator = { subject: 'op', role: 'operator', method: 'token', authEnabled: true, oidc: false };

describe('Retry', () => {
  afterEach(() => vi.restoreAllMocks());

  it('counts down to the next retry', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    expect(until('2026-12-03T10:00:42Z', now)).toBe('in 42s');
    expect(until('2026-12-03T10:01:30Z', now)).toBe('in 1m 30s');
    expect(until('2026-12-03T09:59:00Z', now)).toBe('now');
  });

  it('offers operators to retry a failing cluster now', async () => {
    const calls = mockApi({ '/api/v1/session': operator, 'POST /api/v1/clusters/c1/sync': { status: 202 } });
    const soon = new Date(Date.now() + 50_000).toISOString();
    renderAt(<Retry clusterId="c1" state="forbidden" nextRetryAt={soon} />);
    expect(screen.getByText(/next retry in/)).toBeTruthy();
    fireEvent.click(await screen.findByRole('button', { name: 'Retry now' }));
    await waitFor(() => expect(calls.mock.calls.some(([u, i]) => String(u).endsWith('/api/v1/clusters/c1/sync') && i?.method === 'POST')).toBe(true));
  });

  it('shows nothing for a ready cluster', () => {
    mockApi({ '/api/v1/session': operator });
    renderAt(<Retry clusterId="c1" state="ready" nextRetryAt={null} />);
    expect(screen.queryByTestId('retry')).toBeNull();
  });
});
