// When a failing cluster is retried, and a way to retry it now. The server retries on its own
// (quickly after network failures, once a minute after 401/403); "Retry now" asks the watching
// replica to stop waiting (POST /clusters/{id}/sync), e.g. right after fixing its RBAC.
import { useMutation } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, errorMessage } from '../api/client';
import { useCan } from '../api/session';

/** "in 42s", "now": the time until `iso`, as a countdown. */
export function until(iso: string, now: number = Date.now()): string {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (Number.isNaN(s) || s <= 0) return 'now';
  if (s < 60) return `in ${s}s`;
  return `in ${Math.floor(s / 60)}m ${s % 60}s`;
}

/** Re-render every second while `on`. */
function useTick(on: boolean) {
  const [, setNow] = useState(0);
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [on]);
}

export function Retry({ clusterId, state, nextRetryAt }: { clusterId: string; state: string; nextRetryAt?: string | null }) {
  const can = useCan();
  const failing = state !== 'ready' && state !== 'connecting';
  useTick(failing && !!nextRetryAt);
  const retry = useMutation({ mutationFn: () => api<unknown>(`/api/v1/clusters/${clusterId}/sync`, { method: 'POST' }) });
  if (!failing) return null;
  return (
    <div className="retry small" data-testid="retry">
      {nextRetryAt && <span className="muted">next retry {until(nextRetryAt)}</span>}
      {can.act && (
        <button
          type="button"
          className="btn btn-small"
          disabled={retry.isPending}
          onClick={() => retry.mutate()}
          title={retry.isError ? errorMessage(retry.error) : 'Stop waiting and try again now'}
        >
          {retry.isPending ? 'Retrying…' : retry.isError ? 'Retry failed' : 'Retry now'}
        </button>
      )}
    </div>
  );
}
