// The fleet timeline: what changed anywhere, newest first, bursts grouped (GET /api/v1/timeline).
// Live: a view that ends now is read again when the stream delivers a change (live/cache.ts),
// so new entries arrive at the top without polling. The view (range, filters) is in the URL.
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, errorMessage } from '../api/client';
import type { Change, TimelineEntry, TimelinePage } from '../api/types';
import { fromLocalInput, toLocalInput } from '../lib/asof';
import { keys } from '../live/cache';
import { PRESETS, isLive, parseView, rangeAt, viewToParams, zoom, type TimelineView } from './timeline/range';

function ChangeLine({ c }: { c: Change }) {
  const what = c.op === 'event' ? `${c.eventType} ${c.reason ?? ''}` : c.op === 'delete' ? 'deleted' : `${c.healthBefore ?? 'new'} → ${c.healthAfter}`;
  return (
    <span>
      <Link to={`/resources/${c.resourceId}`}>
        {c.cluster ?? c.clusterId}/{c.kind}/{c.namespace}/{c.name}
      </Link>{' '}
      <span className={`health health-${c.healthAfter ?? 'unknown'}`}>{what}</span> {c.message ?? ''}
    </span>
  );
}

function Entry({ e }: { e: TimelineEntry }) {
  const when = new Date(e.at).toLocaleString();
  if (e.burst) {
    return (
      <li data-testid="timeline-burst">
        <time>{when}</time>{' '}
        <details>
          <summary>{e.burst.summary}</summary>
          <ul>
            {e.burst.members.map((m) => (
              <li key={m.seq}>
                <ChangeLine c={m} />
              </li>
            ))}
          </ul>
          {e.burst.membersTruncated && <span>and {e.burst.count - e.burst.members.length} more</span>}
        </details>
      </li>
    );
  }
  return e.change ? (
    <li data-testid="timeline-change">
      <time>{when}</time> <ChangeLine c={e.change} />
    </li>
  ) : null;
}

function useTimeline(view: TimelineView) {
  return useQuery({
    queryKey: keys.timeline(view),
    queryFn: ({ signal }) => {
      const { from } = rangeAt(view, new Date());
      const { cluster, kind, namespace, q, to } = view;
      return api<TimelinePage>('/api/v1/timeline', { signal, query: { from, to, cluster, kind, namespace, q, limit: 200 } });
    },
  });
}

/** Presets, the custom range's inputs and zoom; every choice rewrites the URL. */
function RangePicker({ view, set }: { view: TimelineView; set: (v: TimelineView) => void }) {
  const range = rangeAt(view, new Date());
  const zoomBy = (factor: number) => {
    const now = new Date();
    if (isLive(view)) {
      // A live view keeps ending now: only its length changes.
      const len = Math.max(60_000, (now.getTime() - Date.parse(range.from)) * factor);
      set({ ...view, from: new Date(now.getTime() - len).toISOString(), to: undefined });
    } else {
      set({ ...view, ...zoom(range, factor, now) });
    }
  };
  return (
    <div className="tl-range" role="group" aria-label="Time range">
      {PRESETS.map((p) => (
        <button key={p.label} type="button" className={`btn btn-small${!view.from && p.seconds === view.seconds ? ' active' : ''}`} onClick={() => set({ ...view, seconds: p.seconds, from: undefined, to: undefined })}>
          {p.label}
        </button>
      ))}
      <label className="small">
        from <input type="datetime-local" className="input input-small" aria-label="From" value={toLocalInput(range.from)} onChange={(e) => set({ ...view, from: fromLocalInput(e.target.value) ?? range.from })} />
      </label>
      <label className="small">
        to <input type="datetime-local" className="input input-small" aria-label="To" value={view.to ? toLocalInput(view.to) : ''} onChange={(e) => set({ ...view, from: range.from, to: fromLocalInput(e.target.value) })} />
      </label>
      <button type="button" className="btn btn-small" onClick={() => zoomBy(0.5)} title="Half as long, around the middle">
        Zoom in
      </button>
      <button type="button" className="btn btn-small" onClick={() => zoomBy(2)} title="Twice as long, around the middle">
        Zoom out
      </button>
      {isLive(view) ? <span className="small muted" data-testid="timeline-live">live</span> : (
        <button type="button" className="btn btn-small" onClick={() => set({ ...view, to: undefined })}>
          Until now (live)
        </button>
      )}
    </div>
  );
}

function Filters({ view }: { view: TimelineView }) {
  const parts = [...view.cluster.map((c) => `cluster ${c}`), ...view.kind.map((k) => `kind ${k}`), ...view.namespace.map((n) => `namespace ${n}`)];
  if (view.q) parts.push(`“${view.q}”`);
  if (!parts.length) return null;
  return (
    <p className="small muted" data-testid="timeline-filters">
      Only {parts.join(', ')} · <Link to={`/timeline?${viewToParams({ ...view, cluster: [], kind: [], namespace: [], q: '' }).toString()}`}>the whole fleet</Link>
    </p>
  );
}

export default function Timeline() {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => parseView(params), [params]);
  const page = useTimeline(view);
  const set = (v: TimelineView) => setParams(viewToParams(v), { replace: true });
  return (
    <div className="page">
      <h1>Timeline</h1>
      <RangePicker view={view} set={set} />
      <Filters view={view} />
      {page.error && <p role="alert">{errorMessage(page.error)}</p>}
      {page.data?.historyPruned && <p>History before {page.data.oldestRetained} is no longer kept; showing what exists.</p>}
      {page.data && page.data.items.length === 0 && <p className="muted">Nothing changed in this range.</p>}
      <ul className="timeline">{page.data?.items.map((e) => <Entry key={`${e.type}-${e.at}-${e.change?.seq ?? e.burst?.group}`} e={e} />)}</ul>
    </div>
  );
}
