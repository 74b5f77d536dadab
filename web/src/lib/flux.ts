// What the UI knows about Flux kinds and health: labels, order, and which actions apply.
import type { Health, Resource } from '../api/types';

export const HEALTH_LABEL: Record<Health, string> = {
  ready: 'Ready',
  progressing: 'Progressing',
  failed: 'Failed',
  stalled: 'Stalled',
  suspended: 'Suspended',
  unknown: 'Unknown',
};

/** Kinds in the order Flux's docs list them. */
export const KINDS = [
  'Kustomization', 'HelmRelease', 'GitRepository', 'OCIRepository', 'HelmRepository', 'HelmChart', 'Bucket',
  'ImageRepository', 'ImagePolicy', 'ImageUpdateAutomation', 'Alert', 'Provider', 'Receiver',
] as const;

/** Plural and short names the server accepts for each kind (src/flux/kinds.rs). */
const KIND_ALIASES: Record<(typeof KINDS)[number], [string, string]> = {
  Kustomization: ['kustomizations', 'ks'],
  HelmRelease: ['helmreleases', 'hr'],
  GitRepository: ['gitrepositories', 'gitrepo'],
  OCIRepository: ['ocirepositories', 'ocirepo'],
  HelmRepository: ['helmrepositories', 'helmrepo'],
  HelmChart: ['helmcharts', 'hc'],
  Bucket: ['buckets', 'bucket'],
  ImageRepository: ['imagerepositories', 'imgrepo'],
  ImagePolicy: ['imagepolicies', 'imgpol'],
  ImageUpdateAutomation: ['imageupdateautomations', 'iua'],
  Alert: ['alerts', 'alert'],
  Provider: ['providers', 'provider'],
  Receiver: ['receivers', 'receiver'],
};

/** The known kinds in their order, then any other of `seen` (kinds found by discovery), sorted. */
export function kindsWith(seen: readonly string[]): string[] {
  const known: readonly string[] = KINDS;
  const extra = [...new Set(seen)].filter((k) => k && !known.includes(k)).sort();
  return [...known, ...extra];
}

/** The kind a user typed (`ks`, `kustomizations`, `Kustomization`, any case), as the server resolves it. */
export function kindOf(typed: string): string | undefined {
  const t = typed.trim().toLowerCase();
  return KINDS.find((k) => k.toLowerCase() === t || KIND_ALIASES[k].includes(t));
}

/** Kinds a controller reconciles and that can be suspended (notification v1beta3 Alert/Provider are static). */
export function canReconcile(kind: string): boolean {
  return kind !== 'Alert' && kind !== 'Provider';
}

export function isHelmRelease(r: Pick<Resource, 'kind'>): boolean {
  return r.kind === 'HelmRelease';
}

/** The short revision people compare: `main@sha1:1a2b3c4` from `main@sha1:1a2b3c4d5e…`. */
export function shortRevision(rev: string | null | undefined): string {
  if (!rev) return '';
  const m = /^(.*?)(sha1|sha256):([0-9a-f]+)$/.exec(rev);
  if (m) return `${m[1]}${m[2]}:${m[3]!.slice(0, 7)}`;
  return rev.length > 40 ? rev.slice(0, 40) + '…' : rev;
}
