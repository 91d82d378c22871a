/*
 * planner_shortfall.c — why items stayed unplaced, and the extra capacity
 * (per pool and interval) that would place them.
 *
 * Reasons.  no_pool_of_type and window_outside_horizon are static.  For the
 * others: when the item's vehicle is taken over every start of its window on
 * every eligible pool (fixed busy intervals and the plan's other placements
 * of that vehicle), no capacity can help: vehicle_busy.  Otherwise
 * insufficient_capacity, and the item is a target of the shortfall.
 *
 * Shortfall.  The greedy is not monotone in capacity: with more room an
 * item may start earlier and take the room another needed, so "extra =
 * what the final placement plus a slot per target lacks" alone does not
 * guarantee that a re-plan places the targets.  The guarantee is made by
 * construction instead: starting from E = 0, a round chooses a slot for each
 * item of W (the items placed before, plus the targets) that the current
 * plan leaves unplaced — the vehicle-free start on an eligible pool needing
 * the least extra — adds to E what those slots lack, and re-plans with
 * capacity C + E.  E is returned once a re-plan places every target (W's
 * placed items may give way to a higher-priority item the extra lets in;
 * later rounds still give them room when they go missing).  The planner's
 * answers depend only on the free profiles as functions (not on
 * their step boundaries), and it is deterministic with a budget counted in
 * moves, so a caller who adds the returned pieces to the free profiles and
 * re-plans gets exactly the verified plan.  Rounds are bounded
 * (SHORTFALL_ROUNDS_MAX); docs/planner.md reports how many are needed.
 * Past the bound, the sealing stage (seal_run) gives each target still
 * missed a room at its slot that no re-plan can take from it, and
 * re-plans until every target is placed: the guarantee has no exception
 * (targets with a vehicle the rounds could not sequence are vehicle_busy).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"
#include "planner_core.h"

#define SHORTFALL_ROUNDS_MAX 8
size_t fr__plan_shortfall_rounds_max = SHORTFALL_ROUNDS_MAX;
/* From this round on a missing item gets room over its whole window. */
#define SHORTFALL_WIDE_ROUND 4
/* W's members: placed in the plan, or a target (insufficient_capacity). */
#define WANT_PLACED 1
#define WANT_TARGET 2
/* Starts evaluated per pool when choosing a slot (bounds the work). */
#define SLOT_STARTS_MAX 64
/* Re-plans of the sealing stage (after the rounds): each seals at least one
 * more target; at the last one every remaining target is sealed at once. */
#define SEAL_REPLANS_MAX 8

/* The earliest start >= from where u's vehicle is free on pool; 1 if any. */
static int vehicle_slot(const fr__plan_state *st, size_t u, size_t pool, int64_t from_ms,
                        int64_t *start_ms) {
    size_t v = st->info[u].vehicle;
    size_t rounds = v == SIZE_MAX ? 1 : st->vehicles[v].count + 1;
    int64_t s = from_ms;
    for (size_t r = 0; r <= rounds && s <= st->info[u].latest_ms; r++) {
        int64_t until = 0;
        if (fr__plan_vehicle_free(st, u, pool, s, &until)) {
            *start_ms = s;
            return 1;
        }
        s = until;
    }
    return 0;
}

int fr__plan_unplaced_reasons(fr__plan_state *st, fr_plan_result *out) {
    size_t n = st->in->item_count;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        count += st->pool_of[i] == FR__PLAN_UNPLACED;
    }
    out->unplaced = malloc((count ? count : 1) * sizeof *out->unplaced);
    if (!out->unplaced) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (st->pool_of[i] != FR__PLAN_UNPLACED) {
            continue;
        }
        int reason = st->info[i].reason_static;
        if (!reason) {
            reason = FR_PLAN_VEHICLE_BUSY;
            for (size_t k = 0; k < fr__plan_cand_count(st, i); k++) {
                int64_t s = 0;
                if (vehicle_slot(st, i, fr__plan_cand(st, i, k), st->info[i].lo_ms, &s)) {
                    reason = FR_PLAN_INSUFFICIENT_CAPACITY;
                    break;
                }
            }
        }
        out->unplaced[out->unplaced_count++] = (fr_plan_unplaced){i, reason};
    }
    return FR_OK;
}

/* The slot of u needing the least extra capacity: over eligible pools and
 * vehicle-free starts (the window's start, then profile boundaries), the
 * smallest q - min free; ties to the earlier start, then the lower pool. */
static int choose_slot(fr__plan_state *st, size_t u, size_t *pool_out, int64_t *start_out) {
    const fr_plan_item *it = &st->in->items[u];
    const fr__plan_item_info *inf = &st->info[u];
    int64_t best_need = INT64_MAX;
    int found = 0;
    for (size_t k = 0; k < fr__plan_cand_count(st, u); k++) {
        size_t p = fr__plan_cand(st, u, k);
        int64_t s = inf->lo_ms;
        for (size_t x = 0; x < SLOT_STARTS_MAX; x++) {
            if (!vehicle_slot(st, u, p, s, &s)) {
                break;
            }
            int64_t need = it->quantity_milli -
                           fr__profile_min(st->profiles[p], s, s + it->duration_ms);
            if (need < best_need || (need == best_need && (s < *start_out ||
                                                           (s == *start_out && p < *pool_out)))) {
                best_need = need;
                *pool_out = p;
                *start_out = s;
                found = 1;
            }
            s = fr__profile_next_boundary(st->profiles[p], s);
        }
    }
    return found;
}

typedef struct pieces {
    fr_plan_shortfall *v;
    size_t len;
    size_t cap;
} pieces;

static int pieces_push(pieces *ps, fr_plan_shortfall x) {
    if (ps->len == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        fr_plan_shortfall *grown = realloc(ps->v, cap * sizeof *grown);
        if (!grown) {
            return FR_ENOMEM;
        }
        ps->v = grown;
        ps->cap = cap;
    }
    ps->v[ps->len++] = x;
    return FR_OK;
}

/* What the profile of pool lacks (free < 0) over [a, b): appended to E. */
static int deficit_pieces(const fr__plan_state *st, size_t pool, int64_t a_ms, int64_t b_ms,
                          pieces *extra) {
    const fr__profile *pf = st->profiles[pool];
    size_t bound = fr__profile_segment_count(pf) + 1;
    int64_t t = a_ms;
    for (size_t k = 0; k < bound && t < b_ms; k++) {
        int64_t next = fr__profile_next_boundary(pf, t);
        next = next < b_ms ? next : b_ms;
        int64_t v = fr__profile_at(pf, t);
        if (v < 0) {
            int rc = pieces_push(extra, (fr_plan_shortfall){pool, t, next, -v});
            if (rc != FR_OK) {
                return rc;
            }
        }
        t = next;
    }
    assert(t >= b_ms);
    return FR_OK;
}

/* An unplaced item becomes vehicle_busy: the slots of the items before it
 * (by priority) took its vehicle over its whole window. */
static size_t reason_index(const fr_plan_result *out, size_t item) {
    size_t lo = 0;
    size_t hi = out->unplaced_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (out->unplaced[mid].item < item) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < out->unplaced_count && out->unplaced[lo].item == item ? lo : out->unplaced_count;
}

static void reclassify(fr_plan_result *out, size_t item) {
    size_t k = reason_index(out, item);
    assert(k < out->unplaced_count);
    out->unplaced[k].reason = FR_PLAN_VEHICLE_BUSY;
}

/* The shortfall's rounds: W, the priority order, E so far, and where each
 * item of W sat after round 0 (p0: placed or its slot), which is
 * vehicle-consistent as a whole. */
typedef struct rounds {
    unsigned char *want;
    size_t *order;
    size_t *p0_pool;
    int64_t *p0_start_ms;
    unsigned char *reset; /* per vehicle: back to p0 this round */
    unsigned char *sealed; /* per item: has a sealed room (see seal_rooms) */
    size_t round;
    pieces extra;  /* the rounds' E */
    pieces sealing; /* the sealed rooms, rebuilt from `sealed` */
    pieces all;    /* extra then sealing: what a re-plan adds */
} rounds;

/* Forces u at (pool, s) and adds to E what the profile lacks there; the
 * profile is raised by it so that overlapping slots count it once. */
static int slot_take(fr__plan_state *st, size_t u, size_t pool, int64_t s, pieces *extra) {
    int rc = fr__plan_place_forced(st, u, pool, s);
    size_t before = extra->len;
    if (rc == FR_OK) {
        rc = deficit_pieces(st, pool, s, s + st->in->items[u].duration_ms, extra);
    }
    for (size_t x = before; rc == FR_OK && x < extra->len; x++) {
        rc = fr__profile_add(st->profiles[pool], extra->v[x].start_ms, extra->v[x].end_ms,
                             extra->v[x].extra_milli);
    }
    return rc;
}

/* In a later round, a vehicle with an item of W left out goes back to its
 * round-0 positions as a whole: a slot chosen alone could find the vehicle
 * taken by the re-plan's other choices. */
static void reset_vehicles(fr__plan_state *st, rounds *ro) {
    size_t n = st->in->item_count;
    memset(ro->reset, 0, st->vehicle_count ? st->vehicle_count : 1);
    for (size_t u = 0; u < n; u++) {
        size_t v = st->info[u].vehicle;
        if (ro->want[u] && v != SIZE_MAX && st->pool_of[u] == FR__PLAN_UNPLACED) {
            ro->reset[v] = 1;
        }
    }
    for (size_t u = 0; u < n; u++) {
        size_t v = st->info[u].vehicle;
        if (ro->want[u] && v != SIZE_MAX && ro->reset[v] && st->pool_of[u] != FR__PLAN_UNPLACED) {
            fr__plan_unplace(st, u);
        }
    }
}

/* One round: places for W's unplaced items in st, and what they lack added
 * to E.  *missing counts them.  In round 0 (first != NULL) each target gets
 * the slot lacking least, and one left without a vehicle-free slot is
 * reclassified vehicle_busy and leaves W; later rounds use the round-0
 * places. */
static int round_extend(fr__plan_state *st, rounds *ro, size_t *missing, fr_plan_result *first) {
    size_t n = st->in->item_count;
    *missing = 0;
    if (!first) {
        reset_vehicles(st, ro);
    }
    for (size_t k = 0; k < n; k++) {
        size_t u = ro->order[k];
        if (!ro->want[u] || st->pool_of[u] != FR__PLAN_UNPLACED) {
            continue;
        }
        size_t pool = SIZE_MAX;
        int64_t s = INT64_MAX;
        if (!first) {
            /* Back to its round-0 place, where each round adds room again:
             * the room there only grows, so the items it attracts away from
             * their own places are eventually all absorbed.  Its vehicle
             * went back as a whole (reset_vehicles), so it is free there. */
            assert(st->info[u].vehicle == SIZE_MAX || ro->reset[st->info[u].vehicle]);
            pool = ro->p0_pool[u];
            s = ro->p0_start_ms[u];
        } else if (!choose_slot(st, u, &pool, &s)) {
            reclassify(first, u);
            ro->want[u] = 0;
            continue;
        }
        (*missing)++;
        int rc = slot_take(st, u, pool, s, &ro->extra);
        if (rc == FR_OK && !first) {
            /* The re-plan left u out although E made room for it: items
             * drawn into its slot took it.  Give u room of its own there,
             * doubling with every round (2^round times its quantity) so
             * that the room outgrows what can be drawn in within a few
             * rounds; from round SHORTFALL_WIDE_ROUND on, over its whole
             * window. */
            const fr_plan_item *it = &st->in->items[u];
            fr_plan_shortfall room = {pool, s, s + it->duration_ms,
                                      it->quantity_milli << ro->round};
            if (ro->round >= SHORTFALL_WIDE_ROUND) {
                room.start_ms = st->info[u].lo_ms;
                room.end_ms = st->info[u].latest_ms + it->duration_ms;
            }
            rc = pieces_push(&ro->extra, room);
        }
        if (rc != FR_OK) {
            return rc;
        }
    }
    if (first) {
        for (size_t u = 0; u < n; u++) {
            ro->p0_pool[u] = st->pool_of[u];
            ro->p0_start_ms[u] = st->start_of[u];
        }
    }
    return FR_OK;
}

typedef struct event {
    size_t pool;
    int64_t t_ms;
    int64_t delta_milli;
} event;

static int event_cmp(const void *pa, const void *pb) {
    const event *a = pa;
    const event *b = pb;
    if (a->pool != b->pool) {
        return a->pool < b->pool ? -1 : 1;
    }
    return (a->t_ms > b->t_ms) - (a->t_ms < b->t_ms);
}

/* E as maximal runs of one positive value per pool, by pool then start. */
static int normalize(const pieces *extra, fr_plan_result *out) {
    size_t n = extra->len * 2;
    event *ev = malloc((n ? n : 1) * sizeof *ev);
    out->shortfall = malloc((n ? n : 1) * sizeof *out->shortfall);
    if (!ev || !out->shortfall) {
        free(ev);
        return FR_ENOMEM;
    }
    for (size_t k = 0; k < extra->len; k++) {
        const fr_plan_shortfall *x = &extra->v[k];
        ev[2 * k] = (event){x->pool, x->start_ms, x->extra_milli};
        ev[2 * k + 1] = (event){x->pool, x->end_ms, -x->extra_milli};
    }
    qsort(ev, n, sizeof *ev, event_cmp);
    int64_t level = 0;
    for (size_t k = 0; k < n;) {
        size_t pool = ev[k].pool;
        int64_t t = ev[k].t_ms;
        for (; k < n && ev[k].pool == pool && ev[k].t_ms == t; k++) {
            level += ev[k].delta_milli;
        }
        if (level <= 0 || k == n || ev[k].pool != pool) {
            continue; /* nothing until the next event, or the pool ends (level 0) */
        }
        fr_plan_shortfall *last = out->shortfall_count ? &out->shortfall[out->shortfall_count - 1] : NULL;
        if (last && last->pool == pool && last->end_ms == t && last->extra_milli == level) {
            last->end_ms = ev[k].t_ms;
        } else {
            out->shortfall[out->shortfall_count++] = (fr_plan_shortfall){pool, t, ev[k].t_ms, level};
        }
    }
    assert(level == 0);
    free(ev);
    return FR_OK;
}

/* W: the placed items and the insufficient_capacity ones; 0 when there is no
 * target at all. */
static size_t want_set(const fr__plan_state *st, const fr_plan_result *out, unsigned char *want) {
    size_t targets = 0;
    for (size_t i = 0; i < st->in->item_count; i++) {
        want[i] = st->pool_of[i] != FR__PLAN_UNPLACED ? WANT_PLACED : 0;
    }
    for (size_t k = 0; k < out->unplaced_count; k++) {
        if (out->unplaced[k].reason == FR_PLAN_INSUFFICIENT_CAPACITY) {
            want[out->unplaced[k].item] = WANT_TARGET;
            targets++;
        }
    }
    return targets;
}

static void rounds_free(rounds *ro) {
    free(ro->want);
    free(ro->order);
    free(ro->p0_pool);
    free(ro->p0_start_ms);
    free(ro->reset);
    free(ro->sealed);
    free(ro->extra.v);
    free(ro->sealing.v);
    free(ro->all.v);
}

/* Targets that st leaves unplaced (W's placed items may give way to a
 * higher-priority item that the extra capacity lets in: that is the
 * objective at work, not a failure). */
static size_t count_missing(const fr__plan_state *st, const rounds *ro) {
    size_t missing = 0;
    for (size_t u = 0; u < st->in->item_count; u++) {
        missing += ro->want[u] == WANT_TARGET && st->pool_of[u] == FR__PLAN_UNPLACED;
    }
    return missing;
}

/* The least base free capacity (the input's steps, without E) of pool over
 * [a, b), or 0 when it is positive. */
static int64_t base_deficit(const fr_plan_input *in, size_t pool, int64_t a_ms, int64_t b_ms) {
    const fr_plan_pool *p = &in->pools[pool];
    int64_t least = 0;
    for (size_t k = 0; k < p->step_count; k++) {
        int64_t s = p->step_start_ms[k];
        int64_t e = k + 1 < p->step_count ? p->step_start_ms[k + 1] : in->horizon_end_ms;
        if (s < b_ms && a_ms < e && p->step_free_milli[k] < least) {
            least = p->step_free_milli[k];
        }
    }
    return -least;
}

/* u's window as an interval: [lo, latest start + duration). */
static int64_t window_end(const fr__plan_state *st, size_t u) {
    return st->info[u].latest_ms + st->in->items[u].duration_ms;
}

typedef struct span {
    int64_t start_ms;
    int64_t end_ms;
} span;

static int span_cmp(const void *pa, const void *pb) {
    const span *a = pa;
    const span *b = pb;
    return (a->start_ms > b->start_ms) - (a->start_ms < b->start_ms);
}

/* The sealed rooms of one pool: the round-0 slots of its sealed items,
 * merged into disjoint spans J, each given R(J) = the quantities of every
 * item that may be placed on the pool overlapping J (its window overlaps
 * J), plus the pool's base deficit over J.  Whatever a re-plan places
 * there, a sealed item then fits in its slot. */
static int seal_pool(const fr__plan_state *st, const rounds *ro, size_t pool, span *spans,
                     int64_t *sum, pieces *out) {
    size_t n = st->in->item_count;
    size_t count = 0;
    for (size_t u = 0; u < n; u++) {
        if (ro->sealed[u] && ro->p0_pool[u] == pool) {
            int64_t s = ro->p0_start_ms[u];
            spans[count++] = (span){s, s + st->in->items[u].duration_ms};
        }
    }
    if (count == 0) {
        return FR_OK;
    }
    qsort(spans, count, sizeof *spans, span_cmp);
    size_t merged = 0;
    for (size_t k = 0; k < count; k++) {
        if (merged > 0 && spans[k].start_ms <= spans[merged - 1].end_ms) {
            if (spans[k].end_ms > spans[merged - 1].end_ms) {
                spans[merged - 1].end_ms = spans[k].end_ms;
            }
        } else {
            spans[merged++] = spans[k];
        }
    }
    memset(sum, 0, merged * sizeof *sum);
    for (size_t i = 0; i < n; i++) {
        if (st->info[i].reason_static || !fr__plan_eligible(st, i, pool)) {
            continue;
        }
        int64_t lo = st->info[i].lo_ms;
        int64_t hi = window_end(st, i);
        /* The spans are disjoint and sorted: those overlapping the window
         * are consecutive, from the first that ends after lo. */
        size_t a = 0, b = merged;
        while (a < b) {
            size_t mid = a + (b - a) / 2;
            if (spans[mid].end_ms <= lo) {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        for (size_t k = a; k < merged && spans[k].start_ms < hi; k++) {
            sum[k] += st->in->items[i].quantity_milli;
        }
    }
    for (size_t k = 0; k < merged; k++) {
        int64_t room = sum[k] + base_deficit(st->in, pool, spans[k].start_ms, spans[k].end_ms);
        int rc = pieces_push(out, (fr_plan_shortfall){pool, spans[k].start_ms, spans[k].end_ms, room});
        if (rc != FR_OK) {
            return rc;
        }
    }
    return FR_OK;
}

/* Rebuilds the sealed rooms and E = the rounds' pieces + those rooms. */
static int seal_rooms(const fr__plan_state *st, rounds *ro) {
    size_t n = st->in->item_count ? st->in->item_count : 1;
    span *spans = malloc(n * sizeof *spans);
    int64_t *sum = malloc(n * sizeof *sum);
    int rc = spans && sum ? FR_OK : FR_ENOMEM;
    ro->sealing.len = 0;
    for (size_t pool = 0; rc == FR_OK && pool < st->in->pool_count; pool++) {
        rc = seal_pool(st, ro, pool, spans, sum, &ro->sealing);
    }
    free(spans);
    free(sum);
    ro->all.len = 0;
    for (size_t k = 0; rc == FR_OK && k < ro->extra.len + ro->sealing.len; k++) {
        rc = pieces_push(&ro->all, k < ro->extra.len ? ro->extra.v[k]
                                                     : ro->sealing.v[k - ro->extra.len]);
    }
    return rc;
}

/* After a re-plan that still misses targets: those with a vehicle become
 * vehicle_busy (capacity cannot make the planner sequence that vehicle);
 * those without one are sealed (all remaining ones when all_targets).
 * Returns how many were newly sealed. */
static size_t seal_missing(const fr__plan_state *cur, rounds *ro, fr_plan_result *out,
                           int all_targets) {
    size_t sealed = 0;
    for (size_t u = 0; u < cur->in->item_count; u++) {
        int missing = ro->want[u] == WANT_TARGET && cur->pool_of[u] == FR__PLAN_UNPLACED;
        if (missing && cur->info[u].vehicle != SIZE_MAX) {
            out->unplaced[reason_index(out, u)].reason = FR_PLAN_VEHICLE_BUSY;
            ro->want[u] = 0;
        } else if ((missing || (all_targets && ro->want[u] == WANT_TARGET &&
                                cur->info[u].vehicle == SIZE_MAX)) &&
                   !ro->sealed[u]) {
            ro->sealed[u] = 1;
            sealed++;
        }
    }
    return sealed;
}

/* The sealing stage, when the rounds' bound is reached and the last
 * re-plan (cur, made with E = ro->all) still misses targets.  A sealed
 * item is never left out by a re-plan: at its turn in the greedy its slot
 * has room for it whatever was placed before, and an improvement move that
 * ejects it re-places it by best fit, which finds that slot again (every
 * move re-places what it ejects or rolls back).  So each
 * re-plan here either places every target (verified) or seals at least one
 * more; at the last one all remaining targets are sealed at once.  The
 * final E is always one a re-plan was run with and checked against. */
static int seal_run(const fr_plan_input *in, fr__plan_state *cur, rounds *ro,
                    fr_plan_result *out) {
    for (size_t k = 0;; k++) {
        if (seal_missing(cur, ro, out, k == SEAL_REPLANS_MAX) == 0) {
            return FR_OK; /* placed, or the missing ones became vehicle_busy: verified */
        }
        assert(k <= SEAL_REPLANS_MAX);
        int rc = seal_rooms(cur, ro);
        fr__plan_state_free(cur);
        if (rc == FR_OK) {
            rc = fr__planner_run(in, ro->all.v, ro->all.len, 0, cur);
        }
        if (rc != FR_OK) {
            return rc; /* cur was freed (fr__planner_run frees on failure) */
        }
    }
}

/* Rounds until a re-plan with E places every target (verified); past the
 * bound, the sealing stage. */
static int rounds_run(const fr_plan_input *in, fr__plan_state *st, rounds *ro, fr_plan_result *out) {
    size_t missing = 0;
    int rc = round_extend(st, ro, &missing, out); /* round 0: the caller's final state */
    if (rc != FR_OK || missing == 0) {
        return rc;
    }
    size_t rounds_max = fr__plan_shortfall_rounds_max > 0 ? fr__plan_shortfall_rounds_max : 1;
    for (size_t round = 1; round <= rounds_max; round++) {
        fr__plan_state cur;
        rc = fr__planner_run(in, ro->extra.v, ro->extra.len, 0, &cur);
        if (rc != FR_OK) {
            return rc;
        }
        if (count_missing(&cur, ro) == 0) {
            fr__plan_state_free(&cur);
            return FR_OK; /* verified */
        }
        if (round == rounds_max) {
            rc = seal_rooms(&cur, ro); /* no seal yet: all = extra */
            if (rc == FR_OK) {
                rc = seal_run(in, &cur, ro, out);
            }
            if (rc == FR_OK) {
                fr__plan_state_free(&cur);
            }
            return rc;
        }
        ro->round = round;
        rc = round_extend(&cur, ro, &missing, NULL);
        fr__plan_state_free(&cur);
        if (rc != FR_OK) {
            return rc;
        }
    }
    return FR_OK;
}

int fr__plan_shortfall(const fr_plan_input *in, fr__plan_state *st, fr_plan_result *out) {
    size_t n = in->item_count ? in->item_count : 1;
    rounds ro;
    memset(&ro, 0, sizeof ro);
    ro.want = malloc(n);
    ro.order = malloc(n * sizeof *ro.order);
    ro.p0_pool = malloc(n * sizeof *ro.p0_pool);
    ro.p0_start_ms = malloc(n * sizeof *ro.p0_start_ms);
    ro.reset = malloc(st->vehicle_count ? st->vehicle_count : 1);
    ro.sealed = calloc(n, 1);
    int rc = ro.want && ro.order && ro.p0_pool && ro.p0_start_ms && ro.reset && ro.sealed
                 ? FR_OK
                 : FR_ENOMEM;
    if (rc == FR_OK && want_set(st, out, ro.want) > 0) {
        rc = fr__plan_priority_order(st, ro.order);
        if (rc == FR_OK) {
            rc = rounds_run(in, st, &ro, out);
        }
        if (rc == FR_OK) { /* the rounds' E, and the sealed rooms if any */
            rc = normalize(ro.sealing.len > 0 ? &ro.all : &ro.extra, out);
        }
    }
    rounds_free(&ro);
    return rc;
}
