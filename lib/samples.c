/*
 * samples.c — measured utilization samples and the utilization series of a
 * pool (SPEC §5).
 *
 * Workload: controllers post samples, nearly always in time order and now and
 * then late (a device that was offline posts its backlog); the series reads
 * the mean of the samples whose timestamp falls in each bucket.  So each pool
 * keeps its samples in one vector sorted by (timestamp, created_at, id): a
 * sample in time order is an amortized O(1) append, a late one a binary
 * search plus a memmove, and the samples of a bucket are a contiguous run
 * found by binary search, so a series of B buckets over k samples costs
 * O(B log n + k) besides the ledger's statistics.
 *
 * Samples are immutable: created in a transaction (journaled as created
 * records, so a failing batch or commit removes them from memory and the
 * store rolls back their rows), never changed, never deleted.  A deleted
 * pool keeps its samples, and its series stays readable.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fr_int.h"

/* ---- the per-pool series -------------------------------------------------- */

/* 1 when a sorts before b in a series: (timestamp, created_at, id). */
static int sample_before(const fr_sample *a, const fr_sample *b)
{
    if (a->timestamp_ms != b->timestamp_ms) {
        return a->timestamp_ms < b->timestamp_ms;
    }
    if (a->created_at_ms != b->created_at_ms) {
        return a->created_at_ms < b->created_at_ms;
    }
    return strcmp(a->id, b->id) < 0;
}

static const fr_sample *series_at(const fr__vec *v, size_t i)
{
    assert(i < v->len);
    return &((const fr__sample_rec *)v->items[i])->s;
}

/* Index of the first sample in v[lo..] with timestamp >= t (v->len if none). */
static size_t series_first_at(const fr__vec *v, size_t lo, int64_t t_ms)
{
    size_t hi = v->len;
    assert(lo <= hi);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (series_at(v, mid)->timestamp_ms < t_ms) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Index of the first sample not before s (where s is, or would go). */
static size_t series_position(const fr__vec *v, const fr_sample *s)
{
    size_t lo = 0, hi = v->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sample_before(series_at(v, mid), s)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int fr__sample_index(fr_engine *e, fr__sample_rec *rec)
{
    (void)e;
    fr__vec *v = &rec->pool->samples;
    /* Usually the newest: the check spares the search for appends. */
    size_t at = v->len == 0 || sample_before(series_at(v, v->len - 1), &rec->s)
                    ? v->len
                    : series_position(v, &rec->s);
    int rc = fr__vec_push(v, rec);
    if (rc != FR_OK) {
        return rc;
    }
    memmove(&v->items[at + 1], &v->items[at], (v->len - 1 - at) * sizeof *v->items);
    v->items[at] = rec;
    return FR_OK;
}

void fr__sample_unindex(fr_engine *e, fr__sample_rec *rec)
{
    (void)e;
    fr__vec *v = &rec->pool->samples;
    size_t at = series_position(v, &rec->s);
    if (at == v->len || v->items[at] != rec) {
        return; /* never indexed (its creation failed half-way) */
    }
    memmove(&v->items[at], &v->items[at + 1], (v->len - at - 1) * sizeof *v->items);
    v->len--;
}

/* ---- store, load, close ----------------------------------------------------- */

static int store_has_samples(const fr_engine *e)
{
    const struct fr_store_methods *m = e->store->methods;
    return m->version >= 2 && m->put_sample != NULL;
}

int fr__sample_put(fr_engine *e, const fr__sample_rec *rec)
{
    if (!store_has_samples(e)) {
        return FR_ESTORE;
    }
    return e->store->methods->put_sample(e->store, &rec->s);
}

static int64_t sample_created_of(const void *r)
{
    return ((const fr__sample_rec *)r)->s.created_at_ms;
}

static const char *sample_id_of(const void *r)
{
    return ((const fr__sample_rec *)r)->s.id;
}

static int sample_valid(const fr_sample *s)
{
    return fr__valid_time(s->timestamp_ms) && fr__valid_time(s->created_at_ms) &&
           s->used_milli >= 0 && s->used_milli <= FR_QTY_MAX_MILLI &&
           s->capacity_milli >= 0 && s->capacity_milli <= FR_QTY_MAX_MILLI &&
           s->fleet_id != NULL && (s->source == NULL || fr__valid_client_id(s->source));
}

int fr__load_sample(void *ctx, const fr_sample *sample)
{
    fr_engine *e = ctx;
    fr__pool_rec *pool = fr__idmap_get(&e->pools_by_id, sample->pool_id);
    if (pool == NULL || !sample_valid(sample) || fr__idmap_get(&e->samples_by_id, sample->id)) {
        return FR_ESTORE; /* names a pool we never saw, or is damaged */
    }
    fr__sample_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    int rc = fr__sample_copy(&rec->s, sample);
    if (rc != FR_OK) {
        free(rec);
        return rc;
    }
    rec->pool = pool;
    rc = fr__idmap_put(&e->samples_by_id, rec->s.id, rec);
    if (rc == FR_OK) {
        rc = fr__vec_insert_ordered(&e->samples, rec, rec->s.created_at_ms, rec->s.id,
                                    sample_created_of, sample_id_of);
        if (rc != FR_OK) {
            fr__idmap_del(&e->samples_by_id, rec->s.id);
        }
    }
    if (rc == FR_OK) {
        rc = fr__sample_index(e, rec);
        if (rc != FR_OK) {
            fr__vec_remove(&e->samples, rec);
            fr__idmap_del(&e->samples_by_id, rec->s.id);
        }
    }
    if (rc != FR_OK) {
        fr_sample_clear(&rec->s);
        free(rec);
    }
    return rc;
}

void fr__samples_free(fr_engine *e)
{
    for (size_t i = 0; i < e->samples.len; i++) {
        fr__sample_rec *rec = e->samples.items[i];
        fr_sample_clear(&rec->s);
        free(rec);
    }
    for (size_t i = 0; i < e->pools.len; i++) {
        fr__vec_free(&((fr__pool_rec *)e->pools.items[i])->samples);
    }
    fr__vec_free(&e->samples);
    fr__idmap_free(&e->samples_by_id);
}

/* ---- create ------------------------------------------------------------------ */

/* Validates one item's own fields (the pool is checked against the state). */
static int check_params(const fr_sample_params *p, fr_result *res)
{
    uint32_t s = p->set;
    const char *bad = NULL;
    const char *why = "is invalid";
    if (!(s & FR_SAMPLE_F_POOL_ID) || p->pool_id == NULL) {
        bad = "pool_id";
        why = "is required";
    } else if (!(s & FR_SAMPLE_F_USED)) {
        bad = "used";
        why = "is required";
    } else if (p->used_milli < 0 || p->used_milli > FR_QTY_MAX_MILLI) {
        bad = "used";
        why = "must be 0 to 1e12";
    } else if ((s & FR_SAMPLE_F_TIMESTAMP) && !fr__valid_time(p->timestamp_ms)) {
        bad = "timestamp";
        why = "is out of range";
    } else if ((s & FR_SAMPLE_F_SOURCE) && p->source != NULL &&
               !fr__valid_client_id(p->source)) {
        bad = "source";
        why = "must be 1-128 printable characters";
    }
    if (bad != NULL) {
        fr__result_fail(res, FR_EINVAL, bad, "%s %s", bad, why);
        return FR_EINVAL;
    }
    return FR_OK;
}

/* Makes one sample in the open txn. */
static int create_in_txn(fr_engine *e, const fr_sample_params *p, fr__sample_rec **out,
                         fr_result *res)
{
    int rc = check_params(p, res);
    if (rc != FR_OK) {
        return rc;
    }
    fr__pool_rec *pool = fr__idmap_get(&e->pools_by_id, p->pool_id);
    if (pool == NULL || pool->p.deleted) {
        fr__result_fail(res, FR_EREFERENCE, "pool_id", "pool %s does not exist", p->pool_id);
        return FR_EREFERENCE;
    }
    fr__sample_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    rec->pool = pool;
    fr_sample *s = &rec->s;
    s->timestamp_ms = (p->set & FR_SAMPLE_F_TIMESTAMP) ? p->timestamp_ms : e->txn.now_ms;
    s->used_milli = p->used_milli;
    s->capacity_milli = fr__ledger_capacity_at(pool->live, s->timestamp_ms);
    memcpy(s->pool_id, pool->p.id, FR_ID_SIZE);
    rc = fr__set_string(&s->fleet_id, pool->p.fleet_id);
    if (rc == FR_OK && (p->set & FR_SAMPLE_F_SOURCE)) {
        rc = fr__set_string(&s->source, p->source);
    }
    if (rc == FR_OK) {
        fr__new_id(e, s->id);
        rc = fr__sample_created(e, rec);
    }
    if (rc != FR_OK) {
        if (fr__idmap_get(&e->samples_by_id, s->id) != rec) {
            fr_sample_clear(s); /* never registered: ours to free */
            free(rec);
        }
        return rc;
    }
    *out = rec;
    return FR_OK;
}

/* Copies the samples out before the commit (they are immutable, so the copy
 * is final) and commits; out receives them only when both succeeded. */
static int finish(fr_engine *e, fr__sample_rec **recs, size_t n, fr_sample *out,
                  fr_result *res)
{
    fr_sample *copies = NULL;
    size_t copied = 0;
    int rc = FR_OK;
    if (out != NULL) {
        copies = calloc(n, sizeof *copies);
        rc = copies == NULL ? FR_ENOMEM : FR_OK;
    }
    for (; rc == FR_OK && out != NULL && copied < n; copied++) {
        rc = fr__sample_copy(&copies[copied], &recs[copied]->s);
    }
    if (rc != FR_OK) {
        fr_sample_free_array(copies, copied);
        fr__txn_abort(e);
        return rc;
    }
    rc = fr__txn_commit(e, res); /* undoes everything itself on failure */
    if (rc != FR_OK) {
        fr_sample_free_array(copies, copied);
        return rc;
    }
    if (out != NULL) {
        memcpy(out, copies, n * sizeof *copies);
    }
    free(copies);
    return FR_OK;
}

static int create_batch_locked(fr_engine *engine, const fr_ctx *ctx,
                               const fr_sample_params *params, size_t n, fr__sample_rec **recs,
                               fr_sample *out, fr_result *res)
{
    int rc = fr__begin_call(engine, ctx);
    for (size_t i = 0; rc == FR_OK && i < n; i++) {
        rc = create_in_txn(engine, &params[i], &recs[i], res);
        if (rc != FR_OK) {
            if (res != NULL) {
                res->index = (int64_t)i;
            }
            fr__txn_abort(engine);
        }
    }
    if (rc == FR_OK) {
        rc = finish(engine, recs, n, out, res);
    }
    return rc;
}

int fr_sample_create_batch(fr_engine *engine, const fr_ctx *ctx,
                           const fr_sample_params *params, size_t n, fr_sample *out,
                           fr_result *res)
{
    if (engine == NULL || (params == NULL && n > 0)) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and params are required");
        return FR_EINVAL;
    }
    if (n == 0 || n > FR_BATCH_MAX) {
        fr__result_fail(res, FR_EINVAL, "samples", "a batch holds 1 to %d items",
                        FR_BATCH_MAX);
        return FR_EINVAL;
    }
    if (!store_has_samples(engine)) {
        fr__result_fail(res, FR_ESTORE, NULL, "the store (methods version %d) cannot keep samples",
                        engine->store->methods->version);
        return FR_ESTORE;
    }
    fr__sample_rec **recs = calloc(n, sizeof *recs);
    if (recs == NULL) {
        return FR_ENOMEM;
    }
    fr__lock(engine);
    fr__idem_prior prior;
    int rc = fr__idem_lookup(engine, ctx, &prior, res);
    if (rc == FR_OK && prior.found) {
        rc = fr__idem_replay(engine, &prior, FR_ENTITY_SAMPLE, out, n, res);
    } else if (rc == FR_OK) {
        rc = create_batch_locked(engine, ctx, params, n, recs, out, res);
        rc = fr__idem_settle(engine, ctx, rc, &prior, FR_ENTITY_SAMPLE, out, n, res);
    }
    fr__idem_prior_clear(&prior);
    rc = fr__unlock_call(engine, rc);
    free(recs);
    return rc;
}

int fr_sample_create(fr_engine *engine, const fr_ctx *ctx, const fr_sample_params *params,
                     fr_sample *out, fr_result *res)
{
    int rc = fr_sample_create_batch(engine, ctx, params, 1, out, res);
    if (res != NULL) {
        res->index = -1;
    }
    return rc;
}

/* ---- the utilization series ------------------------------------------------ */

/* The mean used of series[lo, hi), truncated, without overflow: the sum of
 * up to millions of values of up to 1e15 would not fit in an int64, so the
 * quotients and remainders by the count are summed apart (r stays < n). */
static int64_t mean_used(const fr__vec *v, size_t lo, size_t hi)
{
    assert(lo < hi && hi <= v->len);
    const int64_t n = (int64_t)(hi - lo);
    int64_t q = 0, r = 0;
    for (size_t i = lo; i < hi; i++) {
        int64_t used = series_at(v, i)->used_milli;
        assert(used >= 0);
        q += used / n;
        r += used % n;
        if (r >= n) {
            q += r / n;
            r %= n;
        }
    }
    return q;
}

/* Fills b's ledger statistics, measured mean over series[lo, hi) and ratios. */
static void fill_bucket(const fr__pool_rec *pool, size_t lo, size_t hi,
                        fr_utilization_bucket *b)
{
    fr__ledger_stats(pool->usage, b->start_ms, b->end_ms, &b->capacity_avg_milli,
                     &b->booked_avg_milli, &b->booked_peak_milli);
    b->measured_count = (int64_t)(hi - lo);
    b->has_measured = hi > lo;
    b->measured_avg_milli = b->has_measured ? mean_used(&pool->samples, lo, hi) : 0;
    b->has_utilization = b->capacity_avg_milli > 0;
    b->utilization = b->has_utilization
                         ? (double)b->booked_avg_milli / (double)b->capacity_avg_milli
                         : 0.0;
    b->has_efficiency = b->has_measured && b->booked_avg_milli > 0;
    b->efficiency = b->has_efficiency
                        ? (double)b->measured_avg_milli / (double)b->booked_avg_milli
                        : 0.0;
}

/* Number of buckets of [from, to) (to > from), without overflow. */
static int64_t bucket_count(int64_t from_ms, int64_t to_ms, int64_t bucket_ms)
{
    int64_t span = to_ms - from_ms; /* both valid times: no overflow */
    return span / bucket_ms + (span % bucket_ms != 0);
}

static int series_locked(fr_engine *e, const char *pool_id, int64_t from_ms, int64_t to_ms,
                         int64_t bucket_ms, fr_utilization_bucket *out, size_t nb,
                         fr_utilization_bucket *summary)
{
    int rc = fr__advance(e, fr__now(e));
    if (rc != FR_OK) {
        return rc;
    }
    const fr__pool_rec *pool = fr__idmap_get(&e->pools_by_id, pool_id);
    if (pool == NULL) {
        return FR_ENOTFOUND; /* deleted pools are still found: history stays readable */
    }
    const size_t first = series_first_at(&pool->samples, 0, from_ms);
    size_t lo = first;
    for (size_t i = 0; i < nb; i++) {
        fr_utilization_bucket *b = &out[i];
        memset(b, 0, sizeof *b);
        b->start_ms = from_ms + (int64_t)i * bucket_ms;
        b->end_ms = to_ms - b->start_ms <= bucket_ms ? to_ms : b->start_ms + bucket_ms;
        size_t hi = series_first_at(&pool->samples, lo, b->end_ms);
        fill_bucket(pool, lo, hi, b);
        lo = hi;
    }
    assert(out[nb - 1].end_ms == to_ms);
    if (summary != NULL) {
        memset(summary, 0, sizeof *summary);
        summary->start_ms = from_ms;
        summary->end_ms = to_ms;
        fill_bucket(pool, first, lo, summary);
    }
    return FR_OK;
}

int fr_pool_utilization(fr_engine *engine, const char *pool_id, int64_t from_ms, int64_t to_ms,
                        int64_t bucket_ms, fr_utilization_bucket *out, size_t max,
                        size_t *count, fr_utilization_bucket *summary)
{
    if (engine == NULL || pool_id == NULL || out == NULL || count == NULL || bucket_ms <= 0 ||
        !fr__valid_time(from_ms) || !fr__valid_time(to_ms) || to_ms <= from_ms) {
        return FR_EINVAL;
    }
    int64_t nb = bucket_count(from_ms, to_ms, bucket_ms);
    if (nb > FR_UTILIZATION_BUCKETS_MAX || (uint64_t)nb > (uint64_t)max) {
        return FR_ELIMIT;
    }
    /* Computed into a scratch array: a failed call leaves out untouched. */
    fr_utilization_bucket *buckets = calloc((size_t)nb, sizeof *buckets);
    fr_utilization_bucket total;
    if (buckets == NULL) {
        return FR_ENOMEM;
    }
    fr__lock(engine);
    int rc = series_locked(engine, pool_id, from_ms, to_ms, bucket_ms, buckets, (size_t)nb,
                           &total);
    rc = fr__unlock_call(engine, rc);
    if (rc == FR_OK) {
        memcpy(out, buckets, (size_t)nb * sizeof *buckets);
        *count = (size_t)nb;
        if (summary != NULL) {
            *summary = total;
        }
    }
    free(buckets);
    return rc;
}
