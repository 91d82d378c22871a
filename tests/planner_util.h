/*
 * planner_util.h — random planner instances, their text form, and an
 * independent feasibility checker, shared by tests/test_planner.c and
 * bench/bench_planner.c (header-only: static functions).
 *
 * The checker shares no code with lib/planner*.c: it recomputes eligibility
 * with strcmp, the load of every pool at every boundary point by brute force,
 * and the vehicle rule pairwise, so a bug in the planner's data structures
 * cannot hide itself.
 */
#ifndef FR_TESTS_PLANNER_UTIL_H
#define FR_TESTS_PLANNER_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"

#define PL_HOUR_MS INT64_C(3600000)
#define PL_ID_SIZE 24

static const char *const pl_types[] = {"gpu", "dock", "charger", "bay", "crane", "lift", "tug", "pump"};
static const char *const pl_sites[] = {"north", "south", "east", "west"};

/* An instance that owns its storage. */
typedef struct pl_inst {
    fr_plan_input in;
    fr_plan_pool *pools;
    fr_plan_item *items;
    fr_plan_busy *busy;
    int64_t **step_start;
    int64_t **step_free;
    char (*pool_ids)[PL_ID_SIZE];
    char (*vehicle_ids)[PL_ID_SIZE];
    size_t vehicle_count;
} pl_inst;

typedef struct pl_params {
    size_t pools;
    size_t items;
    size_t types;          /* 1..8 */
    size_t sites;          /* 0..4: 0 = no sites */
    size_t vehicles;       /* 0: no vehicle ids */
    size_t busy;           /* fixed busy intervals */
    int64_t horizon_hours;
    size_t steps_max;      /* per pool */
    int64_t cap_min_milli; /* step free values */
    int64_t cap_max_milli;
    int64_t qty_max_milli; /* items: 1..qty_max whole units (x1000) */
    int64_t dur_max_hours;
    int64_t slack_max_hours; /* window = duration + 0..slack */
    int deadline_pct;      /* share of items with a latest_end */
    int site_pct;          /* share of items with a site constraint */
    int pool_pct;          /* share of items with a pool_id constraint */
    int vehicle_pct;       /* share of items with a vehicle */
    int exclusive_pct;     /* share of exclusive pools */
    int outside_pct;       /* share of items starting before / after the horizon */
    int64_t unit_ms;       /* time granularity (hours in MILP instances) */
} pl_params;

static inline uint64_t pl_rand(uint64_t *s) {
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline int64_t pl_range(uint64_t *s, int64_t lo, int64_t hi) {
    if (hi <= lo) {
        return lo;
    }
    return lo + (int64_t)(pl_rand(s) % (uint64_t)(hi - lo + 1));
}

static inline void pl_free(pl_inst *x) {
    for (size_t p = 0; x->step_start && p < x->in.pool_count; p++) {
        free(x->step_start[p]);
        free(x->step_free[p]);
    }
    free(x->step_start);
    free(x->step_free);
    free(x->pools);
    free(x->items);
    free(x->busy);
    free(x->pool_ids);
    free(x->vehicle_ids);
    memset(x, 0, sizeof *x);
}

/* Allocates the arrays of an instance of the given sizes; 0 on failure. */
static inline int pl_alloc(pl_inst *x, size_t pools, size_t items, size_t busy, size_t vehicles) {
    memset(x, 0, sizeof *x);
    x->in.pool_count = pools;
    x->in.item_count = items;
    x->in.busy_count = busy;
    x->vehicle_count = vehicles;
    x->pools = calloc(pools + 1, sizeof *x->pools);
    x->items = calloc(items + 1, sizeof *x->items);
    x->busy = calloc(busy + 1, sizeof *x->busy);
    x->step_start = calloc(pools + 1, sizeof *x->step_start);
    x->step_free = calloc(pools + 1, sizeof *x->step_free);
    x->pool_ids = calloc(pools + 1, sizeof *x->pool_ids);
    x->vehicle_ids = calloc(vehicles + 1, sizeof *x->vehicle_ids);
    x->in.pools = x->pools;
    x->in.items = x->items;
    x->in.busy = x->busy;
    for (size_t v = 0; x->vehicle_ids && v < vehicles; v++) {
        snprintf(x->vehicle_ids[v], PL_ID_SIZE, "v%zu", v);
    }
    return x->pools && x->items && x->busy && x->step_start && x->step_free && x->pool_ids &&
           x->vehicle_ids;
}

static inline int pl_gen_pool(pl_inst *x, size_t p, const pl_params *pr, uint64_t *s) {
    int64_t units = pr->horizon_hours * PL_HOUR_MS / pr->unit_ms;
    size_t n = (size_t)pl_range(s, 1, (int64_t)pr->steps_max);
    x->step_start[p] = malloc(n * sizeof(int64_t));
    x->step_free[p] = malloc(n * sizeof(int64_t));
    if (!x->step_start[p] || !x->step_free[p]) {
        return 0;
    }
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t t = k == 0 ? 0 : pl_range(s, 1, units - 1) * pr->unit_ms;
        int dup = 0;
        for (size_t j = 0; j < m; j++) {
            dup |= x->step_start[p][j] == t;
        }
        if (!dup) {
            x->step_start[p][m++] = t;
        }
    }
    for (size_t a = 1; a < m; a++) { /* insertion sort; m is small */
        for (size_t b = a; b > 0 && x->step_start[p][b] < x->step_start[p][b - 1]; b--) {
            int64_t t = x->step_start[p][b];
            x->step_start[p][b] = x->step_start[p][b - 1];
            x->step_start[p][b - 1] = t;
        }
    }
    for (size_t k = 0; k < m; k++) {
        x->step_start[p][k] += x->in.horizon_start_ms;
        x->step_free[p][k] = pl_range(s, pr->cap_min_milli / 1000, pr->cap_max_milli / 1000) * 1000;
    }
    snprintf(x->pool_ids[p], PL_ID_SIZE, "p%zu", p);
    x->pools[p] = (fr_plan_pool){x->pool_ids[p], pl_types[p % pr->types],
                                 pr->sites ? pl_sites[(p / pr->types) % pr->sites] : NULL,
                                 (int)pl_range(s, 0, 99) < pr->exclusive_pct, m, x->step_start[p],
                                 x->step_free[p]};
    return 1;
}

static inline void pl_gen_item(pl_inst *x, size_t i, const pl_params *pr, uint64_t *s) {
    int64_t units = pr->horizon_hours * PL_HOUR_MS / pr->unit_ms;
    int64_t hu = PL_HOUR_MS / pr->unit_ms; /* units per hour */
    fr_plan_item *it = &x->items[i];
    size_t type = (size_t)pl_range(s, 0, (int64_t)pr->types - 1);
    it->resource_type = pl_types[type];
    if (pr->sites && pl_range(s, 0, 99) < pr->site_pct) {
        it->site = pl_sites[pl_range(s, 0, (int64_t)pr->sites - 1)];
    }
    if (x->in.pool_count && pl_range(s, 0, 99) < pr->pool_pct) {
        it->pool_id = x->pool_ids[pl_range(s, 0, (int64_t)x->in.pool_count - 1)];
    }
    if (x->vehicle_count && pl_range(s, 0, 99) < pr->vehicle_pct) {
        it->vehicle_id = x->vehicle_ids[pl_range(s, 0, (int64_t)x->vehicle_count - 1)];
    }
    it->quantity_milli = pl_range(s, 1, pr->qty_max_milli / 1000) * 1000;
    int64_t dur = pl_range(s, 1, pr->dur_max_hours * hu);
    it->duration_ms = dur * pr->unit_ms;
    int64_t start = pl_range(s, 0, units - 1);
    if (pl_range(s, 0, 99) < pr->outside_pct) {
        start += pl_range(s, 0, 1) ? -pl_range(s, 1, 4 * hu) : units - pl_range(s, 0, 2 * hu);
    }
    it->earliest_start_ms = x->in.horizon_start_ms + start * pr->unit_ms;
    it->latest_end_ms = FR_PLAN_NO_DEADLINE;
    if (pl_range(s, 0, 99) < pr->deadline_pct) {
        it->latest_end_ms = it->earliest_start_ms +
                            (dur + pl_range(s, 0, pr->slack_max_hours * hu)) * pr->unit_ms;
    }
    it->priority = (int)pl_range(s, 0, 9) * (pl_range(s, 0, 3) == 0 ? 100 : 1);
}

/* A random instance; 0 on allocation failure. */
static inline int pl_gen(pl_inst *x, const pl_params *pr, uint64_t seed) {
    uint64_t s = seed;
    if (!pl_alloc(x, pr->pools, pr->items, pr->busy, pr->vehicles)) {
        pl_free(x);
        return 0;
    }
    x->in.horizon_start_ms = INT64_C(1767225600000); /* 2026-01-01 */
    x->in.horizon_end_ms = x->in.horizon_start_ms + pr->horizon_hours * PL_HOUR_MS;
    x->in.time_budget_ms = 200;
    for (size_t p = 0; p < pr->pools; p++) {
        if (!pl_gen_pool(x, p, pr, &s)) {
            pl_free(x);
            return 0;
        }
    }
    for (size_t i = 0; i < pr->items; i++) {
        pl_gen_item(x, i, pr, &s);
    }
    int64_t units = pr->horizon_hours * PL_HOUR_MS / pr->unit_ms;
    for (size_t b = 0; b < pr->busy; b++) {
        int64_t a = pl_range(&s, -2, units);
        int64_t len = pl_range(&s, 1, units / 4 + 1);
        x->busy[b] = (fr_plan_busy){x->vehicle_ids[pl_range(&s, 0, (int64_t)pr->vehicles - 1)],
                                    pl_types[pl_range(&s, 0, (int64_t)pr->types - 1)],
                                    x->in.horizon_start_ms + a * pr->unit_ms,
                                    x->in.horizon_start_ms + (a + len) * pr->unit_ms};
        if (pl_range(&s, 0, 9) == 0) {
            x->busy[b].end_ms = FR_PLAN_NO_DEADLINE;
        }
    }
    return 1;
}

/* ---- the independent checker ------------------------------------------ */

static inline int pl_eligible(const fr_plan_item *it, const fr_plan_pool *p) {
    return strcmp(it->resource_type, p->resource_type) == 0 &&
           (!it->site || (p->site && strcmp(it->site, p->site) == 0)) &&
           (!it->pool_id || strcmp(it->pool_id, p->id) == 0);
}

static inline int64_t pl_free_at(const fr_plan_pool *p, int64_t t) {
    int64_t v = p->step_free_milli[0];
    for (size_t k = 0; k < p->step_count && p->step_start_ms[k] <= t; k++) {
        v = p->step_free_milli[k];
    }
    return v;
}

static inline int pl_fail(char *err, size_t len, const char *msg, size_t a, size_t b) {
    snprintf(err, len, "%s (%zu, %zu)", msg, a, b);
    return 0;
}

static inline int64_t pl_load_at(const fr_plan_input *in, const fr_plan_result *r, size_t p, int64_t t) {
    int64_t load = 0;
    for (size_t b = 0; b < r->assignment_count; b++) {
        const fr_plan_assignment *x = &r->assignments[b];
        if (x->pool == p && x->start_ms <= t && t < x->end_ms) {
            load += in->items[x->item].quantity_milli;
        }
    }
    return load;
}

/* The load changes only at assignment starts and the free value only at step
 * starts, so checking at all of them checks every instant. */
static inline int pl_check_capacity(const fr_plan_input *in, const fr_plan_result *r, char *err, size_t len) {
    for (size_t p = 0; p < in->pool_count; p++) {
        const fr_plan_pool *pool = &in->pools[p];
        for (size_t k = 0; k < pool->step_count + r->assignment_count; k++) {
            int64_t t = 0;
            if (k < pool->step_count) {
                t = pool->step_start_ms[k];
            } else if (r->assignments[k - pool->step_count].pool == p) {
                t = r->assignments[k - pool->step_count].start_ms;
            } else {
                continue;
            }
            int64_t load = pl_load_at(in, r, p, t);
            if (load > 0 && load > pl_free_at(pool, t)) {
                return pl_fail(err, len, "over capacity at pool/point", p, k);
            }
        }
    }
    return 1;
}

static inline int pl_check_vehicles(const fr_plan_input *in, const fr_plan_result *r, char *err, size_t len) {
    for (size_t a = 0; a < r->assignment_count; a++) {
        const fr_plan_assignment *x = &r->assignments[a];
        const fr_plan_item *ix = &in->items[x->item];
        int ex = in->pools[x->pool].exclusive_per_vehicle;
        if (!ix->vehicle_id) {
            continue;
        }
        for (size_t b = 0; ex && b < in->busy_count; b++) {
            const fr_plan_busy *bz = &in->busy[b];
            if (strcmp(bz->vehicle_id, ix->vehicle_id) == 0 &&
                strcmp(bz->resource_type, ix->resource_type) == 0 && bz->start_ms < x->end_ms &&
                x->start_ms < bz->end_ms) {
                return pl_fail(err, len, "vehicle busy overlap assignment/busy", a, b);
            }
        }
        for (size_t b = a + 1; b < r->assignment_count; b++) {
            const fr_plan_assignment *y = &r->assignments[b];
            const fr_plan_item *iy = &in->items[y->item];
            if (iy->vehicle_id && strcmp(iy->vehicle_id, ix->vehicle_id) == 0 &&
                strcmp(iy->resource_type, ix->resource_type) == 0 && y->start_ms < x->end_ms &&
                x->start_ms < y->end_ms && (ex || in->pools[y->pool].exclusive_per_vehicle)) {
                return pl_fail(err, len, "vehicle double use by assignments", a, b);
            }
        }
    }
    return 1;
}

/* 1 when r is a feasible answer to in with a correct score and a partition of
 * the items into assignments and unplaced; else 0 and err says why. */
static inline int pl_check(const fr_plan_input *in, const fr_plan_result *r, char *err, size_t len) {
    char *seen = calloc(in->item_count + 1, 1);
    if (!seen) {
        return pl_fail(err, len, "out of memory", 0, 0);
    }
    int64_t pp = 0;
    int64_t delay = 0;
    int ok = 1;
    for (size_t a = 0; ok && a < r->assignment_count; a++) {
        const fr_plan_assignment *x = &r->assignments[a];
        ok = x->item < in->item_count && x->pool < in->pool_count && !seen[x->item];
        if (!ok) {
            pl_fail(err, len, "bad or repeated assignment", a, x->item);
            break;
        }
        seen[x->item] = 1;
        const fr_plan_item *it = &in->items[x->item];
        int64_t lo = it->earliest_start_ms > in->horizon_start_ms ? it->earliest_start_ms : in->horizon_start_ms;
        int64_t hi = it->latest_end_ms < in->horizon_end_ms ? it->latest_end_ms : in->horizon_end_ms;
        ok = pl_eligible(it, &in->pools[x->pool]) && x->start_ms >= lo &&
             x->end_ms == x->start_ms + it->duration_ms && x->end_ms <= hi &&
             (a == 0 || r->assignments[a - 1].item < x->item);
        if (!ok) {
            pl_fail(err, len, "ineligible pool, window or order", a, x->item);
        }
        pp += it->priority + 1;
        delay += x->start_ms - lo;
    }
    for (size_t u = 0; ok && u < r->unplaced_count; u++) {
        ok = r->unplaced[u].item < in->item_count && !seen[r->unplaced[u].item] &&
             (u == 0 || r->unplaced[u - 1].item < r->unplaced[u].item) &&
             r->unplaced[u].reason >= FR_PLAN_NO_POOL_OF_TYPE && r->unplaced[u].reason <= FR_PLAN_VEHICLE_BUSY;
        if (!ok) {
            pl_fail(err, len, "bad unplaced entry", u, r->unplaced[u].item);
        } else {
            seen[r->unplaced[u].item] = 1;
        }
    }
    if (ok && r->assignment_count + r->unplaced_count != in->item_count) {
        ok = pl_fail(err, len, "items missing from the result", r->assignment_count, r->unplaced_count);
    }
    if (ok && (pp != r->placed_priority || delay != r->total_delay_ms)) {
        ok = pl_fail(err, len, "score mismatch", (size_t)pp, (size_t)delay);
    }
    free(seen);
    return ok && pl_check_capacity(in, r, err, len) && pl_check_vehicles(in, r, err, len);
}

/* dst = src with extra added to the free profiles (new step arrays); 0 on
 * allocation failure. */
static inline int pl_with_extra(const pl_inst *src, const fr_plan_shortfall *extra, size_t n, pl_inst *dst) {
    if (!pl_alloc(dst, src->in.pool_count, src->in.item_count, src->in.busy_count, 0)) {
        pl_free(dst);
        return 0;
    }
    dst->in.horizon_start_ms = src->in.horizon_start_ms;
    dst->in.horizon_end_ms = src->in.horizon_end_ms;
    dst->in.time_budget_ms = src->in.time_budget_ms;
    memcpy(dst->items, src->in.items, src->in.item_count * sizeof *dst->items);
    memcpy(dst->busy, src->in.busy, src->in.busy_count * sizeof *dst->busy);
    for (size_t p = 0; p < src->in.pool_count; p++) {
        const fr_plan_pool *sp = &src->in.pools[p];
        size_t cap = sp->step_count + 2 * n;
        dst->step_start[p] = malloc(cap * sizeof(int64_t));
        dst->step_free[p] = malloc(cap * sizeof(int64_t));
        if (!dst->step_start[p] || !dst->step_free[p]) {
            pl_free(dst);
            return 0;
        }
        size_t m = 0; /* boundaries: the steps' and the pieces', sorted unique */
        for (size_t k = 0; k < sp->step_count; k++) {
            dst->step_start[p][m++] = sp->step_start_ms[k];
        }
        for (size_t e = 0; e < n; e++) {
            if (extra[e].pool == p) {
                dst->step_start[p][m++] = extra[e].start_ms;
                if (extra[e].end_ms < src->in.horizon_end_ms) {
                    dst->step_start[p][m++] = extra[e].end_ms;
                }
            }
        }
        for (size_t a = 1; a < m; a++) {
            for (size_t b = a; b > 0 && dst->step_start[p][b] < dst->step_start[p][b - 1]; b--) {
                int64_t t = dst->step_start[p][b];
                dst->step_start[p][b] = dst->step_start[p][b - 1];
                dst->step_start[p][b - 1] = t;
            }
        }
        size_t u = 0;
        for (size_t k = 0; k < m; k++) {
            if (u == 0 || dst->step_start[p][k] != dst->step_start[p][u - 1]) {
                dst->step_start[p][u++] = dst->step_start[p][k];
            }
        }
        for (size_t k = 0; k < u; k++) {
            int64_t t = dst->step_start[p][k];
            int64_t v = pl_free_at(sp, t);
            for (size_t e = 0; e < n; e++) {
                if (extra[e].pool == p && extra[e].start_ms <= t && t < extra[e].end_ms) {
                    v += extra[e].extra_milli;
                }
            }
            dst->step_free[p][k] = v;
        }
        dst->pools[p] = *sp;
        dst->pools[p].step_count = u;
        dst->pools[p].step_start_ms = dst->step_start[p];
        dst->pools[p].step_free_milli = dst->step_free[p];
    }
    return 1;
}

/* ---- the small instances compared with the exact optimum ------------------- */

/* At most 14 requests on 2-3 pools, integer hours over 24 h, all pools
 * exclusive per vehicle (the MILP's vehicle rows assume it). */
static inline pl_params milp_params_for(uint64_t seed) {
    pl_params pr = {
        .pools = 2 + seed % 2, .items = 8 + seed % 7, .types = 1 + seed % 2, .sites = (seed / 3) % 2 ? 2 : 0,
        .vehicles = 3, .busy = seed % 3, .horizon_hours = 24, .steps_max = 3,
        .cap_min_milli = 1000, .cap_max_milli = 3000, .qty_max_milli = 2000, .dur_max_hours = 8,
        .slack_max_hours = 8, .deadline_pct = 70, .site_pct = 20, .pool_pct = 10, .vehicle_pct = 30,
        .exclusive_pct = 100, .outside_pct = 0, .unit_ms = PL_HOUR_MS,
    };
    return pr;
}

/* ---- text form: one instance per string, for stored regression data ----
 *   H <horizon_start_ms> <horizon_end_ms>
 *   P <type> <site|-> <exclusive> <steps> (<start_ms> <free_milli>)*   (id: p<index>)
 *   I <type> <site|-> <pool_id|-> <vehicle|-> <qty_milli> <dur_ms> <earliest_ms> <latest_end_ms|-> <priority>
 *   B <vehicle> <type> <start_ms> <end_ms|->
 */
static inline void pl_write(FILE *f, const fr_plan_input *in) {
    fprintf(f, "H %lld %lld\n", (long long)in->horizon_start_ms, (long long)in->horizon_end_ms);
    for (size_t p = 0; p < in->pool_count; p++) {
        const fr_plan_pool *pool = &in->pools[p];
        fprintf(f, "P %s %s %d %zu", pool->resource_type, pool->site ? pool->site : "-",
                pool->exclusive_per_vehicle, pool->step_count);
        for (size_t k = 0; k < pool->step_count; k++) {
            fprintf(f, " %lld %lld", (long long)pool->step_start_ms[k], (long long)pool->step_free_milli[k]);
        }
        fprintf(f, "\n");
    }
    for (size_t i = 0; i < in->item_count; i++) {
        const fr_plan_item *it = &in->items[i];
        fprintf(f, "I %s %s %s %s %lld %lld %lld ", it->resource_type, it->site ? it->site : "-",
                it->pool_id ? it->pool_id : "-", it->vehicle_id ? it->vehicle_id : "-",
                (long long)it->quantity_milli, (long long)it->duration_ms, (long long)it->earliest_start_ms);
        if (it->latest_end_ms == FR_PLAN_NO_DEADLINE) {
            fprintf(f, "- %d\n", it->priority);
        } else {
            fprintf(f, "%lld %d\n", (long long)it->latest_end_ms, it->priority);
        }
    }
    for (size_t b = 0; b < in->busy_count; b++) {
        const fr_plan_busy *bz = &in->busy[b];
        fprintf(f, "B %s %s %lld ", bz->vehicle_id, bz->resource_type, (long long)bz->start_ms);
        if (bz->end_ms == FR_PLAN_NO_DEADLINE) {
            fprintf(f, "-\n");
        } else {
            fprintf(f, "%lld\n", (long long)bz->end_ms);
        }
    }
}

/* Interns a token: one of the generator's names, or a stable copy. */
static inline const char *pl_name(const char *tok, char (*own)[PL_ID_SIZE], size_t *own_n) {
    if (strcmp(tok, "-") == 0) {
        return NULL;
    }
    for (size_t k = 0; k < sizeof pl_types / sizeof pl_types[0]; k++) {
        if (strcmp(tok, pl_types[k]) == 0) {
            return pl_types[k];
        }
    }
    for (size_t k = 0; k < sizeof pl_sites / sizeof pl_sites[0]; k++) {
        if (strcmp(tok, pl_sites[k]) == 0) {
            return pl_sites[k];
        }
    }
    for (size_t k = 0; k < *own_n; k++) {
        if (strcmp(tok, own[k]) == 0) {
            return own[k];
        }
    }
    snprintf(own[*own_n], PL_ID_SIZE, "%s", tok);
    return own[(*own_n)++];
}

static inline int64_t pl_num(const char *tok) {
    return strcmp(tok, "-") == 0 ? FR_PLAN_NO_DEADLINE : strtoll(tok, NULL, 10);
}

/* Parses the text form (lines split by '\n', tokens by spaces); 0 on a
 * malformed text or allocation failure. */
static inline int pl_parse(const char *text, pl_inst *x) {
    size_t np = 0, ni = 0, nb = 0, tokens = 0;
    for (const char *c = text; *c; c++) {
        np += *c == 'P' && (c == text || c[-1] == '\n');
        ni += *c == 'I' && (c == text || c[-1] == '\n');
        nb += *c == 'B' && (c == text || c[-1] == '\n');
        tokens += *c == ' ' || *c == '\n';
    }
    if (!pl_alloc(x, np, ni, nb, tokens + 1)) {
        pl_free(x);
        return 0;
    }
    char *buf = malloc(strlen(text) + 1);
    if (!buf) {
        pl_free(x);
        return 0;
    }
    strcpy(buf, text);
    size_t own_n = 0, p = 0, i = 0, b = 0;
    char *save = NULL;
    int ok = 1;
    for (char *line = strtok_r(buf, "\n", &save); ok && line; line = strtok_r(NULL, "\n", &save)) {
        char *tok[64];
        size_t n = 0;
        char *s2 = NULL;
        for (char *t = strtok_r(line, " ", &s2); t && n < 64; t = strtok_r(NULL, " ", &s2)) {
            tok[n++] = t;
        }
        if (n == 3 && tok[0][0] == 'H') {
            x->in.horizon_start_ms = pl_num(tok[1]);
            x->in.horizon_end_ms = pl_num(tok[2]);
        } else if (n >= 5 && tok[0][0] == 'P') {
            size_t steps = (size_t)pl_num(tok[4]);
            ok = n == 5 + 2 * steps && steps > 0;
            x->step_start[p] = malloc((steps + 1) * sizeof(int64_t));
            x->step_free[p] = malloc((steps + 1) * sizeof(int64_t));
            ok = ok && x->step_start[p] && x->step_free[p];
            for (size_t k = 0; ok && k < steps; k++) {
                x->step_start[p][k] = pl_num(tok[5 + 2 * k]);
                x->step_free[p][k] = pl_num(tok[6 + 2 * k]);
            }
            snprintf(x->pool_ids[p], PL_ID_SIZE, "p%zu", p);
            x->pools[p] = (fr_plan_pool){x->pool_ids[p], pl_name(tok[1], x->vehicle_ids, &own_n),
                                         pl_name(tok[2], x->vehicle_ids, &own_n), (int)pl_num(tok[3]),
                                         steps, x->step_start[p], x->step_free[p]};
            p++;
        } else if (n == 10 && tok[0][0] == 'I') {
            x->items[i++] = (fr_plan_item){"ref", NULL, pl_name(tok[1], x->vehicle_ids, &own_n),
                                           pl_name(tok[2], x->vehicle_ids, &own_n),
                                           pl_name(tok[3], x->vehicle_ids, &own_n),
                                           pl_name(tok[4], x->vehicle_ids, &own_n), pl_num(tok[5]),
                                           pl_num(tok[6]), pl_num(tok[7]), pl_num(tok[8]), (int)pl_num(tok[9])};
        } else if (n == 5 && tok[0][0] == 'B') {
            x->busy[b++] = (fr_plan_busy){pl_name(tok[1], x->vehicle_ids, &own_n),
                                          pl_name(tok[2], x->vehicle_ids, &own_n), pl_num(tok[3]), pl_num(tok[4])};
        } else {
            ok = 0;
        }
    }
    free(buf);
    x->in.time_budget_ms = 100;
    if (!ok || p != np || i != ni || b != nb) {
        pl_free(x);
        return 0;
    }
    return 1;
}

#endif /* FR_TESTS_PLANNER_UTIL_H */
