// The resources view's filters and sort, kept in the URL so every view is linkable.
import type { Health, ListResourcesQuery, Resource, ResourceSort } from '../api/types';
import { HEALTHS } from '../api/types';
import { kindOf } from './flux';
import { matchesSelectors } from './selector';

export interface ResourceFilter {
  cluster: string[];
  kind: string[];
  namespace: string[];
  health: Health[];
  /** The roll-up of the workloads an object applied (`failed`: one of its Deployments failed). */
  workloadHealth: Health[];
  /** kubectl-style label selectors (`team=payments`, `env in (a,b)`); repeated ones AND together. */
  label: string[];
  q: string;
  sort: ResourceSort;
}

const SORTS: readonly ResourceSort[] = [
  'name', '-name', 'namespace', '-namespace', 'kind', '-kind', 'cluster', '-cluster', 'updated', '-updated', 'health', '-health',
  'severity', '-severity',
];

/** Problems first: worst health, then the most recently changed. */
export const DEFAULT_SORT: ResourceSort = 'severity';

export function parseFilter(params: URLSearchParams): ResourceFilter {
  const sort = params.get('sort') as ResourceSort | null;
  return {
    cluster: params.getAll('cluster').filter(Boolean),
    kind: params.getAll('kind').filter(Boolean),
    namespace: params.getAll('namespace').filter(Boolean),
    health: params.getAll('health').filter((h): h is Health => (HEALTHS as string[]).includes(h)),
    workloadHealth: params.getAll('workloadHealth').filter((h): h is Health => (HEALTHS as string[]).includes(h)),
    label: params.getAll('label').filter(Boolean),
    q: params.get('q') ?? '',
    sort: sort && SORTS.includes(sort) ? sort : DEFAULT_SORT,
  };
}

export function filterToParams(f: ResourceFilter): URLSearchParams {
  const p = new URLSearchParams();
  for (const c of f.cluster) p.append('cluster', c);
  for (const k of f.kind) p.append('kind', k);
  for (const n of f.namespace) p.append('namespace', n);
  for (const h of f.health) p.append('health', h);
  for (const h of f.workloadHealth) p.append('workloadHealth', h);
  for (const l of f.label) p.append('label', l);
  if (f.q) p.set('q', f.q);
  if (f.sort !== DEFAULT_SORT) p.set('sort', f.sort);
  return p;
}

export function toQuery(f: ResourceFilter): ListResourcesQuery {
  return {
    cluster: f.cluster,
    kind: f.kind,
    namespace: f.namespace,
    health: f.health,
    workloadHealth: f.workloadHealth,
    label: f.label,
    q: f.q || undefined,
    sort: f.sort,
  };
}

/** The next sort when a column header is clicked: ascending first, then descending. */
export function toggleSort(current: ResourceSort, column: string): ResourceSort {
  const next = (current === column ? '-' + column : column) as ResourceSort;
  return SORTS.includes(next) ? next : DEFAULT_SORT;
}

/**
 * Whether a resource matches the filter exactly as the server applies it (the live module
 * decides with it whether a changed object belongs in a list): clusters by id or name, kinds
 * by kind, plural or short name, label selectors on the object's labels, `q` as a
 * case-insensitive substring of the name or the message.
 */
export function matches(f: ResourceFilter, r: Resource): boolean {
  // Resource lists hold Flux objects; workloads have their own page.
  if (r.workload) return false;
  if (f.workloadHealth.length && !(r.workloadHealth && f.workloadHealth.includes(r.workloadHealth))) return false;
  if (f.cluster.length && !f.cluster.some((c) => c.trim() === r.clusterId || c.trim() === r.cluster)) return false;
  if (f.kind.length && !f.kind.some((k) => kindOf(k) === r.kind)) return false;
  if (f.namespace.length && !f.namespace.some((n) => n.trim() === r.namespace)) return false;
  if (f.health.length && !f.health.includes(r.health)) return false;
  if (f.label.length && !matchesSelectors(r.labels, f.label)) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (!r.name.toLowerCase().includes(q) && !(r.message ?? '').toLowerCase().includes(q)) return false;
  }
  return true;
}

/** The filter without its health values (what the health chips count under). */
export function withoutHealth(f: ResourceFilter): ResourceFilter {
  return { ...f, health: [] };
}

export function isFiltered(f: ResourceFilter): boolean {
  return f.cluster.length + f.kind.length + f.namespace.length + f.health.length + f.workloadHealth.length + f.label.length > 0 || f.q !== '';
}
