import { describe, expect, it } from 'vitest';
import { duration, parseView, percent, viewToParams } from './view';

describe('reliability view', () => {
  it('reads the view from the URL, with defaults for what it does not know', () => {
    expect(parseView(new URLSearchParams('window=30d&group=label:env&cluster=a&kind=hr'))).toEqual({
      window: '30d', group: 'label:env', cluster: ['a'], kind: ['hr'], namespace: [],
    });
    expect(parseView(new URLSearchParams('window=1y&group=pods'))).toMatchObject({ window: '7d', group: 'cluster' });
    const v = parseView(new URLSearchParams('window=24h&group=kind&namespace=apps'));
    expect(parseView(viewToParams(v))).toEqual(v);
  });

  it('writes durations in two units and percentages without rounding up', () => {
    expect(duration(40)).toBe('40 s');
    expect(duration(0)).toBe('0 s');
    expect(duration(7_500)).toBe('2 h 5 min');
    expect(duration(3 * 86_400 + 4 * 3_600 + 59)).toBe('3 d 4 h');
    expect(duration(null)).toBe('—');
    expect(percent(99.999)).toBe('99.99 %');
    expect(percent(100)).toBe('100.00 %');
  });
});
