// The filter bar of the resources table. Every change goes to the URL.
import { useEffect, useRef, useState } from 'react';
import { useClusters, type HealthTotals } from '../../api/queries';
import { HEALTHS, type Health } from '../../api/types';
import { HealthIcon } from '../../components/icons';
import { HEALTH_LABEL, KINDS } from '../../lib/flux';
import { isFiltered, type ResourceFilter } from '../../lib/filters';

function useSlashFocus(ref: React.RefObject<HTMLInputElement | null>) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
      e.preventDefault();
      ref.current?.focus();
      ref.current?.select();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [ref]);
}

interface Props {
  filter: ResourceFilter;
  onChange: (f: ResourceFilter) => void;
  /** Matches per health under the other filters (shown on the chips once known). */
  counts?: HealthTotals;
}

export function Filters({ filter, onChange, counts }: Props) {
  const clusters = useClusters();
  const search = useRef<HTMLInputElement>(null);
  const [q, setQ] = useState(filter.q);
  const [prevQ, setPrevQ] = useState(filter.q);
  useSlashFocus(search);
  // The URL changed (back button, a link): show its text.
  if (filter.q !== prevQ) {
    setPrevQ(filter.q);
    setQ(filter.q);
  }
  useEffect(() => {
    if (q === filter.q) return;
    const t = setTimeout(() => onChange({ ...filter, q }), 250);
    return () => clearTimeout(t);
  }, [q, filter, onChange]);

  const toggleHealth = (h: Health) =>
    onChange({ ...filter, health: filter.health.includes(h) ? filter.health.filter((x) => x !== h) : [...filter.health, h] });

  return (
    <div className="filters" role="search">
      <div className="filters-row">
        <input
          ref={search}
          className="input search"
          type="search"
          placeholder="Search name or message   ( / )"
          aria-label="Search name or message"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') onChange({ ...filter, q });
            if (e.key === 'Escape') e.currentTarget.blur();
          }}
        />
        <select
          className="input"
          aria-label="Kind"
          value={filter.kind[0] ?? ''}
          onChange={(e) => onChange({ ...filter, kind: e.target.value ? [e.target.value] : [] })}
        >
          <option value="">All kinds</option>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <select
          className="input"
          aria-label="Cluster"
          value={filter.cluster[0] ?? ''}
          onChange={(e) => onChange({ ...filter, cluster: e.target.value ? [e.target.value] : [] })}
        >
          <option value="">All clusters</option>
          {filter.cluster[0] && !clusters.data?.items.some((c) => c.name === filter.cluster[0]) && (
            <option value={filter.cluster[0]}>{filter.cluster[0]}</option>
          )}
          {(clusters.data?.items ?? []).map((c) => (
            <option key={c.id} value={c.name}>
              {c.name}
            </option>
          ))}
        </select>
        <input
          className="input ns"
          aria-label="Namespace"
          placeholder="namespace"
          defaultValue={filter.namespace.join(',')}
          key={filter.namespace.join(',')}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              const v = e.currentTarget.value.split(',').map((s) => s.trim()).filter(Boolean);
              onChange({ ...filter, namespace: v });
            }
          }}
          onBlur={(e) => {
            const v = e.currentTarget.value.split(',').map((s) => s.trim()).filter(Boolean);
            if (v.join(',') !== filter.namespace.join(',')) onChange({ ...filter, namespace: v });
          }}
        />
        <input
          className="input labels-input"
          aria-label="Label selector"
          placeholder="labels, e.g. team=payments"
          defaultValue={filter.label.join(',')}
          key={'l' + filter.label.join(',')}
          onKeyDown={(e) => {
            if (e.key === 'Enter') onChange({ ...filter, label: e.currentTarget.value.trim() ? [e.currentTarget.value.trim()] : [] });
          }}
          onBlur={(e) => {
            const v = e.currentTarget.value.trim();
            if (v !== filter.label.join(',')) onChange({ ...filter, label: v ? [v] : [] });
          }}
        />
        {isFiltered(filter) && (
          <button
            type="button"
            className="btn btn-ghost btn-small"
            onClick={() => {
              setQ('');
              onChange({ cluster: [], kind: [], namespace: [], health: [], workloadHealth: [], label: [], q: '', sort: filter.sort });
            }}
          >
            Clear filters
          </button>
        )}
      </div>
      <div className="chips" role="group" aria-label="Health">
        {HEALTHS.map((h) => (
          <button
            key={h}
            type="button"
            className={`chip h-${h}`}
            aria-pressed={filter.health.includes(h)}
            onClick={() => toggleHealth(h)}
            data-health={h}
          >
            <HealthIcon health={h} size={12} /> {HEALTH_LABEL[h]}
            {counts && (
              <span className="chip-n" data-testid={`health-count-${h}`}>
                {counts[h].count.toLocaleString()}
                {counts[h].capped ? '+' : ''}
              </span>
            )}
          </button>
        ))}
      </div>
    </div>
  );
}
