#!/bin/bash
# postgres.sh start|stop|url|halt MODE|resume — a throw-away PostgreSQL 15 for the tests.
#
# The cluster lives in a temporary directory owned by the postgres user
# (initdb refuses root), listens on 127.0.0.1 and a Unix socket in that
# directory, and trusts every local connection: it holds only test data and
# is deleted by `stop`.  State is kept in $FLEETRES_PG_STATE (default
# /tmp/fleetres-pg-$PORT) so start and stop can run from different shells.
# `start` prints the base URL (without a database name) on stdout.
#
# FLEETRES_PG_FSYNC (default off) sets fsync.  The tests crash the server
# process (pg_ctl -m immediate), never the machine: what PostgreSQL had
# written to the OS survives either way, what it held in its WAL buffers
# (an async commit not yet flushed) is lost either way, so fsync would only
# add minutes of checkpoint syncing over the hundreds of test databases.
# The benchmark (bench/bench_pg.sh) runs with fsync=on.
set -euo pipefail

PORT=${FLEETRES_PG_PORT:-5433}
FSYNC=${FLEETRES_PG_FSYNC:-off}
STATE=${FLEETRES_PG_STATE:-/tmp/fleetres-pg-$PORT}
BIN=${FLEETRES_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
AS_PG=()
if [ "$(id -u)" = 0 ]; then
    AS_PG=(runuser -u postgres --)
fi

url() {
    echo "postgres://postgres@127.0.0.1:$PORT"
}

start() {
    if [ -f "$STATE/data/postmaster.pid" ]; then
        echo "postgres.sh: a cluster is already running in $STATE" >&2
        url
        return 0
    fi
    mkdir -p "$STATE"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$STATE"
    fi
    "${AS_PG[@]}" "$BIN/initdb" -D "$STATE/data" -A trust -U postgres -E UTF8 \
        --locale=C.UTF-8 --no-sync >"$STATE/initdb.log" 2>&1 ||
        { cat "$STATE/initdb.log" >&2; exit 1; }
    "${AS_PG[@]}" "$BIN/pg_ctl" -D "$STATE/data" -l "$STATE/log" -w -t 30 \
        -o "-p $PORT -k $STATE -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=$FSYNC" \
        start >/dev/null || { cat "$STATE/log" >&2; exit 1; }
    url
}

# halt fast|immediate / resume: the failure tests stop the running cluster
# (immediate = a crash: no checkpoint, WAL replay at the next start) and
# start it again on the same data directory and port.
halt() {
    "${AS_PG[@]}" "$BIN/pg_ctl" -D "$STATE/data" -m "${1:-fast}" -w -t 60 stop >/dev/null
}

resume() {
    "${AS_PG[@]}" "$BIN/pg_ctl" -D "$STATE/data" -l "$STATE/log" -w -t 30 \
        -o "-p $PORT -k $STATE -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=$FSYNC" \
        start >/dev/null || { tail -20 "$STATE/log" >&2; exit 1; }
}

stop() {
    if [ -f "$STATE/data/postmaster.pid" ]; then
        "${AS_PG[@]}" "$BIN/pg_ctl" -D "$STATE/data" -m fast -w -t 30 stop >/dev/null || true
    fi
    rm -rf "$STATE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
url) url ;;
halt) halt "${2:-fast}" ;;
resume) resume ;;
*) echo "usage: $0 start|stop|url|halt [fast|immediate]|resume" >&2; exit 2 ;;
esac
