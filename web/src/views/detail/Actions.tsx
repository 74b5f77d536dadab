// The detail page's actions, each confirmed, with live progress until the controller handled it.
import { useState } from 'react';
import { useCan } from '../../api/session';
import type { Action, Resource } from '../../api/types';
import { Dialog } from '../../components/ui';
import { canReconcile, isHelmRelease } from '../../lib/flux';
import { when } from '../../lib/time';
import { tracker } from '../../live/actions';
import { useTrackedActions } from '../../live/LiveProvider';
import { PhaseText } from '../resources/BulkActions';

interface Pending {
  action: Action;
  withSource?: boolean;
}

const TEXT: Record<Action, { title: string; body: string; button: string }> = {
  reconcile: { title: 'Reconcile', body: 'Ask the controller to reconcile this object now (flux reconcile).', button: 'Reconcile' },
  suspend: { title: 'Suspend', body: 'The controller stops reconciling this object until it is resumed (flux suspend).', button: 'Suspend' },
  resume: { title: 'Resume', body: 'The controller reconciles this object again, starting now (flux resume).', button: 'Resume' },
  force: { title: 'Force', body: 'Force a one-off Helm install or upgrade, even without changes.', button: 'Force' },
  reset: { title: 'Reset', body: 'Reset the failure counters so the controller retries remediation.', button: 'Reset' },
};

export function Actions({ r }: { r: Resource }) {
  const [pending, setPending] = useState<Pending | null>(null);
  const [reason, setReason] = useState('');
  const tracked = useTrackedActions().get(r.id);
  const busy = tracked?.phase === 'sending' || tracked?.phase === 'waiting';
  const label = `${r.kind}/${r.namespace}/${r.name}`;

  const confirm = () => {
    if (!pending) return;
    void tracker.run(r.id, label, pending.action, { withSource: pending.withSource, reason });
    setPending(null);
  };
  const ask = (p: Pending) => {
    setReason('');
    setPending(p);
  };

  const can = useCan();
  if (!can.act) {
    return <p className="muted small">Your role may view this object but not act on it.</p>;
  }
  if (!canReconcile(r.kind)) {
    return <p className="muted small">A static {r.kind} is not reconciled by a controller: no actions.</p>;
  }
  return (
    <div className="actions" aria-label="Actions">
      <button type="button" className="btn btn-primary" disabled={busy || r.suspended} onClick={() => ask({ action: 'reconcile' })}>
        Reconcile
      </button>
      {r.sourceRef && (
        <button type="button" className="btn" disabled={busy || r.suspended} onClick={() => ask({ action: 'reconcile', withSource: true })}>
          Reconcile with source
        </button>
      )}
      {r.suspended ? (
        <button type="button" className="btn" disabled={busy} onClick={() => ask({ action: 'resume' })}>
          Resume
        </button>
      ) : (
        <button type="button" className="btn" disabled={busy} onClick={() => ask({ action: 'suspend' })}>
          Suspend
        </button>
      )}
      {isHelmRelease(r) && (
        <>
          <button type="button" className="btn" disabled={busy || r.suspended} onClick={() => ask({ action: 'force' })}>
            Force
          </button>
          <button type="button" className="btn" disabled={busy || r.suspended} onClick={() => ask({ action: 'reset' })}>
            Reset
          </button>
        </>
      )}
      {tracked && (
        <span className="action-progress" data-testid="action-progress" data-phase={tracked.phase}>
          {TEXT[tracked.action].title}: <PhaseText t={tracked} />
          {tracked.phase === 'handled' && tracked.doneAt && (
            <span className="muted"> at {when(new Date(tracked.doneAt).toISOString())}</span>
          )}
        </span>
      )}
      <Dialog
        open={pending !== null}
        onClose={() => setPending(null)}
        title={pending ? `${TEXT[pending.action].title}${pending.withSource ? ' with source' : ''}: ${r.name}` : ''}
        footer={
          <>
            <button type="button" className="btn btn-ghost" onClick={() => setPending(null)}>
              Cancel
            </button>
            <button type="button" className={pending?.action === 'suspend' ? 'btn btn-danger' : 'btn btn-primary'} onClick={confirm}>
              {pending && TEXT[pending.action].button}
            </button>
          </>
        }
      >
        {pending && (
          <>
            <p>
              {TEXT[pending.action].body}
              {pending.withSource && r.sourceRef && ` Its source ${r.sourceRef.kind}/${r.sourceRef.name} is reconciled first.`}
            </p>
            <p className="muted small">
              {label} on {r.cluster}
            </p>
            {pending.action === 'suspend' && (
              <label className="field">
                <span>Reason (stored on the object, shown as its message)</span>
                <input
                  className="input"
                  name="reason"
                  value={reason}
                  onChange={(e) => setReason(e.target.value)}
                  maxLength={512}
                  placeholder="e.g. incident INC-123: hold deploys"
                  autoFocus
                  onKeyDown={(e) => e.key === 'Enter' && confirm()}
                />
              </label>
            )}
          </>
        )}
      </Dialog>
    </div>
  );
}
