// The virtualised resources table: only the visible rows are in the DOM, pages of 500 are
// fetched as the user scrolls, and rows that change flash.
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useRef } from 'react';
import { Link } from 'react-router';
import type { Resource, ResourceSort } from '../../api/types';
import { HealthBadge, KindIcon } from '../../components/icons';
import { RollUp } from '../../components/RollUp';
import { shortRevision } from '../../lib/flux';
import { ago, when } from '../../lib/time';
import { changedRecently } from '../../live/flash';

const COLUMNS: { id: string; label: string; sort?: string }[] = [
  // Problems first (worst health, then newest), the default order.
  { id: 'health', label: 'Health', sort: 'severity' },
  { id: 'kind', label: 'Kind', sort: 'kind' },
  { id: 'name', label: 'Name', sort: 'name' },
  { id: 'namespace', label: 'Namespace', sort: 'namespace' },
  { id: 'cluster', label: 'Cluster', sort: 'cluster' },
  { id: 'revision', label: 'Revision' },
  { id: 'message', label: 'Message' },
  { id: 'updated', label: 'Changed', sort: 'updated' },
];

const ROW = 30;

interface Props {
  rows: Resource[];
  count: number;
  sort: ResourceSort;
  onSort: (column: string) => void;
  selected: ReadonlySet<string>;
  onSelect: (ids: string[], on: boolean) => void;
  needMore: () => void;
}

export function ResourceTable({ rows, count, sort, onSort, selected, onSelect, needMore }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  // eslint-disable-next-line react-hooks/incompatible-library -- TanStack Virtual is fine with React Compiler off
  const v = useVirtualizer({ count, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 15 });
  const items = v.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;
  useEffect(() => {
    if (lastIndex >= rows.length - 100) needMore();
  }, [lastIndex, rows.length, needMore]);

  const allSelected = rows.length > 0 && rows.every((r) => selected.has(r.id));
  const dir = (col: string) => (sort === col ? 'ascending' : sort === '-' + col ? 'descending' : 'none');

  return (
    <div className="rtable" role="table" aria-label="Flux objects" aria-rowcount={count + 1}>
      <div className="rrow rhead" role="row">
        <span className="rcell c-check" role="columnheader">
          <input
            type="checkbox"
            aria-label="Select all loaded rows"
            checked={allSelected}
            onChange={(e) => onSelect(rows.map((r) => r.id), e.target.checked)}
          />
        </span>
        {COLUMNS.map((c) => (
          <span key={c.id} className={`rcell c-${c.id}`} role="columnheader" aria-sort={c.sort ? dir(c.sort) : undefined}>
            {c.sort ? (
              <button type="button" className="sort" onClick={() => onSort(c.sort!)}>
                {c.label}
                <span className="sort-arrow" aria-hidden="true">
                  {dir(c.sort) === 'ascending' ? '▲' : dir(c.sort) === 'descending' ? '▼' : ''}
                </span>
              </button>
            ) : (
              c.label
            )}
          </span>
        ))}
      </div>
      <div ref={scroller} className="rbody" data-testid="resource-rows">
        <div className="rspacer" style={{ height: v.getTotalSize() }}>
          {items.map((it) => {
            const r = rows[it.index];
            if (!r) {
              const style = { transform: `translateY(${it.start}px)`, height: ROW };
              return (
                <div key={'s' + it.index} className="rrow rskel" role="row" style={style}>
                  <span className="skeleton-line" />
                </div>
              );
            }
            return (
              <Row key={`${r.id}:${r.seq}`} r={r} index={it.index} start={it.start} selected={selected.has(r.id)} flash={changedRecently(r.id)} onSelect={onSelect} />
            );
          })}
        </div>
      </div>
    </div>
  );
}

interface RowProps {
  r: Resource;
  index: number;
  start: number;
  selected: boolean;
  flash: boolean;
  onSelect: (ids: string[], on: boolean) => void;
}

/** One row; memoised, so scrolling renders only the rows that come into view. */
const Row = memo(function Row({ r, index, start, selected, flash, onSelect }: RowProps) {
  return (
    <div
      className={`rrow${flash ? ' flash' : ''}${selected ? ' selected' : ''}`}
      role="row"
      aria-rowindex={index + 2}
      data-id={r.id}
      data-health={r.health}
      style={{ transform: `translateY(${start}px)`, height: ROW }}
    >
      <span className="rcell c-check" role="cell">
        <input type="checkbox" aria-label={`Select ${r.namespace}/${r.name}`} checked={selected} onChange={(e) => onSelect([r.id], e.target.checked)} />
      </span>
      <span className="rcell c-health" role="cell">
        <HealthBadge health={r.health} />
        <RollUp r={r} />
      </span>
      <span className="rcell c-kind" role="cell" title={`${r.apiGroup}/${r.apiVersion}`}>
        <KindIcon kind={r.kind} /> {r.kind}
      </span>
      <span className="rcell c-name" role="cell">
        <Link to={`/resources/${r.id}`}>{r.name}</Link>
      </span>
      <span className="rcell c-namespace" role="cell">
        {r.namespace}
      </span>
      <span className="rcell c-cluster" role="cell">
        {r.cluster}
      </span>
      <span className="rcell c-revision mono" role="cell" title={r.revision ?? ''}>
        {shortRevision(r.revision)}
      </span>
      <span className="rcell c-message" role="cell" title={r.message ?? ''}>
        {r.reason && r.health !== 'ready' && <span className="reason">{r.reason}</span>} {r.message}
      </span>
      {/* The time the `updated` and problems-first orders sort by, so the column reads in order. */}
      <span className="rcell c-updated" role="cell" title={`changed ${when(r.updatedAt)}${r.lastTransitionAt ? `; condition since ${when(r.lastTransitionAt)}` : ''}`}>
        {ago(r.updatedAt)}
      </span>
    </div>
  );
});
