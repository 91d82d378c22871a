/*
 * codec.h — entities <-> JSON in SPEC's shape (private; the service links
 * the static library and uses it to render responses).
 *
 * to_cjson builds the object a client sees: snake_case field names, times as
 * RFC 3339 UTC with 3 fraction digits (null for FR_TIME_NULL, and for an
 * FR_TIME_INF end/latest_end), quantities as exact JSON numbers (cJSON number
 * from the decimal text, never a float sum), enums by name, JSON-text fields
 * (labels, metadata) embedded as objects.  Computed fields are included.
 *
 * from_cjson is the inverse, for the stores and for event replay: it accepts
 * what to_cjson produced and fills a zeroed entity (deep copies; free with
 * fr_*_clear).  It returns FR_EINVAL on anything malformed, leaving *out
 * cleared.
 */
#ifndef FR_CODEC_H
#define FR_CODEC_H

#include <cjson/cJSON.h>

#include "fleetres.h"

cJSON *fr__pool_to_cjson(const fr_pool *pool);
cJSON *fr__allocation_to_cjson(const fr_allocation *allocation);
cJSON *fr__request_to_cjson(const fr_request *request);
cJSON *fr__conflict_to_cjson(const fr_conflict *conflict);
cJSON *fr__event_to_cjson(const fr_event *event);

int fr__pool_from_cjson(const cJSON *json, fr_pool *out);
int fr__allocation_from_cjson(const cJSON *json, fr_allocation *out);
int fr__request_from_cjson(const cJSON *json, fr_request *out);
int fr__conflict_from_cjson(const cJSON *json, fr_conflict *out);

/* A quantity as an exact JSON number (built from its decimal text). */
cJSON *fr__qty_to_cjson(int64_t milli);
/* A time as RFC 3339 text, or JSON null for FR_TIME_NULL / FR_TIME_INF. */
cJSON *fr__time_to_cjson(int64_t ms);

/* Unformatted JSON text of an entity (malloc'd), or NULL when out of memory. */
char *fr__pool_to_json_text(const fr_pool *pool);
char *fr__allocation_to_json_text(const fr_allocation *allocation);
char *fr__request_to_json_text(const fr_request *request);
char *fr__conflict_to_json_text(const fr_conflict *conflict);
/* The same with the allocation ids given in binary instead (ids_len of
 * them; conflict->allocation_ids then empty), as the engine keeps them. */
char *fr__conflict_to_json_text_bin(const fr_conflict *conflict, const unsigned char (*ids)[16],
                                    size_t ids_len);

/* Utilization samples (SPEC §5): id, pool_id, fleet_id, timestamp, used,
 * source, capacity, utilization (computed: used / capacity, null when
 * capacity is 0), version (always 1), created_at, updated_at (= created_at).
 * from_cjson ignores the computed and constant fields. */
cJSON *fr__sample_to_cjson(const fr_sample *sample);
int fr__sample_from_cjson(const cJSON *json, fr_sample *out);
char *fr__sample_to_json_text(const fr_sample *sample);
/* A ratio (utilization, efficiency) as a JSON number with 15 significant
 * digits, or JSON null when !has (a zero or missing denominator). */
cJSON *fr__ratio_to_cjson(int has, double ratio);

/* Plans (SPEC §7), plan_codec.c: the stored inputs, assignments, unplaced,
 * forecast (utilization computed), shortfall, score, and the bookkeeping.
 * from_cjson reads back what to_cjson wrote (computed fields ignored). */
cJSON *fr__plan_to_cjson(const fr_plan *plan);
int fr__plan_from_cjson(const cJSON *json, fr_plan *out);
char *fr__plan_to_json_text(const fr_plan *plan);
/* One unplaced or stale item: {ref | request_id, [pool_id,] reason}. */
cJSON *fr__plan_miss_to_cjson(const fr_plan_miss *miss);

#endif /* FR_CODEC_H */
