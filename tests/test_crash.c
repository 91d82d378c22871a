/*
 * test_crash.c — crash durability of the SQLite store.
 *
 * A child process books in a loop on a SQLite file (synchronous=FULL) and
 * reports the id of every booking that returned FR_OK through a pipe; the
 * parent kills it with SIGKILL mid-stream, reopens the file, and checks that
 * every acknowledged booking is there and the capacity invariant holds.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fleetres.h"

#define CAPACITY_MILLI 3000
#define SLOT_MS (15 * 60 * 1000)
#define ACKS_BEFORE_KILL 150

static int64_t base_ms(void)
{
    return INT64_C(1893456000000); /* 2030-01-01: all bookings in the future */
}

static void child_books(const char *path, int fd)
{
    fr_engine *e = NULL;
    char err[256];
    if (fr_engine_open(path, NULL, &e, err, sizeof err) != FR_OK) {
        _exit(2);
    }
    fr_pool_params pp = {
        .set = FR_POOL_F_FLEET_ID | FR_POOL_F_NAME | FR_POOL_F_RESOURCE_TYPE |
               FR_POOL_F_TOTAL_CAPACITY,
        .fleet_id = "crash", .name = "bays", .resource_type = "charging_bay",
        .total_capacity_milli = CAPACITY_MILLI,
    };
    fr_pool pool;
    if (fr_pool_create(e, NULL, &pp, &pool, NULL) != FR_OK) {
        _exit(3);
    }
    char line[64];
    int n = snprintf(line, sizeof line, "P %s\n", pool.id);
    if (write(fd, line, (size_t)n) != n) {
        _exit(4);
    }
    unsigned seed = 7;
    for (int i = 0;; i++) {
        int64_t start = base_ms() + (int64_t)(rand_r(&seed) % 100000) * SLOT_MS;
        char vehicle[32];
        snprintf(vehicle, sizeof vehicle, "v%d", i);
        fr_allocation_params ap = {
            .set = FR_ALLOC_F_POOL_ID | FR_ALLOC_F_VEHICLE_ID | FR_ALLOC_F_QUANTITY |
                   FR_ALLOC_F_START | FR_ALLOC_F_END,
            .pool_id = pool.id, .vehicle_id = vehicle, .quantity_milli = 1000,
            .start_ms = start, .end_ms = start + 2 * SLOT_MS,
        };
        fr_allocation a;
        if (fr_allocation_create(e, NULL, &ap, &a, NULL) == FR_OK) {
            n = snprintf(line, sizeof line, "A %s\n", a.id);
            fr_allocation_clear(&a);
            /* The acknowledgement leaves only after the call returned OK. */
            if (write(fd, line, (size_t)n) != n) {
                _exit(5);
            }
        }
    }
}

Test(crash, sigkill_keeps_every_acknowledged_booking, .timeout = 60)
{
    char path[] = "/tmp/fleetres-crash-XXXXXX";
    int tmp = mkstemp(path);
    cr_assert_geq(tmp, 0);
    close(tmp);
    unlink(path);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* Never outlive the test, whatever happens to it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(fds[0]);
        child_books(path, fds[1]);
        _exit(0);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    cr_assert_not_null(in);
    char pool_id[FR_ID_SIZE] = "";
    char (*acked)[FR_ID_SIZE] = calloc(100000, FR_ID_SIZE);
    size_t acks = 0;
    char line[128];
    while (acks < ACKS_BEFORE_KILL && fgets(line, sizeof line, in) != NULL) {
        if (line[0] == 'P') {
            sscanf(line, "P %36s", pool_id);
        } else if (line[0] == 'A') {
            sscanf(line, "A %36s", acked[acks++]);
        }
    }
    kill(pid, SIGKILL);
    /* Whatever was acknowledged before the kill landed, read the rest too. */
    while (fgets(line, sizeof line, in) != NULL && acks < 100000) {
        if (line[0] == 'A' && sscanf(line, "A %36s", acked[acks]) == 1) {
            acks++;
        }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    fclose(in);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child was not killed");
    cr_assert_geq(acks, ACKS_BEFORE_KILL, "child acknowledged only %zu bookings", acks);

    fr_engine *e = NULL;
    char err[256];
    cr_assert_eq(fr_engine_open(path, NULL, &e, err, sizeof err), FR_OK, "reopen: %s", err);
    for (size_t i = 0; i < acks; i++) {
        fr_allocation a;
        cr_assert_eq(fr_allocation_get(e, acked[i], &a), FR_OK,
                     "acknowledged booking %s lost after SIGKILL", acked[i]);
        cr_assert_eq(a.status, FR_ALLOC_CONFIRMED);
        fr_allocation_clear(&a);
    }
    /* The invariant, by brute force over every booking's start instant. */
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = 1000;
    q.pool_id = pool_id;
    fr_allocation *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    cr_assert_eq(fr_allocation_list(e, &q, &items, &n, cursor), FR_OK);
    cr_assert_geq(n, acks);
    for (size_t i = 0; i < n; i++) {
        int64_t used = 0;
        for (size_t j = 0; j < n; j++) {
            if (items[j].start_ms <= items[i].start_ms && items[i].start_ms < items[j].end_ms) {
                used += items[j].quantity_milli;
            }
        }
        cr_assert_leq(used, CAPACITY_MILLI, "overbooked at booking %zu", i);
    }
    fr_allocation_free_array(items, n);
    /* The reopened engine keeps working on the recovered file. */
    fr_pool pool;
    cr_assert_eq(fr_pool_get(e, pool_id, &pool), FR_OK);
    fr_pool_clear(&pool);
    fr_engine_close(e);
    free(acked);
    char side[300];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}
