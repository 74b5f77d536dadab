// The detail page's sections: conditions, events, inventory, YAML (history: History.tsx).
import { useMemo } from 'react';
import { Link } from 'react-router';
import { useGraph, useResourceEvents } from '../../api/queries';
import type { Condition, GraphNode, Inventory, ResourceDetail } from '../../api/types';
import { HealthIcon } from '../../components/icons';
import { Empty, ErrorBox, Skeleton } from '../../components/ui';
import { ago, when } from '../../lib/time';
import { toYaml } from '../../lib/yaml';

export function Conditions({ conditions }: { conditions: Condition[] }) {
  if (conditions.length === 0) return <Empty title="No conditions">The controller has not reported a status yet.</Empty>;
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Type</th>
          <th>Status</th>
          <th>Reason</th>
          <th>Message</th>
          <th>Since</th>
        </tr>
      </thead>
      <tbody>
        {conditions.map((c) => (
          <tr key={c.type}>
            <td className="nowrap">{c.type}</td>
            <td className={`cond cond-${c.status}`}>{c.status}</td>
            <td className="nowrap">{c.reason}</td>
            <td className="msg-wrap">{c.message}</td>
            <td className="nowrap" title={when(c.lastTransitionTime)}>
              {ago(c.lastTransitionTime)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Events({ id }: { id: string }) {
  const q = useResourceEvents(id);
  if (q.isPending) return <Skeleton rows={4} />;
  if (q.isError) return <ErrorBox error={q.error} retry={() => void q.refetch()} />;
  const events = q.data.pages.flatMap((p) => p.items);
  if (events.length === 0) return <Empty title="No events">The Flux controllers have not reported events for this object.</Empty>;
  return (
    <>
      <table className="table" data-testid="events">
        <thead>
          <tr>
            <th>Type</th>
            <th>Reason</th>
            <th>Message</th>
            <th>Count</th>
            <th>Last seen</th>
            <th>From</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id} className={e.type === 'Warning' ? 'warn' : undefined}>
              <td>{e.type}</td>
              <td className="nowrap">{e.reason}</td>
              <td className="msg-wrap">{e.message}</td>
              <td>{e.count}</td>
              <td className="nowrap" title={when(e.lastSeen)}>
                {ago(e.lastSeen)}
              </td>
              <td className="nowrap muted">{e.reportingController}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {q.hasNextPage && (
        <button type="button" className="btn btn-small more" disabled={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
          Older events
        </button>
      )}
    </>
  );
}

/** Health of the inventory's entries that are stored objects, by `group/kind/namespace/name`. */
function useEntryHealth(id: string, enabled: boolean): Map<string, GraphNode> {
  const q = useGraph(id, 1, 'down', enabled);
  return useMemo(() => new Map((q.data?.nodes ?? []).filter((n) => n.stored).map((n) => [`${n.apiGroup}/${n.kind}/${n.namespace}/${n.name}`, n])), [q.data]);
}

export function InventoryView({ id, inventory, clusterId }: { id: string; inventory: Inventory | null | undefined; clusterId: string }) {
  const stored = useEntryHealth(id, !!inventory);
  if (!inventory) return <Empty title="No inventory">Only Kustomizations record what they applied, after their first apply.</Empty>;
  return (
    <div className="inventory">
      <p className="muted">{inventory.total} objects applied</p>
      {inventory.groups.map((g) => (
        <details key={`${g.group}/${g.kind}`} open={inventory.groups.length <= 6}>
          <summary>
            <strong>{g.kind}</strong> <span className="muted">{g.group || 'core'}</span> <span className="count">{g.entries.length}</span>
          </summary>
          <ul className="inv-list">
            {g.entries.map((e) => {
              const flux = g.group.endsWith('toolkit.fluxcd.io');
              const name = e.namespace ? `${e.namespace}/${e.name}` : e.name;
              const node = stored.get(`${g.group}/${g.kind}/${e.namespace}/${e.name}`);
              // The graph's node is kept live; the detail's own entry health until it loads.
              const health = node?.health ?? e.health ?? undefined;
              return (
                <li key={e.id} data-health={health}>
                  {health && <HealthIcon health={health} />}{' '}
                  {node || e.health ? (
                    <Link to={`/resources/${node?.id ?? e.resourceId}`}>{name}</Link>
                  ) : flux ? (
                    <Link to={`/resources/ref/${clusterId}/${g.kind}/${e.namespace || '-'}/${e.name}`}>{name}</Link>
                  ) : (
                    name
                  )}
                  {!flux && !health && <span className="muted small"> not watched</span>}
                  <span className="muted"> {e.version}</span>
                </li>
              );
            })}
          </ul>
        </details>
      ))}
    </div>
  );
}

export function Yaml({ detail }: { detail: ResourceDetail }) {
  const text = useMemo(() => toYaml(detail.object), [detail.object]);
  return (
    <div className="yaml-wrap">
      <button type="button" className="btn btn-small copy" onClick={() => void navigator.clipboard?.writeText(text)}>
        Copy
      </button>
      <pre className="yaml" tabIndex={0} aria-label="Object YAML (read-only)">
        {text}
      </pre>
    </div>
  );
}
