/*
 * test_group.c — several calls in one store transaction (lib/group.c).
 *
 * The engine runs on the memory store with savepoints, as it runs on
 * PostgreSQL: concurrent calls join one group and commit together.  The
 * store's commit is wrapped to fail every FAIL_EVERY-th time (an injected
 * fault: the real PostgreSQL failure paths are exercised end to end in
 * tests/e2e/test_postgres.py), so whole groups are undone while threads keep
 * booking.  Afterwards:
 *   - every booking that returned FR_OK exists, with the status its thread's
 *     later calls gave it; every one that returned FR_ESTORE does not;
 *   - no instant of the pool is booked over its capacity;
 *   - the event log holds exactly the acknowledged changes, seq gap-free;
 *   - groups did form (fewer commits than acknowledged changes), and some
 *     failed, so both paths ran.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleetres.h"
#include "fleetres_store.h"
#include "fr_int.h"

#include "engine_harness.h"

#define THREADS 8
#define OPS_PER_THREAD 300
#define CAPACITY 12
#define FAIL_EVERY 7

/* ---- the store with a failing commit ---------------------------------------- */

static struct fr_store_methods g_methods;           /* the memory store's, commit wrapped */
static const struct fr_store_methods *g_inner;      /* the memory store's own */
static int g_commits, g_failed_commits;             /* under the engine lock */

static int failing_commit(fr_store *store)
{
    /* A database's round trip: threads arriving meanwhile queue on the
     * engine lock, and the next group forms from them. */
    struct timespec rtt = {0, 100 * 1000};
    nanosleep(&rtt, NULL);
    if (++g_commits % FAIL_EVERY == 0) {
        g_failed_commits++;
        g_inner->rollback(store);
        return FR_ESTORE;
    }
    return g_inner->commit(store);
}

static fr_engine *open_grouped_engine(void)
{
    fr_store *store = NULL;
    cr_assert_eq(fr__store_memory_open_grouped(&store), FR_OK);
    g_inner = store->methods;
    g_methods = *g_inner;
    g_methods.commit = failing_commit;
    store->methods = &g_methods;
    fr_engine_options o;
    memset(&o, 0, sizeof o);
    o.clock = test_clock;
    fr_engine *e = NULL;
    char err[256] = "";
    cr_assert_eq(fr_engine_open_store(store, &o, &e, err, sizeof err), FR_OK, "%s", err);
    return e;
}

/* ---- the workload ------------------------------------------------------------ */

enum { BOOKED, CANCELLED, ABSENT };

typedef struct booking {
    char id[FR_ID_SIZE];
    int64_t start, end, qty;
    int state; /* what the calls that returned made of it */
} booking;

typedef struct worker {
    fr_engine *e;
    const char *pool;
    int index;
    uint64_t rng;
    booking items[OPS_PER_THREAD];
    int n;
    int ok_changes; /* calls acknowledged with FR_OK that changed something */
    int store_failures;
} worker;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *work(void *arg)
{
    worker *w = arg;
    for (int op = 0; op < OPS_PER_THREAD; op++) {
        uint64_t r = next_rand(&w->rng);
        if (r % 5 == 0 && w->n > 0) {
            /* Cancel one of this thread's bookings that is still booked. */
            booking *b = &w->items[next_rand(&w->rng) % (uint64_t)w->n];
            if (b->state != BOOKED) {
                continue;
            }
            int rc = fr_allocation_delete(w->e, NULL, b->id, NULL, NULL);
            if (rc == FR_OK) {
                b->state = CANCELLED;
                w->ok_changes++;
            } else {
                cr_assert_eq(rc, FR_ESTORE, "delete: %s", fr_errstr(rc));
                w->store_failures++;
            }
            continue;
        }
        booking *b = &w->items[w->n];
        b->start = T0 + HOUR + (int64_t)(next_rand(&w->rng) % 48) * HOUR;
        b->end = b->start + (int64_t)(1 + next_rand(&w->rng) % 6) * HOUR;
        b->qty = (int64_t)(1 + next_rand(&w->rng) % 3) * U;
        char vehicle[32];
        snprintf(vehicle, sizeof vehicle, "v-%d-%d", w->index, op);
        fr_allocation_params p;
        alloc_params(&p, w->pool, vehicle, b->qty, b->start, b->end);
        fr_allocation out;
        memset(&out, 0, sizeof out);
        int rc = fr_allocation_create(w->e, NULL, &p, &out, NULL);
        if (rc == FR_OK || rc == FR_ESTORE) {
            /* FR_ESTORE after the call ran: out names the undone booking. */
            memcpy(b->id, out.id, FR_ID_SIZE);
            b->state = rc == FR_OK ? BOOKED : ABSENT;
            w->ok_changes += rc == FR_OK;
            w->store_failures += rc == FR_ESTORE;
            if (b->id[0] != 0) {
                w->n++;
            }
        } else {
            cr_assert_eq(rc, FR_ECAPACITY, "create: %s", fr_errstr(rc));
        }
        fr_allocation_clear(&out);
    }
    return NULL;
}

/* ---- the checks -------------------------------------------------------------- */

Test(group, concurrent_calls_share_transactions_and_failures_undo_whole_groups)
{
    g_now = T0;
    fr_engine *e = open_grouped_engine();
    g_e = e;
    char pool[FR_ID_SIZE];
    mk_pool(pool, FLEET, "Bays", TYPE, CAPACITY * U);

    static worker workers[THREADS];
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){.e = e, .pool = pool, .index = i, .rng = 0x9E3779B97F4A7C15u + (uint64_t)i};
        cr_assert_eq(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(pthread_join(threads[i], NULL), 0);
    }

    /* Every outcome is what the store holds. */
    int ok_changes = 1; /* the pool */
    int failures = 0;
    size_t booked = 0;
    for (int i = 0; i < THREADS; i++) {
        ok_changes += workers[i].ok_changes;
        failures += workers[i].store_failures;
        for (int k = 0; k < workers[i].n; k++) {
            const booking *b = &workers[i].items[k];
            fr_allocation a;
            int rc = fr_allocation_get(e, b->id, &a);
            if (b->state == ABSENT) {
                cr_assert_eq(rc, FR_ENOTFOUND, "booking %s was undone but exists", b->id);
                continue;
            }
            cr_assert_eq(rc, FR_OK, "acknowledged booking %s is missing", b->id);
            int want = b->state == BOOKED ? FR_ALLOC_CONFIRMED : FR_ALLOC_CANCELLED;
            cr_assert_eq(a.status, want, "booking %s: status %s", b->id,
                         fr_allocation_status_name(a.status));
            fr_allocation_clear(&a);
            booked += b->state == BOOKED;
        }
    }
    /* Capacity at every instant: windows are whole hours, so per hour. */
    int64_t used_at[49 + 8] = {0};
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < workers[i].n; k++) {
            const booking *b = &workers[i].items[k];
            if (b->state == BOOKED) {
                for (int64_t t = b->start; t < b->end; t += HOUR) {
                    used_at[(t - T0) / HOUR] += b->qty;
                }
            }
        }
    }
    for (size_t h = 0; h < sizeof used_at / sizeof used_at[0]; h++) {
        cr_assert_leq(used_at[h], CAPACITY * U, "hour %zu booked %" PRId64 " > capacity", h,
                      used_at[h]);
    }

    /* The event log: one event per acknowledged change, seq 1..N. */
    int64_t seq = 0;
    size_t events = 0;
    for (;;) {
        fr_event *items = NULL;
        size_t count = 0;
        cr_assert_eq(fr_event_list(e, seq, 1000, NULL, &items, &count), FR_OK);
        for (size_t i = 0; i < count; i++) {
            cr_assert_eq(items[i].seq, seq + 1, "event seq %" PRId64 " after %" PRId64,
                         items[i].seq, seq);
            seq = items[i].seq;
        }
        events += count;
        fr_event_free_array(items, count);
        if (count == 0) {
            break;
        }
    }
    cr_assert_eq(events, (size_t)ok_changes, "%zu events for %d acknowledged changes", events,
                 ok_changes);

    /* Both paths ran: groups of several calls, and groups that failed. */
    cr_assert_lt(g_commits, ok_changes + failures, "%d commits for %d changes: no group formed",
                 g_commits, ok_changes + failures);
    cr_assert_gt(g_failed_commits, 0);
    fr_engine_counters c;
    cr_assert_eq(fr_engine_counters_get(e, &c), FR_OK);
    cr_assert_eq(c.store_commits, (uint64_t)(g_commits - g_failed_commits));
    cr_assert_eq(c.failed_groups, (uint64_t)g_failed_commits);
    cr_assert_eq(c.grouped_calls, (uint64_t)ok_changes, "every acknowledged change rode a group");
    cr_assert_gt(failures, 0);
    cr_log_info("%d changes and %d store failures in %d commits (%d failed); %zu booked", ok_changes,
                failures, g_commits, g_failed_commits, booked);
    fr_engine_close(e);
    g_e = NULL;
}
