/*
 * planner_place.c — the planner's feasibility rules and moves: which pools an
 * item may use, whether its vehicle is free, the earliest feasible start on a
 * pool and over all its pools, and placing / removing an item (profile,
 * vehicle timeline, per-pool list and score kept in step).
 *
 * Candidate starts.  The earliest feasible start on a pool is the window's
 * start or a point where a blocking segment or vehicle span ends: the
 * profile search jumps from one to the next, so the answer is exact (the
 * true earliest instant), not a sampled one.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"
#include "planner_core.h"

int fr__plan_eligible(const fr__plan_state *st, size_t item, size_t pool) {
    const fr_plan_item *it = &st->in->items[item];
    const fr_plan_pool *p = &st->in->pools[pool];
    if (strcmp(it->resource_type, p->resource_type) != 0) {
        return 0;
    }
    if (it->site && (!p->site || strcmp(it->site, p->site) != 0)) {
        return 0;
    }
    return !it->pool_id || strcmp(it->pool_id, p->id) == 0;
}

size_t fr__plan_cand_count(const fr__plan_state *st, size_t item) {
    const fr__plan_item_info *inf = &st->info[item];
    if (inf->reason_static == FR_PLAN_NO_POOL_OF_TYPE) {
        return 0;
    }
    if (st->in->items[item].pool_id) {
        return inf->only_pool != SIZE_MAX ? 1 : 0;
    }
    return inf->pool_end - inf->pool_begin;
}

size_t fr__plan_cand(const fr__plan_state *st, size_t item, size_t k) {
    const fr__plan_item_info *inf = &st->info[item];
    if (st->in->items[item].pool_id) {
        assert(k == 0);
        return inf->only_pool;
    }
    assert(inf->pool_begin + k < inf->pool_end);
    return st->pool_order[inf->pool_begin + k];
}

/* Two takings of one vehicle clash when they overlap and one of them is on an
 * exclusive pool; fixed busy intervals bind only exclusive pools. */
int fr__plan_vehicle_free(const fr__plan_state *st, size_t item, size_t pool, int64_t start_ms,
                          int64_t *blocked_until_ms) {
    size_t v = st->info[item].vehicle;
    if (v == SIZE_MAX) {
        return 1;
    }
    int exclusive = st->in->pools[pool].exclusive_per_vehicle != 0;
    int64_t end_ms = start_ms + st->in->items[item].duration_ms;
    const fr__plan_vehicle *veh = &st->vehicles[v];
    int64_t until = INT64_MIN;
    for (size_t k = 0; k < veh->count; k++) {
        const fr__plan_vspan *sp = &veh->spans[k];
        if (sp->item == item || sp->start_ms >= end_ms || start_ms >= sp->end_ms) {
            continue;
        }
        int clash = sp->item == SIZE_MAX ? exclusive : (exclusive || sp->exclusive);
        if (clash && sp->end_ms > until) {
            until = sp->end_ms;
        }
    }
    if (until == INT64_MIN) {
        return 1;
    }
    *blocked_until_ms = until;
    return 0;
}

int fr__plan_fit_on(fr__plan_state *st, size_t item, size_t pool, int64_t from_ms,
                    int64_t latest_ms, int64_t *start_ms) {
    const fr_plan_item *it = &st->in->items[item];
    size_t v = st->info[item].vehicle;
    size_t rounds = v == SIZE_MAX ? 1 : st->vehicles[v].count + 1;
    st->moves++;
    /* Each blocked round moves past the end of one vehicle span for good. */
    for (size_t r = 0; r <= rounds; r++) {
        if (from_ms > latest_ms) {
            return 0;
        }
        int64_t s = 0;
        if (!fr__profile_earliest(st->profiles[pool], from_ms, it->duration_ms, it->quantity_milli,
                                  latest_ms, &s)) {
            return 0;
        }
        int64_t until = 0;
        if (fr__plan_vehicle_free(st, item, pool, s, &until)) {
            *start_ms = s;
            return 1;
        }
        assert(until > s);
        from_ms = until;
    }
    assert(!"vehicle rounds exceeded");
    return 0;
}

int fr__plan_fits_at(fr__plan_state *st, size_t item, size_t pool, int64_t start_ms) {
    const fr_plan_item *it = &st->in->items[item];
    const fr__plan_item_info *inf = &st->info[item];
    if (start_ms < inf->lo_ms || start_ms > inf->latest_ms) {
        return 0;
    }
    int64_t until = 0;
    return fr__profile_min(st->profiles[pool], start_ms, start_ms + it->duration_ms) >=
               it->quantity_milli &&
           fr__plan_vehicle_free(st, item, pool, start_ms, &until);
}

int fr__plan_best_fit(fr__plan_state *st, size_t item, size_t *pool_out, int64_t *start_out) {
    const fr_plan_item *it = &st->in->items[item];
    const fr__plan_item_info *inf = &st->info[item];
    if (inf->reason_static) {
        return 0;
    }
    size_t best_pool = SIZE_MAX;
    int64_t best_s = INT64_MAX;
    int64_t best_left = INT64_MAX;
    size_t n = fr__plan_cand_count(st, item);
    for (size_t k = 0; k < n; k++) {
        size_t p = fr__plan_cand(st, item, k);
        int64_t latest = inf->latest_ms < best_s ? inf->latest_ms : best_s;
        int64_t s = 0;
        if (!fr__plan_fit_on(st, item, p, inf->lo_ms, latest, &s)) {
            continue;
        }
        int64_t left = fr__profile_min(st->profiles[p], s, s + it->duration_ms) - it->quantity_milli;
        int better = s < best_s || (s == best_s && (left < best_left ||
                                                    (left == best_left && p < best_pool)));
        if (better) {
            best_pool = p;
            best_s = s;
            best_left = left;
        }
    }
    if (best_pool == SIZE_MAX) {
        return 0;
    }
    *pool_out = best_pool;
    *start_out = best_s;
    return 1;
}

static int pool_list_push(fr__plan_state *st, size_t pool, size_t item) {
    if (st->pool_item_count[pool] == st->pool_item_cap[pool]) {
        size_t cap = st->pool_item_cap[pool] ? st->pool_item_cap[pool] * 2 : 8;
        size_t *grown = realloc(st->pool_items[pool], cap * sizeof *grown);
        if (!grown) {
            return FR_ENOMEM;
        }
        st->pool_items[pool] = grown;
        st->pool_item_cap[pool] = cap;
    }
    st->slot_in_pool[item] = st->pool_item_count[pool];
    st->pool_items[pool][st->pool_item_count[pool]++] = item;
    return FR_OK;
}

static int vehicle_take(fr__plan_state *st, size_t item, size_t pool, int64_t start_ms) {
    size_t v = st->info[item].vehicle;
    if (v == SIZE_MAX) {
        return FR_OK;
    }
    fr__plan_vehicle *veh = &st->vehicles[v];
    if (veh->count == veh->cap) {
        size_t cap = veh->cap ? veh->cap * 2 : 4;
        fr__plan_vspan *grown = realloc(veh->spans, cap * sizeof *grown);
        if (!grown) {
            return FR_ENOMEM;
        }
        veh->spans = grown;
        veh->cap = cap;
    }
    veh->spans[veh->count++] = (fr__plan_vspan){
        start_ms, start_ms + st->in->items[item].duration_ms, item,
        st->in->pools[pool].exclusive_per_vehicle != 0};
    return FR_OK;
}

static void vehicle_release(fr__plan_state *st, size_t item) {
    size_t v = st->info[item].vehicle;
    if (v == SIZE_MAX) {
        return;
    }
    fr__plan_vehicle *veh = &st->vehicles[v];
    for (size_t k = 0; k < veh->count; k++) {
        if (veh->spans[k].item == item) {
            veh->spans[k] = veh->spans[--veh->count];
            return;
        }
    }
    assert(!"placed item missing from its vehicle");
}

int fr__plan_place(fr__plan_state *st, size_t item, size_t pool, int64_t start_ms) {
    assert(fr__plan_fits_at(st, item, pool, start_ms));
    return fr__plan_place_forced(st, item, pool, start_ms);
}

int fr__plan_place_forced(fr__plan_state *st, size_t item, size_t pool, int64_t start_ms) {
    const fr_plan_item *it = &st->in->items[item];
    assert(st->pool_of[item] == FR__PLAN_UNPLACED);
    assert(fr__plan_eligible(st, item, pool));
    int64_t end_ms = start_ms + it->duration_ms;
    int rc = fr__profile_add(st->profiles[pool], start_ms, end_ms, -it->quantity_milli);
    if (rc == FR_OK) {
        rc = pool_list_push(st, pool, item);
        if (rc != FR_OK) {
            (void)fr__profile_add(st->profiles[pool], start_ms, end_ms, it->quantity_milli);
        }
    }
    if (rc == FR_OK) {
        rc = vehicle_take(st, item, pool, start_ms);
        if (rc != FR_OK) {
            st->pool_item_count[pool]--;
            (void)fr__profile_add(st->profiles[pool], start_ms, end_ms, it->quantity_milli);
        }
    }
    if (rc != FR_OK) {
        st->oom = 1;
        return rc;
    }
    st->pool_of[item] = pool;
    st->start_of[item] = start_ms;
    st->placed_priority += it->priority + 1;
    st->total_delay_ms += start_ms - st->info[item].lo_ms;
    st->moves++;
    return FR_OK;
}

void fr__plan_unplace(fr__plan_state *st, size_t item) {
    const fr_plan_item *it = &st->in->items[item];
    size_t pool = st->pool_of[item];
    assert(pool != FR__PLAN_UNPLACED);
    int64_t start_ms = st->start_of[item];
    /* Boundaries at start and end exist already: releasing never allocates. */
    int rc = fr__profile_add(st->profiles[pool], start_ms, start_ms + it->duration_ms,
                             it->quantity_milli);
    assert(rc == FR_OK);
    (void)rc;
    size_t slot = st->slot_in_pool[item];
    size_t last = st->pool_items[pool][--st->pool_item_count[pool]];
    st->pool_items[pool][slot] = last;
    st->slot_in_pool[last] = slot;
    vehicle_release(st, item);
    st->pool_of[item] = FR__PLAN_UNPLACED;
    st->placed_priority -= it->priority + 1;
    st->total_delay_ms -= start_ms - st->info[item].lo_ms;
    st->moves++;
}
