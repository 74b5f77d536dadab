// The audit log (admin): who did what, to which object, from where, with what result.
// Filters live in the URL; older pages load on demand.
import { useInfiniteQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { api } from '../api/client';
import type { AuditList } from '../api/types';
import { Empty, ErrorBox, Skeleton } from '../components/ui';
import { when } from '../lib/time';

const FILTERS = ['actor', 'operation', 'cluster'] as const;

export default function Audit() {
  const [params, setParams] = useSearchParams();
  const filter = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? '']));
  const q = useInfiniteQuery({
    queryKey: ['audit', filter],
    queryFn: ({ signal, pageParam }) => api<AuditList>('/api/v1/audit', { signal, query: { ...filter, limit: 100, before: pageParam } }),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => (last.items.length === 100 ? last.items.at(-1)?.id : undefined),
  });
  const rows = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Audit log</h1>
        <a className="btn btn-small" href="/api/v1/audit/export" download title="Every entry, oldest first, one JSON object per line">
          Export NDJSON
        </a>
      </div>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          const next = new URLSearchParams();
          for (const f of FILTERS) {
            const v = String(data.get(f) ?? '').trim();
            if (v) next.set(f, v);
          }
          setParams(next);
        }}
      >
        {FILTERS.map((f) => (
          <input key={f + filter[f]} className="input" name={f} placeholder={f} aria-label={f} defaultValue={filter[f]} />
        ))}
        <button type="submit" className="btn btn-small">
          Filter
        </button>
      </form>
      {q.isPending ? (
        <Skeleton rows={8} />
      ) : q.isError ? (
        <ErrorBox error={q.error} retry={() => void q.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="Nothing audited yet">Every change made through the API — actions, clusters, tokens, sign-ins — is recorded here.</Empty>
      ) : (
        <>
          <table className="table" data-testid="audit">
            <thead>
              <tr>
                <th>When</th>
                <th>Actor</th>
                <th>Operation</th>
                <th>Object</th>
                <th>Reason</th>
                <th>Result</th>
                <th>From</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.id}>
                  <td className="nowrap">{when(a.at)}</td>
                  <td>
                    {a.actor} <span className="muted small">{a.role} · {a.authMethod}</span>
                  </td>
                  <td className="nowrap">{a.operation}</td>
                  <td className="msg-wrap">
                    {a.object ?? <span className="mono small">{a.method} {a.path}</span>}
                    {a.cluster && <span className="muted"> on {a.cluster}</span>}
                  </td>
                  <td className="msg-wrap">{a.reason}</td>
                  <td className={a.result === 'ok' ? 'ok-text' : 'bad'}>
                    {a.result} <span className="muted small">{a.status}</span>
                  </td>
                  <td className="mono small">{a.remote}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {q.hasNextPage && (
            <button type="button" className="btn btn-small more" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
              Older entries
            </button>
          )}
        </>
      )}
    </div>
  );
}
