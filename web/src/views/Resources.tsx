// Every Flux object across the fleet: filters and sort in the URL, a virtualised table,
// live updates, multi-select with bulk actions.
import { useCallback, useMemo, useState, useSyncExternalStore } from 'react';
import { Link, useSearchParams } from 'react-router';
import { isGone, useHealthCounts, useResources } from '../api/queries';
import { useCan } from '../api/session';
import { AsOfBanner, AsOfControl, PrunedBox, useAsOf } from '../components/AsOf';
import { Empty, ErrorBox, Skeleton } from '../components/ui';
import { DEFAULT_SORT, filterToParams, isFiltered, parseFilter, toggleSort, type ResourceFilter } from '../lib/filters';
import { clearUnplaced, keys, unplaced } from '../live/cache';
import { complete, rowsOf } from '../live/lists';
import { BulkActions } from './resources/BulkActions';
import { Filters } from './resources/Filters';
import { ResourceTable } from './resources/ResourceTable';

export default function Resources() {
  const [params, setParams] = useSearchParams();
  const filter = useMemo(() => parseFilter(params), [params]);
  const [asOf] = useAsOf();
  const setFilter = useCallback(
    (f: ResourceFilter) => {
      const p = filterToParams(f);
      if (asOf) p.set('asOf', asOf);
      setParams(p, { replace: true });
    },
    [setParams, asOf],
  );
  const query = useResources(filter, asOf);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [bulkOpen, setBulkOpen] = useState(false);

  const healthCounts = useHealthCounts(filter, asOf);
  const rows = useMemo(() => rowsOf(query.data), [query.data]);
  // Every page here: the rows are the count. Otherwise the server's (kept live, up to 10,000).
  const partial = query.data ? !complete(query.data) : false;
  const total = partial ? (query.data?.pages[0]?.total ?? rows.length) : rows.length;
  const capped = partial && (query.data?.pages[0]?.totalCapped ?? false);
  const count = partial ? Math.max(total, rows.length + 1) : rows.length;
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
  const misplaced = useSyncExternalStore(unplaced.subscribe, () => unplaced.get()[listKey] ?? 0);

  return (
    <div className="page page-fill">
      <div className="page-head">
        <h1>Resources</h1>
        <span className="muted" data-testid="resource-count">
          {query.isPending ? '' : `${total.toLocaleString()}${capped ? '+' : ''} object${total === 1 ? '' : 's'}`}
        </span>
        {filter.sort === DEFAULT_SORT && (
          <span className="muted small" data-testid="sort-label" title="Worst health first (failed, stalled, progressing, unknown, suspended, ready), then the most recently changed">
            · {asOf ? 'by health' : 'problems first'}
          </span>
        )}
        <AsOfControl />
      </div>
      <AsOfBanner />
      {asOf && filter.label.length > 0 && (
        <div className="notice" role="status">
          Label filters do not apply to a past moment (the change log keeps no labels): showing every label.
        </div>
      )}
      <Filters filter={filter} onChange={setFilter} counts={healthCounts.data} />
      {misplaced > 0 && (
        <div className="notice" role="status">
          {misplaced} change{misplaced === 1 ? '' : 's'} could not be placed exactly in this long list.{' '}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              clearUnplaced(listKey);
              void query.refetch();
            }}
          >
            Re-sort
          </button>
        </div>
      )}
      {can.act && !asOf && (selectedRows.length > 0 || bulkOpen) && (
        <BulkActions selected={selectedRows} onClear={() => setSelected(new Set())} onOpenChange={setBulkOpen} />
      )}
      {query.isPending ? (
        <Skeleton rows={12} />
      ) : query.isError ? (
        isGone(query.error) ? <PrunedBox error={query.error} /> : <ErrorBox error={query.error} retry={() => void query.refetch()} />
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
