/*
 * test_codec.c — entities <-> JSON.
 *
 * Round trips (to_cjson -> print -> parse -> from_cjson, and to_cjson ->
 * from_cjson directly on the tree with its raw numbers) compared field by
 * field, for entities with every field set and with the optionals absent;
 * the exact text of each shape; exact quantities through cJSON's doubles; and
 * malformed input, which must give FR_EINVAL with *out cleared and nothing
 * leaked (ASan checks the latter).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "codec.h"
#include "entity.h"
#include "fleetres.h"

/* 2026-11-26T14:00:00.000Z */
#define T0 INT64_C(1795701600000)
#define ID_POOL "0190f1a2-0000-7000-8000-000000000001"
#define ID_ALLOC "0190f1a2-0000-7000-8000-000000000002"
#define ID_REQ "0190f1a2-0000-7000-8000-000000000003"
#define ID_CONFLICT "0190f1a2-0000-7000-8000-000000000004"
#define ID_PLAN "0190f1a2-0000-7000-8000-000000000005"
#define ID_EVENT "0190f1a2-0000-7000-8000-000000000006"
#define ID_ALLOC2 "0190f1a2-0000-7000-8000-000000000007"

static void assert_str_eq_or_null(const char *a, const char *b, const char *what) {
    if (a == NULL || b == NULL) {
        cr_assert(a == NULL && b == NULL, "%s: %s vs %s", what, a ? a : "NULL", b ? b : "NULL");
        return;
    }
    cr_assert_str_eq(a, b, "%s", what);
}

#define STR_EQ(x, y, field) assert_str_eq_or_null((x)->field, (y)->field, #field)
#define ID_EQ(x, y, field) cr_assert_str_eq((x)->field, (y)->field, #field)
#define NUM_EQ(x, y, field)                                                        \
    cr_assert_eq((int64_t)(x)->field, (int64_t)(y)->field, "%s: %lld vs %lld", #field, \
                 (long long)(x)->field, (long long)(y)->field)

/* Prints json, parses the text back, and deletes json. */
static cJSON *through_text(cJSON *json) {
    cr_assert_not_null(json);
    char *text = cJSON_PrintUnformatted(json);
    cr_assert_not_null(text);
    cJSON_Delete(json);
    cJSON *parsed = cJSON_Parse(text);
    cr_assert_not_null(parsed, "reparse of %s", text);
    free(text);
    return parsed;
}

/* ------------------------------------------------------------------- pools */

static fr_pool full_pool(void) {
    fr_pool p;
    memset(&p, 0, sizeof p);
    strcpy(p.id, ID_POOL);
    p.fleet_id = fr__strdup_or_null("fleet-a");
    p.name = fr__strdup_or_null("Bay \"1\" \xc3\xa9");
    p.resource_type = fr__strdup_or_null("charging_bay");
    p.unit = fr__strdup_or_null("kW");
    p.site = fr__strdup_or_null("depot-7");
    p.labels_json = fr__strdup_or_null("{\"zone\":\"north\",\"tier\":\"a\"}");
    p.status = FR_POOL_DRAINING;
    p.exclusive_per_vehicle = 1;
    p.total_capacity_milli = INT64_C(123456789012345);
    p.schedule_len = 2;
    p.schedule = calloc(2, sizeof *p.schedule);
    p.schedule[0] = (fr_schedule_entry){T0, T0 + 3600000, 100};
    p.schedule[1] = (fr_schedule_entry){T0 + 7200123, FR_TIME_INF, 0};
    p.version = 7;
    p.created_at_ms = T0 - 1;
    p.updated_at_ms = T0 + 999;
    p.capacity_now_milli = 1;
    p.reserved_capacity_milli = 9000;
    p.available_capacity_milli = -8999;
    return p;
}

static fr_pool minimal_pool(void) {
    fr_pool p;
    memset(&p, 0, sizeof p);
    strcpy(p.id, ID_POOL);
    p.fleet_id = fr__strdup_or_null("f");
    p.name = fr__strdup_or_null("");
    p.resource_type = fr__strdup_or_null("operator");
    p.unit = fr__strdup_or_null("unit");
    p.labels_json = fr__strdup_or_null("{}");
    p.status = FR_POOL_ACTIVE;
    p.exclusive_per_vehicle = 0;
    p.total_capacity_milli = 0;
    p.version = 1;
    p.created_at_ms = FR_TIME_MIN_MS;
    p.updated_at_ms = FR_TIME_MAX_MS;
    return p;
}

static void pool_eq(const fr_pool *a, const fr_pool *b) {
    ID_EQ(a, b, id);
    STR_EQ(a, b, fleet_id);
    STR_EQ(a, b, name);
    STR_EQ(a, b, resource_type);
    STR_EQ(a, b, unit);
    STR_EQ(a, b, site);
    STR_EQ(a, b, labels_json);
    NUM_EQ(a, b, status);
    NUM_EQ(a, b, exclusive_per_vehicle);
    NUM_EQ(a, b, total_capacity_milli);
    NUM_EQ(a, b, schedule_len);
    for (size_t i = 0; i < a->schedule_len; i++) {
        NUM_EQ(a, b, schedule[i].start_ms);
        NUM_EQ(a, b, schedule[i].end_ms);
        NUM_EQ(a, b, schedule[i].capacity_milli);
    }
    NUM_EQ(a, b, deleted);
    NUM_EQ(a, b, version);
    NUM_EQ(a, b, created_at_ms);
    NUM_EQ(a, b, updated_at_ms);
    NUM_EQ(a, b, capacity_now_milli);
    NUM_EQ(a, b, reserved_capacity_milli);
    NUM_EQ(a, b, available_capacity_milli);
}

static void pool_round_trip(const fr_pool *p) {
    for (int via_text = 0; via_text <= 1; via_text++) {
        cJSON *json = fr__pool_to_cjson(p);
        if (via_text) {
            json = through_text(json);
        }
        fr_pool back;
        memset(&back, 0x33, sizeof back);
        cr_assert_eq(fr__pool_from_cjson(json, &back), FR_OK, "via_text %d", via_text);
        pool_eq(p, &back);
        fr_pool_clear(&back);
        cJSON_Delete(json);
    }
}

Test(pool, round_trip_full) {
    fr_pool p = full_pool();
    pool_round_trip(&p);
    p.deleted = 1;
    pool_round_trip(&p);
    fr_pool_clear(&p);
}

Test(pool, round_trip_minimal) {
    fr_pool p = minimal_pool();
    pool_round_trip(&p);
    fr_pool_clear(&p);
}

Test(pool, exact_text) {
    fr_pool p = full_pool();
    char *text = NULL;
    cr_assert_eq(fr_pool_to_json(&p, &text), FR_OK);
    cr_assert_str_eq(
        text,
        "{\"id\":\"" ID_POOL "\",\"fleet_id\":\"fleet-a\",\"name\":\"Bay \\\"1\\\" \xc3\xa9\","
        "\"resource_type\":\"charging_bay\",\"unit\":\"kW\",\"site\":\"depot-7\","
        "\"labels\":{\"zone\":\"north\",\"tier\":\"a\"},\"status\":\"draining\","
        "\"total_capacity\":123456789012.345,\"capacity_schedule\":["
        "{\"start\":\"2026-11-26T14:00:00.000Z\",\"end\":\"2026-11-26T15:00:00.000Z\","
        "\"capacity\":0.1},"
        "{\"start\":\"2026-11-26T16:00:00.123Z\",\"end\":null,\"capacity\":0}],"
        "\"exclusive_per_vehicle\":true,\"capacity_now\":0.001,\"reserved_capacity\":9,"
        "\"available_capacity\":-8.999,\"version\":7,"
        "\"created_at\":\"2026-11-26T13:59:59.999Z\","
        "\"updated_at\":\"2026-11-26T14:00:00.999Z\"}");
    fr_free(text);
    fr_pool_clear(&p);
}

Test(pool, minimal_text_and_deleted_flag) {
    fr_pool p = minimal_pool();
    char *text = NULL;
    cr_assert_eq(fr_pool_to_json(&p, &text), FR_OK);
    cr_assert_str_eq(text,
                     "{\"id\":\"" ID_POOL "\",\"fleet_id\":\"f\",\"name\":\"\","
                     "\"resource_type\":\"operator\",\"unit\":\"unit\",\"site\":null,"
                     "\"labels\":{},\"status\":\"active\",\"total_capacity\":0,"
                     "\"capacity_schedule\":[],\"exclusive_per_vehicle\":false,"
                     "\"capacity_now\":0,\"reserved_capacity\":0,\"available_capacity\":0,"
                     "\"version\":1,\"created_at\":\"0000-01-01T00:00:00.000Z\","
                     "\"updated_at\":\"9999-12-31T23:59:59.999Z\"}");
    fr_free(text);
    p.deleted = 1;
    cr_assert_eq(fr_pool_to_json(&p, &text), FR_OK);
    cr_assert_not_null(strstr(text, ",\"deleted\":true}"));
    fr_free(text);
    fr_pool_clear(&p);
}

Test(pool, malformed_labels_embed_empty_object) {
    const char *bad[] = {"not json", "[1,2]", "\"s\"", "{\"a\":1} trailing", "{"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fr_pool p = minimal_pool();
        free(p.labels_json);
        p.labels_json = fr__strdup_or_null(bad[i]);
        char *text = NULL;
        cr_assert_eq(fr_pool_to_json(&p, &text), FR_OK);
        cr_assert_not_null(strstr(text, "\"labels\":{},"), "%s -> %s", bad[i], text);
        fr_free(text);
        fr_pool_clear(&p);
    }
    fr_pool p = minimal_pool();
    free(p.labels_json);
    p.labels_json = NULL;
    char *text = NULL;
    cr_assert_eq(fr_pool_to_json(&p, &text), FR_OK);
    cr_assert_not_null(strstr(text, "\"labels\":{},"));
    fr_free(text);
    fr_pool_clear(&p);
}

/* ------------------------------------------------------------- allocations */

static fr_allocation full_allocation(void) {
    fr_allocation a;
    memset(&a, 0, sizeof a);
    strcpy(a.id, ID_ALLOC);
    strcpy(a.pool_id, ID_POOL);
    a.fleet_id = fr__strdup_or_null("fleet-a");
    a.resource_type = fr__strdup_or_null("charging_bay");
    a.vehicle_id = fr__strdup_or_null("bus-12");
    a.operation_id = fr__strdup_or_null("op-3");
    a.allocation_type = fr__strdup_or_null("charge");
    a.quantity_milli = 150500;
    a.start_ms = T0;
    a.end_ms = T0 + 5400000;
    a.priority = 1000;
    a.status = FR_ALLOC_HELD;
    a.hold_expires_at_ms = T0 + 60000;
    strcpy(a.request_id, ID_REQ);
    strcpy(a.plan_id, ID_PLAN);
    a.metadata_json = fr__strdup_or_null("{\"note\":\"x\",\"n\":[1,2.5,{\"d\":null}]}");
    a.released_at_ms = T0 + 1;
    a.version = 3;
    a.created_at_ms = T0 - 500;
    a.updated_at_ms = T0;
    return a;
}

static fr_allocation minimal_allocation(void) {
    fr_allocation a;
    memset(&a, 0, sizeof a);
    strcpy(a.id, ID_ALLOC);
    strcpy(a.pool_id, ID_POOL);
    a.fleet_id = fr__strdup_or_null("fleet-a");
    a.resource_type = fr__strdup_or_null("charging_bay");
    a.vehicle_id = NULL;
    a.operation_id = fr__strdup_or_null("op-3");
    a.allocation_type = fr__strdup_or_null("default");
    a.quantity_milli = 1;
    a.start_ms = -1;
    a.end_ms = FR_TIME_INF;
    a.priority = 0;
    a.status = FR_ALLOC_CONFIRMED;
    a.hold_expires_at_ms = FR_TIME_NULL;
    a.metadata_json = fr__strdup_or_null("{}");
    a.released_at_ms = FR_TIME_NULL;
    a.version = 1;
    a.created_at_ms = 0;
    a.updated_at_ms = 0;
    return a;
}

static void allocation_eq(const fr_allocation *a, const fr_allocation *b) {
    ID_EQ(a, b, id);
    ID_EQ(a, b, pool_id);
    STR_EQ(a, b, fleet_id);
    STR_EQ(a, b, resource_type);
    STR_EQ(a, b, vehicle_id);
    STR_EQ(a, b, operation_id);
    STR_EQ(a, b, allocation_type);
    NUM_EQ(a, b, quantity_milli);
    NUM_EQ(a, b, start_ms);
    NUM_EQ(a, b, end_ms);
    NUM_EQ(a, b, priority);
    NUM_EQ(a, b, status);
    NUM_EQ(a, b, hold_expires_at_ms);
    ID_EQ(a, b, request_id);
    ID_EQ(a, b, plan_id);
    STR_EQ(a, b, metadata_json);
    NUM_EQ(a, b, released_at_ms);
    NUM_EQ(a, b, version);
    NUM_EQ(a, b, created_at_ms);
    NUM_EQ(a, b, updated_at_ms);
}

static void allocation_round_trip(const fr_allocation *a) {
    for (int via_text = 0; via_text <= 1; via_text++) {
        cJSON *json = fr__allocation_to_cjson(a);
        if (via_text) {
            json = through_text(json);
        }
        fr_allocation back;
        memset(&back, 0x33, sizeof back);
        cr_assert_eq(fr__allocation_from_cjson(json, &back), FR_OK, "via_text %d", via_text);
        allocation_eq(a, &back);
        fr_allocation_clear(&back);
        cJSON_Delete(json);
    }
}

Test(allocation, round_trips) {
    fr_allocation a = full_allocation();
    allocation_round_trip(&a);
    fr_allocation_clear(&a);
    a = minimal_allocation();
    allocation_round_trip(&a);
    fr_allocation_clear(&a);
}

Test(allocation, exact_text) {
    fr_allocation a = minimal_allocation();
    char *text = NULL;
    cr_assert_eq(fr_allocation_to_json(&a, &text), FR_OK);
    cr_assert_str_eq(text,
                     "{\"id\":\"" ID_ALLOC "\",\"pool_id\":\"" ID_POOL "\","
                     "\"fleet_id\":\"fleet-a\",\"resource_type\":\"charging_bay\","
                     "\"vehicle_id\":null,\"operation_id\":\"op-3\","
                     "\"allocation_type\":\"default\",\"quantity\":0.001,"
                     "\"start\":\"1969-12-31T23:59:59.999Z\",\"end\":null,\"priority\":0,"
                     "\"status\":\"confirmed\",\"hold_expires_at\":null,\"request_id\":null,"
                     "\"plan_id\":null,\"metadata\":{},\"released_at\":null,\"version\":1,"
                     "\"created_at\":\"1970-01-01T00:00:00.000Z\","
                     "\"updated_at\":\"1970-01-01T00:00:00.000Z\"}");
    fr_free(text);
    fr_allocation_clear(&a);

    a = full_allocation();
    cr_assert_eq(fr_allocation_to_json(&a, &text), FR_OK);
    cr_assert_not_null(strstr(text, "\"quantity\":150.5,"));
    cr_assert_not_null(strstr(text, "\"request_id\":\"" ID_REQ "\",\"plan_id\":\"" ID_PLAN "\""));
    cr_assert_not_null(strstr(text, "\"metadata\":{\"note\":\"x\",\"n\":[1,2.5,{\"d\":null}]}"));
    cr_assert_not_null(strstr(text, "\"status\":\"held\",\"hold_expires_at\":\"2026-11-26T14:01:00.000Z\""));
    fr_free(text);
    fr_allocation_clear(&a);
}

/* Every quantity with at most 3 decimals survives cJSON's doubles exactly. */
Test(allocation, exact_quantities_through_doubles) {
    const int64_t special[] = {1, 10, 100, 999, 1001, INT64_C(123456789012345),
                               FR_QTY_MAX_MILLI, FR_QTY_MAX_MILLI - 1, -FR_QTY_MAX_MILLI,
                               INT64_C(999999999999999), INT64_C(900719925474099),
                               INT64_C(333333333333333)};
    fr_allocation a = minimal_allocation();
    uint64_t state = UINT64_C(0x853c49e6748fea9b);
    for (int i = 0; i < 20000; i++) {
        if (i < (int)(sizeof special / sizeof special[0])) {
            a.quantity_milli = special[i];
        } else {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            a.quantity_milli =
                (int64_t)(state % (2 * (uint64_t)FR_QTY_MAX_MILLI + 1)) - FR_QTY_MAX_MILLI;
        }
        cJSON *json = through_text(fr__allocation_to_cjson(&a));
        fr_allocation back;
        cr_assert_eq(fr__allocation_from_cjson(json, &back), FR_OK, "milli %lld",
                     (long long)a.quantity_milli);
        cr_assert_eq(back.quantity_milli, a.quantity_milli, "milli %lld -> %lld",
                     (long long)a.quantity_milli, (long long)back.quantity_milli);
        fr_allocation_clear(&back);
        cJSON_Delete(json);
    }
    fr_allocation_clear(&a);
}

/* ---------------------------------------------------------------- requests */

static fr_request full_request(int status) {
    fr_request r;
    memset(&r, 0, sizeof r);
    strcpy(r.id, ID_REQ);
    r.fleet_id = fr__strdup_or_null("fleet-a");
    r.vehicle_id = fr__strdup_or_null("bus-12");
    r.operation_id = fr__strdup_or_null("op-3");
    r.resource_type = fr__strdup_or_null("charging_bay");
    strcpy(r.pool_id, ID_POOL);
    r.site = fr__strdup_or_null("depot-7");
    r.quantity_milli = 2125;
    r.duration_ms = 90500;
    r.earliest_start_ms = T0;
    r.latest_end_ms = T0 + 86400000;
    r.priority = 42;
    r.status = status;
    r.pending_reason = status == FR_REQ_PENDING ? FR_REASON_INSUFFICIENT_CAPACITY : FR_REASON_NONE;
    if (status == FR_REQ_FULFILLED) {
        strcpy(r.allocation_id, ID_ALLOC);
        r.fulfilled_at_ms = T0 + 5;
    } else {
        r.fulfilled_at_ms = FR_TIME_NULL;
    }
    r.preempt = 1;
    r.metadata_json = fr__strdup_or_null("{\"why\":\"night shift\"}");
    r.version = 4;
    r.created_at_ms = T0 - 60000;
    r.updated_at_ms = T0 - 1000;
    if (status == FR_REQ_PENDING) {
        r.queue_position = 3;
        r.effective_priority = 45;
        r.estimated_start_ms = T0 + 1800000;
    } else {
        r.estimated_start_ms = FR_TIME_NULL;
    }
    return r;
}

static fr_request minimal_request(void) {
    fr_request r;
    memset(&r, 0, sizeof r);
    strcpy(r.id, ID_REQ);
    r.fleet_id = fr__strdup_or_null("fleet-a");
    r.operation_id = fr__strdup_or_null("op-3");
    r.resource_type = fr__strdup_or_null("operator");
    r.quantity_milli = 1000;
    r.duration_ms = 3600000;
    r.earliest_start_ms = T0;
    r.latest_end_ms = FR_TIME_INF;
    r.status = FR_REQ_PENDING;
    r.pending_reason = FR_REASON_NONE;
    r.fulfilled_at_ms = FR_TIME_NULL;
    r.metadata_json = fr__strdup_or_null("{}");
    r.version = 1;
    r.created_at_ms = T0;
    r.updated_at_ms = T0;
    r.queue_position = 1;
    r.effective_priority = 0;
    r.estimated_start_ms = FR_TIME_NULL; /* nothing fits within 30 days */
    return r;
}

static void request_eq(const fr_request *a, const fr_request *b) {
    ID_EQ(a, b, id);
    STR_EQ(a, b, fleet_id);
    STR_EQ(a, b, vehicle_id);
    STR_EQ(a, b, operation_id);
    STR_EQ(a, b, resource_type);
    ID_EQ(a, b, pool_id);
    STR_EQ(a, b, site);
    NUM_EQ(a, b, quantity_milli);
    NUM_EQ(a, b, duration_ms);
    NUM_EQ(a, b, earliest_start_ms);
    NUM_EQ(a, b, latest_end_ms);
    NUM_EQ(a, b, priority);
    NUM_EQ(a, b, status);
    NUM_EQ(a, b, pending_reason);
    ID_EQ(a, b, allocation_id);
    NUM_EQ(a, b, preempt);
    NUM_EQ(a, b, fulfilled_at_ms);
    STR_EQ(a, b, metadata_json);
    NUM_EQ(a, b, version);
    NUM_EQ(a, b, created_at_ms);
    NUM_EQ(a, b, updated_at_ms);
    NUM_EQ(a, b, queue_position);
    NUM_EQ(a, b, effective_priority);
    NUM_EQ(a, b, estimated_start_ms);
}

static void request_round_trip(const fr_request *r) {
    for (int via_text = 0; via_text <= 1; via_text++) {
        cJSON *json = fr__request_to_cjson(r);
        if (via_text) {
            json = through_text(json);
        }
        fr_request back;
        memset(&back, 0x33, sizeof back);
        cr_assert_eq(fr__request_from_cjson(json, &back), FR_OK, "via_text %d", via_text);
        request_eq(r, &back);
        fr_request_clear(&back);
        cJSON_Delete(json);
    }
}

Test(request, round_trips) {
    const int statuses[] = {FR_REQ_PENDING, FR_REQ_FULFILLED, FR_REQ_CANCELLED, FR_REQ_EXPIRED};
    for (size_t i = 0; i < 4; i++) {
        fr_request r = full_request(statuses[i]);
        request_round_trip(&r);
        fr_request_clear(&r);
    }
    fr_request r = minimal_request();
    request_round_trip(&r);
    fr_request_clear(&r);
}

Test(request, exact_text_pending) {
    fr_request r = full_request(FR_REQ_PENDING);
    char *text = NULL;
    cr_assert_eq(fr_request_to_json(&r, &text), FR_OK);
    cr_assert_str_eq(
        text,
        "{\"id\":\"" ID_REQ "\",\"fleet_id\":\"fleet-a\",\"vehicle_id\":\"bus-12\","
        "\"operation_id\":\"op-3\",\"resource_type\":\"charging_bay\","
        "\"pool_id\":\"" ID_POOL "\",\"site\":\"depot-7\",\"quantity\":2.125,"
        "\"duration_seconds\":90.5,\"earliest_start\":\"2026-11-26T14:00:00.000Z\","
        "\"latest_end\":\"2026-11-27T14:00:00.000Z\",\"priority\":42,\"status\":\"pending\","
        "\"pending_reason\":\"insufficient_capacity\",\"allocation_id\":null,"
        "\"queue_position\":3,\"effective_priority\":45,"
        "\"estimated_start\":\"2026-11-26T14:30:00.000Z\",\"preempt\":true,"
        "\"fulfilled_at\":null,\"metadata\":{\"why\":\"night shift\"},\"version\":4,"
        "\"created_at\":\"2026-11-26T13:59:00.000Z\","
        "\"updated_at\":\"2026-11-26T13:59:59.000Z\"}");
    fr_free(text);
    fr_request_clear(&r);
}

Test(request, computed_fields_null_unless_pending) {
    fr_request r = full_request(FR_REQ_FULFILLED);
    /* Even if a caller left stale values, a non-pending request shows null. */
    r.queue_position = 9;
    r.effective_priority = 9;
    r.estimated_start_ms = T0;
    char *text = NULL;
    cr_assert_eq(fr_request_to_json(&r, &text), FR_OK);
    cr_assert_not_null(strstr(text, "\"pending_reason\":null,\"allocation_id\":\"" ID_ALLOC "\","
                                    "\"queue_position\":null,\"effective_priority\":null,"
                                    "\"estimated_start\":null,"));
    cr_assert_not_null(strstr(text, "\"fulfilled_at\":\"2026-11-26T14:00:00.005Z\""));
    fr_free(text);
    fr_request_clear(&r);

    r = minimal_request();
    cr_assert_eq(fr_request_to_json(&r, &text), FR_OK);
    cr_assert_not_null(strstr(text, "\"pool_id\":null,\"site\":null,"));
    cr_assert_not_null(strstr(text, "\"duration_seconds\":3600,"));
    cr_assert_not_null(strstr(text, "\"latest_end\":null,"));
    cr_assert_not_null(strstr(text, "\"pending_reason\":null,"));
    cr_assert_not_null(strstr(text, "\"queue_position\":1,\"effective_priority\":0,"
                                    "\"estimated_start\":null,\"preempt\":false,"));
    fr_free(text);
    fr_request_clear(&r);
}

/* --------------------------------------------------------------- conflicts */

static fr_conflict full_conflict(void) {
    fr_conflict c;
    memset(&c, 0, sizeof c);
    strcpy(c.id, ID_CONFLICT);
    c.fleet_id = fr__strdup_or_null("fleet-a");
    strcpy(c.pool_id, ID_POOL);
    c.type = FR_CONFLICT_DOUBLE_BOOKING;
    c.status = FR_CONFLICT_RESOLVED;
    c.start_ms = T0;
    c.end_ms = T0 + 3600000;
    c.excess_milli = 500;
    c.allocation_ids_len = 2;
    c.allocation_ids = calloc(2, FR_ID_SIZE);
    strcpy(c.allocation_ids[0], ID_ALLOC);
    strcpy(c.allocation_ids[1], ID_ALLOC2);
    c.vehicle_id = fr__strdup_or_null("bus-12");
    c.description = fr__strdup_or_null("two bays for one bus");
    c.detected_at_ms = T0 - 10;
    c.resolved_at_ms = T0 + 10;
    c.resolution_strategy = fr__strdup_or_null("reassign");
    c.resolution_note = fr__strdup_or_null("moved");
    c.resolution_resolved_by = fr__strdup_or_null("alice");
    c.resolution_actions_len = 2;
    c.resolution_actions = calloc(2, sizeof *c.resolution_actions);
    strcpy(c.resolution_actions[0].allocation_id, ID_ALLOC);
    c.resolution_actions[0].action = fr__strdup_or_null("reassigned");
    c.resolution_actions[0].from = fr__strdup_or_null(ID_POOL);
    c.resolution_actions[0].to = fr__strdup_or_null("other-pool");
    strcpy(c.resolution_actions[1].allocation_id, ID_ALLOC2);
    c.resolution_actions[1].action = fr__strdup_or_null("preempted");
    c.version = 2;
    c.created_at_ms = T0 - 10;
    c.updated_at_ms = T0 + 10;
    return c;
}

static fr_conflict open_conflict(void) {
    fr_conflict c;
    memset(&c, 0, sizeof c);
    strcpy(c.id, ID_CONFLICT);
    c.fleet_id = fr__strdup_or_null("fleet-a");
    strcpy(c.pool_id, ID_POOL);
    c.type = FR_CONFLICT_OVER_CAPACITY;
    c.status = FR_CONFLICT_OPEN;
    c.start_ms = T0;
    c.end_ms = FR_TIME_INF;
    c.excess_milli = INT64_C(123456789012345);
    c.detected_at_ms = T0;
    c.resolved_at_ms = FR_TIME_NULL;
    c.version = 1;
    c.created_at_ms = T0;
    c.updated_at_ms = T0;
    return c;
}

static void conflict_eq(const fr_conflict *a, const fr_conflict *b) {
    ID_EQ(a, b, id);
    STR_EQ(a, b, fleet_id);
    ID_EQ(a, b, pool_id);
    NUM_EQ(a, b, type);
    NUM_EQ(a, b, status);
    NUM_EQ(a, b, start_ms);
    NUM_EQ(a, b, end_ms);
    NUM_EQ(a, b, excess_milli);
    NUM_EQ(a, b, allocation_ids_len);
    for (size_t i = 0; i < a->allocation_ids_len; i++) {
        cr_assert_str_eq(a->allocation_ids[i], b->allocation_ids[i]);
    }
    STR_EQ(a, b, vehicle_id);
    STR_EQ(a, b, description);
    NUM_EQ(a, b, detected_at_ms);
    NUM_EQ(a, b, resolved_at_ms);
    STR_EQ(a, b, resolution_strategy);
    STR_EQ(a, b, resolution_note);
    STR_EQ(a, b, resolution_resolved_by);
    NUM_EQ(a, b, resolution_actions_len);
    for (size_t i = 0; i < a->resolution_actions_len; i++) {
        ID_EQ(a, b, resolution_actions[i].allocation_id);
        STR_EQ(a, b, resolution_actions[i].action);
        STR_EQ(a, b, resolution_actions[i].from);
        STR_EQ(a, b, resolution_actions[i].to);
    }
    NUM_EQ(a, b, version);
    NUM_EQ(a, b, created_at_ms);
    NUM_EQ(a, b, updated_at_ms);
}

static void conflict_round_trip(const fr_conflict *c) {
    for (int via_text = 0; via_text <= 1; via_text++) {
        cJSON *json = fr__conflict_to_cjson(c);
        if (via_text) {
            json = through_text(json);
        }
        fr_conflict back;
        memset(&back, 0x33, sizeof back);
        cr_assert_eq(fr__conflict_from_cjson(json, &back), FR_OK, "via_text %d", via_text);
        conflict_eq(c, &back);
        fr_conflict_clear(&back);
        cJSON_Delete(json);
    }
}

Test(conflict, round_trips) {
    fr_conflict c = full_conflict();
    conflict_round_trip(&c);
    fr_conflict_clear(&c);
    c = open_conflict();
    conflict_round_trip(&c);
    fr_conflict_clear(&c);
    /* Resolved automatically, with no actions and no note. */
    c = open_conflict();
    c.status = FR_CONFLICT_RESOLVED;
    c.resolved_at_ms = T0 + 1;
    c.resolution_strategy = fr__strdup_or_null("auto");
    conflict_round_trip(&c);
    fr_conflict_clear(&c);
}

Test(conflict, exact_text) {
    fr_conflict c = open_conflict();
    char *text = NULL;
    cr_assert_eq(fr_conflict_to_json(&c, &text), FR_OK);
    cr_assert_str_eq(text,
                     "{\"id\":\"" ID_CONFLICT "\",\"fleet_id\":\"fleet-a\","
                     "\"pool_id\":\"" ID_POOL "\",\"type\":\"over_capacity\","
                     "\"start\":\"2026-11-26T14:00:00.000Z\",\"end\":null,"
                     "\"excess\":123456789012.345,\"allocation_ids\":[],\"vehicle_id\":null,"
                     "\"description\":null,\"status\":\"open\","
                     "\"detected_at\":\"2026-11-26T14:00:00.000Z\",\"resolved_at\":null,"
                     "\"resolution\":null,\"version\":1,"
                     "\"created_at\":\"2026-11-26T14:00:00.000Z\","
                     "\"updated_at\":\"2026-11-26T14:00:00.000Z\"}");
    fr_free(text);
    fr_conflict_clear(&c);

    c = full_conflict();
    cr_assert_eq(fr_conflict_to_json(&c, &text), FR_OK);
    cr_assert_not_null(strstr(
        text, "\"type\":\"double_booking\",\"start\":\"2026-11-26T14:00:00.000Z\","
              "\"end\":\"2026-11-26T15:00:00.000Z\",\"excess\":0.5,"
              "\"allocation_ids\":[\"" ID_ALLOC "\",\"" ID_ALLOC2 "\"],"
              "\"vehicle_id\":\"bus-12\",\"description\":\"two bays for one bus\","
              "\"status\":\"resolved\""));
    cr_assert_not_null(strstr(
        text, "\"resolution\":{\"strategy\":\"reassign\",\"actions\":["
              "{\"allocation_id\":\"" ID_ALLOC "\",\"action\":\"reassigned\","
              "\"from\":\"" ID_POOL "\",\"to\":\"other-pool\"},"
              "{\"allocation_id\":\"" ID_ALLOC2 "\",\"action\":\"preempted\","
              "\"from\":null,\"to\":null}],\"note\":\"moved\",\"resolved_by\":\"alice\"}"));
    fr_free(text);
    fr_conflict_clear(&c);
}

/* ------------------------------------------------------------------ events */

Test(event, exact_text) {
    fr_event e;
    memset(&e, 0, sizeof e);
    e.seq = INT64_C(9007199254740993); /* beyond 2^53: still exact (raw text) */
    strcpy(e.id, ID_EVENT);
    strcpy(e.type, "allocation.created");
    e.entity_type = FR_ENTITY_ALLOCATION;
    strcpy(e.entity_id, ID_ALLOC);
    e.fleet_id = fr__strdup_or_null("fleet-a");
    e.occurred_at_ms = T0 + 7;
    e.actor = fr__strdup_or_null("anonymous");
    e.data_json = fr__strdup_or_null("{\"id\":\"" ID_ALLOC "\",\"quantity\":0.1}");
    char *text = NULL;
    cr_assert_eq(fr_event_to_json(&e, &text), FR_OK);
    cr_assert_str_eq(text, "{\"seq\":9007199254740993,\"id\":\"" ID_EVENT "\","
                           "\"type\":\"allocation.created\",\"entity_type\":\"allocation\","
                           "\"entity_id\":\"" ID_ALLOC "\",\"fleet_id\":\"fleet-a\","
                           "\"occurred_at\":\"2026-11-26T14:00:00.007Z\","
                           "\"actor\":\"anonymous\","
                           "\"data\":{\"id\":\"" ID_ALLOC "\",\"quantity\":0.1}}");
    fr_free(text);

    free(e.data_json);
    e.data_json = fr__strdup_or_null("{broken");
    cr_assert_eq(fr_event_to_json(&e, &text), FR_OK);
    cr_assert_not_null(strstr(text, "\"data\":null}"));
    fr_free(text);
    fr_event_clear(&e);
}

Test(api, null_arguments) {
    char *text = (char *)"untouched";
    fr_pool p = minimal_pool();
    cr_assert_eq(fr_pool_to_json(NULL, &text), FR_EINVAL);
    cr_assert_eq(fr_pool_to_json(&p, NULL), FR_EINVAL);
    cr_assert_eq(fr_allocation_to_json(NULL, &text), FR_EINVAL);
    cr_assert_eq(fr_request_to_json(NULL, &text), FR_EINVAL);
    cr_assert_eq(fr_conflict_to_json(NULL, &text), FR_EINVAL);
    cr_assert_eq(fr_event_to_json(NULL, &text), FR_EINVAL);
    cr_assert_str_eq(text, "untouched");
    fr_pool_clear(&p);
}

Test(api, json_text_helpers_and_scalars) {
    fr_allocation a = full_allocation();
    char *text = fr__allocation_to_json_text(&a);
    char *public_text = NULL;
    cr_assert_eq(fr_allocation_to_json(&a, &public_text), FR_OK);
    cr_assert_str_eq(text, public_text);
    free(text);
    fr_free(public_text);
    fr_allocation_clear(&a);

    cJSON *q = fr__qty_to_cjson(-2125);
    char *printed = cJSON_PrintUnformatted(q);
    cr_assert_str_eq(printed, "-2.125");
    free(printed);
    cJSON_Delete(q);
    cJSON *t = fr__time_to_cjson(FR_TIME_NULL);
    cr_assert(cJSON_IsNull(t));
    cJSON_Delete(t);
    t = fr__time_to_cjson(FR_TIME_INF);
    cr_assert(cJSON_IsNull(t));
    cJSON_Delete(t);
    t = fr__time_to_cjson(T0);
    cr_assert_str_eq(cJSON_GetStringValue(t), "2026-11-26T14:00:00.000Z");
    cJSON_Delete(t);
}

/* --------------------------------------------------------- malformed input */

typedef int (*from_fn)(const cJSON *, void *);

static int pool_from(const cJSON *j, void *out) { return fr__pool_from_cjson(j, out); }
static int allocation_from(const cJSON *j, void *out) {
    return fr__allocation_from_cjson(j, out);
}
static int request_from(const cJSON *j, void *out) { return fr__request_from_cjson(j, out); }
static int conflict_from(const cJSON *j, void *out) { return fr__conflict_from_cjson(j, out); }

typedef struct entity_kind {
    const char *name;
    from_fn from;
    size_t size;
    const char *const *required; /* members whose absence is an error */
} entity_kind;

static const char *const pool_required[] = {"id", "fleet_id", "name", "resource_type", "unit",
                                            "status", "total_capacity",
                                            "exclusive_per_vehicle", "version", "created_at",
                                            "updated_at", NULL};
static const char *const allocation_required[] = {
    "id",       "pool_id", "fleet_id", "resource_type", "allocation_type", "quantity", "start",
    "priority", "status",  "version",  "created_at",    "updated_at",      NULL};
static const char *const request_required[] = {
    "id",       "fleet_id", "resource_type", "quantity",   "duration_seconds", "earliest_start",
    "priority", "status",   "preempt",       "version",    "created_at",       "updated_at",
    NULL};
static const char *const conflict_required[] = {"id",     "fleet_id",    "type",    "start",
                                                "excess", "status",      "detected_at",
                                                "version", "created_at", "updated_at", NULL};

static int is_required(const entity_kind *kind, const char *name) {
    for (size_t i = 0; kind->required[i] != NULL; i++) {
        if (strcmp(kind->required[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Runs from_cjson and checks: FR_EINVAL means *out came back all zero (and
 * ASan checks nothing leaked); FR_OK results are cleared. */
static int run_from(const entity_kind *kind, const cJSON *json) {
    union {
        fr_pool pool;
        fr_allocation allocation;
        fr_request request;
        fr_conflict conflict;
        unsigned char bytes[1];
    } storage;
    unsigned char *out = (unsigned char *)&storage;
    cr_assert_leq(kind->size, sizeof storage);
    memset(&storage, 0x5c, sizeof storage);
    const int rc = kind->from(json, &storage);
    cr_assert(rc == FR_OK || rc == FR_EINVAL, "%s: rc %d", kind->name, rc);
    if (rc != FR_OK) {
        for (size_t i = 0; i < kind->size; i++) {
            cr_assert_eq(out[i], 0, "%s: out not cleared at byte %zu", kind->name, i);
        }
    } else if (strcmp(kind->name, "pool") == 0) {
        fr_pool_clear(&storage.pool);
    } else if (strcmp(kind->name, "allocation") == 0) {
        fr_allocation_clear(&storage.allocation);
    } else if (strcmp(kind->name, "request") == 0) {
        fr_request_clear(&storage.request);
    } else {
        fr_conflict_clear(&storage.conflict);
    }
    return rc;
}

/* For every member: removing it fails exactly when it is required, and
 * replacing it with a value of no member's type ([true]) always fails. */
static void mutate_every_member(const entity_kind *kind, cJSON *json) {
    cr_assert_eq(run_from(kind, json), FR_OK, "%s: the unmutated json", kind->name);
    const int n = cJSON_GetArraySize(json);
    for (int i = 0; i < n; i++) {
        cJSON *copy = cJSON_Duplicate(json, 1);
        const char *name = cJSON_GetArrayItem(json, i)->string;
        cJSON_DeleteItemFromObjectCaseSensitive(copy, name);
        const int rc = run_from(kind, copy);
        cr_assert_eq(rc, is_required(kind, name) ? FR_EINVAL : FR_OK, "%s without %s: %d",
                     kind->name, name, rc);
        cJSON_Delete(copy);

        copy = cJSON_Duplicate(json, 1);
        cJSON_ReplaceItemInObjectCaseSensitive(copy, name, cJSON_Parse("[true]"));
        cr_assert_eq(run_from(kind, copy), FR_EINVAL, "%s with %s = [true]", kind->name, name);
        cJSON_Delete(copy);

        /* Other junk: never crashes or leaks, whatever it decides. */
        const char *junk[] = {"null", "\"zz\"", "1.0005", "-1", "1e300", "{\"q\":1}", "[]",
                              "false"};
        for (size_t j = 0; j < sizeof junk / sizeof junk[0]; j++) {
            copy = cJSON_Duplicate(json, 1);
            cJSON_ReplaceItemInObjectCaseSensitive(copy, name, cJSON_Parse(junk[j]));
            run_from(kind, copy);
            cJSON_Delete(copy);
        }
    }
}

Test(malformed, every_member_of_every_entity) {
    const entity_kind kinds[] = {
        {"pool", pool_from, sizeof(fr_pool), pool_required},
        {"allocation", allocation_from, sizeof(fr_allocation), allocation_required},
        {"request", request_from, sizeof(fr_request), request_required},
        {"conflict", conflict_from, sizeof(fr_conflict), conflict_required},
    };
    fr_pool p = full_pool();
    fr_allocation a = full_allocation();
    fr_request r = full_request(FR_REQ_PENDING);
    fr_conflict c = full_conflict();
    cJSON *jsons[] = {
        through_text(fr__pool_to_cjson(&p)),
        through_text(fr__allocation_to_cjson(&a)),
        through_text(fr__request_to_cjson(&r)),
        through_text(fr__conflict_to_cjson(&c)),
    };
    for (size_t k = 0; k < 4; k++) {
        mutate_every_member(&kinds[k], jsons[k]);
        cJSON_Delete(jsons[k]);
    }
    fr_pool_clear(&p);
    fr_allocation_clear(&a);
    fr_request_clear(&r);
    fr_conflict_clear(&c);
}

Test(malformed, not_an_object) {
    const entity_kind kind = {"pool", pool_from, sizeof(fr_pool), pool_required};
    cr_assert_eq(run_from(&kind, NULL), FR_EINVAL);
    const char *roots[] = {"[]", "null", "1", "\"pool\"", "true"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        cJSON *json = cJSON_Parse(roots[i]);
        cr_assert_eq(run_from(&kind, json), FR_EINVAL, "%s", roots[i]);
        cJSON_Delete(json);
    }
}

/* Runs from_cjson on a copy of a valid entity's JSON whose member `name` is
 * replaced by `value` (JSON text), and returns the status. */
static int with_member(const entity_kind *kind, cJSON *valid, const char *name,
                       const char *value) {
    cJSON *copy = cJSON_Duplicate(valid, 1);
    cJSON *item = cJSON_Parse(value);
    cr_assert_not_null(item, "test value %s", value);
    cr_assert(cJSON_ReplaceItemInObjectCaseSensitive(copy, name, item), "no member %s", name);
    const int rc = run_from(kind, copy);
    cJSON_Delete(copy);
    return rc;
}

Test(malformed, targeted_values) {
    const entity_kind pool_kind = {"pool", pool_from, sizeof(fr_pool), pool_required};
    const entity_kind alloc_kind = {"allocation", allocation_from, sizeof(fr_allocation),
                                    allocation_required};
    const entity_kind req_kind = {"request", request_from, sizeof(fr_request), request_required};
    const entity_kind conf_kind = {"conflict", conflict_from, sizeof(fr_conflict),
                                   conflict_required};
    fr_pool p = full_pool();
    fr_allocation a = full_allocation();
    fr_request r = full_request(FR_REQ_PENDING);
    fr_conflict c = full_conflict();
    cJSON *pj = through_text(fr__pool_to_cjson(&p));
    cJSON *aj = through_text(fr__allocation_to_cjson(&a));
    cJSON *rj = through_text(fr__request_to_cjson(&r));
    cJSON *cj = through_text(fr__conflict_to_cjson(&c));

    /* Quantities: more than 3 decimals, too big, not numbers. */
    cr_assert_eq(with_member(&alloc_kind, aj, "quantity", "0.0015"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "quantity", "1e-300"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "quantity", "1000000000000.001"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "quantity", "1e13"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "quantity", "\"1.5\""), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "quantity", "0.125"), FR_OK);
    cr_assert_eq(with_member(&alloc_kind, aj, "quantity", "1e12"), FR_OK);
    cr_assert_eq(with_member(&pool_kind, pj, "available_capacity", "-1e12"), FR_OK);
    cr_assert_eq(with_member(&pool_kind, pj, "total_capacity", "123456789012.3456"), FR_EINVAL);
    cr_assert_eq(with_member(&req_kind, rj, "duration_seconds", "90.0005"), FR_EINVAL);
    cr_assert_eq(with_member(&conf_kind, cj, "excess", "true"), FR_EINVAL);

    /* Integers. */
    cr_assert_eq(with_member(&alloc_kind, aj, "priority", "1.5"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "priority", "3000000000"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "version", "-1"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "version", "1e300"), FR_EINVAL);
    cr_assert_eq(with_member(&req_kind, rj, "queue_position", "-2"), FR_EINVAL);
    cr_assert_eq(with_member(&req_kind, rj, "effective_priority", "\"5\""), FR_EINVAL);

    /* Times. */
    cr_assert_eq(with_member(&alloc_kind, aj, "start", "\"2026-13-01T00:00:00Z\""), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "start", "1795701600000"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "start", "null"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "end", "null"), FR_OK);
    cr_assert_eq(with_member(&alloc_kind, aj, "start", "\"2026-11-26T15:00:00+01:00\""), FR_OK);
    cr_assert_eq(with_member(&req_kind, rj, "latest_end", "\"tomorrow\""), FR_EINVAL);
    cr_assert_eq(with_member(&conf_kind, cj, "resolved_at", "0"), FR_EINVAL);

    /* Enums and booleans. */
    cr_assert_eq(with_member(&pool_kind, pj, "status", "\"ACTIVE\""), FR_EINVAL);
    cr_assert_eq(with_member(&pool_kind, pj, "exclusive_per_vehicle", "1"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "status", "\"pending\""), FR_EINVAL);
    cr_assert_eq(with_member(&req_kind, rj, "status", "\"held\""), FR_EINVAL);
    cr_assert_eq(with_member(&req_kind, rj, "pending_reason", "\"bogus\""), FR_EINVAL);
    cr_assert_eq(with_member(&req_kind, rj, "pending_reason", "\"no_pool_of_type\""), FR_OK);
    cr_assert_eq(with_member(&conf_kind, cj, "type", "\"sideways\""), FR_EINVAL);

    /* Ids and strings. */
    cr_assert_eq(with_member(&alloc_kind, aj, "id", "\"0190f1a2-0000-7000-8000-0000000000020\""),
                 FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "request_id", "7"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "vehicle_id", "7"), FR_EINVAL);
    cr_assert_eq(with_member(&pool_kind, pj, "name", "null"), FR_EINVAL);
    cr_assert_eq(with_member(&pool_kind, pj, "site", "null"), FR_OK);

    /* JSON-valued fields. */
    cr_assert_eq(with_member(&pool_kind, pj, "labels", "[\"a\"]"), FR_EINVAL);
    cr_assert_eq(with_member(&alloc_kind, aj, "metadata", "\"{}\""), FR_EINVAL);

    /* Arrays and nested objects. */
    cr_assert_eq(with_member(&pool_kind, pj, "capacity_schedule",
                             "[{\"start\":\"2026-11-26T14:00:00Z\",\"end\":null}]"),
                 FR_EINVAL);
    cr_assert_eq(with_member(&pool_kind, pj, "capacity_schedule",
                             "[{\"start\":\"2026-11-26T14:00:00Z\",\"end\":null,"
                             "\"capacity\":1},7]"),
                 FR_EINVAL);
    cr_assert_eq(with_member(&pool_kind, pj, "capacity_schedule", "{}"), FR_EINVAL);
    cr_assert_eq(with_member(&conf_kind, cj, "allocation_ids", "[\"a\",null]"), FR_EINVAL);
    cr_assert_eq(with_member(&conf_kind, cj, "allocation_ids", "[\"a\",\"b\"]"), FR_OK);
    cr_assert_eq(with_member(&conf_kind, cj, "resolution", "\"auto\""), FR_EINVAL);
    cr_assert_eq(with_member(&conf_kind, cj, "resolution",
                             "{\"strategy\":\"preempt\",\"actions\":[{\"allocation_id\":\"a\","
                             "\"action\":\"preempted\",\"from\":null,\"to\":null},"
                             "{\"allocation_id\":\"b\"}]}"),
                 FR_EINVAL);
    cr_assert_eq(with_member(&conf_kind, cj, "resolution",
                             "{\"strategy\":\"preempt\",\"actions\":[{\"allocation_id\":\"a\","
                             "\"action\":\"preempted\",\"from\":null,\"to\":null},[]]}"),
                 FR_EINVAL);
    cr_assert_eq(with_member(&conf_kind, cj, "resolution",
                             "{\"strategy\":\"preempt\",\"actions\":[{\"allocation_id\":\"a\","
                             "\"action\":\"preempted\",\"from\":\"x\",\"to\":3}]}"),
                 FR_EINVAL);

    cJSON_Delete(pj);
    cJSON_Delete(aj);
    cJSON_Delete(rj);
    cJSON_Delete(cj);
    fr_pool_clear(&p);
    fr_allocation_clear(&a);
    fr_request_clear(&r);
    fr_conflict_clear(&c);
}

Test(malformed, schedule_over_the_bound) {
    const entity_kind kind = {"pool", pool_from, sizeof(fr_pool), pool_required};
    fr_pool p = minimal_pool();
    cJSON *json = through_text(fr__pool_to_cjson(&p));
    cJSON *schedule = cJSON_GetObjectItemCaseSensitive(json, "capacity_schedule");
    for (int i = 0; i < FR_SCHEDULE_MAX; i++) {
        cJSON *entry = cJSON_Parse("{\"start\":\"2026-11-26T14:00:00Z\",\"end\":null,"
                                   "\"capacity\":1}");
        cJSON_AddItemToArray(schedule, entry);
    }
    cr_assert_eq(run_from(&kind, json), FR_OK, "exactly the bound is fine");
    cJSON_AddItemToArray(schedule, cJSON_Parse("{\"start\":\"2026-11-26T14:00:00Z\","
                                               "\"end\":null,\"capacity\":1}"));
    cr_assert_eq(run_from(&kind, json), FR_EINVAL);
    cJSON_Delete(json);
    fr_pool_clear(&p);
}
