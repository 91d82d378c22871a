/*
 * test_store.c — one contract suite run against every storage backend.
 *
 * Each CONTRACT_TEST below runs once per backend in BACKENDS (suites
 * store_memory, store_sqlite); a backend's flags say which promises it makes
 * beyond the vtable's (the memory store keeps only the event log, and
 * nothing survives its close).  To add a backend (PostgreSQL), give it an
 * entry in BACKENDS with its open function and one more Test line in
 * CONTRACT_TEST.  Backend-specific behaviour (file locking, schema version,
 * the memory store's documented no-op puts) is tested at the end.
 *
 * Every test gets a fresh temporary directory ($TMPDIR or /tmp) that SQLite
 * uses for its file; the fixture removes it.
 *
 * PostgreSQL (suite store_pg, service/backends/postgres.c): runs when
 * FLEETRES_TEST_PG_URL names a cluster (postgres://user@host:port, no
 * database); each test creates a fresh database and drops it afterwards.  If
 * the variable is set and the cluster cannot be reached, the tests FAIL; if
 * it is unset they are skipped.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include <libpq-fe.h>

#include "entity.h"
#include "fleetres_store.h"
#include "postgres.h"

/* ---------------------------------------------------------------------------
 * Fixture: a temporary directory and the SQLite file name inside it.
 * ------------------------------------------------------------------------- */
static char g_dir[512];
static char g_file[600];

static void fixture_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/fr_test_store_XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(g_dir), "mkdtemp %s", g_dir);
    snprintf(g_file, sizeof(g_file), "%s/test.db", g_dir);
}

static void remove_with_suffix(const char *suffix)
{
    char name[700];
    snprintf(name, sizeof(name), "%s%s", g_file, suffix);
    (void)unlink(name);
}

static char g_pg_base[512];
static char g_pg_db[96];
static char g_pg_url[700];

/* Runs one statement on the cluster's postgres database; 1 on success. */
static int pg_admin(const char *sql, char *err, size_t err_size)
{
    char url[600];
    snprintf(url, sizeof(url), "%s/postgres?connect_timeout=5", g_pg_base);
    PGconn *c = PQconnectdb(url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    snprintf(err, err_size, "%s", PQerrorMessage(c));
    PQfinish(c);
    return ok;
}

static int pg_enabled(void)
{
    const char *url = getenv("FLEETRES_TEST_PG_URL");
    return url != NULL && url[0] != '\0';
}

static void pg_fixture_setup(void)
{
    fixture_setup();
    g_pg_db[0] = '\0';
    if (!pg_enabled()) {
        return;
    }
    snprintf(g_pg_base, sizeof(g_pg_base), "%s", getenv("FLEETRES_TEST_PG_URL"));
    size_t n = strlen(g_pg_base);
    while (n > 0 && g_pg_base[n - 1] == '/') {
        g_pg_base[--n] = '\0';
    }
    static int counter = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(g_pg_db, sizeof(g_pg_db), "fr_store_test_%ld_%d_%ld", (long)getpid(), ++counter,
             (long)(ts.tv_nsec / 1000));
    char sql[160], err[512];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", g_pg_db);
    int ok = pg_admin(sql, err, sizeof(err));
    if (!ok) {
        g_pg_db[0] = '\0';
    }
    cr_assert(ok, "FLEETRES_TEST_PG_URL=%s is set but unusable: %s", g_pg_base, err);
    snprintf(g_pg_url, sizeof(g_pg_url), "%s/%s", g_pg_base, g_pg_db);
}

static void pg_drop_database(void)
{
    if (g_pg_db[0] != '\0') {
        char sql[160], err[512];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_pg_db);
        (void)pg_admin(sql, err, sizeof(err));
        g_pg_db[0] = '\0';
    }
}

static void fixture_teardown(void)
{
    pg_drop_database();
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", "?sync=off"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        remove_with_suffix(suffixes[i]);
    }
    (void)rmdir(g_dir);
}

/* ---------------------------------------------------------------------------
 * The backends under test.
 * ------------------------------------------------------------------------- */
typedef struct test_backend {
    const char *name;
    /* load streams what put_* wrote (the memory store keeps no entities). */
    int stores_entities;
    /* What was committed survives close + open of the same location. */
    int durable;
    /* Opens the backend at the fixture's location (same place every call). */
    int (*open)(fr_store **out, char *errbuf, size_t errbuf_size);
} test_backend;

static int open_memory(fr_store **out, char *errbuf, size_t errbuf_size)
{
    (void)errbuf;
    (void)errbuf_size;
    return fr_store_memory_open(out);
}

static int open_sqlite(fr_store **out, char *errbuf, size_t errbuf_size)
{
    return fr_store_sqlite_open(g_file, out, errbuf, errbuf_size);
}

static int open_pg(fr_store **out, char *errbuf, size_t errbuf_size)
{
    frs_pg_options opt = {.sync_connections = 4, .migrate = 1};
    return frs_store_pg_open(g_pg_url, &opt, out, errbuf, errbuf_size);
}

enum { BACKEND_MEMORY, BACKEND_SQLITE, BACKEND_PG, BACKEND_COUNT };

static const test_backend BACKENDS[BACKEND_COUNT] = {
    [BACKEND_MEMORY] = {"memory", 0, 0, open_memory},
    [BACKEND_SQLITE] = {"sqlite", 1, 1, open_sqlite},
    [BACKEND_PG] = {"postgres", 1, 1, open_pg},
};

#define SKIP_WITHOUT_PG()                                                          \
    do {                                                                           \
        if (!pg_enabled()) {                                                       \
            cr_skip_test("FLEETRES_TEST_PG_URL is not set");                       \
        }                                                                          \
    } while (0)

/* Defines a contract test body and one Criterion test per backend. */
#define CONTRACT_TEST(name)                                                        \
    static void name(const test_backend *backend);                                 \
    Test(store_memory, name, .init = fixture_setup, .fini = fixture_teardown)      \
    {                                                                              \
        name(&BACKENDS[BACKEND_MEMORY]);                                           \
    }                                                                              \
    Test(store_sqlite, name, .init = fixture_setup, .fini = fixture_teardown)      \
    {                                                                              \
        name(&BACKENDS[BACKEND_SQLITE]);                                           \
    }                                                                              \
    Test(store_pg, name, .init = pg_fixture_setup, .fini = fixture_teardown)       \
    {                                                                              \
        SKIP_WITHOUT_PG();                                                         \
        name(&BACKENDS[BACKEND_PG]);                                               \
    }                                                                              \
    static void name(const test_backend *backend)

/* The same for a test that must die of an assertion (a caller's bug).  No
 * .fini runs after an abort: the body calls fixture_teardown() itself just
 * before the fatal call (an open SQLite file may be unlinked on POSIX). */
#define CONTRACT_TEST_ABORTS(name)                                                 \
    static void name(const test_backend *backend);                                 \
    Test(store_memory, name, .init = fixture_setup, .signal = SIGABRT)             \
    {                                                                              \
        name(&BACKENDS[BACKEND_MEMORY]);                                           \
    }                                                                              \
    Test(store_sqlite, name, .init = fixture_setup, .signal = SIGABRT)             \
    {                                                                              \
        name(&BACKENDS[BACKEND_SQLITE]);                                           \
    }                                                                              \
    /* Criterion 2.4 counts a skipped .signal test as failed: without PG this \
     * one checks the memory store again. */                                     \
    Test(store_pg, name, .init = pg_fixture_setup, .signal = SIGABRT)              \
    {                                                                              \
        name(&BACKENDS[pg_enabled() ? BACKEND_PG : BACKEND_MEMORY]);               \
    }                                                                              \
    static void name(const test_backend *backend)

/* ---------------------------------------------------------------------------
 * Store helpers.
 * ------------------------------------------------------------------------- */
static fr_store *open_store(const test_backend *backend)
{
    fr_store *store = NULL;
    char errbuf[256] = "";
    int rc = backend->open(&store, errbuf, sizeof(errbuf));
    cr_assert_eq(rc, FR_OK, "%s open: %d %s", backend->name, rc, errbuf);
    cr_assert_not_null(store);
    cr_assert_not_null(store->methods);
    return store;
}

static void close_store(fr_store *store)
{
    store->methods->close(store);
}

static int64_t begin(fr_store *store)
{
    int64_t head = -1;
    cr_assert_eq(store->methods->begin(store, &head), FR_OK);
    cr_assert_geq(head, 0);
    return head;
}

static void commit(fr_store *store)
{
    cr_assert_eq(store->methods->commit(store), FR_OK);
}

/* An event of one fleet; the strings are borrowed literals. */
static fr_event make_event(int64_t seq, const char *fleet_id)
{
    fr_event e;
    memset(&e, 0, sizeof(e));
    e.seq = seq;
    /* 12 digits at most, which the id's last group holds. */
    unsigned long long digits = (unsigned long long)seq % 1000000000000ULL;
    snprintf(e.id, sizeof(e.id), "01900000-0000-7000-8000-%012llu", digits);
    snprintf(e.type, sizeof(e.type), "%s", seq % 2 ? "pool.created" : "allocation.confirmed");
    e.entity_type = seq % 2 ? FR_ENTITY_POOL : FR_ENTITY_ALLOCATION;
    snprintf(e.entity_id, sizeof(e.entity_id), "01900000-0000-7000-9000-%012llu", digits);
    e.fleet_id = (char *)fleet_id;
    e.occurred_at_ms = INT64_C(1795701600000) + seq;
    e.actor = seq % 3 ? "alice" : "system";
    e.data_json = seq % 4 ? "{\"n\":1.5,\"s\":\"\\u00fc\\\"\"}" : NULL;
    return e;
}

static void append(fr_store *store, int64_t seq, const char *fleet_id)
{
    fr_event e = make_event(seq, fleet_id);
    cr_assert_eq(store->methods->append_event(store, &e), FR_OK, "append seq %lld",
                 (long long)seq);
}

static void assert_str_or_null(const char *got, const char *want, const char *what)
{
    if (want == NULL) {
        cr_assert_null(got, "%s: want NULL, got %s", what, got);
    } else {
        cr_assert_not_null(got, "%s: want %s, got NULL", what, want);
        cr_assert_str_eq(got, want, "%s: want %s, got %s", what, want, got);
    }
}

static void assert_event_eq(const fr_event *got, const fr_event *want)
{
    cr_assert_eq(got->seq, want->seq);
    cr_assert_str_eq(got->id, want->id);
    cr_assert_str_eq(got->type, want->type);
    cr_assert_eq(got->entity_type, want->entity_type);
    cr_assert_str_eq(got->entity_id, want->entity_id);
    assert_str_or_null(got->fleet_id, want->fleet_id, "event fleet_id");
    cr_assert_eq(got->occurred_at_ms, want->occurred_at_ms);
    assert_str_or_null(got->actor, want->actor, "event actor");
    assert_str_or_null(got->data_json, want->data_json, "event data_json");
}

/* Checks events_after(after, limit, fleet) returns exactly the seqs in
 * want[0..n), each equal to make_event(seq, fleet_of[seq]). */
static void expect_events(fr_store *store, int64_t after, size_t limit, const char *fleet_id,
                          const char *const *fleet_of, const int64_t *want, size_t n)
{
    fr_event *items = NULL;
    size_t count = 999;
    cr_assert_eq(store->methods->events_after(store, after, limit, fleet_id, &items, &count),
                 FR_OK);
    cr_assert_eq(count, n, "after %lld limit %zu fleet %s: %zu events, want %zu",
                 (long long)after, limit, fleet_id ? fleet_id : "(all)", count, n);
    for (size_t i = 0; i < n; i++) {
        fr_event expected = make_event(want[i], fleet_of[want[i]]);
        assert_event_eq(&items[i], &expected);
    }
    fr_event_free_array(items, count);
}

/* ---------------------------------------------------------------------------
 * Sample entities: every field set, optional ones both ways, quantities at
 * the edges of the range.  Strings are borrowed literals (put_* borrows).
 * ------------------------------------------------------------------------- */
#define T0 INT64_C(1795701600000) /* 2026-11-26T14:00:00.000Z */
#define HOUR_MS INT64_C(3600000)

static fr_schedule_entry g_schedule[2] = {
    {T0 + HOUR_MS, T0 + 2 * HOUR_MS, 1500},
    {T0 + 5 * HOUR_MS, FR_TIME_INF, 1},
};

static fr_pool sample_pool(const char *id, int64_t created_at_ms)
{
    fr_pool p;
    memset(&p, 0, sizeof(p));
    snprintf(p.id, sizeof(p.id), "%s", id);
    p.fleet_id = "fleet-a";
    p.name = "Bay \"north\" \xc3\xbc";
    p.resource_type = "charging_bay";
    p.unit = "kW";
    p.site = "depot-1";
    p.labels_json = "{\"zone\":\"n\",\"tier\":[1,2]}";
    p.status = FR_POOL_DRAINING;
    p.exclusive_per_vehicle = 1;
    p.total_capacity_milli = FR_QTY_MAX_MILLI - 1; /* 999999999999.999 */
    p.schedule = g_schedule;
    p.schedule_len = 2;
    p.deleted = 0;
    p.version = 3;
    p.created_at_ms = created_at_ms;
    p.updated_at_ms = created_at_ms + 1;
    return p;
}

static fr_allocation sample_allocation(const char *id, int64_t created_at_ms)
{
    fr_allocation a;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    snprintf(a.pool_id, sizeof(a.pool_id), "01900000-0000-7000-8000-00000000000a");
    a.fleet_id = "fleet-a";
    a.resource_type = "charging_bay";
    a.vehicle_id = "veh-1";
    a.operation_id = NULL;
    a.allocation_type = "charging";
    a.quantity_milli = 1; /* 0.001 */
    a.start_ms = T0;
    a.end_ms = FR_TIME_INF;
    a.priority = 7;
    a.status = FR_ALLOC_HELD;
    a.hold_expires_at_ms = T0 + 60000;
    a.metadata_json = "{}";
    a.released_at_ms = FR_TIME_NULL;
    a.version = 1;
    a.created_at_ms = created_at_ms;
    a.updated_at_ms = created_at_ms;
    return a;
}

/* A second shape: every optional field the other way. */
static fr_allocation sample_allocation_released(const char *id, int64_t created_at_ms)
{
    fr_allocation a = sample_allocation(id, created_at_ms);
    a.vehicle_id = NULL;
    a.operation_id = "op-9";
    a.quantity_milli = 123456789;
    a.end_ms = T0 + 2 * HOUR_MS;
    a.priority = 0;
    a.status = FR_ALLOC_RELEASED;
    a.hold_expires_at_ms = FR_TIME_NULL;
    snprintf(a.request_id, sizeof(a.request_id), "01900000-0000-7000-8000-00000000000b");
    snprintf(a.plan_id, sizeof(a.plan_id), "01900000-0000-7000-8000-00000000000c");
    a.metadata_json = "{\"k\":{\"x\":null}}";
    a.released_at_ms = T0 + HOUR_MS + 1;
    a.version = 4;
    return a;
}

static fr_request sample_request(const char *id, int64_t created_at_ms)
{
    fr_request r;
    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", id);
    r.fleet_id = "fleet-b";
    r.vehicle_id = NULL;
    r.operation_id = "op-7";
    r.resource_type = "maintenance_bay";
    r.site = "depot-1";
    r.quantity_milli = 2500;
    r.duration_ms = 5400123;
    r.earliest_start_ms = T0;
    r.latest_end_ms = FR_TIME_INF;
    r.priority = FR_PRIORITY_MAX;
    r.status = FR_REQ_PENDING;
    r.pending_reason = FR_REASON_INSUFFICIENT_CAPACITY;
    r.preempt = 1;
    r.fulfilled_at_ms = FR_TIME_NULL;
    r.metadata_json = "{\"a\":[1,2]}";
    r.version = 2;
    r.created_at_ms = created_at_ms;
    r.updated_at_ms = created_at_ms + 5;
    return r;
}

static char g_conflict_ids[2][FR_ID_SIZE] = {
    "01900000-0000-7000-8000-000000000101",
    "01900000-0000-7000-8000-000000000102",
};
static fr_resolution_action g_actions[1] = {
    {"01900000-0000-7000-8000-000000000102", "preempted", "held", "preempted"},
};

static fr_conflict sample_conflict(const char *id, int64_t created_at_ms)
{
    fr_conflict c;
    memset(&c, 0, sizeof(c));
    snprintf(c.id, sizeof(c.id), "%s", id);
    c.fleet_id = "fleet-a";
    snprintf(c.pool_id, sizeof(c.pool_id), "01900000-0000-7000-8000-00000000000a");
    c.type = FR_CONFLICT_OVER_CAPACITY;
    c.status = FR_CONFLICT_RESOLVED;
    c.start_ms = T0;
    c.end_ms = T0 + HOUR_MS;
    c.excess_milli = 500;
    c.allocation_ids = g_conflict_ids;
    c.allocation_ids_len = 2;
    c.vehicle_id = NULL;
    c.description = "over capacity by 0.5";
    c.detected_at_ms = created_at_ms;
    c.resolved_at_ms = created_at_ms + 10;
    c.resolution_strategy = "auto";
    c.resolution_note = "preempted the lower priority";
    c.resolution_resolved_by = "system";
    c.resolution_actions = g_actions;
    c.resolution_actions_len = 1;
    c.version = 2;
    c.created_at_ms = created_at_ms;
    c.updated_at_ms = created_at_ms + 10;
    return c;
}

/* Stored fields only: computed ones (capacity_now, queue_position, ...) are
 * the engine's business. */
static void assert_pool_eq(const fr_pool *got, const fr_pool *want)
{
    cr_assert_str_eq(got->id, want->id);
    assert_str_or_null(got->fleet_id, want->fleet_id, "pool fleet_id");
    assert_str_or_null(got->name, want->name, "pool name");
    assert_str_or_null(got->resource_type, want->resource_type, "pool resource_type");
    assert_str_or_null(got->unit, want->unit, "pool unit");
    assert_str_or_null(got->site, want->site, "pool site");
    assert_str_or_null(got->labels_json, want->labels_json, "pool labels");
    cr_assert_eq(got->status, want->status);
    cr_assert_eq(got->exclusive_per_vehicle, want->exclusive_per_vehicle);
    cr_assert_eq(got->total_capacity_milli, want->total_capacity_milli);
    cr_assert_eq(got->schedule_len, want->schedule_len);
    for (size_t i = 0; i < want->schedule_len; i++) {
        cr_assert_eq(got->schedule[i].start_ms, want->schedule[i].start_ms);
        cr_assert_eq(got->schedule[i].end_ms, want->schedule[i].end_ms);
        cr_assert_eq(got->schedule[i].capacity_milli, want->schedule[i].capacity_milli);
    }
    cr_assert_eq(got->deleted, want->deleted);
    cr_assert_eq(got->version, want->version);
    cr_assert_eq(got->created_at_ms, want->created_at_ms);
    cr_assert_eq(got->updated_at_ms, want->updated_at_ms);
}

static void assert_allocation_eq(const fr_allocation *got, const fr_allocation *want)
{
    cr_assert_str_eq(got->id, want->id);
    cr_assert_str_eq(got->pool_id, want->pool_id);
    assert_str_or_null(got->fleet_id, want->fleet_id, "allocation fleet_id");
    assert_str_or_null(got->resource_type, want->resource_type, "allocation resource_type");
    assert_str_or_null(got->vehicle_id, want->vehicle_id, "allocation vehicle_id");
    assert_str_or_null(got->operation_id, want->operation_id, "allocation operation_id");
    assert_str_or_null(got->allocation_type, want->allocation_type, "allocation type");
    cr_assert_eq(got->quantity_milli, want->quantity_milli);
    cr_assert_eq(got->start_ms, want->start_ms);
    cr_assert_eq(got->end_ms, want->end_ms);
    cr_assert_eq(got->priority, want->priority);
    cr_assert_eq(got->status, want->status);
    cr_assert_eq(got->hold_expires_at_ms, want->hold_expires_at_ms);
    cr_assert_str_eq(got->request_id, want->request_id);
    cr_assert_str_eq(got->plan_id, want->plan_id);
    assert_str_or_null(got->metadata_json, want->metadata_json, "allocation metadata");
    cr_assert_eq(got->released_at_ms, want->released_at_ms);
    cr_assert_eq(got->version, want->version);
    cr_assert_eq(got->created_at_ms, want->created_at_ms);
    cr_assert_eq(got->updated_at_ms, want->updated_at_ms);
}

static void assert_request_eq(const fr_request *got, const fr_request *want)
{
    cr_assert_str_eq(got->id, want->id);
    assert_str_or_null(got->fleet_id, want->fleet_id, "request fleet_id");
    assert_str_or_null(got->vehicle_id, want->vehicle_id, "request vehicle_id");
    assert_str_or_null(got->operation_id, want->operation_id, "request operation_id");
    assert_str_or_null(got->resource_type, want->resource_type, "request resource_type");
    cr_assert_str_eq(got->pool_id, want->pool_id);
    assert_str_or_null(got->site, want->site, "request site");
    cr_assert_eq(got->quantity_milli, want->quantity_milli);
    cr_assert_eq(got->duration_ms, want->duration_ms);
    cr_assert_eq(got->earliest_start_ms, want->earliest_start_ms);
    cr_assert_eq(got->latest_end_ms, want->latest_end_ms);
    cr_assert_eq(got->priority, want->priority);
    cr_assert_eq(got->status, want->status);
    cr_assert_eq(got->pending_reason, want->pending_reason);
    cr_assert_str_eq(got->allocation_id, want->allocation_id);
    cr_assert_eq(got->preempt, want->preempt);
    cr_assert_eq(got->fulfilled_at_ms, want->fulfilled_at_ms);
    assert_str_or_null(got->metadata_json, want->metadata_json, "request metadata");
    cr_assert_eq(got->version, want->version);
    cr_assert_eq(got->created_at_ms, want->created_at_ms);
    cr_assert_eq(got->updated_at_ms, want->updated_at_ms);
}

static void assert_conflict_eq(const fr_conflict *got, const fr_conflict *want)
{
    cr_assert_str_eq(got->id, want->id);
    assert_str_or_null(got->fleet_id, want->fleet_id, "conflict fleet_id");
    cr_assert_str_eq(got->pool_id, want->pool_id);
    cr_assert_eq(got->type, want->type);
    cr_assert_eq(got->status, want->status);
    cr_assert_eq(got->start_ms, want->start_ms);
    cr_assert_eq(got->end_ms, want->end_ms);
    cr_assert_eq(got->excess_milli, want->excess_milli);
    cr_assert_eq(got->allocation_ids_len, want->allocation_ids_len);
    for (size_t i = 0; i < want->allocation_ids_len; i++) {
        cr_assert_str_eq(got->allocation_ids[i], want->allocation_ids[i]);
    }
    assert_str_or_null(got->vehicle_id, want->vehicle_id, "conflict vehicle_id");
    assert_str_or_null(got->description, want->description, "conflict description");
    cr_assert_eq(got->detected_at_ms, want->detected_at_ms);
    cr_assert_eq(got->resolved_at_ms, want->resolved_at_ms);
    assert_str_or_null(got->resolution_strategy, want->resolution_strategy, "strategy");
    assert_str_or_null(got->resolution_note, want->resolution_note, "note");
    assert_str_or_null(got->resolution_resolved_by, want->resolution_resolved_by,
                       "resolved_by");
    cr_assert_eq(got->resolution_actions_len, want->resolution_actions_len);
    for (size_t i = 0; i < want->resolution_actions_len; i++) {
        const fr_resolution_action *g = &got->resolution_actions[i];
        const fr_resolution_action *w = &want->resolution_actions[i];
        cr_assert_str_eq(g->allocation_id, w->allocation_id);
        assert_str_or_null(g->action, w->action, "action");
        assert_str_or_null(g->from, w->from, "action from");
        assert_str_or_null(g->to, w->to, "action to");
    }
    cr_assert_eq(got->version, want->version);
    cr_assert_eq(got->created_at_ms, want->created_at_ms);
    cr_assert_eq(got->updated_at_ms, want->updated_at_ms);
}

/* A utilization sample (the entity, not an example): edge quantities, the
 * optional source set; ids of the pool above. */
static fr_sample example_sample(const char *id, int64_t created_at_ms)
{
    fr_sample s;
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "%s", id);
    snprintf(s.pool_id, sizeof(s.pool_id), "%s", "01900000-0000-7000-8000-000000000001");
    s.fleet_id = "fleet-a";
    s.timestamp_ms = created_at_ms - 5 * HOUR_MS; /* posted late */
    s.used_milli = FR_QTY_MAX_MILLI;
    s.source = "meter \"7\" \xc3\xbc";
    s.capacity_milli = 1;
    s.created_at_ms = created_at_ms;
    return s;
}

static void assert_sample_eq(const fr_sample *got, const fr_sample *want)
{
    cr_assert_str_eq(got->id, want->id);
    cr_assert_str_eq(got->pool_id, want->pool_id);
    assert_str_or_null(got->fleet_id, want->fleet_id, "sample fleet_id");
    cr_assert_eq(got->timestamp_ms, want->timestamp_ms);
    cr_assert_eq(got->used_milli, want->used_milli);
    assert_str_or_null(got->source, want->source, "sample source");
    cr_assert_eq(got->capacity_milli, want->capacity_milli);
    cr_assert_eq(got->created_at_ms, want->created_at_ms);
}

/* ---------------------------------------------------------------------------
 * A loader that keeps deep copies of what it is given, in order.
 * ------------------------------------------------------------------------- */
#define COLLECT_MAX 16

typedef struct collected {
    fr_pool pools[COLLECT_MAX];
    size_t pools_len;
    fr_allocation allocations[COLLECT_MAX];
    size_t allocations_len;
    fr_request requests[COLLECT_MAX];
    size_t requests_len;
    fr_conflict conflicts[COLLECT_MAX];
    size_t conflicts_len;
    fr_sample samples[COLLECT_MAX];
    size_t samples_len;
    fr_plan plans[COLLECT_MAX];
    size_t plans_len;
    char order[6 * COLLECT_MAX + 1]; /* 'p', 'a', 'r', 'c', 's', 'l' per callback */
    size_t calls;
    size_t fail_at_call; /* return FR_ELIMIT from this (1-based) call; 0: never */
} collected;

static int collect_step(collected *c, char kind)
{
    cr_assert_lt(c->calls, 6 * COLLECT_MAX);
    c->order[c->calls] = kind;
    c->calls++;
    return c->fail_at_call != 0 && c->calls == c->fail_at_call ? FR_ELIMIT : FR_OK;
}

static int collect_pool(void *ctx, const fr_pool *pool)
{
    collected *c = ctx;
    cr_assert_lt(c->pools_len, COLLECT_MAX);
    cr_assert_eq(fr__pool_copy(&c->pools[c->pools_len++], pool), FR_OK);
    return collect_step(c, 'p');
}

static int collect_allocation(void *ctx, const fr_allocation *allocation)
{
    collected *c = ctx;
    cr_assert_lt(c->allocations_len, COLLECT_MAX);
    cr_assert_eq(fr__allocation_copy(&c->allocations[c->allocations_len++], allocation),
                 FR_OK);
    return collect_step(c, 'a');
}

static int collect_request(void *ctx, const fr_request *request)
{
    collected *c = ctx;
    cr_assert_lt(c->requests_len, COLLECT_MAX);
    cr_assert_eq(fr__request_copy(&c->requests[c->requests_len++], request), FR_OK);
    return collect_step(c, 'r');
}

static int collect_conflict(void *ctx, const fr_conflict *conflict)
{
    collected *c = ctx;
    cr_assert_lt(c->conflicts_len, COLLECT_MAX);
    cr_assert_eq(fr__conflict_copy(&c->conflicts[c->conflicts_len++], conflict), FR_OK);
    return collect_step(c, 'c');
}

static int collect_sample(void *ctx, const fr_sample *sample)
{
    collected *c = ctx;
    cr_assert_lt(c->samples_len, COLLECT_MAX);
    cr_assert_eq(fr__sample_copy(&c->samples[c->samples_len++], sample), FR_OK);
    return collect_step(c, 's');
}

static int collect_plan(void *ctx, const fr_plan *plan)
{
    collected *c = ctx;
    cr_assert_lt(c->plans_len, COLLECT_MAX);
    cr_assert_eq(fr__plan_copy(&c->plans[c->plans_len++], plan), FR_OK);
    return collect_step(c, 'l');
}

static void collected_clear(collected *c)
{
    for (size_t i = 0; i < c->plans_len; i++) {
        fr_plan_clear(&c->plans[i]);
    }
    for (size_t i = 0; i < c->pools_len; i++) {
        fr_pool_clear(&c->pools[i]);
    }
    for (size_t i = 0; i < c->allocations_len; i++) {
        fr_allocation_clear(&c->allocations[i]);
    }
    for (size_t i = 0; i < c->requests_len; i++) {
        fr_request_clear(&c->requests[i]);
    }
    for (size_t i = 0; i < c->conflicts_len; i++) {
        fr_conflict_clear(&c->conflicts[i]);
    }
    for (size_t i = 0; i < c->samples_len; i++) {
        fr_sample_clear(&c->samples[i]);
    }
    memset(c, 0, sizeof(*c));
}

/* Loads into *c (which must be zeroed); returns load's status. */
static int load_into(fr_store *store, collected *c, int64_t *head_seq)
{
    fr_store_loader loader = {c, collect_pool, collect_allocation, collect_request,
                              collect_conflict, collect_sample, collect_plan};
    return store->methods->load(store, &loader, head_seq);
}

/* Loads and asserts success. */
static int64_t load_ok(fr_store *store, collected *c)
{
    int64_t head = -1;
    cr_assert_eq(load_into(store, c, &head), FR_OK);
    cr_assert_geq(head, 0);
    return head;
}

/* Closes and opens again: what a durable backend committed is still there. */
static fr_store *reopen(const test_backend *backend, fr_store *store)
{
    close_store(store);
    return open_store(backend);
}

#define ID_P1 "01900000-0000-7000-8000-000000000001"
#define ID_P2 "01900000-0000-7000-8000-000000000002"
#define ID_P3 "01900000-0000-7000-8000-000000000003"
#define ID_A1 "01900000-0000-7000-8000-000000000011"
#define ID_A2 "01900000-0000-7000-8000-000000000012"
#define ID_R1 "01900000-0000-7000-8000-000000000021"
#define ID_C1 "01900000-0000-7000-8000-000000000031"
#define ID_S1 "01900000-0000-7000-8000-000000000041"
#define ID_S2 "01900000-0000-7000-8000-000000000042"
#define ID_S3 "01900000-0000-7000-8000-000000000043"

/* ---------------------------------------------------------------------------
 * Contract tests (every backend).
 * ------------------------------------------------------------------------- */
CONTRACT_TEST(methods_table_is_complete)
{
    fr_store *store = open_store(backend);
    const struct fr_store_methods *m = store->methods;
    cr_assert_eq(m->version, FR_STORE_METHODS_VERSION);
    cr_assert(m->close && m->load && m->begin && m->commit && m->rollback);
    cr_assert(m->put_pool && m->put_allocation && m->put_request && m->put_conflict);
    cr_assert(m->append_event && m->events_after && m->control);
    cr_assert_geq(m->version, 2);
    cr_assert(m->put_sample);
    close_store(store);
}

CONTRACT_TEST(empty_store_loads_nothing)
{
    fr_store *store = open_store(backend);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), 0);
    cr_assert_eq(c.calls, 0);
    fr_event *items = NULL;
    size_t count = 99;
    cr_assert_eq(store->methods->events_after(store, 0, 100, NULL, &items, &count), FR_OK);
    cr_assert_eq(count, 0);
    fr_event_free_array(items, count);
    cr_assert_eq(begin(store), 0);
    store->methods->rollback(store);
    close_store(store);
}

CONTRACT_TEST(control_ping_and_unknown_op)
{
    fr_store *store = open_store(backend);
    cr_assert_eq(store->methods->control(store, FR_STORE_CTL_PING, NULL), FR_OK);
    cr_assert_eq(store->methods->control(store, 0, NULL), FR_ENOTFOUND);
    cr_assert_eq(store->methods->control(store, 9999, NULL), FR_ENOTFOUND);
    close_store(store);
}

/* put + commit + close + open + load returns identical entities. */
CONTRACT_TEST(committed_entities_round_trip)
{
    fr_pool pool = sample_pool(ID_P1, T0);
    fr_allocation held = sample_allocation(ID_A1, T0 + 1);
    fr_allocation released = sample_allocation_released(ID_A2, T0 + 2);
    fr_request request = sample_request(ID_R1, T0 + 3);
    fr_conflict conflict = sample_conflict(ID_C1, T0 + 4);

    fr_store *store = open_store(backend);
    cr_assert_eq(begin(store), 0);
    cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
    cr_assert_eq(store->methods->put_allocation(store, &held), FR_OK);
    cr_assert_eq(store->methods->put_allocation(store, &released), FR_OK);
    cr_assert_eq(store->methods->put_request(store, &request), FR_OK);
    cr_assert_eq(store->methods->put_conflict(store, &conflict), FR_OK);
    append(store, 1, "fleet-a");
    commit(store);
    store = reopen(backend, store);

    collected c = {0};
    int64_t head = load_ok(store, &c);
    if (!backend->stores_entities) {
        cr_assert_eq(c.calls, 0, "%s keeps no entities", backend->name);
        cr_assert_eq(head, backend->durable ? 1 : 0);
        close_store(store);
        return;
    }
    cr_assert_eq(head, 1);
    cr_assert_str_eq(c.order, "paarc");
    assert_pool_eq(&c.pools[0], &pool);
    assert_allocation_eq(&c.allocations[0], &held);
    assert_allocation_eq(&c.allocations[1], &released);
    assert_request_eq(&c.requests[0], &request);
    assert_conflict_eq(&c.conflicts[0], &conflict);
    collected_clear(&c);
    close_store(store);
}

/* A conflict while still open (no resolution) and a deleted pool. */
CONTRACT_TEST(open_conflict_and_deleted_pool_round_trip)
{
    fr_pool pool = sample_pool(ID_P1, T0);
    pool.deleted = 1;
    pool.site = NULL;
    pool.schedule = NULL;
    pool.schedule_len = 0;
    pool.labels_json = "{}";
    pool.status = FR_POOL_RETIRED;
    pool.total_capacity_milli = 0;
    fr_conflict conflict = sample_conflict(ID_C1, T0);
    conflict.type = FR_CONFLICT_DOUBLE_BOOKING;
    conflict.status = FR_CONFLICT_OPEN;
    conflict.vehicle_id = "veh-9";
    conflict.end_ms = FR_TIME_INF;
    conflict.resolved_at_ms = FR_TIME_NULL;
    conflict.resolution_strategy = NULL;
    conflict.resolution_note = NULL;
    conflict.resolution_resolved_by = NULL;
    conflict.resolution_actions = NULL;
    conflict.resolution_actions_len = 0;

    fr_store *store = open_store(backend);
    begin(store);
    cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
    cr_assert_eq(store->methods->put_conflict(store, &conflict), FR_OK);
    commit(store);
    store = reopen(backend, store);
    collected c = {0};
    load_ok(store, &c);
    if (backend->stores_entities) {
        cr_assert_str_eq(c.order, "pc");
        assert_pool_eq(&c.pools[0], &pool);
        assert_conflict_eq(&c.conflicts[0], &conflict);
    } else {
        cr_assert_eq(c.calls, 0);
    }
    collected_clear(&c);
    close_store(store);
}

CONTRACT_TEST(rollback_leaves_nothing)
{
    fr_pool pool = sample_pool(ID_P1, T0);
    const char *const fleet_of[] = {NULL, "fleet-a", "fleet-b"};
    fr_store *store = open_store(backend);
    begin(store);
    cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
    append(store, 1, fleet_of[1]);
    commit(store);

    /* A second transaction that changes, adds and appends, then rolls back. */
    cr_assert_eq(begin(store), 1);
    fr_pool changed = sample_pool(ID_P1, T0);
    changed.name = "renamed";
    changed.version = 4;
    fr_pool added = sample_pool(ID_P2, T0 + 1);
    fr_allocation allocation = sample_allocation(ID_A1, T0);
    cr_assert_eq(store->methods->put_pool(store, &changed), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &added), FR_OK);
    cr_assert_eq(store->methods->put_allocation(store, &allocation), FR_OK);
    append(store, 2, "fleet-b");
    append(store, 3, "fleet-b");
    store->methods->rollback(store);

    const int64_t only_first[] = {1};
    expect_events(store, 0, 100, NULL, fleet_of, only_first, 1);
    expect_events(store, 0, 100, "fleet-b", fleet_of, NULL, 0);

    /* The rolled-back seqs are free again. */
    cr_assert_eq(begin(store), 1);
    append(store, 2, fleet_of[2]);
    commit(store);
    const int64_t both[] = {1, 2};
    expect_events(store, 0, 100, NULL, fleet_of, both, 2);

    store = reopen(backend, store);
    collected c = {0};
    int64_t head = load_ok(store, &c);
    cr_assert_eq(head, backend->durable ? 2 : 0);
    if (backend->stores_entities) {
        cr_assert_str_eq(c.order, "p");
        assert_pool_eq(&c.pools[0], &pool);
    }
    collected_clear(&c);
    close_store(store);
}

/* rollback is safe to call again, and after commit (nothing open). */
CONTRACT_TEST(rollback_tolerates_no_transaction)
{
    fr_store *store = open_store(backend);
    begin(store);
    append(store, 1, "fleet-a");
    store->methods->rollback(store);
    store->methods->rollback(store);
    begin(store);
    append(store, 1, "fleet-a");
    commit(store);
    store->methods->rollback(store);
    cr_assert_eq(begin(store), 1);
    store->methods->rollback(store);
    close_store(store);
}

CONTRACT_TEST(events_in_seq_order_with_after_limit_and_fleet)
{
    /* seq:                      1         2         3         4 */
    const char *const fleet_of[] = {NULL, "fleet-a", "fleet-b", "fleet-a", "fleet-b",
                                     /* 5 6 7 */ "fleet-a", "fleet-a", "fleet-b"};
    fr_store *store = open_store(backend);
    int64_t seq = 0;
    const size_t per_txn[] = {3, 1, 3};
    for (size_t t = 0; t < 3; t++) {
        cr_assert_eq(begin(store), seq);
        for (size_t i = 0; i < per_txn[t]; i++) {
            seq++;
            append(store, seq, fleet_of[seq]);
        }
        commit(store);
    }
    cr_assert_eq(seq, 7);

    for (int pass = 0; pass < 2; pass++) {
        const int64_t all[] = {1, 2, 3, 4, 5, 6, 7};
        expect_events(store, 0, 1000, NULL, fleet_of, all, 7);
        expect_events(store, -5, 1000, NULL, fleet_of, all, 7);
        expect_events(store, 3, 1000, NULL, fleet_of, all + 3, 4);
        expect_events(store, 0, 2, NULL, fleet_of, all, 2);
        expect_events(store, 2, 3, NULL, fleet_of, all + 2, 3);
        expect_events(store, 6, 5, NULL, fleet_of, all + 6, 1);
        expect_events(store, 7, 5, NULL, fleet_of, NULL, 0);
        expect_events(store, 100, 5, NULL, fleet_of, NULL, 0);
        expect_events(store, 0, 0, NULL, fleet_of, NULL, 0);
        const int64_t a[] = {1, 3, 5, 6};
        expect_events(store, 0, 1000, "fleet-a", fleet_of, a, 4);
        expect_events(store, 1, 2, "fleet-a", fleet_of, a + 1, 2);
        expect_events(store, 3, 1, "fleet-a", fleet_of, a + 2, 1);
        expect_events(store, 6, 10, "fleet-a", fleet_of, NULL, 0);
        const int64_t b[] = {2, 4, 7};
        expect_events(store, 0, 1000, "fleet-b", fleet_of, b, 3);
        expect_events(store, 0, 1000, "fleet-c", fleet_of, NULL, 0);
        expect_events(store, 0, 1000, "", fleet_of, NULL, 0);
        if (!backend->durable) {
            break;
        }
        /* The same answers from a reopened store. */
        store = reopen(backend, store);
        collected c = {0};
        cr_assert_eq(load_ok(store, &c), 7);
    }
    cr_assert_eq(begin(store), 7);
    store->methods->rollback(store);
    close_store(store);
}

/* The engine's catch-up: events_after inside a transaction, before appends. */
CONTRACT_TEST(events_after_inside_transaction)
{
    const char *const fleet_of[] = {NULL, "fleet-a", "fleet-a", "fleet-a"};
    fr_store *store = open_store(backend);
    begin(store);
    append(store, 1, fleet_of[1]);
    append(store, 2, fleet_of[2]);
    commit(store);
    cr_assert_eq(begin(store), 2);
    const int64_t want[] = {1, 2};
    expect_events(store, 0, 100, NULL, fleet_of, want, 2);
    expect_events(store, 1, 100, "fleet-a", fleet_of, want + 1, 1);
    append(store, 3, fleet_of[3]);
    commit(store);
    const int64_t all[] = {1, 2, 3};
    expect_events(store, 0, 100, NULL, fleet_of, all, 3);
    close_store(store);
}

/* Events whose optional parts are absent come back absent. */
CONTRACT_TEST(event_optional_fields_round_trip)
{
    fr_event e;
    memset(&e, 0, sizeof(e));
    e.seq = 1;
    snprintf(e.id, sizeof(e.id), "01900000-0000-7000-8000-0000000000ee");
    snprintf(e.type, sizeof(e.type), "plan.discarded");
    e.entity_type = FR_ENTITY_PLAN;
    e.fleet_id = NULL;
    e.occurred_at_ms = -1;
    e.actor = NULL;
    e.data_json = NULL;
    fr_event longest = e;
    longest.seq = 2;
    memset(longest.type, 'x', sizeof(longest.type) - 1);
    longest.entity_type = FR_ENTITY_SAMPLE;
    snprintf(longest.entity_id, sizeof(longest.entity_id), "%s", ID_P1);
    longest.fleet_id = "f";
    longest.actor = "";
    longest.data_json = "[]";

    fr_store *store = open_store(backend);
    begin(store);
    cr_assert_eq(store->methods->append_event(store, &e), FR_OK);
    cr_assert_eq(store->methods->append_event(store, &longest), FR_OK);
    commit(store);
    fr_event *items = NULL;
    size_t count = 0;
    cr_assert_eq(store->methods->events_after(store, 0, 10, NULL, &items, &count), FR_OK);
    cr_assert_eq(count, 2);
    assert_event_eq(&items[0], &e);
    assert_event_eq(&items[1], &longest);
    fr_event_free_array(items, count);
    close_store(store);
}

CONTRACT_TEST(upsert_replaces)
{
    fr_pool v1 = sample_pool(ID_P1, T0);
    fr_allocation a1 = sample_allocation(ID_A1, T0);
    fr_store *store = open_store(backend);
    begin(store);
    cr_assert_eq(store->methods->put_pool(store, &v1), FR_OK);
    cr_assert_eq(store->methods->put_allocation(store, &a1), FR_OK);
    commit(store);

    fr_pool v2 = v1;
    v2.name = "second name";
    v2.schedule = NULL;
    v2.schedule_len = 0;
    v2.deleted = 1;
    v2.version = 4;
    v2.updated_at_ms = T0 + 99;
    fr_pool v3 = v2;
    v3.version = 5;
    v3.total_capacity_milli = 42;
    fr_allocation a2 = sample_allocation_released(ID_A1, T0);
    begin(store);
    cr_assert_eq(store->methods->put_pool(store, &v2), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &v3), FR_OK); /* twice in one txn */
    cr_assert_eq(store->methods->put_allocation(store, &a2), FR_OK);
    commit(store);

    store = reopen(backend, store);
    collected c = {0};
    load_ok(store, &c);
    if (backend->stores_entities) {
        cr_assert_str_eq(c.order, "pa");
        assert_pool_eq(&c.pools[0], &v3);
        assert_allocation_eq(&c.allocations[0], &a2);
    } else {
        cr_assert_eq(c.calls, 0);
    }
    collected_clear(&c);
    close_store(store);
}

/* A transaction still open at close is lost, as in a crash. */
CONTRACT_TEST(close_with_open_transaction_loses_it)
{
    const char *const fleet_of[] = {NULL, "fleet-a", "fleet-a"};
    fr_pool pool = sample_pool(ID_P1, T0);
    fr_store *store = open_store(backend);
    begin(store);
    cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
    append(store, 1, fleet_of[1]);
    commit(store);

    begin(store);
    fr_pool lost = sample_pool(ID_P2, T0 + 1);
    fr_pool changed = pool;
    changed.version = 9;
    cr_assert_eq(store->methods->put_pool(store, &lost), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &changed), FR_OK);
    append(store, 2, fleet_of[2]);
    store = reopen(backend, store); /* no commit */

    collected c = {0};
    cr_assert_eq(load_ok(store, &c), backend->durable ? 1 : 0);
    if (backend->stores_entities) {
        cr_assert_str_eq(c.order, "p");
        assert_pool_eq(&c.pools[0], &pool);
    }
    collected_clear(&c);
    const int64_t want[] = {1};
    expect_events(store, 0, 100, NULL, fleet_of, want, backend->durable ? 1 : 0);
    close_store(store);
}

/* Pools first, then allocations, requests, conflicts; each by created_at
 * then id, whatever the order of the puts. */
CONTRACT_TEST(load_streams_kinds_in_order_by_created_at_then_id)
{
    fr_store *store = open_store(backend);
    begin(store);
    fr_conflict conflict = sample_conflict(ID_C1, T0);
    fr_request request = sample_request(ID_R1, T0);
    fr_allocation late = sample_allocation(ID_A1, T0 + 5);
    fr_allocation early = sample_allocation(ID_A2, T0 - 5);
    fr_pool p3 = sample_pool(ID_P3, T0);
    fr_pool p2 = sample_pool(ID_P2, T0);
    fr_pool p1 = sample_pool(ID_P1, T0 + 1);
    cr_assert_eq(store->methods->put_conflict(store, &conflict), FR_OK);
    cr_assert_eq(store->methods->put_request(store, &request), FR_OK);
    cr_assert_eq(store->methods->put_allocation(store, &late), FR_OK);
    cr_assert_eq(store->methods->put_allocation(store, &early), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &p3), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &p2), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &p1), FR_OK);
    commit(store);
    store = reopen(backend, store);
    collected c = {0};
    load_ok(store, &c);
    if (backend->stores_entities) {
        cr_assert_str_eq(c.order, "pppaarc");
        cr_assert_str_eq(c.pools[0].id, ID_P2); /* T0, smaller id */
        cr_assert_str_eq(c.pools[1].id, ID_P3); /* T0 */
        cr_assert_str_eq(c.pools[2].id, ID_P1); /* T0 + 1 */
        cr_assert_str_eq(c.allocations[0].id, ID_A2);
        cr_assert_str_eq(c.allocations[1].id, ID_A1);
    } else {
        cr_assert_eq(c.calls, 0);
    }
    collected_clear(&c);
    close_store(store);
}

/* A loader callback's failure stops the load and is returned. */
CONTRACT_TEST(load_stops_at_callback_failure)
{
    fr_store *store = open_store(backend);
    begin(store);
    fr_pool p1 = sample_pool(ID_P1, T0);
    fr_pool p2 = sample_pool(ID_P2, T0 + 1);
    fr_pool p3 = sample_pool(ID_P3, T0 + 2);
    fr_allocation a = sample_allocation(ID_A1, T0);
    cr_assert_eq(store->methods->put_pool(store, &p1), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &p2), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &p3), FR_OK);
    cr_assert_eq(store->methods->put_allocation(store, &a), FR_OK);
    commit(store);
    store = reopen(backend, store);
    collected c = {0};
    c.fail_at_call = 2;
    int64_t head = 12345;
    int rc = load_into(store, &c, &head);
    if (backend->stores_entities) {
        cr_assert_eq(rc, FR_ELIMIT);
        cr_assert_str_eq(c.order, "pp");
        cr_assert_eq(head, 12345, "head_seq untouched on failure");
    } else {
        cr_assert_eq(rc, FR_OK);
        cr_assert_eq(c.calls, 0);
    }
    collected_clear(&c);
    close_store(store);
}

/* Many small transactions, paged through like GET /events does. */
CONTRACT_TEST(many_transactions_page_in_order)
{
    enum { N = 120, PAGE = 16 };
    const char *fleet_of[N + 1];
    fleet_of[0] = NULL;
    fr_store *store = open_store(backend);
    for (int64_t seq = 1; seq <= N; seq++) {
        fleet_of[seq] = seq % 3 == 0 ? "fleet-x" : "fleet-y";
        cr_assert_eq(begin(store), seq - 1);
        fr_allocation a = sample_allocation(ID_A1, T0);
        a.version = seq;
        cr_assert_eq(store->methods->put_allocation(store, &a), FR_OK);
        append(store, seq, fleet_of[seq]);
        commit(store);
    }
    int64_t after = 0;
    int64_t seen = 0;
    for (int page = 0; page <= N / PAGE + 1; page++) {
        fr_event *items = NULL;
        size_t count = 0;
        cr_assert_eq(store->methods->events_after(store, after, PAGE, NULL, &items, &count),
                     FR_OK);
        cr_assert_leq(count, PAGE);
        for (size_t i = 0; i < count; i++) {
            cr_assert_eq(items[i].seq, seen + 1);
            seen++;
        }
        if (count > 0) {
            after = items[count - 1].seq;
        }
        fr_event_free_array(items, count);
        if (count == 0) {
            break;
        }
    }
    cr_assert_eq(seen, N);
    int64_t x_seen = 0;
    fr_event *items = NULL;
    size_t count = 0;
    cr_assert_eq(store->methods->events_after(store, 0, 1000, "fleet-x", &items, &count),
                 FR_OK);
    for (size_t i = 0; i < count; i++) {
        cr_assert_eq(items[i].seq % 3, 0);
        cr_assert_gt(items[i].seq, x_seen);
        x_seen = items[i].seq;
    }
    cr_assert_eq(count, N / 3);
    fr_event_free_array(items, count);
    close_store(store);
}

/* append_event's seq must follow the head: a caller bug, caught by an assert. */
CONTRACT_TEST_ABORTS(append_with_a_gap_in_seq_is_a_bug)
{
    fr_store *store = open_store(backend);
    begin(store);
    append(store, 1, "fleet-a");
    fixture_teardown();
    append(store, 3, "fleet-a");
    cr_assert_fail("append_event accepted seq 3 after 1");
}

/* Samples (methods version 2): put + commit + reopen + load, streamed last,
 * by created_at then id; the optional source both ways; zero quantities. */
CONTRACT_TEST(samples_round_trip_after_the_other_kinds)
{
    fr_pool pool = sample_pool(ID_P1, T0);
    fr_conflict conflict = sample_conflict(ID_C1, T0 + 9);
    fr_sample late = example_sample(ID_S1, T0 + 5);
    fr_sample early = example_sample(ID_S3, T0 + 1);
    early.source = NULL;
    early.used_milli = 0;
    early.capacity_milli = 0;
    early.timestamp_ms = FR_TIME_MIN_MS;
    fr_sample tie = example_sample(ID_S2, T0 + 1); /* same created_at, smaller id */
    tie.timestamp_ms = FR_TIME_MAX_MS;

    fr_store *store = open_store(backend);
    begin(store);
    cr_assert_eq(store->methods->put_sample(store, &late), FR_OK);
    cr_assert_eq(store->methods->put_sample(store, &early), FR_OK);
    cr_assert_eq(store->methods->put_sample(store, &tie), FR_OK);
    cr_assert_eq(store->methods->put_conflict(store, &conflict), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
    append(store, 1, "fleet-a");
    commit(store);
    store = reopen(backend, store);

    collected c = {0};
    int64_t head = load_ok(store, &c);
    cr_assert_eq(head, backend->durable ? 1 : 0);
    if (backend->stores_entities) {
        cr_assert_str_eq(c.order, "pcsss");
        assert_sample_eq(&c.samples[0], &tie);
        assert_sample_eq(&c.samples[1], &early);
        assert_sample_eq(&c.samples[2], &late);
    } else {
        cr_assert_eq(c.calls, 0);
    }
    collected_clear(&c);

    /* A loader without a sample callback (an older caller) skips them. */
    fr_store_loader no_samples = {&c, collect_pool, collect_allocation, collect_request,
                                  collect_conflict, NULL, NULL};
    cr_assert_eq(store->methods->load(store, &no_samples, &head), FR_OK);
    cr_assert_str_eq(c.order, backend->stores_entities ? "pc" : "");
    collected_clear(&c);
    close_store(store);
}

/* Putting the same sample id again replaces it (a replay is harmless). */
CONTRACT_TEST(sample_put_twice_keeps_one_row)
{
    fr_sample first = example_sample(ID_S1, T0);
    fr_sample again = first;
    again.used_milli = 7;
    fr_store *store = open_store(backend);
    begin(store);
    cr_assert_eq(store->methods->put_sample(store, &first), FR_OK);
    cr_assert_eq(store->methods->put_sample(store, &again), FR_OK);
    commit(store);
    store = reopen(backend, store);
    collected c = {0};
    load_ok(store, &c);
    if (backend->stores_entities) {
        cr_assert_str_eq(c.order, "s");
        assert_sample_eq(&c.samples[0], &again);
    }
    collected_clear(&c);
    close_store(store);
}

/* A rolled-back sample leaves no trace; a committed one stays. */
CONTRACT_TEST(rolled_back_samples_leave_nothing)
{
    fr_sample kept = example_sample(ID_S1, T0);
    fr_sample lost = example_sample(ID_S2, T0 + 1);
    fr_store *store = open_store(backend);
    begin(store);
    cr_assert_eq(store->methods->put_sample(store, &kept), FR_OK);
    append(store, 1, "fleet-a");
    commit(store);
    cr_assert_eq(begin(store), 1);
    cr_assert_eq(store->methods->put_sample(store, &lost), FR_OK);
    append(store, 2, "fleet-a");
    store->methods->rollback(store);
    store = reopen(backend, store);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), backend->durable ? 1 : 0);
    if (backend->stores_entities) {
        cr_assert_str_eq(c.order, "s");
        assert_sample_eq(&c.samples[0], &kept);
    } else {
        cr_assert_eq(c.calls, 0);
    }
    collected_clear(&c);
    close_store(store);
}

/* ---------------------------------------------------------------------------
 * Plans (methods version 5).
 * ------------------------------------------------------------------------- */
#define ID_L1 "01900000-0000-7000-8000-000000000051"
#define ID_L2 "01900000-0000-7000-8000-000000000052"

static fr_plan_demand g_plan_demands[2] = {
    {"d-1", "charging_bay", "depot-1", ID_P1, "bus-7", 1500, HOUR_MS, T0, T0 + 4 * HOUR_MS, 1000},
    {"d-2", "parking", NULL, "", NULL, 1, 1, T0 + 1, FR_TIME_INF, 0},
};
static fr_plan_capacity_change g_plan_changes[1] = {{ID_P1, T0, FR_TIME_INF, -2500}};
static fr_plan_assignment_info g_plan_assignments[2] = {
    {"d-1", "", ID_P1, T0, T0 + HOUR_MS, 1500, 1000, ID_A1},
    {NULL, ID_R1, ID_P2, T0 + HOUR_MS, T0 + 2 * HOUR_MS, 1, 0, ""},
};
static fr_plan_miss g_plan_unplaced[1] = {{"d-2", "", "", "no_pool_of_type"}};
static fr_plan_forecast_bucket g_plan_series[2] = {
    {T0, T0 + HOUR_MS, 3000, 500, 1500},
    {T0 + HOUR_MS, T0 + 90 * 60000, 0, 0, 0},
};
static fr_plan_forecast g_plan_forecast[1] = {{ID_P1, g_plan_series, 2}};
static fr_plan_shortage g_plan_shortfall[1] = {{ID_P2, T0, T0 + HOUR_MS, 1}};

/* A plan with every nested part filled, including edge values. */
static fr_plan example_plan(const char *id, int64_t created_at_ms)
{
    fr_plan p;
    memset(&p, 0, sizeof(p));
    snprintf(p.id, sizeof(p.id), "%s", id);
    p.fleet_id = "fleet-a";
    p.name = "night \"shift\"";
    p.status = FR_PLAN_COMMITTED;
    p.horizon_start_ms = T0;
    p.horizon_end_ms = T0 + 90 * 60000;
    p.bucket_ms = HOUR_MS;
    p.include_pending_requests = 1;
    p.time_budget_ms = 200;
    p.demands = g_plan_demands;
    p.demands_len = 2;
    p.capacity_changes = g_plan_changes;
    p.capacity_changes_len = 1;
    p.assignments = g_plan_assignments;
    p.assignments_len = 2;
    p.unplaced = g_plan_unplaced;
    p.unplaced_len = 1;
    p.forecast = g_plan_forecast;
    p.forecast_len = 1;
    p.shortfall = g_plan_shortfall;
    p.shortfall_len = 1;
    p.placed_priority = 1002;
    p.total_delay_ms = 1500;
    p.planning_ms = 3;
    p.planned_at_ms = created_at_ms;
    p.committed_at_ms = created_at_ms + 1;
    p.version = 2;
    p.created_at_ms = created_at_ms;
    p.updated_at_ms = created_at_ms + 1;
    return p;
}

/* Plans compare by their full JSON (every field, nested arrays included). */
static void assert_plan_eq(const fr_plan *got, const fr_plan *want)
{
    char *g = fr__plan_to_json_text(got);
    char *w = fr__plan_to_json_text(want);
    cr_assert(g != NULL && w != NULL);
    cr_assert_str_eq(g, w);
    cr_assert_eq(got->deleted, want->deleted);
    free(g);
    free(w);
}

/* put + commit + reopen + load: plans come last, by created_at then id,
 * with every nested part; a second put replaces the row (upsert). */
CONTRACT_TEST(plans_round_trip_last_and_upsert)
{
    fr_pool pool = sample_pool(ID_P1, T0);
    fr_plan second = example_plan(ID_L2, T0 + 2);
    fr_plan first = example_plan(ID_L1, T0 + 2); /* same created_at, smaller id */
    first.name = NULL;
    first.status = FR_PLAN_DRAFT;
    first.committed_at_ms = FR_TIME_NULL;
    first.assignments_len = 0;
    fr_store *store = open_store(backend);
    begin(store);
    cr_assert_eq(store->methods->put_plan(store, &second), FR_OK);
    cr_assert_eq(store->methods->put_plan(store, &first), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
    append(store, 1, "fleet-a");
    commit(store);
    store = reopen(backend, store);
    collected c = {0};
    load_ok(store, &c);
    if (backend->stores_entities) {
        cr_assert_str_eq(c.order, "pll");
        assert_plan_eq(&c.plans[0], &first);
        assert_plan_eq(&c.plans[1], &second);
    } else {
        cr_assert_eq(c.calls, 0);
    }
    collected_clear(&c);

    fr_plan gone = first;
    gone.status = FR_PLAN_DISCARDED;
    gone.deleted = 1;
    gone.version = 3;
    int64_t head0 = begin(store);
    cr_assert_eq(head0, backend->durable ? 1 : 0);
    cr_assert_eq(store->methods->put_plan(store, &gone), FR_OK);
    append(store, head0 + 1, "fleet-a");
    commit(store);
    store = reopen(backend, store);
    load_ok(store, &c);
    if (backend->stores_entities) {
        cr_assert_str_eq(c.order, "pll");
        assert_plan_eq(&c.plans[0], &gone);
        cr_assert_eq(c.plans[0].deleted, 1);
    }
    collected_clear(&c);

    /* A loader without a plan callback (an older caller) skips them. */
    fr_store_loader no_plans = {&c, collect_pool, collect_allocation, collect_request,
                                collect_conflict, collect_sample, NULL};
    int64_t head = 0;
    cr_assert_eq(store->methods->load(store, &no_plans, &head), FR_OK);
    cr_assert_str_eq(c.order, backend->stores_entities ? "p" : "");
    collected_clear(&c);
    close_store(store);
}

/* A rolled-back plan leaves no trace. */
CONTRACT_TEST(rolled_back_plans_leave_nothing)
{
    fr_plan lost = example_plan(ID_L1, T0);
    fr_store *store = open_store(backend);
    begin(store);
    cr_assert_eq(store->methods->put_plan(store, &lost), FR_OK);
    append(store, 1, "fleet-a");
    store->methods->rollback(store);
    store = reopen(backend, store);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), 0);
    cr_assert_eq(c.calls, 0);
    collected_clear(&c);
    close_store(store);
}

/* ---------------------------------------------------------------------------
 * Memory store: documented behaviour beyond the contract.
 * ------------------------------------------------------------------------- */

/* put_* accept the entity and store nothing: the engine's memory is the only
 * copy.  Only the event log is kept, and load reports its head. */
Test(store_memory_only, put_is_a_documented_no_op)
{
    fr_store *store = NULL;
    cr_assert_eq(fr_store_memory_open(&store), FR_OK);
    fr_pool pool = sample_pool(ID_P1, T0);
    fr_allocation allocation = sample_allocation(ID_A1, T0);
    fr_request request = sample_request(ID_R1, T0);
    fr_conflict conflict = sample_conflict(ID_C1, T0);
    begin(store);
    cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
    cr_assert_eq(store->methods->put_allocation(store, &allocation), FR_OK);
    cr_assert_eq(store->methods->put_request(store, &request), FR_OK);
    cr_assert_eq(store->methods->put_conflict(store, &conflict), FR_OK);
    fr_sample sample = example_sample(ID_S1, T0);
    cr_assert_eq(store->methods->put_sample(store, &sample), FR_OK);
    append(store, 1, "fleet-a");
    commit(store);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), 1);
    cr_assert_eq(c.calls, 0);
    close_store(store);
}

/* The memory store answers events_after from committed events only. */
Test(store_memory_only, events_after_ignores_the_open_transaction)
{
    fr_store *store = NULL;
    cr_assert_eq(fr_store_memory_open(&store), FR_OK);
    begin(store);
    append(store, 1, "fleet-a");
    fr_event *items = NULL;
    size_t count = 99;
    cr_assert_eq(store->methods->events_after(store, 0, 10, NULL, &items, &count), FR_OK);
    cr_assert_eq(count, 0);
    fr_event_free_array(items, count);
    commit(store);
    cr_assert_eq(store->methods->events_after(store, 0, 10, NULL, &items, &count), FR_OK);
    cr_assert_eq(count, 1);
    fr_event_free_array(items, count);
    close_store(store);
}

/* An event with its strings on the heap, as the engine makes them. */
static fr_event owned_event(int64_t seq, const char *fleet_id)
{
    fr_event e = make_event(seq, fleet_id);
    e.fleet_id = e.fleet_id != NULL ? strdup(e.fleet_id) : NULL;
    e.actor = strdup(e.actor);
    e.data_json = e.data_json != NULL ? strdup(e.data_json) : NULL;
    return e;
}

/* append_event_owned takes the strings (the caller's pointers become NULL):
 * the committed events read back equal to what was appended, and a rolled
 * back transaction frees what it took (ASan checks both ways). */
Test(store_memory_only, append_event_owned_takes_the_strings)
{
    fr_store *store = NULL;
    cr_assert_eq(fr_store_memory_open(&store), FR_OK);
    const struct fr_store_methods *m = store->methods;
    cr_assert_geq(m->version, 6);
    cr_assert_not_null(m->append_event_owned);
    begin(store);
    fr_event lost = owned_event(1, "fleet-a");
    cr_assert_eq(m->append_event_owned(store, &lost), FR_OK);
    cr_assert(lost.fleet_id == NULL && lost.actor == NULL && lost.data_json == NULL);
    store->methods->rollback(store);
    begin(store);
    for (int64_t seq = 1; seq <= 5; seq++) {
        fr_event e = owned_event(seq, seq % 2 ? "fleet-a" : NULL);
        cr_assert_eq(m->append_event_owned(store, &e), FR_OK);
        fr_event_clear(&e); /* nothing left to free */
    }
    commit(store);
    fr_event *items = NULL;
    size_t count = 0;
    cr_assert_eq(m->events_after(store, 0, 10, NULL, &items, &count), FR_OK);
    cr_assert_eq(count, 5);
    for (size_t i = 0; i < count; i++) {
        fr_event want = make_event((int64_t)i + 1, i % 2 == 0 ? "fleet-a" : NULL);
        assert_event_eq(&items[i], &want);
    }
    fr_event_free_array(items, count);
    close_store(store);
}

Test(store_memory_only, open_rejects_null_out)
{
    cr_assert_eq(fr_store_memory_open(NULL), FR_EINVAL);
}

/* ---------------------------------------------------------------------------
 * SQLite store: file ownership, schema, path options, damaged files.
 * ------------------------------------------------------------------------- */

/* Runs SQL on the fixture's file through a plain connection (store closed). */
static void raw_exec(const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(g_file, &db), SQLITE_OK);
    char *error = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &error);
    cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, error ? error : "");
    sqlite3_free(error);
    cr_assert_eq(sqlite3_close(db), SQLITE_OK);
}

/* The first column of the first row of a query, as an int64. */
static int64_t raw_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    cr_assert_eq(sqlite3_open(g_file, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    int64_t value = sqlite3_column_int64(st, 0);
    cr_assert_eq(sqlite3_finalize(st), SQLITE_OK);
    cr_assert_eq(sqlite3_close(db), SQLITE_OK);
    return value;
}

static void create_and_close(void)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    close_store(store);
}

TestSuite(store_sqlite_only, .init = fixture_setup, .fini = fixture_teardown);

Test(store_sqlite_only, second_open_of_the_same_file_fails_cleanly)
{
    fr_store *first = open_store(&BACKENDS[BACKEND_SQLITE]);
    fr_store *sentinel = (fr_store *)&sentinel;
    fr_store *second = sentinel;
    char errbuf[256] = "";
    int rc = fr_store_sqlite_open(g_file, &second, errbuf, sizeof(errbuf));
    cr_assert_eq(rc, FR_ESTORE);
    cr_assert_eq(second, sentinel, "out untouched on failure");
    cr_assert_not_null(strstr(errbuf, "in use"), "message: %s", errbuf);
    cr_assert_not_null(strstr(errbuf, g_file), "message names the file: %s", errbuf);

    /* The first store is unharmed, and the file is free once it closes. */
    begin(first);
    append(first, 1, "fleet-a");
    commit(first);
    close_store(first);
    fr_store *third = open_store(&BACKENDS[BACKEND_SQLITE]);
    collected c = {0};
    cr_assert_eq(load_ok(third, &c), 1);
    close_store(third);
}

Test(store_sqlite_only, a_plain_reader_is_locked_out_while_open)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(g_file, &db), SQLITE_OK);
    int rc = sqlite3_exec(db, "SELECT count(*) FROM events", NULL, NULL, NULL);
    cr_assert_eq(rc, SQLITE_BUSY);
    cr_assert_eq(sqlite3_close(db), SQLITE_OK);
    close_store(store);
}

Test(store_sqlite_only, schema_version_and_inspection_columns)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    begin(store);
    fr_allocation a = sample_allocation(ID_A1, T0);
    fr_pool p = sample_pool(ID_P1, T0);
    p.deleted = 1;
    cr_assert_eq(store->methods->put_allocation(store, &a), FR_OK);
    cr_assert_eq(store->methods->put_pool(store, &p), FR_OK);
    append(store, 1, "fleet-a");
    commit(store);
    close_store(store);

    cr_assert_eq(raw_int("PRAGMA user_version"), 4);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                         " ('pools', 'allocations', 'requests', 'conflicts', 'events',"
                         " 'samples', 'plans')"),
                 7);
    cr_assert_eq(
        raw_int("SELECT count(*) FROM sqlite_master WHERE name = 'samples_by_pool_time'"), 1);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE name = 'events_by_fleet'"),
                 1);
    cr_assert_eq(raw_int("SELECT quantity_milli FROM allocations"), 1);
    cr_assert_eq(raw_int("SELECT start_ms FROM allocations"), T0);
    cr_assert_eq(raw_int("SELECT end_ms IS NULL FROM allocations"), 1);
    cr_assert_eq(raw_int("SELECT status = 'held' FROM allocations"), 1);
    cr_assert_eq(raw_int("SELECT deleted FROM pools"), 1);
    cr_assert_eq(raw_int("SELECT json_valid(doc) FROM pools"), 1);
    cr_assert_eq(raw_int("SELECT entity_type = 'pool' AND fleet_id = 'fleet-a' FROM events"),
                 1);
    /* WAL is recorded in the file header. */
    cr_assert_eq(raw_int("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

/* The sample columns are there for inspection; doc is what load reads. */
Test(store_sqlite_only, sample_inspection_columns)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    begin(store);
    fr_sample with = example_sample(ID_S1, T0);
    fr_sample without = example_sample(ID_S2, T0 + 1);
    without.source = NULL;
    cr_assert_eq(store->methods->put_sample(store, &with), FR_OK);
    cr_assert_eq(store->methods->put_sample(store, &without), FR_OK);
    commit(store);
    close_store(store);
    cr_assert_eq(raw_int("SELECT count(*) FROM samples"), 2);
    cr_assert_eq(raw_int("SELECT timestamp_ms FROM samples WHERE id = '" ID_S1 "'"),
                 T0 - 5 * HOUR_MS);
    cr_assert_eq(raw_int("SELECT used_milli FROM samples WHERE id = '" ID_S1 "'"),
                 FR_QTY_MAX_MILLI);
    cr_assert_eq(raw_int("SELECT capacity_milli FROM samples WHERE id = '" ID_S1 "'"), 1);
    cr_assert_eq(raw_int("SELECT source IS NULL FROM samples WHERE id = '" ID_S2 "'"), 1);
    cr_assert_eq(raw_int("SELECT json_extract(doc, '$.utilization') = 1e15 FROM samples"
                         " WHERE id = '" ID_S1 "'"),
                 1);
}

/* A version 1 file (before samples) gets the samples table and version 2;
 * what it held is still there. */
Test(store_sqlite_only, version_1_file_is_upgraded_to_2)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    begin(store);
    fr_pool pool = sample_pool(ID_P1, T0);
    cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
    append(store, 1, "fleet-a");
    commit(store);
    close_store(store);
    raw_exec("DROP TABLE samples; PRAGMA user_version = 1");
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE name = 'samples'"), 0);

    store = open_store(&BACKENDS[BACKEND_SQLITE]);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), 1);
    cr_assert_str_eq(c.order, "p");
    assert_pool_eq(&c.pools[0], &pool);
    collected_clear(&c);
    begin(store);
    fr_sample sample = example_sample(ID_S1, T0);
    cr_assert_eq(store->methods->put_sample(store, &sample), FR_OK);
    commit(store);
    close_store(store);
    cr_assert_eq(raw_int("PRAGMA user_version"), 4);
    cr_assert_eq(raw_int("SELECT count(*) FROM samples"), 1);
    cr_assert_eq(
        raw_int("SELECT count(*) FROM sqlite_master WHERE name = 'samples_by_pool_time'"), 1);
}

/* Files made before allocations became WITHOUT ROWID have a rowid table and
 * an allocations_by_created index: they still load and take writes, and the
 * index (a page write per booking, only ever used to order the load) is
 * dropped on open. */
Test(store_sqlite_only, rowid_allocations_file_still_works)
{
    create_and_close();
    raw_exec("DROP TABLE allocations;"
             "CREATE TABLE allocations ("
             " id TEXT PRIMARY KEY, fleet_id TEXT, pool_id TEXT, vehicle_id TEXT, status TEXT,"
             " quantity_milli INTEGER, start_ms INTEGER, end_ms INTEGER, request_id TEXT,"
             " version INTEGER, created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER,"
             " doc TEXT NOT NULL);"
             "CREATE INDEX allocations_by_created ON allocations (created_at_ms, id);");
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    begin(store);
    fr_pool pool = sample_pool(ID_P1, T0);
    fr_allocation later = sample_allocation(ID_A1, T0 + 1);
    fr_allocation earlier = sample_allocation(ID_A2, T0);
    cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
    cr_assert_eq(store->methods->put_allocation(store, &later), FR_OK);
    cr_assert_eq(store->methods->put_allocation(store, &earlier), FR_OK);
    append(store, 1, "fleet-a");
    commit(store);
    close_store(store);
    cr_assert_eq(
        raw_int("SELECT count(*) FROM sqlite_master WHERE name = 'allocations_by_created'"), 0);

    store = open_store(&BACKENDS[BACKEND_SQLITE]);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), 1);
    cr_assert_str_eq(c.order, "paa");
    assert_allocation_eq(&c.allocations[0], &earlier); /* by created_at, not insertion */
    assert_allocation_eq(&c.allocations[1], &later);
    collected_clear(&c);
    close_store(store);
}

/* A version 3 file (before plans) gets the plans table and version 4;
 * what it held is still there, and plans can be put. */
Test(store_sqlite_only, version_3_file_is_upgraded_to_4)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    begin(store);
    fr_pool pool = sample_pool(ID_P1, T0);
    cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
    append(store, 1, "fleet-a");
    commit(store);
    close_store(store);
    raw_exec("DROP TABLE plans; PRAGMA user_version = 3");
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE name = 'plans'"), 0);

    store = open_store(&BACKENDS[BACKEND_SQLITE]);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), 1);
    cr_assert_str_eq(c.order, "p");
    collected_clear(&c);
    begin(store);
    fr_plan plan = example_plan(ID_L1, T0);
    plan.deleted = 1;
    cr_assert_eq(store->methods->put_plan(store, &plan), FR_OK);
    commit(store);
    close_store(store);
    cr_assert_eq(raw_int("PRAGMA user_version"), 4);
    cr_assert_eq(raw_int("SELECT count(*) FROM plans"), 1);
    /* The plain columns are for inspection. */
    cr_assert_eq(raw_int("SELECT status = 'committed' AND deleted = 1 AND fleet_id = 'fleet-a'"
                         " FROM plans"),
                 1);
    cr_assert_eq(raw_int("SELECT horizon_start_ms FROM plans"), T0);
    cr_assert_eq(raw_int("SELECT json_extract(doc, '$.score.placed') FROM plans"), 2);
    cr_assert_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE name = 'plans_by_created'"),
                 1);
}

/* A plan document that does not decode fails the load with a message. */
Test(store_sqlite_only, corrupt_plan_document_fails_the_load)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    begin(store);
    fr_plan plan = example_plan(ID_L1, T0);
    cr_assert_eq(store->methods->put_plan(store, &plan), FR_OK);
    commit(store);
    close_store(store);
    raw_exec("UPDATE plans SET doc = json_set(doc, '$.status', 'bogus')");
    store = open_store(&BACKENDS[BACKEND_SQLITE]);
    collected c = {0};
    int64_t head = 0;
    cr_assert_eq(load_into(store, &c, &head), FR_ESTORE);
    collected_clear(&c);
    close_store(store);
}

/* The WAL shim (lib/sqlite_walbuf.c) writes a transaction's frames at
 * COMMIT.  If that write fails (here: RLIMIT_FSIZE makes it EFBIG), commit
 * fails, the store refuses every later call until reopened, and the reopened
 * file holds exactly the transactions committed before. */
Test(store_sqlite_only, failed_wal_write_poisons_until_reopen)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    begin(store);
    fr_pool first = sample_pool(ID_P1, T0);
    cr_assert_eq(store->methods->put_pool(store, &first), FR_OK);
    append(store, 1, "fleet-a");
    commit(store);

    char wal[700];
    snprintf(wal, sizeof(wal), "%s-wal", g_file);
    struct stat st;
    cr_assert_eq(stat(wal, &st), 0);
    struct rlimit saved;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    struct rlimit tight = saved;
    tight.rlim_cur = (rlim_t)st.st_size + 100; /* the next frames do not fit */
    cr_assert(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &tight), 0);

    begin(store);
    fr_pool second = sample_pool(ID_P2, T0 + 1);
    cr_assert_eq(store->methods->put_pool(store, &second), FR_OK);
    append(store, 2, "fleet-a");
    cr_assert_eq(store->methods->commit(store), FR_ESTORE);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
    int64_t head = -1;
    cr_assert_eq(store->methods->begin(store, &head), FR_ESTORE, "poisoned until reopened");

    store = reopen(&BACKENDS[BACKEND_SQLITE], store);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), 1);
    cr_assert_str_eq(c.order, "p");
    assert_pool_eq(&c.pools[0], &first);
    collected_clear(&c);
    begin(store); /* and it takes writes again */
    cr_assert_eq(store->methods->put_pool(store, &second), FR_OK);
    append(store, 2, "fleet-a");
    commit(store);
    close_store(store);
}

Test(store_sqlite_only, newer_schema_version_is_refused)
{
    create_and_close();
    raw_exec("PRAGMA user_version = 5");
    fr_store *sentinel = (fr_store *)&sentinel;
    fr_store *store = sentinel;
    char errbuf[256] = "";
    cr_assert_eq(fr_store_sqlite_open(g_file, &store, errbuf, sizeof(errbuf)), FR_ESTORE);
    cr_assert_eq(store, sentinel);
    cr_assert_not_null(strstr(errbuf, "newer"), "message: %s", errbuf);
    cr_assert_eq(raw_int("PRAGMA user_version"), 5, "the file is left alone");
}

Test(store_sqlite_only, sync_off_suffix_is_not_part_of_the_file_name)
{
    char path[700];
    snprintf(path, sizeof(path), "%s?sync=off", g_file);
    fr_store *store = NULL;
    char errbuf[256] = "";
    cr_assert_eq(fr_store_sqlite_open(path, &store, errbuf, sizeof(errbuf)), FR_OK, "%s",
                 errbuf);
    begin(store);
    append(store, 1, "fleet-a");
    commit(store);
    close_store(store);
    cr_assert_eq(access(g_file, F_OK), 0, "the file is %s", g_file);
    cr_assert_neq(access(path, F_OK), 0, "no file named %s", path);
    store = open_store(&BACKENDS[BACKEND_SQLITE]);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), 1);
    close_store(store);
}

Test(store_sqlite_only, corrupt_documents_fail_the_load)
{
    static const char *const damage[] = {
        "UPDATE pools SET doc = '{not json'",
        "UPDATE pools SET doc = '{}'",
        "UPDATE pools SET doc = '[1]'",
    };
    for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
        fixture_teardown();
        fixture_setup();
        fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
        begin(store);
        fr_pool pool = sample_pool(ID_P1, T0);
        cr_assert_eq(store->methods->put_pool(store, &pool), FR_OK);
        commit(store);
        close_store(store);
        raw_exec(damage[i]);
        store = open_store(&BACKENDS[BACKEND_SQLITE]);
        collected c = {0};
        int64_t head = -7;
        cr_assert_eq(load_into(store, &c, &head), FR_ESTORE, "%s", damage[i]);
        cr_assert_eq(c.calls, 0);
        cr_assert_eq(head, -7);
        close_store(store);
    }
}

Test(store_sqlite_only, corrupt_event_row_fails_events_after)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    begin(store);
    append(store, 1, "fleet-a");
    append(store, 2, "fleet-a");
    commit(store);
    close_store(store);
    raw_exec("UPDATE events SET entity_type = 'spaceship' WHERE seq = 2");
    store = open_store(&BACKENDS[BACKEND_SQLITE]);
    fr_event *items = (fr_event *)&items;
    size_t count = 77;
    cr_assert_eq(store->methods->events_after(store, 0, 10, NULL, &items, &count), FR_ESTORE);
    cr_assert_eq(items, (fr_event *)&items, "out untouched on failure");
    cr_assert_eq(count, 77);
    cr_assert_eq(store->methods->events_after(store, 0, 1, NULL, &items, &count), FR_OK);
    cr_assert_eq(count, 1);
    fr_event_free_array(items, count);
    close_store(store);
}

Test(store_sqlite_only, bad_paths_and_files_fail_with_a_message)
{
    fr_store *store = NULL;
    char errbuf[256] = "";
    cr_assert_eq(fr_store_sqlite_open("/nonexistent-dir-fr/x.db", &store, errbuf,
                                      sizeof(errbuf)),
                 FR_ESTORE);
    cr_assert_null(store);
    cr_assert_neq(errbuf[0], '\0');
    cr_assert_not_null(strstr(errbuf, "/nonexistent-dir-fr/x.db"), "%s", errbuf);

    FILE *f = fopen(g_file, "wb");
    cr_assert_not_null(f);
    for (int i = 0; i < 64; i++) {
        fputs("this is not a database file, just text. ", f);
    }
    cr_assert_eq(fclose(f), 0);
    errbuf[0] = '\0';
    cr_assert_eq(fr_store_sqlite_open(g_file, &store, errbuf, sizeof(errbuf)), FR_ESTORE);
    cr_assert_null(store);
    cr_assert_not_null(strstr(errbuf, "not a database"), "%s", errbuf);

    cr_assert_eq(fr_store_sqlite_open(NULL, &store, errbuf, sizeof(errbuf)), FR_EINVAL);
    cr_assert_eq(fr_store_sqlite_open("", &store, NULL, 0), FR_EINVAL);
    cr_assert_eq(fr_store_sqlite_open(g_file, NULL, NULL, 0), FR_EINVAL);
    /* A tiny errbuf is truncated, not overrun. */
    char tiny[8];
    memset(tiny, 'z', sizeof(tiny));
    cr_assert_eq(fr_store_sqlite_open("/nonexistent-dir-fr/x.db", &store, tiny, 4),
                 FR_ESTORE);
    cr_assert_eq(tiny[3], '\0');
    cr_assert_eq(tiny[4], 'z');
}

/* ---------------------------------------------------------------------------
 * Idempotency records (methods version 3): visible only once committed,
 * gone with a rollback, replaced by a later put, durable where the store is.
 * ------------------------------------------------------------------------- */
CONTRACT_TEST(idempotency_records_are_transactional)
{
    fr_store *store = open_store(backend);
    cr_assert_geq(store->methods->version, 3);
    char *doc = NULL;
    cr_assert_eq(store->methods->get_idempotency(store, "POST /pools", "k1", &doc), FR_ENOTFOUND);

    begin(store);
    cr_assert_eq(store->methods->put_idempotency(store, "POST /pools", "k1", "{\"a\":1}", T0),
                 FR_OK);
    store->methods->rollback(store);
    cr_assert_eq(store->methods->get_idempotency(store, "POST /pools", "k1", &doc), FR_ENOTFOUND);

    begin(store);
    cr_assert_eq(store->methods->put_idempotency(store, "POST /pools", "k1", "{\"a\":2}", T0),
                 FR_OK);
    cr_assert_eq(store->methods->put_idempotency(store, "POST /requests", "k1", "{\"b\":1}", T0),
                 FR_OK);
    commit(store);
    cr_assert_eq(store->methods->get_idempotency(store, "POST /pools", "k1", &doc), FR_OK);
    cr_assert_str_eq(doc, "{\"a\":2}");
    free(doc);
    cr_assert_eq(store->methods->get_idempotency(store, "POST /requests", "k1", &doc), FR_OK);
    cr_assert_str_eq(doc, "{\"b\":1}", "scopes are separate");
    free(doc);
    cr_assert_eq(store->methods->get_idempotency(store, "POST /pools", "k2", &doc), FR_ENOTFOUND);

    if (backend->durable) {
        close_store(store);
        store = open_store(backend);
        cr_assert_eq(store->methods->get_idempotency(store, "POST /pools", "k1", &doc), FR_OK);
        cr_assert_str_eq(doc, "{\"a\":2}", "records survive a reopen");
        free(doc);
    }
    close_store(store);
}

/* ---------------------------------------------------------------------------
 * Group commit (methods version 4): writers commit one at a time under a lock
 * (as the engine does) and wait for durability outside it, concurrently; every
 * sync succeeds and every committed event is there after a reopen.
 * ------------------------------------------------------------------------- */
#include <pthread.h>

#define GROUP_THREADS 8
#define GROUP_COMMITS_PER_THREAD 40

typedef struct group_ctx {
    fr_store *store;
    pthread_mutex_t *engine_lock;
    int64_t *next_seq;
    int failures;
} group_ctx;

static void *group_writer(void *arg)
{
    group_ctx *g = arg;
    for (int i = 0; i < GROUP_COMMITS_PER_THREAD; i++) {
        pthread_mutex_lock(g->engine_lock);
        int64_t head = -1;
        int ok = g->store->methods->begin(g->store, &head) == FR_OK;
        fr_event e = make_event(++*g->next_seq, "fleet-a");
        ok = ok && g->store->methods->append_event(g->store, &e) == FR_OK;
        ok = ok && g->store->methods->commit(g->store) == FR_OK;
        pthread_mutex_unlock(g->engine_lock);
        ok = ok && g->store->methods->sync(g->store) == FR_OK;
        if (!ok) {
            g->failures++;
        }
    }
    return NULL;
}

Test(store_sqlite_only, group_commit_syncs_concurrent_writers, .init = fixture_setup,
     .fini = fixture_teardown)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_SQLITE]);
    cr_assert_geq(store->methods->version, 4);
    cr_assert_not_null(store->methods->sync);
    cr_assert_eq(store->methods->sync(store), FR_OK, "nothing committed: nothing to wait for");
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    int64_t seq = 0;
    pthread_t threads[GROUP_THREADS];
    group_ctx ctx[GROUP_THREADS];
    for (int t = 0; t < GROUP_THREADS; t++) {
        ctx[t] = (group_ctx){store, &lock, &seq, 0};
        cr_assert_eq(pthread_create(&threads[t], NULL, group_writer, &ctx[t]), 0);
    }
    for (int t = 0; t < GROUP_THREADS; t++) {
        pthread_join(threads[t], NULL);
        cr_assert_eq(ctx[t].failures, 0, "writer %d saw a failed commit or sync", t);
    }
    const int64_t total = GROUP_THREADS * GROUP_COMMITS_PER_THREAD;
    cr_assert_eq(seq, total);
    close_store(store);
    store = open_store(&BACKENDS[BACKEND_SQLITE]);
    fr_event *items = NULL;
    size_t n = 0;
    cr_assert_eq(store->methods->events_after(store, 0, 1000, NULL, &items, &n), FR_OK);
    cr_assert_eq((int64_t)n, total);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(items[i].seq, (int64_t)i + 1);
    }
    fr_event_free_array(items, n);
    close_store(store);
}

/* ---------------------------------------------------------------------------
 * PostgreSQL: the promises a shared store makes beyond the contract (two
 * stores on one database stand for two fleetres-server processes).
 * ------------------------------------------------------------------------- */
TestSuite(store_pg_only, .init = pg_fixture_setup, .fini = fixture_teardown);

Test(store_pg_only, group_commit_syncs_concurrent_writers)
{
    SKIP_WITHOUT_PG();
    fr_store *store = open_store(&BACKENDS[BACKEND_PG]);
    cr_assert_eq(store->methods->sync(store), FR_OK, "nothing committed: nothing to wait for");
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    int64_t seq = 0;
    pthread_t threads[GROUP_THREADS];
    group_ctx ctx[GROUP_THREADS];
    for (int t = 0; t < GROUP_THREADS; t++) {
        ctx[t] = (group_ctx){store, &lock, &seq, 0};
        cr_assert_eq(pthread_create(&threads[t], NULL, group_writer, &ctx[t]), 0);
    }
    for (int t = 0; t < GROUP_THREADS; t++) {
        pthread_join(threads[t], NULL);
        cr_assert_eq(ctx[t].failures, 0, "writer %d saw a failed commit or sync", t);
    }
    close_store(store);
    store = open_store(&BACKENDS[BACKEND_PG]);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), GROUP_THREADS * GROUP_COMMITS_PER_THREAD);
    collected_clear(&c);
    close_store(store);
}

Test(store_pg_only, a_second_store_sees_the_head_and_the_log)
{
    SKIP_WITHOUT_PG();
    fr_store *a = open_store(&BACKENDS[BACKEND_PG]);
    fr_store *b = open_store(&BACKENDS[BACKEND_PG]);
    int64_t head = -1;
    cr_assert_eq(b->methods->control(b, FR_STORE_CTL_HEAD, &head), FR_OK);
    cr_assert_eq(head, 0);
    cr_assert_eq(begin(a), 0);
    append(a, 1, "fleet-a");
    append(a, 2, "fleet-b");
    commit(a);
    cr_assert_eq(b->methods->control(b, FR_STORE_CTL_HEAD, &head), FR_OK);
    cr_assert_eq(head, 2, "a read sees the other process's commit");
    cr_assert_eq(begin(b), 2, "begin reports the head another store wrote");
    const char *const fleet_of[] = {NULL, "fleet-a", "fleet-b", "fleet-a"};
    const int64_t want[] = {1, 2};
    expect_events(b, 0, 100, NULL, fleet_of, want, 2);
    append(b, 3, "fleet-a");
    commit(b);
    cr_assert_eq(begin(a), 3);
    a->methods->rollback(a);
    int64_t ea = 0, eb = 0;
    cr_assert_eq(a->methods->control(a, FR_STORE_CTL_EPOCH, &ea), FR_OK);
    cr_assert_eq(b->methods->control(b, FR_STORE_CTL_EPOCH, &eb), FR_OK);
    cr_assert_eq(ea, eb, "one server, one epoch");
    cr_assert_neq(ea, 0);
    close_store(a);
    close_store(b);
}

/* When another store wrote since, begin also fetches the events the engine
 * will ask for; inside that transaction events_after answers the same as
 * the database would, for the prefetched position and for any other. */
Test(store_pg_only, events_after_in_a_begin_that_found_another_writer)
{
    SKIP_WITHOUT_PG();
    fr_store *a = open_store(&BACKENDS[BACKEND_PG]);
    fr_store *b = open_store(&BACKENDS[BACKEND_PG]);
    const char *const fleet_of[] = {NULL, "fleet-a", "fleet-b", "fleet-a", "fleet-b", "fleet-a"};
    const int64_t all[] = {1, 2, 3, 4, 5};
    int64_t seq = 0;
    for (int round = 0; round < 2; round++) {
        cr_assert_eq(begin(a), seq);
        append(a, seq + 1, fleet_of[seq + 1]);
        append(a, seq + 2, fleet_of[seq + 2]);
        commit(a);
        cr_assert_eq(begin(b), seq + 2, "round %d", round);
        /* b last saw seq (its own begin before): ask from there, then from 0. */
        expect_events(b, seq, 100, NULL, fleet_of, all + seq, 2);
        expect_events(b, seq, 1, NULL, fleet_of, all + seq, 1);
        expect_events(b, 0, 100, NULL, fleet_of, all, (size_t)(seq + 2));
        b->methods->rollback(b);
        seq += 2;
    }
    cr_assert_eq(begin(b), 4);
    append(b, 5, fleet_of[5]);
    commit(b);
    cr_assert_eq(begin(a), 5);
    expect_events(a, 4, 100, NULL, fleet_of, all + 4, 1);
    expect_events(a, 4, 100, "fleet-b", fleet_of, all, 0);
    a->methods->rollback(a);
    close_store(a);
    close_store(b);
}

typedef struct lock_ctx {
    fr_store *store;
    int64_t head;
    int rc;
} lock_ctx;

static void *begin_in_thread(void *arg)
{
    lock_ctx *l = arg;
    l->rc = l->store->methods->begin(l->store, &l->head);
    if (l->rc == FR_OK) {
        l->store->methods->rollback(l->store);
    }
    return NULL;
}

/* begin is the writer lock: a second begin waits for the first commit and
 * then reports what it committed. */
Test(store_pg_only, begin_waits_for_the_other_writer)
{
    SKIP_WITHOUT_PG();
    fr_store *a = open_store(&BACKENDS[BACKEND_PG]);
    fr_store *b = open_store(&BACKENDS[BACKEND_PG]);
    cr_assert_eq(begin(a), 0);
    append(a, 1, "fleet-a");
    lock_ctx l = {b, -1, -1};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, begin_in_thread, &l), 0);
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    cr_assert_eq(l.rc, -1, "the second begin must wait for the lock");
    commit(a);
    pthread_join(t, NULL);
    cr_assert_eq(l.rc, FR_OK);
    cr_assert_eq(l.head, 1, "it sees the commit it waited for");
    close_store(a);
    close_store(b);
}

/* A dropped connection is replaced on the next use: no restart needed. */
Test(store_pg_only, reconnects_after_the_connection_is_killed)
{
    SKIP_WITHOUT_PG();
    fr_store *store = open_store(&BACKENDS[BACKEND_PG]);
    cr_assert_eq(store->methods->control(store, FR_STORE_CTL_PING, NULL), FR_OK);
    char sql[300], err[512];
    snprintf(sql, sizeof(sql),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
             " WHERE datname = '%s' AND pid <> pg_backend_pid()",
             g_pg_db);
    cr_assert(pg_admin(sql, err, sizeof(err)), "%s", err);
    struct timespec pause = {0, 300 * 1000 * 1000}; /* the kill is asynchronous */
    nanosleep(&pause, NULL);
    /* begin is the transaction's first statement: on a dead connection it is
     * retried on a new one, so the caller does not even see the failure. */
    cr_assert_eq(begin(store), 0, "begin reconnected");
    append(store, 1, "fleet-a");
    commit(store);
    cr_assert_eq(store->methods->sync(store), FR_OK);
    close_store(store);
}

Test(store_pg_only, unreachable_server_fails_fast_with_a_message)
{
    SKIP_WITHOUT_PG();
    fr_store *store = NULL;
    char err[512] = "";
    frs_pg_options opt = {.migrate = 1};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = frs_store_pg_open("postgres://postgres@127.0.0.1:1/nothing", &opt, &store, err,
                               sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_eq(rc, FR_ESTORE);
    cr_assert_null(store);
    cr_assert(strstr(err, "postgres: connect") != NULL, "%s", err);
    cr_assert_lt(t1.tv_sec - t0.tv_sec, 5);
    cr_assert_eq(frs_store_pg_open("sqlite://x", &opt, &store, err, sizeof(err)), FR_EINVAL);
}

Test(store_pg_only, unmigrated_database_is_refused_without_migrate)
{
    SKIP_WITHOUT_PG();
    fr_store *store = NULL;
    char err[512] = "";
    frs_pg_options opt = {.migrate = 0};
    cr_assert_eq(frs_store_pg_open(g_pg_url, &opt, &store, err, sizeof(err)), FR_ESTORE);
    cr_assert(strstr(err, "run `fleetres-server migrate`") != NULL, "%s", err);
    char msg[512];
    cr_assert_eq(frs_pg_migrate_url(g_pg_url, 1, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(frs_store_pg_open(g_pg_url, &opt, &store, err, sizeof(err)), FR_ESTORE);
    cr_assert(strstr(err, "version 1, this server needs 2") != NULL, "%s", err);
    cr_assert_eq(frs_pg_migrate_url(g_pg_url, 0, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_str_eq(msg, "schema migrated from version 1 to 2");
    cr_assert_eq(frs_store_pg_open(g_pg_url, &opt, &store, err, sizeof(err)), FR_OK, "%s", err);
    close_store(store);
}

/* The single-process stores are never behind: reads need not ask them. */
Test(store_memory_only, control_head_is_not_supported)
{
    fr_store *store = NULL;
    cr_assert_eq(fr_store_memory_open(&store), FR_OK);
    int64_t v = 0;
    cr_assert_eq(store->methods->control(store, FR_STORE_CTL_HEAD, &v), FR_ENOTFOUND);
    cr_assert_eq(store->methods->control(store, FR_STORE_CTL_EPOCH, &v), FR_ENOTFOUND);
    store->methods->close(store);
}

/* ---------------------------------------------------------------------------
 * Two engines on one PostgreSQL database (lib/catchup.c): the second one's
 * capacity check sees the first one's bookings, reads catch up, and a view
 * ahead of the database (lost commits) is reloaded.
 * ------------------------------------------------------------------------- */
static fr_engine *open_engine_pg(void)
{
    fr_store *store = open_store(&BACKENDS[BACKEND_PG]);
    fr_engine *e = NULL;
    char err[256] = "";
    cr_assert_eq(fr_engine_open_store(store, NULL, &e, err, sizeof(err)), FR_OK, "%s", err);
    return e;
}

static int book(fr_engine *e, const char *pool_id, const char *vehicle, int64_t start_ms,
                fr_allocation *out)
{
    fr_allocation_params p = {
        .set = FR_ALLOC_F_POOL_ID | FR_ALLOC_F_VEHICLE_ID | FR_ALLOC_F_QUANTITY |
               FR_ALLOC_F_START | FR_ALLOC_F_END,
        .pool_id = pool_id,
        .vehicle_id = vehicle,
        .quantity_milli = 1000,
        .start_ms = start_ms,
        .end_ms = start_ms + HOUR_MS,
    };
    fr_result res;
    fr_result_init(&res);
    int rc = fr_allocation_create(e, NULL, &p, out, &res);
    fr_result_clear(&res);
    return rc;
}

Test(store_pg_only, two_engines_share_capacity_and_reload_when_ahead)
{
    SKIP_WITHOUT_PG();
    fr_engine *a = open_engine_pg();
    fr_engine *b = open_engine_pg();
    fr_pool_params pp = {
        .set = FR_POOL_F_FLEET_ID | FR_POOL_F_NAME | FR_POOL_F_RESOURCE_TYPE |
               FR_POOL_F_TOTAL_CAPACITY,
        .fleet_id = "fleet-a", .name = "bays", .resource_type = "bay",
        .total_capacity_milli = 2000,
    };
    fr_pool pool;
    memset(&pool, 0, sizeof(pool));
    cr_assert_eq(fr_pool_create(a, NULL, &pp, &pool, NULL), FR_OK);
    int64_t start = fr_engine_now(a) + 24 * HOUR_MS;
    fr_allocation x, y, z;
    memset(&x, 0, sizeof(x));
    memset(&y, 0, sizeof(y));
    memset(&z, 0, sizeof(z));
    cr_assert_eq(book(a, pool.id, "v1", start, &x), FR_OK);
    cr_assert_eq(book(b, pool.id, "v2", start, &y), FR_OK, "b caught up on the pool");
    cr_assert_eq(book(a, pool.id, "v3", start, &z), FR_ECAPACITY, "a caught up on b's booking");
    fr_allocation got;
    memset(&got, 0, sizeof(got));
    cr_assert_eq(fr_allocation_get(a, y.id, &got), FR_OK, "a read sees b's write");
    fr_allocation_clear(&got);

    /* The database loses b's booking (as commits never flushed before a
     * crash would be): the engines' views are now ahead of it. */
    char sql[512];
    PGconn *c = PQconnectdb(g_pg_url);
    cr_assert_eq(PQstatus(c), CONNECTION_OK);
    snprintf(sql, sizeof(sql),
             "BEGIN; DELETE FROM fleet_resources.resource_allocations WHERE id = '%s';"
             " DELETE FROM fleet_resources.events WHERE seq = (SELECT seq FROM"
             " fleet_resources.head); UPDATE fleet_resources.head SET seq = seq - 1; COMMIT",
             y.id);
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    cr_assert_eq(fr_allocation_get(a, y.id, &got), FR_ENOTFOUND, "a reloaded: the head fell");
    cr_assert_eq(fr_allocation_get(b, x.id, &got), FR_OK, "b reloaded and kept what is stored");
    fr_allocation_clear(&got);
    cr_assert_eq(book(b, pool.id, "v4", start, &z), FR_OK, "the lost unit is free again");
    fr_allocation_clear(&x);
    fr_allocation_clear(&y);
    fr_allocation_clear(&z);
    fr_pool_clear(&pool);
    fr_engine_close(a);
    fr_engine_close(b);
}

/* Savepoints (methods version 6): a rollback to the savepoint drops the
 * writes after it, idempotency records included, and keeps the transaction;
 * an entity put twice in one transaction is stored as put last (the writes
 * of one kind go in one statement, which keeps the last of each id). */
Test(store_pg_only, savepoints_and_an_entity_put_twice_in_one_transaction)
{
    SKIP_WITHOUT_PG();
    fr_store *store = open_store(&BACKENDS[BACKEND_PG]);
    const struct fr_store_methods *m = store->methods;
    cr_assert(m->version >= 6 && m->savepoint != NULL && m->rollback_to_savepoint != NULL);
    cr_assert_eq(begin(store), 0);
    cr_assert_eq(m->savepoint(store), FR_OK);
    fr_allocation a = sample_allocation("01900000-0000-7000-8000-0000000000a1", T0);
    cr_assert_eq(m->put_allocation(store, &a), FR_OK);
    append(store, 1, "fleet-a");
    cr_assert_eq(m->savepoint(store), FR_OK);
    fr_allocation dropped = sample_allocation("01900000-0000-7000-8000-0000000000a2", T0 + 1);
    cr_assert_eq(m->put_allocation(store, &dropped), FR_OK);
    cr_assert_eq(m->put_idempotency(store, "POST /allocations", "k-1", "{\"x\":1}", T0), FR_OK);
    char *doc = NULL;
    cr_assert_eq(m->get_idempotency(store, "POST /allocations", "k-1", &doc), FR_OK,
                 "the open transaction's record is visible to it");
    cr_assert_str_eq(doc, "{\"x\":1}");
    free(doc);
    doc = NULL;
    append(store, 2, "fleet-a");
    m->rollback_to_savepoint(store);
    cr_assert_eq(m->get_idempotency(store, "POST /allocations", "k-1", &doc), FR_ENOTFOUND);
    cr_assert_eq(m->savepoint(store), FR_OK);
    a.version = 2;
    a.status = FR_ALLOC_CONFIRMED;
    a.hold_expires_at_ms = FR_TIME_NULL;
    cr_assert_eq(m->put_allocation(store, &a), FR_OK);
    append(store, 2, "fleet-b"); /* seq 2 again: the dropped one is gone */
    cr_assert_eq(m->put_idempotency(store, "POST /allocations", "k-2", "{\"y\":2}", T0), FR_OK);
    commit(store);
    close_store(store);

    store = open_store(&BACKENDS[BACKEND_PG]);
    collected c = {0};
    cr_assert_eq(load_ok(store, &c), 2);
    cr_assert_eq(c.allocations_len, 1, "the rolled-back allocation is not stored");
    assert_allocation_eq(&c.allocations[0], &a);
    const char *const fleet_of[] = {NULL, "fleet-a", "fleet-b"};
    const int64_t want[] = {1, 2};
    expect_events(store, 0, 100, NULL, fleet_of, want, 2);
    cr_assert_eq(store->methods->get_idempotency(store, "POST /allocations", "k-1", &doc),
                 FR_ENOTFOUND);
    cr_assert_eq(store->methods->get_idempotency(store, "POST /allocations", "k-2", &doc), FR_OK);
    cr_assert_str_eq(doc, "{\"y\":2}");
    free(doc);
    collected_clear(&c);
    close_store(store);
}
