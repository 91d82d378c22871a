/*
 * test_requests.c — the request queue (SPEC §4) through the public API:
 * immediate fulfilment, pending reasons, dispatch when capacity frees (in
 * queue order, with aging), the computed queue fields, deadline expiry,
 * update/cancel, and validation.
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

TestSuite(requests, .init = setup_mem, .fini = teardown);
TestSuite(requests_sqlite, .init = setup_sqlite, .fini = teardown);

static int req_status(const char *id)
{
    fr_request r = get_req(id);
    int s = r.status;
    fr_request_clear(&r);
    return s;
}

/* A pool of capacity cap filled by an open-ended booking of fill (vehicle v0). */
static void blocked_pool(char pool[FR_ID_SIZE], char blocker[FR_ID_SIZE], int64_t cap,
                         int64_t fill)
{
    mk_pool(pool, FLEET, "Bay", TYPE, cap);
    must_book(pool, "v0", fill, T0, FR_TIME_INF, blocker);
}

/* A request with a deadline: dur 1 h, latest_end given. */
static fr_request deadline_request(const char *vehicle, int32_t priority, int64_t latest_end)
{
    fr_request_params rp;
    req_params(&rp, vehicle, U, HOUR);
    rp.set |= FR_REQ_F_PRIORITY | FR_REQ_F_LATEST_END;
    rp.priority = priority;
    rp.latest_end_ms = latest_end;
    return mk_request(&rp);
}

static int release(const char *alloc_id)
{
    fr_allocation_params p;
    memset(&p, 0, sizeof p);
    p.set = FR_ALLOC_F_STATUS;
    p.status = FR_ALLOC_RELEASED;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_allocation_update(g_e, NULL, alloc_id, &p, NULL, &res);
    cr_assert_eq(rc, FR_OK, "release: %s", res.message);
    fr_result_clear(&res);
    return rc;
}

/* Ids of the pending requests, in queue order (at most max). */
static size_t pending_ids(char ids[][FR_ID_SIZE], size_t max)
{
    fr_list_query q;
    fr_list_query_init(&q);
    q.status = FR_REQ_PENDING;
    q.limit = FR_LIST_LIMIT_MAX;
    fr_request *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_request_list(g_e, &q, &items, &n, cursor), FR_OK);
    for (size_t i = 0; i < n && i < max; i++) {
        memcpy(ids[i], items[i].id, FR_ID_SIZE);
        cr_assert_eq(items[i].queue_position, (int64_t)i + 1, "listed position %zu", i);
    }
    fr_request_free_array(items, n);
    return n;
}

/* ---- fulfilled at once ------------------------------------------------------- */

Test(requests, fulfilled_at_once_when_it_fits)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    rp.set |= FR_REQ_F_PRIORITY | FR_REQ_F_METADATA;
    rp.priority = 4;
    rp.metadata_json = "{\"job\":7}";
    fr_request r;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_request_create(g_e, NULL, &rp, &r, &res), FR_OK, "%s", res.message);
    cr_assert_eq(r.status, FR_REQ_FULFILLED);
    cr_assert_eq(r.pending_reason, FR_REASON_NONE);
    cr_assert_eq(strlen(r.allocation_id), 36);
    cr_assert_eq(r.fulfilled_at_ms, T0);
    cr_assert_eq(r.queue_position, 0);
    cr_assert_eq(r.estimated_start_ms, FR_TIME_NULL);
    cr_assert_eq(r.earliest_start_ms, T0, "earliest_start defaults to now");
    cr_assert_eq(r.latest_end_ms, FR_TIME_INF);
    cr_assert_eq(r.duration_ms, HOUR);
    cr_assert_str_eq(r.metadata_json, "{\"job\":7}");
    cr_assert_eq(r.preempt, 0);
    cr_assert_str_eq(r.fleet_id, FLEET);

    fr_allocation a = get_alloc(r.allocation_id);
    cr_assert_str_eq(a.request_id, r.id);
    cr_assert_str_eq(a.pool_id, pool);
    cr_assert_eq(a.status, FR_ALLOC_CONFIRMED);
    cr_assert_eq(a.start_ms, T0);
    cr_assert_eq(a.end_ms, T0 + HOUR);
    cr_assert_eq(a.quantity_milli, U);
    cr_assert_eq(a.priority, 4);
    cr_assert_str_eq(a.vehicle_id, "v1");
    fr_allocation_clear(&a);

    fr_request got = get_req(r.id);
    cr_assert_eq(got.status, FR_REQ_FULFILLED);
    cr_assert_str_eq(got.allocation_id, r.allocation_id);
    fr_request_clear(&got);

    fr_list_query q;
    fr_list_query_init(&q);
    q.request_id = r.id;
    fr_allocation *items = NULL;
    size_t n = 0;
    cr_assert_eq(fr_allocation_list(g_e, &q, &items, &n, NULL), FR_OK);
    cr_assert_eq(n, 1);
    fr_allocation_free_array(items, n);
    fr_request_clear(&r);
    fr_result_clear(&res);
}

Test(requests, fulfilled_later_start_when_not_free_now)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v0", U, T0, T0 + 2 * HOUR, NULL);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_FULFILLED, "without a deadline it takes the earliest fit");
    fr_allocation a = get_alloc(r.allocation_id);
    cr_assert_eq(a.start_ms, T0 + 2 * HOUR);
    cr_assert_eq(a.end_ms, T0 + 3 * HOUR);
    fr_allocation_clear(&a);
    fr_request_clear(&r);
}

Test(requests, earliest_start_respected_and_vehicle_not_double_booked)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 5 * U);
    must_book(pool, "v1", U, T0 + HOUR, T0 + 3 * HOUR, NULL);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    rp.set |= FR_REQ_F_EARLIEST_START;
    rp.earliest_start_ms = T0 + 30 * MIN;
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_FULFILLED);
    fr_allocation a = get_alloc(r.allocation_id);
    cr_assert_eq(a.start_ms, T0 + 3 * HOUR, "v1 is busy until 3h: +%" PRId64, a.start_ms - T0);
    fr_allocation_clear(&a);
    fr_request_clear(&r);
}

Test(requests, pool_and_site_constraints)
{
    char a[FR_ID_SIZE], b[FR_ID_SIZE], c[FR_ID_SIZE];
    mk_pool(a, FLEET, "A", TYPE, 1 * U); /* least free: the default choice */
    mk_pool(b, FLEET, "B", TYPE, 5 * U);
    fr_pool_params pp;
    pool_params(&pp, FLEET, "C", TYPE, 5 * U);
    pp.set |= FR_POOL_F_SITE;
    pp.site = "south";
    mk_pool_p(c, &pp);

    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    fr_request r = mk_request(&rp);
    fr_allocation x = get_alloc(r.allocation_id);
    cr_assert_str_eq(x.pool_id, a);
    fr_allocation_clear(&x);
    fr_request_clear(&r);

    req_params(&rp, "v2", U, HOUR);
    rp.set |= FR_REQ_F_POOL_ID;
    rp.pool_id = b;
    r = mk_request(&rp);
    cr_assert_str_eq(r.pool_id, b);
    x = get_alloc(r.allocation_id);
    cr_assert_str_eq(x.pool_id, b);
    fr_allocation_clear(&x);
    fr_request_clear(&r);

    req_params(&rp, "v3", U, HOUR);
    rp.set |= FR_REQ_F_SITE;
    rp.site = "south";
    r = mk_request(&rp);
    x = get_alloc(r.allocation_id);
    cr_assert_str_eq(x.pool_id, c);
    fr_allocation_clear(&x);
    fr_request_clear(&r);
}

/* ---- pending -------------------------------------------------------------------- */

Test(requests, pending_insufficient_capacity)
{
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, U, U);
    size_t na = count_allocations();
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    rp.set |= FR_REQ_F_PRIORITY;
    rp.priority = 3;
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_PENDING);
    cr_assert_eq(r.pending_reason, FR_REASON_INSUFFICIENT_CAPACITY);
    cr_assert_str_eq(r.allocation_id, "");
    cr_assert_eq(r.fulfilled_at_ms, FR_TIME_NULL);
    cr_assert_eq(r.queue_position, 1);
    cr_assert_eq(r.effective_priority, 3);
    cr_assert_eq(r.estimated_start_ms, FR_TIME_NULL, "open-ended blocker: nothing in 30 days");
    cr_assert_eq(r.created_at_ms, T0);
    cr_assert_eq(r.updated_at_ms, T0);
    cr_assert_eq(count_allocations(), na);
    fr_request got = get_req(r.id);
    cr_assert_eq(got.pending_reason, FR_REASON_INSUFFICIENT_CAPACITY);
    fr_request_clear(&got);
    int64_t version = r.version;
    fr_request_clear(&r);
    /* Last, so the checks above run whatever this says. */
    cr_assert_eq(version, 1, "1 on create (SPEC 1): got %" PRId64, version);
}

Test(requests, pending_no_pool_of_type_then_pool_created)
{
    mk_pool(NULL, "fleet-2", "Other fleet", TYPE, 5 * U);
    mk_pool(NULL, FLEET, "Other type", "wash_bay", 5 * U);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_PENDING);
    cr_assert_eq(r.pending_reason, FR_REASON_NO_POOL_OF_TYPE);
    cr_assert_eq(r.estimated_start_ms, FR_TIME_NULL);

    g_now = T0 + 5 * MIN;
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    fr_request got = get_req(r.id);
    cr_assert_eq(got.status, FR_REQ_FULFILLED);
    cr_assert_eq(got.pending_reason, FR_REASON_NONE);
    cr_assert_eq(got.fulfilled_at_ms, T0 + 5 * MIN);
    fr_allocation a = get_alloc(got.allocation_id);
    cr_assert_str_eq(a.pool_id, pool);
    cr_assert_eq(a.start_ms, T0 + 5 * MIN, "starts at max(now, earliest_start)");
    fr_allocation_clear(&a);
    fr_request_clear(&got);
    fr_request_clear(&r);
}

Test(requests, estimated_start_ignores_deadline)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 1 * U);
    must_book(pool, "v0", U, T0, T0 + 2 * HOUR, NULL);
    /* Window [T0, T0+90min) for 1 h: cannot fit before the deadline. */
    fr_request r = deadline_request("v1", 0, T0 + 90 * MIN);
    cr_assert_eq(r.status, FR_REQ_PENDING);
    cr_assert_eq(r.pending_reason, FR_REASON_INSUFFICIENT_CAPACITY);
    cr_assert_eq(r.estimated_start_ms, T0 + 2 * HOUR, "estimated +%" PRId64,
                 r.estimated_start_ms - T0);
    /* And from max(now, earliest_start). */
    fr_request_params rp;
    req_params(&rp, "v2", U, HOUR);
    rp.set |= FR_REQ_F_EARLIEST_START | FR_REQ_F_LATEST_END;
    rp.earliest_start_ms = T0 + 3 * HOUR;
    rp.latest_end_ms = T0 + 4 * HOUR;
    char other[FR_ID_SIZE];
    must_book(pool, "v0", U, T0 + 3 * HOUR, T0 + 4 * HOUR, other);
    fr_request r2 = mk_request(&rp);
    cr_assert_eq(r2.status, FR_REQ_PENDING);
    cr_assert_eq(r2.estimated_start_ms, T0 + 4 * HOUR);
    fr_request_clear(&r2);
    fr_request_clear(&r);
}

/* ---- queue order and dispatch ---------------------------------------------------- */

Test(requests, dispatch_on_release_higher_priority_first)
{
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, U, U);
    fr_request r1 = deadline_request("v1", 0, T0 + 2 * HOUR);
    g_now = T0 + SEC;
    fr_request r2 = deadline_request("v2", 5, T0 + 2 * HOUR);
    cr_assert_eq(r1.status, FR_REQ_PENDING);
    cr_assert_eq(r2.status, FR_REQ_PENDING);
    fr_request g1 = get_req(r1.id), g2 = get_req(r2.id);
    cr_assert_eq(g2.queue_position, 1);
    cr_assert_eq(g1.queue_position, 2);
    fr_request_clear(&g1);
    fr_request_clear(&g2);
    char ids[4][FR_ID_SIZE];
    cr_assert_eq(pending_ids(ids, 4), 2);
    cr_assert_str_eq(ids[0], r2.id);
    cr_assert_str_eq(ids[1], r1.id);

    g_now = T0 + 10 * SEC;
    int64_t seq0 = last_seq();
    release(x);
    g2 = get_req(r2.id);
    cr_assert_eq(g2.status, FR_REQ_FULFILLED);
    fr_allocation a = get_alloc(g2.allocation_id);
    cr_assert_eq(a.start_ms, T0 + 10 * SEC);
    cr_assert_eq(a.end_ms, T0 + 10 * SEC + HOUR);
    fr_allocation_clear(&a);
    fr_request_clear(&g2);
    g1 = get_req(r1.id);
    cr_assert_eq(g1.status, FR_REQ_PENDING, "only one fits before its deadline");
    cr_assert_eq(g1.queue_position, 1);
    fr_request_clear(&g1);
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    long fi = find_event(ev, n, "request.fulfilled", r2.id);
    cr_assert_neq(fi, -1);
    cr_assert_neq(find_event(ev, n, "allocation.released", x), -1);
    fr_event_free_array(ev, n);
    fr_request_clear(&r1);
    fr_request_clear(&r2);
}

Test(requests, equal_priority_earlier_created_first)
{
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, U, U);
    g_now = T0 + SEC;
    fr_request r1 = deadline_request("v1", 3, T0 + 2 * HOUR);
    g_now = T0 + 2 * SEC;
    fr_request r2 = deadline_request("v2", 3, T0 + 2 * HOUR);
    char ids[4][FR_ID_SIZE];
    cr_assert_eq(pending_ids(ids, 4), 2);
    cr_assert_str_eq(ids[0], r1.id);
    g_now = T0 + 3 * SEC;
    release(x);
    cr_assert_eq(req_status(r1.id), FR_REQ_FULFILLED);
    cr_assert_eq(req_status(r2.id), FR_REQ_PENDING);
    fr_request_clear(&r1);
    fr_request_clear(&r2);
}

Test(requests, same_created_at_ties_by_id)
{
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, U, U);
    fr_request r1 = deadline_request("v1", 2, T0 + 2 * HOUR);
    fr_request r2 = deadline_request("v2", 2, T0 + 2 * HOUR);
    cr_assert_eq(r1.created_at_ms, r2.created_at_ms);
    const char *first = strcmp(r1.id, r2.id) < 0 ? r1.id : r2.id;
    const char *second = first == r1.id ? r2.id : r1.id;
    char ids[4][FR_ID_SIZE];
    cr_assert_eq(pending_ids(ids, 4), 2);
    cr_assert_str_eq(ids[0], first);
    g_now = T0 + SEC;
    release(x);
    cr_assert_eq(req_status(first), FR_REQ_FULFILLED);
    cr_assert_eq(req_status(second), FR_REQ_PENDING);
    fr_request_clear(&r1);
    fr_request_clear(&r2);
}

Test(requests, aging_lets_old_low_priority_go_first)
{
    /* aging 60 s (default).  rank = priority * 60000 - created_at:
     * r0: 0 - T0;  r5: 5 * 60000 - (T0 + 600000) = -T0 - 300000  -> r0 ahead. */
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, U, U);
    const int64_t deadline = T0 + 10 * MIN + HOUR + 2 * MIN; /* latest start +12 min */
    fr_request r0 = deadline_request("v1", 0, deadline);
    cr_assert_eq(r0.effective_priority, 0);
    g_now = T0 + 10 * MIN;
    fr_request r5 = deadline_request("v2", 5, deadline);
    cr_assert_eq(r5.effective_priority, 5);
    cr_assert_eq(r5.queue_position, 2, "r5 behind the older r0: %" PRId64, r5.queue_position);

    fr_request g0 = get_req(r0.id);
    cr_assert_eq(g0.effective_priority, 10, "0 + floor(600 s / 60 s)");
    cr_assert_eq(g0.queue_position, 1);
    fr_request_clear(&g0);
    g_now = T0 + 10 * MIN + 59 * SEC;
    g0 = get_req(r0.id);
    fr_request g5 = get_req(r5.id);
    cr_assert_eq(g0.effective_priority, 10, "floor, not round");
    cr_assert_eq(g5.effective_priority, 5);
    fr_request_clear(&g0);
    fr_request_clear(&g5);
    g_now = T0 + 10 * MIN + 20 * SEC;
    g0 = get_req(r0.id);
    cr_assert_eq(g0.effective_priority, 10);
    fr_request_clear(&g0);

    /* Dispatch follows the aged order. */
    g_now = T0 + 10 * MIN + 25 * SEC;
    release(x);
    cr_assert_eq(req_status(r0.id), FR_REQ_FULFILLED);
    cr_assert_eq(req_status(r5.id), FR_REQ_PENDING);
    fr_request_clear(&r0);
    fr_request_clear(&r5);
}

Test(requests, aging_short_wait_keeps_priority_order_per_queue)
{
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, U, U);
    fr_request r0 = deadline_request("v1", 0, T0 + 3 * HOUR);
    /* In another queue, a priority-5 request made only 2 min after a
     * priority-0 one is ahead: 5*60000 - 120000 > 0. */
    char wash[FR_ID_SIZE];
    mk_pool(wash, FLEET, "Wash", "wash_bay", U);
    must_book(wash, "w0", U, T0, FR_TIME_INF, NULL);
    fr_request_params rp;
    req_params(&rp, "w1", U, HOUR);
    rp.resource_type = "wash_bay";
    fr_request w0 = mk_request(&rp);
    g_now += 2 * MIN;
    req_params(&rp, "w2", U, HOUR);
    rp.resource_type = "wash_bay";
    rp.set |= FR_REQ_F_PRIORITY;
    rp.priority = 5;
    fr_request w5 = mk_request(&rp);
    cr_assert_eq(w5.queue_position, 1, "queue per (fleet, type): %" PRId64, w5.queue_position);
    fr_request gw0 = get_req(w0.id);
    cr_assert_eq(gw0.queue_position, 2);
    cr_assert_eq(gw0.effective_priority, 2);
    fr_request_clear(&gw0);
    fr_request g0 = get_req(r0.id);
    cr_assert_eq(g0.queue_position, 1, "the charging queue is separate");
    fr_request_clear(&g0);
    fr_request_clear(&r0);
    fr_request_clear(&w0);
    fr_request_clear(&w5);
}

Test(requests, aging_step_is_configurable)
{
    fr_engine_close(g_e);
    g_aging_ms = 10 * SEC;
    g_e = open_engine(":memory:");
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, U, U);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    rp.set |= FR_REQ_F_PRIORITY;
    rp.priority = 2;
    fr_request r = mk_request(&rp);
    g_now = T0 + 35 * SEC;
    fr_request g = get_req(r.id);
    cr_assert_eq(g.effective_priority, 2 + 3);
    fr_request_clear(&g);
    /* A priority-3 request 15 s later is behind: 3*10000 - 15000 < 2*10000. */
    g_now = T0 + 15 * SEC;
    req_params(&rp, "v2", U, HOUR);
    rp.set |= FR_REQ_F_PRIORITY;
    rp.priority = 3;
    fr_request r3 = mk_request(&rp);
    cr_assert_eq(r3.queue_position, 2);
    fr_request_clear(&r3);
    fr_request_clear(&r);
}

static void body_dispatch_triggers(void)
{
    /* a) delete (cancel) of a future booking */
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, U);
    must_book(pool, "v0", U, T0 + 10 * MIN, FR_TIME_INF, x);
    fr_request ra = deadline_request("v1", 0, T0 + HOUR + 10 * MIN);
    cr_assert_eq(ra.status, FR_REQ_PENDING);
    cr_assert_eq(fr_allocation_delete(g_e, NULL, x, NULL, NULL), FR_OK);
    fr_request g = get_req(ra.id);
    cr_assert_eq(g.status, FR_REQ_FULFILLED);
    fr_allocation a = get_alloc(g.allocation_id);
    cr_assert_eq(a.start_ms, T0);
    fr_allocation_clear(&a);
    fr_request_clear(&g);
    fr_request_clear(&ra);

    /* b) capacity raised */
    char p2[FR_ID_SIZE], y[FR_ID_SIZE];
    mk_pool(p2, FLEET, "Wash", "wash_bay", U);
    must_book(p2, "v0", U, T0, FR_TIME_INF, y);
    fr_request_params rp;
    req_params(&rp, "v2", U, HOUR);
    rp.resource_type = "wash_bay";
    fr_request rb = mk_request(&rp);
    cr_assert_eq(rb.status, FR_REQ_PENDING);
    g_now = T0 + MIN;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(set_pool_capacity(p2, 2 * U, &res), FR_OK);
    fr_result_clear(&res);
    g = get_req(rb.id);
    cr_assert_eq(g.status, FR_REQ_FULFILLED);
    cr_assert_eq(g.fulfilled_at_ms, T0 + MIN);
    fr_request_clear(&g);
    fr_request_clear(&rb);

    /* c) allocation shrunk (quantity) */
    char p3[FR_ID_SIZE], z[FR_ID_SIZE];
    mk_pool(p3, FLEET, "Park", "parking", 2 * U);
    must_book(p3, "v0", 2 * U, T0, FR_TIME_INF, z);
    req_params(&rp, "v3", U, HOUR);
    rp.resource_type = "parking";
    fr_request rc_ = mk_request(&rp);
    cr_assert_eq(rc_.status, FR_REQ_PENDING);
    fr_allocation_params up;
    memset(&up, 0, sizeof up);
    up.set = FR_ALLOC_F_QUANTITY;
    up.quantity_milli = U;
    cr_assert_eq(fr_allocation_update(g_e, NULL, z, &up, NULL, NULL), FR_OK);
    cr_assert_eq(req_status(rc_.id), FR_REQ_FULFILLED);
    fr_request_clear(&rc_);

    /* d) allocation shortened (end earlier) */
    char p4[FR_ID_SIZE], w[FR_ID_SIZE];
    mk_pool(p4, FLEET, "Lift", "lift", U);
    must_book(p4, "v0", U, T0, T0 + 40 * DAY, w);
    req_params(&rp, "v4", U, HOUR);
    rp.resource_type = "lift";
    fr_request rd = mk_request(&rp);
    cr_assert_eq(rd.status, FR_REQ_PENDING, "nothing within 30 days");
    memset(&up, 0, sizeof up);
    up.set = FR_ALLOC_F_END;
    up.end_ms = T0 + 2 * HOUR;
    cr_assert_eq(fr_allocation_update(g_e, NULL, w, &up, NULL, NULL), FR_OK);
    g = get_req(rd.id);
    cr_assert_eq(g.status, FR_REQ_FULFILLED);
    a = get_alloc(g.allocation_id);
    cr_assert_eq(a.start_ms, T0 + 2 * HOUR);
    fr_allocation_clear(&a);
    fr_request_clear(&g);
    fr_request_clear(&rd);
}

Test(requests, dispatch_when_capacity_frees)
{
    body_dispatch_triggers();
}

Test(requests_sqlite, dispatch_when_capacity_frees)
{
    body_dispatch_triggers();
}

Test(requests, dispatch_on_hold_expiry_without_other_calls)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, U);
    fr_allocation_params hp;
    alloc_params(&hp, pool, "v0", U, T0, FR_TIME_INF);
    hp.set |= FR_ALLOC_F_HOLD;
    hp.hold_ms = 10 * MIN;
    cr_assert_eq(fr_allocation_create(g_e, NULL, &hp, NULL, NULL), FR_OK);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_PENDING);
    int64_t seq0 = last_seq();
    g_now = T0 + 10 * MIN;
    fr_request g = get_req(r.id);
    cr_assert_eq(g.status, FR_REQ_FULFILLED);
    cr_assert_eq(g.fulfilled_at_ms, T0 + 10 * MIN);
    fr_allocation a = get_alloc(g.allocation_id);
    cr_assert_eq(a.start_ms, T0 + 10 * MIN);
    fr_allocation_clear(&a);
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    long i = find_event(ev, n, "request.fulfilled", r.id);
    cr_assert_neq(i, -1);
    cr_assert_str_eq(ev[i].actor, "system");
    fr_event_free_array(ev, n);
    fr_request_clear(&g);
    fr_request_clear(&r);
}

/* ---- deadline expiry ------------------------------------------------------------- */

static void body_deadline_expiry(void)
{
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, U, U);
    fr_request r = deadline_request("v1", 0, T0 + 2 * HOUR); /* latest start T0+1h */
    cr_assert_eq(r.status, FR_REQ_PENDING);
    int64_t seq0 = last_seq();
    g_now = T0 + HOUR; /* latest_end - duration == now: still possible */
    cr_assert_eq(req_status(r.id), FR_REQ_PENDING);
    g_now = T0 + HOUR + SEC;
    fr_request g = get_req(r.id);
    cr_assert_eq(g.status, FR_REQ_EXPIRED);
    cr_assert_eq(g.queue_position, 0);
    cr_assert_eq(g.estimated_start_ms, FR_TIME_NULL);
    cr_assert_str_eq(g.allocation_id, "");
    fr_request_clear(&g);
    char ids[2][FR_ID_SIZE];
    cr_assert_eq(pending_ids(ids, 2), 0);
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    long i = find_event(ev, n, "request.expired", r.id);
    cr_assert_neq(i, -1);
    cr_assert_str_eq(ev[i].actor, "system");
    fr_event_free_array(ev, n);
    /* Expired is terminal. */
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_request_delete(g_e, NULL, r.id, NULL, &res), FR_ESTATE);
    fr_result_clear(&res);
    /* Freed capacity later does not revive it. */
    release(x);
    cr_assert_eq(req_status(r.id), FR_REQ_EXPIRED);
    fr_request_clear(&r);
}

Test(requests, deadline_expiry_on_a_plain_get)
{
    body_deadline_expiry();
}

Test(requests_sqlite, deadline_expiry_on_a_plain_get)
{
    body_deadline_expiry();
}

/* ---- update / delete ------------------------------------------------------------- */

Test(requests, update_pending_redispatches)
{
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, 2 * U, U);
    fr_request_params rp;
    req_params(&rp, "v1", 2 * U, HOUR);
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_PENDING);
    int64_t v = r.version;
    g_now = T0 + MIN;
    fr_request_params up;
    memset(&up, 0, sizeof up);
    up.set = FR_REQ_F_QUANTITY;
    up.quantity_milli = U;
    fr_request out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_request_update(g_e, NULL, r.id, &up, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.status, FR_REQ_FULFILLED);
    cr_assert_eq(out.quantity_milli, U);
    cr_assert_gt(out.version, v);
    fr_allocation a = get_alloc(out.allocation_id);
    cr_assert_eq(a.quantity_milli, U);
    cr_assert_eq(a.start_ms, T0 + MIN);
    fr_allocation_clear(&a);
    fr_request_clear(&out);
    /* Now fulfilled: update and delete are invalid_state, nothing changes. */
    fr_request before = get_req(r.id);
    cr_assert_eq(fr_request_update(g_e, NULL, r.id, &up, &out, &res), FR_ESTATE);
    fr_result_clear(&res);
    cr_assert_eq(fr_request_delete(g_e, NULL, r.id, &out, &res), FR_ESTATE);
    fr_result_clear(&res);
    fr_request after = get_req(r.id);
    cr_assert_eq(after.version, before.version);
    cr_assert_eq(after.status, FR_REQ_FULFILLED);
    cr_assert_eq(alloc_status(after.allocation_id), FR_ALLOC_CONFIRMED);
    fr_request_clear(&before);
    fr_request_clear(&after);
    fr_request_clear(&r);
}

Test(requests, update_pending_validation_and_if_match)
{
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, U, U);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    fr_request r = mk_request(&rp);
    fr_request before = get_req(r.id);
    int64_t seq0 = last_seq();
    fr_request_params up;
    memset(&up, 0, sizeof up);
    fr_result res;
    fr_result_init(&res);
    up.set = FR_REQ_F_FLEET_ID;
    up.fleet_id = "fleet-2";
    cr_assert_eq(fr_request_update(g_e, NULL, r.id, &up, NULL, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "fleet_id");
    fr_result_clear(&res);
    up.set = FR_REQ_F_PRIORITY;
    up.priority = 1001;
    cr_assert_eq(fr_request_update(g_e, NULL, r.id, &up, NULL, &res), FR_EINVAL);
    cr_assert_str_eq(res.field, "priority");
    fr_result_clear(&res);
    up.set = FR_REQ_F_LATEST_END;
    up.latest_end_ms = T0 + 30 * MIN; /* shorter than the 1 h duration */
    cr_assert_eq(fr_request_update(g_e, NULL, r.id, &up, NULL, &res), FR_EINVAL);
    fr_result_clear(&res);
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.if_match_version = before.version + 1;
    up.set = FR_REQ_F_PRIORITY;
    up.priority = 9;
    cr_assert_eq(fr_request_update(g_e, &ctx, r.id, &up, NULL, &res), FR_EVERSION);
    fr_result_clear(&res);
    cr_assert_eq(fr_request_delete(g_e, &ctx, r.id, NULL, &res), FR_EVERSION);
    fr_result_clear(&res);
    cr_assert_eq(fr_request_update(g_e, NULL, UNKNOWN_ID, &up, NULL, &res), FR_ENOTFOUND);
    fr_result_clear(&res);
    fr_request after = get_req(r.id);
    cr_assert_eq(after.version, before.version);
    cr_assert_eq(after.priority, 0);
    cr_assert_eq(after.status, FR_REQ_PENDING);
    cr_assert_eq(last_seq(), seq0);
    fr_request_clear(&after);

    ctx.if_match_version = before.version;
    fr_request out;
    cr_assert_eq(fr_request_update(g_e, &ctx, r.id, &up, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.priority, 9);
    cr_assert_eq(out.status, FR_REQ_PENDING);
    cr_assert_eq(out.pending_reason, FR_REASON_INSUFFICIENT_CAPACITY);
    cr_assert_eq(out.queue_position, 1);
    int64_t got_version = out.version, want_version = before.version + 1;
    fr_request_clear(&out);
    fr_request_clear(&before);
    fr_request_clear(&r);
    fr_result_clear(&res);
    /* One PUT is one change: +1 (SPEC 1).  Last, so the rest runs first. */
    cr_assert_eq(got_version, want_version, "version %" PRId64 " after one update, want %" PRId64,
                 got_version, want_version);
}

Test(requests, delete_pending_cancels)
{
    char pool[FR_ID_SIZE], x[FR_ID_SIZE];
    blocked_pool(pool, x, U, U);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    fr_request r = mk_request(&rp);
    fr_request r2;
    req_params(&rp, "v2", U, HOUR);
    r2 = mk_request(&rp);
    g_now = T0 + MIN;
    fr_request out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_request_delete(g_e, NULL, r.id, &out, &res), FR_OK, "%s", res.message);
    cr_assert_eq(out.status, FR_REQ_CANCELLED);
    cr_assert_eq(out.queue_position, 0);
    cr_assert_eq(out.updated_at_ms, T0 + MIN);
    fr_request_clear(&out);
    cr_assert_eq(req_status(r.id), FR_REQ_CANCELLED);
    char ids[4][FR_ID_SIZE];
    cr_assert_eq(pending_ids(ids, 4), 1);
    cr_assert_str_eq(ids[0], r2.id);
    fr_request g = get_req(r2.id);
    cr_assert_eq(g.queue_position, 1);
    fr_request_clear(&g);
    cr_assert_eq(fr_request_delete(g_e, NULL, r.id, &out, &res), FR_ESTATE);
    fr_result_clear(&res);
    cr_assert_eq(fr_request_delete(g_e, NULL, UNKNOWN_ID, &out, &res), FR_ENOTFOUND);
    fr_result_clear(&res);
    /* A cancelled request is never fulfilled later. */
    release(x);
    cr_assert_eq(req_status(r.id), FR_REQ_CANCELLED);
    cr_assert_eq(req_status(r2.id), FR_REQ_FULFILLED);
    fr_request_clear(&r);
    fr_request_clear(&r2);
}

Test(requests, delete_fulfilled_is_invalid_state)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, U);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_FULFILLED);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_request_delete(g_e, NULL, r.id, NULL, &res), FR_ESTATE);
    cr_assert_eq(res.status, FR_ESTATE);
    fr_result_clear(&res);
    cr_assert_eq(req_status(r.id), FR_REQ_FULFILLED);
    fr_request_clear(&r);
}

Test(requests, constrained_pool_deleted_leaves_request_pending_and_editable)
{
    char a[FR_ID_SIZE], b[FR_ID_SIZE], x[FR_ID_SIZE];
    mk_pool(a, FLEET, "A", TYPE, U);
    mk_pool(b, FLEET, "B", TYPE, U);
    must_book(a, "v0", U, T0, FR_TIME_INF, x);
    must_book(b, "v9", U, T0, FR_TIME_INF, NULL);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    rp.set |= FR_REQ_F_POOL_ID;
    rp.pool_id = a;
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_PENDING);
    cr_assert_eq(r.pending_reason, FR_REASON_INSUFFICIENT_CAPACITY);
    g_now = T0 + MIN;
    cr_assert_eq(fr_pool_delete(g_e, NULL, a, 1, NULL), FR_OK);
    fr_request g = get_req(r.id);
    cr_assert_eq(g.status, FR_REQ_PENDING);
    cr_assert_eq(g.pending_reason, FR_REASON_NO_POOL_OF_TYPE,
                 "its only matching pool is gone: reason %d", g.pending_reason);
    fr_request_clear(&g);
    /* An unrelated change is still accepted; cancelling too. */
    fr_request_params up;
    memset(&up, 0, sizeof up);
    up.set = FR_REQ_F_PRIORITY;
    up.priority = 5;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_request_update(g_e, NULL, r.id, &up, NULL, &res), FR_OK, "%s", res.message);
    fr_result_clear(&res);
    /* Pointing it at the deleted pool is refused. */
    up.set = FR_REQ_F_POOL_ID;
    up.pool_id = a;
    cr_assert_eq(fr_request_update(g_e, NULL, r.id, &up, NULL, &res), FR_EREFERENCE);
    fr_result_clear(&res);
    /* Re-pointing it at a live pool dispatches it there once it has room. */
    up.set = FR_REQ_F_POOL_ID;
    up.pool_id = b;
    cr_assert_eq(fr_request_update(g_e, NULL, r.id, &up, NULL, &res), FR_OK, "%s", res.message);
    fr_result_clear(&res);
    g = get_req(r.id);
    cr_assert_eq(g.pending_reason, FR_REASON_INSUFFICIENT_CAPACITY);
    fr_request_clear(&g);
    cr_assert_eq(set_pool_capacity(b, 2 * U, &res), FR_OK);
    fr_result_clear(&res);
    g = get_req(r.id);
    cr_assert_eq(g.status, FR_REQ_FULFILLED);
    fr_allocation al = get_alloc(g.allocation_id);
    cr_assert_str_eq(al.pool_id, b);
    fr_allocation_clear(&al);
    fr_request_clear(&g);
    fr_request_clear(&r);
}

Test(requests, version_once_per_call)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, U);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.status, FR_REQ_FULFILLED);
    cr_assert_eq(r.version, 1, "created and fulfilled by one call: %" PRId64, r.version);
    fr_allocation a = get_alloc(r.allocation_id);
    cr_assert_eq(a.version, 1);
    fr_allocation_clear(&a);
    fr_request_clear(&r);
}

/* ---- validation -------------------------------------------------------------------- */

Test(requests, duration_defaults_to_window)
{
    mk_pool(NULL, FLEET, "Bay", TYPE, U);
    fr_request_params rp;
    req_params(&rp, "v1", U, 0);
    rp.set &= ~FR_REQ_F_DURATION;
    rp.set |= FR_REQ_F_EARLIEST_START | FR_REQ_F_LATEST_END;
    rp.earliest_start_ms = T0 + HOUR;
    rp.latest_end_ms = T0 + 3 * HOUR;
    fr_request r = mk_request(&rp);
    cr_assert_eq(r.duration_ms, 2 * HOUR);
    cr_assert_eq(r.status, FR_REQ_FULFILLED);
    fr_allocation a = get_alloc(r.allocation_id);
    cr_assert_eq(a.start_ms, T0 + HOUR);
    cr_assert_eq(a.end_ms, T0 + 3 * HOUR);
    fr_allocation_clear(&a);
    fr_request_clear(&r);
}

Test(requests, validation_changes_nothing)
{
    mk_pool(NULL, FLEET, "Bay", TYPE, U);
    int64_t seq0 = last_seq();
    fr_request_params rp;
    fr_result res;
    fr_result_init(&res);

    cr_assert_eq(fr_request_create(NULL, NULL, &rp, NULL, &res), FR_EINVAL);
    fr_result_clear(&res);
    cr_assert_eq(fr_request_create(g_e, NULL, NULL, NULL, &res), FR_EINVAL);
    fr_result_clear(&res);

    for (int i = 0; i < 11; i++) {
        req_params(&rp, "v1", U, HOUR);
        const char *field = NULL;
        int want = FR_EINVAL;
        switch (i) {
        case 0: /* window shorter than the duration */
            rp.set |= FR_REQ_F_LATEST_END;
            rp.latest_end_ms = T0 + 30 * MIN;
            field = "duration_seconds";
            break;
        case 1: /* duration required without latest_end */
            rp.set &= ~FR_REQ_F_DURATION;
            field = "duration_seconds";
            break;
        case 2: rp.set &= ~FR_REQ_F_FLEET_ID; field = "fleet_id"; break;
        case 3: rp.set &= ~FR_REQ_F_RESOURCE_TYPE; field = "resource_type"; break;
        case 4: rp.set &= ~FR_REQ_F_VEHICLE_ID; field = "vehicle_id"; break;
        case 5: rp.quantity_milli = 0; field = "quantity"; break;
        case 6: rp.set |= FR_REQ_F_PRIORITY; rp.priority = 1001; field = "priority"; break;
        case 7: rp.duration_ms = 0; field = "duration_seconds"; break;
        case 8:
            rp.set |= FR_REQ_F_POOL_ID;
            rp.pool_id = UNKNOWN_ID;
            want = FR_EREFERENCE;
            field = "pool_id";
            break;
        case 9:
            rp.set |= FR_REQ_F_PREEMPT;
            rp.preempt = 1;
            want = FR_EFORBIDDEN;
            field = "preempt";
            break;
        default: /* no room left to start before the deadline */
            rp.set |= FR_REQ_F_EARLIEST_START | FR_REQ_F_LATEST_END;
            rp.earliest_start_ms = T0 - 3 * HOUR;
            rp.latest_end_ms = T0 + 30 * MIN;
            field = NULL;
            break;
        }
        fr_request out, sentinel;
        memset(&out, 0x6b, sizeof out);
        memcpy(&sentinel, &out, sizeof out);
        int rc = fr_request_create(g_e, NULL, &rp, &out, &res);
        cr_assert_eq(rc, want, "case %d: rc %d (%s)", i, rc, res.message);
        if (field != NULL) {
            cr_assert_str_eq(res.field, field, "case %d: field %s", i, res.field);
        }
        cr_assert_eq(memcmp(&out, &sentinel, sizeof out), 0, "case %d wrote out", i);
        fr_result_clear(&res);
    }
    cr_assert_eq(count_requests(), 0);
    cr_assert_eq(count_allocations(), 0);
    cr_assert_eq(last_seq(), seq0);
}

/* ---- preemption (SPEC §4 "preempt") ------------------------------------------- */

static void book_prio(const char *pool, const char *vehicle, int64_t start, int64_t end,
                      int32_t priority, char id[FR_ID_SIZE])
{
    fr_allocation_params p;
    alloc_params(&p, pool, vehicle, U, start, end);
    p.set |= FR_ALLOC_F_PRIORITY;
    p.priority = priority;
    fr_allocation out;
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, &out, NULL), FR_OK);
    memcpy(id, out.id, FR_ID_SIZE);
    fr_allocation_clear(&out);
}

/* A preempting request of priority for [earliest, latest_end), 1 h long. */
static fr_request preempting_request(const char *vehicle, int32_t priority, int64_t earliest,
                                     int64_t latest_end)
{
    fr_request_params rp;
    req_params(&rp, vehicle, U, HOUR);
    rp.set |= FR_REQ_F_PRIORITY | FR_REQ_F_PREEMPT | FR_REQ_F_EARLIEST_START |
              FR_REQ_F_LATEST_END;
    rp.priority = priority;
    rp.preempt = 1;
    rp.earliest_start_ms = earliest;
    rp.latest_end_ms = latest_end;
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.may_preempt = 1;
    fr_request out;
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_request_create(g_e, &ctx, &rp, &out, &res), FR_OK, "%s", res.message);
    fr_result_clear(&res);
    return out;
}

Test(requests, preempt_takes_the_lowest_priority_not_started_booking)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE], b[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 2 * U);
    book_prio(pool, "v1", T0 + HOUR, T0 + 2 * HOUR, 3, a);
    book_prio(pool, "v2", T0 + HOUR, T0 + 2 * HOUR, 2, b);
    int64_t seq0 = last_seq();
    /* Equal priority is not lower: nothing to take. */
    fr_request r = preempting_request("v8", 2, T0 + HOUR, T0 + 2 * HOUR);
    cr_assert_eq(r.status, FR_REQ_PENDING);
    cr_assert_eq(alloc_status(b), FR_ALLOC_CONFIRMED);
    fr_request_clear(&r);
    r = preempting_request("v9", 5, T0 + HOUR, T0 + 2 * HOUR);
    cr_assert_eq(r.status, FR_REQ_FULFILLED);
    cr_assert_eq(r.preempt, 1);
    fr_allocation x = get_alloc(r.allocation_id);
    cr_assert_eq(x.start_ms, T0 + HOUR);
    fr_allocation_clear(&x);
    cr_assert_eq(alloc_status(a), FR_ALLOC_CONFIRMED);
    x = get_alloc(b);
    cr_assert_eq(x.status, FR_ALLOC_PREEMPTED);
    cr_assert_eq(x.released_at_ms, T0);
    fr_allocation_clear(&x);
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    long p = find_event(ev, n, "allocation.preempted", b);
    long f = find_event(ev, n, "request.fulfilled", r.id);
    cr_assert(p >= 0 && f > p, "preempted, then fulfilled in one transaction");
    fr_event_free_array(ev, n);
    fr_request_clear(&r);
}

Test(requests, preempt_uses_the_earliest_start_that_clears)
{
    char pool[FR_ID_SIZE], x[FR_ID_SIZE], y[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, U);
    book_prio(pool, "v1", T0 + HOUR, T0 + 2 * HOUR, 9, x);
    book_prio(pool, "v2", T0 + 2 * HOUR, T0 + 3 * HOUR, 0, y);
    fr_request r = preempting_request("v9", 5, T0 + HOUR, T0 + 3 * HOUR);
    cr_assert_eq(r.status, FR_REQ_FULFILLED);
    fr_allocation got = get_alloc(r.allocation_id);
    cr_assert_eq(got.start_ms, T0 + 2 * HOUR, "x has a higher priority: after it");
    fr_allocation_clear(&got);
    cr_assert_eq(alloc_status(x), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(y), FR_ALLOC_PREEMPTED);
    fr_request_clear(&r);
}

Test(requests, preempt_never_takes_a_started_booking)
{
    char pool[FR_ID_SIZE], a[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, U);
    book_prio(pool, "v1", T0, T0 + 2 * HOUR, 0, a);
    g_now = T0 + MIN;
    fr_request r = preempting_request("v9", 9, T0 + MIN, T0 + MIN + HOUR);
    cr_assert_eq(r.status, FR_REQ_PENDING);
    cr_assert_eq(r.pending_reason, FR_REASON_INSUFFICIENT_CAPACITY);
    cr_assert_eq(alloc_status(a), FR_ALLOC_CONFIRMED);
    fr_request_clear(&r);
}

Test(requests, preempted_request_is_requeued_and_dispatched_again)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, U);
    fr_request_params rp;
    req_params(&rp, "v1", U, HOUR);
    rp.set |= FR_REQ_F_EARLIEST_START;
    rp.earliest_start_ms = T0 + HOUR;
    fr_request low = mk_request(&rp); /* priority 0, no deadline */
    cr_assert_eq(low.status, FR_REQ_FULFILLED);
    char first[FR_ID_SIZE];
    memcpy(first, low.allocation_id, FR_ID_SIZE);
    int64_t seq0 = last_seq();
    fr_request hi = preempting_request("v9", 7, T0 + HOUR, T0 + 2 * HOUR);
    cr_assert_eq(hi.status, FR_REQ_FULFILLED);
    cr_assert_eq(alloc_status(first), FR_ALLOC_PREEMPTED);
    fr_request again = get_req(low.id);
    cr_assert_eq(again.status, FR_REQ_FULFILLED, "re-dispatched in the same transaction");
    cr_assert_str_neq(again.allocation_id, first);
    fr_allocation x = get_alloc(again.allocation_id);
    cr_assert_eq(x.start_ms, T0 + 2 * HOUR, "the next free hour");
    fr_allocation_clear(&x);
    size_t n = 0;
    fr_event *ev = events_after(seq0, &n);
    cr_assert(find_event(ev, n, "request.requeued", low.id) >= 0);
    fr_event_free_array(ev, n);
    fr_request_clear(&again);
    fr_request_clear(&low);
    fr_request_clear(&hi);
}

Test(requests, preempt_takes_the_fewest_victims_then_the_lowest_priorities)
{
    char pool[FR_ID_SIZE], big[FR_ID_SIZE], s1[FR_ID_SIZE], s2[FR_ID_SIZE], s3[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bay", TYPE, 5 * U);
    fr_allocation_params p;
    alloc_params(&p, pool, "v1", 2 * U, T0 + HOUR, T0 + 2 * HOUR);
    p.set |= FR_ALLOC_F_PRIORITY;
    p.priority = 4;
    fr_allocation out;
    cr_assert_eq(fr_allocation_create(g_e, NULL, &p, &out, NULL), FR_OK);
    memcpy(big, out.id, FR_ID_SIZE);
    fr_allocation_clear(&out);
    book_prio(pool, "v2", T0 + HOUR, T0 + 2 * HOUR, 0, s1);
    book_prio(pool, "v3", T0 + HOUR, T0 + 2 * HOUR, 1, s2);
    book_prio(pool, "v4", T0 + HOUR, T0 + 2 * HOUR, 2, s3);
    /* Needs 2 units: the big one alone (1 victim) beats two small ones. */
    fr_request_params rp;
    req_params(&rp, "v9", 2 * U, HOUR);
    rp.set |= FR_REQ_F_PRIORITY | FR_REQ_F_PREEMPT | FR_REQ_F_EARLIEST_START |
              FR_REQ_F_LATEST_END;
    rp.priority = 9;
    rp.preempt = 1;
    rp.earliest_start_ms = T0 + HOUR;
    rp.latest_end_ms = T0 + 2 * HOUR;
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.may_preempt = 1;
    fr_request r;
    cr_assert_eq(fr_request_create(g_e, &ctx, &rp, &r, NULL), FR_OK);
    cr_assert_eq(r.status, FR_REQ_FULFILLED);
    fr_request_clear(&r);
    cr_assert_eq(alloc_status(big), FR_ALLOC_PREEMPTED);
    cr_assert_eq(alloc_status(s1), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(s2), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(s3), FR_ALLOC_CONFIRMED);
    /* One more unit, priority 3: the big one is gone, so the cheapest
     * single small one (priority 0) goes. */
    fr_request r2 = preempting_request("v8", 3, T0 + HOUR, T0 + 2 * HOUR);
    cr_assert_eq(r2.status, FR_REQ_FULFILLED);
    fr_request_clear(&r2);
    cr_assert_eq(alloc_status(s1), FR_ALLOC_PREEMPTED);
    cr_assert_eq(alloc_status(s2), FR_ALLOC_CONFIRMED);
    cr_assert_eq(alloc_status(s3), FR_ALLOC_CONFIRMED);
}
