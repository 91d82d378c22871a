"""End-to-end tests of /allocations (SPEC §3) over real HTTP."""
import calendar
import http.client
import json
import time

import pytest

from conftest import BASE, iso, now_ms, unique

HOUR = 3600 * 1000
ZERO_ID = "00000000-0000-7000-8000-000000000000"


def make_pool(server, fleet, **fields):
    body = {"fleet_id": fleet, "name": "bay", "resource_type": "charging_bay",
            "total_capacity": 2}
    body.update(fields)
    status, _, pool = server.api("POST", "/pools", body)
    assert status == 201, pool
    return pool


def future(hours=1.0):
    """A whole-second instant `hours` from now (ms)."""
    return (now_ms() // 1000) * 1000 + int(hours * HOUR)


def alloc_body(pool_id, quantity=1, start=None, end=None, **fields):
    body = {"pool_id": pool_id, "vehicle_id": unique("veh"), "quantity": quantity}
    if start is not None:
        body["start"] = iso(start)
    if end is not None:
        body["end"] = iso(end)
    body.update(fields)
    return body


def book(server, pool_id, quantity=1, start=None, end=None, **fields):
    status, headers, alloc = server.api("POST", "/allocations",
                                        alloc_body(pool_id, quantity, start, end, **fields))
    assert status == 201, alloc
    assert headers["etag"] == '"%d"' % alloc["version"]
    return alloc


def list_all(server, query):
    status, _, page = server.api("GET", "/allocations?" + query + "&limit=1000")
    assert status == 200, page
    return page["items"]


def ids(items):
    return [a["id"] for a in items]


def stamp_ms(stamp):
    """Milliseconds of a server stamp "YYYY-MM-DDTHH:MM:SS.mmmZ"."""
    assert len(stamp) == 24 and stamp.endswith("Z"), stamp
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + \
        int(stamp[20:23])


def sleep_past(stamp, margin=0.15):
    """Sleeps until `margin` seconds after a server stamp."""
    time.sleep(max(0.0, stamp_ms(stamp) / 1000.0 + margin - time.time()))


def raw(server, method, path, text, content_type="application/json"):
    """Sends text verbatim; returns (status, raw response text)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, BASE + path, body=text.encode(),
                 headers={"Content-Type": content_type})
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    return resp.status, data


# ---- create / get ------------------------------------------------------------


def test_create_and_get(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    start, end = future(1), future(2)
    status, headers, a = server.api("POST", "/allocations", {
        "pool_id": pool["id"], "vehicle_id": "veh-1", "operation_id": "op-1",
        "allocation_type": "charge", "quantity": 1, "start": iso(start), "end": iso(end),
        "priority": 7, "metadata": {"note": "x", "n": 2}})
    assert status == 201, a
    assert headers["etag"] == '"1"'
    assert len(a["id"]) == 36 and a["pool_id"] == pool["id"]
    assert a["fleet_id"] == fleet and a["resource_type"] == "charging_bay"
    assert a["vehicle_id"] == "veh-1" and a["operation_id"] == "op-1"
    assert a["allocation_type"] == "charge" and a["quantity"] == 1
    assert a["start"] == iso(start) and a["end"] == iso(end)
    assert a["priority"] == 7 and a["status"] == "confirmed"
    assert a["hold_expires_at"] is None and a["released_at"] is None
    assert a["request_id"] is None and a["plan_id"] is None
    assert a["metadata"] == {"note": "x", "n": 2}
    assert a["version"] == 1
    status, headers, got = server.api("GET", "/allocations/" + a["id"])
    assert status == 200 and headers["etag"] == '"1"'
    assert got == a


def test_create_defaults(server):
    pool = make_pool(server, unique("fleet"))
    before = now_ms()
    status, _, a = server.api("POST", "/allocations",
                              {"pool_id": pool["id"], "operation_id": "op", "quantity": 1})
    after = now_ms()
    assert status == 201, a
    assert a["allocation_type"] == "default" and a["priority"] == 0
    assert a["vehicle_id"] is None and a["end"] is None and a["metadata"] == {}
    assert iso(before) <= a["start"] <= iso(after)
    assert a["status"] == "confirmed"


def test_get_unknown_is_404(server):
    for method, body in (("GET", None), ("PUT", {"priority": 1}), ("DELETE", None)):
        status, _, err = server.api(method, "/allocations/" + ZERO_ID, body)
        assert status == 404, (method, err)
        assert err["error"]["code"] == "not_found"


def test_requires_vehicle_or_operation(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    status, _, err = server.api("POST", "/allocations", {"pool_id": pool["id"], "quantity": 1})
    assert status == 400, err
    assert err["error"]["details"]["field"] == "vehicle_id"
    status, _, err = server.api("POST", "/allocations",
                                {"pool_id": pool["id"], "vehicle_id": "v"})
    assert status == 400 and err["error"]["details"]["field"] == "quantity"
    assert list_all(server, "fleet_id=" + fleet) == []


def test_exact_quantities_and_utc_times(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, resource_type="power_kw", total_capacity=1)
    body = json.dumps({"pool_id": pool["id"], "operation_id": "op",
                       "start": "2031-03-01T12:00:00.123456+05:30",
                       "end": "2031-03-01T13:00:00-01:00"})
    status, text = raw(server, "POST", "/allocations", body[:-1] + ', "quantity": 0.1}')
    assert status == 201, text
    assert '"quantity":0.1,' in text.replace(" ", "")
    a = json.loads(text)
    assert a["start"] == "2031-03-01T06:30:00.123Z"
    assert a["end"] == "2031-03-01T14:00:00.000Z"
    # 0.1 ten times fits exactly into a capacity of 1 (no float drift) ...
    for _ in range(9):
        status, text = raw(server, "POST", "/allocations", body[:-1] + ', "quantity": 0.1}')
        assert status == 201, text
    # ... and then the pool is exactly full.
    status, text = raw(server, "POST", "/allocations", body[:-1] + ', "quantity": 0.001}')
    assert status == 409, text
    status, text = raw(server, "POST", "/allocations", body[:-1] + ', "quantity": 1.0005}')
    assert status == 400, text
    assert json.loads(text)["error"]["details"]["field"] == "quantity"
    assert len(list_all(server, "fleet_id=" + fleet)) == 10


# ---- lifecycle ---------------------------------------------------------------


def test_hold_then_confirm(server):
    pool = make_pool(server, unique("fleet"))
    start = future(1)
    a = book(server, pool["id"], 1, start, start + HOUR, hold_seconds=60)
    assert a["status"] == "held"
    assert a["hold_expires_at"] is not None and a["hold_expires_at"].endswith("Z")
    status, headers, c = server.api("PUT", "/allocations/" + a["id"], {"status": "confirmed"})
    assert status == 200, c
    assert c["status"] == "confirmed" and c["hold_expires_at"] is None
    assert c["version"] == 2 and headers["etag"] == '"2"'


def test_hold_with_status_held(server):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2), hold_seconds=30, status="held")
    assert a["status"] == "held"
    status, _, err = server.api("POST", "/allocations",
                                alloc_body(pool["id"], 1, future(1), future(2),
                                           status="held"))
    assert status == 400 and err["error"]["details"]["field"] == "status"


def test_hold_expires_exactly(server):
    pool = make_pool(server, unique("fleet"), total_capacity=1)
    start, end = future(1), future(2)
    a = book(server, pool["id"], 1, start, end, hold_seconds=0.3)
    assert a["status"] == "held"
    assert stamp_ms(a["hold_expires_at"]) - stamp_ms(a["created_at"]) == 300
    status, _, err = server.api("POST", "/allocations", alloc_body(pool["id"], 1, start, end))
    assert status == 409 and err["error"]["code"] == "capacity_exceeded"
    sleep_past(a["hold_expires_at"])
    # The expired hold no longer counts, whether or not a sweep ran.
    b = book(server, pool["id"], 1, start, end)
    assert b["status"] == "confirmed"
    status, _, got = server.api("GET", "/allocations/" + a["id"])
    assert got["status"] == "expired"
    status, _, err = server.api("PUT", "/allocations/" + a["id"], {"status": "confirmed"})
    assert status == 409, err
    assert err["error"]["code"] == "invalid_state"


def test_release_in_progress(server):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, now_ms() - 60 * 1000, future(1))
    before = now_ms()
    status, _, r = server.api("PUT", "/allocations/" + a["id"], {"status": "released"})
    assert status == 200, r
    assert r["status"] == "released"
    assert r["released_at"] is not None and r["end"] == r["released_at"]
    assert iso(before - 1000) <= r["end"] <= iso(now_ms())
    # Ended allocations stay readable; a second release is refused.
    status, _, got = server.api("GET", "/allocations/" + a["id"])
    assert status == 200 and got == r
    status, _, err = server.api("PUT", "/allocations/" + a["id"], {"status": "released"})
    assert status == 409 and err["error"]["code"] == "invalid_state"


def test_release_before_start_is_invalid(server):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2))
    status, _, err = server.api("PUT", "/allocations/" + a["id"], {"status": "released"})
    assert status == 409, err
    assert err["error"]["code"] == "invalid_state"
    status, _, got = server.api("GET", "/allocations/" + a["id"])
    assert got == a


def test_delete_future_cancels(server):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2))
    status, headers, d = server.api("DELETE", "/allocations/" + a["id"])
    assert status == 200, d
    # docs/design.md: released_at is set for released and preempted only.
    assert d["status"] == "cancelled" and d["released_at"] is None
    assert d["version"] == 2 and d["updated_at"] >= d["created_at"]
    assert headers["etag"] == '"%d"' % d["version"]
    status, _, got = server.api("GET", "/allocations/" + a["id"])
    assert got == d
    status, _, err = server.api("DELETE", "/allocations/" + a["id"])
    assert status == 409 and err["error"]["code"] == "invalid_state"
    status, _, err = server.api("PUT", "/allocations/" + a["id"], {"priority": 3})
    assert status == 409 and err["error"]["code"] == "invalid_state"


def test_delete_in_progress_releases(server):
    pool = make_pool(server, unique("fleet"), total_capacity=1)
    a = book(server, pool["id"], 1, now_ms() - 1000)
    assert a["end"] is None
    status, _, d = server.api("DELETE", "/allocations/" + a["id"])
    assert status == 200, d
    assert d["status"] == "released" and d["end"] is not None
    # The capacity is free again.
    book(server, pool["id"], 1, future(1), future(2))


def test_delete_expired_is_invalid(server):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2), hold_seconds=0.2)
    sleep_past(a["hold_expires_at"])
    status, _, err = server.api("DELETE", "/allocations/" + a["id"])
    assert status == 409 and err["error"]["code"] == "invalid_state"


# ---- capacity and double booking ---------------------------------------------


def test_capacity_exceeded_details(server):
    pool = make_pool(server, unique("fleet"), total_capacity=2)
    start, end = future(1), future(2)
    a1 = book(server, pool["id"], 1, start, end)
    a2 = book(server, pool["id"], 1, start + 30 * 60 * 1000, end)
    status, _, err = server.api("POST", "/allocations",
                                alloc_body(pool["id"], 1.5, start, end))
    assert status == 409, err
    assert err["error"]["code"] == "capacity_exceeded"
    assert err["error"]["message"]
    d = err["error"]["details"]
    assert d["pool_id"] == pool["id"]
    assert d["at"] == iso(start)
    assert d["capacity"] == 2 and d["free"] == 1 and d["requested"] == 1.5
    assert d["conflicting_allocation_ids"] == [a1["id"]]
    assert d["next_fit_start"] == iso(end)
    status, _, err = server.api("POST", "/allocations",
                                alloc_body(pool["id"], 1, start + 45 * 60 * 1000, end))
    assert status == 409
    assert sorted(err["error"]["details"]["conflicting_allocation_ids"]) == \
        sorted([a1["id"], a2["id"]])
    assert err["error"]["details"]["free"] == 0
    assert len(list_all(server, "pool_id=" + pool["id"])) == 2


def test_capacity_no_fit_within_30_days(server):
    pool = make_pool(server, unique("fleet"), total_capacity=1)
    book(server, pool["id"], 1, now_ms() - 1000)  # open-ended
    status, _, err = server.api("POST", "/allocations",
                                alloc_body(pool["id"], 1, future(1), future(2)))
    assert status == 409
    assert err["error"]["details"]["next_fit_start"] is None


def test_overcommit_is_accepted(server):
    pool = make_pool(server, unique("fleet"), total_capacity=1)
    start, end = future(1), future(2)
    book(server, pool["id"], 1, start, end)
    a = book(server, pool["id"], 1, start, end, overcommit=True)
    assert a["status"] == "confirmed"
    status, _, err = server.api("POST", "/allocations",
                                alloc_body(pool["id"], 1, start, end, overcommit="yes"))
    assert status == 400 and err["error"]["details"]["field"] == "overcommit"


def test_double_booking(server):
    fleet = unique("fleet")
    p1 = make_pool(server, fleet, name="a")
    p2 = make_pool(server, fleet, name="b")
    start, end = future(1), future(2)
    a = book(server, p1["id"], 1, start, end, vehicle_id="veh-x")
    status, _, err = server.api("POST", "/allocations", alloc_body(
        p2["id"], 1, start + 1000, end + HOUR, vehicle_id="veh-x", overcommit=True))
    assert status == 409, err
    assert err["error"]["code"] == "double_booking"
    assert err["error"]["details"]["vehicle_id"] == "veh-x"
    assert err["error"]["details"]["conflicting_allocation_ids"] == [a["id"]]
    # Adjacent (half-open) intervals do not overlap.
    book(server, p2["id"], 1, end, end + HOUR, vehicle_id="veh-x")
    # Another resource type is fine.
    other = make_pool(server, fleet, resource_type="parking_slot")
    book(server, other["id"], 1, start, end, vehicle_id="veh-x")


def test_non_exclusive_pool_allows_same_vehicle(server):
    pool = make_pool(server, unique("fleet"), exclusive_per_vehicle=False)
    start, end = future(1), future(2)
    book(server, pool["id"], 1, start, end, vehicle_id="veh-y")
    book(server, pool["id"], 1, start, end, vehicle_id="veh-y")


def test_unknown_pool_is_422(server):
    status, _, err = server.api("POST", "/allocations",
                                alloc_body(ZERO_ID, 1, future(1), future(2)))
    assert status == 422, err
    assert err["error"]["code"] == "unknown_reference"
    assert err["error"]["details"]["field"] == "pool_id"


def test_draining_pool_refuses(server):
    pool = make_pool(server, unique("fleet"))
    status, _, _ = server.api("PUT", "/pools/" + pool["id"], {"status": "draining"})
    assert status == 200
    status, _, err = server.api("POST", "/allocations",
                                alloc_body(pool["id"], 1, future(1), future(2)))
    assert status == 409, err
    assert err["error"]["code"] == "invalid_state"
    assert list_all(server, "pool_id=" + pool["id"]) == []


# ---- pool choice -------------------------------------------------------------


def test_pool_choice_by_fleet_and_type(server):
    fleet = unique("fleet")
    big = make_pool(server, fleet, name="big", total_capacity=4)
    small = make_pool(server, fleet, name="small", total_capacity=2)
    make_pool(server, fleet, name="drained", total_capacity=10, status="draining")
    elsewhere = make_pool(server, fleet, name="elsewhere", total_capacity=3, site="s9")
    start, end = future(1), future(2)
    pick = {"fleet_id": fleet, "resource_type": "charging_bay", "start": iso(start),
            "end": iso(end)}
    # The least free capacity that still fits: small (2) before elsewhere (3), big (4).
    status, _, a = server.api("POST", "/allocations", dict(pick, vehicle_id="v1", quantity=1))
    assert status == 201, a
    assert a["pool_id"] == small["id"] and a["fleet_id"] == fleet
    status, _, a = server.api("POST", "/allocations", dict(pick, vehicle_id="v2", quantity=2))
    assert status == 201 and a["pool_id"] == elsewhere["id"]
    status, _, a = server.api("POST", "/allocations", dict(pick, vehicle_id="v3", quantity=3))
    assert status == 201 and a["pool_id"] == big["id"]
    # A site constraint.
    status, _, a = server.api("POST", "/allocations",
                              dict(pick, vehicle_id="v4", quantity=1, site="s9"))
    assert status == 201 and a["pool_id"] == elsewhere["id"]
    # Nothing fits: capacity_exceeded naming a pool.
    status, _, err = server.api("POST", "/allocations", dict(pick, vehicle_id="v5", quantity=3))
    assert status == 409 and err["error"]["code"] == "capacity_exceeded"
    assert err["error"]["details"]["pool_id"] in (big["id"], small["id"], elsewhere["id"])
    assert err["error"]["details"]["next_fit_start"] == iso(end)
    # No active pool of that type (or at that site): unknown_reference.
    status, _, err = server.api("POST", "/allocations",
                                dict(pick, resource_type="crane", vehicle_id="v6", quantity=1))
    assert status == 422 and err["error"]["code"] == "unknown_reference"
    status, _, err = server.api("POST", "/allocations",
                                dict(pick, site="nowhere", vehicle_id="v7", quantity=1))
    assert status == 422 and err["error"]["code"] == "unknown_reference"


def test_pool_choice_needs_type(server):
    status, _, err = server.api("POST", "/allocations",
                                {"fleet_id": unique("fleet"), "vehicle_id": "v", "quantity": 1})
    assert status == 400, err
    assert err["error"]["details"]["field"] == "pool_id"


# ---- update ------------------------------------------------------------------


def test_partial_update(server):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2), metadata={"k": "v"})
    status, headers, u = server.api("PUT", "/allocations/" + a["id"], {"priority": 9})
    assert status == 200, u
    assert u["priority"] == 9 and u["version"] == 2 and headers["etag"] == '"2"'
    for field in ("pool_id", "vehicle_id", "quantity", "start", "end", "status",
                  "metadata", "created_at", "allocation_type"):
        assert u[field] == a[field], field
    new_start, new_end = future(3), future(5)
    status, _, u = server.api("PUT", "/allocations/" + a["id"], {
        "start": iso(new_start), "end": iso(new_end), "quantity": 2,
        "metadata": {"z": [1, 2]}})
    assert status == 200, u
    assert u["start"] == iso(new_start) and u["end"] == iso(new_end)
    assert u["quantity"] == 2 and u["metadata"] == {"z": [1, 2]} and u["priority"] == 9
    status, _, u = server.api("PUT", "/allocations/" + a["id"], {"end": None})
    assert status == 200 and u["end"] is None


def test_update_rechecks_capacity(server):
    pool = make_pool(server, unique("fleet"), total_capacity=2)
    start, end = future(1), future(2)
    a = book(server, pool["id"], 1, start, end)
    b = book(server, pool["id"], 1, end, end + HOUR)
    # Growing into b's window is refused; the allocation itself is not counted.
    status, _, err = server.api("PUT", "/allocations/" + a["id"], {"quantity": 2,
                                                                   "end": iso(end + HOUR)})
    assert status == 409 and err["error"]["code"] == "capacity_exceeded"
    assert err["error"]["details"]["conflicting_allocation_ids"] == [b["id"]]
    status, _, u = server.api("PUT", "/allocations/" + a["id"], {"quantity": 2})
    assert status == 200, u
    status, _, got = server.api("GET", "/allocations/" + a["id"])
    assert got["quantity"] == 2 and got["end"] == iso(end)


def test_update_end_before_start(server):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2))
    status, _, err = server.api("PUT", "/allocations/" + a["id"], {"end": iso(future(0.5))})
    assert status == 400 and err["error"]["details"]["field"] == "end"
    status, _, got = server.api("GET", "/allocations/" + a["id"])
    assert got == a


@pytest.mark.parametrize("field,value", [("pool_id", ZERO_ID), ("vehicle_id", "other"),
                                         ("vehicle_id", None), ("operation_id", "op-2"),
                                         ("fleet_id", "other-fleet"),
                                         ("allocation_type", "other"),
                                         ("resource_type", "parking_slot"),
                                         ("hold_seconds", 10)])
def test_immutable_fields(server, field, value):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2), vehicle_id="veh-1")
    status, _, err = server.api("PUT", "/allocations/" + a["id"], {field: value, "priority": 1})
    assert status == 400, err
    assert err["error"]["details"]["field"] == field
    status, _, got = server.api("GET", "/allocations/" + a["id"])
    assert got == a


def test_put_back_what_get_returned(server):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2), operation_id="op-1",
             metadata={"m": "1"})
    a_held = book(server, pool["id"], 1, future(1), future(2), hold_seconds=60)
    for orig in (a, a_held):
        status, _, got = server.api("GET", "/allocations/" + orig["id"])
        body = dict(got, priority=5, version=42, created_at="2000-01-01T00:00:00Z",
                    released_at="2000-01-01T00:00:00Z", unknown={"x": 1})
        status, _, u = server.api("PUT", "/allocations/" + orig["id"], body)
        assert status == 200, u
        assert u["priority"] == 5 and u["version"] == 2
        assert u["status"] == got["status"] and u["created_at"] == got["created_at"]
        assert u["released_at"] is None


def test_operation_only_put_back(server):
    pool = make_pool(server, unique("fleet"))
    status, _, a = server.api("POST", "/allocations", {
        "pool_id": pool["id"], "operation_id": "op", "quantity": 1,
        "start": iso(future(1)), "end": iso(future(2))})
    assert status == 201 and a["vehicle_id"] is None
    status, _, u = server.api("PUT", "/allocations/" + a["id"], dict(a, priority=2))
    assert status == 200, u
    assert u["vehicle_id"] is None and u["priority"] == 2


def test_if_match(server):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2))
    path = "/allocations/" + a["id"]
    status, headers, _ = server.api("GET", path)
    assert headers["etag"] == '"1"'
    status, _, err = server.api("PUT", path, {"priority": 1}, headers={"If-Match": '"7"'})
    assert status == 412, err
    assert err["error"]["code"] == "version_mismatch"
    status, _, u = server.api("PUT", path, {"priority": 1}, headers={"If-Match": '"1"'})
    assert status == 200 and u["version"] == 2
    status, _, err = server.api("DELETE", path, headers={"If-Match": '"1"'})
    assert status == 412
    status, _, err = server.api("DELETE", path, headers={"If-Match": "x1"})
    assert status == 400
    status, _, got = server.api("GET", path)
    assert got == u
    status, _, d = server.api("DELETE", path, headers={"If-Match": 'W/"2"'})
    assert status == 200 and d["status"] == "cancelled"


# ---- batch -------------------------------------------------------------------


def test_batch_create(server):
    fleet = unique("fleet")
    bay = make_pool(server, fleet)
    power = make_pool(server, fleet, name="power", resource_type="power_kw",
                      total_capacity=300, exclusive_per_vehicle=False)
    start, end = future(1), future(2)
    status, headers, page = server.api("POST", "/allocations", {"allocations": [
        alloc_body(bay["id"], 1, start, end, vehicle_id="v1"),
        alloc_body(power["id"], 150, start, end, vehicle_id="v1")]})
    assert status == 201, page
    assert [a["pool_id"] for a in page["items"]] == [bay["id"], power["id"]]
    assert page["items"][1]["quantity"] == 150
    assert sorted(ids(list_all(server, "fleet_id=" + fleet))) == sorted(ids(page["items"]))


def test_batch_all_or_nothing(server):
    fleet = unique("fleet")
    bay = make_pool(server, fleet, total_capacity=1)
    power = make_pool(server, fleet, name="power", resource_type="power_kw",
                      total_capacity=100, exclusive_per_vehicle=False)
    start, end = future(1), future(2)
    book(server, power["id"], 50, start, end)
    before = list_all(server, "fleet_id=" + fleet)
    status, _, err = server.api("POST", "/allocations", {"allocations": [
        alloc_body(bay["id"], 1, start, end),
        alloc_body(power["id"], 60, start, end)]})
    assert status == 409, err
    assert err["error"]["code"] == "capacity_exceeded"
    assert err["error"]["details"]["index"] == 1
    assert err["error"]["details"]["pool_id"] == power["id"]
    assert list_all(server, "fleet_id=" + fleet) == before
    # Two items that only collide with each other fail too.
    status, _, err = server.api("POST", "/allocations", {"allocations": [
        alloc_body(bay["id"], 1, start, end), alloc_body(bay["id"], 1, start, end)]})
    assert status == 409 and err["error"]["details"]["index"] == 1
    status, _, err = server.api("POST", "/allocations", {"allocations": [
        alloc_body(bay["id"], 1, start, end), alloc_body(ZERO_ID, 1, start, end)]})
    assert status == 422 and err["error"]["details"]["index"] == 1
    assert list_all(server, "fleet_id=" + fleet) == before


@pytest.mark.parametrize("batch", [[], "x", {"a": 1}, [1], None])
def test_batch_malformed(server, batch):
    status, _, err = server.api("POST", "/allocations", {"allocations": batch})
    assert status == 400, err
    assert err["error"]["details"]["field"] == "allocations"


def test_batch_item_malformed(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    start, end = future(1), future(2)
    status, _, err = server.api("POST", "/allocations", {"allocations": [
        alloc_body(pool["id"], 1, start, end), alloc_body(pool["id"], "1", start, end)]})
    assert status == 400, err
    assert err["error"]["details"]["field"] == "quantity"
    assert list_all(server, "fleet_id=" + fleet) == []


# ---- list --------------------------------------------------------------------


def test_pagination(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, total_capacity=10)
    made = [book(server, pool["id"], 1, future(1), future(2))["id"] for _ in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        path = "/allocations?fleet_id=%s&limit=2" % fleet
        if cursor:
            path += "&cursor=" + cursor
        status, _, page = server.api("GET", path)
        assert status == 200, page
        assert 0 < len(page["items"]) <= 2
        seen += ids(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert seen == made and pages == 3


def test_list_filters(server):
    fleet = unique("fleet")
    bay = make_pool(server, fleet, total_capacity=10)
    slot = make_pool(server, fleet, name="slots", resource_type="parking_slot",
                     total_capacity=10)
    t1, t2, t3 = future(1), future(2), future(3)
    a = book(server, bay["id"], 1, t1, t2, vehicle_id="va", operation_id="op-a",
             allocation_type="charge")
    b = book(server, bay["id"], 1, t2, t3, vehicle_id="vb", hold_seconds=60)
    c = book(server, slot["id"], 1, t1, t3, vehicle_id="va")
    d = book(server, bay["id"], 1, t1, t2, vehicle_id="vd")
    server.api("DELETE", "/allocations/" + d["id"])
    f = "fleet_id=%s&" % fleet
    assert ids(list_all(server, f[:-1])) == ids([a, b, c, d])
    assert ids(list_all(server, "pool_id=" + bay["id"])) == ids([a, b, d])
    assert ids(list_all(server, f + "vehicle_id=va")) == ids([a, c])
    assert ids(list_all(server, f + "operation_id=op-a")) == ids([a])
    assert ids(list_all(server, f + "allocation_type=charge")) == ids([a])
    assert ids(list_all(server, f + "resource_type=parking_slot")) == ids([c])
    assert ids(list_all(server, f + "status=held")) == ids([b])
    assert ids(list_all(server, f + "status=cancelled")) == ids([d])
    assert ids(list_all(server, f + "status=confirmed&vehicle_id=va")) == ids([a, c])
    # from/to: overlap with [from, to), half-open.
    q = f + "from=%s&to=%s" % (iso(t2), iso(t3))
    assert ids(list_all(server, q)) == ids([b, c])
    q = f + "from=%s&to=%s" % (iso(t1), iso(t2))
    assert set(ids(list_all(server, q))) >= {a["id"], c["id"]}
    assert b["id"] not in ids(list_all(server, q))
    assert list_all(server, "request_id=" + ZERO_ID + "&" + f[:-1]) == []
    assert list_all(server, "plan_id=" + ZERO_ID + "&" + f[:-1]) == []
    for bad in ("status=open", "from=yesterday", "to=2030-02-30T00:00:00Z", "limit=0"):
        status, _, err = server.api("GET", "/allocations?" + bad)
        assert status == 400, (bad, err)
        assert err["error"]["details"]["field"] == bad.split("=")[0]


# ---- malformed input ---------------------------------------------------------

BAD_CREATE = [
    ({"quantity": "1"}, "quantity"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": -1}, "quantity"),
    ({"quantity": 1e13}, "quantity"),
    ({"quantity": 1.0005}, "quantity"),
    ({"quantity": "NaN"}, "quantity"),
    ({"quantity": "Infinity"}, "quantity"),
    ({"quantity": None}, "quantity"),
    ({"quantity": [1]}, "quantity"),
    ({"pool_id": 5}, "pool_id"),
    ({"pool_id": ""}, "pool_id"),
    ({"vehicle_id": 5}, "vehicle_id"),
    ({"vehicle_id": "v" * 129}, "vehicle_id"),
    ({"vehicle_id": ""}, "vehicle_id"),
    ({"operation_id": {"a": 1}}, "operation_id"),
    ({"allocation_type": "Not A Slug"}, "allocation_type"),
    ({"allocation_type": 3}, "allocation_type"),
    ({"start": "tomorrow"}, "start"),
    ({"start": 1700000000}, "start"),
    ({"start": "2030-02-30T00:00:00Z"}, "start"),
    ({"start": "2030-01-01T25:00:00Z"}, "start"),
    ({"start": "2030-01-01T00:00:00"}, "start"),
    ({"end": "2030-01-01"}, "end"),
    ({"end": 5}, "end"),
    ({"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T10:00:00Z"}, "end"),
    ({"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T09:00:00Z"}, "end"),
    ({"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T11:00:00+02:00"}, "end"),
    ({"priority": 1001}, "priority"),
    ({"priority": -1}, "priority"),
    ({"priority": 1.5}, "priority"),
    ({"priority": "high"}, "priority"),
    ({"status": "maybe"}, "status"),
    ({"status": "released"}, "status"),
    ({"hold_seconds": 0}, "hold_seconds"),
    ({"hold_seconds": -5}, "hold_seconds"),
    ({"hold_seconds": 0.0001}, "hold_seconds"),
    ({"hold_seconds": "60"}, "hold_seconds"),
    ({"hold_seconds": 1e12}, "hold_seconds"),
    ({"metadata": "x"}, "metadata"),
    ({"metadata": [1]}, "metadata"),
    ({"overcommit": 1}, "overcommit"),
    ({"site": 1, "pool_id": None}, "pool_id"),
]


@pytest.mark.parametrize("patch,field", BAD_CREATE)
def test_create_malformed(server, patch, field):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    body = alloc_body(pool["id"], 1, future(1), future(2))
    body.update(patch)
    status, _, err = server.api("POST", "/allocations", body)
    assert status == 400, (patch, err)
    assert err["error"]["code"] == "invalid_request"
    assert err["error"]["details"]["field"] == field
    assert list_all(server, "fleet_id=" + fleet) == []
    status, _, got = server.api("GET", "/pools/" + pool["id"])
    assert got == pool


@pytest.mark.parametrize("text", ['{"quantity": 1', "[]", "1", '{"a": 1,}', "nul",
                                  '{"quantity": 01}', '{"quantity": .5}'])
def test_create_broken_json(server, text):
    before = list_all(server, "limit=1000")
    status, body = raw(server, "POST", "/allocations", text)
    assert status == 400, (text, body)
    assert json.loads(body)["error"]["code"] == "invalid_request"
    assert list_all(server, "limit=1000") == before


@pytest.mark.parametrize("literal", ["01", "00.5", "-01", "1.", ".5", "+1", "0x10", "1e",
                                     "NaN", "Infinity", "-Infinity"])
def test_non_json_number_literals(server, literal):
    """RFC 8259 numbers only: a literal JSON forbids is malformed JSON, not a number."""
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    text = '{"pool_id": "%s", "vehicle_id": "v", "quantity": %s}' % (pool["id"], literal)
    status, body = raw(server, "POST", "/allocations", text)
    assert status == 400, (literal, body)
    assert json.loads(body)["error"]["code"] == "invalid_request"
    assert list_all(server, "fleet_id=" + fleet) == []


def test_create_wrong_media_type(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    status, body = raw(server, "POST", "/allocations",
                       json.dumps(alloc_body(pool["id"], 1)), content_type="text/plain")
    assert status == 415, body
    assert list_all(server, "fleet_id=" + fleet) == []


BAD_UPDATE = [(p, f) for p, f in BAD_CREATE
              if f not in ("pool_id", "vehicle_id", "operation_id", "allocation_type",
                           "hold_seconds", "status")] + [
    ({"status": "maybe"}, "status"),
    ({"status": 1}, "status"),
]


@pytest.mark.parametrize("patch,field", BAD_UPDATE)
def test_update_malformed_changes_nothing(server, patch, field):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2))
    status, _, err = server.api("PUT", "/allocations/" + a["id"], patch)
    assert status == 400, (patch, err)
    assert err["error"]["details"]["field"] == field
    status, headers, got = server.api("GET", "/allocations/" + a["id"])
    assert got == a and headers["etag"] == '"1"'


def test_update_broken_json_changes_nothing(server):
    pool = make_pool(server, unique("fleet"))
    a = book(server, pool["id"], 1, future(1), future(2))
    for text in ('{"priority": ', "[]", "true", '{"priority": 1} x'):
        status, body = raw(server, "PUT", "/allocations/" + a["id"], text)
        assert status == 400, (text, body)
    status, _, got = server.api("GET", "/allocations/" + a["id"])
    assert got == a
