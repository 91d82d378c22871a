/*
 * planner.h — the horizon planner's pure core (SPEC §7): no engine, no store,
 * no clock.  The engine (lib/plans.c) turns its ledger into the free-capacity
 * profiles below, calls fr__plan_solve, and renders the result as a plan.
 *
 * Problem: place items (pending requests and what-if demands) on pools over
 * [horizon_start_ms, horizon_end_ms).  An item placed on pool p at start s
 * occupies quantity_milli of p over [s, s + duration_ms).  A placement is
 * feasible when
 *   - p is eligible: same resource_type, and the item's site / pool_id
 *     constraints (when given) match;
 *   - horizon_start_ms <= s, s >= earliest_start_ms,
 *     s + duration_ms <= min(latest_end_ms, horizon_end_ms);
 *   - at every instant the quantities placed on p fit in p's free profile
 *     (what the ledger leaves free, what-if capacity changes already added);
 *   - if p.exclusive_per_vehicle and the item has a vehicle_id, the interval
 *     overlaps neither that vehicle's busy intervals of the same resource_type
 *     nor another placed item of the same vehicle and resource_type.
 * Objective (lexicographic): maximize placed_priority = sum of (priority + 1)
 * over placed items, then minimize total_delay_ms = sum of (s -
 * max(earliest_start_ms, horizon_start_ms)).
 *
 * Deterministic: the same input gives the same output on any machine and
 * under any load.  The time budget is turned into a work budget (a count of
 * moves), never read from a clock.
 *
 * Ownership: the input is borrowed for the duration of the call; the result
 * is malloc'd and released with fr__plan_result_free.
 */
#ifndef FR_PLANNER_H
#define FR_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#define FR_PLAN_ITEMS_MAX 200000
#define FR_PLAN_POOLS_MAX 10000
#define FR_PLAN_NO_DEADLINE INT64_MAX

/* Why an item stayed unplaced (rendered by fr__plan_reason_name). */
enum fr_plan_reason {
    FR_PLAN_NO_POOL_OF_TYPE = 1,       /* no eligible pool at all */
    FR_PLAN_WINDOW_OUTSIDE_HORIZON = 2, /* its window cannot fit in the horizon */
    FR_PLAN_INSUFFICIENT_CAPACITY = 3,  /* eligible pools, never enough room */
    FR_PLAN_VEHICLE_BUSY = 4,           /* room exists, but never while the vehicle is free */
};

/* Free capacity of one pool over the horizon as a step function:
 * free_milli[i] holds on [start_ms[i], start_ms[i + 1]) and the last step up
 * to horizon_end_ms.  start_ms[0] == horizon_start_ms, strictly increasing.
 * A step may be negative (an overcommitted pool): nothing fits there. */
typedef struct fr_plan_pool {
    const char *id;
    const char *resource_type;
    const char *site; /* NULL: none */
    int exclusive_per_vehicle;
    size_t step_count; /* >= 1 */
    const int64_t *step_start_ms;
    const int64_t *step_free_milli;
} fr_plan_pool;

/* An existing held/confirmed allocation of a vehicle (fixed). */
typedef struct fr_plan_busy {
    const char *vehicle_id;
    const char *resource_type;
    int64_t start_ms;
    int64_t end_ms; /* FR_PLAN_NO_DEADLINE: open-ended */
} fr_plan_busy;

typedef struct fr_plan_item {
    const char *ref;        /* a demand's ref, or NULL */
    const char *request_id; /* a pending request's id, or NULL */
    const char *resource_type;
    const char *site;       /* NULL: any */
    const char *pool_id;    /* NULL: any */
    const char *vehicle_id; /* NULL: none */
    int64_t quantity_milli; /* > 0 */
    int64_t duration_ms;    /* > 0 */
    int64_t earliest_start_ms;
    int64_t latest_end_ms; /* FR_PLAN_NO_DEADLINE: none */
    int priority;          /* 0..1000 */
} fr_plan_item;

typedef struct fr_plan_input {
    int64_t horizon_start_ms;
    int64_t horizon_end_ms; /* > horizon_start_ms */
    const fr_plan_pool *pools;
    size_t pool_count;
    const fr_plan_item *items;
    size_t item_count;
    const fr_plan_busy *busy;
    size_t busy_count;
    int64_t time_budget_ms; /* > 0; converted to a deterministic work budget */
} fr_plan_input;

typedef struct fr_plan_assignment {
    size_t item; /* index into input.items */
    size_t pool; /* index into input.pools */
    int64_t start_ms;
    int64_t end_ms;
} fr_plan_assignment;

typedef struct fr_plan_unplaced {
    size_t item;
    int reason; /* enum fr_plan_reason */
} fr_plan_unplaced;

/* Extra capacity on a pool over [start_ms, end_ms) that, added to the free
 * profile, lets a re-plan place every unplaced item that had an eligible pool
 * and a window inside the horizon. */
typedef struct fr_plan_shortfall {
    size_t pool;
    int64_t start_ms;
    int64_t end_ms;
    int64_t extra_milli; /* > 0 */
} fr_plan_shortfall;

typedef struct fr_plan_result {
    fr_plan_assignment *assignments; /* by item index */
    size_t assignment_count;
    fr_plan_unplaced *unplaced; /* by item index */
    size_t unplaced_count;
    fr_plan_shortfall *shortfall; /* by pool, then start */
    size_t shortfall_count;
    int64_t placed_priority;
    int64_t total_delay_ms;
    uint64_t moves; /* work done (for metrics and tests) */
} fr_plan_result;

/* Solves the input.  FR_OK and *out filled, FR_EINVAL for an input that breaks
 * the rules above (nothing allocated), FR_ENOMEM. */
int fr__plan_solve(const fr_plan_input *input, fr_plan_result *out);
void fr__plan_result_free(fr_plan_result *result);
const char *fr__plan_reason_name(int reason); /* "insufficient_capacity", ... */

#endif /* FR_PLANNER_H */
