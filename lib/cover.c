/*
 * cover.c — the fewest victims that clear an excess (see cover.h).
 *
 * Workload: a conflict on a busy pool may involve 10^5 bookings, so the
 * greedy path is a single left-to-right sweep, O((m + n) log n): segments
 * are visited once, a difference array carries the quantity already taken
 * away, and a binary heap holds the candidates covering the current segment.
 * Typical conflicts (a broken charger, a maintenance window) involve a few
 * bookings: there the exact branch and bound is cheap and its answer is the
 * one a brute force would give.
 */
#include <stdlib.h>
#include <string.h>

#include "cover.h"
#include "fleetres.h"

/* Segment steps the redundancy pass may spend (it is O(victim length)). */
#define FR__PRUNE_STEPS_MAX 8000000

/* ---- greedy ---------------------------------------------------------------- */

/* Heap order: larger quantity, then later end, then lower priority, then
 * lower index (deterministic). */
static int heap_before(const fr__cover_item *items, size_t a, size_t b)
{
    const fr__cover_item *x = &items[a], *y = &items[b];
    if (x->quantity_milli != y->quantity_milli) {
        return x->quantity_milli > y->quantity_milli;
    }
    if (x->hi != y->hi) {
        return x->hi > y->hi;
    }
    if (x->priority != y->priority) {
        return x->priority < y->priority;
    }
    return a < b;
}

static void heap_push(size_t *heap, size_t *len, const fr__cover_item *items, size_t v)
{
    size_t i = (*len)++;
    heap[i] = v;
    while (i > 0 && heap_before(items, heap[i], heap[(i - 1) / 2])) {
        size_t parent = (i - 1) / 2;
        size_t t = heap[i];
        heap[i] = heap[parent];
        heap[parent] = t;
        i = parent;
    }
}

static size_t heap_pop(size_t *heap, size_t *len, const fr__cover_item *items)
{
    size_t top = heap[0];
    heap[0] = heap[--(*len)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < *len && heap_before(items, heap[l], heap[best])) {
            best = l;
        }
        if (r < *len && heap_before(items, heap[r], heap[best])) {
            best = r;
        }
        if (best == i) {
            return top;
        }
        size_t t = heap[i];
        heap[i] = heap[best];
        heap[best] = t;
        i = best;
    }
}

/* A sort key: qsort has no context argument, so the keys travel with the
 * index (no global state: engines on other threads may be solving too). */
typedef struct sort_key {
    uint64_t k1, k2;
    size_t index;
} sort_key;

static int by_key(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    if (x->k1 != y->k1) {
        return x->k1 < y->k1 ? -1 : 1;
    }
    if (x->k2 != y->k2) {
        return x->k2 < y->k2 ? -1 : 1;
    }
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The sweep.  order: item indices sorted by lo; heap: n slots; diff: m + 1
 * zeroed slots. */
static int sweep(const int64_t *need, size_t m, const fr__cover_item *items, size_t n,
                 const size_t *order, size_t *heap, int64_t *diff, unsigned char *chosen)
{
    size_t heap_len = 0, next = 0;
    int64_t taken = 0; /* quantity taken away covering segment j */
    for (size_t j = 0; j < m; j++) {
        taken += diff[j];
        while (next < n && items[order[next]].lo <= j) {
            heap_push(heap, &heap_len, items, order[next++]);
        }
        while (need[j] - taken > 0) {
            size_t v = n;
            while (heap_len > 0 && v == n) {
                size_t top = heap_pop(heap, &heap_len, items);
                v = items[top].hi > j ? top : n; /* drop the expired */
            }
            if (v == n) {
                return FR_EUNRESOLVABLE;
            }
            chosen[v] = 1;
            taken += items[v].quantity_milli;
            diff[items[v].hi] -= items[v].quantity_milli;
        }
    }
    return FR_OK;
}

/* Drops victims the others made redundant, highest priority first (then
 * smallest quantity), within a step budget.  slack: m slots of scratch;
 * keys: n slots of scratch. */
static void prune(const int64_t *need, size_t m, const fr__cover_item *items, size_t n,
                  unsigned char *chosen, int64_t *slack, sort_key *keys)
{
    size_t k = 0, steps = 0;
    for (size_t j = 0; j < m; j++) {
        slack[j] = -need[j];
    }
    for (size_t i = 0; i < n && steps < FR__PRUNE_STEPS_MAX; i++) {
        if (chosen[i]) {
            keys[k++] = (sort_key){(uint64_t)(INT32_MAX - items[i].priority),
                                   (uint64_t)items[i].quantity_milli, i};
            for (size_t j = items[i].lo; j < items[i].hi; j++) {
                slack[j] += items[i].quantity_milli;
            }
            steps += items[i].hi - items[i].lo;
        }
    }
    if (steps >= FR__PRUNE_STEPS_MAX) {
        return;
    }
    qsort(keys, k, sizeof *keys, by_key);
    for (size_t v = 0; v < k && steps < FR__PRUNE_STEPS_MAX; v++) {
        const fr__cover_item *it = &items[keys[v].index];
        int redundant = 1;
        for (size_t j = it->lo; j < it->hi && redundant; j++) {
            redundant = slack[j] - it->quantity_milli >= 0;
        }
        steps += 2 * (it->hi - it->lo);
        if (redundant) {
            chosen[keys[v].index] = 0;
            for (size_t j = it->lo; j < it->hi; j++) {
                slack[j] -= it->quantity_milli;
            }
        }
    }
}

static int greedy(const int64_t *need, size_t m, const fr__cover_item *items, size_t n,
                  unsigned char *chosen)
{
    sort_key *keys = malloc((n > 0 ? n : 1) * sizeof *keys);
    size_t *order = malloc((n > 0 ? n : 1) * sizeof *order);
    size_t *heap = malloc((n > 0 ? n : 1) * sizeof *heap);
    int64_t *diff = calloc(m + 1, sizeof *diff);
    int rc = (keys && order && heap && diff) ? FR_OK : FR_ENOMEM;
    if (rc == FR_OK) {
        for (size_t i = 0; i < n; i++) {
            keys[i] = (sort_key){items[i].lo, 0, i};
        }
        qsort(keys, n, sizeof *keys, by_key);
        for (size_t i = 0; i < n; i++) {
            order[i] = keys[i].index;
        }
        memset(chosen, 0, n);
        rc = sweep(need, m, items, n, order, heap, diff, chosen);
    }
    if (rc == FR_OK) {
        prune(need, m, items, n, chosen, diff, keys); /* diff reused as scratch */
    }
    free(keys);
    free(order);
    free(heap);
    free(diff);
    return rc;
}

/* ---- exact: branch and bound --------------------------------------------- */

/* One level of the search: the earliest short segment and the candidates
 * covering it, tried in turn (each branch excludes the earlier ones, so
 * every subset is visited at most once). */
typedef struct frame {
    size_t seg;
    size_t cands[FR__COVER_EXACT_MAX];
    size_t ncand, next;
    size_t active;          /* the candidate taken in the current branch, or n */
    uint32_t excluded_at_entry;
} frame;

typedef struct search {
    const int64_t *need;
    size_t m;
    const fr__cover_item *items;
    size_t n;
    int64_t *def; /* need minus what is taken away, per segment */
    uint32_t taken, excluded, best;
    size_t count, best_count;
    int64_t prio, best_prio;
    size_t nodes;
} search;

static size_t first_short(const search *s)
{
    for (size_t j = 0; j < s->m; j++) {
        if (s->def[j] > 0) {
            return j;
        }
    }
    return s->m;
}

static void take(search *s, size_t c, int sign)
{
    const fr__cover_item *it = &s->items[c];
    for (size_t j = it->lo; j < it->hi; j++) {
        s->def[j] -= sign * it->quantity_milli;
    }
    s->taken ^= UINT32_C(1) << c;
    s->count = sign > 0 ? s->count + 1 : s->count - 1;
    s->prio += sign * it->priority;
}

/* Fills f with the candidates for segment seg (quantity desc, priority asc);
 * 0 when no completion can beat the best (then f is not entered). */
static int frame_open(search *s, frame *f, size_t seg)
{
    f->seg = seg;
    f->ncand = 0;
    f->next = 0;
    f->active = s->n;
    f->excluded_at_entry = s->excluded;
    for (size_t c = 0; c < s->n; c++) {
        uint32_t bit = UINT32_C(1) << c;
        if ((s->taken | s->excluded) & bit || s->items[c].lo > seg || s->items[c].hi <= seg) {
            continue;
        }
        size_t k = f->ncand++;
        while (k > 0) { /* insertion sort: at most 24 */
            const fr__cover_item *a = &s->items[f->cands[k - 1]], *b = &s->items[c];
            if (a->quantity_milli > b->quantity_milli ||
                (a->quantity_milli == b->quantity_milli && a->priority <= b->priority)) {
                break;
            }
            f->cands[k] = f->cands[k - 1];
            k--;
        }
        f->cands[k] = c;
    }
    /* Lower bound: the fewest of them whose quantities reach the deficit. */
    int64_t sum = 0;
    size_t lb = 0;
    while (lb < f->ncand && sum < s->def[seg]) {
        sum += s->items[f->cands[lb++]].quantity_milli;
    }
    if (sum < s->def[seg]) {
        return 0;
    }
    size_t total = s->count + lb;
    return total < s->best_count || (total == s->best_count && s->prio < s->best_prio);
}

/* Runs the search from the incumbent; 1 when it finished (optimal). */
static int branch_and_bound(search *s)
{
    frame stack[FR__COVER_EXACT_MAX + 1];
    size_t depth = 0;
    size_t seg = first_short(s);
    if (seg == s->m) {
        s->best = 0;
        s->best_count = 0;
        s->best_prio = 0;
        return 1;
    }
    if (frame_open(s, &stack[0], seg)) {
        depth = 1;
    }
    while (depth > 0) {
        frame *f = &stack[depth - 1];
        if (f->active != s->n) {
            take(s, f->active, -1);
            s->excluded |= UINT32_C(1) << f->active;
            f->active = s->n;
        }
        if (f->next == f->ncand) {
            s->excluded = f->excluded_at_entry;
            depth--;
            continue;
        }
        if (++s->nodes > FR__COVER_NODES_MAX) {
            return 0;
        }
        f->active = f->cands[f->next++];
        take(s, f->active, +1);
        size_t next_seg = first_short(s);
        if (next_seg == s->m) {
            if (s->count < s->best_count || (s->count == s->best_count && s->prio < s->best_prio)) {
                s->best = s->taken;
                s->best_count = s->count;
                s->best_prio = s->prio;
            }
        } else if (depth < FR__COVER_EXACT_MAX && frame_open(s, &stack[depth], next_seg)) {
            depth++;
        }
    }
    return 1;
}

static int exact(const int64_t *need, size_t m, const fr__cover_item *items, size_t n,
                 unsigned char *chosen, int *proven)
{
    search s;
    memset(&s, 0, sizeof s);
    s.need = need;
    s.m = m;
    s.items = items;
    s.n = n;
    s.def = malloc((m > 0 ? m : 1) * sizeof *s.def);
    if (s.def == NULL) {
        return FR_ENOMEM;
    }
    memcpy(s.def, need, m * sizeof *need);
    s.best_count = 0;
    for (size_t i = 0; i < n; i++) { /* the incumbent: the greedy answer */
        if (chosen[i]) {
            s.best |= UINT32_C(1) << i;
            s.best_count++;
            s.best_prio += items[i].priority;
        }
    }
    *proven = branch_and_bound(&s);
    for (size_t i = 0; i < n; i++) {
        chosen[i] = (s.best >> i) & 1u;
    }
    free(s.def);
    return FR_OK;
}

int fr__cover_solve(const int64_t *need, size_t m, const fr__cover_item *items, size_t n,
                    unsigned char *chosen, size_t *count, int *exact_out)
{
    for (size_t i = 0; i < n; i++) {
        if (!(items[i].lo < items[i].hi && items[i].hi <= m && items[i].quantity_milli > 0)) {
            return FR_EINVAL; /* a caller bug; never silently wrong */
        }
    }
    int rc = greedy(need, m, items, n, chosen);
    int proven = 0;
    if (rc == FR_OK && n <= FR__COVER_EXACT_MAX) {
        rc = exact(need, m, items, n, chosen, &proven);
    }
    if (rc != FR_OK) {
        return rc;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k += chosen[i];
    }
    *count = k;
    if (exact_out != NULL) {
        *exact_out = proven;
    }
    return FR_OK;
}
