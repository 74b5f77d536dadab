// Sinks (admin): create (URL and secret are write-only), test-send, delete.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorMessage } from '../../api/client';
import type { CreateSink, Sink, SinkList, SinkType, TestResult } from '../../api/types';
import { ErrorBox, Skeleton } from '../../components/ui';
import { ago } from '../../lib/time';

export const sinksKey = ['notifications', 'sinks'] as const;

function CreateSinkForm() {
  const qc = useQueryClient();
  const [form, setForm] = useState({ name: '', kind: 'webhook' as SinkType, url: '', secret: '', insecure: false });
  const create = useMutation({
    mutationFn: () => {
      const body: CreateSink = { name: form.name, kind: form.kind, url: form.url, allowInsecure: form.insecure };
      if (form.kind === 'webhook') body.secret = form.secret;
      return api<Sink>('/api/v1/notifications/sinks', { method: 'POST', body });
    },
    onSuccess: () => {
      setForm((f) => ({ ...f, name: '', url: '', secret: '' }));
      void qc.invalidateQueries({ queryKey: sinksKey });
    },
  });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  return (
    <form
      className="filters-row card notify-form"
      aria-label="Create a sink"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <input className="input" required placeholder="name, e.g. ops-hook" aria-label="Sink name" value={form.name} onChange={set('name')} />
      <select className="input" aria-label="Sink kind" value={form.kind} onChange={set('kind')}>
        <option value="webhook">webhook</option>
        <option value="alertmanager">alertmanager</option>
        <option value="slack">slack</option>
        <option value="teams">teams</option>
      </select>
      <input className="input" required placeholder="https://…" aria-label="Sink URL" value={form.url} onChange={set('url')} />
      {form.kind === 'webhook' && (
        <input className="input" required minLength={16} placeholder="signing secret (16+ characters)" aria-label="Signing secret" value={form.secret} onChange={set('secret')} />
      )}
      <label className="check">
        <input type="checkbox" checked={form.insecure} onChange={(e) => setForm((f) => ({ ...f, insecure: e.target.checked }))} /> allow http://
      </label>
      <button type="submit" className="btn btn-primary btn-small" disabled={create.isPending}>
        Create sink
      </button>
      {create.isError && <div className="field-error">{errorMessage(create.error)}</div>}
    </form>
  );
}

function SinkRow({ s }: { s: Sink }) {
  const qc = useQueryClient();
  const test = useMutation({ mutationFn: () => api<TestResult>(`/api/v1/notifications/sinks/${s.id}/test`, { method: 'POST' }) });
  const remove = useMutation({
    mutationFn: () => api<void>(`/api/v1/notifications/sinks/${s.id}`, { method: 'DELETE' }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: sinksKey }),
  });
  const result = test.data;
  return (
    <tr>
      <td>
        <strong>{s.name}</strong> <span className="label">{s.kind}</span>
      </td>
      <td className="mono">
        {s.endpoint} {s.insecure && <span className="label">http</span>}
      </td>
      <td>
        {ago(s.createdAt)} <span className="muted">by {s.createdBy}</span>
      </td>
      <td>
        <button type="button" className="btn btn-small" onClick={() => test.mutate()} disabled={test.isPending} aria-label={`Test ${s.name}`}>
          Test
        </button>{' '}
        {result && (
          <span className={result.ok ? 'good' : 'bad'} role="status">
            {result.ok ? `answered ${result.status}` : (result.error ?? `answered ${result.status}`)}
          </span>
        )}
        {test.isError && <span className="bad">{errorMessage(test.error)}</span>}{' '}
        <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => remove.mutate()} aria-label={`Delete ${s.name}`}>
          Delete
        </button>
        {remove.isError && <span className="bad"> {errorMessage(remove.error)}</span>}
      </td>
    </tr>
  );
}

export function Sinks() {
  const q = useQuery({ queryKey: sinksKey, queryFn: ({ signal }) => api<SinkList>('/api/v1/notifications/sinks', { signal }) });
  return (
    <section className="notify-section" aria-labelledby="sinks-head">
      <h2 id="sinks-head">Sinks</h2>
      <CreateSinkForm />
      {q.isPending ? (
        <Skeleton rows={2} />
      ) : q.isError ? (
        <ErrorBox error={q.error} retry={() => void q.refetch()} />
      ) : q.data.items.length === 0 ? (
        <p className="muted">No sinks yet: messages need somewhere to go.</p>
      ) : (
        <table className="table" aria-label="Sinks">
          <thead>
            <tr>
              <th>Name</th>
              <th>Endpoint</th>
              <th>Created</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {q.data.items.map((s) => (
              <SinkRow key={s.id} s={s} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
