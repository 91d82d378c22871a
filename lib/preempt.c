/*
 * preempt.c — requests with "preempt": true (SPEC §4): a request that fits
 * nowhere may take the place of allocations of lower priority that have not
 * started yet.  They become `preempted` and their own requests go back to
 * pending (dispatched again in the same transaction, possibly elsewhere).
 *
 * The choice, per matching pool: the earliest start at which preemption
 * clears room (found on a scratch ledger holding only what may not be
 * preempted), then at that start the fewest victims, then the lowest total
 * priority (victims.c).  Across pools: earliest start, fewest victims,
 * lowest total priority, then pool name and id.  The requesting vehicle's
 * own bookings are never preempted for it: its slot must be free of them.
 *
 * Cost: O(k log k) per matching pool for the k bookings in the request's
 * search window; only requests that fit nowhere pay it.
 */
#include <stdlib.h>
#include <string.h>

#include "fr_int.h"

typedef struct preemptor {
    const fr_request *r;
    int64_t now_ms;
} preemptor;

static int preemptible(const fr__alloc_rec *rec, const void *ctx)
{
    const preemptor *p = ctx;
    return rec->a.priority < p->r->priority && rec->a.start_ms >= p->now_ms;
}

/* A ledger with the pool's capacity and only the bookings of [from, to)
 * that may not be preempted. */
static int scratch_ledger(const fr__pool_rec *pool, const preemptor *who, int64_t from_ms,
                          int64_t to_ms, fr__ledger **out)
{
    fr__ledger *l = fr__ledger_new();
    if (l == NULL) {
        return FR_ENOMEM;
    }
    int rc = fr__ledger_set_capacity(l, pool->p.total_capacity_milli, pool->p.schedule,
                                     pool->p.schedule_len);
    size_t n = rc == FR_OK ? fr__ledger_overlapping(pool->live, from_ms, to_ms, NULL, 0) : 0;
    uint64_t *tags = malloc((n > 0 ? n : 1) * sizeof *tags);
    rc = rc == FR_OK && tags == NULL ? FR_ENOMEM : rc;
    if (rc == FR_OK) {
        n = fr__ledger_overlapping(pool->live, from_ms, to_ms, tags, n);
    }
    for (size_t i = 0; rc == FR_OK && i < n; i++) {
        const fr__alloc_rec *a = (const fr__alloc_rec *)(uintptr_t)tags[i];
        fr__booking_ref ref;
        if (!preemptible(a, who)) {
            rc = fr__ledger_book(l, a->a.start_ms, a->a.end_ms, a->a.quantity_milli, tags[i], &ref);
        }
    }
    free(tags);
    if (rc != FR_OK) {
        fr__ledger_free(l);
        return rc;
    }
    *out = l;
    return FR_OK;
}

/* fr__pool_next_fit on the scratch ledger: room and (exclusive pools) the
 * requesting vehicle free. */
static int64_t next_fit(fr_engine *e, const fr__pool_rec *pool, const fr__ledger *l,
                        const fr_request *r, int64_t from_ms, int64_t latest_ms)
{
    int check_vehicle = pool->p.exclusive_per_vehicle && r->vehicle_id != NULL;
    int64_t s = from_ms;
    for (int round = 0; round < 100000; round++) { /* each skips a booking: a safety net */
        s = fr__ledger_next_fit(l, s, r->duration_ms, r->quantity_milli, latest_ms);
        if (s == FR_TIME_NULL || !check_vehicle) {
            return s;
        }
        fr__alloc_rec *hits[16];
        size_t n = fr__vehicle_overlaps(e, pool->p.fleet_id, pool->p.resource_type, r->vehicle_id,
                                        s, s + r->duration_ms, NULL, hits, 16);
        if (n == 0) {
            return s;
        }
        int64_t next = s;
        for (size_t i = 0; i < n && i < 16; i++) {
            next = hits[i]->a.end_ms > next ? hits[i]->a.end_ms : next;
        }
        if (next == FR_TIME_INF || next > latest_ms) {
            return FR_TIME_NULL;
        }
        s = next;
    }
    return FR_TIME_NULL;
}

typedef struct option {
    fr__pool_rec *pool;
    int64_t start_ms;
    fr__victims victims;
} option;

static int better(const option *x, const option *best)
{
    if (best->pool == NULL || x->start_ms != best->start_ms) {
        return best->pool == NULL || x->start_ms < best->start_ms;
    }
    if (x->victims.len != best->victims.len) {
        return x->victims.len < best->victims.len;
    }
    if (x->victims.priority_sum != best->victims.priority_sum) {
        return x->victims.priority_sum < best->victims.priority_sum;
    }
    int c = strcmp(x->pool->p.name, best->pool->p.name);
    return c < 0 || (c == 0 && strcmp(x->pool->p.id, best->pool->p.id) < 0);
}

/* The option of one pool, or none (opt->pool NULL). */
static int pool_option(fr_engine *e, fr__pool_rec *pool, const preemptor *who, int64_t from_ms,
                       int64_t limit_ms, option *opt)
{
    const fr_request *r = who->r;
    memset(opt, 0, sizeof *opt);
    fr__ledger *l = NULL;
    int rc = scratch_ledger(pool, who, from_ms, limit_ms + r->duration_ms, &l);
    if (rc != FR_OK) {
        return rc;
    }
    int64_t s = next_fit(e, pool, l, r, from_ms, limit_ms);
    fr__ledger_free(l);
    if (s == FR_TIME_NULL) {
        return FR_OK;
    }
    rc = fr__choose_victims(pool, s, s + r->duration_ms, r->quantity_milli, preemptible, who,
                            &opt->victims);
    if (rc == FR_EUNRESOLVABLE) {
        return FR_OK; /* cannot happen after the scratch fit; be safe, not sorry */
    }
    if (rc == FR_OK) {
        opt->pool = pool;
        opt->start_ms = s;
    }
    return rc;
}

int fr__req_preempt(fr_engine *e, fr__req_rec *rec, int64_t latest_start_ms, int *placed)
{
    const fr_request *r = &rec->r;
    preemptor who = {r, e->txn.now_ms};
    int64_t from = r->earliest_start_ms > who.now_ms ? r->earliest_start_ms : who.now_ms;
    int64_t limit = from + FR_HORIZON_SEARCH_MS;
    limit = latest_start_ms != FR_TIME_INF && latest_start_ms < limit ? latest_start_ms : limit;
    *placed = 0;
    if (limit < from || r->priority == 0) {
        return FR_OK; /* nothing has a lower priority than 0 */
    }
    fr__vec *pools = fr__pools_of_type(e, r->fleet_id, r->resource_type);
    option best;
    memset(&best, 0, sizeof best);
    int rc = FR_OK;
    for (size_t i = 0; rc == FR_OK && pools != NULL && i < pools->len; i++) {
        option opt;
        if (!fr__pool_matches_request(pools->items[i], r)) {
            continue;
        }
        rc = pool_option(e, pools->items[i], &who, from, limit, &opt);
        if (rc == FR_OK && opt.pool != NULL && better(&opt, &best)) {
            fr__victims_free(&best.victims);
            best = opt;
        } else {
            fr__victims_free(&opt.victims);
        }
    }
    for (size_t i = 0; rc == FR_OK && best.pool != NULL && i < best.victims.len; i++) {
        rc = fr__alloc_preempt(e, best.victims.recs[i]);
    }
    if (rc == FR_OK && best.pool != NULL) {
        rc = fr__req_fulfil(e, rec, best.pool, best.start_ms);
        *placed = rc == FR_OK;
    }
    fr__victims_free(&best.victims);
    return rc;
}
