/*
 * planner_search.c — how the planner chooses placements: a greedy pass, then
 * an improvement phase bounded by the work budget.
 *
 * Greedy.  Items in priority order (ties: earlier window start, then item
 * index) each take their best fit over the eligible pools: the earliest
 * feasible start, then the pool left with the least free capacity over the
 * interval (keeps roomy pools for later items), then the lowest pool index.
 * Backfill is implicit: an item may start before items placed earlier.
 *
 * Improvement, in rounds until a round improves nothing or the budget is
 * spent; every accepted move strictly improves (placed_priority, then
 * -total_delay_ms), so the phase cannot cycle:
 *   - insert: place an unplaced item where it now fits;
 *   - vehicle repair: re-place an unplaced item's vehicle's placements with
 *     it in earliest-deadline-first order;
 *   - bump: for an unplaced item u, try starts on its pools (the window's
 *     start and the starts/ends of placements there), eject the cheapest
 *     placements that make u fit, place u, re-place the ejected ones by best
 *     fit (or one bump of their own: chains of depth 2); keep the result only
 *     if the objective improved, else roll back through a journal;
 *   - shift: remove a delayed placement and re-place it by best fit, which
 *     finds a start no later than the old one (the old slot is free again);
 *   - advance (once the others find nothing): a delayed placement bumps its
 *     way to an earlier start.
 * The budget counts moves (profile searches and place/remove operations),
 * never time, so the outcome is the same on every machine.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"
#include "planner_core.h"

/* Candidate starts tried per pool, and candidates executed per item, in a
 * bump: bounds the work of one move on large pools. */
#define BUMP_STARTS_MAX 24
#define BUMP_TRIES_MAX 4
#define BUMP_EJECT_MAX 64

typedef struct order_key {
    int priority;
    int64_t lo_ms;
    size_t item;
} order_key;

static int order_cmp(const void *pa, const void *pb) {
    const order_key *a = pa;
    const order_key *b = pb;
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    if (a->lo_ms != b->lo_ms) {
        return a->lo_ms < b->lo_ms ? -1 : 1;
    }
    return (a->item > b->item) - (a->item < b->item);
}

/* A change made during a trial: item was placed (old_pool unplaced) or removed
 * from (old_pool, old_start). */
typedef struct journal_entry {
    size_t item;
    size_t old_pool;
    int64_t old_start_ms;
} journal_entry;

typedef struct search {
    fr__plan_state *st;
    size_t *order; /* items by priority order */
    journal_entry *journal;
    size_t journal_len;
    size_t journal_cap;
    size_t *eject;  /* scratch: candidates to eject */
    int64_t *starts; /* scratch: candidate starts */
} search;

static int budget_left(const search *se) { return se->st->moves < se->st->moves_budget; }

static int journal_push(search *se, size_t item, size_t old_pool, int64_t old_start_ms) {
    if (se->journal_len == se->journal_cap) {
        size_t cap = se->journal_cap ? se->journal_cap * 2 : 64;
        journal_entry *grown = realloc(se->journal, cap * sizeof *grown);
        if (!grown) {
            se->st->oom = 1;
            return FR_ENOMEM;
        }
        se->journal = grown;
        se->journal_cap = cap;
    }
    se->journal[se->journal_len++] = (journal_entry){item, old_pool, old_start_ms};
    return FR_OK;
}

static int j_unplace(search *se, size_t item) {
    int rc = journal_push(se, item, se->st->pool_of[item], se->st->start_of[item]);
    if (rc == FR_OK) {
        fr__plan_unplace(se->st, item);
    }
    return rc;
}

static int j_place(search *se, size_t item, size_t pool, int64_t start_ms) {
    int rc = journal_push(se, item, FR__PLAN_UNPLACED, 0);
    if (rc == FR_OK) {
        rc = fr__plan_place(se->st, item, pool, start_ms);
        if (rc != FR_OK) {
            se->journal_len--;
        }
    }
    return rc;
}

/* Undoes the journal back to mark, in reverse order (each step restores a
 * state that was feasible, so re-placing always fits). */
static int rollback(search *se, size_t mark) {
    while (se->journal_len > mark) {
        journal_entry e = se->journal[--se->journal_len];
        if (e.old_pool == FR__PLAN_UNPLACED) {
            fr__plan_unplace(se->st, e.item);
        } else {
            int rc = fr__plan_place(se->st, e.item, e.old_pool, e.old_start_ms);
            if (rc != FR_OK) {
                return rc;
            }
        }
    }
    return FR_OK;
}

static int greedy(search *se, int fcfs) {
    fr__plan_state *st = se->st;
    for (size_t k = 0; k < st->in->item_count; k++) {
        size_t i = fcfs ? k : se->order[k];
        size_t pool = 0;
        int64_t s = 0;
        if (fr__plan_best_fit(st, i, &pool, &s)) {
            int rc = fr__plan_place(st, i, pool, s);
            if (rc != FR_OK) {
                return rc;
            }
        }
    }
    return FR_OK;
}

static int pass_insert(search *se, int *improved) {
    fr__plan_state *st = se->st;
    for (size_t k = 0; k < st->in->item_count && budget_left(se); k++) {
        size_t i = se->order[k];
        size_t pool = 0;
        int64_t s = 0;
        if (st->pool_of[i] != FR__PLAN_UNPLACED || st->info[i].reason_static) {
            continue;
        }
        if (fr__plan_best_fit(st, i, &pool, &s)) {
            int rc = fr__plan_place(st, i, pool, s);
            if (rc != FR_OK) {
                return rc;
            }
            *improved = 1;
        }
    }
    return FR_OK;
}

static int pass_shift(search *se, int *improved) {
    fr__plan_state *st = se->st;
    for (size_t k = 0; k < st->in->item_count && budget_left(se); k++) {
        size_t i = se->order[k];
        if (st->pool_of[i] == FR__PLAN_UNPLACED || st->start_of[i] == st->info[i].lo_ms) {
            continue;
        }
        size_t old_pool = st->pool_of[i];
        int64_t old_s = st->start_of[i];
        fr__plan_unplace(st, i);
        size_t pool = old_pool;
        int64_t s = old_s;
        int found = fr__plan_best_fit(st, i, &pool, &s);
        assert(found && s <= old_s);
        (void)found;
        int rc = fr__plan_place(st, i, pool, s);
        if (rc != FR_OK) {
            return rc;
        }
        *improved |= s < old_s;
    }
    return FR_OK;
}

/* Items that block u at (pool, s): placements on the pool overlapping the
 * interval and, when u has a vehicle, that vehicle's overlapping placements
 * elsewhere; cheapest to eject first (lowest priority, then largest
 * quantity, then index).  Returns the count (at most BUMP_EJECT_MAX). */
static int eject_cmp_ctx_less(const fr__plan_state *st, size_t a, size_t b) {
    const fr_plan_item *ia = &st->in->items[a];
    const fr_plan_item *ib = &st->in->items[b];
    if (ia->priority != ib->priority) {
        return ia->priority < ib->priority;
    }
    if (ia->quantity_milli != ib->quantity_milli) {
        return ia->quantity_milli > ib->quantity_milli;
    }
    return a < b;
}

static int overlaps(const fr__plan_state *st, size_t j, int64_t a_ms, int64_t b_ms) {
    int64_t s = st->start_of[j];
    return s < b_ms && a_ms < s + st->in->items[j].duration_ms;
}

static size_t eject_gather(search *se, size_t u, size_t pool, int64_t s) {
    fr__plan_state *st = se->st;
    int64_t e = s + st->in->items[u].duration_ms;
    size_t n = 0;
    for (size_t k = 0; k < st->pool_item_count[pool] && n < BUMP_EJECT_MAX; k++) {
        size_t j = st->pool_items[pool][k];
        if (overlaps(st, j, s, e)) {
            se->eject[n++] = j;
        }
    }
    size_t v = st->info[u].vehicle;
    for (size_t k = 0; v != SIZE_MAX && k < st->vehicles[v].count && n < BUMP_EJECT_MAX; k++) {
        size_t j = st->vehicles[v].spans[k].item;
        if (j != SIZE_MAX && st->pool_of[j] != pool && overlaps(st, j, s, e)) {
            se->eject[n++] = j;
        }
    }
    /* Insertion sort: n is small and bounded. */
    for (size_t a = 1; a < n; a++) {
        size_t x = se->eject[a];
        size_t b = a;
        while (b > 0 && eject_cmp_ctx_less(st, x, se->eject[b - 1])) {
            se->eject[b] = se->eject[b - 1];
            b--;
        }
        se->eject[b] = x;
    }
    return n;
}

/* Ejects the cheapest blockers until u fits at (pool, s).  1 and *cost (the
 * ejected placed_priority), *ejected when it fits; 0 when it cannot. */
static int eject_until_fit(search *se, size_t u, size_t pool, int64_t s, int64_t *cost,
                           size_t *ejected) {
    fr__plan_state *st = se->st;
    size_t n = eject_gather(se, u, pool, s);
    *cost = 0;
    *ejected = 0;
    while (!fr__plan_fits_at(st, u, pool, s)) {
        if (*ejected == n || j_unplace(se, se->eject[*ejected]) != FR_OK) {
            return 0;
        }
        *cost += st->in->items[se->eject[*ejected]].priority + 1;
        (*ejected)++;
    }
    return 1;
}

typedef struct bump_cand {
    int64_t cost;
    int64_t start_ms;
    size_t pool;
} bump_cand;

static int cand_less(const bump_cand *a, const bump_cand *b) {
    if (a->cost != b->cost) {
        return a->cost < b->cost;
    }
    if (a->start_ms != b->start_ms) {
        return a->start_ms < b->start_ms;
    }
    return a->pool < b->pool;
}

static int int64_cmp(const void *pa, const void *pb) {
    int64_t a = *(const int64_t *)pa;
    int64_t b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

/* Candidate starts of u on pool: the window's start and the instants where
 * a placement there (or of u's vehicle) starts or ends, or ends u's
 * duration later; sorted, unique, the first BUMP_STARTS_MAX. */
static size_t bump_starts(search *se, size_t u, size_t pool) {
    fr__plan_state *st = se->st;
    const fr__plan_item_info *inf = &st->info[u];
    int64_t d = st->in->items[u].duration_ms;
    size_t n = 0;
    se->starts[n++] = inf->lo_ms;
    for (size_t k = 0; k < st->pool_item_count[pool]; k++) {
        size_t j = st->pool_items[pool][k];
        if (!overlaps(st, j, inf->lo_ms, inf->latest_ms + d)) {
            continue;
        }
        int64_t a = st->start_of[j];
        int64_t b = a + st->in->items[j].duration_ms;
        int64_t c[4] = {a, b, b - d, a - d};
        for (int x = 0; x < 4; x++) {
            if (c[x] >= inf->lo_ms && c[x] <= inf->latest_ms) {
                se->starts[n++] = c[x];
            }
        }
    }
    qsort(se->starts, n, sizeof *se->starts, int64_cmp);
    size_t m = 0;
    for (size_t k = 0; k < n && m < BUMP_STARTS_MAX; k++) {
        if (m == 0 || se->starts[k] != se->starts[m - 1]) {
            se->starts[m++] = se->starts[k];
        }
    }
    return m;
}

/* The BUMP_TRIES_MAX cheapest (pool, start) for u, by simulated ejection. */
static int bump_candidates(search *se, size_t u, bump_cand *best, size_t *best_n) {
    fr__plan_state *st = se->st;
    *best_n = 0;
    size_t pools = fr__plan_cand_count(st, u);
    for (size_t k = 0; k < pools && budget_left(se); k++) {
        size_t p = fr__plan_cand(st, u, k);
        size_t ns = bump_starts(se, u, p);
        st->moves++;
        for (size_t x = 0; x < ns; x++) {
            st->moves++; /* pricing a start is work even when nothing moves */
            size_t mark = se->journal_len;
            bump_cand c = {0, se->starts[x], p};
            size_t ejected = 0;
            int fits = eject_until_fit(se, u, p, c.start_ms, &c.cost, &ejected);
            int rc = rollback(se, mark);
            if (rc != FR_OK) {
                return rc;
            }
            if (!fits || ejected == 0) {
                continue; /* ejected == 0: a plain insert, done by pass_insert */
            }
            size_t at = BUMP_TRIES_MAX - 1;
            if (*best_n < BUMP_TRIES_MAX) {
                at = (*best_n)++;
            } else if (!cand_less(&c, &best[at])) {
                continue;
            }
            best[at] = c;
            while (at > 0 && cand_less(&best[at], &best[at - 1])) {
                bump_cand t = best[at];
                best[at] = best[at - 1];
                best[at - 1] = t;
                at--;
            }
        }
    }
    return FR_OK;
}

/* Re-places an ejected item j by best fit; when that fails and second_level
 * is set, by one bump of its own: j's cheapest candidates are tried in
 * order, their blockers re-placed by best fit only (an ejection chain of
 * depth 2, no deeper); the first that gains placed_priority is kept.
 * Whatever stays unplaced is judged by the caller's objective check. */
static int place_best(search *se, size_t j, int *placed) {
    size_t pool = 0;
    int64_t s = 0;
    *placed = fr__plan_best_fit(se->st, j, &pool, &s);
    return *placed ? j_place(se, j, pool, s) : FR_OK;
}

static int reinsert(search *se, size_t j, int second_level) {
    int placed = 0;
    int rc = place_best(se, j, &placed);
    if (rc != FR_OK || placed || !second_level || !budget_left(se)) {
        return rc;
    }
    bump_cand best[BUMP_TRIES_MAX];
    size_t best_n = 0;
    rc = bump_candidates(se, j, best, &best_n);
    for (size_t x = 0; rc == FR_OK && x < best_n; x++) {
        int64_t pp0 = se->st->placed_priority;
        size_t mark = se->journal_len;
        int64_t cost = 0;
        size_t ejected = 0;
        if (!eject_until_fit(se, j, best[x].pool, best[x].start_ms, &cost, &ejected)) {
            rc = rollback(se, mark);
            continue;
        }
        size_t inner[BUMP_EJECT_MAX];
        memcpy(inner, se->eject, ejected * sizeof inner[0]);
        rc = j_place(se, j, best[x].pool, best[x].start_ms);
        for (size_t k = ejected; rc == FR_OK && k > 0; k--) {
            rc = place_best(se, inner[k - 1], &placed);
        }
        if (rc == FR_OK && se->st->placed_priority > pp0) {
            return FR_OK;
        }
        if (rc == FR_OK) {
            rc = rollback(se, mark); /* keep the outer move's other gains */
        }
    }
    return rc;
}

typedef struct score {
    int64_t placed_priority;
    int64_t delay_ms;
} score;

static int better_than(const fr__plan_state *st, score base) {
    return st->placed_priority > base.placed_priority ||
           (st->placed_priority == base.placed_priority && st->total_delay_ms < base.delay_ms);
}

/* Executes one candidate: eject, place u, re-place the ejected (highest
 * priority first) by reinsert.  Keeps it when the objective beats base. */
static int bump_try(search *se, size_t u, const bump_cand *c, score base, int *accepted) {
    size_t mark = se->journal_len;
    int64_t cost = 0;
    size_t ejected = 0;
    *accepted = 0;
    if (!eject_until_fit(se, u, c->pool, c->start_ms, &cost, &ejected)) {
        return rollback(se, mark);
    }
    size_t outer[BUMP_EJECT_MAX];
    memcpy(outer, se->eject, ejected * sizeof outer[0]);
    int rc = j_place(se, u, c->pool, c->start_ms);
    for (size_t k = ejected; rc == FR_OK && k > 0; k--) {
        rc = reinsert(se, outer[k - 1], 1);
    }
    if (rc != FR_OK) {
        return rc;
    }
    if (better_than(se->st, base)) {
        *accepted = 1;
        return FR_OK;
    }
    return rollback(se, mark);
}

/* advance: a delayed placement i is taken out and bumped in at an earlier
 * start (ejecting and re-placing what is in the way); kept only when the
 * objective improves, else i goes back where it was. */
static int advance_item(search *se, size_t i, int *improved) {
    fr__plan_state *st = se->st;
    score base = {st->placed_priority, st->total_delay_ms};
    int64_t old_s = st->start_of[i];
    size_t mark = se->journal_len;
    int rc = j_unplace(se, i);
    bump_cand best[BUMP_TRIES_MAX];
    size_t best_n = 0;
    if (rc == FR_OK) {
        rc = bump_candidates(se, i, best, &best_n);
    }
    int accepted = 0;
    for (size_t x = 0; rc == FR_OK && !accepted && x < best_n; x++) {
        if (best[x].start_ms < old_s) {
            rc = bump_try(se, i, &best[x], base, &accepted);
        }
    }
    if (rc != FR_OK) {
        return rc;
    }
    if (!accepted) {
        return rollback(se, mark);
    }
    se->journal_len = mark;
    *improved = 1;
    return FR_OK;
}

static int pass_advance(search *se, int *improved) {
    fr__plan_state *st = se->st;
    for (size_t k = 0; k < st->in->item_count && budget_left(se); k++) {
        size_t i = se->order[k];
        if (st->pool_of[i] == FR__PLAN_UNPLACED || st->start_of[i] == st->info[i].lo_ms) {
            continue;
        }
        int rc = advance_item(se, i, improved);
        if (rc != FR_OK) {
            return rc;
        }
    }
    return FR_OK;
}

/* Earliest deadline first (then higher priority, then index): the order in
 * which one vehicle's items are re-placed by vehicle_repair. */
static int edf_less(const fr__plan_state *st, size_t a, size_t b) {
    int64_t da = st->info[a].latest_ms + st->in->items[a].duration_ms;
    int64_t db = st->info[b].latest_ms + st->in->items[b].duration_ms;
    if (da != db) {
        return da < db;
    }
    if (st->in->items[a].priority != st->in->items[b].priority) {
        return st->in->items[a].priority > st->in->items[b].priority;
    }
    return a < b;
}

/* For an unplaced u with a vehicle: removes that vehicle's placements and
 * re-places them with u by earliest deadline first, which sequences one
 * vehicle's items where priority order could not.  Kept if it improves. */
static int vehicle_repair(search *se, size_t u, int *accepted) {
    fr__plan_state *st = se->st;
    size_t v = st->info[u].vehicle;
    *accepted = 0;
    if (v == SIZE_MAX) {
        return FR_OK;
    }
    int64_t pp0 = st->placed_priority;
    int64_t delay0 = st->total_delay_ms;
    size_t mark = se->journal_len;
    size_t n = 0;
    se->eject[n++] = u;
    int rc = FR_OK;
    while (rc == FR_OK && n < BUMP_EJECT_MAX) { /* spans shrink as items leave */
        const fr__plan_vehicle *veh = &st->vehicles[v];
        size_t k = 0;
        while (k < veh->count && veh->spans[k].item == SIZE_MAX) {
            k++;
        }
        if (k == veh->count) {
            break;
        }
        se->eject[n++] = veh->spans[k].item;
        rc = j_unplace(se, veh->spans[k].item);
    }
    for (size_t a = 1; a < n; a++) { /* insertion sort, n is bounded */
        size_t x = se->eject[a];
        size_t b = a;
        for (; b > 0 && edf_less(st, x, se->eject[b - 1]); b--) {
            se->eject[b] = se->eject[b - 1];
        }
        se->eject[b] = x;
    }
    for (size_t k = 0; rc == FR_OK && k < n; k++) {
        size_t pool = 0;
        int64_t s = 0;
        if (fr__plan_best_fit(st, se->eject[k], &pool, &s)) {
            rc = j_place(se, se->eject[k], pool, s);
        }
    }
    if (rc != FR_OK) {
        return rc;
    }
    if (st->placed_priority > pp0 || (st->placed_priority == pp0 && st->total_delay_ms < delay0)) {
        *accepted = 1;
        se->journal_len = mark;
        return FR_OK;
    }
    return rollback(se, mark);
}

static int pass_bump(search *se, int *improved) {
    fr__plan_state *st = se->st;
    for (size_t k = 0; k < st->in->item_count && budget_left(se); k++) {
        size_t u = se->order[k];
        if (st->pool_of[u] != FR__PLAN_UNPLACED || st->info[u].reason_static) {
            continue;
        }
        int accepted = 0;
        int rc = vehicle_repair(se, u, &accepted);
        if (rc != FR_OK) {
            return rc;
        }
        if (accepted) {
            *improved = 1;
            continue;
        }
        bump_cand best[BUMP_TRIES_MAX];
        size_t best_n = 0;
        rc = bump_candidates(se, u, best, &best_n);
        score base = {st->placed_priority, st->total_delay_ms};
        size_t mark = se->journal_len;
        for (size_t x = 0; rc == FR_OK && x < best_n && budget_left(se); x++) {
            int accepted = 0;
            rc = bump_try(se, u, &best[x], base, &accepted);
            if (accepted) {
                se->journal_len = mark; /* kept: forget how to undo it */
                *improved = 1;
                break;
            }
        }
        if (rc != FR_OK) {
            return rc;
        }
    }
    return FR_OK;
}

int fr__plan_priority_order(const fr__plan_state *st, size_t *order) {
    size_t n = st->in->item_count;
    order_key *keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i] = (order_key){st->in->items[i].priority, st->info[i].lo_ms, i};
    }
    qsort(keys, n, sizeof *keys, order_cmp);
    for (size_t k = 0; k < n; k++) {
        order[k] = keys[k].item;
    }
    free(keys);
    return FR_OK;
}

int fr__plan_search(fr__plan_state *st, int fcfs) {
    size_t n = st->in->item_count;
    search se;
    memset(&se, 0, sizeof se);
    se.st = st;
    se.order = malloc((n ? n : 1) * sizeof *se.order);
    se.eject = malloc((n ? n : 1) * sizeof *se.eject);
    se.starts = malloc((4 * n + 2) * sizeof *se.starts);
    int rc = se.order && se.eject && se.starts ? FR_OK : FR_ENOMEM;
    if (rc == FR_OK) {
        rc = fr__plan_priority_order(st, se.order);
    }
    if (rc == FR_OK) {
        rc = greedy(&se, fcfs);
    }
    /* Rounds until nothing improves; each accepted move improves the
     * objective strictly, and the budget bounds the rest. */
    while (rc == FR_OK && !fcfs && budget_left(&se)) {
        int improved = 0;
        rc = pass_insert(&se, &improved);
        if (rc == FR_OK) {
            rc = pass_bump(&se, &improved);
        }
        if (rc == FR_OK) {
            rc = pass_shift(&se, &improved);
        }
        if (rc == FR_OK && !improved) {
            rc = pass_advance(&se, &improved); /* only once the cheap moves are done */
        }
        if (!improved) {
            break;
        }
    }
    free(se.order);
    free(se.eject);
    free(se.starts);
    free(se.journal);
    return rc;
}
