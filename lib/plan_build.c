/*
 * plan_build.c — from the engine's state to the planner and back (SPEC §7).
 *
 * Input: the active pools of the plan's fleet, each as a free-capacity step
 * profile over the horizon (capacity with its schedule, minus held and
 * confirmed bookings, plus the plan's what-if capacity changes); the pending
 * requests of the fleet (when include_pending_requests), then the demands;
 * the live bookings of the vehicles those items name.  Output: the plan's
 * assignments, unplaced items, shortfall, score and forecast.
 *
 * A profile's breakpoints are the horizon start and every schedule,
 * booking and change boundary inside the horizon; free at each is read from
 * the ledger (O(log n)) and the changes are added with a difference array,
 * so building costs O((k + c) log k) per pool for k bookings and c changes.
 * Why snapshots: the planner is a pure function (planner.h), so the same
 * state and inputs give the same plan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "planner.h"
#include "plans.h"

__extension__ typedef __int128 plan_wide;

typedef struct build {
    fr_engine *e;
    const fr_plan *plan;
    fr__pool_rec **recs; /* the planner's pools, by (created_at, id) */
    fr_plan_pool *pools;
    size_t np;
    fr_plan_item *items; /* pending requests first, then the demands */
    size_t ni;
    size_t nreq;
    fr__req_rec **reqs;
    fr_plan_busy *busy;
    size_t nb, busy_cap;
    size_t *assignment_pool; /* per rendered assignment: its pool's index */
} build;

static void build_free(build *b)
{
    for (size_t i = 0; b->pools != NULL && i < b->np; i++) {
        free((void *)b->pools[i].step_start_ms);
        free((void *)b->pools[i].step_free_milli);
    }
    free(b->pools);
    free(b->recs);
    free(b->items);
    free(b->reqs);
    free(b->busy);
    free(b->assignment_pool);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : (x > y);
}

/* Adds t to pts when it lies strictly inside the horizon. */
static void add_point(int64_t *pts, size_t *n, int64_t t, int64_t hs, int64_t he)
{
    if (t > hs && t < he) {
        pts[(*n)++] = t;
    }
}

/* First index with pts[i] >= t (n when none). */
static size_t lower_bound(const int64_t *pts, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pts[mid] < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The sorted, distinct breakpoints of one pool's free profile. */
static int profile_points(build *b, const fr__pool_rec *pool, int64_t **out, size_t *count)
{
    const fr_plan *p = b->plan;
    int64_t hs = p->horizon_start_ms, he = p->horizon_end_ms;
    uint64_t one = 0;
    size_t nbook = fr__ledger_overlapping(pool->live, hs, he, &one, 1);
    uint64_t *tags = malloc((nbook + 1) * sizeof *tags);
    size_t cap = 1 + 2 * (nbook + pool->p.schedule_len + p->capacity_changes_len);
    int64_t *pts = malloc(cap * sizeof *pts);
    if (tags == NULL || pts == NULL) {
        free(tags);
        free(pts);
        return FR_ENOMEM;
    }
    size_t n = 0;
    pts[n++] = hs;
    (void)fr__ledger_overlapping(pool->live, hs, he, tags, nbook);
    for (size_t i = 0; i < nbook; i++) {
        const fr__alloc_rec *a = (const fr__alloc_rec *)(uintptr_t)tags[i];
        add_point(pts, &n, a->a.start_ms, hs, he);
        add_point(pts, &n, a->a.end_ms, hs, he);
    }
    for (size_t i = 0; i < pool->p.schedule_len; i++) {
        add_point(pts, &n, pool->p.schedule[i].start_ms, hs, he);
        add_point(pts, &n, pool->p.schedule[i].end_ms, hs, he);
    }
    for (size_t i = 0; i < p->capacity_changes_len; i++) {
        const fr_plan_capacity_change *c = &p->capacity_changes[i];
        if (strcmp(c->pool_id, pool->p.id) == 0) {
            add_point(pts, &n, c->start_ms, hs, he);
            add_point(pts, &n, c->end_ms, hs, he);
        }
    }
    free(tags);
    qsort(pts, n, sizeof *pts, cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k == 0 || pts[i] != pts[k - 1]) {
            pts[k++] = pts[i];
        }
    }
    *out = pts;
    *count = k;
    return FR_OK;
}

/* Free capacity at each breakpoint: the ledger's, plus the changes. */
static int pool_profile(build *b, size_t k)
{
    const fr__pool_rec *pool = b->recs[k];
    const fr_plan *p = b->plan;
    int64_t *pts = NULL;
    size_t n = 0;
    int rc = profile_points(b, pool, &pts, &n);
    if (rc != FR_OK) {
        return rc;
    }
    int64_t *free_milli = calloc(n + 1, sizeof *free_milli);
    if (free_milli == NULL) {
        free(pts);
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < p->capacity_changes_len; i++) {
        const fr_plan_capacity_change *c = &p->capacity_changes[i];
        if (strcmp(c->pool_id, pool->p.id) != 0) {
            continue;
        }
        /* Difference array: +delta from its first step, -delta after its last. */
        free_milli[lower_bound(pts, n, c->start_ms)] += c->delta_milli;
        free_milli[lower_bound(pts, n, c->end_ms)] -= c->delta_milli;
    }
    int64_t delta = 0;
    for (size_t i = 0; i < n; i++) {
        delta += free_milli[i];
        free_milli[i] = fr__ledger_free_at(pool->live, pts[i]) + delta;
    }
    b->pools[k] = (fr_plan_pool){pool->p.id, pool->p.resource_type, pool->p.site,
                                 pool->p.exclusive_per_vehicle, n, pts, free_milli};
    return FR_OK;
}

static int collect_pools(build *b, fr_result *res)
{
    const fr__vec *all = &b->e->pools;
    size_t n = 0;
    for (size_t i = 0; i < all->len; i++) {
        const fr__pool_rec *r = all->items[i];
        n += !r->p.deleted && r->p.status == FR_POOL_ACTIVE &&
             strcmp(r->p.fleet_id, b->plan->fleet_id) == 0;
    }
    if (n > FR_PLAN_POOLS_MAX) {
        fr__result_fail(res, FR_ELIMIT, "fleet_id", "the fleet has more than %d active pools",
                        FR_PLAN_POOLS_MAX);
        return FR_ELIMIT;
    }
    b->recs = calloc(n + 1, sizeof *b->recs);
    b->pools = calloc(n + 1, sizeof *b->pools);
    if (b->recs == NULL || b->pools == NULL) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < all->len; i++) {
        fr__pool_rec *r = all->items[i];
        if (!r->p.deleted && r->p.status == FR_POOL_ACTIVE &&
            strcmp(r->p.fleet_id, b->plan->fleet_id) == 0) {
            b->recs[b->np] = r;
            int rc = pool_profile(b, b->np);
            if (rc != FR_OK) {
                return rc;
            }
            b->np++;
        }
    }
    return FR_OK;
}

static fr_plan_item request_item(const fr_request *r)
{
    return (fr_plan_item){NULL, r->id, r->resource_type, r->site,
                          r->pool_id[0] != 0 ? r->pool_id : NULL, r->vehicle_id,
                          r->quantity_milli, r->duration_ms, r->earliest_start_ms,
                          r->latest_end_ms == FR_TIME_INF ? FR_PLAN_NO_DEADLINE : r->latest_end_ms,
                          r->priority};
}

static fr_plan_item demand_item(const fr_plan_demand *d)
{
    return (fr_plan_item){d->ref, NULL, d->resource_type, d->site,
                          d->pool_id[0] != 0 ? d->pool_id : NULL, d->vehicle_id,
                          d->quantity_milli, d->duration_ms, d->earliest_start_ms,
                          d->latest_end_ms == FR_TIME_INF ? FR_PLAN_NO_DEADLINE : d->latest_end_ms,
                          d->priority};
}

static int collect_items(build *b, fr_result *res)
{
    const fr__vec *all = &b->e->reqs;
    const fr_plan *p = b->plan;
    size_t nreq = 0;
    for (size_t i = 0; p->include_pending_requests && i < all->len; i++) {
        const fr_request *r = &((const fr__req_rec *)all->items[i])->r;
        nreq += r->status == FR_REQ_PENDING && strcmp(r->fleet_id, p->fleet_id) == 0;
    }
    if (nreq + p->demands_len > FR_PLAN_ITEMS_MAX) {
        fr__result_fail(res, FR_ELIMIT, "include_pending_requests",
                        "more than %d requests and demands to plan", FR_PLAN_ITEMS_MAX);
        return FR_ELIMIT;
    }
    b->items = calloc(nreq + p->demands_len + 1, sizeof *b->items);
    b->reqs = calloc(nreq + 1, sizeof *b->reqs);
    if (b->items == NULL || b->reqs == NULL) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; p->include_pending_requests && i < all->len; i++) {
        fr__req_rec *r = all->items[i];
        if (r->r.status == FR_REQ_PENDING && strcmp(r->r.fleet_id, p->fleet_id) == 0) {
            b->reqs[b->nreq] = r;
            b->items[b->nreq++] = request_item(&r->r);
        }
    }
    for (size_t i = 0; i < p->demands_len; i++) {
        b->items[b->nreq + i] = demand_item(&p->demands[i]);
    }
    b->ni = b->nreq + p->demands_len;
    return FR_OK;
}

static int busy_push(build *b, const fr_allocation *a)
{
    if (b->nb == b->busy_cap) {
        size_t cap = b->busy_cap == 0 ? 16 : 2 * b->busy_cap;
        fr_plan_busy *grown = realloc(b->busy, cap * sizeof *grown);
        if (grown == NULL) {
            return FR_ENOMEM;
        }
        b->busy = grown;
        b->busy_cap = cap;
    }
    b->busy[b->nb++] = (fr_plan_busy){a->vehicle_id, a->resource_type, a->start_ms,
                                      a->end_ms == FR_TIME_INF ? FR_PLAN_NO_DEADLINE : a->end_ms};
    return FR_OK;
}

/* The live bookings in the horizon of every (vehicle, type) an item names,
 * each pair once. */
static int collect_busy(build *b)
{
    fr__idmap seen = {0};
    int rc = FR_OK;
    char key[FR__KEY_SIZE];
    for (size_t i = 0; rc == FR_OK && i < b->ni; i++) {
        const fr_plan_item *it = &b->items[i];
        if (it->vehicle_id == NULL ||
            !fr__key3(key, sizeof key, b->plan->fleet_id, it->resource_type, it->vehicle_id) ||
            fr__idmap_get(&seen, key) != NULL) {
            continue;
        }
        rc = fr__idmap_put(&seen, key, (void *)it);
        const fr__vec *v = fr__idmap_get(&b->e->vehicles, key);
        for (size_t k = 0; rc == FR_OK && v != NULL && k < v->len; k++) {
            const fr_allocation *a = &((const fr__alloc_rec *)v->items[k])->a;
            if (a->start_ms < b->plan->horizon_end_ms && b->plan->horizon_start_ms < a->end_ms) {
                rc = busy_push(b, a);
            }
        }
    }
    fr__idmap_free(&seen);
    return rc;
}

/* ---- results ------------------------------------------------------------------ */

/* The identity of item i as a plan shows it. */
static int item_identity(const build *b, size_t i, char **ref, char request_id[FR_ID_SIZE])
{
    request_id[0] = 0;
    *ref = NULL;
    if (i < b->nreq) {
        memcpy(request_id, b->reqs[i]->r.id, FR_ID_SIZE);
        return FR_OK;
    }
    *ref = strdup(b->items[i].ref);
    return *ref == NULL ? FR_ENOMEM : FR_OK;
}

static int render_items(build *b, const fr_plan_result *r, fr_plan *out)
{
    b->assignment_pool = calloc(r->assignment_count + 1, sizeof *b->assignment_pool);
    if (b->assignment_pool == NULL) {
        return FR_ENOMEM;
    }
    out->assignments = calloc(r->assignment_count + 1, sizeof *out->assignments);
    out->unplaced = calloc(r->unplaced_count + 1, sizeof *out->unplaced);
    out->shortfall = calloc(r->shortfall_count + 1, sizeof *out->shortfall);
    if (out->assignments == NULL || out->unplaced == NULL || out->shortfall == NULL) {
        return FR_ENOMEM;
    }
    for (size_t k = 0; k < r->assignment_count; k++, out->assignments_len++) {
        const fr_plan_assignment *a = &r->assignments[k];
        fr_plan_assignment_info *x = &out->assignments[k];
        const fr_plan_item *it = &b->items[a->item];
        *x = (fr_plan_assignment_info){NULL, "", "", a->start_ms, a->end_ms, it->quantity_milli,
                                       it->priority, ""};
        memcpy(x->pool_id, b->recs[a->pool]->p.id, FR_ID_SIZE);
        b->assignment_pool[k] = a->pool;
        if (item_identity(b, a->item, &x->ref, x->request_id) != FR_OK) {
            return FR_ENOMEM;
        }
    }
    for (size_t k = 0; k < r->unplaced_count; k++, out->unplaced_len++) {
        fr_plan_miss *m = &out->unplaced[k];
        snprintf(m->reason, sizeof m->reason, "%s", fr__plan_reason_name(r->unplaced[k].reason));
        if (item_identity(b, r->unplaced[k].item, &m->ref, m->request_id) != FR_OK) {
            return FR_ENOMEM;
        }
    }
    for (size_t k = 0; k < r->shortfall_count; k++, out->shortfall_len++) {
        const fr_plan_shortfall *s = &r->shortfall[k];
        fr_plan_shortage *x = &out->shortfall[k];
        memcpy(x->pool_id, b->recs[s->pool]->p.id, FR_ID_SIZE);
        x->start_ms = s->start_ms;
        x->end_ms = s->end_ms;
        x->extra_milli = s->extra_milli;
    }
    out->placed_priority = r->placed_priority;
    out->total_delay_ms = r->total_delay_ms;
    return FR_OK;
}

/* Adds q x (the part of [s, e) inside each bucket) to the buckets' sums;
 * only the buckets the interval meets are visited. */
static void spread(plan_wide *sum, size_t nb, int64_t hs, int64_t step, int64_t he, int64_t s,
                   int64_t e, int64_t q)
{
    int64_t lo = s > hs ? s : hs, hi = e < he ? e : he;
    for (size_t i = lo < hi ? (size_t)((lo - hs) / step) : nb; i < nb; i++) {
        int64_t bs = hs + (int64_t)i * step;
        int64_t be = he - bs > step ? bs + step : he;
        if (bs >= hi) {
            break;
        }
        int64_t a = lo > bs ? lo : bs, b = hi < be ? hi : be;
        sum[i] += (plan_wide)q * (b - a);
    }
}

/* One pool's forecast series: ledger statistics, plus the what-if changes
 * and the assignments of the pool, time-weighted per bucket.  sums holds
 * 2 * nb zeroed accumulators (scratch). */
static void forecast_pool(const build *b, size_t k, const fr_plan *plan, plan_wide *sums,
                          fr_plan_forecast *f)
{
    const fr__pool_rec *pool = b->recs[k];
    int64_t hs = plan->horizon_start_ms, he = plan->horizon_end_ms, step = plan->bucket_ms;
    size_t nb = f->series_len;
    plan_wide *delta = sums, *planned = sums + nb;
    memset(sums, 0, 2 * nb * sizeof *sums);
    memcpy(f->pool_id, pool->p.id, FR_ID_SIZE);
    for (size_t c = 0; c < plan->capacity_changes_len; c++) {
        const fr_plan_capacity_change *ch = &plan->capacity_changes[c];
        if (strcmp(ch->pool_id, pool->p.id) == 0) {
            spread(delta, nb, hs, step, he, ch->start_ms, ch->end_ms, ch->delta_milli);
        }
    }
    for (size_t a = 0; a < plan->assignments_len; a++) {
        const fr_plan_assignment_info *as = &plan->assignments[a];
        if (b->assignment_pool[a] == k) {
            spread(planned, nb, hs, step, he, as->start_ms, as->end_ms, as->quantity_milli);
        }
    }
    for (size_t i = 0; i < nb; i++) {
        fr_plan_forecast_bucket *x = &f->series[i];
        x->start_ms = hs + (int64_t)i * step;
        x->end_ms = he - x->start_ms > step ? x->start_ms + step : he;
        int64_t peak = 0, len = x->end_ms - x->start_ms;
        fr__ledger_stats(pool->live, x->start_ms, x->end_ms, &x->capacity_milli,
                         &x->booked_milli, &peak);
        x->capacity_milli += (int64_t)(delta[i] / len);
        x->planned_milli = (int64_t)(planned[i] / len);
    }
}

static int render_forecast(const build *b, fr_plan *out)
{
    size_t nb = (size_t)((out->horizon_end_ms - out->horizon_start_ms + out->bucket_ms - 1) /
                         out->bucket_ms);
    out->forecast = calloc(b->np + 1, sizeof *out->forecast);
    plan_wide *sums = malloc((2 * nb + 1) * sizeof *sums);
    if (out->forecast == NULL || sums == NULL) {
        free(sums);
        return FR_ENOMEM;
    }
    for (size_t k = 0; k < b->np; k++, out->forecast_len++) {
        fr_plan_forecast *f = &out->forecast[k];
        f->series = calloc(nb + 1, sizeof *f->series);
        if (f->series == NULL) {
            free(sums);
            return FR_ENOMEM;
        }
        f->series_len = nb;
        forecast_pool(b, k, out, sums, f);
    }
    free(sums);
    return FR_OK;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Frees plan's results and moves next's in (next keeps nothing). */
static void replace_results(fr_plan *plan, fr_plan *next)
{
    fr_plan old = {0};
    old.assignments = plan->assignments;
    old.assignments_len = plan->assignments_len;
    old.unplaced = plan->unplaced;
    old.unplaced_len = plan->unplaced_len;
    old.forecast = plan->forecast;
    old.forecast_len = plan->forecast_len;
    old.shortfall = plan->shortfall;
    old.shortfall_len = plan->shortfall_len;
    fr_plan_clear(&old);
    plan->assignments = next->assignments;
    plan->assignments_len = next->assignments_len;
    plan->unplaced = next->unplaced;
    plan->unplaced_len = next->unplaced_len;
    plan->forecast = next->forecast;
    plan->forecast_len = next->forecast_len;
    plan->shortfall = next->shortfall;
    plan->shortfall_len = next->shortfall_len;
    plan->placed_priority = next->placed_priority;
    plan->total_delay_ms = next->total_delay_ms;
    memset(next, 0, sizeof *next);
}

/* Solves and renders into a fresh copy of the plan's results. */
static int solve_and_render(build *b, fr_plan *plan, int64_t now_ms, int64_t started_ms)
{
    fr_plan_input in = {plan->horizon_start_ms, plan->horizon_end_ms, b->pools, b->np,
                        b->items, b->ni, b->busy, b->nb, plan->time_budget_ms};
    fr_plan_result r;
    memset(&r, 0, sizeof r);
    int rc = fr__plan_solve(&in, &r);
    if (rc == FR_EINVAL) {
        rc = FR_ESTORE; /* the engine built an input the planner refuses: a bug */
    }
    fr_plan next = {0};
    if (rc == FR_OK) {
        rc = render_items(b, &r, &next);
    }
    if (rc == FR_OK) {
        next.horizon_start_ms = plan->horizon_start_ms;
        next.horizon_end_ms = plan->horizon_end_ms;
        next.bucket_ms = plan->bucket_ms;
        next.capacity_changes = plan->capacity_changes; /* borrowed for the forecast */
        next.capacity_changes_len = plan->capacity_changes_len;
        rc = render_forecast(b, &next);
        next.capacity_changes = NULL;
        next.capacity_changes_len = 0;
    }
    fr__plan_result_free(&r);
    if (rc != FR_OK) {
        fr_plan_clear(&next);
        return rc;
    }
    replace_results(plan, &next);
    plan->planned_at_ms = now_ms;
    plan->planning_ms = monotonic_ms() - started_ms;
    return FR_OK;
}

int fr__plan_run(fr_engine *e, fr_plan *plan, int64_t now_ms, fr_result *res)
{
    int64_t started = monotonic_ms();
    int64_t buckets = (plan->horizon_end_ms - plan->horizon_start_ms + plan->bucket_ms - 1) /
                      plan->bucket_ms;
    build b = {0};
    b.e = e;
    b.plan = plan;
    int rc = collect_pools(&b, res);
    if (rc == FR_OK && (int64_t)b.np * buckets > FR_PLAN_FORECAST_CELLS_MAX) {
        fr__result_fail(res, FR_ELIMIT, "bucket_seconds",
                        "the forecast would hold %lld pool buckets, more than %d; use longer "
                        "buckets",
                        (long long)((int64_t)b.np * buckets), FR_PLAN_FORECAST_CELLS_MAX);
        rc = FR_ELIMIT;
    }
    if (rc == FR_OK) {
        rc = collect_items(&b, res);
    }
    if (rc == FR_OK) {
        rc = collect_busy(&b);
    }
    if (rc == FR_OK) {
        rc = solve_and_render(&b, plan, now_ms, started);
    }
    build_free(&b);
    return rc;
}
