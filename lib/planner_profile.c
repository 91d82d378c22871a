/*
 * planner_profile.c — a pool's free capacity as a chunked step function.
 *
 * Workload.  The planner places tens of thousands of items on a pool's free
 * profile, removes and re-places them while improving, and for every
 * candidate placement asks for the earliest start where an item fits.  The
 * profile starts with the ledger's steps and gains up to two boundaries per
 * reservation.
 *
 * Why chunks.  Segments (start, value) live in sorted chunks of at most
 * CHUNK_MAX entries.  Each chunk keeps a lazy add and the min and max of its
 * raw values, so a range add touches two partial chunks and bumps the lazy
 * of the ones in between, and a search for the first value below (or at
 * least) q skips every chunk whose min (max) answers it at once.  With n
 * segments that is O(n / CHUNK_MAX + CHUNK_MAX) per operation, a binary
 * search to find a position, no per-segment allocation and no recursion.  A
 * full chunk splits in two; chunks never merge (profiles live for one solve).
 */
#include "planner_profile.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"

#define CHUNK_MAX 128
#define CHUNKS_INITIAL 8

typedef struct chunk {
    size_t n;        /* 1..CHUNK_MAX segments */
    int64_t lazy;    /* added to every value of the chunk */
    int64_t min_raw; /* min of val[0..n) (lazy not included) */
    int64_t max_raw;
    int64_t start[CHUNK_MAX];
    int64_t val[CHUNK_MAX];
} chunk;

struct fr__profile {
    chunk **chunks;
    int64_t *first_ms; /* chunks[i]->start[0], contiguous for the binary search */
    size_t count;
    size_t cap;
    int64_t begin_ms;
    int64_t end_ms;
    size_t segments;
};

typedef struct pos {
    size_t ci;
    size_t si;
} pos;

static void chunk_bounds(chunk *c) {
    assert(c->n >= 1 && c->n <= CHUNK_MAX);
    c->min_raw = c->val[0];
    c->max_raw = c->val[0];
    for (size_t i = 1; i < c->n; i++) {
        c->min_raw = c->val[i] < c->min_raw ? c->val[i] : c->min_raw;
        c->max_raw = c->val[i] > c->max_raw ? c->val[i] : c->max_raw;
    }
}

static int chunks_reserve(fr__profile *pf, size_t need) {
    if (need <= pf->cap) {
        return FR_OK;
    }
    size_t cap = pf->cap ? pf->cap * 2 : CHUNKS_INITIAL;
    while (cap < need) {
        cap *= 2;
    }
    chunk **grown = realloc(pf->chunks, cap * sizeof *grown);
    if (!grown) {
        return FR_ENOMEM;
    }
    pf->chunks = grown;
    int64_t *firsts = realloc(pf->first_ms, cap * sizeof *firsts);
    if (!firsts) {
        return FR_ENOMEM; /* chunks grew, cap did not: a later call retries */
    }
    pf->first_ms = firsts;
    pf->cap = cap;
    return FR_OK;
}

fr__profile *fr__profile_new(int64_t end_ms, size_t step_count, const int64_t *start_ms,
                             const int64_t *free_milli) {
    assert(step_count >= 1 && start_ms[step_count - 1] < end_ms);
    fr__profile *pf = calloc(1, sizeof *pf);
    if (!pf) {
        return NULL;
    }
    pf->begin_ms = start_ms[0];
    pf->end_ms = end_ms;
    size_t per_chunk = CHUNK_MAX / 2;
    size_t need = (step_count + per_chunk - 1) / per_chunk;
    if (chunks_reserve(pf, need) != FR_OK) {
        fr__profile_free(pf);
        return NULL;
    }
    for (size_t i = 0; i < step_count; i += per_chunk) {
        chunk *c = calloc(1, sizeof *c);
        if (!c) {
            fr__profile_free(pf);
            return NULL;
        }
        c->n = step_count - i < per_chunk ? step_count - i : per_chunk;
        memcpy(c->start, start_ms + i, c->n * sizeof c->start[0]);
        memcpy(c->val, free_milli + i, c->n * sizeof c->val[0]);
        chunk_bounds(c);
        pf->first_ms[pf->count] = c->start[0];
        pf->chunks[pf->count++] = c;
    }
    pf->segments = step_count;
    return pf;
}

void fr__profile_free(fr__profile *pf) {
    if (!pf) {
        return;
    }
    for (size_t i = 0; i < pf->count; i++) {
        free(pf->chunks[i]);
    }
    free(pf->chunks);
    free(pf->first_ms);
    free(pf);
}

int64_t fr__profile_begin_ms(const fr__profile *pf) { return pf->begin_ms; }
int64_t fr__profile_end_ms(const fr__profile *pf) { return pf->end_ms; }
size_t fr__profile_segment_count(const fr__profile *pf) { return pf->segments; }

/* The segment holding t (begin <= t < end). */
static pos locate(const fr__profile *pf, int64_t t_ms) {
    assert(t_ms >= pf->begin_ms && t_ms < pf->end_ms);
    size_t lo = 0;
    size_t hi = pf->count; /* the answer is in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (pf->first_ms[mid] <= t_ms) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    const chunk *c = pf->chunks[lo];
    size_t a = 0;
    size_t b = c->n;
    while (b - a > 1) {
        size_t mid = a + (b - a) / 2;
        if (c->start[mid] <= t_ms) {
            a = mid;
        } else {
            b = mid;
        }
    }
    return (pos){lo, a};
}

/* Where segment p ends. */
static int64_t seg_end(const fr__profile *pf, pos p) {
    const chunk *c = pf->chunks[p.ci];
    if (p.si + 1 < c->n) {
        return c->start[p.si + 1];
    }
    return p.ci + 1 < pf->count ? pf->first_ms[p.ci + 1] : pf->end_ms;
}

static int64_t chunk_end(const fr__profile *pf, size_t ci) {
    return ci + 1 < pf->count ? pf->first_ms[ci + 1] : pf->end_ms;
}

/* Splits full chunk ci into two halves. */
static int chunk_split(fr__profile *pf, size_t ci) {
    if (chunks_reserve(pf, pf->count + 1) != FR_OK) {
        return FR_ENOMEM;
    }
    chunk *c = pf->chunks[ci];
    chunk *d = calloc(1, sizeof *d);
    if (!d) {
        return FR_ENOMEM;
    }
    size_t keep = c->n / 2;
    d->n = c->n - keep;
    d->lazy = c->lazy;
    memcpy(d->start, c->start + keep, d->n * sizeof d->start[0]);
    memcpy(d->val, c->val + keep, d->n * sizeof d->val[0]);
    c->n = keep;
    chunk_bounds(c);
    chunk_bounds(d);
    memmove(pf->chunks + ci + 2, pf->chunks + ci + 1, (pf->count - ci - 1) * sizeof *pf->chunks);
    memmove(pf->first_ms + ci + 2, pf->first_ms + ci + 1, (pf->count - ci - 1) * sizeof *pf->first_ms);
    pf->chunks[ci + 1] = d;
    pf->first_ms[ci + 1] = d->start[0];
    pf->count++;
    return FR_OK;
}

/* Makes t a segment boundary (no change to the function). */
static int split_at(fr__profile *pf, int64_t t_ms) {
    if (t_ms <= pf->begin_ms || t_ms >= pf->end_ms) {
        return FR_OK;
    }
    pos p = locate(pf, t_ms);
    if (pf->chunks[p.ci]->start[p.si] == t_ms) {
        return FR_OK;
    }
    if (pf->chunks[p.ci]->n == CHUNK_MAX) {
        int rc = chunk_split(pf, p.ci);
        if (rc != FR_OK) {
            return rc;
        }
        p = locate(pf, t_ms);
    }
    chunk *c = pf->chunks[p.ci];
    size_t at = p.si + 1;
    memmove(c->start + at + 1, c->start + at, (c->n - at) * sizeof c->start[0]);
    memmove(c->val + at + 1, c->val + at, (c->n - at) * sizeof c->val[0]);
    c->start[at] = t_ms;
    c->val[at] = c->val[p.si];
    c->n++;
    pf->segments++;
    return FR_OK;
}

int fr__profile_add(fr__profile *pf, int64_t a_ms, int64_t b_ms, int64_t delta_milli) {
    a_ms = a_ms < pf->begin_ms ? pf->begin_ms : a_ms;
    b_ms = b_ms > pf->end_ms ? pf->end_ms : b_ms;
    if (a_ms >= b_ms || delta_milli == 0) {
        return FR_OK;
    }
    int rc = split_at(pf, a_ms);
    if (rc == FR_OK) {
        rc = split_at(pf, b_ms);
    }
    if (rc != FR_OK) {
        return rc; /* at most a boundary was added: the function is unchanged */
    }
    pos p = locate(pf, a_ms);
    for (size_t ci = p.ci, si = p.si; ci < pf->count; ci++, si = 0) {
        chunk *c = pf->chunks[ci];
        if (c->start[si] >= b_ms) {
            break;
        }
        int64_t cend = chunk_end(pf, ci);
        if (si == 0 && cend <= b_ms) {
            c->lazy += delta_milli;
        } else {
            for (size_t j = si; j < c->n && c->start[j] < b_ms; j++) {
                c->val[j] += delta_milli;
            }
            chunk_bounds(c);
        }
        if (cend >= b_ms) {
            break;
        }
    }
    return FR_OK;
}

int64_t fr__profile_min(const fr__profile *pf, int64_t a_ms, int64_t b_ms) {
    assert(a_ms >= pf->begin_ms && a_ms < b_ms && b_ms <= pf->end_ms);
    pos p = locate(pf, a_ms);
    int64_t best = INT64_MAX;
    for (size_t ci = p.ci, si = p.si; ci < pf->count; ci++, si = 0) {
        const chunk *c = pf->chunks[ci];
        if (c->start[si] >= b_ms) {
            break;
        }
        int64_t cend = chunk_end(pf, ci);
        if (si == 0 && cend <= b_ms) {
            int64_t m = c->min_raw + c->lazy;
            best = m < best ? m : best;
        } else {
            for (size_t j = si; j < c->n && c->start[j] < b_ms; j++) {
                int64_t v = c->val[j] + c->lazy;
                best = v < best ? v : best;
            }
        }
        if (cend >= b_ms) {
            break;
        }
    }
    assert(best != INT64_MAX);
    return best;
}

/* The first segment at or after p (inclusive) starting before limit whose
 * value is below q (want_below) or at least q (!want_below); 1 if found. */
static int find_first(const fr__profile *pf, pos p, int64_t limit_ms, int64_t q, int want_below,
                      pos *found) {
    for (size_t ci = p.ci, si = p.si; ci < pf->count; ci++, si = 0) {
        const chunk *c = pf->chunks[ci];
        if (c->start[si] >= limit_ms) {
            return 0;
        }
        int skip = want_below ? c->min_raw + c->lazy >= q : c->max_raw + c->lazy < q;
        if (si == 0 && skip) {
            continue;
        }
        for (size_t j = si; j < c->n && c->start[j] < limit_ms; j++) {
            int64_t v = c->val[j] + c->lazy;
            if (want_below ? v < q : v >= q) {
                *found = (pos){ci, j};
                return 1;
            }
        }
    }
    return 0;
}

/* The last segment at or after p starting before limit whose value is
 * below q; 1 if any.  Chunks without such a value are skipped whole. */
static int find_last_below(const fr__profile *pf, pos p, int64_t limit_ms, int64_t q, pos *found) {
    int any = 0;
    for (size_t ci = p.ci, si = p.si; ci < pf->count; ci++, si = 0) {
        const chunk *c = pf->chunks[ci];
        if (c->start[si] >= limit_ms) {
            break;
        }
        if (c->min_raw + c->lazy >= q) {
            continue;
        }
        for (size_t j = si; j < c->n && c->start[j] < limit_ms; j++) {
            if (c->val[j] + c->lazy < q) {
                *found = (pos){ci, j};
                any = 1;
            }
        }
    }
    return any;
}

/* The segment after p; 0 at the end. */
static int pos_next(const fr__profile *pf, pos p, pos *next) {
    if (p.si + 1 < pf->chunks[p.ci]->n) {
        *next = (pos){p.ci, p.si + 1};
        return 1;
    }
    if (p.ci + 1 < pf->count) {
        *next = (pos){p.ci + 1, 0};
        return 1;
    }
    return 0;
}

int fr__profile_earliest(const fr__profile *pf, int64_t from_ms, int64_t duration_ms,
                         int64_t quantity_milli, int64_t latest_start_ms, int64_t *start_ms) {
    assert(duration_ms > 0 && from_ms >= pf->begin_ms);
    assert(latest_start_ms < from_ms || latest_start_ms + duration_ms <= pf->end_ms);
    if (from_ms > latest_start_ms) {
        return 0;
    }
    int64_t s = from_ms;
    pos p = locate(pf, s);
    /* Each round jumps past the last blocking segment of [s, s + d) to the
     * next segment with room: bounded by the segment count. */
    for (size_t round = 0; round <= pf->segments + 1; round++) {
        pos bad;
        if (!find_last_below(pf, p, s + duration_ms, quantity_milli, &bad)) {
            *start_ms = s;
            return 1;
        }
        pos after;
        pos good;
        if (!pos_next(pf, bad, &after) ||
            !find_first(pf, after, latest_start_ms + 1, quantity_milli, 0, &good)) {
            return 0;
        }
        p = good;
        s = pf->chunks[good.ci]->start[good.si];
    }
    assert(!"profile search did not terminate");
    return 0;
}

int64_t fr__profile_next_boundary(const fr__profile *pf, int64_t t_ms) {
    if (t_ms < pf->begin_ms) {
        return pf->begin_ms;
    }
    if (t_ms >= pf->end_ms) {
        return pf->end_ms;
    }
    return seg_end(pf, locate(pf, t_ms));
}

int64_t fr__profile_at(const fr__profile *pf, int64_t t_ms) {
    pos p = locate(pf, t_ms);
    const chunk *c = pf->chunks[p.ci];
    return c->val[p.si] + c->lazy;
}
