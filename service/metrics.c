/*
 * metrics.c — HTTP request counters and latency histograms (see metrics.h).
 */
#include "metrics.h"

#include "fleetres.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double latency_bounds[FRS_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

int frs_metrics_init(frs_metrics *m)
{
    memset(m, 0, sizeof *m);
    return pthread_mutex_init(&m->lock, NULL) == 0;
}

void frs_metrics_destroy(frs_metrics *m)
{
    pthread_mutex_destroy(&m->lock);
}

static frs_route_metrics *route_slot(frs_metrics *m, const char *method, const char *route)
{
    for (size_t i = 0; i < m->routes_len; i++) {
        if (strcmp(m->routes[i].route, route) == 0 && strcmp(m->routes[i].method, method) == 0) {
            return &m->routes[i];
        }
    }
    if (m->routes_len == FRS_METRICS_ROUTES_MAX) {
        return NULL;
    }
    frs_route_metrics *r = &m->routes[m->routes_len++];
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->route, sizeof r->route, "%s", route);
    return r;
}

void frs_metrics_record(frs_metrics *m, const char *method, const char *route, int status,
                        double seconds)
{
    pthread_mutex_lock(&m->lock);
    frs_route_metrics *r = route_slot(m, method, route);
    if (r != NULL) {
        for (int i = 0; i < FRS_METRICS_STATUSES_MAX; i++) {
            if (r->statuses[i] == status || r->statuses[i] == 0) {
                r->statuses[i] = status;
                r->status_counts[i]++;
                break;
            }
        }
        for (int i = 0; i < FRS_LATENCY_BUCKETS; i++) {
            if (seconds <= latency_bounds[i]) {
                r->latency_buckets[i]++;
                break;
            }
        }
        r->latency_count++;
        r->latency_sum_seconds += seconds;
    }
    pthread_mutex_unlock(&m->lock);
}

void frs_metrics_record_resolution(frs_metrics *m, int strategy, double seconds)
{
    if (strategy < 0 || strategy >= FRS_RESOLVE_STRATEGIES) {
        return;
    }
    pthread_mutex_lock(&m->lock);
    frs_resolve_metrics *r = &m->resolve[strategy];
    for (int i = 0; i < FRS_LATENCY_BUCKETS; i++) {
        if (seconds <= latency_bounds[i]) {
            r->buckets[i]++;
            break;
        }
    }
    r->count++;
    r->sum_seconds += seconds;
    pthread_mutex_unlock(&m->lock);
}

/* The resolution histograms (the caller holds the lock). */
static int render_resolutions(const frs_metrics *m, frs_buf *out)
{
    int ok = frs_buf_appendf(out,
                "# HELP fleetres_conflict_resolution_seconds Time to resolve a conflict "
                "(applied resolutions) by strategy.\n"
                "# TYPE fleetres_conflict_resolution_seconds histogram\n");
    for (int s = 0; ok && s < FRS_RESOLVE_STRATEGIES; s++) {
        const frs_resolve_metrics *r = &m->resolve[s];
        const char *name = fr_resolve_strategy_name(s);
        uint64_t cumulative = 0;
        for (int k = 0; ok && k < FRS_LATENCY_BUCKETS; k++) {
            cumulative += r->buckets[k];
            ok = frs_buf_appendf(out,
                        "fleetres_conflict_resolution_seconds_bucket{strategy=\"%s\",le=\"%g\"} "
                        "%llu\n", name, latency_bounds[k], (unsigned long long)cumulative);
        }
        ok = ok && frs_buf_appendf(out,
                        "fleetres_conflict_resolution_seconds_bucket{strategy=\"%s\",le=\"+Inf\"} "
                        "%llu\n"
                        "fleetres_conflict_resolution_seconds_sum{strategy=\"%s\"} %.6f\n"
                        "fleetres_conflict_resolution_seconds_count{strategy=\"%s\"} %llu\n",
                        name, (unsigned long long)r->count, name, r->sum_seconds, name,
                        (unsigned long long)r->count);
    }
    return ok;
}

int frs_buf_appendf(frs_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data != NULL ? b->data + b->len : NULL,
                          b->data != NULL ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            return 0;
        }
        if (b->data != NULL && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return 1;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            return 0;
        }
        b->data = grown;
        b->cap = cap;
    }
}

int frs_metrics_render_http(frs_metrics *m, frs_buf *out)
{
    int ok = 1;
    pthread_mutex_lock(&m->lock);
    ok = ok && frs_buf_appendf(out,
                      "# HELP fleetres_http_requests_total HTTP requests by route and status.\n"
                      "# TYPE fleetres_http_requests_total counter\n");
    for (size_t i = 0; ok && i < m->routes_len; i++) {
        const frs_route_metrics *r = &m->routes[i];
        for (int k = 0; ok && k < FRS_METRICS_STATUSES_MAX && r->statuses[k] != 0; k++) {
            ok = frs_buf_appendf(out,
                        "fleetres_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} "
                        "%llu\n",
                        r->method, r->route, r->statuses[k],
                        (unsigned long long)r->status_counts[k]);
        }
    }
    ok = ok && frs_buf_appendf(out,
                      "# HELP fleetres_http_request_duration_seconds HTTP latency by route.\n"
                      "# TYPE fleetres_http_request_duration_seconds histogram\n");
    for (size_t i = 0; ok && i < m->routes_len; i++) {
        const frs_route_metrics *r = &m->routes[i];
        uint64_t cumulative = 0;
        for (int k = 0; ok && k < FRS_LATENCY_BUCKETS; k++) {
            cumulative += r->latency_buckets[k];
            ok = frs_buf_appendf(out,
                        "fleetres_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
                        "le=\"%g\"} %llu\n",
                        r->method, r->route, latency_bounds[k], (unsigned long long)cumulative);
        }
        ok = ok && frs_buf_appendf(out,
                          "fleetres_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
                          "le=\"+Inf\"} %llu\n"
                          "fleetres_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} "
                          "%.6f\n"
                          "fleetres_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} "
                          "%llu\n",
                          r->method, r->route, (unsigned long long)r->latency_count, r->method,
                          r->route, r->latency_sum_seconds, r->method, r->route,
                          (unsigned long long)r->latency_count);
    }
    ok = ok && render_resolutions(m, out);
    pthread_mutex_unlock(&m->lock);
    return ok;
}

void frs_metrics_record_planning(frs_metrics *m, double seconds)
{
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < FRS_LATENCY_BUCKETS; i++) {
        if (seconds <= latency_bounds[i]) {
            m->planning_buckets[i]++;
            break;
        }
    }
    m->planning_count++;
    m->planning_sum_seconds += seconds;
    pthread_mutex_unlock(&m->lock);
}

/* Planning accuracy: of the assignments of committed plans whose horizon
 * has passed, the share whose allocation was used — still confirmed or
 * released after running; not cancelled, expired or preempted (docs/design.md). */
static int render_accuracy(fr_engine *engine, frs_buf *out)
{
    int64_t planned = 0, used = 0;
    if (fr_plan_accuracy(engine, &planned, &used) != FR_OK) {
        return 0;
    }
    int ok = frs_buf_appendf(out,
        "# HELP fleetres_planned_allocations Assignments of committed plans past their horizon.\n"
        "# TYPE fleetres_planned_allocations gauge\n"
        "fleetres_planned_allocations %lld\n"
        "# HELP fleetres_planned_allocations_used Those whose allocation was used.\n"
        "# TYPE fleetres_planned_allocations_used gauge\n"
        "fleetres_planned_allocations_used %lld\n"
        "# HELP fleetres_planning_accuracy Used over planned (absent while nothing is planned).\n"
        "# TYPE fleetres_planning_accuracy gauge\n",
        (long long)planned, (long long)used);
    if (ok && planned > 0) {
        ok = frs_buf_appendf(out, "fleetres_planning_accuracy %.6f\n",
                             (double)used / (double)planned);
    }
    return ok;
}

int frs_metrics_render_planning(frs_metrics *m, struct fr_engine *engine, frs_buf *out)
{
    pthread_mutex_lock(&m->lock);
    int ok = frs_buf_appendf(out,
        "# HELP fleetres_planning_duration_seconds Wall time of planning runs.\n"
        "# TYPE fleetres_planning_duration_seconds histogram\n");
    uint64_t cumulative = 0;
    for (int k = 0; ok && k < FRS_LATENCY_BUCKETS; k++) {
        cumulative += m->planning_buckets[k];
        ok = frs_buf_appendf(out, "fleetres_planning_duration_seconds_bucket{le=\"%g\"} %llu\n",
                             latency_bounds[k], (unsigned long long)cumulative);
    }
    ok = ok && frs_buf_appendf(out,
        "fleetres_planning_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
        "fleetres_planning_duration_seconds_sum %.6f\n"
        "fleetres_planning_duration_seconds_count %llu\n",
        (unsigned long long)m->planning_count, m->planning_sum_seconds,
        (unsigned long long)m->planning_count);
    pthread_mutex_unlock(&m->lock);
    return ok && render_accuracy(engine, out);
}
