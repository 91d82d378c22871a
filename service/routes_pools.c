/*
 * routes_pools.c — /pools (SPEC §2): JSON <-> fr_pool_params, one library
 * call per route, the pool rendered back by the codec.
 *
 * The service checks only the shape of a body (types, string bounds, the
 * schedule's structure); every domain rule — required fields, ranges,
 * immutability, overlapping schedule entries, pool_in_use — is the library's,
 * reported through fr_result and mapped by frs_send_result_error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "codec.h"
#include "http.h"
#include "router.h"
#include "server.h"

/* What a pool body owns besides the borrowed strings of the JSON tree. */
typedef struct pool_input {
    fr_pool_params p;
    char *labels_json;          /* malloc'd by frs_read_object_text */
    fr_schedule_entry *schedule; /* malloc'd */
} pool_input;

static int pool_input_read(frs_exchange *x, const cJSON *obj, pool_input *in);
static void pool_input_free(pool_input *in);
static int send_pool(frs_exchange *x, int status, const fr_pool *pool, const fr_result *res);
static int read_force(frs_exchange *x, int *force);

/* POST /pools */
static int pool_create(frs_exchange *x)
{
    const cJSON *obj = frs_body_object(x);
    if (obj == NULL) {
        return x->status;
    }
    pool_input in;
    if (!pool_input_read(x, obj, &in)) {
        pool_input_free(&in);
        return x->status;
    }
    fr_pool pool;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_pool_create(x->server->engine, &x->ctx, &in.p, &pool, &res);
    pool_input_free(&in);
    int status = rc == FR_OK ? send_pool(x, 201, &pool, NULL) : frs_send_result_error(x, rc, &res);
    if (rc == FR_OK) {
        fr_pool_clear(&pool);
    }
    fr_result_clear(&res);
    return status;
}

/* GET /pools?fleet_id=&resource_type=&site=&status=&limit=&cursor= */
static int pool_list(frs_exchange *x)
{
    frs_list_args a;
    if (!frs_list_args_parse(x, &a, fr_pool_status_parse, NULL)) {
        return x->status;
    }
    fr_pool *items = NULL;
    size_t count = 0;
    char next_cursor[FR_CURSOR_SIZE] = "";
    int rc = fr_pool_list(x->server->engine, &a.q, &items, &count, next_cursor);
    if (rc != FR_OK) {
        return frs_send_result_error(x, rc, NULL);
    }
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < count; i++) {
        cJSON *item = fr__pool_to_cjson(&items[i]);
        if (item == NULL || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            cJSON_Delete(array);
            array = NULL;
        }
    }
    fr_pool_free_array(items, count);
    if (array == NULL) {
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_json(x, 200, frs_page(array, next_cursor[0] ? next_cursor : NULL), NULL);
}

/* GET /pools/{id} */
static int pool_get(frs_exchange *x)
{
    fr_pool pool;
    int rc = fr_pool_get(x->server->engine, x->params[0], &pool);
    if (rc == FR_ENOTFOUND) {
        return frs_send_not_found(x, "Pool", x->params[0]);
    }
    if (rc != FR_OK) {
        return frs_send_result_error(x, rc, NULL);
    }
    int status = send_pool(x, 200, &pool, NULL);
    fr_pool_clear(&pool);
    return status;
}

/* PUT /pools/{id}: partial update; the response lists conflicts_detected. */
static int pool_update(frs_exchange *x)
{
    if (!frs_read_if_match(x)) {
        return x->status;
    }
    const cJSON *obj = frs_body_object(x);
    if (obj == NULL) {
        return x->status;
    }
    pool_input in;
    if (!pool_input_read(x, obj, &in)) {
        pool_input_free(&in);
        return x->status;
    }
    fr_pool pool;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_pool_update(x->server->engine, &x->ctx, x->params[0], &in.p, &pool, &res);
    pool_input_free(&in);
    int status = rc == FR_OK ? send_pool(x, 200, &pool, &res) : frs_send_result_error(x, rc, &res);
    if (rc == FR_OK) {
        fr_pool_clear(&pool);
    }
    fr_result_clear(&res);
    return status;
}

/* DELETE /pools/{id}[?force=true] -> 204 */
static int pool_delete(frs_exchange *x)
{
    int force = 0;
    if (!frs_read_if_match(x) || !read_force(x, &force)) {
        return x->status;
    }
    fr_result res;
    fr_result_init(&res);
    int rc = fr_pool_delete(x->server->engine, &x->ctx, x->params[0], force, &res);
    int status = rc == FR_OK ? frs_send_no_content(x) : frs_send_result_error(x, rc, &res);
    fr_result_clear(&res);
    return status;
}

const frs_route frs_routes_pools[] = {
    {"POST", "/pools", pool_create},
    {"GET", "/pools", pool_list},
    {"GET", "/pools/{id}", pool_get},
    {"PUT", "/pools/{id}", pool_update},
    {"DELETE", "/pools/{id}", pool_delete},
    {NULL, NULL, NULL},
};

/* ---- helpers ------------------------------------------------------------- */

/* Renders a pool with its ETag; with res (PUT), adds conflicts_detected. */
static int send_pool(frs_exchange *x, int status, const fr_pool *pool, const fr_result *res)
{
    cJSON *json = fr__pool_to_cjson(pool);
    if (json != NULL && res != NULL) {
        cJSON *ids = cJSON_AddArrayToObject(json, "conflicts_detected");
        for (size_t i = 0; ids != NULL && i < res->conflicts_detected_len; i++) {
            cJSON_AddItemToArray(ids, cJSON_CreateString(res->conflicts_detected[i]));
        }
    }
    if (json == NULL) {
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_entity(x, status, json, pool->version);
}

/* ?force=true|false (absent: false). */
static int read_force(frs_exchange *x, int *force)
{
    char value[16];
    if (!frs_query(x, "force", value, sizeof value)) {
        return 1;
    }
    if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
        *force = value[0] == 't';
        return 1;
    }
    frs_send_invalid(x, "force", "force must be true or false.");
    return 0;
}

/* A schedule entry's time member: an RFC 3339 string (or null when
 * null_value is not FR_TIME_NULL: then an absent/null end is open-ended). */
static int schedule_time(const cJSON *entry, const char *name, int64_t null_value,
                         int64_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(entry, name);
    if (null_value != FR_TIME_NULL && (item == NULL || cJSON_IsNull(item))) {
        *out = null_value;
        return 1;
    }
    return cJSON_IsString(item) && fr_time_parse(item->valuestring, out) == FR_OK;
}

/* One {start, end, capacity} entry; the library checks ranges and overlaps. */
static int schedule_entry_read(frs_exchange *x, const cJSON *entry, size_t index,
                               fr_schedule_entry *out)
{
    char message[160];
    const char *bad = NULL;
    const cJSON *capacity = cJSON_GetObjectItemCaseSensitive(entry, "capacity");
    const char *text = cJSON_IsNumber(capacity) ? frs_number_text(x, capacity) : NULL;
    if (!cJSON_IsObject(entry)) {
        bad = "must be an object {start, end, capacity}";
    } else if (!schedule_time(entry, "start", FR_TIME_NULL, &out->start_ms)) {
        bad = "start must be an RFC 3339 timestamp";
    } else if (!schedule_time(entry, "end", FR_TIME_INF, &out->end_ms)) {
        bad = "end must be an RFC 3339 timestamp or null";
    } else if (text == NULL || fr_qty_parse(text, &out->capacity_milli) != FR_OK) {
        bad = "capacity must be a number with at most 3 decimals";
    }
    if (bad == NULL) {
        return 1;
    }
    snprintf(message, sizeof message, "capacity_schedule[%zu]: %s.", index, bad);
    frs_send_invalid(x, "capacity_schedule", message);
    return 0;
}

/* capacity_schedule: an array (null = empty) of at most FR_SCHEDULE_MAX entries. */
static int schedule_read(frs_exchange *x, const cJSON *obj, pool_input *in)
{
    const cJSON *array = cJSON_GetObjectItemCaseSensitive(obj, "capacity_schedule");
    if (array == NULL) {
        return 1;
    }
    in->p.set |= FR_POOL_F_SCHEDULE;
    if (cJSON_IsNull(array)) {
        return 1;
    }
    int n = cJSON_IsArray(array) ? cJSON_GetArraySize(array) : -1;
    if (n < 0 || n > FR_SCHEDULE_MAX) {
        frs_send_invalid(x, "capacity_schedule",
                         "capacity_schedule must be an array of at most 1000 entries.");
        return 0;
    }
    in->schedule = calloc(n > 0 ? (size_t)n : 1, sizeof *in->schedule);
    if (in->schedule == NULL) {
        frs_send_result_error(x, FR_ENOMEM, NULL);
        return 0;
    }
    size_t i = 0;
    for (const cJSON *entry = array->child; entry != NULL; entry = entry->next, i++) {
        if (!schedule_entry_read(x, entry, i, &in->schedule[i])) {
            return 0;
        }
    }
    in->p.schedule = in->schedule;
    in->p.schedule_len = i;
    return 1;
}

/* status: one of SPEC's names. */
static int status_read(frs_exchange *x, const cJSON *obj, pool_input *in)
{
    int present = 0;
    if (!frs_read_enum(x, obj, "status", fr_pool_status_parse, "status must be active, draining or retired.", &in->p.status, &present)) {
        return 0;
    }
    if (present) {
        in->p.set |= FR_POOL_F_STATUS;
    }
    return 1;
}

/* Marks `flag` in set when the reader found the field. */
static void mark(uint32_t *set, uint32_t flag, int present)
{
    if (present) {
        *set |= flag;
    }
}

/* Reads every known pool field present in obj (read-only and unknown fields
 * are ignored).  0 after sending 400; in is always safe to free. */
static int pool_input_read(frs_exchange *x, const cJSON *obj, pool_input *in)
{
    memset(in, 0, sizeof *in);
    fr_pool_params *p = &in->p;
    int f[8] = {0};
    int ok = frs_read_string(x, obj, "fleet_id", FR_CLIENT_ID_MAX, &p->fleet_id, &f[0]) &&
             frs_read_string(x, obj, "name", FR_NAME_MAX, &p->name, &f[1]) &&
             frs_read_string(x, obj, "resource_type", FR_SLUG_MAX, &p->resource_type, &f[2]) &&
             frs_read_string(x, obj, "unit", FR_SLUG_MAX, &p->unit, &f[3]) &&
             frs_read_string_or_null(x, obj, "site", FR_CLIENT_ID_MAX, &p->site, &f[4]) &&
             frs_read_object_text(x, obj, "labels", 1, &in->labels_json, &f[5]) &&
             frs_read_qty(x, obj, "total_capacity", &p->total_capacity_milli, &f[6]) &&
             frs_read_bool(x, obj, "exclusive_per_vehicle", &p->exclusive_per_vehicle, &f[7]) &&
             status_read(x, obj, in) && schedule_read(x, obj, in);
    mark(&p->set, FR_POOL_F_FLEET_ID, f[0]);
    mark(&p->set, FR_POOL_F_NAME, f[1]);
    mark(&p->set, FR_POOL_F_RESOURCE_TYPE, f[2]);
    mark(&p->set, FR_POOL_F_UNIT, f[3]);
    mark(&p->set, FR_POOL_F_SITE, f[4]);
    mark(&p->set, FR_POOL_F_LABELS, f[5]);
    mark(&p->set, FR_POOL_F_TOTAL_CAPACITY, f[6]);
    mark(&p->set, FR_POOL_F_EXCLUSIVE, f[7]);
    p->labels_json = in->labels_json;
    return ok;
}

static void pool_input_free(pool_input *in)
{
    free(in->labels_json);
    free(in->schedule);
    memset(in, 0, sizeof *in);
}
