/*
 * bench_ledger.c — throughput and memory of the capacity ledger against a
 * naive linear-scan ledger, at 10^3 .. 10^6 live bookings in one pool.
 *
 * Workload.  Bookings of 30-240 minutes (whole minutes) starting at a random
 * second of a 30-day window, quantities of 1-4 units, and a capacity of twice
 * the mean booked load (plus 20 units) so that most checks succeed.  One op
 * is "check, then book if it fits": first_shortfall on [a, b) for quantity q
 * (the naive ledger computes the max booked over [a, b) from all bookings),
 * then book.  Ops run in phases of PHASE_OPS: the checks+books of a phase are
 * timed, then as many random old bookings are unbooked (timed apart), so the
 * number of live bookings stays within PHASE_OPS of n.  Both ledgers see the
 * same random stream and the same unbook choices, so their decisions must
 * agree; the program checks that they do.
 *
 * Rates are given twice: per second of CLOCK_MONOTONIC (wall) time, and per
 * second of the thread's CPU time, which is the fairer figure on a shared,
 * loaded machine (wall time then includes time spent descheduled).
 *
 * Build: gcc -O2 -DNDEBUG -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Ilib \
 *            lib/ledger.c bench/bench_ledger.c -o /tmp/bench_ledger
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleetres.h"
#include "ledger.h"

#define MINUTE_MS INT64_C(60000)
#define WINDOW_MS (INT64_C(30) * 86400 * 1000)
#define UNIT_MILLI INT64_C(1000)
#define PHASE_OPS 64
#define FLEETRES_SECONDS 1.0
#define NAIVE_SECONDS 0.5
#define BENCH_SEED UINT64_C(0x5EED5EED12345678)

/* ---------------------------------------------------------------------------
 * Random workload.
 * ------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

typedef struct booking_req {
    int64_t start_ms;
    int64_t end_ms;
    int64_t quantity_milli;
} booking_req;

static booking_req random_booking(void) {
    booking_req r;
    int64_t duration_ms = (30 + (int64_t)(rng_next() % 211)) * MINUTE_MS;
    r.start_ms = (int64_t)(rng_next() % (uint64_t)((WINDOW_MS - duration_ms) / 1000)) * 1000;
    r.end_ms = r.start_ms + duration_ms;
    r.quantity_milli = (1 + (int64_t)(rng_next() % 4)) * UNIT_MILLI;
    return r;
}

/* Twice the mean booked load (n x mean duration / window x mean quantity),
 * plus 20 units. */
static int64_t capacity_for(size_t n) {
    double mean_units = (double)n * (135.0 * 60000.0) / (double)WINDOW_MS * 2.5;
    return ((int64_t)(2.0 * mean_units) + 20) * UNIT_MILLI;
}

static double clock_seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_seconds(void) { return clock_seconds(CLOCK_MONOTONIC); }
static double cpu_seconds(void) { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }

/* ---------------------------------------------------------------------------
 * The naive ledger: an array of bookings; every check scans all of them and
 * sweeps the overlapping ones to find the max booked over [a, b).
 * ------------------------------------------------------------------------- */

typedef struct naive_event {
    int64_t t_ms;
    int64_t delta_milli;
} naive_event;

typedef struct naive_ledger {
    booking_req *items;
    uint32_t *id_of;    /* items[i] has handle id_of[i] */
    uint32_t *index_of; /* handle -> index in items */
    size_t count;
    size_t slots;       /* capacity of items/id_of, and of index_of */
    uint32_t *free_ids;
    size_t free_count;
    uint32_t next_id;
    naive_event *events;
    int64_t capacity_milli;
} naive_ledger;

static void *xmalloc(size_t size) {
    void *p = malloc(size);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static naive_ledger *naive_new(int64_t capacity_milli, size_t slots) {
    naive_ledger *l = xmalloc(sizeof(*l));
    memset(l, 0, sizeof(*l));
    l->items = xmalloc(slots * sizeof(*l->items));
    l->id_of = xmalloc(slots * sizeof(*l->id_of));
    l->index_of = xmalloc((slots + 1) * sizeof(*l->index_of));
    l->free_ids = xmalloc(slots * sizeof(*l->free_ids));
    l->events = xmalloc(2 * slots * sizeof(*l->events));
    l->slots = slots;
    l->next_id = 1;
    l->capacity_milli = capacity_milli;
    return l;
}

static void naive_free(naive_ledger *l) {
    free(l->items);
    free(l->id_of);
    free(l->index_of);
    free(l->free_ids);
    free(l->events);
    free(l);
}

static int cmp_event(const void *a, const void *b) {
    const naive_event *x = a, *y = b;
    if (x->t_ms != y->t_ms) {
        return x->t_ms < y->t_ms ? -1 : 1;
    }
    return (x->delta_milli > y->delta_milli) - (x->delta_milli < y->delta_milli); /* ends first */
}

static bool naive_fits(naive_ledger *l, const booking_req *r) {
    size_t k = 0;
    for (size_t i = 0; i < l->count; i++) {
        const booking_req *b = &l->items[i];
        if (b->start_ms < r->end_ms && b->end_ms > r->start_ms) {
            l->events[k].t_ms = b->start_ms > r->start_ms ? b->start_ms : r->start_ms;
            l->events[k++].delta_milli = b->quantity_milli;
            if (b->end_ms < r->end_ms) {
                l->events[k].t_ms = b->end_ms;
                l->events[k++].delta_milli = -b->quantity_milli;
            }
        }
    }
    qsort(l->events, k, sizeof(*l->events), cmp_event);
    int64_t booked = 0, peak = 0;
    for (size_t i = 0; i < k; i++) {
        booked += l->events[i].delta_milli;
        peak = booked > peak ? booked : peak;
    }
    return peak + r->quantity_milli <= l->capacity_milli;
}

static uint32_t naive_book(naive_ledger *l, const booking_req *r) {
    assert(l->count < l->slots);
    uint32_t id = l->free_count > 0 ? l->free_ids[--l->free_count] : l->next_id++;
    l->items[l->count] = *r;
    l->id_of[l->count] = id;
    l->index_of[id] = (uint32_t)l->count;
    l->count++;
    return id;
}

static void naive_unbook(naive_ledger *l, uint32_t id) {
    uint32_t i = l->index_of[id];
    l->count--;
    l->items[i] = l->items[l->count];
    l->id_of[i] = l->id_of[l->count];
    l->index_of[l->id_of[i]] = i;
    l->free_ids[l->free_count++] = id;
}

/* ---------------------------------------------------------------------------
 * The driver, the same for both ledgers.
 * ------------------------------------------------------------------------- */

typedef struct ledger_ops {
    bool (*fits)(void *ledger, const booking_req *r);
    uint32_t (*book)(void *ledger, const booking_req *r);
    void (*unbook)(void *ledger, uint32_t handle);
} ledger_ops;

/* As the engine does it (allocations.c): prefetch, check, then book. */
static bool fleetres_fits(void *ledger, const booking_req *r) {
    fr__ledger_prefetch(ledger, r->start_ms, r->end_ms);
    return fr__ledger_first_shortfall(ledger, r->start_ms, r->end_ms, r->quantity_milli) ==
           FR_TIME_NULL;
}

static uint32_t fleetres_book(void *ledger, const booking_req *r) {
    fr__booking_ref ref;
    if (fr__ledger_book(ledger, r->start_ms, r->end_ms, r->quantity_milli, 0, &ref) != FR_OK) {
        fprintf(stderr, "fr__ledger_book failed\n");
        exit(1);
    }
    return ref;
}

static void fleetres_unbook(void *ledger, uint32_t handle) { fr__ledger_unbook(ledger, handle); }

static bool naive_fits_op(void *ledger, const booking_req *r) { return naive_fits(ledger, r); }
static uint32_t naive_book_op(void *ledger, const booking_req *r) {
    return naive_book(ledger, r);
}
static void naive_unbook_op(void *ledger, uint32_t handle) { naive_unbook(ledger, handle); }

typedef struct run_result {
    size_t ops;           /* checks (each followed by a book when it fit) */
    size_t booked;        /* checks that fit */
    size_t unbooks;
    double check_seconds; /* wall time in check+book */
    double unbook_seconds;
    double check_cpu_seconds; /* CPU time in check+book */
    double unbook_cpu_seconds;
    unsigned char *decisions; /* 1 per op: fit or not (first decisions_max ops) */
    size_t decisions_max;
} run_result;

/* Prefills n bookings, then runs phases until seconds pass (at least one). */
static void run(const ledger_ops *ops, void *ledger, size_t n, double seconds,
                uint32_t *handles, run_result *res) {
    rng_state = BENCH_SEED ^ (uint64_t)n;
    size_t live = 0;
    for (size_t i = 0; i < n; i++) {
        booking_req r = random_booking();
        handles[live++] = ops->book(ledger, &r);
    }
    double started = now_seconds();
    while (res->ops == 0 || now_seconds() - started < seconds) {
        size_t booked_here = 0;
        double c0 = cpu_seconds();
        double t0 = now_seconds();
        for (int k = 0; k < PHASE_OPS; k++) {
            booking_req r = random_booking();
            bool fit = ops->fits(ledger, &r);
            if (fit) {
                handles[live++] = ops->book(ledger, &r);
                booked_here++;
            }
            if (res->ops < res->decisions_max) {
                res->decisions[res->ops] = fit;
            }
            res->ops++;
        }
        double t1 = now_seconds();
        double c1 = cpu_seconds();
        for (size_t k = 0; k < booked_here; k++) {
            size_t victim = (size_t)(rng_next() % live);
            ops->unbook(ledger, handles[victim]);
            handles[victim] = handles[--live];
        }
        double t2 = now_seconds();
        double c2 = cpu_seconds();
        res->check_cpu_seconds += c1 - c0;
        res->unbook_cpu_seconds += c2 - c1;
        res->booked += booked_here;
        res->unbooks += booked_here;
        res->check_seconds += t1 - t0;
        res->unbook_seconds += t2 - t1;
        assert(live == n);
    }
}

int main(void) {
    static const size_t sizes[] = {1000, 10000, 100000, 1000000};
    static const ledger_ops fleetres_ops = {fleetres_fits, fleetres_book, fleetres_unbook};
    static const ledger_ops naive_ops = {naive_fits_op, naive_book_op, naive_unbook_op};
    printf("ledger benchmark: bookings of 30-240 min at 1 s granularity in a 30-day window,\n"
           "1-4 units each, capacity 2x the mean load + 20 units; op = first_shortfall on\n"
           "[a, b) then book if it fits; phases of %d ops, each followed by as many unbooks\n"
           "of random old bookings (timed apart).\n\n",
           PHASE_OPS);
    printf("%9s | %21s | %21s | %8s | %6s | %21s | %13s | %5s\n", "", "check+book/s",
           "unbook/s", "", "", "naive check+book/s", "ratio", "");
    printf("%9s | %10s %10s | %10s %10s | %8s | %6s | %10s %10s | %6s %6s | %5s\n",
           "bookings", "wall", "cpu", "wall", "cpu", "bytes/bk", "fit%", "wall", "cpu", "wall",
           "cpu", "agree");
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = sizes[s];
        int64_t capacity = capacity_for(n);
        uint32_t *handles = xmalloc((n + PHASE_OPS) * sizeof(*handles));
        size_t decisions_max = 1u << 20;

        fr__ledger *ledger = fr__ledger_new();
        if (ledger == NULL || fr__ledger_set_capacity(ledger, capacity, NULL, 0) != FR_OK) {
            fprintf(stderr, "fr__ledger_new failed\n");
            return 1;
        }
        run_result fr = {0};
        fr.decisions = xmalloc(decisions_max);
        fr.decisions_max = decisions_max;
        run(&fleetres_ops, ledger, n, FLEETRES_SECONDS, handles, &fr);
        double bytes_per = (double)fr__ledger_bytes(ledger) / (double)fr__ledger_count(ledger);
        fr__ledger_free(ledger);

        naive_ledger *naive = naive_new(capacity, n + PHASE_OPS);
        run_result nv = {0};
        nv.decisions = xmalloc(decisions_max);
        nv.decisions_max = decisions_max;
        run(&naive_ops, naive, n, NAIVE_SECONDS, handles, &nv);
        naive_free(naive);

        size_t common = fr.ops < nv.ops ? fr.ops : nv.ops;
        common = common < decisions_max ? common : decisions_max;
        bool agree = memcmp(fr.decisions, nv.decisions, common) == 0;
        double fr_wall = (double)fr.ops / fr.check_seconds;
        double fr_cpu = (double)fr.ops / fr.check_cpu_seconds;
        double un_wall = (double)fr.unbooks / fr.unbook_seconds;
        double un_cpu = (double)fr.unbooks / fr.unbook_cpu_seconds;
        double nv_wall = (double)nv.ops / nv.check_seconds;
        double nv_cpu = (double)nv.ops / nv.check_cpu_seconds;
        printf("%9zu | %10.0f %10.0f | %10.0f %10.0f | %8.1f | %5.1f%% | %10.0f %10.0f | %5.0fx "
               "%5.0fx | %5s\n",
               n, fr_wall, fr_cpu, un_wall, un_cpu, bytes_per,
               100.0 * (double)fr.booked / (double)fr.ops, nv_wall, nv_cpu, fr_wall / nv_wall,
               fr_cpu / nv_cpu, agree ? "yes" : "NO");
        fflush(stdout);
        free(fr.decisions);
        free(nv.decisions);
        free(handles);
    }
    printf("\ncheck+book/s: checks (each followed by a book when it fit) per second spent in\n"
           "check+book; unbook/s: unbooks per second spent unbooking; wall = CLOCK_MONOTONIC,\n"
           "cpu = CLOCK_THREAD_CPUTIME_ID; bytes/bk: fr__ledger_bytes / live bookings; ratio:\n"
           "fleetres over naive check+book/s; agree: both ledgers made the same decisions over\n"
           "the ops they both ran.\n");
    return 0;
}
