// The detail page's history: every change, newest first, with what it changed; select two
// versions (or "compare with previous") to see them side by side. The diff is in the URL
// (`?tab=history&from=SEQ&to=SEQ`), so it can be linked.
import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useResource, useResourceChanges } from '../../api/queries';
import type { Change, Health } from '../../api/types';
import { HealthBadge, HealthIcon } from '../../components/icons';
import { Empty, ErrorBox, Skeleton } from '../../components/ui';
import { shortRevision } from '../../lib/flux';
import { when } from '../../lib/time';
import { timelineFor } from '../timeline/range';
import { VersionDiffView } from './VersionDiff';

function Transition({ before, after }: { before?: Health | null; after?: Health | null }) {
  if (!after && !before) return null;
  return (
    <span className="transition">
      {before && <HealthIcon health={before} size={12} />}
      {before && after && before !== after && <span aria-hidden="true">→</span>}
      {after && before !== after && <HealthIcon health={after} size={12} />}
    </span>
  );
}

function opLabel(c: Change): string {
  if (c.op === 'event') return `${c.eventType ?? ''} event`;
  if (c.op === 'delete') return 'deleted';
  return c.healthBefore ? 'changed' : 'created';
}

function seqParam(value: string | null): number | undefined {
  const n = value === null ? NaN : Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

function Entry({ c, selected, onSelect, onPrevious }: { c: Change; selected: boolean; onSelect: () => void; onPrevious: () => void }) {
  return (
    <li className={`tl-item tl-${c.healthAfter ?? (c.op === 'delete' ? 'deleted' : 'none')}${selected ? ' tl-selected' : ''}`} data-seq={c.seq}>
      <span className="tl-dot" aria-hidden="true" />
      <div className="tl-head">
        <span className="nowrap" title={when(c.at)}>
          {when(c.at)}
        </span>
        <span className="tl-op">{opLabel(c)}</span>
        {c.op !== 'event' && c.healthBefore && <Transition before={c.healthBefore} after={c.healthAfter} />}
        {c.healthAfter && c.healthBefore !== c.healthAfter && <HealthBadge health={c.healthAfter} />}
        {c.revision && <span className="mono muted">{shortRevision(c.revision)}</span>}
        <span className="muted small">#{c.seq}</span>
        {c.version && (
          <span className="tl-tools">
            <label className="small">
              <input type="checkbox" checked={selected} onChange={onSelect} aria-label={`Select version #${c.seq}`} /> select
            </label>
            {c.healthBefore && (
              <button type="button" className="btn btn-small" onClick={onPrevious} aria-label={`Compare #${c.seq} with the previous version`}>
                Diff
              </button>
            )}
          </span>
        )}
      </div>
      {c.summary && (
        <div className="tl-summary mono" data-testid="change-summary">
          {c.summary}
        </div>
      )}
      {(c.reason || c.message) && (
        <div className="tl-msg">
          {c.reason && <span className="reason">{c.reason}</span>} {c.message}
        </div>
      )}
    </li>
  );
}

export function History({ id }: { id: string }) {
  const q = useResourceChanges(id);
  const resource = useResource(id).data?.resource;
  const changes = useMemo(() => q.data?.pages.flatMap((p) => p.items) ?? [], [q.data]);
  const [params, setParams] = useSearchParams();
  const [picked, setPicked] = useState<number[]>([]);
  const to = seqParam(params.get('to'));
  const from = seqParam(params.get('from'));
  const show = (next: { from?: number; to?: number }) => {
    const p = new URLSearchParams({ tab: 'history' });
    if (next.to !== undefined) p.set('to', String(next.to));
    if (next.from !== undefined) p.set('from', String(next.from));
    setParams(p, { replace: false });
  };
  // Two at most: a third selection replaces the older one.
  const toggle = (seq: number) => setPicked((p) => (p.includes(seq) ? p.filter((s) => s !== seq) : [...p, seq].slice(-2)));

  if (q.isPending) return <Skeleton rows={6} />;
  if (q.isError) return <ErrorBox error={q.error} retry={() => void q.refetch()} />;
  if (changes.length === 0) return <Empty title="No history">Changes appear here as they are recorded.</Empty>;
  const [a, b] = [...picked].sort((x, y) => x - y);
  return (
    <>
      {to !== undefined && <VersionDiffView id={id} from={from} to={to} onClose={() => show({})} />}
      <div className="tl-compare" role="toolbar" aria-label="Compare versions">
        {picked.length === 2 && a !== undefined && b !== undefined ? (
          <button type="button" className="btn btn-small btn-primary" onClick={() => show({ from: a, to: b })}>
            Compare #{a} with #{b}
          </button>
        ) : (
          <span className="muted small">Select two versions to compare them, or use Diff on a change.</span>
        )}
        {resource && (
          <Link className="small-link" to={timelineFor(resource)} data-testid="history-timeline">
            on the fleet timeline →
          </Link>
        )}
      </div>
      <ol className="timeline" data-testid="history">
        {changes.map((c) => (
          <Entry key={c.seq} c={c} selected={picked.includes(c.seq)} onSelect={() => toggle(c.seq)} onPrevious={() => show({ to: c.seq })} />
        ))}
      </ol>
      {q.hasNextPage && (
        <button type="button" className="btn btn-small more" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
          {q.isFetchingNextPage ? 'Loading…' : 'Older changes'}
        </button>
      )}
    </>
  );
}
