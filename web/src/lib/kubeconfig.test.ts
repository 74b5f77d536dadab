import { describe, expect, it } from 'vitest';
import { kubeconfigContexts } from './kubeconfig';

const config = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: https://127.0.0.1:6443}
contexts:
- name: dev
  context: {cluster: a, user: u}
- context: {cluster: a, user: u}
  name: prod
current-context: prod
users:
- name: u
  user: {token: x}
`;

describe('kubeconfigContexts', () => {
  it('lists contexts and the current one', () => {
    expect(kubeconfigContexts(config)).toEqual({ contexts: ['dev', 'prod'], current: 'prod' });
  });
  it('reads JSON kubeconfigs', () => {
    expect(kubeconfigContexts('{"contexts":[{"name":"x"}]}')).toEqual({ contexts: ['x'], current: null });
  });
  it('explains what is wrong', () => {
    expect(kubeconfigContexts('a: [')).toHaveProperty('error');
    expect(kubeconfigContexts('just text')).toEqual({ error: 'Not a kubeconfig: expected a YAML mapping.' });
    expect(kubeconfigContexts('kind: Config')).toEqual({ error: 'No contexts found in this kubeconfig.' });
  });
});
