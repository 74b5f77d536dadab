// One Flux object: header with health and actions, then tabs (in the URL) for its summary,
// conditions, events, inventory, history and YAML. Everything updates live.
import { lazy, Suspense, useEffect } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { ApiError } from '../api/client';
import { api } from '../api/client';
import { useResource } from '../api/queries';
import type { ResourceDetail as Detail, Resource, ResourceList } from '../api/types';
import { HealthBadge, KindIcon, Spinner } from '../components/icons';
import { Empty, ErrorBox, Skeleton } from '../components/ui';
import { shortRevision } from '../lib/flux';
import { ago, when } from '../lib/time';
import { ROLLOUT_KINDS } from '../live/cache';
import { changedRecently } from '../live/flash';
import { Actions } from './detail/Actions';
import { RollUp } from '../components/RollUp';
import { History } from './detail/History';
import { Conditions, Events, InventoryView, Yaml } from './detail/Sections';

const GraphTab = lazy(() => import('./detail/Graph').then((m) => ({ default: m.GraphTab })));
const ImpactTab = lazy(() => import('./detail/Graph').then((m) => ({ default: m.ImpactTab })));

const TABS = ['summary', 'conditions', 'events', 'inventory', 'graph', 'impact', 'history', 'yaml'] as const;
type Tab = (typeof TABS)[number];

function refLink(clusterId: string, kind: string, namespace: string, name: string) {
  return `/resources/ref/${clusterId}/${kind}/${namespace}/${name}`;
}

function Summary({ d }: { d: Detail }) {
  const r = d.resource;
  return (
    <dl className="facts facts-wide">
      <dt>Revision</dt>
      <dd className="mono">{r.revision ?? '—'}</dd>
      {r.lastAttemptedRevision && r.lastAttemptedRevision !== r.revision && (
        <>
          <dt>Last attempted</dt>
          <dd className="mono">{r.lastAttemptedRevision}</dd>
        </>
      )}
      {d.revisionDetail && (
        <>
          <dt>Detail</dt>
          <dd>{d.revisionDetail}</dd>
        </>
      )}
      <dt>Source</dt>
      <dd>
        {r.sourceRef ? (
          <Link to={refLink(r.clusterId, r.sourceRef.kind, r.sourceRef.namespace, r.sourceRef.name)}>
            <KindIcon kind={r.sourceRef.kind} /> {r.sourceRef.kind}/{r.sourceRef.namespace}/{r.sourceRef.name}
          </Link>
        ) : (
          '—'
        )}
      </dd>
      <dt>Depends on</dt>
      <dd>
        {r.dependsOn.length === 0
          ? '—'
          : r.dependsOn.map((dep) => (
              <Link key={`${dep.namespace}/${dep.name}`} className="dep" to={refLink(r.clusterId, r.kind, dep.namespace, dep.name)}>
                {dep.namespace}/{dep.name}
              </Link>
            ))}
      </dd>
      <dt>Generation</dt>
      <dd>
        {d.generation ?? '—'} <span className="muted">(observed {d.observedGeneration ?? '—'})</span>
      </dd>
      <dt>Last handled reconcile</dt>
      <dd className="mono">{r.lastHandledReconcileAt ?? '—'}</dd>
      <dt>Labels</dt>
      <dd>
        {Object.keys(r.labels).length === 0
          ? '—'
          : Object.entries(r.labels).map(([k, v]) => (
              <span key={k} className="label">
                {k}={v}
              </span>
            ))}
      </dd>
      <dt>First seen</dt>
      <dd title={when(d.createdAt)}>{ago(d.createdAt)}</dd>
    </dl>
  );
}

export default function ResourceDetail() {
  const { id = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tab: Tab = (TABS as readonly string[]).includes(params.get('tab') ?? '') ? (params.get('tab') as Tab) : 'summary';
  const q = useResource(id);

  if (q.isPending) return <Skeleton rows={10} className="page" />;
  if (q.isError) {
    if (q.error instanceof ApiError && q.error.status === 404) {
      return (
        <Empty title="This object is not in the fleet">
          It may have been deleted, or its cluster removed. <Link to="/resources">All resources</Link>
        </Empty>
      );
    }
    return <ErrorBox error={q.error} retry={() => void q.refetch()} />;
  }
  const d = q.data;
  const r = d.resource;
  return (
    <div className="page">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/resources">Resources</Link> / <Link to={`/resources?cluster=${encodeURIComponent(r.cluster)}`}>{r.cluster}</Link> /{' '}
        <Link to={`/resources?cluster=${encodeURIComponent(r.cluster)}&namespace=${encodeURIComponent(r.namespace)}`}>{r.namespace}</Link>
      </nav>
      <header key={r.seq} className={`detail-head${changedRecently(r.id) ? ' flash' : ''}`} data-testid="detail-head" data-health={r.health}>
        <div className="detail-title">
          <KindIcon kind={r.kind} size={22} />
          <div>
            <h1>{r.name}</h1>
            <div className="muted small">
              {r.kind} · {r.apiGroup}/{r.apiVersion} · {r.namespace} · {r.cluster}
            </div>
          </div>
          <HealthBadge health={r.health} />
          {/* A suspended object's health is "suspended" already: one badge, not two. */}
          {r.suspended && r.health !== 'suspended' && <span className="label">suspended</span>}
          <RollUp r={r} />
        </div>
        <div className="detail-status">
          {r.reason && <span className="reason">{r.reason}</span>} <span data-testid="detail-message">{r.message}</span>
          {r.workload && <WorkloadFacts w={r.workload} />}
          <div className="muted small">
            {r.revision && <span className="mono">{shortRevision(r.revision)} · </span>}changed {ago(r.lastTransitionAt ?? r.updatedAt)}
            {!r.workload && ROLLOUT_KINDS.has(r.kind) && (
              <>
                {' · '}
                <Link to={`/rollouts?resource=${r.id}`}>rollout</Link>
              </>
            )}
          </div>
        </div>
        {/* Workloads are Kubernetes' to act on, not Flux's. */}
        {!r.workload && <Actions r={r} />}
      </header>
      <div className="tabs" role="tablist" aria-label="Sections">
        {TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            className="tab"
            onClick={() => setParams(t === 'summary' ? {} : { tab: t }, { replace: true })}
          >
            {t === 'yaml' ? 'YAML' : t[0]!.toUpperCase() + t.slice(1)}
            {t === 'conditions' && <span className="count">{d.conditions.length}</span>}
            {t === 'inventory' && d.inventory && <span className="count">{d.inventory.total}</span>}
          </button>
        ))}
      </div>
      <section className="tabpanel" role="tabpanel" aria-label={tab}>
        {tab === 'summary' && <Summary d={d} />}
        {tab === 'conditions' && <Conditions conditions={d.conditions} />}
        {tab === 'events' && <Events id={id} />}
        {tab === 'inventory' && <InventoryView id={id} inventory={d.inventory} clusterId={r.clusterId} />}
        <Suspense fallback={<Skeleton rows={6} />}>
          {tab === 'graph' && <GraphTab id={id} />}
          {tab === 'impact' && <ImpactTab id={id} />}
        </Suspense>
        {tab === 'history' && <History id={id} />}
        {tab === 'yaml' && <Yaml detail={d} />}
      </section>
    </div>
  );
}

/** `/resources/ref/:cluster/:kind/:namespace/:name`: find the object's id and show it. */
export function ResourceByRef() {
  const { cluster = '', kind = '', namespace = '', name = '' } = useParams();
  const navigate = useNavigate();
  const ns = namespace === '-' ? '' : namespace;
  useEffect(() => {
    const ctl = new AbortController();
    api<ResourceList>('/api/v1/resources', {
      signal: ctl.signal,
      query: { cluster: [cluster], kind: [kind], namespace: ns ? [ns] : [], q: name, limit: 1000 },
    })
      .then((list) => {
        const hit = list.items.find((r) => r.name === name && r.namespace === ns);
        navigate(hit ? `/resources/${hit.id}` : `/resources/ref/${cluster}/${kind}/${namespace}/${name}?missing=1`, { replace: true });
      })
      .catch(() => {});
    return () => ctl.abort();
  }, [cluster, kind, ns, namespace, name, navigate]);
  const [params] = useSearchParams();
  if (params.get('missing')) {
    return (
      <Empty title={`${kind} ${ns ? ns + '/' : ''}${name} is not in the fleet`}>
        The reference points at an object the cluster does not have (or one the orchestrator does not watch).{' '}
        <Link to="/resources">All resources</Link>
      </Empty>
    );
  }
  return (
    <div className="page">
      <Spinner /> Looking up {kind} {name}…
    </div>
  );
}

/** A workload's owner, replicas and images, under its status. */
function WorkloadFacts({ w }: { w: NonNullable<Resource['workload']> }) {
  return (
    <div className="muted small" data-testid="workload-facts">
      {w.owner && (
        <>
          applied by <Link to={`/resources/${w.owner.id}`}>{`${w.owner.kind} ${w.owner.namespace}/${w.owner.name}`}</Link>
        </>
      )}
      {w.desiredReplicas != null && <> · ready {w.readyReplicas ?? 0}/{w.desiredReplicas}</>}
      {w.kstatus && <> · kstatus {w.kstatus}</>}
      {w.images && w.images.length > 0 && (
        <>
          {' '}
          · <span className="mono">{w.images.map((i) => i.image).join(', ')}</span>
        </>
      )}
    </div>
  );
}
