/*
 * routes_utilization.c — /utilization (SPEC §5): measured samples in (one by
 * one or in batches, all or nothing), samples listed, and the utilization
 * series of a pool out.
 *
 * The service checks only the shape of a body and of the query (types,
 * string bounds, the series' defaults and bucket bound); the rules — used in
 * range, the pool exists, the capacity at a sample's timestamp, the ledger
 * statistics — are the library's, reported through fr_result and mapped by
 * frs_send_result_error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "codec.h"
#include "http.h"
#include "router.h"
#include "server.h"

/* The default range of a series: the 24 hours before now, in hourly buckets. */
#define SERIES_RANGE_DEFAULT_MS (INT64_C(24) * 3600 * 1000)
#define SERIES_BUCKET_SECONDS_DEFAULT 3600
/* bucket_seconds above this would overflow as milliseconds. */
#define SERIES_BUCKET_SECONDS_MAX (INT64_MAX / 1000)

typedef struct series_args {
    int64_t from_ms;
    int64_t to_ms;
    int64_t bucket_seconds;
    size_t bucket_count;
} series_args;

static int sample_read(frs_exchange *x, const cJSON *obj, fr_sample_params *p);
static int sample_batch_create(frs_exchange *x, const cJSON *array);
static cJSON *sample_array(const fr_sample *items, size_t n);
static int series_args_read(frs_exchange *x, series_args *a);
static cJSON *series_to_cjson(const char *pool_id, const series_args *a,
                              const fr_utilization_bucket *buckets,
                              const fr_utilization_bucket *summary);

/* POST /utilization: one sample, or {"samples": [...]} all or nothing. */
static int sample_create(frs_exchange *x)
{
    const cJSON *obj = frs_body_object(x);
    if (obj == NULL) {
        return x->status;
    }
    const cJSON *batch = cJSON_GetObjectItemCaseSensitive(obj, "samples");
    if (batch != NULL) {
        return sample_batch_create(x, batch);
    }
    fr_sample_params p;
    if (!sample_read(x, obj, &p)) {
        return x->status;
    }
    fr_sample s;
    fr_result res;
    fr_result_init(&res);
    int rc = fr_sample_create(x->server->engine, &x->ctx, &p, &s, &res);
    int status;
    if (rc == FR_OK) {
        cJSON *json = fr__sample_to_cjson(&s);
        fr_sample_clear(&s);
        /* Samples are immutable: their version is always 1. */
        status = json != NULL ? frs_send_entity(x, 201, json, 1)
                              : frs_send_result_error(x, FR_ENOMEM, NULL);
    } else {
        status = frs_send_result_error(x, rc, &res);
    }
    fr_result_clear(&res);
    return status;
}

/* GET /utilization?pool_id=&fleet_id=&from=&to=&limit=&cursor=
 * (from <= timestamp < to). */
static int sample_list(frs_exchange *x)
{
    frs_list_args a;
    if (!frs_list_args_parse(x, &a, NULL, NULL)) {
        return x->status;
    }
    fr_sample *items = NULL;
    size_t count = 0;
    char next_cursor[FR_CURSOR_SIZE] = "";
    int rc = fr_sample_list(x->server->engine, &a.q, &items, &count, next_cursor);
    if (rc == FR_EINVAL) {
        return frs_send_invalid(x, "cursor", "cursor is not one this server issued");
    }
    if (rc != FR_OK) {
        return frs_send_result_error(x, rc, NULL);
    }
    cJSON *array = sample_array(items, count);
    fr_sample_free_array(items, count);
    if (array == NULL) {
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_json(x, 200, frs_page(array, next_cursor[0] ? next_cursor : NULL), NULL);
}

/* GET /utilization/{pool_id}?from=&to=&bucket_seconds= (deleted pools too). */
static int pool_series(frs_exchange *x)
{
    series_args a;
    if (!series_args_read(x, &a)) {
        return x->status;
    }
    fr_utilization_bucket *buckets = calloc(a.bucket_count, sizeof *buckets);
    if (buckets == NULL) {
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    fr_utilization_bucket summary;
    size_t count = 0;
    int rc = fr_pool_utilization(x->server->engine, x->params[0], a.from_ms, a.to_ms,
                                 a.bucket_seconds * 1000, buckets, a.bucket_count, &count,
                                 &summary);
    int status;
    if (rc == FR_OK) {
        cJSON *body = series_to_cjson(x->params[0], &a, buckets, &summary);
        status = body != NULL ? frs_send_json(x, 200, body, NULL)
                              : frs_send_result_error(x, FR_ENOMEM, NULL);
    } else if (rc == FR_ENOTFOUND) {
        char message[160];
        snprintf(message, sizeof message, "Pool %.64s does not exist.", x->params[0]);
        status = frs_send_error(x, 404, "not_found", message, NULL);
    } else if (rc == FR_EINVAL) {
        /* Only a range reaching outside the accepted instants gets here. */
        status = frs_send_invalid(x, "from", "from and to must be within years 0000-9999.");
    } else {
        status = frs_send_result_error(x, rc, NULL);
    }
    free(buckets);
    return status;
}

const frs_route frs_routes_utilization[] = {
    {"POST", "/utilization", sample_create},
    {"GET", "/utilization", sample_list},
    {"GET", "/utilization/{pool_id}", pool_series},
    {NULL, NULL, NULL},
};

/* ---- samples ---------------------------------------------------------------- */

/* Reads the fields of one sample body (unknown and read-only fields are
 * ignored); 0 after sending 400.  Strings are borrowed from the JSON tree. */
static int sample_read(frs_exchange *x, const cJSON *obj, fr_sample_params *p)
{
    memset(p, 0, sizeof *p);
    int f[4] = {0};
    int ok = frs_read_string(x, obj, "pool_id", FR_CLIENT_ID_MAX, &p->pool_id, &f[0]) &&
             frs_read_time(x, obj, "timestamp", &p->timestamp_ms, &f[1]) &&
             frs_read_qty(x, obj, "used", &p->used_milli, &f[2]) &&
             frs_read_string_or_null(x, obj, "source", FR_SOURCE_MAX, &p->source, &f[3]);
    static const uint32_t flags[4] = {
        FR_SAMPLE_F_POOL_ID, FR_SAMPLE_F_TIMESTAMP, FR_SAMPLE_F_USED, FR_SAMPLE_F_SOURCE,
    };
    for (size_t i = 0; i < 4; i++) {
        if (f[i]) {
            p->set |= flags[i];
        }
    }
    return ok;
}

/* Records the parsed batch all or nothing -> 201 {"items": [...]}. */
static int sample_batch_run(frs_exchange *x, const fr_sample_params *params, size_t n)
{
    fr_sample *out = calloc(n, sizeof *out);
    if (out == NULL) {
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    fr_result res;
    fr_result_init(&res);
    int rc = fr_sample_create_batch(x->server->engine, &x->ctx, params, n, out, &res);
    if (rc != FR_OK) {
        free(out);
        int status = frs_send_result_error(x, rc, &res);
        fr_result_clear(&res);
        return status;
    }
    fr_result_clear(&res);
    cJSON *items = sample_array(out, n);
    fr_sample_free_array(out, n);
    return frs_send_items(x, 201, items);
}

/* {"samples": [...]}: 1..FR_BATCH_MAX objects, each read like a single
 * sample.  While item i is read, x->error_index = i, so a shape error
 * carries details.index like the library's refusals do. */
static int sample_batch_create(frs_exchange *x, const cJSON *array)
{
    int n = cJSON_IsArray(array) ? cJSON_GetArraySize(array) : -1;
    if (n < 1 || n > FR_BATCH_MAX) {
        return frs_send_invalid(x, "samples", "samples must be an array of 1 to 1000 objects.");
    }
    fr_sample_params *params = calloc((size_t)n, sizeof *params);
    if (params == NULL) {
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    size_t read = 0;
    int ok = 1;
    for (const cJSON *item = array->child; ok && item != NULL && read < (size_t)n;
         item = item->next) {
        x->error_index = (int64_t)read;
        if (!cJSON_IsObject(item)) {
            frs_send_invalid(x, "samples", "each sample must be a JSON object.");
            ok = 0;
            break;
        }
        ok = sample_read(x, item, &params[read]);
        read++;
    }
    x->error_index = -1;
    int status = ok ? sample_batch_run(x, params, read) : x->status;
    free(params);
    return status;
}

/* Renders n samples as a JSON array, or NULL when out of memory. */
static cJSON *sample_array(const fr_sample *items, size_t n)
{
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < n; i++) {
        cJSON *item = fr__sample_to_cjson(&items[i]);
        if (item == NULL || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            cJSON_Delete(array);
            array = NULL;
        }
    }
    return array;
}

/* ---- the series --------------------------------------------------------------- */

/* An RFC 3339 query parameter: 1 (and *ms) if present and valid, 0 if
 * absent, -1 after sending 400. */
static int query_instant(frs_exchange *x, const char *name, int64_t *ms)
{
    char text[64];
    int found = frs_query(x, name, text, sizeof text);
    if (found == 0) {
        return 0;
    }
    if (found < 0 || fr_time_parse(text, ms) != FR_OK) {
        char message[96];
        snprintf(message, sizeof message, "%s must be an RFC 3339 timestamp.", name);
        frs_send_invalid(x, name, message);
        return -1;
    }
    return 1;
}

/* ?bucket_seconds=: a positive decimal integer (default 3600); 0 after 400. */
static int query_bucket_seconds(frs_exchange *x, int64_t *seconds)
{
    char text[32];
    int found = frs_query(x, "bucket_seconds", text, sizeof text);
    *seconds = SERIES_BUCKET_SECONDS_DEFAULT;
    if (found == 0) {
        return 1;
    }
    char *end = NULL;
    errno = 0;
    long long value = found > 0 ? strtoll(text, &end, 10) : 0;
    int digits_only = found > 0 && text[0] >= '0' && text[0] <= '9';
    if (!digits_only || *end != 0 || errno != 0 || value < 1 ||
        value > SERIES_BUCKET_SECONDS_MAX) {
        frs_send_invalid(x, "bucket_seconds", "bucket_seconds must be a positive integer.");
        return 0;
    }
    *seconds = (int64_t)value;
    return 1;
}

/* from, to (default: the 24 hours before now) and bucket_seconds, checked:
 * to > from and at most FR_UTILIZATION_BUCKETS_MAX buckets.  0 after 400. */
static int series_args_read(frs_exchange *x, series_args *a)
{
    memset(a, 0, sizeof *a);
    int has_from = query_instant(x, "from", &a->from_ms);
    if (has_from < 0) {
        return 0;
    }
    int has_to = query_instant(x, "to", &a->to_ms);
    if (has_to < 0 || !query_bucket_seconds(x, &a->bucket_seconds)) {
        return 0;
    }
    if (!has_to) {
        a->to_ms = fr_engine_now(x->server->engine);
    }
    if (!has_from) {
        /* Both bounds are accepted instants, so this cannot overflow. */
        a->from_ms = a->to_ms - SERIES_RANGE_DEFAULT_MS;
    }
    if (a->to_ms <= a->from_ms) {
        frs_send_invalid(x, "to", "to must be after from.");
        return 0;
    }
    const int64_t span_ms = a->to_ms - a->from_ms;
    const int64_t bucket_ms = a->bucket_seconds * 1000;
    const int64_t count = span_ms / bucket_ms + (span_ms % bucket_ms != 0);
    if (count > FR_UTILIZATION_BUCKETS_MAX) {
        frs_send_invalid(x, "bucket_seconds",
                         "bucket_seconds makes more than 10000 buckets of [from, to).");
        return 0;
    }
    a->bucket_count = (size_t)count;
    return 1;
}

/* The statistics of one bucket (or of the summary, with capacity named
 * capacity_avg and no start); NULL when out of memory. */
static cJSON *bucket_to_cjson(const fr_utilization_bucket *b, int is_summary)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    int ok = 1;
    if (!is_summary) {
        ok = cJSON_AddItemToObject(o, "start", fr__time_to_cjson(b->start_ms));
    }
    ok = ok && cJSON_AddItemToObject(o, is_summary ? "capacity_avg" : "capacity",
                                     fr__qty_to_cjson(b->capacity_avg_milli));
    ok = ok && cJSON_AddItemToObject(o, "booked_avg", fr__qty_to_cjson(b->booked_avg_milli));
    ok = ok && cJSON_AddItemToObject(o, "booked_peak", fr__qty_to_cjson(b->booked_peak_milli));
    ok = ok && cJSON_AddItemToObject(o, "measured_avg",
                                     b->has_measured ? fr__qty_to_cjson(b->measured_avg_milli)
                                                     : cJSON_CreateNull());
    ok = ok && cJSON_AddItemToObject(o, "utilization",
                                     fr__ratio_to_cjson(b->has_utilization, b->utilization));
    ok = ok && cJSON_AddItemToObject(o, "efficiency",
                                     fr__ratio_to_cjson(b->has_efficiency, b->efficiency));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* {pool_id, from, to, bucket_seconds, series, summary}; NULL when out of memory. */
static cJSON *series_to_cjson(const char *pool_id, const series_args *a,
                              const fr_utilization_bucket *buckets,
                              const fr_utilization_bucket *summary)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *series = cJSON_CreateArray();
    int ok = root != NULL && series != NULL &&
             cJSON_AddStringToObject(root, "pool_id", pool_id) != NULL &&
             cJSON_AddItemToObject(root, "from", fr__time_to_cjson(a->from_ms)) &&
             cJSON_AddItemToObject(root, "to", fr__time_to_cjson(a->to_ms)) &&
             cJSON_AddNumberToObject(root, "bucket_seconds", (double)a->bucket_seconds) != NULL;
    for (size_t i = 0; ok && i < a->bucket_count; i++) {
        cJSON *item = bucket_to_cjson(&buckets[i], 0);
        ok = item != NULL && cJSON_AddItemToArray(series, item);
        if (!ok) {
            cJSON_Delete(item);
        }
    }
    ok = ok && cJSON_AddItemToObject(root, "series", series);
    if (!ok) {
        cJSON_Delete(series);
        cJSON_Delete(root);
        return NULL;
    }
    cJSON *total = bucket_to_cjson(summary, 1);
    if (total == NULL || !cJSON_AddItemToObject(root, "summary", total)) {
        cJSON_Delete(total);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
