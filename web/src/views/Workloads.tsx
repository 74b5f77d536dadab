// The objects Flux applies (Deployments, Services, …) across the fleet: image search ("where
// does nginx:1.25 run?"), filters in the URL, health colours, live updates, links to owners.
import { useInfiniteQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api/client';
import { useClusters } from '../api/queries';
import { HEALTHS, type Health, type Resource, type ResourceList } from '../api/types';
import { HealthBadge, HealthIcon, KindIcon } from '../components/icons';
import { Empty, ErrorBox, Skeleton } from '../components/ui';
import { HEALTH_LABEL } from '../lib/flux';
import { keys } from '../live/cache';
import { changedRecently } from '../live/flash';

/** The workload kinds the server can watch (`FLUXO_WORKLOAD_KINDS`, src/flux/workloads.rs). */
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Service', 'Ingress', 'PersistentVolumeClaim'] as const;

const PAGE = 200;

/** The list's query from the URL: the parameters `GET /api/v1/workloads` takes. */
export function workloadQuery(params: URLSearchParams) {
  return {
    image: params.get('image') || undefined,
    cluster: params.getAll('cluster').filter(Boolean),
    kind: params.getAll('kind').filter(Boolean),
    namespace: params.getAll('namespace').filter(Boolean),
    health: params.getAll('health').filter((h): h is Health => (HEALTHS as string[]).includes(h)),
    owner: params.getAll('owner').filter(Boolean),
    sort: 'severity' as const,
  };
}

/** Images as one short text: `nginx:1.25.3, ghcr.io/acme/web:1.4.2`. */
export function imagesText(r: Resource): string {
  return (r.workload?.images ?? []).filter((i) => !i.init).map((i) => i.image).join(', ');
}

function useWorkloads(query: ReturnType<typeof workloadQuery>) {
  return useInfiniteQuery({
    queryKey: keys.workloads(query),
    queryFn: ({ signal, pageParam }) => api<ResourceList>('/api/v1/workloads', { signal, query: { ...query, limit: PAGE, continue: pageParam } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.continue ?? undefined,
  });
}

export default function Workloads() {
  const [params, setParams] = useSearchParams();
  const query = useMemo(() => workloadQuery(params), [params]);
  const list = useWorkloads(query);
  const set = useCallback(
    (name: string, values: string[]) => {
      const next = new URLSearchParams(params);
      next.delete(name);
      for (const v of values) next.append(name, v);
      setParams(next, { replace: true });
    },
    [params, setParams],
  );
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];
  const total = list.data?.pages[0]?.total;
  const more = list.data?.pages[0]?.totalCapped ? '+' : '';
  return (
    <div className="page">
      <div className="page-head">
        <h1>Workloads</h1>
        <span className="muted" data-testid="workload-count">
          {total === undefined || total === null ? '' : `${total.toLocaleString()}${more} workload${total === 1 && !more ? '' : 's'}`}
        </span>
      </div>
      <WorkloadFilters params={params} query={query} set={set} />
      {list.isPending ? (
        <Skeleton rows={12} />
      ) : list.isError ? (
        <ErrorBox error={list.error} retry={() => void list.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="No workloads match">Workloads appear when a watched cluster runs what Flux applied.</Empty>
      ) : (
        <>
          <WorkloadTable rows={rows} />
          {list.hasNextPage && (
            <button type="button" className="btn btn-small" disabled={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
              Load more
            </button>
          )}
        </>
      )}
    </div>
  );
}

interface FilterProps {
  params: URLSearchParams;
  query: ReturnType<typeof workloadQuery>;
  set: (name: string, values: string[]) => void;
}

function WorkloadFilters({ params, query, set }: FilterProps) {
  const clusters = useClusters();
  const [image, setImage] = useState(query.image ?? '');
  useEffect(() => {
    if (image === (query.image ?? '')) return;
    const t = setTimeout(() => set('image', image ? [image] : []), 300);
    return () => clearTimeout(t);
  }, [image, query.image, set]);
  const toggle = (h: Health) => set('health', query.health.includes(h) ? query.health.filter((x) => x !== h) : [...query.health, h]);
  return (
    <div className="filters" role="search">
      <div className="filters-row">
        <input
          className="input search"
          type="search"
          placeholder="Image: nginx:1.25.3, ghcr.io/acme, :1.4.2, sha256:9f86…"
          aria-label="Search images"
          value={image}
          onChange={(e) => setImage(e.target.value)}
        />
        <select className="input" aria-label="Kind" value={query.kind[0] ?? ''} onChange={(e) => set('kind', e.target.value ? [e.target.value] : [])}>
          <option value="">All kinds</option>
          {WORKLOAD_KINDS.map((k) => (
            <option key={k}>{k}</option>
          ))}
        </select>
        <select className="input" aria-label="Cluster" value={query.cluster[0] ?? ''} onChange={(e) => set('cluster', e.target.value ? [e.target.value] : [])}>
          <option value="">All clusters</option>
          {clusters.data?.items.map((c) => (
            <option key={c.id}>{c.name}</option>
          ))}
        </select>
        {params.getAll('owner').length > 0 && (
          <button type="button" className="btn btn-small" onClick={() => set('owner', [])}>
            Any owner
          </button>
        )}
      </div>
      <div className="chips" role="group" aria-label="Health">
        {HEALTHS.filter((h) => h !== 'stalled' && h !== 'suspended').map((h) => (
          <button key={h} type="button" className={`chip h-${h}`} aria-pressed={query.health.includes(h)} onClick={() => toggle(h)}>
            <HealthIcon health={h} size={12} /> {HEALTH_LABEL[h]}
          </button>
        ))}
      </div>
    </div>
  );
}

function WorkloadTable({ rows }: { rows: Resource[] }) {
  return (
    <table className="table" data-testid="workloads">
      <thead>
        <tr>
          <th>Health</th>
          <th>Kind</th>
          <th>Name</th>
          <th>Namespace</th>
          <th>Cluster</th>
          <th>Ready</th>
          <th>Images</th>
          <th>Owner</th>
          <th>Message</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const w = r.workload;
          const owner = w?.owner;
          return (
            <tr key={r.id} data-id={r.id} data-health={r.health} className={changedRecently(r.id) ? 'flash' : undefined}>
              <td>
                <HealthBadge health={r.health} />
              </td>
              <td>
                <KindIcon kind={r.kind} /> {r.kind}
              </td>
              <td>
                <Link to={`/resources/${r.id}`}>{r.name}</Link>
              </td>
              <td>{r.namespace}</td>
              <td>{r.cluster}</td>
              <td className="mono">{w?.desiredReplicas == null ? '' : `${w.readyReplicas ?? 0}/${w.desiredReplicas}`}</td>
              <td className="mono msg" title={imagesText(r)}>
                {imagesText(r)}
              </td>
              <td>{owner && <Link to={`/resources/${owner.id}`}>{`${owner.kind}/${owner.name}`}</Link>}</td>
              <td className="msg" title={r.message ?? ''}>
                {r.reason && r.health !== 'ready' && <span className="reason">{r.reason}</span>} {r.message}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
