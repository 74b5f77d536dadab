// Two versions of an object side by side: what changed, field by field, then the YAML of the
// spec, status and metadata of both with the changed lines highlighted. Versions never change,
// so a diff is fetched once.
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { api } from '../../api/client';
import type { FieldDiff, VersionDiff } from '../../api/types';
import { ErrorBox, Skeleton } from '../../components/ui';
import { changedRows, fold, sideBySide, type Row } from '../../lib/linediff';
import { when } from '../../lib/time';
import { toYaml } from '../../lib/yaml';

type Section = 'spec' | 'status' | 'metadata';
const SECTIONS: readonly Section[] = ['spec', 'status', 'metadata'];

const MEANINGS: Record<string, string> = {
  reconcileRequested: 'reconcile requested',
  forceRequested: 'force requested',
  resetRequested: 'reset requested',
  suspendReason: 'suspend reason',
  reconcileHandled: 'reconcile handled',
  forceHandled: 'force handled',
  resetHandled: 'reset handled',
  recreated: 'recreated',
  deleting: 'being deleted',
  bookkeeping: 'bookkeeping',
};

/** The part of an object a section shows, keyed as in the object (so the YAML reads as it). */
export function sectionOf(object: unknown, section: Section): Record<string, unknown> {
  const o = (object && typeof object === 'object' ? object : {}) as Record<string, unknown>;
  const pick = (keep: (k: string) => boolean) => Object.fromEntries(Object.entries(o).filter(([k]) => keep(k)));
  if (section === 'status') return pick((k) => k === 'status');
  if (section === 'metadata') {
    const meta = pick((k) => k === 'apiVersion' || k === 'kind' || k === 'metadata');
    // The apiserver's write counter differs between any two versions; it is never a change.
    if (meta.metadata && typeof meta.metadata === 'object') {
      const { resourceVersion: _, ...rest } = meta.metadata as Record<string, unknown>;
      meta.metadata = rest;
    }
    return meta;
  }
  return pick((k) => !['status', 'apiVersion', 'kind', 'metadata'].includes(k));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function lines(value: Record<string, unknown>): string[] {
  return Object.keys(value).length === 0 ? [] : toYaml(value).replace(/\n$/, '').split('\n');
}

function short(v: unknown): string {
  if (v === undefined) return '';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 80 ? text.slice(0, 79) + '…' : text;
}

function Fields({ fields }: { fields: FieldDiff[] }) {
  return (
    <table className="table vdiff-fields">
      <thead>
        <tr>
          <th>Field</th>
          <th>Before</th>
          <th>After</th>
        </tr>
      </thead>
      <tbody>
        {fields.map((f) => (
          <tr key={f.path} className={f.meaning === 'bookkeeping' ? 'muted' : undefined}>
            <td className="mono">
              {f.path} {f.meaning && <span className="label">{MEANINGS[f.meaning] ?? f.meaning}</span>}
            </td>
            <td className="mono msg-wrap">{f.added ? <span className="muted">(none)</span> : short(f.before)}</td>
            <td className="mono msg-wrap">{f.removed ? <span className="muted">(none)</span> : short(f.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Lines({ rows, label }: { rows: Row[]; label: string }) {
  return (
    <table className="vdiff-lines" aria-label={label}>
      <colgroup>
        <col className="ln" />
        <col className="code" />
        <col className="ln" />
        <col className="code" />
      </colgroup>
      <tbody>
        {rows.map((r, i) =>
          r.kind === 'fold' ? (
            <tr key={i} className="dl-fold">
              <td colSpan={4}>⋯ {r.hidden} unchanged lines</td>
            </tr>
          ) : (
            <tr key={i} className={`dl-${r.kind}`} data-kind={r.kind}>
              <td className="ln">{r.left?.n}</td>
              <td className="code dl-left">{r.left?.text}</td>
              <td className="ln">{r.right?.n}</td>
              <td className="code dl-right">{r.right?.text}</td>
            </tr>
          ),
        )}
      </tbody>
    </table>
  );
}

function DiffSection({ name, diff }: { name: Section; diff: VersionDiff }) {
  const fields = diff.changes.filter((c) => c.section === name);
  const rows = useMemo(
    () => fold(sideBySide(lines(sectionOf(diff.from.object, name)), lines(sectionOf(diff.to.object, name)))),
    [diff, name],
  );
  const changed = changedRows(rows);
  return (
    <details className="vdiff-section" open={fields.length > 0} data-section={name}>
      <summary>
        <strong>{name[0]!.toUpperCase() + name.slice(1)}</strong>{' '}
        <span className="muted small">
          {fields.length === 0 ? 'no changes' : `${plural(fields.length, 'field')}, ${plural(changed, 'line')} changed`}
        </span>
      </summary>
      {fields.length > 0 && <Fields fields={fields} />}
      <Lines rows={rows} label={`${name}: #${diff.from.seq} and #${diff.to.seq} side by side`} />
    </details>
  );
}

/** The diff of the versions produced by the changes at `from` and `to` (`from` absent: the one before `to`). */
export function VersionDiffView({ id, from, to, onClose }: { id: string; from?: number; to: number; onClose: () => void }) {
  const q = useQuery({
    queryKey: ['resource', id, 'diff', from ?? 'previous', to],
    queryFn: ({ signal }) => api<VersionDiff>(`/api/v1/resources/${encodeURIComponent(id)}/diff`, { signal, query: { from, to } }),
    staleTime: Infinity,
  });
  return (
    <section className="vdiff" data-testid="version-diff" aria-label="Version diff">
      <div className="vdiff-head">
        {q.data ? (
          <span>
            <strong>#{q.data.from.seq}</strong> <span className="muted small">{when(q.data.from.at)}</span> → <strong>#{q.data.to.seq}</strong>{' '}
            <span className="muted small">{when(q.data.to.at)}</span>
          </span>
        ) : (
          <span>Comparing versions…</span>
        )}
        <button type="button" className="btn btn-small" onClick={onClose}>
          Close diff
        </button>
      </div>
      {q.isPending && <Skeleton rows={6} />}
      {q.isError && <ErrorBox error={q.error} retry={() => void q.refetch()} />}
      {q.data && (
        <>
          <p className="vdiff-summary" data-testid="diff-summary">
            {q.data.summary || 'The two versions are the same.'}
          </p>
          {SECTIONS.map((s) => (
            <DiffSection key={s} name={s} diff={q.data} />
          ))}
        </>
      )}
    </section>
  );
}
