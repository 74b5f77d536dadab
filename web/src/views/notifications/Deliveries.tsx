// The delivery log, newest first, refreshed every few seconds (it is not on the live stream).
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import type { Delivery, DeliveryList } from '../../api/types';
import { ErrorBox, Skeleton } from '../../components/ui';
import { ago, when } from '../../lib/time';

const STATE_CLASS: Record<string, string> = { sent: 'good', failed: 'bad', retrying: 'warn', pending: 'muted' };

function Outcome({ d }: { d: Delivery }) {
  return (
    <span className={STATE_CLASS[d.state] ?? ''} data-testid="delivery-state">
      {d.state}
      {d.lastStatus ? ` (${d.lastStatus})` : ''}
      {d.attempts > 1 ? ` after ${d.attempts} attempts` : ''}
      {d.state === 'retrying' && <span className="muted"> · next {when(d.nextAttemptAt)}</span>}
      {d.lastError && d.state !== 'sent' && <span className="muted"> · {d.lastError}</span>}
    </span>
  );
}

export function Deliveries({ refreshMs = 3000 }: { refreshMs?: number }) {
  const q = useQuery({
    queryKey: ['notifications', 'deliveries'],
    queryFn: ({ signal }) => api<DeliveryList>('/api/v1/notifications/deliveries', { signal, query: { limit: 100 } }),
    refetchInterval: refreshMs,
  });
  return (
    <section className="notify-section" aria-labelledby="deliveries-head">
      <h2 id="deliveries-head">Delivery log</h2>
      {q.isPending ? (
        <Skeleton rows={3} />
      ) : q.isError ? (
        <ErrorBox error={q.error} retry={() => void q.refetch()} />
      ) : q.data.items.length === 0 ? (
        <p className="muted">Nothing sent yet.</p>
      ) : (
        <table className="table" aria-label="Deliveries">
          <thead>
            <tr>
              <th>When</th>
              <th>Message</th>
              <th>Rule → sink</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {q.data.items.map((d) => (
              <tr key={d.id}>
                <td title={when(d.createdAt)}>{ago(d.createdAt)}</td>
                <td>
                  <span className={`label ${d.action === 'firing' ? 'bad' : 'good'}`}>{d.action}</span> {d.summary}
                </td>
                <td>
                  {d.ruleName} → {d.sinkName}
                </td>
                <td>
                  <Outcome d={d} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
