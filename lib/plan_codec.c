/*
 * plan_codec.c — the plan entity's plumbing: status names, deep copy,
 * clear, and JSON both ways (SPEC §7's shape).
 *
 * Why a file of its own: a plan is the one entity with nested arrays
 * (demands, assignments, forecast series, ...), and keeping its codec apart
 * from codec.c keeps the other entities' code untouched.  Numbers follow
 * codec.c's rules: quantities and durations are exact decimal text
 * (fr__qty_to_cjson: milli-units, and ms as seconds with 3 decimals),
 * integers are raw decimal text, times RFC 3339 (null for FR_TIME_NULL /
 * FR_TIME_INF).  Reading back (stores, replay) accepts what to_cjson wrote;
 * arrays are bounded, nothing recurses on input data.
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "codec.h"
#include "entity.h"
#include "fr_int.h"

#define PLAN_ARRAY_MAX 1000000

static const char *const plan_status_names[] = {"draft", "committed", "discarded"};

const char *fr_plan_status_name(int status)
{
    return status >= 0 && status < 3 ? plan_status_names[status] : NULL;
}

int fr_plan_status_parse(const char *name)
{
    for (int i = 0; name != NULL && i < 3; i++) {
        if (strcmp(name, plan_status_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* ---- clear / copy ---------------------------------------------------------- */

static void demands_free(fr_plan_demand *d, size_t n)
{
    for (size_t i = 0; d != NULL && i < n; i++) {
        free(d[i].ref);
        free(d[i].resource_type);
        free(d[i].site);
        free(d[i].vehicle_id);
    }
    free(d);
}

void fr_plan_miss_free_array(fr_plan_miss *items, size_t n)
{
    for (size_t i = 0; items != NULL && i < n; i++) {
        free(items[i].ref);
    }
    free(items);
}

void fr_plan_clear(fr_plan *plan)
{
    if (plan == NULL) {
        return;
    }
    free(plan->fleet_id);
    free(plan->name);
    demands_free(plan->demands, plan->demands_len);
    free(plan->capacity_changes);
    for (size_t i = 0; plan->assignments != NULL && i < plan->assignments_len; i++) {
        free(plan->assignments[i].ref);
    }
    free(plan->assignments);
    fr_plan_miss_free_array(plan->unplaced, plan->unplaced_len);
    for (size_t i = 0; plan->forecast != NULL && i < plan->forecast_len; i++) {
        free(plan->forecast[i].series);
    }
    free(plan->forecast);
    free(plan->shortfall);
    memset(plan, 0, sizeof *plan);
}

void fr_plan_free_array(fr_plan *items, size_t n)
{
    for (size_t i = 0; items != NULL && i < n; i++) {
        fr_plan_clear(&items[i]);
    }
    free(items);
}

/* A copy of n elements of size bytes (NULL for none); *ok = 0 on OOM. */
static void *dup_array(const void *src, size_t n, size_t size, int *ok)
{
    if (n == 0 || src == NULL) {
        return NULL;
    }
    void *copy = malloc(n * size);
    if (copy == NULL) {
        *ok = 0;
        return NULL;
    }
    memcpy(copy, src, n * size);
    return copy;
}

/* Replaces *s by a copy of itself; *ok = 0 on OOM (then *s is NULL). */
static void redup(char **s, int *ok)
{
    if (*s != NULL) {
        *s = fr__strdup_or_null(*s);
        *ok = *ok && *s != NULL;
    }
}

int fr__plan_copy(fr_plan *dst, const fr_plan *src)
{
    fr_plan c = *src;
    int ok = 1;
    /* The shallow copy shares src's memory: duplicate every owned part, with
     * the lengths zeroed until their array is ours, so clear is always safe. */
    c.demands_len = 0;
    c.assignments_len = 0;
    c.unplaced_len = 0;
    c.forecast_len = 0;
    redup(&c.fleet_id, &ok);
    redup(&c.name, &ok);
    c.capacity_changes = dup_array(src->capacity_changes, src->capacity_changes_len,
                                   sizeof *c.capacity_changes, &ok);
    c.capacity_changes_len = c.capacity_changes != NULL ? src->capacity_changes_len : 0;
    c.shortfall = dup_array(src->shortfall, src->shortfall_len, sizeof *c.shortfall, &ok);
    c.shortfall_len = c.shortfall != NULL ? src->shortfall_len : 0;
    c.demands = dup_array(src->demands, src->demands_len, sizeof *c.demands, &ok);
    for (size_t i = 0; c.demands != NULL && i < src->demands_len; i++, c.demands_len++) {
        fr_plan_demand *d = &c.demands[i];
        redup(&d->ref, &ok);
        redup(&d->resource_type, &ok);
        redup(&d->site, &ok);
        redup(&d->vehicle_id, &ok);
    }
    c.assignments = dup_array(src->assignments, src->assignments_len, sizeof *c.assignments, &ok);
    for (size_t i = 0; c.assignments != NULL && i < src->assignments_len; i++, c.assignments_len++) {
        redup(&c.assignments[i].ref, &ok);
    }
    c.unplaced = dup_array(src->unplaced, src->unplaced_len, sizeof *c.unplaced, &ok);
    for (size_t i = 0; c.unplaced != NULL && i < src->unplaced_len; i++, c.unplaced_len++) {
        redup(&c.unplaced[i].ref, &ok);
    }
    c.forecast = dup_array(src->forecast, src->forecast_len, sizeof *c.forecast, &ok);
    for (size_t i = 0; c.forecast != NULL && i < src->forecast_len; i++, c.forecast_len++) {
        fr_plan_forecast *f = &c.forecast[i];
        int had = f->series != NULL;
        f->series = dup_array(f->series, f->series_len, sizeof *f->series, &ok);
        if (had && f->series == NULL) {
            f->series_len = 0;
        }
    }
    if (!ok) {
        fr_plan_clear(&c);
        memset(dst, 0, sizeof *dst);
        return FR_ENOMEM;
    }
    *dst = c;
    return FR_OK;
}

/* ---- to JSON ------------------------------------------------------------------ */

static cJSON *int_raw(int64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v);
    return cJSON_CreateRaw(text);
}

static cJSON *str_or_null(const char *s)
{
    return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *id_or_null(const char *id)
{
    return id[0] != 0 ? cJSON_CreateString(id) : cJSON_CreateNull();
}

/* Adds item (NULL: out of memory) to o, remembering failure in *ok. */
static void add(cJSON *o, const char *name, cJSON *item, int *ok)
{
    if (o == NULL || item == NULL || !cJSON_AddItemToObject(o, name, item)) {
        cJSON_Delete(item);
        *ok = 0;
    }
}

static void push(cJSON *a, cJSON *item, int *ok)
{
    if (a == NULL || item == NULL || !cJSON_AddItemToArray(a, item)) {
        cJSON_Delete(item);
        *ok = 0;
    }
}

/* The item's identity: {"ref": ...} for a demand, {"request_id": ...} else. */
static void add_identity(cJSON *o, const char *ref, const char *request_id, int *ok)
{
    if (ref != NULL) {
        add(o, "ref", cJSON_CreateString(ref), ok);
    } else {
        add(o, "request_id", cJSON_CreateString(request_id), ok);
    }
}

cJSON *fr__plan_miss_to_cjson(const fr_plan_miss *m)
{
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    add_identity(o, m->ref, m->request_id, &ok);
    if (m->pool_id[0] != 0) {
        add(o, "pool_id", cJSON_CreateString(m->pool_id), &ok);
    }
    add(o, "reason", cJSON_CreateString(m->reason), &ok);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *demand_to_cjson(const fr_plan_demand *d)
{
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    add(o, "ref", str_or_null(d->ref), &ok);
    add(o, "resource_type", str_or_null(d->resource_type), &ok);
    add(o, "site", str_or_null(d->site), &ok);
    add(o, "pool_id", id_or_null(d->pool_id), &ok);
    add(o, "vehicle_id", str_or_null(d->vehicle_id), &ok);
    add(o, "quantity", fr__qty_to_cjson(d->quantity_milli), &ok);
    add(o, "duration_seconds", fr__qty_to_cjson(d->duration_ms), &ok);
    add(o, "earliest_start", fr__time_to_cjson(d->earliest_start_ms), &ok);
    add(o, "latest_end", fr__time_to_cjson(d->latest_end_ms), &ok);
    add(o, "priority", int_raw(d->priority), &ok);
    return ok ? o : (cJSON_Delete(o), NULL);
}

static cJSON *change_to_cjson(const fr_plan_capacity_change *c)
{
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    add(o, "pool_id", cJSON_CreateString(c->pool_id), &ok);
    add(o, "start", fr__time_to_cjson(c->start_ms), &ok);
    add(o, "end", fr__time_to_cjson(c->end_ms), &ok);
    add(o, "delta", fr__qty_to_cjson(c->delta_milli), &ok);
    return ok ? o : (cJSON_Delete(o), NULL);
}

static cJSON *assignment_to_cjson(const fr_plan_assignment_info *a)
{
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    add_identity(o, a->ref, a->request_id, &ok);
    add(o, "pool_id", cJSON_CreateString(a->pool_id), &ok);
    add(o, "start", fr__time_to_cjson(a->start_ms), &ok);
    add(o, "end", fr__time_to_cjson(a->end_ms), &ok);
    add(o, "quantity", fr__qty_to_cjson(a->quantity_milli), &ok);
    add(o, "priority", int_raw(a->priority), &ok);
    add(o, "allocation_id", id_or_null(a->allocation_id), &ok);
    return ok ? o : (cJSON_Delete(o), NULL);
}

static cJSON *forecast_to_cjson(const fr_plan_forecast *f)
{
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    cJSON *series = cJSON_CreateArray();
    add(o, "pool_id", cJSON_CreateString(f->pool_id), &ok);
    for (size_t i = 0; ok && series != NULL && i < f->series_len; i++) {
        const fr_plan_forecast_bucket *b = &f->series[i];
        cJSON *bo = cJSON_CreateObject();
        add(bo, "start", fr__time_to_cjson(b->start_ms), &ok);
        add(bo, "end", fr__time_to_cjson(b->end_ms), &ok);
        add(bo, "capacity", fr__qty_to_cjson(b->capacity_milli), &ok);
        add(bo, "booked", fr__qty_to_cjson(b->booked_milli), &ok);
        add(bo, "planned", fr__qty_to_cjson(b->planned_milli), &ok);
        int has = b->capacity_milli > 0;
        add(bo, "utilization",
            fr__ratio_to_cjson(has, has ? ((double)b->booked_milli + (double)b->planned_milli) /
                                              (double)b->capacity_milli
                                        : 0.0),
            &ok);
        push(series, bo, &ok);
    }
    add(o, "series", series, &ok);
    return ok ? o : (cJSON_Delete(o), NULL);
}

static cJSON *shortage_to_cjson(const fr_plan_shortage *s)
{
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    add(o, "pool_id", cJSON_CreateString(s->pool_id), &ok);
    add(o, "start", fr__time_to_cjson(s->start_ms), &ok);
    add(o, "end", fr__time_to_cjson(s->end_ms), &ok);
    add(o, "extra_capacity", fr__qty_to_cjson(s->extra_milli), &ok);
    return ok ? o : (cJSON_Delete(o), NULL);
}

/* An array of n elements rendered by fn (stride size bytes). */
static cJSON *array_of(const void *items, size_t n, size_t size, cJSON *(*fn)(const void *))
{
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        push(a, fn((const char *)items + i * size), &ok);
    }
    return ok ? a : (cJSON_Delete(a), NULL);
}

static cJSON *demand_fn(const void *x) { return demand_to_cjson(x); }
static cJSON *change_fn(const void *x) { return change_to_cjson(x); }
static cJSON *assignment_fn(const void *x) { return assignment_to_cjson(x); }
static cJSON *miss_fn(const void *x) { return fr__plan_miss_to_cjson(x); }
static cJSON *forecast_fn(const void *x) { return forecast_to_cjson(x); }
static cJSON *shortage_fn(const void *x) { return shortage_to_cjson(x); }

static cJSON *score_to_cjson(const fr_plan *p)
{
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    add(o, "placed", int_raw((int64_t)p->assignments_len), &ok);
    add(o, "unplaced", int_raw((int64_t)p->unplaced_len), &ok);
    add(o, "placed_priority", int_raw(p->placed_priority), &ok);
    add(o, "total_delay_seconds", fr__qty_to_cjson(p->total_delay_ms), &ok);
    return ok ? o : (cJSON_Delete(o), NULL);
}

cJSON *fr__plan_to_cjson(const fr_plan *p)
{
    assert(p != NULL);
    int ok = 1;
    cJSON *o = cJSON_CreateObject();
    add(o, "id", cJSON_CreateString(p->id), &ok);
    add(o, "fleet_id", str_or_null(p->fleet_id), &ok);
    add(o, "name", str_or_null(p->name), &ok);
    add(o, "status", str_or_null(fr_plan_status_name(p->status)), &ok);
    add(o, "horizon_start", fr__time_to_cjson(p->horizon_start_ms), &ok);
    add(o, "horizon_end", fr__time_to_cjson(p->horizon_end_ms), &ok);
    add(o, "bucket_seconds", fr__qty_to_cjson(p->bucket_ms), &ok);
    add(o, "include_pending_requests", cJSON_CreateBool(p->include_pending_requests), &ok);
    add(o, "time_budget_ms", int_raw(p->time_budget_ms), &ok);
    add(o, "demands", array_of(p->demands, p->demands_len, sizeof *p->demands, demand_fn), &ok);
    add(o, "capacity_changes", array_of(p->capacity_changes, p->capacity_changes_len,
                                        sizeof *p->capacity_changes, change_fn), &ok);
    add(o, "assignments", array_of(p->assignments, p->assignments_len, sizeof *p->assignments,
                                   assignment_fn), &ok);
    add(o, "unplaced", array_of(p->unplaced, p->unplaced_len, sizeof *p->unplaced, miss_fn), &ok);
    add(o, "forecast", array_of(p->forecast, p->forecast_len, sizeof *p->forecast, forecast_fn),
        &ok);
    add(o, "shortfall", array_of(p->shortfall, p->shortfall_len, sizeof *p->shortfall,
                                 shortage_fn), &ok);
    add(o, "score", score_to_cjson(p), &ok);
    add(o, "planning_ms", int_raw(p->planning_ms), &ok);
    add(o, "planned_at", fr__time_to_cjson(p->planned_at_ms), &ok);
    add(o, "committed_at", fr__time_to_cjson(p->committed_at_ms), &ok);
    if (p->deleted) {
        add(o, "deleted", cJSON_CreateTrue(), &ok);
    }
    add(o, "version", int_raw(p->version), &ok);
    add(o, "created_at", fr__time_to_cjson(p->created_at_ms), &ok);
    add(o, "updated_at", fr__time_to_cjson(p->updated_at_ms), &ok);
    return ok ? o : (cJSON_Delete(o), NULL);
}

char *fr__plan_to_json_text(const fr_plan *plan)
{
    cJSON *json = fr__plan_to_cjson(plan);
    char *text = json != NULL ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    return text;
}

int fr_plan_to_json(const fr_plan *plan, char **out_json)
{
    if (plan == NULL || out_json == NULL) {
        return FR_EINVAL;
    }
    char *text = fr__plan_to_json_text(plan);
    if (text == NULL) {
        return FR_ENOMEM;
    }
    *out_json = text;
    return FR_OK;
}

/* ---- from JSON ------------------------------------------------------------------ */

/* A reader over one object that remembers its first error. */
typedef struct rd {
    const cJSON *o;
    int status;
} rd;

static void rd_fail(rd *r, int status)
{
    if (r->status == FR_OK) {
        r->status = status;
    }
}

static const cJSON *rd_get(rd *r, const char *name, int required)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->o, name);
    if (cJSON_IsNull(item)) {
        item = NULL;
    }
    if (item == NULL && required) {
        rd_fail(r, FR_EINVAL);
    }
    return item;
}

/* Exact integer of a raw or number item. */
static void rd_int(rd *r, const char *name, int64_t min, int64_t max, int64_t *out)
{
    const cJSON *item = rd_get(r, name, 1);
    if (item == NULL) {
        return;
    }
    long long v = 0;
    int used = 0;
    if (cJSON_IsRaw(item) && item->valuestring != NULL &&
        sscanf(item->valuestring, "%lld%n", &v, &used) == 1 &&
        item->valuestring[used] == 0) {
        /* parsed */
    } else if (cJSON_IsNumber(item) && isfinite(item->valuedouble) &&
               fabs(item->valuedouble) < 9007199254740992.0 &&
               item->valuedouble == floor(item->valuedouble)) {
        v = (long long)item->valuedouble;
    } else {
        rd_fail(r, FR_EINVAL);
        return;
    }
    if (v < min || v > max) {
        rd_fail(r, FR_EINVAL);
        return;
    }
    *out = (int64_t)v;
}

/* A quantity (or seconds as ms): raw text or a parsed number. */
static void rd_qty(rd *r, const char *name, int64_t *out)
{
    const cJSON *item = rd_get(r, name, 1);
    if (item == NULL) {
        return;
    }
    char text[64];
    if (cJSON_IsRaw(item) && item->valuestring != NULL) {
        snprintf(text, sizeof text, "%s", item->valuestring);
    } else if (cJSON_IsNumber(item)) {
        snprintf(text, sizeof text, "%.3f", item->valuedouble);
    } else {
        rd_fail(r, FR_EINVAL);
        return;
    }
    if (fr_qty_parse(text, out) != FR_OK) {
        rd_fail(r, FR_EINVAL);
    }
}

static void rd_time(rd *r, const char *name, int64_t null_value, int required, int64_t *out)
{
    const cJSON *item = rd_get(r, name, required);
    if (item == NULL) {
        *out = null_value;
        return;
    }
    if (!cJSON_IsString(item) || fr_time_parse(item->valuestring, out) != FR_OK) {
        rd_fail(r, FR_EINVAL);
    }
}

static void rd_str(rd *r, const char *name, int required, char **out)
{
    const cJSON *item = rd_get(r, name, required);
    *out = NULL;
    if (item == NULL) {
        return;
    }
    if (!cJSON_IsString(item)) {
        rd_fail(r, FR_EINVAL);
        return;
    }
    *out = fr__strdup_or_null(item->valuestring);
    if (*out == NULL) {
        rd_fail(r, FR_ENOMEM);
    }
}

static void rd_id(rd *r, const char *name, int required, char out[FR_ID_SIZE])
{
    const cJSON *item = rd_get(r, name, required);
    out[0] = 0;
    if (item == NULL) {
        return;
    }
    if (!cJSON_IsString(item) || strlen(item->valuestring) >= FR_ID_SIZE) {
        rd_fail(r, FR_EINVAL);
        return;
    }
    snprintf(out, FR_ID_SIZE, "%s", item->valuestring);
}

/* An array member: its first child and length (absent: 0). */
static const cJSON *rd_array(rd *r, const char *name, size_t *len)
{
    const cJSON *a = rd_get(r, name, 0);
    *len = 0;
    if (a == NULL) {
        return NULL;
    }
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 0 || n > PLAN_ARRAY_MAX) {
        rd_fail(r, FR_EINVAL);
        return NULL;
    }
    *len = (size_t)n;
    return a->child;
}

/* calloc of n elements (n may be 0: NULL, no failure). */
static void *rd_alloc(rd *r, size_t n, size_t size)
{
    if (n == 0 || r->status != FR_OK) {
        return NULL;
    }
    void *p = calloc(n, size);
    if (p == NULL) {
        rd_fail(r, FR_ENOMEM);
    }
    return p;
}

static void read_demand(rd *r, const cJSON *json, fr_plan_demand *d)
{
    rd x = {json, cJSON_IsObject(json) ? FR_OK : FR_EINVAL};
    int64_t prio = 0;
    rd_str(&x, "ref", 1, &d->ref);
    rd_str(&x, "resource_type", 1, &d->resource_type);
    rd_str(&x, "site", 0, &d->site);
    rd_id(&x, "pool_id", 0, d->pool_id);
    rd_str(&x, "vehicle_id", 0, &d->vehicle_id);
    rd_qty(&x, "quantity", &d->quantity_milli);
    rd_qty(&x, "duration_seconds", &d->duration_ms);
    rd_time(&x, "earliest_start", FR_TIME_NULL, 1, &d->earliest_start_ms);
    rd_time(&x, "latest_end", FR_TIME_INF, 0, &d->latest_end_ms);
    rd_int(&x, "priority", 0, FR_PRIORITY_MAX, &prio);
    d->priority = (int32_t)prio;
    rd_fail(r, x.status);
}

static void read_change(rd *r, const cJSON *json, fr_plan_capacity_change *c)
{
    rd x = {json, cJSON_IsObject(json) ? FR_OK : FR_EINVAL};
    rd_id(&x, "pool_id", 1, c->pool_id);
    rd_time(&x, "start", FR_TIME_NULL, 1, &c->start_ms);
    rd_time(&x, "end", FR_TIME_INF, 0, &c->end_ms);
    rd_qty(&x, "delta", &c->delta_milli);
    rd_fail(r, x.status);
}

static void read_assignment(rd *r, const cJSON *json, fr_plan_assignment_info *a)
{
    rd x = {json, cJSON_IsObject(json) ? FR_OK : FR_EINVAL};
    int64_t prio = 0;
    rd_str(&x, "ref", 0, &a->ref);
    rd_id(&x, "request_id", a->ref == NULL, a->request_id);
    rd_id(&x, "pool_id", 1, a->pool_id);
    rd_time(&x, "start", FR_TIME_NULL, 1, &a->start_ms);
    rd_time(&x, "end", FR_TIME_NULL, 1, &a->end_ms);
    rd_qty(&x, "quantity", &a->quantity_milli);
    rd_int(&x, "priority", 0, FR_PRIORITY_MAX, &prio);
    a->priority = (int32_t)prio;
    rd_id(&x, "allocation_id", 0, a->allocation_id);
    rd_fail(r, x.status);
}

static void read_miss(rd *r, const cJSON *json, fr_plan_miss *m)
{
    rd x = {json, cJSON_IsObject(json) ? FR_OK : FR_EINVAL};
    rd_str(&x, "ref", 0, &m->ref);
    rd_id(&x, "request_id", m->ref == NULL, m->request_id);
    rd_id(&x, "pool_id", 0, m->pool_id);
    char *reason = NULL;
    rd_str(&x, "reason", 1, &reason);
    if (reason != NULL) {
        snprintf(m->reason, sizeof m->reason, "%s", reason);
        free(reason);
    }
    rd_fail(r, x.status);
}

static void read_bucket(rd *r, const cJSON *json, fr_plan_forecast_bucket *b)
{
    rd x = {json, cJSON_IsObject(json) ? FR_OK : FR_EINVAL};
    rd_time(&x, "start", FR_TIME_NULL, 1, &b->start_ms);
    rd_time(&x, "end", FR_TIME_NULL, 1, &b->end_ms);
    rd_qty(&x, "capacity", &b->capacity_milli);
    rd_qty(&x, "booked", &b->booked_milli);
    rd_qty(&x, "planned", &b->planned_milli);
    rd_fail(r, x.status);
}

static void read_forecast(rd *r, const cJSON *json, fr_plan_forecast *f)
{
    rd x = {json, cJSON_IsObject(json) ? FR_OK : FR_EINVAL};
    rd_id(&x, "pool_id", 1, f->pool_id);
    size_t n = 0;
    const cJSON *item = rd_array(&x, "series", &n);
    f->series = rd_alloc(&x, n, sizeof *f->series);
    for (size_t i = 0; f->series != NULL && i < n && item != NULL; i++, item = item->next) {
        f->series_len = i + 1;
        read_bucket(&x, item, &f->series[i]);
    }
    rd_fail(r, x.status);
}

static void read_shortage(rd *r, const cJSON *json, fr_plan_shortage *s)
{
    rd x = {json, cJSON_IsObject(json) ? FR_OK : FR_EINVAL};
    rd_id(&x, "pool_id", 1, s->pool_id);
    rd_time(&x, "start", FR_TIME_NULL, 1, &s->start_ms);
    rd_time(&x, "end", FR_TIME_NULL, 1, &s->end_ms);
    rd_qty(&x, "extra_capacity", &s->extra_milli);
    rd_fail(r, x.status);
}

/* The nested arrays.  Each length is set as its elements are read, so a
 * failure half-way leaves a plan fr_plan_clear can free. */
static void read_arrays(rd *r, fr_plan *p)
{
    size_t n = 0;
    const cJSON *it = rd_array(r, "demands", &n);
    p->demands = rd_alloc(r, n, sizeof *p->demands);
    for (size_t i = 0; p->demands != NULL && i < n && it != NULL; i++, it = it->next) {
        p->demands_len = i + 1;
        read_demand(r, it, &p->demands[i]);
    }
    it = rd_array(r, "capacity_changes", &n);
    p->capacity_changes = rd_alloc(r, n, sizeof *p->capacity_changes);
    for (size_t i = 0; p->capacity_changes != NULL && i < n && it != NULL; i++, it = it->next) {
        p->capacity_changes_len = i + 1;
        read_change(r, it, &p->capacity_changes[i]);
    }
    it = rd_array(r, "assignments", &n);
    p->assignments = rd_alloc(r, n, sizeof *p->assignments);
    for (size_t i = 0; p->assignments != NULL && i < n && it != NULL; i++, it = it->next) {
        p->assignments_len = i + 1;
        read_assignment(r, it, &p->assignments[i]);
    }
    it = rd_array(r, "unplaced", &n);
    p->unplaced = rd_alloc(r, n, sizeof *p->unplaced);
    for (size_t i = 0; p->unplaced != NULL && i < n && it != NULL; i++, it = it->next) {
        p->unplaced_len = i + 1;
        read_miss(r, it, &p->unplaced[i]);
    }
    it = rd_array(r, "forecast", &n);
    p->forecast = rd_alloc(r, n, sizeof *p->forecast);
    for (size_t i = 0; p->forecast != NULL && i < n && it != NULL; i++, it = it->next) {
        p->forecast_len = i + 1;
        read_forecast(r, it, &p->forecast[i]);
    }
    it = rd_array(r, "shortfall", &n);
    p->shortfall = rd_alloc(r, n, sizeof *p->shortfall);
    for (size_t i = 0; p->shortfall != NULL && i < n && it != NULL; i++, it = it->next) {
        p->shortfall_len = i + 1;
        read_shortage(r, it, &p->shortfall[i]);
    }
}

static void read_score(rd *r, fr_plan *p)
{
    const cJSON *score = rd_get(r, "score", 1);
    rd x = {score, cJSON_IsObject(score) ? FR_OK : FR_EINVAL};
    rd_int(&x, "placed_priority", 0, INT64_MAX, &p->placed_priority);
    rd_qty(&x, "total_delay_seconds", &p->total_delay_ms);
    rd_fail(r, x.status);
}

int fr__plan_from_cjson(const cJSON *json, fr_plan *out)
{
    assert(out != NULL);
    memset(out, 0, sizeof *out);
    rd r = {json, cJSON_IsObject(json) ? FR_OK : FR_EINVAL};
    if (r.status != FR_OK) {
        return r.status;
    }
    char *status = NULL;
    rd_id(&r, "id", 1, out->id);
    rd_str(&r, "fleet_id", 1, &out->fleet_id);
    rd_str(&r, "name", 0, &out->name);
    rd_str(&r, "status", 1, &status);
    out->status = fr_plan_status_parse(status);
    free(status);
    if (out->status < 0) {
        rd_fail(&r, FR_EINVAL);
    }
    rd_time(&r, "horizon_start", FR_TIME_NULL, 1, &out->horizon_start_ms);
    rd_time(&r, "horizon_end", FR_TIME_NULL, 1, &out->horizon_end_ms);
    rd_qty(&r, "bucket_seconds", &out->bucket_ms);
    const cJSON *inc = rd_get(&r, "include_pending_requests", 1);
    out->include_pending_requests = cJSON_IsTrue(inc);
    rd_int(&r, "time_budget_ms", 1, FR_PLAN_BUDGET_MAX_MS, &out->time_budget_ms);
    read_arrays(&r, out);
    read_score(&r, out);
    rd_int(&r, "planning_ms", 0, INT64_MAX, &out->planning_ms);
    rd_time(&r, "planned_at", FR_TIME_NULL, 0, &out->planned_at_ms);
    rd_time(&r, "committed_at", FR_TIME_NULL, 0, &out->committed_at_ms);
    out->deleted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "deleted"));
    rd_int(&r, "version", 0, INT64_MAX, &out->version);
    rd_time(&r, "created_at", FR_TIME_NULL, 1, &out->created_at_ms);
    rd_time(&r, "updated_at", FR_TIME_NULL, 1, &out->updated_at_ms);
    if (r.status != FR_OK) {
        fr_plan_clear(out);
    }
    return r.status;
}
