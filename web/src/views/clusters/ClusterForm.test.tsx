import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../api/client';
import { ClusterForm, fieldOf } from './ClusterForm';

describe('fieldOf', () => {
  it('puts kubeconfig refusals next to the kubeconfig and conflicts next to the name', () => {
    expect(fieldOf(new ApiError(400, 'kubeconfig_refused', 'exec plugins are not allowed'))).toBe('kubeconfig');
    expect(fieldOf(new ApiError(400, 'address_refused', 'server https://169.254.169.254: address …'))).toBe('kubeconfig');
    expect(fieldOf(new ApiError(409, 'conflict', 'a cluster named x exists'))).toBe('name');
    expect(fieldOf(new ApiError(400, 'invalid', 'name must be a DNS-1123 label'))).toBe('name');
    expect(fieldOf(new ApiError(400, 'invalid', 'label key "-x" is not valid'))).toBe('labels');
    expect(fieldOf(new Error('x'))).toBe('form');
  });
});

describe('ClusterForm', () => {
  it('shows the server message under the kubeconfig field', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      new Response(JSON.stringify({ code: 'kubeconfig_refused', message: 'user "u": exec plugins are not allowed' }), { status: 400 }),
    );
    render(
      <QueryClientProvider client={new QueryClient()}>
        <MemoryRouter>
          <ClusterForm onDone={() => {}} />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    fireEvent.change(screen.getByPlaceholderText('prod-eu-1'), { target: { value: 'bad' } });
    fireEvent.change(screen.getByPlaceholderText(/Paste the output/), {
      target: { value: 'contexts:\n- name: a\n  context: {cluster: a, user: u}\ncurrent-context: a\n' },
    });
    expect(screen.getByRole('combobox')).toHaveProperty('value', 'a');
    fireEvent.submit(screen.getByRole('form'));
    const alert = await screen.findByRole('alert');
    expect(alert.id).toBe('err-kubeconfig');
    expect(alert.textContent).toContain('exec plugins are not allowed');
  });
});
