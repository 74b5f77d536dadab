import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toYaml } from './yaml';

const object = {
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: 'app-0', namespace: 'apps', labels: { 'app.kubernetes.io/part-of': 'flux-sim' }, annotations: {} },
  spec: {
    interval: '10m',
    path: './deploy',
    prune: true,
    suspend: false,
    dependsOn: [{ name: 'infra' }, { name: 'crds', namespace: 'flux-system' }],
    postBuild: { substitute: { version: '1.0', on: 'yes', empty: '', n: '0123' } },
  },
  status: {
    conditions: [{ type: 'Ready', status: 'False', message: 'health check failed: timeout\ndeployment/web not ready' }],
    inventory: { entries: [] },
    observedGeneration: 3,
    lastAppliedRevision: 'main@sha1:1a2b',
    note: null,
    weird: 'a: b # c',
  },
};

describe('toYaml', () => {
  it('round-trips through a real YAML parser', () => {
    expect(parse(toYaml(object))).toEqual(object);
  });

  it('looks like kubectl output', () => {
    const text = toYaml(object);
    expect(text).toContain('metadata:\n  name: app-0\n  namespace: apps\n');
    expect(text).toContain('  dependsOn:\n  - name: infra\n  - name: crds\n    namespace: flux-system\n');
    expect(text).toContain('version: "1.0"');
    expect(text).toContain('annotations: {}');
  });

  it('handles scalars and top-level arrays', () => {
    expect(toYaml('x')).toBe('x\n');
    expect(parse(toYaml([1, 'two', { three: 3 }, []]))).toEqual([1, 'two', { three: 3 }, []]);
  });
});
