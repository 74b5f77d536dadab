#!/usr/bin/env bash
# `make demo`: the real server on http://127.0.0.1:8080 with a private PostgreSQL under .data/
# and simulated clusters (flux-orchestrator sim) churning Flux objects. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
data=.data
port=${DEMO_PG_PORT:-55499}
bin=${BIN:-target/debug/flux-orchestrator}
clusters=${DEMO_CLUSTERS:-3}
listen=${DEMO_LISTEN:-127.0.0.1:8080}

mkdir -p "$data"
scripts/pg.sh start "$data/pg" "$port"
admin=$(scripts/pg.sh url "$port")
if ! psql "$admin" -Atc "SELECT 1 FROM pg_database WHERE datname = 'fluxo'" | grep -q 1; then
  psql "$admin" -qc "CREATE DATABASE fluxo"
fi
db="postgres://postgres@127.0.0.1:$port/fluxo"

rm -rf "$data/kubeconfigs"
pids=()
sim=
server=
# Stop in order: the server first (it logs every cluster it loses otherwise), then the
# simulator, then PostgreSQL.
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$sim" ]; then kill "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; fi
  scripts/pg.sh stop "$data/pg"
}
trap cleanup EXIT INT TERM

# The simulator runs in a session of its own, so Ctrl-C (SIGINT to the terminal's foreground
# processes) reaches the server only; cleanup stops the simulator after it.
setsid "$bin" sim --clusters "$clusters" --objects "${DEMO_OBJECTS:-5}" --namespaces 4 --churn "${DEMO_CHURN:-2}" \
  --workloads "${DEMO_WORKLOADS:-40}" --kubeconfig-dir "$data/kubeconfigs" &
sim=$!
pids+=("$sim")
# Authentication stays on: the demo's admin token is generated once and kept in .data/.
[ -s "$data/admin-token" ] || python3 -c 'import secrets; print("fluxo_demo_" + secrets.token_urlsafe(32))' > "$data/admin-token"
chmod 600 "$data/admin-token"
token=$(cat "$data/admin-token")
FLUXO_ADMIN_TOKEN="$token" "$bin" serve --listen "$listen" --database-url "$db" --dev-secret-key-file "$data/secret.key" &
server=$!
pids+=("$server")
# The simulator writes kubeconfigs with a fresh CA on each start: replace those of clusters the
# database still has from the last demo.
ADMIN_TOKEN="$token" SERVER_URL="http://$listen" KUBECONFIG_DIR="$data/kubeconfigs" \
  EXPECTED_CLUSTERS="$clusters" REPLACE_EXISTING=1 CLUSTER_LABELS=env=demo \
  CLUSTER_DESCRIPTION="Simulated cluster (flux-orchestrator sim)" python3 deploy/register-sim.py
echo
echo "  flux-orchestrator demo is running: http://$listen   (API docs: http://$listen/api/docs)"
echo "  Sign in at http://$listen/signin with the admin token (kept in $data/admin-token):"
echo "    $token"
echo "  curl works too: curl -H \"Authorization: Bearer \$(cat $data/admin-token)\" http://$listen/api/v1/clusters"
echo "  kubectl works too: kubectl --kubeconfig $data/kubeconfigs/sim-1.yaml get kustomizations -A"
echo "  Workloads (what Flux applied): http://$listen/workloads, e.g. http://$listen/workloads?image=nginx"
echo "  Ctrl-C stops the server, the simulator and PostgreSQL."
echo
wait -n "${pids[@]}"
