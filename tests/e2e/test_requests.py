"""End-to-end: the request queue over real HTTP (SPEC §4).

Each test uses its own fleet (conftest.unique), so tests share one server
without seeing each other's pools, queues or events.
"""
import os
import tempfile
import time

import pytest

from conftest import Server, iso, now_ms, unique

MINUTE_MS = 60_000
OMIT = object()  # a make_request field to leave out of the body
HOUR_MS = 3_600_000


# ---- helpers -----------------------------------------------------------------

def make_pool(server, fleet, capacity=1, resource_type="charging_bay", **extra):
    body = {"fleet_id": fleet, "name": unique("pool"), "resource_type": resource_type,
            "total_capacity": capacity}
    body.update(extra)
    status, _, pool = server.api("POST", "/pools", body)
    assert status == 201, pool
    return pool


def book(server, pool_id, vehicle, quantity=1, start_ms=None, end_ms=None, **extra):
    """A confirmed allocation; end_ms None = open-ended."""
    body = {"pool_id": pool_id, "vehicle_id": vehicle, "quantity": quantity,
            "end": iso(end_ms) if end_ms is not None else None}
    if start_ms is not None:
        body["start"] = iso(start_ms)
    body.update(extra)
    status, _, alloc = server.api("POST", "/allocations", body)
    assert status == 201, alloc
    return alloc


def make_request(server, fleet, expect=201, **fields):
    body = {"fleet_id": fleet, "resource_type": "charging_bay", "quantity": 1,
            "vehicle_id": unique("veh"), "duration_seconds": 600}
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not OMIT}
    status, headers, req = server.api("POST", "/requests", body)
    assert status == expect, req
    return req


def get_request(server, rid):
    status, headers, req = server.api("GET", "/requests/" + rid)
    assert status == 200, req
    assert headers["etag"] == '"%d"' % req["version"]
    return req


def list_requests(server, query):
    status, _, page = server.api("GET", "/requests?" + query)
    assert status == 200, page
    return page


def blocked_pool(server, fleet, capacity=1, **extra):
    """A pool whose whole capacity is taken by an open-ended allocation."""
    pool = make_pool(server, fleet, capacity=capacity, **extra)
    blocker = book(server, pool["id"], unique("blocker"), quantity=capacity)
    return pool, blocker


def assert_invalid(status, body, field):
    assert status == 400, body
    assert body["error"]["code"] == "invalid_request", body
    assert body["error"]["details"].get("field") == field, body


# ---- fulfilment --------------------------------------------------------------

def test_request_fulfilled_at_once(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, capacity=2)
    vehicle = unique("veh")
    status, headers, req = server.api("POST", "/requests", {
        "fleet_id": fleet, "vehicle_id": vehicle, "resource_type": "charging_bay",
        "quantity": 1.5, "duration_seconds": 90.25, "priority": 7,
        "metadata": {"note": "nightly"}})
    assert status == 201, req
    assert headers["etag"] == '"%d"' % req["version"]
    assert req["status"] == "fulfilled"
    assert req["pending_reason"] is None
    assert req["queue_position"] is None
    assert req["effective_priority"] is None
    assert req["estimated_start"] is None
    assert req["fulfilled_at"] is not None
    assert req["quantity"] == 1.5
    assert req["duration_seconds"] == 90.25
    assert req["latest_end"] is None
    assert req["metadata"] == {"note": "nightly"}
    assert req["allocation_id"]

    status, _, alloc = server.api("GET", "/allocations/" + req["allocation_id"])
    assert status == 200, alloc
    assert alloc["request_id"] == req["id"]
    assert alloc["status"] == "confirmed"
    assert alloc["pool_id"] == pool["id"]
    assert alloc["vehicle_id"] == vehicle
    assert alloc["quantity"] == 1.5
    assert alloc["priority"] == 7
    assert get_request(server, req["id"]) == req


def test_request_pending_without_pool_of_type(server):
    fleet = unique("fleet")
    req = make_request(server, fleet, resource_type="maintenance_bay")
    assert req["status"] == "pending"
    assert req["pending_reason"] == "no_pool_of_type"
    assert req["allocation_id"] is None
    assert req["queue_position"] == 1
    assert req["estimated_start"] is None


def test_request_pending_then_fulfilled_when_capacity_frees(server):
    fleet = unique("fleet")
    pool, blocker = blocked_pool(server, fleet)
    req = make_request(server, fleet)
    assert req["status"] == "pending"
    assert req["pending_reason"] == "insufficient_capacity"
    # The blocker never ends: nothing fits within 30 days.
    assert req["estimated_start"] is None

    status, _, released = server.api("DELETE", "/allocations/" + blocker["id"])
    assert status == 200, released
    assert released["status"] == "released"

    req = get_request(server, req["id"])
    assert req["status"] == "fulfilled"
    assert req["pending_reason"] is None
    status, _, alloc = server.api("GET", "/allocations/" + req["allocation_id"])
    assert status == 200
    assert alloc["request_id"] == req["id"]
    assert alloc["pool_id"] == pool["id"]


def test_request_pending_when_capacity_added_by_new_pool(server):
    fleet = unique("fleet")
    req = make_request(server, fleet, resource_type="parking_slot")
    assert req["pending_reason"] == "no_pool_of_type"
    pool = make_pool(server, fleet, resource_type="parking_slot")
    req = get_request(server, req["id"])
    assert req["status"] == "fulfilled"
    _, _, alloc = server.api("GET", "/allocations/" + req["allocation_id"])
    assert alloc["pool_id"] == pool["id"]


def test_estimated_start_is_when_it_would_fit(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    t0 = now_ms()
    blocker_end = t0 + 10 * MINUTE_MS
    book(server, pool["id"], unique("blocker"), end_ms=blocker_end)
    # The deadline leaves no room before the blocker ends: pending; the
    # estimate ignores latest_end.
    req = make_request(server, fleet, duration_seconds=60, latest_end=iso(t0 + 5 * MINUTE_MS))
    assert req["status"] == "pending"
    assert req["pending_reason"] == "insufficient_capacity"
    assert req["estimated_start"] == iso(blocker_end)
    assert req["latest_end"] == iso(t0 + 5 * MINUTE_MS)


def test_request_without_deadline_books_the_earliest_later_start(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    blocker_end = now_ms() + 10 * MINUTE_MS
    book(server, pool["id"], unique("blocker"), end_ms=blocker_end)
    req = make_request(server, fleet, duration_seconds=60)
    assert req["status"] == "fulfilled"
    _, _, alloc = server.api("GET", "/allocations/" + req["allocation_id"])
    assert alloc["start"] == iso(blocker_end)
    assert alloc["end"] == iso(blocker_end + 60_000)


# ---- queue -------------------------------------------------------------------

def test_queue_order_position_and_effective_priority(server):
    fleet = unique("fleet")
    pool, blocker = blocked_pool(server, fleet)
    low_a = make_request(server, fleet, priority=5, duration_seconds=60)
    high = make_request(server, fleet, priority=10, duration_seconds=60)
    low_b = make_request(server, fleet, priority=5, duration_seconds=60)
    other = make_request(server, fleet, priority=0, resource_type="parking_slot")
    assert low_a["queue_position"] == 1  # alone when it was made
    assert high["queue_position"] == 1  # ahead of low_a

    page = list_requests(server, "fleet_id=%s&resource_type=charging_bay&status=pending" % fleet)
    assert [r["id"] for r in page["items"]] == [high["id"], low_a["id"], low_b["id"]]
    assert [r["queue_position"] for r in page["items"]] == [1, 2, 3]
    assert [r["effective_priority"] for r in page["items"]] == [10, 5, 5]
    assert page["next_cursor"] is None
    # One queue per (fleet_id, resource_type).
    assert get_request(server, other["id"])["queue_position"] == 1
    assert get_request(server, low_b["id"])["queue_position"] == 3

    # Capacity frees: each takes the earliest start, in queue order.
    status, _, _ = server.api("DELETE", "/allocations/" + blocker["id"])
    assert status == 200
    starts = []
    for r in (high, low_a, low_b):
        got = get_request(server, r["id"])
        assert got["status"] == "fulfilled", got
        _, _, alloc = server.api("GET", "/allocations/" + got["allocation_id"])
        starts.append(alloc["start"])
    assert starts == sorted(starts) and len(set(starts)) == 3
    page = list_requests(server, "fleet_id=%s&status=pending" % fleet)
    assert [r["id"] for r in page["items"]] == [other["id"]]


def test_list_filters_and_pages(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, capacity=10, site="depot-1")
    veh = unique("veh")
    a = make_request(server, fleet, vehicle_id=veh)
    b = make_request(server, fleet, vehicle_id=None, operation_id="op-1", pool_id=pool["id"])
    c = make_request(server, fleet, site="depot-1")
    d = make_request(server, fleet, resource_type="energy")  # pending: no pool
    assert all(r["status"] == "fulfilled" for r in (a, b, c))

    def ids(query):
        return [r["id"] for r in list_requests(server, "fleet_id=%s&%s" % (fleet, query))["items"]]

    assert ids("limit=1000") == [a["id"], b["id"], c["id"], d["id"]]
    assert ids("vehicle_id=" + veh) == [a["id"]]
    assert ids("operation_id=op-1") == [b["id"]]
    assert ids("pool_id=" + pool["id"]) == [b["id"]]
    assert ids("site=depot-1") == [c["id"]]
    assert ids("resource_type=energy") == [d["id"]]
    assert ids("status=fulfilled") == [a["id"], b["id"], c["id"]]
    assert ids("status=cancelled") == []

    page = list_requests(server, "fleet_id=%s&limit=3" % fleet)
    assert [r["id"] for r in page["items"]] == [a["id"], b["id"], c["id"]]
    assert page["next_cursor"]
    page = list_requests(server, "fleet_id=%s&limit=3&cursor=%s" % (fleet, page["next_cursor"]))
    assert [r["id"] for r in page["items"]] == [d["id"]]
    assert page["next_cursor"] is None

    for query, field in [("status=waiting", "status"), ("limit=0", "limit"),
                         ("limit=1001", "limit"), ("limit=x", "limit"),
                         ("cursor=garbage", "cursor")]:
        status, _, body = server.api("GET", "/requests?fleet_id=%s&%s" % (fleet, query))
        assert_invalid(status, body, field)


def test_get_unknown_request_is_404(server):
    status, _, body = server.api("GET", "/requests/00000000-0000-7000-8000-000000000000")
    assert status == 404
    assert body["error"]["code"] == "not_found"
    for method in ("PUT", "DELETE"):
        status, _, body = server.api(method, "/requests/nope", {} if method == "PUT" else None)
        assert status == 404, body


@pytest.fixture(scope="module")
def fast_aging_server():
    """A server of its own whose queue ages one step per second."""
    with tempfile.TemporaryDirectory() as d:
        s = Server(os.path.join(d, "fleetres.db"), env={"QUEUE_AGING_SECONDS": "1"}).start()
        yield s
        assert s.stop() == 0


def test_aging_lets_low_priority_overtake(fast_aging_server):
    server = fast_aging_server
    fleet = unique("fleet")
    blocked_pool(server, fleet)
    old = make_request(server, fleet, priority=0)
    time.sleep(3.2)
    new = make_request(server, fleet, priority=2)
    assert new["effective_priority"] == 2
    page = list_requests(server, "fleet_id=%s&status=pending" % fleet)
    assert [r["id"] for r in page["items"]] == [old["id"], new["id"]]
    assert page["items"][0]["effective_priority"] >= 3
    assert [r["queue_position"] for r in page["items"]] == [1, 2]


# ---- deadlines ---------------------------------------------------------------

def test_pending_request_expires_at_its_deadline(server):
    fleet = unique("fleet")
    blocked_pool(server, fleet)
    t0 = now_ms()
    req = make_request(server, fleet, duration_seconds=1, earliest_start=iso(t0),
                       latest_end=iso(t0 + 2000))
    assert req["status"] == "pending"
    # It can no longer fit once latest_end - duration < now (t0 + 1 s); the
    # server's tick makes it expired within 1 s, without other traffic.
    time.sleep(2.3)
    status, _, events = server.api("GET", "/events?fleet_id=%s&limit=1000" % fleet)
    assert status == 200
    expired = [e for e in events["items"] if e["type"] == "request.expired"]
    assert len(expired) == 1, events
    assert expired[0]["entity_id"] == req["id"]
    assert expired[0]["actor"] == "system"
    req = get_request(server, req["id"])
    assert req["status"] == "expired"
    assert req["queue_position"] is None
    status, _, body = server.api("DELETE", "/requests/" + req["id"])
    assert status == 409 and body["error"]["code"] == "invalid_state"


def test_window_shorter_than_duration_is_400(server):
    fleet = unique("fleet")
    t0 = now_ms() + HOUR_MS
    status, _, body = server.api("POST", "/requests", {
        "fleet_id": fleet, "vehicle_id": "v1", "resource_type": "charging_bay", "quantity": 1,
        "earliest_start": iso(t0), "latest_end": iso(t0 + 60_000), "duration_seconds": 61})
    assert_invalid(status, body, "duration_seconds")
    # Without duration_seconds the window is the duration.
    req = make_request(server, fleet, duration_seconds=OMIT, earliest_start=iso(t0),
                       latest_end=iso(t0 + 60_000))
    assert req["duration_seconds"] == 60


def test_required_fields(server):
    fleet = unique("fleet")
    base = {"fleet_id": fleet, "vehicle_id": "v1", "resource_type": "charging_bay",
            "quantity": 1, "duration_seconds": 60}
    for missing, field in [("fleet_id", "fleet_id"), ("resource_type", "resource_type"),
                           ("quantity", "quantity"), ("duration_seconds", "duration_seconds"),
                           ("vehicle_id", "vehicle_id")]:
        body = dict(base)
        del body[missing]
        status, _, err = server.api("POST", "/requests", body)
        assert_invalid(status, err, field)
    status, _, err = server.api("POST", "/requests", dict(base, pool_id="no-such-pool"))
    assert status == 422 and err["error"]["code"] == "unknown_reference", err
    assert list_requests(server, "fleet_id=" + fleet)["items"] == []


# ---- PUT / DELETE ------------------------------------------------------------

def test_put_pending_request_is_redispatched(server):
    fleet = unique("fleet")
    full, _ = blocked_pool(server, fleet, site="north")
    free = make_pool(server, fleet, site="south")
    req = make_request(server, fleet, pool_id=full["id"], priority=3)
    assert req["status"] == "pending"

    status, _, body = server.api("PUT", "/requests/" + req["id"], {"priority": 4},
                                 headers={"If-Match": '"%d"' % (req["version"] + 1)})
    assert status == 412 and body["error"]["code"] == "version_mismatch", body
    status, _, body = server.api("PUT", "/requests/" + req["id"], {"priority": 4},
                                 headers={"If-Match": "garbage"})
    assert status == 400, body
    assert get_request(server, req["id"])["version"] == req["version"]

    status, headers, changed = server.api("PUT", "/requests/" + req["id"], {"priority": 4},
                                          headers={"If-Match": '"%d"' % req["version"]})
    assert status == 200, changed
    assert changed["priority"] == 4 and changed["status"] == "pending"
    assert changed["version"] > req["version"]
    assert headers["etag"] == '"%d"' % changed["version"]

    status, _, changed = server.api("PUT", "/requests/" + req["id"], {"pool_id": None})
    assert status == 200, changed
    assert changed["status"] == "fulfilled"
    _, _, alloc = server.api("GET", "/allocations/" + changed["allocation_id"])
    assert alloc["pool_id"] == free["id"]


def test_put_back_what_was_read(server):
    fleet = unique("fleet")
    blocked_pool(server, fleet)
    req = make_request(server, fleet, latest_end=None)
    status, _, same = server.api("PUT", "/requests/" + req["id"], req)
    assert status == 200, same
    for key in ("fleet_id", "vehicle_id", "resource_type", "quantity", "duration_seconds",
                "earliest_start", "latest_end", "priority", "status", "metadata"):
        assert same[key] == req[key], key
    status, _, body = server.api("PUT", "/requests/" + req["id"], {"fleet_id": unique("other")})
    assert_invalid(status, body, "fleet_id")
    status, _, body = server.api("PUT", "/requests/" + req["id"], {"resource_type": "energy"})
    assert_invalid(status, body, "resource_type")


def test_delete_pending_request_cancels_it(server):
    fleet = unique("fleet")
    blocked_pool(server, fleet)
    req = make_request(server, fleet)
    status, _, body = server.api("DELETE", "/requests/" + req["id"],
                                 headers={"If-Match": '"%d"' % (req["version"] + 5)})
    assert status == 412 and body["error"]["code"] == "version_mismatch", body
    status, headers, done = server.api("DELETE", "/requests/" + req["id"],
                                       headers={"If-Match": 'W/"%d"' % req["version"]})
    assert status == 200, done
    assert done["status"] == "cancelled"
    assert done["queue_position"] is None
    assert headers["etag"] == '"%d"' % done["version"]
    assert get_request(server, req["id"]) == done

    status, _, body = server.api("DELETE", "/requests/" + req["id"])
    assert status == 409 and body["error"]["code"] == "invalid_state", body
    status, _, body = server.api("PUT", "/requests/" + req["id"], {"priority": 1})
    assert status == 409 and body["error"]["code"] == "invalid_state", body
    assert list_requests(server, "fleet_id=%s&status=pending" % fleet)["items"] == []


def test_put_or_delete_fulfilled_request_is_409(server):
    fleet = unique("fleet")
    make_pool(server, fleet)
    req = make_request(server, fleet)
    assert req["status"] == "fulfilled"
    status, _, body = server.api("PUT", "/requests/" + req["id"], {"priority": 9})
    assert status == 409 and body["error"]["code"] == "invalid_state", body
    status, _, body = server.api("DELETE", "/requests/" + req["id"])
    assert status == 409 and body["error"]["code"] == "invalid_state", body
    assert get_request(server, req["id"]) == req


def test_preempting_request_takes_a_lower_priority_booking(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    start = now_ms() + HOUR_MS
    victim = book(server, pool["id"], unique("veh"), start_ms=start, end_ms=start + HOUR_MS,
                  priority=1)
    req = make_request(server, fleet, priority=50, preempt=True, duration_seconds=1800,
                       earliest_start=iso(start), latest_end=iso(start + HOUR_MS))
    assert req["status"] == "fulfilled", req
    assert req["preempt"] is True
    _, _, victim = server.api("GET", "/allocations/" + victim["id"])
    assert victim["status"] == "preempted"


# ---- malformed input ---------------------------------------------------------

VALID = '"fleet_id": "%s", "vehicle_id": "v1", "resource_type": "charging_bay"'

BAD_FIELDS = [
    ('"quantity": "1", "duration_seconds": 60', "quantity"),
    ('"quantity": 1.0005, "duration_seconds": 60', "quantity"),
    ('"quantity": 1e13, "duration_seconds": 60', "quantity"),
    ('"quantity": 1e400, "duration_seconds": 60', "quantity"),
    ('"quantity": -1, "duration_seconds": 60', "quantity"),
    ('"quantity": 0, "duration_seconds": 60', "quantity"),
    ('"quantity": null, "duration_seconds": 60', "quantity"),
    ('"quantity": 1, "duration_seconds": 1.0005', "duration_seconds"),
    ('"quantity": 1, "duration_seconds": "60"', "duration_seconds"),
    ('"quantity": 1, "duration_seconds": 0', "duration_seconds"),
    ('"quantity": 1, "duration_seconds": -5', "duration_seconds"),
    ('"quantity": 1, "duration_seconds": 1e13', "duration_seconds"),
    ('"quantity": 1, "duration_seconds": 60, "earliest_start": "2026-13-01T00:00:00Z"',
     "earliest_start"),
    ('"quantity": 1, "duration_seconds": 60, "earliest_start": "yesterday"', "earliest_start"),
    ('"quantity": 1, "duration_seconds": 60, "earliest_start": 1767225600000', "earliest_start"),
    ('"quantity": 1, "duration_seconds": 60, "earliest_start": null', "earliest_start"),
    ('"quantity": 1, "duration_seconds": 60, "latest_end": "2026-11-26T25:00:00Z"', "latest_end"),
    ('"quantity": 1, "duration_seconds": 60, "earliest_start": "2030-01-02T00:00:00Z", '
     '"latest_end": "2030-01-01T00:00:00Z"', "latest_end"),
    ('"quantity": 1, "duration_seconds": 60, "priority": 1001', "priority"),
    ('"quantity": 1, "duration_seconds": 60, "priority": -1', "priority"),
    ('"quantity": 1, "duration_seconds": 60, "priority": 1.5', "priority"),
    ('"quantity": 1, "duration_seconds": 60, "priority": "5"', "priority"),
    ('"quantity": 1, "duration_seconds": 60, "priority": 1e30', "priority"),
    ('"quantity": 1, "duration_seconds": 60, "preempt": "yes"', "preempt"),
    ('"quantity": 1, "duration_seconds": 60, "preempt": 1', "preempt"),
    ('"quantity": 1, "duration_seconds": 60, "metadata": []', "metadata"),
    ('"quantity": 1, "duration_seconds": 60, "metadata": "x"', "metadata"),
    ('"quantity": 1, "duration_seconds": 60, "pool_id": 7', "pool_id"),
    ('"quantity": 1, "duration_seconds": 60, "site": ""', "site"),
    ('"quantity": 1, "duration_seconds": 60, "operation_id": ["a"]', "operation_id"),
]


def test_malformed_create_is_400_and_changes_nothing(server):
    fleet = unique("fleet")
    make_pool(server, fleet, capacity=100)
    _, _, before = server.api("GET", "/events?fleet_id=%s&limit=1000" % fleet)
    head = VALID % fleet
    for extra, field in BAD_FIELDS:
        raw = ("{%s, %s}" % (head, extra)).encode()
        status, _, body = server.api("POST", "/requests", raw=raw,
                                     headers={"Content-Type": "application/json"})
        assert status == 400, (extra, body)
        assert body["error"]["code"] == "invalid_request", (extra, body)
        assert body["error"]["details"].get("field") == field, (extra, body)

    for name, value, field in [("fleet_id", 5, "fleet_id"), ("fleet_id", "", "fleet_id"),
                               ("fleet_id", "x" * 129, "fleet_id"),
                               ("fleet_id", "tab\there", "fleet_id"),
                               ("resource_type", None, "resource_type"),
                               ("vehicle_id", {"id": 1}, "vehicle_id")]:
        body = {"fleet_id": fleet, "vehicle_id": "v1", "resource_type": "charging_bay",
                "quantity": 1, "duration_seconds": 60}
        body[name] = value
        status, _, err = server.api("POST", "/requests", body)
        assert_invalid(status, err, field)

    for raw in [b'{"fleet_id": ', b'not json', b'[1, 2]', b'"str"', b'',
                b'{"quantity": NaN}', b'{"fleet_id": "\xff\xfe"}',
                ('{%s, "quantity": 1, "duration_seconds": 60} trailing' % head).encode()]:
        status, _, body = server.api("POST", "/requests", raw=raw,
                                     headers={"Content-Type": "application/json"})
        assert status == 400, (raw, body)
        assert body["error"]["code"] == "invalid_request", (raw, body)
    status, _, body = server.api("POST", "/requests", raw=b'{}',
                                 headers={"Content-Type": "text/plain"})
    assert status == 415, body

    assert list_requests(server, "fleet_id=" + fleet)["items"] == []
    _, _, after = server.api("GET", "/events?fleet_id=%s&limit=1000" % fleet)
    assert after["items"] == before["items"]


def test_long_number_literals_are_read_exactly(server):
    """A literal longer than any buffer is still read whole: 1 + 1e-44 has more
    than 3 decimals, whatever its length (not 1 after truncation)."""
    fleet = unique("fleet")
    make_pool(server, fleet, capacity=100)
    head = VALID % fleet
    for literal, field in [("1." + "0" * 43 + "1", "quantity"),
                           ("1" + "0" * 40, "quantity"),
                           ("0." + "0" * 50 + "1", "quantity")]:
        raw = ('{%s, "quantity": %s, "duration_seconds": 60}' % (head, literal)).encode()
        status, _, body = server.api("POST", "/requests", raw=raw,
                                     headers={"Content-Type": "application/json"})
        assert status == 400, (literal, body)
        assert body["error"]["details"].get("field") == field, (literal, body)
    assert list_requests(server, "fleet_id=" + fleet)["items"] == []


def test_malformed_update_is_400_and_changes_nothing(server):
    fleet = unique("fleet")
    blocked_pool(server, fleet)
    req = make_request(server, fleet)
    for body, field in [({"quantity": 1.2345}, "quantity"), ({"priority": 2000}, "priority"),
                        ({"duration_seconds": "x"}, "duration_seconds"),
                        ({"latest_end": "soon"}, "latest_end"),
                        ({"earliest_start": iso(now_ms() + HOUR_MS),
                          "latest_end": iso(now_ms() + HOUR_MS + 1000)}, "duration_seconds"),
                        ({"vehicle_id": None}, "vehicle_id")]:
        status, _, err = server.api("PUT", "/requests/" + req["id"], body)
        assert_invalid(status, err, field)
    status, _, err = server.api("PUT", "/requests/" + req["id"], raw=b'{"priority": ',
                                headers={"Content-Type": "application/json"})
    assert status == 400, err
    assert get_request(server, req["id"]) == req
