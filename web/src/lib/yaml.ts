// JSON → YAML for read-only display of Kubernetes objects (kubectl-like: block style, keys in
// the object's order, strings quoted only when YAML would read them as something else).

const PLAIN = /^[A-Za-z0-9_./@:+-][A-Za-z0-9 _./@:+=,()-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n|[-+]?(\d[\d_]*)?\.?\d+([eE][-+]?\d+)?|0x[0-9a-fA-F]+|\.inf|\.nan)$/i;

function scalar(value: string): string {
  if (value === '') return "''";
  if (PLAIN.test(value) && !RESERVED.test(value) && !value.endsWith(' ') && !value.endsWith(':') && !value.includes(': ') && !value.includes(' #')) {
    return value;
  }
  return JSON.stringify(value);
}

function key(k: string): string {
  return scalar(k);
}

function isEmptyCollection(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
}

function inline(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return '[]';
  if (typeof v === 'object') return '{}';
  if (typeof v === 'string') return scalar(v);
  return String(v);
}

function block(value: string, indent: string): string {
  const body = value.replace(/\n$/, '');
  const chomp = value.endsWith('\n') ? '' : '-';
  return `|${chomp}\n` + body.split('\n').map((l) => (l ? indent + l : '')).join('\n');
}

function emit(v: unknown, indent: string, out: string[], prefix: string): void {
  if (Array.isArray(v) && v.length > 0) {
    if (prefix) out.push(prefix);
    for (const item of v) {
      if (item !== null && typeof item === 'object' && !isEmptyCollection(item)) {
        const lines: string[] = [];
        emit(item, indent + '  ', lines, '');
        const first = lines[0] ?? '';
        out.push(indent + '- ' + first.slice(indent.length + 2), ...lines.slice(1));
      } else {
        out.push(indent + '- ' + valueText(item, indent + '  '));
      }
    }
    return;
  }
  if (v !== null && typeof v === 'object' && !isEmptyCollection(v)) {
    if (prefix) out.push(prefix);
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
      if (item === undefined) continue;
      const head = indent + key(k) + ':';
      if (item !== null && typeof item === 'object' && !isEmptyCollection(item)) {
        emit(item, Array.isArray(item) ? indent : indent + '  ', out, head);
      } else {
        out.push(head + ' ' + valueText(item, indent + '  '));
      }
    }
    return;
  }
  out.push((prefix ? prefix + ' ' : indent) + valueText(v, indent + '  '));
}

function valueText(v: unknown, indent: string): string {
  if (typeof v === 'string' && v.includes('\n')) return block(v, indent);
  return inline(v);
}

/** The YAML text of a JSON value. */
export function toYaml(value: unknown): string {
  const out: string[] = [];
  emit(value, '', out, '');
  return out.join('\n') + '\n';
}
