import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockApi, renderAt } from '../test-utils';
import Tokens from './Tokens';

describe('Tokens', () => {
  it('creates a token with role and expiry and shows its secret once', async () => {
    let body: Record<string, unknown> = {};
    mockApi({
      '/api/v1/tokens': { items: [] },
      'POST /api/v1/tokens': (init: RequestInit | undefined) => {
        body = JSON.parse(String(init?.body));
        return { status: 201, body: { token: 'fluxo_secret', id: 't1', name: 'ci', role: 'operator', hint: 'fluxo_se', source: 'api', createdBy: 'admin', createdAt: '2025-01-01T00:00:00Z' } };
      },
    });
    renderAt(<Tokens />);
    await screen.findByText('No tokens yet');
    fireEvent.change(screen.getByLabelText('Token name'), { target: { value: 'ci' } });
    fireEvent.change(screen.getByLabelText('Role'), { target: { value: 'operator' } });
    fireEvent.change(screen.getByLabelText('Cluster scope'), { target: { value: 'team=payments' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    expect((await screen.findByTestId('new-token')).textContent).toBe('fluxo_secret');
    expect(body).toMatchObject({ name: 'ci', role: 'operator', scope: { team: 'payments' } });
    expect(Date.parse(String(body.expiresAt))).toBeGreaterThan(Date.now() + 80 * 86_400_000);
    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    await waitFor(() => expect(screen.queryByTestId('new-token')).toBeNull());
  });
});
