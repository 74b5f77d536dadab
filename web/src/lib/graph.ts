// From the graph API's nodes and edges to what the Graph tab draws: leaves of one kind under one
// parent collapsed into a "+N ConfigMaps" group (until expanded), live health applied, and a
// left-to-right layout by dagre (sources → Flux objects → what they applied).
import dagre from '@dagrejs/dagre';
import type { EdgeType, GraphEdge, GraphNode, Health } from '../api/types';
import { HEALTHS } from '../api/types';

/** Leaves of one kind under one parent beyond this many collapse into a group. */
export const COLLAPSE_AT = 5;
export const NODE_W = 220;
export const NODE_H = 44;

/** A box to draw: one object, or a collapsed group of leaves. */
export interface VNode {
  key: string;
  /** The object (absent for a group). */
  node?: GraphNode;
  /** A group: the parent's id and the kind, the members. */
  group?: { parent: string; kind: string; members: GraphNode[] };
  health: Health;
  x: number;
  y: number;
}

export interface VEdge {
  key: string;
  from: string;
  to: string;
  type: EdgeType;
  points: { x: number; y: number }[];
}

export interface Layout {
  nodes: VNode[];
  edges: VEdge[];
  width: number;
  height: number;
}

/** Worst health of a group's members (a group of failing ConfigMaps must look failed). */
export function worst(hs: Health[]): Health {
  return hs.reduce<Health>((w, h) => (HEALTHS.indexOf(h) < HEALTHS.indexOf(w) ? h : w), 'ready');
}

export function groupKey(parent: string, kind: string): string {
  return `group:${parent}:${kind}`;
}

/**
 * Which nodes fold into which group: leaves (no outgoing edge) that have exactly one parent and
 * share that parent and kind with more than COLLAPSE_AT others, unless the group is expanded.
 */
export function groups(nodes: GraphNode[], edges: GraphEdge[], root: string, expanded: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, number>();
  const parents = new Map<string, string[]>();
  for (const e of edges) {
    out.set(e.from, (out.get(e.from) ?? 0) + 1);
    parents.set(e.to, [...(parents.get(e.to) ?? []), e.from]);
  }
  const byGroup = new Map<string, string[]>();
  for (const n of nodes) {
    const ps = parents.get(n.id) ?? [];
    if (n.id === root || out.get(n.id) || ps.length !== 1) continue;
    const key = groupKey(ps[0]!, n.kind);
    byGroup.set(key, [...(byGroup.get(key) ?? []), n.id]);
  }
  const member = new Map<string, string>();
  for (const [key, ids] of byGroup) {
    if (ids.length <= COLLAPSE_AT || expanded.has(key)) continue;
    for (const id of ids) member.set(id, key);
  }
  return member;
}

/** Nodes and edges with collapsed groups, and `health` overriding the API's (live updates). */
export function collapse(
  nodes: GraphNode[],
  edges: GraphEdge[],
  root: string,
  expanded: ReadonlySet<string>,
  health: (n: GraphNode) => Health = (n) => n.health,
): { nodes: Omit<VNode, 'x' | 'y'>[]; edges: Omit<VEdge, 'points'>[] } {
  const member = groups(nodes, edges, root, expanded);
  const vnodes = new Map<string, Omit<VNode, 'x' | 'y'>>();
  for (const n of nodes) {
    const g = member.get(n.id);
    if (!g) {
      vnodes.set(n.id, { key: n.id, node: n, health: health(n) });
      continue;
    }
    const existing = vnodes.get(g);
    const members = [...(existing?.group?.members ?? []), n];
    const parent = g.split(':')[1]!;
    vnodes.set(g, { key: g, group: { parent, kind: n.kind, members }, health: worst(members.map(health)) });
  }
  const vedges = new Map<string, Omit<VEdge, 'points'>>();
  for (const e of edges) {
    const from = member.get(e.from) ?? e.from;
    const to = member.get(e.to) ?? e.to;
    const key = `${from}>${to}:${e.type}`;
    if (from !== to && !vedges.has(key)) vedges.set(key, { key, from, to, type: e.type });
  }
  return { nodes: [...vnodes.values()], edges: [...vedges.values()] };
}

/** Positions by dagre, left to right; node x/y are top-left corners. */
export function layout(c: ReturnType<typeof collapse>): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 12, ranksep: 70, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of c.nodes) g.setNode(n.key, { width: NODE_W, height: NODE_H });
  for (const e of c.edges) g.setEdge(e.from, e.to, {}, e.key);
  dagre.layout(g);
  const nodes = c.nodes.map((n) => {
    const p = g.node(n.key) as { x: number; y: number };
    return { ...n, x: p.x - NODE_W / 2, y: p.y - NODE_H / 2 };
  });
  const edges = c.edges.map((e) => {
    const label = g.edge({ v: e.from, w: e.to, name: e.key }) as { points?: { x: number; y: number }[] } | undefined;
    return { ...e, points: label?.points ?? [] };
  });
  const size = g.graph() as { width?: number; height?: number };
  return { nodes, edges, width: size.width ?? 0, height: size.height ?? 0 };
}

/** The scale and offset that fit a layout into a viewport (never above 1:1). */
export function fit(l: { width: number; height: number }, vw: number, vh: number): { k: number; x: number; y: number } {
  if (l.width <= 0 || l.height <= 0 || vw <= 0 || vh <= 0) return { k: 1, x: 0, y: 0 };
  const k = Math.min(1, vw / l.width, vh / l.height);
  return { k, x: (vw - l.width * k) / 2, y: (vh - l.height * k) / 2 };
}

/** "+12 ConfigMaps". */
export function groupLabel(kind: string, n: number): string {
  return `+${n} ${kind}${kind.endsWith('s') ? 'es' : 's'}`;
}
