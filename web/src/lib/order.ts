// The server's sort orders (src/store/queries/filter.rs, split.rs), so the live module can put
// a changed row where a fresh REST read would. Text columns other than a name-sort's leading
// name compare by the database's collation, which the browser does not know: a comparison that
// C and linguistic collations could decide differently is reported as unsure, and the caller
// refetches instead of guessing.
import type { Health, Resource, ResourceSort } from '../api/types';

/** Health from worst to best: the order of the `health` and `severity` sorts. */
export const HEALTH_SEVERITY: readonly Health[] = ['failed', 'stalled', 'progressing', 'unknown', 'suspended', 'ready'];

export function healthRank(h: string): number {
  const i = (HEALTH_SEVERITY as readonly string[]).indexOf(h);
  return i < 0 ? HEALTH_SEVERITY.length : i;
}

/** A comparison result, and whether the database is sure to agree with it. */
export interface Cmp {
  c: number;
  sure: boolean;
}

const EQUAL: Cmp = { c: 0, sure: true };

/** Code-point order: PostgreSQL's bytewise (`~<~`, C) order of UTF-8 text. */
export function bytewise(a: string, b: string): number {
  if (a === b) return 0;
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

const ALNUM = /[A-Za-z0-9]/;
const ASCII = /^[\x20-\x7e]*$/;

/**
 * Text as the database's collation orders it: bytewise when that is what C, C.UTF-8 and the
 * linguistic collations (glibc, ICU) all agree on, i.e. when the first difference is between
 * two ASCII letters or digits that compare alike with and without case. Otherwise unsure
 * (punctuation like `-` at the first difference, case-only differences, non-ASCII text).
 */
export function collated(a: string, b: string): Cmp {
  if (a === b) return EQUAL;
  const c = bytewise(a, b);
  if (!ASCII.test(a) || !ASCII.test(b)) return { c, sure: false };
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  if (k === a.length || k === b.length) {
    // One is a prefix of the other: longer is later if what follows has a letter or digit.
    return { c, sure: ALNUM.test((a.length > b.length ? a : b).slice(k)) };
  }
  const x = a[k]!;
  const y = b[k]!;
  if (!ALNUM.test(x) || !ALNUM.test(y)) return { c, sure: false };
  const lx = x.toLowerCase();
  const ly = y.toLowerCase();
  if (lx === ly) return { c, sure: false };
  return { c, sure: (lx < ly ? -1 : 1) === c };
}

/** RFC 3339 → a string that sorts like the instant, to the nanosecond (timestamptz order). */
export function timeKey(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) return iso;
  const seconds = Math.floor(Date.parse(m[1]! + m[3]!) / 1000);
  return `${String(seconds).padStart(12, '0')}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}`;
}

type Key = (a: Resource, b: Resource) => Cmp;

const exact = (f: (a: Resource, b: Resource) => number): Key => (a, b) => ({ c: f(a, b), sure: true });
const text = (field: 'namespace' | 'kind' | 'cluster' | 'name'): Key => (a, b) => collated(a[field], b[field]);
const byName = exact((a, b) => bytewise(a.name, b.name));
const byRank = exact((a, b) => Math.sign(healthRank(a.health) - healthRank(b.health)));
const byTime = exact((a, b) => bytewise(timeKey(a.updatedAt), timeKey(b.updatedAt)));
// uuid order is the order of its 16 bytes, which is the order of the lowercase hex text.
const byId = exact((a, b) => bytewise(a.id.toLowerCase(), b.id.toLowerCase()));
const reverse = (k: Key): Key => (a, b) => {
  const r = k(a, b);
  return { c: -r.c, sure: r.sure };
};

/** Each sort's key columns, ascending (as the server's `SortField::columns`). */
const KEYS: Record<string, Key[]> = {
  name: [byName, text('namespace'), text('kind'), byId],
  namespace: [text('namespace'), text('name'), text('kind'), byId],
  kind: [text('kind'), text('namespace'), text('name'), byId],
  cluster: [text('cluster'), text('namespace'), text('name'), text('kind'), byId],
  updated: [byTime, byId],
  // Split per health, each part by name (bytewise lead, as the `name` sort).
  health: [byRank, byName, text('namespace'), text('kind'), byId],
  // Split per health, each part newest first.
  severity: [byRank, reverse(byTime), reverse(byId)],
};

/** Where `a` goes relative to `b` in `sort`; `sure` is false when the database might disagree. */
export function compareIn(sort: ResourceSort, a: Resource, b: Resource): Cmp {
  const descending = sort.startsWith('-');
  const keys = KEYS[descending ? sort.slice(1) : sort] ?? KEYS.name!;
  let sure = true;
  for (const key of keys) {
    const r = key(a, b);
    sure &&= r.sure;
    if (r.c !== 0) return { c: descending ? -r.c : r.c, sure };
  }
  return { c: 0, sure };
}

/** Whether two versions of one object sit at the same place in this sort. */
export function sameSortKey(sort: ResourceSort, a: Resource, b: Resource): boolean {
  return compareIn(sort, a, b).c === 0;
}
