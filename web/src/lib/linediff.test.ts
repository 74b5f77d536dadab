import { describe, expect, it } from 'vitest';
import { changedRows, fold, sideBySide } from './linediff';

const kinds = (a: string[], b: string[]) => sideBySide(a, b).map((r) => r.kind);

describe('sideBySide', () => {
  it('pairs a changed line and keeps the lines around it aligned', () => {
    const rows = sideBySide(['spec:', '  interval: 10m', '  path: ./web'], ['spec:', '  interval: 5m', '  path: ./web']);
    expect(rows.map((r) => r.kind)).toEqual(['same', 'changed', 'same']);
    expect(rows[1]).toMatchObject({ left: { n: 2, text: '  interval: 10m' }, right: { n: 2, text: '  interval: 5m' } });
  });

  it('shows added and removed lines against a gap', () => {
    expect(kinds(['a', 'c'], ['a', 'b', 'c'])).toEqual(['same', 'added', 'same']);
    expect(kinds(['a', 'b', 'c'], ['a', 'c'])).toEqual(['same', 'removed', 'same']);
    const rows = sideBySide(['a', 'x', 'c'], ['a', 'y', 'z', 'c']);
    expect(rows.map((r) => r.kind)).toEqual(['same', 'changed', 'added', 'same']);
    expect(rows[2]!.left).toBeUndefined();
    expect(rows[3]).toMatchObject({ left: { n: 3 }, right: { n: 4 } });
  });

  it('finds the common lines between changes (not only a shared prefix and suffix)', () => {
    const a = ['k: 1', 'keep', 'm: 1', 'keep2', 'z: 1'];
    const b = ['k: 2', 'keep', 'm: 2', 'keep2', 'z: 2'];
    expect(kinds(a, b)).toEqual(['changed', 'same', 'changed', 'same', 'changed']);
  });

  it('handles empty sides', () => {
    expect(kinds([], ['a'])).toEqual(['added']);
    expect(kinds(['a'], [])).toEqual(['removed']);
    expect(kinds([], [])).toEqual([]);
  });
});

describe('fold', () => {
  it('keeps three lines of context and folds the rest', () => {
    const a = Array.from({ length: 20 }, (_, i) => `line ${i}`);
    const b = [...a];
    b[10] = 'changed';
    const rows = fold(sideBySide(a, b));
    expect(rows.map((r) => r.kind)).toEqual(['fold', 'same', 'same', 'same', 'changed', 'same', 'same', 'same', 'fold']);
    expect(rows[0]!.hidden).toBe(7);
    expect(rows[8]!.hidden).toBe(6);
    expect(changedRows(rows)).toBe(1);
  });

  it('keeps everything when nothing is far from a change', () => {
    expect(fold(sideBySide(['a', 'b'], ['a', 'c'])).map((r) => r.kind)).toEqual(['same', 'changed']);
  });
});
