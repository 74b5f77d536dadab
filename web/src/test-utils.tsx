// Rendering views in tests: a fresh query cache, a router at a URL, and a live connection
// whose socket never opens. `mockApi` answers fetch by path.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { vi } from 'vitest';
import { LiveConnection, type SocketLike } from './live/connection';
import { LiveProvider } from './live/LiveProvider';

const silentSocket = (): SocketLike => ({ onopen: null, onmessage: null, onclose: null, onerror: null, send: () => {}, close: () => {} });

export function renderAt(ui: ReactNode, { url = '/', path = '*' }: { url?: string; path?: string } = {}) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const live = new LiveConnection({ url: 'ws://test', socket: silentSocket });
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={[url]}>
        <LiveProvider connection={live}>
          <Routes>
            <Route path={path} element={ui} />
            <Route path="*" element={<div data-testid="elsewhere" />} />
          </Routes>
        </LiveProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

type Answer = unknown | ((init: RequestInit | undefined, url: string) => { status: number; body?: unknown });

/** Answer fetches by "METHOD /path" (or "/path" for GET); unknown paths get 404. Returns the spy. */
export function mockApi(routes: Record<string, Answer>) {
  return vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = String(input);
    const path = url.split('?')[0]!;
    const method = init?.method ?? 'GET';
    const answer = routes[`${method} ${path}`] ?? (method === 'GET' ? routes[path] : undefined);
    if (answer === undefined) return new Response(JSON.stringify({ code: 'not_found', message: `no mock for ${method} ${path}` }), { status: 404 });
    const { status, body } = typeof answer === 'function' ? (answer as (i: RequestInit | undefined, u: string) => { status: number; body?: unknown })(init, url) : { status: 200, body: answer };
    return new Response(body === undefined ? null : JSON.stringify(body), { status });
  });
}
