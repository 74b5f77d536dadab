#!/usr/bin/env bash
# A private PostgreSQL for tests and the demo, from the Debian `postgresql` package's binaries.
#   scripts/pg.sh start DIR PORT [fast]  -> initialises DIR if needed, starts the server on
#                                  127.0.0.1:PORT ("fast": fsync off, for throwaway test data)
#   scripts/pg.sh stop DIR
#   scripts/pg.sh url PORT         -> prints the DATABASE_URL for it
# As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    echo "PostgreSQL server binaries not found: apt-get install -y postgresql" >&2
    exit 1
  fi
  echo "$d"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}; shift || true
case "$cmd" in
  start)
    dir=$1; port=$2; bin=$(bindir)
    extra=""; [ "${3:-}" = fast ] && extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir" && chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      echo "PostgreSQL already running in $dir" >&2; exit 0
    fi
    as_owner "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c shared_buffers=256MB $extra" >/dev/null
    ;;
  stop)
    dir=$1; bin=$(bindir)
    [ -f "$dir/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  url)
    echo "postgres://postgres@127.0.0.1:$1/postgres"
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR | url PORT" >&2; exit 2 ;;
esac
