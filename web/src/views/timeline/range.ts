// The time range picker's presets: how far back the Timeline looks.
export const PRESETS = [
  { label: '15m', seconds: 15 * 60 },
  { label: '1h', seconds: 3600 },
  { label: '6h', seconds: 6 * 3600 },
  { label: '24h', seconds: 24 * 3600 },
  { label: '7d', seconds: 7 * 24 * 3600 },
] as const;

/** The `from` of a preset ending at `now`, as the API takes it (RFC 3339). */
export function fromFor(seconds: number, now: Date): string {
  return new Date(now.getTime() - seconds * 1000).toISOString();
}
