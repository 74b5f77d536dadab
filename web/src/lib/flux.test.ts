import { describe, expect, it } from 'vitest';
import { canReconcile, kindsWith, shortRevision } from './flux';

describe('flux helpers', () => {
  it('shortens revisions like flux get does', () => {
    expect(shortRevision('main@sha1:1a2b3c4d5e6f7a8b9c0d')).toBe('main@sha1:1a2b3c4');
    expect(shortRevision('sha256:abcdef0123456789')).toBe('sha256:abcdef0');
    expect(shortRevision('6.1.2')).toBe('6.1.2');
    expect(shortRevision(undefined)).toBe('');
  });
  it('knows static kinds', () => {
    expect(canReconcile('Alert')).toBe(false);
    expect(canReconcile('Kustomization')).toBe(true);
  });
});

describe('kindsWith', () => {
  it('keeps the known kinds first and adds discovered ones once, sorted', () => {
    const kinds = kindsWith(['ResourceSet', 'Kustomization', 'FluxInstance', 'ResourceSet', '']);
    expect(kinds.slice(0, 2)).toEqual(['Kustomization', 'HelmRelease']);
    expect(kinds.slice(-2)).toEqual(['FluxInstance', 'ResourceSet']);
    expect(kinds.filter((k) => k === 'Kustomization')).toHaveLength(1);
  });
});
