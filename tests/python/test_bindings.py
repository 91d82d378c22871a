"""The Python bindings against a real engine (memory and SQLite): every wrapped
call, the capacity invariant and its explanation, bad input that raises and
changes nothing, reopening a SQLite file, and threads sharing one engine."""

import datetime
import decimal
import os
import re
import threading

import pytest

import fleetres
from conftest import T0, ROOT

UTC = datetime.timezone.utc
AT10 = "2030-01-01T10:00:00Z"
AT12 = "2030-01-01T12:00:00Z"


def last_seq(engine):
    seq, page = 0, engine.list_events(after=0, limit=1000)
    while page["items"]:
        seq = page["next_after"]
        page = engine.list_events(after=seq, limit=1000)
    return seq


def book(engine, pool, vehicle, quantity=1, start=AT10, end=AT12, **kw):
    return engine.create_allocation(pool_id=pool["id"], vehicle_id=vehicle, quantity=quantity,
                                    start=start, end=end, **kw)


# -- module-level calls ---------------------------------------------------------

def test_module_helpers():
    assert re.fullmatch(r"\d+\.\d+\.\d+", fleetres.version())
    assert fleetres.errcode(3) == "capacity_exceeded"
    assert fleetres.errstr(0)
    assert fleetres.parse_time("2030-01-01T09:00:00+01:00") == fleetres.parse_time(T0)
    assert fleetres.parse_time(datetime.datetime(2030, 1, 1, 8, tzinfo=UTC)) == 1893484800000
    assert fleetres.format_time(1893484800000) == "2030-01-01T08:00:00.000Z"
    assert fleetres.parse_quantity("0.125") == 125
    assert fleetres.parse_quantity(decimal.Decimal("1E+3")) == 1000000
    assert fleetres.parse_quantity(0.1) == 100
    assert fleetres.format_quantity(2125) == "2.125"
    with pytest.raises(fleetres.InvalidRequest):
        fleetres.parse_quantity("0.0001")
    with pytest.raises(fleetres.InvalidRequest):
        fleetres.parse_quantity(float("nan"))
    with pytest.raises(fleetres.InvalidRequest):
        fleetres.parse_quantity(10**13)
    with pytest.raises(fleetres.InvalidType):
        fleetres.parse_quantity(True)


def test_engine_calls(engine, clock):
    assert engine.now() == fleetres.parse_time(T0)
    clock.advance(seconds=90)
    assert engine.now() == fleetres.parse_time(T0) + 90000
    assert engine.ping() is True
    engine.tick()
    assert set(engine.counters()) == {"store_commits", "grouped_calls", "failed_groups"}


# -- pools ------------------------------------------------------------------------

def test_pool_lifecycle(engine):
    p = engine.create_pool(fleet_id="depot", name="Bays", resource_type="charging_bay",
                           total_capacity="2.5", site="north", labels={"row": "A"},
                           capacity_schedule=[{"start": AT10, "end": AT12, "capacity": 1}],
                           exclusive_per_vehicle=False)
    assert p["total_capacity"] == 2.5 and p["site"] == "north" and p["labels"] == {"row": "A"}
    assert p["capacity_schedule"][0]["capacity"] == 1 and p["version"] == 1
    assert engine.get_pool(p["id"]) == p
    q = engine.update_pool(p["id"], name="Bays A", site=None, status="draining", if_match=1)
    assert q["name"] == "Bays A" and q["site"] is None and q["status"] == "draining"
    assert q["version"] == 2 and q["conflicts_detected"] == []
    with pytest.raises(fleetres.VersionMismatch):
        engine.update_pool(p["id"], name="stale", if_match=1)
    with pytest.raises(fleetres.InvalidRequest) as exc:
        engine.update_pool(p["id"], fleet_id="other")
    assert exc.value.details["field"] == "fleet_id"
    other = engine.create_pool(fleet_id="depot", name="Park", resource_type="parking",
                               total_capacity=5)
    assert [x["id"] for x in engine.list_pools(resource_type="parking")["items"]] == [other["id"]]
    assert [x["id"] for x in engine.list_pools(status="draining")["items"]] == [p["id"]]
    assert engine.delete_pool(p["id"]) is None
    with pytest.raises(fleetres.NotFound):
        engine.get_pool(p["id"])
    assert [x["id"] for x in engine.list_pools()["items"]] == [other["id"]]


def test_pool_delete_in_use_and_force(engine, pool, clock):
    a = book(engine, pool, "bus-1")
    with pytest.raises(fleetres.PoolInUse):
        engine.delete_pool(pool["id"])
    assert engine.get_pool(pool["id"])["id"] == pool["id"]
    engine.delete_pool(pool["id"], force=True)
    assert engine.get_allocation(a["id"])["status"] == "cancelled"


def test_list_pagination_with_cursor(engine):
    ids = [engine.create_pool(fleet_id="depot", name="P%d" % i, resource_type="bay",
                              total_capacity=1)["id"] for i in range(5)]
    first = engine.list_pools(limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = engine.list_pools(limit=2, cursor=first["next_cursor"])
    assert [x["id"] for x in first["items"] + second["items"]] == ids[:4]
    assert [x["id"] for x in engine.iterate("pools", page_size=2)] == ids


# -- allocations --------------------------------------------------------------------

def test_allocation_lifecycle(engine, pool, clock):
    a = book(engine, pool, "bus-1", quantity=decimal.Decimal("0.5"), priority=7,
             metadata={"trip": 12}, allocation_type="charge")
    assert a["quantity"] == 0.5 and a["status"] == "confirmed" and a["priority"] == 7
    assert a["metadata"] == {"trip": 12} and a["pool_id"] == pool["id"]
    assert engine.get_allocation(a["id"]) == a
    u = engine.update_allocation(a["id"], end="2030-01-01T11:00:00Z", quantity=1)
    assert u["end"] == "2030-01-01T11:00:00.000Z" and u["quantity"] == 1 and u["version"] == 2
    # An open-ended booking (end=None) and a hold that is confirmed.
    h = engine.create_allocation(pool_id=pool["id"], operation_id="wash", quantity=1,
                                 start=datetime.datetime(2030, 1, 2, tzinfo=UTC), end=None,
                                 hold_seconds=600)
    assert h["status"] == "held" and h["end"] is None and h["hold_expires_at"]
    assert engine.update_allocation(h["id"], status="confirmed")["status"] == "confirmed"
    d = engine.delete_allocation(a["id"])
    assert d["status"] == "cancelled"
    with pytest.raises(fleetres.InvalidState):
        engine.delete_allocation(a["id"])
    assert [x["id"] for x in engine.list_allocations(status="confirmed")["items"]] == [h["id"]]
    assert [x["id"] for x in engine.list_allocations(vehicle_id="bus-1")["items"]] == [a["id"]]
    assert engine.list_allocations(from_="2030-01-01T12:00:00Z",
                                   to="2030-01-01T13:00:00Z")["items"] == []
    assert [x["id"] for x in engine.list_allocations(**{"from": "2030-01-03T00:00:00Z"})[
        "items"]] == [h["id"]]
    # Pool choice by fleet + resource type.
    c = engine.create_allocation(fleet_id="depot", resource_type="charging_bay",
                                 vehicle_id="bus-9", quantity=1, start=AT10, end=AT12)
    assert c["pool_id"] == pool["id"]


def test_hold_expires_exactly(engine, pool, clock):
    h = book(engine, pool, "bus-1", quantity=2, hold_seconds=60)
    with pytest.raises(fleetres.CapacityExceeded):
        book(engine, pool, "bus-2")
    clock.advance(seconds=60)
    engine.tick()
    assert engine.get_allocation(h["id"])["status"] == "expired"
    assert book(engine, pool, "bus-2", quantity=2)["status"] == "confirmed"


def test_capacity_refusal_explained_and_nothing_changed(engine, pool):
    a = book(engine, pool, "bus-1", quantity=1.5)
    seq = last_seq(engine)
    with pytest.raises(fleetres.CapacityExceeded) as exc:
        book(engine, pool, "bus-2", quantity=1)
    e = exc.value
    assert e.code == "capacity_exceeded" and e.status == 3 and "0.5" in e.message
    assert e.details == {
        "pool_id": pool["id"], "at": "2030-01-01T10:00:00.000Z", "capacity": 2,
        "free": 0.5, "requested": 1, "conflicting_allocation_ids": [a["id"]],
        "next_fit_start": "2030-01-01T12:00:00.000Z",
    }
    assert isinstance(e, fleetres.FleetresError)
    assert last_seq(engine) == seq
    assert len(engine.list_allocations()["items"]) == 1
    # The invariant holds at every instant: the sum stays <= capacity.
    assert engine.get_pool(pool["id"])["capacity_now"] == 2


def test_double_booking(engine, pool):
    a = book(engine, pool, "bus-1")
    with pytest.raises(fleetres.DoubleBooking) as exc:
        book(engine, pool, "bus-1", start="2030-01-01T11:00:00Z", end="2030-01-01T13:00:00Z")
    assert exc.value.details == {"vehicle_id": "bus-1", "conflicting_allocation_ids": [a["id"]]}


def test_batch_all_or_nothing(engine, pool):
    items = [dict(pool_id=pool["id"], vehicle_id="bus-%d" % i, quantity=1, start=AT10,
                  end=AT12) for i in range(3)]
    seq = last_seq(engine)
    with pytest.raises(fleetres.CapacityExceeded) as exc:
        engine.create_allocations(items)
    assert exc.value.details["index"] == 2
    assert engine.list_allocations()["items"] == [] and last_seq(engine) == seq
    made = engine.create_allocations(items[:2])
    assert [x["vehicle_id"] for x in made] == ["bus-0", "bus-1"]
    with pytest.raises(fleetres.InvalidRequest) as exc:
        engine.create_allocations([dict(items[0], start=AT12, end=None),
                                   dict(items[1], start=AT12, quantity=-1)])
    assert exc.value.details["index"] == 1
    with pytest.raises(fleetres.InvalidType) as exc:
        engine.create_allocations([dict(items[0], start=AT12, end=None), "not a dict"])
    assert exc.value.details["index"] == 1
    with pytest.raises(fleetres.InvalidRequest):
        engine.create_allocations([])


def test_idempotency_key_replays(engine, pool):
    a = book(engine, pool, "bus-1", idempotency_key="k1")
    b = book(engine, pool, "bus-1", idempotency_key="k1")
    assert a["id"] == b["id"] and len(engine.list_allocations()["items"]) == 1
    with pytest.raises(fleetres.IdempotencyKeyReused):
        book(engine, pool, "bus-2", idempotency_key="k1")


def test_permissions_from_engine_options(clock):
    with fleetres.Engine(clock=clock, may_overcommit=False, actor="ops") as e:
        p = e.create_pool(fleet_id="f", name="x", resource_type="bay", total_capacity=1)
        with pytest.raises(fleetres.Forbidden):
            e.create_allocation(pool_id=p["id"], vehicle_id="v", quantity=2, start=AT10,
                                end=AT12, overcommit=True)
        assert e.list_events()["items"][0]["actor"] == "ops"
        e.create_pool(fleet_id="f", name="y", resource_type="bay", total_capacity=1,
                      actor="alice")
        assert e.list_events(after=1)["items"][0]["actor"] == "alice"


# -- requests ------------------------------------------------------------------------

def test_request_queue(engine, pool, clock):
    a = book(engine, pool, "bus-1", quantity=2)
    r = engine.create_request(fleet_id="depot", vehicle_id="bus-2",
                              resource_type="charging_bay", quantity=1, earliest_start=AT10,
                              latest_end=AT12, priority=5)
    assert r["status"] == "pending" and r["pending_reason"] == "insufficient_capacity"
    assert r["queue_position"] == 1
    r2 = engine.create_request(fleet_id="depot", vehicle_id="bus-3",
                               resource_type="charging_bay", quantity=1, duration_seconds=3600,
                               earliest_start=AT10, latest_end=AT12)
    assert engine.get_request(r2["id"])["queue_position"] == 2
    u = engine.update_request(r2["id"], priority=9)
    assert u["priority"] == 9 and u["queue_position"] == 1
    assert engine.cancel_request(r2["id"])["status"] == "cancelled"
    with pytest.raises(fleetres.InvalidState):
        engine.cancel_request(r2["id"])
    assert [x["id"] for x in engine.list_requests(status="pending")["items"]] == [r["id"]]
    engine.delete_allocation(a["id"])
    done = engine.get_request(r["id"])
    assert done["status"] == "fulfilled" and done["allocation_id"]
    assert engine.get_allocation(done["allocation_id"])["request_id"] == r["id"]
    assert engine.list_allocations(request_id=r["id"])["items"][0]["id"] == done["allocation_id"]


def test_aging_seed_and_preempt_permission(clock):
    def run(**opts):
        c = fleetres.ManualClock(T0)
        with fleetres.Engine(clock=c, aging_ms=1000, seed=42, **opts) as e:
            p = e.create_pool(fleet_id="f", name="x", resource_type="bay", total_capacity=1)
            e.create_allocation(pool_id=p["id"], vehicle_id="v1", quantity=1, start=AT10,
                                end=AT12)
            r = e.create_request(fleet_id="f", vehicle_id="v2", resource_type="bay",
                                 quantity=1, earliest_start=AT10, latest_end=AT12,
                                 priority=2)
            c.advance(seconds=5.5)
            aged = e.get_request(r["id"])["effective_priority"]
            try:
                e.create_request(fleet_id="f", vehicle_id="v3", resource_type="bay",
                                 quantity=1, earliest_start=AT10, latest_end=AT12,
                                 priority=9, preempt=True)
                refused = None
            except fleetres.Forbidden as exc:
                refused = exc.code
            return p["id"], r["id"], aged, refused

    first, second = run(), run(may_preempt=False)
    assert first[:3] == second[:3]  # a fixed seed and clock make the same ids
    assert first[2] == 2 + 5  # aging: one step per 1000 ms waited
    assert first[3] is None and second[3] == "forbidden"


def test_resolve_by_reschedule(engine, pool):
    a = book(engine, pool, "bus-1", priority=1)
    book(engine, pool, "bus-2", priority=5)
    cid = engine.update_pool(pool["id"], capacity_schedule=[
        {"start": AT10, "end": "2030-01-01T11:00:00Z", "capacity": 1}])["conflicts_detected"][0]
    done = engine.resolve_conflict(cid, "reschedule", max_delay_seconds=4 * 3600)
    assert done["resolution"]["actions"][0]["action"] == "rescheduled"
    assert engine.get_allocation(a["id"])["start"] == "2030-01-01T11:00:00.000Z"


# -- conflicts -----------------------------------------------------------------------

def test_conflicts_detect_list_resolve(engine, pool):
    a = book(engine, pool, "bus-1", priority=1)
    b = book(engine, pool, "bus-2", priority=5)
    p = engine.update_pool(pool["id"], total_capacity=1)
    assert len(p["conflicts_detected"]) == 1
    cid = p["conflicts_detected"][0]
    c = engine.get_conflict(cid)
    assert c["type"] == "over_capacity" and c["status"] == "open" and c["excess"] == 1
    assert sorted(c["allocation_ids"]) == sorted([a["id"], b["id"]])
    assert [x["id"] for x in engine.list_conflicts(type="over_capacity",
                                                   status="open")["items"]] == [cid]
    seq = last_seq(engine)
    dry = engine.resolve_conflict(cid, "preempt", dry_run=True)
    assert dry["resolution"]["actions"][0]["allocation_id"] == a["id"]
    assert engine.get_conflict(cid)["status"] == "open" and last_seq(engine) == seq
    done = engine.resolve_conflict(cid, "preempt", note="lowest priority goes")
    assert done["status"] == "resolved" and done["resolution"]["strategy"] == "preempt"
    assert engine.get_allocation(a["id"])["status"] == "preempted"
    with pytest.raises(fleetres.InvalidState):
        engine.resolve_conflict(cid, "preempt")
    with pytest.raises(fleetres.InvalidRequest) as exc:
        engine.resolve_conflict(cid, "shout")
    assert exc.value.details["field"] == "strategy"


def test_manual_conflict_and_unresolvable(engine, pool):
    a = book(engine, pool, "bus-1")
    m = engine.create_conflict(pool["id"], "bay 3 cable damaged", AT10, AT12,
                               allocation_ids=[a["id"]])
    assert m["type"] == "manual" and m["allocation_ids"] == [a["id"]]
    assert engine.list_conflicts(type="manual")["items"][0]["id"] == m["id"]
    with pytest.raises(fleetres.UnknownReference):
        engine.create_conflict(pool["id"], "x", AT10, AT12,
                               allocation_ids=["01900000-0000-7000-8000-00000000dead"])
    r = engine.resolve_conflict(m["id"], "manual", note="cable replaced")
    assert r["status"] == "resolved" and r["resolution"]["note"] == "cable replaced"
    # reassign with no other pool cannot clear an over-capacity conflict
    book(engine, pool, "bus-2", quantity=1, start="2030-01-01T13:00:00Z",
         end="2030-01-01T14:00:00Z")
    cid = engine.update_pool(pool["id"], total_capacity=0.5)["conflicts_detected"][0]
    with pytest.raises(fleetres.Unresolvable):
        engine.resolve_conflict(cid, "reassign")


# -- events ------------------------------------------------------------------------

def test_events(engine, pool):
    book(engine, pool, "bus-1")
    engine.create_pool(fleet_id="other", name="x", resource_type="bay", total_capacity=1)
    page = engine.list_events(after=0, limit=2)
    assert [e["type"] for e in page["items"]] == ["pool.created", "allocation.created"]
    assert page["items"][0]["seq"] == 1 and page["next_after"] == 2
    assert page["items"][1]["data"]["vehicle_id"] == "bus-1"
    assert [e["fleet_id"] for e in engine.list_events(fleet_id="other")["items"]] == ["other"]
    assert engine.list_events(after=99) == {"items": [], "next_after": None}


# -- utilization ---------------------------------------------------------------------

def test_samples_and_utilization(engine, pool):
    book(engine, pool, "bus-1", quantity=1)
    s = engine.create_sample(pool_id=pool["id"], used=0.5, timestamp=AT10, source="meter")
    assert s["used"] == 0.5 and s["capacity"] == 2 and s["utilization"] == 0.25
    batch = engine.create_samples([{"pool_id": pool["id"], "used": 1,
                                    "timestamp": "2030-01-01T11:00:00Z"},
                                   {"pool_id": pool["id"], "used": 2}])
    assert len(batch) == 2
    with pytest.raises(fleetres.UnknownReference) as exc:
        engine.create_samples([{"pool_id": pool["id"], "used": 1},
                               {"pool_id": "01900000-0000-7000-8000-00000000dead", "used": 1}])
    assert exc.value.details["index"] == 1
    assert len(engine.list_samples(pool_id=pool["id"])["items"]) == 3
    assert len(engine.list_samples(from_=AT10, to=AT12)["items"]) == 2
    u = engine.utilization(pool["id"], from_=AT10, to="2030-01-01T14:00:00Z",
                           bucket_seconds=7200)
    assert u["bucket_seconds"] == 7200 and len(u["series"]) == 2
    assert u["series"][0] == {"start": "2030-01-01T10:00:00.000Z", "capacity": 2,
                              "booked_avg": 1, "booked_peak": 1, "measured_avg": 0.75,
                              "utilization": 0.5, "efficiency": 0.75}
    assert u["series"][1]["measured_avg"] is None and u["series"][1]["efficiency"] is None
    assert u["summary"]["booked_avg"] == 0.5
    assert engine.booked_series(pool["id"], AT10, "2030-01-01T14:00:00Z", 7200)[0] == {
        "start": "2030-01-01T10:00:00.000Z", "end": "2030-01-01T12:00:00.000Z",
        "capacity_avg": 2, "booked_avg": 1, "booked_peak": 1}
    with pytest.raises(fleetres.InvalidRequest):
        engine.utilization(pool["id"], from_=AT10, to=AT12, bucket_seconds=0)
    with pytest.raises(fleetres.NotFound):
        engine.utilization("01900000-0000-7000-8000-00000000dead", from_=AT10, to=AT12)


# -- plans ---------------------------------------------------------------------------

def test_plan_lifecycle(engine, pool, clock):
    demands = [{"ref": "a", "resource_type": "charging_bay", "quantity": 1,
                "duration_seconds": 3600, "earliest_start": AT10, "priority": 3},
               {"ref": "b", "resource_type": "charging_bay", "quantity": 2,
                "duration_seconds": 3600, "earliest_start": AT10, "latest_end": AT12}]
    plan = engine.create_plan(fleet_id="depot", name="night", horizon_start=AT10,
                              horizon_hours=4, bucket_seconds=3600, demands=demands,
                              time_budget_ms=100)
    assert plan["status"] == "draft" and plan["score"]["placed"] == 2
    assert {x["ref"] for x in plan["assignments"]} == {"a", "b"}
    assert engine.get_plan(plan["id"]) == plan
    plan2 = engine.update_plan(plan["id"], capacity_changes=[
        {"pool_id": pool["id"], "start": AT10, "end": AT12, "delta": -1}])
    assert plan2["version"] == 2 and plan2["capacity_changes"][0]["delta"] == -1
    assert [p["id"] for p in engine.list_plans(status="draft")["items"]] == [plan["id"]]
    engine.update_plan(plan["id"], capacity_changes=[])
    committed = engine.commit_plan(plan["id"])
    assert committed["status"] == "committed"
    assert len(engine.list_allocations(plan_id=plan["id"])["items"]) == 2
    with pytest.raises(fleetres.InvalidState):
        engine.delete_plan(plan["id"])
    other = engine.create_plan(fleet_id="depot", horizon_start=AT10, horizon_hours=4,
                               demands=demands[:1], include_pending_requests=False)
    assert engine.discard_plan(other["id"])["status"] == "discarded"
    engine.delete_plan(other["id"])
    with pytest.raises(fleetres.NotFound):
        engine.get_plan(other["id"])
    assert engine.plan_accuracy() == {"planned": 0, "used": 0}
    clock.set("2030-01-02T00:00:00Z")
    assert engine.plan_accuracy() == {"planned": 2, "used": 2}


def test_plan_commit_stale(engine, pool):
    plan = engine.create_plan(fleet_id="depot", horizon_start=AT10, horizon_end=AT12,
                              demands=[{"ref": "x", "resource_type": "charging_bay",
                                        "quantity": 2, "latest_end": AT12}])
    assert plan["assignments"][0]["start"] == "2030-01-01T10:00:00.000Z"
    book(engine, pool, "bus-1", quantity=1)
    seq = last_seq(engine)
    with pytest.raises(fleetres.PlanStale) as exc:
        engine.commit_plan(plan["id"])
    assert exc.value.details["stale"] == [{"ref": "x", "pool_id": pool["id"],
                                          "reason": "capacity_exceeded"}]
    assert engine.get_plan(plan["id"])["status"] == "draft" and last_seq(engine) == seq


# -- bad input -----------------------------------------------------------------------

BAD_ALLOCATIONS = [
    ({"quantity": None}, fleetres.InvalidType, "quantity"),
    ({"quantity": -1}, fleetres.InvalidRequest, "quantity"),
    ({"quantity": 0}, fleetres.InvalidRequest, "quantity"),
    ({"quantity": "1.0001"}, fleetres.InvalidRequest, "quantity"),
    ({"quantity": float("inf")}, fleetres.InvalidRequest, "quantity"),
    ({"quantity": [1]}, fleetres.InvalidType, "quantity"),
    ({"quantity": True}, fleetres.InvalidType, "quantity"),
    ({"pool_id": None}, fleetres.InvalidType, "pool_id"),
    ({"pool_id": ""}, fleetres.InvalidRequest, "pool_id"),
    ({"pool_id": "x\x00y"}, fleetres.InvalidRequest, "pool_id"),
    ({"pool_id": "01900000-0000-7000-8000-00000000dead"}, fleetres.UnknownReference, None),
    ({"vehicle_id": 17}, fleetres.InvalidType, "vehicle_id"),
    ({"vehicle_id": "\ud800"}, fleetres.InvalidRequest, "vehicle_id"),
    ({"start": datetime.datetime(2030, 1, 1, 10)}, fleetres.InvalidRequest, "start"),
    ({"start": "yesterday"}, fleetres.InvalidRequest, "start"),
    ({"start": 1.5}, fleetres.InvalidType, "start"),
    ({"end": "2030-01-01T09:00:00Z"}, fleetres.InvalidRequest, None),
    ({"priority": 1001}, fleetres.InvalidRequest, "priority"),
    ({"priority": "high"}, fleetres.InvalidType, "priority"),
    ({"metadata": "x"}, fleetres.InvalidType, "metadata"),
    ({"metadata": {"x": object()}}, fleetres.InvalidRequest, "metadata"),
    ({"status": "sleeping"}, fleetres.InvalidRequest, "status"),
    ({"colour": "red"}, fleetres.InvalidType, "colour"),
]


@pytest.mark.parametrize("change,exc_type,field", BAD_ALLOCATIONS)
def test_bad_allocation_input_raises_and_changes_nothing(engine, pool, change, exc_type, field):
    seq = last_seq(engine)
    fields = dict(pool_id=pool["id"], vehicle_id="bus-1", quantity=1, start=AT10, end=AT12)
    fields.update(change)
    with pytest.raises(exc_type) as exc:
        engine.create_allocation(**fields)
    assert isinstance(exc.value, fleetres.FleetresError)
    if field is not None:
        assert exc.value.details["field"] == field
    assert last_seq(engine) == seq and engine.list_allocations()["items"] == []


def test_bad_input_elsewhere(engine, pool):
    seq = last_seq(engine)
    for call in (lambda: engine.get_pool(None), lambda: engine.get_allocation(17),
                 lambda: engine.update_pool(pool["id"], total_capacity=-2),
                 lambda: engine.update_pool(pool["id"], capacity_schedule="soon"),
                 lambda: engine.update_pool(pool["id"], capacity_schedule=[{"start": AT10}]),
                 lambda: engine.create_pool(fleet_id=None, name="x", resource_type="bay",
                                            total_capacity=1),
                 lambda: engine.create_pool(name="x", resource_type="bay", total_capacity=1),
                 lambda: engine.delete_pool(pool["id"], force="yes"),
                 lambda: engine.delete_pool(pool["id"], bogus=1),
                 lambda: engine.list_allocations(limit=0),
                 lambda: engine.list_allocations(limit=1001),
                 lambda: engine.list_allocations(colour="red"),
                 lambda: engine.list_pools(status="broken"),
                 lambda: engine.list_events(after=-1),
                 lambda: engine.list_events(limit="10"),
                 lambda: engine.create_request(fleet_id="depot", vehicle_id="v",
                                               resource_type="charging_bay", quantity=1),
                 lambda: engine.create_conflict(pool["id"], None, AT10),
                 lambda: engine.create_conflict(pool["id"], "d", AT10, allocation_ids="abc"),
                 lambda: engine.create_plan(fleet_id="depot", horizon_hours="4"),
                 lambda: engine.create_plan(fleet_id="depot", horizon_hours=4,
                                            demands=[{"quantity": 1}]),
                 lambda: engine.create_sample(pool_id=pool["id"], used=-1),
                 lambda: engine.update_allocation(None, quantity=1)):
        with pytest.raises(fleetres.FleetresError) as exc:
            call()
        assert isinstance(exc.value, (fleetres.InvalidRequest, fleetres.NotFound)), exc.value
    with pytest.raises(fleetres.NotFound):
        engine.get_pool("01900000-0000-7000-8000-00000000dead")
    assert last_seq(engine) == seq
    assert engine.get_pool(pool["id"])["version"] == 1


JUNK = [None, "", "x" * 5000, "\x00", "2030-13-45T99:00:00Z", "nan", -1, 0, 2**63, 2**64,
        -2**63, 1.5, float("nan"), float("inf"), -0.0, True, [], {}, [{}], {"a": object()},
        decimal.Decimal("NaN"), decimal.Decimal("1e400"), datetime.datetime(2030, 1, 1),
        datetime.timedelta(days=-1), object(), b"bytes", "\ud800"]


def test_random_junk_never_crashes(engine, pool):
    """Every method with junk in every argument: a FleetresError or a result,
    never another exception (or a crash).  Seeded; the seed is in the message."""
    import random
    seed = int(os.environ.get("FLEETRES_FUZZ_SEED", "20301"))
    rng = random.Random(seed)
    a = book(engine, pool, "bus-1")
    fields = {
        "create_pool": ["fleet_id", "name", "resource_type", "unit", "site", "labels",
                        "status", "total_capacity", "capacity_schedule",
                        "exclusive_per_vehicle"],
        "create_allocation": ["pool_id", "fleet_id", "resource_type", "site", "vehicle_id",
                              "operation_id", "allocation_type", "quantity", "start", "end",
                              "priority", "status", "hold_seconds", "metadata",
                              "overcommit", "if_match", "idempotency_key", "actor"],
        "create_request": ["fleet_id", "vehicle_id", "operation_id", "resource_type",
                           "pool_id", "site", "quantity", "duration_seconds",
                           "earliest_start", "latest_end", "priority", "preempt", "metadata"],
        "create_sample": ["pool_id", "timestamp", "used", "source"],
        "create_plan": ["fleet_id", "name", "horizon_start", "horizon_end", "horizon_hours",
                        "bucket_seconds", "include_pending_requests", "demands",
                        "capacity_changes", "time_budget_ms"],
        "list_allocations": ["limit", "cursor", "fleet_id", "pool_id", "status", "from_",
                             "to", "request_id"],
        "list_conflicts": ["limit", "cursor", "type", "status", "from_", "to"],
    }
    valid = {"pool_id": pool["id"], "fleet_id": "depot", "vehicle_id": "v", "quantity": 1,
             "resource_type": "charging_bay", "name": "n", "total_capacity": 1,
             "start": AT10, "end": AT12, "used": 1, "horizon_hours": 1,
             "duration_seconds": 600}
    for round_ in range(300):
        method = rng.choice(sorted(fields))
        names = rng.sample(fields[method], rng.randint(1, 4))
        kwargs = {n: valid[n] for n in fields[method] if n in valid and rng.random() < 0.7}
        for n in names:
            kwargs[n] = rng.choice(JUNK)
        try:
            getattr(engine, method)(**kwargs)
        except fleetres.FleetresError:
            pass
        except Exception as exc:  # pragma: no cover - the failure report
            pytest.fail("seed %d round %d: %s(%r) raised %r" % (seed, round_, method,
                                                                  kwargs, exc))
    calls = [lambda j: engine.get_pool(j), lambda j: engine.update_allocation(a["id"], end=j),
             lambda j: engine.resolve_conflict(j, j), lambda j: engine.list_events(j, j, j),
             lambda j: engine.utilization(j, j, j, j), lambda j: engine.booked_series(j, j, j),
             lambda j: engine.create_conflict(pool["id"], "d", AT10, j, [j]),
             lambda j: engine.create_allocations([j]), lambda j: engine.delete_pool(j, j),
             lambda j: engine.commit_plan(j), lambda j: fleetres.format_time(j),
             lambda j: fleetres.errcode(j), lambda j: fleetres.format_quantity(j),
             lambda j: engine.iterate(j)]
    for call in calls:
        for junk in JUNK:
            try:
                result = call(junk)
                if hasattr(result, "__next__"):
                    next(result, None)
            except fleetres.FleetresError:
                pass
    # Of all the junk, only None is a valid end (open-ended).
    assert engine.get_allocation(a["id"])["end"] is None


def test_open_errors(tmp_path):
    with pytest.raises(fleetres.InvalidType):
        fleetres.Engine(None)
    with pytest.raises(fleetres.FleetresError):
        fleetres.Engine(str(tmp_path / "missing-dir" / "x.db"))
    with pytest.raises(fleetres.InvalidType):
        fleetres.Engine(clock=42)


def test_clock_that_raises_keeps_last_time():
    times = [1893484800000]

    def clock():
        if not times:
            raise RuntimeError("clock broke")
        return times.pop()

    with pytest.warns(RuntimeWarning):
        with fleetres.Engine(clock=clock) as e:
            assert e.now() == 1893484800000
            assert e.now() == 1893484800000


def test_closed_engine_raises():
    e = fleetres.Engine()
    e.close()
    e.close()
    assert e.closed
    with pytest.raises(fleetres.EngineClosed):
        e.list_pools()


# -- persistence ---------------------------------------------------------------------

def test_sqlite_reopen_restores_state(tmp_path, clock):
    path = tmp_path / "depot.db"
    with fleetres.Engine(path, clock=clock) as e:
        p = e.create_pool(fleet_id="depot", name="Bays", resource_type="bay",
                          total_capacity=1)
        a = e.create_allocation(pool_id=p["id"], vehicle_id="v1", quantity=1, start=AT10,
                                end=AT12)
        r = e.create_request(fleet_id="depot", vehicle_id="v2", resource_type="bay",
                             quantity=1, earliest_start=AT10, latest_end=AT12)
        events = e.list_events(limit=1000)
    with fleetres.Engine(path, clock=clock) as e:
        assert e.get_pool(p["id"])["name"] == "Bays"
        assert e.get_allocation(a["id"]) == a
        assert e.get_request(r["id"])["status"] == "pending"
        assert e.list_events(limit=1000) == events
        with pytest.raises(fleetres.CapacityExceeded):
            e.create_allocation(pool_id=p["id"], vehicle_id="v3", quantity=1, start=AT10,
                                end=AT12)
        e.delete_allocation(a["id"])
        assert e.get_request(r["id"])["status"] == "fulfilled"


# -- threads -------------------------------------------------------------------------

def test_threads_share_one_engine(tmp_path, clock):
    with fleetres.Engine(tmp_path / "t.db", clock=clock) as e:
        p = e.create_pool(fleet_id="depot", name="Bays", resource_type="bay",
                          total_capacity=5)
        booked, refused, errors = [], [], []
        lock = threading.Lock()

        def worker(n):
            try:
                for i in range(10):
                    try:
                        a = e.create_allocation(pool_id=p["id"], vehicle_id="t%d-%d" % (n, i),
                                                quantity=1, start=AT10, end=AT12)
                        with lock:
                            booked.append(a["id"])
                    except fleetres.CapacityExceeded as exc:
                        assert exc.details["free"] == 0
                        with lock:
                            refused.append(n)
                    e.list_allocations(limit=10)
                    e.get_pool(p["id"])
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(booked) == 5 and len(refused) == 35
        assert len(set(booked)) == 5
        assert e.get_pool(p["id"])["total_capacity"] == 5
        live = list(e.iterate("allocations", page_size=3, status="confirmed"))
        assert sorted(x["id"] for x in live) == sorted(booked)


def test_close_waits_for_calls_in_flight(clock):
    e = fleetres.Engine(clock=clock)
    p = e.create_pool(fleet_id="f", name="x", resource_type="bay", total_capacity=1000)
    stop, errors = threading.Event(), []

    def worker():
        try:
            while not stop.is_set():
                try:
                    e.create_allocation(pool_id=p["id"], operation_id="o", quantity=0.001,
                                        start=AT10, end=AT12)
                except fleetres.EngineClosed:
                    return
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    e.close()
    stop.set()
    for t in threads:
        t.join()
    assert errors == []


# -- no leaks ------------------------------------------------------------------------

def test_repeated_calls_do_not_grow_the_c_heap(engine, pool):
    """mallinfo2 (glibc) counts the bytes the C heap has in use: a leak of a
    few dozen bytes per call shows after a few hundred calls.  Skipped when a
    sanitizer replaces malloc (it then reports leaks itself)."""
    import ctypes
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2") or os.environ.get("FLEETRES_SANITIZED"):
        pytest.skip("needs glibc's mallinfo2 and no sanitizer")

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]
    libc.mallinfo2.restype = MallInfo2

    a = book(engine, pool, "bus-1", quantity=1, metadata={"note": "x" * 300})
    cid = engine.update_pool(pool["id"], total_capacity=0.5)["conflicts_detected"][0]
    plan = engine.create_plan(fleet_id="depot", horizon_start=AT10, horizon_hours=2,
                              demands=[{"resource_type": "charging_bay", "quantity": 1,
                                        "duration_seconds": 600}])

    def round_trip(i):
        # Calls that keep nothing in the engine: any growth is garbage.
        engine.get_allocation(a["id"])
        engine.get_pool(pool["id"])
        engine.get_conflict(cid)
        engine.get_plan(plan["id"])
        engine.list_allocations(limit=5)
        engine.list_conflicts(limit=5)
        engine.list_plans(limit=5)
        engine.list_events(after=0, limit=5)
        engine.resolve_conflict(cid, "preempt", dry_run=True)
        engine.utilization(pool["id"], from_=AT10, to=AT12, bucket_seconds=600)
        with pytest.raises(fleetres.CapacityExceeded):
            book(engine, pool, "x%d" % i, quantity=3)
        with pytest.raises(fleetres.InvalidRequest):
            book(engine, pool, "y%d" % i, quantity=1, end=AT10)
        with pytest.raises(fleetres.NotFound):
            engine.get_conflict("01900000-0000-7000-8000-00000000dead")

    for i in range(50):  # warm up caches and Python's arenas
        round_trip(i)
    before = libc.mallinfo2().uordblks
    for i in range(50, 350):
        round_trip(i)
    grown = libc.mallinfo2().uordblks - before
    # One leaked JSON text or list per round trip would be >= 300 * 500 bytes.
    assert grown < 64 * 1024, grown


# -- loading -----------------------------------------------------------------------

def _import_in_subprocess(env_lib):
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    env["FLEETRES_LIB"] = env_lib
    return subprocess.run([sys.executable, "-c", "import fleetres; print(fleetres.version())"],
                          env=env, capture_output=True, text=True, timeout=60)


def test_library_found_through_fleetres_lib_directory():
    lib_dir = os.path.dirname(os.path.abspath(os.environ["FLEETRES_LIB"]))
    done = _import_in_subprocess(lib_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == fleetres.version()


def test_a_wrong_fleetres_lib_fails_at_import(tmp_path):
    done = _import_in_subprocess(str(tmp_path / "nothing.so"))
    assert done.returncode != 0 and "libfleetres not found" in done.stderr


# -- README --------------------------------------------------------------------------

def test_readme_python_example(tmp_path, monkeypatch, capsys):
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README.md has no python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "booked" in out and "capacity_exceeded" in out
