"""End-to-end: conflicts over real HTTP (SPEC §6) — detection when capacity
is cut, auto-resolution when it comes back, manual conflicts, list filters,
and resolution (POST /conflicts/{id}/resolve) with every strategy.
"""
from conftest import iso, now_ms, unique

HOUR_MS = 3_600_000


def make_pool(server, fleet, capacity, resource_type="charging_bay", **extra):
    body = {"fleet_id": fleet, "name": unique("pool"), "resource_type": resource_type,
            "total_capacity": capacity}
    body.update(extra)
    status, _, pool = server.api("POST", "/pools", body)
    assert status == 201, pool
    return pool


def book(server, pool_id, vehicle, start_ms, end_ms, quantity=1):
    status, _, alloc = server.api("POST", "/allocations", {
        "pool_id": pool_id, "vehicle_id": vehicle, "quantity": quantity,
        "start": iso(start_ms), "end": iso(end_ms)})
    assert status == 201, alloc
    return alloc


def conflicts(server, query):
    status, _, page = server.api("GET", "/conflicts?" + query)
    assert status == 200, page
    return page["items"]


def get_conflict(server, cid):
    status, headers, conflict = server.api("GET", "/conflicts/" + cid)
    assert status == 200, conflict
    assert headers["etag"] == '"%d"' % conflict["version"]
    return conflict


def assert_invalid(status, body, field):
    assert status == 400, body
    assert body["error"]["code"] == "invalid_request", body
    assert body["error"]["details"].get("field") == field, body


def test_capacity_cut_detects_and_restoring_resolves(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 3)
    start = now_ms() + HOUR_MS
    allocs = [book(server, pool["id"], unique("veh"), start, start + HOUR_MS) for _ in range(3)]
    status, _, cut = server.api("PUT", "/pools/" + pool["id"], {"total_capacity": 2})
    assert status == 200, cut
    assert len(cut["conflicts_detected"]) == 1, cut
    cid = cut["conflicts_detected"][0]

    listed = conflicts(server, "pool_id=" + pool["id"])
    assert [c["id"] for c in listed] == [cid]
    conflict = get_conflict(server, cid)
    assert listed[0] == conflict
    assert conflict["type"] == "over_capacity"
    assert conflict["status"] == "open"
    assert conflict["fleet_id"] == fleet
    assert conflict["pool_id"] == pool["id"]
    assert conflict["start"] == iso(start) and conflict["end"] == iso(start + HOUR_MS)
    assert conflict["excess"] == 1
    assert sorted(conflict["allocation_ids"]) == sorted(a["id"] for a in allocs)
    assert conflict["resolved_at"] is None and conflict["resolution"] is None
    assert conflict["detected_at"] is not None

    # Filters.
    assert [c["id"] for c in conflicts(server, "fleet_id=%s&status=open" % fleet)] == [cid]
    assert [c["id"] for c in conflicts(server, "fleet_id=%s&type=over_capacity" % fleet)] == [cid]
    assert conflicts(server, "fleet_id=%s&type=manual" % fleet) == []
    assert conflicts(server, "fleet_id=%s&status=resolved" % fleet) == []
    assert conflicts(server, "fleet_id=" + unique("other")) == []

    # A PUT that changes nothing about the overload detects nothing new.
    status, _, same = server.api("PUT", "/pools/" + pool["id"], {"name": "renamed"})
    assert status == 200 and same["conflicts_detected"] == [], same
    assert get_conflict(server, cid)["status"] == "open"

    status, _, raised = server.api("PUT", "/pools/" + pool["id"], {"total_capacity": 3})
    assert status == 200, raised
    assert raised["conflicts_detected"] == []
    conflict = get_conflict(server, cid)
    assert conflict["status"] == "resolved"
    assert conflict["resolution"]["strategy"] == "auto"
    assert conflict["resolved_at"] is not None
    assert [c["id"] for c in conflicts(server, "fleet_id=%s&status=resolved" % fleet)] == [cid]
    assert conflicts(server, "fleet_id=%s&status=open" % fleet) == []

    _, _, events = server.api("GET", "/events?fleet_id=%s&limit=1000" % fleet)
    types = [(e["type"], e["entity_id"]) for e in events["items"] if e["entity_type"] == "conflict"]
    assert types == [("conflict.detected", cid), ("conflict.resolved", cid)]


def test_double_booking_conflict_filtered_by_vehicle(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 5, exclusive_per_vehicle=False)
    vehicle = unique("veh")
    start = now_ms() + HOUR_MS
    book(server, pool["id"], vehicle, start, start + HOUR_MS)
    book(server, pool["id"], vehicle, start + HOUR_MS // 2, start + 2 * HOUR_MS)
    status, _, changed = server.api("PUT", "/pools/" + pool["id"],
                                    {"exclusive_per_vehicle": True})
    assert status == 200, changed
    assert len(changed["conflicts_detected"]) == 1, changed
    found = conflicts(server, "vehicle_id=" + vehicle)
    assert [c["id"] for c in found] == changed["conflicts_detected"]
    assert found[0]["type"] == "double_booking"
    assert found[0]["vehicle_id"] == vehicle
    assert conflicts(server, "fleet_id=%s&type=double_booking" % fleet) == found


def test_manual_conflict_create_and_get(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 2)
    start = now_ms() + HOUR_MS
    alloc = book(server, pool["id"], unique("veh"), start, start + HOUR_MS)
    status, headers, created = server.api("POST", "/conflicts", {
        "pool_id": pool["id"], "description": "bay 3 is flooded",
        "start": iso(start), "end": iso(start + HOUR_MS), "allocation_ids": [alloc["id"]]})
    assert status == 201, created
    assert headers["etag"] == '"%d"' % created["version"]
    assert created["type"] == "manual"
    assert created["status"] == "open"
    assert created["fleet_id"] == fleet
    assert created["pool_id"] == pool["id"]
    assert created["description"] == "bay 3 is flooded"
    assert created["start"] == iso(start) and created["end"] == iso(start + HOUR_MS)
    assert created["allocation_ids"] == [alloc["id"]]
    assert get_conflict(server, created["id"]) == created
    assert [c["id"] for c in conflicts(server, "fleet_id=%s&type=manual" % fleet)] == \
        [created["id"]]

    # Open-ended, no allocations; manual conflicts never resolve themselves.
    status, _, open_ended = server.api("POST", "/conflicts", {
        "pool_id": pool["id"], "description": "charger offline", "start": iso(start),
        "end": None})
    assert status == 201, open_ended
    assert open_ended["end"] is None and open_ended["allocation_ids"] == []
    status, _, _ = server.api("PUT", "/pools/" + pool["id"], {"total_capacity": 5})
    assert status == 200
    assert get_conflict(server, created["id"])["status"] == "open"
    assert get_conflict(server, open_ended["id"])["status"] == "open"


def test_manual_conflict_references_and_validation(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 1)
    start = now_ms()
    base = {"pool_id": pool["id"], "description": "x", "start": iso(start),
            "end": iso(start + HOUR_MS)}

    status, _, body = server.api("POST", "/conflicts", dict(base, pool_id="no-such-pool"))
    assert status == 422 and body["error"]["code"] == "unknown_reference", body
    status, _, body = server.api("POST", "/conflicts", dict(base, allocation_ids=["nope"]))
    assert status == 422 and body["error"]["code"] == "unknown_reference", body

    cases = [
        ({"pool_id": None}, "pool_id"),
        ({"pool_id": 12}, "pool_id"),
        ({"description": None}, "description"),
        ({"description": 5}, "description"),
        ({"description": "d" * 5000}, "description"),
        ({"start": "2026-02-30T00:00:00Z"}, "start"),
        ({"start": 1767225600}, "start"),
        ({"end": "tomorrow"}, "end"),
        ({"end": iso(start)}, "end"),
        ({"end": iso(start - 1)}, "end"),
        ({"allocation_ids": "a"}, "allocation_ids"),
        ({"allocation_ids": [1]}, "allocation_ids"),
        ({"allocation_ids": None}, "allocation_ids"),
        ({"allocation_ids": ["x"] * 1001}, "allocation_ids"),
    ]
    for change, field in cases:
        status, _, body = server.api("POST", "/conflicts", dict(base, **change))
        assert_invalid(status, body, field)
    for missing in ("pool_id", "description", "start"):
        body = dict(base)
        del body[missing]
        status, _, err = server.api("POST", "/conflicts", body)
        assert_invalid(status, err, missing)
    for raw in [b'{"pool_id": ', b'[]', b'null']:
        status, _, body = server.api("POST", "/conflicts", raw=raw,
                                     headers={"Content-Type": "application/json"})
        assert status == 400, body
    status, _, body = server.api("POST", "/conflicts", raw=b'{}',
                                 headers={"Content-Type": "text/csv"})
    assert status == 415, body

    assert conflicts(server, "fleet_id=" + fleet) == []
    _, _, events = server.api("GET", "/events?fleet_id=%s&limit=1000" % fleet)
    assert [e["type"] for e in events["items"]] == ["pool.created"]


def test_conflict_reads_and_list_arguments(server):
    status, _, body = server.api("GET", "/conflicts/00000000-0000-7000-8000-000000000000")
    assert status == 404 and body["error"]["code"] == "not_found", body
    for query, field in [("status=closed", "status"), ("type=overbooked", "type"),
                         ("limit=0", "limit"), ("limit=5000", "limit"),
                         ("from=yesterday", "from"), ("cursor=garbage", "cursor")]:
        status, _, body = server.api("GET", "/conflicts?" + query)
        assert_invalid(status, body, field)
    status, headers, body = server.api("DELETE", "/conflicts")
    assert status == 405, body
    assert "GET" in headers["allow"] and "POST" in headers["allow"]


def test_conflict_list_pages(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 1)
    ids = []
    for i in range(3):
        status, _, c = server.api("POST", "/conflicts", {
            "pool_id": pool["id"], "description": "n%d" % i, "start": iso(now_ms()),
            "end": None})
        assert status == 201, c
        ids.append(c["id"])
    status, _, page = server.api("GET", "/conflicts?fleet_id=%s&limit=2" % fleet)
    assert [c["id"] for c in page["items"]] == ids[:2] and page["next_cursor"]
    status, _, page = server.api("GET", "/conflicts?fleet_id=%s&limit=2&cursor=%s"
                                 % (fleet, page["next_cursor"]))
    assert [c["id"] for c in page["items"]] == ids[2:] and page["next_cursor"] is None


# ---- resolution: POST /conflicts/{id}/resolve ------------------------------------

def book_p(server, pool_id, vehicle, start_ms, end_ms, priority=0, quantity=1):
    status, _, alloc = server.api("POST", "/allocations", {
        "pool_id": pool_id, "vehicle_id": vehicle, "quantity": quantity,
        "start": iso(start_ms), "end": iso(end_ms), "priority": priority})
    assert status == 201, alloc
    return alloc


def overload(server, fleet, priorities=(5, 1, 3), cut_to=2):
    """A pool of len(priorities) bays booked for the same hour, cut to cut_to."""
    pool = make_pool(server, fleet, len(priorities))
    start = now_ms() + HOUR_MS
    allocs = [book_p(server, pool["id"], unique("veh"), start, start + HOUR_MS, p)
              for p in priorities]
    status, _, cut = server.api("PUT", "/pools/" + pool["id"], {"total_capacity": cut_to})
    assert status == 200 and len(cut["conflicts_detected"]) == 1, cut
    return pool, allocs, cut["conflicts_detected"][0], start


def snapshot(server, fleet):
    """Everything a client can read about a fleet."""
    out = []
    for path in ("/pools", "/allocations", "/requests", "/conflicts"):
        status, _, page = server.api("GET", "%s?fleet_id=%s&limit=1000" % (path, fleet))
        assert status == 200, page
        out.append(page["items"])
    _, _, events = server.api("GET", "/events?fleet_id=%s&limit=1000" % fleet)
    out.append(events["items"])
    return out


def resolve(server, cid, body, headers=None):
    return server.api("POST", "/conflicts/%s/resolve" % cid, body, headers)


def assert_unresolvable_changes_nothing(server, fleet, cid, body):
    before = snapshot(server, fleet)
    status, _, err = resolve(server, cid, body)
    assert status == 409 and err["error"]["code"] == "unresolvable", err
    assert cid in err["error"]["message"]
    assert snapshot(server, fleet) == before


def test_resolve_preempt_takes_the_lowest_priority(server):
    fleet = unique("fleet")
    _, allocs, cid, _ = overload(server, fleet)
    status, headers, conflict = resolve(server, cid, {"strategy": "preempt",
                                                      "note": "bay 3 broken"})
    assert status == 200, conflict
    assert headers["etag"] == '"%d"' % conflict["version"]
    assert conflict["status"] == "resolved" and conflict["resolved_at"] is not None
    assert conflict["resolution"] == {
        "strategy": "preempt", "note": "bay 3 broken", "resolved_by": "anonymous",
        "actions": [{"allocation_id": allocs[1]["id"], "action": "preempted",
                     "from": "confirmed", "to": "preempted"}]}
    assert get_conflict(server, cid) == conflict
    _, _, victim = server.api("GET", "/allocations/" + allocs[1]["id"])
    assert victim["status"] == "preempted" and victim["released_at"] is not None
    for keep in (allocs[0], allocs[2]):
        _, _, a = server.api("GET", "/allocations/" + keep["id"])
        assert a["status"] == "confirmed"
    _, _, events = server.api("GET", "/events?fleet_id=%s&limit=1000" % fleet)
    types = [e["type"] for e in events["items"]]
    assert types[-2:] == ["allocation.preempted", "conflict.resolved"], types
    # Resolving a resolved conflict: 409 invalid_state, nothing changes.
    before = snapshot(server, fleet)
    status, _, err = resolve(server, cid, {"strategy": "preempt"})
    assert status == 409 and err["error"]["code"] == "invalid_state", err
    assert snapshot(server, fleet) == before


def test_resolve_dry_run_returns_actions_and_changes_nothing(server):
    fleet = unique("fleet")
    _, allocs, cid, start = overload(server, fleet)
    before = snapshot(server, fleet)
    status, headers, preview = resolve(server, cid, {"strategy": "reschedule",
                                                     "max_delay_seconds": 7200,
                                                     "dry_run": True})
    assert status == 200, preview
    assert "etag" not in headers
    assert preview["status"] == "resolved"
    assert preview["resolution"]["actions"] == [
        {"allocation_id": allocs[1]["id"], "action": "rescheduled", "from": iso(start),
         "to": iso(start + HOUR_MS)}]
    assert snapshot(server, fleet) == before
    status, _, done = resolve(server, cid, {"strategy": "reschedule",
                                            "max_delay_seconds": 7200})
    assert status == 200, done
    assert done["resolution"]["actions"] == preview["resolution"]["actions"]
    _, _, moved = server.api("GET", "/allocations/" + allocs[1]["id"])
    assert moved["start"] == iso(start + HOUR_MS) and moved["end"] == iso(start + 2 * HOUR_MS)
    assert moved["status"] == "confirmed"


def test_resolve_reschedule_without_a_fit_is_unresolvable(server):
    fleet = unique("fleet")
    pool, allocs, cid, start = overload(server, fleet)
    # The next hour is full too: no later fit within 90 minutes.
    book_p(server, pool["id"], unique("veh"), start + HOUR_MS, start + 3 * HOUR_MS, 0, 2)
    assert_unresolvable_changes_nothing(server, fleet, cid, {"strategy": "reschedule",
                                                             "max_delay_seconds": 5400})
    status, _, done = resolve(server, cid, {"strategy": "reschedule"})
    assert status == 200, done
    assert done["resolution"]["actions"][0]["to"] == iso(start + 3 * HOUR_MS)


def test_resolve_reassign_moves_to_another_pool(server):
    fleet = unique("fleet")
    pool, allocs, cid, start = overload(server, fleet)
    assert_unresolvable_changes_nothing(server, fleet, cid, {"strategy": "reassign"})
    spare = make_pool(server, fleet, 1)
    status, _, done = resolve(server, cid, {"strategy": "reassign"})
    assert status == 200, done
    assert done["resolution"]["actions"] == [
        {"allocation_id": allocs[1]["id"], "action": "reassigned", "from": pool["id"],
         "to": spare["id"]}]
    _, _, moved = server.api("GET", "/allocations/" + allocs[1]["id"])
    assert moved["pool_id"] == spare["id"] and moved["status"] == "confirmed"
    _, _, p = server.api("GET", "/pools/" + spare["id"])
    assert p["total_capacity"] == 1


def test_resolve_manual_records_a_note(server):
    fleet = unique("fleet")
    _, allocs, cid, _ = overload(server, fleet)
    status, _, err = resolve(server, cid, {"strategy": "manual"})
    assert_invalid(status, err, "note")
    status, _, done = resolve(server, cid, {"strategy": "manual", "note": "they will share"})
    assert status == 200, done
    assert done["resolution"] == {"strategy": "manual", "note": "they will share",
                                  "resolved_by": "anonymous", "actions": []}
    for a in allocs:
        _, _, now = server.api("GET", "/allocations/" + a["id"])
        assert now["status"] == "confirmed"


def test_resolve_double_booking(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 5, exclusive_per_vehicle=False)
    start = now_ms() + HOUR_MS
    keep = book_p(server, pool["id"], "v1", start, start + 2 * HOUR_MS, 7)
    lose = book_p(server, pool["id"], "v1", start + HOUR_MS, start + 3 * HOUR_MS, 2)
    status, _, upd = server.api("PUT", "/pools/" + pool["id"], {"exclusive_per_vehicle": True})
    assert status == 200 and len(upd["conflicts_detected"]) == 1, upd
    cid = upd["conflicts_detected"][0]
    assert_unresolvable_changes_nothing(server, fleet, cid, {"strategy": "reassign"})
    status, _, done = resolve(server, cid, {"strategy": "reschedule"})
    assert status == 200, done
    assert done["resolution"]["actions"][0]["allocation_id"] == lose["id"]
    _, _, moved = server.api("GET", "/allocations/" + lose["id"])
    assert moved["start"] == iso(start + 2 * HOUR_MS), "right after the one kept"
    _, _, kept = server.api("GET", "/allocations/" + keep["id"])
    assert kept["start"] == iso(start)


def test_resolve_bad_input(server):
    fleet = unique("fleet")
    _, _, cid, _ = overload(server, fleet)
    before = snapshot(server, fleet)
    for body, field in [({}, "strategy"), ({"strategy": "delete"}, "strategy"),
                        ({"strategy": 1}, "strategy"), ({"strategy": None}, "strategy"),
                        ({"strategy": "reschedule", "max_delay_seconds": 0}, "max_delay_seconds"),
                        ({"strategy": "reschedule", "max_delay_seconds": -5}, "max_delay_seconds"),
                        ({"strategy": "reschedule", "max_delay_seconds": 1.5}, "max_delay_seconds"),
                        ({"strategy": "reschedule", "max_delay_seconds": "60"}, "max_delay_seconds"),
                        ({"strategy": "reschedule", "max_delay_seconds": 2592001},
                         "max_delay_seconds"),
                        ({"strategy": "preempt", "dry_run": "yes"}, "dry_run"),
                        ({"strategy": "preempt", "note": 5}, "note"),
                        ({"strategy": "preempt", "note": "x" * 5000}, "note")]:
        status, _, err = resolve(server, cid, body)
        assert_invalid(status, err, field)
    status, _, err = resolve(server, cid, None, {"Content-Type": "application/json"})
    assert status == 400, err
    status, _, err = server.api("POST", "/conflicts/%s/resolve" % cid, raw=b"strategy=preempt",
                                headers={"Content-Type": "text/plain"})
    assert status == 415, err
    status, _, err = resolve(server, "00000000-0000-7000-8000-000000000000",
                             {"strategy": "preempt"})
    assert status == 404 and err["error"]["code"] == "not_found", err
    status, _, err = resolve(server, cid, {"strategy": "preempt"}, {"If-Match": '"999"'})
    assert status == 412 and err["error"]["code"] == "version_mismatch", err
    status, headers, err = server.api("GET", "/conflicts/%s/resolve" % cid)
    assert status == 405 and "POST" in headers["allow"], err
    assert snapshot(server, fleet) == before


def test_resolve_idempotency_key_replays(server):
    fleet = unique("fleet")
    _, _, cid, _ = overload(server, fleet)
    key = {"Idempotency-Key": unique("key")}
    status, _, first = resolve(server, cid, {"strategy": "preempt"}, key)
    assert status == 200, first
    status, _, again = resolve(server, cid, {"strategy": "preempt"}, key)
    assert status == 200 and again == first, again
    status, _, err = resolve(server, cid, {"strategy": "manual", "note": "x"}, key)
    assert status == 422 and err["error"]["code"] == "idempotency_key_reused", err


def test_resolve_key_is_scoped_to_the_conflict(server):
    """The same key and body on another conflict is another request (also
    with Redis on: its copies are keyed by the path, like the library's)."""
    fleet = unique("fleet")
    _, _, first_id, _ = overload(server, fleet)
    _, _, second_id, _ = overload(server, unique("fleet"))
    key = {"Idempotency-Key": unique("key")}
    status, _, first = resolve(server, first_id, {"strategy": "preempt"}, key)
    assert status == 200 and first["id"] == first_id, first
    status, _, second = resolve(server, second_id, {"strategy": "preempt"}, key)
    assert status == 200 and second["id"] == second_id, second
    assert second["status"] == "resolved"


def test_resolve_time_is_a_metric(server):
    fleet = unique("fleet")
    _, _, cid, _ = overload(server, fleet)
    status, _, done = resolve(server, cid, {"strategy": "preempt"})
    assert status == 200, done
    status, _, text = server.request("GET", "/metrics")
    assert status == 200
    counts = [line for line in text.splitlines()
              if line.startswith('fleetres_conflict_resolution_seconds_count{strategy="preempt"}')]
    assert len(counts) == 1 and int(counts[0].split()[-1]) >= 1, counts
    assert '# TYPE fleetres_conflict_resolution_seconds histogram' in text
