// The Reliability page's view (window, grouping, filters) in the URL, and how its figures are
// written. Pure: tested in view.test.ts.
import type { ReliabilityWindow } from '../../api/types';

export const WINDOWS: ReliabilityWindow[] = ['24h', '7d', '30d', '90d'];
export const GROUPS = ['cluster', 'kind', 'namespace', 'object'] as const;

export interface ReliabilityView {
  window: ReliabilityWindow;
  /** cluster, kind, namespace, object, or label:KEY. */
  group: string;
  cluster: string[];
  kind: string[];
  namespace: string[];
}

export function parseView(params: URLSearchParams): ReliabilityView {
  const window = params.get('window') as ReliabilityWindow | null;
  const group = params.get('group') ?? '';
  const known = (GROUPS as readonly string[]).includes(group) || /^label:.+/.test(group);
  return {
    window: window && WINDOWS.includes(window) ? window : '7d',
    group: known ? group : 'cluster',
    cluster: params.getAll('cluster'),
    kind: params.getAll('kind'),
    namespace: params.getAll('namespace'),
  };
}

export function viewToParams(v: ReliabilityView): URLSearchParams {
  const p = new URLSearchParams();
  p.set('window', v.window);
  p.set('group', v.group);
  for (const c of v.cluster) p.append('cluster', c);
  for (const k of v.kind) p.append('kind', k);
  for (const n of v.namespace) p.append('namespace', n);
  return p;
}

/** Seconds as the largest two units: "3 d 4 h", "2 h 5 min", "40 s". */
export function duration(seconds: number | null | undefined): string {
  if (seconds == null) return '—';
  const s = Math.round(seconds);
  const units: [string, number][] = [['d', 86_400], ['h', 3_600], ['min', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = s;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || (parts.length === 0 && size === 1)) parts.push(`${n} ${name}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.length ? parts.join(' ') : '0 s';
}

/** A percentage with two decimals, never rounded up to 100 when something was down. */
export function percent(value: number): string {
  const floored = Math.floor(value * 100) / 100;
  return `${floored.toFixed(2)} %`;
}
