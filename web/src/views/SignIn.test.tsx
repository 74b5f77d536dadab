import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockApi, renderAt } from '../test-utils';
import SignIn from './SignIn';

describe('SignIn', () => {
  it('shows the server message for a wrong token', async () => {
    mockApi({ 'POST /api/v1/session': () => ({ status: 401, body: { code: 'unauthorized', message: 'authentication required: unknown token' } }) });
    renderAt(<SignIn />, { url: '/signin?next=%2Fresources', path: '/signin' });
    fireEvent.change(screen.getByLabelText('API token'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toContain('unknown token');
  });

  it('goes back to where the user was', async () => {
    mockApi({ 'POST /api/v1/session': { subject: 'a', role: 'admin', method: 'session', authEnabled: true, oidc: false } });
    renderAt(<SignIn />, { url: '/signin?next=%2Fresources', path: '/signin' });
    fireEvent.change(screen.getByLabelText('API token'), { target: { value: 'good-token' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByTestId('elsewhere');
  });
});
