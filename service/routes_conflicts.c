/*
 * routes_conflicts.c — conflicts over HTTP (SPEC §6): list and read the ones
 * the library detected, and record manual ones.
 *
 * Detection, auto-resolution and every check on a manual conflict (pool and
 * allocation references, interval) are the library's; this file reads the
 * body's shape and renders the result.  POST /conflicts/{id}/resolve reads
 * {strategy, note, max_delay_seconds, dry_run}, calls fr_conflict_resolve
 * and records its time in the resolution histogram (metrics.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backends/redis.h"
#include "body.h"
#include "codec.h"
#include "http.h"
#include "router.h"
#include "server.h"

/* A manual conflict's description is free text, bounded like the library's. */
#define FRS_CONFLICT_DESCRIPTION_MAX 4096
/* Allocation ids one manual conflict may name (the library's bound too). */
#define FRS_CONFLICT_IDS_MAX 1000

/* An error that came without an fr_result (reads, lists): a not-found names
 * the path id; an invalid input names `field` (the list's cursor). */
static int send_status_error(frs_exchange *x, int rc, const char *field)
{
    fr_result res;
    fr_result_init(&res);
    res.status = rc;
    if (rc == FR_ENOTFOUND) {
        snprintf(res.message, sizeof res.message, "conflict %.64s not found", x->params[0]);
    }
    if (rc == FR_EINVAL && field != NULL) {
        snprintf(res.field, sizeof res.field, "%s", field);
    }
    int status = frs_send_result_error(x, rc, &res);
    fr_result_clear(&res);
    return status;
}

/* Renders a conflict, releases it, and sends it with its ETag. */
static int send_conflict(frs_exchange *x, int status, fr_conflict *conflict)
{
    cJSON *json = fr__conflict_to_cjson(conflict);
    int64_t version = conflict->version;
    fr_conflict_clear(conflict);
    if (json == NULL) {
        return send_status_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_entity(x, status, json, version);
}

/* GET /conflicts: filtered by fleet_id, pool_id, vehicle_id, status, type. */
static int list_conflicts(frs_exchange *x)
{
    frs_list_args args;
    if (!frs_list_args_parse(x, &args, fr_conflict_status_parse, fr_conflict_type_parse)) {
        return x->status;
    }
    fr_conflict *items = NULL;
    size_t count = 0;
    char next_cursor[FR_CURSOR_SIZE] = "";
    int rc = fr_conflict_list(x->server->engine, &args.q, &items, &count, next_cursor);
    if (rc != FR_OK) {
        return send_status_error(x, rc, "cursor");
    }
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < count; i++) {
        cJSON *item = fr__conflict_to_cjson(&items[i]);
        if (item == NULL || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            cJSON_Delete(array);
            array = NULL;
        }
    }
    fr_conflict_free_array(items, count);
    if (array == NULL) {
        return send_status_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_json(x, 200, frs_page(array, next_cursor[0] ? next_cursor : NULL), NULL);
}

/* GET /conflicts/{id}, through the Redis cache for resolved conflicts only:
 * an open one can resolve itself with time alone (a hold expires). */
static int get_conflict(frs_exchange *x)
{
    frs_cache_lease lease;
    if (frs_cache_lookup(x, FRS_CACHE_CONFLICT, x->params[0], &lease)) {
        return x->status;
    }
    fr_conflict out = {0};
    int rc = fr_conflict_get(x->server->engine, x->params[0], &out);
    if (rc != FR_OK) {
        frs_cache_release(&lease);
        return send_status_error(x, rc, NULL);
    }
    int64_t valid_until_ms = out.status == FR_CONFLICT_RESOLVED ? FR_TIME_INF : 0;
    cJSON *json = fr__conflict_to_cjson(&out);
    int64_t version = out.version;
    fr_conflict_clear(&out);
    return frs_cache_send(x, &lease, json, version, valid_until_ms);
}

/* Reads "allocation_ids": an array of strings (absent = none).  *ids is
 * malloc'd (caller frees) and borrows the strings from the body tree. */
static int read_allocation_ids(frs_exchange *x, const cJSON *body, const char ***ids,
                               size_t *len)
{
    const cJSON *array = cJSON_GetObjectItemCaseSensitive(body, "allocation_ids");
    if (array == NULL) {
        return 1;
    }
    int n = cJSON_GetArraySize(array);
    if (!cJSON_IsArray(array) || n > FRS_CONFLICT_IDS_MAX) {
        frs_send_invalid(x, "allocation_ids", "allocation_ids must be an array of at most "
                                              "1000 allocation ids");
        return 0;
    }
    *ids = calloc((size_t)n + 1, sizeof **ids);
    if (*ids == NULL) {
        send_status_error(x, FR_ENOMEM, NULL);
        return 0;
    }
    size_t i = 0;
    for (const cJSON *item = array->child; item != NULL; item = item->next) {
        if (!cJSON_IsString(item) || item->valuestring == NULL || item->valuestring[0] == 0) {
            frs_send_invalid(x, "allocation_ids", "allocation_ids must hold id strings");
            return 0;
        }
        (*ids)[i++] = item->valuestring;
    }
    *len = i;
    return 1;
}

/* The body of a manual conflict; start is required, end defaults to
 * open-ended.  Returns 0 after answering 400. */
static int read_conflict_params(frs_exchange *x, fr_conflict_params *p, const char ***ids)
{
    const cJSON *body = frs_body_object(x);
    if (body == NULL) {
        return 0;
    }
    int has_pool = 0;
    int has_start = 0;
    p->end_ms = FR_TIME_INF;
    if (!frs_read_string(x, body, "pool_id", FRS_LIST_FILTER_LEN - 1, &p->pool_id, &has_pool) ||
        !frs_read_string(x, body, "description", FRS_CONFLICT_DESCRIPTION_MAX, &p->description,
                         NULL) ||
        !frs_read_time(x, body, "start", &p->start_ms, &has_start) ||
        !frs_read_end(x, body, "end", &p->end_ms, NULL) ||
        !read_allocation_ids(x, body, ids, &p->allocation_ids_len)) {
        return 0;
    }
    if (!has_pool) {
        frs_send_invalid(x, "pool_id", "pool_id is required");
        return 0;
    }
    if (!has_start) {
        frs_send_invalid(x, "start", "start is required");
        return 0;
    }
    p->allocation_ids = *ids;
    return 1;
}

/* POST /conflicts: record a manual conflict. */
static int post_conflict(frs_exchange *x)
{
    fr_conflict_params params = {0};
    const char **ids = NULL;
    if (!read_conflict_params(x, &params, &ids)) {
        free(ids);
        return x->status;
    }
    fr_conflict out = {0};
    fr_result res;
    fr_result_init(&res);
    int rc = fr_conflict_create(x->server->engine, &x->ctx, &params, &out, &res);
    free(ids);
    int status = rc == FR_OK ? send_conflict(x, 201, &out) : frs_send_result_error(x, rc, &res);
    fr_result_clear(&res);
    return status;
}

/* The body of a resolve; returns 0 after answering 400. */
static int read_resolve_params(frs_exchange *x, fr_resolve_params *p)
{
    const cJSON *body = frs_body_object(x);
    if (body == NULL) {
        return 0;
    }
    const char *strategy = NULL;
    int has_strategy = 0;
    int64_t max_delay_seconds = 0;
    if (!frs_read_string(x, body, "strategy", 32, &strategy, &has_strategy) ||
        !frs_read_string_or_null(x, body, "note", FR_NOTE_MAX, &p->note, NULL) ||
        !frs_read_int(x, body, "max_delay_seconds", 1, FR_HORIZON_SEARCH_MS / 1000,
                      &max_delay_seconds, NULL) ||
        !frs_read_bool(x, body, "dry_run", &p->dry_run, NULL)) {
        return 0;
    }
    p->strategy = has_strategy ? fr_resolve_strategy_parse(strategy) : -1;
    if (p->strategy < 0) {
        frs_send_invalid(x, "strategy", "strategy must be preempt, reschedule, reassign or "
                                        "manual");
        return 0;
    }
    p->max_delay_ms = max_delay_seconds * 1000;
    return 1;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* POST /conflicts/{id}/resolve: 200 with the resolved conflict; with
 * dry_run, 200 with the conflict as it would be (no ETag: nothing stored). */
static int resolve_conflict(frs_exchange *x)
{
    fr_resolve_params params = {0};
    if (!frs_read_if_match(x) || !read_resolve_params(x, &params)) {
        return x->status;
    }
    fr_conflict out = {0};
    fr_result res;
    fr_result_init(&res);
    double started = seconds_now();
    int rc = fr_conflict_resolve(x->server->engine, &x->ctx, x->params[0], &params, &out, &res);
    if (rc == FR_OK && !params.dry_run && !res.replayed) {
        frs_metrics_record_resolution(&x->server->metrics, params.strategy,
                                      seconds_now() - started);
    }
    int status;
    if (rc != FR_OK) {
        status = frs_send_result_error(x, rc, &res);
    } else if (params.dry_run) {
        cJSON *json = fr__conflict_to_cjson(&out);
        fr_conflict_clear(&out);
        status = json == NULL ? send_status_error(x, FR_ENOMEM, NULL)
                              : frs_send_json(x, 200, json, NULL);
    } else {
        status = send_conflict(x, 200, &out);
    }
    fr_result_clear(&res);
    return status;
}

const frs_route frs_routes_conflicts[] = {
    {"GET", "/conflicts", list_conflicts},
    {"GET", "/conflicts/{id}", get_conflict},
    {"POST", "/conflicts", post_conflict},
    {"POST", "/conflicts/{id}/resolve", resolve_conflict},
    {NULL, NULL, NULL},
};
