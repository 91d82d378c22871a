/*
 * bench_sqlite.c — durable bookings per second through the whole engine.
 *
 * Books N allocations, one transaction each, on a SQLite file with
 * synchronous=FULL (every booking durable when the call returns), and the
 * same workload on the memory store in the same process as the baseline:
 * the ratio is the price of durability.
 *
 *     bench_sqlite [N] [DIR]     (default 2000 bookings in /tmp)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleetres.h"

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns bookings per second, or -1 on failure. */
static double run(const char *uri, int n)
{
    fr_engine *e = NULL;
    char err[256];
    if (fr_engine_open(uri, NULL, &e, err, sizeof err) != FR_OK) {
        fprintf(stderr, "open %s: %s\n", uri, err);
        return -1;
    }
    fr_pool_params pp = {
        .set = FR_POOL_F_FLEET_ID | FR_POOL_F_NAME | FR_POOL_F_RESOURCE_TYPE |
               FR_POOL_F_TOTAL_CAPACITY,
        .fleet_id = "bench", .name = "bays", .resource_type = "charging_bay",
        .total_capacity_milli = 50 * 1000,
    };
    fr_pool pool;
    if (fr_pool_create(e, NULL, &pp, &pool, NULL) != FR_OK) {
        fr_engine_close(e);
        return -1;
    }
    int64_t base = fr_engine_now(e) + 3600 * 1000;
    double t0 = seconds();
    int ok = 0;
    for (int i = 0; i < n; i++) {
        char vehicle[32];
        snprintf(vehicle, sizeof vehicle, "v%d", i);
        int64_t start = base + (int64_t)(i % 2000) * 15 * 60 * 1000;
        fr_allocation_params ap = {
            .set = FR_ALLOC_F_POOL_ID | FR_ALLOC_F_VEHICLE_ID | FR_ALLOC_F_QUANTITY |
                   FR_ALLOC_F_START | FR_ALLOC_F_END,
            .pool_id = pool.id, .vehicle_id = vehicle, .quantity_milli = 1000,
            .start_ms = start, .end_ms = start + 3600 * 1000,
        };
        fr_allocation a;
        if (fr_allocation_create(e, NULL, &ap, &a, NULL) == FR_OK) {
            ok++;
            fr_allocation_clear(&a);
        }
    }
    double dt = seconds() - t0;
    fr_pool_clear(&pool);
    fr_engine_close(e);
    if (ok != n) {
        fprintf(stderr, "%s: only %d of %d bookings succeeded\n", uri, ok, n);
        return -1;
    }
    return n / dt;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    if (n <= 0) {
        fprintf(stderr, "usage: bench_sqlite [N] [DIR]\n");
        return 2;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/fleetres-bench-%d.db", dir, (int)getpid());
    double durable = run(path, n);
    double memory = run(":memory:", n);
    char side[600];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    if (durable < 0 || memory < 0) {
        return 1;
    }
    printf("engine bookings, one transaction each, %d bookings\n", n);
    printf("  sqlite, durable (group commit):    %10.0f bookings/s\n", durable);
    printf("  memory store (baseline):           %10.0f bookings/s\n", memory);
    printf("  ratio durable/memory:              %10.3f\n", durable / memory);
    return 0;
}
