// A rule's or mute's filter as one line of text and back: `kinds=ks,hr namespaces=apps
// clusters=prod-eu prefix=web env=prod` (any other key=value is a cluster label).
import type { NotificationFilter } from '../../api/types';

const LISTS = ['kinds', 'namespaces', 'clusters'] as const;

export function parseFilter(text: string): NotificationFilter {
  const f: NotificationFilter = {};
  const labels: Record<string, string> = {};
  for (const part of text.split(/\s+/).filter(Boolean)) {
    const [key, ...rest] = part.split('=');
    const value = rest.join('=');
    if (!key || !value) continue;
    if ((LISTS as readonly string[]).includes(key)) f[key as (typeof LISTS)[number]] = value.split(',').filter(Boolean);
    else if (key === 'prefix') f.namePrefix = value;
    else labels[key] = value;
  }
  if (Object.keys(labels).length) f.clusterLabels = labels;
  return f;
}

export function showFilter(f: NotificationFilter | undefined | null): string {
  if (!f) return 'everything';
  const parts: string[] = [];
  for (const key of LISTS) if (f[key]?.length) parts.push(`${key}=${f[key]!.join(',')}`);
  if (f.namePrefix) parts.push(`prefix=${f.namePrefix}`);
  for (const [k, v] of Object.entries(f.clusterLabels ?? {})) parts.push(`${k}=${v}`);
  return parts.join(' ') || 'everything';
}
