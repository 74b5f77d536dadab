// Fleet overview: totals, a card per cluster, and everything failing right now.
import { Link } from 'react-router';
import { isGone, useClusters, useFailing, useStats } from '../api/queries';
import { AsOfBanner, AsOfControl, PrunedBox, useAsOf } from '../components/AsOf';
import { HEALTHS, type Cluster, type ClusterStats, type HealthCounts } from '../api/types';
import { HealthBar } from '../components/HealthBar';
import { HealthBadge, HealthIcon, KindIcon } from '../components/icons';
import { Empty, ErrorBox, Skeleton } from '../components/ui';
import { HEALTH_LABEL, shortRevision } from '../lib/flux';
import { linkAt } from '../lib/asof';
import { ago, when } from '../lib/time';
import { changedRecently } from '../live/flash';
import { Retry } from '../components/Retry';

function Totals({ counts, workloads, rollUp, asOf }: { counts: HealthCounts; workloads: HealthCounts; rollUp: HealthCounts; asOf?: string }) {
  return (
    <div className="totals">
      <Link className="total" to={linkAt('/resources', asOf)}>
        <span className="total-n">{counts.total}</span>
        <span className="total-l">objects</span>
      </Link>
      {HEALTHS.map((h) => (
        <Link key={h} className={`total h-${h}${counts[h] === 0 ? ' zero' : ''}`} to={linkAt(`/resources?health=${h}`, asOf)}>
          <span className="total-n">
            <HealthIcon health={h} size={14} /> {counts[h]}
          </span>
          <span className="total-l">{HEALTH_LABEL[h].toLowerCase()}</span>
        </Link>
      ))}
      {/* The workloads page and its roll-up filter show the live fleet only. */}
      {!asOf && (
        <>
          <Link className="total" to="/workloads">
            <span className="total-n">{workloads.total}</span>
            <span className="total-l">workloads</span>
          </Link>
          <Link className={`total total-rollup${rollUp.failed === 0 ? ' zero' : ''}`} to="/resources?workloadHealth=failed" data-testid="rollup-total">
            <span className="total-n">
              <HealthIcon health="failed" size={14} /> {rollUp.failed}
            </span>
            <span className="total-l">with failed workloads</span>
          </Link>
        </>
      )}
    </div>
  );
}

function ClusterCard({ s, cluster, asOf }: { s: ClusterStats; cluster?: Cluster; asOf?: string }) {
  // A past moment has no watch status: the state shown is the live one or none.
  const state = asOf ? undefined : (s.status?.state ?? 'connecting');
  return (
    <article className="card cluster-card" aria-label={`cluster ${s.name}`}>
      <header className="card-head">
        <Link to={linkAt(`/resources?cluster=${encodeURIComponent(s.name)}`, asOf)} className="card-title">
          {s.name}
        </Link>
        {state && <span className={`state state-${state}`}>{state}</span>}
      </header>
      {cluster && Object.keys(cluster.labels).length > 0 && (
        <div className="labels">
          {Object.entries(cluster.labels).map(([k, v]) => (
            <span key={k} className="label">
              {k}={v}
            </span>
          ))}
        </div>
      )}
      <HealthBar counts={s.health} />
      <dl className="facts">
        <dt>Objects</dt>
        <dd>
          {s.health.total}
          {s.health.failed + s.health.stalled > 0 && (
            <Link className="bad" to={linkAt(`/resources?cluster=${encodeURIComponent(s.name)}&health=failed&health=stalled`, asOf)}>
              {' '}· {s.health.failed + s.health.stalled} failing
            </Link>
          )}
        </dd>
        {!asOf && (
          <>
            <dt>Workloads</dt>
            <dd>
              {s.workloads.total}
              {s.workloadHealth.failed > 0 && (
                <Link className="bad" data-testid="rollup-failed" to={`/resources?cluster=${encodeURIComponent(s.name)}&workloadHealth=failed`}>
                  {' '}· {s.workloadHealth.failed} owner{s.workloadHealth.failed === 1 ? '' : 's'} with failed workloads
                </Link>
              )}
            </dd>
          </>
        )}
        <dt>Kubernetes</dt>
        <dd>{s.status?.kubernetesVersion ?? '—'}</dd>
        <dt>Flux</dt>
        <dd>{s.status?.fluxVersion ?? '—'}</dd>
        <dt>Last event</dt>
        <dd title={when(s.status?.lastEventAt)}>{ago(s.status?.lastEventAt)}</dd>
      </dl>
      {s.status?.message && (
        <p className="card-msg" title={s.status.message}>
          {s.status.message}
        </p>
      )}
      {s.status && <Retry clusterId={s.id} state={s.status.state} nextRetryAt={s.status.nextRetryAt} />}
    </article>
  );
}

function Head() {
  return (
    <div className="page-head">
      <h1>Fleet overview</h1>
      <Link className="small-link" to="/timeline">
        timeline →
      </Link>
      <AsOfControl />
    </div>
  );
}

export default function Overview() {
  const [asOf] = useAsOf();
  const stats = useStats(asOf);
  const clusters = useClusters();
  const failing = useFailing(asOf);
  const byId = new Map((clusters.data?.items ?? []).map((c) => [c.id, c]));

  if (stats.isError) {
    return (
      <div className="page">
        <Head />
        {isGone(stats.error) ? <PrunedBox error={stats.error} /> : <ErrorBox error={stats.error} retry={() => void stats.refetch()} />}
      </div>
    );
  }
  return (
    <div className="page">
      <Head />
      <AsOfBanner />
      {stats.isPending ? (
        <Skeleton rows={2} className="totals-skel" />
      ) : stats.data.clusters.length === 0 ? (
        <Empty title="No clusters yet">
          Register a cluster to start watching its Flux objects. <Link to="/clusters/new" className="btn btn-primary btn-small">Add a cluster</Link>
        </Empty>
      ) : (
        <>
          <Totals counts={stats.data.health} workloads={stats.data.workloads} rollUp={stats.data.workloadHealth} asOf={asOf} />
          <section aria-labelledby="clusters-h">
            <h2 id="clusters-h" className="section-h">
              Clusters <span className="muted">{stats.data.clusters.length}</span>
            </h2>
            <div className="cards">
              {stats.data.clusters.map((s) => (
                <ClusterCard key={s.id} s={s} cluster={byId.get(s.id)} asOf={asOf} />
              ))}
            </div>
          </section>
        </>
      )}
      <section aria-labelledby="failing-h">
        <h2 id="failing-h" className="section-h">
          {asOf ? 'Failing then' : 'Failing now'}{' '}
          {failing.data && <span className="muted">{failing.data.total ?? failing.data.items.length}</span>}
          {' '}<Link className="small-link" to={linkAt('/resources?health=failed&health=stalled&sort=-updated', asOf)}>all failing →</Link>
        </h2>
        {failing.isPending ? (
          <Skeleton rows={4} />
        ) : failing.isError ? (
          <ErrorBox error={failing.error} retry={() => void failing.refetch()} />
        ) : failing.data.items.length === 0 ? (
          <Empty title="Nothing is failing">Every Flux object across the fleet is ready, progressing or suspended.</Empty>
        ) : (
          <table className="table failing">
            <thead>
              <tr>
                <th>Health</th>
                <th>Object</th>
                <th>Cluster</th>
                <th>Message</th>
                <th>Revision</th>
                <th>Since</th>
              </tr>
            </thead>
            <tbody>
              {failing.data.items.map((r) => (
                <tr key={`${r.id}:${r.seq}`} className={!asOf && changedRecently(r.id) ? 'flash' : undefined}>
                  <td>
                    <HealthBadge health={r.health} />
                  </td>
                  <td className="nowrap">
                    <KindIcon kind={r.kind} /> <Link to={`/resources/${r.id}`}>{r.namespace}/{r.name}</Link>
                    <span className="muted"> {r.kind}</span>
                  </td>
                  <td>{r.cluster}</td>
                  <td className="msg" title={r.message ?? ''}>
                    {r.reason && <span className="reason">{r.reason}</span>} {r.message}
                  </td>
                  <td className="mono">{shortRevision(r.revision)}</td>
                  <td className="nowrap" title={when(r.lastTransitionAt ?? r.updatedAt)}>
                    {ago(r.lastTransitionAt ?? r.updatedAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
