/*
 * test_samples.c — utilization samples and the utilization series (SPEC §5):
 * create and batch create (validation, capacity at the timestamp, events),
 * all-or-nothing batches (in memory and in the store, also after a reopen and
 * when the store fails at commit), lists with filters and pagination, and the
 * series checked against values computed by hand.  Each behaviour runs on the
 * memory store and on a temporary SQLite file.
 */
#include "engine_harness.h"

#include <math.h>

#include <cjson/cJSON.h>

#include "codec.h"
#include "entity.h"
#include "fleetres_store.h"

/* Defines a test body run once on memory and once on SQLite. */
#define BOTH(suite, name)                                                           \
    static void name(void);                                                         \
    Test(suite, name, .init = setup_mem, .fini = teardown) { name(); }              \
    Test(suite##_sqlite, name, .init = setup_sqlite, .fini = teardown) { name(); } \
    static void name(void)

/* ---------------------------------------------------------------------------
 * Helpers.
 * ------------------------------------------------------------------------- */

/* ts FR_TIME_NULL: the timestamp is not sent (default now). */
static fr_sample_params sp(const char *pool_id, int64_t ts, int64_t used_milli)
{
    fr_sample_params p;
    memset(&p, 0, sizeof p);
    p.set = FR_SAMPLE_F_POOL_ID | FR_SAMPLE_F_USED;
    p.pool_id = pool_id;
    p.used_milli = used_milli;
    if (ts != FR_TIME_NULL) {
        p.set |= FR_SAMPLE_F_TIMESTAMP;
        p.timestamp_ms = ts;
    }
    return p;
}

static fr_sample must_sample_p(const fr_sample_params *p)
{
    fr_sample out;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_sample_create(g_e, NULL, p, &out, &res);
    cr_assert_eq(rc, FR_OK, "sample create: %d %s (%s)", rc, res.message, res.field);
    cr_assert_eq(res.index, -1);
    fr_result_clear(&res);
    return out;
}

static void must_sample(const char *pool_id, int64_t ts, int64_t used_milli)
{
    fr_sample_params p = sp(pool_id, ts, used_milli);
    fr_sample s = must_sample_p(&p);
    fr_sample_clear(&s);
}

/* Every sample matching q (all pages), in list order; *n receives the count. */
#define LIST_MAX 256
static size_t list_all(fr_list_query *q, fr_sample *out)
{
    size_t total = 0;
    char cursor[FR_CURSOR_SIZE] = "";
    for (int page = 0; page < LIST_MAX; page++) {
        fr_sample *items = NULL;
        size_t n = 0;
        q->cursor = cursor;
        char next[FR_CURSOR_SIZE];
        cr_assert_eq(fr_sample_list(g_e, q, &items, &n, next), FR_OK);
        for (size_t i = 0; i < n; i++) {
            cr_assert_lt(total, LIST_MAX);
            cr_assert_eq(fr__sample_copy(&out[total++], &items[i]), FR_OK);
        }
        fr_sample_free_array(items, n);
        if (next[0] == '\0') {
            return total;
        }
        cr_assert_gt(n, 0, "a page before the end is not empty");
        snprintf(cursor, sizeof cursor, "%s", next);
    }
    cr_assert_fail("pagination does not end");
    return 0;
}

static size_t count_samples(void)
{
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    fr_sample *items = NULL;
    size_t n = 0;
    char next[FR_CURSOR_SIZE];
    cr_assert_eq(fr_sample_list(g_e, &q, &items, &n, next), FR_OK);
    fr_sample_free_array(items, n);
    return n;
}

static size_t count_events_of_type(const char *type)
{
    size_t n = 0, found = 0;
    fr_event *ev = events_after(0, &n);
    for (size_t i = 0; i < n; i++) {
        found += strcmp(ev[i].type, type) == 0;
    }
    fr_event_free_array(ev, n);
    return found;
}

/* The sample's JSON, parsed (caller deletes). */
static cJSON *sample_json(const fr_sample *s)
{
    char *text = NULL;
    cr_assert_eq(fr_sample_to_json(s, &text), FR_OK);
    cJSON *json = cJSON_Parse(text);
    cr_assert_not_null(json, "%s", text);
    fr_free(text);
    return json;
}

static double json_number(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    cr_assert(cJSON_IsNumber(item), "%s is a number", name);
    return item->valuedouble;
}

static int json_is_null(const cJSON *obj, const char *name)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, name));
}

#define CLOSE(a, b) (fabs((a) - (b)) <= 1e-12 * (fabs(b) > 1 ? fabs(b) : 1))

/* measured < 0: the bucket has no sample. */
static void expect_bucket(const fr_utilization_bucket *b, int64_t start, int64_t end,
                          int64_t cap, int64_t avg, int64_t peak, int64_t measured,
                          int64_t measured_count)
{
    cr_assert_eq(b->start_ms, start, "start %lld want %lld", (long long)b->start_ms,
                 (long long)start);
    cr_assert_eq(b->end_ms, end);
    cr_assert_eq(b->capacity_avg_milli, cap, "capacity %lld want %lld",
                 (long long)b->capacity_avg_milli, (long long)cap);
    cr_assert_eq(b->booked_avg_milli, avg, "booked_avg %lld want %lld",
                 (long long)b->booked_avg_milli, (long long)avg);
    cr_assert_eq(b->booked_peak_milli, peak);
    cr_assert_eq(b->has_measured, measured >= 0);
    cr_assert_eq(b->measured_count, measured_count);
    if (measured >= 0) {
        cr_assert_eq(b->measured_avg_milli, measured, "measured %lld want %lld",
                     (long long)b->measured_avg_milli, (long long)measured);
    }
    cr_assert_eq(b->has_utilization, cap > 0);
    if (cap > 0) {
        cr_assert(CLOSE(b->utilization, (double)avg / (double)cap), "utilization %.17g",
                  b->utilization);
    }
    cr_assert_eq(b->has_efficiency, measured >= 0 && avg > 0);
    if (measured >= 0 && avg > 0) {
        cr_assert(CLOSE(b->efficiency, (double)measured / (double)avg), "efficiency %.17g",
                  b->efficiency);
    }
}

/* ---------------------------------------------------------------------------
 * Create.
 * ------------------------------------------------------------------------- */

BOTH(samples, create_fills_every_field)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "bays", TYPE, 10 * U);
    g_now = T0 + 5 * SEC;
    fr_sample_params p = sp(pool, FR_TIME_NULL, 4 * U);
    p.set |= FR_SAMPLE_F_SOURCE;
    p.source = "meter-7";
    fr_sample s = must_sample_p(&p);
    cr_assert_eq(strlen(s.id), 36);
    cr_assert_str_eq(s.pool_id, pool);
    cr_assert_str_eq(s.fleet_id, FLEET);
    cr_assert_eq(s.timestamp_ms, T0 + 5 * SEC, "timestamp defaults to now");
    cr_assert_eq(s.used_milli, 4 * U);
    cr_assert_str_eq(s.source, "meter-7");
    cr_assert_eq(s.capacity_milli, 10 * U);
    cr_assert_eq(s.created_at_ms, T0 + 5 * SEC);

    cJSON *json = sample_json(&s);
    cr_assert_str_eq(cJSON_GetObjectItem(json, "id")->valuestring, s.id);
    cr_assert_str_eq(cJSON_GetObjectItem(json, "pool_id")->valuestring, pool);
    cr_assert_str_eq(cJSON_GetObjectItem(json, "fleet_id")->valuestring, FLEET);
    cr_assert_str_eq(cJSON_GetObjectItem(json, "timestamp")->valuestring,
                     "2027-01-15T08:00:05.000Z");
    cr_assert_eq(json_number(json, "used"), 4.0);
    cr_assert_str_eq(cJSON_GetObjectItem(json, "source")->valuestring, "meter-7");
    cr_assert_eq(json_number(json, "capacity"), 10.0);
    cr_assert_eq(json_number(json, "utilization"), 0.4);
    cr_assert_eq(json_number(json, "version"), 1.0);
    cr_assert_str_eq(cJSON_GetObjectItem(json, "created_at")->valuestring,
                     "2027-01-15T08:00:05.000Z");
    cJSON_Delete(json);

    /* Without source: null. */
    fr_sample bare = must_sample_p(&(fr_sample_params){
        .set = FR_SAMPLE_F_POOL_ID | FR_SAMPLE_F_USED | FR_SAMPLE_F_SOURCE,
        .pool_id = pool,
        .used_milli = 0,
        .source = NULL});
    cr_assert_null(bare.source);
    json = sample_json(&bare);
    cr_assert(json_is_null(json, "source"));
    cr_assert_eq(json_number(json, "utilization"), 0.0);
    cJSON_Delete(json);
    fr_sample_clear(&bare);

    /* The list returns the same. */
    cr_assert_eq(count_samples(), 2);
    fr_sample_clear(&s);
}

BOTH(samples, create_appends_one_sample_created_event)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "bays", TYPE, 8 * U);
    int64_t before = last_seq();
    fr_ctx ctx = {.actor = "meter-svc"};
    fr_sample_params p = sp(pool, T0 - HOUR, 2 * U);
    fr_sample out;
    cr_assert_eq(fr_sample_create(g_e, &ctx, &p, &out, NULL), FR_OK);
    size_t n = 0;
    fr_event *ev = events_after(before, &n);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(ev[0].type, "sample.created");
    cr_assert_eq(ev[0].entity_type, FR_ENTITY_SAMPLE);
    cr_assert_str_eq(ev[0].entity_id, out.id);
    cr_assert_str_eq(ev[0].fleet_id, FLEET);
    cr_assert_str_eq(ev[0].actor, "meter-svc");
    cr_assert_eq(ev[0].occurred_at_ms, T0);
    cJSON *data = cJSON_Parse(ev[0].data_json);
    cr_assert_not_null(data);
    cr_assert_eq(json_number(data, "capacity"), 8.0);
    cr_assert_eq(json_number(data, "utilization"), 0.25);
    cr_assert_str_eq(cJSON_GetObjectItem(data, "timestamp")->valuestring,
                     "2027-01-15T07:00:00.000Z");
    cJSON_Delete(data);
    fr_event_free_array(ev, n);
    fr_sample_clear(&out);
}

/* Each refusal creates nothing and appends no event. */
BOTH(samples, invalid_samples_are_refused_and_change_nothing)
{
    char pool[FR_ID_SIZE], gone[FR_ID_SIZE];
    mk_pool(pool, FLEET, "bays", TYPE, 10 * U);
    mk_pool(gone, FLEET, "gone", TYPE, 10 * U);
    cr_assert_eq(fr_pool_delete(g_e, NULL, gone, 0, NULL), FR_OK);
    char long_source[FR_SOURCE_MAX + 2];
    memset(long_source, 's', sizeof long_source - 1);
    long_source[sizeof long_source - 1] = '\0';

    struct {
        fr_sample_params p;
        int status;
        const char *field;
    } cases[] = {
        {sp(pool, FR_TIME_NULL, -1), FR_EINVAL, "used"},
        {sp(pool, FR_TIME_NULL, FR_QTY_MAX_MILLI + 1), FR_EINVAL, "used"},
        {sp(pool, FR_TIME_NULL, INT64_MIN), FR_EINVAL, "used"},
        {{.set = FR_SAMPLE_F_POOL_ID, .pool_id = pool}, FR_EINVAL, "used"},
        {{.set = FR_SAMPLE_F_USED, .used_milli = 1}, FR_EINVAL, "pool_id"},
        {{.set = FR_SAMPLE_F_USED | FR_SAMPLE_F_POOL_ID, .pool_id = NULL}, FR_EINVAL,
         "pool_id"},
        {sp(pool, FR_TIME_MAX_MS + 1, 1), FR_EINVAL, "timestamp"},
        {sp(pool, FR_TIME_MIN_MS - 1, 1), FR_EINVAL, "timestamp"},
        {sp(UNKNOWN_ID, FR_TIME_NULL, 1), FR_EREFERENCE, "pool_id"},
        {sp("not-an-id", FR_TIME_NULL, 1), FR_EREFERENCE, "pool_id"},
        {sp(gone, FR_TIME_NULL, 1), FR_EREFERENCE, "pool_id"},
    };
    int64_t seq = last_seq();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fr_result res;
        fr_result_init(&res);
        fr_sample out;
        memset(&out, 0xab, sizeof out);
        int rc = fr_sample_create(g_e, NULL, &cases[i].p, &out, &res);
        cr_assert_eq(rc, cases[i].status, "case %zu: %d", i, rc);
        cr_assert_eq(res.status, cases[i].status, "case %zu", i);
        cr_assert_str_eq(res.field, cases[i].field, "case %zu: field %s", i, res.field);
        cr_assert_neq(res.message[0], '\0');
        cr_assert_eq(res.index, -1);
        cr_assert_eq(out.used_milli, (int64_t)0xabababababababab, "out untouched");
        fr_result_clear(&res);
    }
    const char *bad_sources[] = {"", long_source, "tab\there", "del\x7f"};
    for (size_t i = 0; i < sizeof bad_sources / sizeof bad_sources[0]; i++) {
        fr_sample_params p = sp(pool, FR_TIME_NULL, 1);
        p.set |= FR_SAMPLE_F_SOURCE;
        p.source = bad_sources[i];
        fr_result res;
        fr_result_init(&res);
        cr_assert_eq(fr_sample_create(g_e, NULL, &p, NULL, &res), FR_EINVAL, "source %zu", i);
        cr_assert_str_eq(res.field, "source");
        fr_result_clear(&res);
    }
    /* The bounds themselves are fine. */
    long_source[FR_SOURCE_MAX] = '\0';
    fr_sample_params edge = sp(pool, FR_TIME_MIN_MS, FR_QTY_MAX_MILLI);
    edge.set |= FR_SAMPLE_F_SOURCE;
    edge.source = long_source;
    fr_sample s = must_sample_p(&edge);
    cr_assert_eq(strlen(s.source), FR_SOURCE_MAX);
    fr_sample_clear(&s);
    cr_assert_eq(count_samples(), 1);
    cr_assert_eq(last_seq(), seq + 1, "only the valid sample appended an event");

    /* NULL arguments. */
    cr_assert_eq(fr_sample_create(NULL, NULL, &edge, NULL, NULL), FR_EINVAL);
    cr_assert_eq(fr_sample_create(g_e, NULL, NULL, NULL, NULL), FR_EINVAL);
    cr_assert_eq(fr_sample_create_batch(g_e, NULL, &edge, 0, NULL, NULL), FR_EINVAL);
    cr_assert_eq(fr_sample_create_batch(g_e, NULL, &edge, FR_BATCH_MAX + 1, NULL, NULL),
                 FR_EINVAL);
}

/* capacity is the pool's capacity at the sample's timestamp. */
BOTH(samples, capacity_at_the_timestamp_follows_the_schedule)
{
    fr_schedule_entry sched[] = {{T0 + HOUR, T0 + 2 * HOUR, 4 * U},
                                 {T0 + 3 * HOUR, T0 + 4 * HOUR, 0}};
    fr_pool_params pp;
    pool_params(&pp, FLEET, "bays", TYPE, 10 * U);
    pp.set |= FR_POOL_F_SCHEDULE;
    pp.schedule = sched;
    pp.schedule_len = 2;
    char pool[FR_ID_SIZE];
    mk_pool_p(pool, &pp);
    struct {
        int64_t ts;
        int64_t capacity;
    } want[] = {
        {T0 - DAY, 10 * U},           {T0 + HOUR - 1, 10 * U},  {T0 + HOUR, 4 * U},
        {T0 + 90 * MIN, 4 * U},       {T0 + 2 * HOUR, 10 * U},  {T0 + 3 * HOUR, 0},
        {T0 + 4 * HOUR - 1, 0},       {T0 + 4 * HOUR, 10 * U},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        fr_sample_params p = sp(pool, want[i].ts, 2 * U);
        fr_sample s = must_sample_p(&p);
        cr_assert_eq(s.capacity_milli, want[i].capacity, "case %zu: %lld", i,
                     (long long)s.capacity_milli);
        cJSON *json = sample_json(&s);
        if (want[i].capacity == 0) {
            cr_assert(json_is_null(json, "utilization"), "case %zu", i);
        } else {
            cr_assert(CLOSE(json_number(json, "utilization"),
                            2.0 * U / (double)want[i].capacity));
        }
        cJSON_Delete(json);
        fr_sample_clear(&s);
    }
    /* The capacity recorded at creation stays, whatever the pool does later. */
    cr_assert_eq(set_pool_capacity(pool, 20 * U, NULL), FR_OK);
    fr_list_query q;
    fr_list_query_init(&q);
    fr_sample all[LIST_MAX];
    size_t n = list_all(&q, all);
    cr_assert_eq(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(all[i].capacity_milli, want[i].capacity);
        fr_sample_clear(&all[i]);
    }
}

/* ---------------------------------------------------------------------------
 * Batches: all or nothing.
 * ------------------------------------------------------------------------- */

BOTH(samples, batch_creates_all_with_one_event_each)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE];
    mk_pool(p1, FLEET, "a", TYPE, 10 * U);
    mk_pool(p2, "fleet-2", "b", TYPE, 5 * U);
    int64_t seq = last_seq();
    fr_sample_params batch[3] = {sp(p1, T0 - 3 * MIN, 1 * U), sp(p2, T0 - 2 * MIN, 2 * U),
                                 sp(p1, T0 - MIN, 3 * U)};
    fr_sample out[3];
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_sample_create_batch(g_e, NULL, batch, 3, out, &res), FR_OK);
    cr_assert_eq(res.index, -1);
    cr_assert_str_eq(out[1].fleet_id, "fleet-2");
    cr_assert_eq(out[1].capacity_milli, 5 * U);
    cr_assert_eq(out[2].used_milli, 3 * U);
    size_t n = 0;
    fr_event *ev = events_after(seq, &n);
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_str_eq(ev[i].type, "sample.created");
        cr_assert_str_eq(ev[i].entity_id, out[i].id);
        cr_assert_eq(ev[i].seq, seq + 1 + (int64_t)i);
    }
    fr_event_free_array(ev, n);
    for (size_t i = 0; i < 3; i++) {
        fr_sample_clear(&out[i]);
    }
    fr_result_clear(&res);
    cr_assert_eq(count_samples(), 3);
}

/* A batch refused at its 6th item (index 5) leaves nothing behind: no
 * sample in memory (list, series), none in the store (after a reopen), no
 * event; then the same batch without the bad item goes through. */
static void failing_batch_leaves_nothing(int reopen_after)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "bays", TYPE, 10 * U);
    must_sample(pool, T0 - 30 * MIN, 5 * U); /* one already there */
    int64_t seq = last_seq();
    fr_utilization_bucket before[1], after[1];
    size_t count = 0;
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0 - HOUR, T0 + HOUR, 2 * HOUR, before, 1,
                                     &count, NULL),
                 FR_OK);

    fr_sample_params batch[8];
    for (size_t i = 0; i < 8; i++) {
        /* Out of time order on purpose: late samples go into the middle. */
        batch[i] = sp(pool, T0 - (int64_t)(i % 3) * 20 * MIN, (int64_t)(i + 1) * U);
    }
    batch[5] = sp(UNKNOWN_ID, T0, U);
    fr_sample out[8];
    memset(out, 0x5a, sizeof out);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_sample_create_batch(g_e, NULL, batch, 8, out, &res), FR_EREFERENCE);
    cr_assert_eq(res.index, 5);
    cr_assert_str_eq(res.field, "pool_id");
    cr_assert_eq(out[0].used_milli, (int64_t)0x5a5a5a5a5a5a5a5a, "out untouched");
    fr_result_clear(&res);

    batch[5] = sp(pool, T0, -U); /* the same position, another refusal */
    fr_result_init(&res);
    cr_assert_eq(fr_sample_create_batch(g_e, NULL, batch, 8, NULL, &res), FR_EINVAL);
    cr_assert_eq(res.index, 5);
    cr_assert_str_eq(res.field, "used");
    fr_result_clear(&res);

    if (reopen_after) {
        reopen();
    }
    cr_assert_eq(count_samples(), 1);
    cr_assert_eq(last_seq(), seq);
    cr_assert_eq(count_events_of_type("sample.created"), 1);
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0 - HOUR, T0 + HOUR, 2 * HOUR, after, 1,
                                     &count, NULL),
                 FR_OK);
    cr_assert_eq(after[0].measured_count, 1);
    cr_assert_eq(after[0].measured_avg_milli, before[0].measured_avg_milli);

    batch[5] = sp(pool, T0, 6 * U);
    cr_assert_eq(fr_sample_create_batch(g_e, NULL, batch, 8, out, NULL), FR_OK);
    for (size_t i = 0; i < 8; i++) {
        fr_sample_clear(&out[i]);
    }
    cr_assert_eq(count_samples(), 9);
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0 - HOUR, T0 + HOUR, 2 * HOUR, after, 1,
                                     &count, NULL),
                 FR_OK);
    cr_assert_eq(after[0].measured_count, 9);
    cr_assert_eq(after[0].measured_avg_milli, (5 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8) * U / 9);
}

Test(samples, failing_batch_leaves_nothing, .init = setup_mem, .fini = teardown)
{
    failing_batch_leaves_nothing(0);
}

Test(samples_sqlite, failing_batch_leaves_nothing, .init = setup_sqlite, .fini = teardown)
{
    failing_batch_leaves_nothing(0);
}

Test(samples_sqlite, failing_batch_leaves_nothing_after_reopen, .init = setup_sqlite,
     .fini = teardown)
{
    failing_batch_leaves_nothing(1);
}

/* ---------------------------------------------------------------------------
 * A store whose put_sample fails on a chosen call (to fail a commit after
 * some samples were written), and one with the methods of version 1.
 * ------------------------------------------------------------------------- */
typedef struct wrap_store {
    fr_store base;
    fr_store *inner;
    struct fr_store_methods methods;
} wrap_store;

static int g_put_sample_calls;
static int g_put_sample_fail_at; /* 1-based; 0: never */

static fr_store *inner_of(fr_store *s) { return ((wrap_store *)s)->inner; }
static void w_close(fr_store *s)
{
    inner_of(s)->methods->close(inner_of(s));
    free(s);
}
static int w_load(fr_store *s, const fr_store_loader *l, int64_t *h)
{
    return inner_of(s)->methods->load(inner_of(s), l, h);
}
static int w_begin(fr_store *s, int64_t *h) { return inner_of(s)->methods->begin(inner_of(s), h); }
static int w_commit(fr_store *s) { return inner_of(s)->methods->commit(inner_of(s)); }
static void w_rollback(fr_store *s) { inner_of(s)->methods->rollback(inner_of(s)); }
static int w_put_pool(fr_store *s, const fr_pool *x)
{
    return inner_of(s)->methods->put_pool(inner_of(s), x);
}
static int w_put_allocation(fr_store *s, const fr_allocation *x)
{
    return inner_of(s)->methods->put_allocation(inner_of(s), x);
}
static int w_put_request(fr_store *s, const fr_request *x)
{
    return inner_of(s)->methods->put_request(inner_of(s), x);
}
static int w_put_conflict(fr_store *s, const fr_conflict *x)
{
    return inner_of(s)->methods->put_conflict(inner_of(s), x);
}
static int w_append_event(fr_store *s, const fr_event *x)
{
    return inner_of(s)->methods->append_event(inner_of(s), x);
}
static int w_events_after(fr_store *s, int64_t after, size_t limit, const char *fleet,
                          fr_event **items, size_t *count)
{
    return inner_of(s)->methods->events_after(inner_of(s), after, limit, fleet, items, count);
}
static int w_control(fr_store *s, int op, void *arg)
{
    return inner_of(s)->methods->control(inner_of(s), op, arg);
}
static int w_put_sample(fr_store *s, const fr_sample *x)
{
    g_put_sample_calls++;
    if (g_put_sample_calls == g_put_sample_fail_at) {
        return FR_ESTORE;
    }
    return inner_of(s)->methods->put_sample(inner_of(s), x);
}

/* Reopens g_e on the fixture's SQLite file through a wrapper. */
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
        .put_sample = version >= 2 ? w_put_sample : NULL,
    };
    w->base.methods = &w->methods;
    fr_engine_options o;
    memset(&o, 0, sizeof o);
    o.clock = test_clock;
    cr_assert_eq(fr_engine_open_store(&w->base, &o, &g_e, err, sizeof err), FR_OK, "%s", err);
}

/* The store fails at the 3rd put_sample of a 4-sample batch: the commit is
 * refused, the memory state and the file keep nothing of it. */
Test(samples_sqlite, store_failure_at_commit_rolls_back_memory_and_file, .init = setup_sqlite,
     .fini = teardown)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "bays", TYPE, 10 * U);
    reopen_wrapped(FR_STORE_METHODS_VERSION);
    must_sample(pool, T0 - MIN, 2 * U);
    int64_t seq = last_seq();
    g_put_sample_calls = 0;
    g_put_sample_fail_at = 3;
    fr_sample_params batch[4] = {sp(pool, T0 - 4 * MIN, U), sp(pool, T0 - 90 * SEC, U),
                                 sp(pool, T0 - 2 * MIN, U), sp(pool, T0 - 3 * MIN, U)};
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_sample_create_batch(g_e, NULL, batch, 4, NULL, &res), FR_ESTORE);
    fr_result_clear(&res);
    cr_assert_eq(g_put_sample_calls, 3);
    cr_assert_eq(count_samples(), 1);
    cr_assert_eq(last_seq(), seq);
    fr_utilization_bucket b[1];
    size_t n = 0;
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0 - HOUR, T0, HOUR, b, 1, &n, NULL), FR_OK);
    cr_assert_eq(b[0].measured_count, 1);
    cr_assert_eq(b[0].measured_avg_milli, 2 * U);

    g_put_sample_fail_at = 0;
    reopen();
    cr_assert_eq(count_samples(), 1);
    cr_assert_eq(last_seq(), seq);
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0 - HOUR, T0, HOUR, b, 1, &n, NULL), FR_OK);
    cr_assert_eq(b[0].measured_count, 1);
}

/* A backend with the version 1 methods cannot keep samples: refused, and
 * everything else still works. */
Test(samples_sqlite, store_methods_version_1_refuses_samples, .init = setup_sqlite,
     .fini = teardown)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "bays", TYPE, 10 * U);
    reopen_wrapped(1);
    int64_t seq = last_seq();
    fr_sample_params p = sp(pool, FR_TIME_NULL, U);
    fr_result res;
    fr_result_init(&res);
    cr_assert_eq(fr_sample_create(g_e, NULL, &p, NULL, &res), FR_ESTORE);
    cr_assert_neq(res.message[0], '\0');
    fr_result_clear(&res);
    cr_assert_eq(last_seq(), seq);
    cr_assert_eq(count_samples(), 0);
    must_book(pool, "veh-1", U, T0 + HOUR, T0 + 2 * HOUR, NULL);
}

/* ---------------------------------------------------------------------------
 * Lists.
 * ------------------------------------------------------------------------- */

BOTH(samples, list_filters_and_pagination)
{
    char p1[FR_ID_SIZE], p2[FR_ID_SIZE];
    mk_pool(p1, FLEET, "a", TYPE, 10 * U);
    mk_pool(p2, "fleet-2", "b", TYPE, 10 * U);
    /* Created in this order (one per ms), with timestamps out of order. */
    struct {
        const char *pool;
        int64_t ts;
    } made[] = {
        {p1, T0 + 10 * MIN}, {p2, T0 + 5 * MIN}, {p1, T0},        {p1, T0 - HOUR},
        {p2, T0 + 20 * MIN}, {p1, T0 + 20 * MIN}, {p1, T0 + 19 * MIN}, {p2, T0},
    };
    enum { N = sizeof made / sizeof made[0] };
    char ids[N][FR_ID_SIZE];
    for (size_t i = 0; i < N; i++) {
        g_now = T0 + 1000 + (int64_t)i;
        fr_sample_params p = sp(made[i].pool, made[i].ts, (int64_t)i * U);
        fr_sample s = must_sample_p(&p);
        memcpy(ids[i], s.id, FR_ID_SIZE);
        fr_sample_clear(&s);
    }

    /* All, in creation order, by pages of 3 (and of 1). */
    for (size_t limit = 1; limit <= 3; limit += 2) {
        fr_list_query q;
        fr_list_query_init(&q);
        q.limit = limit;
        fr_sample got[LIST_MAX];
        size_t n = list_all(&q, got);
        cr_assert_eq(n, N);
        for (size_t i = 0; i < n; i++) {
            cr_assert_str_eq(got[i].id, ids[i], "limit %zu item %zu", limit, i);
            fr_sample_clear(&got[i]);
        }
    }

    /* Filters. from <= timestamp < to. */
    struct {
        const char *pool_id;
        const char *fleet_id;
        int64_t from, to;
        const char *want; /* indexes into made */
    } cases[] = {
        {p1, NULL, FR_TIME_NULL, FR_TIME_NULL, "02356"},
        {p2, NULL, FR_TIME_NULL, FR_TIME_NULL, "147"},
        {NULL, "fleet-2", FR_TIME_NULL, FR_TIME_NULL, "147"},
        {NULL, FLEET, FR_TIME_NULL, FR_TIME_NULL, "02356"},
        {NULL, "fleet-x", FR_TIME_NULL, FR_TIME_NULL, ""},
        {NULL, NULL, T0, FR_TIME_NULL, "0124567"},
        {NULL, NULL, FR_TIME_NULL, T0, "3"},
        {NULL, NULL, T0, T0 + 20 * MIN, "01267"},
        {p1, NULL, T0 + 10 * MIN, T0 + 20 * MIN + 1, "056"},
        {p2, FLEET, FR_TIME_NULL, FR_TIME_NULL, ""},
        {UNKNOWN_ID, NULL, FR_TIME_NULL, FR_TIME_NULL, ""},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fr_list_query q;
        fr_list_query_init(&q);
        q.limit = 2;
        q.pool_id = cases[c].pool_id;
        q.fleet_id = cases[c].fleet_id;
        q.from_ms = cases[c].from;
        q.to_ms = cases[c].to;
        fr_sample got[LIST_MAX];
        size_t n = list_all(&q, got);
        cr_assert_eq(n, strlen(cases[c].want), "case %zu: %zu items", c, n);
        for (size_t i = 0; i < n; i++) {
            cr_assert_str_eq(got[i].id, ids[cases[c].want[i] - '0'], "case %zu item %zu", c,
                             i);
            fr_sample_clear(&got[i]);
        }
    }

    /* Bad queries. */
    fr_list_query q;
    fr_list_query_init(&q);
    fr_sample *items = (fr_sample *)&items;
    size_t n = 77;
    char next[FR_CURSOR_SIZE];
    q.limit = FR_LIST_LIMIT_MAX + 1;
    cr_assert_eq(fr_sample_list(g_e, &q, &items, &n, next), FR_EINVAL);
    q.limit = 0;
    q.cursor = "garbage";
    cr_assert_eq(fr_sample_list(g_e, &q, &items, &n, next), FR_EINVAL);
    cr_assert_eq(items, (fr_sample *)&items, "out untouched");
    cr_assert_eq(n, 77);
    cr_assert_eq(fr_sample_list(g_e, NULL, &items, &n, next), FR_EINVAL);
    cr_assert_eq(fr_sample_list(g_e, &q, NULL, &n, next), FR_EINVAL);
    cr_assert_eq(fr_sample_list(NULL, &q, &items, &n, next), FR_EINVAL);
}

/* ---------------------------------------------------------------------------
 * The utilization series.
 * ------------------------------------------------------------------------- */

/* Pool of 10 with capacity 5 in [4h, 5h); A = 4 over [1h, 3h), B = 2 over
 * [2h, 4h30m); a cancelled booking (never counts) and a released one (counts
 * up to its release); samples around the bucket edges.  All times from T0. */
static void make_utilization_fixture(char pool[FR_ID_SIZE])
{
    fr_schedule_entry sched[] = {{T0 + 4 * HOUR, T0 + 5 * HOUR, 5 * U}};
    fr_pool_params pp;
    pool_params(&pp, FLEET, "bays", TYPE, 10 * U);
    pp.set |= FR_POOL_F_SCHEDULE;
    pp.schedule = sched;
    pp.schedule_len = 1;
    mk_pool_p(pool, &pp);
    must_book(pool, "veh-a", 4 * U, T0 + HOUR, T0 + 3 * HOUR, NULL);
    must_book(pool, "veh-b", 2 * U, T0 + 2 * HOUR, T0 + 4 * HOUR + 30 * MIN, NULL);
    char cancelled[FR_ID_SIZE], released[FR_ID_SIZE];
    must_book(pool, "veh-c", 3 * U, T0 + HOUR, T0 + 2 * HOUR, cancelled);
    must_book(pool, "veh-d", 1 * U, T0 + 3 * HOUR, T0 + 10 * HOUR, released);
    fr_allocation out;
    cr_assert_eq(fr_allocation_delete(g_e, NULL, cancelled, &out, NULL), FR_OK);
    cr_assert_eq(out.status, FR_ALLOC_CANCELLED);
    fr_allocation_clear(&out);
    g_now = T0 + 3 * HOUR + 30 * MIN; /* veh-d released half-way into [3h, 4h) */
    cr_assert_eq(fr_allocation_delete(g_e, NULL, released, &out, NULL), FR_OK);
    cr_assert_eq(out.status, FR_ALLOC_RELEASED);
    fr_allocation_clear(&out);

    g_now = T0 + 6 * HOUR; /* samples are posted afterwards, for the past */
    struct {
        int64_t ts;
        int64_t used;
    } samples[] = {
        {T0 + HOUR - 1, 100 * U},  /* before from: never counted */
        {T0 + 90 * MIN, 5 * U},    /* b0, posted first: a late one goes before it */
        {T0 + HOUR, 3 * U},        /* b0 */
        {T0 + 4 * HOUR - 1, 1 * U}, /* b2, its last instant */
        {T0 + 4 * HOUR + 20 * MIN, 2 * U}, /* b3 */
        {T0 + 4 * HOUR, 1 * U},    /* b3, its first instant */
        {T0 + 4 * HOUR + 10 * MIN, 2 * U}, /* b3 */
        {T0 + 5 * HOUR, 100 * U},  /* at to: never counted */
    };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        must_sample(pool, samples[i].ts, samples[i].used);
    }
}

static void check_utilization_fixture(const char *pool)
{
    fr_utilization_bucket b[8], sum;
    size_t n = 0;
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0 + HOUR, T0 + 5 * HOUR, HOUR, b, 8, &n, &sum),
                 FR_OK);
    cr_assert_eq(n, 4);
    /*               start          end            cap     avg      peak   measured  count */
    expect_bucket(&b[0], T0 + HOUR, T0 + 2 * HOUR, 10 * U, 4 * U, 4 * U, 4 * U, 2);
    expect_bucket(&b[1], T0 + 2 * HOUR, T0 + 3 * HOUR, 10 * U, 6 * U, 6 * U, -1, 0);
    /* [3h, 4h): B = 2 all along, veh-d = 1 until 3h30 (released): 2.5 avg, 3 peak. */
    expect_bucket(&b[2], T0 + 3 * HOUR, T0 + 4 * HOUR, 10 * U, 2500, 3 * U, 1 * U, 1);
    /* [4h, 5h): capacity 5; B = 2 until 4h30: 1 avg; samples 1, 2, 2: 1.666. */
    expect_bucket(&b[3], T0 + 4 * HOUR, T0 + 5 * HOUR, 5 * U, 1 * U, 2 * U, 1666, 3);
    cr_assert(CLOSE(b[0].utilization, 0.4));
    cr_assert(CLOSE(b[0].efficiency, 1.0));
    cr_assert(CLOSE(b[3].utilization, 0.2));
    cr_assert(CLOSE(b[3].efficiency, 1.666));
    /* The whole range: capacity (10+10+10+5)/4, booked (4+6+2.5+1)/4 = 3.375,
     * peak 6, measured (3+5+1+1+2+2)/6 = 2.333. */
    expect_bucket(&sum, T0 + HOUR, T0 + 5 * HOUR, 8750, 3375, 6 * U, 2333, 6);
    cr_assert(CLOSE(sum.utilization, 3375.0 / 8750.0));
    cr_assert(CLOSE(sum.efficiency, 2333.0 / 3375.0));

    /* Uneven buckets: the last is cut at to; measured follows. */
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0 + HOUR, T0 + 5 * HOUR + 30 * MIN,
                                      2 * HOUR, b, 8, &n, NULL),
                 FR_OK);
    cr_assert_eq(n, 3);
    expect_bucket(&b[0], T0 + HOUR, T0 + 3 * HOUR, 10 * U, 5 * U, 6 * U, 4 * U, 2);
    cr_assert_eq(b[1].end_ms, T0 + 5 * HOUR);
    cr_assert_eq(b[1].measured_count, 4);
    cr_assert_eq(b[1].measured_avg_milli, 1500);
    /* [5h, 5h30m): nothing booked (B ended 4h30, veh-d released): efficiency null. */
    expect_bucket(&b[2], T0 + 5 * HOUR, T0 + 5 * HOUR + 30 * MIN, 10 * U, 0, 0, 100 * U, 1);
    cr_assert_eq(b[2].has_efficiency, 0);
}

BOTH(utilization, series_matches_hand_computed_values)
{
    char pool[FR_ID_SIZE];
    make_utilization_fixture(pool);
    check_utilization_fixture(pool);
}

Test(utilization_sqlite, series_is_the_same_after_reopen, .init = setup_sqlite,
     .fini = teardown)
{
    char pool[FR_ID_SIZE];
    make_utilization_fixture(pool);
    reopen();
    check_utilization_fixture(pool);
    /* And new samples keep going into the right places after the reload. */
    must_sample(pool, T0 + 2 * HOUR + 30 * MIN, 6 * U);
    fr_utilization_bucket b[4];
    size_t n = 0;
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0 + HOUR, T0 + 5 * HOUR, HOUR, b, 4, &n, NULL),
                 FR_OK);
    expect_bucket(&b[1], T0 + 2 * HOUR, T0 + 3 * HOUR, 10 * U, 6 * U, 6 * U, 6 * U, 1);
    cr_assert(CLOSE(b[1].efficiency, 1.0));
}

BOTH(utilization, ratios_are_null_without_denominator)
{
    char zero[FR_ID_SIZE], idle[FR_ID_SIZE];
    mk_pool(zero, FLEET, "zero", TYPE, 0);
    mk_pool(idle, FLEET, "idle", TYPE, 4 * U);
    must_sample(zero, T0 - MIN, 0);
    must_sample(idle, T0 - MIN, 3 * U);
    fr_utilization_bucket b[1], sum;
    size_t n = 0;
    cr_assert_eq(fr_pool_utilization(g_e, zero, T0 - HOUR, T0, HOUR, b, 1, &n, &sum), FR_OK);
    expect_bucket(&b[0], T0 - HOUR, T0, 0, 0, 0, 0, 1);
    cr_assert_eq(b[0].has_utilization, 0);
    cr_assert_eq(b[0].has_efficiency, 0);
    cr_assert_eq(sum.has_utilization, 0);
    cr_assert_eq(fr_pool_utilization(g_e, idle, T0 - HOUR, T0, HOUR, b, 1, &n, &sum), FR_OK);
    expect_bucket(&b[0], T0 - HOUR, T0, 4 * U, 0, 0, 3 * U, 1);
    cr_assert_eq(b[0].has_utilization, 1);
    cr_assert_eq(b[0].utilization, 0.0);
    cr_assert_eq(b[0].has_efficiency, 0, "booked 0: efficiency null");
    /* No sample at all: measured and efficiency null. */
    cr_assert_eq(fr_pool_utilization(g_e, idle, T0, T0 + HOUR, HOUR, b, 1, &n, &sum), FR_OK);
    expect_bucket(&sum, T0, T0 + HOUR, 4 * U, 0, 0, -1, 0);

    /* The JSON renders null ratios as null. */
    cJSON *j = fr__ratio_to_cjson(0, 0.0);
    cr_assert(cJSON_IsNull(j));
    cJSON_Delete(j);
    j = fr__ratio_to_cjson(1, 1.0 / 3.0);
    char *text = cJSON_PrintUnformatted(j);
    cr_assert_str_eq(text, "0.333333333333333");
    cJSON_free(text);
    cJSON_Delete(j);
}

BOTH(utilization, deleted_pool_stays_readable)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "bays", TYPE, 10 * U);
    must_book(pool, "veh-1", 5 * U, T0, T0 + HOUR, NULL);
    must_sample(pool, T0 + 30 * MIN, 4 * U);
    g_now = T0 + 2 * HOUR;
    must_sample(pool, T0 + 45 * MIN, 2 * U);
    cr_assert_eq(fr_pool_delete(g_e, NULL, pool, 0, NULL), FR_OK);
    fr_pool p;
    cr_assert_eq(fr_pool_get(g_e, pool, &p), FR_ENOTFOUND);

    fr_utilization_bucket b[2], sum;
    size_t n = 0;
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0, T0 + 2 * HOUR, HOUR, b, 2, &n, &sum),
                 FR_OK);
    cr_assert_eq(n, 2);
    expect_bucket(&b[0], T0, T0 + HOUR, 10 * U, 5 * U, 5 * U, 3 * U, 2);
    expect_bucket(&sum, T0, T0 + 2 * HOUR, 10 * U, 2500, 5 * U, 3 * U, 2);
    fr_list_query q;
    fr_list_query_init(&q);
    q.pool_id = pool;
    fr_sample got[LIST_MAX];
    size_t count = list_all(&q, got);
    cr_assert_eq(count, 2);
    for (size_t i = 0; i < count; i++) {
        fr_sample_clear(&got[i]);
    }
    fr_result res;
    fr_result_init(&res);
    fr_sample_params sp1 = sp(pool, FR_TIME_NULL, U);
    cr_assert_eq(fr_sample_create(g_e, NULL, &sp1, NULL, &res), FR_EREFERENCE);
    fr_result_clear(&res);
}

BOTH(utilization, bounds_and_bad_arguments)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "bays", TYPE, 10 * U);
    size_t n = 99;
    fr_utilization_bucket one[1];
    fr_utilization_bucket *many = calloc(FR_UTILIZATION_BUCKETS_MAX + 1, sizeof *many);
    cr_assert_not_null(many);
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0, T0 + FR_UTILIZATION_BUCKETS_MAX * SEC, SEC,
                                     many, FR_UTILIZATION_BUCKETS_MAX, &n, NULL),
                 FR_OK);
    cr_assert_eq(n, FR_UTILIZATION_BUCKETS_MAX);
    cr_assert_eq(many[n - 1].end_ms, T0 + FR_UTILIZATION_BUCKETS_MAX * SEC);
    n = 99;
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0, T0 + FR_UTILIZATION_BUCKETS_MAX * SEC + 1,
                                     SEC, many, FR_UTILIZATION_BUCKETS_MAX + 1, &n, NULL),
                 FR_ELIMIT);
    cr_assert_eq(n, 99, "count untouched on failure");
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0, T0 + 2 * HOUR, HOUR, one, 1, &n, NULL),
                 FR_ELIMIT, "more buckets than max");
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0, T0 + HOUR, 0, one, 1, &n, NULL), FR_EINVAL);
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0, T0 + HOUR, -1, one, 1, &n, NULL), FR_EINVAL);
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0, T0, HOUR, one, 1, &n, NULL), FR_EINVAL);
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0, T0 - 1, HOUR, one, 1, &n, NULL), FR_EINVAL);
    cr_assert_eq(fr_pool_utilization(g_e, pool, FR_TIME_MIN_MS - 1, T0, INT64_MAX, one, 1, &n,
                                     NULL),
                 FR_EINVAL);
    cr_assert_eq(fr_pool_utilization(g_e, UNKNOWN_ID, T0, T0 + HOUR, HOUR, one, 1, &n, NULL),
                 FR_ENOTFOUND);
    cr_assert_eq(fr_pool_utilization(g_e, NULL, T0, T0 + HOUR, HOUR, one, 1, &n, NULL),
                 FR_EINVAL);
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0, T0 + HOUR, HOUR, NULL, 1, &n, NULL),
                 FR_EINVAL);
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0, T0 + HOUR, HOUR, one, 1, NULL, NULL),
                 FR_EINVAL);
    /* A huge bucket: one bucket cut at to, no overflow. */
    cr_assert_eq(fr_pool_utilization(g_e, pool, FR_TIME_MIN_MS, FR_TIME_MAX_MS, INT64_MAX, one,
                                     1, &n, NULL),
                 FR_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(one[0].end_ms, FR_TIME_MAX_MS);
    cr_assert_eq(one[0].capacity_avg_milli, 10 * U);
    free(many);
}

/* Many samples, most in order and some late, against a brute-force mean. */
BOTH(utilization, many_samples_in_and_out_of_order_match_brute_force)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "bays", TYPE, 10 * U);
    enum { N = 600, BATCH = 100 };
    static int64_t ts[N], used[N];
    uint64_t x = 88172645463325252u; /* xorshift: deterministic */
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int late = x % 5 == 0;
        ts[i] = T0 - DAY + (int64_t)i * MIN - (late ? (int64_t)(x % (6 * HOUR)) : 0);
        used[i] = (int64_t)(x % (FR_QTY_MAX_MILLI + 1));
    }
    fr_sample_params p[BATCH];
    for (size_t i = 0; i < N; i += BATCH) {
        for (size_t j = 0; j < BATCH; j++) {
            p[j] = sp(pool, ts[i + j], used[i + j]);
        }
        cr_assert_eq(fr_sample_create_batch(g_e, NULL, p, BATCH, NULL, NULL), FR_OK);
    }
    const int64_t from = T0 - 2 * DAY, bucket = 3 * HOUR + 7 * MIN; /* the last is cut */
    fr_utilization_bucket b[32], sum;
    size_t n = 0;
    cr_assert_eq(fr_pool_utilization(g_e, pool, from, T0, bucket, b, 32, &n, &sum), FR_OK);
    int64_t total = 0;
    for (size_t k = 0; k < n; k++) {
        /* Brute force: the sums (< 2^63 here) are exact in a long double. */
        long double s = 0;
        int64_t count = 0;
        for (size_t i = 0; i < N; i++) {
            if (ts[i] >= b[k].start_ms && ts[i] < b[k].end_ms) {
                s += (long double)used[i];
                count++;
            }
        }
        cr_assert_eq(b[k].measured_count, count, "bucket %zu", k);
        total += count;
        if (count > 0) {
            long double mean = s / (long double)count;
            cr_assert(fabsl(mean - (long double)b[k].measured_avg_milli) <= 1.0L,
                      "bucket %zu: %lld vs %Lf", k, (long long)b[k].measured_avg_milli, mean);
        }
    }
    cr_assert_eq(n, 16);
    cr_assert_eq(sum.measured_count, total);
    cr_assert_eq(total, N, "every sample is in range");
}

/* 10,001 samples in one bucket, 10,000 of them at the maximum: their sum
 * (1e19 milli-units) does not fit in an int64, the mean is still exact. */
Test(utilization, mean_does_not_overflow, .init = setup_mem, .fini = teardown)
{
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "bays", TYPE, FR_QTY_MAX_MILLI);
    static fr_sample_params p[FR_BATCH_MAX];
    must_sample(pool, T0 - 2 * SEC, 0);
    for (int round = 0; round < 10; round++) {
        for (size_t j = 0; j < FR_BATCH_MAX; j++) {
            p[j] = sp(pool, T0 - SEC, FR_QTY_MAX_MILLI);
        }
        cr_assert_eq(fr_sample_create_batch(g_e, NULL, p, FR_BATCH_MAX, NULL, NULL), FR_OK);
    }
    fr_utilization_bucket b[1];
    size_t n = 0;
    cr_assert_eq(fr_pool_utilization(g_e, pool, T0 - MIN, T0, MIN, b, 1, &n, NULL), FR_OK);
    cr_assert_eq(b[0].measured_count, 10001);
    const int64_t q = FR_QTY_MAX_MILLI / 10001, r = FR_QTY_MAX_MILLI % 10001;
    cr_assert_eq(b[0].measured_avg_milli, 10000 * q + (10000 * r) / 10001);
    cr_assert_eq(b[0].has_efficiency, 0);
}

/* ---------------------------------------------------------------------------
 * Codec and FFI helpers.
 * ------------------------------------------------------------------------- */

Test(samples_codec, json_round_trip_and_sizes)
{
    fr_sample s;
    memset(&s, 0, sizeof s);
    snprintf(s.id, sizeof s.id, "01900000-0000-7000-8000-000000000041");
    snprintf(s.pool_id, sizeof s.pool_id, "01900000-0000-7000-8000-000000000001");
    s.fleet_id = "fleet \"q\"";
    s.timestamp_ms = T0 - 1;
    s.used_milli = 1234567;
    s.source = NULL;
    s.capacity_milli = 3 * U;
    s.created_at_ms = T0;
    cJSON *json = fr__sample_to_cjson(&s);
    cr_assert_not_null(json);
    fr_sample back;
    cr_assert_eq(fr__sample_from_cjson(json, &back), FR_OK);
    cr_assert_str_eq(back.id, s.id);
    cr_assert_str_eq(back.pool_id, s.pool_id);
    cr_assert_str_eq(back.fleet_id, s.fleet_id);
    cr_assert_eq(back.timestamp_ms, s.timestamp_ms);
    cr_assert_eq(back.used_milli, s.used_milli);
    cr_assert_null(back.source);
    cr_assert_eq(back.capacity_milli, s.capacity_milli);
    cr_assert_eq(back.created_at_ms, s.created_at_ms);
    fr_sample_clear(&back);
    char *text = cJSON_PrintUnformatted(json);
    cr_assert_not_null(strstr(text, "\"used\":1234.567"), "%s", text);
    cr_assert_not_null(strstr(text, "\"utilization\":411.522333333333"), "%s", text);
    cr_assert_not_null(strstr(text, "\"updated_at\":\"2027-01-15T08:00:00.000Z\""), "%s", text);
    cJSON_free(text);
    cJSON_DeleteItemFromObject(json, "used");
    cr_assert_eq(fr__sample_from_cjson(json, &back), FR_EINVAL);
    cr_assert_null(back.fleet_id, "cleared on failure");
    cJSON_Delete(json);

    cr_assert_eq(fr_struct_size("fr_sample"), sizeof(fr_sample));
    cr_assert_eq(fr_struct_size("fr_sample_params"), sizeof(fr_sample_params));
    cr_assert_eq(fr_struct_size("fr_utilization_bucket"), sizeof(fr_utilization_bucket));
    cr_assert_eq(fr_sample_to_json(NULL, &text), FR_EINVAL);
    fr_sample_clear(NULL);
    fr_sample_free_array(NULL, 3);
}
