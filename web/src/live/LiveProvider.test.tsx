import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import { mockApi } from '../test-utils';
import { LiveConnection, type SocketLike } from './connection';
import { LiveProvider } from './LiveProvider';

function setup(url: string) {
  const opened: string[] = [];
  const socket = (u: string): SocketLike => {
    opened.push(u);
    return { onopen: null, onmessage: null, onclose: null, onerror: null, send: () => {}, close: () => {} };
  };
  const live = new LiveConnection({ url: 'ws://test/api/v1/stream', socket });
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <MemoryRouter initialEntries={[url]}>
        <LiveProvider connection={live}>
          <div />
        </LiveProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return opened;
}

const admin = { subject: 'a', role: 'admin', method: 'session', authEnabled: true, oidc: false };

describe('LiveProvider', () => {
  it('opens no stream on the sign-in page, and asks nothing that would answer 401 there', async () => {
    const fetch = mockApi({ '/api/v1/session': admin });
    const opened = setup('/signin?next=%2F');
    await new Promise((r) => setTimeout(r, 50));
    expect(opened).toEqual([]);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('opens no stream while signed out', async () => {
    const fetch = mockApi({ '/api/v1/session': () => ({ status: 401, body: { code: 'unauthorized', message: 'no session' } }) });
    const opened = setup('/resources');
    await waitFor(() => expect(fetch).toHaveBeenCalled());
    await new Promise((r) => setTimeout(r, 50));
    expect(opened).toEqual([]);
  });

  it('opens the one stream once someone is signed in', async () => {
    mockApi({ '/api/v1/session': admin });
    const opened = setup('/resources');
    await waitFor(() => expect(opened).toEqual(['ws://test/api/v1/stream']));
    vi.restoreAllMocks();
  });
});
