// Keeping a loaded resource list equal to what a fresh REST read with the same filter and sort
// would return, one object version at a time (pure; live/cache.ts applies it to the cache).
//
// Invariants:
// - A row is replaced only by a newer version of its object (`seq`), and removed only by a
//   newer delete, so stream versions and REST pages can be applied in any order.
// - A version that no longer matches the filter leaves the list; one that matches enters it at
//   the place the server's order gives it (lib/order.ts).
// - Page i covers the sort range up to its `edge`, the last row as the server sent it (its
//   `continue` cursor). A row placed after the last loaded page's edge is not inserted: the
//   next page fetch, which starts after that edge, will bring it.
// - When the order cannot be decided without the database's collation, the row is placed by
//   byte order and the result says `unsure`: the caller refetches.
import type { InfiniteData } from '@tanstack/react-query';
import type { Resource, ResourceList, ResourceSort } from '../api/types';
import { matches, type ResourceFilter } from '../lib/filters';
import { compareIn, sameSortKey } from '../lib/order';

/** A page as the list query keeps it. */
export interface ListPage extends ResourceList {
  /** The last row as the server sent it, when more pages follow: where this page ends. */
  edge?: Resource | null;
}

export type ListData = InfiniteData<ListPage, unknown>;

/** One object as the client knows it: `resource` null once deleted; `seq` orders versions. */
export interface Version {
  id: string;
  seq: number;
  resource: Resource | null;
}

export interface Applied {
  data: ListData;
  /** The list changed. */
  changed: boolean;
  /** A row was placed by a guess about the database's collation: refetch to be sure. */
  unsure: boolean;
  /**
   * How the number of matching objects changed, when the loaded rows tell: -1 (a loaded row
   * left the filter), 0 (it is still in), null (the object was not loaded: it may have matched
   * before, in a page not loaded yet).
   */
  membership: -1 | 0 | null;
}

/** The page a page ends with, as stored by the list query. */
export function withEdge(page: ResourceList): ListPage {
  return { ...page, edge: page.continue ? (page.items.at(-1) ?? null) : null };
}

function find(pages: ListPage[], id: string): [number, number] | null {
  for (let p = 0; p < pages.length; p++) {
    const i = pages[p]!.items.findIndex((r) => r.id === id);
    if (i >= 0) return [p, i];
  }
  return null;
}

/** Where `r` belongs: [page, index], or null when it lies after every loaded page. */
function place(data: ListData, sort: ResourceSort, r: Resource): { at: [number, number] | null; sure: boolean } {
  let sure = true;
  const pages = data.pages;
  for (let p = 0; p < pages.length; p++) {
    const page = pages[p]!;
    const last = p === pages.length - 1;
    if (page.edge && page.continue) {
      const e = compareIn(sort, r, page.edge);
      sure &&= e.sure;
      if (e.c > 0) {
        if (last) return { at: null, sure };
        continue;
      }
    } else if (!last) {
      continue;
    }
    let i = 0;
    for (; i < page.items.length; i++) {
      const c = compareIn(sort, r, page.items[i]!);
      sure &&= c.sure;
      if (c.c < 0) break;
    }
    return { at: [p, i], sure };
  }
  return { at: null, sure };
}


function withItems(data: ListData, p: number, items: Resource[]): ListData {
  const pages = data.pages.slice();
  pages[p] = { ...pages[p]!, items };
  return { ...data, pages };
}

/** Apply one version of an object to a loaded list (see the module's invariants). */
export function applyVersion(data: ListData, filter: ResourceFilter, v: Version): Applied {
  const unchanged: Applied = { data, changed: false, unsure: false, membership: null };
  const loc = find(data.pages, v.id);
  const old = loc ? data.pages[loc[0]]!.items[loc[1]]! : null;
  if (old && v.seq <= old.seq) return unchanged;
  const next = v.resource && matches(filter, v.resource) ? v.resource : null;
  if (!old && !next) return unchanged;
  let out = data;
  if (loc) {
    const items = out.pages[loc[0]]!.items;
    if (next && sameSortKey(filter.sort, old!, next)) {
      // Same place in the order: replace in place.
      return { data: withItems(out, loc[0], items.map((r, j) => (j === loc[1] ? next : r))), changed: true, unsure: false, membership: 0 };
    }
    out = withItems(out, loc[0], items.filter((_, j) => j !== loc[1]));
  }
  if (!next) return { data: out, changed: true, unsure: false, membership: -1 };
  const membership = old ? 0 : null;
  const { at, sure } = place(out, filter.sort, next);
  if (!at) return { data: out, changed: old !== null, unsure: !sure, membership };
  const items = out.pages[at[0]]!.items.slice();
  items.splice(at[1], 0, next);
  return { data: withItems(out, at[0], items), changed: true, unsure: !sure, membership };
}

/** Apply many versions (what the stream delivered while pages were being read). */
export function applyVersions(data: ListData, filter: ResourceFilter, versions: Iterable<Version>): { data: ListData; changed: boolean; unsure: boolean } {
  let acc = { data, changed: false, unsure: false };
  for (const v of versions) {
    const r = applyVersion(acc.data, filter, v);
    if (r.changed) acc = { data: r.data, changed: true, unsure: acc.unsure || r.unsure };
  }
  return acc;
}

/** Whether a row's place in this sort can change (its keys are not just its identity). */
export function rowsMove(sort: ResourceSort): boolean {
  return ['updated', 'health', 'severity'].includes(sort.replace(/^-/, ''));
}

/**
 * Drop rows read twice: pages are separate reads, so a row that moved in an `updated`,
 * `health` or `severity` order between two of them can be in both. The newest version stays.
 */
export function dedupe(data: ListData): ListData {
  const best = new Map<string, number>();
  let dup = false;
  for (const p of data.pages) {
    for (const r of p.items) {
      const seen = best.get(r.id);
      if (seen !== undefined) dup = true;
      if (seen === undefined || r.seq > seen) best.set(r.id, r.seq);
    }
  }
  if (!dup) return data;
  const kept = new Set<string>();
  const pages = data.pages.map((p) => ({
    ...p,
    items: p.items.filter((r) => {
      if (kept.has(r.id) || r.seq !== best.get(r.id)) return false;
      kept.add(r.id);
      return true;
    }),
  }));
  return { ...data, pages };
}

/** Every loaded row, in order. */
export function rowsOf(data: ListData | undefined): Resource[] {
  return data?.pages.flatMap((p) => p.items) ?? [];
}

/** Whether every matching row is loaded (no further page). */
export function complete(data: ListData): boolean {
  return !data.pages.at(-1)?.continue;
}
