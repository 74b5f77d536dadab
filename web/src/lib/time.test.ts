import { describe, expect, it } from 'vitest';
import { ago } from './time';

describe('ago', () => {
  const now = Date.parse('2025-01-02T00:00:00Z');
  it.each([
    ['2025-01-01T23:59:55Z', '5s ago'],
    ['2025-01-01T23:57:00Z', '3m ago'],
    ['2025-01-01T22:00:00Z', '2h ago'],
    ['2024-12-20T00:00:00Z', '13d ago'],
    ['2025-01-03T00:00:00Z', '0s ago'],
  ])('%s → %s', (iso, text) => expect(ago(iso, now)).toBe(text));
  it('shows a dash for nothing', () => {
    expect(ago(undefined, now)).toBe('—');
    expect(ago('nope', now)).toBe('—');
  });
});
