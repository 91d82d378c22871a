/*
 * engine_harness.h — fixtures and helpers shared by the engine's test files
 * (test_pools.c, test_allocations.c, test_requests.c, test_conflicts.c,
 * test_events.c): an injected clock, an engine on memory or on a temp SQLite
 * file, and short ways to make and read pools, allocations and requests.
 */
#ifndef ENGINE_HARNESS_H
#define ENGINE_HARNESS_H

#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleetres.h"

/* ---------------------------------------------------------------------------
 * Shared helpers of the engine test files (each is its own executable, so
 * the static state below is per file).  Every test runs in its own process (Criterion),
 * so the globals below start fresh.
 * ------------------------------------------------------------------------- */
#define SEC INT64_C(1000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define U INT64_C(1000)                 /* one unit, in milli-units */
#define T0 INT64_C(1800000000000)       /* 2027-01-15T08:00:00Z */
#define FLEET "fleet-1"
#define TYPE "charging_bay"
#define UNKNOWN_ID "01900000-0000-7000-8000-00000000dead"

static int64_t g_now = T0;
static fr_engine *g_e;
static char g_dir[256];
static char g_db[320];
static int64_t g_aging_ms;

static int64_t test_clock(void *ctx)
{
    (void)ctx;
    return g_now;
}

static inline fr_engine *open_engine(const char *uri)
{
    fr_engine_options o;
    memset(&o, 0, sizeof o);
    o.clock = test_clock;
    o.aging_ms = g_aging_ms;
    fr_engine *e = NULL;
    char err[256] = "";
    int rc = fr_engine_open(uri, &o, &e, err, sizeof err);
    cr_assert_eq(rc, FR_OK, "fr_engine_open(%s): %d %s", uri, rc, err);
    cr_assert_not_null(e);
    return e;
}

static inline void setup_mem(void)
{
    g_now = T0;
    g_e = open_engine(":memory:");
}

static inline void setup_sqlite(void)
{
    g_now = T0;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/fr_engine_test_XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp %s", g_dir);
    snprintf(g_db, sizeof g_db, "%s/test.db", g_dir);
    g_e = open_engine(g_db);
}

static inline void teardown(void)
{
    fr_engine_close(g_e);
    g_e = NULL;
    if (g_dir[0] != '\0') {
        static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
            char name[400];
            snprintf(name, sizeof name, "%s%s", g_db, suffixes[i]);
            (void)unlink(name);
        }
        (void)rmdir(g_dir);
        g_dir[0] = '\0';
    }
}

/* Closes and reopens the engine on the same SQLite file. */
static inline void reopen(void)
{
    cr_assert(g_dir[0] != '\0', "reopen needs the SQLite fixture");
    fr_engine_close(g_e);
    g_e = open_engine(g_db);
}

/* ---- pools ---- */
static inline void pool_params(fr_pool_params *p, const char *fleet, const char *name,
                               const char *type, int64_t cap_milli)
{
    memset(p, 0, sizeof *p);
    p->set = FR_POOL_F_FLEET_ID | FR_POOL_F_NAME | FR_POOL_F_RESOURCE_TYPE |
             FR_POOL_F_TOTAL_CAPACITY;
    p->fleet_id = fleet;
    p->name = name;
    p->resource_type = type;
    p->total_capacity_milli = cap_milli;
}

static inline void mk_pool_p(char id[FR_ID_SIZE], const fr_pool_params *p)
{
    fr_pool out;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_pool_create(g_e, NULL, p, &out, &res);
    cr_assert_eq(rc, FR_OK, "pool create %s: %d %s (%s)", p->name, rc, res.message, res.field);
    if (id != NULL) {
        memcpy(id, out.id, FR_ID_SIZE);
    }
    fr_pool_clear(&out);
    fr_result_clear(&res);
}

static inline void mk_pool(char id[FR_ID_SIZE], const char *fleet, const char *name,
                           const char *type, int64_t cap_milli)
{
    fr_pool_params p;
    pool_params(&p, fleet, name, type, cap_milli);
    mk_pool_p(id, &p);
}

static inline fr_pool get_pool(const char *id)
{
    fr_pool p;
    int rc = fr_pool_get(g_e, id, &p);
    cr_assert_eq(rc, FR_OK, "pool get %s: %d", id, rc);
    return p;
}

static inline int set_pool_capacity(const char *id, int64_t cap_milli, fr_result *res)
{
    fr_pool_params p;
    memset(&p, 0, sizeof p);
    p.set = FR_POOL_F_TOTAL_CAPACITY;
    p.total_capacity_milli = cap_milli;
    return fr_pool_update(g_e, NULL, id, &p, NULL, res);
}

/* ---- allocations ---- */
/* end FR_TIME_INF: open-ended (END not sent); start FR_TIME_NULL: default now. */
static inline void alloc_params(fr_allocation_params *p, const char *pool_id,
                                const char *vehicle, int64_t qty_milli, int64_t start,
                                int64_t end)
{
    memset(p, 0, sizeof *p);
    p->set = FR_ALLOC_F_POOL_ID | FR_ALLOC_F_QUANTITY;
    p->pool_id = pool_id;
    p->quantity_milli = qty_milli;
    if (vehicle != NULL) {
        p->set |= FR_ALLOC_F_VEHICLE_ID;
        p->vehicle_id = vehicle;
    } else {
        p->set |= FR_ALLOC_F_OPERATION_ID;
        p->operation_id = "op-1";
    }
    if (start != FR_TIME_NULL) {
        p->set |= FR_ALLOC_F_START;
        p->start_ms = start;
    }
    if (end != FR_TIME_INF) {
        p->set |= FR_ALLOC_F_END;
        p->end_ms = end;
    }
}

static inline int book(const char *pool_id, const char *vehicle, int64_t qty_milli,
                       int64_t start, int64_t end, char id[FR_ID_SIZE], fr_result *res)
{
    fr_allocation_params p;
    alloc_params(&p, pool_id, vehicle, qty_milli, start, end);
    fr_allocation out;
    int rc = fr_allocation_create(g_e, NULL, &p, &out, res);
    if (rc == FR_OK) {
        if (id != NULL) {
            memcpy(id, out.id, FR_ID_SIZE);
        }
        fr_allocation_clear(&out);
    }
    return rc;
}

static inline void must_book(const char *pool_id, const char *vehicle, int64_t qty_milli,
                             int64_t start, int64_t end, char id[FR_ID_SIZE])
{
    fr_result res;
    fr_result_init(&res);
    int rc = book(pool_id, vehicle, qty_milli, start, end, id, &res);
    cr_assert_eq(rc, FR_OK, "book: %d %s (%s)", rc, res.message, res.field);
    fr_result_clear(&res);
}

static inline fr_allocation get_alloc(const char *id)
{
    fr_allocation a;
    int rc = fr_allocation_get(g_e, id, &a);
    cr_assert_eq(rc, FR_OK, "allocation get %s: %d", id, rc);
    return a;
}

static inline int alloc_status(const char *id)
{
    fr_allocation a = get_alloc(id);
    int s = a.status;
    fr_allocation_clear(&a);
    return s;
}

static inline size_t count_allocations(void)
{
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    fr_allocation *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_allocation_list(g_e, &q, &items, &n, cursor), FR_OK);
    fr_allocation_free_array(items, n);
    return n;
}

/* ---- requests ---- */
static inline void req_params(fr_request_params *p, const char *vehicle, int64_t qty_milli,
                              int64_t duration_ms)
{
    memset(p, 0, sizeof *p);
    p->set = FR_REQ_F_FLEET_ID | FR_REQ_F_RESOURCE_TYPE | FR_REQ_F_QUANTITY |
             FR_REQ_F_DURATION | FR_REQ_F_VEHICLE_ID;
    p->fleet_id = FLEET;
    p->resource_type = TYPE;
    p->vehicle_id = vehicle;
    p->quantity_milli = qty_milli;
    p->duration_ms = duration_ms;
}

static inline fr_request mk_request(const fr_request_params *p)
{
    fr_request out;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_request_create(g_e, NULL, p, &out, &res);
    cr_assert_eq(rc, FR_OK, "request create: %d %s (%s)", rc, res.message, res.field);
    fr_result_clear(&res);
    return out;
}

static inline fr_request get_req(const char *id)
{
    fr_request r;
    int rc = fr_request_get(g_e, id, &r);
    cr_assert_eq(rc, FR_OK, "request get %s: %d", id, rc);
    return r;
}

static inline size_t count_requests(void)
{
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    fr_request *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_request_list(g_e, &q, &items, &n, cursor), FR_OK);
    fr_request_free_array(items, n);
    return n;
}

/* ---- conflicts ---- */
static inline fr_conflict get_conflict(const char *id)
{
    fr_conflict c;
    int rc = fr_conflict_get(g_e, id, &c);
    cr_assert_eq(rc, FR_OK, "conflict get %s: %d", id, rc);
    return c;
}

static inline size_t count_conflicts(void)
{
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    fr_conflict *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_conflict_list(g_e, &q, &items, &n, cursor), FR_OK);
    fr_conflict_free_array(items, n);
    return n;
}

static inline int has_id(char (*ids)[FR_ID_SIZE], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ids[i], id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- events ---- */
/* The seq of the last event (0 when the log is empty). */
static inline int64_t last_seq(void)
{
    int64_t after = 0;
    for (;;) {
        fr_event *items = NULL;
        size_t n = 0;
        cr_assert_eq(fr_event_list(g_e, after, FR_LIST_LIMIT_MAX, NULL, &items, &n), FR_OK);
        if (n > 0) {
            after = items[n - 1].seq;
        }
        fr_event_free_array(items, n);
        if (n < FR_LIST_LIMIT_MAX) {
            return after;
        }
    }
}

/* Events with seq > after (at most 1000). */
static inline fr_event *events_after(int64_t after, size_t *n)
{
    fr_event *items = NULL;
    cr_assert_eq(fr_event_list(g_e, after, FR_LIST_LIMIT_MAX, NULL, &items, n), FR_OK);
    return items;
}

/* Index of the first event of type (and entity id, if given), or -1. */
static inline long find_event(const fr_event *ev, size_t n, const char *type,
                              const char *entity_id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ev[i].type, type) == 0 &&
            (entity_id == NULL || strcmp(ev[i].entity_id, entity_id) == 0)) {
            return (long)i;
        }
    }
    return -1;
}
/* ------------------------------------------------------------------------- */

#endif /* ENGINE_HARNESS_H */
