/*
 * ledger.c — the time-aware capacity ledger of one pool: two augmented treaps.
 *
 * Workload.  Every booking attempt asks "is there room over [a, b)?"
 * (min_free / first_shortfall) and then books; refusals ask "when is the next
 * fit?" (next_fit); capacity cuts and overcommits ask "where is it over?"
 * (next_overrun); reads ask "what is booked now?" and "who overlaps [a, b)?";
 * the utilization series asks for time-weighted averages.  A pool may hold
 * 10^6 live bookings, so each of these must cost O(log n), not O(n).
 *
 * The step function.  free(t) = capacity(t) - booked(t) changes only at
 * breakpoints: the start and end of each booking and of each schedule
 * override.  The breakpoints live in a treap keyed by time.  Each point holds
 *   d_free  the jump of free(t) at that instant (capacity delta - booked delta),
 *   d_book  the jump of booked(t),
 *   refs    how many booking or schedule edges sit on it (freed at 0),
 * and each subtree keeps the sums of both, and the minimum and maximum of the
 * running sum of d_free over its points in time order (its "prefixes").  Then
 *   free(t)   = base + sum of d_free over points <= t   (base = total capacity)
 *   booked(t) = sum of d_book over points <= t,
 * one root-to-leaf walk each; "min of free over (a, b)" is two walks; "the
 * first point after a where free < x (or >= x)" is one walk that prunes every
 * subtree whose min (max) prefix cannot qualify.  A schedule override
 * {s, e, c} is the capacity delta +(c - total) at s and -(c - total) at e; an
 * open-ended interval (end FR_TIME_INF) has no end point at all.
 *
 * The bookings.  A second treap, keyed by (start, handle) with the largest end
 * of each subtree, answers "which bookings overlap [a, b)?" in start order,
 * skipping every subtree whose largest end is <= a.  A booking's handle is the
 * index of its node there, which stores start, end, quantity and tag, so
 * unbook needs no other lookup.
 *
 * Memory.  Nodes live in fixed-size chunks of LEDGER_CHUNK_NODES nodes
 * addressed by uint32 index (chunk << shift | offset), never by pointer, so
 * growth never moves or doubles the bulk of the data; only the first chunk
 * grows by doubling (so that an almost empty pool stays small).  A booking
 * costs one 56-byte booking node and at most two 72-byte points: <= 200 bytes
 * plus at most one partly used chunk per tree.  Index 0 is "none" in both
 * trees.  Freed nodes go on a LIFO free list linked through their first word.
 *
 * Determinism.  Treap priorities come from a fixed-seed xorshift generator
 * owned by the ledger: the same operations give the same trees.  Recursion is
 * only ever along one or two root-to-leaf paths, so it is bounded by the tree
 * height, asserted below LEDGER_DEPTH_MAX.
 *
 * Ranges.  Quantities and capacities are at most 1e15 milli, the sum of all
 * booked quantities at most 2^62 (checked by fr__ledger_book), so every
 * prefix sum fits comfortably in int64; the time integrals of fr__ledger_stats
 * use a 128-bit integer.
 */
#include "ledger.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"

/* log2 of the nodes per chunk, and the derived constants. */
#define LEDGER_CHUNK_SHIFT 8u
#define LEDGER_CHUNK_NODES (UINT32_C(1) << LEDGER_CHUNK_SHIFT)
#define LEDGER_CHUNK_MASK (LEDGER_CHUNK_NODES - 1u)
/* Nodes in the first chunk when it is first allocated (it then doubles up to
 * LEDGER_CHUNK_NODES). */
#define LEDGER_FIRST_CHUNK_NODES UINT32_C(16)
/* Chunks addressable with a uint32 index (one fewer, so that one past the
 * last index still fits in a uint32). */
#define LEDGER_CHUNKS_MAX ((UINT32_C(1) << (32u - LEDGER_CHUNK_SHIFT)) - 1u)
/* The sentinel index: "no node". */
#define LEDGER_NIL UINT32_C(0)
/* A treap of any size we can address is far shallower; deeper is a bug. */
#define LEDGER_DEPTH_MAX 200
/* The fixed seed of the priority generator (any non-zero value). */
#define LEDGER_SEED UINT64_C(0x2545F4914F6CDD1D)
/* The overflow guard: the sum of all booked quantities stays <= 2^62. */
#define LEDGER_BOOKED_SUM_MAX (UINT64_C(1) << 62)
/* What malloc keeps per block beyond the request (glibc: one size word,
 * rounded to 16 bytes); counted by fr__ledger_bytes. */
#define LEDGER_MALLOC_OVERHEAD 16u

/* One breakpoint of the step functions. */
typedef struct ledger_point {
    int64_t t_ms;
    int64_t d_free_milli;      /* jump of free(t) at t_ms */
    int64_t d_book_milli;      /* jump of booked(t) at t_ms */
    int64_t sum_free_milli;    /* subtree: sum of d_free */
    int64_t sum_book_milli;    /* subtree: sum of d_book */
    int64_t min_prefix_milli;  /* subtree: min running sum of d_free, in time order */
    int64_t max_prefix_milli;  /* subtree: max running sum of d_free, in time order */
    uint32_t left;             /* free list link when free (first word overlaid) */
    uint32_t right;
    uint32_t priority;
    uint32_t refs;             /* booking and schedule edges at t_ms; 0 when free */
} ledger_point;

/* One booking: a node of the interval treap keyed by (start, handle). */
typedef struct ledger_booking {
    int64_t start_ms;
    int64_t end_ms;            /* FR_TIME_INF when open-ended; FR_TIME_NULL when free */
    int64_t max_end_ms;        /* subtree: the largest end */
    int64_t quantity_milli;
    uint64_t tag;
    uint32_t left;
    uint32_t right;
    uint32_t priority;
    uint32_t unused;
} ledger_booking;

/* An array of nodes in chunks, addressed by uint32 index. */
typedef struct ledger_pool {
    unsigned char **chunks;    /* chunk_count of them */
    size_t node_size;
    uint32_t chunk_count;
    uint32_t table_len;        /* slots in chunks */
    uint32_t first_nodes;      /* nodes in chunks[0] (the others are full size) */
    uint32_t used;             /* indices [0, used) were ever handed out (0 is nil) */
    uint32_t free_head;        /* LEDGER_NIL when empty */
    uint32_t free_count;
} ledger_pool;

struct fr__ledger {
    ledger_pool points;
    ledger_pool bookings;
    uint32_t point_root;
    uint32_t booking_root;
    size_t point_count;
    size_t booking_count;
    uint64_t booked_sum_milli;     /* sum of the quantities of all live bookings */
    int64_t total_capacity_milli;  /* capacity outside schedule entries */
    fr_schedule_entry *schedule;   /* owned copy; NULL when schedule_len == 0 */
    size_t schedule_len;
    uint64_t prng_state;           /* xorshift64, never 0 */
};

/* ---------------------------------------------------------------------------
 * Pure helpers.
 * ------------------------------------------------------------------------- */

static int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }

/* s + d, where d > 0 and FR_TIME_INF (or anything past it) stays FR_TIME_INF. */
static int64_t time_add(int64_t s_ms, int64_t d_ms) {
    assert(d_ms > 0);
    assert(s_ms != FR_TIME_INF);
    if (d_ms == FR_TIME_INF || (s_ms > 0 && d_ms >= FR_TIME_INF - s_ms)) {
        return FR_TIME_INF;
    }
    return s_ms + d_ms;
}

/* xorshift64 (Marsaglia): full period over non-zero states, deterministic. */
static uint32_t ledger_next_priority(fr__ledger *ledger) {
    uint64_t x = ledger->prng_state;
    assert(x != 0);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ledger->prng_state = x;
    return (uint32_t)(x >> 32);
}

/* ---------------------------------------------------------------------------
 * Node pools.
 * ------------------------------------------------------------------------- */

static void *pool_node(const ledger_pool *pool, uint32_t index) {
    assert(index != LEDGER_NIL);
    assert(index < pool->used);
    return pool->chunks[index >> LEDGER_CHUNK_SHIFT] +
           (size_t)(index & LEDGER_CHUNK_MASK) * pool->node_size;
}

/* One past the largest index the allocated chunks can hold. */
static uint32_t pool_limit(const ledger_pool *pool) {
    if (pool->chunk_count == 0) {
        return 0;
    }
    if (pool->chunk_count == 1) {
        return pool->first_nodes;
    }
    assert(pool->first_nodes == LEDGER_CHUNK_NODES);
    assert(pool->chunk_count <= LEDGER_CHUNKS_MAX);
    return pool->chunk_count << LEDGER_CHUNK_SHIFT;
}

/* Nodes that can be handed out without allocating. */
static uint64_t pool_available(const ledger_pool *pool) {
    return (uint64_t)pool->free_count + (pool_limit(pool) - pool->used);
}

/* Grows the pool by one step: the first chunk doubles up to full size, then
 * one full chunk is added.  FR_ENOMEM leaves the pool as it was. */
static int pool_grow(ledger_pool *pool) {
    if (pool->chunk_count == 1 && pool->first_nodes < LEDGER_CHUNK_NODES) {
        uint32_t nodes = pool->first_nodes * 2u;
        unsigned char *chunk = realloc(pool->chunks[0], (size_t)nodes * pool->node_size);
        if (chunk == NULL) {
            return FR_ENOMEM;
        }
        pool->chunks[0] = chunk;
        pool->first_nodes = nodes;
        return FR_OK;
    }
    if (pool->chunk_count == LEDGER_CHUNKS_MAX) {
        return FR_ENOMEM;
    }
    if (pool->chunk_count == pool->table_len) {
        uint32_t len = pool->table_len == 0 ? 4u : pool->table_len * 2u;
        unsigned char **table = realloc(pool->chunks, (size_t)len * sizeof(*table));
        if (table == NULL) {
            return FR_ENOMEM;
        }
        pool->chunks = table;
        pool->table_len = len;
    }
    uint32_t nodes = pool->chunk_count == 0 ? LEDGER_FIRST_CHUNK_NODES : LEDGER_CHUNK_NODES;
    unsigned char *chunk = malloc((size_t)nodes * pool->node_size);
    if (chunk == NULL) {
        return FR_ENOMEM;
    }
    if (pool->chunk_count == 0) {
        pool->first_nodes = nodes;
        pool->used = 1; /* index 0 is the sentinel, never handed out */
    }
    pool->chunks[pool->chunk_count++] = chunk;
    return FR_OK;
}

/* Makes sure count nodes can be allocated without failing. */
static int pool_reserve(ledger_pool *pool, uint64_t count) {
    while (pool_available(pool) < count) {
        int status = pool_grow(pool);
        if (status != FR_OK) {
            return status;
        }
    }
    return FR_OK;
}

/* Hands out a node (reserved beforehand); its contents are garbage. */
static uint32_t pool_alloc(ledger_pool *pool) {
    assert(pool_available(pool) >= 1);
    uint32_t index;
    if (pool->free_head != LEDGER_NIL) {
        index = pool->free_head;
        memcpy(&pool->free_head, pool_node(pool, index), sizeof(uint32_t));
        pool->free_count--;
    } else {
        index = pool->used++;
    }
    assert(index != LEDGER_NIL);
    return index;
}

/* Returns a node to the free list (linked through its first word). */
static void pool_release(ledger_pool *pool, uint32_t index) {
    memcpy(pool_node(pool, index), &pool->free_head, sizeof(uint32_t));
    pool->free_head = index;
    pool->free_count++;
}

static size_t pool_bytes(const ledger_pool *pool) {
    size_t bytes = 0;
    for (uint32_t i = 0; i < pool->chunk_count; i++) {
        uint32_t nodes = i == 0 ? pool->first_nodes : LEDGER_CHUNK_NODES;
        bytes += (size_t)nodes * pool->node_size + LEDGER_MALLOC_OVERHEAD;
    }
    if (pool->table_len > 0) {
        bytes += (size_t)pool->table_len * sizeof(*pool->chunks) + LEDGER_MALLOC_OVERHEAD;
    }
    return bytes;
}

static void pool_free(ledger_pool *pool) {
    for (uint32_t i = 0; i < pool->chunk_count; i++) {
        free(pool->chunks[i]);
    }
    free(pool->chunks);
}

static ledger_point *point_at(const fr__ledger *ledger, uint32_t index) {
    return pool_node(&ledger->points, index);
}

static ledger_booking *booking_at(const fr__ledger *ledger, uint32_t index) {
    return pool_node(&ledger->bookings, index);
}

/* ---------------------------------------------------------------------------
 * The breakpoint treap: maintenance.
 * ------------------------------------------------------------------------- */

/* Recomputes the aggregates of a point from its children. */
static void point_pull(const fr__ledger *ledger, uint32_t index) {
    ledger_point *p = point_at(ledger, index);
    int64_t sum = 0;
    int64_t sum_book = 0;
    int64_t min_prefix = INT64_MAX;
    int64_t max_prefix = INT64_MIN;
    if (p->left != LEDGER_NIL) {
        const ledger_point *l = point_at(ledger, p->left);
        sum = l->sum_free_milli;
        sum_book = l->sum_book_milli;
        min_prefix = l->min_prefix_milli;
        max_prefix = l->max_prefix_milli;
    }
    sum += p->d_free_milli;
    sum_book += p->d_book_milli;
    min_prefix = min_i64(min_prefix, sum);
    max_prefix = max_i64(max_prefix, sum);
    if (p->right != LEDGER_NIL) {
        const ledger_point *r = point_at(ledger, p->right);
        min_prefix = min_i64(min_prefix, sum + r->min_prefix_milli);
        max_prefix = max_i64(max_prefix, sum + r->max_prefix_milli);
        sum += r->sum_free_milli;
        sum_book += r->sum_book_milli;
    }
    p->sum_free_milli = sum;
    p->sum_book_milli = sum_book;
    p->min_prefix_milli = min_prefix;
    p->max_prefix_milli = max_prefix;
}

/* Rotates the left child of index up; returns the new subtree root. */
static uint32_t point_rotate_right(const fr__ledger *ledger, uint32_t index) {
    ledger_point *p = point_at(ledger, index);
    uint32_t up = p->left;
    ledger_point *u = point_at(ledger, up);
    p->left = u->right;
    u->right = index;
    point_pull(ledger, index);
    point_pull(ledger, up);
    return up;
}

/* Rotates the right child of index up; returns the new subtree root. */
static uint32_t point_rotate_left(const fr__ledger *ledger, uint32_t index) {
    ledger_point *p = point_at(ledger, index);
    uint32_t up = p->right;
    ledger_point *u = point_at(ledger, up);
    p->right = u->left;
    u->left = index;
    point_pull(ledger, index);
    point_pull(ledger, up);
    return up;
}

/* A new point at t_ms carrying one edge (a node must be reserved). */
static uint32_t point_new(fr__ledger *ledger, int64_t t_ms, int64_t d_free_milli,
                          int64_t d_book_milli) {
    uint32_t index = pool_alloc(&ledger->points);
    ledger_point *p = point_at(ledger, index);
    p->t_ms = t_ms;
    p->d_free_milli = d_free_milli;
    p->d_book_milli = d_book_milli;
    p->left = LEDGER_NIL;
    p->right = LEDGER_NIL;
    p->priority = ledger_next_priority(ledger);
    p->refs = 1;
    point_pull(ledger, index);
    ledger->point_count++;
    return index;
}

/* Adds one edge (the two jumps) at t_ms to the subtree at index, creating the
 * point if needed (a node must be reserved); returns the new subtree root. */
static uint32_t point_add(fr__ledger *ledger, uint32_t index, int64_t t_ms,
                          int64_t d_free_milli, int64_t d_book_milli, int depth) {
    assert(depth < LEDGER_DEPTH_MAX);
    if (index == LEDGER_NIL) {
        return point_new(ledger, t_ms, d_free_milli, d_book_milli);
    }
    ledger_point *p = point_at(ledger, index);
    if (t_ms == p->t_ms) {
        assert(p->refs > 0 && p->refs < UINT32_MAX);
        p->d_free_milli += d_free_milli;
        p->d_book_milli += d_book_milli;
        p->refs++;
    } else if (t_ms < p->t_ms) {
        uint32_t child = point_add(ledger, p->left, t_ms, d_free_milli, d_book_milli, depth + 1);
        p->left = child;
        if (point_at(ledger, child)->priority > p->priority) {
            return point_rotate_right(ledger, index);
        }
    } else {
        uint32_t child = point_add(ledger, p->right, t_ms, d_free_milli, d_book_milli, depth + 1);
        p->right = child;
        if (point_at(ledger, child)->priority > p->priority) {
            return point_rotate_left(ledger, index);
        }
    }
    point_pull(ledger, index);
    return index;
}

/* Joins two treaps, every point of a before every point of b. */
static uint32_t point_merge(const fr__ledger *ledger, uint32_t a, uint32_t b, int depth) {
    assert(depth < 2 * LEDGER_DEPTH_MAX);
    if (a == LEDGER_NIL) {
        return b;
    }
    if (b == LEDGER_NIL) {
        return a;
    }
    ledger_point *pa = point_at(ledger, a);
    ledger_point *pb = point_at(ledger, b);
    assert(pa->t_ms < pb->t_ms);
    if (pa->priority > pb->priority) {
        pa->right = point_merge(ledger, pa->right, b, depth + 1);
        point_pull(ledger, a);
        return a;
    }
    pb->left = point_merge(ledger, a, pb->left, depth + 1);
    point_pull(ledger, b);
    return b;
}

/* Removes one edge at t_ms (the point must exist): subtracts its jumps and
 * frees the point when no edge is left; returns the new subtree root. */
static uint32_t point_remove(fr__ledger *ledger, uint32_t index, int64_t t_ms,
                             int64_t d_free_milli, int64_t d_book_milli, int depth) {
    assert(depth < LEDGER_DEPTH_MAX);
    assert(index != LEDGER_NIL);
    ledger_point *p = point_at(ledger, index);
    if (t_ms == p->t_ms) {
        assert(p->refs > 0);
        p->d_free_milli -= d_free_milli;
        p->d_book_milli -= d_book_milli;
        p->refs--;
        if (p->refs == 0) {
            assert(p->d_free_milli == 0 && p->d_book_milli == 0);
            uint32_t joined = point_merge(ledger, p->left, p->right, 0);
            pool_release(&ledger->points, index);
            assert(ledger->point_count > 0);
            ledger->point_count--;
            return joined;
        }
    } else if (t_ms < p->t_ms) {
        p->left = point_remove(ledger, p->left, t_ms, d_free_milli, d_book_milli, depth + 1);
    } else {
        p->right = point_remove(ledger, p->right, t_ms, d_free_milli, d_book_milli, depth + 1);
    }
    point_pull(ledger, index);
    return index;
}

/* ---------------------------------------------------------------------------
 * The breakpoint treap: queries.  "Prefix" below means the running sum of
 * d_free up to and including a point, i.e. free(point) - base.
 * ------------------------------------------------------------------------- */

/* Sums of d_free and d_book over the points <= t_ms. */
static void point_prefix(const fr__ledger *ledger, int64_t t_ms, int64_t *free_sum_milli,
                         int64_t *book_sum_milli) {
    int64_t free_sum = 0;
    int64_t book_sum = 0;
    uint32_t index = ledger->point_root;
    for (int depth = 0; index != LEDGER_NIL; depth++) {
        assert(depth < LEDGER_DEPTH_MAX);
        const ledger_point *p = point_at(ledger, index);
        if (p->t_ms <= t_ms) {
            if (p->left != LEDGER_NIL) {
                const ledger_point *l = point_at(ledger, p->left);
                free_sum += l->sum_free_milli;
                book_sum += l->sum_book_milli;
            }
            free_sum += p->d_free_milli;
            book_sum += p->d_book_milli;
            index = p->right;
        } else {
            index = p->left;
        }
    }
    *free_sum_milli = free_sum;
    *book_sum_milli = book_sum;
}

static int64_t point_left_sum(const fr__ledger *ledger, const ledger_point *p) {
    return p->left == LEDGER_NIL ? 0 : point_at(ledger, p->left)->sum_free_milli;
}

/* Whether a prefix value qualifies: below threshold (below) or at least it. */
static bool prefix_hits(int64_t value_milli, int64_t threshold_milli, bool below) {
    return below ? value_milli < threshold_milli : value_milli >= threshold_milli;
}

/* Whether some prefix of the subtree at index, offset by offset, qualifies. */
static bool subtree_hits(const fr__ledger *ledger, uint32_t index, int64_t offset_milli,
                         int64_t threshold_milli, bool below) {
    if (index == LEDGER_NIL) {
        return false;
    }
    const ledger_point *p = point_at(ledger, index);
    return below ? offset_milli + p->min_prefix_milli < threshold_milli
                 : offset_milli + p->max_prefix_milli >= threshold_milli;
}

/* The first point of a subtree known to contain a qualifying one. */
static uint32_t point_first_hit_all(const fr__ledger *ledger, uint32_t index,
                                    int64_t offset_milli, int64_t threshold_milli, bool below) {
    for (int depth = 0;; depth++) {
        assert(depth < LEDGER_DEPTH_MAX);
        assert(subtree_hits(ledger, index, offset_milli, threshold_milli, below));
        const ledger_point *p = point_at(ledger, index);
        if (subtree_hits(ledger, p->left, offset_milli, threshold_milli, below)) {
            index = p->left;
            continue;
        }
        offset_milli += point_left_sum(ledger, p) + p->d_free_milli;
        if (prefix_hits(offset_milli, threshold_milli, below)) {
            return index;
        }
        index = p->right;
    }
}

/* The first point with t > after_ms whose prefix qualifies, in the subtree at
 * index whose points are preceded by a sum of offset; LEDGER_NIL if none. */
static uint32_t point_first_hit(const fr__ledger *ledger, uint32_t index, int64_t offset_milli,
                                int64_t after_ms, int64_t threshold_milli, bool below,
                                int depth) {
    assert(depth < LEDGER_DEPTH_MAX);
    while (index != LEDGER_NIL) {
        const ledger_point *p = point_at(ledger, index);
        int64_t through = offset_milli + point_left_sum(ledger, p) + p->d_free_milli;
        if (p->t_ms <= after_ms) {
            offset_milli = through;
            index = p->right;
            continue;
        }
        /* This point and its right subtree are all after after_ms. */
        uint32_t hit = point_first_hit(ledger, p->left, offset_milli, after_ms, threshold_milli,
                                       below, depth + 1);
        if (hit != LEDGER_NIL) {
            return hit;
        }
        if (prefix_hits(through, threshold_milli, below)) {
            return index;
        }
        if (subtree_hits(ledger, p->right, through, threshold_milli, below)) {
            return point_first_hit_all(ledger, p->right, through, threshold_milli, below);
        }
        return LEDGER_NIL;
    }
    return LEDGER_NIL;
}

/* The last point of a subtree known to contain one with prefix >= threshold. */
static uint32_t point_last_at_least_all(const fr__ledger *ledger, uint32_t index,
                                        int64_t offset_milli, int64_t threshold_milli) {
    for (int depth = 0;; depth++) {
        assert(depth < LEDGER_DEPTH_MAX);
        assert(subtree_hits(ledger, index, offset_milli, threshold_milli, false));
        const ledger_point *p = point_at(ledger, index);
        int64_t through = offset_milli + point_left_sum(ledger, p) + p->d_free_milli;
        if (subtree_hits(ledger, p->right, through, threshold_milli, false)) {
            offset_milli = through;
            index = p->right;
            continue;
        }
        if (through >= threshold_milli) {
            return index;
        }
        index = p->left;
    }
}

/* The last point with t <= until_ms whose prefix is >= threshold, or
 * LEDGER_NIL. */
static uint32_t point_last_at_least(const fr__ledger *ledger, uint32_t index,
                                    int64_t offset_milli, int64_t until_ms,
                                    int64_t threshold_milli, int depth) {
    assert(depth < LEDGER_DEPTH_MAX);
    while (index != LEDGER_NIL) {
        const ledger_point *p = point_at(ledger, index);
        if (p->t_ms > until_ms) {
            index = p->left;
            continue;
        }
        /* This point and its left subtree are all at or before until_ms. */
        int64_t through = offset_milli + point_left_sum(ledger, p) + p->d_free_milli;
        uint32_t hit = point_last_at_least(ledger, p->right, through, until_ms, threshold_milli,
                                           depth + 1);
        if (hit != LEDGER_NIL) {
            return hit;
        }
        if (through >= threshold_milli) {
            return index;
        }
        if (subtree_hits(ledger, p->left, offset_milli, threshold_milli, false)) {
            return point_last_at_least_all(ledger, p->left, offset_milli, threshold_milli);
        }
        return LEDGER_NIL;
    }
    return LEDGER_NIL;
}

/* The minimum prefix over the points with after_ms < t < before_ms in the
 * subtree at index; INT64_MAX when there is none.  lower_ok / upper_ok say
 * that an ancestor already proved the bound for the whole subtree, so the
 * walk follows at most two root-to-leaf paths. */
static int64_t point_range_min(const fr__ledger *ledger, uint32_t index, int64_t offset_milli,
                               int64_t after_ms, int64_t before_ms, bool lower_ok,
                               bool upper_ok, int depth) {
    assert(depth < LEDGER_DEPTH_MAX);
    int64_t best = INT64_MAX;
    while (index != LEDGER_NIL) {
        const ledger_point *p = point_at(ledger, index);
        if (lower_ok && upper_ok) {
            return min_i64(best, offset_milli + p->min_prefix_milli);
        }
        int64_t through = offset_milli + point_left_sum(ledger, p) + p->d_free_milli;
        if (!lower_ok && p->t_ms <= after_ms) {
            offset_milli = through;
            index = p->right;
        } else if (!upper_ok && p->t_ms >= before_ms) {
            index = p->left;
        } else {
            /* The point is inside: the left subtree needs only the lower
             * bound, the right subtree only the upper one. */
            int64_t left_min = point_range_min(ledger, p->left, offset_milli, after_ms, before_ms,
                                               lower_ok, true, depth + 1);
            best = min_i64(best, min_i64(left_min, through));
            offset_milli = through;
            index = p->right;
            lower_ok = true;
        }
    }
    return best;
}

/* The time of a point, or FR_TIME_NULL for LEDGER_NIL. */
static int64_t point_time(const fr__ledger *ledger, uint32_t index) {
    return index == LEDGER_NIL ? FR_TIME_NULL : point_at(ledger, index)->t_ms;
}

/* The first point after after_ms where free(t) < need (below) or >= need. */
static int64_t first_crossing(const fr__ledger *ledger, int64_t after_ms, int64_t need_milli,
                              bool below) {
    int64_t threshold = need_milli - ledger->total_capacity_milli;
    uint32_t hit = point_first_hit(ledger, ledger->point_root, 0, after_ms, threshold, below, 0);
    return point_time(ledger, hit);
}

/* ---------------------------------------------------------------------------
 * The booking treap.
 * ------------------------------------------------------------------------- */

static void booking_pull(const fr__ledger *ledger, uint32_t index) {
    ledger_booking *b = booking_at(ledger, index);
    int64_t max_end = b->end_ms;
    if (b->left != LEDGER_NIL) {
        max_end = max_i64(max_end, booking_at(ledger, b->left)->max_end_ms);
    }
    if (b->right != LEDGER_NIL) {
        max_end = max_i64(max_end, booking_at(ledger, b->right)->max_end_ms);
    }
    b->max_end_ms = max_end;
}

/* Whether booking a sorts before booking b: by start, then handle. */
static bool booking_before(const ledger_booking *a, uint32_t a_index, const ledger_booking *b,
                           uint32_t b_index) {
    return a->start_ms < b->start_ms || (a->start_ms == b->start_ms && a_index < b_index);
}

/* Inserts the (initialized, childless) booking node into the subtree at
 * index; returns the new subtree root. */
static uint32_t booking_insert(const fr__ledger *ledger, uint32_t index, uint32_t node,
                               int depth) {
    assert(depth < LEDGER_DEPTH_MAX);
    if (index == LEDGER_NIL) {
        return node;
    }
    ledger_booking *b = booking_at(ledger, index);
    ledger_booking *n = booking_at(ledger, node);
    uint32_t up;
    if (booking_before(n, node, b, index)) {
        b->left = booking_insert(ledger, b->left, node, depth + 1);
        if (booking_at(ledger, b->left)->priority <= b->priority) {
            booking_pull(ledger, index);
            return index;
        }
        up = b->left;
        b->left = booking_at(ledger, up)->right;
        booking_at(ledger, up)->right = index;
    } else {
        b->right = booking_insert(ledger, b->right, node, depth + 1);
        if (booking_at(ledger, b->right)->priority <= b->priority) {
            booking_pull(ledger, index);
            return index;
        }
        up = b->right;
        b->right = booking_at(ledger, up)->left;
        booking_at(ledger, up)->left = index;
    }
    booking_pull(ledger, index);
    booking_pull(ledger, up);
    return up;
}

static uint32_t booking_merge(const fr__ledger *ledger, uint32_t a, uint32_t b, int depth) {
    assert(depth < 2 * LEDGER_DEPTH_MAX);
    if (a == LEDGER_NIL) {
        return b;
    }
    if (b == LEDGER_NIL) {
        return a;
    }
    ledger_booking *ba = booking_at(ledger, a);
    ledger_booking *bb = booking_at(ledger, b);
    assert(booking_before(ba, a, bb, b));
    if (ba->priority > bb->priority) {
        ba->right = booking_merge(ledger, ba->right, b, depth + 1);
        booking_pull(ledger, a);
        return a;
    }
    bb->left = booking_merge(ledger, a, bb->left, depth + 1);
    booking_pull(ledger, b);
    return b;
}

/* Unlinks the booking node from the subtree at index (it must be there);
 * returns the new subtree root.  The node itself is left as it was. */
static uint32_t booking_unlink(const fr__ledger *ledger, uint32_t index, uint32_t node,
                               int depth) {
    assert(depth < LEDGER_DEPTH_MAX);
    assert(index != LEDGER_NIL);
    ledger_booking *b = booking_at(ledger, index);
    if (index == node) {
        return booking_merge(ledger, b->left, b->right, 0);
    }
    if (booking_before(booking_at(ledger, node), node, b, index)) {
        b->left = booking_unlink(ledger, b->left, node, depth + 1);
    } else {
        b->right = booking_unlink(ledger, b->right, node, depth + 1);
    }
    booking_pull(ledger, index);
    return index;
}

/* The state of one overlap enumeration. */
typedef struct overlap_walk {
    int64_t start_ms;
    int64_t end_ms;
    uint64_t *tags;
    size_t max;
    size_t count;
} overlap_walk;

/* Visits, in (start, handle) order, the bookings of a subtree that overlap
 * the walk's interval, skipping subtrees that end too early. */
static void booking_collect(const fr__ledger *ledger, uint32_t index, overlap_walk *walk,
                            int depth) {
    assert(depth < LEDGER_DEPTH_MAX);
    while (index != LEDGER_NIL) {
        const ledger_booking *b = booking_at(ledger, index);
        if (b->max_end_ms <= walk->start_ms) {
            return;
        }
        booking_collect(ledger, b->left, walk, depth + 1);
        if (b->start_ms >= walk->end_ms) {
            return; /* it and its whole right subtree start too late */
        }
        if (b->end_ms > walk->start_ms) {
            if (walk->count < walk->max) {
                walk->tags[walk->count] = b->tag;
            }
            walk->count++;
        }
        index = b->right;
    }
}

/* ---------------------------------------------------------------------------
 * Capacity.
 * ------------------------------------------------------------------------- */

/* Adds (sign +1) or removes (sign -1) the capacity edges of a schedule
 * relative to total.  Adding needs 2 * len points reserved. */
static void schedule_apply(fr__ledger *ledger, const fr_schedule_entry *schedule, size_t len,
                           int64_t total_milli, int sign) {
    for (size_t i = 0; i < len; i++) {
        const fr_schedule_entry *e = &schedule[i];
        int64_t delta = e->capacity_milli - total_milli;
        if (delta == 0) {
            continue; /* no jump, no point */
        }
        if (sign > 0) {
            ledger->point_root = point_add(ledger, ledger->point_root, e->start_ms, delta, 0, 0);
            if (e->end_ms != FR_TIME_INF) {
                ledger->point_root =
                    point_add(ledger, ledger->point_root, e->end_ms, -delta, 0, 0);
            }
        } else {
            ledger->point_root =
                point_remove(ledger, ledger->point_root, e->start_ms, delta, 0, 0);
            if (e->end_ms != FR_TIME_INF) {
                ledger->point_root =
                    point_remove(ledger, ledger->point_root, e->end_ms, -delta, 0, 0);
            }
        }
    }
}

/* Asserts what the caller validated: sorted, non-overlapping, in range. */
static void schedule_assert_valid(int64_t total_milli, const fr_schedule_entry *schedule,
                                  size_t len) {
    assert(total_milli >= 0 && total_milli <= FR_QTY_MAX_MILLI);
    assert(len == 0 || schedule != NULL);
    for (size_t i = 0; i < len; i++) {
        assert(schedule[i].start_ms < schedule[i].end_ms);
        assert(schedule[i].start_ms != FR_TIME_NULL);
        assert(schedule[i].capacity_milli >= 0 &&
               schedule[i].capacity_milli <= FR_QTY_MAX_MILLI);
        assert(i == 0 || schedule[i - 1].end_ms <= schedule[i].start_ms);
    }
    (void)total_milli;
    (void)schedule;
    (void)len;
}

/* ---------------------------------------------------------------------------
 * The API.
 * ------------------------------------------------------------------------- */

fr__ledger *fr__ledger_new(void) {
    fr__ledger *ledger = calloc(1, sizeof(*ledger));
    if (ledger == NULL) {
        return NULL;
    }
    ledger->points.node_size = sizeof(ledger_point);
    ledger->bookings.node_size = sizeof(ledger_booking);
    ledger->prng_state = LEDGER_SEED;
    return ledger;
}

void fr__ledger_free(fr__ledger *ledger) {
    if (ledger == NULL) {
        return;
    }
    pool_free(&ledger->points);
    pool_free(&ledger->bookings);
    free(ledger->schedule);
    free(ledger);
}

int fr__ledger_set_capacity(fr__ledger *ledger, int64_t total_milli,
                            const fr_schedule_entry *schedule, size_t schedule_len) {
    assert(ledger != NULL);
    schedule_assert_valid(total_milli, schedule, schedule_len);
    fr_schedule_entry *copy = NULL;
    if (schedule_len > 0) {
        if (schedule_len > SIZE_MAX / sizeof(*copy) / 2) {
            return FR_ENOMEM;
        }
        copy = malloc(schedule_len * sizeof(*copy));
        if (copy == NULL) {
            return FR_ENOMEM;
        }
        memcpy(copy, schedule, schedule_len * sizeof(*copy));
    }
    /* Reserve first so that nothing below can fail half-way. */
    if (pool_reserve(&ledger->points, 2u * (uint64_t)schedule_len) != FR_OK) {
        free(copy);
        return FR_ENOMEM;
    }
    schedule_apply(ledger, ledger->schedule, ledger->schedule_len,
                   ledger->total_capacity_milli, -1);
    free(ledger->schedule);
    ledger->total_capacity_milli = total_milli;
    ledger->schedule = copy;
    ledger->schedule_len = schedule_len;
    schedule_apply(ledger, copy, schedule_len, total_milli, +1);
    return FR_OK;
}

int64_t fr__ledger_capacity_at(const fr__ledger *ledger, int64_t t_ms) {
    assert(ledger != NULL);
    int64_t free_sum;
    int64_t book_sum;
    point_prefix(ledger, t_ms, &free_sum, &book_sum);
    return ledger->total_capacity_milli + free_sum + book_sum;
}

int64_t fr__ledger_booked_at(const fr__ledger *ledger, int64_t t_ms) {
    assert(ledger != NULL);
    int64_t free_sum;
    int64_t book_sum;
    point_prefix(ledger, t_ms, &free_sum, &book_sum);
    assert(book_sum >= 0);
    return book_sum;
}

int64_t fr__ledger_free_at(const fr__ledger *ledger, int64_t t_ms) {
    assert(ledger != NULL);
    int64_t free_sum;
    int64_t book_sum;
    point_prefix(ledger, t_ms, &free_sum, &book_sum);
    return ledger->total_capacity_milli + free_sum;
}

int64_t fr__ledger_min_free(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms) {
    assert(ledger != NULL);
    assert(start_ms < end_ms);
    int64_t free_sum;
    int64_t book_sum;
    point_prefix(ledger, start_ms, &free_sum, &book_sum);
    int64_t inside = point_range_min(ledger, ledger->point_root, 0, start_ms, end_ms, false,
                                     end_ms == FR_TIME_INF, 0);
    return ledger->total_capacity_milli + min_i64(free_sum, inside);
}

int64_t fr__ledger_first_shortfall(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                                   int64_t need_milli) {
    assert(ledger != NULL);
    assert(start_ms < end_ms);
    if (fr__ledger_free_at(ledger, start_ms) < need_milli) {
        return start_ms;
    }
    int64_t t_ms = first_crossing(ledger, start_ms, need_milli, true);
    if (t_ms == FR_TIME_NULL || t_ms >= end_ms) {
        return FR_TIME_NULL;
    }
    assert(t_ms > start_ms);
    return t_ms;
}

int64_t fr__ledger_next_fit(const fr__ledger *ledger, int64_t from_ms, int64_t duration_ms,
                            int64_t need_milli, int64_t latest_start_ms) {
    assert(ledger != NULL);
    assert(duration_ms > 0);
    assert(from_ms != FR_TIME_INF && from_ms != FR_TIME_NULL);
    int64_t s_ms = from_ms;
    /* Every round skips at least one breakpoint, so this bounds the loop. */
    size_t rounds_max = ledger->point_count + 2u;
    for (size_t round = 0; round < rounds_max; round++) {
        if (s_ms > latest_start_ms) {
            return FR_TIME_NULL;
        }
        int64_t short_ms =
            fr__ledger_first_shortfall(ledger, s_ms, time_add(s_ms, duration_ms), need_milli);
        if (short_ms == FR_TIME_NULL) {
            return s_ms;
        }
        /* No start in [s, short] fits: the next candidate is where free
         * climbs back to need. */
        int64_t next_ms = first_crossing(ledger, short_ms, need_milli, false);
        if (next_ms == FR_TIME_NULL) {
            return FR_TIME_NULL;
        }
        assert(next_ms > short_ms && next_ms > s_ms);
        s_ms = next_ms;
    }
    assert(!"next_fit did not terminate");
    return FR_TIME_NULL;
}

int fr__ledger_book(fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                    int64_t quantity_milli, uint64_t tag, fr__booking_ref *out) {
    assert(ledger != NULL && out != NULL);
    assert(start_ms < end_ms);
    assert(start_ms != FR_TIME_NULL);
    assert(quantity_milli > 0 && quantity_milli <= FR_QTY_MAX_MILLI);
    if ((uint64_t)quantity_milli > LEDGER_BOOKED_SUM_MAX - ledger->booked_sum_milli) {
        return FR_ELIMIT;
    }
    if (pool_reserve(&ledger->points, 2) != FR_OK ||
        pool_reserve(&ledger->bookings, 1) != FR_OK) {
        return FR_ENOMEM;
    }
    uint32_t node = pool_alloc(&ledger->bookings);
    ledger_booking *b = booking_at(ledger, node);
    b->start_ms = start_ms;
    b->end_ms = end_ms;
    b->max_end_ms = end_ms;
    b->quantity_milli = quantity_milli;
    b->tag = tag;
    b->left = LEDGER_NIL;
    b->right = LEDGER_NIL;
    b->priority = ledger_next_priority(ledger);
    b->unused = 0;
    ledger->booking_root = booking_insert(ledger, ledger->booking_root, node, 0);
    ledger->point_root =
        point_add(ledger, ledger->point_root, start_ms, -quantity_milli, quantity_milli, 0);
    if (end_ms != FR_TIME_INF) {
        ledger->point_root =
            point_add(ledger, ledger->point_root, end_ms, quantity_milli, -quantity_milli, 0);
    }
    ledger->booked_sum_milli += (uint64_t)quantity_milli;
    ledger->booking_count++;
    *out = node;
    return FR_OK;
}

void fr__ledger_unbook(fr__ledger *ledger, fr__booking_ref ref) {
    assert(ledger != NULL);
    assert(ref != LEDGER_NIL && ref < ledger->bookings.used);
    ledger_booking *b = booking_at(ledger, ref);
    assert(b->end_ms != FR_TIME_NULL); /* live */
    int64_t start_ms = b->start_ms;
    int64_t end_ms = b->end_ms;
    int64_t quantity_milli = b->quantity_milli;
    ledger->booking_root = booking_unlink(ledger, ledger->booking_root, ref, 0);
    ledger->point_root =
        point_remove(ledger, ledger->point_root, start_ms, -quantity_milli, quantity_milli, 0);
    if (end_ms != FR_TIME_INF) {
        ledger->point_root =
            point_remove(ledger, ledger->point_root, end_ms, quantity_milli, -quantity_milli, 0);
    }
    b->end_ms = FR_TIME_NULL; /* marks the node free */
    pool_release(&ledger->bookings, ref);
    assert(ledger->booked_sum_milli >= (uint64_t)quantity_milli);
    ledger->booked_sum_milli -= (uint64_t)quantity_milli;
    assert(ledger->booking_count > 0);
    ledger->booking_count--;
}

size_t fr__ledger_count(const fr__ledger *ledger) {
    assert(ledger != NULL);
    return ledger->booking_count;
}

size_t fr__ledger_bytes(const fr__ledger *ledger) {
    assert(ledger != NULL);
    size_t bytes = sizeof(*ledger) + LEDGER_MALLOC_OVERHEAD;
    bytes += pool_bytes(&ledger->points) + pool_bytes(&ledger->bookings);
    if (ledger->schedule != NULL) {
        bytes += ledger->schedule_len * sizeof(*ledger->schedule) + LEDGER_MALLOC_OVERHEAD;
    }
    return bytes;
}

size_t fr__ledger_overlapping(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                              uint64_t *tags, size_t max) {
    assert(ledger != NULL);
    assert(start_ms < end_ms);
    assert(max == 0 || tags != NULL);
    overlap_walk walk = {start_ms, end_ms, tags, max, 0};
    booking_collect(ledger, ledger->booking_root, &walk, 0);
    return walk.count;
}

int fr__ledger_next_overrun(const fr__ledger *ledger, int64_t from_ms, int64_t *run_start_ms,
                            int64_t *run_end_ms, int64_t *excess_milli) {
    assert(ledger != NULL && run_start_ms != NULL && run_end_ms != NULL);
    assert(excess_milli != NULL);
    /* Before the first point free(t) = total >= 0, so every run starts at a
     * point. */
    assert(ledger->total_capacity_milli >= 0);
    int64_t start_ms;
    if (fr__ledger_free_at(ledger, from_ms) < 0) {
        /* The run contains from: it starts right after the last point at or
         * before from where free was >= 0 (or at the very first point). */
        uint32_t last_ok = point_last_at_least(ledger, ledger->point_root, 0, from_ms,
                                               -ledger->total_capacity_milli, 0);
        int64_t after_ms = last_ok == LEDGER_NIL ? INT64_MIN : point_at(ledger, last_ok)->t_ms;
        start_ms = first_crossing(ledger, after_ms, 0, true);
        assert(start_ms != FR_TIME_NULL && start_ms <= from_ms);
    } else {
        start_ms = first_crossing(ledger, from_ms, 0, true);
        if (start_ms == FR_TIME_NULL) {
            return 0;
        }
    }
    int64_t end_ms = first_crossing(ledger, start_ms, 0, false);
    if (end_ms == FR_TIME_NULL) {
        end_ms = FR_TIME_INF;
    }
    assert(start_ms < end_ms && end_ms > from_ms);
    int64_t min_free = fr__ledger_min_free(ledger, start_ms, end_ms);
    assert(min_free < 0);
    *run_start_ms = start_ms;
    *run_end_ms = end_ms;
    *excess_milli = -min_free;
    return 1;
}

/* Time integrals (milli x ms) overflow int64; 128 bits hold them. */
__extension__ typedef __int128 ledger_wide;

void fr__ledger_stats(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                      int64_t *capacity_avg_milli, int64_t *booked_avg_milli,
                      int64_t *booked_peak_milli) {
    assert(ledger != NULL);
    assert(start_ms < end_ms && end_ms != FR_TIME_INF);
    assert(capacity_avg_milli != NULL && booked_avg_milli != NULL && booked_peak_milli != NULL);
    int64_t free_sum;
    int64_t book_sum;
    point_prefix(ledger, start_ms, &free_sum, &book_sum);
    ledger_wide capacity_integral = 0;
    ledger_wide booked_integral = 0;
    int64_t peak = book_sum;
    int64_t at_ms = start_ms;
    /* In-order walk of the points in (start, end) with an explicit stack:
     * the stack holds the ancestors still to visit, at most one per level. */
    uint32_t stack[LEDGER_DEPTH_MAX];
    int top = 0;
    uint32_t index = ledger->point_root;
    for (;;) {
        while (index != LEDGER_NIL) {
            const ledger_point *p = point_at(ledger, index);
            if (p->t_ms <= start_ms) {
                index = p->right;
            } else {
                assert(top < LEDGER_DEPTH_MAX);
                stack[top++] = index;
                index = p->left;
            }
        }
        if (top == 0) {
            break;
        }
        const ledger_point *p = point_at(ledger, stack[--top]);
        if (p->t_ms >= end_ms) {
            break;
        }
        int64_t capacity = ledger->total_capacity_milli + free_sum + book_sum;
        capacity_integral += (ledger_wide)capacity * (p->t_ms - at_ms);
        booked_integral += (ledger_wide)book_sum * (p->t_ms - at_ms);
        at_ms = p->t_ms;
        free_sum += p->d_free_milli;
        book_sum += p->d_book_milli;
        peak = max_i64(peak, book_sum);
        index = p->right;
    }
    int64_t capacity = ledger->total_capacity_milli + free_sum + book_sum;
    capacity_integral += (ledger_wide)capacity * (end_ms - at_ms);
    booked_integral += (ledger_wide)book_sum * (end_ms - at_ms);
    ledger_wide span = (ledger_wide)end_ms - start_ms;
    *capacity_avg_milli = (int64_t)(capacity_integral / span);
    *booked_avg_milli = (int64_t)(booked_integral / span);
    *booked_peak_milli = peak;
}
