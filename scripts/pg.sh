#!/usr/bin/env bash
# A private PostgreSQL for tests and the demo, from the Debian `postgresql` package's binaries.
#   scripts/pg.sh start DIR PORT [fast]  -> initialises DIR if needed, starts the server on
#                                  127.0.0.1:PORT ("fast": fsync off, for throwaway test data)
#   scripts/pg.sh stop DIR
#   scripts/pg.sh url PORT         -> prints the DATABASE_URL for it
# TLS and authentication for tests, read by `start`:
#   PG_SSL_CERT, PG_SSL_KEY  PEM files: copied into DIR (owner-only) and served with ssl=on
#   PG_HBA                   a pg_hba.conf to use instead of initdb's (trust for everyone)
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
    owner=$(stat -c %U "$dir")
    if [ -n "${PG_SSL_CERT:-}" ]; then
      # PostgreSQL refuses a key file that others may read.
      install -m 600 -o "$owner" "$PG_SSL_CERT" "$dir/server.crt"
      install -m 600 -o "$owner" "$PG_SSL_KEY" "$dir/server.key"
      extra="$extra -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
    fi
    if [ -n "${PG_HBA:-}" ]; then
      install -m 600 -o "$owner" "$PG_HBA" "$dir/pg_hba.conf"
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
