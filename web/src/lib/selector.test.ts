import { describe, expect, it } from 'vitest';
import { matchesSelectors, parseSelector } from './selector';

describe('label selectors', () => {
  it('parse as kubectl -l does', () => {
    expect(parseSelector('app=web, tier!=db,env in (prod, staging),!legacy,owner,x==y')).toEqual([
      { op: 'eq', key: 'app', value: 'web' },
      { op: 'ne', key: 'tier', value: 'db' },
      { op: 'in', key: 'env', values: ['prod', 'staging'] },
      { op: 'absent', key: 'legacy' },
      { op: 'exists', key: 'owner' },
      { op: 'eq', key: 'x', value: 'y' },
    ]);
    expect(parseSelector('a in (b')).toBeNull();
    expect(parseSelector('a,,b')).toBeNull();
  });

  it('match absent labels like the server (!= and notin hold, = and in do not)', () => {
    const labels = { team: 'payments' };
    expect(matchesSelectors(labels, ['env!=prod'])).toBe(true);
    expect(matchesSelectors(labels, ['env notin (prod)'])).toBe(true);
    expect(matchesSelectors(labels, ['env=prod'])).toBe(false);
    expect(matchesSelectors(labels, ['env in (prod)'])).toBe(false);
    expect(matchesSelectors(labels, ['team notin (payments)'])).toBe(false);
    expect(matchesSelectors(labels, ['team=payments', '!env'])).toBe(true);
    expect(matchesSelectors(labels, ['bad (selector'])).toBe(false);
  });
});
