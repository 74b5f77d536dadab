import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { HealthBar } from './HealthBar';

describe('HealthBar', () => {
  it('shows segments worst first and says what they are', () => {
    render(<HealthBar counts={{ total: 10, ready: 7, failed: 2, stalled: 0, progressing: 1, suspended: 0, unknown: 0 }} />);
    const bar = screen.getByRole('img');
    expect(bar.getAttribute('aria-label')).toBe('2 failed, 1 progressing, 7 ready');
    expect([...bar.children].map((c) => c.className)).toEqual(['hbar-seg h-failed', 'hbar-seg h-progressing', 'hbar-seg h-ready']);
  });
  it('is empty without objects', () => {
    render(<HealthBar counts={{ total: 0, ready: 0, failed: 0, stalled: 0, progressing: 0, suspended: 0, unknown: 0 }} />);
    expect(screen.getByRole('img').getAttribute('aria-label')).toBe('no objects');
  });
});
