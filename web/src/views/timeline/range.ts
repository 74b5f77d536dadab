// The Timeline's view, kept in the URL: a preset ("the last hour", ending now and so live) or
// a custom range (`from`/`to`), plus the object filters the API takes; and zooming.
export const PRESETS = [
  { label: '15m', seconds: 15 * 60 },
  { label: '1h', seconds: 3600 },
  { label: '6h', seconds: 6 * 3600 },
  { label: '24h', seconds: 24 * 3600 },
  { label: '7d', seconds: 7 * 24 * 3600 },
] as const;

/** The `from` of a preset ending at `now`, as the API takes it (RFC 3339). */
export function fromFor(seconds: number, now: Date): string {
  return new Date(now.getTime() - seconds * 1000).toISOString();
}

export interface TimelineView {
  /** A preset's length in seconds, when no custom range is set. */
  seconds: number;
  /** A custom range (RFC 3339); `to` unset means "until now" (live). */
  from?: string;
  to?: string;
  cluster: string[];
  kind: string[];
  namespace: string[];
  q: string;
}

const DEFAULT_SECONDS = 3600;

function time(raw: string | null): string | undefined {
  if (!raw) return undefined;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

export function parseView(p: URLSearchParams): TimelineView {
  const preset = PRESETS.find((x) => x.label === p.get('range'));
  return {
    seconds: preset?.seconds ?? DEFAULT_SECONDS,
    from: time(p.get('from')),
    to: time(p.get('to')),
    cluster: p.getAll('cluster').filter(Boolean),
    kind: p.getAll('kind').filter(Boolean),
    namespace: p.getAll('namespace').filter(Boolean),
    q: p.get('q') ?? '',
  };
}

export function viewToParams(v: TimelineView): URLSearchParams {
  const p = new URLSearchParams();
  if (v.from) p.set('from', v.from);
  if (v.to) p.set('to', v.to);
  const preset = PRESETS.find((x) => x.seconds === v.seconds);
  if (!v.from && preset && v.seconds !== DEFAULT_SECONDS) p.set('range', preset.label);
  for (const c of v.cluster) p.append('cluster', c);
  for (const k of v.kind) p.append('kind', k);
  for (const n of v.namespace) p.append('namespace', n);
  if (v.q) p.set('q', v.q);
  return p;
}

/** The range the view shows at `now`: a preset's or the custom one (to defaults to now). */
export function rangeAt(v: TimelineView, now: Date): { from: string; to: string } {
  return { from: v.from ?? fromFor(v.seconds, now), to: v.to ?? now.toISOString() };
}

/** Whether the view ends now, so new entries belong at its top. */
export function isLive(v: TimelineView): boolean {
  return !v.to;
}

/**
 * The range `factor` times as long around the same middle (0.5 narrows, 2 widens), never
 * reaching past `now`: a range that would is moved back to end at `now`.
 */
export function zoom(range: { from: string; to: string }, factor: number, now: Date): { from: string; to: string } {
  const a = Date.parse(range.from);
  const b = Date.parse(range.to);
  const half = Math.max(30_000, ((b - a) * factor) / 2);
  const mid = (a + b) / 2;
  const end = Math.min(mid + half, now.getTime());
  return { from: new Date(end - 2 * half).toISOString(), to: new Date(end).toISOString() };
}

/** The Timeline filtered to one object (its cluster, kind and namespace; its name as text). */
export function timelineFor(r: { cluster?: string | null; clusterId: string; kind: string; namespace: string; name: string }): string {
  const v: TimelineView = { seconds: 24 * 3600, cluster: [r.cluster ?? r.clusterId], kind: [r.kind], namespace: [r.namespace], q: r.name };
  return `/timeline?${viewToParams(v).toString()}`;
}
