// Bulk reconcile / suspend / resume of the selected objects: confirm, then per-item progress
// until each one is handled (or refused, with the server's message).
import { useState } from 'react';
import { Link } from 'react-router';
import type { Action, Resource } from '../../api/types';
import { HealthIcon, Spinner } from '../../components/icons';
import { Dialog } from '../../components/ui';
import { runMany, tracker, type TrackedAction } from '../../live/actions';
import { useTrackedActions } from '../../live/LiveProvider';

const VERB: Record<'reconcile' | 'suspend' | 'resume', string> = { reconcile: 'Reconcile', suspend: 'Suspend', resume: 'Resume' };

export function PhaseText({ t }: { t: TrackedAction | undefined }) {
  if (!t) return <span className="muted">queued</span>;
  switch (t.phase) {
    case 'sending':
      return (
        <span className="phase">
          <Spinner label="sending" /> sending
        </span>
      );
    case 'waiting':
      return (
        <span className="phase">
          <Spinner label="waiting" /> waiting for the controller
        </span>
      );
    case 'handled':
      return (
        <span className="phase ok">
          <HealthIcon health="ready" size={12} /> handled
        </span>
      );
    case 'failed':
      return (
        <span className="phase bad">
          <HealthIcon health="failed" size={12} /> {t.error}
        </span>
      );
  }
}

interface Props {
  selected: Resource[];
  onClear: () => void;
  /**
   * The dialog opened or closed. The rows it acts on may leave the table meanwhile (a resumed
   * row leaves a Suspended list), so the table keeps this bar while the dialog is open.
   */
  onOpenChange?: (open: boolean) => void;
}

export function BulkActions({ selected, onClear, onOpenChange }: Props) {
  const [action, setAction] = useState<'reconcile' | 'suspend' | 'resume' | null>(null);
  const [items, setItems] = useState<Resource[]>([]);
  const [reason, setReason] = useState('');
  const [started, setStarted] = useState(false);
  const tracked = useTrackedActions();

  const open = (a: 'reconcile' | 'suspend' | 'resume') => {
    setAction(a);
    onOpenChange?.(true);
    setItems(selected);
    setStarted(false);
    setReason('');
  };
  const close = () => {
    if (started) tracker.clear(items.map((r) => r.id));
    setAction(null);
    onOpenChange?.(false);
    if (started) onClear();
  };
  const go = () => {
    if (!action) return;
    tracker.clear(items.map((r) => r.id));
    setStarted(true);
    void runMany(
      items.map((r) => ({ id: r.id, label: `${r.kind}/${r.namespace}/${r.name}` })),
      action as Action,
      { reason: action === 'suspend' ? reason : undefined },
    );
  };
  const done = items.filter((r) => ['handled', 'failed'].includes(tracked.get(r.id)?.phase ?? '')).length;
  const failed = items.filter((r) => tracked.get(r.id)?.phase === 'failed').length;

  return (
    <div className="bulkbar" role="region" aria-label="Bulk actions">
      <span>
        <strong>{selected.length}</strong> selected
      </span>
      {(['reconcile', 'suspend', 'resume'] as const).map((a) => (
        <button key={a} type="button" className="btn btn-small" onClick={() => open(a)}>
          {VERB[a]}
        </button>
      ))}
      <button type="button" className="btn btn-ghost btn-small" onClick={onClear}>
        Clear selection
      </button>
      <Dialog
        open={action !== null}
        onClose={close}
        wide
        title={action ? `${VERB[action]} ${items.length} object${items.length === 1 ? '' : 's'}` : ''}
        footer={
          started ? (
            <>
              <span className="muted">
                {done} of {items.length} done{failed > 0 && `, ${failed} failed`}
              </span>
              <button type="button" className="btn" onClick={close}>
                Close
              </button>
            </>
          ) : (
            <>
              <button type="button" className="btn btn-ghost" onClick={close}>
                Cancel
              </button>
              <button type="button" className={action === 'suspend' ? 'btn btn-danger' : 'btn btn-primary'} onClick={go}>
                {action && VERB[action]} {items.length}
              </button>
            </>
          )
        }
      >
        {action === 'suspend' && !started && (
          <label className="field">
            <span>Reason (stored on each object, shown as its message)</span>
            <input className="input" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={512} autoFocus placeholder="e.g. maintenance window" />
          </label>
        )}
        <ul className="bulk-list">
          {items.map((r) => (
            <li key={r.id} data-testid="bulk-item">
              <Link to={`/resources/${r.id}`}>
                {r.kind}/{r.namespace}/{r.name}
              </Link>{' '}
              <span className="muted">{r.cluster}</span>
              <span className="bulk-phase">{started ? <PhaseText t={tracked.get(r.id)} /> : null}</span>
            </li>
          ))}
        </ul>
      </Dialog>
    </div>
  );
}
