"""End-to-end tests of /pools (SPEC §2) over real HTTP."""
import http.client
import json

import pytest

from conftest import BASE, iso, now_ms, unique

HOUR = 3600 * 1000


def make_pool(server, fleet, **fields):
    body = {"fleet_id": fleet, "name": "bay", "resource_type": "charging_bay",
            "total_capacity": 4}
    body.update(fields)
    status, headers, pool = server.api("POST", "/pools", body)
    assert status == 201, pool
    return pool


def raw(server, method, path, text, content_type="application/json"):
    """Sends text verbatim; returns (status, raw response text)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Content-Type": content_type} if text is not None else {}
    conn.request(method, BASE + path, body=text.encode() if text is not None else None,
                 headers=headers)
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    return resp.status, data


def list_all(server, query):
    status, _, page = server.api("GET", "/pools?" + query + "&limit=1000")
    assert status == 200, page
    return page["items"]


def future(hours=1):
    """A whole-second instant `hours` from now (ms)."""
    return (now_ms() // 1000) * 1000 + int(hours * HOUR)


def book(server, pool_id, quantity=1, start=None, end=None, **fields):
    body = {"pool_id": pool_id, "vehicle_id": unique("veh"), "quantity": quantity}
    if start is not None:
        body["start"] = iso(start)
    if end is not None:
        body["end"] = iso(end)
    body.update(fields)
    status, _, alloc = server.api("POST", "/allocations", body)
    assert status == 201, alloc
    return alloc


# ---- create / get ------------------------------------------------------------


def test_create_and_get(server):
    fleet = unique("fleet")
    status, headers, pool = server.api("POST", "/pools", {
        "fleet_id": fleet, "name": "North bays", "resource_type": "charging_bay",
        "unit": "bay", "site": "depot-1", "labels": {"zone": "n"}, "total_capacity": 8,
        "exclusive_per_vehicle": False})
    assert status == 201, pool
    assert headers["etag"] == '"1"'
    assert headers["content-type"].startswith("application/json")
    assert len(pool["id"]) == 36
    assert pool["fleet_id"] == fleet and pool["name"] == "North bays"
    assert pool["resource_type"] == "charging_bay" and pool["unit"] == "bay"
    assert pool["site"] == "depot-1" and pool["labels"] == {"zone": "n"}
    assert pool["status"] == "active" and pool["total_capacity"] == 8
    assert pool["exclusive_per_vehicle"] is False
    assert pool["capacity_now"] == 8 and pool["reserved_capacity"] == 0
    assert pool["available_capacity"] == 8
    assert pool["version"] == 1
    assert pool["created_at"].endswith("Z") and len(pool["created_at"]) == 24
    status, headers, got = server.api("GET", "/pools/" + pool["id"])
    assert status == 200 and headers["etag"] == '"1"'
    assert got == pool


def test_create_defaults(server):
    pool = make_pool(server, unique("fleet"))
    assert pool["unit"] == "unit"
    assert pool["site"] is None
    assert pool["labels"] == {}
    assert pool["status"] == "active"
    assert pool["capacity_schedule"] == []
    assert pool["exclusive_per_vehicle"] is True


@pytest.mark.parametrize("missing", ["fleet_id", "name", "resource_type", "total_capacity"])
def test_create_requires_fields(server, missing):
    fleet = unique("fleet")
    body = {"fleet_id": fleet, "name": "x", "resource_type": "charging_bay",
            "total_capacity": 1}
    del body[missing]
    status, _, err = server.api("POST", "/pools", body)
    assert status == 400, err
    assert err["error"]["code"] == "invalid_request"
    assert err["error"]["details"]["field"] == missing
    assert list_all(server, "fleet_id=" + fleet) == []


def test_get_unknown_is_404(server):
    for method, body in (("GET", None), ("PUT", {"name": "x"}), ("DELETE", None)):
        status, _, err = server.api(method, "/pools/00000000-0000-7000-8000-000000000000",
                                    body)
        assert status == 404, (method, err)
        assert err["error"]["code"] == "not_found"


def test_exact_quantities(server):
    fleet = unique("fleet")
    status, text = raw(server, "POST", "/pools", json.dumps(
        {"fleet_id": fleet, "name": "p", "resource_type": "power_kw"})[:-1] +
        ', "total_capacity": 0.1}')
    assert status == 201, text
    assert '"total_capacity":0.1,' in text.replace(" ", "")
    status, text = raw(server, "POST", "/pools", json.dumps(
        {"fleet_id": fleet, "name": "p", "resource_type": "power_kw"})[:-1] +
        ', "total_capacity": 1.0005}')
    assert status == 400, text
    assert json.loads(text)["error"]["details"]["field"] == "total_capacity"
    pool = make_pool(server, fleet, total_capacity=150.125, resource_type="power_kw")
    assert pool["total_capacity"] == 150.125
    pool = make_pool(server, fleet, total_capacity=1e3)
    assert pool["total_capacity"] == 1000
    assert len(list_all(server, "fleet_id=" + fleet)) == 3


def test_schedule_times_are_utc(server):
    pool = make_pool(server, unique("fleet"), capacity_schedule=[
        {"start": "2030-01-01T10:00:00+02:00", "end": "2030-01-01T12:30:00.123456+02:00",
         "capacity": 6},
        {"start": "2030-02-01T00:00:00Z", "end": None, "capacity": 2.5}])
    assert pool["capacity_schedule"] == [
        {"start": "2030-01-01T08:00:00.000Z", "end": "2030-01-01T10:30:00.123Z",
         "capacity": 6},
        {"start": "2030-02-01T00:00:00.000Z", "end": None, "capacity": 2.5}]


def test_schedule_overlap_is_400(server):
    fleet = unique("fleet")
    status, _, err = server.api("POST", "/pools", {
        "fleet_id": fleet, "name": "x", "resource_type": "bay", "total_capacity": 4,
        "capacity_schedule": [
            {"start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z", "capacity": 1},
            {"start": "2030-01-01T12:00:00Z", "end": "2030-01-03T00:00:00Z", "capacity": 2}]})
    assert status == 400, err
    assert err["error"]["details"]["field"] == "capacity_schedule"
    assert list_all(server, "fleet_id=" + fleet) == []


# ---- list --------------------------------------------------------------------


def test_list_filters(server):
    fleet = unique("fleet")
    a = make_pool(server, fleet, resource_type="charging_bay", site="s1")
    b = make_pool(server, fleet, resource_type="parking_slot", site="s2")
    c = make_pool(server, fleet, resource_type="charging_bay", site="s2", status="draining")
    other = make_pool(server, unique("fleet"))
    ids = lambda items: [p["id"] for p in items]  # noqa: E731
    assert ids(list_all(server, "fleet_id=" + fleet)) == [a["id"], b["id"], c["id"]]
    assert ids(list_all(server, "fleet_id=%s&resource_type=charging_bay" % fleet)) == \
        [a["id"], c["id"]]
    assert ids(list_all(server, "fleet_id=%s&site=s2" % fleet)) == [b["id"], c["id"]]
    assert ids(list_all(server, "fleet_id=%s&status=draining" % fleet)) == [c["id"]]
    assert ids(list_all(server, "fleet_id=%s&status=active&site=s2" % fleet)) == [b["id"]]
    assert other["id"] not in ids(list_all(server, "fleet_id=" + fleet))
    status, _, err = server.api("GET", "/pools?status=open")
    assert status == 400 and err["error"]["details"]["field"] == "status"


def test_pagination(server):
    fleet = unique("fleet")
    made = [make_pool(server, fleet, name="p%d" % i)["id"] for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        path = "/pools?fleet_id=%s&limit=2" % fleet
        if cursor:
            path += "&cursor=" + cursor
        status, _, page = server.api("GET", path)
        assert status == 200, page
        assert len(page["items"]) <= 2
        seen += [p["id"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert seen == made
    assert pages >= 3


@pytest.mark.parametrize("limit", ["0", "1001", "abc", "-1", "2.5", ""])
def test_bad_limit(server, limit):
    status, _, err = server.api("GET", "/pools?limit=" + limit)
    assert status == 400, err
    assert err["error"]["details"]["field"] == "limit"


# ---- update ------------------------------------------------------------------


def test_partial_update(server):
    pool = make_pool(server, unique("fleet"), site="s1", labels={"a": "b"})
    status, headers, upd = server.api("PUT", "/pools/" + pool["id"], {"name": "renamed"})
    assert status == 200, upd
    assert headers["etag"] == '"2"'
    assert upd["name"] == "renamed" and upd["version"] == 2
    assert upd["conflicts_detected"] == []
    for field in ("fleet_id", "resource_type", "unit", "site", "labels", "status",
                  "total_capacity", "capacity_schedule", "exclusive_per_vehicle",
                  "created_at"):
        assert upd[field] == pool[field], field
    status, _, got = server.api("GET", "/pools/" + pool["id"])
    assert got["name"] == "renamed" and got["version"] == 2
    assert "conflicts_detected" not in got


def test_update_many_fields(server):
    pool = make_pool(server, unique("fleet"))
    status, _, upd = server.api("PUT", "/pools/" + pool["id"], {
        "unit": "kW", "labels": {"x": "y"}, "total_capacity": 10.5, "status": "draining",
        "exclusive_per_vehicle": False,
        "capacity_schedule": [{"start": "2031-01-01T00:00:00Z",
                               "end": "2031-01-01T01:00:00Z", "capacity": 1}]})
    assert status == 200, upd
    assert upd["unit"] == "kW" and upd["labels"] == {"x": "y"}
    assert upd["total_capacity"] == 10.5 and upd["status"] == "draining"
    assert upd["exclusive_per_vehicle"] is False and len(upd["capacity_schedule"]) == 1
    status, _, upd = server.api("PUT", "/pools/" + pool["id"], {"capacity_schedule": []})
    assert status == 200 and upd["capacity_schedule"] == []


def test_site_null_clears(server):
    pool = make_pool(server, unique("fleet"), site="s1")
    status, _, upd = server.api("PUT", "/pools/" + pool["id"], {"site": None})
    assert status == 200, upd
    assert upd["site"] is None


@pytest.mark.parametrize("field,value", [("fleet_id", "other-fleet"),
                                         ("resource_type", "parking_slot")])
def test_immutable_fields(server, field, value):
    pool = make_pool(server, unique("fleet"))
    status, _, err = server.api("PUT", "/pools/" + pool["id"], {field: value, "name": "n"})
    assert status == 400, err
    assert err["error"]["details"]["field"] == field
    status, _, got = server.api("GET", "/pools/" + pool["id"])
    assert got == pool
    # Sending the current value is fine.
    status, _, upd = server.api("PUT", "/pools/" + pool["id"], {field: pool[field]})
    assert status == 200, upd


def test_put_back_what_get_returned(server):
    pool = make_pool(server, unique("fleet"), site="s", labels={"k": "v"},
                     capacity_schedule=[{"start": "2031-01-01T00:00:00Z", "end": None,
                                         "capacity": 3}])
    body = dict(pool, name="again", version=99, id="ignored", capacity_now=123,
                reserved_capacity=5, available_capacity=-1,
                created_at="2000-01-01T00:00:00Z", unknown_field={"x": 1})
    status, _, upd = server.api("PUT", "/pools/" + pool["id"], body)
    assert status == 200, upd
    assert upd["id"] == pool["id"] and upd["version"] == 2 and upd["name"] == "again"
    assert upd["created_at"] == pool["created_at"]
    assert upd["capacity_schedule"] == pool["capacity_schedule"]


def test_if_match(server):
    pool = make_pool(server, unique("fleet"))
    path = "/pools/" + pool["id"]
    status, _, err = server.api("PUT", path, {"name": "a"}, headers={"If-Match": '"2"'})
    assert status == 412, err
    assert err["error"]["code"] == "version_mismatch"
    for tag in ('"1"', 'W/"2"', "*"):
        status, headers, upd = server.api("PUT", path, {"name": "b"},
                                          headers={"If-Match": tag})
        assert status == 200, (tag, upd)
    assert upd["version"] == 4 and headers["etag"] == '"4"'
    status, _, err = server.api("PUT", path, {"name": "c"}, headers={"If-Match": "bogus"})
    assert status == 400, err
    status, _, err = server.api("DELETE", path, headers={"If-Match": '"1"'})
    assert status == 412, err
    status, _, got = server.api("GET", path)
    assert status == 200 and got["version"] == 4
    status, _, _ = server.api("DELETE", path, headers={"If-Match": '"4"'})
    assert status == 204


def test_lowering_capacity_detects_conflicts(server):
    pool = make_pool(server, unique("fleet"), total_capacity=2)
    start = now_ms() - 60 * 1000
    end = future(2)
    a1 = book(server, pool["id"], 1, start, end)
    a2 = book(server, pool["id"], 1, start, end)
    status, _, upd = server.api("PUT", "/pools/" + pool["id"], {"total_capacity": 1})
    assert status == 200, upd
    assert len(upd["conflicts_detected"]) == 1
    assert upd["reserved_capacity"] == 2 and upd["available_capacity"] == -1
    status, _, conflict = server.api("GET", "/conflicts/" + upd["conflicts_detected"][0])
    assert status == 200, conflict
    assert conflict["type"] == "over_capacity" and conflict["pool_id"] == pool["id"]
    assert sorted(conflict["allocation_ids"]) == sorted([a1["id"], a2["id"]])
    # Raising it back resolves nothing new; the PUT still carries the field.
    status, _, upd = server.api("PUT", "/pools/" + pool["id"], {"total_capacity": 2})
    assert status == 200 and upd["conflicts_detected"] == []


def test_reserved_and_available(server):
    pool = make_pool(server, unique("fleet"), total_capacity=5)
    book(server, pool["id"], 1.5, now_ms() - 1000, future(1))
    book(server, pool["id"], 1, future(2), future(3))  # not covering now
    status, _, got = server.api("GET", "/pools/" + pool["id"])
    assert got["capacity_now"] == 5
    assert got["reserved_capacity"] == 1.5 and got["available_capacity"] == 3.5


# ---- delete ------------------------------------------------------------------


def test_delete_empty_pool(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    status, headers, body = server.api("DELETE", "/pools/" + pool["id"])
    assert status == 204 and body is None
    status, _, err = server.api("GET", "/pools/" + pool["id"])
    assert status == 404 and err["error"]["code"] == "not_found"
    assert list_all(server, "fleet_id=" + fleet) == []
    status, _, _ = server.api("DELETE", "/pools/" + pool["id"])
    assert status == 404


def test_delete_in_use_and_force(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    running = book(server, pool["id"], 1, now_ms() - 60 * 1000, future(1))
    upcoming = book(server, pool["id"], 1, future(2), future(3))
    status, _, err = server.api("DELETE", "/pools/" + pool["id"])
    assert status == 409, err
    assert err["error"]["code"] == "pool_in_use"
    status, _, got = server.api("GET", "/pools/" + pool["id"])
    assert status == 200 and got["version"] == pool["version"]
    status, _, err = server.api("DELETE", "/pools/" + pool["id"] + "?force=maybe")
    assert status == 400 and err["error"]["details"]["field"] == "force"
    status, _, _ = server.api("DELETE", "/pools/" + pool["id"] + "?force=true")
    assert status == 204
    status, _, _ = server.api("GET", "/pools/" + pool["id"])
    assert status == 404
    status, _, a = server.api("GET", "/allocations/" + running["id"])
    assert status == 200 and a["status"] == "released"
    assert a["released_at"] is not None
    status, _, a = server.api("GET", "/allocations/" + upcoming["id"])
    assert status == 200 and a["status"] == "cancelled"


def test_delete_with_only_past_allocations(server):
    pool = make_pool(server, unique("fleet"))
    alloc = book(server, pool["id"], 1, now_ms() - 2 * HOUR, now_ms() - HOUR)
    status, _, _ = server.api("DELETE", "/pools/" + pool["id"])
    assert status == 204
    status, _, a = server.api("GET", "/allocations/" + alloc["id"])
    assert status == 200 and a["pool_id"] == pool["id"]


# ---- malformed input ---------------------------------------------------------

GOOD = {"name": "x", "resource_type": "charging_bay", "total_capacity": 1}

BAD_CREATE = [
    ({"fleet_id": 5}, "fleet_id"),
    ({"fleet_id": ""}, "fleet_id"),
    ({"fleet_id": "f" * 129}, "fleet_id"),
    ({"fleet_id": "a\u0001b"}, "fleet_id"),
    ({"name": ""}, "name"),
    ({"name": "n" * 257}, "name"),
    ({"name": None}, "name"),
    ({"resource_type": "r" * 65}, "resource_type"),
    ({"resource_type": "Has Spaces"}, "resource_type"),
    ({"resource_type": ["x"]}, "resource_type"),
    ({"unit": 3}, "unit"),
    ({"site": 7}, "site"),
    ({"labels": "x"}, "labels"),
    ({"labels": {"a": 1}}, "labels"),
    ({"labels": []}, "labels"),
    ({"status": "open"}, "status"),
    ({"status": 1}, "status"),
    ({"total_capacity": "8"}, "total_capacity"),
    ({"total_capacity": -1}, "total_capacity"),
    ({"total_capacity": 1e13}, "total_capacity"),
    ({"total_capacity": 1.0005}, "total_capacity"),
    ({"total_capacity": "NaN"}, "total_capacity"),
    ({"total_capacity": "Infinity"}, "total_capacity"),
    ({"total_capacity": None}, "total_capacity"),
    ({"total_capacity": True}, "total_capacity"),
    ({"exclusive_per_vehicle": "yes"}, "exclusive_per_vehicle"),
    ({"exclusive_per_vehicle": 1}, "exclusive_per_vehicle"),
    ({"capacity_schedule": "x"}, "capacity_schedule"),
    ({"capacity_schedule": [1]}, "capacity_schedule"),
    ({"capacity_schedule": [{"start": "nope", "capacity": 1}]}, "capacity_schedule"),
    ({"capacity_schedule": [{"start": "2030-01-01T00:00:00Z"}]}, "capacity_schedule"),
    ({"capacity_schedule": [{"start": "2030-01-01T00:00:00Z", "capacity": "1"}]},
     "capacity_schedule"),
    ({"capacity_schedule": [{"start": "2030-01-01T00:00:00Z", "capacity": 1.0001}]},
     "capacity_schedule"),
    ({"capacity_schedule": [{"start": "2030-01-02T00:00:00Z",
                             "end": "2030-01-01T00:00:00Z", "capacity": 1}]},
     "capacity_schedule"),
    ({"capacity_schedule": [{"start": "2030-01-01T00:00:00Z",
                             "end": "2030-01-01T00:00:00Z", "capacity": 1}]},
     "capacity_schedule"),
    ({"capacity_schedule": [{"start": "2030-13-01T00:00:00Z", "capacity": 1}]},
     "capacity_schedule"),
    ({"capacity_schedule": [{"start": "2030-01-01 00:00", "capacity": 1}]},
     "capacity_schedule"),
    ({"capacity_schedule": [{"start": "2030-01-01T00:00:00Z", "capacity": -2}]},
     "capacity_schedule"),
]


@pytest.mark.parametrize("patch,field", BAD_CREATE)
def test_create_malformed(server, patch, field):
    fleet = unique("fleet")
    body = dict(GOOD, fleet_id=fleet)
    body.update(patch)
    status, _, err = server.api("POST", "/pools", body)
    assert status == 400, (patch, err)
    assert err["error"]["code"] == "invalid_request"
    assert err["error"]["details"]["field"] == field
    assert err["error"]["message"]
    assert list_all(server, "fleet_id=" + fleet) == []


@pytest.mark.parametrize("text", ['{"fleet_id": "x", ', "[1, 2]", '"pool"', "",
                                  '{"fleet_id": "x"} trailing', "{'a': 1}", "null"])
def test_create_broken_json(server, text):
    before = list_all(server, "resource_type=charging_bay")
    status, body = raw(server, "POST", "/pools", text)
    assert status == 400, body
    assert json.loads(body)["error"]["code"] == "invalid_request"
    assert list_all(server, "resource_type=charging_bay") == before


def test_create_wrong_media_type(server):
    fleet = unique("fleet")
    status, body = raw(server, "POST", "/pools", json.dumps(dict(GOOD, fleet_id=fleet)),
                       content_type="text/plain")
    assert status == 415, body
    assert json.loads(body)["error"]["code"] == "unsupported_media_type"
    assert list_all(server, "fleet_id=" + fleet) == []


@pytest.mark.parametrize("patch,field", [p for p in BAD_CREATE
                                         if p[1] not in ("fleet_id", "resource_type")] +
                         [({"fleet_id": 5}, "fleet_id"), ({"resource_type": 5},
                                                           "resource_type")])
def test_update_malformed_changes_nothing(server, patch, field):
    pool = make_pool(server, unique("fleet"))
    status, _, err = server.api("PUT", "/pools/" + pool["id"], patch)
    assert status == 400, (patch, err)
    assert err["error"]["details"]["field"] == field
    status, headers, got = server.api("GET", "/pools/" + pool["id"])
    assert got == pool and headers["etag"] == '"1"'


def test_update_broken_json_changes_nothing(server):
    pool = make_pool(server, unique("fleet"))
    for text in ('{"name": ', "[]", "42"):
        status, body = raw(server, "PUT", "/pools/" + pool["id"], text)
        assert status == 400, (text, body)
    status, _, got = server.api("GET", "/pools/" + pool["id"])
    assert got == pool
