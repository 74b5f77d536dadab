import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import { LiveConnection, type SocketLike } from '../live/connection';
import { LiveProvider } from '../live/LiveProvider';
import { mockApi } from '../test-utils';
import { ConnectionIndicator } from './Layout';

function fakeSocket(sockets: SocketLike[]) {
  return () => {
    const s: SocketLike = { onopen: null, onmessage: null, onclose: null, onerror: null, send: () => {}, close: () => {} };
    sockets.push(s);
    return s;
  };
}

describe('ConnectionIndicator', () => {
  it('follows the one live connection', async () => {
    mockApi({ '/api/v1/session': { subject: 'a', role: 'admin', method: 'session', authEnabled: true, oidc: false } });
    const sockets: SocketLike[] = [];
    const live = new LiveConnection({ url: 'ws://x', socket: fakeSocket(sockets) });
    render(
      <QueryClientProvider client={new QueryClient()}>
        <MemoryRouter>
          <LiveProvider connection={live}>
            <ConnectionIndicator />
          </LiveProvider>
        </MemoryRouter>
      </QueryClientProvider>,
    );
    expect(screen.getByTestId('connection').textContent).toBe('Connecting');
    await waitFor(() => expect(sockets).toHaveLength(1));
    const s = sockets.at(-1)!;
    act(() => {
      s.onopen?.(new Event('open'));
      s.onmessage?.(new MessageEvent('message', { data: '{"type":"subscribed","seq":1}' }));
    });
    expect(screen.getByTestId('connection').textContent).toBe('Live');
    act(() => s.onclose?.(new CloseEvent('close')));
    expect(screen.getByTestId('connection').textContent).toBe('Reconnecting');
  });
});
