#!/usr/bin/env bash
# A private PostgreSQL primary and a hot standby that streams from it (physical replication),
# for the read-standby tests. Both listen on 127.0.0.1 and run as the user scripts/pg.sh uses.
#   scripts/pg-standby.sh start DIR PRIMARY_PORT STANDBY_PORT
#        -> DIR/primary (scripts/pg.sh, fast mode), then DIR/standby: `pg_basebackup -R`
#           (which writes standby.signal and primary_conninfo) and started as a hot standby
#   scripts/pg-standby.sh kill-standby DIR   -> stop the standby at once (immediate shutdown)
#   scripts/pg-standby.sh start-standby DIR STANDBY_PORT -> start it again (it catches up)
#   scripts/pg-standby.sh stop DIR           -> stop both (the caller removes DIR)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/pg_basebackup" ]; then
  echo "PostgreSQL server binaries not found: apt-get install -y postgresql" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_standby() {
  local dir=$1 port=$2
  # A hot standby needs max_connections at least the primary's (scripts/pg.sh: 300).
  as_owner "$bin/pg_ctl" -D "$dir/standby" -w -t 60 -l "$dir/standby/server.log" start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/standby -c hot_standby=on -c max_connections=300 -c fsync=off -c shared_buffers=32MB" >/dev/null
}

cmd=${1:-}; shift || true
case "$cmd" in
  start)
    dir=$1; primary=$2; standby=$3
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd); chmod 755 "$dir"
    # initdb's trust rules include replication connections from 127.0.0.1, and PostgreSQL's
    # defaults (wal_level=replica, max_wal_senders=10) allow a streaming standby.
    "$here/pg.sh" start "$dir/primary" "$primary" fast
    mkdir -p "$dir/standby"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/standby"
    chmod 700 "$dir/standby"
    as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir/standby" \
      -R -X stream -c fast 2> >(grep -v "skipping special file" >&2)
    start_standby "$dir" "$standby"
    ;;
  start-standby)
    start_standby "$1" "$2"
    ;;
  kill-standby)
    dir=$1
    as_owner "$bin/pg_ctl" -D "$dir/standby" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
  stop)
    dir=$1
    as_owner "$bin/pg_ctl" -D "$dir/standby" -m immediate -w stop >/dev/null 2>&1 || true
    "$here/pg.sh" stop "$dir/primary"
    ;;
  *)
    echo "usage: $0 start DIR PRIMARY_PORT STANDBY_PORT | kill-standby DIR | start-standby DIR PORT | stop DIR" >&2; exit 2 ;;
esac
