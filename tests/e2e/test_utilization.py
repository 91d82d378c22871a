"""End-to-end tests of /utilization (SPEC §5) over real HTTP: samples one by
one and in batches (exact `used`, capacity at the timestamp, all or nothing),
the sample list, and the utilization series checked against figures worked
out by hand."""
import calendar
import http.client
import json
import time

import pytest

from conftest import BASE, iso, now_ms, unique

MINUTE = 60 * 1000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
ZERO_ID = "00000000-0000-7000-8000-000000000000"


def make_pool(server, fleet, **fields):
    body = {"fleet_id": fleet, "name": "bay", "resource_type": "charging_bay",
            "total_capacity": 4, "exclusive_per_vehicle": False}
    body.update(fields)
    status, _, pool = server.api("POST", "/pools", body)
    assert status == 201, pool
    return pool


def sample_body(pool_id, used, timestamp=None, **fields):
    body = {"pool_id": pool_id, "used": used}
    if timestamp is not None:
        body["timestamp"] = iso(timestamp)
    body.update(fields)
    return body


def post_sample(server, pool_id, used, timestamp=None, **fields):
    status, _, sample = server.api("POST", "/utilization",
                                   sample_body(pool_id, used, timestamp, **fields))
    assert status == 201, sample
    return sample


def book(server, pool_id, quantity, start, end, **fields):
    body = {"pool_id": pool_id, "vehicle_id": unique("veh"), "quantity": quantity,
            "start": iso(start), "end": iso(end)}
    body.update(fields)
    status, _, alloc = server.api("POST", "/allocations", body)
    assert status == 201, alloc
    return alloc


def list_all(server, query):
    status, _, page = server.api("GET", "/utilization?" + query + "&limit=1000")
    assert status == 200, page
    assert page["next_cursor"] is None
    return page["items"]


def ids(items):
    return [s["id"] for s in items]


def series(server, pool_id, query=""):
    status, _, body = server.api("GET", "/utilization/%s%s" % (pool_id, query))
    assert status == 200, body
    return body


def range_query(start, end, bucket_seconds=None):
    query = "?from=%s&to=%s" % (iso(start), iso(end))
    if bucket_seconds is not None:
        query += "&bucket_seconds=%s" % bucket_seconds
    return query


def stamp_ms(stamp):
    """Milliseconds of a server stamp "YYYY-MM-DDTHH:MM:SS.mmmZ"."""
    assert len(stamp) == 24 and stamp.endswith("Z"), stamp
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + \
        int(stamp[20:23])


def hour_floor(ms):
    return ms // HOUR * HOUR


def raw_post(server, text, content_type="application/json", headers=None):
    """Sends text verbatim; returns (status, raw response text)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    hdrs = {"Content-Type": content_type}
    hdrs.update(headers or {})
    conn.request("POST", BASE + "/utilization", body=text.encode(), headers=hdrs)
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    return resp.status, data


def error_of(status_and_body, status, field=None, code="invalid_request"):
    got, _, err = status_and_body
    assert got == status, err
    assert err["error"]["code"] == code, err
    if field is not None:
        assert err["error"]["details"]["field"] == field, err
    return err["error"]


# ---- POST one sample -----------------------------------------------------------


def test_create_sample(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, total_capacity=4)
    t = now_ms() - MINUTE
    status, headers, s = server.api("POST", "/utilization",
                                    sample_body(pool["id"], 0.1, t, source="meter-1"))
    assert status == 201, s
    assert headers["etag"] == '"1"'
    assert set(s) >= {"id", "pool_id", "fleet_id", "timestamp", "used", "source", "capacity",
                      "utilization", "created_at"}
    assert len(s["id"]) == 36
    assert s["pool_id"] == pool["id"] and s["fleet_id"] == fleet
    assert s["timestamp"] == iso(t)
    assert s["used"] == 0.1 and s["source"] == "meter-1"
    assert s["capacity"] == 4
    assert s["utilization"] == pytest.approx(0.025, rel=1e-12)
    assert list_all(server, "pool_id=" + pool["id"]) == [s]


def test_used_is_kept_exactly(server):
    pool = make_pool(server, unique("fleet"), total_capacity=1000000000000)
    for text in ("0.1", "0.3", "999999999999.999", "0", "12.5"):
        status, body = raw_post(server, '{"pool_id": "%s", "used": %s}' % (pool["id"], text))
        assert status == 201, body
        assert '"used":%s,' % text in body, body
    status, body = raw_post(server, '{"pool_id": "%s", "used": 1e3}' % pool["id"])
    assert status == 201 and '"used":1000,' in body, body


def test_timestamp_defaults_to_now(server):
    pool = make_pool(server, unique("fleet"))
    before = now_ms()
    s = post_sample(server, pool["id"], 1)
    after = now_ms()
    assert before - 1000 <= stamp_ms(s["timestamp"]) <= after + 1000
    assert s["timestamp"] == s["created_at"]
    assert s["source"] is None


def test_timestamp_any_offset_output_utc(server):
    pool = make_pool(server, unique("fleet"))
    status, _, s = server.api("POST", "/utilization", {
        "pool_id": pool["id"], "used": 1, "timestamp": "2026-03-01T10:00:00.123456+02:00"})
    assert status == 201, s
    assert s["timestamp"] == "2026-03-01T08:00:00.123Z"


def test_capacity_at_the_timestamp(server):
    base = hour_floor(now_ms()) + 2 * HOUR
    pool = make_pool(server, unique("fleet"), total_capacity=8, capacity_schedule=[
        {"start": iso(base), "end": iso(base + HOUR), "capacity": 6},
        {"start": iso(base + 2 * HOUR), "end": iso(base + 3 * HOUR), "capacity": 0}])
    before = post_sample(server, pool["id"], 3, base - 1)
    inside = post_sample(server, pool["id"], 3, base)
    last = post_sample(server, pool["id"], 1.5, base + HOUR - 1)
    after = post_sample(server, pool["id"], 2, base + HOUR)
    zero = post_sample(server, pool["id"], 1, base + 2 * HOUR + 1)
    past = post_sample(server, pool["id"], 8, base - 5 * HOUR)
    assert [s["capacity"] for s in (before, inside, last, after, zero, past)] == \
        [8, 6, 6, 8, 0, 8]
    assert before["utilization"] == pytest.approx(0.375, rel=1e-12)
    assert inside["utilization"] == pytest.approx(0.5, rel=1e-12)
    assert last["utilization"] == pytest.approx(0.25, rel=1e-12)
    assert after["utilization"] == pytest.approx(0.25, rel=1e-12)
    assert zero["utilization"] is None  # capacity 0: no ratio
    assert past["utilization"] == 1
    # Over capacity is a fact worth recording, not an error.
    over = post_sample(server, pool["id"], 12, base)
    assert over["utilization"] == pytest.approx(2.0, rel=1e-12)


def test_unknown_pool_is_422(server):
    err = error_of(server.api("POST", "/utilization", sample_body(ZERO_ID, 1)), 422,
                   "pool_id", code="unknown_reference")
    assert "index" not in err["details"]
    error_of(server.api("POST", "/utilization", sample_body("no-such-pool", 1)), 422,
             "pool_id", code="unknown_reference")


def test_deleted_pool_takes_no_sample_but_keeps_its_history(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    t = hour_floor(now_ms()) - 2 * HOUR
    kept = post_sample(server, pool["id"], 2, t + MINUTE)
    status, _, _ = server.api("DELETE", "/pools/" + pool["id"])
    assert status == 204
    error_of(server.api("POST", "/utilization", sample_body(pool["id"], 1)), 422, "pool_id",
             code="unknown_reference")
    assert list_all(server, "fleet_id=" + fleet) == [kept]
    body = series(server, pool["id"], range_query(t, t + HOUR, 3600))
    assert body["series"][0]["measured_avg"] == 2
    assert body["series"][0]["capacity"] == 4


@pytest.mark.parametrize("fields,field", [
    ({"used": -1}, "used"),
    ({"used": -0.001}, "used"),
    ({"used": 0.0005}, "used"),
    ({"used": 1.2345}, "used"),
    ({"used": 1e13}, "used"),
    ({"used": "1"}, "used"),
    ({"used": None}, "used"),
    ({"used": True}, "used"),
    ({"used": [1]}, "used"),
    ({"used": "absent"}, "used"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"timestamp": "2026-02-30T00:00:00Z"}, "timestamp"),
    ({"timestamp": "2026-01-01 00:00:00"}, "timestamp"),
    ({"timestamp": 1700000000000}, "timestamp"),
    ({"timestamp": None}, "timestamp"),
    ({"pool_id": 5}, "pool_id"),
    ({"pool_id": ""}, "pool_id"),
    ({"pool_id": "absent"}, "pool_id"),
    ({"source": ""}, "source"),
    ({"source": "x" * 129}, "source"),
    ({"source": 7}, "source"),
    ({"source": "tab\there"}, "source"),
])
def test_malformed_sample_is_400_and_stores_nothing(server, fields, field):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    body = {"pool_id": pool["id"], "used": 1}
    for name, value in fields.items():
        if value == "absent":
            del body[name]
        else:
            body[name] = value
    err = error_of(server.api("POST", "/utilization", body), 400, field)
    assert "index" not in err["details"]
    assert list_all(server, "fleet_id=" + fleet) == []


def test_used_too_many_decimals_from_raw_text(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    for text in ("1.0005", "0.1234", "1e-4", "NaN", "-0.5"):
        status, body = raw_post(server, '{"pool_id": "%s", "used": %s}' % (pool["id"], text))
        assert status == 400, (text, body)
        if text != "NaN":  # not JSON at all: no field to name
            assert json.loads(body)["error"]["details"]["field"] == "used", body
    assert list_all(server, "fleet_id=" + fleet) == []


def test_transport_errors(server):
    pool = make_pool(server, unique("fleet"))
    status, _ = raw_post(server, '{"pool_id": "%s", "used": 1}' % pool["id"], "text/plain")
    assert status == 415
    status, _ = raw_post(server, '{"pool_id": ')
    assert status == 400
    error_of(server.api("POST", "/utilization", [sample_body(pool["id"], 1)]), 400)
    status, headers, err = server.api("DELETE", "/utilization")
    assert status == 405 and "GET" in headers["allow"] and "POST" in headers["allow"]
    status, headers, err = server.api("POST", "/utilization/" + pool["id"], {})
    assert status == 405 and headers["allow"] == "GET"


# ---- POST a batch ------------------------------------------------------------------


def test_batch_create(server):
    fleet = unique("fleet")
    a = make_pool(server, fleet, total_capacity=4)
    b = make_pool(server, fleet, total_capacity=0.5, name="power")
    t = now_ms() - HOUR
    status, headers, page = server.api("POST", "/utilization", {"samples": [
        sample_body(a["id"], 0.1, t, source="s1"),
        sample_body(b["id"], 0.25, t + 1),
        sample_body(a["id"], 3, t + 2)]})
    assert status == 201, page
    assert "etag" not in headers
    items = page["items"]
    assert [s["pool_id"] for s in items] == [a["id"], b["id"], a["id"]]
    assert [s["used"] for s in items] == [0.1, 0.25, 3]
    assert [s["capacity"] for s in items] == [4, 0.5, 4]
    assert [s["utilization"] for s in items] == pytest.approx([0.025, 0.5, 0.75], rel=1e-12)
    assert items[0]["source"] == "s1" and items[1]["source"] is None
    assert len(set(ids(items))) == 3
    assert sorted(ids(list_all(server, "fleet_id=" + fleet))) == sorted(ids(items))


def test_batch_of_1000(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    t = now_ms() - DAY
    status, _, page = server.api("POST", "/utilization", {"samples": [
        sample_body(pool["id"], i % 5, t + i) for i in range(1000)]})
    assert status == 201
    assert len(page["items"]) == 1000
    err = error_of(server.api("POST", "/utilization", {"samples": [
        sample_body(pool["id"], 1, t) for _ in range(1001)]}), 400, "samples")
    assert "index" not in err["details"]
    assert len(list_all(server, "fleet_id=" + fleet)) == 1000


@pytest.mark.parametrize("bad,status,field,code", [
    ({"used": -1}, 400, "used", "invalid_request"),
    ({"used": "1"}, 400, "used", "invalid_request"),
    ({"used": 0.0001}, 400, "used", "invalid_request"),
    ({"timestamp": "soon"}, 400, "timestamp", "invalid_request"),
    ({"used": "absent"}, 400, "used", "invalid_request"),
    ({"pool_id": ZERO_ID}, 422, "pool_id", "unknown_reference"),
    ({"source": ""}, 400, "source", "invalid_request"),
])
def test_batch_is_all_or_nothing(server, bad, status, field, code):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    kept = post_sample(server, pool["id"], 1)
    before = list_all(server, "fleet_id=" + fleet)
    assert before == [kept]
    item = sample_body(pool["id"], 2)
    for name, value in bad.items():
        if value == "absent":
            del item[name]
        else:
            item[name] = value
    err = error_of(server.api("POST", "/utilization", {"samples": [
        sample_body(pool["id"], 1), sample_body(pool["id"], 2), item,
        sample_body(pool["id"], 3)]}), status, field, code)
    assert err["details"]["index"] == 2
    assert list_all(server, "fleet_id=" + fleet) == before


def test_batch_item_not_an_object(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    err = error_of(server.api("POST", "/utilization", {"samples": [
        sample_body(pool["id"], 1), sample_body(pool["id"], 1), 7]}), 400, "samples")
    assert err["details"]["index"] == 2
    assert list_all(server, "fleet_id=" + fleet) == []


@pytest.mark.parametrize("batch", [[], "x", {"a": 1}, None, 3])
def test_batch_malformed(server, batch):
    err = error_of(server.api("POST", "/utilization", {"samples": batch}), 400, "samples")
    assert "index" not in err["details"]


def test_error_after_a_batch_carries_no_stale_index(server):
    pool = make_pool(server, unique("fleet"))
    error_of(server.api("POST", "/utilization", {"samples": [
        sample_body(pool["id"], 1), sample_body(pool["id"], -1)]}), 400, "used")
    err = error_of(server.api("POST", "/utilization", sample_body(pool["id"], "x")), 400,
                   "used")
    assert "index" not in err["details"]


# ---- Idempotency-Key ---------------------------------------------------------------


def test_idempotency_key_replays_a_sample(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    key = unique("key")
    body = sample_body(pool["id"], 0.5, source="meter")
    s1, _, first = server.api("POST", "/utilization", body, headers={"Idempotency-Key": key})
    assert s1 == 201, first
    # The same JSON with members in another order replays the first response.
    raw = json.dumps({"source": "meter", "used": 0.50, "pool_id": pool["id"]})
    s2, text = raw_post(server, raw, headers={"Idempotency-Key": key})
    assert s2 == 201, text
    assert json.loads(text) == first
    assert list_all(server, "fleet_id=" + fleet) == [first]
    # Another body with the same key: 422 and nothing stored.
    error_of(server.api("POST", "/utilization", sample_body(pool["id"], 0.6),
                        headers={"Idempotency-Key": key}), 422,
             code="idempotency_key_reused")
    assert list_all(server, "fleet_id=" + fleet) == [first]
    # A fresh key records a new sample.
    s3, _, other = server.api("POST", "/utilization", body,
                              headers={"Idempotency-Key": unique("key")})
    assert s3 == 201 and other["id"] != first["id"]


def test_idempotency_key_replays_a_batch_and_a_refusal(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    key = unique("key")
    body = {"samples": [sample_body(pool["id"], 1), sample_body(pool["id"], 2)]}
    s1, _, first = server.api("POST", "/utilization", body, headers={"Idempotency-Key": key})
    s2, _, again = server.api("POST", "/utilization", body, headers={"Idempotency-Key": key})
    assert s1 == s2 == 201
    assert ids(again["items"]) == ids(first["items"])
    assert len(list_all(server, "fleet_id=" + fleet)) == 2
    # A 422 is replayed too.
    key = unique("key")
    body = sample_body(ZERO_ID, 1)
    for _ in range(2):
        error_of(server.api("POST", "/utilization", body, headers={"Idempotency-Key": key}),
                 422, "pool_id", code="unknown_reference")


# ---- GET /utilization ----------------------------------------------------------------


def test_list_filters(server):
    fleet_a, fleet_b = unique("fleet"), unique("fleet")
    a1 = make_pool(server, fleet_a)
    a2 = make_pool(server, fleet_a, name="other")
    b1 = make_pool(server, fleet_b)
    t = hour_floor(now_ms()) - 10 * HOUR
    s = [post_sample(server, a1["id"], 1, t),
         post_sample(server, a1["id"], 2, t + HOUR),
         post_sample(server, a2["id"], 3, t + 2 * HOUR - 1),
         post_sample(server, a2["id"], 4, t + 2 * HOUR),
         post_sample(server, b1["id"], 5, t + HOUR)]
    assert ids(list_all(server, "fleet_id=" + fleet_a)) == ids(s[:4])
    assert ids(list_all(server, "fleet_id=" + fleet_b)) == ids(s[4:])
    assert ids(list_all(server, "pool_id=" + a2["id"])) == ids(s[2:4])
    assert ids(list_all(server, "pool_id=%s&fleet_id=%s" % (a2["id"], fleet_b))) == []
    # from <= timestamp < to
    q = "fleet_id=%s&from=%s&to=%s" % (fleet_a, iso(t + HOUR), iso(t + 2 * HOUR))
    assert ids(list_all(server, q)) == ids(s[1:3])
    assert ids(list_all(server, "fleet_id=%s&from=%s" % (fleet_a, iso(t + 2 * HOUR)))) == \
        ids(s[3:4])
    assert ids(list_all(server, "fleet_id=%s&to=%s" % (fleet_a, iso(t + 1)))) == ids(s[:1])
    # Another offset names the same instant.
    q = "fleet_id=%s&from=%s" % (fleet_a, "2000-01-01T00:00:00%2B02:00")
    assert ids(list_all(server, q)) == ids(s[:4])
    assert list_all(server, "fleet_id=" + unique("nobody")) == []


def test_list_is_in_created_order_not_timestamp_order(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    t = now_ms()
    late = post_sample(server, pool["id"], 1, t)
    early = post_sample(server, pool["id"], 1, t - DAY)
    assert ids(list_all(server, "fleet_id=" + fleet)) == [late["id"], early["id"]]


def test_list_pagination(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet)
    made = [post_sample(server, pool["id"], i)["id"] for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        path = "/utilization?fleet_id=%s&limit=2" % fleet
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


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"),
    ("from=yesterday", "from"), ("to=2026-13-01T00:00:00Z", "to"),
    ("cursor=not-a-cursor", "cursor"), ("pool_id=", "pool_id"),
])
def test_list_bad_query_is_400(server, query, field):
    error_of(server.api("GET", "/utilization?" + query), 400, field)


# ---- GET /utilization/{pool_id}: the series, by hand -----------------------------------


def test_series_by_hand(server):
    """Capacity 10 with a window at 6 over [1:30, 2:30); confirmed bookings
    A 2 [0:00, 2:00), B 3 [0:30, 1:30), C 1.5 [2:00, 3:15); hourly buckets of
    [0:00, 3:30), the last cut to 30 minutes."""
    t0 = hour_floor(now_ms()) - 10 * HOUR
    fleet = unique("fleet")
    pool = make_pool(server, fleet, total_capacity=10, capacity_schedule=[
        {"start": iso(t0 + 90 * MINUTE), "end": iso(t0 + 150 * MINUTE), "capacity": 6}])
    pid = pool["id"]
    book(server, pid, 2, t0, t0 + 120 * MINUTE)
    book(server, pid, 3, t0 + 30 * MINUTE, t0 + 90 * MINUTE)
    book(server, pid, 1.5, t0 + 120 * MINUTE, t0 + 195 * MINUTE)
    post_sample(server, pid, 9, t0 - 1)                      # before from: not counted
    post_sample(server, pid, 3, t0 + 10 * MINUTE)            # bucket 0
    post_sample(server, pid, 4.5, t0 + 60 * MINUTE - 1)      # bucket 0
    post_sample(server, pid, 1.2, t0 + 120 * MINUTE)         # bucket 2 (its first instant)
    post_sample(server, pid, 0.1, t0 + 130 * MINUTE)         # bucket 2
    post_sample(server, pid, 0.2, t0 + 170 * MINUTE)         # bucket 2
    post_sample(server, pid, 0.7, t0 + 200 * MINUTE)         # bucket 3
    post_sample(server, pid, 9, t0 + 210 * MINUTE)           # at `to`: not counted
    body = series(server, pid, range_query(t0, t0 + 210 * MINUTE, 3600))
    assert body["pool_id"] == pid
    assert body["from"] == iso(t0) and body["to"] == iso(t0 + 210 * MINUTE)
    assert body["bucket_seconds"] == 3600
    got = body["series"]
    assert [b["start"] for b in got] == [iso(t0 + i * HOUR) for i in range(4)]
    # capacity: b1 = (10*30 + 6*30)/60, b2 = (6*30 + 10*30)/60
    assert [b["capacity"] for b in got] == [10, 8, 8, 10]
    # booked: b0 = (2*60 + 3*30)/60, b1 = (2*60 + 3*30)/60, b2 = 1.5, b3 = 1.5*15/30
    assert [b["booked_avg"] for b in got] == [3.5, 3.5, 1.5, 0.75]
    assert [b["booked_peak"] for b in got] == [5, 5, 1.5, 1.5]
    # measured: b0 = (3 + 4.5)/2, b1 none, b2 = (1.2 + 0.1 + 0.2)/3, b3 = 0.7
    assert [b["measured_avg"] for b in got] == [3.75, None, 0.5, 0.7]
    assert [b["utilization"] for b in got] == \
        pytest.approx([3.5 / 10, 3.5 / 8, 1.5 / 8, 0.75 / 10], rel=1e-12)
    assert got[1]["efficiency"] is None
    assert [got[i]["efficiency"] for i in (0, 2, 3)] == \
        pytest.approx([3.75 / 3.5, 0.5 / 1.5, 0.7 / 0.75], rel=1e-12)
    # Summary over [0:00, 3:30) = 210 minutes, averages truncated to 3 decimals:
    # capacity (10*90 + 6*60 + 10*60)/210 = 8.857142..., booked (2*120 + 3*60 +
    # 1.5*75)/210 = 2.535714..., measured 9.7/6 = 1.61666...
    summary = body["summary"]
    assert summary["capacity_avg"] == 8.857
    assert summary["booked_avg"] == 2.535
    assert summary["booked_peak"] == 5
    assert summary["measured_avg"] == 1.616
    assert summary["utilization"] == pytest.approx(2.535 / 8.857, rel=1e-12)
    assert summary["efficiency"] == pytest.approx(1.616 / 2.535, rel=1e-12)
    assert set(summary) == {"capacity_avg", "booked_avg", "booked_peak", "measured_avg",
                            "utilization", "efficiency"}
    assert set(got[0]) == {"start", "capacity", "booked_avg", "booked_peak", "measured_avg",
                           "utilization", "efficiency"}


def test_series_counts_ended_bookings_until_they_ended_and_never_cancelled_or_expired(server):
    """Bucket 0 holds R (2 units, released while in progress); bucket 1 holds K
    (a live hold of 1 unit), X (cancelled) and H (an expired hold)."""
    now = now_ms() // 1000 * 1000
    start = now - HOUR
    pool = make_pool(server, unique("fleet"), total_capacity=10)
    pid = pool["id"]
    r = book(server, pid, 2, start + 30 * MINUTE, start + 3 * HOUR)
    status, _, released = server.api("DELETE", "/allocations/" + r["id"])
    assert status == 200 and released["status"] == "released", released
    r_end = stamp_ms(released["end"])
    assert start + HOUR <= r_end < start + 2 * HOUR
    window = (start + 150 * MINUTE, start + 210 * MINUTE)
    x = book(server, pid, 3, *window)
    status, _, cancelled = server.api("DELETE", "/allocations/" + x["id"])
    assert status == 200 and cancelled["status"] == "cancelled", cancelled
    h = book(server, pid, 4, *window, hold_seconds=0.2)
    k = book(server, pid, 1, *window, hold_seconds=600)
    assert h["status"] == k["status"] == "held"
    time.sleep(0.4)  # H expires (expiry is exact, sweep or not)
    body = series(server, pid, range_query(start, start + 4 * HOUR, 7200))
    b0, b1 = body["series"]
    assert b0["capacity"] == b1["capacity"] == 10
    expected = 2000 * (r_end - (start + 30 * MINUTE)) // (2 * HOUR)
    assert round(b0["booked_avg"] * 1000) == expected
    assert b0["booked_peak"] == 2
    assert b1["booked_avg"] == 0.5 and b1["booked_peak"] == 1
    assert b0["measured_avg"] is None and b0["efficiency"] is None
    assert b1["utilization"] == pytest.approx(0.05, rel=1e-12)
    assert body["summary"]["booked_peak"] == 2


def test_series_zero_capacity_gives_null_ratios(server):
    t0 = hour_floor(now_ms()) - 5 * HOUR
    pool = make_pool(server, unique("fleet"), total_capacity=4, capacity_schedule=[
        {"start": iso(t0), "end": iso(t0 + HOUR), "capacity": 0}])
    post_sample(server, pool["id"], 1, t0 + MINUTE)
    body = series(server, pool["id"], range_query(t0, t0 + 2 * HOUR, 3600))
    b0, b1 = body["series"]
    assert b0["capacity"] == 0 and b0["utilization"] is None
    assert b0["measured_avg"] == 1 and b0["efficiency"] is None  # booked 0
    assert b1["capacity"] == 4 and b1["utilization"] == 0 and b1["measured_avg"] is None
    assert body["summary"]["capacity_avg"] == 2 and body["summary"]["efficiency"] is None


def test_series_defaults_to_the_last_24_hours_hourly(server):
    pool = make_pool(server, unique("fleet"))
    before = now_ms()
    body = series(server, pool["id"])
    after = now_ms()
    to, frm = stamp_ms(body["to"]), stamp_ms(body["from"])
    assert before - 1000 <= to <= after + 1000
    assert to - frm == DAY
    assert body["bucket_seconds"] == 3600
    assert len(body["series"]) == 24
    assert [stamp_ms(b["start"]) for b in body["series"]] == [frm + i * HOUR
                                                               for i in range(24)]
    # One bound given: to defaults to now, from to 24 hours before to.
    t = hour_floor(now_ms()) - 3 * HOUR
    body = series(server, pool["id"], "?from=" + iso(t))
    assert stamp_ms(body["from"]) == t
    span = stamp_ms(body["to"]) - t
    assert 3 * HOUR <= span <= 4 * HOUR
    assert len(body["series"]) == -(-span // HOUR) and body["series"][0]["start"] == iso(t)
    body = series(server, pool["id"], "?to=%s&bucket_seconds=21600" % iso(t))
    assert body["from"] == iso(t - DAY) and body["to"] == iso(t)
    assert len(body["series"]) == 4


def test_series_last_bucket_is_cut_at_to(server):
    pool = make_pool(server, unique("fleet"), total_capacity=4)
    t0 = hour_floor(now_ms()) + HOUR
    book(server, pool["id"], 2, t0 + 150 * MINUTE, t0 + 160 * MINUTE)
    body = series(server, pool["id"], range_query(t0, t0 + 165 * MINUTE, 3600))
    assert [b["start"] for b in body["series"]] == [iso(t0), iso(t0 + HOUR),
                                                     iso(t0 + 2 * HOUR)]
    # The last bucket is 45 minutes long: 2 * 10 / 45.
    assert body["series"][2]["booked_avg"] == 0.444
    assert body["series"][2]["booked_peak"] == 2


def test_series_bucket_limits(server):
    pool = make_pool(server, unique("fleet"))
    t0 = hour_floor(now_ms())
    body = series(server, pool["id"], range_query(t0, t0 + 10000 * 1000, 1))
    assert len(body["series"]) == 10000
    body = series(server, pool["id"], range_query(t0, t0 + 9999 * 1000 + 1, 1))
    assert len(body["series"]) == 10000
    error_of(server.api("GET", "/utilization/%s%s" % (
        pool["id"], range_query(t0, t0 + 10000 * 1000 + 1, 1))), 400, "bucket_seconds")
    # Default range (24 h) in buckets of 8 s is 10,800 buckets.
    error_of(server.api("GET", "/utilization/%s?bucket_seconds=8" % pool["id"]), 400,
             "bucket_seconds")
    body = series(server, pool["id"], "?bucket_seconds=9")
    assert len(body["series"]) == 9600
    # A bucket longer than the range is one bucket, cut at to.
    body = series(server, pool["id"], range_query(t0, t0 + HOUR, 10 ** 9))
    assert len(body["series"]) == 1 and body["bucket_seconds"] == 10 ** 9


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "abc", "", "+5", "1e3", "%205",
                                   "99999999999999999999"])
def test_series_bucket_seconds_must_be_a_positive_integer(server, value):
    pool = make_pool(server, unique("fleet"))
    error_of(server.api("GET", "/utilization/%s?bucket_seconds=%s" % (pool["id"], value)),
             400, "bucket_seconds")


def test_series_to_must_be_after_from(server):
    pool = make_pool(server, unique("fleet"))
    t = hour_floor(now_ms())
    error_of(server.api("GET", "/utilization/%s%s" % (pool["id"], range_query(t, t))), 400,
             "to")
    error_of(server.api("GET", "/utilization/%s%s" % (pool["id"], range_query(t, t - 1))),
             400, "to")
    # from in the future with to defaulting to now
    error_of(server.api("GET", "/utilization/%s?from=%s" % (pool["id"], iso(t + 2 * HOUR))),
             400, "to")


@pytest.mark.parametrize("query,field", [
    ("?from=yesterday", "from"), ("?to=2026-01-01", "to"), ("?from=", "from"),
])
def test_series_bad_times_are_400(server, query, field):
    pool = make_pool(server, unique("fleet"))
    error_of(server.api("GET", "/utilization/%s%s" % (pool["id"], query)), 400, field)


def test_series_unknown_pool_is_404(server):
    error_of(server.api("GET", "/utilization/" + ZERO_ID), 404, code="not_found")
    error_of(server.api("GET", "/utilization/no-such-pool?bucket_seconds=60"), 404,
             code="not_found")
