/*
 * victims.c — which bookings of a pool to take away so that an interval has
 * room again: the bridge between the ledger and the cover solver (cover.h),
 * shared by conflict resolution (resolve.c) and request preemption
 * (preempt.c).
 *
 * The interval [start, end) is cut at every start and end of the bookings
 * overlapping it and at every capacity change inside it; free capacity is
 * constant on each piece.  Every booking counted at an instant of the
 * interval overlaps it, so booked(t) comes from those bookings alone (a
 * difference array over the pieces) and no per-piece ledger query is needed
 * beyond the capacity's.  Cost: O(k log k + m log s) for k bookings, m
 * pieces and s schedule entries, plus the solver.
 */
#include <stdlib.h>
#include <string.h>

#include "cover.h"
#include "fr_int.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The index of the piece starting at t (t is one of the bounds). */
static size_t piece_of(const int64_t *bounds, size_t m, int64_t t)
{
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bounds[mid] < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Sorted, distinct piece starts of [start, end) into *out (m of them). */
static int cut(const fr__pool_rec *pool, fr__alloc_rec **recs, size_t k, int64_t start,
               int64_t end, int64_t **out, size_t *m)
{
    size_t cap = 1 + 2 * k + 2 * pool->p.schedule_len;
    int64_t *b = malloc(cap * sizeof *b);
    if (b == NULL) {
        return FR_ENOMEM;
    }
    size_t n = 0;
    b[n++] = start;
    for (size_t i = 0; i < k; i++) {
        const fr_allocation *a = &recs[i]->a;
        if (a->start_ms > start && a->start_ms < end) {
            b[n++] = a->start_ms;
        }
        if (a->end_ms > start && a->end_ms < end) {
            b[n++] = a->end_ms;
        }
    }
    for (size_t i = 0; i < pool->p.schedule_len; i++) {
        const fr_schedule_entry *s = &pool->p.schedule[i];
        if (s->start_ms > start && s->start_ms < end) {
            b[n++] = s->start_ms;
        }
        if (s->end_ms > start && s->end_ms < end) {
            b[n++] = s->end_ms;
        }
    }
    qsort(b, n, sizeof *b, cmp_i64);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w == 0 || b[i] != b[w - 1]) {
            b[w++] = b[i];
        }
    }
    *out = b;
    *m = w;
    return FR_OK;
}

/* need[j] = extra - free(piece j), from the bookings and the capacity. */
static int shortfalls(const fr__pool_rec *pool, fr__alloc_rec **recs, size_t k,
                      const int64_t *bounds, size_t m, int64_t end, int64_t extra_milli,
                      int64_t **out)
{
    int64_t *need = calloc(m + 1, sizeof *need);
    if (need == NULL) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        const fr_allocation *a = &recs[i]->a;
        size_t lo = a->start_ms <= bounds[0] ? 0 : piece_of(bounds, m, a->start_ms);
        size_t hi = a->end_ms >= end ? m : piece_of(bounds, m, a->end_ms);
        need[lo] += a->quantity_milli;
        need[hi] -= a->quantity_milli;
    }
    int64_t booked = 0;
    for (size_t j = 0; j < m; j++) {
        booked += need[j];
        need[j] = extra_milli + booked - fr__ledger_capacity_at(pool->live, bounds[j]);
    }
    *out = need;
    return FR_OK;
}

/* The live bookings of pool overlapping [start, end) (malloc'd). */
static int overlapping(const fr__pool_rec *pool, int64_t start, int64_t end,
                       fr__alloc_rec ***out, size_t *k)
{
    size_t n = fr__ledger_overlapping(pool->live, start, end, NULL, 0);
    uint64_t *tags = malloc((n > 0 ? n : 1) * sizeof *tags);
    if (tags == NULL) {
        return FR_ENOMEM;
    }
    n = fr__ledger_overlapping(pool->live, start, end, tags, n);
    fr__alloc_rec **recs = malloc((n > 0 ? n : 1) * sizeof *recs);
    for (size_t i = 0; recs != NULL && i < n; i++) {
        recs[i] = (fr__alloc_rec *)(uintptr_t)tags[i]; /* txn.c tags bookings so */
    }
    free(tags);
    if (recs == NULL) {
        return FR_ENOMEM;
    }
    *out = recs;
    *k = n;
    return FR_OK;
}

/* The first instant where even every eligible booking is not enough. */
static int64_t first_uncleared(const int64_t *need, const int64_t *bounds, size_t m,
                               const fr__cover_item *items, size_t n, int64_t *diff)
{
    memset(diff, 0, (m + 1) * sizeof *diff);
    for (size_t i = 0; i < n; i++) {
        diff[items[i].lo] += items[i].quantity_milli;
        diff[items[i].hi] -= items[i].quantity_milli;
    }
    int64_t avail = 0;
    for (size_t j = 0; j < m; j++) {
        avail += diff[j];
        if (need[j] > avail) {
            return bounds[j];
        }
    }
    return FR_TIME_NULL;
}

/* Items of the eligible bookings; item_rec[i] names the booking. */
static int make_items(fr__alloc_rec **recs, size_t k, const int64_t *bounds, size_t m,
                      int64_t end, fr__eligible_fn eligible, const void *ctx,
                      fr__cover_item **items_out, size_t **item_rec_out, size_t *n_out)
{
    fr__cover_item *items = malloc((k > 0 ? k : 1) * sizeof *items);
    size_t *item_rec = malloc((k > 0 ? k : 1) * sizeof *item_rec);
    if (items == NULL || item_rec == NULL) {
        free(items);
        free(item_rec);
        return FR_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        const fr_allocation *a = &recs[i]->a;
        if (!eligible(recs[i], ctx)) {
            continue;
        }
        items[n].lo = a->start_ms <= bounds[0] ? 0 : piece_of(bounds, m, a->start_ms);
        items[n].hi = a->end_ms >= end ? m : piece_of(bounds, m, a->end_ms);
        items[n].quantity_milli = a->quantity_milli;
        items[n].priority = a->priority;
        item_rec[n++] = i;
    }
    *items_out = items;
    *item_rec_out = item_rec;
    *n_out = n;
    return FR_OK;
}

static int pick(fr__alloc_rec **recs, const fr__cover_item *items, const size_t *item_rec,
                size_t n, const int64_t *need, const int64_t *bounds, size_t m,
                fr__victims *out)
{
    unsigned char *chosen = calloc(n > 0 ? n : 1, 1);
    if (chosen == NULL) {
        return FR_ENOMEM;
    }
    size_t count = 0;
    int rc = fr__cover_solve(need, m, items, n, chosen, &count, &out->exact);
    if (rc == FR_EUNRESOLVABLE) {
        int64_t *diff = malloc((m + 1) * sizeof *diff);
        out->short_at_ms = diff == NULL ? bounds[0] : first_uncleared(need, bounds, m, items, n, diff);
        free(diff);
    }
    fr__alloc_rec **victims = rc == FR_OK ? malloc((count > 0 ? count : 1) * sizeof *victims) : NULL;
    if (rc == FR_OK && victims == NULL) {
        rc = FR_ENOMEM;
    }
    size_t w = 0;
    for (size_t i = 0; rc == FR_OK && i < n; i++) {
        if (chosen[i]) {
            victims[w++] = recs[item_rec[i]];
            out->priority_sum += items[i].priority;
        }
    }
    free(chosen);
    if (rc == FR_OK) {
        out->recs = victims;
        out->len = w;
    }
    return rc;
}

int fr__choose_victims(const fr__pool_rec *pool, int64_t start_ms, int64_t end_ms,
                       int64_t extra_milli, fr__eligible_fn eligible, const void *ctx,
                       fr__victims *out)
{
    memset(out, 0, sizeof *out);
    out->short_at_ms = FR_TIME_NULL;
    fr__alloc_rec **recs = NULL;
    int64_t *bounds = NULL, *need = NULL;
    fr__cover_item *items = NULL;
    size_t *item_rec = NULL;
    size_t k = 0, m = 0, n = 0;
    int rc = overlapping(pool, start_ms, end_ms, &recs, &k);
    if (rc == FR_OK) {
        rc = cut(pool, recs, k, start_ms, end_ms, &bounds, &m);
    }
    if (rc == FR_OK) {
        rc = shortfalls(pool, recs, k, bounds, m, end_ms, extra_milli, &need);
    }
    if (rc == FR_OK) {
        rc = make_items(recs, k, bounds, m, end_ms, eligible, ctx, &items, &item_rec, &n);
    }
    if (rc == FR_OK) {
        rc = pick(recs, items, item_rec, n, need, bounds, m, out);
    }
    free(recs);
    free(bounds);
    free(need);
    free(items);
    free(item_rec);
    return rc;
}

void fr__victims_free(fr__victims *v)
{
    free(v->recs);
    v->recs = NULL;
    v->len = 0;
}
