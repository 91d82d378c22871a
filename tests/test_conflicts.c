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
#include <time.h>
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

/* ---- resolution (POST /conflicts/{id}/resolve) ------------------------------------ */

/* Books with a priority. */
static void must_book_prio(const char *pool, const char *vehicle, int64_t qty, int64_t start,
                           int64_t end, int32_t priority, char id[FR_ID_SIZE])
{
    fr_allocation_params p;
    alloc_params(&p, pool, vehicle, qty, start, end);
    p.set |= FR_ALLOC_F_PRIORITY;
    p.priority = priority;
    fr_allocation out;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_allocation_create(g_e, NULL, &p, &out, &res);
    cr_assert_eq(rc, FR_OK, "book: %d %s", rc, res.message);
    if (id != NULL) {
        memcpy(id, out.id, FR_ID_SIZE);
    }
    fr_allocation_clear(&out);
    fr_result_clear(&res);
}

/* Cuts the pool's total capacity and returns the one conflict detected. */
static void cut_to(const char *pool, int64_t cap, char cid[FR_ID_SIZE])
{
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(pool, cap, &res), FR_OK, "%s", res.message);
    cr_assert_eq(res.conflicts_detected_len, 1, "conflicts: %zu", res.conflicts_detected_len);
    memcpy(cid, res.conflicts_detected[0], FR_ID_SIZE);
    fr_result_clear(&res);
}

static int resolve(const char *cid, int strategy, const char *note, int64_t max_delay_ms,
                   int dry_run, fr_conflict *out, fr_result *res)
{
    fr_resolve_params p = {strategy, note, max_delay_ms, dry_run};
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.actor = "ops@depot";
    return fr_conflict_resolve(g_e, &ctx, cid, &p, out, res);
}

/* Everything a client can read, as one JSON text: pools, allocations,
 * requests, conflicts and the event log.  Equal texts = equal state. */
static void append_json(char **acc, size_t *len, char *json)
{
    cr_assert_not_null(json);
    size_t n = strlen(json);
    char *grown = realloc(*acc, *len + n + 2);
    cr_assert_not_null(grown);
    memcpy(grown + *len, json, n);
    grown[*len + n] = '\n';
    grown[*len + n + 1] = 0;
    *acc = grown;
    *len += n + 1;
    fr_free(json);
}

/* The events of one fleet (or all, fleet NULL), as "seq type id" lines. */
static void append_events(char **acc, size_t *len, const char *fleet)
{
    int64_t after = 0;
    for (;;) {
        fr_event *items = NULL;
        size_t n = 0;
        cr_assert_eq(fr_event_list(g_e, after, FR_LIST_LIMIT_MAX, fleet, &items, &n), FR_OK);
        for (size_t i = 0; i < n; i++) {
            char line[160];
            snprintf(line, sizeof line, "%" PRId64 " %s %s", items[i].seq, items[i].type,
                     items[i].entity_id);
            append_json(acc, len, strdup(line));
            after = items[i].seq;
        }
        fr_event_free_array(items, n);
        if (n < FR_LIST_LIMIT_MAX) {
            return;
        }
    }
}

/* Appends the fleet's conflicts as JSON (versions and update times included). */
static void append_conflicts(char **acc, size_t *len, const char *fleet)
{
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    q.fleet_id = fleet;
    char cursor[FR_CURSOR_SIZE];
    char *json = NULL;
    size_t n = 0;
    fr_conflict *cs = NULL;
    cr_assert_eq(fr_conflict_list(g_e, &q, &cs, &n, cursor), FR_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(fr_conflict_to_json(&cs[i], &json), FR_OK);
        append_json(acc, len, json);
    }
    fr_conflict_free_array(cs, n);
}

static char *state_text_of(const char *fleet)
{
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    q.fleet_id = fleet;
    char cursor[FR_CURSOR_SIZE];
    char *acc = NULL, *json = NULL;
    size_t len = 0, n = 0;
    fr_pool *pools = NULL;
    cr_assert_eq(fr_pool_list(g_e, &q, &pools, &n, cursor), FR_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(fr_pool_to_json(&pools[i], &json), FR_OK);
        append_json(&acc, &len, json);
    }
    fr_pool_free_array(pools, n);
    fr_allocation *allocs = NULL;
    cr_assert_eq(fr_allocation_list(g_e, &q, &allocs, &n, cursor), FR_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(fr_allocation_to_json(&allocs[i], &json), FR_OK);
        append_json(&acc, &len, json);
    }
    fr_allocation_free_array(allocs, n);
    fr_request *reqs = NULL;
    cr_assert_eq(fr_request_list(g_e, &q, &reqs, &n, cursor), FR_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(fr_request_to_json(&reqs[i], &json), FR_OK);
        append_json(&acc, &len, json);
    }
    fr_request_free_array(reqs, n);
    append_conflicts(&acc, &len, fleet);
    append_events(&acc, &len, fleet);
    return acc;
}

static char *state_text(void)
{
    return state_text_of(NULL);
}

/* A refused resolve leaves every readable thing as it was. */
static void assert_refused_unchanged(const char *cid, int strategy, int64_t max_delay_ms,
                                     int expect_rc)
{
    char *before = state_text();
    fr_result res;
    fr_result_init(&res);
    fr_conflict out;
    memset(&out, 0, sizeof out);
    int rc = resolve(cid, strategy, "try", max_delay_ms, 0, &out, &res);
    cr_assert_eq(rc, expect_rc, "rc %d (%s)", rc, res.message);
    cr_assert_eq(res.status, expect_rc);
    cr_assert_eq(out.id[0], 0, "out untouched on failure");
    char *after = state_text();
    cr_assert_str_eq(after, before, "a refused resolve changed state");
    free(before);
    free(after);
    fr_result_clear(&res);
}

Test(conflicts, resolve_preempt_takes_fewest_then_lowest_priority)
{
    char pool[FR_ID_SIZE], big[FR_ID_SIZE], b[FR_ID_SIZE], c[FR_ID_SIZE], cid[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 4 * U);
    /* Cut to 2: over by 1 in [1h,2h) and by 2 in [2h,3h).  The big one
     * alone clears both (1 victim); b + c would be 2 though cheaper. */
    must_book_prio(pool, "v1", 2 * U, T0 + HOUR, T0 + 3 * HOUR, 9, big);
    must_book_prio(pool, "v2", U, T0 + HOUR, T0 + 3 * HOUR, 1, b);
    must_book_prio(pool, "v3", U, T0 + 2 * HOUR, T0 + 3 * HOUR, 0, c);
    cut_to(pool, 2 * U, cid);
    int64_t seq0 = last_seq();

    fr_conflict out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(resolve(cid, FR_RESOLVE_PREEMPT, "charger 3 broke", 0, 0, &out, &res), FR_OK,
                 "%s", res.message);
    cr_assert_eq(out.status, FR_CONFLICT_RESOLVED);
    cr_assert_str_eq(out.resolution_strategy, "preempt");
    cr_assert_str_eq(out.resolution_note, "charger 3 broke");
    cr_assert_str_eq(out.resolution_resolved_by, "ops@depot");
    cr_assert_eq(out.resolved_at_ms, T0);
    cr_assert_eq(out.resolution_actions_len, 1);
    cr_assert_str_eq(out.resolution_actions[0].allocation_id, big);
    cr_assert_str_eq(out.resolution_actions[0].action, "preempted");
    cr_assert_str_eq(out.resolution_actions[0].from, "confirmed");
    cr_assert_str_eq(out.resolution_actions[0].to, "preempted");
    fr_conflict_clear(&out);
    fr_conflict stored = get_conflict(cid);
    cr_assert_eq(stored.status, FR_CONFLICT_RESOLVED);
    cr_assert_eq(stored.resolution_actions_len, 1);
    fr_conflict_clear(&stored);

    fr_allocation a = get_alloc(big);
    cr_assert_eq(a.status, FR_ALLOC_PREEMPTED);
    cr_assert_eq(a.released_at_ms, T0);
    cr_assert_eq(a.end_ms, T0 + 3 * HOUR, "a future allocation keeps its interval");
    fr_allocation_clear(&a);
    cr_assert_eq(alloc_status(b), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(c), FR_ALLOC_CONFIRMED);
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    cr_assert(find_event(ev, n, "allocation.preempted", big) >= 0);
    cr_assert(find_event(ev, n, "conflict.resolved", cid) >= 0);
    fr_event_free_array(ev, n);
    /* Already resolved: 409 invalid_state, nothing changes. */
    assert_refused_unchanged(cid, FR_RESOLVE_PREEMPT, 0, FR_ESTATE);
    fr_result_clear(&res);
}

Test(conflicts, resolve_preempt_ties_go_to_the_lowest_priority)
{
    char pool[FR_ID_SIZE], hi[FR_ID_SIZE], lo[FR_ID_SIZE], mid[FR_ID_SIZE], cid[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 3 * U);
    must_book_prio(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, 7, hi);
    must_book_prio(pool, "v2", U, T0 + HOUR, T0 + 2 * HOUR, 2, lo);
    must_book_prio(pool, "v3", U, T0 + HOUR, T0 + 2 * HOUR, 5, mid);
    cut_to(pool, 2 * U, cid);
    fr_conflict out;
    cr_assert_eq(resolve(cid, FR_RESOLVE_PREEMPT, NULL, 0, 0, &out, NULL), FR_OK);
    cr_assert_eq(out.resolution_actions_len, 1);
    cr_assert_str_eq(out.resolution_actions[0].allocation_id, lo);
    cr_assert_null(out.resolution_note);
    fr_conflict_clear(&out);
    cr_assert_eq(alloc_status(hi), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(mid), FR_ALLOC_CONFIRMED);
}

Test(conflicts, resolve_preempt_requeues_the_victims_request)
{
    char pool[FR_ID_SIZE], other[FR_ID_SIZE], cid[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book_prio(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, 5, other);
    fr_request_params rp;
    req_params(&rp, "v2", U, HOUR);
    rp.set |= FR_REQ_F_EARLIEST_START | FR_REQ_F_LATEST_END;
    rp.earliest_start_ms = T0 + HOUR;
    rp.latest_end_ms = T0 + 2 * HOUR; /* exactly this slot: cannot go elsewhere */
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_FULFILLED);
    char rid[FR_ID_SIZE], victim[FR_ID_SIZE];
    memcpy(rid, r.id, FR_ID_SIZE);
    memcpy(victim, r.allocation_id, FR_ID_SIZE);
    fr_request_clear(&r);
    cut_to(pool, U, cid);
    int64_t seq0 = last_seq();
    cr_assert_eq(resolve(cid, FR_RESOLVE_PREEMPT, NULL, 0, 0, NULL, NULL), FR_OK);
    cr_assert_eq(alloc_status(victim), FR_ALLOC_PREEMPTED, "priority 0 goes first");
    cr_assert_eq(alloc_status(other), FR_ALLOC_CONFIRMED);
    r = get_req(rid);
    cr_assert_eq(r.status, FR_REQ_PENDING, "back to pending");
    cr_assert_eq(r.allocation_id[0], 0);
    cr_assert_eq(r.pending_reason, FR_REASON_INSUFFICIENT_CAPACITY);
    fr_request_clear(&r);
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    cr_assert(find_event(ev, n, "request.requeued", rid) >= 0);
    fr_event_free_array(ev, n);
}

Test(conflicts, resolve_preempt_of_a_started_allocation_ends_it_now)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE], cid[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book_prio(pool, "v1", U, T0, T0 + 2 * HOUR, 0, a);
    must_book_prio(pool, "v2", U, T0, T0 + 2 * HOUR, 3, b);
    g_now = T0 + 30 * MIN;
    cut_to(pool, U, cid);
    cr_assert_eq(resolve(cid, FR_RESOLVE_PREEMPT, NULL, 0, 0, NULL, NULL), FR_OK);
    fr_allocation x = get_alloc(a);
    cr_assert_eq(x.status, FR_ALLOC_PREEMPTED);
    cr_assert_eq(x.end_ms, T0 + 30 * MIN, "ends now, like a release");
    cr_assert_eq(x.released_at_ms, T0 + 30 * MIN);
    fr_allocation_clear(&x);
    /* Utilization counts it up to when it ended (SPEC §5). */
    fr_bucket bk[1];
    size_t count = 0;
    cr_assert_eq(fr_pool_booked_series(g_e, pool, T0, T0 + HOUR, HOUR, bk, 1, &count), FR_OK);
    cr_assert_eq(count, 1);
    cr_assert_eq(bk[0].booked_avg_milli, U + U / 2, "b all hour + a half of it: %" PRId64,
                 bk[0].booked_avg_milli);
    /* Reschedule and reassign never move a started allocation. */
    char pool2[FR_ID_SIZE], c[FR_ID_SIZE], d[FR_ID_SIZE], cid2[FR_ID_SIZE];
    mk_pool(pool2, FLEET, "Bay 2", TYPE, 2 * U);
    mk_pool(NULL, FLEET, "Bay 3", TYPE, 5 * U);
    must_book_prio(pool2, "v3", U, T0, T0 + 2 * HOUR, 0, c);
    must_book_prio(pool2, "v4", U, T0, T0 + 2 * HOUR, 0, d);
    cut_to(pool2, U, cid2);
    assert_refused_unchanged(cid2, FR_RESOLVE_RESCHEDULE, 0, FR_EUNRESOLVABLE);
    assert_refused_unchanged(cid2, FR_RESOLVE_REASSIGN, 0, FR_EUNRESOLVABLE);
}

Test(conflicts, resolve_reschedule_moves_the_lowest_priority_later)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE], c[FR_ID_SIZE], cid[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 3 * U);
    must_book_prio(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, 3, a);
    must_book_prio(pool, "v2", U, T0 + HOUR, T0 + 2 * HOUR, 1, b);
    must_book_prio(pool, "v3", U, T0 + HOUR, T0 + 2 * HOUR, 2, c);
    must_book_prio(pool, "v4", 2 * U, T0 + 2 * HOUR, T0 + 3 * HOUR, 0, NULL);
    cut_to(pool, 2 * U, cid);
    /* 30 min later is still inside the overload or the full hour after. */
    assert_refused_unchanged(cid, FR_RESOLVE_RESCHEDULE, 30 * MIN, FR_EUNRESOLVABLE);
    /* Dry run: the actions, nothing applied. */
    char *before = state_text();
    fr_conflict out;
    cr_assert_eq(resolve(cid, FR_RESOLVE_RESCHEDULE, NULL, 3 * HOUR, 1, &out, NULL), FR_OK);
    cr_assert_eq(out.status, FR_CONFLICT_RESOLVED, "as it would be");
    cr_assert_eq(out.resolution_actions_len, 1);
    cr_assert_str_eq(out.resolution_actions[0].allocation_id, b);
    cr_assert_str_eq(out.resolution_actions[0].action, "rescheduled");
    cr_assert_str_eq(out.resolution_actions[0].from, "2027-01-15T09:00:00.000Z");
    cr_assert_str_eq(out.resolution_actions[0].to, "2027-01-15T11:00:00.000Z");
    fr_conflict_clear(&out);
    char *after = state_text();
    cr_assert_str_eq(after, before, "a dry run changed state");
    free(before);
    free(after);
    /* For real. */
    cr_assert_eq(resolve(cid, FR_RESOLVE_RESCHEDULE, NULL, 3 * HOUR, 0, &out, NULL), FR_OK);
    cr_assert_eq(out.resolution_actions_len, 1);
    fr_conflict_clear(&out);
    fr_allocation x = get_alloc(b);
    cr_assert_eq(x.status, FR_ALLOC_CONFIRMED);
    cr_assert_eq(x.start_ms, T0 + 3 * HOUR, "the first later fit: after v4's two units");
    cr_assert_eq(x.end_ms, T0 + 4 * HOUR, "duration kept");
    fr_allocation_clear(&x);
    x = get_alloc(a);
    cr_assert_eq(x.start_ms, T0 + HOUR);
    fr_allocation_clear(&x);
    fr_pool p = get_pool(pool);
    fr_pool_clear(&p);
    cr_assert_eq(count_conflicts(), 1, "no new conflict");
}

Test(conflicts, resolve_reassign_moves_to_another_pool_with_room)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE], p3[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE];
    char cid[FR_ID_SIZE], filler[FR_ID_SIZE];
    mk_pool(p1, FLEET, "Bay A", TYPE, 2 * U);
    mk_pool(p2, FLEET, "Bay B", TYPE, U);
    mk_pool(p3, FLEET, "Bay C", TYPE, 3 * U); /* more room: B has the least that fits */
    mk_pool(NULL, FLEET, "Other type", "parking", 9 * U);
    must_book_prio(p1, "v1", U, T0 + HOUR, T0 + 2 * HOUR, 4, a);
    must_book_prio(p1, "v2", U, T0 + HOUR, T0 + 2 * HOUR, 1, b);
    must_book_prio(p2, "v3", U, T0 + 90 * MIN, T0 + 2 * HOUR, 0, filler);
    must_book_prio(p3, "v4", 3 * U, T0 + 90 * MIN, T0 + 2 * HOUR, 0, NULL);
    cut_to(p1, U, cid);
    /* Neither B nor C has room for the whole hour. */
    assert_refused_unchanged(cid, FR_RESOLVE_REASSIGN, 0, FR_EUNRESOLVABLE);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, filler, NULL, NULL), FR_OK);
    fr_conflict out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(resolve(cid, FR_RESOLVE_REASSIGN, NULL, 0, 0, &out, &res), FR_OK, "%s",
                 res.message);
    cr_assert_eq(out.resolution_actions_len, 1);
    cr_assert_str_eq(out.resolution_actions[0].allocation_id, b);
    cr_assert_str_eq(out.resolution_actions[0].action, "reassigned");
    cr_assert_str_eq(out.resolution_actions[0].from, p1);
    cr_assert_str_eq(out.resolution_actions[0].to, p2);
    fr_conflict_clear(&out);
    fr_allocation x = get_alloc(b);
    cr_assert_str_eq(x.pool_id, p2);
    cr_assert_eq(x.start_ms, T0 + HOUR);
    cr_assert_eq(x.status, FR_ALLOC_CONFIRMED);
    fr_allocation_clear(&x);
    fr_pool pool = get_pool(p2);
    fr_pool_clear(&pool);
    /* The ledgers follow: p2 is now full for that hour, p1 fits again. */
    cr_assert_eq(book(p2, "v9", U, T0 + HOUR, T0 + 2 * HOUR, NULL, &res), FR_ECAPACITY);
    fr_result_clear(&res);
    cr_assert_eq(book(p1, "v9", U, T0 + HOUR, T0 + 2 * HOUR, NULL, &res), FR_ECAPACITY);
    fr_result_clear(&res);
    cr_assert_eq(book(p1, "v9", U, T0 + 2 * HOUR, T0 + 3 * HOUR, NULL, &res), FR_OK);
    fr_result_clear(&res);
}

Test(conflicts_sqlite, resolve_reassign_survives_reopen)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE], cid[FR_ID_SIZE];
    mk_pool(p1, FLEET, "Bay A", TYPE, 2 * U);
    mk_pool(p2, FLEET, "Bay B", TYPE, U);
    must_book_prio(p1, "v1", U, T0 + HOUR, T0 + 2 * HOUR, 4, a);
    must_book_prio(p1, "v2", U, T0 + HOUR, T0 + 2 * HOUR, 1, b);
    cut_to(p1, U, cid);
    cr_assert_eq(resolve(cid, FR_RESOLVE_REASSIGN, "moved", 0, 0, NULL, NULL), FR_OK);
    char *before = state_text();
    reopen();
    char *after = state_text();
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book(p2, "v9", U, T0 + HOUR, T0 + 2 * HOUR, NULL, &res), FR_ECAPACITY,
                 "the reassigned booking is in p2's ledger after a reload");
    fr_result_clear(&res);
}

Test(conflicts, resolve_manual_needs_a_note_and_changes_nothing_else)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE], cid[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book_prio(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, 0, a);
    must_book_prio(pool, "v2", U, T0 + HOUR, T0 + 2 * HOUR, 0, b);
    cut_to(pool, U, cid);
    assert_refused_unchanged(UNKNOWN_ID, FR_RESOLVE_PREEMPT, 0, FR_ENOTFOUND);
    assert_refused_unchanged(cid, 9, 0, FR_EINVAL);
    assert_refused_unchanged(cid, FR_RESOLVE_RESCHEDULE, 500, FR_EINVAL);
    assert_refused_unchanged(cid, FR_RESOLVE_RESCHEDULE, FR_HORIZON_SEARCH_MS + 1, FR_EINVAL);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(resolve(cid, FR_RESOLVE_MANUAL, "", 0, 0, NULL, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "note");
    fr_result_clear(&res);
    fr_conflict out;
    cr_assert_eq(resolve(cid, FR_RESOLVE_MANUAL, "vehicles will share", 0, 0, &out, NULL), FR_OK);
    cr_assert_str_eq(out.resolution_strategy, "manual");
    cr_assert_str_eq(out.resolution_note, "vehicles will share");
    cr_assert_eq(out.resolution_actions_len, 0);
    fr_conflict_clear(&out);
    cr_assert_eq(alloc_status(a), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(b), FR_ALLOC_CONFIRMED);
    /* A manual conflict: only "manual" resolves it. */
    const char *ids[] = {a};
    fr_conflict_params mp = {pool, "bay blocked by a truck", T0, T0 + HOUR, ids, 1};
    fr_conflict m;
    cr_assert_eq(fr_conflict_create(g_e, NULL, &mp, &m, NULL), FR_OK);
    assert_refused_unchanged(m.id, FR_RESOLVE_PREEMPT, 0, FR_EUNRESOLVABLE);
    cr_assert_eq(resolve(m.id, FR_RESOLVE_MANUAL, "truck moved", 0, 0, NULL, NULL), FR_OK);
    fr_conflict_clear(&m);
}

Test(conflicts, resolve_moves_unresolvable_once_everything_started)
{
    /* Both bookings are in progress: reschedule and reassign may move
     * neither (preempt always can clear an over-capacity conflict). */
    char pool[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE], cid[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book_prio(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, 0, a);
    must_book_prio(pool, "v2", U, T0 + HOUR, T0 + 2 * HOUR, 0, b);
    cut_to(pool, U, cid);
    g_now = T0 + 90 * MIN; /* both started: only preempt may act */
    assert_refused_unchanged(cid, FR_RESOLVE_RESCHEDULE, 0, FR_EUNRESOLVABLE);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(resolve(cid, FR_RESOLVE_REASSIGN, NULL, 0, 0, NULL, &res), FR_EUNRESOLVABLE);
    cr_assert(strstr(res.message, cid) != NULL, "%s", res.message);
    fr_result_clear(&res);
}

static void make_double(char pool[FR_ID_SIZE], char a[FR_ID_SIZE], char b[FR_ID_SIZE],
                        char cid[FR_ID_SIZE])
{
    fr_pool_params pp;
    pool_params(&pp, FLEET, "Shared", TYPE, 5 * U);
    pp.set |= FR_POOL_F_EXCLUSIVE;
    pp.exclusive_per_vehicle = 0;
    mk_pool_p(pool, &pp);
    must_book_prio(pool, "v1", U, T0 + HOUR, T0 + 3 * HOUR, 8, a);
    must_book_prio(pool, "v1", U, T0 + 2 * HOUR, T0 + 4 * HOUR, 2, b);
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_EXCLUSIVE;
    u.exclusive_per_vehicle = 1;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_update(g_e, NULL, pool, &u, NULL, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 1);
    memcpy(cid, res.conflicts_detected[0], FR_ID_SIZE);
    fr_result_clear(&res);
}

Test(conflicts, resolve_double_booking_preempts_the_lower_priority)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE], cid[FR_ID_SIZE];
    make_double(pool, a, b, cid);
    assert_refused_unchanged(cid, FR_RESOLVE_REASSIGN, 0, FR_EUNRESOLVABLE);
    fr_conflict out;
    cr_assert_eq(resolve(cid, FR_RESOLVE_PREEMPT, NULL, 0, 0, &out, NULL), FR_OK);
    cr_assert_eq(out.resolution_actions_len, 1);
    cr_assert_str_eq(out.resolution_actions[0].allocation_id, b);
    fr_conflict_clear(&out);
    cr_assert_eq(alloc_status(a), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(b), FR_ALLOC_PREEMPTED);
}

Test(conflicts, resolve_double_booking_reschedules_after_the_other)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE], cid[FR_ID_SIZE];
    make_double(pool, a, b, cid);
    assert_refused_unchanged(cid, FR_RESOLVE_RESCHEDULE, 30 * MIN, FR_EUNRESOLVABLE);
    fr_conflict out;
    cr_assert_eq(resolve(cid, FR_RESOLVE_RESCHEDULE, NULL, 0, 0, &out, NULL), FR_OK);
    cr_assert_eq(out.resolution_actions_len, 1);
    fr_conflict_clear(&out);
    fr_allocation x = get_alloc(b);
    cr_assert_eq(x.start_ms, T0 + 3 * HOUR, "right after a ends");
    cr_assert_eq(x.end_ms, T0 + 5 * HOUR);
    fr_allocation_clear(&x);
    fr_conflict c = get_conflict(cid);
    cr_assert_eq(c.status, FR_CONFLICT_RESOLVED);
    cr_assert_str_eq(c.resolution_strategy, "reschedule");
    fr_conflict_clear(&c);
}

/* ---- randomized: preempt is minimal (brute force) and clears the overload -------- */

typedef struct rnd_alloc {
    char id[FR_ID_SIZE];
    int64_t start, end, qty;
    int32_t prio;
    int live;
} rnd_alloc;

static uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The seed of a randomized test: FR_TEST_SEED, or the time plus salt;
 * printed so that a failure can be repeated. */
static uint64_t test_seed(const char *test, uint64_t salt)
{
    const char *env = getenv("FR_TEST_SEED");
    uint64_t seed = env != NULL ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) + salt;
    seed = seed == 0 ? 1 : seed;
    fprintf(stderr, "%s: seed %" PRIu64 " (FR_TEST_SEED to repeat)\n", test, seed);
    return seed;
}

/* The live allocations of a pool. */
static size_t pool_allocs(const char *pool, rnd_alloc *out, size_t max)
{
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    q.pool_id = pool;
    fr_allocation *items = NULL;
    size_t n = 0, k = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_allocation_list(g_e, &q, &items, &n, cursor), FR_OK);
    for (size_t i = 0; i < n && k < max; i++) {
        if (items[i].status != FR_ALLOC_HELD && items[i].status != FR_ALLOC_CONFIRMED) {
            continue;
        }
        memcpy(out[k].id, items[i].id, FR_ID_SIZE);
        out[k].start = items[i].start_ms;
        out[k].end = items[i].end_ms;
        out[k].qty = items[i].quantity_milli;
        out[k].prio = items[i].priority;
        out[k].live = 1;
        k++;
    }
    fr_allocation_free_array(items, n);
    return k;
}

/* 1 when the live ones (minus mask) fit cap at every instant of [s, e). */
static int fits(const rnd_alloc *a, size_t n, uint32_t removed, int64_t cap, int64_t s,
                int64_t e)
{
    for (size_t p = 0; p <= n; p++) {
        int64_t t = p == n ? s : a[p].start; /* breakpoints: s and every start */
        if (t < s || t >= e) {
            continue;
        }
        int64_t booked = 0;
        for (size_t i = 0; i < n; i++) {
            int gone = i < 32 && (removed >> i & 1u);
            if (!gone && a[i].start <= t && t < a[i].end) {
                booked += a[i].qty;
            }
        }
        if (booked > cap) {
            return 0;
        }
    }
    return 1;
}

static void brute_force(const rnd_alloc *a, size_t n, int64_t cap, int64_t s, int64_t e,
                        int *best_count, int64_t *best_prio)
{
    *best_count = -1;
    for (uint32_t mask = 0; mask < (1u << n); mask++) {
        int count = __builtin_popcount(mask);
        int64_t prio = 0;
        for (size_t i = 0; i < n; i++) {
            prio += (mask >> i & 1u) ? a[i].prio : 0;
        }
        if ((*best_count < 0 || count < *best_count ||
             (count == *best_count && prio < *best_prio)) &&
            fits(a, n, mask, cap, s, e)) {
            *best_count = count;
            *best_prio = prio;
        }
    }
}

static void random_round(uint64_t *rng, int round)
{
    char pool[FR_ID_SIZE], name[32];
    snprintf(name, sizeof name, "rnd-%d", round);
    mk_pool(pool, FLEET, name, TYPE, 100 * U);
    size_t n = 1 + rnd_next(rng) % 8;
    for (size_t i = 0; i < n; i++) {
        int64_t start = T0 + HOUR + (int64_t)(rnd_next(rng) % 10) * 30 * MIN;
        int64_t len = (1 + (int64_t)(rnd_next(rng) % 4)) * 30 * MIN;
        char veh[32];
        snprintf(veh, sizeof veh, "r%d-v%zu", round, i);
        must_book_prio(pool, veh, (1 + (int64_t)(rnd_next(rng) % 3)) * U, start, start + len,
                       (int32_t)(rnd_next(rng) % 6), NULL);
    }
    int64_t cap = (1 + (int64_t)(rnd_next(rng) % 4)) * U;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(pool, cap, &res), FR_OK);
    size_t nc = res.conflicts_detected_len;
    char(*cids)[FR_ID_SIZE] = calloc(nc + 1, FR_ID_SIZE);
    if (nc > 0) {
        memcpy(cids, res.conflicts_detected, nc * FR_ID_SIZE);
    }
    fr_result_clear(&res);
    for (size_t k = 0; k < nc; k++) {
        fr_conflict c = get_conflict(cids[k]);
        if (c.status != FR_CONFLICT_OPEN) {
            fr_conflict_clear(&c);
            continue;
        }
        rnd_alloc a[16];
        size_t m = pool_allocs(pool, a, 16);
        int best_count = 0;
        int64_t best_prio = 0;
        brute_force(a, m, cap, c.start_ms, c.end_ms, &best_count, &best_prio);
        fr_conflict out;
        cr_assert_eq(resolve(c.id, FR_RESOLVE_PREEMPT, NULL, 0, 0, &out, NULL), FR_OK,
                     "round %d", round);
        int64_t prio = 0;
        for (size_t i = 0; i < out.resolution_actions_len; i++) {
            for (size_t j = 0; j < m; j++) {
                prio += strcmp(a[j].id, out.resolution_actions[i].allocation_id) == 0 ? a[j].prio : 0;
            }
        }
        cr_assert_eq((int)out.resolution_actions_len, best_count,
                     "round %d: %zu victims, brute force %d", round, out.resolution_actions_len,
                     best_count);
        cr_assert_eq(prio, best_prio, "round %d: priority %" PRId64 ", brute force %" PRId64,
                     round, prio, best_prio);
        fr_conflict_clear(&out);
        size_t after = pool_allocs(pool, a, 16);
        cr_assert(fits(a, after, 0, cap, c.start_ms, c.end_ms), "round %d: still over", round);
        fr_conflict_clear(&c);
    }
    free(cids);
    rnd_alloc a[16];
    size_t left = pool_allocs(pool, a, 16);
    cr_assert(fits(a, left, 0, cap, FR_TIME_MIN_MS, FR_TIME_INF), "round %d: invariant", round);
}

Test(conflicts, resolve_preempt_random_minimal_vs_brute_force, .timeout = 240)
{
    uint64_t seed = test_seed("resolve_preempt_random", 0);
    uint64_t rng = seed;
    for (int round = 0; round < 300; round++) {
        random_round(&rng, round);
    }
}

/* Beyond the exact solver's size: the greedy sweep still clears the excess,
 * and on identical intervals it is optimal (the lowest priorities go). */
Test(conflicts, resolve_preempt_large_conflicts_use_the_greedy_sweep, .timeout = 120)
{
    char pool[FR_ID_SIZE], cid[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Big", TYPE, 40 * U);
    for (int i = 0; i < 40; i++) {
        char veh[16];
        snprintf(veh, sizeof veh, "s%d", i);
        must_book_prio(pool, veh, U, T0 + HOUR, T0 + 2 * HOUR, (int32_t)(i % 10), NULL);
    }
    cut_to(pool, 25 * U, cid);
    fr_conflict out;
    cr_assert_eq(resolve(cid, FR_RESOLVE_PREEMPT, NULL, 0, 0, &out, NULL), FR_OK);
    cr_assert_eq(out.resolution_actions_len, 15);
    fr_conflict_clear(&out);
    rnd_alloc a[64];
    size_t n = pool_allocs(pool, a, 64);
    cr_assert_eq(n, 25);
    int64_t kept_prio = 0;
    for (size_t i = 0; i < n; i++) {
        kept_prio += a[i].prio;
    }
    /* 40 bookings, 4 of each priority 0..9: the 15 lowest are 4x0..3x3. */
    cr_assert_eq(kept_prio, 4 * (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9) - (4 * (0 + 1 + 2) + 3 * 3));

    /* Random staggered bookings: whatever the greedy picks, it clears. */
    uint64_t rng = 12345;
    for (int round = 0; round < 5; round++) {
        char p2[FR_ID_SIZE], name[32];
        snprintf(name, sizeof name, "stagger-%d", round);
        mk_pool(p2, FLEET, name, TYPE, 100 * U);
        for (int i = 0; i < 50; i++) {
            char veh[32];
            snprintf(veh, sizeof veh, "g%d-%d", round, i);
            int64_t start = T0 + HOUR + (int64_t)(rnd_next(&rng) % 12) * 15 * MIN;
            int64_t len = (1 + (int64_t)(rnd_next(&rng) % 8)) * 15 * MIN;
            must_book_prio(p2, veh, (1 + (int64_t)(rnd_next(&rng) % 3)) * U, start, start + len,
                           (int32_t)(rnd_next(&rng) % 10), NULL);
        }
        fr_result res;
        fr_result_init(&res);
        int64_t cap = (10 + (int64_t)(rnd_next(&rng) % 10)) * U;
        cr_assert_eq(set_pool_capacity(p2, cap, &res), FR_OK);
        for (size_t k = 0; k < res.conflicts_detected_len; k++) {
            fr_conflict c = get_conflict(res.conflicts_detected[k]);
            if (c.status == FR_CONFLICT_OPEN) {
                cr_assert_eq(resolve(c.id, FR_RESOLVE_PREEMPT, NULL, 0, 0, NULL, NULL), FR_OK);
            }
            fr_conflict_clear(&c);
        }
        fr_result_clear(&res);
        rnd_alloc b[64];
        size_t left = pool_allocs(p2, b, 64);
        cr_assert(fits(b, left, 0, cap, FR_TIME_MIN_MS, FR_TIME_INF), "round %d", round);
    }
}

Test(conflicts, resolve_strategy_names_and_struct_size)
{
    static const char *const names[] = {"preempt", "reschedule", "reassign", "manual"};
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(fr_resolve_strategy_name(i), names[i]);
        cr_assert_eq(fr_resolve_strategy_parse(names[i]), i);
    }
    cr_assert_null(fr_resolve_strategy_name(4));
    cr_assert_null(fr_resolve_strategy_name(-1));
    cr_assert_eq(fr_resolve_strategy_parse("auto"), -1, "auto is the engine's, not a choice");
    cr_assert_eq(fr_resolve_strategy_parse(NULL), -1);
    cr_assert_eq(fr_struct_size("fr_resolve_params"), sizeof(fr_resolve_params));
    cr_assert_str_eq(fr_errcode(FR_EUNRESOLVABLE), "unresolvable");
}

/* ---- randomized: every strategy either clears the conflict or changes nothing ---- */

static int get_conflict_status(const char *id)
{
    fr_conflict c = get_conflict(id);
    int s = c.status;
    fr_conflict_clear(&c);
    return s;
}

static int64_t pool_cap(const char *pool)
{
    fr_pool p = get_pool(pool);
    int64_t cap = p.total_capacity_milli;
    fr_pool_clear(&p);
    return cap;
}

/* Durations and quantities of the allocations that are still live are the
 * ones they had before (moves keep them). */
static void assert_moves_keep_shape(const rnd_alloc *before, size_t nb, const rnd_alloc *after,
                                    size_t na, int round)
{
    for (size_t i = 0; i < na; i++) {
        for (size_t j = 0; j < nb; j++) {
            if (strcmp(after[i].id, before[j].id) == 0) {
                cr_assert_eq(after[i].end - after[i].start, before[j].end - before[j].start,
                             "round %d: duration changed", round);
                cr_assert_eq(after[i].qty, before[j].qty, "round %d", round);
                cr_assert(after[i].start >= before[j].start, "round %d: moved earlier", round);
            }
        }
    }
}

/* Resolves with a strategy that may clear the conflict or be refused (409
 * unresolvable); anything else fails the round.  Returns which. */
static int resolve_or_refused(const char *cid, int strategy, int64_t delay_ms, int round)
{
    fr_result r;
    fr_result_init(&r);
    int rc = resolve(cid, strategy, NULL, delay_ms, 0, NULL, &r);
    cr_assert(rc == FR_OK || rc == FR_EUNRESOLVABLE, "round %d: rc %d %s", round, rc,
              r.message);
    fr_result_clear(&r);
    return rc;
}

static int g_outcomes[3][2]; /* [strategy][refused] */

static void strategy_round(uint64_t *rng, int round)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE], fleet[32];
    snprintf(fleet, sizeof fleet, "fleet-%d", round); /* its own spare pool only */
    mk_pool(p1, fleet, "busy", TYPE, 100 * U);
    mk_pool(p2, fleet, "spare", TYPE, (1 + (int64_t)(rnd_next(rng) % 3)) * U);
    size_t n = 2 + rnd_next(rng) % 8;
    for (size_t i = 0; i < n; i++) {
        int64_t start = T0 + HOUR + (int64_t)(rnd_next(rng) % 8) * 30 * MIN;
        int64_t len = (1 + (int64_t)(rnd_next(rng) % 4)) * 30 * MIN;
        char veh[32];
        snprintf(veh, sizeof veh, "x%d-v%zu", round, i);
        must_book_prio(p1, veh, (1 + (int64_t)(rnd_next(rng) % 2)) * U, start, start + len,
                       (int32_t)(rnd_next(rng) % 6), NULL);
    }
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(p1, (1 + (int64_t)(rnd_next(rng) % 3)) * U, &res), FR_OK);
    size_t nc = res.conflicts_detected_len;
    char(*cids)[FR_ID_SIZE] = calloc(nc + 1, FR_ID_SIZE);
    if (nc > 0) {
        memcpy(cids, res.conflicts_detected, nc * FR_ID_SIZE);
    }
    fr_result_clear(&res);
    for (size_t k = 0; k < nc; k++) {
        fr_conflict c = get_conflict(cids[k]);
        int open = c.status == FR_CONFLICT_OPEN;
        int64_t c_start = c.start_ms, c_end = c.end_ms;
        fr_conflict_clear(&c);
        if (!open) {
            continue;
        }
        int strategy = (int)(rnd_next(rng) % 3);
        int64_t delay = (int64_t)(1 + rnd_next(rng) % 6) * HOUR;
        rnd_alloc before[32];
        size_t nb = pool_allocs(p1, before, 32);
        char *state = state_text_of(fleet);
        int rc = resolve_or_refused(cids[k], strategy, delay, round);
        char *after_state = state_text_of(fleet);
        g_outcomes[strategy][rc != FR_OK]++;
        if (rc != FR_OK) {
            cr_assert_str_eq(after_state, state, "round %d: a refusal changed state", round);
        } else {
            cr_assert_eq(get_conflict_status(cids[k]), FR_CONFLICT_RESOLVED);
        }
        free(state);
        free(after_state);
        rnd_alloc after[32];
        size_t na = pool_allocs(p1, after, 32);
        assert_moves_keep_shape(before, nb, after, na, round);
        cr_assert(rc != FR_OK || fits(after, na, 0, pool_cap(p1), c_start, c_end),
                  "round %d: %s left the interval over capacity", round,
                  fr_resolve_strategy_name(strategy));
    }
    free(cids);
    rnd_alloc a[32];
    size_t m = pool_allocs(p2, a, 32);
    cr_assert(fits(a, m, 0, pool_cap(p2), FR_TIME_MIN_MS, FR_TIME_INF),
              "round %d: reassign overfilled the spare pool", round);
}

Test(conflicts, resolve_random_strategies_clear_or_change_nothing, .timeout = 240)
{
    uint64_t seed = test_seed("resolve_random_strategies", 7);
    uint64_t rng = seed;
    for (int round = 0; round < 150; round++) {
        strategy_round(&rng, round);
    }
    for (int s = 0; s < 3; s++) { /* both outcomes of every strategy were exercised */
        cr_assert(g_outcomes[s][0] > 0, "%s never succeeded", fr_resolve_strategy_name(s));
        cr_assert(s == FR_RESOLVE_PREEMPT || g_outcomes[s][1] > 0, "%s never refused",
                  fr_resolve_strategy_name(s));
    }
}

/* ---- randomized: a resolution reconciles only around what it moved --------- */

/* The fleet's conflicts as text (versions and update times included). */
static char *conflicts_text_of(const char *fleet)
{
    char *acc = NULL;
    size_t len = 0;
    append_conflicts(&acc, &len, fleet);
    return acc != NULL ? acc : strdup("");
}

/* Many runs over three days; resolutions (preempt, reschedule, reassign)
 * reconcile only the window around the bookings they moved.  After each
 * one, a PUT of the same capacity reconciles the whole pool: it must find
 * nothing to do (no conflict detected, updated or resolved), so the
 * windowed reconciliation left exactly what a full one would. */
static void window_round(uint64_t *rng, int round)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE], fleet[32];
    snprintf(fleet, sizeof fleet, "wfleet-%d", round);
    mk_pool(p1, fleet, "busy", TYPE, 100 * U);
    mk_pool(p2, fleet, "spare", TYPE, (int64_t)(rnd_next(rng) % 4) * U + U);
    size_t n = 30 + rnd_next(rng) % 50;
    char(*aids)[FR_ID_SIZE] = calloc(n, FR_ID_SIZE);
    for (size_t i = 0; i < n; i++) {
        int64_t start = T0 + HOUR + (int64_t)(rnd_next(rng) % (3 * 48)) * 30 * MIN;
        int64_t len = (1 + (int64_t)(rnd_next(rng) % 8)) * 30 * MIN;
        char veh[32];
        snprintf(veh, sizeof veh, "w%d-v%zu", round, i);
        must_book_prio(p1, veh, (1 + (int64_t)(rnd_next(rng) % 2)) * U, start, start + len,
                       (int32_t)(rnd_next(rng) % 6), aids[i]);
    }
    int64_t cap = (1 + (int64_t)(rnd_next(rng) % 3)) * U;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(p1, cap, &res), FR_OK);
    size_t nc = res.conflicts_detected_len;
    char(*cids)[FR_ID_SIZE] = calloc(nc + 1, FR_ID_SIZE);
    memcpy(cids, res.conflicts_detected, nc * FR_ID_SIZE);
    fr_result_clear(&res);
    /* Cancellations split runs: conflicts become hulls of several runs
     * (each cancellation reconciles the whole pool). */
    for (size_t i = 0; i < n; i++) {
        if (rnd_next(rng) % 4 == 0) {
            fr_allocation gone;
            fr_result_init(&res);
            cr_assert_eq(fr_allocation_delete(g_e, NULL, aids[i], &gone, &res), FR_OK);
            fr_allocation_clear(&gone);
            fr_result_clear(&res);
        }
    }
    free(aids);
    for (size_t k = 0; k < nc; k++) {
        size_t pick = (size_t)(rnd_next(rng) % nc); /* any order, some twice */
        if (get_conflict_status(cids[pick]) != FR_CONFLICT_OPEN) {
            continue;
        }
        int strategy = (int)(rnd_next(rng) % 3);
        int64_t delay = (int64_t)(1 + rnd_next(rng) % 12) * HOUR;
        (void)resolve_or_refused(cids[pick], strategy, delay, round);
        char *windowed = conflicts_text_of(fleet);
        fr_result r2;
        fr_result_init(&r2);
        cr_assert_eq(set_pool_capacity(p1, cap, &r2), FR_OK);
        cr_assert_eq(r2.conflicts_detected_len, 0,
                     "round %d: a full reconciliation after %s found %zu new conflicts", round,
                     fr_resolve_strategy_name(strategy), r2.conflicts_detected_len);
        fr_result_clear(&r2);
        char *full = conflicts_text_of(fleet);
        cr_assert_str_eq(full, windowed,
                         "round %d: a full reconciliation after %s changed conflicts", round,
                         fr_resolve_strategy_name(strategy));
        free(windowed);
        free(full);
    }
    free(cids);
}

Test(conflicts, resolution_reconciles_like_a_full_pass)
{
    uint64_t seed = test_seed("resolution_reconciles_like_a_full_pass", 11);
    uint64_t rng = seed;
    for (int round = 0; round < 100; round++) {
        window_round(&rng, round);
    }
}

/* ---- randomized: the ids of many conflicts detected at once ------------------ */

static size_t g_listing_conflicts, g_listing_most;

typedef struct listed_booking {
    char id[FR_ID_SIZE];
    int64_t start, end;
    int live;
} listed_booking;

static int by_id(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The booking with this id, from bookings sorted by id. */
static const listed_booking *find_listed(const char *id, const listed_booking *by_ids, size_t n)
{
    return bsearch(id, by_ids, n, sizeof *by_ids, by_id);
}

/* Checks one conflict's ids against the bookings over its interval: all of
 * them, each once, ordered by start, or when more than the conflict may
 * list, the first ones by start.  by_ids: the bookings sorted by id. */
static void check_listed(const fr_conflict *c, const listed_booking *by_ids, size_t n,
                         int round)
{
    size_t over = 0;
    for (size_t i = 0; i < n; i++) {
        const listed_booking *x = &by_ids[i];
        over += x->live && x->start < c->end_ms && x->end > c->start_ms;
    }
    size_t cap = 1000; /* FR__CONFLICT_IDS_MAX */
    cr_assert_eq(c->allocation_ids_len, over < cap ? over : cap,
                 "round %d: %zu ids listed, %zu over [%" PRId64 ", %" PRId64 ")", round,
                 c->allocation_ids_len, over, c->start_ms, c->end_ms);
    char(*got)[FR_ID_SIZE] = calloc(c->allocation_ids_len + 1, FR_ID_SIZE);
    int64_t last_start = INT64_MIN;
    for (size_t i = 0; i < c->allocation_ids_len; i++) {
        const listed_booking *x = find_listed(c->allocation_ids[i], by_ids, n);
        cr_assert(x != NULL && x->live && x->start < c->end_ms && x->end > c->start_ms,
                  "round %d: %s listed but not over the conflict", round, c->allocation_ids[i]);
        cr_assert_geq(x->start, last_start, "round %d: ids not in start order", round);
        last_start = x->start;
        memcpy(got[i], c->allocation_ids[i], FR_ID_SIZE);
    }
    qsort(got, c->allocation_ids_len, FR_ID_SIZE, by_id);
    for (size_t i = 1; i < c->allocation_ids_len; i++) {
        cr_assert_str_neq(got[i - 1], got[i], "round %d: %s listed twice", round, got[i]);
    }
    /* Listed: each once, all over it; so with as many as there are, all of
     * them.  When capped, nothing left out starts before the last listed. */
    for (size_t i = 0; over > cap && i < n; i++) {
        const listed_booking *x = &by_ids[i];
        int listed = bsearch(x->id, got, c->allocation_ids_len, FR_ID_SIZE, by_id) != NULL;
        cr_assert(listed || !x->live || x->start >= c->end_ms || x->end <= c->start_ms ||
                      x->start >= last_start,
                  "round %d: %s left out before the last listed", round, x->id);
    }
    free(got);
}

/* Each conflict.detected event after seq0 holds its conflict as a read
 * returns it (nothing changed them since): the events' JSON writes the
 * ids from where the engine keeps them. */
static void check_detected_events(const char *fleet, int64_t seq0, size_t detected, int round)
{
    size_t seen = 0;
    int64_t after = seq0;
    for (;;) {
        fr_event *items = NULL;
        size_t n = 0;
        cr_assert_eq(fr_event_list(g_e, after, FR_LIST_LIMIT_MAX, fleet, &items, &n), FR_OK);
        for (size_t i = 0; i < n; i++) {
            after = items[i].seq;
            if (strcmp(items[i].type, "conflict.detected") != 0) {
                continue;
            }
            fr_conflict c = get_conflict(items[i].entity_id);
            char *json = NULL;
            cr_assert_eq(fr_conflict_to_json(&c, &json), FR_OK);
            cr_assert_str_eq(items[i].data_json, json, "round %d: event %" PRId64, round,
                             items[i].seq);
            fr_free(json);
            fr_conflict_clear(&c);
            seen++;
        }
        fr_event_free_array(items, n);
        if (n < FR_LIST_LIMIT_MAX) {
            break;
        }
    }
    cr_assert_eq(seen, detected, "round %d: %zu conflict.detected events", round, seen);
}

/* A cut that makes many runs at once: short bookings over days, some long
 * ones across several runs, sometimes a thick layer of bookings spanning
 * everything (each run then lists more than a conflict may hold, and a
 * batch of runs more than one walk lists), and cancellations that free
 * ledger records for reuse.  Every conflict must list exactly the bookings
 * over it. */
static void listing_round(uint64_t *rng, int round, int reopen_after)
{
    char pool[FR_ID_SIZE], fleet[32];
    snprintf(fleet, sizeof fleet, "lfleet-%d", round);
    mk_pool(pool, fleet, "busy", TYPE, 100000 * U);
    size_t base = round % 8 == 7   ? 4100 + rnd_next(rng) % 200
                  : round % 8 == 3 ? 1100 + rnd_next(rng) % 200
                                   : rnd_next(rng) % 3;
    size_t n = base + 500 + rnd_next(rng) % 1500;
    listed_booking *b = calloc(n, sizeof *b);
    int64_t days = 3 + (int64_t)(rnd_next(rng) % 6);
    for (size_t i = 0; i < n; i++) {
        int64_t start, len;
        if (i < base) { /* spans every run */
            start = T0 + (int64_t)(rnd_next(rng) % 60) * MIN;
            len = (days + 1) * 24 * HOUR;
        } else if (rnd_next(rng) % 20 == 0) { /* across several runs */
            start = T0 + HOUR + (int64_t)(rnd_next(rng) % (uint64_t)(days * 96)) * 15 * MIN;
            len = (4 + (int64_t)(rnd_next(rng) % 20)) * HOUR;
        } else {
            start = T0 + HOUR + (int64_t)(rnd_next(rng) % (uint64_t)(days * 96)) * 15 * MIN;
            len = (1 + (int64_t)(rnd_next(rng) % 8)) * 15 * MIN;
        }
        char veh[48];
        snprintf(veh, sizeof veh, "l%d-v%zu", round, i);
        must_book(pool, veh, U, start, start + len, b[i].id);
        b[i].start = start;
        b[i].end = start + len;
        b[i].live = 1;
        if (i > base && rnd_next(rng) % 10 == 0) { /* a record to reuse */
            size_t k = base + rnd_next(rng) % (i - base);
            if (b[k].live) {
                fr_allocation gone;
                fr_result res;
                fr_result_init(&res);
                cr_assert_eq(fr_allocation_delete(g_e, NULL, b[k].id, &gone, &res), FR_OK);
                fr_allocation_clear(&gone);
                fr_result_clear(&res);
                b[k].live = 0;
            }
        }
    }
    /* About the mean load of the others over the days, above the long
     * layer: many short runs. */
    int64_t busy_ms = 0;
    for (size_t i = base; i < n; i++) {
        busy_ms += b[i].live ? b[i].end - b[i].start : 0;
    }
    int64_t mean = busy_ms / (days * 24 * HOUR);
    int64_t cap = (int64_t)base + mean + (int64_t)(rnd_next(rng) % 3);
    int64_t seq0 = last_seq();
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(pool, cap * U, &res), FR_OK);
    size_t nc = res.conflicts_detected_len;
    qsort(b, n, sizeof *b, by_id);
    for (size_t k = 0; k < nc; k++) {
        fr_conflict c = get_conflict(res.conflicts_detected[k]);
        check_listed(&c, b, n, round);
        fr_conflict_clear(&c);
    }
    check_detected_events(fleet, seq0, nc, round);
    if (reopen_after) { /* stored and read back the same */
        char *before = NULL, *after = NULL;
        size_t len = 0;
        append_conflicts(&before, &len, fleet);
        reopen();
        len = 0;
        append_conflicts(&after, &len, fleet);
        cr_assert_str_eq(after, before, "round %d: conflicts changed across a reopen", round);
        free(before);
        free(after);
    }
    g_listing_conflicts += nc;
    g_listing_most = nc > g_listing_most ? nc : g_listing_most;
    fr_result_clear(&res);
    free(b);
}

Test(conflicts, many_runs_at_once_list_exactly_their_bookings)
{
    uint64_t seed = test_seed("many_runs_at_once_list_exactly_their_bookings", 17);
    uint64_t rng = seed;
    for (int round = 0; round < 24; round++) {
        listing_round(&rng, round, 0);
    }
    /* The batched listing needs 32 runs in a row at least. */
    cr_assert_geq(g_listing_most, 40, "the cuts made at most %zu conflicts", g_listing_most);
    cr_assert_gt(g_listing_conflicts, 24 * 20);
}

/* The same on SQLite, which stores the conflicts (their ids as text) and
 * reads them back after a reopen. */
Test(conflicts_sqlite, many_runs_at_once_survive_reopen)
{
    uint64_t seed = test_seed("many_runs_at_once_survive_reopen", 19);
    uint64_t rng = seed;
    for (int round = 0; round < 3; round++) {
        listing_round(&rng, round, 1);
    }
}
