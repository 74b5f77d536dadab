// "The fleet at a moment": the `asOf` time in the URL (shareable), the slider's scale (minutes
// back over the last 24 h), and the resource query the server accepts with `asOf` (no
// `severity` sort, no label selectors: the change log keeps no labels).
import type { ListResourcesQuery } from '../api/types';

/** The slider reaches this many minutes back; its right end is "live". */
export const SLIDER_MINUTES = 24 * 60;

/** The URL's `asOf` as an RFC 3339 time, or undefined (live) when absent or unparsable. */
export function parseAsOf(params: URLSearchParams): string | undefined {
  const raw = params.get('asOf');
  if (!raw) return undefined;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** `params` with `asOf` set (or removed for live), everything else kept. */
export function withAsOf(params: URLSearchParams, asOf: string | undefined): URLSearchParams {
  const p = new URLSearchParams(params);
  if (asOf) p.set('asOf', asOf);
  else p.delete('asOf');
  return p;
}

/** A link to `path` (which may carry a query already) at the same moment. */
export function linkAt(path: string, asOf: string | undefined): string {
  if (!asOf) return path;
  return `${path}${path.includes('?') ? '&' : '?'}asOf=${encodeURIComponent(asOf)}`;
}

/** Where `asOf` sits on the slider: minutes before `now`, within 0..SLIDER_MINUTES. */
export function minutesBack(asOf: string | undefined, now: number): number {
  if (!asOf) return 0;
  const m = Math.round((now - Date.parse(asOf)) / 60_000);
  return Math.min(SLIDER_MINUTES, Math.max(0, m));
}

/** The time `m` minutes before `now` (to the minute); undefined (live) at 0. */
export function atMinutesBack(m: number, now: number): string | undefined {
  if (m <= 0) return undefined;
  const t = now - m * 60_000;
  return new Date(t - (t % 60_000)).toISOString();
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An RFC 3339 time as a `datetime-local` input's value (local time, to the minute). */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` input's value (local time) as RFC 3339; undefined when empty or invalid. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/**
 * The resource query for a past moment: `severity` (which the server refuses with `asOf`)
 * becomes `health`, the nearest order it keeps; label selectors are dropped (the caller says so).
 */
export function historicalQuery(q: ListResourcesQuery, asOf: string): ListResourcesQuery {
  const sort = q.sort === 'severity' ? 'health' : q.sort === '-severity' ? '-health' : q.sort;
  return { ...q, sort, label: undefined, asOf };
}
