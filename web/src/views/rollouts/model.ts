// Pure helpers of the Rollouts page: the view in the URL, the text filter, the progress bar.
import type { RolloutCounts, RolloutSource, RolloutState } from '../../api/types';

/** What the page shows, as the URL says. */
export interface RolloutsView {
  /** Cluster-label selectors (`env=prod`), ANDed. */
  selector: string;
  /** Case-insensitive text over the source, its chart, and its consumers' clusters and names. */
  q: string;
  /** Only the sources of this object (a consumer's or a source object's id). */
  resource?: string;
}

export function parseView(p: URLSearchParams): RolloutsView {
  return { selector: p.get('clusterSelector') ?? '', q: p.get('q') ?? '', resource: p.get('resource') ?? undefined };
}

export function viewToParams(v: RolloutsView): URLSearchParams {
  const p = new URLSearchParams();
  if (v.selector) p.set('clusterSelector', v.selector);
  if (v.q) p.set('q', v.q);
  if (v.resource) p.set('resource', v.resource);
  return p;
}

/** Whether the source matches the text: its key, or any consumer's cluster or name. */
export function matchesText(s: RolloutSource, q: string): boolean {
  const needle = q.trim().toLowerCase();
  if (!needle) return true;
  if (s.source.toLowerCase().includes(needle)) return true;
  return s.revisions.some((r) =>
    r.clusters.some((c) => c.cluster.toLowerCase().includes(needle) || c.objects.some((o) => `${o.namespace}/${o.name}`.toLowerCase().includes(needle))),
  );
}

/** States in the bar's order, each with the health colour it borrows. */
export const STATES: { state: RolloutState; colour: string; label: string }[] = [
  { state: 'applied', colour: 'ready', label: 'applied' },
  { state: 'failing', colour: 'failed', label: 'failing' },
  { state: 'pending', colour: 'progressing', label: 'pending' },
  { state: 'superseded', colour: 'unknown', label: 'superseded' },
];

/** The progress bar's segments (non-empty states only) and a sentence for screen readers. */
export function bar(counts: RolloutCounts): { segments: { state: RolloutState; colour: string; n: number }[]; text: string } {
  const segments = STATES.filter((s) => counts[s.state] > 0).map((s) => ({ state: s.state, colour: s.colour, n: counts[s.state] }));
  const text = segments.map((s) => `${s.n} ${s.state}`).join(', ') || 'no consumers';
  return { segments, text };
}

/** "1m 30s", "45s", "2h 5m". */
export function duration(seconds: number | null | undefined): string {
  if (seconds == null) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)}m` : ''}`;
}
