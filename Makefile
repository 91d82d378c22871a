# Thin wrapper over meson; the README's commands live here.
#   make run   - build and start fleetres-server on the embedded default
#                (SQLite file fleetres.db, http://127.0.0.1:8080)
#   make test  - install what is needed, then the whole suite, plain and
#                under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench - the library benchmarks (the planner's needs glpsol: glpk-utils); make test-load - the HTTP load benchmark
#                (neither is part of make test)
#   make migrate  - apply the PostgreSQL schema migrations to DATABASE_URL
#   make bench-pg - POST /allocations on PostgreSQL, 1 and 2 instances, vs a
#                   plain libpq baseline (not part of make test)
SHELL := /bin/bash
BUILD ?= build
BUILD_ASAN ?= build-asan
PACKAGES := meson ninja-build pkg-config gcc libsqlite3-dev libpq-dev libcjson-dev \
	librdkafka-dev libcivetweb-dev libhiredis-dev libcurl4-openssl-dev libssl-dev \
	libcriterion-dev python3-pytest python3-yaml glpk-utils postgresql redis-server

.PHONY: deps build run test test-plain test-asan test-release-build bench test-load clean \
	migrate bench-pg

deps:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./$(BUILD)/service/fleetres-server

# The e2e_redis suite uses a redis-server started here and stopped on exit.
WITH_REDIS = addr=$$(tests/services/redis.sh start) && \
	trap 'tests/services/redis.sh stop' EXIT && export FLEETRES_E2E_REDIS_ADDR=$$addr &&

test-plain: build
	$(WITH_REDIS) meson test -C $(BUILD) --print-errorlogs

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug

test-asan: deps $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN)
	$(WITH_REDIS) ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C $(BUILD_ASAN) --print-errorlogs --timeout-multiplier 3

# Release (NDEBUG) must compile warning-free too: asserts vanish there.
test-release-build: deps
	meson setup build-release --buildtype=release -Db_ndebug=true 2>/dev/null || true
	ninja -C build-release

# The whole suite with a throw-away PostgreSQL (tests/services/postgres.sh),
# stopped again however the tests end; the PG suites fail (not skip) if it is
# unreachable.
PG_TEST_PORT ?= 5433
test: deps
	@set -e; export FLEETRES_PG_PORT=$(PG_TEST_PORT); \
	trap 'tests/services/postgres.sh stop' EXIT; \
	url=$$(tests/services/postgres.sh start); \
	export FLEETRES_TEST_PG_URL=$$url FLEETRES_E2E_PG_URL=$$url FLEETRES_REQUIRE_PG=1; \
	$(MAKE) test-plain test-asan test-release-build

migrate: build
	./$(BUILD)/service/fleetres-server migrate

bench-pg: test-release-build
	bench/bench_pg.sh

bench: test-release-build
	./build-release/bench/bench_ledger
	./build-release/bench/bench_sqlite
	./build-release/bench/bench_conflicts
	./build-release/bench/bench_planner

# HTTP load benchmark (wrk; not part of make test): fleetres-server vs a
# civetweb hello baseline measured in the same run.
test-load: test-release-build
	bench/load/run.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-release
