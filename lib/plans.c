/*
 * plans.c — plans as entities (SPEC §7): create (plan a draft), update
 * (re-plan a draft with changed inputs), commit (book every assignment, all
 * or nothing), discard, delete, reads, the store and the accuracy figure.
 *
 * A plan is read-only advice until committed: making or re-making one reads
 * the ledger (plan_build.c) and writes only the plan.  Commit re-checks
 * every assignment against the state at that moment — pool still active,
 * request still pending, no double booking, capacity — inside one
 * transaction, booking as it goes so the assignments are also checked
 * against each other; if any fails, the transaction is undone and the
 * caller gets FR_EPLAN_STALE with the list of what no longer fits.
 *
 * Deleted plans keep their record (deleted = 1, hidden from reads), like
 * pools: the store only upserts, and the history stays consistent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "plans.h"

#define PLAN_BUCKET_DEFAULT_MS INT64_C(3600000)

/* ---- store, load, free -------------------------------------------------------- */

static int store_has_plans(const fr_engine *e)
{
    const struct fr_store_methods *m = e->store->methods;
    return m->version >= 5 && m->put_plan != NULL;
}

int fr__plan_put(fr_engine *e, const fr__plan_rec *rec)
{
    if (!store_has_plans(e)) {
        return FR_ESTORE;
    }
    return e->store->methods->put_plan(e->store, &rec->p);
}

static int64_t plan_created_of(const void *r)
{
    return ((const fr__plan_rec *)r)->p.created_at_ms;
}

static const char *plan_id_of(const void *r)
{
    return ((const fr__plan_rec *)r)->p.id;
}

int fr__load_plan(void *ctx, const fr_plan *plan)
{
    fr_engine *e = ctx;
    /* A re-plan divides by the bucket and walks the horizon: check them. */
    int64_t span = plan->horizon_end_ms - plan->horizon_start_ms;
    if (plan->fleet_id == NULL || plan->id[0] == 0 || fr__idmap_get(&e->plans_by_id, plan->id) ||
        !fr__valid_time(plan->horizon_start_ms) || !fr__valid_time(plan->horizon_end_ms) ||
        span <= 0 || span > FR_PLAN_HORIZON_MAX_MS || plan->bucket_ms <= 0 ||
        (span + plan->bucket_ms - 1) / plan->bucket_ms > FR_PLAN_BUCKETS_MAX ||
        plan->status < FR_PLAN_DRAFT || plan->status > FR_PLAN_DISCARDED) {
        return FR_ESTORE; /* damaged, or a duplicate */
    }
    fr__plan_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    int rc = fr__plan_copy(&rec->p, plan);
    if (rc == FR_OK) {
        rc = fr__idmap_put(&e->plans_by_id, rec->p.id, rec);
    }
    if (rc == FR_OK) {
        rc = fr__vec_insert_ordered(&e->plans, rec, rec->p.created_at_ms, rec->p.id,
                                    plan_created_of, plan_id_of);
        if (rc != FR_OK) {
            fr__idmap_del(&e->plans_by_id, rec->p.id);
        }
    }
    if (rc != FR_OK) {
        fr_plan_clear(&rec->p);
        free(rec);
    }
    return rc;
}

void fr__plans_free(fr_engine *e)
{
    for (size_t i = 0; i < e->plans.len; i++) {
        fr__plan_rec *rec = e->plans.items[i];
        fr_plan_clear(&rec->p);
        free(rec);
    }
    fr__vec_free(&e->plans);
    fr__idmap_free(&e->plans_by_id);
}

/* ---- inputs ---------------------------------------------------------------------- */

/* A pool the plan may name: exists, not deleted, in the plan's fleet. */
static int pool_of_fleet(fr_engine *e, const char *id, const char *fleet_id)
{
    const fr__pool_rec *pool = fr__idmap_get(&e->pools_by_id, id);
    return pool != NULL && !pool->p.deleted && strcmp(pool->p.fleet_id, fleet_id) == 0;
}

static int fail_item(fr_result *res, int status, const char *list, size_t i, const char *field,
                     const char *why)
{
    char name[64];
    snprintf(name, sizeof name, "%s[%zu].%s", list, i, field);
    fr__result_fail(res, status, name, "%s %s", name, why);
    return status;
}

/* Checks one demand's own fields and fills out with the defaults applied. */
static int demand_check(fr_engine *e, const fr_plan *plan, const fr_plan_demand *in, size_t i,
                        char ref[24], fr_plan_demand *out, fr_result *res)
{
    snprintf(ref, 24, "%zu", i + 1);
    *out = *in;
    out->ref = in->ref != NULL ? in->ref : ref;
    out->earliest_start_ms =
        in->earliest_start_ms == FR_TIME_NULL ? plan->horizon_start_ms : in->earliest_start_ms;
    if (!fr__valid_client_id(out->ref)) {
        return fail_item(res, FR_EINVAL, "demands", i, "ref", "must be 1-128 printable characters");
    }
    if (in->resource_type == NULL || !fr__valid_slug(in->resource_type)) {
        return fail_item(res, FR_EINVAL, "demands", i, "resource_type", "is required (a slug)");
    }
    if ((in->site != NULL && !fr__valid_client_id(in->site)) ||
        (in->vehicle_id != NULL && !fr__valid_client_id(in->vehicle_id))) {
        return fail_item(res, FR_EINVAL, "demands", i, in->site != NULL ? "site" : "vehicle_id",
                         "must be 1-128 printable characters");
    }
    if (in->quantity_milli <= 0 || in->quantity_milli > FR_QTY_MAX_MILLI) {
        return fail_item(res, FR_EINVAL, "demands", i, "quantity", "must be > 0 and <= 1e12");
    }
    if (!fr__valid_time(out->earliest_start_ms) || !fr__valid_end(in->latest_end_ms)) {
        return fail_item(res, FR_EINVAL, "demands", i, "earliest_start", "is out of range");
    }
    if (in->priority < 0 || in->priority > FR_PRIORITY_MAX) {
        return fail_item(res, FR_EINVAL, "demands", i, "priority", "must be 0-1000");
    }
    if (in->duration_ms == 0 && in->latest_end_ms == FR_TIME_INF) {
        return fail_item(res, FR_EINVAL, "demands", i, "duration_seconds",
                         "is required without latest_end");
    }
    if (in->duration_ms == 0) {
        out->duration_ms = in->latest_end_ms - out->earliest_start_ms;
    }
    if (out->duration_ms <= 0 || out->duration_ms > FR_PLAN_HORIZON_MAX_MS ||
        (in->latest_end_ms != FR_TIME_INF &&
         in->latest_end_ms - out->earliest_start_ms < out->duration_ms)) {
        return fail_item(res, FR_EINVAL, "demands", i, "duration_seconds",
                         "must be > 0, at most 31 days, and fit between earliest_start and "
                         "latest_end");
    }
    if (in->pool_id[0] != 0 && !pool_of_fleet(e, in->pool_id, plan->fleet_id)) {
        return fail_item(res, FR_EREFERENCE, "demands", i, "pool_id", "names no pool of the fleet");
    }
    return FR_OK;
}

/* Deep copy of a checked demand (its ref may point at the caller's default). */
static int demand_own(const fr_plan_demand *d, fr_plan_demand *out)
{
    *out = *d;
    out->ref = strdup(d->ref);
    out->resource_type = strdup(d->resource_type);
    out->site = fr__strdup_or_null(d->site);
    out->vehicle_id = fr__strdup_or_null(d->vehicle_id);
    if (out->ref == NULL || out->resource_type == NULL || (d->site && !out->site) ||
        (d->vehicle_id && !out->vehicle_id)) {
        return FR_ENOMEM;
    }
    return FR_OK;
}

/* Replaces plan->demands with the checked, owned copies of in[0..n). */
static int set_demands(fr_engine *e, fr_plan *plan, const fr_plan_demand *in, size_t n,
                       fr_result *res)
{
    if (n > FR_PLAN_DEMANDS_MAX || (n > 0 && in == NULL)) {
        fr__result_fail(res, FR_EINVAL, "demands", "demands holds at most %d items",
                        FR_PLAN_DEMANDS_MAX);
        return FR_EINVAL;
    }
    fr_plan tmp = {0};
    tmp.demands = calloc(n + 1, sizeof *tmp.demands);
    fr__idmap refs = {0};
    int rc = tmp.demands == NULL ? FR_ENOMEM : FR_OK;
    for (size_t i = 0; rc == FR_OK && i < n; i++) {
        fr_plan_demand d;
        char ref[24];
        rc = demand_check(e, plan, &in[i], i, ref, &d, res);
        if (rc == FR_OK && fr__idmap_get(&refs, d.ref) != NULL) {
            rc = fail_item(res, FR_EINVAL, "demands", i, "ref", "repeats another demand's ref");
        }
        if (rc == FR_OK) {
            tmp.demands_len++;
            rc = demand_own(&d, &tmp.demands[i]);
        }
        if (rc == FR_OK) {
            rc = fr__idmap_put(&refs, tmp.demands[i].ref, &tmp.demands[i]);
        }
    }
    fr__idmap_free(&refs);
    if (rc == FR_OK) {
        fr_plan old = {0};
        old.demands = plan->demands;
        old.demands_len = plan->demands_len;
        plan->demands = tmp.demands;
        plan->demands_len = tmp.demands_len;
        tmp = old;
    }
    fr_plan_clear(&tmp);
    return rc;
}

static int set_changes(fr_engine *e, fr_plan *plan, const fr_plan_capacity_change *in, size_t n,
                       fr_result *res)
{
    if (n > FR_PLAN_CHANGES_MAX || (n > 0 && in == NULL)) {
        fr__result_fail(res, FR_EINVAL, "capacity_changes",
                        "capacity_changes holds at most %d items", FR_PLAN_CHANGES_MAX);
        return FR_EINVAL;
    }
    fr_plan_capacity_change *out = calloc(n + 1, sizeof *out);
    if (out == NULL) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = in[i];
        if (out[i].start_ms == FR_TIME_NULL) {
            out[i].start_ms = plan->horizon_start_ms;
        }
        int rc = FR_OK;
        if (!fr__valid_time(out[i].start_ms) || !fr__valid_end(out[i].end_ms) ||
            out[i].end_ms <= out[i].start_ms) {
            rc = fail_item(res, FR_EINVAL, "capacity_changes", i, "end", "must be after start");
        } else if (out[i].delta_milli < -FR_QTY_MAX_MILLI || out[i].delta_milli > FR_QTY_MAX_MILLI) {
            rc = fail_item(res, FR_EINVAL, "capacity_changes", i, "delta", "must be within +-1e12");
        } else if (!pool_of_fleet(e, out[i].pool_id, plan->fleet_id)) {
            rc = fail_item(res, FR_EREFERENCE, "capacity_changes", i, "pool_id",
                           "names no pool of the fleet");
        }
        if (rc != FR_OK) {
            free(out);
            return rc;
        }
    }
    free(plan->capacity_changes);
    plan->capacity_changes = out;
    plan->capacity_changes_len = n;
    return FR_OK;
}

static int fail(fr_result *res, const char *field, const char *why)
{
    fr__result_fail(res, FR_EINVAL, field, "%s %s", field, why);
    return FR_EINVAL;
}

/* fleet_id, name, time budget, include_pending_requests. */
static int apply_scalars(const fr_plan_params *p, int creating, fr_plan *plan, fr_result *res)
{
    uint32_t s = p->set;
    if (creating && (!(s & FR_PLAN_F_FLEET_ID) || p->fleet_id == NULL)) {
        return fail(res, "fleet_id", "is required");
    }
    if ((s & FR_PLAN_F_FLEET_ID) && (p->fleet_id == NULL || !fr__valid_client_id(p->fleet_id))) {
        return fail(res, "fleet_id", "must be 1-128 printable characters");
    }
    if (!creating && (s & FR_PLAN_F_FLEET_ID) && strcmp(p->fleet_id, plan->fleet_id) != 0) {
        return fail(res, "fleet_id", "cannot be changed");
    }
    if ((s & FR_PLAN_F_NAME) && p->name != NULL && !fr__valid_name(p->name)) {
        return fail(res, "name", "must be 1-256 printable characters");
    }
    if ((s & FR_PLAN_F_TIME_BUDGET) &&
        (p->time_budget_ms < 1 || p->time_budget_ms > FR_PLAN_BUDGET_MAX_MS)) {
        return fail(res, "time_budget_ms", "must be 1-60000");
    }
    if (creating && fr__set_string(&plan->fleet_id, p->fleet_id) != FR_OK) {
        return FR_ENOMEM;
    }
    if ((s & FR_PLAN_F_NAME) && fr__set_string(&plan->name, p->name) != FR_OK) {
        return FR_ENOMEM;
    }
    if (s & FR_PLAN_F_TIME_BUDGET) {
        plan->time_budget_ms = p->time_budget_ms;
    }
    if (s & FR_PLAN_F_INCLUDE_PENDING) {
        plan->include_pending_requests = p->include_pending_requests != 0;
    }
    return FR_OK;
}

/* Horizon and bucket: start (default now), end or length, bounds. */
static int apply_horizon(const fr_plan_params *p, int creating, int64_t now_ms, fr_plan *plan,
                         fr_result *res)
{
    uint32_t s = p->set;
    if ((s & FR_PLAN_F_HORIZON_END) && (s & FR_PLAN_F_HORIZON_LENGTH)) {
        return fail(res, "horizon_end", "and horizon_hours cannot both be given");
    }
    if (creating && !(s & (FR_PLAN_F_HORIZON_END | FR_PLAN_F_HORIZON_LENGTH))) {
        return fail(res, "horizon_end", "(or horizon_hours) is required");
    }
    if ((s & FR_PLAN_F_HORIZON_START) && !fr__valid_time(p->horizon_start_ms)) {
        return fail(res, "horizon_start", "is out of range");
    }
    int64_t start = (s & FR_PLAN_F_HORIZON_START) ? p->horizon_start_ms
                    : creating                    ? now_ms
                                                  : plan->horizon_start_ms;
    int64_t end = plan->horizon_end_ms;
    if (s & FR_PLAN_F_HORIZON_END) {
        end = p->horizon_end_ms;
    } else if (s & FR_PLAN_F_HORIZON_LENGTH) {
        if (p->horizon_ms <= 0 || p->horizon_ms > FR_PLAN_HORIZON_MAX_MS) {
            return fail(res, "horizon_hours", "must be > 0 and at most 31 days");
        }
        end = start + p->horizon_ms;
    }
    if (!fr__valid_time(end) || end <= start || end - start > FR_PLAN_HORIZON_MAX_MS) {
        return fail(res, "horizon_end", "must be after horizon_start, at most 31 days later");
    }
    int64_t bucket = (s & FR_PLAN_F_BUCKET) ? p->bucket_ms : plan->bucket_ms;
    if (bucket <= 0 || (end - start + bucket - 1) / bucket > FR_PLAN_BUCKETS_MAX) {
        return fail(res, "bucket_seconds", "must be > 0, with at most 10000 buckets in the horizon");
    }
    plan->horizon_start_ms = start;
    plan->horizon_end_ms = end;
    plan->bucket_ms = bucket;
    return FR_OK;
}

/* Applies params to plan (a private working copy), checking everything. */
static int apply_params(fr_engine *e, const fr_plan_params *p, int creating, int64_t now_ms,
                        fr_plan *plan, fr_result *res)
{
    int rc = apply_scalars(p, creating, plan, res);
    if (rc == FR_OK) {
        rc = apply_horizon(p, creating, now_ms, plan, res);
    }
    if (rc == FR_OK && (p->set & FR_PLAN_F_DEMANDS)) {
        rc = set_demands(e, plan, p->demands, p->demands_len, res);
    }
    if (rc == FR_OK && (p->set & FR_PLAN_F_CAPACITY_CHANGES)) {
        rc = set_changes(e, plan, p->capacity_changes, p->capacity_changes_len, res);
    }
    return rc;
}

/* ---- calls ------------------------------------------------------------------------- */

static fr__plan_rec *find_plan(fr_engine *e, const char *id, fr_result *res)
{
    fr__plan_rec *rec = id != NULL ? fr__idmap_get(&e->plans_by_id, id) : NULL;
    if (rec == NULL || rec->p.deleted) {
        fr__result_fail(res, FR_ENOTFOUND, NULL, "plan %.64s does not exist", id ? id : "");
        return NULL;
    }
    return rec;
}

/* A changing call on an existing plan: found, If-Match, expected status. */
static int plan_for_change(fr_engine *e, const fr_ctx *ctx, const char *id, int need_draft,
                           fr__plan_rec **out, fr_result *res)
{
    fr__plan_rec *rec = find_plan(e, id, res);
    if (rec == NULL) {
        return FR_ENOTFOUND;
    }
    int rc = fr__check_if_match(ctx, rec->p.version, res);
    if (rc != FR_OK) {
        return rc;
    }
    if (need_draft && rec->p.status != FR_PLAN_DRAFT) {
        fr__result_fail(res, FR_ESTATE, "status", "plan %s is %s, not a draft", rec->p.id,
                        fr_plan_status_name(rec->p.status));
        return FR_ESTATE;
    }
    *out = rec;
    return FR_OK;
}

/* Commits the open txn (or undoes it when rc failed) and copies the plan. */
static int finish(fr_engine *e, int rc, const char *id, fr_plan *out, fr_result *res)
{
    if (rc != FR_OK) {
        fr__txn_abort(e);
        return rc;
    }
    rc = fr__txn_commit(e, res);
    if (rc == FR_OK && out != NULL) {
        rc = fr__plan_copy(out, &((fr__plan_rec *)fr__idmap_get(&e->plans_by_id, id))->p);
    }
    return rc;
}

static int create_in_txn(fr_engine *e, const fr_plan_params *params, char id[FR_ID_SIZE],
                         fr_result *res)
{
    fr__plan_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    fr_plan *p = &rec->p;
    p->status = FR_PLAN_DRAFT;
    p->bucket_ms = PLAN_BUCKET_DEFAULT_MS;
    p->include_pending_requests = 1;
    p->time_budget_ms = FR_PLAN_BUDGET_DEFAULT_MS;
    p->committed_at_ms = FR_TIME_NULL;
    int rc = apply_params(e, params, 1, e->txn.now_ms, p, res);
    if (rc == FR_OK) {
        rc = fr__plan_run(e, p, e->txn.now_ms, res);
    }
    if (rc == FR_OK) {
        fr__new_id(e, p->id);
        memcpy(id, p->id, FR_ID_SIZE);
        rc = fr__plan_created(e, rec);
        if (rc == FR_OK || fr__idmap_get(&e->plans_by_id, p->id) == rec) {
            return rc; /* registered: the txn owns it now */
        }
    }
    fr_plan_clear(p);
    free(rec);
    return rc;
}

int fr_plan_create(fr_engine *engine, const fr_ctx *ctx, const fr_plan_params *params,
                   fr_plan *out, fr_result *res)
{
    if (engine == NULL || params == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and params are required");
        return FR_EINVAL;
    }
    if (!store_has_plans(engine)) {
        fr__result_fail(res, FR_ESTORE, NULL, "the store (methods version %d) cannot keep plans",
                        engine->store->methods->version);
        return FR_ESTORE;
    }
    fr__lock(engine);
    fr__idem_prior prior;
    int rc = fr__idem_lookup(engine, ctx, &prior, res);
    if (rc == FR_OK && prior.found) {
        rc = fr__idem_replay(engine, &prior, FR_ENTITY_PLAN, out, 1, res);
    } else if (rc == FR_OK) {
        rc = fr__begin_call(engine, ctx);
        if (rc == FR_OK) {
            char id[FR_ID_SIZE] = "";
            rc = finish(engine, create_in_txn(engine, params, id, res), id, out, res);
        }
        /* FR__EREPLAY: another instance recorded the key meanwhile. */
        rc = fr__idem_settle(engine, ctx, rc, &prior, FR_ENTITY_PLAN, out, 1, res);
    }
    fr__idem_prior_clear(&prior);
    return fr__unlock_call(engine, rc);
}

static int update_in_txn(fr_engine *e, const fr_ctx *ctx, const char *id,
                         const fr_plan_params *params, fr_result *res)
{
    fr__plan_rec *rec = NULL;
    int rc = plan_for_change(e, ctx, id, 1, &rec, res);
    fr_plan next = {0};
    if (rc == FR_OK) {
        rc = fr__plan_copy(&next, &rec->p);
    }
    if (rc == FR_OK) {
        rc = apply_params(e, params, 0, e->txn.now_ms, &next, res);
    }
    if (rc == FR_OK) {
        rc = fr__plan_run(e, &next, e->txn.now_ms, res);
    }
    if (rc == FR_OK) {
        rc = fr__plan_touch(e, rec);
    }
    if (rc != FR_OK) {
        fr_plan_clear(&next);
        return rc;
    }
    fr_plan_clear(&rec->p);
    rec->p = next;
    return fr__plan_changed(e, rec, "updated");
}

int fr_plan_update(fr_engine *engine, const fr_ctx *ctx, const char *id,
                   const fr_plan_params *params, fr_plan *out, fr_result *res)
{
    if (engine == NULL || params == NULL || id == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine, id and params are required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__begin_call(engine, ctx);
    if (rc == FR_OK) {
        rc = finish(engine, update_in_txn(engine, ctx, id, params, res), id, out, res);
    }
    return fr__unlock_call(engine, rc);
}

/* ---- commit ------------------------------------------------------------------------ */

/* Why assignment a cannot be booked now ("" when it can), and its pool. */
static const char *stale_reason(fr_engine *e, const fr_plan_assignment_info *a,
                                const char *vehicle_id, fr__pool_rec **pool_out,
                                fr__req_rec **req_out)
{
    fr__pool_rec *pool = fr__idmap_get(&e->pools_by_id, a->pool_id);
    *pool_out = pool;
    if (pool == NULL || pool->p.deleted || pool->p.status != FR_POOL_ACTIVE) {
        return "pool_unavailable";
    }
    if (a->request_id[0] != 0) {
        fr__req_rec *req = fr__idmap_get(&e->reqs_by_id, a->request_id);
        *req_out = req;
        if (req == NULL || req->r.status != FR_REQ_PENDING) {
            return "request_not_pending";
        }
    }
    if (pool->p.exclusive_per_vehicle && vehicle_id != NULL &&
        fr__vehicle_overlaps(e, pool->p.fleet_id, pool->p.resource_type, vehicle_id, a->start_ms,
                             a->end_ms, NULL, NULL, 0) > 0) {
        return "double_booking";
    }
    if (fr__ledger_first_shortfall(pool->live, a->start_ms, a->end_ms, a->quantity_milli) !=
        FR_TIME_NULL) {
        return "capacity_exceeded";
    }
    return "";
}

/* Books one assignment as a confirmed allocation (and fulfils its request). */
static int book(fr_engine *e, const fr_plan *plan, const fr_plan_assignment_info *a,
                const fr_plan_demand *d, fr__pool_rec *pool, fr__req_rec *req,
                char alloc_id[FR_ID_SIZE])
{
    fr_allocation proto;
    memset(&proto, 0, sizeof proto);
    proto.vehicle_id = req != NULL ? req->r.vehicle_id : d->vehicle_id;
    /* A demand has no operation of its own: its ref names it. */
    proto.operation_id = req != NULL ? req->r.operation_id : d->ref;
    proto.allocation_type = "default";
    proto.metadata_json = "{}";
    proto.quantity_milli = a->quantity_milli;
    proto.start_ms = a->start_ms;
    proto.end_ms = a->end_ms;
    proto.priority = a->priority;
    proto.status = FR_ALLOC_CONFIRMED;
    proto.hold_expires_at_ms = FR_TIME_NULL;
    proto.released_at_ms = FR_TIME_NULL;
    memcpy(proto.plan_id, plan->id, FR_ID_SIZE);
    if (req != NULL) {
        memcpy(proto.request_id, req->r.id, FR_ID_SIZE);
    }
    fr__alloc_rec *alloc = NULL;
    int rc = fr__alloc_insert(e, pool, &proto, &alloc);
    if (rc != FR_OK) {
        return rc;
    }
    memcpy(alloc_id, alloc->a.id, FR_ID_SIZE);
    if (req == NULL) {
        return FR_OK;
    }
    rc = fr__req_touch(e, req);
    if (rc != FR_OK) {
        return rc;
    }
    req->r.status = FR_REQ_FULFILLED;
    req->r.pending_reason = FR_REASON_NONE;
    memcpy(req->r.allocation_id, alloc->a.id, FR_ID_SIZE);
    req->r.fulfilled_at_ms = e->txn.now_ms;
    return fr__req_changed(e, req, "fulfilled");
}

static const fr_plan_demand *demand_of(const fr__idmap *refs, const fr_plan_assignment_info *a)
{
    return a->ref != NULL ? fr__idmap_get(refs, a->ref) : NULL;
}

/* Books every assignment in order (each checked against the state with the
 * earlier ones booked); the ones that fail are listed in stale. */
static int book_all(fr_engine *e, const fr_plan *plan, char (*ids)[FR_ID_SIZE],
                    fr_plan_miss *stale, size_t *nstale)
{
    fr__idmap refs = {0};
    int rc = FR_OK;
    for (size_t i = 0; rc == FR_OK && i < plan->demands_len; i++) {
        rc = fr__idmap_put(&refs, plan->demands[i].ref, &plan->demands[i]);
    }
    for (size_t i = 0; rc == FR_OK && i < plan->assignments_len; i++) {
        const fr_plan_assignment_info *a = &plan->assignments[i];
        const fr_plan_demand *d = demand_of(&refs, a);
        fr__pool_rec *pool = NULL;
        fr__req_rec *req = NULL;
        if (a->ref != NULL && d == NULL) {
            rc = FR_ESTORE; /* an assignment without its demand: damaged plan */
            break;
        }
        const char *vehicle = d != NULL ? d->vehicle_id : NULL;
        if (a->request_id[0] != 0) {
            req = fr__idmap_get(&e->reqs_by_id, a->request_id);
            vehicle = req != NULL ? req->r.vehicle_id : NULL;
        }
        const char *why = stale_reason(e, a, vehicle, &pool, &req);
        if (why[0] == 0) {
            rc = book(e, plan, a, d, pool, req, ids[i]);
            continue;
        }
        fr_plan_miss *m = &stale[(*nstale)++];
        memset(m, 0, sizeof *m);
        m->ref = fr__strdup_or_null(a->ref);
        memcpy(m->request_id, a->request_id, FR_ID_SIZE);
        memcpy(m->pool_id, a->pool_id, FR_ID_SIZE);
        snprintf(m->reason, sizeof m->reason, "%s", why);
        if (a->ref != NULL && m->ref == NULL) {
            rc = FR_ENOMEM;
        }
    }
    fr__idmap_free(&refs);
    return rc;
}

static int commit_in_txn(fr_engine *e, const fr_ctx *ctx, const char *id, fr_plan_miss **stale,
                         size_t *stale_len, fr_result *res)
{
    fr__plan_rec *rec = NULL;
    int rc = plan_for_change(e, ctx, id, 1, &rec, res);
    if (rc != FR_OK) {
        return rc;
    }
    size_t n = rec->p.assignments_len;
    char(*ids)[FR_ID_SIZE] = calloc(n + 1, sizeof *ids);
    fr_plan_miss *misses = calloc(n + 1, sizeof *misses);
    size_t nmiss = 0;
    rc = ids == NULL || misses == NULL ? FR_ENOMEM : book_all(e, &rec->p, ids, misses, &nmiss);
    if (rc == FR_OK && nmiss > 0) {
        fr__result_fail(res, FR_EPLAN_STALE, NULL,
                        "%zu of %zu assignments no longer fit (the first: %s); nothing was booked",
                        nmiss, n, misses[0].reason);
        rc = FR_EPLAN_STALE;
    }
    if (rc == FR_OK) {
        rc = fr__plan_touch(e, rec);
    }
    if (rc == FR_OK) {
        for (size_t i = 0; i < n; i++) {
            memcpy(rec->p.assignments[i].allocation_id, ids[i], FR_ID_SIZE);
        }
        rec->p.status = FR_PLAN_COMMITTED;
        rec->p.committed_at_ms = e->txn.now_ms;
        rc = fr__plan_changed(e, rec, "committed");
    }
    free(ids);
    if (rc == FR_EPLAN_STALE && stale != NULL) {
        *stale = misses;
        *stale_len = nmiss;
    } else {
        fr_plan_miss_free_array(misses, nmiss);
    }
    return rc;
}

int fr_plan_commit(fr_engine *engine, const fr_ctx *ctx, const char *id, fr_plan *out,
                   fr_plan_miss **stale, size_t *stale_len, fr_result *res)
{
    if (engine == NULL || id == NULL || (stale != NULL && stale_len == NULL)) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and id are required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__begin_call(engine, ctx);
    if (rc == FR_OK) {
        rc = finish(engine, commit_in_txn(engine, ctx, id, stale, stale_len, res), id, out, res);
    }
    return fr__unlock_call(engine, rc);
}

/* ---- discard, delete, reads ----------------------------------------------------- */

static int discard_in_txn(fr_engine *e, const fr_ctx *ctx, const char *id, fr_result *res)
{
    fr__plan_rec *rec = NULL;
    int rc = plan_for_change(e, ctx, id, 1, &rec, res);
    if (rc == FR_OK) {
        rc = fr__plan_touch(e, rec);
    }
    if (rc == FR_OK) {
        rec->p.status = FR_PLAN_DISCARDED;
        rc = fr__plan_changed(e, rec, "discarded");
    }
    return rc;
}

int fr_plan_discard(fr_engine *engine, const fr_ctx *ctx, const char *id, fr_plan *out,
                    fr_result *res)
{
    if (engine == NULL || id == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and id are required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__begin_call(engine, ctx);
    if (rc == FR_OK) {
        rc = finish(engine, discard_in_txn(engine, ctx, id, res), id, out, res);
    }
    return fr__unlock_call(engine, rc);
}

static int delete_in_txn(fr_engine *e, const fr_ctx *ctx, const char *id, fr_result *res)
{
    fr__plan_rec *rec = NULL;
    int rc = plan_for_change(e, ctx, id, 0, &rec, res);
    if (rc == FR_OK && rec->p.status == FR_PLAN_COMMITTED) {
        fr__result_fail(res, FR_ESTATE, "status",
                        "plan %s is committed; its allocations are managed on their own", id);
        rc = FR_ESTATE;
    }
    if (rc == FR_OK) {
        rc = fr__plan_touch(e, rec);
    }
    if (rc == FR_OK) {
        rec->p.deleted = 1;
        rc = fr__plan_changed(e, rec, "deleted");
    }
    return rc;
}

int fr_plan_delete(fr_engine *engine, const fr_ctx *ctx, const char *id, fr_result *res)
{
    if (engine == NULL || id == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and id are required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__begin_call(engine, ctx);
    if (rc == FR_OK) {
        rc = finish(engine, delete_in_txn(engine, ctx, id, res), id, NULL, res);
    }
    return fr__unlock_call(engine, rc);
}

int fr_plan_get(fr_engine *engine, const char *id, fr_plan *out)
{
    if (engine == NULL || out == NULL) {
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__advance(engine, fr__now(engine));
    fr__plan_rec *rec = rc == FR_OK ? find_plan(engine, id, NULL) : NULL;
    if (rc == FR_OK) {
        rc = rec == NULL ? FR_ENOTFOUND : fr__plan_copy(out, &rec->p);
    }
    return fr__unlock_call(engine, rc);
}

int fr_plan_accuracy(fr_engine *engine, int64_t *planned, int64_t *used)
{
    if (engine == NULL || planned == NULL || used == NULL) {
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__advance(engine, fr__now(engine));
    int64_t now = fr__now(engine), n = 0, u = 0;
    for (size_t i = 0; rc == FR_OK && i < engine->plans.len; i++) {
        const fr_plan *p = &((const fr__plan_rec *)engine->plans.items[i])->p;
        if (p->status != FR_PLAN_COMMITTED || p->deleted || p->horizon_end_ms > now) {
            continue;
        }
        for (size_t k = 0; k < p->assignments_len; k++) {
            const fr__alloc_rec *a =
                fr__idmap_get(&engine->allocs_by_id, p->assignments[k].allocation_id);
            n++;
            /* Used: it was kept — still confirmed, or released after it ran. */
            u += a != NULL &&
                 (a->a.status == FR_ALLOC_CONFIRMED || a->a.status == FR_ALLOC_RELEASED);
        }
    }
    if (rc == FR_OK) {
        *planned = n;
        *used = u;
    }
    return fr__unlock_call(engine, rc);
}
