/*
 * test_pools.c — the engine's pools (SPEC §2) through the public API:
 * create with defaults and validation, partial update, immutable fields,
 * capacity schedules, the computed capacity fields, If-Match, and delete
 * (plain, in use, forced).  A few tests also run on a SQLite file, and one
 * closes and reopens it to check that the state comes back identical.
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

TestSuite(pools, .init = setup_mem, .fini = teardown);
TestSuite(pools_sqlite, .init = setup_sqlite, .fini = teardown);

static size_t count_pools(void)
{
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    fr_pool *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_pool_list(g_e, &q, &items, &n, cursor), FR_OK);
    fr_pool_free_array(items, n);
    return n;
}

static char *pool_json(const char *id)
{
    fr_pool p = get_pool(id);
    char *json = NULL;
    cr_assert_eq(fr_pool_to_json(&p, &json), FR_OK);
    fr_pool_clear(&p);
    return json;
}

/* ---- create ---------------------------------------------------------------- */

Test(pools, create_applies_defaults)
{
    fr_pool_params p;
    pool_params(&p, FLEET, "Bay A", TYPE, 4 * U);
    fr_pool out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_create(g_e, NULL, &p, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(strlen(out.id), 36);
    cr_assert_str_eq(out.fleet_id, FLEET);
    cr_assert_str_eq(out.name, "Bay A");
    cr_assert_str_eq(out.resource_type, TYPE);
    cr_assert_str_eq(out.unit, "unit");
    cr_assert_null(out.site);
    cr_assert_str_eq(out.labels_json, "{}");
    cr_assert_eq(out.status, FR_POOL_ACTIVE);
    cr_assert_eq(out.exclusive_per_vehicle, 1);
    cr_assert_eq(out.total_capacity_milli, 4 * U);
    cr_assert_eq(out.schedule_len, 0);
    cr_assert_eq(out.deleted, 0);
    cr_assert_eq(out.version, 1);
    cr_assert_eq(out.created_at_ms, T0);
    cr_assert_eq(out.updated_at_ms, T0);
    cr_assert_eq(out.capacity_now_milli, 4 * U);
    cr_assert_eq(out.reserved_capacity_milli, 0);
    cr_assert_eq(out.available_capacity_milli, 4 * U);

    fr_pool got = get_pool(out.id);
    cr_assert_str_eq(got.id, out.id);
    cr_assert_str_eq(got.unit, "unit");
    cr_assert_str_eq(got.labels_json, "{}");
    cr_assert_eq(got.exclusive_per_vehicle, 1);
    cr_assert_eq(got.status, FR_POOL_ACTIVE);
    cr_assert_eq(got.version, 1);
    fr_pool_clear(&got);
    fr_pool_clear(&out);
    fr_result_clear(&res);
}

Test(pools, create_keeps_given_optional_fields)
{
    fr_pool_params p;
    pool_params(&p, FLEET, "North power", "energy", 150 * U + 500);
    p.set |= FR_POOL_F_UNIT | FR_POOL_F_SITE | FR_POOL_F_LABELS | FR_POOL_F_EXCLUSIVE |
             FR_POOL_F_STATUS;
    p.unit = "kw";
    p.site = "depot-north";
    p.labels_json = "{\"zone\":\"a\"}";
    p.exclusive_per_vehicle = 0;
    p.status = FR_POOL_DRAINING;
    fr_pool out;
    cr_assert_eq(fr_pool_create(g_e, NULL, &p, &out, NULL), FR_OK);
    fr_pool got = get_pool(out.id);
    cr_assert_str_eq(got.unit, "kw");
    cr_assert_str_eq(got.site, "depot-north");
    cr_assert_str_eq(got.labels_json, "{\"zone\":\"a\"}");
    cr_assert_eq(got.exclusive_per_vehicle, 0);
    cr_assert_eq(got.status, FR_POOL_DRAINING);
    cr_assert_eq(got.total_capacity_milli, 150500);
    fr_pool_clear(&got);
    fr_pool_clear(&out);
}

Test(pools, create_requires_fleet_name_type_capacity)
{
    static const struct {
        uint32_t drop;
        const char *field;
    } cases[] = {
        {FR_POOL_F_FLEET_ID, "fleet_id"},
        {FR_POOL_F_NAME, "name"},
        {FR_POOL_F_RESOURCE_TYPE, "resource_type"},
        {FR_POOL_F_TOTAL_CAPACITY, "total_capacity"},
    };
    int64_t seq0 = last_seq();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fr_pool_params p;
        pool_params(&p, FLEET, "Bay", TYPE, U);
        p.set &= ~cases[i].drop;
        fr_pool out, sentinel;
        memset(&out, 0x5a, sizeof out);
        memcpy(&sentinel, &out, sizeof out);
        fr_result res;
        fr_result_init(&res);
        int rc = fr_pool_create(g_e, NULL, &p, &out, &res);
        cr_assert_eq(rc, FR_EINVAL, "missing %s: rc %d", cases[i].field, rc);
        cr_assert_eq(res.status, FR_EINVAL);
        cr_assert_str_eq(res.field, cases[i].field);
        cr_assert_neq(res.message[0], '\0');
        cr_assert_eq(memcmp(&out, &sentinel, sizeof out), 0, "out was written on failure");
        fr_result_clear(&res);
    }
    cr_assert_eq(count_pools(), 0);
    cr_assert_eq(last_seq(), seq0, "a failed create appended events");
}

Test(pools, create_rejects_invalid_values)
{
    char long_id[FR_CLIENT_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    fr_schedule_entry overlap[2] = {{T0, T0 + 2 * HOUR, 1 * U}, {T0 + HOUR, T0 + 3 * HOUR, 2 * U}};
    fr_schedule_entry backwards[1] = {{T0 + HOUR, T0, 1 * U}};
    for (int i = 0; i < 10; i++) {
        fr_pool_params p;
        pool_params(&p, FLEET, "Bay", TYPE, U);
        const char *field = NULL;
        switch (i) {
        case 0: p.total_capacity_milli = -1; field = "total_capacity"; break;
        case 1: p.total_capacity_milli = FR_QTY_MAX_MILLI + 1; field = "total_capacity"; break;
        case 2: p.fleet_id = ""; field = "fleet_id"; break;
        case 3: p.fleet_id = long_id; field = "fleet_id"; break;
        case 4: p.resource_type = "Charging Bay"; field = "resource_type"; break;
        case 5: p.set |= FR_POOL_F_LABELS; p.labels_json = "[1,2]"; field = "labels"; break;
        case 6: p.set |= FR_POOL_F_STATUS; p.status = 7; field = "status"; break;
        case 7:
            p.set |= FR_POOL_F_SCHEDULE;
            p.schedule = overlap;
            p.schedule_len = 2;
            field = "capacity_schedule";
            break;
        case 8:
            p.set |= FR_POOL_F_SCHEDULE;
            p.schedule = backwards;
            p.schedule_len = 1;
            field = "capacity_schedule";
            break;
        default: p.name = ""; field = "name"; break;
        }
        fr_result res;
        fr_result_init(&res);
        int rc = fr_pool_create(g_e, NULL, &p, NULL, &res);
        cr_assert_eq(rc, FR_EINVAL, "case %d: rc %d", i, rc);
        cr_assert_str_eq(res.field, field, "case %d", i);
        fr_result_clear(&res);
    }
    cr_assert_eq(count_pools(), 0);
}

Test(pools, null_arguments)
{
    fr_pool_params p;
    pool_params(&p, FLEET, "Bay", TYPE, U);
    fr_pool out;
    cr_assert_eq(fr_pool_create(NULL, NULL, &p, &out, NULL), FR_EINVAL);
    cr_assert_eq(fr_pool_create(g_e, NULL, NULL, &out, NULL), FR_EINVAL);
    cr_assert_eq(fr_pool_get(g_e, NULL, &out), FR_ENOTFOUND);
    cr_assert_eq(fr_pool_get(g_e, UNKNOWN_ID, &out), FR_ENOTFOUND);
    cr_assert_eq(fr_pool_update(g_e, NULL, UNKNOWN_ID, &p, NULL, NULL), FR_ENOTFOUND);
    cr_assert_eq(fr_pool_delete(g_e, NULL, UNKNOWN_ID, 0, NULL), FR_ENOTFOUND);
    cr_assert_eq(fr_pool_delete(NULL, NULL, UNKNOWN_ID, 0, NULL), FR_EINVAL);
    cr_assert_eq(count_pools(), 0);
}

/* ---- update ---------------------------------------------------------------- */

Test(pools, partial_update_changes_only_given_fields)
{
    fr_pool_params p;
    pool_params(&p, FLEET, "Bay A", TYPE, 4 * U);
    p.set |= FR_POOL_F_SITE | FR_POOL_F_LABELS;
    p.site = "north";
    p.labels_json = "{\"k\":\"v\"}";
    char id[FR_ID_SIZE];
    mk_pool_p(id, &p);

    g_now = T0 + 5 * MIN;
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_NAME;
    u.name = "Bay A (renamed)";
    fr_pool out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(res.conflicts_detected_len, 0);
    cr_assert_str_eq(out.name, "Bay A (renamed)");
    cr_assert_str_eq(out.site, "north");
    cr_assert_str_eq(out.labels_json, "{\"k\":\"v\"}");
    cr_assert_str_eq(out.unit, "unit");
    cr_assert_eq(out.total_capacity_milli, 4 * U);
    cr_assert_eq(out.exclusive_per_vehicle, 1);
    cr_assert_eq(out.version, 2);
    cr_assert_eq(out.created_at_ms, T0);
    cr_assert_eq(out.updated_at_ms, T0 + 5 * MIN);
    fr_pool_clear(&out);

    /* Clearing the site: SITE set with NULL. */
    u.set = FR_POOL_F_SITE;
    u.site = NULL;
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, &out, &res), FR_OK);
    cr_assert_null(out.site);
    cr_assert_str_eq(out.name, "Bay A (renamed)");
    cr_assert_eq(out.version, 3);
    fr_pool_clear(&out);

    /* An empty update (nothing set) changes nothing but is accepted. */
    fr_pool got = get_pool(id);
    cr_assert_str_eq(got.labels_json, "{\"k\":\"v\"}");
    fr_pool_clear(&got);
    fr_result_clear(&res);
}

Test(pools, update_invalid_value_changes_nothing)
{
    char id[FR_ID_SIZE];
    mk_pool(id, FLEET, "Bay", TYPE, 2 * U);
    char *before = pool_json(id);
    int64_t seq0 = last_seq();
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_NAME | FR_POOL_F_TOTAL_CAPACITY;
    u.name = "new name";
    u.total_capacity_milli = -5;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, NULL, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "total_capacity");
    char *after = pool_json(id);
    cr_assert_str_eq(after, before);
    cr_assert_eq(last_seq(), seq0);
    fr_free(before);
    fr_free(after);
    fr_result_clear(&res);
}

Test(pools, fleet_and_type_are_immutable)
{
    char id[FR_ID_SIZE];
    mk_pool(id, FLEET, "Bay", TYPE, 2 * U);
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    fr_result res;
    fr_result_init(&res);

    u.set = FR_POOL_F_FLEET_ID | FR_POOL_F_NAME;
    u.fleet_id = "fleet-2";
    u.name = "changed";
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, NULL, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "fleet_id");
    fr_result_clear(&res);

    u.set = FR_POOL_F_RESOURCE_TYPE | FR_POOL_F_NAME;
    u.resource_type = "wash_bay";
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, NULL, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "resource_type");
    fr_result_clear(&res);

    fr_pool got = get_pool(id);
    cr_assert_str_eq(got.fleet_id, FLEET);
    cr_assert_str_eq(got.resource_type, TYPE);
    cr_assert_str_eq(got.name, "Bay");
    cr_assert_eq(got.version, 1);
    fr_pool_clear(&got);

    /* Sending the current values is fine (a client PUTs back what it got). */
    u.set = FR_POOL_F_FLEET_ID | FR_POOL_F_RESOURCE_TYPE | FR_POOL_F_NAME;
    u.fleet_id = FLEET;
    u.resource_type = TYPE;
    u.name = "changed";
    fr_pool out;
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, &out, &res), FR_OK, "%s", res.message);
    cr_assert_str_eq(out.name, "changed");
    cr_assert_eq(out.version, 2);
    fr_pool_clear(&out);
    fr_result_clear(&res);
}

/* ---- capacity schedule ------------------------------------------------------- */

static void body_schedule_capacity_at(void)
{
    /* Given out of order; returned sorted.  A 6-of-10 maintenance window. */
    fr_schedule_entry sched[2] = {
        {T0 + 5 * HOUR, FR_TIME_INF, 1 * U},
        {T0 + 1 * HOUR, T0 + 2 * HOUR, 6 * U},
    };
    fr_pool_params p;
    pool_params(&p, FLEET, "Bay", TYPE, 10 * U);
    p.set |= FR_POOL_F_SCHEDULE;
    p.schedule = sched;
    p.schedule_len = 2;
    char id[FR_ID_SIZE];
    mk_pool_p(id, &p);

    fr_pool got = get_pool(id);
    cr_assert_eq(got.schedule_len, 2);
    cr_assert_eq(got.schedule[0].start_ms, T0 + HOUR);
    cr_assert_eq(got.schedule[0].end_ms, T0 + 2 * HOUR);
    cr_assert_eq(got.schedule[0].capacity_milli, 6 * U);
    cr_assert_eq(got.schedule[1].start_ms, T0 + 5 * HOUR);
    cr_assert_eq(got.schedule[1].end_ms, FR_TIME_INF);
    cr_assert_eq(got.capacity_now_milli, 10 * U);
    fr_pool_clear(&got);

    static const struct {
        int64_t at, cap;
    } probes[] = {
        {T0 + HOUR - 1, 10 * U},     {T0 + HOUR, 6 * U},      {T0 + HOUR + 30 * MIN, 6 * U},
        {T0 + 2 * HOUR - 1, 6 * U},  {T0 + 2 * HOUR, 10 * U}, {T0 + 5 * HOUR, 1 * U},
        {T0 + 400 * DAY, 1 * U},
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        g_now = probes[i].at;
        got = get_pool(id);
        cr_assert_eq(got.capacity_now_milli, probes[i].cap, "capacity at +%" PRId64 " ms: %" PRId64,
                     probes[i].at - T0, got.capacity_now_milli);
        cr_assert_eq(got.available_capacity_milli, probes[i].cap);
        fr_pool_clear(&got);
    }

    /* Bookings honour the window: 7 units fit before it, not across it. */
    g_now = T0;
    fr_result res;
    fr_result_init(&res);
    char a[FR_ID_SIZE];
    cr_assert_eq(book(id, "v1", 7 * U, T0, T0 + HOUR, a, &res), FR_OK, "%s", res.message);
    cr_assert_eq(book(id, "v2", 7 * U, T0 + 30 * MIN, T0 + 90 * MIN, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.at_ms, T0 + 30 * MIN); /* 7 + 7 > 10 already before the window */
    fr_result_clear(&res);
    cr_assert_eq(book(id, "v2", 3 * U, T0 + 30 * MIN, T0 + 90 * MIN, NULL, &res), FR_OK);
    cr_assert_eq(book(id, "v3", 4 * U, T0 + 70 * MIN, T0 + 80 * MIN, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.at_ms, T0 + 70 * MIN);
    cr_assert_eq(res.capacity_milli, 6 * U);
    cr_assert_eq(res.free_milli, 3 * U);
    cr_assert_eq(res.requested_milli, 4 * U);
    fr_result_clear(&res);
}

Test(pools, schedule_overrides_capacity_inside_window)
{
    body_schedule_capacity_at();
}

Test(pools_sqlite, schedule_overrides_capacity_inside_window)
{
    body_schedule_capacity_at();
}

Test(pools, schedule_overlap_rejected_on_update_and_pool_unchanged)
{
    fr_schedule_entry ok[1] = {{T0 + HOUR, T0 + 2 * HOUR, 1 * U}};
    fr_pool_params p;
    pool_params(&p, FLEET, "Bay", TYPE, 4 * U);
    p.set |= FR_POOL_F_SCHEDULE;
    p.schedule = ok;
    p.schedule_len = 1;
    char id[FR_ID_SIZE];
    mk_pool_p(id, &p);
    char *before = pool_json(id);

    fr_schedule_entry bad[3] = {
        {T0 + HOUR, T0 + 2 * HOUR, 1 * U},
        {T0 + 3 * HOUR, T0 + 4 * HOUR, 2 * U},
        {T0 + 90 * MIN, T0 + 3 * HOUR, 2 * U}, /* overlaps the first */
    };
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_SCHEDULE | FR_POOL_F_NAME;
    u.name = "must not stick";
    u.schedule = bad;
    u.schedule_len = 3;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, NULL, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "capacity_schedule");
    fr_result_clear(&res);
    char *after = pool_json(id);
    cr_assert_str_eq(after, before);
    fr_free(after);

    /* An open-ended entry followed by another one overlaps too. */
    fr_schedule_entry open_then[2] = {{T0, FR_TIME_INF, 1 * U}, {T0 + DAY, T0 + 2 * DAY, 2 * U}};
    u.schedule = open_then;
    u.schedule_len = 2;
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, NULL, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "capacity_schedule");
    fr_result_clear(&res);
    after = pool_json(id);
    cr_assert_str_eq(after, before);
    fr_free(after);

    /* Adjacent entries ([a,b) then [b,c)) do not overlap. */
    fr_schedule_entry adjacent[2] = {{T0 + HOUR, T0 + 2 * HOUR, 1 * U},
                                     {T0 + 2 * HOUR, T0 + 3 * HOUR, 2 * U}};
    u.set = FR_POOL_F_SCHEDULE;
    u.schedule = adjacent;
    u.schedule_len = 2;
    fr_pool out;
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.schedule_len, 2);
    cr_assert_eq(out.version, 2);
    fr_pool_clear(&out);

    /* Removing the schedule: SCHEDULE set with length 0. */
    u.schedule = NULL;
    u.schedule_len = 0;
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, &out, &res), FR_OK);
    cr_assert_eq(out.schedule_len, 0);
    fr_pool_clear(&out);
    g_now = T0 + HOUR;
    fr_pool got = get_pool(id);
    cr_assert_eq(got.capacity_now_milli, 4 * U);
    fr_pool_clear(&got);
    fr_free(before);
    fr_result_clear(&res);
}

/* ---- computed fields ---------------------------------------------------------- */

Test(pools, computed_capacity_fields_follow_now)
{
    char id[FR_ID_SIZE];
    mk_pool(id, FLEET, "Bay", TYPE, 5 * U);
    must_book(id, "v1", 2 * U, T0, T0 + HOUR, NULL);
    fr_allocation_params hp;
    alloc_params(&hp, id, "v2", 1 * U, T0, T0 + 2 * HOUR);
    hp.set |= FR_ALLOC_F_HOLD;
    hp.hold_ms = 30 * MIN;
    fr_allocation held;
    cr_assert_eq(fr_allocation_create(g_e, NULL, &hp, &held, NULL), FR_OK);
    fr_allocation_clear(&held);
    must_book(id, "v3", 1 * U, T0 + 3 * HOUR, T0 + 4 * HOUR, NULL);
    must_book(id, "v4", 500, T0 - 2 * HOUR, T0 - HOUR, NULL); /* in the past */

    static const struct {
        int64_t at, reserved;
    } probes[] = {
        {T0, 3 * U},                   /* 2 confirmed + 1 held */
        {T0 + 30 * MIN - 1, 3 * U},    /* hold still counts */
        {T0 + 30 * MIN, 2 * U},        /* hold expired exactly now */
        {T0 + HOUR - 1, 2 * U},
        {T0 + HOUR, 0},                /* half-open end */
        {T0 + 3 * HOUR, 1 * U},
        {T0 + 4 * HOUR, 0},
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        g_now = probes[i].at;
        fr_pool got = get_pool(id);
        cr_assert_eq(got.capacity_now_milli, 5 * U);
        cr_assert_eq(got.reserved_capacity_milli, probes[i].reserved,
                     "reserved at +%" PRId64 " ms: %" PRId64, probes[i].at - T0,
                     got.reserved_capacity_milli);
        cr_assert_eq(got.available_capacity_milli, 5 * U - probes[i].reserved);
        fr_pool_clear(&got);
    }
}

Test(pools, available_is_negative_when_capacity_cut_below_booked)
{
    char id[FR_ID_SIZE];
    mk_pool(id, FLEET, "Bay", TYPE, 3 * U);
    must_book(id, "v1", 3 * U, T0, T0 + HOUR, NULL);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(id, 1 * U, &res), FR_OK);
    fr_pool got = get_pool(id);
    cr_assert_eq(got.capacity_now_milli, 1 * U);
    cr_assert_eq(got.reserved_capacity_milli, 3 * U);
    cr_assert_eq(got.available_capacity_milli, -2 * U);
    fr_pool_clear(&got);
    fr_result_clear(&res);
}

/* ---- If-Match ------------------------------------------------------------------- */

Test(pools, if_match_mismatch_changes_nothing)
{
    char id[FR_ID_SIZE];
    mk_pool(id, FLEET, "Bay", TYPE, 2 * U);
    char *before = pool_json(id);
    int64_t seq0 = last_seq();

    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.if_match_version = 2; /* current is 1 */
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_NAME | FR_POOL_F_TOTAL_CAPACITY;
    u.name = "renamed";
    u.total_capacity_milli = 9 * U;
    fr_pool out, sentinel;
    memset(&out, 0x33, sizeof out);
    memcpy(&sentinel, &out, sizeof out);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_update(g_e, &ctx, id, &u, &out, &res), FR_EVERSION);
    cr_assert_eq(res.status, FR_EVERSION);
    cr_assert_eq(memcmp(&out, &sentinel, sizeof out), 0);
    fr_result_clear(&res);
    cr_assert_eq(fr_pool_delete(g_e, &ctx, id, 0, &res), FR_EVERSION);
    fr_result_clear(&res);
    cr_assert_eq(fr_pool_delete(g_e, &ctx, id, 1, &res), FR_EVERSION);
    fr_result_clear(&res);

    char *after = pool_json(id);
    cr_assert_str_eq(after, before);
    cr_assert_eq(last_seq(), seq0);

    ctx.if_match_version = 1;
    cr_assert_eq(fr_pool_update(g_e, &ctx, id, &u, &out, &res), FR_OK, "%s", res.message);
    cr_assert_str_eq(out.name, "renamed");
    cr_assert_eq(out.version, 2);
    fr_pool_clear(&out);
    /* Now version 2: the old tag no longer matches. */
    cr_assert_eq(fr_pool_delete(g_e, &ctx, id, 0, &res), FR_EVERSION);
    fr_result_clear(&res);
    ctx.if_match_version = 2;
    cr_assert_eq(fr_pool_delete(g_e, &ctx, id, 0, &res), FR_OK);
    fr_free(before);
    fr_free(after);
    fr_result_clear(&res);
}

/* ---- delete --------------------------------------------------------------------- */

Test(pools, delete_then_get_is_not_found)
{
    char id[FR_ID_SIZE], other[FR_ID_SIZE];
    mk_pool(id, FLEET, "Bay", TYPE, 2 * U);
    mk_pool(other, FLEET, "Other", TYPE, 2 * U);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_delete(g_e, NULL, id, 0, &res), FR_OK, "%s", res.message);
    fr_pool out;
    cr_assert_eq(fr_pool_get(g_e, id, &out), FR_ENOTFOUND);
    cr_assert_eq(count_pools(), 1);
    cr_assert_eq(fr_pool_delete(g_e, NULL, id, 0, &res), FR_ENOTFOUND);
    fr_result_clear(&res);
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_NAME;
    u.name = "zombie";
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, NULL, &res), FR_ENOTFOUND);
    fr_result_clear(&res);
    /* Booking into it: the body names a missing pool. */
    cr_assert_eq(book(id, "v1", U, T0, T0 + HOUR, NULL, &res), FR_EREFERENCE);
    fr_result_clear(&res);
    fr_pool got = get_pool(other);
    cr_assert_str_eq(got.name, "Other");
    fr_pool_clear(&got);
}

Test(pools, delete_with_only_ended_allocations_keeps_history)
{
    char id[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE];
    mk_pool(id, FLEET, "Bay", TYPE, 2 * U);
    must_book(id, "v1", U, T0, T0 + HOUR, a);
    must_book(id, "v2", U, T0 + 30 * MIN, T0 + 2 * HOUR, b);
    g_now = T0 + 2 * HOUR; /* both ended (b exactly now: [.., now) ) */
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_delete(g_e, NULL, id, 0, &res), FR_OK, "%s", res.message);
    fr_result_clear(&res);
    fr_allocation got = get_alloc(a);
    cr_assert_eq(got.status, FR_ALLOC_CONFIRMED);
    cr_assert_str_eq(got.pool_id, id);
    cr_assert_eq(got.end_ms, T0 + HOUR);
    fr_allocation_clear(&got);
    got = get_alloc(b);
    cr_assert_eq(got.status, FR_ALLOC_CONFIRMED);
    cr_assert_eq(got.end_ms, T0 + 2 * HOUR);
    fr_allocation_clear(&got);

    fr_list_query q;
    fr_list_query_init(&q);
    q.pool_id = id;
    fr_allocation *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_allocation_list(g_e, &q, &items, &n, cursor), FR_OK);
    cr_assert_eq(n, 2);
    fr_allocation_free_array(items, n);
}

Test(pools, delete_refused_while_in_use)
{
    /* Each kind of live booking that ends after now blocks the delete. */
    for (int kind = 0; kind < 3; kind++) {
        char id[FR_ID_SIZE], a[FR_ID_SIZE];
        mk_pool(id, FLEET, "Bay", TYPE, 2 * U);
        if (kind == 0) {
            must_book(id, "v1", U, T0 + HOUR, T0 + 2 * HOUR, a); /* future, confirmed */
        } else if (kind == 1) {
            must_book(id, "v2", U, T0 - HOUR, FR_TIME_INF, a); /* open-ended, in progress */
        } else {
            fr_allocation_params hp;
            alloc_params(&hp, id, "v3", U, T0, T0 + HOUR);
            hp.set |= FR_ALLOC_F_HOLD;
            hp.hold_ms = 10 * MIN;
            fr_allocation out;
            cr_assert_eq(fr_allocation_create(g_e, NULL, &hp, &out, NULL), FR_OK);
            memcpy(a, out.id, FR_ID_SIZE);
            fr_allocation_clear(&out);
        }
        char *before = pool_json(id);
        fr_allocation ab = get_alloc(a);
        int64_t seq0 = last_seq();
        fr_result res;
        fr_result_init(&res);
        cr_assert_eq(fr_pool_delete(g_e, NULL, id, 0, &res), FR_EPOOL_IN_USE, "kind %d", kind);
        cr_assert_eq(res.status, FR_EPOOL_IN_USE);
        fr_result_clear(&res);
        char *after = pool_json(id);
        cr_assert_str_eq(after, before, "kind %d", kind);
        fr_allocation aa = get_alloc(a);
        cr_assert_eq(aa.status, ab.status);
        cr_assert_eq(aa.version, ab.version);
        cr_assert_eq(last_seq(), seq0);
        fr_allocation_clear(&aa);
        fr_allocation_clear(&ab);
        fr_free(before);
        fr_free(after);
    }
}

static void body_delete_force(void)
{
    char id[FR_ID_SIZE], past[FR_ID_SIZE], prog[FR_ID_SIZE], fut[FR_ID_SIZE], open[FR_ID_SIZE];
    mk_pool(id, FLEET, "Bay", TYPE, 4 * U);
    must_book(id, "v1", U, T0 - 3 * HOUR, T0 - 2 * HOUR, past);
    must_book(id, "v2", U, T0 - HOUR, T0 + HOUR, prog);
    must_book(id, "v3", U, T0 + 2 * HOUR, T0 + 3 * HOUR, fut);
    must_book(id, "v5", U, T0 - HOUR, FR_TIME_INF, open);
    /* A request fulfilled into the pool, in the future. */
    fr_request_params rp;
    req_params(&rp, "v4", U, HOUR);
    rp.set |= FR_REQ_F_EARLIEST_START;
    rp.earliest_start_ms = T0 + 4 * HOUR;
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_FULFILLED);
    char ra[FR_ID_SIZE];
    memcpy(ra, r.allocation_id, FR_ID_SIZE);
    fr_request_clear(&r);

    g_now = T0 + 10 * MIN;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_pool_delete(g_e, NULL, id, 0, &res), FR_EPOOL_IN_USE);
    fr_result_clear(&res);
    cr_assert_eq(alloc_status(prog), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(fut), FR_ALLOC_CONFIRMED);

    cr_assert_eq(fr_pool_delete(g_e, NULL, id, 1, &res), FR_OK, "%s", res.message);
    fr_result_clear(&res);
    fr_pool gone;
    cr_assert_eq(fr_pool_get(g_e, id, &gone), FR_ENOTFOUND);

    fr_allocation a = get_alloc(prog);
    cr_assert_eq(a.status, FR_ALLOC_RELEASED);
    cr_assert_eq(a.end_ms, T0 + 10 * MIN);
    cr_assert_eq(a.released_at_ms, T0 + 10 * MIN);
    fr_allocation_clear(&a);
    a = get_alloc(open);
    cr_assert_eq(a.status, FR_ALLOC_RELEASED);
    cr_assert_eq(a.end_ms, T0 + 10 * MIN);
    fr_allocation_clear(&a);
    a = get_alloc(fut);
    cr_assert_eq(a.status, FR_ALLOC_CANCELLED);
    cr_assert_eq(a.start_ms, T0 + 2 * HOUR);
    cr_assert_eq(a.end_ms, T0 + 3 * HOUR);
    fr_allocation_clear(&a);
    a = get_alloc(past);
    cr_assert_eq(a.status, FR_ALLOC_CONFIRMED, "an ended booking is history, untouched");
    cr_assert_eq(a.end_ms, T0 - 2 * HOUR);
    fr_allocation_clear(&a);
    cr_assert_eq(alloc_status(ra), FR_ALLOC_CANCELLED);

    /* The request goes back to pending; with no pool of its type left. */
    fr_list_query q;
    fr_list_query_init(&q);
    fr_request *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_request_list(g_e, &q, &items, &n, cursor), FR_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(items[0].status, FR_REQ_PENDING);
    cr_assert_str_eq(items[0].allocation_id, "");
    cr_assert_eq(items[0].pending_reason, FR_REASON_NO_POOL_OF_TYPE);
    cr_assert_eq(items[0].fulfilled_at_ms, FR_TIME_NULL);
    cr_assert_eq(items[0].queue_position, 1);
    fr_request_free_array(items, n);

    /* A new pool of the type takes the request again. */
    char id2[FR_ID_SIZE];
    mk_pool(id2, FLEET, "Bay 2", TYPE, 1 * U);
    cr_assert_eq(fr_request_list(g_e, &q, &items, &n, cursor), FR_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(items[0].status, FR_REQ_FULFILLED);
    fr_allocation na = get_alloc(items[0].allocation_id);
    cr_assert_str_eq(na.pool_id, id2);
    cr_assert_eq(na.start_ms, T0 + 4 * HOUR);
    fr_allocation_clear(&na);
    fr_request_free_array(items, n);
}

Test(pools, delete_force_releases_cancels_and_requeues)
{
    body_delete_force();
}

Test(pools_sqlite, delete_force_releases_cancels_and_requeues)
{
    body_delete_force();
}

/* ---- status ------------------------------------------------------------------ */

Test(pools, inactive_pool_refuses_bookings_and_reactivation_dispatches)
{
    char id[FR_ID_SIZE];
    mk_pool(id, FLEET, "Bay", TYPE, 2 * U);
    fr_pool_params u;
    memset(&u, 0, sizeof u);
    u.set = FR_POOL_F_STATUS;
    u.status = FR_POOL_DRAINING;
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, NULL, NULL), FR_OK);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(book(id, "v1", U, T0, T0 + HOUR, NULL, &res), FR_ESTATE);
    fr_result_clear(&res);
    cr_assert_eq(count_allocations(), 0);

    /* A request waits: the only pool of its type is not active. */
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_PENDING);
    g_now = T0 + MIN;
    u.status = FR_POOL_ACTIVE;
    cr_assert_eq(fr_pool_update(g_e, NULL, id, &u, NULL, NULL), FR_OK);
    fr_request r2 = get_req(r.id);
    cr_assert_eq(r2.status, FR_REQ_FULFILLED);
    fr_allocation a = get_alloc(r2.allocation_id);
    cr_assert_str_eq(a.pool_id, id);
    cr_assert_eq(a.start_ms, T0 + MIN);
    fr_allocation_clear(&a);
    fr_request_clear(&r2);
    fr_request_clear(&r);
}

/* ---- SQLite: close + reopen gives back the same state ------------------------ */

static char *dump_state(void)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    buf[0] = '\0';
#define APPEND(text)                                                                  \
    do {                                                                              \
        const char *t_ = (text);                                                      \
        size_t l_ = strlen(t_);                                                       \
        while (len + l_ + 2 > cap) {                                                  \
            cap *= 2;                                                                 \
            buf = realloc(buf, cap);                                                  \
            cr_assert_not_null(buf);                                                  \
        }                                                                             \
        memcpy(buf + len, t_, l_);                                                    \
        len += l_;                                                                    \
        buf[len++] = '\n';                                                            \
        buf[len] = '\0';                                                              \
    } while (0)
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    char cursor[FR_CURSOR_SIZE];
    size_t n = 0;
    char *json = NULL;

    fr_pool *pools = NULL;
    cr_assert_eq(fr_pool_list(g_e, &q, &pools, &n, cursor), FR_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(fr_pool_to_json(&pools[i], &json), FR_OK);
        APPEND(json);
        fr_free(json);
    }
    fr_pool_free_array(pools, n);

    fr_allocation *allocs = NULL;
    cr_assert_eq(fr_allocation_list(g_e, &q, &allocs, &n, cursor), FR_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(fr_allocation_to_json(&allocs[i], &json), FR_OK);
        APPEND(json);
        fr_free(json);
    }
    fr_allocation_free_array(allocs, n);

    fr_request *reqs = NULL;
    cr_assert_eq(fr_request_list(g_e, &q, &reqs, &n, cursor), FR_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(fr_request_to_json(&reqs[i], &json), FR_OK);
        APPEND(json);
        fr_free(json);
    }
    fr_request_free_array(reqs, n);
    q.status = FR_REQ_PENDING; /* queue order */
    cr_assert_eq(fr_request_list(g_e, &q, &reqs, &n, cursor), FR_OK);
    for (size_t i = 0; i < n; i++) {
        APPEND(reqs[i].id);
    }
    fr_request_free_array(reqs, n);
    q.status = -1;

    fr_conflict *confs = NULL;
    cr_assert_eq(fr_conflict_list(g_e, &q, &confs, &n, cursor), FR_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(fr_conflict_to_json(&confs[i], &json), FR_OK);
        APPEND(json);
        fr_free(json);
    }
    fr_conflict_free_array(confs, n);

    fr_event *ev = NULL;
    cr_assert_eq(fr_event_list(g_e, 0, FR_LIST_LIMIT_MAX, NULL, &ev, &n), FR_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(fr_event_to_json(&ev[i], &json), FR_OK);
        APPEND(json);
        fr_free(json);
    }
    fr_event_free_array(ev, n);
#undef APPEND
    return buf;
}

Test(pools_sqlite, reopen_restores_identical_state)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE], p3[FR_ID_SIZE], a1[FR_ID_SIZE], a2[FR_ID_SIZE];
    fr_schedule_entry sched[1] = {{T0 + 2 * HOUR, T0 + 3 * HOUR, 1 * U}};
    fr_pool_params pp;
    pool_params(&pp, FLEET, "Bay A", TYPE, 2 * U);
    pp.set |= FR_POOL_F_SCHEDULE | FR_POOL_F_LABELS | FR_POOL_F_SITE;
    pp.schedule = sched;
    pp.schedule_len = 1;
    pp.labels_json = "{\"a\":\"b\"}";
    pp.site = "north";
    mk_pool_p(p1, &pp);
    mk_pool(p2, "fleet-2", "Wash", "wash_bay", 1 * U);
    mk_pool(p3, "fleet-3", "Bay C", TYPE, 2 * U);
    must_book(p1, "v1", 1 * U, T0, FR_TIME_INF, a1);
    fr_allocation_params hp;
    alloc_params(&hp, p2, "v2", U, T0, T0 + HOUR);
    hp.set |= FR_ALLOC_F_HOLD | FR_ALLOC_F_METADATA;
    hp.hold_ms = 20 * MIN;
    hp.metadata_json = "{\"note\":\"x\"}";
    fr_allocation out;
    cr_assert_eq(fr_allocation_create(g_e, NULL, &hp, &out, NULL), FR_OK);
    memcpy(a2, out.id, FR_ID_SIZE);
    fr_allocation_clear(&out);
    /* An over_capacity conflict: Bay C cut below what is booked. */
    must_book(p3, "v7", 2 * U, T0, T0 + 4 * HOUR, NULL);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(p3, 1 * U, &res), FR_OK);
    cr_assert_eq(res.conflicts_detected_len, 1);
    fr_result_clear(&res);
    /* Two pending requests (queue order matters), one with a deadline. */
    fr_request_params rp;
    req_params(&rp, "v3", 2 * U, HOUR);
    rp.set |= FR_REQ_F_PRIORITY | FR_REQ_F_LATEST_END;
    rp.priority = 1;
    rp.latest_end_ms = T0 + 2 * HOUR;
    fr_request r1 = mk_request(&rp);
    cr_assert_eq(r1.status, FR_REQ_PENDING);
    g_now = T0 + SEC;
    req_params(&rp, "v4", 2 * U, HOUR);
    rp.set |= FR_REQ_F_PRIORITY;
    rp.priority = 3;
    fr_request r2 = mk_request(&rp);
    cr_assert_eq(r2.status, FR_REQ_PENDING);

    char *before = dump_state();
    int64_t seq0 = last_seq();
    reopen();
    char *after = dump_state();
    cr_assert_str_eq(after, before);
    cr_assert_eq(last_seq(), seq0);

    /* Time-driven state came back too: the hold expires exactly, the
     * deadline expires the request, and the event log continues. */
    g_now = T0 + 20 * MIN;
    cr_assert_eq(alloc_status(a2), FR_ALLOC_EXPIRED);
    g_now = T0 + HOUR + 1;
    fr_request x = get_req(r1.id);
    cr_assert_eq(x.status, FR_REQ_EXPIRED);
    fr_request_clear(&x);
    x = get_req(r2.id);
    cr_assert_eq(x.status, FR_REQ_PENDING);
    cr_assert_eq(x.queue_position, 1);
    fr_request_clear(&x);
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    cr_assert_geq(n, 2);
    cr_assert_eq(ev[0].seq, seq0 + 1);
    cr_assert_neq(find_event(ev, n, "allocation.expired", a2), -1);
    cr_assert_neq(find_event(ev, n, "request.expired", r1.id), -1);
    fr_event_free_array(ev, n);

    /* Capacity after reopen: the open-ended booking still counts in Bay A. */
    cr_assert_eq(book(p1, "v9", 2 * U, g_now, g_now + HOUR, NULL, &res), FR_ECAPACITY);
    cr_assert_eq(res.conflicting_count, 1);
    cr_assert_str_eq(res.conflicting_ids[0], a1);
    fr_result_clear(&res);

    /* The open conflict came back with its pool: ending the booking that
     * overflows Bay C resolves it. */
    fr_list_query cq;
    fr_list_query_init(&cq);
    cq.pool_id = p3;
    fr_conflict *confs = NULL;
    size_t nc = 0;
    cr_assert_eq(fr_conflict_list(g_e, &cq, &confs, &nc, NULL), FR_OK);
    cr_assert_eq(nc, 1);
    cr_assert_eq(confs[0].status, FR_CONFLICT_OPEN);
    char cid[FR_ID_SIZE];
    memcpy(cid, confs[0].id, FR_ID_SIZE);
    fr_conflict_free_array(confs, nc);
    fr_list_query aq;
    fr_list_query_init(&aq);
    aq.pool_id = p3;
    fr_allocation *al = NULL;
    size_t na = 0;
    cr_assert_eq(fr_allocation_list(g_e, &aq, &al, &na, NULL), FR_OK);
    cr_assert_eq(na, 1);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, al[0].id, NULL, NULL), FR_OK);
    fr_allocation_free_array(al, na);
    cr_assert_eq(fr_conflict_list(g_e, &cq, &confs, &nc, NULL), FR_OK);
    cr_assert_eq(nc, 1);
    cr_assert_eq(confs[0].status, FR_CONFLICT_RESOLVED);
    cr_assert_str_eq(confs[0].resolution_strategy, "auto");
    fr_conflict_free_array(confs, nc);

    char *again = dump_state();
    reopen();
    char *again2 = dump_state();
    cr_assert_str_eq(again2, again);
    free(before);
    free(after);
    free(again);
    free(again2);
    fr_request_clear(&r1);
    fr_request_clear(&r2);
}

/* A fixed seed makes ids repeatable, but never equal to a stored one: the
 * same seed and clock after a reopen must not mint an id that exists. */
static fr_engine *open_seeded(const char *uri, uint64_t seed)
{
    fr_engine_options o;
    memset(&o, 0, sizeof o);
    o.clock = test_clock;
    o.seed = seed;
    fr_engine *e = NULL;
    char err[256] = "";
    cr_assert_eq(fr_engine_open(uri, &o, &e, err, sizeof err), FR_OK, "%s", err);
    return e;
}

Test(pools_sqlite, ids_stay_unique_after_reopen_with_fixed_seed)
{
    fr_engine_close(g_e);
    g_e = open_seeded(g_db, 42);
    char first[FR_ID_SIZE], second[FR_ID_SIZE];
    mk_pool(first, FLEET, "first", TYPE, U);
    fr_engine_close(g_e);
    g_e = open_seeded(g_db, 42); /* same seed, same clock */
    mk_pool(second, FLEET, "second", TYPE, U);
    fr_engine_close(g_e);
    g_e = open_seeded(g_db, 42);
    size_t n = count_pools();
    fr_pool p;
    int rc = fr_pool_get(g_e, first, &p);
    if (rc == FR_OK) {
        fr_pool_clear(&p);
    }
    cr_assert_str_neq(first, second, "the same id was minted twice: %s", first);
    cr_assert_eq(n, 2, "a pool was lost: %zu left", n);
    cr_assert_eq(rc, FR_OK);
}
