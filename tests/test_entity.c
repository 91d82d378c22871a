/*
 * test_entity.c — status/enum names, results, list queries, struct sizes,
 * and the deep copies of entity.h (independence from the source, and the
 * all-or-nothing failure path, checked for leaks by ASan).
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entity.h"
#include "fr_int.h"
#include "fleetres.h"

/* ------------------------------------------------------------ status codes */

Test(status, codes_match_spec) {
    cr_assert_str_eq(fr_errcode(FR_EINVAL), "invalid_request");
    cr_assert_str_eq(fr_errcode(FR_ENOTFOUND), "not_found");
    cr_assert_str_eq(fr_errcode(FR_ECAPACITY), "capacity_exceeded");
    cr_assert_str_eq(fr_errcode(FR_EDOUBLE), "double_booking");
    cr_assert_str_eq(fr_errcode(FR_ESTATE), "invalid_state");
    cr_assert_str_eq(fr_errcode(FR_EPOOL_IN_USE), "pool_in_use");
    cr_assert_str_eq(fr_errcode(FR_EPLAN_STALE), "plan_stale");
    cr_assert_str_eq(fr_errcode(FR_EUNRESOLVABLE), "unresolvable");
    cr_assert_str_eq(fr_errcode(FR_EVERSION), "version_mismatch");
    cr_assert_str_eq(fr_errcode(FR_EREFERENCE), "unknown_reference");
    cr_assert_str_eq(fr_errcode(FR_ENOMEM), "internal");
    cr_assert_str_eq(fr_errcode(FR_ESTORE), "unavailable");
    cr_assert_str_eq(fr_errcode(FR_EFORBIDDEN), "forbidden");
    cr_assert_str_eq(fr_errcode(FR_ELIMIT), "invalid_request");
    cr_assert_str_eq(fr_errcode(-1), "internal");
    cr_assert_str_eq(fr_errcode(FR_STATUS_COUNT), "internal");
}

Test(status, every_code_has_text) {
    for (int status = 0; status < FR_STATUS_COUNT; status++) {
        cr_assert_not_null(fr_errstr(status));
        cr_assert_gt(strlen(fr_errstr(status)), 0);
        cr_assert_not_null(fr_errcode(status));
    }
    cr_assert_str_eq(fr_errstr(FR_ECAPACITY), "capacity exceeded");
    cr_assert_not_null(fr_errstr(-5));
    cr_assert_not_null(fr_errstr(1000));
    cr_assert_str_eq(fr_version(), "0.1.0");
}

/* ------------------------------------------------------------------- enums */

typedef const char *(*name_fn)(int);
typedef int (*parse_fn)(const char *);

static void check_enum(name_fn name, parse_fn parse, const char *const *names, int count) {
    for (int i = 0; i < count; i++) {
        cr_assert_str_eq(name(i), names[i]);
        if (parse != NULL) {
            cr_assert_eq(parse(names[i]), i, "parse(%s)", names[i]);
        }
    }
    cr_assert_null(name(-1));
    cr_assert_null(name(count));
    if (parse != NULL) {
        cr_assert_eq(parse("nope"), -1);
        cr_assert_eq(parse(""), -1);
        cr_assert_eq(parse(NULL), -1);
        cr_assert_eq(parse("HELD"), -1); /* names are case-sensitive */
    }
}

Test(enums, names_and_parse) {
    const char *pool[] = {"active", "draining", "retired"};
    check_enum(fr_pool_status_name, fr_pool_status_parse, pool, 3);
    const char *alloc[] = {"held", "confirmed", "released", "cancelled", "expired", "preempted"};
    check_enum(fr_allocation_status_name, fr_allocation_status_parse, alloc, 6);
    const char *req[] = {"pending", "fulfilled", "cancelled", "expired"};
    check_enum(fr_request_status_name, fr_request_status_parse, req, 4);
    const char *ctype[] = {"over_capacity", "double_booking", "manual"};
    check_enum(fr_conflict_type_name, fr_conflict_type_parse, ctype, 3);
    const char *cstatus[] = {"open", "resolved"};
    check_enum(fr_conflict_status_name, fr_conflict_status_parse, cstatus, 2);
    const char *entity[] = {"pool", "allocation", "request", "sample", "conflict", "plan"};
    check_enum(fr_entity_type_name, NULL, entity, 6);
}

Test(enums, pending_reason) {
    cr_assert_null(fr_pending_reason_name(FR_REASON_NONE));
    cr_assert_str_eq(fr_pending_reason_name(FR_REASON_NO_POOL_OF_TYPE), "no_pool_of_type");
    cr_assert_str_eq(fr_pending_reason_name(FR_REASON_INSUFFICIENT_CAPACITY),
                     "insufficient_capacity");
    cr_assert_null(fr_pending_reason_name(3));
    cr_assert_null(fr_pending_reason_name(-1));
}

/* ---------------------------------------------------------- results, query */

Test(result, init_and_clear) {
    fr_result res;
    memset(&res, 0xab, sizeof res);
    res.conflicts_detected = NULL;
    fr_result_init(&res);
    cr_assert_eq(res.status, FR_OK);
    cr_assert_eq(res.index, -1);
    cr_assert_eq(res.next_fit_start_ms, FR_TIME_NULL);
    cr_assert_eq(res.at_ms, FR_TIME_NULL);
    cr_assert_str_eq(res.message, "");
    cr_assert_str_eq(res.field, "");
    cr_assert_null(res.conflicts_detected);
    cr_assert_eq(res.conflicting_count, 0);

    res.conflicts_detected = calloc(3, FR_ID_SIZE);
    res.conflicts_detected_len = 3;
    res.status = FR_ECAPACITY;
    fr_result_clear(&res); /* ASan checks the array was freed */
    cr_assert_null(res.conflicts_detected);
    cr_assert_eq(res.conflicts_detected_len, 0);
    cr_assert_eq(res.status, FR_OK);
    cr_assert_eq(res.index, -1);
    fr_result_init(NULL);
    fr_result_clear(NULL);
}

Test(result, fail_sets_status_field_message) {
    fr_result res;
    fr_result_init(&res);
    res.index = 4;
    fr__result_fail(&res, FR_ECAPACITY, "quantity", "pool %s has %d of %d free", "p1", 0, 8);
    cr_assert_eq(res.status, FR_ECAPACITY);
    cr_assert_str_eq(res.field, "quantity");
    cr_assert_str_eq(res.message, "pool p1 has 0 of 8 free");
    cr_assert_eq(res.index, 4, "other members are untouched");

    fr__result_fail(&res, FR_ENOTFOUND, NULL, "no such pool");
    cr_assert_str_eq(res.field, "");
    cr_assert_str_eq(res.message, "no such pool");

    fr__result_fail(NULL, FR_EINVAL, "x", "ignored %d", 1);
}

Test(result, fail_truncates) {
    fr_result res;
    fr_result_init(&res);
    char long_text[1000];
    memset(long_text, 'm', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    char long_field[200];
    memset(long_field, 'f', sizeof long_field - 1);
    long_field[sizeof long_field - 1] = '\0';
    fr__result_fail(&res, FR_EINVAL, long_field, "%s", long_text);
    cr_assert_eq(strlen(res.message), sizeof res.message - 1);
    cr_assert_eq(strlen(res.field), sizeof res.field - 1);
    cr_assert_eq(res.message[0], 'm');
    cr_assert_eq(res.field[0], 'f');
}

Test(list_query, init) {
    fr_list_query q;
    memset(&q, 0x5a, sizeof q);
    fr_list_query_init(&q);
    cr_assert_eq(q.limit, 0);
    cr_assert_null(q.cursor);
    cr_assert_null(q.fleet_id);
    cr_assert_null(q.pool_id);
    cr_assert_null(q.resource_type);
    cr_assert_null(q.site);
    cr_assert_null(q.vehicle_id);
    cr_assert_null(q.operation_id);
    cr_assert_null(q.request_id);
    cr_assert_null(q.plan_id);
    cr_assert_null(q.allocation_type);
    cr_assert_eq(q.status, -1);
    cr_assert_eq(q.type, -1);
    cr_assert_eq(q.from_ms, FR_TIME_NULL);
    cr_assert_eq(q.to_ms, FR_TIME_NULL);
    fr_list_query_init(NULL);
}

Test(struct_size, known_and_unknown) {
    cr_assert_eq(fr_struct_size("fr_pool"), sizeof(fr_pool));
    cr_assert_eq(fr_struct_size("fr_allocation"), sizeof(fr_allocation));
    cr_assert_eq(fr_struct_size("fr_request"), sizeof(fr_request));
    cr_assert_eq(fr_struct_size("fr_conflict"), sizeof(fr_conflict));
    cr_assert_eq(fr_struct_size("fr_event"), sizeof(fr_event));
    cr_assert_eq(fr_struct_size("fr_result"), sizeof(fr_result));
    cr_assert_eq(fr_struct_size("fr_list_query"), sizeof(fr_list_query));
    cr_assert_eq(fr_struct_size("fr_pool_params"), sizeof(fr_pool_params));
    cr_assert_eq(fr_struct_size("fr_allocation_params"), sizeof(fr_allocation_params));
    cr_assert_eq(fr_struct_size("fr_request_params"), sizeof(fr_request_params));
    cr_assert_eq(fr_struct_size("fr_conflict_params"), sizeof(fr_conflict_params));
    cr_assert_eq(fr_struct_size("fr_schedule_entry"), sizeof(fr_schedule_entry));
    cr_assert_eq(fr_struct_size("fr_engine_options"), sizeof(fr_engine_options));
    cr_assert_eq(fr_struct_size("fr_ctx"), sizeof(fr_ctx));
    cr_assert_eq(fr_struct_size("fr_bucket"), sizeof(fr_bucket));
    cr_assert_eq(fr_struct_size("fr_resolution_action"), sizeof(fr_resolution_action));
    cr_assert_eq(fr_struct_size("fr_engine"), 0);
    cr_assert_eq(fr_struct_size("FR_POOL"), 0);
    cr_assert_eq(fr_struct_size(""), 0);
    cr_assert_eq(fr_struct_size(NULL), 0);
}

/* ------------------------------------------------------------ clear, free */

Test(clear, null_and_empty_are_no_ops) {
    fr_pool_clear(NULL);
    fr_allocation_clear(NULL);
    fr_request_clear(NULL);
    fr_conflict_clear(NULL);
    fr_event_clear(NULL);
    fr_pool_free_array(NULL, 0);
    fr_allocation_free_array(NULL, 5);
    fr_request_free_array(NULL, 0);
    fr_conflict_free_array(NULL, 0);
    fr_event_free_array(NULL, 0);
    fr_free(NULL);
    fr_pool empty_pool;
    memset(&empty_pool, 0, sizeof empty_pool);
    fr_pool_clear(&empty_pool);
}

Test(clear, zeroes_and_frees) {
    fr_pool *pools = calloc(2, sizeof *pools);
    pools[0].fleet_id = fr__strdup_or_null("f");
    pools[0].schedule = calloc(2, sizeof *pools[0].schedule);
    pools[0].schedule_len = 2;
    pools[1].labels_json = fr__strdup_or_null("{}");
    pools[1].version = 3;
    fr_pool_clear(&pools[1]);
    cr_assert_null(pools[1].labels_json);
    cr_assert_eq(pools[1].version, 0);
    fr_pool_free_array(pools, 2); /* ASan reports any leak */
}

/* ----------------------------------------------------------------- copies */

Test(copy, strdup_or_null) {
    cr_assert_null(fr__strdup_or_null(NULL));
    char *s = fr__strdup_or_null("abc");
    cr_assert_str_eq(s, "abc");
    free(s);
    s = fr__strdup_or_null("");
    cr_assert_str_eq(s, "");
    free(s);
}

static fr_pool make_pool(void) {
    fr_pool p;
    memset(&p, 0, sizeof p);
    strcpy(p.id, "0190f1a2-0000-7000-8000-000000000001");
    p.fleet_id = fr__strdup_or_null("fleet-a");
    p.name = fr__strdup_or_null("Bay 1");
    p.resource_type = fr__strdup_or_null("charging_bay");
    p.unit = fr__strdup_or_null("unit");
    p.site = fr__strdup_or_null("depot-7");
    p.labels_json = fr__strdup_or_null("{\"zone\":\"north\"}");
    p.status = FR_POOL_DRAINING;
    p.exclusive_per_vehicle = 1;
    p.total_capacity_milli = 8000;
    p.schedule_len = 2;
    p.schedule = calloc(2, sizeof *p.schedule);
    p.schedule[0] = (fr_schedule_entry){1000, 2000, 6000};
    p.schedule[1] = (fr_schedule_entry){3000, FR_TIME_INF, 0};
    p.deleted = 1;
    p.version = 7;
    p.created_at_ms = 11;
    p.updated_at_ms = 12;
    p.capacity_now_milli = 8000;
    p.reserved_capacity_milli = 9000;
    p.available_capacity_milli = -1000;
    return p;
}

Test(copy, pool_is_deep) {
    fr_pool src = make_pool();
    fr_pool dst;
    memset(&dst, 0x77, sizeof dst); /* garbage: overwritten, not freed */
    cr_assert_eq(fr__pool_copy(&dst, &src), FR_OK);
    cr_assert_str_eq(dst.id, src.id);
    cr_assert_str_eq(dst.fleet_id, "fleet-a");
    cr_assert_neq(dst.fleet_id, src.fleet_id);
    cr_assert_str_eq(dst.name, "Bay 1");
    cr_assert_str_eq(dst.resource_type, "charging_bay");
    cr_assert_str_eq(dst.unit, "unit");
    cr_assert_str_eq(dst.site, "depot-7");
    cr_assert_neq(dst.site, src.site);
    cr_assert_str_eq(dst.labels_json, src.labels_json);
    cr_assert_neq(dst.labels_json, src.labels_json);
    cr_assert_eq(dst.schedule_len, 2);
    cr_assert_neq(dst.schedule, src.schedule);
    cr_assert_eq(memcmp(dst.schedule, src.schedule, 2 * sizeof *dst.schedule), 0);
    cr_assert_eq(dst.status, FR_POOL_DRAINING);
    cr_assert_eq(dst.deleted, 1);
    cr_assert_eq(dst.version, 7);
    cr_assert_eq(dst.available_capacity_milli, -1000);
    /* Independent lifetimes. */
    fr_pool_clear(&src);
    cr_assert_str_eq(dst.name, "Bay 1");
    cr_assert_eq(dst.schedule[1].end_ms, FR_TIME_INF);
    fr_pool_clear(&dst);
}

Test(copy, pool_optionals_absent) {
    fr_pool src;
    memset(&src, 0, sizeof src);
    src.fleet_id = fr__strdup_or_null("f");
    fr_pool dst;
    cr_assert_eq(fr__pool_copy(&dst, &src), FR_OK);
    cr_assert_null(dst.site);
    cr_assert_null(dst.schedule);
    cr_assert_eq(dst.schedule_len, 0);
    cr_assert_str_eq(dst.fleet_id, "f");
    fr_pool_clear(&src);
    fr_pool_clear(&dst);
}

Test(copy, pool_failure_leaves_dst_zeroed_without_leaks) {
    fr_pool src = make_pool();
    fr_schedule_entry *real = src.schedule;
    const size_t real_len = src.schedule_len;
    /* A length whose byte size overflows: the copy must fail cleanly after
     * having duplicated (and then freed) the strings. */
    src.schedule_len = SIZE_MAX / 2;
    fr_pool dst;
    memset(&dst, 0x77, sizeof dst);
    cr_assert_eq(fr__pool_copy(&dst, &src), FR_ENOMEM);
    fr_pool zero;
    memset(&zero, 0, sizeof zero);
    cr_assert_eq(memcmp(&dst, &zero, sizeof dst), 0);
    src.schedule = real;
    src.schedule_len = real_len;
    fr_pool_clear(&src);
}

static fr_allocation make_allocation(void) {
    fr_allocation a;
    memset(&a, 0, sizeof a);
    strcpy(a.id, "a1");
    strcpy(a.pool_id, "p1");
    a.fleet_id = fr__strdup_or_null("fleet-a");
    a.resource_type = fr__strdup_or_null("charging_bay");
    a.vehicle_id = fr__strdup_or_null("bus-12");
    a.operation_id = NULL;
    a.allocation_type = fr__strdup_or_null("default");
    a.metadata_json = fr__strdup_or_null("{\"k\":[1,2]}");
    a.quantity_milli = 1;
    a.start_ms = 5;
    a.end_ms = FR_TIME_INF;
    a.priority = 1000;
    a.status = FR_ALLOC_HELD;
    a.hold_expires_at_ms = 99;
    strcpy(a.request_id, "r1");
    a.released_at_ms = FR_TIME_NULL;
    a.version = 2;
    return a;
}

Test(copy, allocation_is_deep) {
    fr_allocation src = make_allocation();
    fr_allocation dst;
    cr_assert_eq(fr__allocation_copy(&dst, &src), FR_OK);
    cr_assert_str_eq(dst.id, "a1");
    cr_assert_str_eq(dst.pool_id, "p1");
    cr_assert_str_eq(dst.request_id, "r1");
    cr_assert_str_eq(dst.plan_id, "");
    cr_assert_str_eq(dst.vehicle_id, "bus-12");
    cr_assert_neq(dst.vehicle_id, src.vehicle_id);
    cr_assert_null(dst.operation_id);
    cr_assert_str_eq(dst.metadata_json, src.metadata_json);
    cr_assert_neq(dst.metadata_json, src.metadata_json);
    cr_assert_eq(dst.end_ms, FR_TIME_INF);
    cr_assert_eq(dst.released_at_ms, FR_TIME_NULL);
    cr_assert_eq(dst.priority, 1000);
    fr_allocation_clear(&src);
    cr_assert_str_eq(dst.allocation_type, "default");
    fr_allocation_clear(&dst);
}

Test(copy, request_is_deep) {
    fr_request src;
    memset(&src, 0, sizeof src);
    strcpy(src.id, "r1");
    src.fleet_id = fr__strdup_or_null("fleet-a");
    src.operation_id = fr__strdup_or_null("op-9");
    src.resource_type = fr__strdup_or_null("operator");
    src.site = fr__strdup_or_null("depot");
    src.metadata_json = fr__strdup_or_null("{}");
    src.duration_ms = 90500;
    src.queue_position = 3;
    src.estimated_start_ms = FR_TIME_NULL;
    fr_request dst;
    cr_assert_eq(fr__request_copy(&dst, &src), FR_OK);
    cr_assert_str_eq(dst.id, "r1");
    cr_assert_str_eq(dst.operation_id, "op-9");
    cr_assert_null(dst.vehicle_id);
    cr_assert_str_eq(dst.site, "depot");
    cr_assert_neq(dst.site, src.site);
    cr_assert_eq(dst.duration_ms, 90500);
    cr_assert_eq(dst.queue_position, 3);
    cr_assert_eq(dst.estimated_start_ms, FR_TIME_NULL);
    fr_request_clear(&src);
    cr_assert_str_eq(dst.resource_type, "operator");
    fr_request_clear(&dst);
}

static fr_conflict make_conflict(void) {
    fr_conflict c;
    memset(&c, 0, sizeof c);
    strcpy(c.id, "c1");
    c.fleet_id = fr__strdup_or_null("fleet-a");
    strcpy(c.pool_id, "p1");
    c.type = FR_CONFLICT_OVER_CAPACITY;
    c.status = FR_CONFLICT_RESOLVED;
    c.allocation_ids_len = 2;
    c.allocation_ids = calloc(2, FR_ID_SIZE);
    strcpy(c.allocation_ids[0], "a1");
    strcpy(c.allocation_ids[1], "a2");
    c.description = fr__strdup_or_null("too much");
    c.resolution_strategy = fr__strdup_or_null("preempt");
    c.resolution_note = fr__strdup_or_null("note");
    c.resolution_resolved_by = fr__strdup_or_null("alice");
    c.resolution_actions_len = 2;
    c.resolution_actions = calloc(2, sizeof *c.resolution_actions);
    strcpy(c.resolution_actions[0].allocation_id, "a1");
    c.resolution_actions[0].action = fr__strdup_or_null("preempted");
    strcpy(c.resolution_actions[1].allocation_id, "a2");
    c.resolution_actions[1].action = fr__strdup_or_null("reassigned");
    c.resolution_actions[1].from = fr__strdup_or_null("p1");
    c.resolution_actions[1].to = fr__strdup_or_null("p2");
    return c;
}

Test(copy, conflict_is_deep) {
    fr_conflict src = make_conflict();
    fr_conflict dst;
    cr_assert_eq(fr__conflict_copy(&dst, &src), FR_OK);
    cr_assert_eq(dst.allocation_ids_len, 2);
    cr_assert_neq(dst.allocation_ids, src.allocation_ids);
    cr_assert_str_eq(dst.allocation_ids[1], "a2");
    cr_assert_eq(dst.resolution_actions_len, 2);
    cr_assert_neq(dst.resolution_actions, src.resolution_actions);
    cr_assert_str_eq(dst.resolution_actions[0].action, "preempted");
    cr_assert_null(dst.resolution_actions[0].from);
    cr_assert_str_eq(dst.resolution_actions[1].to, "p2");
    cr_assert_neq(dst.resolution_actions[1].to, src.resolution_actions[1].to);
    cr_assert_str_eq(dst.resolution_strategy, "preempt");
    cr_assert_null(dst.vehicle_id);
    fr_conflict_clear(&src);
    cr_assert_str_eq(dst.resolution_actions[1].from, "p1");
    cr_assert_str_eq(dst.description, "too much");
    fr_conflict_clear(&dst);
}

Test(copy, conflict_failure_leaves_dst_zeroed_without_leaks) {
    fr_conflict src = make_conflict();
    fr_conflict zero;
    memset(&zero, 0, sizeof zero);
    fr_conflict dst;

    /* Fail on the id array (after the actions would have been copied). */
    const size_t ids_len = src.allocation_ids_len;
    src.allocation_ids_len = SIZE_MAX / 2;
    memset(&dst, 0x55, sizeof dst);
    cr_assert_eq(fr__conflict_copy(&dst, &src), FR_ENOMEM);
    cr_assert_eq(memcmp(&dst, &zero, sizeof dst), 0);
    src.allocation_ids_len = ids_len;

    /* Fail on the action array (after the ids were copied). */
    const size_t actions_len = src.resolution_actions_len;
    src.resolution_actions_len = SIZE_MAX / 2;
    memset(&dst, 0x55, sizeof dst);
    cr_assert_eq(fr__conflict_copy(&dst, &src), FR_ENOMEM);
    cr_assert_eq(memcmp(&dst, &zero, sizeof dst), 0);
    src.resolution_actions_len = actions_len;

    fr_conflict_clear(&src);
}

Test(copy, event_is_deep) {
    fr_event src;
    memset(&src, 0, sizeof src);
    src.seq = 42;
    strcpy(src.id, "e1");
    strcpy(src.type, "allocation.created");
    src.entity_type = FR_ENTITY_ALLOCATION;
    strcpy(src.entity_id, "a1");
    src.fleet_id = fr__strdup_or_null("fleet-a");
    src.actor = fr__strdup_or_null("system");
    src.data_json = fr__strdup_or_null("{\"id\":\"a1\"}");
    fr_event dst;
    cr_assert_eq(fr__event_copy(&dst, &src), FR_OK);
    cr_assert_eq(dst.seq, 42);
    cr_assert_str_eq(dst.type, "allocation.created");
    cr_assert_str_eq(dst.entity_id, "a1");
    cr_assert_neq(dst.data_json, src.data_json);
    fr_event_clear(&src);
    cr_assert_str_eq(dst.actor, "system");
    cr_assert_str_eq(dst.data_json, "{\"id\":\"a1\"}");
    fr_event *array = calloc(1, sizeof *array);
    array[0] = dst;
    fr_event_free_array(array, 1);
}

/* UUIDv7 ids: version/variant bits, and strictly increasing even when one
 * millisecond (a frozen clock, a big batch) makes more ids than the 12-bit
 * counter holds, and when the clock then steps back below the borrowed time. */
Test(uuid, v7_ids_increase_past_the_counter) {
    fr__rng rng;
    fr__rng_seed(&rng, 7);
    uint16_t counter = 0;
    int64_t last_ms = INT64_MIN;
    char prev[FR_ID_SIZE] = "";
    const int64_t t0 = INT64_C(1795701600000);
    for (int i = 0; i < 20000; i++) {
        char id[FR_ID_SIZE];
        int64_t ms = i < 15000 ? t0 : t0 + 1; /* frozen, then a step that lags */
        fr__uuid_v7(&rng, ms, &counter, &last_ms, id);
        cr_assert_eq(strlen(id), 36);
        cr_assert_eq(id[8], '-');
        cr_assert_eq(id[14], '7', "version nibble: %s", id);
        cr_assert(strchr("89ab", id[19]) != NULL, "variant: %s", id);
        cr_assert_gt(strcmp(id, prev), 0, "id %d not increasing: %s after %s", i, id, prev);
        memcpy(prev, id, sizeof prev);
    }
    cr_assert_gt(last_ms, t0 + 1, "15,000 ids in one ms borrowed later milliseconds");
}

/* Ids and their 16 bytes (the ledger's keys): every minted id goes there
 * and back unchanged; anything but the canonical lowercase form is
 * refused (those bookings are then listed through their records). */
Test(uuid, parse_and_format_round_trip) {
    fr__rng rng;
    fr__rng_seed(&rng, 11);
    uint16_t counter = 0;
    int64_t last_ms = INT64_MIN;
    for (int i = 0; i < 1000; i++) {
        char id[FR_ID_SIZE], back[FR_ID_SIZE];
        unsigned char bytes[16];
        fr__uuid_v7(&rng, INT64_C(1795701600000) + i, &counter, &last_ms, id);
        cr_assert_eq(fr__uuid_parse(id, bytes), 1, "%s", id);
        fr__uuid_format(bytes, back);
        cr_assert_str_eq(back, id);
        fr__uuid_format_portable(bytes, back);
        cr_assert_str_eq(back, id);
    }
    /* Known answers: every digit in every position. */
    static const unsigned char known[2][16] = {
        {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f},
        {0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0xff}};
    static const char *known_text[2] = {"00010203-0405-0607-0809-0a0b0c0d0e0f",
                                        "f0e1d2c3-b4a5-9687-7869-5a4b3c2d1eff"};
    for (int k = 0; k < 2; k++) {
        char text[FR_ID_SIZE], portable[FR_ID_SIZE];
        unsigned char bytes[16];
        fr__uuid_format(known[k], text);
        cr_assert_str_eq(text, known_text[k]);
        fr__uuid_format_portable(known[k], portable);
        cr_assert_str_eq(portable, known_text[k]);
        cr_assert_eq(fr__uuid_parse(known_text[k], bytes), 1);
        cr_assert_eq(memcmp(bytes, known[k], 16), 0);
    }
    /* Random bytes: both formatters agree and parse back. */
    for (int i = 0; i < 20000; i++) {
        unsigned char bytes[16], back_bytes[16];
        for (int k = 0; k < 16; k++) {
            bytes[k] = (unsigned char)fr__rng_next(&rng);
        }
        char text[FR_ID_SIZE], portable[FR_ID_SIZE];
        fr__uuid_format(bytes, text);
        fr__uuid_format_portable(bytes, portable);
        cr_assert_str_eq(text, portable);
        cr_assert_eq(fr__uuid_parse(text, back_bytes), 1, "%s", text);
        cr_assert_eq(memcmp(bytes, back_bytes, 16), 0, "%s", text);
    }
    static const char *refused[] = {
        "",
        "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2",    /* short */
        "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b3",  /* long */
        "0190A1B2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",   /* uppercase */
        "0190a1b2c-3d4-7e5f-8a6b-7c8d9e0f1a2b",   /* a dash misplaced */
        "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2g",   /* not hex */
        "veh-12",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        unsigned char bytes[16];
        cr_assert_eq(fr__uuid_parse(refused[i], bytes), 0, "accepted %s", refused[i]);
    }
}

/* The id map's high-water mark: a key above it is surely absent; a key at or
 * below it may be present (deletions keep the mark); one key longer than
 * the mark holds turns the shortcut off for good. */
Test(idmap, above_all_is_a_sound_bound) {
    fr__idmap map = {0};
    int dummy = 0;
    cr_assert_eq(fr__idmap_above_all(&map, "a"), 1, "an empty map holds nothing");
    cr_assert_eq(fr__idmap_put(&map, "b", &dummy), FR_OK);
    cr_assert_eq(fr__idmap_put(&map, "d", &dummy), FR_OK);
    cr_assert_eq(fr__idmap_put(&map, "c", &dummy), FR_OK);
    cr_assert_eq(fr__idmap_above_all(&map, "e"), 1);
    cr_assert_eq(fr__idmap_above_all(&map, "d"), 0);
    cr_assert_eq(fr__idmap_above_all(&map, "c"), 0);
    cr_assert_eq(fr__idmap_del(&map, "d"), &dummy);
    cr_assert_eq(fr__idmap_above_all(&map, "d"), 0, "a deletion does not lower the bound");
    char long_key[FR__IDMAP_HIGH_MAX + 2];
    memset(long_key, 'a', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    cr_assert_eq(fr__idmap_put(&map, long_key, &dummy), FR_OK);
    cr_assert_eq(fr__idmap_above_all(&map, "z"), 0, "no bound once a longer key is in");
    fr__idmap_free(&map);
}
