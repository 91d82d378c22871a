"""Idempotency-Key on POST (SPEC §1): replay, reuse with another body, scope,
refusals replayed too, and records that survive a restart."""
import json

from conftest import iso, now_ms, unique

HOUR = 3600 * 1000


def pool_body(fleet, capacity=1):
    return {"fleet_id": fleet, "name": "Bays", "resource_type": "charging_bay",
            "total_capacity": capacity}


def post(server, path, body, key, raw=None):
    headers = {"Idempotency-Key": key}
    if raw is not None:
        headers["Content-Type"] = "application/json"
    return server.api("POST", path, body if raw is None else None, headers=headers, raw=raw)


def count(server, path):
    _, _, page = server.api("GET", path)
    return len(page["items"])


def test_same_key_same_body_replays_the_first_response(server):
    fleet = unique("idem")
    key = unique("key")
    s1, _, p1 = post(server, "/pools", pool_body(fleet), key)
    assert s1 == 201
    # The same JSON with members in another order and 1 written as 1.0.
    raw = json.dumps({"total_capacity": 1.0, "resource_type": "charging_bay",
                      "name": "Bays", "fleet_id": fleet}).encode()
    s2, _, p2 = post(server, "/pools", None, key, raw=raw)
    assert s2 == 201
    assert p2["id"] == p1["id"]
    assert count(server, "/pools?fleet_id=" + fleet) == 1


def test_same_key_other_body_is_422_and_changes_nothing(server):
    fleet = unique("idem")
    key = unique("key")
    assert post(server, "/pools", pool_body(fleet), key)[0] == 201
    _, _, before = server.api("GET", "/events?limit=1000&fleet_id=" + fleet)
    status, _, body = post(server, "/pools", pool_body(fleet, capacity=2), key)
    assert status == 422
    assert body["error"]["code"] == "idempotency_key_reused"
    assert count(server, "/pools?fleet_id=" + fleet) == 1
    _, _, after = server.api("GET", "/events?limit=1000&fleet_id=" + fleet)
    assert after["items"] == before["items"]


def test_key_is_scoped_to_the_route(server):
    fleet = unique("idem")
    key = unique("key")
    status, _, pool = post(server, "/pools", pool_body(fleet, capacity=2), key)
    assert status == 201
    start = now_ms() + HOUR
    booking = {"pool_id": pool["id"], "vehicle_id": "v1", "quantity": 1,
               "start": iso(start), "end": iso(start + HOUR)}
    status, _, alloc = post(server, "/allocations", booking, key)
    assert status == 201, alloc
    assert alloc["id"] != pool["id"]


def test_a_refusal_is_replayed_even_after_capacity_frees(server):
    fleet = unique("idem")
    _, _, pool = server.api("POST", "/pools", pool_body(fleet))
    start = now_ms() + HOUR
    window = {"start": iso(start), "end": iso(start + HOUR), "quantity": 1,
              "pool_id": pool["id"]}
    _, _, blocker = server.api("POST", "/allocations", dict(window, vehicle_id="v1"))
    key = unique("key")
    status, _, first = post(server, "/allocations", dict(window, vehicle_id="v2"), key)
    assert status == 409 and first["error"]["code"] == "capacity_exceeded"
    assert server.api("DELETE", "/allocations/" + blocker["id"])[0] == 200
    status, _, again = post(server, "/allocations", dict(window, vehicle_id="v2"), key)
    assert status == 409
    assert again == first
    # Without the key the same booking now succeeds.
    assert server.api("POST", "/allocations", dict(window, vehicle_id="v2"))[0] == 201


def test_batch_replay_returns_the_same_items(server):
    fleet = unique("idem")
    _, _, pool = server.api("POST", "/pools", pool_body(fleet, capacity=5))
    start = now_ms() + HOUR
    items = [{"pool_id": pool["id"], "vehicle_id": "v%d" % i, "quantity": 1,
              "start": iso(start), "end": iso(start + HOUR)} for i in range(3)]
    key = unique("key")
    s1, _, b1 = post(server, "/allocations", {"allocations": items}, key)
    s2, _, b2 = post(server, "/allocations", {"allocations": items}, key)
    assert s1 == s2 == 201
    assert [a["id"] for a in b1["items"]] == [a["id"] for a in b2["items"]]
    assert count(server, "/allocations?pool_id=" + pool["id"]) == 3


def test_malformed_key_is_400(server):
    status, _, body = post(server, "/pools", pool_body(unique("idem")), "x" * 300)
    assert status == 400
    assert body["error"]["details"]["field"] == "Idempotency-Key"


def test_records_survive_a_restart(fresh_server):
    fresh_server.start()
    fleet = unique("idem")
    key = unique("key")
    s1, _, p1 = post(fresh_server, "/pools", pool_body(fleet), key)
    assert s1 == 201
    fresh_server.kill9()
    fresh_server.start()
    s2, _, p2 = post(fresh_server, "/pools", pool_body(fleet), key)
    assert s2 == 201 and p2["id"] == p1["id"]
    assert count(fresh_server, "/pools?fleet_id=" + fleet) == 1
