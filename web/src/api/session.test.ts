import { describe, expect, it } from 'vitest';
import { safeNext, signInUrl } from './session';

describe('sign-in redirects', () => {
  it('comes back to where the user was', () => {
    expect(signInUrl('/resources?health=failed')).toBe('/signin?next=%2Fresources%3Fhealth%3Dfailed');
    expect(signInUrl('/')).toBe('/signin');
    expect(safeNext('/resources?health=failed')).toBe('/resources?health=failed');
  });
  it('never follows another site', () => {
    expect(safeNext('//evil.example/x')).toBe('/');
    expect(safeNext('https://evil.example')).toBe('/');
    expect(safeNext(null)).toBe('/');
    expect(safeNext('/signin')).toBe('/');
  });
});
