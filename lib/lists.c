/*
 * lists.c — paginated, filtered reads (SPEC §1 "Lists"), the booked series
 * of a pool (SPEC §5), and the event log (SPEC §8).
 *
 * Lists walk the engine's records in (created_at, id) order from the cursor,
 * which is that key of the last item returned ("<created_at_ms>~<id>"), so a
 * page stays stable while new records are created.  Pending requests listed
 * by status are in queue order instead; their cursor is an offset.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fr_int.h"


static int str_eq(const char *filter, const char *value)
{
    return filter == NULL || (value != NULL && strcmp(filter, value) == 0);
}

static int interval_meets(const fr_list_query *q, int64_t start_ms, int64_t end_ms)
{
    if (q->from_ms != FR_TIME_NULL && end_ms <= q->from_ms) {
        return 0;
    }
    return q->to_ms == FR_TIME_NULL || start_ms < q->to_ms;
}

typedef int (*match_fn)(fr_engine *e, const void *rec, const fr_list_query *q);
typedef int64_t (*created_fn)(const void *rec);
typedef const char *(*id_fn)(const void *rec);

static int pool_match(fr_engine *e, const void *r, const fr_list_query *q)
{
    (void)e;
    const fr_pool *p = &((const fr__pool_rec *)r)->p;
    return !p->deleted && str_eq(q->fleet_id, p->fleet_id) &&
           str_eq(q->resource_type, p->resource_type) && str_eq(q->site, p->site) &&
           (q->status < 0 || q->status == p->status);
}

static int alloc_match(fr_engine *e, const void *r, const fr_list_query *q)
{
    (void)e;
    const fr_allocation *a = &((const fr__alloc_rec *)r)->a;
    return str_eq(q->fleet_id, a->fleet_id) && str_eq(q->pool_id, a->pool_id) &&
           str_eq(q->resource_type, a->resource_type) && str_eq(q->vehicle_id, a->vehicle_id) &&
           str_eq(q->operation_id, a->operation_id) &&
           str_eq(q->allocation_type, a->allocation_type) &&
           (q->request_id == NULL || strcmp(q->request_id, a->request_id) == 0) &&
           (q->plan_id == NULL || strcmp(q->plan_id, a->plan_id) == 0) &&
           (q->status < 0 || q->status == a->status) &&
           interval_meets(q, a->start_ms, a->end_ms);
}

static int req_match(fr_engine *e, const void *r, const fr_list_query *q)
{
    (void)e;
    const fr_request *x = &((const fr__req_rec *)r)->r;
    return str_eq(q->fleet_id, x->fleet_id) && str_eq(q->resource_type, x->resource_type) &&
           str_eq(q->vehicle_id, x->vehicle_id) && str_eq(q->operation_id, x->operation_id) &&
           str_eq(q->site, x->site) &&
           (q->pool_id == NULL || strcmp(q->pool_id, x->pool_id) == 0) &&
           (q->status < 0 || q->status == x->status) &&
           interval_meets(q, x->earliest_start_ms, x->latest_end_ms);
}

static int conflict_match(fr_engine *e, const void *r, const fr_list_query *q)
{
    (void)e;
    const fr_conflict *c = &((const fr__conflict_rec *)r)->c;
    return str_eq(q->fleet_id, c->fleet_id) && str_eq(q->pool_id, c->pool_id) &&
           str_eq(q->vehicle_id, c->vehicle_id) && (q->status < 0 || q->status == c->status) &&
           (q->type < 0 || q->type == c->type) && interval_meets(q, c->start_ms, c->end_ms);
}

static int64_t pool_created(const void *r) { return ((const fr__pool_rec *)r)->p.created_at_ms; }
static const char *pool_id(const void *r) { return ((const fr__pool_rec *)r)->p.id; }
static int64_t alloc_created(const void *r) { return ((const fr__alloc_rec *)r)->a.created_at_ms; }
static const char *alloc_id(const void *r) { return ((const fr__alloc_rec *)r)->a.id; }
static int64_t req_created(const void *r) { return ((const fr__req_rec *)r)->r.created_at_ms; }
static const char *req_id(const void *r) { return ((const fr__req_rec *)r)->r.id; }
static int64_t conflict_created(const void *r)
{
    return ((const fr__conflict_rec *)r)->c.created_at_ms;
}
static const char *conflict_id(const void *r) { return ((const fr__conflict_rec *)r)->c.id; }

static int check_query(const fr_list_query *q, size_t *limit)
{
    if (q == NULL || q->limit > FR_LIST_LIMIT_MAX) {
        return FR_EINVAL;
    }
    *limit = q->limit == 0 ? 100 : q->limit;
    return FR_OK;
}

/* Index of the first record after the cursor; FR_EINVAL for a bad cursor. */
static int cursor_start(const fr__vec *v, const char *cursor, created_fn created, id_fn id,
                        size_t *start)
{
    *start = 0;
    if (cursor == NULL || cursor[0] == 0) {
        return FR_OK;
    }
    long long ms = 0;
    int used = 0;
    char cid[FR_ID_SIZE] = "";
    if (sscanf(cursor, "%lld~%36s%n", &ms, cid, &used) != 2 || (size_t)used != strlen(cursor)) {
        return FR_EINVAL;
    }
    size_t lo = 0, hi = v->len;
    while (lo < hi) { /* first record with key > (ms, cid) */
        size_t mid = lo + (hi - lo) / 2;
        int64_t c = created(v->items[mid]);
        int after = c > ms || (c == ms && strcmp(id(v->items[mid]), cid) > 0);
        if (after) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    *start = lo;
    return FR_OK;
}

/* Collects up to limit matching records after the cursor; tells whether
 * more follow (then *next_cursor names the last one returned). */
static int collect(fr_engine *e, const fr__vec *v, const fr_list_query *q, match_fn match,
                   created_fn created, id_fn id, void ***out, size_t *count,
                   char *next_cursor)
{
    size_t limit = 0, start = 0;
    if (check_query(q, &limit) != FR_OK ||
        cursor_start(v, q->cursor, created, id, &start) != FR_OK) {
        return FR_EINVAL;
    }
    void **items = malloc(limit * sizeof *items);
    if (items == NULL) {
        return FR_ENOMEM;
    }
    size_t n = 0;
    int more = 0;
    for (size_t i = start; i < v->len; i++) {
        if (!match(e, v->items[i], q)) {
            continue;
        }
        if (n == limit) {
            more = 1;
            break;
        }
        items[n++] = v->items[i];
    }
    if (next_cursor != NULL) {
        next_cursor[0] = 0;
        if (more) {
            snprintf(next_cursor, FR_CURSOR_SIZE, "%" PRId64 "~%s", created(items[n - 1]),
                     id(items[n - 1]));
        }
    }
    *out = items;
    *count = n;
    return FR_OK;
}

/* What differs between the entity lists. */
typedef struct list_kind {
    size_t elem_size;
    size_t records_offset; /* offsetof(fr_engine, <vec>) */
    match_fn match;
    created_fn created;
    id_fn id;
    int (*copy)(fr_engine *e, const void *rec, void *dst); /* deep copy + computed */
    void (*clear)(void *elem);
} list_kind;

static int copy_pool(fr_engine *e, const void *rec, void *dst)
{
    int rc = fr__pool_copy(dst, &((const fr__pool_rec *)rec)->p);
    if (rc == FR_OK) {
        fr__pool_fill_computed(e, rec, dst);
    }
    return rc;
}

static int copy_alloc(fr_engine *e, const void *rec, void *dst)
{
    (void)e;
    return fr__allocation_copy(dst, &((const fr__alloc_rec *)rec)->a);
}

static int copy_req(fr_engine *e, const void *rec, void *dst)
{
    int rc = fr__request_copy(dst, &((const fr__req_rec *)rec)->r);
    if (rc == FR_OK) {
        fr__req_fill_computed(e, rec, dst);
    }
    return rc;
}

static int copy_conflict(fr_engine *e, const void *rec, void *dst)
{
    (void)e;
    return fr__conflict_rec_copy(dst, rec);
}

static void clear_pool(void *x) { fr_pool_clear(x); }
static void clear_alloc(void *x) { fr_allocation_clear(x); }
static void clear_req(void *x) { fr_request_clear(x); }
static void clear_conflict(void *x) { fr_conflict_clear(x); }

static const list_kind pool_kind = {sizeof(fr_pool), offsetof(fr_engine, pools), pool_match,
                                    pool_created, pool_id, copy_pool, clear_pool};
static const list_kind alloc_kind = {sizeof(fr_allocation), offsetof(fr_engine, allocs),
                                     alloc_match, alloc_created, alloc_id, copy_alloc,
                                     clear_alloc};
static const list_kind req_kind = {sizeof(fr_request), offsetof(fr_engine, reqs), req_match,
                                   req_created, req_id, copy_req, clear_req};
static const list_kind conflict_kind = {sizeof(fr_conflict), offsetof(fr_engine, conflicts),
                                        conflict_match, conflict_created, conflict_id,
                                        copy_conflict, clear_conflict};

/* Plans (plans.c): not deleted; fleet_id, status. */
static int plan_match(fr_engine *e, const void *r, const fr_list_query *q)
{
    (void)e;
    const fr_plan *p = &((const fr__plan_rec *)r)->p;
    return !p->deleted && str_eq(q->fleet_id, p->fleet_id) && (q->status < 0 || q->status == p->status);
}
static int64_t plan_created(const void *r) { return ((const fr__plan_rec *)r)->p.created_at_ms; }
static const char *plan_id(const void *r) { return ((const fr__plan_rec *)r)->p.id; }
static int copy_plan(fr_engine *e, const void *rec, void *dst)
{
    (void)e;
    return fr__plan_copy(dst, &((const fr__plan_rec *)rec)->p);
}
static void clear_plan(void *x) { fr_plan_clear(x); }
static const list_kind plan_kind = {sizeof(fr_plan), offsetof(fr_engine, plans), plan_match,
                                    plan_created, plan_id, copy_plan, clear_plan};

static int collect_pending(fr_engine *e, const fr_list_query *q, void ***out, size_t *count,
                           char *next_cursor);

/* The one list implementation: select under the lock, copy out, and on any
 * failure leave the out-parameters untouched. */
static int list_records(fr_engine *e, const list_kind *k, const fr_list_query *q,
                        void **items, size_t *count, char *next_cursor)
{
    if (e == NULL || q == NULL || count == NULL) {
        return FR_EINVAL;
    }
    fr__lock(e);
    void **recs = NULL;
    size_t n = 0;
    int rc = fr__advance(e, fr__now(e));
    if (rc == FR_OK && k == &req_kind && q->status == FR_REQ_PENDING) {
        rc = collect_pending(e, q, &recs, &n, next_cursor);
    } else if (rc == FR_OK) {
        const fr__vec *v = (const fr__vec *)((const char *)e + k->records_offset);
        rc = collect(e, v, q, k->match, k->created, k->id, &recs, &n, next_cursor);
    }
    char *out = NULL;
    if (rc == FR_OK) {
        out = calloc(n > 0 ? n : 1, k->elem_size);
        rc = out == NULL ? FR_ENOMEM : FR_OK;
    }
    size_t copied = 0;
    for (; rc == FR_OK && copied < n; copied++) {
        rc = k->copy(e, recs[copied], out + copied * k->elem_size);
    }
    rc = fr__unlock_call(e, rc);
    free(recs);
    if (rc != FR_OK) {
        for (size_t i = 0; out != NULL && i < copied; i++) {
            k->clear(out + i * k->elem_size);
        }
        free(out);
        return rc;
    }
    *items = out;
    *count = n;
    return FR_OK;
}

int fr_pool_list(fr_engine *engine, const fr_list_query *q, fr_pool **items, size_t *count,
                 char *next_cursor)
{
    if (items == NULL) {
        return FR_EINVAL;
    }
    void *out = NULL;
    int rc = list_records(engine, &pool_kind, q, &out, count, next_cursor);
    if (rc == FR_OK) {
        *items = out;
    }
    return rc;
}

int fr_allocation_list(fr_engine *engine, const fr_list_query *q, fr_allocation **items,
                       size_t *count, char *next_cursor)
{
    if (items == NULL) {
        return FR_EINVAL;
    }
    void *out = NULL;
    int rc = list_records(engine, &alloc_kind, q, &out, count, next_cursor);
    if (rc == FR_OK) {
        *items = out;
    }
    return rc;
}

int fr_request_list(fr_engine *engine, const fr_list_query *q, fr_request **items,
                    size_t *count, char *next_cursor)
{
    if (items == NULL) {
        return FR_EINVAL;
    }
    void *out = NULL;
    int rc = list_records(engine, &req_kind, q, &out, count, next_cursor);
    if (rc == FR_OK) {
        *items = out;
    }
    return rc;
}

int fr_conflict_list(fr_engine *engine, const fr_list_query *q, fr_conflict **items,
                     size_t *count, char *next_cursor)
{
    if (items == NULL) {
        return FR_EINVAL;
    }
    void *out = NULL;
    int rc = list_records(engine, &conflict_kind, q, &out, count, next_cursor);
    if (rc == FR_OK) {
        *items = out;
    }
    return rc;
}

int fr_plan_list(fr_engine *engine, const fr_list_query *q, fr_plan **items, size_t *count,
                 char *next_cursor)
{
    if (items == NULL) {
        return FR_EINVAL;
    }
    void *out = NULL;
    int rc = list_records(engine, &plan_kind, q, &out, count, next_cursor);
    if (rc == FR_OK) {
        *items = out;
    }
    return rc;
}

/* Pending requests in queue order: queues by key, each in its order. */
static int pending_in_queue_order(fr_engine *e, const fr_list_query *q, fr__vec *out)
{
    fr__vec queues = {0};
    size_t cur = 0;
    const char *key;
    void *val;
    int rc = FR_OK;
    while (rc == FR_OK && fr__idmap_next(&e->queues, &cur, &key, &val)) {
        rc = fr__vec_push(&queues, val);
    }
    /* Sort queues by key for a deterministic order (few queues). */
    for (size_t i = 1; i < queues.len; i++) {
        for (size_t j = i; j > 0; j--) {
            fr__queue_rec *a = queues.items[j - 1], *b = queues.items[j];
            if (strcmp(a->key, b->key) <= 0) {
                break;
            }
            queues.items[j - 1] = b;
            queues.items[j] = a;
        }
    }
    for (size_t i = 0; rc == FR_OK && i < queues.len; i++) {
        fr__queue *qq = ((fr__queue_rec *)queues.items[i])->queue;
        for (fr__queue_ref ref = fr__queue_first(qq); rc == FR_OK && ref != 0;
             ref = fr__queue_next(qq, ref)) {
            fr__req_rec *r = fr__queue_payload(qq, ref);
            if (req_match(e, r, q)) {
                rc = fr__vec_push(out, r);
            }
        }
    }
    fr__vec_free(&queues);
    return rc;
}

static int collect_pending(fr_engine *e, const fr_list_query *q, void ***out, size_t *count,
                           char *next_cursor)
{
    size_t limit = 0;
    unsigned long long offset = 0;
    int used = 0;
    if (check_query(q, &limit) != FR_OK) {
        return FR_EINVAL;
    }
    if (q->cursor != NULL && q->cursor[0] != 0 &&
        (sscanf(q->cursor, "q%llu%n", &offset, &used) != 1 || (size_t)used != strlen(q->cursor))) {
        return FR_EINVAL;
    }
    fr__vec all = {0};
    int rc = pending_in_queue_order(e, q, &all);
    void **items = rc == FR_OK ? malloc(limit * sizeof *items) : NULL;
    if (rc == FR_OK && items == NULL) {
        rc = FR_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = (size_t)offset; rc == FR_OK && i < all.len && n < limit; i++) {
        items[n++] = all.items[i];
    }
    if (rc == FR_OK && next_cursor != NULL) {
        next_cursor[0] = 0;
        if ((size_t)offset + n < all.len) {
            snprintf(next_cursor, FR_CURSOR_SIZE, "q%llu", offset + (unsigned long long)n);
        }
    }
    fr__vec_free(&all);
    if (rc != FR_OK) {
        free(items);
        return rc;
    }
    *out = items;
    *count = n;
    return FR_OK;
}

int fr_pool_booked_series(fr_engine *engine, const char *pool_id, int64_t from_ms,
                          int64_t to_ms, int64_t bucket_ms, fr_bucket *out, size_t max,
                          size_t *count)
{
    if (engine == NULL || pool_id == NULL || out == NULL || count == NULL || bucket_ms <= 0 ||
        !fr__valid_time(from_ms) || !fr__valid_time(to_ms) || to_ms <= from_ms) {
        return FR_EINVAL;
    }
    if ((to_ms - from_ms + bucket_ms - 1) / bucket_ms > (int64_t)max) {
        return FR_ELIMIT;
    }
    fr__lock(engine);
    int rc = fr__advance(engine, fr__now(engine));
    fr__pool_rec *pool = rc == FR_OK ? fr__idmap_get(&engine->pools_by_id, pool_id) : NULL;
    if (rc == FR_OK && pool == NULL) {
        rc = FR_ENOTFOUND;
    }
    size_t n = 0;
    for (int64_t s = from_ms; rc == FR_OK && s < to_ms; s += bucket_ms) {
        fr_bucket *b = &out[n++];
        b->start_ms = s;
        b->end_ms = to_ms - s < bucket_ms ? to_ms : s + bucket_ms;
        fr__ledger_stats(pool->usage, b->start_ms, b->end_ms, &b->capacity_avg_milli,
                         &b->booked_avg_milli, &b->booked_peak_milli);
    }
    rc = fr__unlock_call(engine, rc);
    if (rc == FR_OK) {
        *count = n;
    }
    return rc;
}

int fr_event_list(fr_engine *engine, int64_t after, size_t limit, const char *fleet_id,
                  fr_event **items, size_t *count)
{
    if (engine == NULL || items == NULL || count == NULL || limit == 0 ||
        limit > FR_LIST_LIMIT_MAX || after < 0) {
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__advance(engine, fr__now(engine));
    if (rc == FR_OK) {
        rc = engine->store->methods->events_after(engine->store, after, limit, fleet_id, items,
                                                  count);
        if (rc != FR_OK && rc != FR_ENOMEM) {
            rc = FR_ESTORE;
        }
    }
    return fr__unlock_call(engine, rc);
}

/* ---- samples (SPEC §5): a point in time, from <= timestamp < to ---------- */

static int sample_match(fr_engine *e, const void *r, const fr_list_query *q)
{
    (void)e;
    const fr_sample *s = &((const fr__sample_rec *)r)->s;
    return str_eq(q->fleet_id, s->fleet_id) &&
           (q->pool_id == NULL || strcmp(q->pool_id, s->pool_id) == 0) &&
           (q->from_ms == FR_TIME_NULL || s->timestamp_ms >= q->from_ms) &&
           (q->to_ms == FR_TIME_NULL || s->timestamp_ms < q->to_ms);
}

static int64_t sample_created(const void *r)
{
    return ((const fr__sample_rec *)r)->s.created_at_ms;
}

static const char *sample_id(const void *r) { return ((const fr__sample_rec *)r)->s.id; }

static int copy_sample(fr_engine *e, const void *rec, void *dst)
{
    (void)e;
    return fr__sample_copy(dst, &((const fr__sample_rec *)rec)->s);
}

static void clear_sample(void *x) { fr_sample_clear(x); }

static const list_kind sample_kind = {sizeof(fr_sample), offsetof(fr_engine, samples),
                                      sample_match, sample_created, sample_id, copy_sample,
                                      clear_sample};

int fr_sample_list(fr_engine *engine, const fr_list_query *q, fr_sample **items, size_t *count,
                   char *next_cursor)
{
    if (items == NULL) {
        return FR_EINVAL;
    }
    void *out = NULL;
    int rc = list_records(engine, &sample_kind, q, &out, count, next_cursor);
    if (rc == FR_OK) {
        *items = out;
    }
    return rc;
}
