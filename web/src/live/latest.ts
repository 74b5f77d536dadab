// The newest version of each object and cluster the stream delivered (bounded). A REST answer
// read before a change committed must not undo it: queries pass their results through
// `freshen*`, and lists get every remembered version re-applied (live/cache.ts), since the
// stream's version wins when its seq is higher. Written by LiveCache on every stream message;
// read by the queries and LiveCache; forgotten on `resync` (versions may have gaps then).
import type { ChangeMessage, Cluster, Resource } from '../api/types';
import type { Version } from './lists';

const latest = new Map<string, { seq: number; resource: Resource | null }>();
const latestClusters = new Map<string, Cluster | null>();
const LATEST_MAX = 20_000;

/** Remember the object version a change carries (never replacing a newer one). */
export function remember(m: ChangeMessage): void {
  if (m.op === 'event' && !m.resource) return;
  const seq = m.resource?.seq ?? m.seq;
  const known = latest.get(m.resourceId);
  if (known && known.seq > seq) return;
  latest.delete(m.resourceId);
  latest.set(m.resourceId, { seq, resource: m.resource ?? null });
  if (latest.size > LATEST_MAX) latest.delete(latest.keys().next().value as string);
}

/** Objects as REST returned them, with newer stream versions swapped in and deleted ones dropped. */
export function freshen(items: Resource[]): Resource[] {
  if (latest.size === 0) return items;
  const out: Resource[] = [];
  for (const r of items) {
    const l = latest.get(r.id);
    if (!l || l.seq <= r.seq) out.push(r);
    else if (l.resource) out.push(l.resource);
  }
  return out;
}

/** One object as REST returned it, or the stream's newer version. */
export function freshenOne(r: Resource): Resource {
  const l = latest.get(r.id);
  return l?.resource && l.seq > r.seq ? l.resource : r;
}

function stamp(c: Cluster): number {
  return Math.max(Date.parse(c.updatedAt), c.status ? Date.parse(c.status.updatedAt) : 0);
}

/** Clusters as REST returned them, with newer stream versions swapped in and removed ones dropped. */
export function freshenClusters(items: Cluster[]): Cluster[] {
  const out: Cluster[] = [];
  for (const c of items) {
    const l = latestClusters.get(c.id);
    if (l === undefined) out.push(c);
    else if (l !== null) out.push(stamp(l) >= stamp(c) ? l : c);
  }
  return out;
}

/** The stream's newer status of a cluster, if any (for the overview's cluster stats). */
export function freshStatus<T extends { id: string; status?: Cluster['status'] }>(s: T): T {
  const l = latestClusters.get(s.id);
  const restAt = s.status ? Date.parse(s.status.updatedAt) : 0;
  return l?.status && Date.parse(l.status.updatedAt) > restAt ? { ...s, status: l.status } : s;
}

/** Remember a cluster message's cluster (null once removed). */
export function rememberCluster(c: Cluster, removed: boolean): void {
  latestClusters.set(c.id, removed ? null : c);
}

/** Every remembered object version, oldest first. */
export function* latestVersions(): Generator<Version> {
  for (const [id, l] of latest) yield { id, seq: l.seq, resource: l.resource };
}

/** How many object versions are remembered. */
export function latestSize(): number {
  return latest.size;
}

/** Forget every version (after `resync`, what the stream delivered may have gaps). */
export function forgetLatest(): void {
  latest.clear();
}
