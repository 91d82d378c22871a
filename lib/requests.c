/*
 * requests.c — the request queue's public face (SPEC §4): create, update,
 * cancel, read, and the time-driven expiry and re-queueing.
 *
 * A pending request sits in the queue of its (fleet_id, resource_type); the
 * queue order never changes with time (queue.h), so reads compute
 * queue_position and effective_priority at the moment of the read.
 */
#include <stdlib.h>
#include <string.h>

#include "fr_int.h"

#define FR__DURATION_MAX_MS (INT64_C(366) * FR__DAY_MS)

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void fr__req_fill_computed(fr_engine *e, const fr__req_rec *rec, fr_request *out)
{
    int64_t now = e->txn.id != 0 ? e->txn.now_ms : fr__now(e);
    if (rec->r.status != FR_REQ_PENDING || rec->queue_ref == 0) {
        out->queue_position = 0;
        out->effective_priority = 0;
        out->estimated_start_ms = FR_TIME_NULL;
        return;
    }
    out->queue_position = (int64_t)fr__queue_position(rec->queue->queue, rec->queue_ref);
    out->effective_priority =
        rec->r.priority + floor_div(now - rec->r.created_at_ms, e->aging_ms);
    out->estimated_start_ms = fr__req_estimated_start(e, &rec->r, now);
}

static int copy_out(fr_engine *e, const fr__req_rec *rec, fr_request *out)
{
    int rc = fr__request_copy(out, &rec->r);
    if (rc == FR_OK) {
        fr__req_fill_computed(e, rec, out);
    }
    return rc;
}

/* ---- validation ---------------------------------------------------------- */

static int fail(fr_result *res, int status, const char *field, const char *why)
{
    fr__result_fail(res, status, field, "%s %s", field, why);
    return status;
}

/* Checks a complete request (after defaults / a partial update). */
static int check_request(fr_engine *e, const fr_request *r, const fr_ctx *ctx, int64_t now,
                         int check_pool, fr_result *res)
{
    if (!fr__valid_client_id(r->fleet_id)) {
        return fail(res, FR_EINVAL, "fleet_id", "is required: 1-128 printable characters");
    }
    if (!fr__valid_slug(r->resource_type)) {
        return fail(res, FR_EINVAL, "resource_type", "is required: a slug");
    }
    if (r->vehicle_id == NULL && r->operation_id == NULL) {
        return fail(res, FR_EINVAL, "vehicle_id", "or operation_id is required");
    }
    if ((r->vehicle_id != NULL && !fr__valid_client_id(r->vehicle_id))) {
        return fail(res, FR_EINVAL, "vehicle_id", "is invalid");
    }
    if ((r->operation_id != NULL && !fr__valid_client_id(r->operation_id))) {
        return fail(res, FR_EINVAL, "operation_id", "is invalid");
    }
    if (r->site != NULL && !fr__valid_client_id(r->site)) {
        return fail(res, FR_EINVAL, "site", "is invalid");
    }
    if (r->quantity_milli <= 0 || r->quantity_milli > FR_QTY_MAX_MILLI) {
        return fail(res, FR_EINVAL, "quantity", "must be > 0 and <= 1e12");
    }
    if (r->priority < 0 || r->priority > FR_PRIORITY_MAX) {
        return fail(res, FR_EINVAL, "priority", "must be 0..1000");
    }
    if (!fr__valid_time(r->earliest_start_ms)) {
        return fail(res, FR_EINVAL, "earliest_start", "is invalid");
    }
    if (!fr__valid_end(r->latest_end_ms) || r->latest_end_ms <= r->earliest_start_ms) {
        return fail(res, FR_EINVAL, "latest_end", "must be after earliest_start");
    }
    if (r->duration_ms <= 0 || r->duration_ms > FR__DURATION_MAX_MS) {
        return fail(res, FR_EINVAL, "duration_seconds", "must be > 0 and at most 366 days");
    }
    if (r->latest_end_ms != FR_TIME_INF &&
        r->latest_end_ms - r->earliest_start_ms < r->duration_ms) {
        return fail(res, FR_EINVAL, "duration_seconds", "is longer than the window");
    }
    if (r->latest_end_ms != FR_TIME_INF && r->latest_end_ms - r->duration_ms < now) {
        return fail(res, FR_EINVAL, "latest_end", "leaves no room to start from now");
    }
    if (r->preempt && (ctx == NULL || !ctx->may_preempt)) {
        return fail(res, FR_EFORBIDDEN, "preempt", "needs the planner role");
    }
    /* A pool deleted after the request was made is no reason to refuse an
     * unrelated change: the reference is checked when it is set. */
    if (check_pool && r->pool_id[0] != 0) {
        fr__pool_rec *pool = fr__idmap_get(&e->pools_by_id, r->pool_id);
        if (pool == NULL || pool->p.deleted) {
            return fail(res, FR_EREFERENCE, "pool_id", "names no pool");
        }
        if (strcmp(pool->p.fleet_id, r->fleet_id) != 0 ||
            strcmp(pool->p.resource_type, r->resource_type) != 0) {
            return fail(res, FR_EINVAL, "pool_id", "is of another fleet or resource type");
        }
    }
    return FR_OK;
}

/* Applies params onto r (deep copies).  `create` fills defaults. */
static int apply_params(fr_request *r, const fr_request_params *p, int64_t now, int create,
                        fr_result *res)
{
    uint32_t s = p->set;
    int rc = FR_OK;
    if (s & FR_REQ_F_FLEET_ID) rc = rc ? rc : fr__set_string(&r->fleet_id, p->fleet_id);
    if (s & FR_REQ_F_RESOURCE_TYPE) rc = rc ? rc : fr__set_string(&r->resource_type, p->resource_type);
    if (s & FR_REQ_F_VEHICLE_ID) rc = rc ? rc : fr__set_string(&r->vehicle_id, p->vehicle_id);
    if (s & FR_REQ_F_OPERATION_ID) rc = rc ? rc : fr__set_string(&r->operation_id, p->operation_id);
    if (s & FR_REQ_F_SITE) rc = rc ? rc : fr__set_string(&r->site, p->site);
    if (s & FR_REQ_F_METADATA) {
        if (!fr__valid_json_object(p->metadata_json)) {
            return fail(res, FR_EINVAL, "metadata", "must be a JSON object");
        }
        rc = rc ? rc : fr__set_string(&r->metadata_json, p->metadata_json);
    }
    if (create && r->metadata_json == NULL) rc = rc ? rc : fr__set_string(&r->metadata_json, "{}");
    if (rc != FR_OK) {
        return rc;
    }
    if (s & FR_REQ_F_POOL_ID) {
        if (p->pool_id != NULL && strlen(p->pool_id) >= FR_ID_SIZE) {
            return fail(res, FR_EREFERENCE, "pool_id", "names no pool");
        }
        strcpy(r->pool_id, p->pool_id != NULL ? p->pool_id : "");
    }
    if (s & FR_REQ_F_QUANTITY) r->quantity_milli = p->quantity_milli;
    if (s & FR_REQ_F_PRIORITY) r->priority = p->priority;
    if (s & FR_REQ_F_PREEMPT) r->preempt = p->preempt != 0;
    if (s & FR_REQ_F_EARLIEST_START) r->earliest_start_ms = p->earliest_start_ms;
    else if (create) r->earliest_start_ms = now;
    if (s & FR_REQ_F_LATEST_END) r->latest_end_ms = p->latest_end_ms;
    else if (create) r->latest_end_ms = FR_TIME_INF;
    if (s & FR_REQ_F_DURATION) {
        r->duration_ms = p->duration_ms;
    } else if (create || (s & (FR_REQ_F_EARLIEST_START | FR_REQ_F_LATEST_END))) {
        /* Default: the whole window; required without a deadline. */
        if (r->latest_end_ms == FR_TIME_INF || !fr__valid_time(r->earliest_start_ms)) {
            if (create) {
                return fail(res, FR_EINVAL, "duration_seconds", "is required without latest_end");
            }
        } else if (create) {
            r->duration_ms = r->latest_end_ms - r->earliest_start_ms;
        }
    }
    return FR_OK;
}

/* ---- API ------------------------------------------------------------------ */

static int commit_and_copy(fr_engine *e, fr__req_rec *rec, fr_request *out, fr_result *res)
{
    char id[FR_ID_SIZE];
    memcpy(id, rec->r.id, FR_ID_SIZE);
    int rc = fr__txn_commit(e, res);
    if (rc == FR_OK && out != NULL) {
        rc = copy_out(e, fr__idmap_get(&e->reqs_by_id, id), out);
    }
    return rc;
}

static int create_locked(fr_engine *e, const fr_ctx *ctx, const fr_request_params *p,
                         fr_request *out, fr_result *res)
{
    int64_t now = fr__now(e);
    fr__req_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    rec->r.status = FR_REQ_PENDING;
    rec->r.fulfilled_at_ms = FR_TIME_NULL;
    int rc = apply_params(&rec->r, p, now, 1, res);
    if (rc == FR_OK) {
        rc = fr__begin_call(e, ctx);
        if (rc == FR_OK) {
            rc = check_request(e, &rec->r, ctx, e->txn.now_ms, 1, res);
            if (rc != FR_OK) {
                fr__txn_abort(e);
            }
        }
    }
    if (rc != FR_OK) {
        fr_request_clear(&rec->r);
        free(rec);
        return rc;
    }
    fr__new_id(e, rec->r.id);
    rc = fr__req_created(e, rec, "created");
    if (rc != FR_OK && fr__idmap_get(&e->reqs_by_id, rec->r.id) != rec) {
        fr__txn_abort(e);
        fr_request_clear(&rec->r);
        free(rec);
        return rc;
    }
    if (rc == FR_OK) {
        rc = fr__mark_queue_dirty(e, rec->r.fleet_id, rec->r.resource_type);
    }
    if (rc != FR_OK) {
        fr__txn_abort(e);
        return rc;
    }
    return commit_and_copy(e, rec, out, res);
}

int fr_request_create(fr_engine *engine, const fr_ctx *ctx, const fr_request_params *params,
                      fr_request *out, fr_result *res)
{
    if (engine == NULL || params == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and params are required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    fr__idem_prior prior;
    int rc = fr__idem_lookup(engine, ctx, &prior, res);
    if (rc == FR_OK && prior.found) {
        rc = fr__idem_replay(engine, &prior, FR_ENTITY_REQUEST, out, 1, res);
    } else if (rc == FR_OK) {
        rc = create_locked(engine, ctx, params, out, res);
        rc = fr__idem_settle(engine, ctx, rc, &prior, FR_ENTITY_REQUEST, out, 1, res);
    }
    fr__idem_prior_clear(&prior);
    return fr__unlock_call(engine, rc);
}

static fr__req_rec *find_pending(fr_engine *e, const char *id, const fr_ctx *ctx, int *rc,
                                 fr_result *res)
{
    fr__req_rec *rec = id == NULL ? NULL : fr__idmap_get(&e->reqs_by_id, id);
    if (rec == NULL) {
        fr__result_fail(res, FR_ENOTFOUND, NULL, "request %s not found", id != NULL ? id : "");
        *rc = FR_ENOTFOUND;
        return NULL;
    }
    *rc = fr__check_if_match(ctx, rec->r.version, res);
    if (*rc == FR_OK && rec->r.status != FR_REQ_PENDING) {
        fr__result_fail(res, FR_ESTATE, NULL, "request %s is %s, not pending", rec->r.id,
                        fr_request_status_name(rec->r.status));
        *rc = FR_ESTATE;
    }
    return *rc == FR_OK ? rec : NULL;
}

static int immutable(const fr_request *r, const fr_request_params *p, fr_result *res)
{
    if ((p->set & FR_REQ_F_FLEET_ID) && (p->fleet_id == NULL || strcmp(p->fleet_id, r->fleet_id) != 0)) {
        return fail(res, FR_EINVAL, "fleet_id", "cannot be changed");
    }
    if ((p->set & FR_REQ_F_RESOURCE_TYPE) &&
        (p->resource_type == NULL || strcmp(p->resource_type, r->resource_type) != 0)) {
        return fail(res, FR_EINVAL, "resource_type", "cannot be changed");
    }
    return FR_OK;
}

static int update_locked(fr_engine *e, const fr_ctx *ctx, const char *id,
                         const fr_request_params *p, fr_request *out, fr_result *res)
{
    int rc = fr__begin_call(e, ctx);
    if (rc != FR_OK) {
        return rc;
    }
    fr__req_rec *rec = find_pending(e, id, ctx, &rc, res);
    if (rc == FR_OK) {
        rc = immutable(&rec->r, p, res);
    }
    fr_request next;
    memset(&next, 0, sizeof next);
    if (rc == FR_OK) {
        rc = fr__request_copy(&next, &rec->r);
    }
    if (rc == FR_OK) {
        rc = apply_params(&next, p, e->txn.now_ms, 0, res);
        if (rc == FR_OK) {
            rc = check_request(e, &next, ctx, e->txn.now_ms,
                               (p->set & FR_REQ_F_POOL_ID) != 0, res);
        }
    }
    if (rc == FR_OK) {
        rc = fr__req_touch(e, rec);
    }
    if (rc == FR_OK) {
        fr_request_clear(&rec->r);
        rec->r = next; /* takes next's strings */
        memset(&next, 0, sizeof next);
        rec->r.pending_reason = FR_REASON_NONE;
        rc = fr__req_changed(e, rec, "updated");
    }
    fr_request_clear(&next);
    if (rc == FR_OK) {
        rc = fr__mark_queue_dirty(e, rec->r.fleet_id, rec->r.resource_type);
    }
    if (rc != FR_OK) {
        fr__txn_abort(e);
        return rc;
    }
    return commit_and_copy(e, rec, out, res);
}

int fr_request_update(fr_engine *engine, const fr_ctx *ctx, const char *id,
                      const fr_request_params *params, fr_request *out, fr_result *res)
{
    if (engine == NULL || params == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and params are required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = update_locked(engine, ctx, id, params, out, res);
    return fr__unlock_call(engine, rc);
}

int fr_request_delete(fr_engine *engine, const fr_ctx *ctx, const char *id, fr_request *out,
                      fr_result *res)
{
    if (engine == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine is required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__begin_call(engine, ctx);
    fr__req_rec *rec = rc == FR_OK ? find_pending(engine, id, ctx, &rc, res) : NULL;
    if (rc == FR_OK) {
        rc = fr__req_touch(engine, rec);
    }
    if (rc == FR_OK) {
        rec->r.status = FR_REQ_CANCELLED;
        rc = fr__req_changed(engine, rec, "cancelled");
    }
    if (rc == FR_OK) {
        rc = commit_and_copy(engine, rec, out, res);
    } else if (engine->txn.id != 0) {
        fr__txn_abort(engine);
    }
    return fr__unlock_call(engine, rc);
}

int fr_request_get(fr_engine *engine, const char *id, fr_request *out)
{
    if (engine == NULL || out == NULL) {
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__advance(engine, fr__now(engine));
    fr__req_rec *rec = (rc == FR_OK && id != NULL) ? fr__idmap_get(&engine->reqs_by_id, id) : NULL;
    if (rc == FR_OK) {
        rc = rec == NULL ? FR_ENOTFOUND : copy_out(engine, rec, out);
    }
    return fr__unlock_call(engine, rc);
}

/* ---- time-driven and caused changes --------------------------------------- */

int fr__req_requeue(fr_engine *e, const char *request_id)
{
    fr__req_rec *rec = fr__idmap_get(&e->reqs_by_id, request_id);
    if (rec == NULL || rec->r.status != FR_REQ_FULFILLED) {
        return FR_OK;
    }
    int rc = fr__req_touch(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    rec->r.status = FR_REQ_PENDING;
    rec->r.pending_reason = FR_REASON_NONE;
    rec->r.allocation_id[0] = 0;
    rec->r.fulfilled_at_ms = FR_TIME_NULL;
    rc = fr__req_changed(e, rec, "requeued");
    if (rc == FR_OK) {
        rc = fr__mark_queue_dirty(e, rec->r.fleet_id, rec->r.resource_type);
    }
    return rc;
}

int fr__req_expire_due(fr_engine *e, int64_t now_ms)
{
    int64_t key;
    void *payload;
    uint64_t stamp;
    while (fr__heap_peek(e->deadline_heap, &key, &payload, &stamp) && key < now_ms) {
        fr__heap_pop(e->deadline_heap);
        fr__req_rec *rec = payload;
        if (rec->stamp != stamp || rec->r.status != FR_REQ_PENDING) {
            continue;
        }
        int rc = fr__req_touch(e, rec);
        if (rc != FR_OK) {
            return rc;
        }
        rec->r.status = FR_REQ_EXPIRED;
        rc = fr__req_changed(e, rec, "expired");
        if (rc != FR_OK) {
            return rc;
        }
    }
    return FR_OK;
}
