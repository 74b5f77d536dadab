// Registered clusters: state and per-kind watch status; add, edit, delete (typing the name),
// and "sync now".
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, errorMessage } from '../api/client';
import { useClusters } from '../api/queries';
import { useCan } from '../api/session';
import type { Cluster } from '../api/types';
import { KindIcon } from '../components/icons';
import { Dialog, Empty, ErrorBox, Skeleton } from '../components/ui';
import { ago, when } from '../lib/time';
import { keys } from '../live/cache';
import { ClusterForm } from './clusters/ClusterForm';
import { Retry } from '../components/Retry';

/**
 * Watch status per kind, summarised ("14/14 watching"); kinds that are not being watched
 * are named at once, every kind's detail is one click (or a hover) away.
 */
function KindStates({ c }: { c: Cluster }) {
  const kinds = Object.entries(c.status?.kinds ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (kinds.length === 0) return <span className="muted">not watched yet</span>;
  const served = kinds.filter(([, s]) => s.state !== 'absent');
  const watching = served.filter(([, s]) => s.state === 'watching').length;
  const problems = served.filter(([, s]) => s.state !== 'watching');
  const absent = kinds.length - served.length;
  const detail = kinds.map(([kind, s]) => `${kind}${s.version ? ' ' + s.version : ''}: ${s.state}${s.message ? ' — ' + s.message : ''}${s.detail ? '\n  ' + s.detail : ''}`).join('\n');
  return (
    <details className="kinds">
      <summary title={detail}>
        <span className={`kind-state ${problems.length ? 'ks-partial' : 'ks-watching'}`} data-testid="watch-summary">
          {watching}/{served.length} watching
        </span>
        {problems.map(([kind, s]) => (
          <span key={kind} className={`kind-state ks-${s.state}`} title={`${kind}: ${s.state}${s.message ? ' — ' + s.message : ''}${s.detail ? '\n' + s.detail : ''}`}>
            <KindIcon kind={kind} size={12} /> {kind} <em>{s.state}</em>
          </span>
        ))}
        {absent > 0 && <span className="muted small">{absent} not served</span>}
      </summary>
      <ul className="kinds-list small">
        {kinds.map(([kind, s]) => (
          <li key={kind}>
            <KindIcon kind={kind} size={12} /> {kind} <span className="muted">{s.version}</span> · {s.state}
            {s.message && <span className="muted"> — {s.message}</span>}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** "10 min", "90 s", "2 h". */
function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** When the backstop relist ran, or when the first one is due; never a bare dash. */
function backstop(status: NonNullable<Cluster['status']>, interval: number | null | undefined): string {
  if (status.lastResyncAt) return `relisted ${ago(status.lastResyncAt)}`;
  return interval ? `first backstop relist within ${duration(interval)}` : 'no periodic relists';
}

function DeleteDialog({ c, onClose }: { c: Cluster; onClose: () => void }) {
  const qc = useQueryClient();
  const [typed, setTyped] = useState('');
  const del = useMutation({
    mutationFn: () => api<void>(`/api/v1/clusters/${c.id}`, { method: 'DELETE' }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: keys.clusters });
      void qc.invalidateQueries({ queryKey: keys.stats });
      void qc.invalidateQueries({ queryKey: ['resources'] });
      onClose();
    },
  });
  return (
    <Dialog
      open
      onClose={onClose}
      title={`Delete cluster ${c.name}`}
      footer={
        <>
          <button type="button" className="btn btn-ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-danger" disabled={typed !== c.name || del.isPending} onClick={() => del.mutate()}>
            Delete
          </button>
        </>
      }
    >
      <p>
        The orchestrator stops watching <strong>{c.name}</strong> and forgets its objects and credentials. Nothing changes on the cluster itself.
      </p>
      <label className="field">
        <span>
          Type <strong className="mono">{c.name}</strong> to confirm
        </span>
        <input className="input" value={typed} onChange={(e) => setTyped(e.target.value)} autoFocus aria-label="Cluster name to confirm" />
      </label>
      {del.isError && <div className="field-error">{errorMessage(del.error)}</div>}
    </Dialog>
  );
}

function SyncButton({ c }: { c: Cluster }) {
  const sync = useMutation({ mutationFn: () => api<unknown>(`/api/v1/clusters/${c.id}/sync`, { method: 'POST' }) });
  return (
    <button type="button" className="btn btn-small" disabled={sync.isPending} onClick={() => sync.mutate()} title={sync.isError ? errorMessage(sync.error) : 'Relist every kind now'}>
      {sync.isSuccess ? 'Sync requested' : sync.isError ? 'Sync failed' : 'Sync now'}
    </button>
  );
}

export default function Clusters({ mode }: { mode?: 'new' | 'edit' }) {
  const q = useClusters();
  const { id } = useParams();
  const navigate = useNavigate();
  const [deleting, setDeleting] = useState<Cluster | null>(null);
  const editing = mode === 'edit' ? q.data?.items.find((c) => c.id === id) : undefined;
  const can = useCan();

  return (
    <div className="page">
      <div className="page-head">
        <h1>Clusters</h1>
        {can.admin && (
          <Link to="/clusters/new" className="btn btn-primary btn-small">
            Add cluster
          </Link>
        )}
      </div>
      {q.isPending ? (
        <Skeleton rows={4} />
      ) : q.isError ? (
        <ErrorBox error={q.error} retry={() => void q.refetch()} />
      ) : q.data.items.length === 0 ? (
        <Empty title="No clusters registered">
          Add one with a kubeconfig whose user may get, list and watch the Flux API groups (and patch them, for actions).{' '}
          <Link to="/clusters/new">Add a cluster</Link>
        </Empty>
      ) : (
        <table className="table clusters">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>Versions</th>
              <th>Watches</th>
              <th>Last event</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {q.data.items.map((c) => (
              <tr key={c.id} data-testid="cluster-row" data-name={c.name}>
                <td>
                  <Link to={`/resources?cluster=${encodeURIComponent(c.name)}`}>
                    <strong>{c.name}</strong>
                  </Link>
                  <div className="muted small">{c.serverUrl}</div>
                  {c.description && <div className="small">{c.description}</div>}
                  <div className="labels">
                    {Object.entries(c.labels).map(([k, v]) => (
                      <span key={k} className="label">
                        {k}={v}
                      </span>
                    ))}
                    {c.insecure && <span className="label warn">insecure</span>}
                  </div>
                </td>
                <td>
                  <span className={`state state-${c.status?.state ?? 'connecting'}`}>{c.status?.state ?? 'connecting'}</span>
                  {c.status?.message && (
                    // `detail` (the server's own words) reaches admins only, through REST.
                    <div className="small msg-wrap" title={c.status.detail || undefined}>
                      {c.status.message}
                    </div>
                  )}
                  {c.status && <Retry clusterId={c.id} state={c.status.state} nextRetryAt={c.status.nextRetryAt} />}
                </td>
                <td className="nowrap small">
                  <div>k8s {c.status?.kubernetesVersion ?? '—'}</div>
                  <div>flux {c.status?.fluxVersion ?? '—'}</div>
                </td>
                <td>
                  <KindStates c={c} />
                  {c.status && (
                    <div className="muted small">
                      {backstop(c.status, q.data.resyncIntervalSecs)} · drift {c.status.resyncDriftTotal}
                      {c.status.watchedBy && ` · by ${c.status.watchedBy}`}
                    </div>
                  )}
                </td>
                <td className="nowrap" title={when(c.status?.lastEventAt)}>
                  {c.status?.lastEventAt ? ago(c.status.lastEventAt) : <span className="muted">none yet</span>}
                </td>
                <td className="nowrap">
                  {can.act && <SyncButton c={c} />}{' '}
                  {can.admin && (
                    <>
                      <Link className="btn btn-small" to={`/clusters/${c.id}/edit`}>
                        Edit
                      </Link>{' '}
                      <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => setDeleting(c)}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {deleting && <DeleteDialog c={deleting} onClose={() => setDeleting(null)} />}
      <Dialog open={mode === 'new' || (mode === 'edit' && !!editing)} onClose={() => navigate('/clusters')} title={editing ? `Edit ${editing.name}` : 'Add a cluster'} wide>
        {(mode === 'new' || editing) && <ClusterForm key={editing?.id ?? 'new'} cluster={editing} onDone={() => {}} />}
      </Dialog>
    </div>
  );
}
