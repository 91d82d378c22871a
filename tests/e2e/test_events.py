"""End-to-end: the event log over real HTTP (SPEC §8) — seq order, paging by
`after`, the fleet filter, actors, and that failed requests append nothing.
"""
import time

from conftest import iso, now_ms, unique


def make_pool(server, fleet, capacity=1, resource_type="charging_bay"):
    status, _, pool = server.api("POST", "/pools", {
        "fleet_id": fleet, "name": unique("pool"), "resource_type": resource_type,
        "total_capacity": capacity})
    assert status == 201, pool
    return pool


def make_request(server, fleet, **fields):
    body = {"fleet_id": fleet, "vehicle_id": unique("veh"), "resource_type": "charging_bay",
            "quantity": 1, "duration_seconds": 60}
    body.update(fields)
    status, _, req = server.api("POST", "/requests", body)
    assert status == 201, req
    return req


def events(server, query=""):
    status, _, page = server.api("GET", "/events?" + query)
    assert status == 200, page
    assert set(page) == {"items", "next_after"}
    return page


def all_events(server, fleet=None):
    """Every event (of one fleet), following next_after to the end."""
    out, after = [], 0
    while True:
        query = "after=%d&limit=1000" % after + ("&fleet_id=" + fleet if fleet else "")
        page = events(server, query)
        if not page["items"]:
            assert page["next_after"] is None
            return out
        out.extend(page["items"])
        after = page["next_after"]
        assert after == page["items"][-1]["seq"]


def last_seq(server):
    items = all_events(server)
    return items[-1]["seq"] if items else 0


def assert_invalid(status, body, field):
    assert status == 400, body
    assert body["error"]["code"] == "invalid_request", body
    assert body["error"]["details"].get("field") == field, body


def test_events_of_a_fleet_in_seq_order(server):
    fleet = unique("fleet")
    start = last_seq(server)
    pool = make_pool(server, fleet)
    req = make_request(server, fleet)
    assert req["status"] == "fulfilled"

    page = events(server, "after=%d&fleet_id=%s" % (start, fleet))
    items = page["items"]
    seqs = [e["seq"] for e in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(s > start for s in seqs)
    assert page["next_after"] == seqs[-1]
    types = [e["type"] for e in items]
    assert types[0] == "pool.created"
    assert "request.created" in types or "request.fulfilled" in types
    assert "allocation.created" in types or "allocation.confirmed" in types
    for e in items:
        assert e["fleet_id"] == fleet
        assert e["actor"] == "anonymous"
        assert e["type"].split(".")[0] == e["entity_type"]
        assert e["id"] and e["occurred_at"].endswith("Z")
        assert isinstance(e["data"], dict) and e["data"]["id"] == e["entity_id"]
    pool_event = items[0]
    assert pool_event["entity_id"] == pool["id"]
    assert pool_event["data"]["name"] == pool["name"]
    request_events = [e for e in items if e["entity_type"] == "request"]
    assert request_events[-1]["entity_id"] == req["id"]
    assert request_events[-1]["data"]["status"] == "fulfilled"


def test_seq_strictly_increases_from_after(server):
    fleet = unique("fleet")
    make_pool(server, fleet, capacity=5)
    for _ in range(3):
        make_request(server, fleet)
    items = all_events(server)
    seqs = [e["seq"] for e in items]
    assert seqs[0] >= 1
    assert all(b > a for a, b in zip(seqs, seqs[1:]))

    middle = seqs[len(seqs) // 2]
    page = events(server, "after=%d&limit=2" % middle)
    assert [e["seq"] for e in page["items"]] == [s for s in seqs if s > middle][:2]
    assert page["next_after"] == page["items"][-1]["seq"]
    page = events(server, "after=%d&limit=1" % page["next_after"])
    assert len(page["items"]) <= 1
    # after defaults to 0: from the start.
    assert events(server, "limit=1")["items"][0]["seq"] == seqs[0]


def test_empty_page_has_null_next_after(server):
    end = last_seq(server)
    page = events(server, "after=%d" % end)
    assert page == {"items": [], "next_after": None}
    page = events(server, "after=%d" % (end + 1_000_000))
    assert page == {"items": [], "next_after": None}
    page = events(server, "fleet_id=" + unique("nobody"))
    assert page == {"items": [], "next_after": None}


def test_fleet_filter_separates_fleets(server):
    a, b = unique("fleet"), unique("fleet")
    make_pool(server, a)
    make_pool(server, b)
    make_request(server, a)
    got_a = all_events(server, a)
    got_b = all_events(server, b)
    assert got_a and got_b
    assert all(e["fleet_id"] == a for e in got_a)
    assert all(e["fleet_id"] == b for e in got_b)
    assert not {e["seq"] for e in got_a} & {e["seq"] for e in got_b}
    everything = {e["seq"] for e in all_events(server)}
    assert {e["seq"] for e in got_a} | {e["seq"] for e in got_b} <= everything


def test_failed_requests_append_no_event(server):
    fleet = unique("fleet")
    make_pool(server, fleet)
    make_request(server, fleet)  # fills the pool for 60 s
    blocked = make_request(server, fleet, duration_seconds=60,
                           latest_end=iso(now_ms() + 90_000))
    assert blocked["status"] == "pending"
    status, _, cancelled = server.api("DELETE", "/requests/" + blocked["id"])
    assert status == 200
    before = last_seq(server)

    status, _, _ = server.api("POST", "/requests", {"fleet_id": fleet, "quantity": 1})
    assert status == 400
    status, _, _ = server.api("POST", "/requests", {
        "fleet_id": fleet, "vehicle_id": "v", "resource_type": "charging_bay",
        "quantity": 1.0001, "duration_seconds": 60})
    assert status == 400
    status, _, _ = server.api("DELETE", "/requests/" + blocked["id"])
    assert status == 409
    status, _, _ = server.api("PUT", "/requests/" + blocked["id"], {"priority": 3})
    assert status == 409
    status, _, _ = server.api("PUT", "/requests/" + blocked["id"], {"priority": 3},
                              headers={"If-Match": '"999"'})
    assert status in (409, 412)
    status, _, _ = server.api("POST", "/conflicts", {"pool_id": "nope", "description": "x",
                                                     "start": iso(now_ms())})
    assert status == 422
    assert last_seq(server) == before

    cancel_events = [e for e in all_events(server, fleet) if e["type"] == "request.cancelled"]
    assert len(cancel_events) == 1
    assert cancel_events[0]["data"]["status"] == "cancelled"
    assert cancel_events[0]["data"]["version"] == cancelled["version"]


def test_time_driven_change_has_actor_system(server):
    fleet = unique("fleet")
    make_pool(server, fleet)
    make_request(server, fleet, duration_seconds=3600)  # fills the pool for an hour
    t0 = now_ms()
    req = make_request(server, fleet, duration_seconds=1, latest_end=iso(t0 + 1500))
    assert req["status"] == "pending"
    deadline = time.time() + 5
    expired = []
    while time.time() < deadline and not expired:
        time.sleep(0.25)
        expired = [e for e in all_events(server, fleet) if e["type"] == "request.expired"]
    assert len(expired) == 1
    assert expired[0]["actor"] == "system"
    assert expired[0]["entity_id"] == req["id"]
    assert expired[0]["data"]["status"] == "expired"


def test_limit_and_after_bounds(server):
    fleet = unique("fleet")
    make_pool(server, fleet)
    make_pool(server, fleet)
    page = events(server, "fleet_id=%s&limit=1" % fleet)
    assert len(page["items"]) == 1
    page = events(server, "fleet_id=%s&limit=1000" % fleet)
    assert len(page["items"]) == 2
    before = last_seq(server)
    for query, field in [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=-1", "limit"),
                         ("limit=abc", "limit"), ("limit=", "limit"), ("limit=1.5", "limit"),
                         ("after=-1", "after"), ("after=abc", "after"), ("after=1.5", "after"),
                         ("after=", "after"), ("after=99999999999999999999999", "after"),
                         ("after=+5", "after"), ("after=%205", "after")]:
        status, _, body = server.api("GET", "/events?" + query)
        assert_invalid(status, body, field)
    assert last_seq(server) == before
    status, headers, body = server.api("POST", "/events", {})
    assert status == 405, body


def test_overlong_query_values_are_refused_not_ignored(server):
    """A value too long for the server's buffer must not read as absent: an
    ignored fleet filter would hand out every fleet's events."""
    fleet = unique("fleet")
    make_pool(server, fleet)
    for query, field in [("after=" + "9" * 40, "after"), ("limit=" + "9" * 40, "limit")]:
        status, _, body = server.api("GET", "/events?" + query)
        assert_invalid(status, body, field)
    status, _, body = server.api("GET", "/events?fleet_id=" + "f" * 300)
    assert status == 400 or body["items"] == [], body
