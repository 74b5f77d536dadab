// The "as of" control of the overview and the resources table: a slider over the last 24 h
// and a date-time input, both writing `asOf` into the URL (so a past view can be shared); a
// banner while the view is historical, and the 410 (history pruned) said plainly.
import { useCallback, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import type { ApiError } from '../api/client';
import { SLIDER_MINUTES, atMinutesBack, fromLocalInput, minutesBack, parseAsOf, toLocalInput, withAsOf } from '../lib/asof';
import { when } from '../lib/time';

/** The view's moment (undefined: live) and a setter that keeps the URL's other parameters. */
export function useAsOf(): [string | undefined, (asOf: string | undefined) => void] {
  const [params, setParams] = useSearchParams();
  const asOf = parseAsOf(params);
  const set = useCallback((next: string | undefined) => setParams((p) => withAsOf(p, next), { replace: true }), [setParams]);
  return [asOf, set];
}

function slideLabel(m: number): string {
  if (m === 0) return 'live';
  const h = Math.floor(m / 60);
  return `${h ? `${h}h ` : ''}${m % 60}m ago`;
}

/** The slider (minutes back; committed once dragging pauses) and the date-time input. */
export function AsOfControl() {
  const [asOf, setAsOf] = useAsOf();
  const [now, setNow] = useState(() => Date.now());
  const [dragged, setDragged] = useState<number | null>(null);
  useEffect(() => {
    if (dragged === null) return;
    const t = setTimeout(() => {
      setAsOf(atMinutesBack(dragged, now));
      setDragged(null);
    }, 300);
    return () => clearTimeout(t);
  }, [dragged, now, setAsOf]);
  const m = dragged ?? minutesBack(asOf, now);
  // Under a minute back is still the past: only an unset asOf is "live".
  const label = dragged === null && asOf && m === 0 ? 'under 1m ago' : slideLabel(m);
  return (
    <div className="asof" role="group" aria-label="Show the fleet at a moment">
      <label className="small muted" htmlFor="asof-slider">
        As of
      </label>
      <input
        id="asof-slider"
        type="range"
        min={-SLIDER_MINUTES}
        max={0}
        step={1}
        value={-m}
        aria-valuetext={label}
        onPointerDown={() => setNow(Date.now())}
        onChange={(e) => setDragged(-Number(e.target.value))}
      />
      <span className="small nowrap asof-label">{label}</span>
      <input
        type="datetime-local"
        aria-label="As of (date and time)"
        className="input input-small"
        value={toLocalInput(asOf)}
        onChange={(e) => setAsOf(fromLocalInput(e.target.value))}
      />
    </div>
  );
}

/** The banner of a historical view, with the way back to live. */
export function AsOfBanner() {
  const [asOf, setAsOf] = useAsOf();
  if (!asOf) return null;
  return (
    <div className="notice historical" role="status" data-testid="asof-banner">
      <strong>Historical view — the fleet as of {when(asOf)}.</strong> Live updates are paused.
      <button type="button" className="btn btn-small btn-primary" onClick={() => setAsOf(undefined)}>
        Back to live
      </button>
    </div>
  );
}

/** A 410 `history_pruned`, plainly: what is the oldest moment that can still be shown. */
export function PrunedBox({ error }: { error: ApiError }) {
  const [asOf, setAsOf] = useAsOf();
  return (
    <div className="error-box" role="alert" data-testid="asof-pruned">
      <span>
        The fleet as of {when(asOf)} cannot be shown: history before {error.oldest ? when(error.oldest) : 'the oldest kept change'} is no
        longer kept.
      </span>
      {error.oldest && (
        <button type="button" className="btn btn-small" onClick={() => setAsOf(error.oldest)}>
          Show the oldest available ({when(error.oldest)})
        </button>
      )}
      <button type="button" className="btn btn-small" onClick={() => setAsOf(undefined)}>
        Back to live
      </button>
    </div>
  );
}
