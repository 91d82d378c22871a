#!/usr/bin/env bash
# bench/load/run.sh — HTTP load benchmark of fleetres-server (make test-load).
#
# Not part of `make test`.  In one run, on this machine:
#   1. fleetres-server (release build) on a fresh SQLite file, durable
#      (synchronous=FULL, the default): POST /allocations, GET /pools/{id},
#      and a mixed workload (70% GET pool/allocation, 20% POST, 10% list);
#   2. the same server on DATABASE_URL='FILE?sync=off' — NOT DURABLE, a
#      comparison only, to show what fsync costs: POST and mixed;
#   3. (FSYNC_TRACE=1, the default) the durable POST run again under
#      `strace -f --seccomp-bpf -T -e trace=fsync,fdatasync,pwrite64`: how
#      many fsyncs a POST costs and how long each takes (strace slows the
#      server down: that row's req/s is not a result, its fsync times are);
#   4. bench/hello_server.c, a bare civetweb handler with the same thread
#      count and tcp_nodelay=1: the same three workloads as the ceiling.
# Each server runs alone (the previous one is stopped first) and every
# process started here is stopped by its PID.  wrk: -t2 -c32 -d10s --latency.
#
# Prints a table (req/s, p50, p99, non-2xx, socket errors) and fleetres/hello
# ratios, and checks the issue's goals (POST >= 5,000/s with p99 <= 20 ms,
# durable; GET >= 20,000/s).  Exit status: 1 if a run is invalid (a POST
# /allocations that was not 201, socket errors, a server that died), and, only
# with ENFORCE_GOALS=1, if a goal is missed; else 0.
#
# Environment: BUILD (build-release), WRK_THREADS (2), CONNS (32),
# DURATION (10s), WORKER_THREADS (32), LOAD_TMPDIR (/tmp: must be a real disk
# for the durable figures to mean anything), FSYNC_TRACE (1), ENFORCE_GOALS (0).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/bench/load"
BUILD=${BUILD:-build-release}
WRK_THREADS=${WRK_THREADS:-2}
CONNS=${CONNS:-32}
DURATION=${DURATION:-10s}
WORKER_THREADS=${WORKER_THREADS:-32}
FSYNC_TRACE=${FSYNC_TRACE:-1}
ENFORCE_GOALS=${ENFORCE_GOALS:-0}
API=/api/v1/fleet-resources

SERVER_BIN="$ROOT/$BUILD/service/fleetres-server"
HELLO_BIN="$ROOT/$BUILD/bench/hello_server"

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'test-load: %s\n' "$*" >&2; exit 1; }

# ---- (a) tools ------------------------------------------------------------
apt_install() {
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    log "installing $*"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
if [ "$FSYNC_TRACE" = 1 ] && ! command -v strace >/dev/null; then apt_install strace; fi

if [ ! -f "$ROOT/$BUILD/build.ninja" ]; then
    (cd "$ROOT" && meson setup "$BUILD" --buildtype=release -Db_ndebug=true >/dev/null)
fi
ninja -C "$ROOT/$BUILD" service/fleetres-server bench/hello_server >/dev/null
[ -x "$SERVER_BIN" ] && [ -x "$HELLO_BIN" ] || die "binaries missing in $BUILD"

WORK=$(mktemp -d "${LOAD_TMPDIR:-/tmp}/fleetres-load.XXXXXX")
FSTYPE=$(stat -f -c %T "$WORK")
case "$FSTYPE" in
    tmpfs|ramfs) log "WARNING: $WORK is on $FSTYPE: fsync is free there, the durable figures are not" ;;
esac

# ---- processes: started here, stopped here by PID --------------------------
PIDS=()
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do            # mg_stop takes 2-3 s
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "PID $pid did not stop on SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local i
    # Last started first: a traced server before its strace.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
    PIDS=()
    if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME CMD... : runs it with PORT set, waits for it to answer.
# Sets PORT and SERVER_PID.
start_server() {
    local name=$1; shift
    PORT=$(free_port)
    PORT=$PORT WORKER_THREADS=$WORKER_THREADS LOG_LEVEL=warn "$@" \
        >"$WORK/$name.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local i
    for i in $(seq 1 200); do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "$name exited at start"; }
        curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && return 0
        sleep 0.05
    done
    die "$name did not come up on port $PORT"
}

forget_pid() {
    local kept=() pid
    for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
    PIDS=("${kept[@]+"${kept[@]}"}")
}

stop_server() {
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$1.log" >&2; die "$1 died during the run"; }
    stop_pid "$SERVER_PID"
    forget_pid "$SERVER_PID"
}

api() { # METHOD PATH [BODY] -> body on stdout; fails on non-2xx
    local method=$1 path=$2 body=${3:-}
    if [ -n "$body" ]; then
        curl -sS -f -X "$method" -H 'Content-Type: application/json' -d "$body" \
            "http://127.0.0.1:$PORT$API$path"
    else
        curl -sS -f -X "$method" "http://127.0.0.1:$PORT$API$path"
    fi
}

json_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

create_pool() {
    api POST /pools '{"fleet_id":"load","name":"load-bay","resource_type":"charging_bay",
                      "total_capacity":1000000000,"site":"bench"}' | json_id
}

# ---- wrk and its figures ----------------------------------------------------
RESULTS="$WORK/results.tsv"     # key \t rps \t p50ms \t p99ms \t non2xx \t errors \t requests
: >"$RESULTS"

to_ms() { # "1.23ms" / "850.00us" / "1.02s" / "2.00m" -> milliseconds
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n = n / 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n = n * 60000;
        else if (v ~ /s$/) n = n * 1000
        printf "%.2f", n }'
}

# run_wrk KEY URL [LUA_SCRIPT [SCRIPT_ARGS...]]
run_wrk() {
    local key=$1 url=$2; shift 2
    local out="$WORK/wrk-${key//\//-}.txt"
    log "wrk $key: -t$WRK_THREADS -c$CONNS -d$DURATION $url"
    local cmd=(wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency)
    if [ $# -gt 0 ]; then cmd+=(-s "$1" "$url" -- "${@:2}"); else cmd+=("$url"); fi
    "${cmd[@]}" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk failed for $key"; }
    local rps p50 p99 non2xx errors requests
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2; exit}' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2; exit}' "$out")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
    errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
    requests=$(awk '/requests in/ {print $1; exit}' "$out")
    [ -n "$rps" ] || { cat "$out" >&2; die "no figures from wrk for $key"; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$key" "$rps" "$p50" "$p99" \
        "${non2xx:-0}" "${errors:-0}" "$requests" >>"$RESULTS"
    printf '   %-22s %10s req/s  p50 %8s ms  p99 %8s ms  non-2xx %s  socket errors %s\n' \
        "$key" "$rps" "$p50" "$p99" "${non2xx:-0}" "${errors:-0}" >&2
}

# POST /allocations answers by status from the server's own counters.
post_status_counts() {
    curl -sS "http://127.0.0.1:$PORT/metrics" |
        awk -F'[{}]' '/^fleetres_http_requests_total\{method="POST",route="\/allocations"/ {
            split($2, kv, ","); st = kv[3]; gsub(/status=|"/, "", st); split($3, v, " ");
            printf "%s%s=%s", sep, st, v[1]; sep = " " } END { print "" }'
}

# Ids of allocations already made, for the mixed workload's GETs.
save_allocation_ids() { # POOL_ID FILE
    api GET "/allocations?pool_id=$1&limit=1000" |
        python3 -c 'import json,sys; print("\n".join(a["id"] for a in json.load(sys.stdin)["items"]))' >"$2"
    [ -s "$2" ] || die "no allocations to read in the mixed workload"
}

# fleetres_runs LABEL DATABASE_URL SLOT_BASE WORKLOADS...
fleetres_runs() {
    local label=$1 url=$2 slot=$3; shift 3
    start_server "fleetres-$label" env DATABASE_URL="$url" "$SERVER_BIN"
    local pool
    pool=$(create_pool)
    local base="http://127.0.0.1:$PORT"
    local w
    for w in "$@"; do
        case $w in
        post)
            run_wrk "post/fleetres-$label" "$base" "$HERE/post_allocations.lua" "$pool" "$slot"
            local counts
            counts=$(post_status_counts)
            log "server counters, POST /allocations by status: $counts"
            printf '%s\t%s\n' "$label" "$counts" >>"$WORK/post-status.tsv"
            ;;
        get)
            run_wrk "get/fleetres-$label" "$base$API/pools/$pool"
            ;;
        mixed)
            # Needs allocations to read: make 200 if the post run did not.
            if [ "$(api GET "/allocations?pool_id=$pool&limit=1" | grep -c '"id"')" = 0 ]; then
                local i
                for i in $(seq 1 200); do
                    api POST /allocations "{\"pool_id\":\"$pool\",\"vehicle_id\":\"seed-$i\",\"quantity\":1,\"start\":\"2029-06-01T00:00:00Z\",\"end\":\"2029-06-01T01:00:00Z\"}" >/dev/null
                done
            fi
            save_allocation_ids "$pool" "$WORK/ids-$label.txt"
            cp "$WORK/ids-$label.txt" "$WORK/ids-any.txt"
            run_wrk "mixed/fleetres-$label" "$base" "$HERE/mixed.lua" "$pool" "$((slot + 1))" "$WORK/ids-$label.txt"
            ;;
        esac
    done
    stop_server "fleetres-$label"
}

LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)
log "machine: $(nproc) cores, load average $LOAD_START; SQLite files in $WORK ($FSTYPE); server WORKER_THREADS=$WORKER_THREADS"

# ---- (b)-(d) fleetres, durable ------------------------------------------------
fleetres_runs durable "$WORK/durable.db" 0 post get mixed

# ---- non-durable comparison (sync=off: NOT DURABLE) ---------------------------
fleetres_runs sync-off "$WORK/nodurable.db?sync=off" 2 post mixed

# ---- how much of the durable POST time is fsync --------------------------------
if [ "$FSYNC_TRACE" = 1 ]; then
    start_server fleetres-strace strace -f --seccomp-bpf -T -y -o "$WORK/strace.txt" \
        -e trace=fsync,fdatasync,pwrite64 \
        env DATABASE_URL="$WORK/traced.db" "$SERVER_BIN"
    STRACE_PID=$SERVER_PID
    # The traced server is strace's child: track its PID too, so that it is
    # stopped whatever happens (SIGTERM to strace only detaches it).
    TRACED_PID=$(ps -o pid= --ppid "$STRACE_PID" | tr -d ' ' | head -1)
    [ -n "$TRACED_PID" ] || die "no traced server under strace PID $STRACE_PID"
    PIDS+=("$TRACED_PID")
    pool=$(create_pool)
    run_wrk "post/fleetres-strace" "http://127.0.0.1:$PORT" "$HERE/post_allocations.lua" "$pool" 4
    # Stop the traced server itself; strace then exits on its own.
    SERVER_PID=$TRACED_PID
    stop_server fleetres-strace
    for _ in $(seq 1 100); do kill -0 "$STRACE_PID" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$STRACE_PID"          # normally already gone: this only reaps it
    forget_pid "$STRACE_PID"
    [ -s "$WORK/strace.txt" ] || die "no strace output (PID $STRACE_PID)"
fi

# ---- (e) the hello baseline -----------------------------------------------------
start_server hello "$HELLO_BIN"
run_wrk "post/hello" "http://127.0.0.1:$PORT" "$HERE/post_allocations.lua" "00000000-0000-7000-8000-000000000000" 6
run_wrk "get/hello" "http://127.0.0.1:$PORT$API/pools/00000000-0000-7000-8000-000000000000"
run_wrk "mixed/hello" "http://127.0.0.1:$PORT" "$HERE/mixed.lua" "00000000-0000-7000-8000-000000000000" 7 "$WORK/ids-any.txt"
stop_server hello

# ---- (f) the table ----------------------------------------------------------------
field() { awk -F'\t' -v k="$1" -v c="$2" '$1 == k {print $c}' "$RESULTS"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.3f", a / b }'; }

echo
echo "HTTP load: wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency; $(nproc) cores; fleetres-server $BUILD, WORKER_THREADS=$WORKER_THREADS; SQLite on $FSTYPE"
echo "load average at start: $LOAD_START, at end: $(cut -d" " -f1-3 /proc/loadavg) (other work on the machine skews every row)"
printf '%-40s %12s %10s %10s %9s %9s\n' "workload / server" "req/s" "p50 ms" "p99 ms" "non-2xx" "sock.err"
printf '%-40s %12s %10s %10s %9s %9s\n' "----------------------------------------" "------------" "----------" "----------" "---------" "---------"
while IFS=$'\t' read -r key rps p50 p99 non2xx errors requests; do
    name=$key
    case $key in
        */fleetres-sync-off) name="$key (NOT DURABLE)" ;;
        */fleetres-strace) name="$key (under strace)" ;;
    esac
    printf '%-40s %12s %10s %10s %9s %9s\n' "$name" "$rps" "$p50" "$p99" "$non2xx" "$errors"
done <"$RESULTS"
echo
echo "fleetres / hello (same run)        req/s ratio   p99 ratio (fleetres/hello)"
for w in post get mixed; do
    for v in durable sync-off; do
        k="$w/fleetres-$v"
        [ -n "$(field "$k" 2)" ] || continue
        printf '  %-32s %11s %11s\n' "$k" \
            "$(ratio "$(field "$k" 2)" "$(field "$w/hello" 2)")" \
            "$(ratio "$(field "$k" 4)" "$(field "$w/hello" 4)")"
    done
done
echo
echo "POST /allocations by status (server /metrics counters, whole server lifetime):"
while IFS=$'\t' read -r label counts; do printf '  %-10s %s\n' "$label" "$counts"; done <"$WORK/post-status.tsv"

if [ "$FSYNC_TRACE" = 1 ]; then
    # strace -T: "<seconds>" at the end of each completed call.
    # -y names each fd: "-wal>" is a commit's fsync, the database file's
    # are checkpoints (WAL pages copied back into the file, every ~1000 pages).
    grep -E 'f(data)?sync\(' "$WORK/strace.txt" |
        sed -nE 's/.*<([0-9.]+)>$/\1/p' | sort -g >"$WORK/fsync-times.txt"
    wal_syncs=$(grep -cE 'f(data)?sync\([0-9]+<[^>]*-wal>' "$WORK/strace.txt" || true)
    db_syncs=$(grep -E 'f(data)?sync\([0-9]+<' "$WORK/strace.txt" | grep -v -- '-wal>' |
        sed -nE 's/.*<([0-9.]+)>$/\1/p' |
        awk '{ n++; s += $1; if ($1 > m) m = $1 } END { printf "%d (%.1f ms total, max %.1f ms)", n, s * 1000, m * 1000 }')
    pwrites=$(grep -cE 'pwrite64\(' "$WORK/strace.txt" || true)
    echo
    echo "Where the durable POST time goes (run under strace -f -T; its own req/s is slowed by tracing):"
    awk -v req="$(field post/fleetres-strace 7)" -v d="$DURATION" -v pw="$pwrites" \
        -v wal="$wal_syncs" -v db="$db_syncs" \
        -v rps_d="$(field post/fleetres-durable 2)" -v rps_n="$(field post/fleetres-sync-off 2)" \
        -v c="$CONNS" '
        { t[NR] = $1 + 0; sum += $1 }
        END {
            n = NR; dur = d + 0; if (d ~ /m$/) dur *= 60
            if (n == 0) { print "  no fsync seen"; exit }
            printf "  fsync/fdatasync: %d calls = %.2f per POST (%d POSTs); mean %.3f ms, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", n, n / req, req, sum / n * 1000, t[int(n * 0.5) + 1] * 1000, t[int(n * 0.99) + 1] * 1000, t[n] * 1000
            printf "  of which %d on the WAL (one per commit) and %s on the database file (checkpoints)\n", wal, db
            printf "  time in fsync: %.2f s of the %gs run (%.0f%%); commits hold the engine lock, so fsyncs never overlap\n", sum, dur, sum / dur * 100
            printf "  pwrite64: %.1f per POST (WAL frames: 24 B header + 4 KiB page each, ~%.1f pages per commit, plus checkpoints)\n", pw / req, pw / req / 2
            if (rps_d > 0 && rps_n > 0) {
                printf "  server time per POST = 1/throughput (calls are serialized): durable %.3f ms, sync=off %.3f ms, difference %.3f ms\n", 1000 / rps_d, 1000 / rps_n, 1000 / rps_d - 1000 / rps_n
                printf "  %d connections waiting on that lock: latency ~ %d x %.3f ms = %.1f ms (Little)\n", c, c, 1000 / rps_d, c * 1000 / rps_d
                printf "  one fsync per commit, one commit at a time: ceiling 1 / mean fsync (as traced) = %.0f POST/s\n", n / sum
            }
        }' "$WORK/fsync-times.txt"
fi

# ---- validity and goals ----------------------------------------------------------
status=0
while IFS=$'\t' read -r key rps p50 p99 non2xx errors requests; do
    case $key in
        post/fleetres-*|mixed/fleetres-*)
            if [ "$non2xx" != 0 ]; then echo "INVALID: $key had $non2xx non-2xx responses"; status=1; fi ;;
    esac
    if [ "$errors" != 0 ]; then echo "INVALID: $key had $errors socket errors"; status=1; fi
done <"$RESULTS"
if grep -vE $'^[^\t]*\t201=[0-9]+$' "$WORK/post-status.tsv" >/dev/null; then
    echo "INVALID: a POST /allocations answered other than 201 (see the counters above)"
    status=1
fi

goal() { # DESCRIPTION CONDITION(awk)
    if awk "BEGIN { exit !($2) }"; then echo "  MET     $1"; else echo "  MISSED  $1"; missed=1; fi
}
missed=0
echo
echo "Goals (issue, durable):"
goal "POST /allocations >= 5000 req/s (measured $(field post/fleetres-durable 2))" "$(field post/fleetres-durable 2) >= 5000"
goal "POST /allocations p99 <= 20 ms (measured $(field post/fleetres-durable 4) ms)" "$(field post/fleetres-durable 4) <= 20"
goal "GET /pools/{id} >= 20000 req/s (measured $(field get/fleetres-durable 2))" "$(field get/fleetres-durable 2) >= 20000"
if [ "$missed" = 1 ] && [ "$ENFORCE_GOALS" = 1 ]; then status=1; fi
exit $status
