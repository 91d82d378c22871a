/*
 * allocations.c — allocations (SPEC §3): booking with the capacity and
 * double-booking rules, the held -> confirmed -> released/cancelled/expired
 * lifecycle, batch booking, and the explanation of a refusal.
 *
 * The rules live here and only here: a booking is accepted when, for every
 * instant of its interval, the pool's free capacity (capacity minus held and
 * confirmed bookings) is at least its quantity — unless it overcommits on
 * purpose, which marks the pool for conflict detection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fr_int.h"

/* ---- queries shared with dispatch --------------------------------------- */

size_t fr__vehicle_overlaps(fr_engine *e, const char *fleet_id, const char *resource_type,
                            const char *vehicle_id, int64_t start_ms, int64_t end_ms,
                            const fr__alloc_rec *except, fr__alloc_rec **out, size_t max)
{
    char key[FR__KEY_SIZE];
    if (vehicle_id == NULL || !fr__key3(key, sizeof key, fleet_id, resource_type, vehicle_id)) {
        return 0;
    }
    fr__vec *v = fr__idmap_get(&e->vehicles, key);
    size_t n = 0;
    for (size_t i = 0; v != NULL && i < v->len; i++) {
        fr__alloc_rec *r = v->items[i];
        if (r != except && r->a.start_ms < end_ms && start_ms < r->a.end_ms) {
            if (n < max) {
                out[n] = r;
            }
            n++;
        }
    }
    return n;
}

static int64_t end_of(int64_t start_ms, int64_t dur_ms)
{
    if (dur_ms == FR_TIME_INF || start_ms > FR_TIME_INF - dur_ms) {
        return FR_TIME_INF;
    }
    return start_ms + dur_ms;
}

int64_t fr__pool_next_fit(fr_engine *e, fr__pool_rec *pool, int64_t from_ms, int64_t dur_ms,
                          int64_t q_milli, const char *vehicle_id, int64_t latest_start_ms)
{
    int check_vehicle = pool->p.exclusive_per_vehicle && vehicle_id != NULL;
    int64_t s = from_ms;
    /* Each round skips past a shortfall run or a booking of the vehicle,
     * both finite in number; the bound is a safety net. */
    for (int round = 0; round < 100000; round++) {
        s = fr__ledger_next_fit(pool->live, s, dur_ms, q_milli, latest_start_ms);
        if (s == FR_TIME_NULL || !check_vehicle) {
            return s;
        }
        fr__alloc_rec *hits[16];
        size_t n = fr__vehicle_overlaps(e, pool->p.fleet_id, pool->p.resource_type, vehicle_id,
                                        s, end_of(s, dur_ms), NULL, hits, 16);
        if (n == 0) {
            return s;
        }
        int64_t next = s;
        for (size_t i = 0; i < n && i < 16; i++) {
            if (hits[i]->a.end_ms > next) {
                next = hits[i]->a.end_ms;
            }
        }
        if (next == FR_TIME_INF || next > latest_start_ms) {
            return FR_TIME_NULL;
        }
        s = next;
    }
    return FR_TIME_NULL;
}

/* ---- refusal explanations ------------------------------------------------ */

static void explain_capacity(fr_engine *e, fr__pool_rec *pool, const fr_allocation *a,
                             int64_t at_ms, fr_result *res)
{
    if (res == NULL) {
        return;
    }
    int64_t cap = fr__ledger_capacity_at(pool->live, at_ms);
    int64_t free_milli = fr__ledger_free_at(pool->live, at_ms);
    char at_text[32] = "";
    fr_time_format(at_ms, at_text, sizeof at_text);
    char free_text[32] = "";
    fr_qty_format(free_milli, free_text, sizeof free_text);
    char cap_text[32] = "";
    fr_qty_format(cap, cap_text, sizeof cap_text);
    fr__result_fail(res, FR_ECAPACITY, NULL, "pool %s has %s of %s free at %s", pool->p.id,
                    free_text, cap_text, at_text);
    snprintf(res->pool_id, sizeof res->pool_id, "%s", pool->p.id);
    res->at_ms = at_ms;
    res->capacity_milli = cap;
    res->free_milli = free_milli;
    res->requested_milli = a->quantity_milli;
    uint64_t tags[FR_CONFLICTING_MAX];
    size_t n = fr__ledger_overlapping(pool->live, at_ms, at_ms + 1, tags, FR_CONFLICTING_MAX);
    res->conflicting_count = n < FR_CONFLICTING_MAX ? n : FR_CONFLICTING_MAX;
    for (size_t i = 0; i < res->conflicting_count; i++) {
        const fr__alloc_rec *r = (const fr__alloc_rec *)(uintptr_t)tags[i];
        memcpy(res->conflicting_ids[i], r->a.id, FR_ID_SIZE);
    }
    int64_t dur = a->end_ms == FR_TIME_INF ? FR_TIME_INF : a->end_ms - a->start_ms;
    res->next_fit_start_ms =
        fr__pool_next_fit(e, pool, a->start_ms, dur, a->quantity_milli, a->vehicle_id,
                          a->start_ms + FR_HORIZON_SEARCH_MS);
}

static void explain_double(fr__alloc_rec **hits, size_t n, const char *vehicle_id,
                           fr_result *res)
{
    if (res == NULL) {
        return;
    }
    fr__result_fail(res, FR_EDOUBLE, NULL,
                    "vehicle %s already holds an overlapping allocation of this type",
                    vehicle_id);
    snprintf(res->vehicle_id, sizeof res->vehicle_id, "%s", vehicle_id);
    res->conflicting_count = n < FR_CONFLICTING_MAX ? n : FR_CONFLICTING_MAX;
    for (size_t i = 0; i < res->conflicting_count; i++) {
        memcpy(res->conflicting_ids[i], hits[i]->a.id, FR_ID_SIZE);
    }
}

/* Double booking, then capacity, for `a` in `pool` (a itself not indexed).
 * On overcommit the capacity rule is waived and the pool marked for
 * conflict detection. */
static int check_booking(fr_engine *e, fr__pool_rec *pool, const fr_allocation *a,
                         int overcommit, fr_result *res)
{
    if (pool->p.exclusive_per_vehicle && a->vehicle_id != NULL) {
        fr__alloc_rec *hits[FR_CONFLICTING_MAX];
        size_t n = fr__vehicle_overlaps(e, a->fleet_id, a->resource_type, a->vehicle_id,
                                        a->start_ms, a->end_ms, NULL, hits, FR_CONFLICTING_MAX);
        if (n > 0) {
            explain_double(hits, n, a->vehicle_id, res);
            return FR_EDOUBLE;
        }
    }
    fr__ledger_prefetch(pool->live, a->start_ms, a->end_ms); /* the book follows */
    int64_t at = fr__ledger_first_shortfall(pool->live, a->start_ms, a->end_ms, a->quantity_milli);
    if (at == FR_TIME_NULL) {
        return FR_OK;
    }
    if (overcommit) {
        return fr__mark_pool_dirty(e, pool);
    }
    explain_capacity(e, pool, a, at, res);
    return FR_ECAPACITY;
}

/* ---- pool choice (SPEC §3) ------------------------------------------------ */

static int pool_before(const fr__pool_rec *x, const fr__pool_rec *y)
{
    int c = strcmp(x->p.name, y->p.name);
    return c < 0 || (c == 0 && strcmp(x->p.id, y->p.id) < 0);
}

static int site_matches(const fr__pool_rec *p, const char *site)
{
    return site == NULL || (p->p.site != NULL && strcmp(p->p.site, site) == 0);
}

/* Picks the active pool of (fleet, type[, site]) where a fits with the least
 * free capacity; ties by name, then id.  Refusals explain the pool whose
 * next fit is earliest. */
static int choose_pool(fr_engine *e, const fr_allocation_params *p, fr_allocation *a,
                       int overcommit, fr__pool_rec **out, fr_result *res)
{
    fr__vec *pools = fr__pools_of_type(e, p->fleet_id, p->resource_type);
    fr__pool_rec *best = NULL, *roomiest = NULL, *explain = NULL;
    int64_t best_free = 0, roomiest_free = 0, explain_fit = FR_TIME_NULL;
    int any = 0, any_double = 0;
    fr_result probe;
    for (size_t i = 0; pools != NULL && i < pools->len; i++) {
        fr__pool_rec *pool = pools->items[i];
        if (pool->p.status != FR_POOL_ACTIVE || !site_matches(pool, p->site)) {
            continue;
        }
        any = 1;
        fr_result_init(&probe);
        int rc = check_booking(e, pool, a, 0, &probe);
        int64_t min_free = fr__ledger_min_free(pool->live, a->start_ms, a->end_ms);
        if (rc == FR_OK && (best == NULL || min_free < best_free ||
                            (min_free == best_free && pool_before(pool, best)))) {
            best = pool;
            best_free = min_free;
        } else if (rc == FR_ECAPACITY) {
            int64_t fit = probe.next_fit_start_ms;
            int earlier = explain == NULL ||
                          (fit != FR_TIME_NULL && (explain_fit == FR_TIME_NULL || fit < explain_fit)) ||
                          (fit == explain_fit && pool_before(pool, explain));
            if (earlier) {
                explain = pool;
                explain_fit = fit;
            }
            if (roomiest == NULL || min_free > roomiest_free ||
                (min_free == roomiest_free && pool_before(pool, roomiest))) {
                roomiest = pool;
                roomiest_free = min_free;
            }
        } else if (rc == FR_EDOUBLE) {
            any_double = 1;
            if (res != NULL) {
                *res = probe;
            }
        }
        fr_result_clear(&probe);
    }
    if (!any) {
        fr__result_fail(res, FR_EREFERENCE, "resource_type",
                        "no active pool of type %s in fleet %s", p->resource_type, p->fleet_id);
        return FR_EREFERENCE;
    }
    if (best == NULL && overcommit && roomiest != NULL) {
        best = roomiest;
        int rc = fr__mark_pool_dirty(e, best);
        if (rc != FR_OK) {
            return rc;
        }
    }
    if (best == NULL) {
        if (explain == NULL && any_double) {
            return FR_EDOUBLE; /* res already holds the explanation */
        }
        explain_capacity(e, explain, a, fr__ledger_first_shortfall(explain->live, a->start_ms,
                                                                    a->end_ms, a->quantity_milli),
                         res);
        return FR_ECAPACITY;
    }
    *out = best;
    return FR_OK;
}

/* ---- create ----------------------------------------------------------------- */

static int check_create_params(const fr_allocation_params *p, const fr_ctx *ctx, int64_t now,
                               fr_result *res)
{
    uint32_t s = p->set;
    const char *bad = NULL;
    const char *why = "is invalid";
    if (!(s & FR_ALLOC_F_POOL_ID) && !((s & FR_ALLOC_F_FLEET_ID) && (s & FR_ALLOC_F_RESOURCE_TYPE))) {
        bad = "pool_id";
        why = "is required (or fleet_id and resource_type)";
    } else if ((s & FR_ALLOC_F_POOL_ID) && (p->pool_id == NULL || p->pool_id[0] == 0)) {
        bad = "pool_id";
    } else if (!(s & FR_ALLOC_F_POOL_ID) && !fr__valid_client_id(p->fleet_id)) {
        bad = "fleet_id";
    } else if (!(s & FR_ALLOC_F_POOL_ID) && !fr__valid_slug(p->resource_type)) {
        bad = "resource_type";
    } else if ((s & FR_ALLOC_F_SITE) && p->site != NULL && !fr__valid_client_id(p->site)) {
        bad = "site";
    } else if (!(s & FR_ALLOC_F_VEHICLE_ID) && !(s & FR_ALLOC_F_OPERATION_ID)) {
        bad = "vehicle_id";
        why = "or operation_id is required";
    } else if ((s & FR_ALLOC_F_VEHICLE_ID) && !fr__valid_client_id(p->vehicle_id)) {
        bad = "vehicle_id";
    } else if ((s & FR_ALLOC_F_OPERATION_ID) && !fr__valid_client_id(p->operation_id)) {
        bad = "operation_id";
    } else if ((s & FR_ALLOC_F_TYPE) && !fr__valid_slug(p->allocation_type)) {
        bad = "allocation_type";
    } else if (!(s & FR_ALLOC_F_QUANTITY)) {
        bad = "quantity";
        why = "is required";
    } else if (p->quantity_milli <= 0 || p->quantity_milli > FR_QTY_MAX_MILLI) {
        bad = "quantity";
        why = "must be > 0 and <= 1e12";
    } else if ((s & FR_ALLOC_F_START) && !fr__valid_time(p->start_ms)) {
        bad = "start";
    } else if ((s & FR_ALLOC_F_END) && !fr__valid_end(p->end_ms)) {
        bad = "end";
    } else if ((s & FR_ALLOC_F_END) && p->end_ms <= ((s & FR_ALLOC_F_START) ? p->start_ms : now)) {
        bad = "end";
        why = "must be after start";
    } else if ((s & FR_ALLOC_F_PRIORITY) && (p->priority < 0 || p->priority > FR_PRIORITY_MAX)) {
        bad = "priority";
        why = "must be 0..1000";
    } else if ((s & FR_ALLOC_F_HOLD) && (p->hold_ms <= 0 || p->hold_ms > 365 * FR__DAY_MS)) {
        bad = "hold_seconds";
        why = "must be > 0 and at most a year";
    } else if ((s & FR_ALLOC_F_STATUS) &&
               !(p->status == ((s & FR_ALLOC_F_HOLD) ? FR_ALLOC_HELD : FR_ALLOC_CONFIRMED))) {
        bad = "status";
        why = "must be held (with hold_seconds) or confirmed";
    } else if ((s & FR_ALLOC_F_METADATA) && !fr__valid_json_object(p->metadata_json)) {
        bad = "metadata";
        why = "must be a JSON object";
    }
    if (bad != NULL) {
        fr__result_fail(res, FR_EINVAL, bad, "%s %s", bad, why);
        return FR_EINVAL;
    }
    if ((s & FR_ALLOC_F_OVERCOMMIT) && p->overcommit && (ctx == NULL || !ctx->may_overcommit)) {
        fr__result_fail(res, FR_EFORBIDDEN, "overcommit", "overcommit needs the operator role");
        return FR_EFORBIDDEN;
    }
    return FR_OK;
}

/* Fills the new allocation's own fields (borrowed strings from params). */
static void proto_from_params(const fr_allocation_params *p, int64_t now, fr_allocation *a)
{
    uint32_t s = p->set;
    memset(a, 0, sizeof *a);
    a->vehicle_id = (s & FR_ALLOC_F_VEHICLE_ID) ? (char *)p->vehicle_id : NULL;
    a->operation_id = (s & FR_ALLOC_F_OPERATION_ID) ? (char *)p->operation_id : NULL;
    a->allocation_type = (s & FR_ALLOC_F_TYPE) ? (char *)p->allocation_type : "default";
    a->metadata_json = (s & FR_ALLOC_F_METADATA) ? (char *)p->metadata_json : "{}";
    a->quantity_milli = p->quantity_milli;
    a->start_ms = (s & FR_ALLOC_F_START) ? p->start_ms : now;
    a->end_ms = (s & FR_ALLOC_F_END) ? p->end_ms : FR_TIME_INF;
    a->priority = (s & FR_ALLOC_F_PRIORITY) ? p->priority : 0;
    a->status = (s & FR_ALLOC_F_HOLD) ? FR_ALLOC_HELD : FR_ALLOC_CONFIRMED;
    a->hold_expires_at_ms = (s & FR_ALLOC_F_HOLD) ? now + p->hold_ms : FR_TIME_NULL;
    a->released_at_ms = FR_TIME_NULL;
}

int fr__alloc_insert(fr_engine *e, fr__pool_rec *pool, const fr_allocation *proto,
                     fr__alloc_rec **out)
{
    fr__alloc_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    fr_allocation tmp = *proto;
    tmp.fleet_id = pool->p.fleet_id;
    tmp.resource_type = pool->p.resource_type;
    int rc = fr__allocation_copy(&rec->a, &tmp);
    if (rc != FR_OK) {
        free(rec);
        return rc;
    }
    memcpy(rec->a.pool_id, pool->p.id, FR_ID_SIZE);
    fr__new_id(e, rec->a.id);
    rec->pool = pool;
    rc = fr__alloc_created(e, rec);
    if (rc != FR_OK && fr__idmap_get(&e->allocs_by_id, rec->a.id) != rec) {
        fr_allocation_clear(&rec->a); /* never registered: ours to free */
        free(rec);
        return rc;
    }
    if (rc == FR_OK && out != NULL) {
        *out = rec;
    }
    return rc;
}

static int create_in_txn(fr_engine *e, const fr_ctx *ctx, const fr_allocation_params *p,
                         fr__alloc_rec **out, fr_result *res)
{
    int64_t now = e->txn.now_ms;
    int rc = check_create_params(p, ctx, now, res);
    if (rc != FR_OK) {
        return rc;
    }
    fr_allocation a;
    proto_from_params(p, now, &a);
    if (a.end_ms <= a.start_ms) {
        fr__result_fail(res, FR_EINVAL, "end", "end must be after start");
        return FR_EINVAL;
    }
    int overcommit = (p->set & FR_ALLOC_F_OVERCOMMIT) && p->overcommit;
    fr__pool_rec *pool = NULL;
    if (p->set & FR_ALLOC_F_POOL_ID) {
        pool = fr__idmap_get(&e->pools_by_id, p->pool_id);
        if (pool == NULL || pool->p.deleted) {
            fr__result_fail(res, FR_EREFERENCE, "pool_id", "pool %s does not exist", p->pool_id);
            return FR_EREFERENCE;
        }
        if (pool->p.status != FR_POOL_ACTIVE) {
            fr__result_fail(res, FR_ESTATE, "pool_id", "pool %s is %s, not active", pool->p.id,
                            fr_pool_status_name(pool->p.status));
            return FR_ESTATE;
        }
        a.fleet_id = pool->p.fleet_id;
        a.resource_type = pool->p.resource_type;
        rc = check_booking(e, pool, &a, overcommit, res);
    } else {
        a.fleet_id = (char *)p->fleet_id;
        a.resource_type = (char *)p->resource_type;
        rc = choose_pool(e, p, &a, overcommit, &pool, res);
    }
    if (rc != FR_OK) {
        return rc;
    }
    return fr__alloc_insert(e, pool, &a, out);
}

/* Commits and copies the final state of recs to out. */
static int finish(fr_engine *e, fr__alloc_rec **recs, size_t n, fr_allocation *out,
                  fr_result *res)
{
    char(*ids)[FR_ID_SIZE] = malloc((n > 0 ? n : 1) * sizeof *ids);
    if (ids == NULL) {
        fr__txn_abort(e);
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(ids[i], recs[i]->a.id, FR_ID_SIZE);
    }
    int rc = fr__txn_commit(e, res);
    for (size_t i = 0; rc == FR_OK && out != NULL && i < n; i++) {
        fr__alloc_rec *rec = fr__idmap_get(&e->allocs_by_id, ids[i]);
        rc = fr__allocation_copy(&out[i], &rec->a);
        if (rc != FR_OK) {
            for (size_t j = 0; j < i; j++) {
                fr_allocation_clear(&out[j]);
            }
        }
    }
    free(ids);
    return rc;
}

static int create_batch_locked(fr_engine *engine, const fr_ctx *ctx,
                               const fr_allocation_params *params, size_t n,
                               fr__alloc_rec **recs, fr_allocation *out, fr_result *res)
{
    int rc = fr__begin_call(engine, ctx);
    for (size_t i = 0; rc == FR_OK && i < n; i++) {
        rc = create_in_txn(engine, ctx, &params[i], &recs[i], res);
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

int fr_allocation_create_batch(fr_engine *engine, const fr_ctx *ctx,
                               const fr_allocation_params *params, size_t n, fr_allocation *out,
                               fr_result *res)
{
    if (engine == NULL || (params == NULL && n > 0)) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and params are required");
        return FR_EINVAL;
    }
    if (n == 0 || n > FR_BATCH_MAX) {
        fr__result_fail(res, FR_EINVAL, "allocations", "a batch holds 1 to %d items",
                        FR_BATCH_MAX);
        return FR_EINVAL;
    }
    fr__alloc_rec **recs = calloc(n, sizeof *recs);
    if (recs == NULL) {
        return FR_ENOMEM;
    }
    fr__lock(engine);
    fr__idem_prior prior;
    int rc = fr__idem_lookup(engine, ctx, &prior, res);
    if (rc == FR_OK && prior.found) {
        rc = fr__idem_replay(engine, &prior, FR_ENTITY_ALLOCATION, out, n, res);
    } else if (rc == FR_OK) {
        rc = create_batch_locked(engine, ctx, params, n, recs, out, res);
        rc = fr__idem_settle(engine, ctx, rc, &prior, FR_ENTITY_ALLOCATION, out, n, res);
    }
    fr__idem_prior_clear(&prior);
    rc = fr__unlock_call(engine, rc);
    free(recs);
    return rc;
}

int fr_allocation_create(fr_engine *engine, const fr_ctx *ctx,
                         const fr_allocation_params *params, fr_allocation *out, fr_result *res)
{
    int rc = fr_allocation_create_batch(engine, ctx, params, 1, out, res);
    if (res != NULL) {
        res->index = -1;
    }
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------- */

static fr__alloc_rec *find_alloc(fr_engine *e, const char *id)
{
    return id == NULL ? NULL : fr__idmap_get(&e->allocs_by_id, id);
}

/* Marks what a shorter, moved, smaller or ended booking may cause. */
static int after_free(fr_engine *e, fr__alloc_rec *rec)
{
    int rc = fr__mark_queue_dirty(e, rec->a.fleet_id, rec->a.resource_type);
    if (rc == FR_OK && rec->pool->open_overcap > 0) {
        rc = fr__mark_pool_dirty(e, rec->pool);
    }
    return rc;
}

int fr__alloc_end(fr_engine *e, fr__alloc_rec *rec, int not_started_status, int requeue)
{
    int64_t now = e->txn.now_ms;
    int rc = fr__alloc_touch(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    const char *verb;
    if (rec->a.start_ms < now) {
        rec->a.status = FR_ALLOC_RELEASED;
        rec->a.end_ms = rec->a.end_ms < now ? rec->a.end_ms : now;
        rec->a.released_at_ms = now;
        verb = "released";
    } else {
        rec->a.status = not_started_status;
        rec->a.released_at_ms = not_started_status == FR_ALLOC_PREEMPTED ? now : FR_TIME_NULL;
        verb = fr_allocation_status_name(not_started_status);
    }
    rc = fr__alloc_changed(e, rec, verb);
    if (rc == FR_OK && requeue && rec->a.request_id[0] != 0) {
        rc = fr__req_requeue(e, rec->a.request_id);
    }
    if (rc == FR_OK) {
        rc = after_free(e, rec);
    }
    return rc;
}

static int check_update_params(const fr_allocation *a, const fr_allocation_params *p,
                               const fr_ctx *ctx, fr_result *res)
{
    const uint32_t allowed = FR_ALLOC_F_START | FR_ALLOC_F_END | FR_ALLOC_F_QUANTITY |
                             FR_ALLOC_F_PRIORITY | FR_ALLOC_F_METADATA | FR_ALLOC_F_STATUS |
                             FR_ALLOC_F_OVERCOMMIT;
    uint32_t s = p->set;
    const char *bad = NULL;
    if (s & ~allowed) {
        /* Immutable fields: sending the current value is fine (SPEC §1). */
        int same = 1;
        if ((s & FR_ALLOC_F_POOL_ID) && (p->pool_id == NULL || strcmp(p->pool_id, a->pool_id) != 0)) {
            same = 0, bad = "pool_id";
        }
        if (same && (s & FR_ALLOC_F_VEHICLE_ID) &&
            !(p->vehicle_id != NULL && a->vehicle_id != NULL && strcmp(p->vehicle_id, a->vehicle_id) == 0)) {
            same = 0, bad = "vehicle_id";
        }
        if (same && (s & FR_ALLOC_F_OPERATION_ID) &&
            !(p->operation_id != NULL && a->operation_id != NULL &&
              strcmp(p->operation_id, a->operation_id) == 0)) {
            same = 0, bad = "operation_id";
        }
        if (same && (s & FR_ALLOC_F_FLEET_ID) && (p->fleet_id == NULL || strcmp(p->fleet_id, a->fleet_id) != 0)) {
            same = 0, bad = "fleet_id";
        }
        if (same && (s & FR_ALLOC_F_TYPE) &&
            (p->allocation_type == NULL || strcmp(p->allocation_type, a->allocation_type) != 0)) {
            same = 0, bad = "allocation_type";
        }
        if (same && (s & FR_ALLOC_F_HOLD)) {
            same = 0, bad = "hold_seconds";
        }
        if (!same) {
            fr__result_fail(res, FR_EINVAL, bad, "%s cannot be changed", bad);
            return FR_EINVAL;
        }
    }
    if ((s & FR_ALLOC_F_QUANTITY) && (p->quantity_milli <= 0 || p->quantity_milli > FR_QTY_MAX_MILLI)) {
        bad = "quantity";
    } else if ((s & FR_ALLOC_F_START) && !fr__valid_time(p->start_ms)) {
        bad = "start";
    } else if ((s & FR_ALLOC_F_END) && !fr__valid_end(p->end_ms)) {
        bad = "end";
    } else if ((s & FR_ALLOC_F_PRIORITY) && (p->priority < 0 || p->priority > FR_PRIORITY_MAX)) {
        bad = "priority";
    } else if ((s & FR_ALLOC_F_METADATA) && !fr__valid_json_object(p->metadata_json)) {
        bad = "metadata";
    } else if ((s & FR_ALLOC_F_STATUS) && fr_allocation_status_name(p->status) == NULL) {
        bad = "status";
    }
    if (bad != NULL) {
        fr__result_fail(res, FR_EINVAL, bad, "%s is invalid", bad);
        return FR_EINVAL;
    }
    if ((s & FR_ALLOC_F_OVERCOMMIT) && p->overcommit && (ctx == NULL || !ctx->may_overcommit)) {
        fr__result_fail(res, FR_EFORBIDDEN, "overcommit", "overcommit needs the operator role");
        return FR_EFORBIDDEN;
    }
    return FR_OK;
}

/* Which status change the params ask for, or FR_ESTATE if not allowed. */
static int status_transition(const fr_allocation *a, const fr_allocation_params *p, int64_t now,
                             int *target, fr_result *res)
{
    *target = a->status;
    if (!(p->set & FR_ALLOC_F_STATUS) || p->status == a->status) {
        return FR_OK;
    }
    int ok = (p->status == FR_ALLOC_CONFIRMED && a->status == FR_ALLOC_HELD) ||
             (p->status == FR_ALLOC_RELEASED && a->start_ms < now);
    if (!ok) {
        fr__result_fail(res, FR_ESTATE, "status", "cannot change a %s allocation to %s%s",
                        fr_allocation_status_name(a->status), fr_allocation_status_name(p->status),
                        p->status == FR_ALLOC_RELEASED ? " before it starts" : "");
        return FR_ESTATE;
    }
    *target = p->status;
    return FR_OK;
}

static int set_metadata(fr_allocation *a, const char *json)
{
    char *copy = strdup(json);
    if (copy == NULL) {
        return FR_ENOMEM;
    }
    free(a->metadata_json);
    a->metadata_json = copy;
    return FR_OK;
}

static int update_in_txn(fr_engine *e, const fr_ctx *ctx, fr__alloc_rec *rec,
                         const fr_allocation_params *p, fr_result *res)
{
    int64_t now = e->txn.now_ms;
    int rc = check_update_params(&rec->a, p, ctx, res);
    if (rc != FR_OK) {
        return rc;
    }
    if (!fr__alloc_is_live(&rec->a)) {
        fr__result_fail(res, FR_ESTATE, NULL, "allocation %s is %s", rec->a.id,
                        fr_allocation_status_name(rec->a.status));
        return FR_ESTATE;
    }
    int target;
    rc = status_transition(&rec->a, p, now, &target, res);
    if (rc != FR_OK) {
        return rc;
    }
    fr_allocation next = rec->a;
    uint32_t s = p->set;
    next.start_ms = (s & FR_ALLOC_F_START) ? p->start_ms : next.start_ms;
    next.end_ms = (s & FR_ALLOC_F_END) ? p->end_ms : next.end_ms;
    next.quantity_milli = (s & FR_ALLOC_F_QUANTITY) ? p->quantity_milli : next.quantity_milli;
    if (next.end_ms <= next.start_ms) {
        fr__result_fail(res, FR_EINVAL, "end", "end must be after start");
        return FR_EINVAL;
    }
    int grows = next.start_ms < rec->a.start_ms || next.end_ms > rec->a.end_ms ||
                next.quantity_milli > rec->a.quantity_milli;
    rc = fr__alloc_touch(e, rec);
    if (rc == FR_OK && grows && target != FR_ALLOC_RELEASED) {
        int overcommit = (s & FR_ALLOC_F_OVERCOMMIT) && p->overcommit;
        rc = check_booking(e, rec->pool, &next, overcommit, res);
    }
    if (rc == FR_OK && (s & FR_ALLOC_F_METADATA)) {
        rc = set_metadata(&rec->a, p->metadata_json);
    }
    if (rc != FR_OK) {
        return rc;
    }
    rec->a.start_ms = next.start_ms;
    rec->a.end_ms = next.end_ms;
    rec->a.quantity_milli = next.quantity_milli;
    rec->a.priority = (s & FR_ALLOC_F_PRIORITY) ? p->priority : rec->a.priority;
    const char *verb = "updated";
    if (target == FR_ALLOC_CONFIRMED && rec->a.status == FR_ALLOC_HELD) {
        rec->a.status = FR_ALLOC_CONFIRMED;
        rec->a.hold_expires_at_ms = FR_TIME_NULL;
        verb = "confirmed";
    } else if (target == FR_ALLOC_RELEASED) {
        rec->a.status = FR_ALLOC_RELEASED;
        rec->a.end_ms = rec->a.end_ms < now ? rec->a.end_ms : now;
        rec->a.released_at_ms = now;
        verb = "released";
    }
    rc = fr__alloc_changed(e, rec, verb);
    if (rc == FR_OK) {
        rc = after_free(e, rec);
    }
    return rc;
}

int fr_allocation_update(fr_engine *engine, const fr_ctx *ctx, const char *id,
                         const fr_allocation_params *params, fr_allocation *out, fr_result *res)
{
    if (engine == NULL || params == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and params are required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__begin_call(engine, ctx);
    fr__alloc_rec *rec = rc == FR_OK ? find_alloc(engine, id) : NULL;
    if (rc == FR_OK && rec == NULL) {
        fr__result_fail(res, FR_ENOTFOUND, NULL, "allocation %s not found", id != NULL ? id : "");
        rc = FR_ENOTFOUND;
    }
    if (rc == FR_OK) {
        rc = fr__check_if_match(ctx, rec->a.version, res);
    }
    if (rc == FR_OK) {
        rc = update_in_txn(engine, ctx, rec, params, res);
    }
    if (rc == FR_OK) {
        rc = finish(engine, &rec, 1, out, res);
    } else if (engine->txn.id != 0) {
        fr__txn_abort(engine);
    }
    return fr__unlock_call(engine, rc);
}

int fr_allocation_delete(fr_engine *engine, const fr_ctx *ctx, const char *id,
                         fr_allocation *out, fr_result *res)
{
    if (engine == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine is required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__begin_call(engine, ctx);
    fr__alloc_rec *rec = rc == FR_OK ? find_alloc(engine, id) : NULL;
    if (rc == FR_OK && rec == NULL) {
        fr__result_fail(res, FR_ENOTFOUND, NULL, "allocation %s not found", id != NULL ? id : "");
        rc = FR_ENOTFOUND;
    }
    if (rc == FR_OK) {
        rc = fr__check_if_match(ctx, rec->a.version, res);
    }
    if (rc == FR_OK && !fr__alloc_is_live(&rec->a)) {
        fr__result_fail(res, FR_ESTATE, NULL, "allocation %s is already %s", rec->a.id,
                        fr_allocation_status_name(rec->a.status));
        rc = FR_ESTATE;
    }
    if (rc == FR_OK) {
        /* DELETE is the client's own cancel: its request is not re-queued. */
        rc = fr__alloc_end(engine, rec, FR_ALLOC_CANCELLED, 0);
    }
    if (rc == FR_OK) {
        rc = finish(engine, &rec, 1, out, res);
    } else if (engine->txn.id != 0) {
        fr__txn_abort(engine);
    }
    return fr__unlock_call(engine, rc);
}

int fr_allocation_get(fr_engine *engine, const char *id, fr_allocation *out)
{
    if (engine == NULL || out == NULL) {
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__advance(engine, fr__now(engine));
    fr__alloc_rec *rec = rc == FR_OK ? find_alloc(engine, id) : NULL;
    if (rc == FR_OK) {
        rc = rec == NULL ? FR_ENOTFOUND : fr__allocation_copy(out, &rec->a);
    }
    return fr__unlock_call(engine, rc);
}
