// The fleet timeline: what changed anywhere, newest first, bursts grouped (GET /api/v1/timeline).
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, errorMessage } from '../api/client';
import type { Change, TimelineEntry, TimelinePage } from '../api/types';
import { PRESETS, fromFor } from './timeline/range';

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

export default function Timeline() {
  const [seconds, setSeconds] = useState<number>(3600);
  const page = useQuery({
    queryKey: ['timeline', seconds],
    queryFn: ({ signal }) => api<TimelinePage>('/api/v1/timeline', { signal, query: { from: fromFor(seconds, new Date()), limit: 200 } }),
    // New entries arrive at the top: the page is read again every few seconds.
    refetchInterval: 5000,
  });
  return (
    <div className="page">
      <h1>Timeline</h1>
      <div role="group" aria-label="Time range">
        {PRESETS.map((p) => (
          <button key={p.label} type="button" className={`btn btn-small${p.seconds === seconds ? ' active' : ''}`} onClick={() => setSeconds(p.seconds)}>
            {p.label}
          </button>
        ))}
      </div>
      {page.error && <p role="alert">{errorMessage(page.error)}</p>}
      {page.data?.historyPruned && <p>History before {page.data.oldestRetained} is no longer kept; showing what exists.</p>}
      <ul className="timeline">{page.data?.items.map((e) => <Entry key={`${e.type}-${e.at}-${e.change?.seq ?? e.burst?.group}`} e={e} />)}</ul>
    </div>
  );
}
