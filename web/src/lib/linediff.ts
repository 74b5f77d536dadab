// Side-by-side line diff for the version diff view: a longest-common-subsequence over lines
// (common prefix and suffix trimmed first, so the table stays small for the usual few-line
// change), paired into rows, long unchanged runs folded. No dependency: ~2 kB instead of a
// diff library.

export type RowKind = 'same' | 'changed' | 'removed' | 'added' | 'fold';

export interface Side {
  /** 1-based line number. */
  n: number;
  text: string;
}

export interface Row {
  kind: RowKind;
  left?: Side;
  right?: Side;
  /** For `fold`: how many unchanged lines are hidden. */
  hidden?: number;
}

/** Above this many cells the middle is compared as one replaced block (rare: huge rewrites). */
const MAX_CELLS = 4_000_000;

type Op = { op: 'same' | 'del' | 'ins'; a?: number; b?: number };

function lcsOps(a: string[], b: string[], a0: number, b0: number): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    return [...a.map((_, i): Op => ({ op: 'del', a: a0 + i })), ...b.map((_, j): Op => ({ op: 'ins', b: b0 + j }))];
  }
  // table[i][j]: LCS length of a[i..] and b[j..], row-major in one typed array.
  const w = m + 1;
  const table = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * w + j] = a[i] === b[j] ? table[(i + 1) * w + j + 1]! + 1 : Math.max(table[(i + 1) * w + j]!, table[i * w + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ op: 'same', a: a0 + i++, b: b0 + j++ });
    } else if (table[(i + 1) * w + j]! >= table[i * w + j + 1]!) {
      ops.push({ op: 'del', a: a0 + i++ });
    } else {
      ops.push({ op: 'ins', b: b0 + j++ });
    }
  }
  while (i < n) ops.push({ op: 'del', a: a0 + i++ });
  while (j < m) ops.push({ op: 'ins', b: b0 + j++ });
  return ops;
}

function editScript(a: string[], b: string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: Op[] = [];
  for (let i = 0; i < start; i++) ops.push({ op: 'same', a: i, b: i });
  ops.push(...lcsOps(a.slice(start, endA), b.slice(start, endB), start, start));
  for (let k = 0; endA + k < a.length; k++) ops.push({ op: 'same', a: endA + k, b: endB + k });
  return ops;
}

/** Side-by-side rows: removed and added lines of one block are paired as `changed`. */
export function sideBySide(a: string[], b: string[]): Row[] {
  const rows: Row[] = [];
  const ops = editScript(a, b);
  const side = (lines: string[], k: number): Side => ({ n: k + 1, text: lines[k]! });
  for (let k = 0; k < ops.length; ) {
    const op = ops[k]!;
    if (op.op === 'same') {
      rows.push({ kind: 'same', left: side(a, op.a!), right: side(b, op.b!) });
      k++;
      continue;
    }
    const dels: number[] = [];
    const inss: number[] = [];
    while (k < ops.length && ops[k]!.op !== 'same') {
      const o = ops[k++]!;
      if (o.op === 'del') dels.push(o.a!);
      else inss.push(o.b!);
    }
    for (let i = 0; i < Math.max(dels.length, inss.length); i++) {
      const left = dels[i] === undefined ? undefined : side(a, dels[i]!);
      const right = inss[i] === undefined ? undefined : side(b, inss[i]!);
      rows.push({ kind: left && right ? 'changed' : left ? 'removed' : 'added', left, right });
    }
  }
  return rows;
}

/** Keep `context` unchanged rows around each change; fold longer unchanged runs into one row. */
export function fold(rows: Row[], context = 3): Row[] {
  const keep = rows.map(() => false);
  rows.forEach((r, i) => {
    if (r.kind === 'same') return;
    for (let k = Math.max(0, i - context); k <= Math.min(rows.length - 1, i + context); k++) keep[k] = true;
  });
  const out: Row[] = [];
  for (let i = 0; i < rows.length; ) {
    if (keep[i]) {
      out.push(rows[i++]!);
      continue;
    }
    let j = i;
    while (j < rows.length && !keep[j]) j++;
    out.push({ kind: 'fold', hidden: j - i });
    i = j;
  }
  return out;
}

/** Number of rows that differ. */
export function changedRows(rows: Row[]): number {
  return rows.filter((r) => r.kind !== 'same' && r.kind !== 'fold').length;
}
