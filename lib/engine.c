/*
 * engine.c — the engine handle: open/close, the lock, the clock, loading the
 * stored state, time-driven changes, and small shared helpers.
 *
 * Locking story: one mutex per engine, taken by every public call for its
 * whole duration (including the store transaction), so calls are atomic
 * with respect to each other and an engine can be shared by threads.  The
 * service runs one engine per process and lets civetweb's threads call it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "fr_int.h"

/* ---- small shared helpers -------------------------------------------- */

int fr__vec_push(fr__vec *v, void *item)
{
    if (v->len == v->cap) {
        size_t cap = v->cap == 0 ? 8 : v->cap * 2;
        void **items = realloc(v->items, cap * sizeof *items);
        if (items == NULL) {
            return FR_ENOMEM;
        }
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = item;
    return FR_OK;
}

int fr__vec_remove(fr__vec *v, void *item)
{
    for (size_t i = v->len; i > 0; i--) {
        if (v->items[i - 1] == item) {
            memmove(&v->items[i - 1], &v->items[i], (v->len - i) * sizeof *v->items);
            v->len--;
            return 1;
        }
    }
    return 0;
}

void fr__vec_free(fr__vec *v)
{
    free(v->items);
    memset(v, 0, sizeof *v);
}

int fr__vec_insert_ordered(fr__vec *v, void *rec, int64_t created_at_ms, const char *id,
                           int64_t (*created_of)(const void *), const char *(*id_of)(const void *))
{
    int rc = fr__vec_push(v, rec);
    if (rc != FR_OK) {
        return rc;
    }
    /* Usually the newest: a step back only when the clock went backwards. */
    size_t i = v->len - 1;
    while (i > 0) {
        const void *prev = v->items[i - 1];
        int64_t pc = created_of(prev);
        if (pc < created_at_ms || (pc == created_at_ms && strcmp(id_of(prev), id) < 0)) {
            break;
        }
        v->items[i] = v->items[i - 1];
        i--;
    }
    v->items[i] = rec;
    return FR_OK;
}

int fr__key2(char *buf, size_t size, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s\x1f%s", a, b);
    return n > 0 && (size_t)n < size;
}

int fr__key3(char *buf, size_t size, const char *a, const char *b, const char *c)
{
    int n = snprintf(buf, size, "%s\x1f%s\x1f%s", a, b, c);
    return n > 0 && (size_t)n < size;
}

static int id_taken(const fr_engine *e, const char *id)
{
    /* A new id is nearly always above every id of every map (ids sort by
     * time): then no probe is needed. */
    const fr__idmap *maps[] = {&e->pools_by_id,     &e->allocs_by_id,   &e->reqs_by_id,
                               &e->conflicts_by_id, &e->samples_by_id, &e->plans_by_id};
    uint64_t h = 0;
    int hashed = 0;
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        if (fr__idmap_above_all(maps[i], id)) {
            continue;
        }
        if (!hashed) {
            h = fr__idmap_hash(id);
            hashed = 1;
        }
        if (fr__idmap_get_hashed(maps[i], id, h) != NULL) {
            return 1;
        }
    }
    return 0;
}

void fr__new_id(fr_engine *e, char out[FR_ID_SIZE])
{
    /* A fixed seed (tests, simulations) with a clock that repeats after a
     * reopen would mint the same ids again: skip any id already in use.  With
     * OS randomness a clash is practically impossible, so this rarely loops. */
    int64_t ms = e->txn.id != 0 ? e->txn.now_ms : fr__now(e);
    for (int attempt = 0; attempt < 1000; attempt++) {
        fr__uuid_v7(&e->rng, ms, &e->uuid_counter, &e->uuid_last_ms, out);
        if (!id_taken(e, out)) {
            return;
        }
    }
    abort(); /* 1000 clashes in a row: the generator is broken */
}

void fr__new_event_id(fr_engine *e, char out[FR_ID_SIZE])
{
    int64_t ms = e->txn.id != 0 ? e->txn.now_ms : fr__now(e);
    fr__uuid_v7(&e->rng, ms, &e->uuid_counter, &e->uuid_last_ms, out);
}

static int printable_bounded(const char *s, size_t max)
{
    if (s == NULL || s[0] == 0) {
        return 0;
    }
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != 0; p++, n++) {
        /* Control characters are not printable; UTF-8 bytes (>= 0x80) are
         * accepted as-is (the service validates UTF-8). */
        if (*p < 0x20 || *p == 0x7f || n >= max) {
            return 0;
        }
    }
    return 1;
}

int fr__valid_client_id(const char *s)
{
    return printable_bounded(s, FR_CLIENT_ID_MAX);
}

int fr__valid_name(const char *s)
{
    return printable_bounded(s, FR_NAME_MAX);
}

int fr__valid_unit(const char *s)
{
    return printable_bounded(s, FR_SLUG_MAX);
}

int fr__valid_slug(const char *s)
{
    if (s == NULL || s[0] == 0 || strlen(s) > FR_SLUG_MAX) {
        return 0;
    }
    for (const char *p = s; *p != 0; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                 *p == '-' || *p == '.';
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

int fr__valid_json_object(const char *s)
{
    if (s == NULL) {
        return 0;
    }
    cJSON *j = cJSON_Parse(s);
    int ok = j != NULL && cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

int fr__valid_time(int64_t ms)
{
    return ms >= FR_TIME_MIN_MS && ms <= FR_TIME_MAX_MS;
}

int fr__valid_end(int64_t ms)
{
    return ms == FR_TIME_INF || fr__valid_time(ms);
}

int fr__check_if_match(const fr_ctx *ctx, int64_t version, fr_result *res)
{
    if (ctx != NULL && ctx->if_match_version != 0 && ctx->if_match_version != version) {
        fr__result_fail(res, FR_EVERSION, NULL, "If-Match version %lld differs from %lld",
                        (long long)ctx->if_match_version, (long long)version);
        return FR_EVERSION;
    }
    return FR_OK;
}

int fr__set_string(char **dst, const char *src)
{
    char *copy = fr__strdup_or_null(src);
    if (src != NULL && copy == NULL) {
        return FR_ENOMEM;
    }
    free(*dst);
    *dst = copy;
    return FR_OK;
}

static int advance_due(fr_engine *e, int64_t now_ms);

/* With a shared store, another process may have recorded the same key
 * between the caller's lookup and this transaction's lock: look again, now
 * that nobody else can write, and let the caller replay it. */
static int recheck_idempotency(fr_engine *e, const fr_ctx *ctx)
{
    const struct fr_store_methods *m = e->store->methods;
    if (!e->shared_store || m->version < 3 || m->get_idempotency == NULL) {
        return FR_OK;
    }
    char *doc = NULL;
    int rc = m->get_idempotency(e->store, ctx->idempotency_scope, ctx->idempotency_key, &doc);
    free(doc);
    if (rc == FR_ENOTFOUND) {
        return FR_OK;
    }
    fr__txn_abort(e); /* nothing was changed yet */
    return rc == FR_OK ? FR__EREPLAY : rc == FR_ENOMEM ? rc : FR_ESTORE;
}

int fr__begin_call(fr_engine *e, const fr_ctx *ctx)
{
    int64_t now = fr__now(e);
    int rc = advance_due(e, now);
    if (rc != FR_OK) {
        return rc;
    }
    rc = fr__txn_begin(e, now, ctx != NULL ? ctx->actor : NULL);
    if (rc == FR_OK && ctx != NULL && ctx->idempotency_key != NULL &&
        ctx->idempotency_scope != NULL) {
        e->txn.idem = ctx; /* the create calls record their outcome at commit */
        rc = recheck_idempotency(e, ctx);
    }
    return rc;
}

/* ---- clock and lock ---------------------------------------------------- */

static int64_t system_clock(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fr__now(fr_engine *e)
{
    return e->clock(e->clock_ctx);
}

void fr__lock(fr_engine *e)
{
    /* Counted so that an open group (group.c) stays open for the waiters. */
    atomic_fetch_add(&e->lock_waiters, 1);
    int rc = pthread_mutex_lock(&e->lock);
    atomic_fetch_sub(&e->lock_waiters, 1);
    if (rc != 0) {
        abort(); /* a broken mutex would break every invariant we keep */
    }
}

int fr__unlock_call(fr_engine *e, int rc)
{
    int committed = e->call_committed;
    e->call_committed = 0;
    struct fr__group *joined = e->call_group;
    e->call_group = NULL;
    fr__unlock(e);
    if (joined != NULL) {
        /* Its group's commit and flush cover this call, and whatever it
         * read from other processes before. */
        int group_rc = fr__group_wait(e, joined);
        return group_rc != FR_OK && rc == FR_OK ? FR_ESTORE : rc;
    }
    /* Group commit: wait, outside the lock, until what this call committed
     * is durable; concurrent calls share one flush (fleetres_store.h). */
    const struct fr_store_methods *m = e->store->methods;
    if (committed && m->version >= 4 && m->sync != NULL && m->sync(e->store) != FR_OK) {
        return rc == FR_OK ? FR_ESTORE : rc;
    }
    return rc;
}

void fr__unlock(fr_engine *e)
{
    struct fr__group *closed = fr__group_close_if_due(e, 0);
    int rc = pthread_mutex_unlock(&e->lock);
    if (rc != 0) {
        abort();
    }
    if (closed != NULL) {
        fr__group_finish(e, closed);
    }
}

int64_t fr_engine_now(fr_engine *engine)
{
    return engine == NULL ? 0 : fr__now(engine);
}

/* ---- open / close ------------------------------------------------------- */

static uint64_t os_seed(void)
{
    uint64_t seed = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, &seed, sizeof seed);
        close(fd);
        if (n == (ssize_t)sizeof seed) {
            return seed;
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
}

static void set_err(char *errbuf, size_t size, const char *msg)
{
    if (errbuf != NULL && size > 0) {
        snprintf(errbuf, size, "%s", msg);
    }
}

static void free_records(fr_engine *e)
{
    for (size_t i = 0; i < e->allocs.len; i++) {
        fr__alloc_rec *r = e->allocs.items[i];
        fr_allocation_clear(&r->a);
        free(r);
    }
    for (size_t i = 0; i < e->reqs.len; i++) {
        fr__req_rec *r = e->reqs.items[i];
        fr_request_clear(&r->r);
        free(r);
    }
    for (size_t i = 0; i < e->conflicts.len; i++) {
        fr__conflict_rec *r = e->conflicts.items[i];
        fr__conflict_rec_clear(r);
        free(r);
    }
    for (size_t i = 0; i < e->pools.len; i++) {
        fr__pool_rec *r = e->pools.items[i];
        fr__ledger_free(r->live);
        fr__ledger_free(r->usage);
        fr_pool_clear(&r->p);
        free(r);
    }
    size_t cur = 0;
    const char *key;
    void *val;
    while (fr__idmap_next(&e->pools_by_type, &cur, &key, &val)) {
        fr__vec_free(val);
        free(val);
    }
    cur = 0;
    while (fr__idmap_next(&e->vehicles, &cur, &key, &val)) {
        fr__vec_free(val);
        free(val);
    }
    cur = 0;
    while (fr__idmap_next(&e->queues, &cur, &key, &val)) {
        fr__queue_rec *q = val;
        fr__queue_free(q->queue);
        free(q->key);
        free(q);
    }
}

/* Frees the records and every index over them; the maps and vectors are
 * left empty and reusable (fr__idmap_free and fr__vec_free zero them). */
static void free_view(fr_engine *e)
{
    fr__samples_free(e); /* before the pools that index them */
    fr__plans_free(e);
    free_records(e);
    fr__idmap_free(&e->pools_by_id);
    fr__idmap_free(&e->allocs_by_id);
    fr__idmap_free(&e->reqs_by_id);
    fr__idmap_free(&e->conflicts_by_id);
    fr__idmap_free(&e->pools_by_type);
    fr__idmap_free(&e->vehicles);
    fr__idmap_free(&e->queues);
    fr__vec_free(&e->pools);
    fr__vec_free(&e->allocs);
    fr__vec_free(&e->reqs);
    fr__vec_free(&e->conflicts);
    fr__vec_free(&e->open_double);
}

void fr__state_reset(fr_engine *e)
{
    free_view(e);
    fr__heap *holds = fr__heap_new();
    fr__heap *deadlines = fr__heap_new();
    if (holds == NULL || deadlines == NULL) {
        abort(); /* a few bytes: the view cannot exist without its heaps */
    }
    fr__heap_free(e->hold_heap);
    fr__heap_free(e->deadline_heap);
    e->hold_heap = holds;
    e->deadline_heap = deadlines;
    e->head_seq = 0;
}

void fr_engine_close(fr_engine *engine)
{
    if (engine == NULL) {
        return;
    }
    if (engine->txn.id != 0) {
        fr__txn_abort(engine);
    }
    struct fr__group *open_group = fr__group_close_if_due(engine, 1);
    if (open_group != NULL) {
        fr__group_finish(engine, open_group); /* nobody waits for it any more */
    }
    free(engine->group_journal);
    free_view(engine);
    fr__vec_free(&engine->txn.dirty_queues);
    fr__vec_free(&engine->txn.dirty_pools);
    fr__vec_free(&engine->txn.detected);
    free(engine->txn.journal);
    free(engine->txn.events);
    fr__heap_free(engine->hold_heap);
    fr__heap_free(engine->deadline_heap);
    if (engine->store != NULL) {
        engine->store->methods->close(engine->store);
    }
    pthread_mutex_destroy(&engine->group_mu);
    pthread_mutex_destroy(&engine->lock);
    free(engine);
}

int fr_engine_open_store(fr_store *store, const fr_engine_options *opt, fr_engine **out,
                         char *errbuf, size_t errbuf_size)
{
    if (store == NULL || out == NULL) {
        if (store != NULL) {
            store->methods->close(store);
        }
        set_err(errbuf, errbuf_size, "store and out are required");
        return FR_EINVAL;
    }
    fr_engine *e = calloc(1, sizeof *e);
    if (e == NULL) {
        store->methods->close(store);
        set_err(errbuf, errbuf_size, "out of memory");
        return FR_ENOMEM;
    }
    int locks = pthread_mutex_init(&e->lock, NULL) == 0;
    locks += locks == 1 && pthread_mutex_init(&e->group_mu, NULL) == 0;
    if (locks < 2) {
        if (locks > 0) {
            pthread_mutex_destroy(&e->lock);
        }
        free(e);
        store->methods->close(store);
        set_err(errbuf, errbuf_size, "cannot create the engine mutex");
        return FR_ENOMEM;
    }
    atomic_init(&e->lock_waiters, 0);
    e->batching = store->methods->version >= 6 && store->methods->savepoint != NULL &&
                  store->methods->rollback_to_savepoint != NULL;
    e->store = store;
    e->clock = (opt != NULL && opt->clock != NULL) ? opt->clock : system_clock;
    e->clock_ctx = opt != NULL ? opt->clock_ctx : NULL;
    e->aging_ms = (opt != NULL && opt->aging_ms > 0) ? opt->aging_ms : FR__AGING_DEFAULT_MS;
    fr__rng_seed(&e->rng, (opt != NULL && opt->seed != 0) ? opt->seed : os_seed());
    e->uuid_last_ms = INT64_MIN;
    e->hold_heap = fr__heap_new();
    e->deadline_heap = fr__heap_new();
    if (e->hold_heap == NULL || e->deadline_heap == NULL) {
        fr_engine_close(e);
        set_err(errbuf, errbuf_size, "out of memory");
        return FR_ENOMEM;
    }
    int rc = fr__detect_shared(e); /* its epoch before the load: see catchup.c */
    if (rc == FR_OK) {
        rc = fr__load_state(e);
    }
    if (rc != FR_OK) {
        fr_engine_close(e);
        set_err(errbuf, errbuf_size, "cannot load the stored state");
        return rc;
    }
    e->last_full_dispatch_ms = fr__now(e);
    *out = e;
    return FR_OK;
}

/* Splits "PATH?sync=off" style URIs: "sqlite://" is optional. */
int fr_engine_open(const char *uri, const fr_engine_options *opt, fr_engine **out,
                   char *errbuf, size_t errbuf_size)
{
    if (uri == NULL || out == NULL) {
        set_err(errbuf, errbuf_size, "uri and out are required");
        return FR_EINVAL;
    }
    fr_store *store = NULL;
    int rc;
    if (strcmp(uri, ":memory:") == 0) {
        rc = fr_store_memory_open(&store);
    } else {
        const char *path = uri;
        if (strncmp(path, "sqlite://", 9) == 0) {
            path += 9;
        }
        if (path[0] == 0) {
            set_err(errbuf, errbuf_size, "empty SQLite path");
            return FR_EINVAL;
        }
        rc = fr_store_sqlite_open(path, &store, errbuf, errbuf_size);
    }
    if (rc != FR_OK) {
        return rc;
    }
    return fr_engine_open_store(store, opt, out, errbuf, errbuf_size);
}

/* ---- loading ------------------------------------------------------------ */

static int load_pool(void *ctx, const fr_pool *pool)
{
    fr_engine *e = ctx;
    fr__pool_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    int rc = fr__pool_copy(&rec->p, pool);
    if (rc == FR_OK) {
        rec->live = fr__ledger_new();
        rec->usage = fr__ledger_new();
        rc = (rec->live == NULL || rec->usage == NULL) ? FR_ENOMEM : FR_OK;
    }
    if (rc == FR_OK) {
        rc = fr__idmap_put(&e->pools_by_id, rec->p.id, rec);
    }
    if (rc == FR_OK) {
        rc = fr__vec_push(&e->pools, rec);
        if (rc != FR_OK) {
            fr__idmap_del(&e->pools_by_id, rec->p.id);
        }
    }
    if (rc == FR_OK) {
        rc = fr__pool_index(e, rec); /* on failure the record is owned by e */
        return rc;
    }
    fr__ledger_free(rec->live);
    fr__ledger_free(rec->usage);
    fr_pool_clear(&rec->p);
    free(rec);
    return rc;
}

static int load_allocation(void *ctx, const fr_allocation *a)
{
    fr_engine *e = ctx;
    fr__pool_rec *pool = fr__idmap_get(&e->pools_by_id, a->pool_id);
    if (pool == NULL) {
        return FR_ESTORE; /* a stored allocation names a pool we never saw */
    }
    fr__alloc_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    int rc = fr__allocation_copy(&rec->a, a);
    if (rc != FR_OK) {
        free(rec);
        return rc;
    }
    rec->pool = pool;
    rc = fr__idmap_put(&e->allocs_by_id, rec->a.id, rec);
    if (rc == FR_OK) {
        rc = fr__vec_push(&e->allocs, rec);
        if (rc != FR_OK) {
            fr__idmap_del(&e->allocs_by_id, rec->a.id);
        }
    }
    if (rc != FR_OK) {
        fr_allocation_clear(&rec->a);
        free(rec);
        return rc;
    }
    return fr__alloc_index(e, rec);
}

static int load_request(void *ctx, const fr_request *r)
{
    fr_engine *e = ctx;
    fr__req_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    int rc = fr__request_copy(&rec->r, r);
    if (rc != FR_OK) {
        free(rec);
        return rc;
    }
    rc = fr__idmap_put(&e->reqs_by_id, rec->r.id, rec);
    if (rc == FR_OK) {
        rc = fr__vec_push(&e->reqs, rec);
        if (rc != FR_OK) {
            fr__idmap_del(&e->reqs_by_id, rec->r.id);
        }
    }
    if (rc != FR_OK) {
        fr_request_clear(&rec->r);
        free(rec);
        return rc;
    }
    return fr__req_index(e, rec);
}

static int load_conflict(void *ctx, const fr_conflict *c)
{
    fr_engine *e = ctx;
    fr__conflict_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    int rc = fr__conflict_copy(&rec->c, c);
    if (rc != FR_OK) {
        free(rec);
        return rc;
    }
    rec->pool = fr__idmap_get(&e->pools_by_id, rec->c.pool_id);
    rc = fr__idmap_put(&e->conflicts_by_id, rec->c.id, rec);
    if (rc == FR_OK) {
        rc = fr__vec_push(&e->conflicts, rec);
        if (rc != FR_OK) {
            fr__idmap_del(&e->conflicts_by_id, rec->c.id);
        }
    }
    if (rc != FR_OK) {
        fr__conflict_rec_clear(rec);
        free(rec);
        return rc;
    }
    fr__conflict_index(e, rec);
    return FR_OK;
}

int fr__load_state(fr_engine *e)
{
    fr_store_loader loader = {
        .ctx = e,
        .pool = load_pool,
        .allocation = load_allocation,
        .request = load_request,
        .conflict = load_conflict,
        .sample = fr__load_sample,
        .plan = fr__load_plan,
    };
    int64_t head = 0;
    int rc = e->store->methods->load(e->store, &loader, &head);
    if (rc != FR_OK) {
        return rc;
    }
    e->head_seq = head;
    return FR_OK;
}

/* ---- time-driven changes ------------------------------------------------ */

/* Expires every hold due at now.  Lazy heap: stale entries (the allocation
 * changed since it was pushed) are dropped. */
static int expire_holds(fr_engine *e, int64_t now_ms)
{
    int64_t key;
    void *payload;
    uint64_t stamp;
    while (fr__heap_peek(e->hold_heap, &key, &payload, &stamp) && key <= now_ms) {
        fr__heap_pop(e->hold_heap);
        fr__alloc_rec *rec = payload;
        if (rec->stamp != stamp || rec->a.status != FR_ALLOC_HELD) {
            continue;
        }
        int rc = fr__alloc_touch(e, rec);
        if (rc != FR_OK) {
            return rc;
        }
        rec->a.status = FR_ALLOC_EXPIRED;
        rc = fr__alloc_changed(e, rec, "expired");
        if (rc != FR_OK) {
            return rc;
        }
        rc = fr__mark_queue_dirty(e, rec->a.fleet_id, rec->a.resource_type);
        if (rc != FR_OK) {
            return rc;
        }
        rc = fr__mark_pool_dirty(e, rec->pool);
        if (rc != FR_OK) {
            return rc;
        }
    }
    return FR_OK;
}

static int due(fr_engine *e, int64_t now_ms)
{
    int64_t key;
    void *payload;
    uint64_t stamp;
    if (fr__heap_peek(e->hold_heap, &key, &payload, &stamp) && key <= now_ms) {
        return 1;
    }
    if (fr__heap_peek(e->deadline_heap, &key, &payload, &stamp) && key < now_ms) {
        return 1;
    }
    return now_ms - e->last_full_dispatch_ms >= FR__FULL_DISPATCH_EVERY_MS;
}

static int mark_all_queues(fr_engine *e)
{
    size_t cur = 0;
    const char *key;
    void *val;
    while (fr__idmap_next(&e->queues, &cur, &key, &val)) {
        fr__queue_rec *q = val;
        if (fr__queue_count(q->queue) > 0 && q->dirty_txn != e->txn.id) {
            q->dirty_txn = e->txn.id;
            int rc = fr__vec_push(&e->txn.dirty_queues, q);
            if (rc != FR_OK) {
                return rc;
            }
        }
    }
    return FR_OK;
}

/* Time-driven changes on the engine's view as it is (a write's begin
 * catches up anyway). */
static int advance_due(fr_engine *e, int64_t now_ms)
{
    if (!due(e, now_ms)) {
        return FR_OK;
    }
    int full = now_ms - e->last_full_dispatch_ms >= FR__FULL_DISPATCH_EVERY_MS;
    int rc = fr__txn_begin(e, now_ms, "system");
    if (rc != FR_OK) {
        return rc;
    }
    rc = expire_holds(e, now_ms);
    if (rc == FR_OK) {
        rc = fr__req_expire_due(e, now_ms);
    }
    if (rc == FR_OK && full) {
        rc = mark_all_queues(e);
    }
    if (rc != FR_OK) {
        fr__txn_abort(e);
        return rc;
    }
    rc = fr__txn_commit(e, NULL);
    if (rc == FR_OK && full) {
        e->last_full_dispatch_ms = now_ms;
    }
    return rc;
}

/* Reads start here: with a shared store the view is first brought up to
 * the store's head, so that a read on one instance sees what another one
 * acknowledged. */
int fr__advance(fr_engine *e, int64_t now_ms)
{
    int rc = fr__refresh(e);
    return rc == FR_OK ? advance_due(e, now_ms) : rc;
}

int fr_engine_tick(fr_engine *engine)
{
    if (engine == NULL) {
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__advance(engine, fr__now(engine));
    return fr__unlock_call(engine, rc);
}

int fr_engine_counters_get(fr_engine *engine, fr_engine_counters *out)
{
    if (engine == NULL || out == NULL) {
        return FR_EINVAL;
    }
    fr__lock(engine);
    *out = engine->counters;
    fr__unlock(engine);
    return FR_OK;
}

int fr_engine_ping(fr_engine *engine)
{
    if (engine == NULL) {
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = engine->store->methods->control(engine->store, FR_STORE_CTL_PING, NULL);
    fr__unlock(engine);
    return rc == FR_OK ? FR_OK : FR_ESTORE;
}
