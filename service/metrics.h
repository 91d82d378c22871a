/*
 * metrics.h — Prometheus metrics of fleetres-server (SPEC §8).
 *
 * HTTP requests are counted by route pattern and status, with a latency
 * histogram per route; domain gauges (pool utilization, queue depth, ...) are
 * computed from the engine at scrape time.  Thread-safe (one mutex; the
 * record path is a few increments).
 */
#ifndef FRS_METRICS_H
#define FRS_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define FRS_METRICS_ROUTES_MAX 128
#define FRS_METRICS_STATUSES_MAX 24
#define FRS_LATENCY_BUCKETS 12

typedef struct frs_route_metrics {
    char method[8];
    char route[96];
    int statuses[FRS_METRICS_STATUSES_MAX];
    uint64_t status_counts[FRS_METRICS_STATUSES_MAX];
    uint64_t latency_buckets[FRS_LATENCY_BUCKETS]; /* cumulative at render */
    uint64_t latency_count;
    double latency_sum_seconds;
} frs_route_metrics;

/* Conflict resolution time (POST /conflicts/{id}/resolve, applied ones),
 * one histogram per strategy (preempt, reschedule, reassign, manual). */
#define FRS_RESOLVE_STRATEGIES 4
typedef struct frs_resolve_metrics {
    uint64_t buckets[FRS_LATENCY_BUCKETS];
    uint64_t count;
    double sum_seconds;
} frs_resolve_metrics;

typedef struct frs_metrics {
    pthread_mutex_t lock;
    frs_route_metrics routes[FRS_METRICS_ROUTES_MAX];
    size_t routes_len;
    /* Planning runs (POST/PUT /planning): wall time of the planner. */
    uint64_t planning_buckets[FRS_LATENCY_BUCKETS];
    uint64_t planning_count;
    double planning_sum_seconds;
    frs_resolve_metrics resolve[FRS_RESOLVE_STRATEGIES];
} frs_metrics;

/* A growable text buffer for rendering. */
typedef struct frs_buf {
    char *data;
    size_t len;
    size_t cap;
} frs_buf;

/* Appends printf-style text; 0 on out of memory (the buffer stays valid). */
int frs_buf_appendf(frs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int frs_metrics_init(frs_metrics *m);
void frs_metrics_destroy(frs_metrics *m);
/* Records one HTTP exchange. route may be "unmatched". */
void frs_metrics_record(frs_metrics *m, const char *method, const char *route, int status,
                        double seconds);
/* Records the library time of one applied conflict resolution. */
void frs_metrics_record_resolution(frs_metrics *m, int strategy, double seconds);
/* Appends the HTTP metrics in Prometheus text format; 0 on out of memory. */
int frs_metrics_render_http(frs_metrics *m, frs_buf *out);
/* Records one planning run's duration. */
void frs_metrics_record_planning(frs_metrics *m, double seconds);
/* Appends the planning-time histogram and the planning accuracy of the
 * engine's committed plans (fr_plan_accuracy); 0 on failure. */
struct fr_engine;
int frs_metrics_render_planning(frs_metrics *m, struct fr_engine *engine, frs_buf *out);

#endif /* FRS_METRICS_H */
