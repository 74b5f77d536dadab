import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { useLocation } from 'react-router';
import { renderAt } from '../test-utils';
import { AsOfBanner, AsOfControl } from './AsOf';

function Where() {
  const l = useLocation();
  return <output data-testid="where">{l.search}</output>;
}

describe('AsOfControl and AsOfBanner', () => {
  it('puts the date-time input into the URL, keeps the other parameters, and goes back to live', async () => {
    renderAt(
      <>
        <AsOfControl />
        <AsOfBanner />
        <Where />
      </>,
      { url: '/resources?health=failed' },
    );
    expect(screen.queryByTestId('asof-banner')).toBeNull();
    expect(screen.getByText('live')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('As of (date and time)'), { target: { value: '2026-03-10T14:03' } });
    const banner = await screen.findByTestId('asof-banner');
    expect(banner.textContent).toMatch(/Historical view — the fleet as of/);
    const search = new URLSearchParams(screen.getByTestId('where').textContent ?? '');
    expect(search.getAll('health')).toEqual(['failed']);
    expect(search.get('asOf')).toBe(new Date('2026-03-10T14:03').toISOString());
    fireEvent.click(screen.getByRole('button', { name: 'Back to live' }));
    expect(screen.queryByTestId('asof-banner')).toBeNull();
    expect(screen.getByTestId('where').textContent).toBe('?health=failed');
  });
});
