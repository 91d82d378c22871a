/*
 * planner_core.h — the planner's working state, shared by its files:
 * planner.c (checks, setup, result), planner_place.c (feasibility, earliest
 * fit, place/remove), planner_search.c (greedy and improvement) and
 * planner_shortfall.c.  Private to those files and their tests.
 */
#ifndef FR_PLANNER_CORE_H
#define FR_PLANNER_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "planner.h"
#include "planner_profile.h"

#define FR__PLAN_UNPLACED SIZE_MAX
/* Work units (moves) per millisecond of time_budget_ms: calibrated on the
 * development machine (docs/planner.md) so that the improvement phase takes
 * roughly the budget. */
#define FR__PLAN_MOVES_PER_MS 2000
#define FR__PLAN_BUDGET_MS_MAX INT64_C(3600000)
/* Times must stay well inside int64 so that sums never overflow. */
#define FR__PLAN_TIME_ABS_MAX (INT64_C(1) << 60)
/* An item's quantity: at most 2^32 milli (4.2 million units), so that every
 * sum of placed quantities and shortfall pieces (2^18 items x rooms of up
 * to 2^9 times the quantity) stays below 2^62 next to free values of 2^60. */
#define FR__PLAN_QUANTITY_MAX (INT64_C(1) << 32)

/* An interval a vehicle is taken: a fixed busy interval (item == SIZE_MAX) or
 * a placed item's. */
typedef struct fr__plan_vspan {
    int64_t start_ms;
    int64_t end_ms;
    size_t item;   /* SIZE_MAX: a fixed busy interval */
    int exclusive; /* busy intervals and placements on exclusive pools */
} fr__plan_vspan;

/* One (vehicle_id, resource_type): what takes that vehicle, unsorted. */
typedef struct fr__plan_vehicle {
    fr__plan_vspan *spans;
    size_t count;
    size_t cap;
} fr__plan_vehicle;

typedef struct fr__plan_item_info {
    int64_t lo_ms;       /* max(earliest_start, horizon_start) */
    int64_t latest_ms;   /* latest start: min(latest_end, horizon_end) - duration */
    size_t pool_begin;   /* eligible candidates: pool_order[pool_begin..pool_end) */
    size_t pool_end;
    size_t only_pool;    /* pool_id given: that pool's index, else SIZE_MAX */
    size_t vehicle;      /* index into vehicles, SIZE_MAX: none */
    int reason_static;   /* 0, or NO_POOL_OF_TYPE / WINDOW_OUTSIDE_HORIZON */
} fr__plan_item_info;

typedef struct fr__plan_state {
    const fr_plan_input *in;
    fr__profile **profiles;     /* per pool */
    size_t *pool_order;         /* pools by (resource_type, site, index) */
    fr__plan_item_info *info;   /* per item */
    fr__plan_vehicle *vehicles;
    size_t vehicle_count;
    size_t *pool_of;            /* per item: FR__PLAN_UNPLACED or the pool */
    int64_t *start_of;          /* per item, when placed */
    size_t **pool_items;        /* per pool: placed items (unordered) */
    size_t *pool_item_count;
    size_t *pool_item_cap;
    size_t *slot_in_pool;       /* per item: index into pool_items[pool] */
    int64_t placed_priority;
    int64_t total_delay_ms;
    uint64_t moves;
    uint64_t moves_budget;
    int oom;                    /* sticky: an allocation failed */
} fr__plan_state;

/* planner.c: builds the state (profiles from free, + extra when non-NULL,
 * the shortfall pieces to add) and frees it. */
int fr__plan_state_init(fr__plan_state *st, const fr_plan_input *in,
                        const fr_plan_shortfall *extra, size_t extra_count);
void fr__plan_state_free(fr__plan_state *st);

/* planner_place.c */
int fr__plan_eligible(const fr__plan_state *st, size_t item, size_t pool);
/* The item's eligible pools: fr__plan_cand(st, item, k) for k < count. */
size_t fr__plan_cand_count(const fr__plan_state *st, size_t item);
size_t fr__plan_cand(const fr__plan_state *st, size_t item, size_t k);
/* The earliest feasible start of item on pool in [from, latest]; 1 if found. */
int fr__plan_fit_on(fr__plan_state *st, size_t item, size_t pool, int64_t from_ms,
                    int64_t latest_ms, int64_t *start_ms);
/* The best placement over eligible pools: earliest start, then least free left,
 * then lowest pool index; 1 if found. */
int fr__plan_best_fit(fr__plan_state *st, size_t item, size_t *pool, int64_t *start_ms);
/* Whether item fits at exactly (pool, start) now. */
int fr__plan_fits_at(fr__plan_state *st, size_t item, size_t pool, int64_t start_ms);
/* Vehicle check only: 1 when [start, start+duration) on pool is vehicle-free;
 * else 0 and *blocked_until the end of a blocking span. */
int fr__plan_vehicle_free(const fr__plan_state *st, size_t item, size_t pool, int64_t start_ms,
                          int64_t *blocked_until_ms);
int fr__plan_place(fr__plan_state *st, size_t item, size_t pool, int64_t start_ms);
/* Places even where the capacity does not suffice (the profile goes below
 * zero): the shortfall's chosen slots.  The vehicle rule still holds. */
int fr__plan_place_forced(fr__plan_state *st, size_t item, size_t pool, int64_t start_ms);
void fr__plan_unplace(fr__plan_state *st, size_t item);

/* planner_search.c: greedy (priority order, or arrival order when fcfs) and,
 * unless fcfs, the improvement phase. */
int fr__plan_search(fr__plan_state *st, int fcfs);
/* Items by priority (highest first), then window start, then index. */
int fr__plan_priority_order(const fr__plan_state *st, size_t *order);

/* planner_shortfall.c: the unplaced items with their reasons (by item index),
 * then the shortfall, verified by re-planning with it. */
int fr__plan_unplaced_reasons(fr__plan_state *st, fr_plan_result *out);
int fr__plan_shortfall(const fr_plan_input *in, fr__plan_state *st, fr_plan_result *out);
/* The bound on the shortfall's doubling rounds (8).  A test hook: tests
 * lower it so that the sealing stage runs on small instances; nothing else
 * changes it. */
extern size_t fr__plan_shortfall_rounds_max;

/* planner.c: a solve with extra capacity; the core of fr__plan_solve, also
 * used by the shortfall's verification. */
int fr__planner_run(const fr_plan_input *in, const fr_plan_shortfall *extra, size_t extra_count,
                 int fcfs, fr__plan_state *st);
/* First-come-first-served earliest fit, no improvement: the bench's baseline. */
int fr__plan_solve_fcfs(const fr_plan_input *in, fr_plan_result *out);

#endif /* FR_PLANNER_CORE_H */
