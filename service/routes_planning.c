/*
 * routes_planning.c — the horizon planner over HTTP (SPEC §7): make a plan
 * (POST), list and read plans, re-plan a draft or change its status (PUT),
 * delete one (DELETE).
 *
 * Handlers only translate: the body into fr_plan_params (demands and
 * capacity changes borrow their strings from the parsed body), the library
 * status into SPEC's error — with the list of stale assignments on a 409
 * plan_stale — and the plan into its JSON.  Planning, the status rules and
 * every bound live in the library.  Each planning run's wall time feeds the
 * planning-time histogram of /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "codec.h"
#include "http.h"
#include "router.h"
#include "server.h"

/* An error without an fr_result (reads, lists). */
static int send_status_error(frs_exchange *x, int rc, const char *field)
{
    fr_result res;
    fr_result_init(&res);
    res.status = rc;
    if (rc == FR_ENOTFOUND) {
        snprintf(res.message, sizeof res.message, "plan %.64s not found", x->params[0]);
    }
    if (rc == FR_EINVAL && field != NULL) {
        snprintf(res.field, sizeof res.field, "%s", field);
    }
    int status = frs_send_result_error(x, rc, &res);
    fr_result_clear(&res);
    return status;
}

/* Renders a plan, releases it, and sends it with its ETag. */
static int send_plan(frs_exchange *x, int status, fr_plan *plan)
{
    cJSON *json = fr__plan_to_cjson(plan);
    int64_t version = plan->version;
    fr_plan_clear(plan);
    if (json == NULL) {
        return send_status_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_entity(x, status, json, version);
}

/* ---- body ------------------------------------------------------------------------ */

/* One demand object; strings borrowed from the body.  0 after a 400. */
static int read_demand(frs_exchange *x, const cJSON *o, fr_plan_demand *d)
{
    const char *ref = NULL, *type = NULL, *site = NULL, *pool = NULL, *vehicle = NULL;
    int64_t prio = 0;
    d->earliest_start_ms = FR_TIME_NULL;
    d->latest_end_ms = FR_TIME_INF;
    if (!cJSON_IsObject(o)) {
        frs_send_invalid(x, "demands", "each demand must be an object");
        return 0;
    }
    if (!frs_read_string(x, o, "ref", FR_CLIENT_ID_MAX, &ref, NULL) ||
        !frs_read_string(x, o, "resource_type", FR_SLUG_MAX, &type, NULL) ||
        !frs_read_string_or_null(x, o, "site", FR_CLIENT_ID_MAX, &site, NULL) ||
        !frs_read_string_or_null(x, o, "pool_id", FRS_LIST_FILTER_LEN - 1, &pool, NULL) ||
        !frs_read_string_or_null(x, o, "vehicle_id", FR_CLIENT_ID_MAX, &vehicle, NULL) ||
        !frs_read_qty(x, o, "quantity", &d->quantity_milli, NULL) ||
        !frs_read_seconds(x, o, "duration_seconds", &d->duration_ms, NULL) ||
        !frs_read_time(x, o, "earliest_start", &d->earliest_start_ms, NULL) ||
        !frs_read_end(x, o, "latest_end", &d->latest_end_ms, NULL) ||
        !frs_read_int(x, o, "priority", 0, FR_PRIORITY_MAX, &prio, NULL)) {
        return 0;
    }
    if (pool != NULL && strlen(pool) >= FR_ID_SIZE) {
        frs_send_error(x, 422, "unknown_reference", "pool_id names no pool", NULL);
        return 0;
    }
    if (pool != NULL) {
        snprintf(d->pool_id, sizeof d->pool_id, "%s", pool);
    }
    d->ref = (char *)ref;
    d->resource_type = (char *)type;
    d->site = (char *)site;
    d->vehicle_id = (char *)vehicle;
    d->priority = (int32_t)prio;
    return 1;
}

static int read_change(frs_exchange *x, const cJSON *o, fr_plan_capacity_change *c)
{
    const char *pool = NULL;
    int has_pool = 0, has_delta = 0;
    c->start_ms = FR_TIME_NULL;
    c->end_ms = FR_TIME_INF;
    if (!cJSON_IsObject(o)) {
        frs_send_invalid(x, "capacity_changes", "each capacity change must be an object");
        return 0;
    }
    if (!frs_read_string(x, o, "pool_id", FRS_LIST_FILTER_LEN - 1, &pool, &has_pool) ||
        !frs_read_time(x, o, "start", &c->start_ms, NULL) ||
        !frs_read_end(x, o, "end", &c->end_ms, NULL) ||
        !frs_read_qty(x, o, "delta", &c->delta_milli, &has_delta)) {
        return 0;
    }
    if (!has_pool || !has_delta) {
        frs_send_invalid(x, has_pool ? "delta" : "pool_id", "pool_id and delta are required");
        return 0;
    }
    if (strlen(pool) >= FR_ID_SIZE) {
        frs_send_error(x, 422, "unknown_reference", "pool_id names no pool", NULL);
        return 0;
    }
    snprintf(c->pool_id, sizeof c->pool_id, "%s", pool);
    return 1;
}

/* An array member of at most max objects, each read by fn into a calloc'd
 * array of size-byte elements (*items; caller frees).  x->error_index names
 * the item in a 400. */
static int read_items(frs_exchange *x, const cJSON *body, const char *field, int max,
                      size_t size, void **items, size_t *len, int *present,
                      int (*fn)(frs_exchange *, const cJSON *, void *))
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, field);
    *present = a != NULL;
    if (a == NULL) {
        return 1;
    }
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 0 || n > max) {
        char why[96];
        snprintf(why, sizeof why, "%s must be an array of at most %d objects", field, max);
        frs_send_invalid(x, field, why);
        return 0;
    }
    *items = calloc((size_t)n + 1, size);
    if (*items == NULL) {
        send_status_error(x, FR_ENOMEM, NULL);
        return 0;
    }
    size_t i = 0;
    for (const cJSON *o = a->child; o != NULL; o = o->next, i++) {
        x->error_index = (int64_t)i;
        if (!fn(x, o, (char *)*items + i * size)) {
            return 0;
        }
    }
    x->error_index = -1;
    *len = i;
    return 1;
}

static int demand_fn(frs_exchange *x, const cJSON *o, void *out)
{
    return read_demand(x, o, out);
}

static int change_fn(frs_exchange *x, const cJSON *o, void *out)
{
    return read_change(x, o, out);
}

static void mark(fr_plan_params *p, int present, uint32_t bit)
{
    if (present) {
        p->set |= bit;
    }
}

/* The scalar inputs of a plan body. */
static int read_plan_scalars(frs_exchange *x, const cJSON *body, fr_plan_params *p)
{
    int present = 0;
    int64_t hours_milli = 0;
    if (!frs_read_string(x, body, "fleet_id", FR_CLIENT_ID_MAX, &p->fleet_id, &present)) {
        return 0;
    }
    mark(p, present, FR_PLAN_F_FLEET_ID);
    if (!frs_read_string_or_null(x, body, "name", FR_NAME_MAX, &p->name, &present)) {
        return 0;
    }
    mark(p, present, FR_PLAN_F_NAME);
    if (!frs_read_time(x, body, "horizon_start", &p->horizon_start_ms, &present)) {
        return 0;
    }
    mark(p, present, FR_PLAN_F_HORIZON_START);
    if (!frs_read_time(x, body, "horizon_end", &p->horizon_end_ms, &present)) {
        return 0;
    }
    mark(p, present, FR_PLAN_F_HORIZON_END);
    if (!frs_read_qty(x, body, "horizon_hours", &hours_milli, &present)) {
        return 0;
    }
    if (present && (hours_milli <= 0 || hours_milli > 31 * 24 * 1000)) {
        frs_send_invalid(x, "horizon_hours", "horizon_hours must be > 0 and at most 744");
        return 0;
    }
    p->horizon_ms = hours_milli * 3600; /* milli-hours to ms */
    mark(p, present, FR_PLAN_F_HORIZON_LENGTH);
    if (!frs_read_seconds(x, body, "bucket_seconds", &p->bucket_ms, &present)) {
        return 0;
    }
    mark(p, present, FR_PLAN_F_BUCKET);
    if (!frs_read_bool(x, body, "include_pending_requests", &p->include_pending_requests,
                       &present)) {
        return 0;
    }
    mark(p, present, FR_PLAN_F_INCLUDE_PENDING);
    if (!frs_read_int(x, body, "time_budget_ms", 1, FR_PLAN_BUDGET_MAX_MS, &p->time_budget_ms,
                      &present)) {
        return 0;
    }
    mark(p, present, FR_PLAN_F_TIME_BUDGET);
    return 1;
}

/* The whole input of a plan body; *demands / *changes are malloc'd (the
 * caller frees them).  Read-only fields (assignments, forecast, ...) are
 * ignored, so a client may PUT back what it got.  0 after a 4xx. */
static int read_plan_params(frs_exchange *x, const cJSON *body, fr_plan_params *p,
                            fr_plan_demand **demands, fr_plan_capacity_change **changes)
{
    int present = 0;
    if (!read_plan_scalars(x, body, p)) {
        return 0;
    }
    if (!read_items(x, body, "demands", FR_PLAN_DEMANDS_MAX, sizeof **demands,
                    (void **)demands, &p->demands_len, &present, demand_fn)) {
        return 0;
    }
    p->demands = *demands;
    mark(p, present, FR_PLAN_F_DEMANDS);
    if (!read_items(x, body, "capacity_changes", FR_PLAN_CHANGES_MAX, sizeof **changes,
                    (void **)changes, &p->capacity_changes_len, &present, change_fn)) {
        return 0;
    }
    p->capacity_changes = *changes;
    mark(p, present, FR_PLAN_F_CAPACITY_CHANGES);
    return 1;
}

/* ---- handlers ------------------------------------------------------------------------ */

static void record_planning(frs_exchange *x, const fr_plan *plan)
{
    frs_metrics_record_planning(&x->server->metrics, (double)plan->planning_ms / 1000.0);
}

/* POST /planning: plan against the current ledger, store a draft. */
static int post_plan(frs_exchange *x)
{
    const cJSON *body = frs_body_object(x);
    if (body == NULL) {
        return x->status;
    }
    fr_plan_params params = {0};
    fr_plan_demand *demands = NULL;
    fr_plan_capacity_change *changes = NULL;
    int status = 0;
    if (read_plan_params(x, body, &params, &demands, &changes)) {
        fr_plan out = {0};
        fr_result res;
        fr_result_init(&res);
        int rc = fr_plan_create(x->server->engine, &x->ctx, &params, &out, &res);
        if (rc == FR_OK && !res.replayed) {
            record_planning(x, &out);
        }
        status = rc == FR_OK ? send_plan(x, 201, &out) : frs_send_result_error(x, rc, &res);
        fr_result_clear(&res);
    } else {
        status = x->status;
    }
    free(demands);
    free(changes);
    return status;
}

/* GET /planning: filtered by fleet_id and status; created_at order. */
static int list_plans(frs_exchange *x)
{
    frs_list_args args;
    if (!frs_list_args_parse(x, &args, fr_plan_status_parse, NULL)) {
        return x->status;
    }
    fr_plan *items = NULL;
    size_t count = 0;
    char next_cursor[FR_CURSOR_SIZE] = "";
    int rc = fr_plan_list(x->server->engine, &args.q, &items, &count, next_cursor);
    if (rc != FR_OK) {
        return send_status_error(x, rc, "cursor");
    }
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < count; i++) {
        cJSON *item = fr__plan_to_cjson(&items[i]);
        if (item == NULL || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            cJSON_Delete(array);
            array = NULL;
        }
    }
    fr_plan_free_array(items, count);
    if (array == NULL) {
        return send_status_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_json(x, 200, frs_page(array, next_cursor[0] ? next_cursor : NULL), NULL);
}

/* GET /planning/{id} */
static int get_plan(frs_exchange *x)
{
    fr_plan out = {0};
    int rc = fr_plan_get(x->server->engine, x->params[0], &out);
    if (rc != FR_OK) {
        return send_status_error(x, rc, NULL);
    }
    return send_plan(x, 200, &out);
}

/* 409 plan_stale with details.stale: [{ref | request_id, pool_id, reason}]. */
static int send_stale(frs_exchange *x, const fr_result *res, fr_plan_miss *stale, size_t n)
{
    cJSON *details = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(details, "stale");
    for (size_t i = 0; list != NULL && i < n; i++) {
        cJSON *item = fr__plan_miss_to_cjson(&stale[i]);
        if (item == NULL || !cJSON_AddItemToArray(list, item)) {
            cJSON_Delete(item);
        }
    }
    fr_plan_miss_free_array(stale, n);
    return frs_send_error(x, 409, "plan_stale", res->message, details);
}

/* PUT with "status": committed or discarded changes only the status (the
 * input fields of the body are ignored then); otherwise the body's inputs
 * re-plan the draft. */
static int put_status(frs_exchange *x, int target, fr_result *res)
{
    fr_plan out = {0};
    fr_plan_miss *stale = NULL;
    size_t nstale = 0;
    int rc;
    if (target == FR_PLAN_COMMITTED) {
        rc = fr_plan_commit(x->server->engine, &x->ctx, x->params[0], &out, &stale, &nstale, res);
    } else {
        rc = fr_plan_discard(x->server->engine, &x->ctx, x->params[0], &out, res);
    }
    if (rc == FR_EPLAN_STALE) {
        return send_stale(x, res, stale, nstale);
    }
    return rc == FR_OK ? send_plan(x, 200, &out) : frs_send_result_error(x, rc, res);
}

static int put_plan(frs_exchange *x)
{
    if (!frs_read_if_match(x)) {
        return x->status;
    }
    const cJSON *body = frs_body_object(x);
    if (body == NULL) {
        return x->status;
    }
    const char *status_name = NULL;
    int has_status = 0;
    if (!frs_read_string(x, body, "status", 16, &status_name, &has_status)) {
        return x->status;
    }
    int target = has_status ? fr_plan_status_parse(status_name) : FR_PLAN_DRAFT;
    if (target < 0) {
        return frs_send_invalid(x, "status", "status must be draft, committed or discarded");
    }
    fr_result res;
    fr_result_init(&res);
    int status = 0;
    if (target != FR_PLAN_DRAFT) {
        status = put_status(x, target, &res);
        fr_result_clear(&res);
        return status;
    }
    fr_plan_params params = {0};
    fr_plan_demand *demands = NULL;
    fr_plan_capacity_change *changes = NULL;
    if (read_plan_params(x, body, &params, &demands, &changes)) {
        fr_plan out = {0};
        int rc = fr_plan_update(x->server->engine, &x->ctx, x->params[0], &params, &out, &res);
        if (rc == FR_OK) {
            record_planning(x, &out);
        }
        status = rc == FR_OK ? send_plan(x, 200, &out) : frs_send_result_error(x, rc, &res);
    } else {
        status = x->status;
    }
    fr_result_clear(&res);
    free(demands);
    free(changes);
    return status;
}

/* DELETE /planning/{id}: 204 for a draft or discarded plan, 409 when committed. */
static int delete_plan(frs_exchange *x)
{
    if (!frs_read_if_match(x)) {
        return x->status;
    }
    fr_result res;
    fr_result_init(&res);
    int rc = fr_plan_delete(x->server->engine, &x->ctx, x->params[0], &res);
    int status = rc == FR_OK ? frs_send_no_content(x) : frs_send_result_error(x, rc, &res);
    fr_result_clear(&res);
    return status;
}

const frs_route frs_routes_planning[] = {
    {"POST", "/planning", post_plan},
    {"GET", "/planning", list_plans},
    {"GET", "/planning/{id}", get_plan},
    {"PUT", "/planning/{id}", put_plan},
    {"DELETE", "/planning/{id}", delete_plan},
    {NULL, NULL, NULL},
};
