// API tokens (admin): create (the secret is shown once), list, revoke.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorMessage } from '../api/client';
import type { ApiToken, CreatedToken, CreateToken, RoleName, TokenList } from '../api/types';
import { Dialog, Empty, ErrorBox, Skeleton } from '../components/ui';
import { ago, when } from '../lib/time';

const tokensKey = ['tokens'] as const;
const ROLES: RoleName[] = ['viewer', 'operator', 'admin'];

function labelsOf(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, ...v] = part.split('=');
    if (k) out[k.trim()] = v.join('=').trim();
  }
  return Object.keys(out).length ? out : undefined;
}

function CreateForm({ onCreated }: { onCreated: (t: CreatedToken) => void }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [role, setRole] = useState<RoleName>('viewer');
  const [days, setDays] = useState('90');
  const [scope, setScope] = useState('');
  const create = useMutation({
    mutationFn: () => {
      const body: CreateToken = { name, role, scope: labelsOf(scope) };
      if (days) body.expiresAt = new Date(Date.now() + Number(days) * 86_400_000).toISOString();
      return api<CreatedToken>('/api/v1/tokens', { method: 'POST', body });
    },
    onSuccess: (t) => {
      void qc.invalidateQueries({ queryKey: tokensKey });
      setName('');
      onCreated(t);
    },
  });
  return (
    <form
      className="filters card"
      aria-label="Create a token"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <input className="input" required maxLength={100} placeholder="name, e.g. ci-deploy" aria-label="Token name" value={name} onChange={(e) => setName(e.target.value)} />
      <select className="input" aria-label="Role" value={role} onChange={(e) => setRole(e.target.value as RoleName)}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <select className="input" aria-label="Expires" value={days} onChange={(e) => setDays(e.target.value)}>
        <option value="7">expires in 7 days</option>
        <option value="30">expires in 30 days</option>
        <option value="90">expires in 90 days</option>
        <option value="365">expires in a year</option>
        <option value="">never expires</option>
      </select>
      <input className="input" placeholder="scope: team=payments (optional)" aria-label="Cluster scope" value={scope} onChange={(e) => setScope(e.target.value)} />
      <button type="submit" className="btn btn-primary btn-small" disabled={create.isPending}>
        Create token
      </button>
      {create.isError && <div className="field-error">{errorMessage(create.error)}</div>}
    </form>
  );
}

function RevokeButton({ t }: { t: ApiToken }) {
  const qc = useQueryClient();
  const [asking, setAsking] = useState(false);
  const revoke = useMutation({
    mutationFn: () => api<void>(`/api/v1/tokens/${t.id}`, { method: 'DELETE' }),
    onSuccess: () => {
      setAsking(false);
      void qc.invalidateQueries({ queryKey: tokensKey });
    },
  });
  return (
    <>
      <button type="button" className="btn btn-small btn-danger-ghost" onClick={() => setAsking(true)}>
        Revoke
      </button>
      <Dialog
        open={asking}
        onClose={() => setAsking(false)}
        title={`Revoke token ${t.name}`}
        footer={
          <>
            <button type="button" className="btn btn-ghost" onClick={() => setAsking(false)}>
              Cancel
            </button>
            <button type="button" className="btn btn-danger" onClick={() => revoke.mutate()} disabled={revoke.isPending}>
              Revoke
            </button>
          </>
        }
      >
        <p>Everything using this token (and sessions signed in with it) stops working at once.</p>
        {revoke.isError && <div className="field-error">{errorMessage(revoke.error)}</div>}
      </Dialog>
    </>
  );
}

export default function Tokens() {
  const q = useQuery({ queryKey: tokensKey, queryFn: ({ signal }) => api<TokenList>('/api/v1/tokens', { signal }) });
  const [created, setCreated] = useState<CreatedToken | null>(null);
  return (
    <div className="page">
      <div className="page-head">
        <h1>API tokens</h1>
      </div>
      <CreateForm onCreated={setCreated} />
      {created && (
        <div className="secret card" role="status">
          <strong>Token {created.name} created.</strong> Copy it now: it is not shown again.
          <pre className="yaml" data-testid="new-token">{created.token}</pre>
          <button type="button" className="btn btn-small" onClick={() => void navigator.clipboard?.writeText(created.token)}>
            Copy
          </button>{' '}
          <button type="button" className="btn btn-small btn-ghost" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {q.isPending ? (
        <Skeleton rows={4} />
      ) : q.isError ? (
        <ErrorBox error={q.error} retry={() => void q.refetch()} />
      ) : q.data.items.length === 0 ? (
        <Empty title="No tokens yet">Create one for each person or pipeline that uses the API, with the least role it needs.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>Scope</th>
              <th>Secret starts</th>
              <th>Created</th>
              <th>Last used</th>
              <th>Expires</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {q.data.items.map((t) => (
              <tr key={t.id} className={t.revokedAt ? 'revoked' : undefined}>
                <td>
                  <strong>{t.name}</strong> {t.source !== 'api' && <span className="label">{t.source}</span>}
                </td>
                <td>{t.role}</td>
                <td>
                  {t.scope
                    ? Object.entries(t.scope).map(([k, v]) => (
                        <span key={k} className="label">
                          {k}={v}
                        </span>
                      ))
                    : 'all clusters'}
                </td>
                <td className="mono">{t.hint}</td>
                <td title={when(t.createdAt)}>
                  {ago(t.createdAt)} <span className="muted">by {t.createdBy}</span>
                </td>
                <td title={when(t.lastUsedAt)}>{ago(t.lastUsedAt)}</td>
                <td title={when(t.expiresAt)}>{t.revokedAt ? <span className="bad">revoked {ago(t.revokedAt)}</span> : t.expiresAt ? when(t.expiresAt) : 'never'}</td>
                <td>{!t.revokedAt && t.source === 'api' && <RevokeButton t={t} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
