#!/bin/sh
# tests/services/redis.sh start|stop [PORT] [DIR] — a throwaway redis-server
# for the tests (ENV.md): loopback only, no persistence, daemonized with a
# pidfile; `start` waits until it answers PING and prints its address
# (127.0.0.1:PORT); `stop` kills it by its pid (never by name).
# Defaults: PORT=$REDIS_TEST_PORT or 6391, DIR=$REDIS_TEST_DIR or
# /tmp/fleetres-redis-PORT.
set -eu
cmd=${1:-}
port=${2:-${REDIS_TEST_PORT:-6391}}
dir=${3:-${REDIS_TEST_DIR:-/tmp/fleetres-redis-$port}}
pidfile="$dir/redis.pid"

case "$cmd" in
start)
    mkdir -p "$dir"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "127.0.0.1:$port"
        exit 0
    fi
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --pidfile "$pidfile" --dir "$dir" \
        --logfile "$dir/redis.log" >/dev/null
    i=0
    until redis-cli -p "$port" ping >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt 100 ]; then
            echo "redis-server did not answer on port $port" >&2
            exit 1
        fi
        sleep 0.05
    done
    # The pidfile is written just after the port opens.
    i=0
    until [ -s "$pidfile" ] || [ "$i" -gt 100 ]; do
        i=$((i + 1))
        sleep 0.02
    done
    echo "127.0.0.1:$port"
    ;;
stop)
    if [ -f "$pidfile" ]; then
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 200 ]; do
            i=$((i + 1))
            sleep 0.02
        done
        rm -f "$pidfile"
    fi
    ;;
*)
    echo "usage: $0 start|stop [PORT] [DIR]" >&2
    exit 2
    ;;
esac
