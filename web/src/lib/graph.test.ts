import { describe, expect, it } from 'vitest';
import type { GraphEdge, GraphNode } from '../api/types';
import { COLLAPSE_AT, collapse, fit, groupKey, groupLabel, layout, worst } from './graph';

function node(id: string, kind = 'ConfigMap', health: GraphNode['health'] = 'unknown'): GraphNode {
  return { id, clusterId: 'c', cluster: 'prod', apiGroup: '', kind, namespace: 'apps', name: id, stored: false, watched: false, health, depth: 1 };
}
const edge = (from: string, to: string, type: GraphEdge['type'] = 'inventory'): GraphEdge => ({ from, to, type });

describe('graph to layout', () => {
  const root = node('ks', 'Kustomization', 'ready');
  const maps = Array.from({ length: COLLAPSE_AT + 2 }, (_, i) => node(`cm${i}`, 'ConfigMap', i === 3 ? 'failed' : 'unknown'));
  const nodes = [root, node('src', 'GitRepository', 'ready'), node('hr', 'HelmRelease', 'ready'), ...maps];
  const edges = [edge('src', 'ks', 'source'), edge('ks', 'hr'), ...maps.map((m) => edge('ks', m.id))];

  it('collapses many leaves of one kind under one parent into a group with the worst health', () => {
    const c = collapse(nodes, edges, 'ks', new Set());
    const group = c.nodes.find((n) => n.group);
    expect(group?.key).toBe(groupKey('ks', 'ConfigMap'));
    expect(group?.group?.members).toHaveLength(COLLAPSE_AT + 2);
    expect(group?.health).toBe('failed');
    expect(c.nodes.map((n) => n.key).sort()).toEqual(['group:ks:ConfigMap', 'hr', 'ks', 'src']);
    expect(c.edges.map((e) => e.key).sort()).toEqual(['ks>group:ks:ConfigMap:inventory', 'ks>hr:inventory', 'src>ks:source']);
  });

  it('keeps an expanded group, few leaves, and leaves with two parents apart', () => {
    expect(collapse(nodes, edges, 'ks', new Set([groupKey('ks', 'ConfigMap')])).nodes).toHaveLength(nodes.length);
    const few = collapse(nodes.slice(0, 3 + COLLAPSE_AT), edges.slice(0, 2 + COLLAPSE_AT), 'ks', new Set());
    expect(few.nodes.some((n) => n.group)).toBe(false);
    const shared = collapse(nodes, [...edges, edge('hr', 'cm0')], 'ks', new Set());
    expect(shared.nodes.some((n) => n.key === 'cm0')).toBe(true);
  });

  it('applies live health over the answer', () => {
    const c = collapse(nodes, edges, 'ks', new Set(), (n) => (n.id === 'hr' ? 'failed' : n.health));
    expect(c.nodes.find((n) => n.key === 'hr')?.health).toBe('failed');
  });

  it('lays out left to right: sources, then the object, then what it applied', () => {
    const l = layout(collapse(nodes, edges, 'ks', new Set()));
    const x = (key: string) => l.nodes.find((n) => n.key === key)!.x;
    expect(x('src')).toBeLessThan(x('ks'));
    expect(x('ks')).toBeLessThan(x('hr'));
    expect(x('hr')).toBe(x('group:ks:ConfigMap'));
    expect(l.edges.every((e) => e.points.length >= 2)).toBe(true);
    expect(l.width).toBeGreaterThan(0);
  });

  it('lays out 500 nodes', () => {
    const many = Array.from({ length: 500 }, (_, i) => node(`n${i}`, i % 2 ? 'Deployment' : 'HelmRelease'));
    const es = many.slice(1).map((n, i) => edge(many[Math.floor(i / 4)]!.id, n.id));
    const l = layout(collapse(many, es, 'n0', new Set()));
    expect(l.nodes.length).toBeGreaterThan(100);
  });

  it('fits into the viewport without enlarging, and names groups', () => {
    expect(fit({ width: 1000, height: 500 }, 500, 500)).toEqual({ k: 0.5, x: 0, y: 125 });
    expect(fit({ width: 100, height: 100 }, 500, 500).k).toBe(1);
    expect(fit({ width: 0, height: 0 }, 500, 500)).toEqual({ k: 1, x: 0, y: 0 });
    expect(groupLabel('ConfigMap', 12)).toBe('+12 ConfigMaps');
    expect(groupLabel('Ingress', 2)).toBe('+2 Ingresses');
    expect(worst(['ready', 'suspended'])).toBe('suspended');
  });
});
