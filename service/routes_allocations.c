/*
 * routes_allocations.c — /allocations (SPEC §3): JSON <-> fr_allocation_params,
 * one library call per route, allocations rendered back by the codec.
 *
 * The service checks only the shape of a body (types, string bounds); the
 * booking rules — capacity, double booking, pool choice, lifecycle
 * transitions, immutable fields — are the library's, reported through
 * fr_result and mapped by frs_send_result_error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/redis.h"
#include "body.h"
#include "codec.h"
#include "http.h"
#include "router.h"
#include "server.h"

/* What an allocation body owns besides the borrowed strings of the JSON tree. */
typedef struct alloc_input {
    fr_allocation_params p;
    char *metadata_json; /* malloc'd by frs_read_object_text */
    int vehicle_null;    /* "vehicle_id": null was sent */
    int operation_null;  /* "operation_id": null was sent */
} alloc_input;

static int alloc_input_read(frs_exchange *x, const cJSON *obj, alloc_input *in);
static void alloc_inputs_free(alloc_input *in, size_t n);
static int alloc_immutables_check(frs_exchange *x, const char *id, alloc_input *in);
static int alloc_batch_create(frs_exchange *x, const cJSON *array);
static cJSON *alloc_array(const fr_allocation *items, size_t n);
static int send_alloc(frs_exchange *x, int status, const fr_allocation *a);

/* POST /allocations: one allocation, or {"allocations": [...]} all or nothing. */
static int alloc_create(frs_exchange *x)
{
    const cJSON *obj = frs_body_object(x);
    if (obj == NULL) {
        return x->status;
    }
    const cJSON *batch = cJSON_GetObjectItemCaseSensitive(obj, "allocations");
    if (batch != NULL) {
        return alloc_batch_create(x, batch);
    }
    alloc_input in;
    if (!alloc_input_read(x, obj, &in)) {
        alloc_inputs_free(&in, 1);
        return x->status;
    }
    fr_allocation a;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_allocation_create(x->server->engine, &x->ctx, &in.p, &a, &res);
    alloc_inputs_free(&in, 1);
    int status = rc == FR_OK ? send_alloc(x, 201, &a) : frs_send_result_error(x, rc, &res);
    if (rc == FR_OK) {
        fr_allocation_clear(&a);
    }
    fr_result_clear(&res);
    return status;
}

/* GET /allocations?pool_id=&fleet_id=&vehicle_id=&...&status=&from=&to= */
static int alloc_list(frs_exchange *x)
{
    frs_list_args a;
    if (!frs_list_args_parse(x, &a, fr_allocation_status_parse, NULL)) {
        return x->status;
    }
    fr_allocation *items = NULL;
    size_t count = 0;
    char next_cursor[FR_CURSOR_SIZE] = "";
    int rc = fr_allocation_list(x->server->engine, &a.q, &items, &count, next_cursor);
    if (rc != FR_OK) {
        return frs_send_result_error(x, rc, NULL);
    }
    cJSON *array = alloc_array(items, count);
    fr_allocation_free_array(items, count);
    if (array == NULL) {
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_json(x, 200, frs_page(array, next_cursor[0] ? next_cursor : NULL), NULL);
}

/* GET /allocations/{id} (ended allocations stay readable), through the
 * Redis cache: a held allocation's rendering is true until its hold
 * expires, every other one until a change (which invalidates it). */
static int alloc_get(frs_exchange *x)
{
    frs_cache_lease lease;
    if (frs_cache_lookup(x, FRS_CACHE_ALLOCATION, x->params[0], &lease)) {
        return x->status;
    }
    fr_allocation a;
    int rc = fr_allocation_get(x->server->engine, x->params[0], &a);
    if (rc != FR_OK) {
        frs_cache_release(&lease);
        return rc == FR_ENOTFOUND ? frs_send_not_found(x, "Allocation", x->params[0])
                                  : frs_send_result_error(x, rc, NULL);
    }
    int64_t valid_until_ms = a.status == FR_ALLOC_HELD ? a.hold_expires_at_ms : FR_TIME_INF;
    cJSON *json = fr__allocation_to_cjson(&a);
    int64_t version = a.version;
    fr_allocation_clear(&a);
    return frs_cache_send(x, &lease, json, version, valid_until_ms);
}

/* PUT /allocations/{id}: start, end, quantity, priority, metadata, status. */
static int alloc_update(frs_exchange *x)
{
    if (!frs_read_if_match(x)) {
        return x->status;
    }
    const cJSON *obj = frs_body_object(x);
    if (obj == NULL) {
        return x->status;
    }
    alloc_input in;
    if (!alloc_input_read(x, obj, &in) || !alloc_immutables_check(x, x->params[0], &in)) {
        alloc_inputs_free(&in, 1);
        return x->status;
    }
    /* Selection inputs of a create are not fields of an allocation: ignored. */
    in.p.set &= ~(uint32_t)(FR_ALLOC_F_RESOURCE_TYPE | FR_ALLOC_F_SITE);
    fr_allocation a;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_allocation_update(x->server->engine, &x->ctx, x->params[0], &in.p, &a, &res);
    alloc_inputs_free(&in, 1);
    int status = rc == FR_OK ? send_alloc(x, 200, &a) : frs_send_result_error(x, rc, &res);
    if (rc == FR_OK) {
        fr_allocation_clear(&a);
    }
    fr_result_clear(&res);
    return status;
}

/* DELETE /allocations/{id}: cancel before start, release in progress -> 200. */
static int alloc_delete(frs_exchange *x)
{
    if (!frs_read_if_match(x)) {
        return x->status;
    }
    fr_allocation a;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_allocation_delete(x->server->engine, &x->ctx, x->params[0], &a, &res);
    int status = rc == FR_OK ? send_alloc(x, 200, &a) : frs_send_result_error(x, rc, &res);
    if (rc == FR_OK) {
        fr_allocation_clear(&a);
    }
    fr_result_clear(&res);
    return status;
}

const frs_route frs_routes_allocations[] = {
    {"POST", "/allocations", alloc_create},
    {"GET", "/allocations", alloc_list},
    {"GET", "/allocations/{id}", alloc_get},
    {"PUT", "/allocations/{id}", alloc_update},
    {"DELETE", "/allocations/{id}", alloc_delete},
    {NULL, NULL, NULL},
};

/* ---- helpers ------------------------------------------------------------- */

/* Books the parsed batch all or nothing -> 201 {"items": [...]}. */
static int alloc_batch_run(frs_exchange *x, const alloc_input *in, size_t n)
{
    fr_allocation_params *params = calloc(n, sizeof *params);
    fr_allocation *out = calloc(n, sizeof *out);
    if (params == NULL || out == NULL) {
        free(params);
        free(out);
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        params[i] = in[i].p;
    }
    fr_result res;
    fr_result_init(&res);
    int rc = fr_allocation_create_batch(x->server->engine, &x->ctx, params, n, out, &res);
    free(params);
    if (rc != FR_OK) {
        free(out);
        int status = frs_send_result_error(x, rc, &res);
        fr_result_clear(&res);
        return status;
    }
    fr_result_clear(&res);
    cJSON *items = alloc_array(out, n);
    fr_allocation_free_array(out, n);
    return frs_send_items(x, 201, items);
}

/* {"allocations": [...]}: 1..FR_BATCH_MAX objects, each read like a single
 * create.  A shape error names the field (the library's refusals also carry
 * details.index). */
static int alloc_batch_create(frs_exchange *x, const cJSON *array)
{
    int n = cJSON_IsArray(array) ? cJSON_GetArraySize(array) : -1;
    if (n < 1 || n > FR_BATCH_MAX) {
        return frs_send_invalid(x, "allocations",
                                "allocations must be an array of 1 to 1000 objects.");
    }
    alloc_input *in = calloc((size_t)n, sizeof *in);
    if (in == NULL) {
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    size_t read = 0;
    int ok = 1;
    for (const cJSON *item = array->child; ok && item != NULL; item = item->next) {
        if (!cJSON_IsObject(item)) {
            frs_send_invalid(x, "allocations", "each allocation must be a JSON object.");
            ok = 0;
            break;
        }
        ok = alloc_input_read(x, item, &in[read]);
        read++; /* a failed read may still own metadata text */
    }
    int status = ok ? alloc_batch_run(x, in, read) : x->status;
    alloc_inputs_free(in, read);
    free(in);
    return status;
}

/* Renders n allocations as a JSON array, or NULL when out of memory. */
static cJSON *alloc_array(const fr_allocation *items, size_t n)
{
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < n; i++) {
        cJSON *item = fr__allocation_to_cjson(&items[i]);
        if (item == NULL || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            cJSON_Delete(array);
            array = NULL;
        }
    }
    return array;
}

static int send_alloc(frs_exchange *x, int status, const fr_allocation *a)
{
    cJSON *json = fr__allocation_to_cjson(a);
    if (json == NULL) {
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_entity(x, status, json, a->version);
}

/* PUT may send back what GET returned: "vehicle_id": null matches an absent
 * vehicle, and resource_type (which the library's update does not compare)
 * must equal the current one.  Other immutables are compared by the library. */
static int alloc_immutables_check(frs_exchange *x, const char *id, alloc_input *in)
{
    int type_set = (in->p.set & FR_ALLOC_F_RESOURCE_TYPE) != 0;
    if (!in->vehicle_null && !in->operation_null && !type_set) {
        return 1;
    }
    fr_allocation cur;
    if (fr_allocation_get(x->server->engine, id, &cur) != FR_OK) {
        return 1; /* the update itself reports the missing allocation */
    }
    const char *bad = NULL;
    if (in->vehicle_null && cur.vehicle_id != NULL) {
        bad = "vehicle_id";
    } else if (in->operation_null && cur.operation_id != NULL) {
        bad = "operation_id";
    } else if (type_set && strcmp(in->p.resource_type, cur.resource_type) != 0) {
        bad = "resource_type";
    }
    fr_allocation_clear(&cur);
    if (bad != NULL) {
        char message[96];
        snprintf(message, sizeof message, "%s cannot be changed.", bad);
        frs_send_invalid(x, bad, message);
        return 0;
    }
    return 1;
}

/* status: one of SPEC's names (the library decides which are allowed). */
static int status_read(frs_exchange *x, const cJSON *obj, alloc_input *in)
{
    int present = 0;
    if (!frs_read_enum(x, obj, "status", fr_allocation_status_parse, "status must be an allocation status name.", &in->p.status, &present)) {
        return 0;
    }
    if (present) {
        in->p.set |= FR_ALLOC_F_STATUS;
    }
    return 1;
}

/* Optional client ids: a string, or null for "none" (*is_null set). */
static int client_id_read(frs_exchange *x, const cJSON *obj, const char *field,
                          const char **out, uint32_t *set, uint32_t flag, int *is_null)
{
    int present = 0;
    if (!frs_read_string_or_null(x, obj, field, FR_CLIENT_ID_MAX, out, &present)) {
        return 0;
    }
    if (present && *out != NULL) {
        *set |= flag;
    }
    if (is_null != NULL) {
        *is_null = present && *out == NULL;
    }
    return 1;
}

static void mark(uint32_t *set, uint32_t flag, int present)
{
    if (present) {
        *set |= flag;
    }
}

/* Reads every known allocation field present in obj (read-only and unknown
 * fields are ignored).  0 after sending 400; in is always safe to free. */
static int alloc_input_read(frs_exchange *x, const cJSON *obj, alloc_input *in)
{
    memset(in, 0, sizeof *in);
    fr_allocation_params *p = &in->p;
    int64_t priority = 0;
    int f[10] = {0};
    int ok = frs_read_string(x, obj, "pool_id", FR_CLIENT_ID_MAX, &p->pool_id, &f[0]) &&
             frs_read_string(x, obj, "fleet_id", FR_CLIENT_ID_MAX, &p->fleet_id, &f[1]) &&
             frs_read_string(x, obj, "resource_type", FR_SLUG_MAX, &p->resource_type, &f[2]) &&
             client_id_read(x, obj, "site", &p->site, &p->set, FR_ALLOC_F_SITE, NULL) &&
             client_id_read(x, obj, "vehicle_id", &p->vehicle_id, &p->set,
                            FR_ALLOC_F_VEHICLE_ID, &in->vehicle_null) &&
             client_id_read(x, obj, "operation_id", &p->operation_id, &p->set,
                            FR_ALLOC_F_OPERATION_ID, &in->operation_null) &&
             frs_read_string(x, obj, "allocation_type", FR_SLUG_MAX, &p->allocation_type,
                             &f[3]) &&
             frs_read_qty(x, obj, "quantity", &p->quantity_milli, &f[4]) &&
             frs_read_time(x, obj, "start", &p->start_ms, &f[5]) &&
             frs_read_end(x, obj, "end", &p->end_ms, &f[6]) &&
             frs_read_int(x, obj, "priority", 0, FR_PRIORITY_MAX, &priority, &f[7]) &&
             frs_read_seconds(x, obj, "hold_seconds", &p->hold_ms, &f[8]) &&
             frs_read_object_text(x, obj, "metadata", 0, &in->metadata_json, &f[9]) &&
             frs_read_bool(x, obj, "overcommit", &p->overcommit, NULL) && status_read(x, obj, in);
    static const uint32_t flags[10] = {
        FR_ALLOC_F_POOL_ID, FR_ALLOC_F_FLEET_ID, FR_ALLOC_F_RESOURCE_TYPE, FR_ALLOC_F_TYPE,
        FR_ALLOC_F_QUANTITY, FR_ALLOC_F_START, FR_ALLOC_F_END, FR_ALLOC_F_PRIORITY,
        FR_ALLOC_F_HOLD, FR_ALLOC_F_METADATA,
    };
    for (size_t i = 0; i < 10; i++) {
        mark(&p->set, flags[i], f[i]);
    }
    if (p->overcommit) {
        p->set |= FR_ALLOC_F_OVERCOMMIT;
    }
    p->priority = (int32_t)priority;
    p->metadata_json = in->metadata_json;
    return ok;
}

static void alloc_inputs_free(alloc_input *in, size_t n)
{
    for (size_t i = 0; in != NULL && i < n; i++) {
        free(in[i].metadata_json);
        in[i].metadata_json = NULL;
    }
}
