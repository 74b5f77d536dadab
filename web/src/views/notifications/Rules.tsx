// Rules: everyone reads them; admins create and delete (the sink list is admin-only too).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorMessage } from '../../api/client';
import type { ConditionName, CreateRule, NotificationRule, RuleList, SinkList } from '../../api/types';
import { ErrorBox, Skeleton } from '../../components/ui';
import { parseFilter, showFilter } from './filter';
import { sinksKey } from './Sinks';

export const rulesKey = ['notifications', 'rules'] as const;
const CONDITIONS: ConditionName[] = ['failed', 'stalled', 'stillFailed', 'recovered', 'clusterUnreachable', 'clusterDegraded', 'clusterRecovered'];

function CreateRuleForm() {
  const qc = useQueryClient();
  const sinks = useQuery({ queryKey: sinksKey, queryFn: ({ signal }) => api<SinkList>('/api/v1/notifications/sinks', { signal }) });
  const [form, setForm] = useState({ name: '', sinkId: '', condition: 'failed' as ConditionName, filter: '', minutes: '10', window: '30' });
  const sinkId = form.sinkId || sinks.data?.items[0]?.id || '';
  const create = useMutation({
    mutationFn: () => {
      const body: CreateRule = { name: form.name, sinkId, condition: form.condition, filter: parseFilter(form.filter), groupWindowSecs: Number(form.window) };
      if (form.condition === 'stillFailed') body.afterMinutes = Number(form.minutes);
      return api<NotificationRule>('/api/v1/notifications/rules', { method: 'POST', body });
    },
    onSuccess: () => {
      setForm((f) => ({ ...f, name: '', filter: '' }));
      void qc.invalidateQueries({ queryKey: rulesKey });
    },
  });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  return (
    <form
      className="filters-row card notify-form"
      aria-label="Create a rule"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <input className="input" required placeholder="name, e.g. prod-failing" aria-label="Rule name" value={form.name} onChange={set('name')} />
      <select className="input" aria-label="Sink" value={sinkId} onChange={set('sinkId')} required>
        {(sinks.data?.items ?? []).map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
          </option>
        ))}
      </select>
      <select className="input" aria-label="Condition" value={form.condition} onChange={set('condition')}>
        {CONDITIONS.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
      {form.condition === 'stillFailed' && <input className="input" type="number" min={1} max={1440} aria-label="After minutes" value={form.minutes} onChange={set('minutes')} />}
      <input className="input" placeholder="filter: kinds=ks namespaces=apps env=prod" aria-label="Rule filter" value={form.filter} onChange={set('filter')} />
      <input className="input" type="number" min={0} max={3600} aria-label="Grouping window (s)" title="Grouping window in seconds" value={form.window} onChange={set('window')} />
      <button type="submit" className="btn btn-primary btn-small" disabled={create.isPending || !sinkId}>
        Create rule
      </button>
      {create.isError && <div className="field-error">{errorMessage(create.error)}</div>}
    </form>
  );
}

function DeleteRule({ r }: { r: NotificationRule }) {
  const qc = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api<void>(`/api/v1/notifications/rules/${r.id}`, { method: 'DELETE' }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: rulesKey }),
  });
  return (
    <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => remove.mutate()} aria-label={`Delete rule ${r.name}`}>
      Delete
    </button>
  );
}

export function Rules({ admin }: { admin: boolean }) {
  const q = useQuery({ queryKey: rulesKey, queryFn: ({ signal }) => api<RuleList>('/api/v1/notifications/rules', { signal }) });
  return (
    <section className="notify-section" aria-labelledby="rules-head">
      <h2 id="rules-head">Rules</h2>
      {admin && <CreateRuleForm />}
      {q.isPending ? (
        <Skeleton rows={2} />
      ) : q.isError ? (
        <ErrorBox error={q.error} retry={() => void q.refetch()} />
      ) : q.data.items.length === 0 ? (
        <p className="muted">No rules: nothing is sent.</p>
      ) : (
        <table className="table" aria-label="Rules">
          <thead>
            <tr>
              <th>Name</th>
              <th>Condition</th>
              <th>Filter</th>
              <th>Window</th>
              {admin && (
                <th>
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {q.data.items.map((r) => (
              <tr key={r.id}>
                <td>
                  <strong>{r.name}</strong> {!r.enabled && <span className="label">off</span>}
                </td>
                <td>
                  {r.condition}
                  {r.afterMinutes ? ` after ${r.afterMinutes} min` : ''}
                </td>
                <td className="mono">{showFilter(r.filter)}</td>
                <td>{r.groupWindowSecs} s</td>
                {admin && (
                  <td>
                    <DeleteRule r={r} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
