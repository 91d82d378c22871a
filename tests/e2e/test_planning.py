"""End-to-end: the horizon planner over real HTTP (SPEC §7) — POST /planning
stores a draft plan, GET lists and reads, PUT re-plans a draft or commits /
discards it, DELETE removes drafts and discarded plans; 409 plan_stale with
the stale list, 409 on deleting a committed plan, 412 on If-Match, 404s,
400s, idempotent POST, events, metrics, and restart.

The planner may be replaced by a stronger one: the instances here are
obvious, so the assertions hold for any correct planner.
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


def horizon_start():
    """A whole hour one day ahead: plans never touch the present."""
    return (now_ms() // HOUR_MS + 24) * HOUR_MS


def plan_body(fleet, start, demands, hours=4, **extra):
    body = {"fleet_id": fleet, "horizon_start": iso(start), "horizon_hours": hours,
            "demands": demands}
    body.update(extra)
    return body


def demand(ref, start, quantity=1, hours=1, **extra):
    d = {"ref": ref, "resource_type": "charging_bay", "quantity": quantity,
         "duration_seconds": hours * 3600, "earliest_start": iso(start)}
    d.update(extra)
    return d


def create(server, body, headers=None):
    status, hdrs, plan = server.api("POST", "/planning", body, headers)
    assert status == 201, plan
    assert hdrs["etag"] == '"%d"' % plan["version"]
    return plan


def get(server, pid):
    status, hdrs, plan = server.api("GET", "/planning/" + pid)
    assert status == 200, plan
    assert hdrs["etag"] == '"%d"' % plan["version"]
    return plan


def by_ref(plan):
    return {a.get("ref") or a.get("request_id"): a for a in plan["assignments"]}


def allocations_of_plan(server, pid):
    status, _, page = server.api("GET", "/allocations?plan_id=" + pid)
    assert status == 200, page
    return page["items"]


def assert_invalid(status, body, field):
    assert status == 400, body
    assert body["error"]["code"] == "invalid_request", body
    assert body["error"]["details"].get("field") == field, body


def test_create_reads_back_and_lists(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 2)
    t = horizon_start()
    plan = create(server, plan_body(fleet, t, [demand("a", t), demand("b", t + HOUR_MS,
                                                                          priority=7)],
                                    name="night"))
    assert plan["status"] == "draft" and plan["version"] == 1
    assert plan["name"] == "night"
    assert plan["horizon_end"] == iso(t + 4 * HOUR_MS)
    assert plan["bucket_seconds"] == 3600 and plan["include_pending_requests"] is True
    got = by_ref(plan)
    assert got["a"]["start"] == iso(t) and got["a"]["end"] == iso(t + HOUR_MS)
    assert got["b"]["start"] == iso(t + HOUR_MS) and got["b"]["priority"] == 7
    assert got["a"]["pool_id"] == pool["id"] and got["a"]["allocation_id"] is None
    assert plan["unplaced"] == [] and plan["shortfall"] == []
    assert plan["score"] == {"placed": 2, "unplaced": 0, "placed_priority": 1 + 8,
                             "total_delay_seconds": 0}
    [forecast] = plan["forecast"]
    assert forecast["pool_id"] == pool["id"] and len(forecast["series"]) == 4
    first = forecast["series"][0]
    assert first == {"start": iso(t), "end": iso(t + HOUR_MS), "capacity": 2, "booked": 0,
                     "planned": 1, "utilization": 0.5}
    assert isinstance(plan["planning_ms"], int)
    assert allocations_of_plan(server, plan["id"]) == [], "a draft books nothing"
    assert get(server, plan["id"]) == plan

    other = create(server, plan_body(fleet, t, []))
    status, _, page = server.api("GET", "/planning?fleet_id=%s&limit=1" % fleet)
    assert status == 200 and [p["id"] for p in page["items"]] == [plan["id"]]
    assert page["next_cursor"] is not None
    status, _, page = server.api("GET", "/planning?fleet_id=%s&cursor=%s" %
                                 (fleet, page["next_cursor"]))
    assert [p["id"] for p in page["items"]] == [other["id"]] and page["next_cursor"] is None
    status, _, page = server.api("GET", "/planning?fleet_id=%s&status=committed" % fleet)
    assert status == 200 and page["items"] == []
    status, _, body = server.api("GET", "/planning?status=bogus")
    assert_invalid(status, body, "status")


def test_unplaced_shortfall_and_what_if(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 1)
    t = horizon_start()
    window = {"latest_end": iso(t + HOUR_MS)}
    plan = create(server, plan_body(fleet, t, [
        demand("low", t, **window), demand("high", t, priority=9, **window),
        demand("ghost", t, resource_type="hydrogen")]))
    assert list(by_ref(plan)) == ["high"]
    reasons = {u["ref"]: u["reason"] for u in plan["unplaced"]}
    assert reasons == {"low": "insufficient_capacity", "ghost": "no_pool_of_type"}
    assert plan["shortfall"] and plan["shortfall"][0]["pool_id"] == pool["id"]
    assert plan["shortfall"][0]["extra_capacity"] > 0

    # Re-plan with the shortfall as what-if capacity: "low" is placed too.
    changes = [{"pool_id": s["pool_id"], "start": s["start"], "end": s["end"],
                "delta": s["extra_capacity"]} for s in plan["shortfall"]]
    status, _, again = server.api("PUT", "/planning/" + plan["id"],
                                  {"capacity_changes": changes})
    assert status == 200, again
    assert set(by_ref(again)) == {"high", "low"} and again["version"] == 2
    assert again["forecast"][0]["series"][0]["capacity"] >= 2
    status, _, real = server.api("GET", "/pools/" + pool["id"])
    assert real["total_capacity"] == 1, "what-if changes nothing real"


def test_bad_inputs_are_400_or_422_and_change_nothing(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 1)
    t = horizon_start()
    good = plan_body(fleet, t, [demand("a", t)])
    cases = [
        ({k: v for k, v in good.items() if k != "fleet_id"}, "fleet_id"),
        ({k: v for k, v in good.items() if k != "horizon_hours"}, "horizon_end"),
        (dict(good, horizon_end=iso(t + HOUR_MS)), "horizon_end"),
        (dict(good, horizon_hours=800), "horizon_hours"),
        (dict(good, horizon_hours="4"), "horizon_hours"),
        (dict(good, bucket_seconds=10, horizon_hours=744), "bucket_seconds"),
        (dict(good, time_budget_ms=0), "time_budget_ms"),
        (dict(good, time_budget_ms=60001), "time_budget_ms"),
        (dict(good, include_pending_requests="yes"), "include_pending_requests"),
        (dict(good, demands={"ref": "a"}), "demands"),
        (dict(good, demands=[demand("a", t, quantity="1")]), "quantity"),
        (dict(good, demands=[demand("a", t, quantity=1.0005)]), "quantity"),
        (dict(good, demands=[demand("a", t, quantity=0)]), "demands[0].quantity"),
        (dict(good, demands=[demand("a", t), demand("a", t)]), "demands[1].ref"),
        (dict(good, demands=[demand("a", t, priority=1001)]), "priority"),
        (dict(good, demands=[demand("a", t, latest_end=iso(t + 60_000))]),
         "demands[0].duration_seconds"),
        (dict(good, capacity_changes=[{"pool_id": pool["id"]}]), "delta"),
    ]
    for body, field in cases:
        status, _, answer = server.api("POST", "/planning", body)
        assert_invalid(status, answer, field)
    status, _, answer = server.api("POST", "/planning", dict(good, capacity_changes=[
        {"pool_id": "01900000-0000-7000-8000-00000000dead", "delta": 1}]))
    assert status == 422 and answer["error"]["code"] == "unknown_reference", answer
    assert answer["error"]["details"]["field"] == "capacity_changes[0].pool_id"
    status, _, answer = server.api("POST", "/planning", dict(good, demands=[
        demand("a", t, pool_id="01900000-0000-7000-8000-00000000dead")]))
    assert status == 422, answer
    status, _, answer = server.api("POST", "/planning", raw=b"{}",
                                   headers={"Content-Type": "text/plain"})
    assert status == 415, answer
    status, _, page = server.api("GET", "/planning?fleet_id=" + fleet)
    assert page["items"] == [], "no refused plan was stored"


def test_unknown_plan_is_404(server):
    missing = "/planning/01900000-0000-7000-8000-00000000dead"
    assert server.api("GET", missing)[0] == 404
    assert server.api("PUT", missing, {"status": "committed"})[0] == 404
    assert server.api("PUT", missing, {"name": "x"})[0] == 404
    assert server.api("DELETE", missing)[0] == 404
    status, headers, _ = server.api("PATCH", "/planning")
    assert status == 405 and "POST" in headers["allow"]


def test_commit_books_everything_and_committed_is_final(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 2)
    t = horizon_start()
    plan = create(server, plan_body(fleet, t, [demand("a", t, vehicle_id="bus-1"),
                                               demand("b", t, quantity=1)]))
    status, _, body = server.api("PUT", "/planning/" + plan["id"], {"status": "committed"},
                                 {"If-Match": '"7"'})
    assert status == 412 and body["error"]["code"] == "version_mismatch", body
    status, hdrs, done = server.api("PUT", "/planning/" + plan["id"],
                                    {"status": "committed"}, {"If-Match": '"1"'})
    assert status == 200, done
    assert done["status"] == "committed" and done["version"] == 2
    assert done["committed_at"] is not None and hdrs["etag"] == '"2"'
    allocs = allocations_of_plan(server, plan["id"])
    assert len(allocs) == 2
    ids = {a["allocation_id"] for a in done["assignments"]}
    assert ids == {a["id"] for a in allocs}
    for a in allocs:
        assert a["status"] == "confirmed" and a["pool_id"] == pool["id"]
        assert a["plan_id"] == plan["id"] and a["start"] == iso(t)
        assert a["operation_id"] in ("a", "b")
    assert {a["vehicle_id"] for a in allocs} == {"bus-1", None}

    for method, body in (("PUT", {"status": "committed"}), ("PUT", {"status": "discarded"}),
                         ("PUT", {"name": "late"}), ("DELETE", None)):
        status, _, answer = server.api(method, "/planning/" + plan["id"], body)
        assert status == 409 and answer["error"]["code"] == "invalid_state", (method, answer)
    assert len(allocations_of_plan(server, plan["id"])) == 2


def test_stale_commit_is_409_and_changes_nothing(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 1)
    t = horizon_start()
    plan = create(server, plan_body(fleet, t, [
        demand("a", t, latest_end=iso(t + HOUR_MS)),
        demand("b", t + 2 * HOUR_MS, latest_end=iso(t + 3 * HOUR_MS))]))
    assert len(plan["assignments"]) == 2
    status, _, alloc = server.api("POST", "/allocations", {
        "pool_id": pool["id"], "vehicle_id": "v1", "quantity": 1,
        "start": iso(t), "end": iso(t + HOUR_MS)})
    assert status == 201, alloc

    status, _, body = server.api("PUT", "/planning/" + plan["id"], {"status": "committed"})
    assert status == 409, body
    assert body["error"]["code"] == "plan_stale"
    assert body["error"]["details"]["stale"] == [
        {"ref": "a", "pool_id": pool["id"], "reason": "capacity_exceeded"}]
    assert allocations_of_plan(server, plan["id"]) == [], "not even b was booked"
    assert get(server, plan["id"]) == plan

    # Re-planned against today's ledger it commits (a no longer fits at all).
    status, _, again = server.api("PUT", "/planning/" + plan["id"], {})
    assert status == 200 and list(by_ref(again)) == ["b"], again
    status, _, done = server.api("PUT", "/planning/" + plan["id"], {"status": "committed"})
    assert status == 200 and done["status"] == "committed", done


def test_pending_request_planned_with_what_if_capacity(server):
    fleet = unique("fleet")
    pool = make_pool(server, fleet, 1)
    status, _, req = server.api("POST", "/requests", {
        "fleet_id": fleet, "vehicle_id": "bus-9", "resource_type": "charging_bay",
        "quantity": 2, "duration_seconds": 3600})
    assert status == 201 and req["status"] == "pending", req
    t = horizon_start()
    plan = create(server, plan_body(fleet, t, [], capacity_changes=[
        {"pool_id": pool["id"], "delta": 1}]))
    [a] = plan["assignments"]
    assert a["request_id"] == req["id"] and "ref" not in a
    status, _, body = server.api("PUT", "/planning/" + plan["id"], {"status": "committed"})
    assert status == 409 and body["error"]["code"] == "plan_stale", body
    assert body["error"]["details"]["stale"][0]["request_id"] == req["id"]
    plan2 = create(server, plan_body(fleet, t, [], include_pending_requests=False))
    assert plan2["assignments"] == [] and plan2["unplaced"] == []


def test_replan_if_match_and_put_back(server):
    fleet = unique("fleet")
    make_pool(server, fleet, 1)
    t = horizon_start()
    plan = create(server, plan_body(fleet, t, [demand("a", t)]))
    status, _, body = server.api("PUT", "/planning/" + plan["id"], {"name": "x"},
                                 {"If-Match": '"2"'})
    assert status == 412, body
    status, _, again = server.api("PUT", "/planning/" + plan["id"],
                                  {"demands": [demand("a", t), demand("b", t)],
                                   "horizon_hours": 8, "bucket_seconds": 7200},
                                  {"If-Match": '"1"'})
    assert status == 200, again
    assert again["version"] == 2 and len(again["assignments"]) == 2
    assert again["horizon_end"] == iso(t + 8 * HOUR_MS)
    assert len(again["forecast"][0]["series"]) == 4
    starts = sorted(a["start"] for a in again["assignments"])
    assert starts == [iso(t), iso(t + HOUR_MS)], "one bay: back to back"
    status, _, body = server.api("PUT", "/planning/" + plan["id"], {"fleet_id": "other"})
    assert_invalid(status, body, "fleet_id")
    status, _, body = server.api("PUT", "/planning/" + plan["id"], {"status": "bogus"})
    assert_invalid(status, body, "status")
    # A client may PUT back what it got: the read-only fields are ignored.
    status, _, back = server.api("PUT", "/planning/" + plan["id"], again)
    assert status == 200, back
    assert back["version"] == 3 and by_ref(back).keys() == by_ref(again).keys()


def test_discard_and_delete(server):
    fleet = unique("fleet")
    make_pool(server, fleet, 1)
    t = horizon_start()
    plan = create(server, plan_body(fleet, t, [demand("a", t)]))
    status, _, gone = server.api("PUT", "/planning/" + plan["id"], {"status": "discarded"})
    assert status == 200 and gone["status"] == "discarded", gone
    status, _, body = server.api("PUT", "/planning/" + plan["id"], {"status": "committed"})
    assert status == 409 and body["error"]["code"] == "invalid_state"
    status, _, body = server.api("DELETE", "/planning/" + plan["id"], None,
                                 {"If-Match": '"1"'})
    assert status == 412, body
    status, _, body = server.api("DELETE", "/planning/" + plan["id"])
    assert status == 204 and body is None
    assert server.api("GET", "/planning/" + plan["id"])[0] == 404
    draft = create(server, plan_body(fleet, t, []))
    assert server.api("DELETE", "/planning/" + draft["id"])[0] == 204
    status, _, page = server.api("GET", "/planning?fleet_id=" + fleet)
    assert page["items"] == []

    status, _, page = server.api("GET", "/events?fleet_id=%s&limit=1000" % fleet)
    types = [e["type"] for e in page["items"] if e["entity_type"] == "plan"]
    assert types == ["plan.created", "plan.discarded", "plan.deleted", "plan.created",
                     "plan.deleted"], types
    created = [e for e in page["items"] if e["type"] == "plan.created"][0]
    assert created["entity_id"] == plan["id"] and created["data"]["status"] == "draft"


def test_idempotent_post_replays(server):
    fleet = unique("fleet")
    make_pool(server, fleet, 1)
    t = horizon_start()
    body = plan_body(fleet, t, [demand("a", t)])
    key = {"Idempotency-Key": unique("key")}
    first = create(server, body, key)
    again = create(server, body, key)
    assert again["id"] == first["id"]
    status, _, page = server.api("GET", "/planning?fleet_id=" + fleet)
    assert len(page["items"]) == 1
    status, _, answer = server.api("POST", "/planning", dict(body, name="other"), key)
    assert status == 422 and answer["error"]["code"] == "idempotency_key_reused", answer


def test_metrics_expose_planning_time_and_accuracy(server):
    fleet = unique("fleet")
    make_pool(server, fleet, 1)
    t = horizon_start()
    create(server, plan_body(fleet, t, [demand("a", t)]))
    status, _, text = server.request("GET", "/metrics")
    assert status == 200
    assert "fleetres_planning_duration_seconds_count " in text
    count = [l for l in text.splitlines()
             if l.startswith("fleetres_planning_duration_seconds_count ")][0]
    assert int(count.split()[1]) >= 1
    assert "fleetres_planned_allocations " in text
    assert "# TYPE fleetres_planning_accuracy gauge" in text


def test_plans_survive_a_restart(fresh_server):
    server = fresh_server.start()
    fleet = unique("fleet")
    make_pool(server, fleet, 2)
    t = horizon_start()
    draft = create(server, plan_body(fleet, t, [demand("a", t)]))
    committed = create(server, plan_body(fleet, t, [demand("b", t + HOUR_MS)]))
    status, _, committed = server.api("PUT", "/planning/" + committed["id"],
                                      {"status": "committed"})
    assert status == 200, committed
    draft = get(server, draft["id"])

    server.kill9()
    server.start()
    assert get(server, draft["id"]) == draft
    assert get(server, committed["id"]) == committed
    assert len(allocations_of_plan(server, committed["id"])) == 1
    status, _, done = server.api("PUT", "/planning/" + draft["id"], {"status": "committed"})
    assert status == 200 and done["version"] == 2, done
