// Kubernetes label selectors as the server reads them (src/store/queries/selector.rs), so the
// live module can tell whether a changed object still matches a list's `label` filter.

export type Requirement =
  | { op: 'eq' | 'ne'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'absent'; key: string };

/** Split on the commas that are not inside a `( … )` value set; null when unbalanced. */
function splitTerms(text: string): string[] | null {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') {
      if (depth !== 0) return null;
      depth = 1;
    } else if (ch === ')') {
      if (depth !== 1) return null;
      depth = 0;
    } else if (ch === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) return null;
  terms.push(text.slice(start));
  return terms;
}

function parseTerm(raw: string): Requirement | null {
  const term = raw.trim();
  if (!term) return null;
  if (term.startsWith('!')) return { op: 'absent', key: term.slice(1).trim() };
  const ne = term.indexOf('!=');
  if (ne >= 0) return { op: 'ne', key: term.slice(0, ne).trim(), value: term.slice(ne + 2).trim() };
  const eq2 = term.indexOf('==');
  const eq = eq2 >= 0 ? eq2 : term.indexOf('=');
  if (eq >= 0) return { op: 'eq', key: term.slice(0, eq).trim(), value: term.slice(eq + (eq2 >= 0 ? 2 : 1)).trim() };
  if (term.includes('(')) {
    const m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
    if (!m) return null;
    return { op: m[2] === 'in' ? 'in' : 'notin', key: m[1]!, values: m[3]!.split(',').map((v) => v.trim()) };
  }
  return { op: 'exists', key: term };
}

/** The requirements of one selector (all must hold), or null when the server would refuse it. */
export function parseSelector(text: string): Requirement[] | null {
  const terms = splitTerms(text);
  if (!terms) return null;
  const out: Requirement[] = [];
  for (const t of terms) {
    const r = parseTerm(t);
    if (!r || !r.key) return null;
    out.push(r);
  }
  return out;
}

/** Whether `labels` satisfy one requirement, as the server's jsonb conditions decide it. */
export function satisfies(labels: Readonly<Record<string, string>>, r: Requirement): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.op) {
    case 'eq':
      return value === r.value;
    case 'ne':
      return value !== r.value;
    case 'in':
      return value !== undefined && r.values.includes(value);
    case 'notin':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return has;
    case 'absent':
      return !has;
  }
}

/** Whether `labels` match every selector (repeated `label` parameters AND together). */
export function matchesSelectors(labels: Readonly<Record<string, string>>, selectors: readonly string[]): boolean {
  for (const s of selectors) {
    const reqs = parseSelector(s);
    if (!reqs || !reqs.every((r) => satisfies(labels, r))) return false;
  }
  return true;
}
