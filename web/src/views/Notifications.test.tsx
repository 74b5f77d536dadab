import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { mockApi, renderAt } from '../test-utils';
import Notifications from './Notifications';

const sink = { id: 's1', name: 'ops-hook', kind: 'webhook', endpoint: 'https://hooks.example.com', insecure: false, createdBy: 'admin', createdAt: '2026-01-01T00:00:00Z' };
const delivery = {
  id: 7, key: 'k1', ruleId: 'r1', ruleName: 'ks-failed', sinkId: 's1', sinkName: 'ops-hook', action: 'firing', condition: 'failed',
  summary: 'revision main@sha1:ab12 failed on 2 clusters: a/Kustomization/apps/web, b/Kustomization/apps/web', items: [],
  state: 'retrying', attempts: 2, nextAttemptAt: '2026-01-01T00:00:04Z', lastStatus: 500, lastError: 'the sink answered 500',
  createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:02Z',
};

describe('Notifications', () => {
  it('lets an admin create a rule on a sink, test the sink, and shows the delivery log', async () => {
    let rule: Record<string, unknown> = {};
    mockApi({
      '/api/v1/session': { subject: 'a', role: 'admin', method: 'session', authEnabled: true, oidc: false },
      '/api/v1/notifications/sinks': { items: [sink] },
      '/api/v1/notifications/rules': { items: [] },
      '/api/v1/notifications/mutes': { items: [] },
      '/api/v1/notifications/deliveries': { items: [delivery] },
      'POST /api/v1/notifications/sinks/s1/test': { ok: false, status: 500, error: null },
      'POST /api/v1/notifications/rules': (init: RequestInit | undefined) => {
        rule = JSON.parse(String(init?.body));
        return { status: 201, body: { ...rule, id: 'r1', enabled: true, createdBy: 'a', createdAt: '2026-01-01T00:00:00Z' } };
      },
    });
    renderAt(<Notifications />);
    expect(await screen.findByText(/failed on 2 clusters/)).toBeTruthy();
    expect(screen.getByTestId('delivery-state').textContent).toContain('retrying (500) after 2 attempts');
    fireEvent.click(await screen.findByRole('button', { name: 'Test ops-hook' }));
    expect((await screen.findByRole('status')).textContent).toBe('answered 500');
    fireEvent.change(screen.getByLabelText('Rule name'), { target: { value: 'ks-failed' } });
    fireEvent.change(screen.getByLabelText('Condition'), { target: { value: 'stillFailed' } });
    fireEvent.change(screen.getByLabelText('After minutes'), { target: { value: '15' } });
    fireEvent.change(screen.getByLabelText('Rule filter'), { target: { value: 'kinds=ks env=prod' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create rule' }));
    await waitFor(() => expect(rule.name).toBe('ks-failed'));
    expect(rule).toMatchObject({ sinkId: 's1', condition: 'stillFailed', afterMinutes: 15, groupWindowSecs: 30, filter: { kinds: ['ks'], clusterLabels: { env: 'prod' } } });
  });

  it('shows viewers the rules and the log without forms', async () => {
    mockApi({
      '/api/v1/session': { subject: 'v', role: 'viewer', method: 'token', authEnabled: true, oidc: false },
      '/api/v1/notifications/rules': { items: [{ id: 'r1', name: 'ks-failed', sinkId: 's1', filter: { kinds: ['Kustomization'] }, condition: 'failed', groupWindowSecs: 30, enabled: true, createdBy: 'a', createdAt: '2026-01-01T00:00:00Z' }] },
      '/api/v1/notifications/mutes': { items: [] },
      '/api/v1/notifications/deliveries': { items: [] },
    });
    renderAt(<Notifications />);
    expect(await screen.findByText('kinds=Kustomization')).toBeTruthy();
    expect(await screen.findByText('Nothing sent yet.')).toBeTruthy();
    expect(screen.queryByLabelText('Rule name')).toBeNull();
    expect(screen.queryByLabelText('Mute reason')).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Sinks' })).toBeNull();
  });
});
