/*
 * planner.c — the horizon planner's entry point (SPEC §7, lib/planner.h):
 * checks the input, builds the working state (free profiles, each item's
 * window and eligible pools, the vehicles' timelines), runs the search
 * (planner_search.c), and renders assignments, unplaced items and the
 * shortfall (planner_shortfall.c).
 *
 * Eligible pools are found without scanning every pool per item: pools are
 * sorted by (resource_type, site, index), so an item's candidates are one
 * contiguous range found by binary search, narrowed by its site; a pool_id
 * constraint is resolved once against the pools sorted by id.
 */
#include "planner.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"
#include "planner_core.h"

#define PLAN_BUSY_MAX 1000000

const char *fr__plan_reason_name(int reason) {
    switch (reason) {
    case FR_PLAN_NO_POOL_OF_TYPE: return "no_pool_of_type";
    case FR_PLAN_WINDOW_OUTSIDE_HORIZON: return "window_outside_horizon";
    case FR_PLAN_INSUFFICIENT_CAPACITY: return "insufficient_capacity";
    case FR_PLAN_VEHICLE_BUSY: return "vehicle_busy";
    default: return "unknown";
    }
}

static int time_ok(int64_t t_ms) { return t_ms >= -FR__PLAN_TIME_ABS_MAX && t_ms <= FR__PLAN_TIME_ABS_MAX; }
static int amount_ok(int64_t v) { return v >= -FR__PLAN_TIME_ABS_MAX && v <= FR__PLAN_TIME_ABS_MAX; }

static int pool_valid(const fr_plan_input *in, const fr_plan_pool *p) {
    if (!p->id || !p->resource_type || p->step_count < 1 || !p->step_start_ms ||
        !p->step_free_milli || p->step_count > FR_PLAN_ITEMS_MAX * 4) {
        return 0;
    }
    if (p->step_start_ms[0] != in->horizon_start_ms) {
        return 0;
    }
    for (size_t i = 0; i < p->step_count; i++) {
        if (!amount_ok(p->step_free_milli[i]) || p->step_start_ms[i] >= in->horizon_end_ms) {
            return 0;
        }
        if (i > 0 && p->step_start_ms[i] <= p->step_start_ms[i - 1]) {
            return 0;
        }
    }
    return 1;
}

static int item_valid(const fr_plan_item *it) {
    if (!it->resource_type || it->quantity_milli <= 0 || it->quantity_milli > FR__PLAN_QUANTITY_MAX ||
        it->duration_ms <= 0 || it->duration_ms > FR__PLAN_TIME_ABS_MAX ||
        !time_ok(it->earliest_start_ms) || it->priority < 0 || it->priority > 1000) {
        return 0;
    }
    if (it->latest_end_ms != FR_PLAN_NO_DEADLINE &&
        (!time_ok(it->latest_end_ms) || it->latest_end_ms < it->earliest_start_ms)) {
        return 0;
    }
    return 1;
}

static int busy_valid(const fr_plan_busy *b) {
    return b->vehicle_id && b->resource_type && time_ok(b->start_ms) &&
           (b->end_ms == FR_PLAN_NO_DEADLINE || time_ok(b->end_ms)) && b->start_ms < b->end_ms;
}

static int input_valid(const fr_plan_input *in) {
    if (!time_ok(in->horizon_start_ms) || !time_ok(in->horizon_end_ms) ||
        in->horizon_end_ms <= in->horizon_start_ms || in->pool_count > FR_PLAN_POOLS_MAX ||
        in->item_count > FR_PLAN_ITEMS_MAX || in->busy_count > PLAN_BUSY_MAX ||
        in->time_budget_ms <= 0 || in->time_budget_ms > FR__PLAN_BUDGET_MS_MAX) {
        return 0;
    }
    if ((in->pool_count && !in->pools) || (in->item_count && !in->items) ||
        (in->busy_count && !in->busy)) {
        return 0;
    }
    for (size_t i = 0; i < in->pool_count; i++) {
        if (!pool_valid(in, &in->pools[i])) {
            return 0;
        }
    }
    for (size_t i = 0; i < in->item_count; i++) {
        if (!item_valid(&in->items[i])) {
            return 0;
        }
    }
    for (size_t i = 0; i < in->busy_count; i++) {
        if (!busy_valid(&in->busy[i])) {
            return 0;
        }
    }
    return 1;
}

/* ---- sorting helpers: every key carries what it compares, so qsort needs
 * no shared context and solves may run on several threads at once. */

static int str_cmp_null_first(const char *a, const char *b) {
    if (!a || !b) {
        return (a != NULL) - (b != NULL);
    }
    return strcmp(a, b);
}

typedef struct pool_key {
    const fr_plan_pool *pool;
    size_t index;
} pool_key;

static int pool_key_cmp(const void *pa, const void *pb) {
    const pool_key *a = pa;
    const pool_key *b = pb;
    int c = strcmp(a->pool->resource_type, b->pool->resource_type);
    if (c == 0) {
        c = str_cmp_null_first(a->pool->site, b->pool->site);
    }
    if (c == 0) {
        c = (a->index > b->index) - (a->index < b->index);
    }
    return c;
}

static int pool_id_cmp(const void *pa, const void *pb) {
    const pool_key *a = pa;
    const pool_key *b = pb;
    int c = strcmp(a->pool->id, b->pool->id);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

typedef struct vkey {
    const char *vehicle_id;
    const char *resource_type;
    size_t index; /* item index, or item_count + busy index */
} vkey;

static int vkey_cmp(const void *pa, const void *pb) {
    const vkey *a = pa;
    const vkey *b = pb;
    int c = strcmp(a->vehicle_id, b->vehicle_id);
    if (c == 0) {
        c = strcmp(a->resource_type, b->resource_type);
    }
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

/* The first position in keys[0..n) whose (type, site) is >= the given one;
 * with site_any, only the type is compared. */
static size_t pool_lower(const fr__plan_state *st, const char *type, const char *site,
                         int site_any, int upper) {
    size_t lo = 0;
    size_t hi = st->in->pool_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const fr_plan_pool *p = &st->in->pools[st->pool_order[mid]];
        int c = strcmp(p->resource_type, type);
        if (c == 0 && !site_any) {
            c = str_cmp_null_first(p->site, site);
        }
        if (c < 0 || (upper && c == 0)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Pools sorted by (type, site, index) and by id; duplicate ids are invalid. */
static int pools_index(fr__plan_state *st, pool_key **by_id_out) {
    const fr_plan_input *in = st->in;
    size_t n = in->pool_count;
    pool_key *keys = malloc((n ? n : 1) * sizeof *keys);
    pool_key *by_id = malloc((n ? n : 1) * sizeof *by_id);
    if (!keys || !by_id) {
        free(keys);
        free(by_id);
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i] = (pool_key){&in->pools[i], i};
    }
    memcpy(by_id, keys, n * sizeof *keys);
    qsort(keys, n, sizeof *keys, pool_key_cmp);
    qsort(by_id, n, sizeof *by_id, pool_id_cmp);
    for (size_t i = 0; i < n; i++) {
        st->pool_order[i] = keys[i].index;
    }
    free(keys);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(by_id[i].pool->id, by_id[i - 1].pool->id) == 0) {
            free(by_id);
            return FR_EINVAL;
        }
    }
    *by_id_out = by_id;
    return FR_OK;
}

static size_t pool_by_id(const pool_key *by_id, size_t n, const char *id) {
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(by_id[mid].pool->id, id);
        if (c == 0) {
            return by_id[mid].index;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return SIZE_MAX;
}

/* Each item's window, eligible range and static reason. */
static void items_index(fr__plan_state *st, const pool_key *by_id) {
    const fr_plan_input *in = st->in;
    for (size_t i = 0; i < in->item_count; i++) {
        const fr_plan_item *it = &in->items[i];
        fr__plan_item_info *inf = &st->info[i];
        inf->lo_ms = it->earliest_start_ms > in->horizon_start_ms ? it->earliest_start_ms
                                                                   : in->horizon_start_ms;
        int64_t hi_ms = it->latest_end_ms < in->horizon_end_ms ? it->latest_end_ms
                                                               : in->horizon_end_ms;
        inf->latest_ms = hi_ms - it->duration_ms;
        int site_any = it->site == NULL;
        inf->pool_begin = pool_lower(st, it->resource_type, it->site, site_any, 0);
        inf->pool_end = pool_lower(st, it->resource_type, it->site, site_any, 1);
        inf->only_pool = SIZE_MAX;
        inf->vehicle = SIZE_MAX;
        int any = 0;
        if (it->pool_id) {
            size_t p = pool_by_id(by_id, in->pool_count, it->pool_id);
            inf->only_pool = p;
            any = p != SIZE_MAX && fr__plan_eligible(st, i, p);
        } else {
            any = inf->pool_begin < inf->pool_end;
        }
        inf->reason_static = 0;
        if (!any) {
            inf->reason_static = FR_PLAN_NO_POOL_OF_TYPE;
        } else if (inf->latest_ms < inf->lo_ms) {
            inf->reason_static = FR_PLAN_WINDOW_OUTSIDE_HORIZON;
        }
    }
}

static int vehicle_push(fr__plan_vehicle *v, fr__plan_vspan span) {
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        fr__plan_vspan *grown = realloc(v->spans, cap * sizeof *grown);
        if (!grown) {
            return FR_ENOMEM;
        }
        v->spans = grown;
        v->cap = cap;
    }
    v->spans[v->count++] = span;
    return FR_OK;
}

/* Groups items and busy intervals by (vehicle_id, resource_type). */
static int vehicles_index(fr__plan_state *st) {
    const fr_plan_input *in = st->in;
    size_t n = 0;
    for (size_t i = 0; i < in->item_count; i++) {
        n += in->items[i].vehicle_id != NULL;
    }
    if (n == 0) {
        return FR_OK; /* busy intervals matter only to items with a vehicle */
    }
    vkey *keys = malloc((n + in->busy_count) * sizeof *keys);
    st->vehicles = calloc(n + in->busy_count, sizeof *st->vehicles);
    if (!keys || !st->vehicles) {
        free(keys);
        return FR_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < in->item_count; i++) {
        if (in->items[i].vehicle_id) {
            keys[k++] = (vkey){in->items[i].vehicle_id, in->items[i].resource_type, i};
        }
    }
    for (size_t b = 0; b < in->busy_count; b++) {
        keys[k++] = (vkey){in->busy[b].vehicle_id, in->busy[b].resource_type, in->item_count + b};
    }
    qsort(keys, k, sizeof *keys, vkey_cmp);
    int rc = FR_OK;
    for (size_t j = 0; j < k && rc == FR_OK; j++) {
        if (j == 0 || vkey_cmp(&(vkey){keys[j - 1].vehicle_id, keys[j - 1].resource_type, 0},
                               &(vkey){keys[j].vehicle_id, keys[j].resource_type, 0}) != 0) {
            st->vehicle_count++;
        }
        size_t v = st->vehicle_count - 1;
        if (keys[j].index < in->item_count) {
            st->info[keys[j].index].vehicle = v;
        } else {
            const fr_plan_busy *b = &in->busy[keys[j].index - in->item_count];
            rc = vehicle_push(&st->vehicles[v], (fr__plan_vspan){b->start_ms, b->end_ms, SIZE_MAX, 1});
        }
    }
    free(keys);
    return rc;
}

static int profiles_build(fr__plan_state *st, const fr_plan_shortfall *extra, size_t extra_count) {
    const fr_plan_input *in = st->in;
    for (size_t p = 0; p < in->pool_count; p++) {
        const fr_plan_pool *pool = &in->pools[p];
        st->profiles[p] = fr__profile_new(in->horizon_end_ms, pool->step_count, pool->step_start_ms,
                                          pool->step_free_milli);
        if (!st->profiles[p]) {
            return FR_ENOMEM;
        }
    }
    for (size_t e = 0; e < extra_count; e++) {
        const fr_plan_shortfall *x = &extra[e];
        if (x->pool >= in->pool_count || x->start_ms >= x->end_ms || !amount_ok(x->extra_milli)) {
            return FR_EINVAL;
        }
        int rc = fr__profile_add(st->profiles[x->pool], x->start_ms, x->end_ms, x->extra_milli);
        if (rc != FR_OK) {
            return rc;
        }
    }
    return FR_OK;
}

int fr__plan_state_init(fr__plan_state *st, const fr_plan_input *in,
                        const fr_plan_shortfall *extra, size_t extra_count) {
    memset(st, 0, sizeof *st);
    st->in = in;
    size_t np = in->pool_count ? in->pool_count : 1;
    size_t ni = in->item_count ? in->item_count : 1;
    st->profiles = calloc(np, sizeof *st->profiles);
    st->pool_order = calloc(np, sizeof *st->pool_order);
    st->pool_items = calloc(np, sizeof *st->pool_items);
    st->pool_item_count = calloc(np, sizeof *st->pool_item_count);
    st->pool_item_cap = calloc(np, sizeof *st->pool_item_cap);
    st->info = calloc(ni, sizeof *st->info);
    st->pool_of = malloc(ni * sizeof *st->pool_of);
    st->start_of = calloc(ni, sizeof *st->start_of);
    st->slot_in_pool = calloc(ni, sizeof *st->slot_in_pool);
    if (!st->profiles || !st->pool_order || !st->pool_items || !st->pool_item_count ||
        !st->pool_item_cap || !st->info || !st->pool_of || !st->start_of || !st->slot_in_pool) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < in->item_count; i++) {
        st->pool_of[i] = FR__PLAN_UNPLACED;
    }
    pool_key *by_id = NULL;
    int rc = pools_index(st, &by_id);
    if (rc != FR_OK) {
        return rc;
    }
    items_index(st, by_id);
    free(by_id);
    rc = vehicles_index(st);
    if (rc == FR_OK) {
        rc = profiles_build(st, extra, extra_count);
    }
    uint64_t budget_ms = (uint64_t)in->time_budget_ms;
    st->moves_budget = budget_ms * FR__PLAN_MOVES_PER_MS;
    return rc;
}

void fr__plan_state_free(fr__plan_state *st) {
    const fr_plan_input *in = st->in;
    for (size_t p = 0; st->profiles && p < in->pool_count; p++) {
        fr__profile_free(st->profiles[p]);
    }
    for (size_t p = 0; st->pool_items && p < in->pool_count; p++) {
        free(st->pool_items[p]);
    }
    for (size_t v = 0; v < st->vehicle_count; v++) {
        free(st->vehicles[v].spans);
    }
    free(st->vehicles);
    free(st->profiles);
    free(st->pool_order);
    free(st->pool_items);
    free(st->pool_item_count);
    free(st->pool_item_cap);
    free(st->info);
    free(st->pool_of);
    free(st->start_of);
    free(st->slot_in_pool);
    memset(st, 0, sizeof *st);
}

int fr__planner_run(const fr_plan_input *in, const fr_plan_shortfall *extra, size_t extra_count,
                 int fcfs, fr__plan_state *st) {
    int rc = fr__plan_state_init(st, in, extra, extra_count);
    if (rc == FR_OK) {
        rc = fr__plan_search(st, fcfs);
    }
    if (rc == FR_OK && st->oom) {
        rc = FR_ENOMEM;
    }
    if (rc != FR_OK) {
        fr__plan_state_free(st);
    }
    return rc;
}

/* Assignments by item index, and the score. */
static int result_assignments(const fr__plan_state *st, fr_plan_result *out) {
    const fr_plan_input *in = st->in;
    size_t placed = 0;
    for (size_t i = 0; i < in->item_count; i++) {
        placed += st->pool_of[i] != FR__PLAN_UNPLACED;
    }
    out->assignments = malloc((placed ? placed : 1) * sizeof *out->assignments);
    if (!out->assignments) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < in->item_count; i++) {
        if (st->pool_of[i] != FR__PLAN_UNPLACED) {
            out->assignments[out->assignment_count++] = (fr_plan_assignment){
                i, st->pool_of[i], st->start_of[i], st->start_of[i] + in->items[i].duration_ms};
        }
    }
    out->placed_priority = st->placed_priority;
    out->total_delay_ms = st->total_delay_ms;
    out->moves = st->moves;
    return FR_OK;
}

static int solve_mode(const fr_plan_input *in, fr_plan_result *out, int fcfs) {
    if (!in || !out || !input_valid(in)) {
        return FR_EINVAL;
    }
    fr__plan_state st;
    int rc = fr__planner_run(in, NULL, 0, fcfs, &st);
    if (rc != FR_OK) {
        return rc;
    }
    fr_plan_result res;
    memset(&res, 0, sizeof res);
    rc = result_assignments(&st, &res);
    if (rc == FR_OK) {
        rc = fr__plan_unplaced_reasons(&st, &res);
    }
    if (rc == FR_OK && !fcfs) {
        rc = fr__plan_shortfall(in, &st, &res);
    }
    fr__plan_state_free(&st);
    if (rc != FR_OK) {
        fr__plan_result_free(&res);
        return rc;
    }
    *out = res;
    return FR_OK;
}

int fr__plan_solve(const fr_plan_input *input, fr_plan_result *out) {
    return solve_mode(input, out, 0);
}

int fr__plan_solve_fcfs(const fr_plan_input *input, fr_plan_result *out) {
    return solve_mode(input, out, 1);
}

void fr__plan_result_free(fr_plan_result *result) {
    if (!result) {
        return;
    }
    free(result->assignments);
    free(result->unplaced);
    free(result->shortfall);
    memset(result, 0, sizeof *result);
}
