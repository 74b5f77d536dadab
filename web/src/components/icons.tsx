// Health and kind icons: the same shape and colour for a state or kind everywhere.
import type { Health } from '../api/types';
import { HEALTH_LABEL } from '../lib/flux';

const HEALTH_PATH: Record<Health, string> = {
  ready: 'M4.5 8.5l2.5 2.5 4.5-5', // check
  progressing: 'M8 3.5a4.5 4.5 0 1 1-4.5 4.5', // arc
  failed: 'M5.5 5.5l5 5M10.5 5.5l-5 5', // cross
  stalled: 'M8 4.5v4.5M8 11.2v.3', // exclamation
  suspended: 'M6.3 5.3v5.4M9.7 5.3v5.4', // pause
  unknown: 'M6.3 6.3a1.8 1.8 0 1 1 2.4 1.7c-.5.2-.7.6-.7 1.1v.4M8 11.3v.2', // question
};

export function HealthIcon({ health, size = 14 }: { health: Health; size?: number }) {
  return (
    <svg className={`hicon h-${health}${health === 'progressing' ? ' spin' : ''}`} width={size} height={size} viewBox="0 0 16 16" role="img" aria-label={HEALTH_LABEL[health]}>
      <circle cx="8" cy="8" r="7.5" className="hicon-bg" />
      <path d={HEALTH_PATH[health]} fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

export function HealthBadge({ health }: { health: Health }) {
  return (
    <span className={`badge h-${health}`} data-health={health}>
      <HealthIcon health={health} size={12} />
      {HEALTH_LABEL[health]}
    </span>
  );
}

// One glyph per kind family; letters tell the kinds of a family apart.
const KIND_GLYPH: Record<string, { path: string; tag: string }> = {
  Kustomization: { path: 'M2 5l6-3 6 3-6 3zM2 8l6 3 6-3M2 11l6 3 6-3', tag: 'ks' },
  HelmRelease: { path: 'M8 2v3M8 11v3M2 8h3M11 8h3M3.8 3.8l2.1 2.1M10.1 10.1l2.1 2.1M3.8 12.2l2.1-2.1M10.1 5.9l2.1-2.1', tag: 'hr' },
  GitRepository: { path: 'M5 3v10M5 6a3 3 0 0 0 3 3h1M11 9a1.5 1.5 0 1 0 0 .01M5 3.5a1.5 1.5 0 1 0 0 .01', tag: 'git' },
  OCIRepository: { path: 'M2 5l6-3 6 3v6l-6 3-6-3zM2 5l6 3 6-3M8 8v6', tag: 'oci' },
  HelmRepository: { path: 'M3 3h10v10H3zM3 6.5h10M6.5 6.5V13', tag: 'hrepo' },
  HelmChart: { path: 'M3 13V3h10v10zM5.5 10V6l2.5 2.5L10.5 6v4', tag: 'chart' },
  Bucket: { path: 'M2.5 4h11l-1.5 9h-8zM2.5 4c0-1 2.5-1.5 5.5-1.5s5.5.5 5.5 1.5', tag: 'bkt' },
  ImageRepository: { path: 'M2 3h12v10H2zM2 10l3.5-3.5L9 10l2-2 3 3', tag: 'img' },
  ImagePolicy: { path: 'M8 2l5 2v4c0 3-2.2 5-5 6-2.8-1-5-3-5-6V4zM6 8l1.5 1.5L10.5 6.5', tag: 'pol' },
  ImageUpdateAutomation: { path: 'M13 8a5 5 0 1 1-1.5-3.5M13 2.5v3h-3', tag: 'auto' },
  Alert: { path: 'M4 11V7a4 4 0 0 1 8 0v4l1 1.5H3zM6.5 14h3', tag: 'alert' },
  Provider: { path: 'M2.5 6.5v3h2l5 3v-9l-5 3zM12 6a3 3 0 0 1 0 4', tag: 'prov' },
  Receiver: { path: 'M2 9l2-6h8l2 6v4H2zM2 9h3.5a2.5 2.5 0 0 0 5 0H14', tag: 'recv' },
};

export function KindIcon({ kind, size = 14 }: { kind: string; size?: number }) {
  const g = KIND_GLYPH[kind] ?? { path: 'M3 3h10v10H3z', tag: '' };
  return (
    <svg className="kicon" width={size} height={size} viewBox="0 0 16 16" role="img" aria-label={kind}>
      <title>{kind}</title>
      <path d={g.path} fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return <span className="spinner" role="status" aria-label={label} />;
}
