// Add or edit a cluster: paste or upload a kubeconfig, choose its context. The server checks
// it; its message is shown next to the field it is about.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useNavigate } from 'react-router';
import { api, ApiError, errorMessage } from '../../api/client';
import type { Cluster, CreateCluster, UpdateCluster } from '../../api/types';
import { kubeconfigContexts } from '../../lib/kubeconfig';
import { keys } from '../../live/cache';

type Field = 'name' | 'kubeconfig' | 'labels' | 'form';

/** Which field a server error is about. */
export function fieldOf(e: unknown): Field {
  if (!(e instanceof ApiError)) return 'form';
  const m = e.message.toLowerCase();
  if (e.code === 'kubeconfig_refused' || e.code === 'address_refused' || m.includes('kubeconfig') || m.includes('context'))
    return 'kubeconfig';
  if (e.status === 409 || m.startsWith('name ') || m.startsWith('a cluster named')) return 'name';
  if (m.startsWith('label') || m.includes(' labels ')) return 'labels';
  return 'form';
}

function parseLabels(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of text.split(/[,\n]/).map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) return `"${part}" is not key=value`;
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

export function ClusterForm({ cluster, onDone }: { cluster?: Cluster; onDone: () => void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState(cluster?.name ?? '');
  const [description, setDescription] = useState(cluster?.description ?? '');
  const [labels, setLabels] = useState(Object.entries(cluster?.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', '));
  const [kubeconfig, setKubeconfig] = useState('');
  const [context, setContext] = useState('');
  const [allowInsecure, setAllowInsecure] = useState(false);
  const info = useMemo(() => (kubeconfig.trim() ? kubeconfigContexts(kubeconfig) : null), [kubeconfig]);
  const contexts = info && 'contexts' in info ? info.contexts : [];
  const chosen = context && contexts.includes(context) ? context : info && 'contexts' in info ? (info.current ?? contexts[0] ?? '') : '';

  const save = useMutation({
    mutationFn: async () => {
      const l = parseLabels(labels);
      if (typeof l === 'string') throw new ApiError(400, 'invalid', `labels: ${l}`);
      if (cluster) {
        const body: UpdateCluster = { name, description, labels: l };
        if (kubeconfig.trim()) Object.assign(body, { kubeconfig, context: chosen || undefined, allowInsecure });
        return api<Cluster>(`/api/v1/clusters/${cluster.id}`, { method: 'PATCH', body });
      }
      const body: CreateCluster = { name, description, labels: l, kubeconfig, context: chosen || undefined, allowInsecure };
      return api<Cluster>('/api/v1/clusters', { method: 'POST', body });
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: keys.clusters });
      void qc.invalidateQueries({ queryKey: keys.stats });
      onDone();
      navigate('/clusters');
    },
  });
  const errField = save.isError ? fieldOf(save.error) : null;
  const err = (f: Field) =>
    errField === f ? (
      <div className="field-error" role="alert" id={`err-${f}`}>
        {errorMessage(save.error)}
      </div>
    ) : null;

  const onFile = async (file: File | undefined) => {
    if (!file) return;
    setKubeconfig(await file.text());
  };

  return (
    <form
      className="form"
      aria-label={cluster ? `Edit cluster ${cluster.name}` : 'Add a cluster'}
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <label className="field">
        <span>Name</span>
        <input className="input" name="name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="prod-eu-1" aria-invalid={errField === 'name'} aria-describedby="err-name" autoFocus={!cluster} />
        <small className="muted">A DNS-1123 label: lower-case letters, digits and dashes.</small>
        {err('name')}
      </label>
      <label className="field">
        <span>Description</span>
        <input className="input" name="description" value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <label className="field">
        <span>Labels</span>
        <input className="input" name="labels" value={labels} onChange={(e) => setLabels(e.target.value)} placeholder="env=prod, team=payments" aria-invalid={errField === 'labels'} />
        {err('labels')}
      </label>
      <div className="field">
        <label htmlFor="kubeconfig">
          <span>Kubeconfig {cluster && <span className="muted">(leave empty to keep the current credentials)</span>}</span>
        </label>
        <textarea
          id="kubeconfig"
          name="kubeconfig"
          className="input mono kubeconfig"
          rows={10}
          required={!cluster}
          spellCheck={false}
          value={kubeconfig}
          onChange={(e) => setKubeconfig(e.target.value)}
          placeholder="Paste the output of: kubectl config view --minify --flatten --context NAME"
          aria-invalid={errField === 'kubeconfig'}
          aria-describedby="err-kubeconfig"
        />
        <div className="row">
          <label className="btn btn-small file-btn">
            Upload file…
            <input type="file" accept=".yaml,.yml,.json,.conf,.config,text/*" className="visually-hidden" onChange={(e) => void onFile(e.target.files?.[0])} />
          </label>
          {info && 'error' in info && <span className="field-warn">{info.error}</span>}
          {contexts.length > 0 && (
            <label className="inline">
              Context{' '}
              <select className="input" name="context" value={chosen} onChange={(e) => setContext(e.target.value)}>
                {contexts.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            </label>
          )}
        </div>
        <small className="muted">
          Only the chosen context is kept, encrypted. Refused: exec plugins and auth-providers (they would run programs on the server), file paths, and —
          unless allowed below — insecure TLS and plain http.
        </small>
        {err('kubeconfig')}
      </div>
      <label className="check">
        <input type="checkbox" checked={allowInsecure} onChange={(e) => setAllowInsecure(e.target.checked)} /> Allow insecure-skip-tls-verify and http:// servers
      </label>
      {err('form')}
      <div className="form-foot">
        <button type="button" className="btn btn-ghost" onClick={() => { onDone(); navigate('/clusters'); }}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          {save.isPending ? 'Checking…' : cluster ? 'Save' : 'Add cluster'}
        </button>
      </div>
    </form>
  );
}
