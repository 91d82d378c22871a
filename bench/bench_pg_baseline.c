/*
 * bench_pg_baseline.c — the booking path a team without fleetres would write
 * on PostgreSQL, as the baseline of bench/bench_pg.sh (make bench-pg).
 *
 *     bench_pg_baseline URL THREADS SECONDS EXISTING
 *
 * Sets up its own tables in URL (baseline_pools, baseline_allocations with a
 * GiST index over (pool_id, time range): the fast plain-SQL way to find
 * overlaps, so the baseline is not a straw man), seeds EXISTING bookings in
 * one pool, then runs THREADS threads, each on its own connection, for
 * SECONDS, each booking in a loop, fully synchronous (synchronous_commit on):
 *
 *     BEGIN; SELECT ... FROM baseline_pools WHERE id = $1 FOR UPDATE;
 *     SELECT sum(quantity) FROM baseline_allocations WHERE pool_id = $1 AND
 *         during && tstzrange($2, $3); INSERT ...; COMMIT
 *
 * Prints "bookings_per_s=N p99_ms=X" on stdout.  Exit 1 on any failure.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define MAX_THREADS 256
#define MAX_SAMPLES 2000000

typedef struct worker {
    const char *url;
    int index;
    double seconds;
    long done;
    double *latencies_ms; /* per booking */
    long latencies_len;
    int failed;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) {
        fprintf(stderr, "bench_pg_baseline: %s: %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
    return ok;
}

static const char SETUP_SQL[] =
    "CREATE EXTENSION IF NOT EXISTS btree_gist;"
    "DROP TABLE IF EXISTS baseline_allocations, baseline_pools;"
    "CREATE TABLE baseline_pools (id integer PRIMARY KEY, capacity numeric NOT NULL);"
    "CREATE TABLE baseline_allocations (id bigserial PRIMARY KEY,"
    " pool_id integer NOT NULL REFERENCES baseline_pools (id), vehicle_id text NOT NULL,"
    " quantity numeric NOT NULL, during tstzrange NOT NULL);"
    "CREATE INDEX baseline_allocations_overlap ON baseline_allocations"
    " USING gist (pool_id, during);"
    "INSERT INTO baseline_pools VALUES (1, 1000000000);";

/* EXISTING one-hour bookings spread over 2029, one per vehicle. */
static int setup(const char *url, long existing)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_pg_baseline: connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return 0;
    }
    char seed[512];
    snprintf(seed, sizeof seed,
             "INSERT INTO baseline_allocations (pool_id, vehicle_id, quantity, during)"
             " SELECT 1, 'seed-' || g, 1, tstzrange(timestamptz '2029-01-01' + g * interval"
             " '30 minutes', timestamptz '2029-01-01' + g * interval '30 minutes' + interval"
             " '1 hour') FROM generate_series(1, %ld) g; ANALYZE",
             existing);
    int ok = exec_ok(c, SETUP_SQL) && exec_ok(c, seed);
    PQfinish(c);
    return ok;
}

static int book_once(PGconn *c, int thread, long n)
{
    /* A fresh one-second window per booking, like the fleetres run:
     * [base + offset s, base + offset + 1 s). */
    const char *base = "2030-01-01 00:00:00+00";
    char offset[32], vehicle[48];
    snprintf(offset, sizeof offset, "%ld", (long)thread * 10000000L + n);
    snprintf(vehicle, sizeof vehicle, "v-%d-%ld", thread, n);
    const char *lock_args[1] = {"1"};
    const char *range_args[3] = {"1", base, offset};
    const char *insert_args[4] = {"1", vehicle, base, offset};
    PGresult *r = PQexec(c, "BEGIN");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    r = ok ? PQexecParams(c, "SELECT capacity FROM baseline_pools WHERE id = $1 FOR UPDATE", 1,
                          NULL, lock_args, NULL, NULL, 0)
           : NULL;
    ok = ok && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    r = ok ? PQexecParams(c,
                          "SELECT coalesce(sum(quantity), 0) FROM baseline_allocations"
                          " WHERE pool_id = $1 AND during && tstzrange($2::timestamptz +"
                          " $3::bigint * interval '1 second', $2::timestamptz + ($3::bigint"
                          " + 1) * interval '1 second')",
                          3, NULL, range_args, NULL, NULL, 0)
           : NULL;
    ok = ok && PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    r = ok ? PQexecParams(c,
                          "INSERT INTO baseline_allocations (pool_id, vehicle_id, quantity,"
                          " during) VALUES ($1, $2, 1, tstzrange($3::timestamptz + $4::bigint"
                          " * interval '1 second', $3::timestamptz + ($4::bigint + 1) *"
                          " interval '1 second'))",
                          4, NULL, insert_args, NULL, NULL, 0)
           : NULL;
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    r = PQexec(c, ok ? "COMMIT" : "ROLLBACK");
    ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

static void *run(void *arg)
{
    worker *w = arg;
    PGconn *c = PQconnectdb(w->url);
    if (PQstatus(c) != CONNECTION_OK || !exec_ok(c, "SET synchronous_commit = on")) {
        w->failed = 1;
        PQfinish(c);
        return NULL;
    }
    double end = now_s() + w->seconds;
    for (long n = 0; now_s() < end; n++) {
        double t0 = now_s();
        if (!book_once(c, w->index, n)) {
            fprintf(stderr, "bench_pg_baseline: booking failed: %s", PQerrorMessage(c));
            w->failed = 1;
            break;
        }
        if (w->latencies_len < MAX_SAMPLES / MAX_THREADS) {
            w->latencies_ms[w->latencies_len++] = (now_s() - t0) * 1000.0;
        }
        w->done++;
    }
    PQfinish(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s URL THREADS SECONDS EXISTING\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[2]);
    double seconds = atof(argv[3]);
    long existing = atol(argv[4]);
    if (threads < 1 || threads > MAX_THREADS || seconds <= 0 || existing < 0) {
        fprintf(stderr, "bench_pg_baseline: bad arguments\n");
        return 2;
    }
    if (!setup(argv[1], existing)) {
        return 1;
    }
    worker w[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.url = argv[1], .index = i, .seconds = seconds};
        w[i].latencies_ms = calloc(MAX_SAMPLES / MAX_THREADS, sizeof(double));
        if (w[i].latencies_ms == NULL || pthread_create(&t[i], NULL, run, &w[i]) != 0) {
            fprintf(stderr, "bench_pg_baseline: cannot start thread %d\n", i);
            return 1;
        }
    }
    long total = 0, samples = 0;
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += w[i].done;
        samples += w[i].latencies_len;
        failed |= w[i].failed;
    }
    double *all = calloc((size_t)(samples > 0 ? samples : 1), sizeof(double));
    long k = 0;
    for (int i = 0; all != NULL && i < threads; i++) {
        memcpy(all + k, w[i].latencies_ms, (size_t)w[i].latencies_len * sizeof(double));
        k += w[i].latencies_len;
        free(w[i].latencies_ms);
    }
    if (all == NULL || failed || samples == 0) {
        fprintf(stderr, "bench_pg_baseline: the run failed\n");
        free(all);
        return 1;
    }
    qsort(all, (size_t)samples, sizeof(double), cmp_double);
    printf("bookings_per_s=%.0f p99_ms=%.2f\n", (double)total / seconds,
           all[(long)((double)samples * 0.99)]);
    free(all);
    return 0;
}
