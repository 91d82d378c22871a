/*
 * depot_quickstart.c — a depot controller's first minutes with libfleetres:
 * a pool of charging bays on a SQLite file, a booking, a refusal that says
 * when it would fit, a queued request fulfilled when a bay frees up.
 *
 *     depot_quickstart [DATABASE]      (default: fleetres.db)
 */
#include <stdio.h>
#include <string.h>

#include "fleetres.h"

#define HOUR_MS (3600 * 1000)

static void print_time(const char *label, int64_t ms)
{
    char text[32] = "null";
    if (ms != FR_TIME_NULL) {
        fr_time_format(ms, text, sizeof text);
    }
    printf("%s%s\n", label, text);
}

int main(int argc, char **argv)
{
    const char *db = argc > 1 ? argv[1] : "fleetres.db";
    char err[256];
    fr_engine *engine = NULL;
    if (fr_engine_open(db, NULL, &engine, err, sizeof err) != FR_OK) {
        fprintf(stderr, "cannot open %s: %s\n", db, err);
        return 1;
    }
    int64_t now = fr_engine_now(engine);
    int64_t start = now - now % HOUR_MS + HOUR_MS; /* next full hour */

    fr_pool_params pool_params = {
        .set = FR_POOL_F_FLEET_ID | FR_POOL_F_NAME | FR_POOL_F_RESOURCE_TYPE |
               FR_POOL_F_TOTAL_CAPACITY,
        .fleet_id = "depot-north",
        .name = "Bay row A",
        .resource_type = "charging_bay",
        .total_capacity_milli = 1000, /* one bay */
    };
    fr_pool pool;
    fr_result res;
    fr_result_init(&res);
    if (fr_pool_create(engine, NULL, &pool_params, &pool, &res) != FR_OK) {
        fprintf(stderr, "pool: %s\n", res.message);
        fr_engine_close(engine);
        return 1;
    }
    printf("pool %s: %s\n", pool.id, pool.name);

    fr_allocation_params booking = {
        .set = FR_ALLOC_F_POOL_ID | FR_ALLOC_F_VEHICLE_ID | FR_ALLOC_F_QUANTITY |
               FR_ALLOC_F_START | FR_ALLOC_F_END,
        .pool_id = pool.id,
        .vehicle_id = "bus-17",
        .quantity_milli = 1000,
        .start_ms = start,
        .end_ms = start + 2 * HOUR_MS,
    };
    fr_allocation first;
    int rc = fr_allocation_create(engine, NULL, &booking, &first, &res);
    printf("bus-17 booked: %s\n", rc == FR_OK ? first.id : fr_errcode(rc));

    booking.vehicle_id = "bus-42";
    fr_allocation second;
    rc = fr_allocation_create(engine, NULL, &booking, &second, &res);
    printf("bus-42: %s (%s)\n", fr_errcode(rc), res.message);
    print_time("  next_fit_start: ", res.next_fit_start_ms);

    fr_request_params wait = {
        .set = FR_REQ_F_FLEET_ID | FR_REQ_F_VEHICLE_ID | FR_REQ_F_RESOURCE_TYPE |
               FR_REQ_F_QUANTITY | FR_REQ_F_EARLIEST_START | FR_REQ_F_LATEST_END,
        .fleet_id = "depot-north",
        .vehicle_id = "bus-42",
        .resource_type = "charging_bay",
        .quantity_milli = 1000,
        .earliest_start_ms = start,
        .latest_end_ms = start + 2 * HOUR_MS,
    };
    fr_request request;
    fr_result_clear(&res);
    fr_result_init(&res);
    fr_request_create(engine, NULL, &wait, &request, &res);
    printf("request %s is %s (%s)\n", request.id, fr_request_status_name(request.status),
           fr_pending_reason_name(request.pending_reason));

    /* bus-17 is not coming: cancel its booking; the queue takes the bay. */
    fr_allocation cancelled;
    if (rc != FR_OK && fr_allocation_delete(engine, NULL, first.id, &cancelled, &res) == FR_OK) {
        fr_allocation_clear(&cancelled);
    }
    fr_request after;
    if (fr_request_get(engine, request.id, &after) == FR_OK) {
        printf("request %s is now %s, allocation %s\n", after.id,
               fr_request_status_name(after.status), after.allocation_id);
        fr_request_clear(&after);
    }
    if (rc == FR_OK) {
        fr_allocation_clear(&second);
    }
    fr_request_clear(&request);
    fr_allocation_clear(&first);
    fr_pool_clear(&pool);
    fr_result_clear(&res);
    fr_engine_close(engine);
    return 0;
}
