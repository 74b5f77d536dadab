#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing at a PostgreSQL server whose user may create
# databases. Uses $DATABASE_URL if set; otherwise starts a throwaway private server on a free
# port and stops and removes it afterwards. The throwaway server runs with fsync off unless
# PG_DURABLE=1 (benchmarks use durable commits, so their figures are honest).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${DATABASE_URL:-}" ]; then
  exec "$@"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d /tmp/fluxo-pg.XXXXXX)
chmod 755 "$dir"
cleanup() { "$here/pg.sh" stop "$dir/data"; rm -rf "$dir"; }
trap cleanup EXIT
mode=fast; [ "${PG_DURABLE:-0}" = 1 ] && mode=durable
"$here/pg.sh" start "$dir/data" "$port" "$mode"
DATABASE_URL=$("$here/pg.sh" url "$port")
export DATABASE_URL
echo "with-pg: private PostgreSQL on 127.0.0.1:$port" >&2
"$@"
