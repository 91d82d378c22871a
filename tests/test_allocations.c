/*
 * test_allocations.c — allocations (SPEC §3) through the public API: the
 * capacity invariant and its refusal explanation, half-open and open-ended
 * intervals, pool choice by fleet + type, double booking, overcommit, holds
 * with exact expiry, the status lifecycle, updates, batches, and bad input
 * that must change nothing.
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

TestSuite(allocations, .init = setup_mem, .fini = teardown);
TestSuite(allocations_sqlite, .init = setup_sqlite, .fini = teardown);

static int hold(const char *pool_id, const char *vehicle, int64_t qty, int64_t start,
                int64_t end, int64_t hold_ms, char id[FR_ID_SIZE], fr_allocation *out_copy)
{
    fr_allocation_params p;
    alloc_params(&p, pool_id, vehicle, qty, start, end);
    p.set |= FR_ALLOC_F_HOLD;
    p.hold_ms = hold_ms;
    fr_allocation out;
    int rc = fr_allocation_create(g_e, NULL, &p, &out, NULL);
    if (rc == FR_OK) {
        memcpy(id, out.id, FR_ID_SIZE);
        if (out_copy != NULL) {
            *out_copy = out;
        } else {
            fr_allocation_clear(&out);
        }
    }
    return rc;
}

static int set_status(const char *id, int status, fr_allocation *out, fr_result *res)
{
    fr_allocation_params p;
    memset(&p, 0, sizeof p);
    p.set = FR_ALLOC_F_STATUS;
    p.status = status;
    return fr_allocation_update(g_e, NULL, id, &p, out, res);
}

static char *alloc_json(const char *id)
{
    fr_allocation a = get_alloc(id);
    char *json = NULL;
    cr_assert_eq(fr_allocation_to_json(&a, &json), FR_OK);
    fr_allocation_clear(&a);
    return json;
}

/* ---- create and defaults ---------------------------------------------------- */

Test(allocations, create_fills_defaults)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    fr_allocation_params p;
    memset(&p, 0, sizeof p);
    p.set = FR_ALLOC_F_POOL_ID | FR_ALLOC_F_VEHICLE_ID | FR_ALLOC_F_QUANTITY;
    p.pool_id = pool;
    p.vehicle_id = "v1";
    p.quantity_milli = 1500;
    fr_allocation a;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, &a, &res), FR_OK, "%s", res.message);
    cr_assert_eq(strlen(a.id), 36);
    cr_assert_str_eq(a.pool_id, pool);
    cr_assert_str_eq(a.fleet_id, FLEET);
    cr_assert_str_eq(a.resource_type, TYPE);
    cr_assert_str_eq(a.vehicle_id, "v1");
    cr_assert_null(a.operation_id);
    cr_assert_str_eq(a.allocation_type, "default");
    cr_assert_eq(a.quantity_milli, 1500);
    cr_assert_eq(a.start_ms, T0, "start defaults to now");
    cr_assert_eq(a.end_ms, FR_TIME_INF, "end defaults to open-ended");
    cr_assert_eq(a.priority, 0);
    cr_assert_eq(a.status, FR_ALLOC_CONFIRMED);
    cr_assert_eq(a.hold_expires_at_ms, FR_TIME_NULL);
    cr_assert_str_eq(a.request_id, "");
    cr_assert_str_eq(a.plan_id, "");
    cr_assert_str_eq(a.metadata_json, "{}");
    cr_assert_eq(a.released_at_ms, FR_TIME_NULL);
    cr_assert_eq(a.version, 1);
    cr_assert_eq(a.created_at_ms, T0);
    cr_assert_eq(a.updated_at_ms, T0);
    cr_assert_eq(res.conflicts_detected_len, 0);
    fr_allocation got = get_alloc(a.id);
    cr_assert_eq(got.quantity_milli, 1500);
    cr_assert_eq(got.end_ms, FR_TIME_INF);
    fr_allocation_clear(&got);
    fr_allocation_clear(&a);
    fr_result_clear(&res);
}

/* ---- the capacity invariant ----------------------------------------------- */

Test(allocations, capacity_refusal_explains_itself)
{
    char pool[FR_ID_SIZE], a1[FR_ID_SIZE], a2[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 3 * HOUR, a1);
    must_book(pool, "v2", U, T0 + 2 * HOUR, T0 + 4 * HOUR, a2);
    int64_t seq0 = last_seq();
    size_t n0 = count_allocations();

    fr_allocation_params p;
    alloc_params(&p, pool, "v3", U, T0 + 90 * MIN, T0 + 150 * MIN);
    fr_allocation out, sentinel;
    memset(&out, 0x77, sizeof out);
    memcpy(&sentinel, &out, sizeof out);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, &out, &res), FR_ECAPACITY);
    cr_assert_eq(res.status, FR_ECAPACITY);
    cr_assert_str_eq(res.pool_id, pool);
    cr_assert_eq(res.at_ms, T0 + 2 * HOUR, "first instant of violation");
    cr_assert_eq(res.capacity_milli, 2 * U);
    cr_assert_eq(res.free_milli, 0);
    cr_assert_eq(res.requested_milli, U);
    cr_assert_eq(res.conflicting_count, 2);
    cr_assert(has_id(res.conflicting_ids, res.conflicting_count, a1));
    cr_assert(has_id(res.conflicting_ids, res.conflicting_count, a2));
    /* Same duration (1 h) from 1:30 on: [1h,2h) has 1 free but 1:30+1h
     * crosses 2h; [3h,4h) has 1 free: the earliest fit is 3h. */
    cr_assert_eq(res.next_fit_start_ms, T0 + 3 * HOUR, "next_fit_start +%" PRId64,
                 res.next_fit_start_ms - T0);
    cr_assert_eq(res.index, -1);
    cr_assert_neq(res.message[0], '\0');
    cr_assert_eq(memcmp(&out, &sentinel, sizeof out), 0, "out written on failure");
    cr_assert_eq(count_allocations(), n0);
    cr_assert_eq(last_seq(), seq0);
    fr_result_clear(&res);

    /* next_fit is the answer: booking there succeeds. */
    must_book(pool, "v3", U, T0 + 3 * HOUR, T0 + 4 * HOUR, NULL);
}

Test(allocations, next_fit_null_when_nothing_fits_within_30_days)
{
    char pool[FR_ID_SIZE], blocker[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0, T0 + 31 * DAY, blocker);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book(pool, "v2", U, T0, T0 + HOUR, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.at_ms, T0);
    cr_assert_eq(res.next_fit_start_ms, FR_TIME_NULL);
    fr_result_clear(&res);

    /* Within 30 days it is found. */
    char pool2[FR_ID_SIZE];
    mk_pool(pool2, FLEET, "Bay 2", "wash_bay", 1 * U);
    must_book(pool2, "v1", U, T0, T0 + 29 * DAY, NULL);
    cr_assert_eq(book(pool2, "v2", U, T0, T0 + HOUR, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.next_fit_start_ms, T0 + 29 * DAY);
    fr_result_clear(&res);

    /* Open-ended: never. */
    char pool3[FR_ID_SIZE];
    mk_pool(pool3, FLEET, "Bay 3", "parking", 1 * U);
    must_book(pool3, "v1", U, T0 + HOUR, FR_TIME_INF, NULL);
    cr_assert_eq(book(pool3, "v2", U, T0, T0 + 2 * HOUR, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.at_ms, T0 + HOUR);
    cr_assert_eq(res.next_fit_start_ms, FR_TIME_NULL);
    fr_result_clear(&res);
}

Test(allocations, intervals_are_half_open)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0, T0 + HOUR, NULL);
    must_book(pool, "v2", U, T0 + HOUR, T0 + 2 * HOUR, NULL); /* [b, c) after [a, b) */
    must_book(pool, "v3", U, T0 - HOUR, T0, NULL);            /* [z, a) before */
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book(pool, "v4", U, T0 + HOUR - 1, T0 + HOUR + 1, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.at_ms, T0 + HOUR - 1);
    fr_result_clear(&res);
    cr_assert_eq(book(pool, "v4", U, T0 + 2 * HOUR - 1, T0 + 3 * HOUR, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.at_ms, T0 + 2 * HOUR - 1);
    cr_assert_eq(res.next_fit_start_ms, T0 + 2 * HOUR);
    fr_result_clear(&res);
    cr_assert_eq(count_allocations(), 3);
}

Test(allocations, open_ended_blocks_all_later_time)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0 + HOUR, FR_TIME_INF, a);
    fr_allocation got = get_alloc(a);
    cr_assert_eq(got.end_ms, FR_TIME_INF);
    fr_allocation_clear(&got);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book(pool, "v2", U, T0 + 365 * DAY, T0 + 366 * DAY, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.at_ms, T0 + 365 * DAY);
    cr_assert_eq(res.conflicting_count, 1);
    cr_assert_str_eq(res.conflicting_ids[0], a);
    fr_result_clear(&res);
    /* Before it starts there is room, up to its start. */
    must_book(pool, "v2", U, T0, T0 + HOUR, NULL);
    /* An open-ended request over a finite booking conflicts too. */
    char pool2[FR_ID_SIZE];
    mk_pool(pool2, FLEET, "Wash", "wash_bay", 1 * U);
    must_book(pool2, "v1", U, T0 + 100 * DAY, T0 + 101 * DAY, NULL);
    cr_assert_eq(book(pool2, "v2", U, T0, FR_TIME_INF, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.at_ms, T0 + 100 * DAY);
    fr_result_clear(&res);
}

Test(allocations, quantities_are_exact_fixed_point)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Power", "energy", 1 * U); /* 1.000 */
    for (int i = 0; i < 10; i++) {
        fr_allocation_params p;
        alloc_params(&p, pool, NULL, 100, T0, T0 + HOUR); /* 0.1 each: exactly 1 */
        cr_assert_eq(fr_allocation_create(g_e, NULL, &p, NULL, NULL), FR_OK, "item %d", i);
    }
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book(pool, NULL, 1, T0, T0 + HOUR, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.free_milli, 0);
    fr_result_clear(&res);
    fr_pool got = get_pool(pool);
    cr_assert_eq(got.reserved_capacity_milli, 1000);
    cr_assert_eq(got.available_capacity_milli, 0);
    fr_pool_clear(&got);
}

/* ---- pool choice by fleet + type ------------------------------------------- */

static int book_by_type(const char *type, const char *site, const char *vehicle, int64_t qty,
                        int64_t start, int64_t end, fr_allocation *out, fr_result *res)
{
    fr_allocation_params p;
    alloc_params(&p, NULL, vehicle, qty, start, end);
    p.set &= ~FR_ALLOC_F_POOL_ID;
    p.set |= FR_ALLOC_F_FLEET_ID | FR_ALLOC_F_RESOURCE_TYPE;
    p.fleet_id = FLEET;
    p.resource_type = type;
    if (site != NULL) {
        p.set |= FR_ALLOC_F_SITE;
        p.site = site;
    }
    return fr_allocation_create(g_e, NULL, &p, out, res);
}

Test(allocations, pool_choice_least_free_that_fits)
{
    char big[FR_ID_SIZE], small[FR_ID_SIZE], full[FR_ID_SIZE], drain[FR_ID_SIZE];
    mk_pool(big, FLEET, "B-big", TYPE, 3 * U);
    mk_pool(small, FLEET, "C-small", TYPE, 2 * U);
    mk_pool(full, FLEET, "A-full", TYPE, 1 * U);
    must_book(full, "v0", U, T0, T0 + 2 * HOUR, NULL);
    fr_pool_params dp;
    pool_params(&dp, FLEET, "0-draining", TYPE, 1 * U);
    dp.set |= FR_POOL_F_STATUS;
    dp.status = FR_POOL_DRAINING;
    mk_pool_p(drain, &dp);
    char other_fleet[FR_ID_SIZE];
    mk_pool(other_fleet, "fleet-2", "0-other-fleet", TYPE, 1 * U);

    fr_allocation a;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book_by_type(TYPE, NULL, "v1", U, T0, T0 + HOUR, &a, &res), FR_OK, "%s",
                 res.message);
    cr_assert_str_eq(a.pool_id, small, "least free that fits (2 < 3; the full and draining pools are out)");
    cr_assert_str_eq(a.fleet_id, FLEET);
    fr_allocation_clear(&a);
    /* Now small has 1 free, big 3: small again for 1 unit... */
    cr_assert_eq(book_by_type(TYPE, NULL, "v2", U, T0, T0 + HOUR, &a, &res), FR_OK);
    cr_assert_str_eq(a.pool_id, small);
    fr_allocation_clear(&a);
    /* ...and big for the next one (small is full). */
    cr_assert_eq(book_by_type(TYPE, NULL, "v3", U, T0, T0 + HOUR, &a, &res), FR_OK);
    cr_assert_str_eq(a.pool_id, big);
    fr_allocation_clear(&a);
    fr_result_clear(&res);
}

Test(allocations, pool_choice_minimum_over_interval_and_ties_by_name)
{
    char x[FR_ID_SIZE], y[FR_ID_SIZE];
    mk_pool(y, FLEET, "Y", TYPE, 2 * U);
    mk_pool(x, FLEET, "X", TYPE, 3 * U);
    /* X: 2 booked over part of the interval -> min free 1; Y: min free 2. */
    must_book(x, "v0", 2 * U, T0 + 30 * MIN, T0 + 40 * MIN, NULL);
    fr_allocation a;
    cr_assert_eq(book_by_type(TYPE, NULL, "v1", U, T0, T0 + HOUR, &a, NULL), FR_OK);
    cr_assert_str_eq(a.pool_id, x);
    fr_allocation_clear(&a);
    /* 2 units: X does not fit any more (min free 0); Y does. */
    cr_assert_eq(book_by_type(TYPE, NULL, "v2", 2 * U, T0, T0 + HOUR, &a, NULL), FR_OK);
    cr_assert_str_eq(a.pool_id, y);
    fr_allocation_clear(&a);

    /* Ties on free capacity: by name (created in reverse name order). */
    char m[FR_ID_SIZE], z[FR_ID_SIZE];
    mk_pool(z, FLEET, "Zulu", "wash_bay", 2 * U);
    mk_pool(m, FLEET, "Mike", "wash_bay", 2 * U);
    cr_assert_eq(book_by_type("wash_bay", NULL, "v1", U, T0, T0 + HOUR, &a, NULL), FR_OK);
    cr_assert_str_eq(a.pool_id, m);
    fr_allocation_clear(&a);
}

Test(allocations, pool_choice_honours_site)
{
    char north[FR_ID_SIZE], south[FR_ID_SIZE];
    fr_pool_params p;
    pool_params(&p, FLEET, "A", TYPE, 1 * U);
    p.set |= FR_POOL_F_SITE;
    p.site = "north";
    mk_pool_p(north, &p);
    pool_params(&p, FLEET, "B", TYPE, 5 * U);
    p.set |= FR_POOL_F_SITE;
    p.site = "south";
    mk_pool_p(south, &p);
    fr_allocation a;
    cr_assert_eq(book_by_type(TYPE, "south", "v1", U, T0, T0 + HOUR, &a, NULL), FR_OK);
    cr_assert_str_eq(a.pool_id, south);
    fr_allocation_clear(&a);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book_by_type(TYPE, "west", "v2", U, T0, T0 + HOUR, &a, &res), FR_EREFERENCE);
    fr_result_clear(&res);
}

Test(allocations, pool_choice_none_fits_explains_earliest_next_fit)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE], b1[FR_ID_SIZE], b2[FR_ID_SIZE];
    mk_pool(p1, FLEET, "A", TYPE, 1 * U);
    mk_pool(p2, FLEET, "B", TYPE, 1 * U);
    must_book(p1, "v1", U, T0, T0 + 3 * HOUR, b1);
    must_book(p2, "v2", U, T0, T0 + 2 * HOUR, b2);
    size_t n0 = count_allocations();
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book_by_type(TYPE, NULL, "v3", U, T0 + HOUR, T0 + 2 * HOUR, NULL, &res),
                 FR_ECAPACITY);
    cr_assert_str_eq(res.pool_id, p2, "B frees up first");
    cr_assert_eq(res.next_fit_start_ms, T0 + 2 * HOUR);
    cr_assert_eq(res.at_ms, T0 + HOUR);
    cr_assert_eq(res.conflicting_count, 1);
    cr_assert_str_eq(res.conflicting_ids[0], b2);
    cr_assert_eq(count_allocations(), n0);
    fr_result_clear(&res);
}

Test(allocations, pool_choice_unknown_type_is_reference_error)
{
    char p1[FR_ID_SIZE];
    mk_pool(p1, FLEET, "A", TYPE, 1 * U);
    mk_pool(NULL, "fleet-2", "W", "wash_bay", 1 * U);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book_by_type("wash_bay", NULL, "v1", U, T0, T0 + HOUR, NULL, &res),
                 FR_EREFERENCE, "a pool of that type in another fleet does not count");
    cr_assert_eq(res.status, FR_EREFERENCE);
    fr_result_clear(&res);
    /* Also a missing pool_id. */
    cr_assert_eq(book(UNKNOWN_ID, "v1", U, T0, T0 + HOUR, NULL, &res), FR_EREFERENCE);
    cr_assert_str_eq(res.field, "pool_id");
    fr_result_clear(&res);
    cr_assert_eq(count_allocations(), 0);
}

/* ---- double booking ----------------------------------------------------------- */

Test(allocations, double_booking_across_pools_of_same_type)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE], wash[FR_ID_SIZE], shared[FR_ID_SIZE];
    char a1[FR_ID_SIZE];
    mk_pool(p1, FLEET, "Bay 1", TYPE, 5 * U);
    mk_pool(p2, FLEET, "Bay 2", TYPE, 5 * U);
    mk_pool(wash, FLEET, "Wash", "wash_bay", 5 * U);
    fr_pool_params sp;
    pool_params(&sp, FLEET, "Shared", TYPE, 5 * U);
    sp.set |= FR_POOL_F_EXCLUSIVE;
    sp.exclusive_per_vehicle = 0;
    mk_pool_p(shared, &sp);
    must_book(p1, "v1", U, T0, T0 + HOUR, a1);
    int64_t seq0 = last_seq();

    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book(p2, "v1", U, T0 + 30 * MIN, T0 + 90 * MIN, NULL, &res), FR_EDOUBLE);
    cr_assert_eq(res.status, FR_EDOUBLE);
    cr_assert_str_eq(res.vehicle_id, "v1");
    cr_assert_eq(res.conflicting_count, 1);
    cr_assert_str_eq(res.conflicting_ids[0], a1);
    fr_result_clear(&res);
    /* Same pool too. */
    cr_assert_eq(book(p1, "v1", U, T0 + 59 * MIN, T0 + 61 * MIN, NULL, &res), FR_EDOUBLE);
    fr_result_clear(&res);
    cr_assert_eq(last_seq(), seq0);
    cr_assert_eq(count_allocations(), 1);

    /* Not across types; not back to back; not another vehicle or fleet. */
    must_book(wash, "v1", U, T0, T0 + HOUR, NULL);
    must_book(p2, "v1", U, T0 + HOUR, T0 + 2 * HOUR, NULL);
    must_book(p2, "v2", U, T0, T0 + HOUR, NULL);
    char f2[FR_ID_SIZE];
    mk_pool(f2, "fleet-2", "Bay", TYPE, 1 * U);
    must_book(f2, "v1", U, T0, T0 + HOUR, NULL);
    /* Not when booking into a pool without exclusive_per_vehicle. */
    char s1[FR_ID_SIZE];
    must_book(shared, "v1", U, T0, T0 + HOUR, s1);
    must_book(shared, "v1", U, T0, T0 + HOUR, NULL);
    /* But an exclusive pool sees the vehicle's booking in the shared one. */
    cr_assert_eq(book(p1, "v3", U, T0, T0 + HOUR, NULL, &res), FR_OK);
    must_book(shared, "v4", U, T0 + 5 * HOUR, T0 + 6 * HOUR, NULL);
    cr_assert_eq(book(p1, "v4", U, T0 + 5 * HOUR, T0 + 6 * HOUR, NULL, &res), FR_EDOUBLE);
    cr_assert_str_eq(res.vehicle_id, "v4");
    fr_result_clear(&res);
}

Test(allocations, double_booking_checked_before_capacity_and_not_overcommittable)
{
    char p1[FR_ID_SIZE], a1[FR_ID_SIZE];
    mk_pool(p1, FLEET, "Bay", TYPE, 1 * U);
    must_book(p1, "v1", U, T0, T0 + HOUR, a1);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book(p1, "v1", U, T0, T0 + HOUR, NULL, &res), FR_EDOUBLE, "full and double: double");
    fr_result_clear(&res);
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.may_overcommit = 1;
    fr_allocation_params p;
    alloc_params(&p, p1, "v1", U, T0, T0 + HOUR);
    p.set |= FR_ALLOC_F_OVERCOMMIT;
    p.overcommit = 1;
    cr_assert_eq(fr_allocation_create(g_e, &ctx, &p, NULL, &res), FR_EDOUBLE);
    fr_result_clear(&res);
    cr_assert_eq(count_allocations(), 1);
    cr_assert_eq(count_conflicts(), 0);
}

Test(allocations, held_booking_double_books_until_it_expires)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE], h[FR_ID_SIZE];
    mk_pool(p1, FLEET, "Bay 1", TYPE, 5 * U);
    mk_pool(p2, FLEET, "Bay 2", TYPE, 5 * U);
    cr_assert_eq(hold(p1, "v1", U, T0, T0 + 2 * HOUR, 10 * MIN, h, NULL), FR_OK);
    fr_result res;
    fr_result_init(&res);
    g_now = T0 + 10 * MIN - 1;
    cr_assert_eq(book(p2, "v1", U, T0 + HOUR, T0 + 2 * HOUR, NULL, &res), FR_EDOUBLE);
    cr_assert_str_eq(res.conflicting_ids[0], h);
    fr_result_clear(&res);
    g_now = T0 + 10 * MIN;
    cr_assert_eq(book(p2, "v1", U, T0 + HOUR, T0 + 2 * HOUR, NULL, &res), FR_OK, "%s",
                 res.message);
    fr_result_clear(&res);
}

Test(allocations, conflicting_ids_capped_at_20)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Power", "energy", 25 * U);
    for (int i = 0; i < 25; i++) {
        must_book(pool, NULL, U, T0, T0 + HOUR, NULL);
    }
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book(pool, NULL, U, T0 + 30 * MIN, T0 + 2 * HOUR, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.conflicting_count, FR_CONFLICTING_MAX);
    for (size_t i = 0; i < res.conflicting_count; i++) {
        cr_assert_eq(strlen(res.conflicting_ids[i]), 36);
        for (size_t j = 0; j < i; j++) {
            cr_assert_str_neq(res.conflicting_ids[i], res.conflicting_ids[j]);
        }
    }
    cr_assert_eq(res.next_fit_start_ms, T0 + HOUR);
    fr_result_clear(&res);
}

Test(allocations, ended_bookings_do_not_double_book)
{
    char p1[FR_ID_SIZE], a1[FR_ID_SIZE];
    mk_pool(p1, FLEET, "Bay", TYPE, 2 * U);
    must_book(p1, "v1", U, T0 + HOUR, T0 + 2 * HOUR, a1);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, a1, NULL, NULL), FR_OK);
    must_book(p1, "v1", U, T0 + HOUR, T0 + 2 * HOUR, NULL);
}

/* ---- overcommit ------------------------------------------------------------------ */

Test(allocations, overcommit_needs_permission_then_records_conflict)
{
    char pool[FR_ID_SIZE], a1[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0, T0 + 2 * HOUR, a1);
    fr_allocation_params p;
    alloc_params(&p, pool, "v2", U, T0 + HOUR, T0 + 3 * HOUR);
    p.set |= FR_ALLOC_F_OVERCOMMIT;
    p.overcommit = 1;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, NULL, &res), FR_EFORBIDDEN);
    fr_result_clear(&res);
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.actor = "op";
    cr_assert_eq(fr_allocation_create(g_e, &ctx, &p, NULL, &res), FR_EFORBIDDEN);
    fr_result_clear(&res);
    cr_assert_eq(count_allocations(), 1);
    cr_assert_eq(count_conflicts(), 0);

    ctx.may_overcommit = 1;
    fr_allocation a;
    cr_assert_eq(fr_allocation_create(g_e, &ctx, &p, &a, &res), FR_OK, "%s", res.message);
    cr_assert_eq(a.status, FR_ALLOC_CONFIRMED);
    cr_assert_eq(res.conflicts_detected_len, 1);
    fr_conflict c = get_conflict(res.conflicts_detected[0]);
    cr_assert_eq(c.type, FR_CONFLICT_OVER_CAPACITY);
    cr_assert_eq(c.status, FR_CONFLICT_OPEN);
    cr_assert_str_eq(c.pool_id, pool);
    cr_assert_str_eq(c.fleet_id, FLEET);
    cr_assert_eq(c.start_ms, T0 + HOUR);
    cr_assert_eq(c.end_ms, T0 + 2 * HOUR);
    cr_assert_eq(c.excess_milli, U);
    cr_assert_eq(c.allocation_ids_len, 2);
    cr_assert(has_id(c.allocation_ids, c.allocation_ids_len, a1));
    cr_assert(has_id(c.allocation_ids, c.allocation_ids_len, a.id));
    fr_conflict_clear(&c);
    fr_result_clear(&res);

    g_now = T0 + HOUR;
    fr_pool got = get_pool(pool);
    cr_assert_eq(got.available_capacity_milli, -U);
    fr_pool_clear(&got);
    /* An overcommitted pool still refuses ordinary bookings, with free < 0. */
    cr_assert_eq(book(pool, "v3", U, T0 + HOUR, T0 + 90 * MIN, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.free_milli, -U);
    fr_result_clear(&res);
    fr_allocation_clear(&a);
}

Test(allocations, overcommit_flag_when_it_fits_records_nothing)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.may_overcommit = 1;
    fr_allocation_params p;
    alloc_params(&p, pool, "v2", U, T0, T0 + HOUR);
    p.set |= FR_ALLOC_F_OVERCOMMIT;
    p.overcommit = 1;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_allocation_create(g_e, &ctx, &p, NULL, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 0);
    cr_assert_eq(count_conflicts(), 0);
    fr_result_clear(&res);
}

/* ---- holds ----------------------------------------------------------------------- */

static void body_hold_expires_exactly(void)
{
    char pool[FR_ID_SIZE], h[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    fr_allocation a;
    cr_assert_eq(hold(pool, "v1", U, T0, T0 + 2 * HOUR, 10 * MIN, h, &a), FR_OK);
    cr_assert_eq(a.status, FR_ALLOC_HELD);
    cr_assert_eq(a.hold_expires_at_ms, T0 + 10 * MIN);
    fr_allocation_clear(&a);

    fr_result res;
    fr_result_init(&res);
    g_now = T0 + 10 * MIN - 1;
    cr_assert_eq(book(pool, "v2", U, g_now, T0 + HOUR, NULL, &res), FR_ECAPACITY,
                 "the hold counts until it expires");
    cr_assert_eq(res.conflicting_count, 1);
    cr_assert_str_eq(res.conflicting_ids[0], h);
    fr_result_clear(&res);
    cr_assert_eq(alloc_status(h), FR_ALLOC_HELD);

    /* Exactly at hold_expires_at it no longer counts; no tick in between. */
    g_now = T0 + 10 * MIN;
    char b[FR_ID_SIZE];
    cr_assert_eq(book(pool, "v2", U, g_now, T0 + HOUR, b, &res), FR_OK, "%s", res.message);
    fr_result_clear(&res);
    a = get_alloc(h);
    cr_assert_eq(a.status, FR_ALLOC_EXPIRED);
    cr_assert_eq(a.hold_expires_at_ms, T0 + 10 * MIN);
    cr_assert_eq(a.version, 2);
    fr_allocation_clear(&a);
    /* An expired hold is terminal. */
    cr_assert_eq(fr_allocation_delete(g_e, NULL, h, NULL, &res), FR_ESTATE);
    fr_result_clear(&res);
}

Test(allocations, hold_counts_until_exact_expiry)
{
    body_hold_expires_exactly();
}

Test(allocations_sqlite, hold_counts_until_exact_expiry)
{
    body_hold_expires_exactly();
}

Test(allocations, expired_hold_visible_on_plain_get)
{
    char pool[FR_ID_SIZE], h[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    cr_assert_eq(hold(pool, "v1", U, T0, T0 + 2 * HOUR, 5 * MIN, h, NULL), FR_OK);
    g_now = T0 + 5 * MIN;
    cr_assert_eq(alloc_status(h), FR_ALLOC_EXPIRED);
    fr_pool p = get_pool(pool);
    cr_assert_eq(p.reserved_capacity_milli, 0);
    fr_pool_clear(&p);
}

Test(allocations, confirm_hold_then_it_stays)
{
    char pool[FR_ID_SIZE], h[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    cr_assert_eq(hold(pool, "v1", U, T0, T0 + 2 * HOUR, 10 * MIN, h, NULL), FR_OK);
    g_now = T0 + 5 * MIN;
    fr_allocation out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_status(h, FR_ALLOC_CONFIRMED, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.status, FR_ALLOC_CONFIRMED);
    cr_assert_eq(out.hold_expires_at_ms, FR_TIME_NULL);
    cr_assert_eq(out.version, 2);
    cr_assert_eq(out.updated_at_ms, T0 + 5 * MIN);
    fr_allocation_clear(&out);
    g_now = T0 + 10 * MIN;
    cr_assert_eq(alloc_status(h), FR_ALLOC_CONFIRMED);
    cr_assert_eq(book(pool, "v2", U, g_now, T0 + HOUR, NULL, &res), FR_ECAPACITY);
    fr_result_clear(&res);
}

Test(allocations, confirm_after_expiry_is_invalid_state)
{
    char pool[FR_ID_SIZE], h[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    cr_assert_eq(hold(pool, "v1", U, T0, T0 + 2 * HOUR, 10 * MIN, h, NULL), FR_OK);
    g_now = T0 + 10 * MIN; /* no read in between: expiry is exact anyway */
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_status(h, FR_ALLOC_CONFIRMED, NULL, &res), FR_ESTATE);
    cr_assert_eq(res.status, FR_ESTATE);
    fr_result_clear(&res);
    cr_assert_eq(alloc_status(h), FR_ALLOC_EXPIRED);
}

Test(allocations, hold_validation)
{
    char pool[FR_ID_SIZE], h[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    cr_assert_eq(hold(pool, "v1", U, T0, T0 + HOUR, 0, h, NULL), FR_EINVAL);
    cr_assert_eq(hold(pool, "v1", U, T0, T0 + HOUR, -5, h, NULL), FR_EINVAL);
    /* status held without hold_seconds is not a valid create. */
    fr_allocation_params p;
    alloc_params(&p, pool, "v1", U, T0, T0 + HOUR);
    p.set |= FR_ALLOC_F_STATUS;
    p.status = FR_ALLOC_HELD;
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, NULL, NULL), FR_EINVAL);
    cr_assert_eq(count_allocations(), 0);
}

/* ---- lifecycle ------------------------------------------------------------------ */

Test(allocations, release_before_start_is_invalid_state)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, a);
    char *before = alloc_json(a);
    int64_t seq0 = last_seq();
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_status(a, FR_ALLOC_RELEASED, NULL, &res), FR_ESTATE);
    fr_result_clear(&res);
    char *after = alloc_json(a);
    cr_assert_str_eq(after, before);
    cr_assert_eq(last_seq(), seq0);
    fr_free(before);
    fr_free(after);
}

Test(allocations, release_in_progress_ends_now_and_frees_capacity)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0, T0 + 2 * HOUR, a);
    g_now = T0 + 30 * MIN;
    fr_allocation out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_status(a, FR_ALLOC_RELEASED, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.status, FR_ALLOC_RELEASED);
    cr_assert_eq(out.end_ms, T0 + 30 * MIN);
    cr_assert_eq(out.released_at_ms, T0 + 30 * MIN);
    cr_assert_eq(out.start_ms, T0);
    cr_assert_eq(out.version, 2);
    fr_allocation_clear(&out);
    must_book(pool, "v2", U, g_now, T0 + 2 * HOUR, NULL);
    /* Released is terminal. */
    cr_assert_eq(set_status(a, FR_ALLOC_CONFIRMED, NULL, &res), FR_ESTATE);
    fr_result_clear(&res);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, a, NULL, &res), FR_ESTATE);
    fr_result_clear(&res);
}

Test(allocations, release_open_ended_in_progress)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0, FR_TIME_INF, a);
    g_now = T0 + 3 * DAY;
    fr_allocation out;
    cr_assert_eq(set_status(a, FR_ALLOC_RELEASED, &out, NULL), FR_OK);
    cr_assert_eq(out.end_ms, T0 + 3 * DAY);
    fr_allocation_clear(&out);
}

Test(allocations, delete_before_start_cancels)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, a);
    fr_allocation out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, a, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.status, FR_ALLOC_CANCELLED);
    cr_assert_eq(out.start_ms, T0 + HOUR);
    cr_assert_eq(out.end_ms, T0 + 2 * HOUR);
    cr_assert_eq(out.version, 2);
    fr_allocation_clear(&out);
    cr_assert_eq(alloc_status(a), FR_ALLOC_CANCELLED); /* stays readable */
    must_book(pool, "v2", U, T0 + HOUR, T0 + 2 * HOUR, NULL);
    /* Terminal now. */
    cr_assert_eq(fr_allocation_delete(g_e, NULL, a, &out, &res), FR_ESTATE);
    fr_result_clear(&res);
    cr_assert_eq(alloc_status(a), FR_ALLOC_CANCELLED);
}

Test(allocations, delete_in_progress_releases)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v1", U, T0, T0 + 2 * HOUR, a);
    g_now = T0 + 45 * MIN;
    fr_allocation out;
    cr_assert_eq(fr_allocation_delete(g_e, NULL, a, &out, NULL), FR_OK);
    cr_assert_eq(out.status, FR_ALLOC_RELEASED);
    cr_assert_eq(out.end_ms, T0 + 45 * MIN);
    cr_assert_eq(out.released_at_ms, T0 + 45 * MIN);
    fr_allocation_clear(&out);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, a, &out, NULL), FR_ESTATE);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, UNKNOWN_ID, &out, NULL), FR_ENOTFOUND);
}

Test(allocations, delete_held_before_start_cancels)
{
    char pool[FR_ID_SIZE], h[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    cr_assert_eq(hold(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, 10 * MIN, h, NULL), FR_OK);
    fr_allocation out;
    cr_assert_eq(fr_allocation_delete(g_e, NULL, h, &out, NULL), FR_OK);
    cr_assert_eq(out.status, FR_ALLOC_CANCELLED);
    fr_allocation_clear(&out);
    /* Later its hold time passes: it stays cancelled. */
    g_now = T0 + 11 * MIN;
    cr_assert_eq(alloc_status(h), FR_ALLOC_CANCELLED);
}

/* ---- update -------------------------------------------------------------------- */

Test(allocations, update_rechecks_capacity_without_itself)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 3 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, a);
    must_book(pool, "v2", U, T0 + HOUR, T0 + 2 * HOUR, b);
    fr_allocation_params p;
    memset(&p, 0, sizeof p);
    p.set = FR_ALLOC_F_QUANTITY;
    p.quantity_milli = 2 * U; /* 3 - 1 (b) = 2 free without itself */
    fr_allocation out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.quantity_milli, 2 * U);
    cr_assert_eq(out.version, 2);
    fr_allocation_clear(&out);

    char *before = alloc_json(a);
    int64_t seq0 = last_seq();
    p.quantity_milli = 3 * U; /* needs 3, only 2 free without itself */
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_ECAPACITY);
    cr_assert_eq(res.at_ms, T0 + HOUR);
    cr_assert_eq(res.free_milli, 2 * U, "free excludes the allocation itself: %" PRId64, res.free_milli);
    cr_assert_eq(res.requested_milli, 3 * U);
    cr_assert_eq(res.conflicting_count, 1);
    cr_assert_str_eq(res.conflicting_ids[0], b);
    fr_result_clear(&res);
    char *after = alloc_json(a);
    cr_assert_str_eq(after, before);
    cr_assert_eq(last_seq(), seq0);
    fr_free(before);
    fr_free(after);

    /* Growing in time: into free space fine, into a full slot refused. */
    must_book(pool, "v3", 3 * U, T0 + 3 * HOUR, T0 + 4 * HOUR, NULL);
    memset(&p, 0, sizeof p);
    p.set = FR_ALLOC_F_END;
    p.end_ms = T0 + 3 * HOUR;
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.end_ms, T0 + 3 * HOUR);
    cr_assert_eq(out.version, 3);
    fr_allocation_clear(&out);
    p.end_ms = T0 + 3 * HOUR + 1;
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_ECAPACITY);
    cr_assert_eq(res.at_ms, T0 + 3 * HOUR);
    fr_result_clear(&res);
    fr_allocation got = get_alloc(a);
    cr_assert_eq(got.end_ms, T0 + 3 * HOUR);
    cr_assert_eq(got.version, 3);
    fr_allocation_clear(&got);

    /* Moving start earlier. */
    p.set = FR_ALLOC_F_START;
    p.start_ms = T0;
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_OK);
    cr_assert_eq(out.start_ms, T0);
    fr_allocation_clear(&out);
    fr_result_clear(&res);
}

Test(allocations, update_fields_and_validation)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 3 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, a);
    fr_allocation_params p;
    memset(&p, 0, sizeof p);
    p.set = FR_ALLOC_F_PRIORITY | FR_ALLOC_F_METADATA;
    p.priority = 7;
    p.metadata_json = "{\"k\":1}";
    fr_allocation out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_OK);
    cr_assert_eq(out.priority, 7);
    cr_assert_str_eq(out.metadata_json, "{\"k\":1}");
    cr_assert_eq(out.start_ms, T0 + HOUR);
    cr_assert_eq(out.quantity_milli, U);
    fr_allocation_clear(&out);
    char *before = alloc_json(a);

    memset(&p, 0, sizeof p);
    p.set = FR_ALLOC_F_END;
    p.end_ms = T0 + HOUR; /* == start */
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "end");
    fr_result_clear(&res);
    p.set = FR_ALLOC_F_PRIORITY;
    p.priority = 1001;
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "priority");
    fr_result_clear(&res);
    p.set = FR_ALLOC_F_QUANTITY;
    p.quantity_milli = 0;
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "quantity");
    fr_result_clear(&res);
    p.set = FR_ALLOC_F_POOL_ID;
    p.pool_id = UNKNOWN_ID; /* immutable */
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "pool_id");
    fr_result_clear(&res);
    p.set = FR_ALLOC_F_METADATA;
    p.metadata_json = "not json";
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_EINVAL);
    fr_result_clear(&res);
    p.set = FR_ALLOC_F_STATUS;
    p.status = FR_ALLOC_CANCELLED; /* not a PUT transition */
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, &out, &res), FR_ESTATE);
    fr_result_clear(&res);
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.if_match_version = 1; /* it is at 2 */
    p.set = FR_ALLOC_F_PRIORITY;
    p.priority = 9;
    cr_assert_eq(fr_allocation_update(g_e, &ctx, a, &p, &out, &res), FR_EVERSION);
    fr_result_clear(&res);
    cr_assert_eq(fr_allocation_delete(g_e, &ctx, a, &out, &res), FR_EVERSION);
    fr_result_clear(&res);
    cr_assert_eq(fr_allocation_update(g_e, NULL, UNKNOWN_ID, &p, &out, &res), FR_ENOTFOUND);
    fr_result_clear(&res);
    char *after = alloc_json(a);
    cr_assert_str_eq(after, before);
    fr_free(before);
    fr_free(after);

    /* Immutable fields with their current values are fine. */
    p.set = FR_ALLOC_F_POOL_ID | FR_ALLOC_F_VEHICLE_ID | FR_ALLOC_F_PRIORITY;
    p.pool_id = pool;
    p.vehicle_id = "v1";
    p.priority = 9;
    ctx.if_match_version = 2;
    cr_assert_eq(fr_allocation_update(g_e, &ctx, a, &p, &out, &res), FR_OK, "%s (%s)",
                 res.message, res.field);
    cr_assert_eq(out.priority, 9);
    cr_assert_eq(out.version, 3);
    fr_allocation_clear(&out);
    fr_result_clear(&res);
}

Test(allocations, update_terminal_is_invalid_state)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 3 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 2 * HOUR, a);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, a, NULL, NULL), FR_OK);
    fr_allocation_params p;
    memset(&p, 0, sizeof p);
    p.set = FR_ALLOC_F_PRIORITY;
    p.priority = 3;
    cr_assert_eq(fr_allocation_update(g_e, NULL, a, &p, NULL, NULL), FR_ESTATE);
}

/* ---- batch ---------------------------------------------------------------------- */

Test(allocations, batch_creates_all)
{
    char bay[FR_ID_SIZE], power[FR_ID_SIZE];
    mk_pool(bay, FLEET, "Bay", TYPE, 1 * U);
    mk_pool(power, FLEET, "Power", "energy", 300 * U);
    fr_allocation_params items[2];
    alloc_params(&items[0], bay, "v1", U, T0, T0 + HOUR);
    alloc_params(&items[1], power, "v1", 150 * U, T0, T0 + HOUR);
    fr_allocation out[2];
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_allocation_create_batch(g_e, NULL, items, 2, out, &res), FR_OK, "%s",
                 res.message);
    cr_assert_str_eq(out[0].pool_id, bay);
    cr_assert_str_eq(out[1].pool_id, power);
    cr_assert_eq(out[1].quantity_milli, 150 * U);
    cr_assert_str_neq(out[0].id, out[1].id);
    cr_assert_eq(alloc_status(out[0].id), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(out[1].id), FR_ALLOC_CONFIRMED);
    fr_allocation_clear(&out[0]);
    fr_allocation_clear(&out[1]);
    cr_assert_eq(count_allocations(), 2);
    fr_result_clear(&res);
}

Test(allocations, batch_is_all_or_nothing)
{
    char a[FR_ID_SIZE], b[FR_ID_SIZE];
    mk_pool(a, FLEET, "A", TYPE, 1 * U);
    mk_pool(b, FLEET, "B", "energy", 1 * U);
    int64_t seq0 = last_seq();
    fr_allocation_params items[3];
    alloc_params(&items[0], a, "v1", U, T0, T0 + HOUR);
    alloc_params(&items[1], b, "v1", U, T0, T0 + HOUR);
    alloc_params(&items[2], a, "v2", U, T0 + 30 * MIN, T0 + 2 * HOUR); /* A full by item 0 */
    fr_allocation out[3];
    memset(out, 0x11, sizeof out);
    fr_allocation sentinel[3];
    memcpy(sentinel, out, sizeof out);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_allocation_create_batch(g_e, NULL, items, 3, out, &res), FR_ECAPACITY);
    cr_assert_eq(res.index, 2);
    cr_assert_str_eq(res.pool_id, a);
    cr_assert_eq(res.at_ms, T0 + 30 * MIN);
    cr_assert_eq(memcmp(out, sentinel, sizeof out), 0);
    fr_result_clear(&res);
    cr_assert_eq(count_allocations(), 0);
    cr_assert_eq(last_seq(), seq0);
    fr_pool p = get_pool(a);
    cr_assert_eq(p.reserved_capacity_milli, 0);
    fr_pool_clear(&p);

    /* An invalid item: index names it. */
    alloc_params(&items[2], a, "v2", 0, T0 + 2 * HOUR, T0 + 3 * HOUR);
    items[1].quantity_milli = -U;
    cr_assert_eq(fr_allocation_create_batch(g_e, NULL, items, 3, out, &res), FR_EINVAL);
    cr_assert_eq(res.index, 1);
    cr_assert_str_eq(res.field, "quantity");
    fr_result_clear(&res);
    /* Double booking inside the batch itself. */
    alloc_params(&items[0], a, "v9", U, T0, T0 + HOUR);
    alloc_params(&items[1], b, "v9", U, T0, T0 + HOUR);
    alloc_params(&items[2], b, "v9", U / 2, T0 + 10 * MIN, T0 + 20 * MIN);
    items[2].set |= FR_ALLOC_F_OVERCOMMIT; /* without the permission */
    items[2].overcommit = 1;
    cr_assert_eq(fr_allocation_create_batch(g_e, NULL, items, 3, out, &res), FR_EFORBIDDEN);
    cr_assert_eq(res.index, 2);
    fr_result_clear(&res);
    items[2].set &= ~FR_ALLOC_F_OVERCOMMIT;
    cr_assert_eq(fr_allocation_create_batch(g_e, NULL, items, 3, out, &res), FR_EDOUBLE);
    cr_assert_eq(res.index, 2);
    fr_result_clear(&res);
    cr_assert_eq(count_allocations(), 0);
    cr_assert_eq(last_seq(), seq0);

    cr_assert_eq(fr_allocation_create_batch(g_e, NULL, items, 0, out, &res), FR_EINVAL);
    fr_result_clear(&res);
    cr_assert_eq(fr_allocation_create_batch(g_e, NULL, NULL, 2, out, &res), FR_EINVAL);
    fr_result_clear(&res);
}

/* ---- bad input changes nothing --------------------------------------------------- */

Test(allocations, bad_input_changes_nothing)
{
    char pool[FR_ID_SIZE], keep[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 5 * U);
    must_book(pool, "v0", U, T0, T0 + HOUR, keep);
    size_t n0 = count_allocations();
    int64_t seq0 = last_seq();
    char *keep_before = alloc_json(keep);

    fr_allocation_params p;
    alloc_params(&p, pool, "v1", U, T0, T0 + HOUR);
    cr_assert_eq(fr_allocation_create(NULL, NULL, &p, NULL, NULL), FR_EINVAL);
    cr_assert_eq(fr_allocation_create(g_e, NULL, NULL, NULL, NULL), FR_EINVAL);
    cr_assert_eq(fr_allocation_update(NULL, NULL, keep, &p, NULL, NULL), FR_EINVAL);
    cr_assert_eq(fr_allocation_update(g_e, NULL, keep, NULL, NULL, NULL), FR_EINVAL);
    cr_assert_eq(fr_allocation_delete(NULL, NULL, keep, NULL, NULL), FR_EINVAL);

    static const struct {
        int64_t qty, start, end;
        int32_t priority;
        const char *field;
    } cases[] = {
        {0, T0, T0 + HOUR, 0, "quantity"},
        {-1000, T0, T0 + HOUR, 0, "quantity"},
        {FR_QTY_MAX_MILLI + 1, T0, T0 + HOUR, 0, "quantity"},
        {U, T0 + HOUR, T0 + HOUR, 0, "end"},
        {U, T0 + HOUR, T0, 0, "end"},
        {U, T0, T0 + HOUR, 1001, "priority"},
        {U, T0, T0 + HOUR, -1, "priority"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        alloc_params(&p, pool, "v1", cases[i].qty, cases[i].start, cases[i].end);
        p.set |= FR_ALLOC_F_PRIORITY;
        p.priority = cases[i].priority;
        fr_allocation out, sentinel;
        memset(&out, 0x42, sizeof out);
        memcpy(&sentinel, &out, sizeof out);
        fr_result res;
        fr_result_init(&res);
        int rc = fr_allocation_create(g_e, NULL, &p, &out, &res);
        cr_assert_eq(rc, FR_EINVAL, "case %zu: rc %d", i, rc);
        cr_assert_str_eq(res.field, cases[i].field, "case %zu: field %s", i, res.field);
        cr_assert_eq(memcmp(&out, &sentinel, sizeof out), 0, "case %zu wrote out", i);
        fr_result_clear(&res);
    }
    /* Instants outside 0000..9999. */
    alloc_params(&p, pool, "v1", U, FR_TIME_MAX_MS + 1, FR_TIME_INF);
    fr_result r2;
    fr_result_init(&r2);
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, NULL, &r2), FR_EINVAL);
    cr_assert_str_eq(r2.field, "start");
    fr_result_clear(&r2);
    alloc_params(&p, pool, "v1", U, T0, FR_TIME_NULL);
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, NULL, &r2), FR_EINVAL);
    cr_assert_str_eq(r2.field, "end");
    fr_result_clear(&r2);
    /* end before the default start (now). */
    alloc_params(&p, pool, "v1", U, FR_TIME_NULL, T0 - 1);
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, NULL, NULL), FR_EINVAL);
    /* Neither vehicle nor operation. */
    alloc_params(&p, pool, "v1", U, T0, T0 + HOUR);
    p.set &= ~FR_ALLOC_F_VEHICLE_ID;
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, NULL, NULL), FR_EINVAL);
    /* Metadata must be an object. */
    alloc_params(&p, pool, "v1", U, T0, T0 + HOUR);
    p.set |= FR_ALLOC_F_METADATA;
    p.metadata_json = "[1]";
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, NULL, NULL), FR_EINVAL);
    /* Neither pool_id nor fleet_id + resource_type. */
    alloc_params(&p, pool, "v1", U, T0, T0 + HOUR);
    p.set &= ~FR_ALLOC_F_POOL_ID;
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, NULL, NULL), FR_EINVAL);
    /* Unknown ids. */
    fr_allocation out;
    cr_assert_eq(fr_allocation_get(g_e, UNKNOWN_ID, &out), FR_ENOTFOUND);
    cr_assert_eq(fr_allocation_get(g_e, NULL, &out), FR_ENOTFOUND);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, UNKNOWN_ID, NULL, NULL), FR_ENOTFOUND);

    cr_assert_eq(count_allocations(), n0);
    cr_assert_eq(last_seq(), seq0);
    char *keep_after = alloc_json(keep);
    cr_assert_str_eq(keep_after, keep_before);
    fr_free(keep_before);
    fr_free(keep_after);

    /* The largest quantity is accepted. */
    char big[FR_ID_SIZE];
    mk_pool(big, FLEET, "Big", "energy", FR_QTY_MAX_MILLI);
    must_book(big, NULL, FR_QTY_MAX_MILLI, T0, T0 + HOUR, NULL);
}
