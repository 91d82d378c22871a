/*
 * dispatch.c — placing pending requests (SPEC §4 "Dispatch").
 *
 * A queue is dispatched when something may have freed capacity for it
 * (release, cancel, expiry, a pool created, enlarged or re-activated) or a
 * request joined it.  Its pending requests are tried in queue order; each
 * takes the earliest start >= now inside its window on a matching active
 * pool where it fits, and becomes a confirmed allocation.  One pass is
 * enough: placing a request never frees capacity for another — except by
 * preemption (preempt.c), whose victims' requests re-mark their queue.
 */
#include <stdlib.h>
#include <string.h>

#include "fr_int.h"

int fr__pool_matches_request(const fr__pool_rec *pool, const fr_request *r)
{
    if (pool->p.status != FR_POOL_ACTIVE || pool->p.deleted) {
        return 0;
    }
    if (r->pool_id[0] != 0 && strcmp(pool->p.id, r->pool_id) != 0) {
        return 0;
    }
    return r->site == NULL || (pool->p.site != NULL && strcmp(pool->p.site, r->site) == 0);
}

static int64_t search_from(const fr_request *r, int64_t now_ms)
{
    return r->earliest_start_ms > now_ms ? r->earliest_start_ms : now_ms;
}

/* The best placement of r at now: earliest start over matching pools, then
 * least free capacity over the interval, then pool name, then id.  *any
 * tells whether a matching pool exists at all.  latest_start may be
 * FR_TIME_INF (then the 30-day search window applies). */
static fr__pool_rec *best_placement(fr_engine *e, const fr_request *r, int64_t now_ms,
                                    int64_t latest_start_ms, int64_t *start_out, int *any)
{
    int64_t from = search_from(r, now_ms);
    int64_t limit = from + FR_HORIZON_SEARCH_MS;
    if (latest_start_ms != FR_TIME_INF && latest_start_ms < limit) {
        limit = latest_start_ms;
    }
    fr__vec *pools = fr__pools_of_type(e, r->fleet_id, r->resource_type);
    fr__pool_rec *best = NULL;
    int64_t best_start = 0, best_free = 0;
    *any = 0;
    for (size_t i = 0; pools != NULL && i < pools->len; i++) {
        fr__pool_rec *pool = pools->items[i];
        if (!fr__pool_matches_request(pool, r)) {
            continue;
        }
        *any = 1;
        if (limit < from) {
            continue;
        }
        int64_t s = fr__pool_next_fit(e, pool, from, r->duration_ms, r->quantity_milli,
                                      r->vehicle_id, limit);
        if (s == FR_TIME_NULL) {
            continue;
        }
        int64_t free_milli = fr__ledger_min_free(pool->live, s, s + r->duration_ms);
        int better = best == NULL || s < best_start ||
                     (s == best_start && free_milli < best_free);
        if (!better && s == best_start && free_milli == best_free) {
            int c = strcmp(pool->p.name, best->p.name);
            better = c < 0 || (c == 0 && strcmp(pool->p.id, best->p.id) < 0);
        }
        if (better) {
            best = pool;
            best_start = s;
            best_free = free_milli;
        }
    }
    *start_out = best_start;
    return best;
}

int64_t fr__req_estimated_start(fr_engine *e, const fr_request *r, int64_t now_ms)
{
    int any = 0;
    int64_t s = 0;
    fr__pool_rec *pool = best_placement(e, r, now_ms, FR_TIME_INF, &s, &any);
    return pool == NULL ? FR_TIME_NULL : s;
}

static int set_reason(fr_engine *e, fr__req_rec *rec, int reason)
{
    if (rec->r.pending_reason == reason) {
        return FR_OK;
    }
    /* Re-indexing keeps its queue key (priority, created_at, id): same place. */
    int rc = fr__req_touch(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    rec->r.pending_reason = reason;
    return fr__req_changed(e, rec, "updated");
}

int fr__req_fulfil(fr_engine *e, fr__req_rec *rec, fr__pool_rec *pool, int64_t start_ms)
{
    fr_allocation proto;
    memset(&proto, 0, sizeof proto);
    proto.vehicle_id = rec->r.vehicle_id;
    proto.operation_id = rec->r.operation_id;
    proto.allocation_type = "default";
    proto.metadata_json = "{}";
    proto.quantity_milli = rec->r.quantity_milli;
    proto.start_ms = start_ms;
    proto.end_ms = start_ms + rec->r.duration_ms;
    proto.priority = rec->r.priority;
    proto.status = FR_ALLOC_CONFIRMED;
    proto.hold_expires_at_ms = FR_TIME_NULL;
    proto.released_at_ms = FR_TIME_NULL;
    memcpy(proto.request_id, rec->r.id, FR_ID_SIZE);
    fr__alloc_rec *alloc = NULL;
    int rc = fr__alloc_insert(e, pool, &proto, &alloc);
    if (rc == FR_OK) {
        rc = fr__req_touch(e, rec);
    }
    if (rc != FR_OK) {
        return rc;
    }
    rec->r.status = FR_REQ_FULFILLED;
    rec->r.pending_reason = FR_REASON_NONE;
    memcpy(rec->r.allocation_id, alloc->a.id, FR_ID_SIZE);
    rec->r.fulfilled_at_ms = e->txn.now_ms;
    return fr__req_changed(e, rec, "fulfilled");
}

/* Tries one pending request; it may be fulfilled or get a new reason. */
static int try_request(fr_engine *e, fr__req_rec *rec)
{
    int64_t now = e->txn.now_ms;
    int64_t latest = fr__req_latest_start(&rec->r);
    if (latest != FR_TIME_INF && latest < now) {
        return FR_OK; /* expiry is the deadline sweep's job, at the same now */
    }
    int any = 0;
    int64_t start = 0;
    fr__pool_rec *pool = best_placement(e, &rec->r, now, latest, &start, &any);
    if (pool != NULL) {
        return fr__req_fulfil(e, rec, pool, start);
    }
    if (any && rec->r.preempt) {
        int placed = 0;
        int rc = fr__req_preempt(e, rec, latest, &placed);
        if (rc != FR_OK || placed) {
            return rc;
        }
    }
    return set_reason(e, rec, any ? FR_REASON_INSUFFICIENT_CAPACITY : FR_REASON_NO_POOL_OF_TYPE);
}

int fr__dispatch_queue(fr_engine *e, fr__queue_rec *q)
{
    q->dirty_txn = 0; /* may be marked again by what follows */
    size_t n = fr__queue_count(q->queue);
    if (n == 0) {
        return FR_OK;
    }
    /* Snapshot the order first: fulfilling or re-reasoning a request
     * re-indexes it, which changes the queue under an iterator. */
    fr__req_rec **order = malloc(n * sizeof *order);
    if (order == NULL) {
        return FR_ENOMEM;
    }
    size_t k = 0;
    for (fr__queue_ref ref = fr__queue_first(q->queue); ref != 0 && k < n;
         ref = fr__queue_next(q->queue, ref)) {
        order[k++] = fr__queue_payload(q->queue, ref);
    }
    int rc = FR_OK;
    for (size_t i = 0; rc == FR_OK && i < k; i++) {
        if (order[i]->r.status == FR_REQ_PENDING) {
            rc = try_request(e, order[i]);
        }
    }
    free(order);
    return rc;
}
