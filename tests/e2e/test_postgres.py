"""End-to-end on PostgreSQL only (FLEETRES_E2E_DATABASE=postgres): several
fleetres-server instances on one database (docs/storage.md), the database
failing under load, and the schema migrations.

The checks read the database itself with psql: the capacity invariant is
proved over resource_allocations, not over what the service says.
"""
import os
import re
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import PG_MODE, Server, fresh_pg_database, iso, now_ms, psql, unique

pytestmark = pytest.mark.skipif(not PG_MODE, reason="PostgreSQL mode only")

MIN = 60 * 1000
HOUR = 60 * MIN
CAPACITY = 5
THREADS = 64
SCRIPT = os.path.join(os.path.dirname(__file__), "..", "services", "postgres.sh")


def race(fn, n):
    """Runs fn(i) in n threads released together; returns their results by i."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except BaseException as e:  # reported by the main thread
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a client thread hung"
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


@pytest.fixture(scope="module")
def pair():
    """Two instances on one fresh database."""
    with tempfile.TemporaryDirectory() as d:
        a = Server(os.path.join(d, "a.db")).start()
        b = Server(a.database_url).start()
        yield a, b, a.pg_database
        assert b.stop() == 0
        assert a.stop() == 0


def make_pool(server, fleet, capacity=CAPACITY):
    status, _, pool = server.api("POST", "/pools", {
        "fleet_id": fleet, "name": unique("pool"), "resource_type": "charging_bay",
        "total_capacity": capacity})
    assert status == 201, pool
    return pool


def max_load_sql(pool_id):
    """The highest booked quantity at any instant (the load only changes at a
    start or end point, so sweeping those points covers every instant)."""
    return """
        WITH a AS (
            SELECT start_at, coalesce(end_at, 'infinity') AS end_at, quantity
            FROM fleet_resources.resource_allocations
            WHERE pool_id = '%s' AND status IN ('held', 'confirmed')),
        points AS (SELECT start_at AS t FROM a UNION SELECT end_at FROM a)
        SELECT coalesce(max((SELECT sum(quantity) FROM a
                             WHERE a.start_at <= p.t AND p.t < a.end_at)), 0)
        FROM points p""" % pool_id


def test_two_instances_never_overbook(pair):
    a, b, db = pair
    n = (now_ms() // 1000) * 1000
    wins = [(n + 10 * MIN, n + 90 * MIN), (n + 60 * MIN, n + 120 * MIN),
            (n + 90 * MIN, n + 150 * MIN), (n + 10 * MIN, n + 150 * MIN)]
    for _ in range(2):
        pool = make_pool(a, unique("fleet"))
        bodies = []
        for i in range(THREADS):
            w = wins[i % len(wins)]
            bodies.append({"pool_id": pool["id"], "vehicle_id": unique("veh"),
                           "quantity": 1, "start": iso(w[0]), "end": iso(w[1])})
        results = race(lambda i: (a if i % 2 == 0 else b).api("POST", "/allocations",
                                                               bodies[i]), THREADS)
        acked = []
        for status, _, body in results:
            assert status in (201, 409), (status, body)
            if status == 201:
                acked.append(body["id"])
            else:
                assert body["error"]["code"] == "capacity_exceeded", body
        assert acked, "nothing was booked"
        peak = psql(db, max_load_sql(pool["id"])).strip()
        assert float(peak) <= CAPACITY, peak
        rows = psql(db, "SELECT id FROM fleet_resources.resource_allocations"
                        " WHERE pool_id = '%s'" % pool["id"]).split()
        assert sorted(rows) == sorted(acked), "every 201 is in the table exactly once"
        # Both instances agree with the table.
        for s in (a, b):
            status, _, page = s.api("GET", "/allocations?pool_id=%s&limit=1000" % pool["id"])
            assert status == 200
            assert sorted(x["id"] for x in page["items"]) == sorted(acked)
    count, top = psql(db, "SELECT count(*), max(seq) FROM fleet_resources.events").split("|")
    assert int(count) == int(top), "the event log is gap-free"
    head = psql(db, "SELECT seq FROM fleet_resources.head").strip()
    assert int(head) == int(top)
    # Concurrent calls shared PostgreSQL transactions (lib/group.c).
    commits = sum(store_counter(s, "fleetres_store_commits_total") for s in (a, b))
    grouped = sum(store_counter(s, "fleetres_store_grouped_calls_total") for s in (a, b))
    assert grouped > commits > 0, (grouped, commits)


def store_counter(server, name):
    _, _, text = server.request("GET", "/metrics")
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    assert m, name + " missing from /metrics"
    return int(m.group(1))


def test_write_on_one_instance_is_read_on_the_other(pair):
    a, b, _ = pair
    pool = make_pool(a, unique("fleet"), capacity=3)
    status, _, got = b.api("GET", "/pools/" + pool["id"])
    assert status == 200 and got["id"] == pool["id"] and got["version"] == 1, got
    start = now_ms() + HOUR
    status, _, alloc = b.api("POST", "/allocations", {
        "pool_id": pool["id"], "vehicle_id": unique("veh"), "quantity": 2,
        "start": iso(start), "end": iso(start + HOUR)})
    assert status == 201, alloc
    status, _, upd = a.api("PUT", "/allocations/" + alloc["id"], {"quantity": 3})
    assert status == 200 and upd["version"] == 2, upd
    status, _, got = b.api("GET", "/allocations/" + alloc["id"])
    assert status == 200 and got["quantity"] == 3 and got["version"] == 2, got
    # B's view of the capacity includes A's change: one more unit does not fit.
    status, _, err = b.api("POST", "/allocations", {
        "pool_id": pool["id"], "vehicle_id": unique("veh"), "quantity": 1,
        "start": iso(start), "end": iso(start + HOUR)})
    assert status == 409 and err["error"]["code"] == "capacity_exceeded", err
    status, _, page = b.api("GET", "/events?after=0&limit=1000&fleet_id=" + pool["fleet_id"])
    assert status == 200
    assert [e["type"] for e in page["items"]] == [
        "pool.created", "allocation.created", "allocation.updated"], page


def test_idempotency_key_used_concurrently_on_both_instances(pair):
    a, b, db = pair
    pool = make_pool(a, unique("fleet"), capacity=100)
    start = now_ms() + HOUR
    for _ in range(3):
        key = unique("key")
        body = {"pool_id": pool["id"], "vehicle_id": unique("veh"), "quantity": 1,
                "start": iso(start), "end": iso(start + HOUR)}
        results = race(lambda i: (a if i % 2 == 0 else b).api(
            "POST", "/allocations", body, headers={"Idempotency-Key": key}), 16)
        bad = [(r[0], r[2]) for r in results if r[0] != 201]
        assert not bad, bad
        ids = {r[2]["id"] for r in results}
        assert len(ids) == 1, ids
    rows = psql(db, "SELECT count(*) FROM fleet_resources.resource_allocations"
                    " WHERE pool_id = '%s'" % pool["id"]).strip()
    assert rows == "3", "one allocation per key"


# ---- the database failing under load --------------------------------------------

def pg_control(*args):
    port = os.environ["FLEETRES_E2E_PG_URL"].rsplit(":", 1)[1].split("/")[0]
    env = dict(os.environ, FLEETRES_PG_PORT=port)
    subprocess.run(["bash", SCRIPT] + list(args), env=env, check=True, timeout=60)


class Load:
    """Clients booking in a loop on both instances, single and batch bookings,
    recording every answer and how long it took."""

    def __init__(self, servers, pool_id, threads=8):
        self.servers, self.pool_id = servers, pool_id
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answers = []  # (status, kind, tag, body, seconds)
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(threads)]

    def run(self, i):
        server = self.servers[i % len(self.servers)]
        start = now_ms() + HOUR
        while not self.stop.is_set():
            tag = unique("v%d" % i)
            if i % 2 == 0:
                kind, body = "single", {"pool_id": self.pool_id, "vehicle_id": tag,
                                        "quantity": 1, "start": iso(start),
                                        "end": iso(start + HOUR)}
            else:
                kind, body = "batch", {"allocations": [
                    {"pool_id": self.pool_id, "vehicle_id": tag + "-a", "quantity": 1,
                     "start": iso(start), "end": iso(start + HOUR)},
                    {"pool_id": self.pool_id, "vehicle_id": tag + "-b", "quantity": 1,
                     "start": iso(start), "end": iso(start + HOUR)}]}
            t0 = time.time()
            try:
                status, _, got = server.api("POST", "/allocations", body)
            except OSError as e:
                status, got = "error", str(e)
            with self.lock:
                self.answers.append((status, kind, tag, got, time.time() - t0))
            time.sleep(0.005)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a client hung"


def wait_until_serving(server, pool_id, bound_s=20):
    """The service recovers by itself: a booking succeeds within bound_s."""
    deadline = time.time() + bound_s
    start = now_ms() + 2 * HOUR
    while time.time() < deadline:
        status, _, _ = server.api("POST", "/allocations", {
            "pool_id": pool_id, "vehicle_id": unique("probe"), "quantity": 1,
            "start": iso(start), "end": iso(start + HOUR)})
        if status == 201:
            return time.time()
        assert status == 503, status
        time.sleep(0.2)
    pytest.fail("the service did not recover within %d s" % bound_s)


def test_database_stopped_and_restarted_under_load():
    with tempfile.TemporaryDirectory() as d:
        a = Server(os.path.join(d, "a.db")).start()
        b = Server(a.database_url).start()
        db = a.pg_database
        try:
            pool = make_pool(a, unique("fleet"), capacity=10 ** 6)
            with Load([a, b], pool["id"]) as load:
                for mode in ("fast", "immediate"):
                    time.sleep(1.0)
                    pg_control("halt", mode)
                    time.sleep(0.5)
                    status, _, health = a.request("GET", "/health")
                    assert status == 503, health
                    assert health["checks"]["database"]["status"] == "down", health
                    time.sleep(1.0)
                    pg_control("resume")
                    for s in (a, b):
                        wait_until_serving(s, pool["id"])
                    status, _, health = b.request("GET", "/health")
                    assert status == 200 and health["checks"]["database"]["status"] == "ok"
                time.sleep(1.0)
            answers = load.answers
            statuses = {x[0] for x in answers}
            assert statuses <= {201, 503}, statuses  # never 500, never a dropped connection
            assert 503 in statuses and 201 in statuses, statuses
            assert max(x[4] for x in answers) < 25, "an answer took too long"
            check_nothing_lost_or_half_done(db, [a, b], answers)
        finally:
            b.stop()
            a.stop()


def check_nothing_lost_or_half_done(db, servers, answers):
    rows = psql(db, "SELECT id, vehicle_id FROM fleet_resources.resource_allocations").split()
    by_vehicle = {}
    ids = set()
    for row in rows:
        a_id, vehicle = row.split("|")
        ids.add(a_id)
        by_vehicle[vehicle] = a_id
    for status, kind, tag, body, _ in answers:
        if kind == "single":
            if status == 201:
                assert body["id"] in ids, ("acknowledged booking lost", body["id"])
            continue
        present = [v for v in (tag + "-a", tag + "-b") if v in by_vehicle]
        assert len(present) in (0, 2), ("half a batch", tag, status)
        if status == 201:
            assert len(present) == 2 and {x["id"] for x in body["items"]} <= ids, tag
    # Both instances serve exactly what the database holds.
    for s in servers:
        got, cursor = set(), None
        while True:
            path = "/allocations?limit=1000" + ("&cursor=" + cursor if cursor else "")
            status, _, page = s.api("GET", path)
            assert status == 200, page
            got |= {x["id"] for x in page["items"]}
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert got == ids


# ---- migrations ---------------------------------------------------------------

def server_binary():
    return os.environ.get("FLEETRES_SERVER", "build/service/fleetres-server")


def run_server(url, *args):
    env = dict(os.environ, DATABASE_URL=url, LOG_LEVEL="info", PORT="1")
    return subprocess.run([server_binary()] + list(args), env=env, capture_output=True,
                          timeout=60, check=False)


def versions(db):
    return psql(db, "SELECT version FROM fleet_resources.schema_migrations"
                    " ORDER BY version").split()


def test_migrate_fresh_rerun_and_upgrade():
    name, url = fresh_pg_database()
    done = run_server(url, "migrate")
    assert done.returncode == 0, done.stderr
    assert versions(name) == ["1", "2"]
    tables = psql(name, "SELECT string_agg(table_name, ',' ORDER BY table_name)"
                        " FROM information_schema.tables"
                        " WHERE table_schema = 'fleet_resources'").strip().split(",")
    for t in ("resource_pools", "resource_allocations", "resource_requests",
              "resource_utilization", "resource_planning", "resource_conflicts",
              "events", "idempotency_keys", "head", "flush_slots", "schema_migrations"):
        assert t in tables, (t, tables)
    again = run_server(url, "migrate")
    assert again.returncode == 0 and b"nothing to do" in again.stderr, again.stderr
    assert versions(name) == ["1", "2"]

    old, old_url = fresh_pg_database()
    assert run_server(old_url, "migrate", "1").returncode == 0
    assert versions(old) == ["1"]
    assert psql(old, "SELECT to_regclass('fleet_resources.flush_slots') IS NULL").strip() == "t"
    up = run_server(old_url, "migrate")
    assert up.returncode == 0 and b"from version 1 to 2" in up.stderr, up.stderr
    assert versions(old) == ["1", "2"]


def test_server_applies_missing_migrations_at_start():
    with tempfile.TemporaryDirectory() as d:
        name, url = fresh_pg_database()
        assert run_server(url, "migrate", "1").returncode == 0
        s = Server(url).start()
        try:
            assert versions(name) == ["1", "2"]
            status, _, _ = s.api("POST", "/pools", {
                "fleet_id": "f", "name": "p", "resource_type": "bay", "total_capacity": 1})
            assert status == 201
        finally:
            assert s.stop() == 0
        del d


def test_newer_schema_is_refused():
    name, url = fresh_pg_database()
    assert run_server(url, "migrate").returncode == 0
    psql(name, "INSERT INTO fleet_resources.schema_migrations (version, name)"
               " VALUES (99, 'from_the_future')")
    done = run_server(url)
    assert done.returncode != 0
    assert b"newer than this server knows" in done.stderr, done.stderr
    again = run_server(url, "migrate")
    assert again.returncode != 0 and b"newer than this server knows" in again.stderr
