/*
 * pools.c — resource pools (SPEC §2): create, update, delete, read.
 *
 * A pool's capacity is a step function (total plus schedule overrides) kept
 * in its ledgers.  Lowering it below what is booked is allowed (a charger
 * breaks): the pool is marked for over-capacity reconciliation, which
 * records conflicts.  Raising it, or re-activating the pool, marks its queue
 * for dispatch.
 */
#include <stdlib.h>
#include <string.h>

#include "fr_int.h"

int fr__schedule_valid(const fr_schedule_entry *s, size_t n, int64_t *bad_index)
{
    if (n > FR_SCHEDULE_MAX) {
        *bad_index = FR_SCHEDULE_MAX;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int ok = fr__valid_time(s[i].start_ms) && fr__valid_end(s[i].end_ms) &&
                 s[i].end_ms > s[i].start_ms && s[i].capacity_milli >= 0 &&
                 s[i].capacity_milli <= FR_QTY_MAX_MILLI;
        /* Sorted and non-overlapping: each starts at or after the previous end. */
        if (ok && i > 0) {
            ok = s[i - 1].end_ms != FR_TIME_INF && s[i].start_ms >= s[i - 1].end_ms;
        }
        if (!ok) {
            *bad_index = (int64_t)i;
            return 0;
        }
    }
    return 1;
}

void fr__pool_fill_computed(fr_engine *e, const fr__pool_rec *rec, fr_pool *out)
{
    int64_t now = e->txn.id != 0 ? e->txn.now_ms : fr__now(e);
    out->capacity_now_milli = fr__ledger_capacity_at(rec->live, now);
    out->reserved_capacity_milli = fr__ledger_booked_at(rec->live, now);
    out->available_capacity_milli = out->capacity_now_milli - out->reserved_capacity_milli;
}

static int sort_schedule(fr_schedule_entry *s, size_t n)
{
    /* Insertion sort: schedules are short (<= FR_SCHEDULE_MAX) and mostly sorted. */
    for (size_t i = 1; i < n; i++) {
        fr_schedule_entry x = s[i];
        size_t j = i;
        while (j > 0 && s[j - 1].start_ms > x.start_ms) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = x;
    }
    return FR_OK;
}

/* Validates the fields present in params (create: also the required ones). */
static int check_params(const fr_pool_params *p, int create, fr_result *res)
{
    uint32_t s = p->set;
    if (create) {
        const uint32_t need = FR_POOL_F_FLEET_ID | FR_POOL_F_NAME | FR_POOL_F_RESOURCE_TYPE |
                              FR_POOL_F_TOTAL_CAPACITY;
        if ((s & need) != need) {
            const char *f = !(s & FR_POOL_F_FLEET_ID)        ? "fleet_id"
                            : !(s & FR_POOL_F_NAME)          ? "name"
                            : !(s & FR_POOL_F_RESOURCE_TYPE) ? "resource_type"
                                                             : "total_capacity";
            fr__result_fail(res, FR_EINVAL, f, "%s is required", f);
            return FR_EINVAL;
        }
    }
    const char *bad = NULL;
    if ((s & FR_POOL_F_FLEET_ID) && !fr__valid_client_id(p->fleet_id)) {
        bad = "fleet_id";
    } else if ((s & FR_POOL_F_NAME) && !fr__valid_name(p->name)) {
        bad = "name";
    } else if ((s & FR_POOL_F_RESOURCE_TYPE) && !fr__valid_slug(p->resource_type)) {
        bad = "resource_type";
    } else if ((s & FR_POOL_F_UNIT) && !fr__valid_unit(p->unit)) {
        bad = "unit";
    } else if ((s & FR_POOL_F_SITE) && p->site != NULL && !fr__valid_client_id(p->site)) {
        bad = "site";
    } else if ((s & FR_POOL_F_LABELS) && !fr__valid_json_object(p->labels_json)) {
        bad = "labels";
    } else if ((s & FR_POOL_F_STATUS) && fr_pool_status_name(p->status) == NULL) {
        bad = "status";
    } else if ((s & FR_POOL_F_TOTAL_CAPACITY) &&
               (p->total_capacity_milli < 0 || p->total_capacity_milli > FR_QTY_MAX_MILLI)) {
        bad = "total_capacity";
    } else if ((s & FR_POOL_F_EXCLUSIVE) && p->exclusive_per_vehicle != 0 &&
               p->exclusive_per_vehicle != 1) {
        bad = "exclusive_per_vehicle";
    } else if ((s & FR_POOL_F_SCHEDULE) && p->schedule_len > 0 && p->schedule == NULL) {
        bad = "capacity_schedule";
    }
    if (bad != NULL) {
        fr__result_fail(res, FR_EINVAL, bad, "%s is invalid", bad);
        return FR_EINVAL;
    }
    return FR_OK;
}

/* Installs a validated, sorted copy of a schedule. */
static int set_schedule(fr_pool *p, const fr_schedule_entry *s, size_t n, fr_result *res)
{
    fr_schedule_entry *copy = NULL;
    if (n > 0) {
        copy = malloc(n * sizeof *copy);
        if (copy == NULL) {
            return FR_ENOMEM;
        }
        memcpy(copy, s, n * sizeof *copy);
        sort_schedule(copy, n);
    }
    int64_t bad = 0;
    if (!fr__schedule_valid(copy, n, &bad)) {
        free(copy);
        fr__result_fail(res, FR_EINVAL, "capacity_schedule",
                        "capacity_schedule entry %lld is invalid or overlaps another",
                        (long long)bad);
        return FR_EINVAL;
    }
    free(p->schedule);
    p->schedule = copy;
    p->schedule_len = n;
    return FR_OK;
}

/* Applies the mutable fields present in params to p. */
static int apply_params(fr_pool *p, const fr_pool_params *params, fr_result *res)
{
    uint32_t s = params->set;
    int rc = FR_OK;
    if (rc == FR_OK && (s & FR_POOL_F_NAME)) {
        rc = fr__set_string(&p->name, params->name);
    }
    if (rc == FR_OK && (s & FR_POOL_F_UNIT)) {
        rc = fr__set_string(&p->unit, params->unit);
    }
    if (rc == FR_OK && (s & FR_POOL_F_SITE)) {
        rc = fr__set_string(&p->site, params->site);
    }
    if (rc == FR_OK && (s & FR_POOL_F_LABELS)) {
        rc = fr__set_string(&p->labels_json, params->labels_json);
    }
    if (rc == FR_OK && (s & FR_POOL_F_SCHEDULE)) {
        rc = set_schedule(p, params->schedule, params->schedule_len, res);
    }
    if (rc != FR_OK) {
        return rc;
    }
    if (s & FR_POOL_F_STATUS) {
        p->status = params->status;
    }
    if (s & FR_POOL_F_TOTAL_CAPACITY) {
        p->total_capacity_milli = params->total_capacity_milli;
    }
    if (s & FR_POOL_F_EXCLUSIVE) {
        p->exclusive_per_vehicle = params->exclusive_per_vehicle;
    }
    return FR_OK;
}

static int create_locked(fr_engine *e, const fr_ctx *ctx, const fr_pool_params *params,
                         fr_pool *out, fr_result *res)
{
    int rc = check_params(params, 1, res);
    if (rc != FR_OK) {
        return rc;
    }
    fr__pool_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    rec->p.exclusive_per_vehicle = 1;
    rec->p.status = FR_POOL_ACTIVE;
    rc = fr__set_string(&rec->p.fleet_id, params->fleet_id);
    if (rc == FR_OK) {
        rc = fr__set_string(&rec->p.resource_type, params->resource_type);
    }
    if (rc == FR_OK) {
        rc = fr__set_string(&rec->p.unit, "unit");
    }
    if (rc == FR_OK) {
        rc = fr__set_string(&rec->p.labels_json, "{}");
    }
    if (rc == FR_OK) {
        rc = apply_params(&rec->p, params, res);
    }
    if (rc == FR_OK) {
        rec->live = fr__ledger_new();
        rec->usage = fr__ledger_new();
        rc = (rec->live == NULL || rec->usage == NULL) ? FR_ENOMEM : FR_OK;
    }
    if (rc == FR_OK) {
        rc = fr__begin_call(e, ctx);
    }
    if (rc != FR_OK) {
        fr__ledger_free(rec->live);
        fr__ledger_free(rec->usage);
        fr_pool_clear(&rec->p);
        free(rec);
        return rc;
    }
    fr__new_id(e, rec->p.id);
    rc = fr__pool_created(e, rec);
    if (rc != FR_OK && fr__idmap_get(&e->pools_by_id, rec->p.id) != rec) {
        /* Not registered: the txn cannot free it for us. */
        fr__txn_abort(e);
        fr__ledger_free(rec->live);
        fr__ledger_free(rec->usage);
        fr_pool_clear(&rec->p);
        free(rec);
        return rc;
    }
    if (rc == FR_OK) {
        rc = fr__mark_queue_dirty(e, rec->p.fleet_id, rec->p.resource_type);
    }
    if (rc != FR_OK) {
        fr__txn_abort(e);
        return rc;
    }
    char id[FR_ID_SIZE];
    memcpy(id, rec->p.id, FR_ID_SIZE);
    rc = fr__txn_commit(e, res);
    if (rc == FR_OK && out != NULL) {
        fr__pool_rec *now = fr__idmap_get(&e->pools_by_id, id);
        rc = fr__pool_copy(out, &now->p);
        if (rc == FR_OK) {
            fr__pool_fill_computed(e, now, out);
        }
    }
    return rc;
}

int fr_pool_create(fr_engine *engine, const fr_ctx *ctx, const fr_pool_params *params,
                   fr_pool *out, fr_result *res)
{
    if (engine == NULL || params == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and params are required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    fr__idem_prior prior;
    int rc = fr__idem_lookup(engine, ctx, &prior, res);
    if (rc == FR_OK && prior.found) {
        rc = fr__idem_replay(engine, &prior, FR_ENTITY_POOL, out, 1, res);
    } else if (rc == FR_OK) {
        rc = create_locked(engine, ctx, params, out, res);
        rc = fr__idem_settle(engine, ctx, rc, &prior, FR_ENTITY_POOL, out, 1, res);
    }
    fr__idem_prior_clear(&prior);
    return fr__unlock_call(engine, rc);
}

static fr__pool_rec *find_pool(fr_engine *e, const char *id)
{
    if (id == NULL) {
        return NULL;
    }
    fr__pool_rec *rec = fr__idmap_get(&e->pools_by_id, id);
    return (rec == NULL || rec->p.deleted) ? NULL : rec;
}

static int immutable_unchanged(const fr_pool *p, const fr_pool_params *params, fr_result *res)
{
    if ((params->set & FR_POOL_F_FLEET_ID) &&
        (params->fleet_id == NULL || strcmp(params->fleet_id, p->fleet_id) != 0)) {
        fr__result_fail(res, FR_EINVAL, "fleet_id", "fleet_id is immutable");
        return FR_EINVAL;
    }
    if ((params->set & FR_POOL_F_RESOURCE_TYPE) &&
        (params->resource_type == NULL || strcmp(params->resource_type, p->resource_type) != 0)) {
        fr__result_fail(res, FR_EINVAL, "resource_type", "resource_type is immutable");
        return FR_EINVAL;
    }
    return FR_OK;
}

static int update_locked(fr_engine *e, const fr_ctx *ctx, const char *id,
                         const fr_pool_params *params, fr_pool *out, fr_result *res)
{
    int rc = check_params(params, 0, res);
    if (rc != FR_OK) {
        return rc;
    }
    rc = fr__begin_call(e, ctx);
    if (rc != FR_OK) {
        return rc;
    }
    fr__pool_rec *rec = find_pool(e, id);
    if (rec == NULL) {
        fr__txn_abort(e);
        fr__result_fail(res, FR_ENOTFOUND, NULL, "pool %s not found", id != NULL ? id : "");
        return FR_ENOTFOUND;
    }
    rc = fr__check_if_match(ctx, rec->p.version, res);
    if (rc == FR_OK) {
        rc = immutable_unchanged(&rec->p, params, res);
    }
    int was_exclusive = rec->p.exclusive_per_vehicle;
    if (rc == FR_OK) {
        rc = fr__pool_touch(e, rec);
    }
    if (rc == FR_OK) {
        rc = apply_params(&rec->p, params, res);
    }
    if (rc == FR_OK) {
        rc = fr__pool_changed(e, rec, "updated");
    }
    /* Capacity may have moved either way: reconcile conflicts and dispatch. */
    if (rc == FR_OK) {
        rc = fr__mark_pool_dirty(e, rec);
    }
    if (rc == FR_OK) {
        rc = fr__mark_queue_dirty(e, rec->p.fleet_id, rec->p.resource_type);
    }
    if (rc == FR_OK && !was_exclusive && rec->p.exclusive_per_vehicle) {
        rc = fr__detect_double(e, rec);
    }
    if (rc != FR_OK) {
        fr__txn_abort(e);
        return rc;
    }
    rc = fr__txn_commit(e, res);
    if (rc == FR_OK && out != NULL) {
        rc = fr__pool_copy(out, &rec->p);
        if (rc == FR_OK) {
            fr__pool_fill_computed(e, rec, out);
        }
    }
    return rc;
}

int fr_pool_update(fr_engine *engine, const fr_ctx *ctx, const char *id,
                   const fr_pool_params *params, fr_pool *out, fr_result *res)
{
    if (engine == NULL || params == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and params are required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = update_locked(engine, ctx, id, params, out, res);
    return fr__unlock_call(engine, rc);
}

/* Live allocations of the pool that end after now (or are open-ended). */
static size_t pool_in_use(fr_engine *e, fr__pool_rec *rec, int64_t now, fr__vec *out)
{
    size_t n = fr__ledger_overlapping(rec->live, now, FR_TIME_INF, NULL, 0);
    if (out == NULL || n == 0) {
        return n;
    }
    uint64_t *tags = malloc(n * sizeof *tags);
    if (tags == NULL) {
        return SIZE_MAX;
    }
    fr__ledger_overlapping(rec->live, now, FR_TIME_INF, tags, n);
    for (size_t i = 0; i < n; i++) {
        if (fr__vec_push(out, (void *)(uintptr_t)tags[i]) != FR_OK) {
            free(tags);
            return SIZE_MAX;
        }
    }
    free(tags);
    (void)e;
    return n;
}

static int delete_locked(fr_engine *e, const fr_ctx *ctx, const char *id, int force,
                         fr_result *res)
{
    int rc = fr__begin_call(e, ctx);
    if (rc != FR_OK) {
        return rc;
    }
    fr__pool_rec *rec = find_pool(e, id);
    if (rec == NULL) {
        fr__txn_abort(e);
        fr__result_fail(res, FR_ENOTFOUND, NULL, "pool %s not found", id != NULL ? id : "");
        return FR_ENOTFOUND;
    }
    rc = fr__check_if_match(ctx, rec->p.version, res);
    fr__vec victims = {0};
    if (rc == FR_OK && pool_in_use(e, rec, e->txn.now_ms, &victims) == SIZE_MAX) {
        rc = FR_ENOMEM;
    }
    if (rc == FR_OK && victims.len > 0 && !force) {
        fr__result_fail(res, FR_EPOOL_IN_USE, NULL,
                        "pool %s has %zu allocations ending after now", rec->p.id, victims.len);
        rc = FR_EPOOL_IN_USE;
    }
    for (size_t i = 0; rc == FR_OK && i < victims.len; i++) {
        rc = fr__alloc_end(e, victims.items[i], FR_ALLOC_CANCELLED, 1);
    }
    fr__vec_free(&victims);
    if (rc == FR_OK) {
        rc = fr__pool_touch(e, rec);
    }
    if (rc == FR_OK) {
        rec->p.deleted = 1;
        rc = fr__pool_changed(e, rec, "deleted");
    }
    /* Waiting requests may have lost their only pool: their reason changes. */
    if (rc == FR_OK) {
        rc = fr__mark_queue_dirty(e, rec->p.fleet_id, rec->p.resource_type);
    }
    if (rc != FR_OK) {
        fr__txn_abort(e);
        return rc;
    }
    return fr__txn_commit(e, res);
}

int fr_pool_delete(fr_engine *engine, const fr_ctx *ctx, const char *id, int force,
                   fr_result *res)
{
    if (engine == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine is required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = delete_locked(engine, ctx, id, force, res);
    return fr__unlock_call(engine, rc);
}

int fr_pool_get(fr_engine *engine, const char *id, fr_pool *out)
{
    if (engine == NULL || out == NULL) {
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__advance(engine, fr__now(engine));
    fr__pool_rec *rec = rc == FR_OK ? find_pool(engine, id) : NULL;
    if (rc == FR_OK && rec == NULL) {
        rc = FR_ENOTFOUND;
    }
    if (rc == FR_OK) {
        rc = fr__pool_copy(out, &rec->p);
        if (rc == FR_OK) {
            fr__pool_fill_computed(engine, rec, out);
        }
    }
    return fr__unlock_call(engine, rc);
}
