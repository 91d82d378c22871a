#!/usr/bin/env bash
# bench/bench_pg.sh — POST /allocations on PostgreSQL (make bench-pg).
#
# Not part of `make test`.  In one run, on this machine, against a throw-away
# PostgreSQL cluster with fsync=on (tests/services/postgres.sh on PG_PORT):
#   1. one fleetres-server (release build) on a fresh database whose pool
#      already holds EXISTING (10^4) bookings: wrk -t2 -c32 POST /allocations;
#   2. two fleetres-server instances on that same database, 16 connections
#      each (two wrk processes at once): the sum of req/s, the worse p99;
#   3. the baseline, bench/bench_pg_baseline.c: 32 threads on plain libpq,
#      each booking synchronously under SELECT ... FOR UPDATE of the pool row,
#      with EXISTING bookings in its pool too.
# Prints the figures and fleetres/baseline ratios; every POST must be 201.
# Every process started here is stopped by its PID, the cluster by its script.
#
# Environment: BUILD (build-release), PG_PORT (5436), DURATION (10s),
# CONNS (32), EXISTING (10000), WORKER_THREADS (32), TRANSPORT (socket: the
# cluster's Unix socket, as a database on the same host would be reached;
# tcp: 127.0.0.1) — used by fleetres and the baseline alike.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build-release}
PG_PORT=${PG_PORT:-5436}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
EXISTING=${EXISTING:-10000}
WORKER_THREADS=${WORKER_THREADS:-32}
API=/api/v1/fleet-resources
LUA="$ROOT/bench/load/post_allocations.lua"
SERVER_BIN="$ROOT/$BUILD/service/fleetres-server"
BASELINE_BIN="$ROOT/$BUILD/bench/bench_pg_baseline"

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench-pg: %s\n' "$*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
if [ ! -f "$ROOT/$BUILD/build.ninja" ]; then
    (cd "$ROOT" && meson setup "$BUILD" --buildtype=release -Db_ndebug=true >/dev/null)
fi
ninja -C "$ROOT/$BUILD" service/fleetres-server bench/bench_pg_baseline >/dev/null

WORK=$(mktemp -d /tmp/fleetres-bench-pg.XXXXXX)
PIDS=()
export FLEETRES_PG_PORT=$PG_PORT FLEETRES_PG_FSYNC=on
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    "$ROOT/tests/services/postgres.sh" stop || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BASE_URL=$("$ROOT/tests/services/postgres.sh" start)
if [ "${TRANSPORT:-socket}" = socket ]; then
    BASE_URL="postgres://postgres@%2Ftmp%2Ffleetres-pg-$PG_PORT:$PG_PORT"
fi
psql -X -q "$BASE_URL/postgres" -c "CREATE DATABASE bench_fleetres" \
    -c "CREATE DATABASE bench_baseline"
DB_URL="$BASE_URL/bench_fleetres"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME: a fleetres-server on DB_URL; sets PORT.
start_server() {
    PORT=$(free_port)
    PORT=$PORT DATABASE_URL=$DB_URL WORKER_THREADS=$WORKER_THREADS LOG_LEVEL=warn \
        "$SERVER_BIN" >"$WORK/$1.log" 2>&1 &
    PIDS+=($!)
    local i
    for i in $(seq 1 200); do
        curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && return 0
        sleep 0.05
    done
    cat "$WORK/$1.log" >&2
    die "$1 did not come up"
}

# seed PORT POOL: EXISTING bookings in 2029 (before the wrk windows, 2030+),
# 1000 per batch request.
seed() {
    python3 - "$1" "$2" "$EXISTING" <<'EOF'
import http.client, json, sys
port, pool, existing = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
base = 1861920000  # 2029-01-01
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
import time
def iso(s):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))
for first in range(0, existing, 1000):
    items = [{"pool_id": pool, "vehicle_id": "seed-%d" % i, "quantity": 1,
              "start": iso(base + i * 1800), "end": iso(base + i * 1800 + 3600)}
             for i in range(first, min(existing, first + 1000))]
    conn.request("POST", "/api/v1/fleet-resources/allocations",
                 json.dumps({"allocations": items}), {"Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 201:
        sys.exit("seed failed: %d %s" % (r.status, body[:300]))
EOF
}

# wrk_run OUT PORT CONNS SLOT
wrk_run() {
    wrk -t2 -c"$3" -d"$DURATION" --latency -s "$LUA" "http://127.0.0.1:$2" -- "$POOL" "$4" \
        >"$1" 2>&1 || { cat "$1" >&2; die "wrk failed"; }
    ! grep -q "Non-2xx" "$1" || { cat "$1" >&2; die "a POST was not 201"; }
}
rps_of() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99_of() {
    awk '$1 == "99%" {v = $2; n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000
        printf "%.2f", n; exit}' "$1"
}

log "one instance"
start_server a
PORT_A=$PORT
POOL=$(curl -sf -X POST -H 'Content-Type: application/json' \
    -d '{"fleet_id":"bench","name":"bench","resource_type":"bay","total_capacity":1000000000}' \
    "http://127.0.0.1:$PORT_A$API/pools" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
log "seeding $EXISTING bookings"
seed "$PORT_A" "$POOL"
wrk_run "$WORK/one.txt" "$PORT_A" "$CONNS" 1
ONE_RPS=$(rps_of "$WORK/one.txt")
ONE_P99=$(p99_of "$WORK/one.txt")

log "two instances on one database"
start_server b
PORT_B=$PORT
HALF=$((CONNS / 2))
wrk_run "$WORK/two-a.txt" "$PORT_A" "$HALF" 2 &
WA=$!
wrk_run "$WORK/two-b.txt" "$PORT_B" "$HALF" 3 &
WB=$!
wait "$WA" && wait "$WB" || die "a wrk run failed"
TWO_RPS=$(awk -v a="$(rps_of "$WORK/two-a.txt")" -v b="$(rps_of "$WORK/two-b.txt")" \
    'BEGIN {printf "%.2f", a + b}')
TWO_P99=$(awk -v a="$(p99_of "$WORK/two-a.txt")" -v b="$(p99_of "$WORK/two-b.txt")" \
    'BEGIN {printf "%.2f", (a > b) ? a : b}')

log "baseline: $CONNS libpq threads, synchronous, FOR UPDATE on the pool row"
SECONDS_RUN=${DURATION%s}
BASE_OUT=$("$BASELINE_BIN" "$BASE_URL/bench_baseline" "$CONNS" "$SECONDS_RUN" "$EXISTING")
BASE_RPS=${BASE_OUT#bookings_per_s=}
BASE_RPS=${BASE_RPS%% *}
BASE_P99=${BASE_OUT##*p99_ms=}

NPROC=$(nproc)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
printf '\nPOST /allocations on PostgreSQL 15 (fsync=on, %s), %s existing bookings, %s cores, load %s\n' \
    "${TRANSPORT:-socket}" "$EXISTING" "$NPROC" "$LOAD"
printf '%-44s %12s %10s\n' "run" "bookings/s" "p99 ms"
printf '%-44s %12s %10s\n' "fleetres, 1 instance (wrk -c$CONNS)" "$ONE_RPS" "$ONE_P99"
printf '%-44s %12s %10s\n' "fleetres, 2 instances (wrk -c$HALF each)" "$TWO_RPS" "$TWO_P99"
printf '%-44s %12s %10s\n' "baseline libpq, $CONNS threads, synchronous" "$BASE_RPS" "$BASE_P99"
awk -v one="$ONE_RPS" -v two="$TWO_RPS" -v base="$BASE_RPS" 'BEGIN {
    printf "ratio fleetres/baseline: 1 instance %.1fx, 2 instances %.1fx\n", one / base, two / base
    printf "goal (>= 3x baseline and >= 3000/s): 1 instance %s, 2 instances %s\n",
        (one >= 3 * base && one >= 3000) ? "met" : "missed",
        (two >= 3 * base && two >= 3000) ? "met" : "missed" }'
