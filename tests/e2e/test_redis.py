"""The Redis layer (REDIS_ADDR): read cache, shared idempotency copies, rate
limiting, and degradation when Redis dies (docs/service.md, "Redis").

A module-level redis-server (tests/services/redis.sh, its own port and
directory) that the tests kill with SIGKILL and start again; servers of their
own with REDIS_ADDR set.  Cache hits and Redis replays are observed through
/metrics, so every test checks that the Redis path was really taken.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BASE, Server, free_port, iso, now_ms, unique

HERE = os.path.dirname(os.path.abspath(__file__))
REDIS_SH = os.path.join(HERE, "..", "services", "redis.sh")
HOUR = 3600 * 1000

pytestmark = [
    pytest.mark.skipif(shutil.which("redis-server") is None,
                       reason="redis-server is not installed (make deps)"),
    # e2e_redis runs the whole suite with Redis; this module already is that.
    pytest.mark.skipif(os.environ.get("FLEETRES_E2E_REDIS") == "1",
                       reason="runs in the plain e2e suite"),
]


class Redis:
    """A redis-server this module owns: start, kill -9, start again."""

    def __init__(self, directory):
        self.dir = directory
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port

    def start(self):
        subprocess.run([REDIS_SH, "start", str(self.port), self.dir], check=True,
                       stdout=subprocess.DEVNULL)
        return self

    def kill9(self):
        with open(os.path.join(self.dir, "redis.pid")) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.01)
        os.unlink(os.path.join(self.dir, "redis.pid"))

    def stop(self):
        subprocess.run([REDIS_SH, "stop", str(self.port), self.dir], check=False)

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()


@pytest.fixture(scope="module")
def redis():
    with tempfile.TemporaryDirectory() as d:
        r = Redis(d).start()
        yield r
        r.stop()


@pytest.fixture(scope="module")
def cached(redis):
    """A server with the cache and idempotency copies (no rate limit)."""
    with tempfile.TemporaryDirectory() as d:
        s = Server(os.path.join(d, "fleetres.db"), env={"REDIS_ADDR": redis.addr}).start()
        yield s
        assert s.stop() == 0


def ensure_redis_up(redis):
    try:
        redis.cli("ping")
    except subprocess.CalledProcessError:
        redis.start()


def metric(server, name):
    _, _, text = server.request("GET", "/metrics")
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    assert m, name + " missing from /metrics"
    return int(m.group(1))


def make_pool(server, capacity=5, fleet=None):
    status, _, pool = server.api("POST", "/pools", {
        "fleet_id": fleet or unique("redis"), "name": "Bays",
        "resource_type": "charging_bay", "total_capacity": capacity})
    assert status == 201, pool
    return pool


def book(server, pool, vehicle, start, **extra):
    body = dict({"pool_id": pool["id"], "vehicle_id": vehicle, "quantity": 1,
                 "start": iso(start), "end": iso(start + HOUR)}, **extra)
    return server.api("POST", "/allocations", body)


def wait_health(server, want, timeout=10):
    deadline = time.time() + timeout
    body = None
    while time.time() < deadline:
        _, _, body = server.request("GET", "/health")
        if body["status"] == want:
            return body
        time.sleep(0.1)
    raise AssertionError("health stayed %r, wanted %r" % (body, want))


# ---- cache ------------------------------------------------------------------

def test_cache_hit_then_write_then_read_sees_the_new_value(cached, redis):
    ensure_redis_up(redis)
    pool = make_pool(cached)
    status, _, alloc = book(cached, pool, "v1", now_ms() + HOUR)
    assert status == 201
    path = "/allocations/" + alloc["id"]
    hits = metric(cached, "fleetres_cache_hits_total")
    for _ in range(3):
        status, headers, got = cached.api("GET", path)
        assert status == 200 and got == alloc and headers["etag"] == '"1"'
    assert metric(cached, "fleetres_cache_hits_total") >= hits + 2
    for priority in (5, 6, 7):
        status, _, changed = cached.api("PUT", path, {"priority": priority})
        assert status == 200
        status, headers, got = cached.api("GET", path)
        assert status == 200
        assert got["priority"] == priority and got == changed
        assert headers["etag"] == '"%d"' % changed["version"]
    status, _, deleted = cached.api("DELETE", path)
    assert status == 200 and deleted["status"] == "cancelled"
    assert cached.api("GET", path)[2]["status"] == "cancelled"


def test_a_change_to_another_entity_invalidates_it(cached, redis):
    """Force-deleting the pool cancels its allocations: they change without
    being named by the request path, and the events name them."""
    ensure_redis_up(redis)
    pool = make_pool(cached)
    allocs = [book(cached, pool, "v%d" % i, now_ms() + HOUR)[2] for i in range(3)]
    for a in allocs:
        cached.api("GET", "/allocations/" + a["id"])
        assert cached.api("GET", "/allocations/" + a["id"])[2]["status"] == "confirmed"
    status, _, _ = cached.api("DELETE", "/pools/%s?force=true" % pool["id"])
    assert status == 204
    for a in allocs:
        assert cached.api("GET", "/allocations/" + a["id"])[2]["status"] == "cancelled"


def test_held_allocation_is_not_served_from_cache_after_its_hold_expires(cached, redis):
    ensure_redis_up(redis)
    pool = make_pool(cached)
    status, _, held = book(cached, pool, "v1", now_ms() + HOUR, hold_seconds=1)
    assert status == 201 and held["status"] == "held"
    path = "/allocations/" + held["id"]
    hits = metric(cached, "fleetres_cache_hits_total")
    assert cached.api("GET", path)[2]["status"] == "held"
    assert cached.api("GET", path)[2]["status"] == "held"
    assert metric(cached, "fleetres_cache_hits_total") == hits + 1
    expires = held["hold_expires_at"]
    # Read in a tight loop across the expiry instant: never "held" after it.
    deadline = time.time() + 3
    seen_expired = False
    while time.time() < deadline and not seen_expired:
        before = iso(now_ms())
        got = cached.api("GET", path)[2]
        if before >= expires:
            assert got["status"] == "expired", (before, expires, got)
        seen_expired = got["status"] == "expired"
    assert seen_expired


def test_resolved_conflict_is_cached_open_one_is_not(cached, redis):
    ensure_redis_up(redis)
    pool = make_pool(cached, capacity=1)
    start = now_ms() + HOUR
    status, _, conflict = cached.api("POST", "/conflicts", {
        "pool_id": pool["id"], "description": "inspection", "start": iso(start),
        "end": iso(start + HOUR)})
    assert status == 201 and conflict["status"] == "open"
    path = "/conflicts/" + conflict["id"]
    hits = metric(cached, "fleetres_cache_hits_total")
    assert cached.api("GET", path)[2] == conflict
    assert cached.api("GET", path)[2] == conflict
    assert metric(cached, "fleetres_cache_hits_total") == hits
    # An over-capacity conflict resolves itself when capacity returns.
    book(cached, pool, "v1", start)
    status, _, _ = book(cached, pool, "v2", start, overcommit=True)
    assert status == 201
    _, _, page = cached.api("GET", "/conflicts?pool_id=%s&type=over_capacity" % pool["id"])
    over = page["items"][0]
    assert cached.api("PUT", "/pools/" + pool["id"], {"total_capacity": 2})[0] == 200
    path = "/conflicts/" + over["id"]
    first = cached.api("GET", path)[2]
    assert first["status"] == "resolved"
    hits = metric(cached, "fleetres_cache_hits_total")
    assert cached.api("GET", path)[2] == first
    assert metric(cached, "fleetres_cache_hits_total") == hits + 1


def test_cache_stays_correct_after_a_failed_invalidation_bumps_the_epoch(cached, redis):
    """Redis stalls (CLIENT PAUSE) while a write commits: the invalidation
    times out, the old value is still in Redis, and the next read must not
    serve it — the instance replaces the epoch first."""
    ensure_redis_up(redis)
    pool = make_pool(cached)
    _, _, alloc = book(cached, pool, "v1", now_ms() + HOUR)
    path = "/allocations/" + alloc["id"]
    cached.api("GET", path)
    assert cached.api("GET", path)[2]["priority"] == 0
    old_epoch = redis.cli("GET", "fr:epoch")
    value_key = "fr:%s:v:a:%s" % (old_epoch, alloc["id"])
    assert redis.cli("EXISTS", value_key) == "1"
    bumps = metric(cached, "fleetres_cache_epoch_bumps_total")
    redis.cli("CLIENT", "PAUSE", "600", "WRITE")
    status, _, changed = cached.api("PUT", path, {"priority": 9})
    assert status == 200 and changed["priority"] == 9
    time.sleep(0.8)
    # The stale value survived in Redis under the old epoch ...
    assert redis.cli("EXISTS", value_key) == "1"
    # ... and is never served: reads see the write, under a new epoch.
    for _ in range(3):
        got = cached.api("GET", path)[2]
        assert got["priority"] == 9 and got["version"] == changed["version"]
    assert redis.cli("GET", "fr:epoch") != old_epoch
    assert metric(cached, "fleetres_cache_epoch_bumps_total") >= bumps + 1


# ---- idempotency --------------------------------------------------------------

def test_idempotent_replay_from_redis_then_from_the_store_after_restart(cached, redis):
    ensure_redis_up(redis)
    pool = make_pool(cached)
    body = {"pool_id": pool["id"], "vehicle_id": "v1", "quantity": 1,
            "start": iso(now_ms() + HOUR), "end": iso(now_ms() + 2 * HOUR)}
    key = unique("key")
    headers = {"Idempotency-Key": key}
    s1, h1, first = cached.api("POST", "/allocations", body, headers)
    assert s1 == 201
    replays = metric(cached, "fleetres_idempotency_redis_replays_total")
    # The entity changes; the Redis copy repeats the first response itself.
    cached.api("PUT", "/allocations/" + first["id"], {"priority": 3})
    s2, h2, again = cached.api("POST", "/allocations", body, headers)
    assert (s2, again, h2["etag"]) == (201, first, h1["etag"])
    assert metric(cached, "fleetres_idempotency_redis_replays_total") == replays + 1
    status, _, reused = cached.api("POST", "/allocations", dict(body, quantity=2), headers)
    assert status == 422 and reused["error"]["code"] == "idempotency_key_reused"
    assert metric(cached, "fleetres_idempotency_redis_replays_total") == replays + 2
    # Redis loses everything: the store still replays (same id), no new booking.
    redis.kill9()
    redis.start()
    s3, _, third = cached.api("POST", "/allocations", body, headers)
    assert s3 == 201 and third["id"] == first["id"]
    assert metric(cached, "fleetres_idempotency_redis_replays_total") == replays + 2
    _, _, page = cached.api("GET", "/allocations?pool_id=" + pool["id"])
    assert len(page["items"]) == 1
    status, _, reused = cached.api("POST", "/allocations", dict(body, quantity=2), headers)
    assert status == 422


def test_a_refusal_is_replayed_from_redis(cached, redis):
    ensure_redis_up(redis)
    pool = make_pool(cached, capacity=1)
    start = now_ms() + HOUR
    _, _, blocker = book(cached, pool, "v1", start)
    body = {"pool_id": pool["id"], "vehicle_id": "v2", "quantity": 1,
            "start": iso(start), "end": iso(start + HOUR)}
    headers = {"Idempotency-Key": unique("key")}
    status, _, first = cached.api("POST", "/allocations", body, headers)
    assert status == 409 and first["error"]["code"] == "capacity_exceeded"
    assert cached.api("DELETE", "/allocations/" + blocker["id"])[0] == 200
    replays = metric(cached, "fleetres_idempotency_redis_replays_total")
    status, _, again = cached.api("POST", "/allocations", body, headers)
    assert status == 409 and again == first
    assert metric(cached, "fleetres_idempotency_redis_replays_total") == replays + 1


def test_a_shape_error_is_not_recorded(cached, redis):
    """A 400 that never reached the library has no record in the store, so
    Redis keeps none either: the corrected retry with the same key books."""
    ensure_redis_up(redis)
    pool = make_pool(cached)
    headers = {"Idempotency-Key": unique("key")}
    body = {"pool_id": pool["id"], "vehicle_id": "v1", "quantity": "one",
            "start": iso(now_ms() + HOUR), "end": iso(now_ms() + 2 * HOUR)}
    assert cached.api("POST", "/allocations", body, headers)[0] == 400
    status, _, _ = cached.api("POST", "/allocations", dict(body, quantity=1), headers)
    assert status == 201


# ---- rate limiting ------------------------------------------------------------

@pytest.fixture(scope="module")
def limited(redis):
    with tempfile.TemporaryDirectory() as d:
        s = Server(os.path.join(d, "fleetres.db"), env={
            "REDIS_ADDR": redis.addr, "RATE_LIMIT_RPS": "2",
            "RATE_LIMIT_BURST": "3"}).start()
        yield s
        assert s.stop() == 0


def exhaust(server, client):
    """Spends the burst; returns the first 429 (status, headers, body)."""
    for _ in range(10):
        status, headers, body = server.api("GET", "/pools", headers={"X-Client-Id": client})
        if status == 429:
            return status, headers, body
        assert status == 200
    raise AssertionError("never limited")


def test_rate_limit_429_with_retry_after_then_recovery(limited, redis):
    ensure_redis_up(redis)
    client = unique("client")
    ok = 0
    while limited.api("GET", "/pools", headers={"X-Client-Id": client})[0] == 200:
        ok += 1
        assert ok <= 4
    assert ok == 3  # the burst (refill in these few ms is < 1 token)
    status, headers, body = limited.api("GET", "/pools", headers={"X-Client-Id": client})
    assert status == 429
    assert body["error"]["code"] == "rate_limited"
    assert set(body["error"]) == {"code", "message", "details"}
    retry = int(headers["retry-after"])
    assert retry == 1  # 2 per second: one token in 0.5 s, rounded up
    # Another client has its own bucket; /health and /metrics are never limited.
    assert limited.api("GET", "/pools", headers={"X-Client-Id": unique("other")})[0] == 200
    for _ in range(5):
        assert limited.request("GET", "/health", headers={"X-Client-Id": client})[0] == 200
        assert limited.request("GET", "/metrics", headers={"X-Client-Id": client})[0] == 200
    time.sleep(retry)
    assert limited.api("GET", "/pools", headers={"X-Client-Id": client})[0] == 200
    assert redis.cli("EXISTS", "fr:rl:id:" + client) == "1"
    assert metric(limited, "fleetres_rate_limited_total") >= 1


def test_rate_limit_falls_back_to_per_instance_buckets_with_redis_down(limited, redis):
    ensure_redis_up(redis)
    redis.kill9()
    try:
        fallback = metric(limited, "fleetres_rate_limit_fallback_total")
        status, headers, body = exhaust(limited, unique("client"))
        assert body["error"]["code"] == "rate_limited" and int(headers["retry-after"]) >= 1
        assert metric(limited, "fleetres_rate_limit_fallback_total") >= fallback + 4
        assert wait_health(limited, "degraded")["checks"]["redis"]["status"] == "down"
    finally:
        redis.start()
    wait_health(limited, "ok")


# ---- Redis killed under load ------------------------------------------------------

def test_redis_killed_under_load(cached, redis):
    """Writers change their own allocations and read them back, bookers
    race for a capacity-3 window, while Redis is killed and restarted: no
    5xx, every read shows the writer's last completed write, the capacity
    holds, and /health goes degraded then ok."""
    ensure_redis_up(redis)
    pool = make_pool(cached, capacity=3)
    window = now_ms() + 2 * HOUR
    mine = [book(cached, pool, "w%d" % i, now_ms() + 10 * HOUR + i * HOUR)[2]
            for i in range(4)]
    stop = threading.Event()
    errors, statuses = [], []
    lock = threading.Lock()

    def writer(alloc):
        path = "/allocations/" + alloc["id"]
        priority = 0
        while not stop.is_set():
            priority = (priority + 1) % 1000
            s, _, changed = cached.api("PUT", path, {"priority": priority})
            s2, h2, got = cached.api("GET", path)
            with lock:
                statuses.extend([s, s2])
            if s != 200 or s2 != 200:
                continue
            if got["priority"] != priority or got["version"] != changed["version"] \
                    or h2["etag"] != '"%d"' % changed["version"]:
                errors.append(("stale", changed["version"], got["version"]))

    def booker(n):
        i = 0
        while not stop.is_set():
            i += 1
            s, _, _ = book(cached, pool, "b%d-%d" % (n, i), window)
            with lock:
                statuses.append(s)

    threads = [threading.Thread(target=writer, args=(a,)) for a in mine]
    threads += [threading.Thread(target=booker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        redis.kill9()
        assert wait_health(cached, "degraded")["checks"]["redis"]["status"] == "down"
        time.sleep(1.0)
        redis.start()
        wait_health(cached, "ok")
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:5]
    assert statuses and all(s in (200, 201, 409) for s in statuses), \
        sorted(set(statuses))
    _, _, page = cached.api("GET", "/allocations?limit=1000&pool_id=" + pool["id"])
    booked = [a for a in page["items"] if a["start"] == iso(window)]
    assert 1 <= len(booked) <= 3
    assert metric(cached, "fleetres_cache_hits_total") > 0


def test_hung_redis_costs_bounded_latency_and_no_errors(cached, redis):
    """SIGSTOP: connections open but nothing answers.  Commands time out
    (100 ms) and threads back off, so requests stay fast and correct."""
    ensure_redis_up(redis)
    pool = make_pool(cached)
    _, _, alloc = book(cached, pool, "v1", now_ms() + HOUR)
    path = "/allocations/" + alloc["id"]
    cached.api("GET", path)
    with open(os.path.join(redis.dir, "redis.pid")) as f:
        pid = int(f.read().strip())
    os.kill(pid, signal.SIGSTOP)
    try:
        slowest = 0.0
        deadline = time.time() + 2.0
        priority = 0
        while time.time() < deadline:
            priority += 1
            t0 = time.time()
            status, _, changed = cached.api("PUT", path, {"priority": priority})
            status2, _, got = cached.api("GET", path)
            slowest = max(slowest, time.time() - t0)
            assert (status, status2) == (200, 200)
            assert got["priority"] == priority and got["version"] == changed["version"]
        assert slowest < 1.0, slowest
        assert wait_health(cached, "degraded")["checks"]["redis"]["status"] == "down"
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_health(cached, "ok")
    got = cached.api("GET", path)[2]
    assert got["priority"] == priority
    assert cached.api("GET", path)[2] == got


# ---- two instances, one database, one Redis (PostgreSQL mode only) ------------

@pytest.fixture(scope="module")
def two_instances(redis):
    """Two servers on one PostgreSQL database and one Redis.  Runs when the
    suite is in PostgreSQL mode (FLEETRES_E2E_DATABASE=postgres and
    FLEETRES_E2E_PG_URL, the pg branch's conftest: a Server on a path gets a
    fresh database, a Server on a postgres:// URL shares it)."""
    if os.environ.get("FLEETRES_E2E_DATABASE") != "postgres":
        pytest.skip("needs the e2e suite in PostgreSQL mode (FLEETRES_E2E_DATABASE=postgres)")
    env = {"REDIS_ADDR": redis.addr}
    with tempfile.TemporaryDirectory() as d:
        a = Server(os.path.join(d, "a.db"), env=env)
        url = getattr(a, "database_url", "")
        if not url.startswith("postgres"):
            pytest.skip("this conftest has no PostgreSQL mode")
        a.start()
        b = Server(url, env=env).start()
        yield a, b
        assert b.stop() == 0
        assert a.stop() == 0


def test_write_on_one_instance_is_never_read_stale_on_the_other(two_instances, redis):
    ensure_redis_up(redis)
    a, b = two_instances
    pool = make_pool(a)
    _, _, alloc = book(a, pool, "v1", now_ms() + HOUR)
    path = "/allocations/" + alloc["id"]
    hits = metric(b, "fleetres_cache_hits_total")
    for priority in range(1, 21):
        b.api("GET", path)  # warms the shared cache through b
        status, _, changed = a.api("PUT", path, {"priority": priority})
        assert status == 200
        got = b.api("GET", path)[2]
        assert got["priority"] == priority and got["version"] == changed["version"]
        assert b.api("GET", path)[2] == got
    assert metric(b, "fleetres_cache_hits_total") > hits
    # An Idempotency-Key used on a is replayed by b from Redis.
    headers = {"Idempotency-Key": unique("key")}
    body = {"pool_id": pool["id"], "vehicle_id": "v2", "quantity": 1,
            "start": iso(now_ms() + 3 * HOUR), "end": iso(now_ms() + 4 * HOUR)}
    s1, _, first = a.api("POST", "/allocations", body, headers)
    replays = metric(b, "fleetres_idempotency_redis_replays_total")
    s2, _, again = b.api("POST", "/allocations", body, headers)
    assert s1 == s2 == 201 and again == first
    assert metric(b, "fleetres_idempotency_redis_replays_total") == replays + 1


# ---- configuration --------------------------------------------------------------

def test_cache_off_reads_the_engine_but_still_invalidates(redis):
    ensure_redis_up(redis)
    with tempfile.TemporaryDirectory() as d:
        s = Server(os.path.join(d, "fleetres.db"),
                   env={"REDIS_ADDR": redis.addr, "REDIS_CACHE": "off"}).start()
        try:
            pool = make_pool(s)
            _, _, alloc = book(s, pool, "v1", now_ms() + HOUR)
            path = "/allocations/" + alloc["id"]
            for _ in range(3):
                assert s.api("GET", path)[2] == alloc
            assert metric(s, "fleetres_cache_hits_total") == 0
            assert metric(s, "fleetres_cache_misses_total") == 0
            # Its writes still delete keys other instances may have filled.
            epoch = redis.cli("GET", "fr:epoch")
            key = "fr:%s:v:a:%s" % (epoch, alloc["id"])
            redis.cli("SET", key, "1\n{}")
            assert s.api("PUT", path, {"priority": 4})[0] == 200
            assert redis.cli("EXISTS", key) == "0"
        finally:
            assert s.stop() == 0


@pytest.mark.parametrize("env", [
    {"REDIS_ADDR": "127.0.0.1:notaport"},
    {"REDIS_ADDR": ":6379"},
    {"REDIS_CACHE": "maybe"},
    {"RATE_LIMIT_RPS": "0"},
    {"RATE_LIMIT_RPS": "fast"},
    {"RATE_LIMIT_BURST": "5"},
    {"RATE_LIMIT_RPS": "5", "RATE_LIMIT_BURST": "0"},
])
def test_bad_redis_and_rate_limit_configuration_is_refused_at_start(env):
    binary = os.environ.get("FLEETRES_SERVER", "build/service/fleetres-server")
    with tempfile.TemporaryDirectory() as d:
        full = dict(os.environ, DATABASE_URL=os.path.join(d, "x.db"),
                    PORT=str(free_port()), **env)
        proc = subprocess.run([binary], env=full, capture_output=True, timeout=20)
        assert proc.returncode == 2, proc.stderr
        assert b"bad configuration" in proc.stderr
