#!/bin/bash
# postgres.sh start|stop|url — a throw-away PostgreSQL 15 for the tests.
#
# The cluster lives in a temporary directory owned by the postgres user
# (initdb refuses root), listens on 127.0.0.1 and a Unix socket in that
# directory, and trusts every local connection: it holds only test data and
# is deleted by `stop`.  State is kept in $FLEETRES_PG_STATE (default
# /tmp/fleetres-pg-$PORT) so start and stop can run from different shells.
# `start` prints the base URL (without a database name) on stdout.
set -euo pipefail

PORT=${FLEETRES_PG_PORT:-5433}
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
    # fsync stays on: the durability tests stop the server with -m immediate.
    "${AS_PG[@]}" "$BIN/pg_ctl" -D "$STATE/data" -l "$STATE/log" -w -t 30 \
        -o "-p $PORT -k $STATE -c listen_addresses=127.0.0.1 -c max_connections=300" \
        start >/dev/null || { cat "$STATE/log" >&2; exit 1; }
    url
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
*) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
