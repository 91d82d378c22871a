/*
 * routes_requests.c — the request queue over HTTP (SPEC §4): create, list
 * (queue order with ?status=pending), read, change and cancel requests.
 *
 * Handlers only translate: the body into fr_request_params (field by field,
 * each reader answering 400 with details.field on a bad value), the library
 * status into SPEC's error, the request into its JSON.  Every queue rule —
 * defaults, windows, dispatch, preemption permission — lives in the library.
 */
#include <stdio.h>
#include <stdlib.h>

#include "body.h"
#include "codec.h"
#include "http.h"
#include "router.h"
#include "server.h"

/* An error that came without an fr_result (reads, lists): a not-found names
 * the path id; an invalid input names `field` (the list's cursor). */
static int send_status_error(frs_exchange *x, int rc, const char *field)
{
    fr_result res;
    fr_result_init(&res);
    res.status = rc;
    if (rc == FR_ENOTFOUND) {
        snprintf(res.message, sizeof res.message, "request %.64s not found", x->params[0]);
    }
    if (rc == FR_EINVAL && field != NULL) {
        snprintf(res.field, sizeof res.field, "%s", field);
    }
    int status = frs_send_result_error(x, rc, &res);
    fr_result_clear(&res);
    return status;
}

/* Renders a request, releases it, and sends it with its ETag. */
static int send_request(frs_exchange *x, int status, fr_request *request)
{
    cJSON *json = fr__request_to_cjson(request);
    int64_t version = request->version;
    fr_request_clear(request);
    if (json == NULL) {
        return send_status_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_entity(x, status, json, version);
}

/* Marks field `bit` as set when the reader found it present. */
static void mark(fr_request_params *p, int present, uint32_t bit)
{
    if (present) {
        p->set |= bit;
    }
}

/* The identifying strings of a request body.  JSON null is accepted where a
 * GET shows null (vehicle_id, operation_id, pool_id, site), so a client can
 * PUT back what it read; null then clears the constraint. */
static int read_request_strings(frs_exchange *x, const cJSON *body, fr_request_params *p)
{
    int present = 0;
    if (!frs_read_string(x, body, "fleet_id", FR_CLIENT_ID_MAX, &p->fleet_id, &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_FLEET_ID);
    if (!frs_read_string(x, body, "resource_type", FR_SLUG_MAX, &p->resource_type, &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_RESOURCE_TYPE);
    if (!frs_read_string_or_null(x, body, "vehicle_id", FR_CLIENT_ID_MAX, &p->vehicle_id,
                                 &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_VEHICLE_ID);
    if (!frs_read_string_or_null(x, body, "operation_id", FR_CLIENT_ID_MAX, &p->operation_id,
                                 &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_OPERATION_ID);
    /* A pool id of any length is a reference: the library answers 422 for
     * one that names no pool, so the bound here is only the filter bound. */
    if (!frs_read_string_or_null(x, body, "pool_id", FRS_LIST_FILTER_LEN - 1, &p->pool_id,
                                 &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_POOL_ID);
    if (!frs_read_string_or_null(x, body, "site", FR_CLIENT_ID_MAX, &p->site, &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_SITE);
    return 1;
}

/* The numbers, times and flags of a request body; *metadata receives the
 * metadata object's text (caller frees). */
static int read_request_values(frs_exchange *x, const cJSON *body, fr_request_params *p,
                               char **metadata)
{
    int present = 0;
    int64_t priority = 0;
    if (!frs_read_qty(x, body, "quantity", &p->quantity_milli, &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_QUANTITY);
    if (!frs_read_seconds(x, body, "duration_seconds", &p->duration_ms, &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_DURATION);
    if (!frs_read_time(x, body, "earliest_start", &p->earliest_start_ms, &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_EARLIEST_START);
    if (!frs_read_end(x, body, "latest_end", &p->latest_end_ms, &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_LATEST_END);
    if (!frs_read_int(x, body, "priority", 0, FR_PRIORITY_MAX, &priority, &present)) {
        return 0;
    }
    p->priority = (int32_t)priority;
    mark(p, present, FR_REQ_F_PRIORITY);
    if (!frs_read_bool(x, body, "preempt", &p->preempt, &present)) {
        return 0;
    }
    mark(p, present, FR_REQ_F_PREEMPT);
    if (!frs_read_object_text(x, body, "metadata", 0, metadata, &present)) {
        return 0;
    }
    p->metadata_json = *metadata;
    mark(p, present, FR_REQ_F_METADATA);
    return 1;
}

/* Reads the writable fields of a body into p; read-only ones (status,
 * queue_position, ...) are ignored.  Returns 0 after answering 400. */
static int read_request_params(frs_exchange *x, fr_request_params *p, char **metadata)
{
    const cJSON *body = frs_body_object(x);
    if (body == NULL) {
        return 0;
    }
    return read_request_strings(x, body, p) && read_request_values(x, body, p, metadata);
}

/* POST /requests: enqueue, dispatched at once when it fits. */
static int post_request(frs_exchange *x)
{
    fr_request_params params = {0};
    char *metadata = NULL;
    if (!read_request_params(x, &params, &metadata)) {
        free(metadata);
        return x->status;
    }
    fr_request out = {0};
    fr_result res;
    fr_result_init(&res);
    int rc = fr_request_create(x->server->engine, &x->ctx, &params, &out, &res);
    free(metadata);
    int status = rc == FR_OK ? send_request(x, 201, &out) : frs_send_result_error(x, rc, &res);
    fr_result_clear(&res);
    return status;
}

/* GET /requests: filtered list; with status=pending the queue order. */
static int list_requests(frs_exchange *x)
{
    frs_list_args args;
    if (!frs_list_args_parse(x, &args, fr_request_status_parse, NULL)) {
        return x->status;
    }
    fr_request *items = NULL;
    size_t count = 0;
    char next_cursor[FR_CURSOR_SIZE] = "";
    int rc = fr_request_list(x->server->engine, &args.q, &items, &count, next_cursor);
    if (rc != FR_OK) {
        return send_status_error(x, rc, "cursor");
    }
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < count; i++) {
        cJSON *item = fr__request_to_cjson(&items[i]);
        if (item == NULL || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            cJSON_Delete(array);
            array = NULL;
        }
    }
    fr_request_free_array(items, count);
    if (array == NULL) {
        return send_status_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_json(x, 200, frs_page(array, next_cursor[0] ? next_cursor : NULL), NULL);
}

/* GET /requests/{id}: one request with its queue figures at this instant. */
static int get_request(frs_exchange *x)
{
    fr_request out = {0};
    int rc = fr_request_get(x->server->engine, x->params[0], &out);
    if (rc != FR_OK) {
        return send_status_error(x, rc, NULL);
    }
    return send_request(x, 200, &out);
}

/* PUT /requests/{id}: change a pending request (re-queued, re-dispatched). */
static int put_request(frs_exchange *x)
{
    if (!frs_read_if_match(x)) {
        return x->status;
    }
    fr_request_params params = {0};
    char *metadata = NULL;
    if (!read_request_params(x, &params, &metadata)) {
        free(metadata);
        return x->status;
    }
    fr_request out = {0};
    fr_result res;
    fr_result_init(&res);
    int rc = fr_request_update(x->server->engine, &x->ctx, x->params[0], &params, &out, &res);
    free(metadata);
    int status = rc == FR_OK ? send_request(x, 200, &out) : frs_send_result_error(x, rc, &res);
    fr_result_clear(&res);
    return status;
}

/* DELETE /requests/{id}: cancel a pending request; 200 with the final one. */
static int delete_request(frs_exchange *x)
{
    if (!frs_read_if_match(x)) {
        return x->status;
    }
    fr_request out = {0};
    fr_result res;
    fr_result_init(&res);
    int rc = fr_request_delete(x->server->engine, &x->ctx, x->params[0], &out, &res);
    int status = rc == FR_OK ? send_request(x, 200, &out) : frs_send_result_error(x, rc, &res);
    fr_result_clear(&res);
    return status;
}

const frs_route frs_routes_requests[] = {
    {"POST", "/requests", post_request},
    {"GET", "/requests", list_requests},
    {"GET", "/requests/{id}", get_request},
    {"PUT", "/requests/{id}", put_request},
    {"DELETE", "/requests/{id}", delete_request},
    {NULL, NULL, NULL},
};
