// Reliability figures (GET /api/v1/reliability): per group, time failed and stalled,
// availability, failures, MTTR and flapping over a window, charted with uPlot, and the worst
// objects linked to their pages. The view is in the URL; figures are read again a few seconds
// after the stream delivers a change (live/cache.ts), since today's part comes from the log.
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api/client';
import type { ReliabilityGroup, ReliabilityObject, ReliabilityReport } from '../api/types';
import { HealthBadge } from '../components/icons';
import { Empty, ErrorBox, Skeleton } from '../components/ui';
import { keys } from '../live/cache';
import { BarChart, type Series } from './reliability/BarChart';
import { GROUPS, WINDOWS, duration, parseView, percent, viewToParams, type ReliabilityView } from './reliability/view';

/** Groups charted (the worst ones). */
const CHARTED = 12;

/** A colour of the theme, for the canvas (which cannot read CSS variables). */
function themeColor(name: string, fallback: string): string {
  const v = typeof getComputedStyle === 'function' ? getComputedStyle(document.documentElement).getPropertyValue(name).trim() : '';
  return v || fallback;
}

function useReport(view: ReliabilityView) {
  return useQuery({
    queryKey: keys.reliability(view),
    queryFn: ({ signal }) => {
      const { window, group, cluster, kind, namespace } = view;
      return api<ReliabilityReport>('/api/v1/reliability', { signal, query: { window, group, cluster, kind, namespace, limit: 100 } });
    },
  });
}

function Pickers({ view, set }: { view: ReliabilityView; set: (v: ReliabilityView) => void }) {
  const label = view.group.startsWith('label:') ? view.group.slice('label:'.length) : '';
  return (
    <div className="tl-range" role="group" aria-label="Window and grouping">
      {WINDOWS.map((w) => (
        <button key={w} type="button" className={`btn btn-small${view.window === w ? ' active' : ''}`} onClick={() => set({ ...view, window: w })}>
          {w}
        </button>
      ))}
      <label className="small">
        by{' '}
        <select className="input input-small" aria-label="Group by" value={label ? 'label' : view.group} onChange={(e) => set({ ...view, group: e.target.value === 'label' ? 'label:env' : e.target.value })}>
          {GROUPS.map((g) => (
            <option key={g} value={g}>
              {g}
            </option>
          ))}
          <option value="label">cluster label</option>
        </select>
      </label>
      {label && (
        <label className="small">
          label key{' '}
          <input className="input input-small" aria-label="Label key" defaultValue={label} onBlur={(e) => e.target.value.trim() && set({ ...view, group: `label:${e.target.value.trim()}` })} />
        </label>
      )}
    </div>
  );
}

function Charts({ groups }: { groups: ReliabilityGroup[] }) {
  const shown = useMemo(() => groups.slice(0, CHARTED), [groups]);
  const categories = useMemo(() => shown.map((g) => g.key ?? '(none)'), [shown]);
  const down: Series[] = useMemo(() => [
    { label: 'stalled', color: themeColor('--stalled', '#d9822b'), values: shown.map((g) => (g.figures.failedSeconds + g.figures.stalledSeconds) / 3600) },
    { label: 'failed', color: themeColor('--failed', '#e96d76'), values: shown.map((g) => g.figures.failedSeconds / 3600) },
  ], [shown]);
  const failures: Series[] = useMemo(() => [
    { label: 'failures', color: themeColor('--failed', '#e96d76'), values: shown.map((g) => g.figures.failures) },
  ], [shown]);
  const flapping: Series[] = useMemo(() => [
    { label: 'health changes per day', color: themeColor('--progressing', '#4c8dd6'), values: shown.map((g) => g.figures.flappingPerDay) },
  ], [shown]);
  return (
    <div className="charts">
      <BarChart title="Time failed or stalled" categories={categories} series={down} unit="hours" />
      <BarChart title="Failures" categories={categories} series={failures} unit="failures" />
      <BarChart title="Flapping" categories={categories} series={flapping} unit="changes / day" />
    </div>
  );
}

function Figures({ f }: { f: ReliabilityGroup['figures'] }) {
  return (
    <>
      <td className="num">{percent(f.availability)}</td>
      <td className="num">{duration(f.failedSeconds)}</td>
      <td className="num">{duration(f.stalledSeconds)}</td>
      <td className="num">{f.failures}</td>
      <td className="num">{duration(f.mttrSeconds)}</td>
      <td className="num">{f.flappingPerDay.toFixed(1)}</td>
    </>
  );
}

const HEAD = ['availability', 'failed', 'stalled', 'failures', 'MTTR', 'changes/day'];

function GroupTable({ groups, group }: { groups: ReliabilityGroup[]; group: string }) {
  return (
    <table className="table" data-testid="reliability-groups">
      <thead>
        <tr>
          <th>{group}</th>
          <th className="num">objects</th>
          {HEAD.map((h) => <th key={h} className="num">{h}</th>)}
        </tr>
      </thead>
      <tbody>
        {groups.map((g) => (
          <tr key={g.key ?? ''}>
            <td>{g.key ?? <span className="muted">(none)</span>}</td>
            <td className="num">{g.objects}</td>
            <Figures f={g.figures} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Offenders({ top }: { top: ReliabilityObject[] }) {
  if (top.length === 0) return <p className="muted">Nothing failed, stalled or changed health in this window.</p>;
  return (
    <table className="table" data-testid="reliability-top">
      <thead>
        <tr>
          <th>object</th>
          <th>now</th>
          {HEAD.map((h) => <th key={h} className="num">{h}</th>)}
        </tr>
      </thead>
      <tbody>
        {top.map((o) => (
          <tr key={o.id}>
            <td>
              <Link to={`/resources/${o.id}`}>{`${o.cluster ?? o.clusterId}/${o.kind}/${o.namespace}/${o.name}`}</Link>
            </td>
            <td>{o.health ? <HealthBadge health={o.health} /> : <span className="muted">deleted</span>}</td>
            <Figures f={o.figures} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export default function Reliability() {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => parseView(params), [params]);
  const report = useReport(view);
  const set = (v: ReliabilityView) => setParams(viewToParams(v), { replace: true });
  const data = report.data;
  return (
    <div className="page">
      <h1>Reliability</h1>
      <Pickers view={view} set={set} />
      {report.error && <ErrorBox error={report.error} retry={() => void report.refetch()} />}
      {report.isPending && <Skeleton rows={6} />}
      {data && !data.complete && (
        <p className="small muted" data-testid="reliability-partial">
          History starts {data.coveredFrom ? new Date(data.coveredFrom).toLocaleString() : 'now'}: the figures cover part of the window.
        </p>
      )}
      {data && data.groups.length === 0 && <Empty title="No objects in this window">Register clusters; figures appear as their objects are watched.</Empty>}
      {data && data.groups.length > 0 && (
        <>
          <p className="small" data-testid="reliability-total">
            Fleet: {percent(data.total.availability)} available, {data.total.failures} failures, MTTR {duration(data.total.mttrSeconds)}, since {new Date(data.from).toLocaleString()}.
          </p>
          <Charts groups={data.groups} />
          <h2>By {view.group}</h2>
          <GroupTable groups={data.groups} group={view.group} />
          <h2>Top offenders</h2>
          <Offenders top={data.top} />
        </>
      )}
    </div>
  );
}
