import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import type { HealthTotals } from '../../api/queries';
import { parseFilter } from '../../lib/filters';
import { Filters } from './Filters';

function setup(counts?: HealthTotals) {
  vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify({ items: [] }), { status: 200 }));
  const onChange = vi.fn();
  const filter = parseFilter(new URLSearchParams('health=failed'));
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter>
        <Filters filter={filter} onChange={onChange} counts={counts} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return { onChange, filter };
}

describe('Filters', () => {
  it('focuses the search on "/"', () => {
    setup();
    fireEvent.keyDown(window, { key: '/' });
    expect(document.activeElement).toBe(screen.getByRole('searchbox'));
  });

  it('toggles health chips', () => {
    const { onChange } = setup();
    expect(screen.getByRole('button', { name: /Failed/ }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: /Stalled/ }));
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ health: ['failed', 'stalled'] }));
    fireEvent.click(screen.getByRole('button', { name: /Failed/ }));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ health: [] }));
  });

  it('applies the search text on Enter', () => {
    const { onChange } = setup();
    const box = screen.getByRole('searchbox');
    fireEvent.change(box, { target: { value: 'web' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ q: 'web' }));
  });

  it('shows how many objects each health chip would select', () => {
    const n = (count: number, capped = false) => ({ count, capped });
    setup({ failed: n(3), stalled: n(0), progressing: n(1), suspended: n(2), unknown: n(0), ready: n(10000, true) });
    expect(screen.getByRole('button', { name: /Failed/ }).textContent).toBe(' Failed3');
    expect(screen.getByTestId('health-count-ready').textContent).toBe('10,000+');
  });
});
