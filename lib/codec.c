/*
 * codec.c — entities <-> JSON in SPEC's shape, on top of cJSON.
 *
 * Numbers are the delicate part.  cJSON keeps a parsed number only as a
 * double, and prints doubles with %g, which would turn 0.1 into
 * 0.10000000000000001 or 1e15 into "1e+15".  So every number this file emits
 * is a cJSON "raw" item holding exact decimal text (fr_qty_format for
 * quantities, %PRId64 for integers).  Reading back accepts both raw items (a
 * tree straight from to_cjson: parsed exactly with fr_qty_parse) and parsed
 * numbers: a quantity q with at most 3 decimals and |q| <= 1e12 has
 * |q * 1000| <= 1e15 < 2^53, so llround(value * 1000) recovers it exactly; a
 * product that is not within a few ulps of an integer had more than 3
 * decimals and is refused.
 *
 * Building uses a small "builder" that remembers the first failure (out of
 * memory), so each to_cjson is a flat list of fields; reading uses a
 * "reader" that remembers the first error (FR_EINVAL or FR_ENOMEM) the same
 * way.  Nothing here recurses on input data beyond what cJSON itself does.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "codec.h"
#include "entity.h"
#include "jsonw.h"
#include "fleetres.h"

/* Bound on the arrays read back (allocation_ids, resolution actions). */
#define CODEC_ARRAY_MAX 1000000
/* Text of an integer, a quantity or a time, with room to spare. */
#define NUMBER_TEXT_SIZE 48
/* 2^53: integers beyond it do not survive a double. */
#define DOUBLE_EXACT_MAX 9007199254740992.0

/* ---------------------------------------------------------------------------
 * Scalars -> cJSON.
 * ------------------------------------------------------------------------- */

cJSON *fr__qty_to_cjson(int64_t milli) {
    char text[NUMBER_TEXT_SIZE];
    const size_t len = fr_qty_format(milli, text, sizeof text);
    assert(len > 0);
    (void)len;
    return cJSON_CreateRaw(text);
}

cJSON *fr__time_to_cjson(int64_t ms) {
    char text[NUMBER_TEXT_SIZE];
    if (ms == FR_TIME_NULL || ms == FR_TIME_INF || fr_time_format(ms, text, sizeof text) == 0) {
        /* Outside the accepted range: nothing sensible to print. */
        return cJSON_CreateNull();
    }
    return cJSON_CreateString(text);
}

static cJSON *int_to_cjson(int64_t value) {
    char text[NUMBER_TEXT_SIZE];
    snprintf(text, sizeof text, "%" PRId64, value);
    return cJSON_CreateRaw(text);
}

static cJSON *string_or_null(const char *s) {
    return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* JSON text parsed for embedding; text that is absent, malformed or not an
 * object becomes {} (the engine validates what it stores). */
static cJSON *object_from_text(const char *text) {
    cJSON *parsed = text != NULL ? cJSON_ParseWithOpts(text, NULL, 1) : NULL;
    if (parsed != NULL && cJSON_IsObject(parsed)) {
        return parsed;
    }
    cJSON_Delete(parsed);
    return cJSON_CreateObject();
}

/* ---------------------------------------------------------------------------
 * Builder.
 * ------------------------------------------------------------------------- */

typedef struct builder {
    cJSON *object;
    int ok; /* 0 after the first out-of-memory */
} builder;

static builder builder_start(void) {
    builder b;
    b.object = cJSON_CreateObject();
    b.ok = b.object != NULL;
    return b;
}

/* Adds item under name; takes ownership of item (NULL means out of memory). */
static void put(builder *b, const char *name, cJSON *item) {
    if (!b->ok || item == NULL || !cJSON_AddItemToObject(b->object, name, item)) {
        cJSON_Delete(item);
        b->ok = 0;
    }
}

/* The built object, or NULL (and everything freed) if anything failed. */
static cJSON *builder_finish(builder *b) {
    if (!b->ok) {
        cJSON_Delete(b->object);
        return NULL;
    }
    return b->object;
}

static void put_string(builder *b, const char *name, const char *s) {
    put(b, name, string_or_null(s));
}

static void put_enum(builder *b, const char *name, const char *enum_name) {
    put(b, name, string_or_null(enum_name));
}

static void put_bool(builder *b, const char *name, int value) {
    put(b, name, cJSON_CreateBool(value != 0));
}

/* The fields every entity ends with. */
static void put_versioning(builder *b, int64_t version, int64_t created_at_ms,
                           int64_t updated_at_ms) {
    put(b, "version", int_to_cjson(version));
    put(b, "created_at", fr__time_to_cjson(created_at_ms));
    put(b, "updated_at", fr__time_to_cjson(updated_at_ms));
}

/* ---------------------------------------------------------------------------
 * Entities -> cJSON.
 * ------------------------------------------------------------------------- */

static cJSON *schedule_to_cjson(const fr_schedule_entry *schedule, size_t n) {
    assert(schedule != NULL || n == 0);
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < n; i++) {
        builder entry = builder_start();
        put(&entry, "start", fr__time_to_cjson(schedule[i].start_ms));
        put(&entry, "end", fr__time_to_cjson(schedule[i].end_ms));
        put(&entry, "capacity", fr__qty_to_cjson(schedule[i].capacity_milli));
        cJSON *item = builder_finish(&entry);
        if (item == NULL || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            cJSON_Delete(array);
            array = NULL;
        }
    }
    return array;
}

cJSON *fr__pool_to_cjson(const fr_pool *pool) {
    assert(pool != NULL);
    builder b = builder_start();
    put_string(&b, "id", pool->id);
    put_string(&b, "fleet_id", pool->fleet_id);
    put_string(&b, "name", pool->name);
    put_string(&b, "resource_type", pool->resource_type);
    put_string(&b, "unit", pool->unit);
    put_string(&b, "site", pool->site);
    put(&b, "labels", object_from_text(pool->labels_json));
    put_enum(&b, "status", fr_pool_status_name(pool->status));
    put(&b, "total_capacity", fr__qty_to_cjson(pool->total_capacity_milli));
    put(&b, "capacity_schedule", schedule_to_cjson(pool->schedule, pool->schedule_len));
    put_bool(&b, "exclusive_per_vehicle", pool->exclusive_per_vehicle);
    put(&b, "capacity_now", fr__qty_to_cjson(pool->capacity_now_milli));
    put(&b, "reserved_capacity", fr__qty_to_cjson(pool->reserved_capacity_milli));
    put(&b, "available_capacity", fr__qty_to_cjson(pool->available_capacity_milli));
    put_versioning(&b, pool->version, pool->created_at_ms, pool->updated_at_ms);
    if (pool->deleted) {
        /* Not a SPEC field: only a deleted pool (in its pool.deleted event, or
         * in a store) carries it, so that it survives a round trip. */
        put_bool(&b, "deleted", 1);
    }
    return builder_finish(&b);
}

/* The hot entities (allocations, requests, events) are written as text
 * directly (jsonw.c: no tree, no printf); their cJSON form is that text as
 * a raw item, which prints verbatim inside any list or envelope. */
static cJSON *raw_from_text(char *text) {
    cJSON *item = text != NULL ? cJSON_CreateRaw(text) : NULL;
    free(text);
    return item;
}

/* metadata/labels: "{}" as is; anything else in cJSON's canonical form
 * (parsed and printed, as the cJSON path always did); absent, malformed or
 * not an object: {}. */
static void put_object_text(fr__jw *w, const char *name, const char *text) {
    fr__jw_key(w, name);
    if (text == NULL || strcmp(text, "{}") == 0) {
        fr__jw_raw(w, "{}");
        return;
    }
    cJSON *parsed = object_from_text(text);
    char *canonical = parsed != NULL ? cJSON_PrintUnformatted(parsed) : NULL;
    cJSON_Delete(parsed);
    if (canonical == NULL) {
        w->ok = 0;
        return;
    }
    fr__jw_raw(w, canonical);
    cJSON_free(canonical);
}

static void put_versioning_text(fr__jw *w, int64_t version, int64_t created_at_ms,
                                int64_t updated_at_ms) {
    fr__jw_key_literal(w, "version");
    fr__jw_int(w, version);
    fr__jw_key_literal(w, "created_at");
    fr__jw_time(w, created_at_ms);
    fr__jw_key_literal(w, "updated_at");
    fr__jw_time(w, updated_at_ms);
}

/* Rendered size hints: a typical entity fits without growing. */
#define ENTITY_TEXT_HINT 640

char *fr__allocation_to_json_text(const fr_allocation *allocation) {
    assert(allocation != NULL);
    const fr_allocation *a = allocation;
    fr__jw w;
    fr__jw_init(&w, ENTITY_TEXT_HINT);
    fr__jw_object_begin(&w);
    fr__jw_key_literal(&w, "id");
    fr__jw_string(&w, a->id);
    fr__jw_key_literal(&w, "pool_id");
    fr__jw_string(&w, a->pool_id);
    fr__jw_key_literal(&w, "fleet_id");
    fr__jw_string(&w, a->fleet_id);
    fr__jw_key_literal(&w, "resource_type");
    fr__jw_string(&w, a->resource_type);
    fr__jw_key_literal(&w, "vehicle_id");
    fr__jw_string(&w, a->vehicle_id);
    fr__jw_key_literal(&w, "operation_id");
    fr__jw_string(&w, a->operation_id);
    fr__jw_key_literal(&w, "allocation_type");
    fr__jw_string(&w, a->allocation_type);
    fr__jw_key_literal(&w, "quantity");
    fr__jw_qty(&w, a->quantity_milli);
    fr__jw_key_literal(&w, "start");
    fr__jw_time(&w, a->start_ms);
    fr__jw_key_literal(&w, "end");
    fr__jw_time(&w, a->end_ms);
    fr__jw_key_literal(&w, "priority");
    fr__jw_int(&w, a->priority);
    fr__jw_key_literal(&w, "status");
    fr__jw_string(&w, fr_allocation_status_name(a->status));
    fr__jw_key_literal(&w, "hold_expires_at");
    fr__jw_time(&w, a->hold_expires_at_ms);
    fr__jw_key_literal(&w, "request_id");
    fr__jw_id(&w, a->request_id);
    fr__jw_key_literal(&w, "plan_id");
    fr__jw_id(&w, a->plan_id);
    put_object_text(&w, "metadata", a->metadata_json);
    fr__jw_key_literal(&w, "released_at");
    fr__jw_time(&w, a->released_at_ms);
    put_versioning_text(&w, a->version, a->created_at_ms, a->updated_at_ms);
    fr__jw_object_end(&w);
    return fr__jw_finish(&w);
}

cJSON *fr__allocation_to_cjson(const fr_allocation *allocation) {
    return raw_from_text(fr__allocation_to_json_text(allocation));
}

char *fr__request_to_json_text(const fr_request *request) {
    assert(request != NULL);
    const fr_request *r = request;
    const int pending = r->status == FR_REQ_PENDING;
    fr__jw w;
    fr__jw_init(&w, ENTITY_TEXT_HINT);
    fr__jw_object_begin(&w);
    fr__jw_key_literal(&w, "id");
    fr__jw_string(&w, r->id);
    fr__jw_key_literal(&w, "fleet_id");
    fr__jw_string(&w, r->fleet_id);
    fr__jw_key_literal(&w, "vehicle_id");
    fr__jw_string(&w, r->vehicle_id);
    fr__jw_key_literal(&w, "operation_id");
    fr__jw_string(&w, r->operation_id);
    fr__jw_key_literal(&w, "resource_type");
    fr__jw_string(&w, r->resource_type);
    fr__jw_key_literal(&w, "pool_id");
    fr__jw_id(&w, r->pool_id);
    fr__jw_key_literal(&w, "site");
    fr__jw_string(&w, r->site);
    fr__jw_key_literal(&w, "quantity");
    fr__jw_qty(&w, r->quantity_milli);
    /* Seconds with millisecond precision: the same text as milli-units. */
    fr__jw_key_literal(&w, "duration_seconds");
    fr__jw_qty(&w, r->duration_ms);
    fr__jw_key_literal(&w, "earliest_start");
    fr__jw_time(&w, r->earliest_start_ms);
    fr__jw_key_literal(&w, "latest_end");
    fr__jw_time(&w, r->latest_end_ms);
    fr__jw_key_literal(&w, "priority");
    fr__jw_int(&w, r->priority);
    fr__jw_key_literal(&w, "status");
    fr__jw_string(&w, fr_request_status_name(r->status));
    fr__jw_key_literal(&w, "pending_reason");
    fr__jw_string(&w, fr_pending_reason_name(r->pending_reason));
    fr__jw_key_literal(&w, "allocation_id");
    fr__jw_id(&w, r->allocation_id);
    fr__jw_key_literal(&w, "queue_position");
    if (pending) {
        fr__jw_int(&w, r->queue_position);
    } else {
        fr__jw_null(&w);
    }
    fr__jw_key_literal(&w, "effective_priority");
    if (pending) {
        fr__jw_int(&w, r->effective_priority);
    } else {
        fr__jw_null(&w);
    }
    fr__jw_key_literal(&w, "estimated_start");
    fr__jw_time(&w, pending ? r->estimated_start_ms : FR_TIME_NULL);
    fr__jw_key_literal(&w, "preempt");
    fr__jw_bool(&w, r->preempt);
    fr__jw_key_literal(&w, "fulfilled_at");
    fr__jw_time(&w, r->fulfilled_at_ms);
    put_object_text(&w, "metadata", r->metadata_json);
    put_versioning_text(&w, r->version, r->created_at_ms, r->updated_at_ms);
    fr__jw_object_end(&w);
    return fr__jw_finish(&w);
}

cJSON *fr__request_to_cjson(const fr_request *request) {
    return raw_from_text(fr__request_to_json_text(request));
}

/* null while open (and nothing recorded), else {strategy, actions, note,
 * resolved_by}. */
static void put_resolution_text(fr__jw *w, const fr_conflict *c) {
    const int recorded = c->resolution_strategy != NULL || c->resolution_note != NULL ||
                         c->resolution_resolved_by != NULL || c->resolution_actions_len > 0;
    fr__jw_key_literal(w, "resolution");
    if (c->status == FR_CONFLICT_OPEN && !recorded) {
        fr__jw_null(w);
        return;
    }
    assert(c->resolution_actions != NULL || c->resolution_actions_len == 0);
    fr__jw_object_begin(w);
    fr__jw_key_literal(w, "strategy");
    fr__jw_string(w, c->resolution_strategy);
    fr__jw_key_literal(w, "actions");
    fr__jw_array_begin(w);
    for (size_t i = 0; i < c->resolution_actions_len; i++) {
        const fr_resolution_action *a = &c->resolution_actions[i];
        fr__jw_object_begin(w);
        fr__jw_key_literal(w, "allocation_id");
        fr__jw_string(w, a->allocation_id);
        fr__jw_key_literal(w, "action");
        fr__jw_string(w, a->action);
        fr__jw_key_literal(w, "from");
        fr__jw_string(w, a->from);
        fr__jw_key_literal(w, "to");
        fr__jw_string(w, a->to);
        fr__jw_object_end(w);
    }
    fr__jw_array_end(w);
    fr__jw_key_literal(w, "note");
    fr__jw_string(w, c->resolution_note);
    fr__jw_key_literal(w, "resolved_by");
    fr__jw_string(w, c->resolution_resolved_by);
    fr__jw_object_end(w);
}

/* Conflicts are rendered for every detection and change (event, store) and
 * may list many allocation ids: written directly too. */
char *fr__conflict_to_json_text(const fr_conflict *conflict) {
    return fr__conflict_to_json_text_bin(conflict, NULL, 0);
}

char *fr__conflict_to_json_text_bin(const fr_conflict *conflict, const unsigned char (*ids)[16],
                                    size_t ids_len) {
    assert(conflict != NULL);
    const fr_conflict *c = conflict;
    assert(c->allocation_ids != NULL || c->allocation_ids_len == 0);
    assert(ids == NULL || c->allocation_ids_len == 0);
    size_t listed = ids != NULL ? ids_len : c->allocation_ids_len;
    fr__jw w;
    fr__jw_init(&w, ENTITY_TEXT_HINT + listed * (FR_ID_SIZE + 3));
    fr__jw_object_begin(&w);
    fr__jw_key_literal(&w, "id");
    fr__jw_string(&w, c->id);
    fr__jw_key_literal(&w, "fleet_id");
    fr__jw_string(&w, c->fleet_id);
    fr__jw_key_literal(&w, "pool_id");
    fr__jw_id(&w, c->pool_id);
    fr__jw_key_literal(&w, "type");
    fr__jw_string(&w, fr_conflict_type_name(c->type));
    fr__jw_key_literal(&w, "start");
    fr__jw_time(&w, c->start_ms);
    fr__jw_key_literal(&w, "end");
    fr__jw_time(&w, c->end_ms);
    fr__jw_key_literal(&w, "excess");
    fr__jw_qty(&w, c->excess_milli);
    fr__jw_key_literal(&w, "allocation_ids");
    if (ids != NULL) {
        fr__jw_id_array_bin(&w, ids, ids_len);
    } else {
        fr__jw_id_array(&w, (const char(*)[FR_ID_SIZE])c->allocation_ids, c->allocation_ids_len);
    }
    fr__jw_key_literal(&w, "vehicle_id");
    fr__jw_string(&w, c->vehicle_id);
    fr__jw_key_literal(&w, "description");
    fr__jw_string(&w, c->description);
    fr__jw_key_literal(&w, "status");
    fr__jw_string(&w, fr_conflict_status_name(c->status));
    fr__jw_key_literal(&w, "detected_at");
    fr__jw_time(&w, c->detected_at_ms);
    fr__jw_key_literal(&w, "resolved_at");
    fr__jw_time(&w, c->resolved_at_ms);
    put_resolution_text(&w, c);
    put_versioning_text(&w, c->version, c->created_at_ms, c->updated_at_ms);
    fr__jw_object_end(&w);
    return fr__jw_finish(&w);
}

cJSON *fr__conflict_to_cjson(const fr_conflict *conflict) {
    return raw_from_text(fr__conflict_to_json_text(conflict));
}

/* Whether text is one complete JSON value (NULL is not). */
static int valid_json(const char *text) {
    cJSON *parsed = text != NULL ? cJSON_ParseWithOpts(text, NULL, 1) : NULL;
    cJSON_Delete(parsed);
    return parsed != NULL;
}

/* The event's data is the entity's text as the engine rendered it, embedded
 * verbatim (null when absent or malformed). */
static char *event_to_json_text(const fr_event *event) {
    assert(event != NULL);
    const fr_event *e = event;
    fr__jw w;
    fr__jw_init(&w, ENTITY_TEXT_HINT + 256 + (e->data_json != NULL ? strlen(e->data_json) : 0));
    fr__jw_object_begin(&w);
    fr__jw_key_literal(&w, "seq");
    fr__jw_int(&w, e->seq);
    fr__jw_key_literal(&w, "id");
    fr__jw_string(&w, e->id);
    fr__jw_key_literal(&w, "type");
    fr__jw_string(&w, e->type);
    fr__jw_key_literal(&w, "entity_type");
    fr__jw_string(&w, fr_entity_type_name(e->entity_type));
    fr__jw_key_literal(&w, "entity_id");
    fr__jw_string(&w, e->entity_id);
    fr__jw_key_literal(&w, "fleet_id");
    fr__jw_string(&w, e->fleet_id);
    fr__jw_key_literal(&w, "occurred_at");
    fr__jw_time(&w, e->occurred_at_ms);
    fr__jw_key_literal(&w, "actor");
    fr__jw_string(&w, e->actor);
    fr__jw_key_literal(&w, "data");
    if (valid_json(e->data_json)) {
        fr__jw_raw(&w, e->data_json);
    } else {
        fr__jw_null(&w);
    }
    fr__jw_object_end(&w);
    return fr__jw_finish(&w);
}

cJSON *fr__event_to_cjson(const fr_event *event) {
    return raw_from_text(event_to_json_text(event));
}

/* ---------------------------------------------------------------------------
 * JSON text.
 * ------------------------------------------------------------------------- */

static char *print_and_delete(cJSON *json) {
    if (json == NULL) {
        return NULL;
    }
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    return text;
}

char *fr__pool_to_json_text(const fr_pool *pool) {
    return print_and_delete(fr__pool_to_cjson(pool));
}

static int deliver_text(char *text, char **out_json) {
    if (text == NULL) {
        return FR_ENOMEM;
    }
    *out_json = text;
    return FR_OK;
}

int fr_pool_to_json(const fr_pool *pool, char **out_json) {
    if (pool == NULL || out_json == NULL) {
        return FR_EINVAL;
    }
    return deliver_text(fr__pool_to_json_text(pool), out_json);
}

int fr_allocation_to_json(const fr_allocation *allocation, char **out_json) {
    if (allocation == NULL || out_json == NULL) {
        return FR_EINVAL;
    }
    return deliver_text(fr__allocation_to_json_text(allocation), out_json);
}

int fr_request_to_json(const fr_request *request, char **out_json) {
    if (request == NULL || out_json == NULL) {
        return FR_EINVAL;
    }
    return deliver_text(fr__request_to_json_text(request), out_json);
}

int fr_conflict_to_json(const fr_conflict *conflict, char **out_json) {
    if (conflict == NULL || out_json == NULL) {
        return FR_EINVAL;
    }
    return deliver_text(fr__conflict_to_json_text(conflict), out_json);
}

int fr_event_to_json(const fr_event *event, char **out_json) {
    if (event == NULL || out_json == NULL) {
        return FR_EINVAL;
    }
    return deliver_text(event_to_json_text(event), out_json);
}

/* ---------------------------------------------------------------------------
 * Reader: cJSON -> scalars, remembering the first error.
 * ------------------------------------------------------------------------- */

typedef struct reader {
    const cJSON *object;
    int status; /* FR_OK until the first error */
} reader;

/* Whether a member may be absent/null, and what null means then. */
enum presence { REQUIRED = 0, NULLABLE = 1 };

static void reader_fail(reader *r, int status) {
    if (r->status == FR_OK) {
        r->status = status;
    }
}

/* The member, or NULL when absent or JSON null. */
static const cJSON *member(const reader *r, const char *name) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(r->object, name);
    return cJSON_IsNull(item) ? NULL : item;
}

/* The member, or NULL when absent/null; a REQUIRED one then fails. */
static const cJSON *member_checked(reader *r, const char *name, enum presence presence) {
    const cJSON *item = member(r, name);
    if (item == NULL && presence == REQUIRED) {
        reader_fail(r, FR_EINVAL);
    }
    return item;
}

/* Exact integer value of a raw or number item; 0 when not one. */
static int item_int(const cJSON *item, int64_t *out) {
    if (cJSON_IsRaw(item)) {
        const char *text = item->valuestring;
        /* Only "-?[0-9]+" (strtoll alone would also take spaces and '+'). */
        if (text == NULL || !(text[0] == '-' || (text[0] >= '0' && text[0] <= '9'))) {
            return 0;
        }
        char *end = NULL;
        errno = 0;
        const long long value = strtoll(text, &end, 10);
        if (errno != 0 || *end != '\0') {
            return 0;
        }
        *out = (int64_t)value;
        return 1;
    }
    if (!cJSON_IsNumber(item)) {
        return 0;
    }
    const double value = item->valuedouble;
    if (!isfinite(value) || fabs(value) > DOUBLE_EXACT_MAX || value != floor(value)) {
        return 0;
    }
    *out = (int64_t)value;
    return 1;
}

/* Exact milli-units of a raw or number item; 0 when not one, or when it has
 * more than 3 decimals or |value| > 1e12. */
static int item_milli(const cJSON *item, int64_t *out) {
    if (cJSON_IsRaw(item)) {
        return item->valuestring != NULL && fr_qty_parse(item->valuestring, out) == FR_OK;
    }
    if (!cJSON_IsNumber(item)) {
        return 0;
    }
    const double scaled = item->valuedouble * 1000.0;
    if (!isfinite(scaled) || fabs(scaled) > (double)FR_QTY_MAX_MILLI) {
        return 0;
    }
    const long long rounded = llround(scaled);
    /* For a genuine 3-decimal value the product is within |scaled| * 2^-52 of
     * the integer (the parsed double's error scaled by 1000, plus the rounding
     * of the product); allow 4 times that.  Anything farther had more than 3
     * decimals (0.0015 -> 1.5). */
    if (fabs(scaled - (double)rounded) > fabs(scaled) * 0x1p-50) {
        return 0;
    }
    *out = (int64_t)rounded;
    return 1;
}

static void read_int(reader *r, const char *name, enum presence presence, int64_t min,
                     int64_t max, int64_t null_value, int64_t *out) {
    const cJSON *item = member_checked(r, name, presence);
    int64_t value = null_value;
    if (item != NULL && (!item_int(item, &value) || value < min || value > max)) {
        reader_fail(r, FR_EINVAL);
        return;
    }
    *out = value;
}

static void read_int32(reader *r, const char *name, int32_t *out) {
    int64_t value = 0;
    read_int(r, name, REQUIRED, INT32_MIN, INT32_MAX, 0, &value);
    *out = (int32_t)value;
}

static void read_qty(reader *r, const char *name, enum presence presence, int64_t *out) {
    const cJSON *item = member_checked(r, name, presence);
    int64_t value = 0;
    if (item != NULL && !item_milli(item, &value)) {
        reader_fail(r, FR_EINVAL);
        return;
    }
    *out = value;
}

/* A time: RFC 3339 text, or (when NULLABLE) null/absent, which reads as
 * null_value (FR_TIME_NULL, or FR_TIME_INF for an interval end). */
static void read_time(reader *r, const char *name, enum presence presence, int64_t null_value,
                      int64_t *out) {
    const cJSON *item = member_checked(r, name, presence);
    if (item == NULL) {
        *out = null_value;
        return;
    }
    if (!cJSON_IsString(item) || fr_time_parse(item->valuestring, out) != FR_OK) {
        reader_fail(r, FR_EINVAL);
    }
}

static void read_bool(reader *r, const char *name, int *out) {
    const cJSON *item = member_checked(r, name, REQUIRED);
    if (item != NULL && !cJSON_IsBool(item)) {
        reader_fail(r, FR_EINVAL);
        return;
    }
    *out = cJSON_IsTrue(item) ? 1 : 0;
}

/* A string, malloc'd into *out; NULLABLE ones read null/absent as NULL. */
static void read_string(reader *r, const char *name, enum presence presence, char **out) {
    const cJSON *item = member_checked(r, name, presence);
    *out = NULL;
    if (item == NULL) {
        return;
    }
    if (!cJSON_IsString(item)) {
        reader_fail(r, FR_EINVAL);
        return;
    }
    *out = fr__strdup_or_null(item->valuestring);
    if (*out == NULL) {
        reader_fail(r, FR_ENOMEM);
    }
}

/* An id into a fixed buffer; NULLABLE ones read null/absent as "". */
static void copy_id(reader *r, const cJSON *item, enum presence presence, char *out) {
    out[0] = '\0';
    if (item == NULL) {
        if (presence == REQUIRED) {
            reader_fail(r, FR_EINVAL);
        }
        return;
    }
    if (!cJSON_IsString(item) || strlen(item->valuestring) >= FR_ID_SIZE) {
        reader_fail(r, FR_EINVAL);
        return;
    }
    snprintf(out, FR_ID_SIZE, "%s", item->valuestring);
}

static void read_id(reader *r, const char *name, enum presence presence, char *out) {
    copy_id(r, member(r, name), presence, out);
}

/* An enum by name, through its parse function. */
static void read_enum(reader *r, const char *name, int (*parse)(const char *), int *out) {
    const cJSON *item = member_checked(r, name, REQUIRED);
    if (item == NULL) {
        return;
    }
    const int value = cJSON_IsString(item) ? parse(item->valuestring) : -1;
    if (value < 0) {
        reader_fail(r, FR_EINVAL);
        return;
    }
    *out = value;
}

/* A JSON object printed back to text into *out; absent or null reads as "{}". */
static void read_object_text(reader *r, const char *name, char **out) {
    const cJSON *item = member(r, name);
    *out = NULL;
    if (item != NULL && !cJSON_IsObject(item)) {
        reader_fail(r, FR_EINVAL);
        return;
    }
    *out = item != NULL ? cJSON_PrintUnformatted(item) : fr__strdup_or_null("{}");
    if (*out == NULL) {
        reader_fail(r, FR_ENOMEM);
    }
}

static void read_versioning(reader *r, int64_t *version, int64_t *created_at_ms,
                            int64_t *updated_at_ms) {
    read_int(r, "version", REQUIRED, 0, INT64_MAX, 0, version);
    read_time(r, "created_at", REQUIRED, FR_TIME_NULL, created_at_ms);
    read_time(r, "updated_at", REQUIRED, FR_TIME_NULL, updated_at_ms);
}

/* A JSON array member (absent/null when NULLABLE: NULL) with its length
 * checked against max. */
static const cJSON *read_array(reader *r, const char *name, enum presence presence, int max,
                               size_t *len) {
    const cJSON *item = member_checked(r, name, presence);
    *len = 0;
    if (item == NULL) {
        return NULL;
    }
    const int size = cJSON_IsArray(item) ? cJSON_GetArraySize(item) : -1;
    if (size < 0 || size > max) {
        reader_fail(r, FR_EINVAL);
        return NULL;
    }
    *len = (size_t)size;
    return item;
}

static reader reader_start(const cJSON *json) {
    reader r;
    r.object = json;
    r.status = cJSON_IsObject(json) ? FR_OK : FR_EINVAL;
    return r;
}

/* ---------------------------------------------------------------------------
 * cJSON -> entities.
 * ------------------------------------------------------------------------- */

static void read_schedule(reader *r, fr_pool *pool) {
    size_t n = 0;
    const cJSON *array = read_array(r, "capacity_schedule", NULLABLE, FR_SCHEDULE_MAX, &n);
    if (array == NULL || n == 0 || r->status != FR_OK) {
        return;
    }
    pool->schedule = calloc(n, sizeof *pool->schedule);
    if (pool->schedule == NULL) {
        reader_fail(r, FR_ENOMEM);
        return;
    }
    pool->schedule_len = n;
    size_t i = 0;
    const cJSON *entry = NULL;
    cJSON_ArrayForEach(entry, array) {
        assert(i < n);
        reader er = reader_start(entry);
        fr_schedule_entry *out = &pool->schedule[i];
        if (er.status == FR_OK) {
            read_time(&er, "start", REQUIRED, FR_TIME_NULL, &out->start_ms);
            read_time(&er, "end", NULLABLE, FR_TIME_INF, &out->end_ms);
            read_qty(&er, "capacity", REQUIRED, &out->capacity_milli);
        }
        reader_fail(r, er.status);
        i += 1;
    }
}

int fr__pool_from_cjson(const cJSON *json, fr_pool *out) {
    assert(out != NULL);
    memset(out, 0, sizeof *out);
    reader r = reader_start(json);
    if (r.status != FR_OK) {
        return r.status;
    }
    read_id(&r, "id", REQUIRED, out->id);
    read_string(&r, "fleet_id", REQUIRED, &out->fleet_id);
    read_string(&r, "name", REQUIRED, &out->name);
    read_string(&r, "resource_type", REQUIRED, &out->resource_type);
    read_string(&r, "unit", REQUIRED, &out->unit);
    read_string(&r, "site", NULLABLE, &out->site);
    read_object_text(&r, "labels", &out->labels_json);
    read_enum(&r, "status", fr_pool_status_parse, &out->status);
    read_qty(&r, "total_capacity", REQUIRED, &out->total_capacity_milli);
    read_schedule(&r, out);
    read_bool(&r, "exclusive_per_vehicle", &out->exclusive_per_vehicle);
    read_qty(&r, "capacity_now", NULLABLE, &out->capacity_now_milli);
    read_qty(&r, "reserved_capacity", NULLABLE, &out->reserved_capacity_milli);
    read_qty(&r, "available_capacity", NULLABLE, &out->available_capacity_milli);
    read_versioning(&r, &out->version, &out->created_at_ms, &out->updated_at_ms);
    if (member(&r, "deleted") != NULL) {
        read_bool(&r, "deleted", &out->deleted);
    }
    if (r.status != FR_OK) {
        fr_pool_clear(out);
    }
    return r.status;
}

/* to_cjson gives allocations and requests as raw text items (see
 * raw_from_text): those are read from their parsed text, which *owned
 * holds until the caller deletes it. */
static const cJSON *object_of(const cJSON *json, cJSON **owned) {
    *owned = NULL;
    if (json == NULL || !cJSON_IsRaw(json)) {
        return json;
    }
    *owned = cJSON_ParseWithOpts(json->valuestring, NULL, 1);
    return *owned;
}

static int allocation_from_object(const cJSON *json, fr_allocation *out) {
    assert(out != NULL);
    memset(out, 0, sizeof *out);
    reader r = reader_start(json);
    if (r.status != FR_OK) {
        return r.status;
    }
    read_id(&r, "id", REQUIRED, out->id);
    read_id(&r, "pool_id", REQUIRED, out->pool_id);
    read_string(&r, "fleet_id", REQUIRED, &out->fleet_id);
    read_string(&r, "resource_type", REQUIRED, &out->resource_type);
    read_string(&r, "vehicle_id", NULLABLE, &out->vehicle_id);
    read_string(&r, "operation_id", NULLABLE, &out->operation_id);
    read_string(&r, "allocation_type", REQUIRED, &out->allocation_type);
    read_qty(&r, "quantity", REQUIRED, &out->quantity_milli);
    read_time(&r, "start", REQUIRED, FR_TIME_NULL, &out->start_ms);
    read_time(&r, "end", NULLABLE, FR_TIME_INF, &out->end_ms);
    read_int32(&r, "priority", &out->priority);
    read_enum(&r, "status", fr_allocation_status_parse, &out->status);
    read_time(&r, "hold_expires_at", NULLABLE, FR_TIME_NULL, &out->hold_expires_at_ms);
    read_id(&r, "request_id", NULLABLE, out->request_id);
    read_id(&r, "plan_id", NULLABLE, out->plan_id);
    read_object_text(&r, "metadata", &out->metadata_json);
    read_time(&r, "released_at", NULLABLE, FR_TIME_NULL, &out->released_at_ms);
    read_versioning(&r, &out->version, &out->created_at_ms, &out->updated_at_ms);
    if (r.status != FR_OK) {
        fr_allocation_clear(out);
    }
    return r.status;
}

int fr__allocation_from_cjson(const cJSON *json, fr_allocation *out) {
    cJSON *owned;
    int status = allocation_from_object(object_of(json, &owned), out);
    cJSON_Delete(owned);
    return status;
}

static void read_pending_reason(reader *r, fr_request *out) {
    const cJSON *item = member(r, "pending_reason");
    out->pending_reason = FR_REASON_NONE;
    if (item == NULL) {
        return;
    }
    const char *text = cJSON_IsString(item) ? item->valuestring : NULL;
    if (text != NULL && strcmp(text, "no_pool_of_type") == 0) {
        out->pending_reason = FR_REASON_NO_POOL_OF_TYPE;
    } else if (text != NULL && strcmp(text, "insufficient_capacity") == 0) {
        out->pending_reason = FR_REASON_INSUFFICIENT_CAPACITY;
    } else {
        reader_fail(r, FR_EINVAL);
    }
}

static int request_from_object(const cJSON *json, fr_request *out) {
    assert(out != NULL);
    memset(out, 0, sizeof *out);
    reader r = reader_start(json);
    if (r.status != FR_OK) {
        return r.status;
    }
    read_id(&r, "id", REQUIRED, out->id);
    read_string(&r, "fleet_id", REQUIRED, &out->fleet_id);
    read_string(&r, "vehicle_id", NULLABLE, &out->vehicle_id);
    read_string(&r, "operation_id", NULLABLE, &out->operation_id);
    read_string(&r, "resource_type", REQUIRED, &out->resource_type);
    read_id(&r, "pool_id", NULLABLE, out->pool_id);
    read_string(&r, "site", NULLABLE, &out->site);
    read_qty(&r, "quantity", REQUIRED, &out->quantity_milli);
    read_qty(&r, "duration_seconds", REQUIRED, &out->duration_ms);
    read_time(&r, "earliest_start", REQUIRED, FR_TIME_NULL, &out->earliest_start_ms);
    read_time(&r, "latest_end", NULLABLE, FR_TIME_INF, &out->latest_end_ms);
    read_int32(&r, "priority", &out->priority);
    read_enum(&r, "status", fr_request_status_parse, &out->status);
    read_pending_reason(&r, out);
    read_id(&r, "allocation_id", NULLABLE, out->allocation_id);
    read_int(&r, "queue_position", NULLABLE, 0, INT64_MAX, 0, &out->queue_position);
    read_int(&r, "effective_priority", NULLABLE, INT64_MIN, INT64_MAX, 0,
             &out->effective_priority);
    read_time(&r, "estimated_start", NULLABLE, FR_TIME_NULL, &out->estimated_start_ms);
    read_bool(&r, "preempt", &out->preempt);
    read_time(&r, "fulfilled_at", NULLABLE, FR_TIME_NULL, &out->fulfilled_at_ms);
    read_object_text(&r, "metadata", &out->metadata_json);
    read_versioning(&r, &out->version, &out->created_at_ms, &out->updated_at_ms);
    if (r.status != FR_OK) {
        fr_request_clear(out);
    }
    return r.status;
}

int fr__request_from_cjson(const cJSON *json, fr_request *out) {
    cJSON *owned;
    int status = request_from_object(object_of(json, &owned), out);
    cJSON_Delete(owned);
    return status;
}

static void read_allocation_ids(reader *r, fr_conflict *out) {
    size_t n = 0;
    const cJSON *array = read_array(r, "allocation_ids", NULLABLE, CODEC_ARRAY_MAX, &n);
    if (array == NULL || n == 0 || r->status != FR_OK) {
        return;
    }
    out->allocation_ids = calloc(n, FR_ID_SIZE);
    if (out->allocation_ids == NULL) {
        reader_fail(r, FR_ENOMEM);
        return;
    }
    out->allocation_ids_len = n;
    size_t i = 0;
    const cJSON *id = NULL;
    cJSON_ArrayForEach(id, array) {
        assert(i < n);
        copy_id(r, cJSON_IsNull(id) ? NULL : id, REQUIRED, out->allocation_ids[i]);
        i += 1;
    }
}

static void read_action(reader *r, const cJSON *json, fr_resolution_action *out) {
    reader ar = reader_start(json);
    if (ar.status == FR_OK) {
        read_id(&ar, "allocation_id", REQUIRED, out->allocation_id);
        read_string(&ar, "action", REQUIRED, &out->action);
        read_string(&ar, "from", NULLABLE, &out->from);
        read_string(&ar, "to", NULLABLE, &out->to);
    }
    reader_fail(r, ar.status);
}

/* resolution: null, or {strategy, actions, note, resolved_by}. */
static void read_resolution(reader *r, fr_conflict *out) {
    const cJSON *resolution = member(r, "resolution");
    if (resolution == NULL) {
        return;
    }
    reader rr = reader_start(resolution);
    if (rr.status != FR_OK) {
        reader_fail(r, rr.status);
        return;
    }
    read_string(&rr, "strategy", NULLABLE, &out->resolution_strategy);
    read_string(&rr, "note", NULLABLE, &out->resolution_note);
    read_string(&rr, "resolved_by", NULLABLE, &out->resolution_resolved_by);
    size_t n = 0;
    const cJSON *array = read_array(&rr, "actions", NULLABLE, CODEC_ARRAY_MAX, &n);
    if (array != NULL && n > 0 && rr.status == FR_OK) {
        out->resolution_actions = calloc(n, sizeof *out->resolution_actions);
        if (out->resolution_actions == NULL) {
            reader_fail(&rr, FR_ENOMEM);
        } else {
            /* Set the length first: fr_conflict_clear frees what was read. */
            out->resolution_actions_len = n;
            size_t i = 0;
            const cJSON *action = NULL;
            cJSON_ArrayForEach(action, array) {
                assert(i < n);
                read_action(&rr, action, &out->resolution_actions[i]);
                i += 1;
            }
        }
    }
    reader_fail(r, rr.status);
}

static int conflict_from_object(const cJSON *json, fr_conflict *out) {
    assert(out != NULL);
    memset(out, 0, sizeof *out);
    reader r = reader_start(json);
    if (r.status != FR_OK) {
        return r.status;
    }
    read_id(&r, "id", REQUIRED, out->id);
    read_string(&r, "fleet_id", REQUIRED, &out->fleet_id);
    read_id(&r, "pool_id", NULLABLE, out->pool_id);
    read_enum(&r, "type", fr_conflict_type_parse, &out->type);
    read_time(&r, "start", REQUIRED, FR_TIME_NULL, &out->start_ms);
    read_time(&r, "end", NULLABLE, FR_TIME_INF, &out->end_ms);
    read_qty(&r, "excess", REQUIRED, &out->excess_milli);
    read_allocation_ids(&r, out);
    read_string(&r, "vehicle_id", NULLABLE, &out->vehicle_id);
    read_string(&r, "description", NULLABLE, &out->description);
    read_enum(&r, "status", fr_conflict_status_parse, &out->status);
    read_time(&r, "detected_at", REQUIRED, FR_TIME_NULL, &out->detected_at_ms);
    read_time(&r, "resolved_at", NULLABLE, FR_TIME_NULL, &out->resolved_at_ms);
    read_resolution(&r, out);
    read_versioning(&r, &out->version, &out->created_at_ms, &out->updated_at_ms);
    if (r.status != FR_OK) {
        fr_conflict_clear(out);
    }
    return r.status;
}

int fr__conflict_from_cjson(const cJSON *json, fr_conflict *out) {
    cJSON *owned;
    int status = conflict_from_object(object_of(json, &owned), out);
    cJSON_Delete(owned);
    return status;
}

/* ---------------------------------------------------------------------------
 * Utilization samples.
 * ------------------------------------------------------------------------- */

cJSON *fr__ratio_to_cjson(int has, double ratio) {
    char text[NUMBER_TEXT_SIZE];
    if (!has || !isfinite(ratio)) {
        return cJSON_CreateNull();
    }
    /* 15 significant digits survive any double and print short ("0.5",
     * "0.333333333333333"); %g's exponent form ("1e+15") is valid JSON. */
    snprintf(text, sizeof text, "%.15g", ratio);
    return cJSON_CreateRaw(text);
}

cJSON *fr__sample_to_cjson(const fr_sample *sample) {
    assert(sample != NULL);
    const fr_sample *s = sample;
    const int has_ratio = s->capacity_milli > 0;
    builder b = builder_start();
    put_string(&b, "id", s->id);
    put_string(&b, "pool_id", s->pool_id);
    put_string(&b, "fleet_id", s->fleet_id);
    put(&b, "timestamp", fr__time_to_cjson(s->timestamp_ms));
    put(&b, "used", fr__qty_to_cjson(s->used_milli));
    put_string(&b, "source", s->source);
    put(&b, "capacity", fr__qty_to_cjson(s->capacity_milli));
    /* Both are exact in a double (|q| <= 1e15 < 2^53): one rounding only. */
    put(&b, "utilization",
        fr__ratio_to_cjson(has_ratio, has_ratio ? (double)s->used_milli /
                                                      (double)s->capacity_milli
                                                : 0.0));
    /* Samples are immutable: version 1, never updated. */
    put_versioning(&b, 1, s->created_at_ms, s->created_at_ms);
    return builder_finish(&b);
}

char *fr__sample_to_json_text(const fr_sample *sample) {
    return print_and_delete(fr__sample_to_cjson(sample));
}

int fr_sample_to_json(const fr_sample *sample, char **out_json) {
    if (sample == NULL || out_json == NULL) {
        return FR_EINVAL;
    }
    return deliver_text(fr__sample_to_json_text(sample), out_json);
}

int fr__sample_from_cjson(const cJSON *json, fr_sample *out) {
    assert(out != NULL);
    memset(out, 0, sizeof *out);
    reader r = reader_start(json);
    if (r.status != FR_OK) {
        return r.status;
    }
    read_id(&r, "id", REQUIRED, out->id);
    read_id(&r, "pool_id", REQUIRED, out->pool_id);
    read_string(&r, "fleet_id", REQUIRED, &out->fleet_id);
    read_time(&r, "timestamp", REQUIRED, FR_TIME_NULL, &out->timestamp_ms);
    read_qty(&r, "used", REQUIRED, &out->used_milli);
    read_string(&r, "source", NULLABLE, &out->source);
    read_qty(&r, "capacity", REQUIRED, &out->capacity_milli);
    read_time(&r, "created_at", REQUIRED, FR_TIME_NULL, &out->created_at_ms);
    if (r.status != FR_OK) {
        fr_sample_clear(out);
    }
    return r.status;
}
