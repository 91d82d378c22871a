/*
 * test_plans.c — plans (SPEC §7) through the public API: planning against
 * the ledger (assignments, unplaced reasons, shortfall, forecast, what-if
 * capacity), re-planning a draft, commit (all or nothing, plan_stale with
 * the list), discard/delete rules, validation, events, idempotency, the
 * accuracy figure, and SQLite reopen.
 *
 * The planner behind the engine may be replaced by a stronger one, so the
 * assertions here are outcomes every correct planner gives on these
 * obvious instances (what fits at its earliest start is placed there; the
 * higher priority wins a single slot; a sufficient shortfall places the
 * rest on a re-plan), never the quirks of one implementation.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fleetres.h"
#include "fleetres_store.h"

#include "engine_harness.h"

TestSuite(plans, .init = setup_mem, .fini = teardown);
TestSuite(plans_sqlite, .init = setup_sqlite, .fini = teardown);

static fr_plan_demand demand(const char *ref, int64_t qty_milli, int64_t dur_ms, int64_t earliest,
                             int64_t latest_end, int prio)
{
    fr_plan_demand d;
    memset(&d, 0, sizeof d);
    d.ref = (char *)ref;
    d.resource_type = TYPE;
    d.quantity_milli = qty_milli;
    d.duration_ms = dur_ms;
    d.earliest_start_ms = earliest;
    d.latest_end_ms = latest_end;
    d.priority = prio;
    return d;
}

/* A plan of FLEET over [T0, T0 + hours) with the given demands. */
static void plan_params(fr_plan_params *p, int64_t hours, const fr_plan_demand *d, size_t n)
{
    memset(p, 0, sizeof *p);
    p->set = FR_PLAN_F_FLEET_ID | FR_PLAN_F_HORIZON_START | FR_PLAN_F_HORIZON_END |
             FR_PLAN_F_DEMANDS;
    p->fleet_id = FLEET;
    p->horizon_start_ms = T0;
    p->horizon_end_ms = T0 + hours * HOUR;
    p->demands = d;
    p->demands_len = n;
}

static fr_plan mk_plan(const fr_plan_params *p)
{
    fr_plan out;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_plan_create(g_e, NULL, p, &out, &res);
    cr_assert_eq(rc, FR_OK, "plan create: %d %s (%s)", rc, res.message, res.field);
    fr_result_clear(&res);
    return out;
}

static const fr_plan_assignment_info *assignment_of(const fr_plan *p, const char *ref)
{
    for (size_t i = 0; i < p->assignments_len; i++) {
        if (p->assignments[i].ref != NULL && strcmp(p->assignments[i].ref, ref) == 0) {
            return &p->assignments[i];
        }
    }
    return NULL;
}

static const fr_plan_miss *unplaced_of(const fr_plan *p, const char *ref)
{
    for (size_t i = 0; i < p->unplaced_len; i++) {
        if (p->unplaced[i].ref != NULL && strcmp(p->unplaced[i].ref, ref) == 0) {
            return &p->unplaced[i];
        }
    }
    return NULL;
}

static size_t count_plans(void)
{
    fr_list_query q;
    fr_list_query_init(&q);
    fr_plan *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_plan_list(g_e, &q, &items, &n, cursor), FR_OK);
    fr_plan_free_array(items, n);
    return n;
}

static int commit(const char *id, fr_plan *out, fr_plan_miss **stale, size_t *nstale,
                  fr_result *res)
{
    return fr_plan_commit(g_e, NULL, id, out, stale, nstale, res);
}

/* ---- planning ---------------------------------------------------------------------- */

Test(plans, what_fits_is_placed_at_its_earliest_start_and_nothing_is_booked)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    fr_plan_demand d[2] = {demand("d1", U, HOUR, FR_TIME_NULL, FR_TIME_INF, 0),
                           demand("d2", U, HOUR, T0 + HOUR, FR_TIME_INF, 5)};
    fr_plan_params p;
    plan_params(&p, 4, d, 2);
    fr_plan plan = mk_plan(&p);
    cr_assert_eq(plan.status, FR_PLAN_DRAFT);
    cr_assert_eq(plan.version, 1);
    cr_assert_eq(plan.assignments_len, 2);
    cr_assert_eq(plan.unplaced_len, 0);
    cr_assert_eq(plan.shortfall_len, 0);
    const fr_plan_assignment_info *a1 = assignment_of(&plan, "d1");
    const fr_plan_assignment_info *a2 = assignment_of(&plan, "d2");
    cr_assert(a1 != NULL && a2 != NULL);
    cr_assert_eq(a1->start_ms, T0, "earliest_start defaults to the horizon start");
    cr_assert_eq(a1->end_ms, T0 + HOUR);
    cr_assert_eq(a2->start_ms, T0 + HOUR);
    cr_assert_str_eq(a1->pool_id, pool);
    cr_assert_eq(a2->priority, 5);
    cr_assert_str_eq(a1->allocation_id, "");
    cr_assert_eq(plan.placed_priority, 1 + 6);
    cr_assert_eq(plan.total_delay_ms, 0);
    cr_assert_eq(plan.demands[0].earliest_start_ms, T0, "stored with the default applied");
    /* Forecast: the pool, 4 hourly buckets, planned load where placed. */
    cr_assert_eq(plan.forecast_len, 1);
    cr_assert_str_eq(plan.forecast[0].pool_id, pool);
    cr_assert_eq(plan.forecast[0].series_len, 4);
    cr_assert_eq(plan.forecast[0].series[0].capacity_milli, 2 * U);
    cr_assert_eq(plan.forecast[0].series[0].planned_milli, U);
    cr_assert_eq(plan.forecast[0].series[1].planned_milli, U);
    cr_assert_eq(plan.forecast[0].series[2].planned_milli, 0);
    cr_assert_eq(plan.forecast[0].series[3].end_ms, T0 + 4 * HOUR);
    cr_assert_eq(count_allocations(), 0, "a draft books nothing");

    fr_plan got;
    cr_assert_eq(fr_plan_get(g_e, plan.id, &got), FR_OK);
    char *j1 = NULL, *j2 = NULL;
    cr_assert_eq(fr_plan_to_json(&plan, &j1), FR_OK);
    cr_assert_eq(fr_plan_to_json(&got, &j2), FR_OK);
    cr_assert_str_eq(j1, j2);
    cr_assert_not_null(strstr(j1, "\"utilization\":0.5"), "%s", j1);
    cr_assert_not_null(strstr(j1, "\"score\":{\"placed\":2,\"unplaced\":0"), "%s", j1);
    fr_free(j1);
    fr_free(j2);
    fr_plan_clear(&got);
    fr_plan_clear(&plan);
}

Test(plans, existing_bookings_are_fixed_and_show_in_the_forecast)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0, T0 + 2 * HOUR, NULL);
    fr_plan_demand d[1] = {demand("d1", U, HOUR, T0, FR_TIME_INF, 0)};
    fr_plan_params p;
    plan_params(&p, 4, d, 1);
    fr_plan plan = mk_plan(&p);
    const fr_plan_assignment_info *a = assignment_of(&plan, "d1");
    cr_assert_not_null(a);
    cr_assert_eq(a->start_ms, T0 + 2 * HOUR, "the first free hour");
    cr_assert_eq(plan.total_delay_ms, 2 * HOUR);
    cr_assert_eq(plan.forecast[0].series[0].booked_milli, U);
    cr_assert_eq(plan.forecast[0].series[2].booked_milli, 0);
    cr_assert_eq(plan.forecast[0].series[2].planned_milli, U);
    fr_plan_clear(&plan);
}

Test(plans, higher_priority_wins_the_only_slot_and_shortfall_suffices)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    fr_plan_demand d[2] = {demand("low", U, HOUR, T0, T0 + HOUR, 0),
                           demand("high", U, HOUR, T0, T0 + HOUR, 10)};
    fr_plan_params p;
    plan_params(&p, 2, d, 2);
    fr_plan plan = mk_plan(&p);
    cr_assert_eq(plan.assignments_len, 1);
    cr_assert_not_null(assignment_of(&plan, "high"));
    cr_assert_eq(plan.placed_priority, 11);
    const fr_plan_miss *m = unplaced_of(&plan, "low");
    cr_assert_not_null(m);
    cr_assert_str_eq(m->reason, "insufficient_capacity");
    cr_assert_geq(plan.shortfall_len, 1);
    cr_assert_str_eq(plan.shortfall[0].pool_id, pool);
    cr_assert_gt(plan.shortfall[0].extra_milli, 0);

    /* Adding the shortfall as what-if capacity places everything. */
    fr_plan_capacity_change ch[8];
    cr_assert_leq(plan.shortfall_len, 8);
    for (size_t i = 0; i < plan.shortfall_len; i++) {
        memcpy(ch[i].pool_id, plan.shortfall[i].pool_id, FR_ID_SIZE);
        ch[i].start_ms = plan.shortfall[i].start_ms;
        ch[i].end_ms = plan.shortfall[i].end_ms;
        ch[i].delta_milli = plan.shortfall[i].extra_milli;
    }
    fr_plan_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_PLAN_F_CAPACITY_CHANGES;
    u.capacity_changes = ch;
    u.capacity_changes_len = plan.shortfall_len;
    fr_plan again;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_plan_update(g_e, NULL, plan.id, &u, &again, &res), FR_OK, "%s", res.message);
    cr_assert_eq(again.unplaced_len, 0);
    cr_assert_eq(again.assignments_len, 2);
    cr_assert_eq(again.version, 2);
    cr_assert_eq(again.capacity_changes_len, plan.shortfall_len);
    fr_plan_clear(&again);
    fr_plan_clear(&plan);
}

Test(plans, unplaced_reasons_for_unknown_types_and_windows_outside_the_horizon)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    fr_plan_demand d[2] = {demand("ghost", U, HOUR, T0, FR_TIME_INF, 0),
                           demand("later", U, HOUR, T0 + 10 * HOUR, FR_TIME_INF, 0)};
    d[0].resource_type = "hydrogen";
    fr_plan_params p;
    plan_params(&p, 4, d, 2);
    fr_plan plan = mk_plan(&p);
    cr_assert_eq(plan.assignments_len, 0);
    cr_assert_str_eq(unplaced_of(&plan, "ghost")->reason, "no_pool_of_type");
    cr_assert_str_eq(unplaced_of(&plan, "later")->reason, "window_outside_horizon");
    cr_assert_eq(plan.shortfall_len, 0, "capacity cannot help either");
    fr_plan_clear(&plan);
}

Test(plans, what_if_capacity_changes_count_in_plan_and_forecast)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    fr_plan_demand d[2] = {demand("a", U, HOUR, T0, T0 + HOUR, 0),
                           demand("b", U, HOUR, T0, T0 + HOUR, 0)};
    fr_plan_capacity_change ch = {"", T0, T0 + HOUR, U};
    memcpy(ch.pool_id, pool, FR_ID_SIZE);
    fr_plan_params p;
    plan_params(&p, 2, d, 2);
    p.set |= FR_PLAN_F_CAPACITY_CHANGES;
    p.capacity_changes = &ch;
    p.capacity_changes_len = 1;
    fr_plan plan = mk_plan(&p);
    cr_assert_eq(plan.assignments_len, 2);
    cr_assert_eq(plan.forecast[0].series[0].capacity_milli, 2 * U);
    cr_assert_eq(plan.forecast[0].series[1].capacity_milli, U);
    fr_pool real = get_pool(pool);
    cr_assert_eq(real.total_capacity_milli, U, "what-if changes nothing real");
    fr_pool_clear(&real);
    fr_plan_clear(&plan);
}

Test(plans, the_same_state_and_inputs_give_the_same_plan)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 3 * HOUR, NULL);
    fr_plan_demand d[4] = {demand("a", 2 * U, HOUR, T0, FR_TIME_INF, 1),
                           demand("b", U, 2 * HOUR, T0, FR_TIME_INF, 3),
                           demand("c", U, HOUR, T0 + HOUR, T0 + 5 * HOUR, 0),
                           demand("d", 2 * U, HOUR, T0, FR_TIME_INF, 2)};
    fr_plan_params p;
    plan_params(&p, 8, d, 4);
    fr_plan x = mk_plan(&p);
    fr_plan y = mk_plan(&p);
    cr_assert_eq(x.assignments_len, y.assignments_len);
    for (size_t i = 0; i < x.assignments_len; i++) {
        cr_assert_str_eq(x.assignments[i].ref, y.assignments[i].ref);
        cr_assert_eq(x.assignments[i].start_ms, y.assignments[i].start_ms);
        cr_assert_str_eq(x.assignments[i].pool_id, y.assignments[i].pool_id);
    }
    cr_assert_eq(x.placed_priority, y.placed_priority);
    cr_assert_eq(x.total_delay_ms, y.total_delay_ms);
    fr_plan_clear(&x);
    fr_plan_clear(&y);
}

Test(plans, pending_requests_are_planned_and_a_stale_one_blocks_the_commit)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    fr_request_params rp;
    req_params(&rp, "v9", 2 * U, HOUR);
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_PENDING, "needs 2 of 1");
    /* What if the pool had one more unit?  The request gets a slot. */
    fr_plan_capacity_change ch = {"", FR_TIME_NULL, FR_TIME_INF, U};
    memcpy(ch.pool_id, pool, FR_ID_SIZE);
    fr_plan_params p;
    plan_params(&p, 4, NULL, 0);
    p.set |= FR_PLAN_F_CAPACITY_CHANGES;
    p.capacity_changes = &ch;
    p.capacity_changes_len = 1;
    fr_plan plan = mk_plan(&p);
    cr_assert_eq(plan.assignments_len, 1);
    cr_assert_str_eq(plan.assignments[0].request_id, r.id);
    cr_assert_null(plan.assignments[0].ref);

    /* Without include_pending_requests it is not considered. */
    fr_plan_params q;
    plan_params(&q, 4, NULL, 0);
    q.set |= FR_PLAN_F_INCLUDE_PENDING;
    q.include_pending_requests = 0;
    fr_plan none = mk_plan(&q);
    cr_assert_eq(none.assignments_len + none.unplaced_len, 0);
    fr_plan_clear(&none);

    /* The real pool still has 1: committing finds the assignment stale. */
    fr_plan_miss *stale = NULL;
    size_t nstale = 0;
    fr_result res;
    fr_result_init(&res);
    int64_t seq0 = last_seq();
    cr_assert_eq(commit(plan.id, NULL, &stale, &nstale, &res), FR_EPLAN_STALE);
    cr_assert_eq(nstale, 1);
    cr_assert_str_eq(stale[0].request_id, r.id);
    cr_assert_str_eq(stale[0].reason, "capacity_exceeded");
    fr_plan_miss_free_array(stale, nstale);
    fr_result_clear(&res);
    cr_assert_eq(last_seq(), seq0, "a refused commit changes nothing");

    /* Raising capacity dispatches the request: now it is not pending. */
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(pool, 2 * U, &res), FR_OK);
    fr_result_clear(&res);
    fr_request now = get_req(r.id);
    cr_assert_eq(now.status, FR_REQ_FULFILLED);
    fr_request_clear(&now);
    fr_result_init(&res);
    stale = NULL;
    cr_assert_eq(commit(plan.id, NULL, &stale, &nstale, &res), FR_EPLAN_STALE);
    cr_assert_str_eq(stale[0].reason, "request_not_pending");
    fr_plan_miss_free_array(stale, nstale);
    fr_result_clear(&res);
    fr_request_clear(&r);
    fr_plan_clear(&plan);
}

/* ---- commit ------------------------------------------------------------------------ */

Test(plans, commit_books_every_assignment_in_one_transaction)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    fr_plan_demand d[2] = {demand("d1", U, HOUR, T0 + HOUR, FR_TIME_INF, 3),
                           demand("d2", 2 * U, HOUR, T0 + HOUR, FR_TIME_INF, 0)};
    d[0].vehicle_id = "bus-1";
    fr_plan_params p;
    plan_params(&p, 6, d, 2);
    fr_plan plan = mk_plan(&p);
    cr_assert_eq(plan.assignments_len, 2);
    int64_t seq0 = last_seq();

    g_now = T0 + 5 * MIN;
    fr_plan out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(commit(plan.id, &out, NULL, NULL, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.status, FR_PLAN_COMMITTED);
    cr_assert_eq(out.committed_at_ms, T0 + 5 * MIN);
    cr_assert_eq(out.version, 2);
    cr_assert_eq(count_allocations(), 2);
    for (size_t i = 0; i < out.assignments_len; i++) {
        const fr_plan_assignment_info *a = &out.assignments[i];
        fr_allocation al = get_alloc(a->allocation_id);
        cr_assert_eq(al.status, FR_ALLOC_CONFIRMED);
        cr_assert_str_eq(al.plan_id, plan.id);
        cr_assert_str_eq(al.pool_id, a->pool_id);
        cr_assert_eq(al.start_ms, a->start_ms);
        cr_assert_eq(al.end_ms, a->end_ms);
        cr_assert_eq(al.quantity_milli, a->quantity_milli);
        cr_assert_str_eq(al.operation_id, a->ref, "a demand's ref names the operation");
        if (strcmp(a->ref, "d1") == 0) {
            cr_assert_str_eq(al.vehicle_id, "bus-1");
            cr_assert_eq(al.priority, 3);
        }
        fr_allocation_clear(&al);
    }
    /* Events: the bookings and plan.committed, in one transaction. */
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(ev[0].type, "allocation.created");
    cr_assert_str_eq(ev[1].type, "allocation.created");
    cr_assert_str_eq(ev[2].type, "plan.committed");
    cr_assert_str_eq(ev[2].entity_id, plan.id);
    cr_assert_not_null(strstr(ev[2].data_json, "\"status\":\"committed\""));
    fr_event_free_array(ev, n);
    fr_result_clear(&res);

    /* Committed is final: no second commit, no discard, no delete, no re-plan. */
    fr_result_init(&res);
    cr_assert_eq(commit(plan.id, NULL, NULL, NULL, &res), FR_ESTATE);
    cr_assert_eq(fr_plan_discard(g_e, NULL, plan.id, NULL, &res), FR_ESTATE);
    cr_assert_eq(fr_plan_delete(g_e, NULL, plan.id, &res), FR_ESTATE);
    fr_plan_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_PLAN_F_NAME;
    u.name = "late";
    cr_assert_eq(fr_plan_update(g_e, NULL, plan.id, &u, NULL, &res), FR_ESTATE);
    fr_result_clear(&res);
    cr_assert_eq(count_allocations(), 2);
    fr_plan_clear(&out);
    fr_plan_clear(&plan);
}

Test(plans, stale_commit_lists_what_no_longer_fits_and_leaves_state_unchanged)
{
    char pool[FR_ID_SIZE], excl[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    fr_pool_params pp;
    pool_params(&pp, FLEET, "Exclusive", "parking", 5 * U);
    pp.set |= FR_POOL_F_EXCLUSIVE;
    pp.exclusive_per_vehicle = 1;
    mk_pool_p(excl, &pp);
    fr_plan_demand d[3] = {demand("big", 2 * U, HOUR, T0, T0 + HOUR, 0),
                           demand("fine", U, HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR, 0),
                           demand("park", U, HOUR, T0, T0 + HOUR, 0)};
    d[2].resource_type = "parking";
    d[2].vehicle_id = "bus-2";
    fr_plan_params p;
    plan_params(&p, 4, d, 3);
    fr_plan plan = mk_plan(&p);
    cr_assert_eq(plan.assignments_len, 3);

    /* Meanwhile: one unit booked at T0 on the bay, bus-2 parked at T0. */
    must_book(pool, "v1", U, T0, T0 + HOUR, NULL);
    must_book(excl, "bus-2", U, T0, T0 + 30 * MIN, NULL);
    size_t allocs0 = count_allocations();
    int64_t seq0 = last_seq();

    fr_plan_miss *stale = NULL;
    size_t nstale = 0;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(commit(plan.id, NULL, &stale, &nstale, &res), FR_EPLAN_STALE);
    cr_assert_eq(res.status, FR_EPLAN_STALE);
    cr_assert_eq(nstale, 2);
    int saw_big = 0, saw_park = 0;
    for (size_t i = 0; i < nstale; i++) {
        if (strcmp(stale[i].ref, "big") == 0) {
            saw_big = 1;
            cr_assert_str_eq(stale[i].reason, "capacity_exceeded");
            cr_assert_str_eq(stale[i].pool_id, pool);
        } else if (strcmp(stale[i].ref, "park") == 0) {
            saw_park = 1;
            cr_assert_str_eq(stale[i].reason, "double_booking");
        }
    }
    cr_assert(saw_big && saw_park, "\"fine\" still fits and is not listed");
    fr_plan_miss_free_array(stale, nstale);
    fr_result_clear(&res);
    cr_assert_eq(count_allocations(), allocs0, "nothing booked, not even \"fine\"");
    cr_assert_eq(last_seq(), seq0, "no event");
    fr_plan again;
    cr_assert_eq(fr_plan_get(g_e, plan.id, &again), FR_OK);
    cr_assert_eq(again.status, FR_PLAN_DRAFT);
    cr_assert_eq(again.version, 1);
    cr_assert_str_eq(again.assignments[0].allocation_id, "");
    fr_plan_clear(&again);

    /* A re-plan against today's ledger commits. */
    fr_plan_params u;
    memset(&u, 0, sizeof u);
    fr_plan fresh;
    fr_result_init(&res);
    cr_assert_eq(fr_plan_update(g_e, NULL, plan.id, &u, &fresh, &res), FR_OK);
    cr_assert_eq(commit(plan.id, NULL, NULL, NULL, &res), FR_OK, "%s", res.message);
    cr_assert_eq(count_allocations(), allocs0 + fresh.assignments_len);
    fr_result_clear(&res);
    fr_plan_clear(&fresh);
    fr_plan_clear(&plan);
}

/* ---- re-plan, discard, delete ------------------------------------------------------- */

Test(plans, replan_discard_and_delete_follow_the_status_rules)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    fr_plan_demand d[1] = {demand("d1", U, HOUR, T0, FR_TIME_INF, 0)};
    fr_plan_params p;
    plan_params(&p, 4, d, 1);
    p.set |= FR_PLAN_F_NAME;
    p.name = "first";
    fr_plan plan = mk_plan(&p);
    int64_t seq0 = last_seq();

    /* Re-plan with a second demand and a new horizon length. */
    fr_plan_demand d2[2] = {demand("d1", U, HOUR, T0, FR_TIME_INF, 0),
                            demand("d2", U, HOUR, T0, FR_TIME_INF, 0)};
    fr_plan_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_PLAN_F_DEMANDS | FR_PLAN_F_HORIZON_LENGTH;
    u.demands = d2;
    u.demands_len = 2;
    u.horizon_ms = 8 * HOUR;
    fr_plan out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_plan_update(g_e, NULL, plan.id, &u, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.version, 2);
    cr_assert_eq(out.horizon_end_ms, T0 + 8 * HOUR);
    cr_assert_eq(out.assignments_len, 2);
    cr_assert_str_eq(out.name, "first", "absent fields are unchanged");
    /* One bay, two equal hours from T0: back to back, in either order. */
    cr_assert_eq(assignment_of(&out, "d1")->start_ms + assignment_of(&out, "d2")->start_ms,
                 2 * T0 + HOUR);
    fr_plan_clear(&out);

    /* Immutable fleet, If-Match. */
    u.set = FR_PLAN_F_FLEET_ID;
    u.fleet_id = "other-fleet";
    cr_assert_eq(fr_plan_update(g_e, NULL, plan.id, &u, NULL, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "fleet_id");
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.if_match_version = 1;
    cr_assert_eq(fr_plan_discard(g_e, &ctx, plan.id, NULL, &res), FR_EVERSION);
    ctx.if_match_version = 2;
    cr_assert_eq(fr_plan_discard(g_e, &ctx, plan.id, &out, &res), FR_OK);
    cr_assert_eq(out.status, FR_PLAN_DISCARDED);
    fr_plan_clear(&out);
    u.set = 0;
    cr_assert_eq(fr_plan_update(g_e, NULL, plan.id, &u, NULL, &res), FR_ESTATE);
    cr_assert_eq(commit(plan.id, NULL, NULL, NULL, &res), FR_ESTATE);
    cr_assert_eq(fr_plan_delete(g_e, NULL, plan.id, &res), FR_OK);
    cr_assert_eq(fr_plan_get(g_e, plan.id, &out), FR_ENOTFOUND);
    cr_assert_eq(fr_plan_delete(g_e, NULL, plan.id, &res), FR_ENOTFOUND);
    cr_assert_eq(count_plans(), 0);
    fr_result_clear(&res);

    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(ev[0].type, "plan.updated");
    cr_assert_str_eq(ev[1].type, "plan.discarded");
    cr_assert_str_eq(ev[2].type, "plan.deleted");
    fr_event_free_array(ev, n);

    /* A draft can be deleted directly. */
    fr_plan other = mk_plan(&p);
    cr_assert_eq(fr_plan_delete(g_e, NULL, other.id, NULL), FR_OK);
    cr_assert_eq(count_plans(), 0);
    fr_plan_clear(&other);
    fr_plan_clear(&plan);
}

Test(plans, list_filters_by_fleet_and_status)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    fr_plan_params p;
    plan_params(&p, 2, NULL, 0);
    fr_plan a = mk_plan(&p);
    fr_plan b = mk_plan(&p);
    p.fleet_id = "fleet-2";
    fr_plan c = mk_plan(&p);
    cr_assert_eq(fr_plan_discard(g_e, NULL, b.id, NULL, NULL), FR_OK);
    fr_list_query q;
    fr_list_query_init(&q);
    q.fleet_id = FLEET;
    fr_plan *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_plan_list(g_e, &q, &items, &n, cursor), FR_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(items[0].id, a.id, "created_at then id");
    fr_plan_free_array(items, n);
    q.status = FR_PLAN_DISCARDED;
    cr_assert_eq(fr_plan_list(g_e, &q, &items, &n, cursor), FR_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(items[0].id, b.id);
    fr_plan_free_array(items, n);
    q.fleet_id = NULL;
    q.status = -1;
    q.limit = 1;
    cr_assert_eq(fr_plan_list(g_e, &q, &items, &n, cursor), FR_OK);
    cr_assert_eq(n, 1);
    cr_assert_neq(cursor[0], 0, "more follow");
    fr_plan_free_array(items, n);
    fr_plan_clear(&a);
    fr_plan_clear(&b);
    fr_plan_clear(&c);
}

/* ---- validation ---------------------------------------------------------------------- */

static void expect_refused(const fr_plan_params *p, int status, const char *field)
{
    fr_result res;
    fr_result_init(&res);
    fr_plan out;
    int rc = fr_plan_create(g_e, NULL, p, &out, &res);
    cr_assert_eq(rc, status, "%s: %d %s", field, rc, res.message);
    cr_assert_str_eq(res.field, field);
    fr_result_clear(&res);
}

Test(plans, bad_inputs_are_refused_with_the_field_and_change_nothing)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    int64_t seq0 = last_seq();
    fr_plan_demand d[2] = {demand("a", U, HOUR, T0, FR_TIME_INF, 0),
                           demand("b", U, HOUR, T0, FR_TIME_INF, 0)};
    fr_plan_params p;

    plan_params(&p, 2, d, 1);
    p.set &= ~FR_PLAN_F_FLEET_ID;
    expect_refused(&p, FR_EINVAL, "fleet_id");
    plan_params(&p, 2, d, 1);
    p.set &= ~FR_PLAN_F_HORIZON_END;
    expect_refused(&p, FR_EINVAL, "horizon_end");
    plan_params(&p, 24 * 32, d, 1);
    expect_refused(&p, FR_EINVAL, "horizon_end");
    plan_params(&p, 2, d, 1);
    p.horizon_end_ms = T0;
    expect_refused(&p, FR_EINVAL, "horizon_end");
    plan_params(&p, 24 * 31, d, 1);
    p.set |= FR_PLAN_F_BUCKET;
    p.bucket_ms = 60 * SEC; /* 44640 buckets */
    expect_refused(&p, FR_EINVAL, "bucket_seconds");
    plan_params(&p, 2, d, 1);
    p.set |= FR_PLAN_F_TIME_BUDGET;
    p.time_budget_ms = 0;
    expect_refused(&p, FR_EINVAL, "time_budget_ms");
    p.time_budget_ms = 60001;
    expect_refused(&p, FR_EINVAL, "time_budget_ms");

    d[0].quantity_milli = 0;
    plan_params(&p, 2, d, 1);
    expect_refused(&p, FR_EINVAL, "demands[0].quantity");
    d[0].quantity_milli = U;
    d[1].ref = "a";
    plan_params(&p, 2, d, 2);
    expect_refused(&p, FR_EINVAL, "demands[1].ref");
    d[1].ref = "b";
    d[1].duration_ms = 0;
    plan_params(&p, 2, d, 2);
    expect_refused(&p, FR_EINVAL, "demands[1].duration_seconds");
    d[1].duration_ms = 2 * HOUR;
    d[1].latest_end_ms = T0 + HOUR;
    expect_refused(&p, FR_EINVAL, "demands[1].duration_seconds");
    d[1].latest_end_ms = FR_TIME_INF;
    d[1].duration_ms = HOUR;
    d[1].resource_type = "Not A Slug";
    expect_refused(&p, FR_EINVAL, "demands[1].resource_type");
    d[1].resource_type = TYPE;
    d[1].priority = 1001;
    expect_refused(&p, FR_EINVAL, "demands[1].priority");
    d[1].priority = 0;
    memcpy(d[1].pool_id, UNKNOWN_ID, FR_ID_SIZE);
    expect_refused(&p, FR_EREFERENCE, "demands[1].pool_id");
    d[1].pool_id[0] = 0;

    fr_plan_capacity_change ch = {UNKNOWN_ID, T0, FR_TIME_INF, U};
    plan_params(&p, 2, d, 2);
    p.set |= FR_PLAN_F_CAPACITY_CHANGES;
    p.capacity_changes = &ch;
    p.capacity_changes_len = 1;
    expect_refused(&p, FR_EREFERENCE, "capacity_changes[0].pool_id");
    memcpy(ch.pool_id, pool, FR_ID_SIZE);
    ch.end_ms = T0;
    expect_refused(&p, FR_EINVAL, "capacity_changes[0].end");
    p.capacity_changes_len = FR_PLAN_CHANGES_MAX + 1;
    expect_refused(&p, FR_EINVAL, "capacity_changes");
    plan_params(&p, 2, d, FR_PLAN_DEMANDS_MAX + 1);
    expect_refused(&p, FR_EINVAL, "demands");

    cr_assert_eq(count_plans(), 0);
    cr_assert_eq(last_seq(), seq0, "no event for a refused plan");
}

/* ---- idempotency, accuracy ---------------------------------------------------------- */

Test(plans, idempotent_create_replays_the_same_plan)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    fr_plan_demand d[1] = {demand("d1", U, HOUR, T0, FR_TIME_INF, 0)};
    fr_plan_params p;
    plan_params(&p, 2, d, 1);
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.idempotency_scope = "POST /planning";
    ctx.idempotency_key = "key-1";
    ctx.idempotency_body_hash = 42;
    fr_plan first, second;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_plan_create(g_e, &ctx, &p, &first, &res), FR_OK);
    cr_assert_eq(res.replayed, 0);
    cr_assert_eq(fr_plan_create(g_e, &ctx, &p, &second, &res), FR_OK);
    cr_assert_eq(res.replayed, 1);
    cr_assert_str_eq(first.id, second.id);
    cr_assert_eq(count_plans(), 1);
    ctx.idempotency_body_hash = 43;
    cr_assert_eq(fr_plan_create(g_e, &ctx, &p, NULL, &res), FR_EIDEMPOTENCY);
    fr_result_clear(&res);
    fr_plan_clear(&first);
    fr_plan_clear(&second);
}

Test(plans, accuracy_counts_used_allocations_of_committed_plans_past_their_horizon)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    fr_plan_demand d[2] = {demand("kept", U, HOUR, T0 + HOUR, FR_TIME_INF, 0),
                           demand("dropped", U, HOUR, T0 + HOUR, FR_TIME_INF, 0)};
    fr_plan_params p;
    plan_params(&p, 3, d, 2);
    fr_plan plan = mk_plan(&p);
    fr_plan out;
    cr_assert_eq(commit(plan.id, &out, NULL, NULL, NULL), FR_OK);
    const fr_plan_assignment_info *dropped = assignment_of(&out, "dropped");
    fr_allocation fin;
    cr_assert_eq(fr_allocation_delete(g_e, NULL, dropped->allocation_id, &fin, NULL), FR_OK);
    cr_assert_eq(fin.status, FR_ALLOC_CANCELLED, "cancelled before its start");
    fr_allocation_clear(&fin);

    int64_t planned = -1, used = -1;
    cr_assert_eq(fr_plan_accuracy(g_e, &planned, &used), FR_OK);
    cr_assert_eq(planned, 0, "the horizon has not passed yet");
    g_now = T0 + 3 * HOUR;
    cr_assert_eq(fr_plan_accuracy(g_e, &planned, &used), FR_OK);
    cr_assert_eq(planned, 2);
    cr_assert_eq(used, 1);
    fr_plan_clear(&out);
    fr_plan_clear(&plan);
}

/* ---- SQLite ------------------------------------------------------------------------- */

Test(plans_sqlite, reopen_restores_plans_and_a_restored_draft_commits)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    fr_plan_demand d[2] = {demand("d1", U, HOUR, T0, FR_TIME_INF, 0),
                           demand("d2", U, 30 * MIN, T0, FR_TIME_INF, 1)};
    d[0].site = NULL;
    d[1].vehicle_id = "bus-3";
    fr_plan_params p;
    plan_params(&p, 4, d, 2);
    p.set |= FR_PLAN_F_NAME;
    p.name = "night";
    fr_plan committed = mk_plan(&p);
    fr_plan draft = mk_plan(&p); /* planned on the same ledger */
    fr_plan gone = mk_plan(&p);
    cr_assert_eq(commit(committed.id, NULL, NULL, NULL, NULL), FR_OK);
    cr_assert_eq(fr_plan_delete(g_e, NULL, gone.id, NULL), FR_OK);
    fr_plan before_c, before_d;
    cr_assert_eq(fr_plan_get(g_e, committed.id, &before_c), FR_OK);
    cr_assert_eq(fr_plan_get(g_e, draft.id, &before_d), FR_OK);

    reopen();
    fr_plan after_c, after_d;
    cr_assert_eq(fr_plan_get(g_e, committed.id, &after_c), FR_OK);
    cr_assert_eq(fr_plan_get(g_e, draft.id, &after_d), FR_OK);
    cr_assert_eq(fr_plan_get(g_e, gone.id, &after_d), FR_ENOTFOUND, "deleted stays deleted");
    char *x = NULL, *y = NULL;
    cr_assert_eq(fr_plan_to_json(&before_c, &x), FR_OK);
    cr_assert_eq(fr_plan_to_json(&after_c, &y), FR_OK);
    cr_assert_str_eq(x, y);
    fr_free(x);
    fr_free(y);
    cr_assert_eq(fr_plan_to_json(&before_d, &x), FR_OK);
    cr_assert_eq(fr_plan_to_json(&after_d, &y), FR_OK);
    cr_assert_str_eq(x, y);
    fr_free(x);
    fr_free(y);
    cr_assert_eq(count_plans(), 2);

    /* The committed plan's bookings were restored too; the draft, planned
     * before them, no longer fits: stale, then re-planned and committed. */
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(commit(draft.id, NULL, NULL, NULL, &res), FR_EPLAN_STALE);
    fr_plan_params u;
    memset(&u, 0, sizeof u);
    cr_assert_eq(fr_plan_update(g_e, NULL, draft.id, &u, NULL, &res), FR_OK);
    cr_assert_eq(commit(draft.id, NULL, NULL, NULL, &res), FR_OK, "%s", res.message);
    fr_result_clear(&res);
    reopen();
    fr_plan final;
    cr_assert_eq(fr_plan_get(g_e, draft.id, &final), FR_OK);
    cr_assert_eq(final.status, FR_PLAN_COMMITTED);
    cr_assert_eq(final.version, 3);
    fr_plan_clear(&final);
    fr_plan_clear(&before_c);
    fr_plan_clear(&before_d);
    fr_plan_clear(&after_c);
    fr_plan_clear(&after_d);
    fr_plan_clear(&committed);
    fr_plan_clear(&draft);
    fr_plan_clear(&gone);
}

/* A stored plan whose horizon or bucket is damaged is refused at load
 * (a re-plan would divide by the bucket), not silently kept. */
Test(plans_sqlite, a_damaged_stored_plan_fails_the_open)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    fr_plan_params p;
    plan_params(&p, 2, NULL, 0);
    fr_plan plan = mk_plan(&p);
    fr_plan_clear(&plan);
    fr_engine_close(g_e);
    g_e = NULL;
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(g_db, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "UPDATE plans SET doc = json_set(doc, '$.bucket_seconds', 0)",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    fr_engine_options o;
    memset(&o, 0, sizeof o);
    o.clock = test_clock;
    fr_engine *e = NULL;
    char err[256] = "";
    cr_assert_eq(fr_engine_open(g_db, &o, &e, err, sizeof err), FR_ESTORE);
    cr_assert_null(e);
}

Test(plans, status_names_and_struct_sizes)
{
    cr_assert_str_eq(fr_plan_status_name(FR_PLAN_DRAFT), "draft");
    cr_assert_str_eq(fr_plan_status_name(FR_PLAN_COMMITTED), "committed");
    cr_assert_str_eq(fr_plan_status_name(FR_PLAN_DISCARDED), "discarded");
    cr_assert_null(fr_plan_status_name(3));
    cr_assert_eq(fr_plan_status_parse("discarded"), FR_PLAN_DISCARDED);
    cr_assert_eq(fr_plan_status_parse("Draft"), -1);
    cr_assert_eq(fr_plan_status_parse(NULL), -1);
    cr_assert_eq(fr_struct_size("fr_plan"), sizeof(fr_plan));
    cr_assert_eq(fr_struct_size("fr_plan_params"), sizeof(fr_plan_params));
    cr_assert_str_eq(fr_entity_type_name(FR_ENTITY_PLAN), "plan");
}

/* Whatever the budget, a plan is complete (every demand placed or listed)
 * and feasible: it commits against the ledger it was made on. */
Test(plans, a_tiny_time_budget_still_gives_a_complete_feasible_plan)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    enum { N = 300 };
    static fr_plan_demand d[N];
    static char refs[N][8];
    for (int i = 0; i < N; i++) {
        snprintf(refs[i], sizeof refs[i], "r%d", i);
        d[i] = demand(refs[i], U, HOUR, T0 + (i % 24) * HOUR, FR_TIME_INF, i % 7);
    }
    fr_plan_params p;
    plan_params(&p, 24, d, N);
    p.set |= FR_PLAN_F_TIME_BUDGET;
    p.time_budget_ms = 1;
    fr_plan plan = mk_plan(&p);
    cr_assert_eq(plan.assignments_len + plan.unplaced_len, N);
    cr_assert_leq(plan.assignments_len, 24, "one bay, 24 hours");
    cr_assert_gt(plan.assignments_len, 0);
    cr_assert_eq(commit(plan.id, NULL, NULL, NULL, NULL), FR_OK, "a plan is feasible");
    cr_assert_eq(count_allocations(), plan.assignments_len);
    fr_plan_clear(&plan);
}

/* ---- store failures ---------------------------------------------------------------- */

/* A store (over the fixture's SQLite file) whose put_plan fails when asked:
 * the failure comes after the commit booked its allocations in memory. */
typedef struct wrap_store {
    fr_store base;
    fr_store *inner;
    struct fr_store_methods methods;
} wrap_store;

static int g_fail_put_plan;
static fr_store *inner_of(fr_store *s) { return ((wrap_store *)s)->inner; }
#define INNER(s) inner_of(s)->methods
static void w_close(fr_store *s)
{
    INNER(s)->close(inner_of(s));
    free(s);
}
static int w_load(fr_store *s, const fr_store_loader *l, int64_t *h)
{
    return INNER(s)->load(inner_of(s), l, h);
}
static int w_begin(fr_store *s, int64_t *h) { return INNER(s)->begin(inner_of(s), h); }
static int w_commit(fr_store *s) { return INNER(s)->commit(inner_of(s)); }
static void w_rollback(fr_store *s) { INNER(s)->rollback(inner_of(s)); }
static int w_put_pool(fr_store *s, const fr_pool *x) { return INNER(s)->put_pool(inner_of(s), x); }
static int w_put_allocation(fr_store *s, const fr_allocation *x)
{
    return INNER(s)->put_allocation(inner_of(s), x);
}
static int w_put_request(fr_store *s, const fr_request *x)
{
    return INNER(s)->put_request(inner_of(s), x);
}
static int w_put_conflict(fr_store *s, const fr_conflict *x)
{
    return INNER(s)->put_conflict(inner_of(s), x);
}
static int w_append_event(fr_store *s, const fr_event *x)
{
    return INNER(s)->append_event(inner_of(s), x);
}
static int w_events_after(fr_store *s, int64_t after, size_t limit, const char *fleet,
                          fr_event **items, size_t *count)
{
    return INNER(s)->events_after(inner_of(s), after, limit, fleet, items, count);
}
static int w_control(fr_store *s, int op, void *arg) { return INNER(s)->control(inner_of(s), op, arg); }
static int w_put_plan(fr_store *s, const fr_plan *x)
{
    return g_fail_put_plan ? FR_ESTORE : INNER(s)->put_plan(inner_of(s), x);
}

/* Reopens g_e through the wrapper; version 4 has no put_plan. */
static void reopen_wrapped(int version)
{
    fr_engine_close(g_e);
    g_e = NULL;
    fr_store *inner = NULL;
    char err[256] = "";
    cr_assert_eq(fr_store_sqlite_open(g_db, &inner, err, sizeof err), FR_OK, "%s", err);
    wrap_store *w = calloc(1, sizeof *w);
    cr_assert_not_null(w);
    w->inner = inner;
    w->methods = (struct fr_store_methods){
        .version = version,
        .close = w_close,
        .load = w_load,
        .begin = w_begin,
        .commit = w_commit,
        .rollback = w_rollback,
        .put_pool = w_put_pool,
        .put_allocation = w_put_allocation,
        .put_request = w_put_request,
        .put_conflict = w_put_conflict,
        .append_event = w_append_event,
        .events_after = w_events_after,
        .control = w_control,
        .put_plan = version >= 5 ? w_put_plan : NULL,
    };
    w->base.methods = &w->methods;
    fr_engine_options o;
    memset(&o, 0, sizeof o);
    o.clock = test_clock;
    cr_assert_eq(fr_engine_open_store(&w->base, &o, &g_e, err, sizeof err), FR_OK, "%s", err);
}

/* The store fails while committing a plan: its bookings, the fulfilled
 * state and the plan's status are undone in memory, and the file keeps
 * nothing of it. */
Test(plans_sqlite, a_store_failure_at_commit_undoes_everything)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    fr_plan_demand d[2] = {demand("a", U, HOUR, T0, FR_TIME_INF, 0),
                           demand("b", U, HOUR, T0, FR_TIME_INF, 0)};
    fr_plan_params p;
    plan_params(&p, 4, d, 2);
    fr_plan plan = mk_plan(&p);
    reopen_wrapped(FR_STORE_METHODS_VERSION);
    int64_t seq = last_seq();
    g_fail_put_plan = 1;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(commit(plan.id, NULL, NULL, NULL, &res), FR_ESTORE);
    fr_result_clear(&res);
    cr_assert_eq(count_allocations(), 0);
    cr_assert_eq(last_seq(), seq);
    fr_plan now;
    cr_assert_eq(fr_plan_get(g_e, plan.id, &now), FR_OK);
    cr_assert_eq(now.status, FR_PLAN_DRAFT);
    cr_assert_eq(now.version, 1);
    cr_assert_str_eq(now.assignments[0].allocation_id, "");
    fr_plan_clear(&now);
    /* A refused re-plan is undone the same way. */
    fr_plan_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_PLAN_F_NAME;
    u.name = "renamed";
    cr_assert_eq(fr_plan_update(g_e, NULL, plan.id, &u, NULL, NULL), FR_ESTORE);
    cr_assert_eq(fr_plan_get(g_e, plan.id, &now), FR_OK);
    cr_assert_null(now.name);
    fr_plan_clear(&now);

    g_fail_put_plan = 0;
    reopen();
    cr_assert_eq(count_allocations(), 0);
    cr_assert_eq(last_seq(), seq);
    cr_assert_eq(commit(plan.id, NULL, NULL, NULL, NULL), FR_OK, "the same plan still commits");
    cr_assert_eq(count_allocations(), 2);
    fr_plan_clear(&plan);
}

/* A backend older than methods version 5 cannot keep plans: refused with
 * FR_ESTORE, nothing else is affected. */
Test(plans_sqlite, store_methods_version_4_refuses_plans)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    reopen_wrapped(4);
    fr_plan_params p;
    plan_params(&p, 4, NULL, 0);
    fr_result res;
    fr_result_init(&res);
    fr_plan out;
    cr_assert_eq(fr_plan_create(g_e, NULL, &p, &out, &res), FR_ESTORE);
    cr_assert_neq(res.message[0], '\0');
    fr_result_clear(&res);
    cr_assert_eq(count_plans(), 0);
    must_book(pool, "v1", U, T0, T0 + HOUR, NULL);
}
