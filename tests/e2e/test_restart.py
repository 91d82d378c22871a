"""End-to-end: every acknowledged change survives kill -9 (SPEC §1: a change
and everything it causes happen in one transaction; §8: the event log).

Each test runs its own server on its own SQLite file, kills it with SIGKILL —
no shutdown path runs — and starts it again on the same file.
"""
import threading
import time

from conftest import iso, now_ms, unique

MIN = 60 * 1000
HOUR = 60 * MIN

# Read-only fields computed at the moment of the GET (SPEC §2, §4).
COMPUTED = {"capacity_now", "reserved_capacity", "available_capacity",
            "queue_position", "effective_priority", "estimated_start",
            "conflicts_detected"}  # the last: only in PUT /pools responses


def stored(entity):
    return {k: v for k, v in entity.items() if k not in COMPUTED}


def ok(server, method, path, body=None, expect=(200, 201)):
    status, _, got = server.api(method, path, body)
    assert status in expect, (method, path, status, got)
    return got


def all_events(server):
    out, after = [], 0
    while True:
        status, _, page = server.api("GET", "/events?after=%d&limit=1000" % after)
        assert status == 200, page
        if not page["items"]:
            assert page["next_after"] is None
            return out
        out.extend(page["items"])
        assert page["next_after"] == page["items"][-1]["seq"]
        after = page["next_after"]


def assert_gapless(events):
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), \
        [e["seq"] for e in events]


class Ledger:
    """The last acknowledged body of every entity, by (collection, id)."""

    def __init__(self, server):
        self.server = server
        self.last = {}
        self.gone = set()

    def ack(self, collection, body):
        self.last[(collection, body["id"])] = stored(body)
        return body

    def call(self, collection, method, path, body=None, expect=(200, 201)):
        return self.ack(collection, ok(self.server, method, path, body, expect))

    def refresh(self, collection, entity_id):
        """Records an entity changed as a side effect of an acknowledged change."""
        return self.ack(collection, ok(self.server, "GET", "/%s/%s" % (collection, entity_id)))

    def refresh_all(self):
        for collection, entity_id in list(self.last):
            self.refresh(collection, entity_id)

    def check(self):
        for (collection, entity_id), want in sorted(self.last.items()):
            status, headers, got = self.server.api("GET", "/%s/%s" % (collection, entity_id))
            assert status == 200, (collection, entity_id, got)
            assert stored(got) == want, (collection, entity_id)
            assert headers["etag"] == '"%d"' % want["version"]
        for path in sorted(self.gone):
            status, _, got = self.server.api("GET", path)
            assert status == 404, (path, got)


def make_changes(server, ledger):
    """A mix of acknowledged changes of every kind; returns the fleet."""
    fleet = unique("fleet")
    n = (now_ms() // 1000) * 1000

    # Pools: created, updated (several fields), one deleted.
    p1 = ledger.call("pools", "POST", "/pools", {
        "fleet_id": fleet, "name": "bays", "resource_type": "charging_bay",
        "total_capacity": 4, "site": "depot-1", "labels": {"zone": "a"}})
    p1 = ledger.call("pools", "PUT", "/pools/" + p1["id"], {
        "name": "bays north", "labels": {"zone": "b", "row": "2"},
        "capacity_schedule": [{"start": iso(n + 20 * HOUR), "end": iso(n + 22 * HOUR),
                               "capacity": 2}]})
    p2 = ledger.call("pools", "POST", "/pools", {
        "fleet_id": fleet, "name": "power", "resource_type": "power_kw", "unit": "kW",
        "total_capacity": 150.5, "exclusive_per_vehicle": False})
    doomed = ok(server, "POST", "/pools", {
        "fleet_id": fleet, "name": "doomed", "resource_type": "parking_slot",
        "total_capacity": 1})
    ok(server, "DELETE", "/pools/" + doomed["id"], expect=(204,))
    ledger.gone.add("/pools/" + doomed["id"])

    def alloc(pool, start, end=None, **fields):
        body = {"pool_id": pool["id"], "vehicle_id": unique("veh"), "quantity": 1,
                "start": iso(start), "end": iso(end) if end is not None else None}
        body.update(fields)
        return ledger.call("allocations", "POST", "/allocations", body)

    # Allocations: held then confirmed; released in progress; cancelled;
    # updated (priority, metadata, end); a fractional one; a batch.
    a_hold = alloc(p1, n + HOUR, n + 2 * HOUR, hold_seconds=3600)
    assert a_hold["status"] == "held"
    ledger.call("allocations", "PUT", "/allocations/" + a_hold["id"], {"status": "confirmed"})
    a_rel = alloc(p1, n - 10 * MIN, n + 3 * HOUR)
    ledger.call("allocations", "PUT", "/allocations/" + a_rel["id"], {"status": "released"})
    a_can = alloc(p1, n + 2 * HOUR, n + 3 * HOUR)
    assert ledger.call("allocations", "DELETE",
                       "/allocations/" + a_can["id"])["status"] == "cancelled"
    a_upd = alloc(p1, n + 4 * HOUR, n + 5 * HOUR, metadata={"k": "v"}, priority=3)
    ledger.call("allocations", "PUT", "/allocations/" + a_upd["id"], {
        "priority": 9, "metadata": {"k": "w", "n": 1}, "end": iso(n + 6 * HOUR)})
    alloc(p2, n + HOUR, n + 2 * HOUR, quantity=0.125, operation_id="op-1")
    batch = ok(server, "POST", "/allocations", {"allocations": [
        {"pool_id": p1["id"], "vehicle_id": unique("veh"), "quantity": 1,
         "start": iso(n + 7 * HOUR), "end": iso(n + 8 * HOUR)},
        {"pool_id": p2["id"], "vehicle_id": unique("veh"), "quantity": 100,
         "start": iso(n + 7 * HOUR), "end": iso(n + 8 * HOUR)}]}, expect=(201,))
    for item in batch["items"]:
        ledger.ack("allocations", item)

    # Requests: fulfilled at once; pending (no pool of the type); pending for
    # capacity, then fulfilled when the blocker is released; pending then
    # updated; pending then cancelled.
    r_now = ledger.call("requests", "POST", "/requests", {
        "fleet_id": fleet, "vehicle_id": unique("veh"), "resource_type": "charging_bay",
        "quantity": 1, "duration_seconds": 1800, "earliest_start": iso(n + 10 * HOUR)})
    assert r_now["status"] == "fulfilled"
    ledger.refresh("allocations", r_now["allocation_id"])
    r_type = ledger.call("requests", "POST", "/requests", {
        "fleet_id": fleet, "vehicle_id": unique("veh"), "resource_type": "wash_bay",
        "quantity": 1, "duration_seconds": 600, "metadata": {"why": "no pool"}})
    assert r_type["status"] == "pending" and r_type["pending_reason"] == "no_pool_of_type"
    p3 = ledger.call("pools", "POST", "/pools", {
        "fleet_id": fleet, "name": "lift", "resource_type": "maintenance_bay",
        "total_capacity": 1})
    blocker = alloc(p3, n - MIN)  # open-ended: nothing else fits
    r_wait = ledger.call("requests", "POST", "/requests", {
        "fleet_id": fleet, "vehicle_id": unique("veh"), "resource_type": "maintenance_bay",
        "quantity": 1, "duration_seconds": 900, "priority": 5})
    assert r_wait["status"] == "pending", r_wait
    r_upd = ledger.call("requests", "POST", "/requests", {
        "fleet_id": fleet, "operation_id": unique("op"), "resource_type": "maintenance_bay",
        "quantity": 1, "duration_seconds": 600})
    ledger.call("requests", "PUT", "/requests/" + r_upd["id"], {"priority": 2})
    r_can = ledger.call("requests", "POST", "/requests", {
        "fleet_id": fleet, "vehicle_id": unique("veh"), "resource_type": "maintenance_bay",
        "quantity": 1, "duration_seconds": 600})
    assert ledger.call("requests", "DELETE",
                       "/requests/" + r_can["id"])["status"] == "cancelled"
    released = ledger.call("allocations", "DELETE", "/allocations/" + blocker["id"])
    assert released["status"] == "released"
    r_wait = ledger.refresh("requests", r_wait["id"])
    assert r_wait["status"] == "fulfilled", r_wait
    ledger.refresh("allocations", r_wait["allocation_id"])

    # Conflicts: a manual one, and an over_capacity one detected by a cut.
    ledger.call("conflicts", "POST", "/conflicts", {
        "pool_id": p1["id"], "description": "bay 3 is flooded", "start": iso(n + HOUR),
        "end": iso(n + 2 * HOUR), "allocation_ids": [a_hold["id"]]})
    extra = alloc(p3, n + 30 * HOUR, n + 31 * HOUR)
    alloc(p3, n + 30 * HOUR, n + 31 * HOUR, overcommit=True)
    ledger.refresh("allocations", extra["id"])
    # Whatever the side effects (conflicts detected, requests dispatched),
    # take the state as it stands after the last acknowledged change.
    cut = ok(server, "PUT", "/pools/" + p2["id"], {"total_capacity": 100})
    for cid in cut["conflicts_detected"]:
        ledger.refresh("conflicts", cid)
    status, _, page = server.api("GET", "/conflicts?fleet_id=%s&limit=1000" % fleet)
    assert status == 200
    for c in page["items"]:
        ledger.ack("conflicts", c)
    assert {c["type"] for c in page["items"]} >= {"manual", "over_capacity"}, page
    # Every entity of the fleet, including those made by dispatch.
    for collection in ("pools", "allocations", "requests", "conflicts"):
        status, _, page = server.api("GET", "/%s?fleet_id=%s&limit=1000" % (collection, fleet))
        assert status == 200 and page["next_cursor"] is None, page
        for item in page["items"]:
            ledger.ack(collection, item)
    ledger.refresh_all()
    return fleet


def test_acknowledged_changes_survive_kill9(fresh_server):
    server = fresh_server.start()
    ledger = Ledger(server)
    make_changes(server, ledger)
    ledger.check()
    before = all_events(server)
    assert_gapless(before)

    server.kill9()
    server.start()

    ledger.check()
    after = all_events(server)
    assert_gapless(after)
    assert after == before

    # Still writable, and the event log continues where it stopped.
    fleet = unique("fleet")
    pool = ok(server, "POST", "/pools", {"fleet_id": fleet, "name": "again",
                                         "resource_type": "charging_bay",
                                         "total_capacity": 1})
    events = all_events(server)
    assert_gapless(events)
    assert events[:len(before)] == before
    assert events[len(before)]["seq"] == len(before) + 1
    assert events[len(before)]["type"] == "pool.created"
    assert events[len(before)]["entity_id"] == pool["id"]

    # Another round of changes and another crash: still all there.
    make_changes(server, ledger)
    before = all_events(server)
    server.kill9()
    server.start()
    ledger.check()
    assert all_events(server) == before


def test_kill9_mid_stream_loses_no_acknowledged_booking(fresh_server):
    server = fresh_server.start()
    fleet = unique("fleet")
    pool = ok(server, "POST", "/pools", {
        "fleet_id": fleet, "name": "big", "resource_type": "charging_bay",
        "total_capacity": 1_000_000})
    n = (now_ms() // 1000) * 1000
    writers = 4
    acked = [[] for _ in range(writers)]
    attempted = [0] * writers
    stop = threading.Event()
    failures = []

    def write(w):
        i = 0
        while not stop.is_set():
            body = {"pool_id": pool["id"], "vehicle_id": "veh-%d-%d" % (w, i),
                    "quantity": 1, "start": iso(n + HOUR + i * MIN),
                    "end": iso(n + HOUR + (i + 1) * MIN), "metadata": {"w": w, "i": i}}
            i += 1
            attempted[w] += 1
            try:
                status, _, got = server.api("POST", "/allocations", body)
            except OSError:
                return  # the server is gone: the reply to this one never came
            if status != 201:
                failures.append((status, got))
                return
            acked[w].append(got)

    threads = [threading.Thread(target=write, args=(w,), daemon=True)
               for w in range(writers)]
    for t in threads:
        t.start()
    deadline = time.time() + 10
    while sum(len(a) for a in acked) < 200 and time.time() < deadline:
        time.sleep(0.02)
    server.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive()
    assert failures == []
    everything = [a for per in acked for a in per]
    assert len(everything) >= 50, "too few bookings before the kill"

    server.start()
    for a in everything:
        status, _, got = server.api("GET", "/allocations/" + a["id"])
        assert status == 200, (a["id"], got)
        assert got == a
    listed = []
    cursor = None
    while True:
        q = "/allocations?pool_id=%s&limit=1000" % pool["id"]
        status, _, page = server.api("GET", q + ("&cursor=" + cursor if cursor else ""))
        assert status == 200, page
        listed.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    ids = {a["id"] for a in listed}
    assert ids >= {a["id"] for a in everything}
    # At most the one in flight per writer may have been committed unanswered.
    assert len(ids) - len(everything) <= writers, (len(ids), len(everything))
    assert len(ids) <= sum(attempted)
    events = all_events(server)
    assert_gapless(events)
    assert {e["entity_id"] for e in events if e["type"] == "allocation.created"} == ids

    # Writes go on after the restart, and seq continues.
    status, _, more = server.api("POST", "/allocations", {
        "pool_id": pool["id"], "vehicle_id": "after-restart", "quantity": 1,
        "start": iso(n + 2 * HOUR), "end": iso(n + 3 * HOUR)})
    assert status == 201, more
    tail = all_events(server)
    assert_gapless(tail)
    assert tail[-1]["seq"] == len(events) + 1 and tail[-1]["entity_id"] == more["id"]
