"""End-to-end: the capacity invariant (SPEC §3) under concurrent clients.

64 threads start together (a barrier) and each books one unit of the same
capacity-5 pool for one of a few partly overlapping windows, each with its own
vehicle (so double booking is never the limiter).  Whatever order the server
serializes them in, the acknowledged (201) allocations must never sum to more
than 5 at any instant, every refusal must be a genuine 409 capacity_exceeded,
and the ledger read back afterwards must hold exactly the acknowledged ones.
"""
import threading

from conftest import iso, now_ms, unique

MIN = 60 * 1000
HOUR = 60 * MIN
CAPACITY = 5
THREADS = 64
ROUNDS = 3


def make_pool(server, fleet, capacity=CAPACITY):
    status, _, pool = server.api("POST", "/pools", {
        "fleet_id": fleet, "name": unique("pool"), "resource_type": "charging_bay",
        "total_capacity": capacity})
    assert status == 201, pool
    return pool


def windows():
    """Partly overlapping [start, end) windows (ms); the first and last cover now."""
    n = (now_ms() // 1000) * 1000
    return [
        (n - 10 * MIN, n + 90 * MIN),   # in progress
        (n + 60 * MIN, n + 120 * MIN),
        (n + 90 * MIN, n + 150 * MIN),
        (n + 120 * MIN, n + 180 * MIN),
        (n - 10 * MIN, n + 180 * MIN),  # in progress, overlaps all the others
    ]


def overlaps(window, t):
    return window[0] <= t < window[1]


def load_at(booked, t):
    """Units of the (start, end) windows in `booked` that cover instant t."""
    return sum(1 for w in booked if overlaps(w, t))


def boundaries(wins):
    return sorted({t for w in wins for t in w})


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
        t.join(timeout=60)
        assert not t.is_alive(), "a client thread hung"
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


def list_pool_allocations(server, pool_id):
    status, _, page = server.api("GET", "/allocations?pool_id=%s&limit=1000" % pool_id)
    assert status == 200, page
    assert page["next_cursor"] is None
    return page["items"]


def fleet_events(server, fleet):
    out, after = [], 0
    while True:
        status, _, page = server.api("GET", "/events?after=%d&limit=1000&fleet_id=%s"
                                     % (after, fleet))
        assert status == 200, page
        if not page["items"]:
            return out
        out.extend(page["items"])
        after = page["next_after"]


def check_refusal(err, pool, wins, acked_ids_by_window, win):
    """A 409 must be capacity_exceeded, with SPEC §3 details that hold up."""
    assert err["error"]["code"] == "capacity_exceeded", err
    d = err["error"]["details"]
    assert d["pool_id"] == pool["id"], d
    assert d["capacity"] == CAPACITY and d["requested"] == 1, d
    assert d["free"] < 1, d
    at = d["at"]
    assert iso(win[0]) <= at < iso(win[1]), (d, win)
    conflicting = d["conflicting_allocation_ids"]
    assert len(conflicting) == len(set(conflicting)), d
    # Those covering `at` when it was refused: acknowledged allocations, all of
    # them covering `at`, and as many as the capacity taken (quantities are 1).
    assert len(conflicting) == CAPACITY - d["free"], d
    by_id = {a_id: w for w, a_ids in acked_ids_by_window.items() for a_id in a_ids}
    for a_id in conflicting:
        assert a_id in by_id, ("refusal names an unacknowledged allocation", a_id, d)
        w = by_id[a_id]
        assert iso(w[0]) <= at < iso(w[1]), (a_id, w, d)
    assert "next_fit_start" in d


def test_capacity_invariant_under_concurrent_bookings(server):
    for _ in range(ROUNDS):
        fleet = unique("fleet")
        pool = make_pool(server, fleet)
        wins = windows()
        bodies = []
        for i in range(THREADS):
            w = wins[i % len(wins)]
            bodies.append({"pool_id": pool["id"], "vehicle_id": unique("veh"),
                           "quantity": 1, "start": iso(w[0]), "end": iso(w[1])})

        results = race(lambda i: server.api("POST", "/allocations", bodies[i]), THREADS)

        acked = {}       # id -> 201 body
        acked_win = {}   # id -> window
        refused = []     # (window, error body)
        for i, (status, _, body) in enumerate(results):
            w = wins[i % len(wins)]
            if status == 201:
                assert body["status"] == "confirmed" and body["version"] == 1, body
                assert body["vehicle_id"] == bodies[i]["vehicle_id"], body
                assert body["start"] == iso(w[0]) and body["end"] == iso(w[1]), body
                assert body["id"] not in acked
                acked[body["id"]] = body
                acked_win[body["id"]] = w
            else:
                assert status == 409, (status, body)
                refused.append((w, body))
        assert acked, "nothing was booked"
        assert len(acked) + len(refused) == THREADS

        # The invariant, at every window boundary (load only changes there).
        booked = list(acked_win.values())
        for t in boundaries(wins):
            assert load_at(booked, t) <= CAPACITY, (iso(t), load_at(booked, t))

        # Refusals are genuine: what was refused still does not fit next to
        # what was acknowledged (acknowledged sets only grow), and the details
        # name acknowledged allocations.
        by_window = {}
        for a_id, w in acked_win.items():
            by_window.setdefault(w, []).append(a_id)
        for w, err in refused:
            check_refusal(err, pool, wins, by_window, w)
            assert any(load_at(booked + [w], t) > CAPACITY
                       for t in boundaries(wins) if overlaps(w, t)), (w, err)

        # The ledger holds exactly the acknowledged allocations, as acknowledged.
        listed = list_pool_allocations(server, pool["id"])
        assert sorted(a["id"] for a in listed) == sorted(acked)
        for a in listed:
            assert a["status"] == "confirmed"
            assert a == acked[a["id"]]

        # The pool's reserved capacity agrees (the first and last windows cover now).
        status, _, got = server.api("GET", "/pools/" + pool["id"])
        assert status == 200, got
        now = now_ms()
        reserved = sum(1 for w in booked if overlaps(w, now))
        assert got["reserved_capacity"] == reserved, (got, reserved)
        assert got["available_capacity"] == CAPACITY - reserved, got
        assert got["capacity_now"] == CAPACITY, got

        # One allocation.created event per acknowledged booking, none for refusals.
        created = [e for e in fleet_events(server, fleet) if e["entity_type"] == "allocation"]
        assert sorted(e["entity_id"] for e in created) == sorted(acked)
        assert all(e["type"] == "allocation.created" for e in created), created


def test_capacity_invariant_under_concurrent_growth_and_release(server):
    """Concurrent PUTs that grow quantities race with DELETEs that free room:
    the invariant holds at every instant afterwards, and every 200 stuck."""
    fleet = unique("fleet")
    pool = make_pool(server, fleet, capacity=8)
    n = (now_ms() // 1000) * 1000
    w = (n + HOUR, n + 2 * HOUR)
    allocs = []
    for _ in range(8):
        status, _, a = server.api("POST", "/allocations", {
            "pool_id": pool["id"], "vehicle_id": unique("veh"), "quantity": 1,
            "start": iso(w[0]), "end": iso(w[1])})
        assert status == 201, a
        allocs.append(a)
    # Full.  Threads 0-3 cancel allocations 0-3; threads 4-31 each try to grow
    # one of allocations 4-7 to quantity 2 (only 4 units can ever free up).
    def act(i):
        if i < 4:
            return server.api("DELETE", "/allocations/" + allocs[i]["id"])
        target = allocs[4 + i % 4]
        return server.api("PUT", "/allocations/" + target["id"], {"quantity": 2})

    results = race(act, 32)
    for i in range(4):
        status, _, body = results[i]
        assert status == 200 and body["status"] == "cancelled", body
    last = {}
    for i in range(4, 32):
        status, _, body = results[i]
        if status == 200:
            assert body["quantity"] == 2, body
            a_id = body["id"]
            if a_id not in last or body["version"] > last[a_id]["version"]:
                last[a_id] = body
        else:
            assert status == 409 and body["error"]["code"] == "capacity_exceeded", body
    listed = {a["id"]: a for a in list_pool_allocations(server, pool["id"])}
    assert len(listed) == 8
    live = [a for a in listed.values() if a["status"] == "confirmed"]
    assert sum(a["quantity"] for a in live) <= 8, live
    assert len(live) == 4
    for a_id, body in last.items():
        assert listed[a_id] == body, (listed[a_id], body)
    # Each of allocations 4-7 ends at quantity 2 exactly when some PUT got 200.
    for a in live:
        assert a["quantity"] == (2 if a["id"] in last else 1), a
