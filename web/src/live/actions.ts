// Actions in flight (reconcile, suspend, resume, force, reset), from the click to the moment
// the controller has handled them — seen in the live stream, never by polling. Shared by the
// detail page and the bulk actions of the resources table.
import { api, errorMessage } from '../api/client';
import type { Action, ActionAccepted, Resource } from '../api/types';
import { Store } from './store';

export type ActionPhase = 'sending' | 'waiting' | 'handled' | 'failed';

export interface TrackedAction {
  id: string;
  label: string;
  action: Action;
  phase: ActionPhase;
  token?: string;
  error?: string;
  startedAt: number;
  doneAt?: number;
}

/** Whether the controller has handled the request with this token (see `ActionAccepted.token`). */
export function isHandled(action: Action, token: string, r: Pick<Resource, 'suspended' | 'lastHandledReconcileAt'>): boolean {
  if (action === 'suspend') return r.suspended;
  if (action === 'resume' && r.suspended) return false;
  return r.lastHandledReconcileAt === token;
}

export class ActionTracker {
  readonly store = new Store<ReadonlyMap<string, TrackedAction>>(new Map());
  private latest = new Map<string, Resource>();

  private put(t: TrackedAction): void {
    const next = new Map(this.store.get());
    next.set(t.id, t);
    this.store.set(next);
  }

  get(id: string): TrackedAction | undefined {
    return this.store.get().get(id);
  }

  clear(ids: readonly string[]): void {
    const next = new Map(this.store.get());
    for (const id of ids) next.delete(id);
    this.store.set(next);
  }

  /** Send an action and track it until handled. Resolves when the server accepted or refused it. */
  async run(id: string, label: string, action: Action, opts: { withSource?: boolean; reason?: string } = {}): Promise<TrackedAction> {
    const startedAt = Date.now();
    this.put({ id, label, action, phase: 'sending', startedAt });
    try {
      const accepted = await api<ActionAccepted>(`/api/v1/resources/${encodeURIComponent(id)}/${action}`, {
        method: 'POST',
        query: action === 'reconcile' && opts.withSource ? { withSource: true } : undefined,
        body: action === 'suspend' ? { reason: opts.reason || undefined } : undefined,
      });
      const t: TrackedAction = { id, label, action, phase: 'waiting', token: accepted.token, startedAt };
      const seen = this.latest.get(id);
      // The change may have arrived before the HTTP answer did.
      if (seen && isHandled(action, accepted.token, seen) && seen.updatedAt >= new Date(startedAt - 1000).toISOString()) {
        t.phase = 'handled';
        t.doneAt = Date.now();
      }
      this.put(t);
      return t;
    } catch (e) {
      const t: TrackedAction = { id, label, action, phase: 'failed', error: errorMessage(e), startedAt, doneAt: Date.now() };
      this.put(t);
      return t;
    }
  }

  /** A new version of an object arrived from the stream. */
  observe(r: Resource): void {
    const t = this.store.get().get(r.id);
    if (!t) return;
    this.latest.set(r.id, r);
    if (t.phase === 'waiting' && t.token !== undefined && isHandled(t.action, t.token, r)) {
      this.put({ ...t, phase: 'handled', doneAt: Date.now() });
    }
  }

  /** Remember objects being acted on even before the action is accepted. */
  seen(r: Resource): void {
    if (this.store.get().has(r.id)) this.latest.set(r.id, r);
  }
}

export const tracker = new ActionTracker();

/** Run actions on many objects, a few at a time. */
export async function runMany(
  items: readonly { id: string; label: string }[],
  action: Action,
  opts: { reason?: string; concurrency?: number } = {},
): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(opts.concurrency ?? 4, queue.length) }, async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      await tracker.run(item.id, item.label, action, { reason: opts.reason });
    }
  });
  await Promise.all(workers);
}
