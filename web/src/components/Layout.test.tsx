import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { LiveConnection, type SocketLike } from '../live/connection';
import { LiveProvider } from '../live/LiveProvider';
import { ConnectionIndicator } from './Layout';

function fakeSocket(sockets: SocketLike[]) {
  return () => {
    const s: SocketLike = { onopen: null, onmessage: null, onclose: null, onerror: null, send: () => {}, close: () => {} };
    sockets.push(s);
    return s;
  };
}

describe('ConnectionIndicator', () => {
  it('follows the one live connection', () => {
    const sockets: SocketLike[] = [];
    const live = new LiveConnection({ url: 'ws://x', socket: fakeSocket(sockets) });
    render(
      <QueryClientProvider client={new QueryClient()}>
        <LiveProvider connection={live}>
          <ConnectionIndicator />
        </LiveProvider>
      </QueryClientProvider>,
    );
    expect(screen.getByTestId('connection').textContent).toBe('Connecting');
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
