// Counts per health as one stacked bar, worst first, with a legend for screen readers.
import { HEALTHS, type HealthCounts } from '../api/types';
import { HEALTH_LABEL } from '../lib/flux';

export function HealthBar({ counts }: { counts: HealthCounts }) {
  const total = counts.total || 0;
  const parts = HEALTHS.filter((h) => counts[h] > 0);
  const text = parts.map((h) => `${counts[h]} ${HEALTH_LABEL[h].toLowerCase()}`).join(', ') || 'no objects';
  return (
    <div className="hbar" role="img" aria-label={text} title={text}>
      {total === 0 ? (
        <span className="hbar-empty" />
      ) : (
        parts.map((h) => <span key={h} className={`hbar-seg h-${h}`} style={{ flexGrow: counts[h] }} />)
      )}
    </div>
  );
}
