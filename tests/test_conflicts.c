/*
 * test_conflicts.c — conflicts (SPEC §6) through the public API: over_capacity
 * detection when capacity is cut or overcommitted, its update and automatic
 * resolution, double_booking detection when a pool turns exclusive, manual
 * conflicts, and the list filters.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleetres.h"

#include "engine_harness.h"

TestSuite(conflicts, .init = setup_mem, .fini = teardown);
TestSuite(conflicts_sqlite, .init = setup_sqlite, .fini = teardown);

static fr_conflict *list_conflicts(const fr_list_query *q, size_t *n)
{
    fr_conflict *items = NULL;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_conflict_list(g_e, q, &items, n, cursor), FR_OK);
    return items;
}

static void body_capacity_cut(void)
{
    char pool[FR_ID_SIZE], a1[FR_ID_SIZE], a2[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 3 * U);
    must_book(pool, "v1", 2 * U, T0 + HOUR, T0 + 3 * HOUR, a1);
    must_book(pool, "v2", 1 * U, T0 + 2 * HOUR, T0 + 4 * HOUR, a2);
    int64_t seq0 = last_seq();

    /* Cut to 1: over by 1 in [1h,2h), by 2 in [2h,3h): one maximal run. */
    g_now = T0 + 5 * MIN;
    fr_result res;
    fr_result_init(&res);
    fr_pool out;
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_TOTAL_CAPACITY;
    u.total_capacity_milli = 1 * U;
    cr_assert_eq(fr_pool_update(g_e, NULL, pool, &u, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.total_capacity_milli, 1 * U, "lowering below booked is allowed");
    fr_pool_clear(&out);
    cr_assert_eq(res.conflicts_detected_len, 1);
    char cid[FR_ID_SIZE];
    memcpy(cid, res.conflicts_detected[0], FR_ID_SIZE);
    fr_result_clear(&res);

    fr_conflict c = get_conflict(cid);
    cr_assert_eq(c.type, FR_CONFLICT_OVER_CAPACITY);
    cr_assert_eq(c.status, FR_CONFLICT_OPEN);
    cr_assert_str_eq(c.pool_id, pool);
    cr_assert_str_eq(c.fleet_id, FLEET);
    cr_assert_eq(c.start_ms, T0 + HOUR);
    cr_assert_eq(c.end_ms, T0 + 3 * HOUR);
    cr_assert_eq(c.excess_milli, 2 * U);
    cr_assert_eq(c.allocation_ids_len, 2);
    cr_assert(has_id(c.allocation_ids, c.allocation_ids_len, a1));
    cr_assert(has_id(c.allocation_ids, c.allocation_ids_len, a2));
    cr_assert_eq(c.detected_at_ms, T0 + 5 * MIN);
    cr_assert_eq(c.resolved_at_ms, FR_TIME_NULL);
    cr_assert_null(c.resolution_strategy);
    cr_assert_not_null(c.description);
    cr_assert_eq(c.version, 1);
    fr_conflict_clear(&c);
    /* The allocations stay as they were. */
    cr_assert_eq(alloc_status(a1), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(a2), FR_ALLOC_CONFIRMED);
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    cr_assert_neq(find_event(ev, n, "pool.updated", pool), -1);
    cr_assert_neq(find_event(ev, n, "conflict.detected", cid), -1);
    fr_event_free_array(ev, n);

    /* Raise to 2: still over by 1 in [2h,3h): the same conflict, updated. */
    g_now = T0 + 10 * MIN;
    cr_assert_eq(set_pool_capacity(pool, 2 * U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 0, "no new conflict");
    fr_result_clear(&res);
    cr_assert_eq(count_conflicts(), 1);
    c = get_conflict(cid);
    cr_assert_eq(c.status, FR_CONFLICT_OPEN);
    cr_assert_eq(c.start_ms, T0 + 2 * HOUR);
    cr_assert_eq(c.end_ms, T0 + 3 * HOUR);
    cr_assert_eq(c.excess_milli, 1 * U);
    cr_assert_eq(c.allocation_ids_len, 2);
    fr_conflict_clear(&c);

    /* Raise back to 3: resolved automatically. */
    g_now = T0 + 15 * MIN;
    seq0 = last_seq();
    cr_assert_eq(set_pool_capacity(pool, 3 * U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 0);
    fr_result_clear(&res);
    c = get_conflict(cid);
    cr_assert_eq(c.status, FR_CONFLICT_RESOLVED);
    cr_assert_str_eq(c.resolution_strategy, "auto");
    cr_assert_eq(c.resolved_at_ms, T0 + 15 * MIN);
    fr_conflict_clear(&c);
    ev = events_after(seq0, &n);
    long i = find_event(ev, n, "conflict.resolved", cid);
    cr_assert_neq(i, -1);
    fr_event_free_array(ev, n);
}

Test(conflicts, capacity_cut_detects_updates_and_resolves)
{
    body_capacity_cut();
}

Test(conflicts_sqlite, capacity_cut_detects_updates_and_resolves)
{
    body_capacity_cut();
}

Test(conflicts, one_conflict_per_maximal_run)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book(pool, "v1", 2 * U, T0 + HOUR, T0 + 2 * HOUR, NULL);
    must_book(pool, "v2", 2 * U, T0 + 3 * HOUR, T0 + 4 * HOUR, NULL);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(pool, 1 * U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 2);
    fr_conflict c1 = get_conflict(res.conflicts_detected[0]);
    fr_conflict c2 = get_conflict(res.conflicts_detected[1]);
    int64_t s1 = c1.start_ms < c2.start_ms ? c1.start_ms : c2.start_ms;
    int64_t s2 = c1.start_ms < c2.start_ms ? c2.start_ms : c1.start_ms;
    cr_assert_eq(s1, T0 + HOUR);
    cr_assert_eq(s2, T0 + 3 * HOUR);
    cr_assert_eq(c1.allocation_ids_len, 1);
    cr_assert_eq(c2.allocation_ids_len, 1);
    cr_assert_eq(c1.excess_milli, U);
    fr_conflict_clear(&c1);
    fr_conflict_clear(&c2);
    fr_result_clear(&res);
}

Test(conflicts, schedule_cut_detects_over_capacity)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book(pool, "v1", 2 * U, T0, T0 + 5 * HOUR, a);
    fr_schedule_entry s[1] = {{T0 + HOUR, T0 + 2 * HOUR, 0}}; /* a charger breaks */
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_SCHEDULE;
    u.schedule = s;
    u.schedule_len = 1;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_update(g_e, NULL, pool, &u, NULL, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 1);
    fr_conflict c = get_conflict(res.conflicts_detected[0]);
    cr_assert_eq(c.start_ms, T0 + HOUR);
    cr_assert_eq(c.end_ms, T0 + 2 * HOUR);
    cr_assert_eq(c.excess_milli, 2 * U);
    cr_assert_eq(c.allocation_ids_len, 1);
    cr_assert_str_eq(c.allocation_ids[0], a);
    char cid[FR_ID_SIZE];
    memcpy(cid, c.id, FR_ID_SIZE);
    fr_conflict_clear(&c);
    fr_result_clear(&res);
    /* Releasing the booking clears the condition. */
    g_now = T0 + 30 * MIN;
    fr_allocation_params p;
    memset(&p, 0, sizeof p);
    p.set = FR_ALLOC_F_STATUS;
    p.status = FR_ALLOC_RELEASED;
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, NULL, NULL), FR_OK);
    c = get_conflict(cid);
    cr_assert_eq(c.status, FR_CONFLICT_RESOLVED);
    cr_assert_str_eq(c.resolution_strategy, "auto");
    fr_conflict_clear(&c);
}

Test(conflicts, overcommit_conflict_resolves_when_booking_cancelled)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, a);
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.may_overcommit = 1;
    fr_allocation_params p;
    alloc_params(&p, pool, "v2", U, T0 + HOUR, T0 + 2 * HOUR);
    p.set |= FR_ALLOC_F_OVERCOMMIT;
    p.overcommit = 1;
    fr_allocation b;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_allocation_create(g_e, &ctx, &p, &b, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 1);
    char cid[FR_ID_SIZE];
    memcpy(cid, res.conflicts_detected[0], FR_ID_SIZE);
    fr_result_clear(&res);
    /* A second overcommit over the same interval: the open conflict grows. */
    alloc_params(&p, pool, "v3", U, T0 + 90 * MIN, T0 + 3 * HOUR);
    p.set |= FR_ALLOC_F_OVERCOMMIT;
    p.overcommit = 1;
    fr_allocation c3;
    cr_assert_eq(fr_allocation_create(g_e, &ctx, &p, &c3, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 0, "it meets the open conflict");
    fr_result_clear(&res);
    fr_conflict c = get_conflict(cid);
    cr_assert_eq(c.start_ms, T0 + HOUR);
    cr_assert_eq(c.end_ms, T0 + 2 * HOUR);
    cr_assert_eq(c.excess_milli, 2 * U);
    cr_assert_eq(c.allocation_ids_len, 3);
    fr_conflict_clear(&c);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, c3.id, NULL, NULL), FR_OK);
    c = get_conflict(cid);
    cr_assert_eq(c.status, FR_CONFLICT_OPEN);
    cr_assert_eq(c.excess_milli, U);
    fr_conflict_clear(&c);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, b.id, NULL, NULL), FR_OK);
    c = get_conflict(cid);
    cr_assert_eq(c.status, FR_CONFLICT_RESOLVED);
    cr_assert_str_eq(c.resolution_strategy, "auto");
    fr_conflict_clear(&c);
    fr_allocation_clear(&b);
    fr_allocation_clear(&c3);
}

Test(conflicts, hold_expiry_resolves_over_capacity)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book(pool, "v1", U, T0, T0 + 2 * HOUR, NULL);
    fr_allocation_params p;
    alloc_params(&p, pool, "v2", U, T0, T0 + 2 * HOUR);
    p.set |= FR_ALLOC_F_HOLD;
    p.hold_ms = 10 * MIN;
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, NULL, NULL), FR_OK);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(pool, U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 1);
    char cid[FR_ID_SIZE];
    memcpy(cid, res.conflicts_detected[0], FR_ID_SIZE);
    fr_result_clear(&res);
    g_now = T0 + 10 * MIN;
    fr_conflict c = get_conflict(cid);
    cr_assert_eq(c.status, FR_CONFLICT_RESOLVED, "the expired hold no longer counts");
    cr_assert_str_eq(c.resolution_strategy, "auto");
    cr_assert_eq(c.resolved_at_ms, T0 + 10 * MIN);
    fr_conflict_clear(&c);
}

Test(conflicts, new_run_after_resolution_is_a_new_conflict)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book(pool, "v1", 2 * U, T0 + HOUR, T0 + 2 * HOUR, NULL);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(pool, U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 1);
    char first[FR_ID_SIZE];
    memcpy(first, res.conflicts_detected[0], FR_ID_SIZE);
    fr_result_clear(&res);
    cr_assert_eq(set_pool_capacity(pool, 2 * U, &res), FR_OK);
    fr_result_clear(&res);
    cr_assert_eq(set_pool_capacity(pool, U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 1);
    cr_assert_str_neq(res.conflicts_detected[0], first);
    fr_result_clear(&res);
    fr_conflict c = get_conflict(first);
    cr_assert_eq(c.status, FR_CONFLICT_RESOLVED);
    fr_conflict_clear(&c);
    cr_assert_eq(count_conflicts(), 2);
}

Test(conflicts, result_reused_across_calls_reports_only_this_change)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book(pool, "v1", 2 * U, T0 + HOUR, T0 + 2 * HOUR, NULL);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(pool, U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 1);
    /* Same fr_result, next change detects nothing (it is a rename). */
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_NAME;
    u.name = "renamed";
    cr_assert_eq(fr_pool_update(g_e, NULL, pool, &u, NULL, &res), FR_OK);
    size_t len = res.conflicts_detected_len;
    fr_result_clear(&res);
    cr_assert_eq(len, 0, "conflicts_detected must list what this change detected: %zu", len);
}

/* ---- double booking ----------------------------------------------------------- */

Test(conflicts, exclusive_switched_on_records_double_booking)
{
    char pool[FR_ID_SIZE], a1[FR_ID_SIZE], a2[FR_ID_SIZE], a3[FR_ID_SIZE];
    fr_pool_params pp;
    pool_params(&pp, FLEET, "Shared", TYPE, 5 * U);
    pp.set |= FR_POOL_F_EXCLUSIVE;
    pp.exclusive_per_vehicle = 0;
    mk_pool_p(pool, &pp);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 3 * HOUR, a1);
    must_book(pool, "v1", U, T0 + 2 * HOUR, T0 + 4 * HOUR, a2);
    must_book(pool, "v2", U, T0 + 5 * HOUR, T0 + 6 * HOUR, a3);
    must_book(pool, "v2", U, T0 + 6 * HOUR, T0 + 7 * HOUR, NULL); /* back to back: fine */

    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_EXCLUSIVE;
    u.exclusive_per_vehicle = 1;
    fr_result res;
    fr_result_init(&res);
    fr_pool out;
    cr_assert_eq(fr_pool_update(g_e, NULL, pool, &u, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.exclusive_per_vehicle, 1);
    fr_pool_clear(&out);
    cr_assert_eq(res.conflicts_detected_len, 1, "one double booking (v1 only): %zu",
                 res.conflicts_detected_len);
    fr_conflict c = get_conflict(res.conflicts_detected[0]);
    fr_result_clear(&res);
    cr_assert_eq(c.type, FR_CONFLICT_DOUBLE_BOOKING);
    cr_assert_eq(c.status, FR_CONFLICT_OPEN);
    cr_assert_str_eq(c.vehicle_id, "v1");
    cr_assert_str_eq(c.pool_id, pool);
    cr_assert_str_eq(c.fleet_id, FLEET);
    cr_assert_eq(c.allocation_ids_len, 2);
    cr_assert(has_id(c.allocation_ids, c.allocation_ids_len, a1));
    cr_assert(has_id(c.allocation_ids, c.allocation_ids_len, a2));
    cr_assert_eq(c.start_ms, T0 + 2 * HOUR, "the overlap");
    cr_assert_eq(c.end_ms, T0 + 3 * HOUR);
    char cid[FR_ID_SIZE];
    memcpy(cid, c.id, FR_ID_SIZE);
    fr_conflict_clear(&c);

    /* From now on the pool refuses new overlaps of a vehicle. */
    cr_assert_eq(book(pool, "v2", U, T0 + 5 * HOUR, T0 + 5 * HOUR + MIN, NULL, &res), FR_EDOUBLE);
    fr_result_clear(&res);

    /* Cancelling one of them resolves it. */
    g_now = T0 + MIN;
    cr_assert_eq(fr_allocation_delete(g_e, NULL, a2, NULL, NULL), FR_OK);
    c = get_conflict(cid);
    cr_assert_eq(c.status, FR_CONFLICT_RESOLVED);
    cr_assert_str_eq(c.resolution_strategy, "auto");
    cr_assert_eq(c.resolved_at_ms, T0 + MIN);
    fr_conflict_clear(&c);
}

Test(conflicts, double_booking_resolves_when_moved_apart)
{
    char pool[FR_ID_SIZE], a1[FR_ID_SIZE], a2[FR_ID_SIZE];
    fr_pool_params pp;
    pool_params(&pp, FLEET, "Shared", TYPE, 5 * U);
    pp.set |= FR_POOL_F_EXCLUSIVE;
    pp.exclusive_per_vehicle = 0;
    mk_pool_p(pool, &pp);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 3 * HOUR, a1);
    must_book(pool, "v1", U, T0 + 2 * HOUR, T0 + 4 * HOUR, a2);
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_EXCLUSIVE;
    u.exclusive_per_vehicle = 1;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_update(g_e, NULL, pool, &u, NULL, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 1);
    char cid[FR_ID_SIZE];
    memcpy(cid, res.conflicts_detected[0], FR_ID_SIZE);
    fr_result_clear(&res);
    /* Shorten a1 to end where a2 starts. */
    fr_allocation_params p;
    memset(&p, 0, sizeof p);
    p.set = FR_ALLOC_F_END;
    p.end_ms = T0 + 2 * HOUR;
    cr_assert_eq(fr_allocation_update(g_e, NULL, a1, &p, NULL, &res), FR_OK, "%s", res.message);
    fr_result_clear(&res);
    fr_conflict c = get_conflict(cid);
    cr_assert_eq(c.status, FR_CONFLICT_RESOLVED);
    fr_conflict_clear(&c);
}

/* ---- manual ----------------------------------------------------------------------- */

Test(conflicts, manual_create_and_get)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, a);
    const char *ids[1] = {a};
    fr_conflict_params cp;
    memset(&cp, 0, sizeof cp);
    cp.pool_id = pool;
    cp.description = "charger 3 makes a noise";
    cp.start_ms = T0 + HOUR;
    cp.end_ms = T0 + 2 * HOUR;
    cp.allocation_ids = ids;
    cp.allocation_ids_len = 1;
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.actor = "alice";
    fr_conflict out;
    fr_result res;
    fr_result_init(&res);
    int64_t seq0 = last_seq();
    cr_assert_eq(fr_conflict_create(g_e, &ctx, &cp, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.type, FR_CONFLICT_MANUAL);
    cr_assert_eq(out.status, FR_CONFLICT_OPEN);
    cr_assert_str_eq(out.pool_id, pool);
    cr_assert_str_eq(out.fleet_id, FLEET);
    cr_assert_str_eq(out.description, "charger 3 makes a noise");
    cr_assert_eq(out.start_ms, T0 + HOUR);
    cr_assert_eq(out.end_ms, T0 + 2 * HOUR);
    cr_assert_eq(out.allocation_ids_len, 1);
    cr_assert_str_eq(out.allocation_ids[0], a);
    cr_assert_eq(out.detected_at_ms, T0);
    cr_assert_eq(out.resolved_at_ms, FR_TIME_NULL);
    cr_assert_eq(out.version, 1);

    fr_conflict got = get_conflict(out.id);
    cr_assert_eq(got.type, FR_CONFLICT_MANUAL);
    cr_assert_str_eq(got.description, out.description);
    cr_assert_eq(got.allocation_ids_len, 1);
    fr_conflict_clear(&got);
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(ev[0].entity_id, out.id);
    cr_assert_str_eq(ev[0].actor, "alice");
    cr_assert_eq(ev[0].entity_type, FR_ENTITY_CONFLICT);
    fr_event_free_array(ev, n);

    /* Manual conflicts never resolve themselves. */
    cr_assert_eq(fr_allocation_delete(g_e, NULL, a, NULL, NULL), FR_OK);
    cr_assert_eq(set_pool_capacity(pool, 9 * U, &res), FR_OK);
    fr_result_clear(&res);
    got = get_conflict(out.id);
    cr_assert_eq(got.status, FR_CONFLICT_OPEN);
    fr_conflict_clear(&got);
    fr_conflict_clear(&out);

    /* Open-ended manual conflict, no allocations. */
    cp.end_ms = FR_TIME_INF;
    cp.allocation_ids = NULL;
    cp.allocation_ids_len = 0;
    cr_assert_eq(fr_conflict_create(g_e, NULL, &cp, &out, &res), FR_OK);
    cr_assert_eq(out.end_ms, FR_TIME_INF);
    cr_assert_eq(out.allocation_ids_len, 0);
    fr_conflict_clear(&out);
    fr_result_clear(&res);
}

Test(conflicts, manual_validation_changes_nothing)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, a);
    int64_t seq0 = last_seq();
    fr_conflict_params cp;
    memset(&cp, 0, sizeof cp);
    cp.pool_id = pool;
    cp.description = "x";
    cp.start_ms = T0 + HOUR;
    cp.end_ms = T0 + 2 * HOUR;
    fr_result res;
    fr_result_init(&res);
    fr_conflict out;

    cp.pool_id = UNKNOWN_ID;
    cr_assert_eq(fr_conflict_create(g_e, NULL, &cp, &out, &res), FR_EREFERENCE);
    cr_assert_str_eq(res.field, "pool_id");
    fr_result_clear(&res);
    cp.pool_id = pool;
    cp.end_ms = cp.start_ms;
    cr_assert_eq(fr_conflict_create(g_e, NULL, &cp, &out, &res), FR_EINVAL);
    fr_result_clear(&res);
    cp.end_ms = T0 + 2 * HOUR;
    const char *bad[2] = {a, UNKNOWN_ID};
    cp.allocation_ids = bad;
    cp.allocation_ids_len = 2;
    cr_assert_eq(fr_conflict_create(g_e, NULL, &cp, &out, &res), FR_EREFERENCE);
    cr_assert_str_eq(res.field, "allocation_ids");
    fr_result_clear(&res);
    cp.allocation_ids_len = 0;
    cp.description = NULL;
    cr_assert_eq(fr_conflict_create(g_e, NULL, &cp, &out, &res), FR_EINVAL);
    fr_result_clear(&res);
    cr_assert_eq(fr_conflict_create(NULL, NULL, &cp, &out, &res), FR_EINVAL);
    fr_result_clear(&res);
    cr_assert_eq(fr_conflict_create(g_e, NULL, NULL, &out, &res), FR_EINVAL);
    fr_result_clear(&res);
    cr_assert_eq(fr_conflict_get(g_e, UNKNOWN_ID, &out), FR_ENOTFOUND);
    cr_assert_eq(count_conflicts(), 0);
    cr_assert_eq(last_seq(), seq0);
}

/* ---- list filters ------------------------------------------------------------------ */

Test(conflicts, list_filters)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE];
    mk_pool(p1, FLEET, "P1", TYPE, 2 * U);
    mk_pool(p2, FLEET, "P2", TYPE, 2 * U);
    must_book(p1, "v1", 2 * U, T0 + HOUR, T0 + 2 * HOUR, NULL);
    must_book(p1, "v2", 2 * U, T0 + 3 * HOUR, T0 + 4 * HOUR, NULL);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(p1, U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 2); /* two over_capacity, both open */
    fr_result_clear(&res);
    fr_conflict_params cp;
    memset(&cp, 0, sizeof cp);
    cp.pool_id = p2;
    cp.description = "manual";
    cp.start_ms = T0;
    cp.end_ms = T0 + HOUR;
    fr_conflict m;
    cr_assert_eq(fr_conflict_create(g_e, NULL, &cp, &m, NULL), FR_OK);
    /* Resolve one over_capacity: give [3h,4h) its capacity back. */
    fr_schedule_entry s[1] = {{T0 + 3 * HOUR, T0 + 4 * HOUR, 2 * U}};
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_SCHEDULE;
    u.schedule = s;
    u.schedule_len = 1;
    cr_assert_eq(fr_pool_update(g_e, NULL, p1, &u, NULL, &res), FR_OK);
    fr_result_clear(&res);
    /* A conflict in another fleet. */
    char p3[FR_ID_SIZE];
    mk_pool(p3, "fleet-2", "P3", TYPE, U);
    cp.pool_id = p3;
    fr_conflict other;
    cr_assert_eq(fr_conflict_create(g_e, NULL, &cp, &other, NULL), FR_OK);

    fr_list_query q;
    size_t n = 0;
    fr_conflict *items;

    fr_list_query_init(&q);
    items = list_conflicts(&q, &n);
    cr_assert_eq(n, 4);
    fr_conflict_free_array(items, n);

    fr_list_query_init(&q);
    q.status = FR_CONFLICT_OPEN;
    items = list_conflicts(&q, &n);
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(items[i].status, FR_CONFLICT_OPEN);
    }
    fr_conflict_free_array(items, n);

    fr_list_query_init(&q);
    q.status = FR_CONFLICT_RESOLVED;
    items = list_conflicts(&q, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(items[0].type, FR_CONFLICT_OVER_CAPACITY);
    cr_assert_eq(items[0].start_ms, T0 + 3 * HOUR);
    fr_conflict_free_array(items, n);

    fr_list_query_init(&q);
    q.type = FR_CONFLICT_MANUAL;
    items = list_conflicts(&q, &n);
    cr_assert_eq(n, 2);
    fr_conflict_free_array(items, n);

    fr_list_query_init(&q);
    q.pool_id = p1;
    items = list_conflicts(&q, &n);
    cr_assert_eq(n, 2);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(items[i].pool_id, p1);
        cr_assert_eq(items[i].type, FR_CONFLICT_OVER_CAPACITY);
    }
    fr_conflict_free_array(items, n);

    fr_list_query_init(&q);
    q.pool_id = p1;
    q.status = FR_CONFLICT_OPEN;
    q.type = FR_CONFLICT_OVER_CAPACITY;
    items = list_conflicts(&q, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(items[0].start_ms, T0 + HOUR);
    fr_conflict_free_array(items, n);

    fr_list_query_init(&q);
    q.fleet_id = "fleet-2";
    items = list_conflicts(&q, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(items[0].id, other.id);
    fr_conflict_free_array(items, n);

    fr_list_query_init(&q);
    q.type = FR_CONFLICT_DOUBLE_BOOKING;
    items = list_conflicts(&q, &n);
    cr_assert_eq(n, 0);
    fr_conflict_free_array(items, n);

    /* from/to: overlap with [from, to). */
    fr_list_query_init(&q);
    q.fleet_id = FLEET;
    q.from_ms = T0 + HOUR;
    q.to_ms = T0 + 3 * HOUR;
    items = list_conflicts(&q, &n);
    cr_assert_eq(n, 1, "manual [0,1h) ends at from; [3h,4h) starts at to: %zu", n);
    cr_assert_eq(items[0].start_ms, T0 + HOUR);
    fr_conflict_free_array(items, n);
    fr_conflict_clear(&m);
    fr_conflict_clear(&other);
}

Test(conflicts, forced_pool_delete_resolves_its_over_capacity)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book(pool, "v1", 2 * U, T0 + HOUR, T0 + 2 * HOUR, NULL);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(pool, U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 1);
    char cid[FR_ID_SIZE];
    memcpy(cid, res.conflicts_detected[0], FR_ID_SIZE);
    fr_result_clear(&res);
    /* Exactly at capacity is not over it: no conflict for a cut to 2. */
    char p2[FR_ID_SIZE];
    mk_pool(p2, FLEET, "Bay 2", TYPE, 3 * U);
    must_book(p2, "v2", 2 * U, T0, T0 + HOUR, NULL);
    cr_assert_eq(set_pool_capacity(p2, 2 * U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 0);
    fr_result_clear(&res);

    cr_assert_eq(fr_pool_delete(g_e, NULL, pool, 1, &res), FR_OK, "%s", res.message);
    fr_result_clear(&res);
    fr_conflict c = get_conflict(cid); /* history stays readable */
    cr_assert_eq(c.status, FR_CONFLICT_RESOLVED, "its bookings were cancelled");
    cr_assert_str_eq(c.resolution_strategy, "auto");
    fr_conflict_clear(&c);
}
