// Rollouts: per source, its newest revision spreading across clusters (applied / failing /
// pending per cluster, a progress bar), older revisions collapsed (GET /api/v1/rollouts).
// Live: the page is read again shortly after the stream delivers a change of a consumer or a
// source (live/cache.ts). Cluster-label selector, text and object are in the URL.
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, errorMessage } from '../api/client';
import type { RolloutCluster, RolloutPage, RolloutRevision, RolloutSource } from '../api/types';
import { KindIcon } from '../components/icons';
import { shortRevision } from '../lib/flux';
import { ago } from '../lib/time';
import { keys } from '../live/cache';
import { bar, duration, matchesText, parseView, STATES, viewToParams, type RolloutsView } from './rollouts/model';

function Bar({ r }: { r: RolloutRevision }) {
  const { segments, text } = bar(r.counts);
  return (
    <div className="hbar" role="img" aria-label={text} title={text} data-testid="rollout-bar">
      {segments.length === 0 ? <span className="hbar-empty" /> : segments.map((s) => <span key={s.state} className={`hbar-seg h-${s.colour}`} style={{ flexGrow: s.n }} />)}
    </div>
  );
}

function ClusterChip({ c }: { c: RolloutCluster }) {
  const colour = STATES.find((s) => s.state === c.state)?.colour ?? 'unknown';
  return (
    <details className="rollout-cluster" data-testid="rollout-cluster" data-cluster={c.cluster} data-state={c.state}>
      <summary>
        <span className={`h-${colour}`}>●</span> {c.cluster} <span className="muted small">{c.state}</span>
      </summary>
      <ul className="small">
        {c.objects.map((o) => (
          <li key={o.id}>
            <Link to={`/resources/${o.id}`}>
              {o.kind}/{o.namespace}/{o.name}
            </Link>{' '}
            <span className={`h-${STATES.find((s) => s.state === o.state)?.colour ?? 'unknown'}`}>{o.state}</span>
            {o.appliedAt && <span className="muted"> · applied {ago(o.appliedAt)}</span>}
            {o.state !== 'applied' && o.revision && <span className="muted mono"> · on {shortRevision(o.revision)}</span>}
            {o.message && <div className="muted">{o.message}</div>}
          </li>
        ))}
      </ul>
    </details>
  );
}

function Revision({ r }: { r: RolloutRevision }) {
  const c = r.counts;
  return (
    <div className="rollout-revision" data-testid="rollout-revision" data-revision={r.revision}>
      <div className="small">
        <span className="mono" title={r.revision}>{shortRevision(r.revision)}</span> · {c.applied} applied · {c.failing} failing · {c.pending} pending
        {c.superseded > 0 && ` · ${c.superseded} superseded`} · first seen {ago(r.firstSeenAt)}
        {r.lastAppliedAt && ` · last apply ${ago(r.lastAppliedAt)}`} · median {duration(r.medianSeconds)}, p90 {duration(r.p90Seconds)}
      </div>
      <Bar r={r} />
      <div className="chips">{r.clusters.map((cl) => <ClusterChip key={cl.clusterId} c={cl} />)}</div>
    </div>
  );
}

function Source({ s }: { s: RolloutSource }) {
  const [newest, ...older] = s.revisions;
  return (
    <section className="card rollout" data-testid="rollout-source" data-source={s.source}>
      <div className="card-head">
        <span className="card-title">
          <KindIcon kind={s.kind} size={16} /> {s.url}
          {s.reference && <span className="muted"> · {s.reference}</span>}
          {s.chart && <span className="muted"> · chart {s.chart}</span>}
        </span>
        <span className="muted small">
          {s.consumers} consumers on {s.clusters} clusters
        </span>
      </div>
      {newest ? <Revision r={newest} /> : <p className="muted small">No revision recorded yet.</p>}
      {older.length > 0 && (
        <details>
          <summary className="small">
            {older.length} older revision{older.length > 1 ? 's' : ''}
            {s.revisionsTotal > s.revisions.length && ` (of ${s.revisionsTotal - 1})`}
          </summary>
          {older.map((r) => <Revision key={r.revision} r={r} />)}
        </details>
      )}
    </section>
  );
}

function useRollouts(view: RolloutsView) {
  const query = { clusterSelector: view.selector || undefined, resource: view.resource, limit: 100, revisions: 5 };
  return useQuery({
    queryKey: keys.rollouts(query),
    queryFn: ({ signal }) => api<RolloutPage>('/api/v1/rollouts', { signal, query }),
  });
}

function Filters({ view, set }: { view: RolloutsView; set: (v: RolloutsView) => void }) {
  const [selector, setSelector] = useState(view.selector);
  return (
    <form className="card filters rollout-filters" onSubmit={(e) => (e.preventDefault(), set({ ...view, selector }))}>
      <input className="input" aria-label="Cluster labels" placeholder="cluster labels, e.g. env=prod" value={selector} onChange={(e) => setSelector(e.target.value)} onBlur={() => set({ ...view, selector })} />{' '}
      <input className="input" aria-label="Search rollouts" placeholder="source, cluster or name" value={view.q} onChange={(e) => set({ ...view, q: e.target.value })} />
      {view.resource && (
        <span className="small muted">
          {' '}Only one object's sources · <Link to={`/rollouts?${viewToParams({ ...view, resource: undefined }).toString()}`}>all sources</Link>
        </span>
      )}
    </form>
  );
}

export default function Rollouts() {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => parseView(params), [params]);
  const page = useRollouts(view);
  const set = (v: RolloutsView) => setParams(viewToParams(v), { replace: true });
  const items = (page.data?.items ?? []).filter((s) => matchesText(s, view.q));
  return (
    <div className="page">
      <h1>Rollouts</h1>
      <Filters view={view} set={set} />
      {page.error && <p role="alert">{errorMessage(page.error)}</p>}
      {page.data && items.length === 0 && <p className="muted">No rollouts match.</p>}
      {items.map((s) => <Source key={s.source} s={s} />)}
      {page.data?.continue && <p className="muted small">More sources exist: narrow the filters to see them.</p>}
    </div>
  );
}
