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
