import { describe, expect, it } from 'vitest';
import { parseFilter, showFilter } from './filter';

describe('notification filters', () => {
  it('parse lists, the name prefix and cluster labels, and print back the same line', () => {
    const f = parseFilter('kinds=ks,hr  namespaces=apps prefix=web env=prod bogus');
    expect(f).toEqual({ kinds: ['ks', 'hr'], namespaces: ['apps'], namePrefix: 'web', clusterLabels: { env: 'prod' } });
    expect(showFilter(f)).toBe('kinds=ks,hr namespaces=apps prefix=web env=prod');
    expect(showFilter({})).toBe('everything');
  });
});
