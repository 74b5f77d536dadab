import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, setUnauthorizedHandler, withQuery } from './client';

function reply(status: number, body?: unknown) {
  return vi.spyOn(globalThis, 'fetch').mockResolvedValue(
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    }),
  );
}

describe('api', () => {
  afterEach(() => setUnauthorizedHandler(() => {}));

  it('repeats array parameters and skips empty ones', () => {
    expect(withQuery('/x', { health: ['failed', 'stalled'], q: '', kind: undefined, limit: 5 })).toBe(
      '/x?health=failed&health=stalled&limit=5',
    );
    expect(withQuery('/x', {})).toBe('/x');
  });

  it('returns the JSON body', async () => {
    reply(200, { items: [] });
    await expect(api('/api/v1/clusters')).resolves.toEqual({ items: [] });
  });

  it('turns error bodies into ApiError with the server message', async () => {
    reply(400, { code: 'kubeconfig_refused', message: 'exec plugins are not allowed' });
    const err = await api('/api/v1/clusters', { method: 'POST', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'kubeconfig_refused', message: 'exec plugins are not allowed' });
  });

  it('sends the user to the login view on 401', async () => {
    const handler = vi.fn();
    setUnauthorizedHandler(handler);
    reply(401, { code: 'unauthorized', message: 'log in' });
    await expect(api('/api/v1/stats')).rejects.toMatchObject({ status: 401 });
    expect(handler).toHaveBeenCalledOnce();
  });

  it('reports an unreachable server as a network error', async () => {
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('Failed to fetch'));
    await expect(api('/api/v1/stats')).rejects.toMatchObject({ status: 0, code: 'network' });
  });
});
