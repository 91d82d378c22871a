/*
 * planner.c — a simple, deterministic implementation of the horizon
 * planner's pure core (planner.h): priority-ordered earliest fit.
 *
 * Why this one: the engine side of plans (plans.c) needs a correct planner
 * to build and test against; a stronger optimizer can replace this file
 * without touching its callers, since the interface is fixed.
 *
 * Method: items are taken by priority (highest first, then input order);
 * each goes to the earliest feasible start over its eligible pools (ties:
 * the lower pool index), and its quantity is taken out of that pool's
 * working free profile.  Greedy by priority maximizes placed_priority on
 * the easy instances (and never places a lower item where it blocks a
 * higher one processed first); it is not optimal in general.
 *
 * Shortfall: for every item left unplaced for lack of capacity, the extra
 * capacity that would make its earliest window fit next to what was placed
 * (q - min free there).  The result is then verified by re-running the
 * greedy with those extras added; if some item still stays out (higher
 * items shifted into the extra room), the extras are widened to a bound
 * that always suffices: room for every item eligible on that pool at once.
 *
 * Cost: O(items * pools * breakpoints) moves; the work is counted in
 * result->moves.  Budget: time_budget_ms * MOVES_PER_MS moves per greedy
 * pass (calibrated on this VM at roughly a move per 20-50 ns).  When a pass
 * runs out, the items it did not reach stay unplaced (reported
 * insufficient_capacity when they have an eligible pool and a window), and
 * the shortfall takes the wide bound at once, without verification runs.
 * No clock is read, no recursion, every loop is bounded.
 */
#include "planner.h"

#include <stdlib.h>
#include <string.h>

#include "fleetres.h"

/* Saturation of the wide shortfall: far above any sum of real quantities
 * that can overlap, far below int64 overflow when added to a free step. */
#define EXTRA_MAX_MILLI (INT64_C(1) << 61)
/* Work per millisecond of time budget (deterministic: counted, not timed). */
#define MOVES_PER_MS UINT64_C(20000)

/* A working free profile: free[i] holds on [t[i], t[i+1]) (last: to end). */
typedef struct profile {
    int64_t *t;
    int64_t *f;
    size_t n, cap;
    int64_t end_ms;
} profile;

typedef struct solver {
    const fr_plan_input *in;
    profile *prof;      /* one per pool */
    size_t *order;      /* items by priority desc, index asc */
    int64_t *start;     /* per item: placed start, or INT64_MIN */
    size_t *pool_of;    /* per item: placed pool */
    uint64_t moves;
    uint64_t budget;    /* moves a greedy pass may use */
    int exhausted;      /* the pass stopped on the budget */
} solver;

static void profile_free(profile *p)
{
    free(p->t);
    free(p->f);
    memset(p, 0, sizeof *p);
}

static int profile_reserve(profile *p, size_t need)
{
    if (need <= p->cap) {
        return FR_OK;
    }
    size_t cap = p->cap < 8 ? 8 : p->cap;
    while (cap < need) {
        cap *= 2;
    }
    int64_t *t = realloc(p->t, cap * sizeof *t);
    if (t == NULL) {
        return FR_ENOMEM;
    }
    p->t = t;
    int64_t *f = realloc(p->f, cap * sizeof *f);
    if (f == NULL) {
        return FR_ENOMEM;
    }
    p->f = f;
    p->cap = cap;
    return FR_OK;
}

static int profile_init(profile *p, const fr_plan_pool *pool, int64_t end_ms)
{
    memset(p, 0, sizeof *p);
    if (profile_reserve(p, pool->step_count + 2) != FR_OK) {
        return FR_ENOMEM;
    }
    memcpy(p->t, pool->step_start_ms, pool->step_count * sizeof *p->t);
    memcpy(p->f, pool->step_free_milli, pool->step_count * sizeof *p->f);
    p->n = pool->step_count;
    p->end_ms = end_ms;
    return FR_OK;
}

/* Index of the step containing t (t within [t[0], end)). */
static size_t step_at(const profile *p, int64_t t)
{
    size_t lo = 0, hi = p->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->t[mid] <= t) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static int64_t step_end(const profile *p, size_t i)
{
    return i + 1 < p->n ? p->t[i + 1] : p->end_ms;
}

/* Makes t a step boundary (t inside the horizon). */
static int profile_split(profile *p, int64_t t)
{
    if (t >= p->end_ms || t <= p->t[0]) {
        return FR_OK;
    }
    size_t i = step_at(p, t);
    if (p->t[i] == t) {
        return FR_OK;
    }
    if (profile_reserve(p, p->n + 1) != FR_OK) {
        return FR_ENOMEM;
    }
    memmove(&p->t[i + 2], &p->t[i + 1], (p->n - i - 1) * sizeof *p->t);
    memmove(&p->f[i + 2], &p->f[i + 1], (p->n - i - 1) * sizeof *p->f);
    p->t[i + 1] = t;
    p->f[i + 1] = p->f[i];
    p->n++;
    return FR_OK;
}

/* Adds delta to free over [a, b) (clipped to the horizon). */
static int profile_add(profile *p, int64_t a, int64_t b, int64_t delta)
{
    if (a < p->t[0]) {
        a = p->t[0];
    }
    if (b > p->end_ms) {
        b = p->end_ms;
    }
    if (a >= b) {
        return FR_OK;
    }
    if (profile_split(p, a) != FR_OK || profile_split(p, b) != FR_OK) {
        return FR_ENOMEM;
    }
    for (size_t i = step_at(p, a); i < p->n && p->t[i] < b; i++) {
        p->f[i] += delta;
    }
    return FR_OK;
}

static int64_t profile_min(const profile *p, int64_t a, int64_t b)
{
    int64_t m = INT64_MAX;
    for (size_t i = step_at(p, a); i < p->n && p->t[i] < b; i++) {
        if (p->f[i] < m) {
            m = p->f[i];
        }
    }
    return m;
}

/* The end of the first step in [a, b) with free < q, or INT64_MIN if none. */
static int64_t profile_first_short_end(const profile *p, int64_t a, int64_t b, int64_t q)
{
    for (size_t i = step_at(p, a); i < p->n && p->t[i] < b; i++) {
        if (p->f[i] < q) {
            return step_end(p, i);
        }
    }
    return INT64_MIN;
}

static int str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int eligible(const fr_plan_pool *p, const fr_plan_item *it)
{
    return str_eq(p->resource_type, it->resource_type) &&
           (it->site == NULL || str_eq(p->site, it->site)) &&
           (it->pool_id == NULL || str_eq(p->id, it->pool_id));
}

/* [lo, hi_end): where the item's interval must lie; 0 when it cannot. */
static int window(const fr_plan_input *in, const fr_plan_item *it, int64_t *lo, int64_t *hi_end)
{
    *lo = it->earliest_start_ms > in->horizon_start_ms ? it->earliest_start_ms
                                                        : in->horizon_start_ms;
    *hi_end = it->latest_end_ms < in->horizon_end_ms ? it->latest_end_ms : in->horizon_end_ms;
    return *lo < *hi_end && it->duration_ms <= *hi_end - *lo;
}

/* The latest end among intervals of the item's vehicle overlapping [s, e)
 * (fixed busy ones and placed items), or INT64_MIN when none overlaps. */
static int64_t vehicle_clash_end(const solver *sv, size_t item, int64_t s, int64_t e)
{
    const fr_plan_input *in = sv->in;
    const fr_plan_item *it = &in->items[item];
    int64_t latest = INT64_MIN;
    for (size_t i = 0; i < in->busy_count; i++) {
        const fr_plan_busy *b = &in->busy[i];
        if (str_eq(b->vehicle_id, it->vehicle_id) && str_eq(b->resource_type, it->resource_type) &&
            b->start_ms < e && s < b->end_ms && b->end_ms > latest) {
            latest = b->end_ms;
        }
    }
    for (size_t j = 0; j < in->item_count; j++) {
        const fr_plan_item *o = &in->items[j];
        if (j == item || sv->start[j] == INT64_MIN || !str_eq(o->vehicle_id, it->vehicle_id) ||
            !str_eq(o->resource_type, it->resource_type)) {
            continue;
        }
        int64_t os = sv->start[j], oe = os + o->duration_ms;
        if (os < e && s < oe && oe > latest) {
            latest = oe;
        }
    }
    return latest;
}

/* Earliest feasible start of item on pool p, or INT64_MIN. */
static int64_t earliest_fit(solver *sv, size_t item, size_t p, int check_vehicle)
{
    const fr_plan_item *it = &sv->in->items[item];
    const profile *prof = &sv->prof[p];
    int64_t lo = 0, hi_end = 0;
    if (!window(sv->in, it, &lo, &hi_end)) {
        return INT64_MIN;
    }
    int vehicle = check_vehicle && it->vehicle_id != NULL && sv->in->pools[p].exclusive_per_vehicle;
    int64_t s = lo;
    /* Each round moves s to a later step boundary or busy end: bounded. */
    while (s <= hi_end - it->duration_ms) {
        sv->moves++;
        int64_t e = s + it->duration_ms;
        int64_t skip = profile_first_short_end(prof, s, e, it->quantity_milli);
        if (skip == INT64_MIN && vehicle) {
            skip = vehicle_clash_end(sv, item, s, e);
        }
        if (skip == INT64_MIN) {
            return s;
        }
        if (skip <= s) {
            return INT64_MIN; /* cannot happen: steps and busy ends lie after s */
        }
        s = skip;
    }
    return INT64_MIN;
}

static int by_priority(const void *a, const void *b)
{
    const int64_t *x = a, *y = b; /* (priority, index) pairs */
    if (x[0] != y[0]) {
        return x[0] > y[0] ? -1 : 1;
    }
    return x[1] < y[1] ? -1 : (x[1] > y[1]);
}

static int check_input(const fr_plan_input *in)
{
    if (in == NULL || in->horizon_end_ms <= in->horizon_start_ms || in->time_budget_ms <= 0 ||
        in->pool_count > FR_PLAN_POOLS_MAX || in->item_count > FR_PLAN_ITEMS_MAX ||
        (in->pool_count > 0 && in->pools == NULL) || (in->item_count > 0 && in->items == NULL) ||
        (in->busy_count > 0 && in->busy == NULL)) {
        return FR_EINVAL;
    }
    for (size_t i = 0; i < in->pool_count; i++) {
        const fr_plan_pool *p = &in->pools[i];
        if (p->step_count == 0 || p->step_start_ms == NULL || p->step_free_milli == NULL ||
            p->step_start_ms[0] != in->horizon_start_ms || p->resource_type == NULL) {
            return FR_EINVAL;
        }
        for (size_t k = 1; k < p->step_count; k++) {
            if (p->step_start_ms[k] <= p->step_start_ms[k - 1] ||
                p->step_start_ms[k] >= in->horizon_end_ms) {
                return FR_EINVAL;
            }
        }
    }
    for (size_t i = 0; i < in->item_count; i++) {
        const fr_plan_item *it = &in->items[i];
        if (it->resource_type == NULL || it->quantity_milli <= 0 || it->duration_ms <= 0 ||
            it->priority < 0 || it->priority > FR_PRIORITY_MAX) {
            return FR_EINVAL;
        }
    }
    return FR_OK;
}

static void solver_free(solver *sv)
{
    for (size_t p = 0; sv->prof != NULL && p < sv->in->pool_count; p++) {
        profile_free(&sv->prof[p]);
    }
    free(sv->prof);
    free(sv->order);
    free(sv->start);
    free(sv->pool_of);
}

/* Fresh profiles (with extras added) and the priority order. */
static int solver_init(solver *sv, const fr_plan_input *in, const fr_plan_shortfall *extra,
                       size_t extra_count)
{
    memset(sv, 0, sizeof *sv);
    sv->in = in;
    sv->budget = (uint64_t)in->time_budget_ms * MOVES_PER_MS;
    size_t np = in->pool_count, ni = in->item_count;
    sv->prof = calloc(np + 1, sizeof *sv->prof);
    sv->order = malloc((ni + 1) * sizeof *sv->order);
    sv->start = malloc((ni + 1) * sizeof *sv->start);
    sv->pool_of = calloc(ni + 1, sizeof *sv->pool_of);
    int64_t *pairs = malloc((2 * ni + 1) * sizeof *pairs);
    int rc = (sv->prof && sv->order && sv->start && sv->pool_of && pairs) ? FR_OK : FR_ENOMEM;
    for (size_t p = 0; rc == FR_OK && p < np; p++) {
        rc = profile_init(&sv->prof[p], &in->pools[p], in->horizon_end_ms);
    }
    for (size_t k = 0; rc == FR_OK && k < extra_count; k++) {
        rc = profile_add(&sv->prof[extra[k].pool], extra[k].start_ms, extra[k].end_ms,
                         extra[k].extra_milli);
    }
    for (size_t i = 0; rc == FR_OK && i < ni; i++) {
        pairs[2 * i] = in->items[i].priority;
        pairs[2 * i + 1] = (int64_t)i;
        sv->start[i] = INT64_MIN;
    }
    if (rc == FR_OK) {
        qsort(pairs, ni, 2 * sizeof *pairs, by_priority);
        for (size_t i = 0; i < ni; i++) {
            sv->order[i] = (size_t)pairs[2 * i + 1];
        }
    }
    free(pairs);
    return rc;
}

/* The greedy pass: every item in priority order to its earliest fit. */
static int greedy(solver *sv)
{
    const fr_plan_input *in = sv->in;
    for (size_t k = 0; k < in->item_count; k++) {
        if (sv->moves >= sv->budget) {
            sv->exhausted = 1; /* the rest stays unplaced */
            break;
        }
        size_t i = sv->order[k];
        int64_t best = INT64_MIN;
        size_t best_pool = 0;
        for (size_t p = 0; p < in->pool_count; p++) {
            if (!eligible(&in->pools[p], &in->items[i])) {
                continue;
            }
            int64_t s = earliest_fit(sv, i, p, 1);
            if (s != INT64_MIN && (best == INT64_MIN || s < best)) {
                best = s;
                best_pool = p;
            }
        }
        if (best == INT64_MIN) {
            continue;
        }
        const fr_plan_item *it = &in->items[i];
        if (profile_add(&sv->prof[best_pool], best, best + it->duration_ms,
                        -it->quantity_milli) != FR_OK) {
            return FR_ENOMEM;
        }
        sv->start[i] = best;
        sv->pool_of[i] = best_pool;
    }
    return FR_OK;
}

static int reason_of(solver *sv, size_t i)
{
    const fr_plan_input *in = sv->in;
    int any = 0;
    for (size_t p = 0; p < in->pool_count; p++) {
        if (!eligible(&in->pools[p], &in->items[i])) {
            continue;
        }
        any = 1;
        /* Out of budget: no search; the item was not reached. */
        if (!sv->exhausted && earliest_fit(sv, i, p, 0) != INT64_MIN) {
            return FR_PLAN_VEHICLE_BUSY;
        }
    }
    int64_t lo = 0, hi = 0;
    if (!any) {
        return FR_PLAN_NO_POOL_OF_TYPE;
    }
    return window(in, &in->items[i], &lo, &hi) ? FR_PLAN_INSUFFICIENT_CAPACITY
                                               : FR_PLAN_WINDOW_OUTSIDE_HORIZON;
}

static int by_pool_start(const void *a, const void *b)
{
    const fr_plan_shortfall *x = a, *y = b;
    if (x->pool != y->pool) {
        return x->pool < y->pool ? -1 : 1;
    }
    if (x->start_ms != y->start_ms) {
        return x->start_ms < y->start_ms ? -1 : 1;
    }
    return x->end_ms < y->end_ms ? -1 : (x->end_ms > y->end_ms);
}

/* Per pool, the saturated sum of the quantities of the items eligible on it
 * (the wide bound's room for everything at once).  malloc'd, or NULL. */
static int64_t *eligible_sums(const fr_plan_input *in)
{
    int64_t *sum = calloc(in->pool_count + 1, sizeof *sum);
    for (size_t p = 0; sum != NULL && p < in->pool_count; p++) {
        for (size_t j = 0; j < in->item_count && sum[p] < EXTRA_MAX_MILLI; j++) {
            if (eligible(&in->pools[p], &in->items[j])) {
                sum[p] += in->items[j].quantity_milli;
            }
        }
        if (sum[p] > EXTRA_MAX_MILLI) {
            sum[p] = EXTRA_MAX_MILLI; /* more than any pool can use */
        }
    }
    return sum;
}

/* One shortfall entry per capacity-starved item: its first eligible pool,
 * its earliest window; wide = 1 adds room for every item of that pool. */
static int shortfall_entries(solver *sv, const fr_plan_unplaced *un, size_t nun, int wide,
                             fr_plan_shortfall *out, size_t *count)
{
    const fr_plan_input *in = sv->in;
    int64_t *sums = wide ? eligible_sums(in) : NULL;
    if (wide && sums == NULL) {
        return FR_ENOMEM;
    }
    size_t n = 0;
    for (size_t k = 0; k < nun; k++) {
        if (un[k].reason != FR_PLAN_INSUFFICIENT_CAPACITY) {
            continue;
        }
        const fr_plan_item *it = &in->items[un[k].item];
        size_t p = 0;
        while (p < in->pool_count && !eligible(&in->pools[p], it)) {
            p++;
        }
        int64_t lo = 0, hi = 0;
        (void)window(in, it, &lo, &hi);
        int64_t e = lo + it->duration_ms;
        /* Next to what was placed, the window lacks q - min_free; wide:
         * room for q below zero plus every other item of the pool. */
        int64_t min_free = profile_min(&sv->prof[p], lo, e);
        int64_t extra = wide ? sums[p] - (min_free < 0 ? min_free : 0)
                             : it->quantity_milli - min_free;
        out[n++] = (fr_plan_shortfall){p, lo, e, extra > 0 ? extra : 1};
    }
    free(sums);
    qsort(out, n, sizeof *out, by_pool_start);
    *count = n;
    return FR_OK;
}

/* 1 when a re-plan with the extras places every capacity-starved item. */
static int shortfall_suffices(const fr_plan_input *in, const fr_plan_shortfall *extra, size_t n,
                              const fr_plan_unplaced *un, size_t nun, int *ok, uint64_t *moves)
{
    solver sv;
    int rc = solver_init(&sv, in, extra, n);
    if (rc == FR_OK) {
        rc = greedy(&sv);
    }
    *ok = rc == FR_OK && !sv.exhausted;
    for (size_t k = 0; *ok && k < nun; k++) {
        if (un[k].reason == FR_PLAN_INSUFFICIENT_CAPACITY && sv.start[un[k].item] == INT64_MIN) {
            *ok = 0;
        }
    }
    *moves += sv.moves;
    solver_free(&sv);
    return rc;
}

/* Fills the result from the solved state. */
static int collect(solver *sv, fr_plan_result *out)
{
    const fr_plan_input *in = sv->in;
    size_t ni = in->item_count;
    memset(out, 0, sizeof *out);
    out->assignments = malloc((ni + 1) * sizeof *out->assignments);
    out->unplaced = malloc((ni + 1) * sizeof *out->unplaced);
    out->shortfall = malloc((ni + 1) * sizeof *out->shortfall);
    if (out->assignments == NULL || out->unplaced == NULL || out->shortfall == NULL) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < ni; i++) {
        const fr_plan_item *it = &in->items[i];
        if (sv->start[i] == INT64_MIN) {
            out->unplaced[out->unplaced_count++] = (fr_plan_unplaced){i, reason_of(sv, i)};
            continue;
        }
        int64_t s = sv->start[i];
        out->assignments[out->assignment_count++] =
            (fr_plan_assignment){i, sv->pool_of[i], s, s + it->duration_ms};
        int64_t lo = it->earliest_start_ms > in->horizon_start_ms ? it->earliest_start_ms
                                                                   : in->horizon_start_ms;
        out->placed_priority += it->priority + 1;
        out->total_delay_ms += s - lo;
    }
    return FR_OK;
}

int fr__plan_solve(const fr_plan_input *input, fr_plan_result *out)
{
    if (out == NULL || check_input(input) != FR_OK) {
        return FR_EINVAL;
    }
    solver sv;
    fr_plan_result r;
    memset(&r, 0, sizeof r);
    int rc = solver_init(&sv, input, NULL, 0);
    if (rc == FR_OK) {
        rc = greedy(&sv);
    }
    if (rc == FR_OK) {
        rc = collect(&sv, &r);
    }
    for (int wide = sv.exhausted; rc == FR_OK && wide < 2; wide++) {
        rc = shortfall_entries(&sv, r.unplaced, r.unplaced_count, wide, r.shortfall,
                               &r.shortfall_count);
        if (rc != FR_OK || r.shortfall_count == 0 || wide) {
            break; /* nothing to place, or the bound that always suffices */
        }
        int ok = 0;
        rc = shortfall_suffices(input, r.shortfall, r.shortfall_count, r.unplaced,
                                r.unplaced_count, &ok, &sv.moves);
        if (ok) {
            break;
        }
    }
    if (rc == FR_OK) {
        r.moves = sv.moves;
        *out = r;
    } else {
        fr__plan_result_free(&r);
    }
    solver_free(&sv);
    return rc;
}

void fr__plan_result_free(fr_plan_result *result)
{
    if (result == NULL) {
        return;
    }
    free(result->assignments);
    free(result->unplaced);
    free(result->shortfall);
    memset(result, 0, sizeof *result);
}

const char *fr__plan_reason_name(int reason)
{
    switch (reason) {
    case FR_PLAN_NO_POOL_OF_TYPE: return "no_pool_of_type";
    case FR_PLAN_WINDOW_OUTSIDE_HORIZON: return "window_outside_horizon";
    case FR_PLAN_INSUFFICIENT_CAPACITY: return "insufficient_capacity";
    case FR_PLAN_VEHICLE_BUSY: return "vehicle_busy";
    default: return "unknown";
    }
}
