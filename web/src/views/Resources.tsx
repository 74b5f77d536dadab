// Every Flux object across the fleet: filters and sort in the URL, a virtualised table,
// live updates, multi-select with bulk actions.
import { useCallback, useMemo, useState, useSyncExternalStore } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useResources } from '../api/queries';
import { useCan } from '../api/session';
import { Empty, ErrorBox, Skeleton } from '../components/ui';
import { filterToParams, isFiltered, parseFilter, toggleSort, type ResourceFilter } from '../lib/filters';
import { clearUnseen, keys, unseen } from '../live/cache';
import { BulkActions } from './resources/BulkActions';
import { Filters } from './resources/Filters';
import { ResourceTable } from './resources/ResourceTable';

export default function Resources() {
  const [params, setParams] = useSearchParams();
  const filter = useMemo(() => parseFilter(params), [params]);
  const setFilter = useCallback((f: ResourceFilter) => setParams(filterToParams(f), { replace: true }), [setParams]);
  const query = useResources(filter);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());

  const rows = useMemo(() => query.data?.pages.flatMap((p) => p.items) ?? [], [query.data]);
  // The server counts up to 10,000; once every page is here the count is exact.
  const total = query.hasNextPage ? (query.data?.pages[0]?.total ?? rows.length) : rows.length;
  const capped = query.hasNextPage && (query.data?.pages[0]?.totalCapped ?? false);
  const count = query.hasNextPage ? Math.max(total, rows.length + 1) : rows.length;
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = query;
  const needMore = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const onSelect = useCallback((ids: string[], on: boolean) => {
    setSelected((prev) => {
      const next = new Set(prev);
      for (const id of ids) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });
  }, []);
  const selectedRows = rows.filter((r) => selected.has(r.id));
  const can = useCan();
  const listKey = JSON.stringify(keys.resources(filter));
  const newCount = useSyncExternalStore(unseen.subscribe, () => unseen.get()[listKey] ?? 0);

  return (
    <div className="page page-fill">
      <div className="page-head">
        <h1>Resources</h1>
        <span className="muted" data-testid="resource-count">
          {query.isPending ? '' : `${total.toLocaleString()}${capped ? '+' : ''} object${total === 1 ? '' : 's'}`}
        </span>
      </div>
      <Filters filter={filter} onChange={setFilter} />
      {newCount > 0 && (
        <div className="notice" role="status">
          {newCount} new object{newCount === 1 ? '' : 's'} match{newCount === 1 ? 'es' : ''} these filters.{' '}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              clearUnseen(listKey);
              void query.refetch();
            }}
          >
            Refresh
          </button>
        </div>
      )}
      {can.act && selectedRows.length > 0 && <BulkActions selected={selectedRows} onClear={() => setSelected(new Set())} />}
      {query.isPending ? (
        <Skeleton rows={12} />
      ) : query.isError ? (
        <ErrorBox error={query.error} retry={() => void query.refetch()} />
      ) : rows.length === 0 ? (
        isFiltered(filter) ? (
          <Empty title="No objects match these filters">
            <button type="button" className="btn btn-small" onClick={() => setFilter({ ...parseFilter(new URLSearchParams()), sort: filter.sort })}>
              Clear filters
            </button>
          </Empty>
        ) : (
          <Empty title="No Flux objects yet">
            Objects appear here as soon as a registered cluster is watched. <Link to="/clusters">Check your clusters</Link>.
          </Empty>
        )
      ) : (
        <ResourceTable
          rows={rows}
          count={count}
          sort={filter.sort}
          onSort={(c) => setFilter({ ...filter, sort: toggleSort(filter.sort, c) })}
          selected={selected}
          onSelect={onSelect}
          needMore={needMore}
        />
      )}
    </div>
  );
}
