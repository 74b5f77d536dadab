// The roll-up of the workloads a Flux object applied, beside its own health ("workloads
// failed"); links to those workloads.
import { Link } from 'react-router';
import type { Resource } from '../api/types';

/** The roll-up of the workloads the object applied, when not ready: "workloads failed". */
export function RollUp({ r }: { r: Resource }) {
  if (!r.workloadHealth || r.workloadHealth === 'ready') return null;
  return (
    <Link
      className={`rollup h-${r.workloadHealth}`}
      to={`/workloads?owner=${r.id}`}
      title={`A workload it applied is ${r.workloadHealth}`}
      data-testid="rollup"
    >
      workloads {r.workloadHealth}
    </Link>
  );
}
