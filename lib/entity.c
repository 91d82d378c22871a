/*
 * entity.c — entity plumbing: status names, enum names, clearing and deep
 * copies of the entity structs, results, and the FFI size helper.
 *
 * Every entity owns its strings and arrays; a struct copy (`*dst = *src`) would
 * share them, so the engine and the stores copy through fr__*_copy.  Copies
 * are all-or-nothing: they build into a local struct and only hand it over
 * once every allocation has succeeded.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entity.h"
#include "fleetres.h"

#define FR_VERSION_TEXT "0.1.0"

/* ---------------------------------------------------------------------------
 * Status codes and version.
 * ------------------------------------------------------------------------- */

typedef struct status_text {
    const char *description; /* fr_errstr */
    const char *code;        /* fr_errcode: SPEC's error code */
} status_text;

static const status_text status_texts[FR_STATUS_COUNT] = {
    [FR_OK] = {"ok", "ok"},
    [FR_EINVAL] = {"invalid request", "invalid_request"},
    [FR_ENOTFOUND] = {"not found", "not_found"},
    [FR_ECAPACITY] = {"capacity exceeded", "capacity_exceeded"},
    [FR_EDOUBLE] = {"double booking", "double_booking"},
    [FR_ESTATE] = {"invalid state", "invalid_state"},
    [FR_EPOOL_IN_USE] = {"pool in use", "pool_in_use"},
    [FR_EPLAN_STALE] = {"plan stale", "plan_stale"},
    [FR_EUNRESOLVABLE] = {"conflict unresolvable", "unresolvable"},
    [FR_EVERSION] = {"version mismatch", "version_mismatch"},
    [FR_EREFERENCE] = {"unknown reference", "unknown_reference"},
    [FR_ENOMEM] = {"out of memory", "internal"},
    [FR_ESTORE] = {"store unavailable", "unavailable"},
    [FR_EFORBIDDEN] = {"forbidden", "forbidden"},
    [FR_ELIMIT] = {"limit exceeded", "invalid_request"},
    [FR_EIDEMPOTENCY] = {"idempotency key reused with another body", "idempotency_key_reused"},
};

const char *fr_errstr(int status) {
    if (status < 0 || status >= FR_STATUS_COUNT) {
        return "unknown status";
    }
    return status_texts[status].description;
}

const char *fr_errcode(int status) {
    if (status < 0 || status >= FR_STATUS_COUNT) {
        return "internal";
    }
    return status_texts[status].code;
}

const char *fr_version(void) {
    return FR_VERSION_TEXT;
}

/* ---------------------------------------------------------------------------
 * Enumeration names.
 * ------------------------------------------------------------------------- */

static const char *const pool_status_names[] = {"active", "draining", "retired"};
static const char *const allocation_status_names[] = {"held",      "confirmed", "released",
                                                      "cancelled", "expired",   "preempted"};
static const char *const request_status_names[] = {"pending", "fulfilled", "cancelled",
                                                   "expired"};
static const char *const pending_reason_names[] = {NULL, "no_pool_of_type",
                                                   "insufficient_capacity"};
static const char *const conflict_type_names[] = {"over_capacity", "double_booking", "manual"};
static const char *const conflict_status_names[] = {"open", "resolved"};
static const char *const entity_type_names[] = {"pool",   "allocation", "request",
                                                "sample", "conflict",   "plan"};

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

static const char *name_of(const char *const *names, size_t count, int value) {
    if (value < 0 || (size_t)value >= count) {
        return NULL;
    }
    return names[value];
}

static int parse_name(const char *const *names, size_t count, const char *name) {
    if (name == NULL) {
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (names[i] != NULL && strcmp(names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *fr_pool_status_name(int status) {
    return name_of(pool_status_names, COUNT_OF(pool_status_names), status);
}

const char *fr_allocation_status_name(int status) {
    return name_of(allocation_status_names, COUNT_OF(allocation_status_names), status);
}

const char *fr_request_status_name(int status) {
    return name_of(request_status_names, COUNT_OF(request_status_names), status);
}

const char *fr_pending_reason_name(int reason) {
    return name_of(pending_reason_names, COUNT_OF(pending_reason_names), reason);
}

const char *fr_conflict_type_name(int type) {
    return name_of(conflict_type_names, COUNT_OF(conflict_type_names), type);
}

const char *fr_conflict_status_name(int status) {
    return name_of(conflict_status_names, COUNT_OF(conflict_status_names), status);
}

const char *fr_entity_type_name(int type) {
    return name_of(entity_type_names, COUNT_OF(entity_type_names), type);
}

int fr_pool_status_parse(const char *name) {
    return parse_name(pool_status_names, COUNT_OF(pool_status_names), name);
}

int fr_allocation_status_parse(const char *name) {
    return parse_name(allocation_status_names, COUNT_OF(allocation_status_names), name);
}

int fr_request_status_parse(const char *name) {
    return parse_name(request_status_names, COUNT_OF(request_status_names), name);
}

int fr_conflict_type_parse(const char *name) {
    return parse_name(conflict_type_names, COUNT_OF(conflict_type_names), name);
}

int fr_conflict_status_parse(const char *name) {
    return parse_name(conflict_status_names, COUNT_OF(conflict_status_names), name);
}

/* ---------------------------------------------------------------------------
 * Clearing.
 * ------------------------------------------------------------------------- */

void fr_pool_clear(fr_pool *pool) {
    if (pool == NULL) {
        return;
    }
    free(pool->fleet_id);
    free(pool->name);
    free(pool->resource_type);
    free(pool->unit);
    free(pool->site);
    free(pool->labels_json);
    free(pool->schedule);
    memset(pool, 0, sizeof *pool);
}

void fr_allocation_clear(fr_allocation *allocation) {
    if (allocation == NULL) {
        return;
    }
    free(allocation->fleet_id);
    free(allocation->resource_type);
    free(allocation->vehicle_id);
    free(allocation->operation_id);
    free(allocation->allocation_type);
    free(allocation->metadata_json);
    memset(allocation, 0, sizeof *allocation);
}

void fr_request_clear(fr_request *request) {
    if (request == NULL) {
        return;
    }
    free(request->fleet_id);
    free(request->vehicle_id);
    free(request->operation_id);
    free(request->resource_type);
    free(request->site);
    free(request->metadata_json);
    memset(request, 0, sizeof *request);
}

static void resolution_actions_free(fr_resolution_action *actions, size_t n) {
    assert(actions != NULL || n == 0);
    for (size_t i = 0; i < n; i++) {
        free(actions[i].action);
        free(actions[i].from);
        free(actions[i].to);
    }
    free(actions);
}

void fr_conflict_clear(fr_conflict *conflict) {
    if (conflict == NULL) {
        return;
    }
    free(conflict->fleet_id);
    free(conflict->allocation_ids);
    free(conflict->vehicle_id);
    free(conflict->description);
    free(conflict->resolution_strategy);
    free(conflict->resolution_note);
    free(conflict->resolution_resolved_by);
    resolution_actions_free(conflict->resolution_actions, conflict->resolution_actions_len);
    memset(conflict, 0, sizeof *conflict);
}

void fr_event_clear(fr_event *event) {
    if (event == NULL) {
        return;
    }
    free(event->fleet_id);
    free(event->actor);
    free(event->data_json);
    memset(event, 0, sizeof *event);
}

void fr_pool_free_array(fr_pool *items, size_t n) {
    for (size_t i = 0; items != NULL && i < n; i++) {
        fr_pool_clear(&items[i]);
    }
    free(items);
}

void fr_allocation_free_array(fr_allocation *items, size_t n) {
    for (size_t i = 0; items != NULL && i < n; i++) {
        fr_allocation_clear(&items[i]);
    }
    free(items);
}

void fr_request_free_array(fr_request *items, size_t n) {
    for (size_t i = 0; items != NULL && i < n; i++) {
        fr_request_clear(&items[i]);
    }
    free(items);
}

void fr_conflict_free_array(fr_conflict *items, size_t n) {
    for (size_t i = 0; items != NULL && i < n; i++) {
        fr_conflict_clear(&items[i]);
    }
    free(items);
}

void fr_event_free_array(fr_event *items, size_t n) {
    for (size_t i = 0; items != NULL && i < n; i++) {
        fr_event_clear(&items[i]);
    }
    free(items);
}

void fr_sample_clear(fr_sample *sample) {
    if (sample == NULL) {
        return;
    }
    free(sample->fleet_id);
    free(sample->source);
    memset(sample, 0, sizeof *sample);
}

void fr_sample_free_array(fr_sample *items, size_t n) {
    for (size_t i = 0; items != NULL && i < n; i++) {
        fr_sample_clear(&items[i]);
    }
    free(items);
}

void fr_free(void *ptr) {
    free(ptr);
}

/* ---------------------------------------------------------------------------
 * Deep copies.
 * ------------------------------------------------------------------------- */

char *fr__strdup_or_null(const char *s) {
    if (s == NULL) {
        return NULL;
    }
    const size_t size = strlen(s) + 1;
    char *copy = malloc(size);
    if (copy != NULL) {
        memcpy(copy, s, size);
    }
    return copy;
}

/* Duplicates *field in place (NULL stays NULL).  Returns 0 when out of
 * memory, and then *field is NULL, so the owner can be cleared safely. */
static int dup_field(char **field) {
    const char *original = *field;
    *field = fr__strdup_or_null(original);
    return original == NULL || *field != NULL;
}

/* A malloc'd copy of n elements of size bytes (NULL for n == 0); *ok = 0
 * when out of memory. */
static void *dup_array(const void *src, size_t n, size_t size, int *ok) {
    if (n == 0) {
        return NULL;
    }
    assert(src != NULL);
    if (n > SIZE_MAX / size) {
        *ok = 0;
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

int fr__pool_copy(fr_pool *dst, const fr_pool *src) {
    assert(dst != NULL && src != NULL && dst != src);
    fr_pool copy = *src;
    int ok = 1;
    copy.schedule = dup_array(src->schedule, src->schedule_len, sizeof *src->schedule, &ok);
    if (copy.schedule == NULL) {
        copy.schedule_len = 0; /* so that clearing a failed copy frees nothing twice */
    }
    ok &= dup_field(&copy.fleet_id);
    ok &= dup_field(&copy.name);
    ok &= dup_field(&copy.resource_type);
    ok &= dup_field(&copy.unit);
    ok &= dup_field(&copy.site);
    ok &= dup_field(&copy.labels_json);
    if (!ok) {
        fr_pool_clear(&copy);
        memset(dst, 0, sizeof *dst);
        return FR_ENOMEM;
    }
    *dst = copy;
    return FR_OK;
}

int fr__allocation_copy(fr_allocation *dst, const fr_allocation *src) {
    assert(dst != NULL && src != NULL && dst != src);
    fr_allocation copy = *src;
    int ok = 1;
    ok &= dup_field(&copy.fleet_id);
    ok &= dup_field(&copy.resource_type);
    ok &= dup_field(&copy.vehicle_id);
    ok &= dup_field(&copy.operation_id);
    ok &= dup_field(&copy.allocation_type);
    ok &= dup_field(&copy.metadata_json);
    if (!ok) {
        fr_allocation_clear(&copy);
        memset(dst, 0, sizeof *dst);
        return FR_ENOMEM;
    }
    *dst = copy;
    return FR_OK;
}

int fr__request_copy(fr_request *dst, const fr_request *src) {
    assert(dst != NULL && src != NULL && dst != src);
    fr_request copy = *src;
    int ok = 1;
    ok &= dup_field(&copy.fleet_id);
    ok &= dup_field(&copy.vehicle_id);
    ok &= dup_field(&copy.operation_id);
    ok &= dup_field(&copy.resource_type);
    ok &= dup_field(&copy.site);
    ok &= dup_field(&copy.metadata_json);
    if (!ok) {
        fr_request_clear(&copy);
        memset(dst, 0, sizeof *dst);
        return FR_ENOMEM;
    }
    *dst = copy;
    return FR_OK;
}

/* Copies the resolution actions into *dst_actions; 0 when out of memory (then
 * nothing is left allocated and *dst_actions is NULL). */
static int copy_actions(fr_resolution_action **dst_actions, const fr_resolution_action *src,
                        size_t n) {
    int ok = 1;
    fr_resolution_action *actions = dup_array(src, n, sizeof *src, &ok);
    *dst_actions = NULL;
    if (!ok) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        ok &= dup_field(&actions[i].action);
        ok &= dup_field(&actions[i].from);
        ok &= dup_field(&actions[i].to);
        if (!ok) {
            /* Items after i still point at src's strings: free only 0..i. */
            resolution_actions_free(actions, i + 1);
            return 0;
        }
    }
    *dst_actions = actions;
    return 1;
}

int fr__conflict_copy(fr_conflict *dst, const fr_conflict *src) {
    assert(dst != NULL && src != NULL && dst != src);
    fr_conflict copy = *src;
    int ok = 1;
    copy.allocation_ids =
        dup_array(src->allocation_ids, src->allocation_ids_len, FR_ID_SIZE, &ok);
    if (copy.allocation_ids == NULL) {
        copy.allocation_ids_len = 0;
    }
    if (!copy_actions(&copy.resolution_actions, src->resolution_actions,
                      src->resolution_actions_len)) {
        ok = 0;
    }
    if (copy.resolution_actions == NULL) {
        copy.resolution_actions_len = 0;
    }
    ok &= dup_field(&copy.fleet_id);
    ok &= dup_field(&copy.vehicle_id);
    ok &= dup_field(&copy.description);
    ok &= dup_field(&copy.resolution_strategy);
    ok &= dup_field(&copy.resolution_note);
    ok &= dup_field(&copy.resolution_resolved_by);
    if (!ok) {
        fr_conflict_clear(&copy);
        memset(dst, 0, sizeof *dst);
        return FR_ENOMEM;
    }
    *dst = copy;
    return FR_OK;
}

int fr__event_copy(fr_event *dst, const fr_event *src) {
    assert(dst != NULL && src != NULL && dst != src);
    fr_event copy = *src;
    int ok = 1;
    ok &= dup_field(&copy.fleet_id);
    ok &= dup_field(&copy.actor);
    ok &= dup_field(&copy.data_json);
    if (!ok) {
        fr_event_clear(&copy);
        memset(dst, 0, sizeof *dst);
        return FR_ENOMEM;
    }
    *dst = copy;
    return FR_OK;
}

int fr__sample_copy(fr_sample *dst, const fr_sample *src) {
    assert(dst != NULL && src != NULL && dst != src);
    fr_sample copy = *src;
    int ok = 1;
    ok &= dup_field(&copy.fleet_id);
    ok &= dup_field(&copy.source);
    if (!ok) {
        fr_sample_clear(&copy);
        memset(dst, 0, sizeof *dst);
        return FR_ENOMEM;
    }
    *dst = copy;
    return FR_OK;
}

/* ---------------------------------------------------------------------------
 * Results, list queries, sizes.
 * ------------------------------------------------------------------------- */

void fr_result_init(fr_result *res) {
    if (res == NULL) {
        return;
    }
    memset(res, 0, sizeof *res);
    res->index = -1;
    res->at_ms = FR_TIME_NULL;
    res->next_fit_start_ms = FR_TIME_NULL;
}

void fr_result_clear(fr_result *res) {
    if (res == NULL) {
        return;
    }
    free(res->conflicts_detected);
    fr_result_init(res);
}

void fr__result_fail(fr_result *res, int status, const char *field, const char *fmt, ...) {
    if (res == NULL) {
        return;
    }
    res->status = status;
    snprintf(res->field, sizeof res->field, "%s", field != NULL ? field : "");
    res->message[0] = '\0';
    if (fmt != NULL) {
        va_list args;
        va_start(args, fmt);
        /* vsnprintf truncates and always terminates; a negative return (an
         * encoding error) leaves an unspecified buffer, so reset it. */
        if (vsnprintf(res->message, sizeof res->message, fmt, args) < 0) {
            res->message[0] = '\0';
        }
        va_end(args);
    }
}

void fr_list_query_init(fr_list_query *q) {
    if (q == NULL) {
        return;
    }
    memset(q, 0, sizeof *q);
    q->limit = 0;
    q->status = -1;
    q->type = -1;
    q->from_ms = FR_TIME_NULL;
    q->to_ms = FR_TIME_NULL;
}

typedef struct struct_size {
    const char *name;
    size_t size;
} struct_size;

static const struct_size struct_sizes[] = {
    {"fr_pool", sizeof(fr_pool)},
    {"fr_allocation", sizeof(fr_allocation)},
    {"fr_request", sizeof(fr_request)},
    {"fr_conflict", sizeof(fr_conflict)},
    {"fr_event", sizeof(fr_event)},
    {"fr_result", sizeof(fr_result)},
    {"fr_list_query", sizeof(fr_list_query)},
    {"fr_pool_params", sizeof(fr_pool_params)},
    {"fr_allocation_params", sizeof(fr_allocation_params)},
    {"fr_request_params", sizeof(fr_request_params)},
    {"fr_conflict_params", sizeof(fr_conflict_params)},
    {"fr_schedule_entry", sizeof(fr_schedule_entry)},
    {"fr_engine_options", sizeof(fr_engine_options)},
    {"fr_ctx", sizeof(fr_ctx)},
    {"fr_bucket", sizeof(fr_bucket)},
    {"fr_resolution_action", sizeof(fr_resolution_action)},
    {"fr_sample", sizeof(fr_sample)},
    {"fr_sample_params", sizeof(fr_sample_params)},
    {"fr_utilization_bucket", sizeof(fr_utilization_bucket)},
    {"fr_plan", sizeof(fr_plan)},
    {"fr_plan_params", sizeof(fr_plan_params)},
    {"fr_plan_demand", sizeof(fr_plan_demand)},
    {"fr_plan_capacity_change", sizeof(fr_plan_capacity_change)},
    {"fr_plan_assignment_info", sizeof(fr_plan_assignment_info)},
    {"fr_plan_miss", sizeof(fr_plan_miss)},
    {"fr_plan_forecast", sizeof(fr_plan_forecast)},
    {"fr_plan_forecast_bucket", sizeof(fr_plan_forecast_bucket)},
    {"fr_plan_shortage", sizeof(fr_plan_shortage)},
    {"fr_resolve_params", sizeof(fr_resolve_params)},
};

size_t fr_struct_size(const char *name) {
    if (name == NULL) {
        return 0;
    }
    for (size_t i = 0; i < COUNT_OF(struct_sizes); i++) {
        if (strcmp(struct_sizes[i].name, name) == 0) {
            return struct_sizes[i].size;
        }
    }
    return 0;
}
