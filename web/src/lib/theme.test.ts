import { describe, expect, it } from 'vitest';
import { loadPref, resolve, savePref } from './theme';

describe('theme', () => {
  it('follows the OS unless the user chose', () => {
    expect(resolve('system', true)).toBe('dark');
    expect(resolve('system', false)).toBe('light');
    expect(resolve('light', true)).toBe('light');
  });
  it('remembers the choice', () => {
    savePref('dark');
    expect(loadPref()).toBe('dark');
    savePref('system');
    expect(loadPref()).toBe('system');
  });
});
