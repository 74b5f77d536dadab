import { describe, expect, it } from 'vitest';
import { PRESETS, fromFor } from './range';

describe('timeline range presets', () => {
  it('go back from now by their length, in RFC 3339', () => {
    const now = new Date('2026-01-31T12:00:00Z');
    expect(fromFor(3600, now)).toBe('2026-01-31T11:00:00.000Z');
    expect(PRESETS.map((p) => p.label)).toEqual(['15m', '1h', '6h', '24h', '7d']);
  });
});
