import { describe, expect, it, vi } from 'vitest';
import type { Resource } from '../api/types';
import { ActionTracker, isHandled } from './actions';

const base: Resource = {
  id: 'r1', clusterId: 'c', cluster: 'c', apiGroup: 'g', apiVersion: 'v1', kind: 'Kustomization', namespace: 'n',
  name: 'app', health: 'ready', suspended: false, dependsOn: [], labels: {}, updatedAt: '2025-01-01T00:00:00Z', seq: 1,
};

function accept(token: string) {
  return vi.spyOn(globalThis, 'fetch').mockResolvedValue(
    new Response(JSON.stringify({ resourceId: 'r1', action: 'reconcile', token, patched: [] }), { status: 202 }),
  );
}

describe('isHandled', () => {
  it('follows ActionAccepted.token', () => {
    expect(isHandled('reconcile', 't', { ...base, lastHandledReconcileAt: 't' })).toBe(true);
    expect(isHandled('reconcile', 't', { ...base, lastHandledReconcileAt: 'old' })).toBe(false);
    expect(isHandled('suspend', 't', { ...base, suspended: true })).toBe(true);
    expect(isHandled('resume', 't', { ...base, suspended: true, lastHandledReconcileAt: 't' })).toBe(false);
    expect(isHandled('resume', 't', { ...base, lastHandledReconcileAt: 't' })).toBe(true);
  });
});

describe('ActionTracker', () => {
  it('waits for the controller, then marks the action handled', async () => {
    const fetch = accept('tok-1');
    const t = new ActionTracker();
    await t.run('r1', 'app', 'reconcile', { withSource: true });
    expect(fetch.mock.calls[0]![0]).toBe('/api/v1/resources/r1/reconcile?withSource=true');
    expect(t.get('r1')).toMatchObject({ phase: 'waiting', token: 'tok-1' });
    t.observe({ ...base, lastHandledReconcileAt: 'other' });
    expect(t.get('r1')?.phase).toBe('waiting');
    t.observe({ ...base, lastHandledReconcileAt: 'tok-1' });
    expect(t.get('r1')?.phase).toBe('handled');
  });

  it('keeps the server message when an action is refused', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      new Response(JSON.stringify({ code: 'cluster_unreachable', message: 'cluster is unreachable' }), { status: 503 }),
    );
    const t = new ActionTracker();
    await t.run('r1', 'app', 'suspend', { reason: 'maintenance' });
    expect(t.get('r1')).toMatchObject({ phase: 'failed', error: 'cluster is unreachable' });
  });
});
