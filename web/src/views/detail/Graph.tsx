// The Graph and Impact tabs (a chunk of their own: dagre loads only here). Graph: a
// left-to-right tree like Argo CD's — sources, the object, what it applied — coloured by health,
// recoloured live (the live cache patches the graph query), leaves of one kind collapsed into a
// group until clicked, pan (drag), zoom (wheel or buttons), fit to screen, click-through.
// Impact: everything downstream, by cluster, including the same source on other clusters.
import { useCallback, useEffect, useMemo, useRef, useState, type PointerEvent as ReactPointerEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useGraph, useImpact } from '../../api/queries';
import type { GraphDirection, GraphNode } from '../../api/types';
import { HealthIcon, KindIcon } from '../../components/icons';
import { Empty, ErrorBox, Skeleton } from '../../components/ui';
import { collapse, fit, groupLabel, layout, NODE_H, NODE_W, type Layout, type VNode } from '../../lib/graph';
import { HEALTH_LABEL, shortRevision } from '../../lib/flux';

type View = { k: number; x: number; y: number };

function nodeTitle(n: GraphNode): string {
  const where = n.namespace ? `${n.namespace}/${n.name}` : n.name;
  const state = n.stored ? HEALTH_LABEL[n.health] : n.watched ? 'not seen' : 'not watched';
  return `${n.kind} ${where} — ${state}${n.message ? `: ${n.message}` : ''}`;
}

function Box({ v, root, onOpen }: { v: VNode; root: string; onOpen: (v: VNode) => void }) {
  const n = v.node;
  const kind = n?.kind ?? v.group!.kind;
  const label = n ? n.name : groupLabel(v.group!.kind, v.group!.members.length);
  const sub = n ? (n.stored ? `${n.kind}${n.revision ? ' · ' + shortRevision(n.revision) : ''}` : n.watched ? `${n.kind} · not seen` : `${n.kind} · not watched`) : 'click to expand';
  const cls = `gnode h-${v.health}${n?.id === root ? ' groot' : ''}${n && !n.stored ? ' gnode-off' : ''}${v.group ? ' ggroup' : ''}`;
  return (
    <g
      className={cls}
      transform={`translate(${v.x},${v.y})`}
      data-testid="graph-node"
      data-name={n?.name ?? v.key}
      data-kind={kind}
      data-health={v.health}
      role="button"
      tabIndex={0}
      aria-label={n ? nodeTitle(n) : label}
      onClick={() => onOpen(v)}
      onKeyDown={(e) => (e.key === 'Enter' ? onOpen(v) : undefined)}
    >
      <title>{n ? nodeTitle(n) : label}</title>
      <rect width={NODE_W} height={NODE_H} rx={5} className="gbox" />
      <rect width={4} height={NODE_H} rx={2} className="gbar" />
      <svg x={10} y={7} width={14} height={14} overflow="visible">
        <KindIcon kind={kind} />
      </svg>
      <svg x={NODE_W - 22} y={7} width={14} height={14} overflow="visible">
        <HealthIcon health={v.health} />
      </svg>
      <text x={30} y={18} className="gname">
        {label.length > 26 ? label.slice(0, 25) + '…' : label}
      </text>
      <text x={10} y={36} className="gsub">
        {sub.length > 34 ? sub.slice(0, 33) + '…' : sub}
      </text>
    </g>
  );
}

function path(points: { x: number; y: number }[]): string {
  return points.map((p, i) => `${i ? 'L' : 'M'}${p.x},${p.y}`).join(' ');
}

/** Pan and zoom state of a viewport: drag to pan, wheel to zoom around the pointer. */
function usePanZoom(l: Layout | undefined) {
  const ref = useRef<HTMLDivElement>(null);
  const [view, setView] = useState<View>({ k: 1, x: 0, y: 0 });
  const drag = useRef<{ x: number; y: number } | null>(null);
  const fitNow = useCallback(() => {
    const el = ref.current;
    if (l && el) setView(fit(l, el.clientWidth, el.clientHeight));
  }, [l]);
  useEffect(fitNow, [fitNow]);
  const zoom = (factor: number, cx?: number, cy?: number) =>
    setView((v) => {
      const k = Math.min(2, Math.max(0.1, v.k * factor));
      const el = ref.current;
      const px = cx ?? (el ? el.clientWidth / 2 : 0);
      const py = cy ?? (el ? el.clientHeight / 2 : 0);
      return { k, x: px - ((px - v.x) * k) / v.k, y: py - ((py - v.y) * k) / v.k };
    });
  const handlers = {
    onWheel: (e: React.WheelEvent) => {
      const r = ref.current!.getBoundingClientRect();
      zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
    },
    onPointerDown: (e: ReactPointerEvent) => {
      if ((e.target as Element).closest('.gnode')) return;
      drag.current = { x: e.clientX, y: e.clientY };
    },
    onPointerMove: (e: ReactPointerEvent) => {
      const d = drag.current;
      if (!d) return;
      drag.current = { x: e.clientX, y: e.clientY };
      setView((v) => ({ ...v, x: v.x + e.clientX - d.x, y: v.y + e.clientY - d.y }));
    },
    onPointerUp: () => (drag.current = null),
    onPointerLeave: () => (drag.current = null),
  };
  return { ref, view, fitNow, zoom, handlers };
}

export function GraphTab({ id }: { id: string }) {
  const [direction, setDirection] = useState<GraphDirection>('both');
  const [depth, setDepth] = useState(3);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const q = useGraph(id, depth, direction);
  const navigate = useNavigate();
  const l = useMemo(() => (q.data ? layout(collapse(q.data.nodes, q.data.edges, id, expanded)) : undefined), [q.data, id, expanded]);
  const { ref, view, fitNow, zoom, handlers } = usePanZoom(l);
  const open = (v: VNode) => {
    if (v.group) setExpanded((s) => new Set([...s, v.key]));
    else if (v.node?.stored && v.node.id !== id) navigate(`/resources/${v.node.id}?tab=graph`);
  };
  return (
    <div className="graph-tab">
      <div className="graph-bar">
        <label>
          Show{' '}
          <select className="input" value={direction} onChange={(e) => setDirection(e.target.value as GraphDirection)} aria-label="Direction">
            <option value="both">sources and children</option>
            <option value="down">children and dependants</option>
            <option value="up">sources and parents</option>
          </select>
        </label>
        <label>
          Depth{' '}
          <select className="input" value={depth} onChange={(e) => setDepth(Number(e.target.value))} aria-label="Depth">
            {Array.from({ length: 10 }, (_, i) => i + 1).map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </label>
        <button type="button" className="btn btn-small" onClick={fitNow}>
          Fit
        </button>
        <button type="button" className="btn btn-small" onClick={() => zoom(1.25)} aria-label="Zoom in">
          +
        </button>
        <button type="button" className="btn btn-small" onClick={() => zoom(0.8)} aria-label="Zoom out">
          −
        </button>
        {expanded.size > 0 && (
          <button type="button" className="btn btn-small" onClick={() => setExpanded(new Set())}>
            Collapse groups
          </button>
        )}
        {q.data && (
          <span className="muted small">
            {q.data.nodes.length} objects{q.data.truncated && <strong className="bad"> · truncated at 1,000</strong>}
          </span>
        )}
      </div>
      {q.isPending && <Skeleton rows={6} />}
      {q.isError && <ErrorBox error={q.error} retry={() => void q.refetch()} />}
      {l && (
        <div className="graph-view" ref={ref} {...handlers} data-testid="graph">
          <svg width="100%" height="100%" role="img" aria-label="Object graph">
            <defs>
              <marker id="garrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">
                <path d="M0,0L8,4L0,8z" className="garrow" />
              </marker>
            </defs>
            <g transform={`translate(${view.x},${view.y}) scale(${view.k})`}>
              {l.edges.map((e) => (
                <path key={e.key} d={path(e.points)} className={`gedge ge-${e.type}`} markerEnd="url(#garrow)">
                  <title>{e.type}</title>
                </path>
              ))}
              {l.nodes.map((v) => (
                <Box key={v.key} v={v} root={id} onOpen={open} />
              ))}
            </g>
          </svg>
        </div>
      )}
    </div>
  );
}

export function ImpactTab({ id }: { id: string }) {
  const q = useImpact(id);
  if (q.isPending) return <Skeleton rows={6} />;
  if (q.isError) return <ErrorBox error={q.error} retry={() => void q.refetch()} />;
  const total = q.data.clusters.reduce((n, c) => n + c.nodes.length, 0);
  if (total <= 1) return <Empty title="Nothing downstream">No object consumes, depends on or was applied by this one.</Empty>;
  return (
    <div className="impact" data-testid="impact">
      <p className="muted">
        What fails when this object fails: {total - 1} objects on {q.data.clusters.length} cluster{q.data.clusters.length === 1 ? '' : 's'}
        {q.data.truncated && <strong className="bad"> (truncated at 1,000)</strong>}.
      </p>
      {q.data.clusters.map((c) => (
        <section key={c.clusterId} data-testid="impact-cluster" data-cluster={c.cluster}>
          <h3 className="section-h">
            {c.cluster} <span className="count">{c.nodes.length}</span>
          </h3>
          <table className="table">
            <tbody>
              {c.nodes.map((n) => (
                <tr key={n.id}>
                  <td className="nowrap">{n.stored ? <HealthIcon health={n.health} /> : <span className="muted small">{n.watched ? 'not seen' : 'not watched'}</span>}</td>
                  <td className="nowrap">
                    <KindIcon kind={n.kind} /> {n.kind}
                  </td>
                  <td>{n.stored ? <Link to={`/resources/${n.id}`}>{n.namespace ? `${n.namespace}/${n.name}` : n.name}</Link> : n.namespace ? `${n.namespace}/${n.name}` : n.name}</td>
                  <td className="muted">{n.depth === 0 ? (n.id === id ? 'this object' : 'same source') : `${n.depth} step${n.depth === 1 ? '' : 's'} away`}</td>
                  <td className="msg-wrap muted">{n.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}
