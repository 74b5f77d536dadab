// Mutes: operators and admins mute (with an expiry) and unmute; everyone reads them.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorMessage } from '../../api/client';
import type { CreateMute, Mute, MuteList } from '../../api/types';
import { ErrorBox, Skeleton } from '../../components/ui';
import { when } from '../../lib/time';
import { parseFilter, showFilter } from './filter';

const mutesKey = ['notifications', 'mutes'] as const;

function CreateMuteForm() {
  const qc = useQueryClient();
  const [form, setForm] = useState({ filter: '', reason: '', hours: '2' });
  const create = useMutation({
    mutationFn: () => {
      const expiresAt = new Date(Date.now() + Number(form.hours) * 3_600_000).toISOString();
      const body: CreateMute = { filter: parseFilter(form.filter), reason: form.reason, expiresAt };
      return api<Mute>('/api/v1/notifications/mutes', { method: 'POST', body });
    },
    onSuccess: () => {
      setForm({ filter: '', reason: '', hours: '2' });
      void qc.invalidateQueries({ queryKey: mutesKey });
    },
  });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  return (
    <form
      className="filters-row card notify-form"
      aria-label="Mute"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <input className="input" placeholder="filter: clusters=prod-eu prefix=web" aria-label="Mute filter" value={form.filter} onChange={set('filter')} />
      <input className="input" required placeholder="reason, e.g. maintenance" aria-label="Mute reason" value={form.reason} onChange={set('reason')} />
      <select className="input" aria-label="Mute for" value={form.hours} onChange={set('hours')}>
        <option value="1">for 1 hour</option>
        <option value="2">for 2 hours</option>
        <option value="8">for 8 hours</option>
        <option value="24">for a day</option>
        <option value="168">for a week</option>
      </select>
      <button type="submit" className="btn btn-primary btn-small" disabled={create.isPending}>
        Mute
      </button>
      {create.isError && <div className="field-error">{errorMessage(create.error)}</div>}
    </form>
  );
}

function Unmute({ m }: { m: Mute }) {
  const qc = useQueryClient();
  const end = useMutation({
    mutationFn: () => api<Mute>(`/api/v1/notifications/mutes/${m.id}`, { method: 'DELETE' }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: mutesKey }),
  });
  return (
    <button type="button" className="btn btn-small" onClick={() => end.mutate()}>
      Unmute
    </button>
  );
}

export function Mutes({ operator }: { operator: boolean }) {
  const q = useQuery({ queryKey: mutesKey, queryFn: ({ signal }) => api<MuteList>('/api/v1/notifications/mutes', { signal }) });
  return (
    <section className="notify-section" aria-labelledby="mutes-head">
      <h2 id="mutes-head">Mutes</h2>
      {operator && <CreateMuteForm />}
      {q.isPending ? (
        <Skeleton rows={1} />
      ) : q.isError ? (
        <ErrorBox error={q.error} retry={() => void q.refetch()} />
      ) : q.data.items.length === 0 ? (
        <p className="muted">Nothing muted.</p>
      ) : (
        <table className="table" aria-label="Mutes">
          <thead>
            <tr>
              <th>Filter</th>
              <th>Reason</th>
              <th>Until</th>
              {operator && (
                <th>
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {q.data.items.map((m) => (
              <tr key={m.id}>
                <td className="mono">{showFilter(m.filter)}</td>
                <td>
                  {m.reason} <span className="muted">by {m.createdBy}</span>
                </td>
                <td>{when(m.expiresAt)}</td>
                {operator && (
                  <td>
                    <Unmute m={m} />
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
