import { describe, expect, it } from 'vitest';
import { SLIDER_MINUTES, atMinutesBack, fromLocalInput, historicalQuery, linkAt, minutesBack, parseAsOf, toLocalInput, withAsOf } from './asof';

const now = Date.parse('2026-03-10T14:30:20Z');

describe('asOf in the URL', () => {
  it('is read as RFC 3339, and ignored when unparsable', () => {
    expect(parseAsOf(new URLSearchParams('asOf=2026-03-10T14:03:00Z'))).toBe('2026-03-10T14:03:00.000Z');
    expect(parseAsOf(new URLSearchParams('asOf=yesterday'))).toBeUndefined();
    expect(parseAsOf(new URLSearchParams('health=failed'))).toBeUndefined();
  });

  it('is set and removed without touching the other parameters', () => {
    const p = withAsOf(new URLSearchParams('health=failed&health=stalled'), '2026-03-10T14:03:00.000Z');
    expect(p.toString()).toBe('health=failed&health=stalled&asOf=2026-03-10T14%3A03%3A00.000Z');
    expect(withAsOf(p, undefined).toString()).toBe('health=failed&health=stalled');
  });

  it('follows links to the same moment', () => {
    expect(linkAt('/resources', undefined)).toBe('/resources');
    expect(linkAt('/resources?health=failed', '2026-03-10T14:03:00.000Z')).toBe('/resources?health=failed&asOf=2026-03-10T14%3A03%3A00.000Z');
    expect(linkAt('/resources', 'x')).toBe('/resources?asOf=x');
  });
});

describe('the slider', () => {
  it('maps minutes back to a time on the minute, 0 being live', () => {
    expect(atMinutesBack(0, now)).toBeUndefined();
    expect(atMinutesBack(27, now)).toBe('2026-03-10T14:03:00.000Z');
  });

  it('places a time on its scale, clamped to the last 24 h', () => {
    expect(minutesBack(undefined, now)).toBe(0);
    expect(minutesBack('2026-03-10T14:03:00Z', now)).toBe(27);
    expect(minutesBack('2026-03-01T00:00:00Z', now)).toBe(SLIDER_MINUTES);
    expect(minutesBack('2026-03-11T00:00:00Z', now)).toBe(0);
  });
});

describe('the date-time input', () => {
  it('round-trips a time to the minute in local time', () => {
    const iso = '2026-03-10T14:03:00.000Z';
    expect(fromLocalInput(toLocalInput(iso))).toBe(iso);
    expect(toLocalInput(undefined)).toBe('');
    expect(fromLocalInput('')).toBeUndefined();
    expect(fromLocalInput('not a date')).toBeUndefined();
  });
});

describe('the historical resource query', () => {
  it('replaces the severity sort the server refuses with asOf, and drops label selectors', () => {
    const q = historicalQuery({ health: ['failed'], label: ['team=a'], sort: 'severity' }, 'T');
    expect(q).toEqual({ health: ['failed'], label: undefined, sort: 'health', asOf: 'T' });
    expect(historicalQuery({ sort: '-severity' }, 'T').sort).toBe('-health');
    expect(historicalQuery({ sort: 'name' }, 'T').sort).toBe('name');
  });
});
