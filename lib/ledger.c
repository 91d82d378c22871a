/*
 * ledger.c — the time-aware capacity ledger of one pool: two augmented B+ trees.
 *
 * Workload.  Every booking attempt asks "is there room over [a, b)?"
 * (first_shortfall / min_free) and then books; refusals ask "when is the next
 * fit?" (next_fit); capacity cuts and overcommits ask "where is it over?"
 * (next_overrun); reads ask "what is booked now?" and "who overlaps [a, b)?";
 * the utilization series asks for time-weighted averages.  A pool may hold
 * 10^6 live bookings, so each of these must cost O(log n), not O(n).
 *
 * The step function.  free(t) = capacity(t) - booked(t) changes only at
 * breakpoints: the start and end of each booking and of each schedule
 * override.  The breakpoints ("points") are the entries of a B+ tree keyed by
 * time.  Each point holds
 *   d_free  the jump of free(t) at that instant (capacity jump - booked jump),
 *   refs    how many booking or schedule edges sit on it (removed at 0),
 * and each inner node keeps, for every child, the sum of the jumps and the
 * minimum and maximum running sum ("prefix") of d_free over the child's
 * points in time order.  Then free(t) = total + (sum of d_free over points
 * <= t) is one root-to-leaf walk; "the first point after a where free < x
 * (or >= x)" is one walk that skips every child whose min (max) prefix
 * cannot qualify; "min of free over (a, b)" is two walks.  A schedule
 * override {s, e, c} is the jump +(c - total) at s and -(c - total) at e; an
 * open-ended interval (end FR_TIME_INF) has no end point at all.  capacity(t)
 * itself comes from the (sorted) schedule by binary search, and booked(t) is
 * capacity(t) - free(t), so points need not carry a second jump.
 *
 * The bookings.  A second B+ tree, keyed by (start, handle) and keeping the
 * largest end of every child, answers "which bookings overlap [a, b)?" in
 * start order, skipping every child whose largest end is <= a.  A booking's
 * handle indexes its record (start, end, quantity, tag) in a third array.
 *
 * Why B+ trees.  A binary tree over 10^5..10^6 points is 20-40 levels deep
 * and almost every level is a cache miss (on the reference machine a miss
 * into a 16 MB working set costs ~200 ns).  With 16 entries per node the
 * trees are 4-6 levels deep, the upper levels stay in cache, and a node is a
 * few adjacent cache lines scanned sequentially.  (32 entries made the trees
 * a level shallower but check+book 13% slower at 10^5 bookings, 64 another
 * 20% slower: a check-and-book is bound by the leaves it fetches and
 * scans, and 8 entries was slower again.)  Nodes store their fields
 * as parallel arrays (struct of arrays) so a scan touches only what it reads.
 * The trees are rebalanced the classic way (split when full, borrow or merge
 * below half), so every node but the root is at least half full: memory is
 * bounded per booking whatever the order of operations, and the shape depends
 * only on the sequence of operations (deterministic).
 *
 * Memory.  Nodes and records live in fixed-size chunks addressed by uint32
 * index (chunk << shift | offset), never by pointer, so growth never moves or
 * doubles the bulk of the data; only the first chunk grows by doubling so
 * that an almost empty pool stays small.  Once a ledger holds 4 MB of
 * chunks, further chunks are cut from 2 MB regions backed by huge pages
 * (chunk_source).  Index 0 is "none" everywhere.
 * Freed nodes go on a LIFO free list linked through their first word.  Every
 * allocation an operation may need is reserved before anything changes, and
 * removal never allocates, so a failed call changes nothing.
 *
 * Recursion is only ever along root-to-leaf paths, bounded by the tree
 * height (asserted below LEDGER_DEPTH_MAX).
 *
 * Ranges.  Quantities and capacities are at most 1e15 milli, the sum of all
 * booked quantities at most 2^62 (checked by fr__ledger_book), so every
 * prefix sum fits comfortably in int64; the time integrals of fr__ledger_stats
 * use a 128-bit integer.
 */
/* mmap's MAP_ANONYMOUS and madvise's MADV_HUGEPAGE (Linux) are not POSIX. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include "ledger.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__linux__) && defined(MADV_HUGEPAGE) && defined(MAP_ANONYMOUS)
#define LEDGER_HUGE_PAGES 1
#else
#define LEDGER_HUGE_PAGES 0
#endif

/* The sentinel index: "no node". */
#define LEDGER_NIL UINT32_C(0)
/* Entries per node (leaves) and children per node (inner nodes).  Every node
 * but the root holds at least half as many.  Overridable (even, >= 4) so that
 * the tests can build a copy with tiny nodes, whose trees are deep enough to
 * go through every split, borrow and merge. */
#ifndef POINT_LEAF_MAX
#define POINT_LEAF_MAX 16u
#endif
#ifndef POINT_INNER_MAX
#define POINT_INNER_MAX 16u
#endif
#ifndef BOOKING_LEAF_MAX
#define BOOKING_LEAF_MAX 16u
#endif
#ifndef BOOKING_INNER_MAX
#define BOOKING_INNER_MAX 16u
#endif
_Static_assert(POINT_LEAF_MAX >= 4u && POINT_LEAF_MAX % 2u == 0, "node size");
_Static_assert(POINT_INNER_MAX >= 4u && POINT_INNER_MAX % 2u == 0, "node size");
_Static_assert(BOOKING_LEAF_MAX >= 4u && BOOKING_LEAF_MAX % 2u == 0, "node size");
_Static_assert(BOOKING_INNER_MAX >= 4u && BOOKING_INNER_MAX % 2u == 0, "node size");
/* Nodes in a pool's first chunk when it is first allocated (it then doubles
 * up to the full chunk size). */
#define LEDGER_FIRST_CHUNK_NODES UINT32_C(1)
/* A tree of any size we can address is far shallower; deeper is a bug. */
#define LEDGER_DEPTH_MAX 32u
/* The overflow guard: the sum of all booked quantities stays <= 2^62. */
#define LEDGER_BOOKED_SUM_MAX (UINT64_C(1) << 62)
/* What malloc keeps per block beyond the request (glibc: one size word,
 * rounded to 16 bytes); counted by fr__ledger_bytes. */
#define LEDGER_MALLOC_OVERHEAD 16u
/* log2 of the nodes per full chunk: tree nodes (0.3-0.6 KB each) and
 * booking records (32 bytes). */
#define LEDGER_NODE_SHIFT 5u
#define LEDGER_RECORD_SHIFT 8u
/* Once a ledger's chunks hold this many bytes, its further chunks are cut
 * from regions of LEDGER_REGION_BYTES, aligned to them, that the kernel is
 * asked to back with 2 MB pages (see chunk_source). */
#ifndef LEDGER_REGIONS_AFTER_BYTES
#define LEDGER_REGIONS_AFTER_BYTES ((size_t)4 << 20)
#endif
#define LEDGER_REGION_BYTES ((size_t)2 << 20)
/* The most parallel arrays in one node layout. */
#define LAYOUT_ARRAYS_MAX 6u

/* ---------------------------------------------------------------------------
 * Node types.  Every node starts with a node_head.
 * ------------------------------------------------------------------------- */

typedef struct node_head {
    uint32_t count; /* entries or children; the free list link when free */
    uint32_t next;  /* leaves: the next leaf in key order, or LEDGER_NIL */
} node_head;

/* A leaf of the breakpoint tree: points sorted by time. */
typedef struct point_leaf {
    node_head head;
    int64_t t_ms[POINT_LEAF_MAX];
    int64_t d_free_milli[POINT_LEAF_MAX];
    uint32_t refs[POINT_LEAF_MAX];
} point_leaf;

/* An inner node of the breakpoint tree: per child, its smallest time and the
 * aggregates of its points. */
typedef struct point_inner {
    node_head head;
    int64_t min_t_ms[POINT_INNER_MAX];
    int64_t sum_free_milli[POINT_INNER_MAX];
    int64_t min_prefix_milli[POINT_INNER_MAX];
    int64_t max_prefix_milli[POINT_INNER_MAX];
    uint32_t child[POINT_INNER_MAX];
} point_inner;

/* A leaf of the booking tree: bookings sorted by (start, handle). */
typedef struct booking_leaf {
    node_head head;
    int64_t start_ms[BOOKING_LEAF_MAX];
    int64_t end_ms[BOOKING_LEAF_MAX];
    uint32_t handle[BOOKING_LEAF_MAX];
} booking_leaf;

/* An inner node of the booking tree: per child, its smallest key and its
 * largest end. */
typedef struct booking_inner {
    node_head head;
    int64_t min_start_ms[BOOKING_INNER_MAX];
    int64_t max_end_ms[BOOKING_INNER_MAX];
    uint32_t min_handle[BOOKING_INNER_MAX];
    uint32_t child[BOOKING_INNER_MAX];
} booking_inner;

/* A booking; its index is its handle. */
typedef struct booking_record {
    int64_t start_ms;
    int64_t end_ms; /* FR_TIME_INF when open-ended; FR_TIME_NULL when free */
    int64_t quantity_milli;
    uint64_t tag;
} booking_record;

/* Log2 of the keys per chunk of booking keys (see booking_keys). */
#define LEDGER_KEY_SHIFT 8u

/* The bookings' keys, by handle, apart from the records: a check-and-book
 * writes 32 bytes of record and clears one bit here (a bitmap that stays in
 * cache), not 16 more bytes that may fall in another cache line (measured:
 * keys inside the records cost 10% of check+book/s).  Ledgers whose
 * bookings never get a key (usage ledgers, the benchmarks) allocate
 * nothing. */
typedef struct booking_keys {
    uint64_t *set;          /* bit h: handle h has a key; NULL until the first */
    size_t set_words;
    fr__ledger_key **chunks; /* 2^LEDGER_KEY_SHIFT keys each, NULL until used */
    size_t chunk_count;
} booking_keys;

/* Where the parallel arrays of a node type are, for the generic moves. */
typedef struct node_layout {
    uint32_t capacity;
    uint32_t arrays;
    uint32_t offset[LAYOUT_ARRAYS_MAX];
    uint32_t size[LAYOUT_ARRAYS_MAX];
    uint32_t child_offset; /* inner nodes: where child[] is */
} node_layout;

/* Where the chunks of one ledger's pools come from.  A big ledger is
 * visited at random (every check-and-book lands in a few random leaves of
 * a 10-100 MB working set), and with 4 KB pages nearly every node visited
 * is also a TLB miss whose page walk comes before the node's own cache
 * misses can even start; 2 MB pages cover such a ledger with a few TLB
 * entries.  Measured with bench_ledger at 10^5 bookings: about a fifth of
 * the check+book time.  So once the ledger's chunks hold
 * LEDGER_REGIONS_AFTER_BYTES (below that it fits the TLB anyway, and a small
 * pool should not pay 2 MB), new chunks are cut from 2 MB-aligned regions
 * of 2 MB (mmap, madvise(MADV_HUGEPAGE)); chunks are never given back before
 * the ledger is freed, and neither are the regions.  Where that is not
 * available (not Linux), every chunk comes from malloc. */
typedef struct chunk_source {
    size_t malloc_bytes;      /* bytes of the chunks that came from malloc */
    unsigned char **regions;  /* region_count of them */
    uint32_t region_count;
    uint32_t region_table_len;
    size_t region_used;       /* bytes cut from the last region */
} chunk_source;

/* An array of nodes in chunks, addressed by uint32 index. */
typedef struct ledger_pool {
    chunk_source *source;
    unsigned char **chunks;  /* chunk_count of them */
    size_t node_size;
    uint32_t shift;          /* log2 of the nodes in a full chunk */
    uint32_t chunk_count;
    uint32_t table_len;      /* slots in chunks */
    uint32_t first_nodes;    /* nodes in chunks[0] (the others are full size) */
    uint32_t used;           /* indices [0, used) were ever handed out (0 is nil) */
    uint32_t free_head;      /* LEDGER_NIL when empty */
    uint32_t free_count;
    uint32_t limit;          /* one past the largest index the chunks can hold */
    uint32_t malloc_chunks;  /* chunks [0, malloc_chunks) came from malloc */
} ledger_pool;

struct btree;

/* What makes a B+ tree a point tree or a booking tree, for the generic
 * structural code (split, merge, borrow). */
typedef struct btree_kind {
    node_layout leaf;
    node_layout inner;
    /* Recomputes the summary that parent keeps for its child in slot. */
    void (*refresh)(const struct btree *tree, uint32_t parent, uint32_t slot,
                    bool child_is_leaf);
} btree_kind;

typedef struct btree {
    const btree_kind *kind;
    ledger_pool leaves;
    ledger_pool inners;
    uint32_t root;    /* LEDGER_NIL when empty */
    uint32_t height;  /* 0: the root is a leaf */
    size_t entries;
} btree;

/* One root-to-leaf path of a tree: the node at each level (node[0] is the
 * leaf) and the slot taken in each inner node. */
typedef struct tree_path {
    uint32_t node[LEDGER_DEPTH_MAX];
    uint8_t slot[LEDGER_DEPTH_MAX];
} tree_path;
_Static_assert(POINT_INNER_MAX <= 256u && BOOKING_INNER_MAX <= 256u, "slots fit a byte");

/* What fr__ledger_prefetch found for a check-and-book over [start, end): the
 * paths the check and the book will take, so that they need not search for
 * them again.  Valid while version is the ledger's (every change bumps it)
 * and only for that same interval and the booking handle it predicted. */
typedef struct ledger_hint {
    uint64_t version; /* 0: never valid */
    int64_t start_ms;
    int64_t end_ms;
    uint32_t handle; /* the handle the next booking gets */
    tree_path points[2]; /* breakpoint tree at start, and at end (if not FR_TIME_INF) */
    tree_path booking;   /* booking tree at (start, handle) */
} ledger_hint;

struct fr__ledger {
    chunk_source chunks;
    btree points;
    btree bookings;
    ledger_pool records;
    booking_keys keys;
    uint64_t version;              /* bumped by every change (>= 1) */
    ledger_hint hint;
    size_t booking_count;
    uint64_t booked_sum_milli;     /* sum of the quantities of all live bookings */
    int64_t total_capacity_milli;  /* capacity outside schedule entries */
    fr_schedule_entry *schedule;   /* owned copy; NULL when schedule_len == 0 */
    size_t schedule_len;
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

/* ---------------------------------------------------------------------------
 * Booking keys (see booking_keys).
 * ------------------------------------------------------------------------- */

/* A new booking in a record that may have held a keyed one has no key. */
static void key_forget(booking_keys *keys, uint32_t handle) {
    if (keys->set != NULL && handle / 64u < keys->set_words) {
        keys->set[handle / 64u] &= ~(UINT64_C(1) << (handle % 64u));
    }
}

static bool key_is_set(const booking_keys *keys, uint32_t handle) {
    return keys->set != NULL && handle / 64u < keys->set_words &&
           (keys->set[handle / 64u] >> (handle % 64u) & 1u) != 0;
}

static fr__ledger_key *key_at(const booking_keys *keys, uint32_t handle) {
    return &keys->chunks[handle >> LEDGER_KEY_SHIFT][handle & ((1u << LEDGER_KEY_SHIFT) - 1u)];
}

/* array (count elements of size bytes) grown to at least need, zeroed
 * beyond count (*count updated), or NULL when out of memory (array then
 * unchanged). */
static void *grow_zeroed(void *array, size_t *count, size_t size, size_t need) {
    if (need <= *count) {
        return array;
    }
    size_t n = *count == 0 ? 4u : *count;
    while (n < need) {
        n *= 2u;
    }
    unsigned char *grown = realloc(array, n * size);
    if (grown == NULL) {
        return NULL;
    }
    memset(grown + *count * size, 0, (n - *count) * size);
    *count = n;
    return grown;
}

static size_t keys_bytes(const booking_keys *keys) {
    size_t bytes = 0;
    if (keys->set != NULL) {
        bytes += keys->set_words * sizeof(*keys->set) + LEDGER_MALLOC_OVERHEAD;
    }
    if (keys->chunks != NULL) {
        bytes += keys->chunk_count * sizeof(*keys->chunks) + LEDGER_MALLOC_OVERHEAD;
    }
    for (size_t i = 0; i < keys->chunk_count; i++) {
        if (keys->chunks[i] != NULL) {
            bytes += (sizeof(fr__ledger_key) << LEDGER_KEY_SHIFT) + LEDGER_MALLOC_OVERHEAD;
        }
    }
    return bytes;
}

static void keys_free(booking_keys *keys) {
    for (size_t i = 0; i < keys->chunk_count; i++) {
        free(keys->chunks[i]);
    }
    free(keys->chunks);
    free(keys->set);
}

/* ---------------------------------------------------------------------------
 * Search helpers.
 * ------------------------------------------------------------------------- */

/* Whether a prefix value qualifies: below threshold (below) or at least it. */
static bool prefix_hits(int64_t value_milli, int64_t threshold_milli, bool below) {
    return below ? value_milli < threshold_milli : value_milli >= threshold_milli;
}

/* Whether booking key (s1, h1) sorts before (s2, h2). */
static bool key_less(int64_t s1_ms, uint32_t h1, int64_t s2_ms, uint32_t h2) {
    return s1_ms < s2_ms || (s1_ms == s2_ms && h1 < h2);
}

/* The last index c < count with keys[c] <= t, or 0 when there is none
 * (keys[0] is never read: child 0 takes everything below child 1).
 * Branchless binary search: node scans are the hottest loops. */
static uint32_t last_at_or_before(const int64_t *keys, uint32_t count, int64_t t_ms) {
    assert(count > 0);
    uint32_t base = 0;
    uint32_t len = count;
    while (len > 1u) {
        uint32_t half = len / 2u;
        base = keys[base + half] <= t_ms ? base + half : base;
        len -= half;
    }
    return base;
}

/* The first index i < count with keys[i] >= t, or count. */
static uint32_t first_at_or_after(const int64_t *keys, uint32_t count, int64_t t_ms) {
    if (count == 0) {
        return 0;
    }
    uint32_t base = 0;
    uint32_t len = count;
    while (len > 1u) {
        uint32_t half = len / 2u;
        base = keys[base + half] < t_ms ? base + half : base;
        len -= half;
    }
    return base + (keys[base] < t_ms ? 1u : 0u);
}

/* ---------------------------------------------------------------------------
 * Chunk sources (see chunk_source).
 * ------------------------------------------------------------------------- */

#if LEDGER_HUGE_PAGES
/* A new region of LEDGER_REGION_BYTES aligned to its size, or NULL: map
 * twice the size and give back the unaligned ends. */
static unsigned char *region_map(void) {
    size_t size = LEDGER_REGION_BYTES;
    void *mapped = mmap(NULL, 2u * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    if (mapped == MAP_FAILED) {
        return NULL;
    }
    uintptr_t base = (uintptr_t)mapped;
    uintptr_t aligned = (base + size - 1u) & ~(uintptr_t)(size - 1u);
    if (aligned > base) {
        munmap(mapped, aligned - base);
    }
    if (aligned + size < base + 2u * size) {
        munmap((void *)(aligned + size), base + 2u * size - (aligned + size));
    }
    /* Only advice: without huge pages the region still works. */
    (void)madvise((void *)aligned, size, MADV_HUGEPAGE);
    return (unsigned char *)aligned;
}

/* A chunk of bytes cut from the regions (a new one when the last is too
 * full), or NULL when out of memory. */
static unsigned char *region_cut(chunk_source *source, size_t bytes) {
    assert(bytes <= LEDGER_REGION_BYTES);
    bytes = (bytes + 63u) & ~(size_t)63u; /* chunks start on a cache line */
    if (source->region_count == 0 || source->region_used + bytes > LEDGER_REGION_BYTES) {
        if (source->region_count == source->region_table_len) {
            uint32_t len = source->region_table_len == 0 ? 8u : source->region_table_len * 2u;
            unsigned char **table = realloc(source->regions, (size_t)len * sizeof(*table));
            if (table == NULL) {
                return NULL;
            }
            source->regions = table;
            source->region_table_len = len;
        }
        unsigned char *region = region_map();
        if (region == NULL) {
            return NULL;
        }
        source->regions[source->region_count++] = region;
        source->region_used = 0;
    }
    unsigned char *chunk = source->regions[source->region_count - 1u] + source->region_used;
    source->region_used += bytes;
    return chunk;
}
#endif

/* Whether the next chunk of a pool comes from the regions. */
static bool source_uses_regions(const chunk_source *source) {
    return LEDGER_HUGE_PAGES && source->malloc_bytes >= LEDGER_REGIONS_AFTER_BYTES;
}

static size_t source_bytes(const chunk_source *source) {
    size_t bytes = (size_t)source->region_count * LEDGER_REGION_BYTES;
    if (source->region_table_len > 0) {
        bytes += (size_t)source->region_table_len * sizeof(*source->regions) +
                 LEDGER_MALLOC_OVERHEAD;
    }
    return bytes;
}

static void source_free(chunk_source *source) {
#if LEDGER_HUGE_PAGES
    for (uint32_t i = 0; i < source->region_count; i++) {
        munmap(source->regions[i], LEDGER_REGION_BYTES);
    }
#endif
    free(source->regions);
}

/* ---------------------------------------------------------------------------
 * Node pools.
 * ------------------------------------------------------------------------- */

static void pool_init(ledger_pool *pool, chunk_source *source, size_t node_size,
                      uint32_t shift) {
    memset(pool, 0, sizeof(*pool));
    pool->source = source;
    pool->node_size = node_size;
    pool->shift = shift;
}

static void *pool_node(const ledger_pool *pool, uint32_t index) {
    assert(index != LEDGER_NIL);
    assert(index < pool->used);
    uint32_t mask = (UINT32_C(1) << pool->shift) - 1u;
    return pool->chunks[index >> pool->shift] + (size_t)(index & mask) * pool->node_size;
}

/* The node at index of a pool of nodes of node_size bytes in chunks of
 * 2^shift, with both known at compile time (the hot paths). */
static void *pool_node_fixed(const ledger_pool *pool, uint32_t index, size_t node_size,
                             uint32_t shift) {
    assert(pool->shift == shift && pool->node_size == node_size);
    assert(index != LEDGER_NIL && index < pool->used);
    uint32_t offset = index & ((UINT32_C(1) << shift) - 1u);
    return pool->chunks[index >> shift] + (size_t)offset * node_size;
}

/* Asks for every cache line of a node at once, so that a node costs one
 * memory latency instead of one per line touched in turn. */
static void prefetch_node(const void *node, size_t size) {
#if defined(__GNUC__)
    const unsigned char *p = node;
    for (size_t offset = 0; offset < size; offset += 256u) {
        __builtin_prefetch(p + offset);
        __builtin_prefetch(p + offset + 64u);
        __builtin_prefetch(p + offset + 128u);
        __builtin_prefetch(p + offset + 192u);
    }
#else
    (void)node;
    (void)size;
#endif
}

/* One past the largest index the allocated chunks can hold (kept in
 * pool->limit, checked on every allocation). */
static uint32_t pool_limit(const ledger_pool *pool) {
    if (pool->chunk_count <= 1) {
        return pool->chunk_count == 0 ? 0 : pool->first_nodes;
    }
    assert(pool->first_nodes == UINT32_C(1) << pool->shift);
    return pool->chunk_count << pool->shift;
}

/* Nodes that can be handed out without allocating. */
static uint64_t pool_available(const ledger_pool *pool) {
    assert(pool->limit == pool_limit(pool) && pool->used <= pool->limit);
    return (uint64_t)pool->free_count + (pool->limit - pool->used);
}

/* Grows the first chunk by doubling it.  FR_ENOMEM leaves it as it was. */
static int pool_grow_first(ledger_pool *pool) {
    assert(pool->malloc_chunks == 1);
    uint32_t nodes = pool->first_nodes * 2u;
    unsigned char *chunk = realloc(pool->chunks[0], (size_t)nodes * pool->node_size);
    if (chunk == NULL) {
        return FR_ENOMEM;
    }
    pool->source->malloc_bytes += (size_t)(nodes - pool->first_nodes) * pool->node_size;
    pool->chunks[0] = chunk;
    pool->first_nodes = nodes;
    pool->limit = pool_limit(pool);
    return FR_OK;
}

/* A new chunk of bytes for a pool: from malloc while the pool's chunks so
 * far all are, or the ledger is small; from the regions after that. */
static unsigned char *pool_new_chunk(ledger_pool *pool, size_t bytes, bool *from_malloc) {
    /* The first chunk grows by realloc, so it is always malloc's. */
    if (pool->chunk_count > 0 &&
        (pool->malloc_chunks < pool->chunk_count || source_uses_regions(pool->source))) {
#if LEDGER_HUGE_PAGES
        *from_malloc = false;
        return region_cut(pool->source, bytes);
#endif
    }
    *from_malloc = true;
    unsigned char *chunk = malloc(bytes);
    if (chunk != NULL) {
        pool->source->malloc_bytes += bytes;
    }
    return chunk;
}

/* Grows the pool by one step: the first chunk doubles up to full size, then
 * one full chunk is added.  FR_ENOMEM leaves the pool as it was. */
static int pool_grow(ledger_pool *pool) {
    uint32_t full = UINT32_C(1) << pool->shift;
    if (pool->chunk_count == 1 && pool->first_nodes < full) {
        return pool_grow_first(pool);
    }
    /* One chunk fewer than addressable, so that limit fits in a uint32. */
    if (pool->chunk_count >= (UINT32_MAX >> pool->shift)) {
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
    uint32_t nodes = full;
    if (pool->chunk_count == 0) {
        nodes = LEDGER_FIRST_CHUNK_NODES < full ? LEDGER_FIRST_CHUNK_NODES : full;
    }
    bool from_malloc;
    unsigned char *chunk = pool_new_chunk(pool, (size_t)nodes * pool->node_size, &from_malloc);
    if (chunk == NULL) {
        return FR_ENOMEM;
    }
    if (pool->chunk_count == 0) {
        pool->first_nodes = nodes;
        pool->used = 1; /* index 0 is the sentinel, never handed out */
    }
    if (from_malloc) {
        assert(pool->malloc_chunks == pool->chunk_count);
        pool->malloc_chunks++;
    }
    pool->chunks[pool->chunk_count++] = chunk;
    pool->limit = pool_limit(pool);
    return FR_OK;
}

/* Makes sure count nodes can be allocated without failing. */
static int pool_reserve(ledger_pool *pool, uint64_t count) {
    if (pool_available(pool) >= count) {
        return FR_OK; /* almost always */
    }
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

/* Heap bytes of the pool, but for the chunks cut from regions (the ledger
 * counts whole regions). */
static size_t pool_bytes(const ledger_pool *pool) {
    size_t bytes = 0;
    for (uint32_t i = 0; i < pool->malloc_chunks; i++) {
        uint32_t nodes = i == 0 ? pool->first_nodes : UINT32_C(1) << pool->shift;
        bytes += (size_t)nodes * pool->node_size + LEDGER_MALLOC_OVERHEAD;
    }
    if (pool->table_len > 0) {
        bytes += (size_t)pool->table_len * sizeof(*pool->chunks) + LEDGER_MALLOC_OVERHEAD;
    }
    return bytes;
}

static void pool_free(ledger_pool *pool) {
    for (uint32_t i = 0; i < pool->malloc_chunks; i++) {
        free(pool->chunks[i]);
    }
    free(pool->chunks);
}

/* ---------------------------------------------------------------------------
 * Generic B+ tree structure: nodes are parallel arrays described by a
 * node_layout; this code moves entries and children around and keeps the
 * tree balanced, calling kind->refresh to recompute the summaries.
 * ------------------------------------------------------------------------- */

static void *tree_node(const btree *tree, uint32_t index, bool is_leaf) {
    return pool_node(is_leaf ? &tree->leaves : &tree->inners, index);
}

static node_head *tree_head(const btree *tree, uint32_t index, bool is_leaf) {
    return tree_node(tree, index, is_leaf);
}

static uint32_t *inner_children(const btree *tree, void *inner) {
    return (uint32_t *)(void *)((unsigned char *)inner + tree->kind->inner.child_offset);
}

/* Moves n entries from src[src_pos..] to dst[dst_pos..] (overlap allowed). */
static void layout_move(const node_layout *layout, void *dst, uint32_t dst_pos, const void *src,
                        uint32_t src_pos, uint32_t n) {
    assert(dst_pos + n <= layout->capacity && src_pos + n <= layout->capacity);
    if (n == 0) {
        return;
    }
    for (uint32_t a = 0; a < layout->arrays; a++) {
        size_t size = layout->size[a];
        memmove((unsigned char *)dst + layout->offset[a] + dst_pos * size,
                (const unsigned char *)src + layout->offset[a] + src_pos * size, n * size);
    }
}

/* Opens a gap at pos (the entries from pos move up by one). */
static void layout_open(const node_layout *layout, void *node, uint32_t pos) {
    node_head *head = node;
    assert(pos <= head->count && head->count < layout->capacity);
    layout_move(layout, node, pos + 1u, node, pos, head->count - pos);
    head->count++;
}

/* Closes the entry at pos (the entries after it move down by one). */
static void layout_close(const node_layout *layout, void *node, uint32_t pos) {
    node_head *head = node;
    assert(pos < head->count);
    layout_move(layout, node, pos, node, pos + 1u, head->count - pos - 1u);
    head->count--;
}

/* Splits a full node: the upper half moves to a new right sibling (a node
 * must be reserved), which is returned. */
static uint32_t tree_split(btree *tree, uint32_t index, bool is_leaf) {
    const node_layout *layout = is_leaf ? &tree->kind->leaf : &tree->kind->inner;
    uint32_t sibling = pool_alloc(is_leaf ? &tree->leaves : &tree->inners);
    node_head *src = tree_head(tree, index, is_leaf);
    node_head *dst = tree_head(tree, sibling, is_leaf);
    uint32_t half = layout->capacity / 2u;
    assert(src->count == layout->capacity);
    layout_move(layout, dst, 0, src, half, src->count - half);
    dst->count = src->count - half;
    src->count = half;
    dst->next = is_leaf ? src->next : LEDGER_NIL;
    if (is_leaf) {
        src->next = sibling;
    }
    return sibling;
}

/* Inserts child at slot pos of parent, splitting parent if it is full;
 * returns parent's new right sibling, or LEDGER_NIL. */
static uint32_t tree_add_child(btree *tree, uint32_t parent, uint32_t pos, uint32_t child,
                               bool child_is_leaf) {
    const node_layout *layout = &tree->kind->inner;
    uint32_t target = parent;
    uint32_t sibling = LEDGER_NIL;
    if (tree_head(tree, parent, false)->count == layout->capacity) {
        sibling = tree_split(tree, parent, false);
        uint32_t half = layout->capacity / 2u;
        if (pos > half) {
            target = sibling;
            pos -= half;
        }
    }
    void *node = tree_node(tree, target, false);
    layout_open(layout, node, pos);
    inner_children(tree, node)[pos] = child;
    tree->kind->refresh(tree, target, pos, child_is_leaf);
    return sibling;
}

/* Puts a new root above the old one and its new right sibling. */
static void tree_grow_root(btree *tree, uint32_t sibling) {
    assert(tree->height + 1u < LEDGER_DEPTH_MAX);
    uint32_t root = pool_alloc(&tree->inners);
    void *node = tree_node(tree, root, false);
    node_head *head = node;
    head->count = 2;
    head->next = LEDGER_NIL;
    inner_children(tree, node)[0] = tree->root;
    inner_children(tree, node)[1] = sibling;
    bool child_is_leaf = tree->height == 0;
    tree->root = root;
    tree->height++;
    tree->kind->refresh(tree, root, 0, child_is_leaf);
    tree->kind->refresh(tree, root, 1, child_is_leaf);
}

/* Drops an empty root leaf, and inner roots with a single child. */
static void tree_shrink_root(btree *tree) {
    if (tree->root == LEDGER_NIL) {
        return;
    }
    while (tree->height > 0 && tree_head(tree, tree->root, false)->count == 1) {
        uint32_t old = tree->root;
        tree->root = inner_children(tree, tree_node(tree, old, false))[0];
        pool_release(&tree->inners, old);
        tree->height--;
    }
    if (tree->height == 0 && tree_head(tree, tree->root, true)->count == 0) {
        pool_release(&tree->leaves, tree->root);
        tree->root = LEDGER_NIL;
    }
}

/* Fixes the child in slot of parent, which fell below half full: merges it
 * with a neighbour when both fit in one node, else moves entries over from
 * the neighbour so that both are at least half full.  Never allocates. */
static void tree_fix_child(btree *tree, uint32_t parent, uint32_t slot, bool child_is_leaf) {
    const node_layout *layout = child_is_leaf ? &tree->kind->leaf : &tree->kind->inner;
    void *pnode = tree_node(tree, parent, false);
    uint32_t *children = inner_children(tree, pnode);
    uint32_t count = ((node_head *)pnode)->count;
    assert(count >= 2 && slot < count);
    uint32_t l = slot + 1u < count ? slot : slot - 1u;
    uint32_t r = l + 1u;
    node_head *left = tree_head(tree, children[l], child_is_leaf);
    node_head *right = tree_head(tree, children[r], child_is_leaf);
    uint32_t nl = left->count;
    uint32_t nr = right->count;
    if (nl + nr <= layout->capacity) {
        layout_move(layout, left, nl, right, 0, nr);
        left->count = nl + nr;
        if (child_is_leaf) {
            left->next = right->next;
        }
        pool_release(child_is_leaf ? &tree->leaves : &tree->inners, children[r]);
        layout_close(&tree->kind->inner, pnode, r);
        tree->kind->refresh(tree, parent, l, child_is_leaf);
        return;
    }
    uint32_t want = (nl + nr) / 2u;
    if (nl < want) {
        uint32_t k = want - nl;
        layout_move(layout, left, nl, right, 0, k);
        layout_move(layout, right, 0, right, k, nr - k);
    } else {
        uint32_t k = nl - want;
        layout_move(layout, right, k, right, 0, nr);
        layout_move(layout, right, 0, left, want, k);
    }
    right->count = nl + nr - want;
    left->count = want;
    assert(left->count >= layout->capacity / 2u && right->count >= layout->capacity / 2u);
    tree->kind->refresh(tree, parent, l, child_is_leaf);
    tree->kind->refresh(tree, parent, r, child_is_leaf);
}

/* Reserves what the next insertions may allocate: each a leaf (a split, or
 * the first leaf) and one inner node per level plus a new root; nothing
 * inner while the root leaf has room (so a small tree has no inner node). */
static int tree_reserve(btree *tree, uint32_t insertions) {
    uint64_t inners = (uint64_t)insertions * (tree->height + 2u);
    if (tree->root == LEDGER_NIL ||
        (tree->height == 0 && tree_head(tree, tree->root, true)->count + insertions <=
                                  tree->kind->leaf.capacity)) {
        inners = 0;
    }
    if (pool_reserve(&tree->leaves, insertions) != FR_OK ||
        pool_reserve(&tree->inners, inners) != FR_OK) {
        return FR_ENOMEM;
    }
    return FR_OK;
}

/* Starts an empty tree's first leaf (reserved). */
static void tree_first_leaf(btree *tree) {
    assert(tree->root == LEDGER_NIL);
    tree->root = pool_alloc(&tree->leaves);
    tree->height = 0;
    node_head *head = tree_head(tree, tree->root, true);
    head->count = 0;
    head->next = LEDGER_NIL;
}

static size_t tree_bytes(const btree *tree) {
    return pool_bytes(&tree->leaves) + pool_bytes(&tree->inners);
}

static void tree_free(btree *tree) {
    pool_free(&tree->leaves);
    pool_free(&tree->inners);
}

/* ---------------------------------------------------------------------------
 * The breakpoint tree: maintenance.
 * ------------------------------------------------------------------------- */

static point_leaf *point_leaf_at(const btree *tree, uint32_t index) {
    return pool_node_fixed(&tree->leaves, index, sizeof(point_leaf), LEDGER_NODE_SHIFT);
}

static point_inner *point_inner_at(const btree *tree, uint32_t index) {
    return pool_node_fixed(&tree->inners, index, sizeof(point_inner), LEDGER_NODE_SHIFT);
}

/* The same, for a node a descent is entering (see prefetch_node). */
static point_leaf *point_leaf_fetch(const btree *tree, uint32_t index) {
    point_leaf *leaf = point_leaf_at(tree, index);
    prefetch_node(leaf, sizeof(*leaf));
    return leaf;
}

static point_inner *point_inner_fetch(const btree *tree, uint32_t index, uint32_t level) {
    assert(level > 0);
    point_inner *in = point_inner_at(tree, index);
    if (level == 1) {
        prefetch_node(in, sizeof(*in));
    }
    return in;
}

/* What a parent keeps for one child: its smallest time and the sum, min and
 * max running sum of d_free over its points. */
typedef struct point_summary {
    int64_t min_t_ms;
    int64_t sum_free_milli;
    int64_t min_prefix_milli;
    int64_t max_prefix_milli;
} point_summary;

static point_summary point_leaf_summary(const point_leaf *leaf) {
    uint32_t count = leaf->head.count;
    assert(count > 0 && count <= POINT_LEAF_MAX);
    int64_t sum = leaf->d_free_milli[0];
    int64_t min_prefix = sum;
    int64_t max_prefix = sum;
    for (uint32_t i = 1; i < count; i++) {
        sum += leaf->d_free_milli[i];
        min_prefix = min_i64(min_prefix, sum);
        max_prefix = max_i64(max_prefix, sum);
    }
    point_summary summary = {leaf->t_ms[0], sum, min_prefix, max_prefix};
    return summary;
}

static point_summary point_inner_summary(const point_inner *in) {
    uint32_t count = in->head.count;
    assert(count > 0 && count <= POINT_INNER_MAX);
    int64_t min_prefix = in->min_prefix_milli[0];
    int64_t max_prefix = in->max_prefix_milli[0];
    int64_t sum = in->sum_free_milli[0];
    for (uint32_t k = 1; k < count; k++) {
        min_prefix = min_i64(min_prefix, sum + in->min_prefix_milli[k]);
        max_prefix = max_i64(max_prefix, sum + in->max_prefix_milli[k]);
        sum += in->sum_free_milli[k];
    }
    point_summary summary = {in->min_t_ms[0], sum, min_prefix, max_prefix};
    return summary;
}

/* Recomputes the summary parent keeps for its child in slot; returns
 * whether it changed (when not, nothing above parent changes either). */
static bool point_refresh_changed(const btree *tree, uint32_t parent, uint32_t slot,
                                  bool child_is_leaf) {
    point_inner *in = point_inner_at(tree, parent);
    assert(slot < in->head.count);
    point_summary summary = child_is_leaf
                                ? point_leaf_summary(point_leaf_at(tree, in->child[slot]))
                                : point_inner_summary(point_inner_at(tree, in->child[slot]));
    bool changed = in->min_t_ms[slot] != summary.min_t_ms ||
                   in->sum_free_milli[slot] != summary.sum_free_milli ||
                   in->min_prefix_milli[slot] != summary.min_prefix_milli ||
                   in->max_prefix_milli[slot] != summary.max_prefix_milli;
    in->min_t_ms[slot] = summary.min_t_ms;
    in->sum_free_milli[slot] = summary.sum_free_milli;
    in->min_prefix_milli[slot] = summary.min_prefix_milli;
    in->max_prefix_milli[slot] = summary.max_prefix_milli;
    return changed;
}

static void point_refresh(const btree *tree, uint32_t parent, uint32_t slot,
                          bool child_is_leaf) {
    (void)point_refresh_changed(tree, parent, slot, child_is_leaf);
}

static const btree_kind point_kind = {
    .leaf = {POINT_LEAF_MAX,
             3,
             {offsetof(point_leaf, t_ms), offsetof(point_leaf, d_free_milli),
              offsetof(point_leaf, refs)},
             {sizeof(int64_t), sizeof(int64_t), sizeof(uint32_t)},
             0},
    .inner = {POINT_INNER_MAX,
              5,
              {offsetof(point_inner, min_t_ms), offsetof(point_inner, sum_free_milli),
               offsetof(point_inner, min_prefix_milli), offsetof(point_inner, max_prefix_milli),
               offsetof(point_inner, child)},
              {sizeof(int64_t), sizeof(int64_t), sizeof(int64_t), sizeof(int64_t),
               sizeof(uint32_t)},
              offsetof(point_inner, child)},
    .refresh = point_refresh,
};

/* The child of in whose time range holds t: the last one starting at or
 * before t, or the first. */
static uint32_t point_child_for(const point_inner *in, int64_t t_ms) {
    return last_at_or_before(in->min_t_ms, in->head.count, t_ms);
}

/* Adds one edge (a jump of free(t)) at t in a leaf, creating the point and
 * splitting the leaf if full; returns the leaf's new right sibling or
 * LEDGER_NIL. */
static uint32_t point_leaf_add(btree *tree, uint32_t index, int64_t t_ms, int64_t d_free_milli) {
    point_leaf *leaf = point_leaf_fetch(tree, index);
    uint32_t pos = first_at_or_after(leaf->t_ms, leaf->head.count, t_ms);
    if (pos < leaf->head.count && leaf->t_ms[pos] == t_ms) {
        assert(leaf->refs[pos] > 0 && leaf->refs[pos] < UINT32_MAX);
        leaf->d_free_milli[pos] += d_free_milli;
        leaf->refs[pos]++;
        return LEDGER_NIL;
    }
    uint32_t sibling = LEDGER_NIL;
    if (leaf->head.count == POINT_LEAF_MAX) {
        sibling = tree_split(tree, index, true);
        if (pos > POINT_LEAF_MAX / 2u) {
            leaf = point_leaf_at(tree, sibling);
            pos -= POINT_LEAF_MAX / 2u;
        }
    }
    layout_open(&point_kind.leaf, leaf, pos);
    leaf->t_ms[pos] = t_ms;
    leaf->d_free_milli[pos] = d_free_milli;
    leaf->refs[pos] = 1;
    tree->entries++;
    return sibling;
}

/* The edges one change applies to the breakpoint tree: a booking's start
 * and end (or one of them, or one schedule edge), sorted by time. */
typedef struct point_edits {
    int64_t t_ms[2];
    int64_t d_free_milli[2];
    uint32_t count;
} point_edits;

/* Whether edit first + 1 (if any) leaves child c of in, which holds edit
 * first (the edits are sorted, so it suffices to look at child c + 1). */
static bool edits_diverge(const point_inner *in, uint32_t c, const point_edits *e,
                          uint32_t first, uint32_t last) {
    return last - first == 2u && c + 1u < in->head.count &&
           in->min_t_ms[c + 1u] <= e->t_ms[first + 1u];
}

/* Applies edits [first, last) (all inside the subtree at index) one descent
 * for all while they share a path; returns index's new right sibling or
 * LEDGER_NIL.  A node that splits has room left for the second edit, so one
 * call never makes more than one sibling. */
static uint32_t point_add_rec(btree *tree, uint32_t index, uint32_t level,
                              const point_edits *e, uint32_t first, uint32_t last) {
    assert(level < LEDGER_DEPTH_MAX && first < last && last <= e->count);
    const point_inner *in = level > 0 ? point_inner_fetch(tree, index, level) : NULL;
    uint32_t c = level > 0 ? point_child_for(in, e->t_ms[first]) : 0;
    if (level == 0 || edits_diverge(in, c, e, first, last)) {
        uint32_t sibling = LEDGER_NIL;
        for (uint32_t k = first; k < last; k++) {
            uint32_t target = index;
            if (sibling != LEDGER_NIL &&
                (level == 0 ? point_leaf_at(tree, sibling)->t_ms[0]
                            : point_inner_at(tree, sibling)->min_t_ms[0]) <= e->t_ms[k]) {
                target = sibling;
            }
            uint32_t made = level == 0
                                ? point_leaf_add(tree, target, e->t_ms[k], e->d_free_milli[k])
                                : point_add_rec(tree, target, level, e, k, k + 1u);
            assert(made == LEDGER_NIL || sibling == LEDGER_NIL);
            sibling = made != LEDGER_NIL ? made : sibling;
        }
        return sibling;
    }
    uint32_t sibling = point_add_rec(tree, in->child[c], level - 1u, e, first, last);
    point_refresh(tree, index, c, level == 1);
    if (sibling == LEDGER_NIL) {
        return LEDGER_NIL;
    }
    return tree_add_child(tree, index, c + 1u, sibling, level == 1);
}

/* Fills path for time t (the tree must not be empty); returns the leaf. */
static point_leaf *point_descend(const btree *tree, int64_t t_ms, tree_path *path) {
    assert(tree->root != LEDGER_NIL && tree->height < LEDGER_DEPTH_MAX);
    uint32_t index = tree->root;
    for (uint32_t level = tree->height; level > 0; level--) {
        const point_inner *in = point_inner_at(tree, index);
        uint32_t c = point_child_for(in, t_ms);
        path->node[level] = index;
        path->slot[level] = c;
        index = in->child[c];
    }
    path->node[0] = index;
    return point_leaf_at(tree, index);
}

/* Refreshes the summaries above the leaves of one or two paths, bottom up,
 * for the paths whose leaf changed, and stops at the first level where no
 * summary changes: nothing above can change then.  Two paths that meet are
 * refreshed once from there on. */
static void point_refresh_paths(const btree *tree, const tree_path *paths, uint32_t count) {
    assert(count >= 1 && count <= 2);
    bool changed[2] = {true, count == 2};
    for (uint32_t level = 1; level <= tree->height && (changed[0] || changed[1]); level++) {
        uint32_t node = paths[0].node[level];
        uint32_t slot = paths[0].slot[level];
        bool child_is_leaf = level == 1;
        if (count == 2 && paths[1].node[level] == node && paths[1].slot[level] == slot) {
            /* Both edits are below this slot (the paths met below it). */
            bool either = changed[0] || changed[1];
            changed[0] = either && point_refresh_changed(tree, node, slot, child_is_leaf);
            changed[1] = changed[0];
            continue;
        }
        if (changed[0]) {
            changed[0] = point_refresh_changed(tree, node, slot, child_is_leaf);
        }
        if (changed[1]) {
            changed[1] = point_refresh_changed(tree, paths[1].node[level], paths[1].slot[level],
                                               child_is_leaf);
        }
    }
}

/* Adds one edge at position pos of a leaf, where the point at t is (exists)
 * or goes; the leaf has room for a new point. */
static void point_leaf_put(btree *tree, point_leaf *leaf, uint32_t pos, bool exists,
                           int64_t t_ms, int64_t d_free_milli) {
    if (exists) {
        assert(leaf->t_ms[pos] == t_ms);
        assert(leaf->refs[pos] > 0 && leaf->refs[pos] < UINT32_MAX);
        leaf->d_free_milli[pos] += d_free_milli;
        leaf->refs[pos]++;
        return;
    }
    uint32_t count = leaf->head.count;
    assert(count < POINT_LEAF_MAX && pos <= count);
    for (uint32_t i = count; i > pos; i--) {
        leaf->t_ms[i] = leaf->t_ms[i - 1u];
        leaf->d_free_milli[i] = leaf->d_free_milli[i - 1u];
        leaf->refs[i] = leaf->refs[i - 1u];
    }
    leaf->t_ms[pos] = t_ms;
    leaf->d_free_milli[pos] = d_free_milli;
    leaf->refs[pos] = 1;
    leaf->head.count = count + 1u;
    tree->entries++;
}

/* The leaf of each edit and the position of its time there (the first
 * point at or after it), along the known paths or found by descending
 * (into found). */
static void edit_leaves(const btree *tree, const point_edits *e, const tree_path *known,
                        tree_path found[2], point_leaf *leaf[2], uint32_t pos[2]) {
    for (uint32_t k = 0; k < e->count; k++) {
        leaf[k] = known != NULL ? point_leaf_at(tree, known[k].node[0])
                                : point_descend(tree, e->t_ms[k], &found[k]);
        pos[k] = first_at_or_after(leaf[k]->t_ms, leaf[k]->head.count, e->t_ms[k]);
    }
}

/* point_add without a split, the common case: when every edit lands in a
 * leaf with room for it, applies them along one path per edit (known, when
 * not NULL, holds them already: see ledger_hint) and refreshes the summaries
 * only as far up as they change.  Returns false, having changed nothing,
 * when a leaf would have to split (or the tree is empty): then the general
 * path does it. */
static bool point_add_fast(btree *tree, const point_edits *e, const tree_path *known) {
    assert(e->count >= 1 && e->count <= 2);
    if (tree->root == LEDGER_NIL) {
        return false;
    }
    tree_path found[2];
    const tree_path *paths = known != NULL ? known : found;
    point_leaf *leaf[2];
    uint32_t pos[2];
    bool exists[2];
    edit_leaves(tree, e, known, found, leaf, pos);
    for (uint32_t k = 0; k < e->count; k++) {
        exists[k] = pos[k] < leaf[k]->head.count && leaf[k]->t_ms[pos[k]] == e->t_ms[k];
    }
    bool shared = e->count == 2 && leaf[0] == leaf[1];
    for (uint32_t k = 0; k < e->count; k++) {
        uint32_t added = (exists[k] ? 0u : 1u) + (shared && !exists[1u - k] ? 1u : 0u);
        if (leaf[k]->head.count + added > POINT_LEAF_MAX) {
            return false;
        }
    }
    /* The later edit first: in a shared leaf its position stays valid. */
    for (uint32_t k = e->count; k-- > 0;) {
        point_leaf_put(tree, leaf[k], pos[k], exists[k], e->t_ms[k], e->d_free_milli[k]);
    }
    point_refresh_paths(tree, paths, e->count);
    return true;
}

/* Applies edits (tree_reserve'd beforehand for e->count insertions); known
 * is NULL or their paths (see point_add_fast). */
static void point_add(btree *tree, const point_edits *e, const tree_path *known) {
    assert(e->count >= 1 && e->count <= 2);
    assert(e->count == 1 || e->t_ms[0] < e->t_ms[1]);
    if (point_add_fast(tree, e, known)) {
        return;
    }
    if (tree->root == LEDGER_NIL) {
        tree_first_leaf(tree);
    }
    uint32_t sibling = point_add_rec(tree, tree->root, tree->height, e, 0, e->count);
    if (sibling != LEDGER_NIL) {
        tree_grow_root(tree, sibling);
    }
}

/* Removes one edge at t from a leaf (the point must exist); returns whether
 * the leaf fell below half full. */
static bool point_leaf_remove(btree *tree, uint32_t index, int64_t t_ms, int64_t d_free_milli) {
    point_leaf *leaf = point_leaf_fetch(tree, index);
    uint32_t pos = first_at_or_after(leaf->t_ms, leaf->head.count, t_ms);
    assert(pos < leaf->head.count && leaf->t_ms[pos] == t_ms);
    assert(leaf->refs[pos] > 0);
    leaf->d_free_milli[pos] -= d_free_milli;
    leaf->refs[pos]--;
    if (leaf->refs[pos] == 0) {
        assert(leaf->d_free_milli[pos] == 0);
        layout_close(&point_kind.leaf, leaf, pos);
        assert(tree->entries > 0);
        tree->entries--;
    }
    return leaf->head.count < POINT_LEAF_MAX / 2u;
}

/* Takes back edits [first, last) from the subtree at index (their points
 * must exist); returns whether index fell below half full. */
static bool point_remove_rec(btree *tree, uint32_t index, uint32_t level,
                             const point_edits *e, uint32_t first, uint32_t last) {
    assert(level < LEDGER_DEPTH_MAX && first < last && last <= e->count);
    if (level == 0) {
        bool underflow = false;
        for (uint32_t k = first; k < last; k++) {
            underflow = point_leaf_remove(tree, index, e->t_ms[k], e->d_free_milli[k]);
        }
        return underflow;
    }
    point_inner *in = point_inner_fetch(tree, index, level);
    uint32_t c = point_child_for(in, e->t_ms[first]);
    if (edits_diverge(in, c, e, first, last)) {
        /* Each fixes its own child; the second routes afresh. */
        point_remove_rec(tree, index, level, e, first + 1u, last);
        return point_remove_rec(tree, index, level, e, first, first + 1u);
    }
    if (point_remove_rec(tree, in->child[c], level - 1u, e, first, last)) {
        tree_fix_child(tree, index, c, level == 1);
    } else {
        point_refresh(tree, index, c, level == 1);
    }
    return in->head.count < POINT_INNER_MAX / 2u;
}

/* point_remove without a merge or borrow, the common case: when no leaf
 * falls below half full, takes the edits back along one path per edit
 * (known, when not NULL, holds them already) and refreshes the summaries
 * only as far up as they change.  Returns false, having changed nothing,
 * otherwise (or when the tree is a single leaf). */
static bool point_remove_fast(btree *tree, const point_edits *e, const tree_path *known) {
    assert(e->count >= 1 && e->count <= 2);
    if (tree->height == 0) {
        return false;
    }
    tree_path found[2];
    const tree_path *paths = known != NULL ? known : found;
    point_leaf *leaf[2];
    uint32_t pos[2];
    bool drops[2];
    edit_leaves(tree, e, known, found, leaf, pos);
    for (uint32_t k = 0; k < e->count; k++) {
        assert(pos[k] < leaf[k]->head.count && leaf[k]->t_ms[pos[k]] == e->t_ms[k]);
        assert(leaf[k]->refs[pos[k]] > 0);
        drops[k] = leaf[k]->refs[pos[k]] == 1u;
    }
    bool shared = e->count == 2 && leaf[0] == leaf[1];
    for (uint32_t k = 0; k < e->count; k++) {
        uint32_t dropped = (drops[k] ? 1u : 0u) + (shared && drops[1u - k] ? 1u : 0u);
        if (leaf[k]->head.count - dropped < POINT_LEAF_MAX / 2u) {
            return false;
        }
    }
    /* The later edit first: in a shared leaf the earlier position stays valid. */
    for (uint32_t k = e->count; k-- > 0;) {
        point_leaf *l = leaf[k];
        uint32_t p = pos[k];
        l->d_free_milli[p] -= e->d_free_milli[k];
        l->refs[p]--;
        if (drops[k]) {
            assert(l->d_free_milli[p] == 0);
            uint32_t count = l->head.count;
            for (uint32_t i = p; i + 1u < count; i++) {
                l->t_ms[i] = l->t_ms[i + 1u];
                l->d_free_milli[i] = l->d_free_milli[i + 1u];
                l->refs[i] = l->refs[i + 1u];
            }
            l->head.count = count - 1u;
            assert(tree->entries > 0);
            tree->entries--;
        }
    }
    point_refresh_paths(tree, paths, e->count);
    return true;
}

/* Takes back edits (whose points must be there); known is NULL or their
 * paths.  Never allocates. */
static void point_remove(btree *tree, const point_edits *e, const tree_path *known) {
    assert(tree->root != LEDGER_NIL);
    assert(e->count >= 1 && e->count <= 2);
    assert(e->count == 1 || e->t_ms[0] < e->t_ms[1]);
    if (point_remove_fast(tree, e, known)) {
        return;
    }
    point_remove_rec(tree, tree->root, tree->height, e, 0, e->count);
    tree_shrink_root(tree);
}

/* The edits of a booking: -quantity at start, +quantity at end (if any). */
static point_edits booking_edits(int64_t start_ms, int64_t end_ms, int64_t quantity_milli) {
    point_edits e = {{start_ms, end_ms}, {-quantity_milli, quantity_milli}, 2};
    if (end_ms == FR_TIME_INF) {
        e.count = 1;
    }
    return e;
}

/* The edits of one schedule edge. */
static point_edits single_edit(int64_t t_ms, int64_t d_free_milli) {
    point_edits e = {{t_ms, 0}, {d_free_milli, 0}, 1};
    return e;
}

/* ---------------------------------------------------------------------------
 * The breakpoint tree: queries.  "Prefix" below means the running sum of
 * d_free up to and including a point, i.e. free(point) - base.
 * ------------------------------------------------------------------------- */

/* The sum of d_free over the points <= t; also the leaf and the position in
 * it of the first point > t (which may be one past its end). */
static int64_t point_seek(const btree *tree, int64_t t_ms, uint32_t *leaf_index,
                          uint32_t *leaf_pos) {
    int64_t free_sum = 0;
    uint32_t index = tree->root;
    *leaf_index = LEDGER_NIL;
    *leaf_pos = 0;
    if (index == LEDGER_NIL) {
        return 0;
    }
    for (uint32_t level = tree->height; level > 0; level--) {
        const point_inner *in = point_inner_fetch(tree, index, level);
        uint32_t c = point_child_for(in, t_ms);
        for (uint32_t k = 0; k < c; k++) {
            free_sum += in->sum_free_milli[k];
        }
        index = in->child[c];
    }
    const point_leaf *leaf = point_leaf_fetch(tree, index);
    uint32_t i = 0;
    for (; i < leaf->head.count && leaf->t_ms[i] <= t_ms; i++) {
        free_sum += leaf->d_free_milli[i];
    }
    *leaf_index = index;
    *leaf_pos = i;
    return free_sum;
}

static int64_t point_prefix(const btree *tree, int64_t t_ms) {
    uint32_t leaf_index;
    uint32_t leaf_pos;
    return point_seek(tree, t_ms, &leaf_index, &leaf_pos);
}

/* One search for the first point in (after, before) whose prefix qualifies. */
typedef struct hit_search {
    int64_t after_ms;
    int64_t before_ms;
    int64_t threshold_milli;
    bool below;
    int64_t prefix_after_milli; /* out: sum of d_free over points <= after */
    int64_t hit_ms;             /* out, on SEARCH_HIT */
} hit_search;

typedef enum search_result {
    SEARCH_MISS, /* not in this subtree; the offset now includes all of it */
    SEARCH_HIT,  /* found: hit_ms */
    SEARCH_STOP  /* reached before_ms: there is none */
} search_result;

/* The first qualifying point of a subtree known to contain one. */
static search_result point_hit_all(const btree *tree, uint32_t index, uint32_t level,
                                   int64_t offset_milli, hit_search *s) {
    for (; level > 0; level--) {
        const point_inner *in = point_inner_fetch(tree, index, level);
        uint32_t c = 0;
        while (!prefix_hits(offset_milli + (s->below ? in->min_prefix_milli[c]
                                                     : in->max_prefix_milli[c]),
                            s->threshold_milli, s->below)) {
            offset_milli += in->sum_free_milli[c];
            c++;
            assert(c < in->head.count);
        }
        index = in->child[c];
    }
    const point_leaf *leaf = point_leaf_fetch(tree, index);
    for (uint32_t i = 0; i < leaf->head.count; i++) {
        offset_milli += leaf->d_free_milli[i];
        if (prefix_hits(offset_milli, s->threshold_milli, s->below)) {
            s->hit_ms = leaf->t_ms[i];
            return leaf->t_ms[i] < s->before_ms ? SEARCH_HIT : SEARCH_STOP;
        }
    }
    assert(!"aggregate promised a qualifying point");
    return SEARCH_STOP;
}

static search_result point_hit_leaf(const point_leaf *leaf, int64_t *offset_milli,
                                    hit_search *s) {
    int64_t offset = *offset_milli;
    uint32_t count = leaf->head.count;
    uint32_t i = 0;
    for (; i < count && leaf->t_ms[i] <= s->after_ms; i++) {
        offset += leaf->d_free_milli[i];
    }
    s->prefix_after_milli = offset;
    search_result result = SEARCH_MISS;
    for (; i < count; i++) {
        if (leaf->t_ms[i] >= s->before_ms) {
            result = SEARCH_STOP;
            break;
        }
        offset += leaf->d_free_milli[i];
        if (prefix_hits(offset, s->threshold_milli, s->below)) {
            s->hit_ms = leaf->t_ms[i];
            result = SEARCH_HIT;
            break;
        }
    }
    *offset_milli = offset;
    return result;
}

/* Walks down to the leaf holding after, then back up, checking each later
 * child by its aggregate and descending only into the first that qualifies. */
static search_result point_hit(const btree *tree, uint32_t index, uint32_t level,
                               int64_t *offset_milli, hit_search *s) {
    assert(level < LEDGER_DEPTH_MAX);
    if (level == 0) {
        return point_hit_leaf(point_leaf_fetch(tree, index), offset_milli, s);
    }
    const point_inner *in = point_inner_fetch(tree, index, level);
    uint32_t c = point_child_for(in, s->after_ms);
    int64_t offset = *offset_milli;
    for (uint32_t k = 0; k < c; k++) {
        offset += in->sum_free_milli[k];
    }
    search_result r = point_hit(tree, in->child[c], level - 1u, &offset, s);
    if (r != SEARCH_MISS) {
        return r;
    }
    const int64_t *extreme = s->below ? in->min_prefix_milli : in->max_prefix_milli;
    for (c++; c < in->head.count; c++) {
        if (in->min_t_ms[c] >= s->before_ms) {
            return SEARCH_STOP;
        }
        if (prefix_hits(offset + extreme[c], s->threshold_milli, s->below)) {
            return point_hit_all(tree, in->child[c], level - 1u, offset, s);
        }
        offset += in->sum_free_milli[c];
    }
    *offset_milli = offset;
    return SEARCH_MISS;
}

/* The first point t with after < t < before where free(t) < need (below) or
 * free(t) >= need (not below), or FR_TIME_NULL; *free_after gets free(after). */
static int64_t first_crossing(const fr__ledger *ledger, int64_t after_ms, int64_t before_ms,
                              int64_t need_milli, bool below, int64_t *free_after_milli) {
    hit_search s = {after_ms, before_ms, need_milli - ledger->total_capacity_milli, below, 0,
                    FR_TIME_NULL};
    search_result r = SEARCH_MISS;
    if (ledger->points.root != LEDGER_NIL) {
        int64_t offset = 0;
        r = point_hit(&ledger->points, ledger->points.root, ledger->points.height, &offset, &s);
    }
    if (free_after_milli != NULL) {
        *free_after_milli = ledger->total_capacity_milli + s.prefix_after_milli;
    }
    return r == SEARCH_HIT ? s.hit_ms : FR_TIME_NULL;
}

/* first_crossing(ledger, after, before, need, true, free_after) for a
 * search whose descent to after is known (path: see ledger_hint): the same
 * walk as point_hit, up the path instead of back out of the recursion. */
static int64_t first_crossing_along(const fr__ledger *ledger, const tree_path *path,
                                    int64_t after_ms, int64_t before_ms, int64_t need_milli,
                                    int64_t *free_after_milli) {
    const btree *tree = &ledger->points;
    assert(tree->root != LEDGER_NIL && path->node[tree->height] == tree->root);
    hit_search s = {after_ms, before_ms, need_milli - ledger->total_capacity_milli, true, 0,
                    FR_TIME_NULL};
    int64_t offset = 0;
    for (uint32_t level = tree->height; level > 0; level--) {
        const point_inner *in = point_inner_at(tree, path->node[level]);
        assert(in->child[path->slot[level]] == path->node[level - 1u]);
        for (uint32_t k = 0; k < path->slot[level]; k++) {
            offset += in->sum_free_milli[k];
        }
    }
    search_result r = point_hit_leaf(point_leaf_at(tree, path->node[0]), &offset, &s);
    for (uint32_t level = 1; level <= tree->height && r == SEARCH_MISS; level++) {
        const point_inner *in = point_inner_at(tree, path->node[level]);
        for (uint32_t c = path->slot[level] + 1u; c < in->head.count; c++) {
            if (in->min_t_ms[c] >= before_ms) {
                r = SEARCH_STOP;
                break;
            }
            if (offset + in->min_prefix_milli[c] < s.threshold_milli) {
                r = point_hit_all(tree, in->child[c], level - 1u, offset, &s);
                break;
            }
            offset += in->sum_free_milli[c];
        }
    }
    *free_after_milli = ledger->total_capacity_milli + s.prefix_after_milli;
    return r == SEARCH_HIT ? s.hit_ms : FR_TIME_NULL;
}

/* Whether the hint holds the paths of a check-and-book over [start, end). */
static bool hint_matches(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms) {
    const ledger_hint *hint = &ledger->hint;
    return hint->version == ledger->version && hint->start_ms == start_ms &&
           hint->end_ms == end_ms;
}

/* The minimum prefix over the points with after < t < before of a subtree
 * whose times are all < upper; INT64_MAX when there is none.  Only the
 * children straddling after or before are entered (two paths). */
static int64_t point_range_min(const btree *tree, uint32_t index, uint32_t level,
                               int64_t offset_milli, int64_t after_ms, int64_t before_ms,
                               int64_t upper_ms) {
    assert(level < LEDGER_DEPTH_MAX);
    int64_t best = INT64_MAX;
    if (level == 0) {
        const point_leaf *leaf = point_leaf_fetch(tree, index);
        for (uint32_t i = 0; i < leaf->head.count && leaf->t_ms[i] < before_ms; i++) {
            offset_milli += leaf->d_free_milli[i];
            if (leaf->t_ms[i] > after_ms) {
                best = min_i64(best, offset_milli);
            }
        }
        return best;
    }
    const point_inner *in = point_inner_fetch(tree, index, level);
    for (uint32_t c = 0; c < in->head.count && in->min_t_ms[c] < before_ms; c++) {
        int64_t lo = in->min_t_ms[c];
        int64_t hi = c + 1u < in->head.count ? in->min_t_ms[c + 1u] : upper_ms;
        if (hi <= after_ms) {
            /* Entirely at or before after. */
        } else if (lo > after_ms && hi <= before_ms) {
            best = min_i64(best, offset_milli + in->min_prefix_milli[c]);
        } else {
            best = min_i64(best, point_range_min(tree, in->child[c], level - 1u, offset_milli,
                                                 after_ms, before_ms, hi));
        }
        offset_milli += in->sum_free_milli[c];
    }
    return best;
}

/* The last point of a subtree known to contain one with prefix >= threshold. */
static int64_t point_last_all(const btree *tree, uint32_t index, uint32_t level,
                              int64_t offset_milli, int64_t threshold_milli) {
    for (; level > 0; level--) {
        const point_inner *in = point_inner_fetch(tree, index, level);
        uint32_t pick = in->head.count;
        int64_t pick_offset = 0;
        int64_t offset = offset_milli;
        for (uint32_t c = 0; c < in->head.count; c++) {
            if (offset + in->max_prefix_milli[c] >= threshold_milli) {
                pick = c;
                pick_offset = offset;
            }
            offset += in->sum_free_milli[c];
        }
        assert(pick < in->head.count);
        index = in->child[pick];
        offset_milli = pick_offset;
    }
    const point_leaf *leaf = point_leaf_fetch(tree, index);
    int64_t found = FR_TIME_NULL;
    for (uint32_t i = 0; i < leaf->head.count; i++) {
        offset_milli += leaf->d_free_milli[i];
        if (offset_milli >= threshold_milli) {
            found = leaf->t_ms[i];
        }
    }
    assert(found != FR_TIME_NULL);
    return found;
}

/* The last point t <= until whose prefix is >= threshold, or FR_TIME_NULL. */
static int64_t point_last_at_least(const btree *tree, uint32_t index, uint32_t level,
                                   int64_t offset_milli, int64_t until_ms,
                                   int64_t threshold_milli) {
    assert(level < LEDGER_DEPTH_MAX);
    if (level == 0) {
        const point_leaf *leaf = point_leaf_fetch(tree, index);
        int64_t found = FR_TIME_NULL;
        for (uint32_t i = 0; i < leaf->head.count && leaf->t_ms[i] <= until_ms; i++) {
            offset_milli += leaf->d_free_milli[i];
            if (offset_milli >= threshold_milli) {
                found = leaf->t_ms[i];
            }
        }
        return found;
    }
    const point_inner *in = point_inner_fetch(tree, index, level);
    int64_t offsets[POINT_INNER_MAX];
    uint32_t c = 0;
    offsets[0] = offset_milli;
    while (c + 1u < in->head.count && in->min_t_ms[c + 1u] <= until_ms) {
        offsets[c + 1u] = offsets[c] + in->sum_free_milli[c];
        c++;
    }
    int64_t found = point_last_at_least(tree, in->child[c], level - 1u, offsets[c], until_ms,
                                        threshold_milli);
    while (found == FR_TIME_NULL && c > 0) {
        c--;
        if (offsets[c] + in->max_prefix_milli[c] >= threshold_milli) {
            found = point_last_all(tree, in->child[c], level - 1u, offsets[c], threshold_milli);
        }
    }
    return found;
}

/* ---------------------------------------------------------------------------
 * The booking tree.
 * ------------------------------------------------------------------------- */

static booking_leaf *booking_leaf_at(const btree *tree, uint32_t index) {
    return pool_node_fixed(&tree->leaves, index, sizeof(booking_leaf), LEDGER_NODE_SHIFT);
}

static booking_inner *booking_inner_at(const btree *tree, uint32_t index) {
    return pool_node_fixed(&tree->inners, index, sizeof(booking_inner), LEDGER_NODE_SHIFT);
}

static booking_leaf *booking_leaf_fetch(const btree *tree, uint32_t index) {
    booking_leaf *leaf = booking_leaf_at(tree, index);
    prefetch_node(leaf, sizeof(*leaf));
    return leaf;
}

static booking_inner *booking_inner_fetch(const btree *tree, uint32_t index, uint32_t level) {
    assert(level > 0);
    booking_inner *in = booking_inner_at(tree, index);
    if (level == 1) {
        prefetch_node(in, sizeof(*in));
    }
    return in;
}

static booking_record *record_at(const fr__ledger *ledger, uint32_t handle) {
    return pool_node_fixed(&ledger->records, handle, sizeof(booking_record),
                           LEDGER_RECORD_SHIFT);
}

static void booking_refresh(const btree *tree, uint32_t parent, uint32_t slot,
                            bool child_is_leaf) {
    booking_inner *in = booking_inner_at(tree, parent);
    assert(slot < in->head.count);
    int64_t max_end = INT64_MIN;
    if (child_is_leaf) {
        const booking_leaf *leaf = booking_leaf_at(tree, in->child[slot]);
        assert(leaf->head.count > 0);
        in->min_start_ms[slot] = leaf->start_ms[0];
        in->min_handle[slot] = leaf->handle[0];
        for (uint32_t i = 0; i < leaf->head.count; i++) {
            max_end = max_i64(max_end, leaf->end_ms[i]);
        }
    } else {
        const booking_inner *c = booking_inner_at(tree, in->child[slot]);
        assert(c->head.count > 0);
        in->min_start_ms[slot] = c->min_start_ms[0];
        in->min_handle[slot] = c->min_handle[0];
        for (uint32_t k = 0; k < c->head.count; k++) {
            max_end = max_i64(max_end, c->max_end_ms[k]);
        }
    }
    in->max_end_ms[slot] = max_end;
}

static const btree_kind booking_kind = {
    .leaf = {BOOKING_LEAF_MAX,
             3,
             {offsetof(booking_leaf, start_ms), offsetof(booking_leaf, end_ms),
              offsetof(booking_leaf, handle)},
             {sizeof(int64_t), sizeof(int64_t), sizeof(uint32_t)},
             0},
    .inner = {BOOKING_INNER_MAX,
              4,
              {offsetof(booking_inner, min_start_ms), offsetof(booking_inner, max_end_ms),
               offsetof(booking_inner, min_handle), offsetof(booking_inner, child)},
              {sizeof(int64_t), sizeof(int64_t), sizeof(uint32_t), sizeof(uint32_t)},
              offsetof(booking_inner, child)},
    .refresh = booking_refresh,
};

/* The child of in whose key range holds (start, handle): binary search by
 * start, then a walk back over children with the same start and a larger
 * handle (bounded by the node size; many bookings may share a start). */
static uint32_t booking_child_for(const booking_inner *in, int64_t start_ms, uint32_t handle) {
    uint32_t c = last_at_or_before(in->min_start_ms, in->head.count, start_ms);
    while (c > 0 && !key_less(in->min_start_ms[c], in->min_handle[c], start_ms, handle) &&
           !(in->min_start_ms[c] == start_ms && in->min_handle[c] == handle)) {
        c--;
    }
    return c;
}

/* The position of the first key >= (start, handle) in a leaf (the same:
 * binary search by start, then a walk over equal starts). */
static uint32_t booking_leaf_pos(const booking_leaf *leaf, int64_t start_ms, uint32_t handle) {
    uint32_t pos = first_at_or_after(leaf->start_ms, leaf->head.count, start_ms);
    while (pos < leaf->head.count && leaf->start_ms[pos] == start_ms &&
           leaf->handle[pos] < handle) {
        pos++;
    }
    return pos;
}

static uint32_t booking_add_rec(btree *tree, uint32_t index, uint32_t level, int64_t start_ms,
                                int64_t end_ms, uint32_t handle) {
    if (level > 0) {
        booking_inner *in = booking_inner_fetch(tree, index, level);
        uint32_t c = booking_child_for(in, start_ms, handle);
        uint32_t sibling =
            booking_add_rec(tree, in->child[c], level - 1u, start_ms, end_ms, handle);
        if (sibling == LEDGER_NIL) {
            /* The child only gained this booking: its summary grows in O(1). */
            in->max_end_ms[c] = max_i64(in->max_end_ms[c], end_ms);
            if (key_less(start_ms, handle, in->min_start_ms[c], in->min_handle[c])) {
                in->min_start_ms[c] = start_ms;
                in->min_handle[c] = handle;
            }
            return LEDGER_NIL;
        }
        booking_refresh(tree, index, c, level == 1);
        return tree_add_child(tree, index, c + 1u, sibling, level == 1);
    }
    booking_leaf *leaf = booking_leaf_fetch(tree, index);
    uint32_t pos = booking_leaf_pos(leaf, start_ms, handle);
    uint32_t sibling = LEDGER_NIL;
    if (leaf->head.count == BOOKING_LEAF_MAX) {
        sibling = tree_split(tree, index, true);
        if (pos > BOOKING_LEAF_MAX / 2u) {
            leaf = booking_leaf_at(tree, sibling);
            pos -= BOOKING_LEAF_MAX / 2u;
        }
    }
    layout_open(&booking_kind.leaf, leaf, pos);
    leaf->start_ms[pos] = start_ms;
    leaf->end_ms[pos] = end_ms;
    leaf->handle[pos] = handle;
    tree->entries++;
    return sibling;
}

/* Fills path for the key (start, handle); the tree must not be empty. */
static void booking_descend(const btree *tree, int64_t start_ms, uint32_t handle,
                            tree_path *path) {
    assert(tree->root != LEDGER_NIL && tree->height < LEDGER_DEPTH_MAX);
    uint32_t index = tree->root;
    for (uint32_t level = tree->height; level > 0; level--) {
        const booking_inner *in = booking_inner_at(tree, index);
        uint32_t c = booking_child_for(in, start_ms, handle);
        path->node[level] = index;
        path->slot[level] = c;
        index = in->child[c];
    }
    path->node[0] = index;
}

/* booking_add_rec without a split, the common case: when the leaf on path
 * (the key's) has room, inserts there and grows the summaries above in O(1)
 * a level, stopping where they no longer change.  Returns false, having
 * changed nothing, when the leaf is full. */
static bool booking_add_fast(btree *tree, const tree_path *path, int64_t start_ms,
                             int64_t end_ms, uint32_t handle) {
    booking_leaf *leaf = booking_leaf_at(tree, path->node[0]);
    uint32_t count = leaf->head.count;
    if (count == BOOKING_LEAF_MAX) {
        return false;
    }
    uint32_t pos = booking_leaf_pos(leaf, start_ms, handle);
    for (uint32_t i = count; i > pos; i--) {
        leaf->start_ms[i] = leaf->start_ms[i - 1u];
        leaf->end_ms[i] = leaf->end_ms[i - 1u];
        leaf->handle[i] = leaf->handle[i - 1u];
    }
    leaf->start_ms[pos] = start_ms;
    leaf->end_ms[pos] = end_ms;
    leaf->handle[pos] = handle;
    leaf->head.count = count + 1u;
    tree->entries++;
    for (uint32_t level = 1; level <= tree->height; level++) {
        booking_inner *in = booking_inner_at(tree, path->node[level]);
        uint32_t c = path->slot[level];
        bool changed = false;
        if (end_ms > in->max_end_ms[c]) {
            in->max_end_ms[c] = end_ms;
            changed = true;
        }
        if (key_less(start_ms, handle, in->min_start_ms[c], in->min_handle[c])) {
            in->min_start_ms[c] = start_ms;
            in->min_handle[c] = handle;
            changed = true;
        }
        if (!changed) {
            break; /* the node's own summary is as it was */
        }
    }
    return true;
}

static bool booking_remove_rec(btree *tree, uint32_t index, uint32_t level, int64_t start_ms,
                               int64_t end_ms, uint32_t handle) {
    if (level > 0) {
        booking_inner *in = booking_inner_fetch(tree, index, level);
        uint32_t c = booking_child_for(in, start_ms, handle);
        if (booking_remove_rec(tree, in->child[c], level - 1u, start_ms, end_ms, handle)) {
            tree_fix_child(tree, index, c, level == 1);
        } else if (end_ms >= in->max_end_ms[c] ||
                   (start_ms == in->min_start_ms[c] && handle == in->min_handle[c])) {
            /* It was the child's largest end or smallest key. */
            booking_refresh(tree, index, c, level == 1);
        }
        return in->head.count < BOOKING_INNER_MAX / 2u;
    }
    booking_leaf *leaf = booking_leaf_fetch(tree, index);
    uint32_t pos = booking_leaf_pos(leaf, start_ms, handle);
    assert(pos < leaf->head.count && leaf->handle[pos] == handle);
    layout_close(&booking_kind.leaf, leaf, pos);
    assert(tree->entries > 0);
    tree->entries--;
    return leaf->head.count < BOOKING_LEAF_MAX / 2u;
}

/* The state of one overlap enumeration. */
typedef struct overlap_walk {
    const fr__ledger *ledger;
    int64_t start_ms;
    int64_t end_ms;
    uint64_t *tags;
    int64_t *starts; /* optional */
    int64_t *ends;   /* optional */
    size_t max;
    size_t count;
} overlap_walk;

/* Visits, in key order, the bookings of a subtree that overlap the walk's
 * interval, skipping children that end too early; returns false once keys
 * reach the walk's end (nothing later can overlap). */
static bool booking_collect(const btree *tree, uint32_t index, uint32_t level,
                            overlap_walk *walk) {
    assert(level < LEDGER_DEPTH_MAX);
    if (level > 0) {
        const booking_inner *in = booking_inner_fetch(tree, index, level);
        for (uint32_t c = 0; c < in->head.count; c++) {
            if (in->min_start_ms[c] >= walk->end_ms) {
                return false;
            }
            if (in->max_end_ms[c] <= walk->start_ms) {
                continue;
            }
            /* A long listing goes on into the next leaf: ask for it while
             * this one is read. */
            if (level == 1u && c + 1u < in->head.count &&
                in->min_start_ms[c + 1u] < walk->end_ms) {
                prefetch_node(booking_leaf_at(tree, in->child[c + 1u]), sizeof(booking_leaf));
            }
            if (!booking_collect(tree, in->child[c], level - 1u, walk)) {
                return false;
            }
        }
        return true;
    }
    const booking_leaf *leaf = booking_leaf_fetch(tree, index);
    for (uint32_t i = 0; i < leaf->head.count; i++) {
        if (leaf->start_ms[i] >= walk->end_ms) {
            return false;
        }
        if (leaf->end_ms[i] > walk->start_ms) {
            if (walk->count < walk->max) {
                walk->tags[walk->count] = leaf->handle[i]; /* a tag after the walk */
                if (walk->starts != NULL) {
                    walk->starts[walk->count] = leaf->start_ms[i];
                    walk->ends[walk->count] = leaf->end_ms[i];
                }
            }
            walk->count++;
        }
    }
    return true;
}

/* ---------------------------------------------------------------------------
 * Capacity.  A schedule is a sequence of edges: entry i gives edge 2i (its
 * start, +delta) and edge 2i+1 (its end, -delta), where delta = capacity -
 * total; edges with delta 0 and ends at FR_TIME_INF do not exist.
 * ------------------------------------------------------------------------- */

/* Edge k of a schedule: false when it does not exist. */
static bool schedule_edge(const fr_schedule_entry *schedule, int64_t total_milli, size_t k,
                          int64_t *t_ms, int64_t *d_free_milli) {
    const fr_schedule_entry *e = &schedule[k / 2u];
    int64_t delta = e->capacity_milli - total_milli;
    bool is_end = (k % 2u) == 1u;
    if (delta == 0 || (is_end && e->end_ms == FR_TIME_INF)) {
        return false;
    }
    *t_ms = is_end ? e->end_ms : e->start_ms;
    *d_free_milli = is_end ? -delta : delta;
    return true;
}

/* Removes the first edge_count edges of a schedule.  Never allocates. */
static void schedule_remove(fr__ledger *ledger, const fr_schedule_entry *schedule,
                            int64_t total_milli, size_t edge_count) {
    for (size_t k = 0; k < edge_count; k++) {
        int64_t t_ms;
        int64_t d_free;
        if (schedule_edge(schedule, total_milli, k, &t_ms, &d_free)) {
            point_edits e = single_edit(t_ms, d_free);
            point_remove(&ledger->points, &e, NULL);
        }
    }
}

/* Adds the edges of a schedule; on FR_ENOMEM takes back those it added. */
static int schedule_add(fr__ledger *ledger, const fr_schedule_entry *schedule, size_t len,
                        int64_t total_milli) {
    for (size_t k = 0; k < 2u * len; k++) {
        int64_t t_ms;
        int64_t d_free;
        if (!schedule_edge(schedule, total_milli, k, &t_ms, &d_free)) {
            continue;
        }
        if (tree_reserve(&ledger->points, 1) != FR_OK) {
            schedule_remove(ledger, schedule, total_milli, k);
            return FR_ENOMEM;
        }
        point_edits e = single_edit(t_ms, d_free);
        point_add(&ledger->points, &e, NULL);
    }
    return FR_OK;
}

/* The index of the first schedule entry that ends after t (entries are
 * sorted and disjoint, so their ends are sorted too). */
static size_t schedule_index(const fr__ledger *ledger, int64_t t_ms) {
    size_t lo = 0;
    size_t hi = ledger->schedule_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (ledger->schedule[mid].end_ms <= t_ms) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* capacity(t), given the index of the first entry that ends after t. */
static int64_t schedule_capacity(const fr__ledger *ledger, size_t index, int64_t t_ms) {
    assert(index == ledger->schedule_len || ledger->schedule[index].end_ms > t_ms);
    assert(index == 0 || ledger->schedule[index - 1u].end_ms <= t_ms);
    if (index < ledger->schedule_len && ledger->schedule[index].start_ms <= t_ms) {
        return ledger->schedule[index].capacity_milli;
    }
    return ledger->total_capacity_milli;
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
    ledger->version = 1;
    ledger->points.kind = &point_kind;
    pool_init(&ledger->points.leaves, &ledger->chunks, sizeof(point_leaf), LEDGER_NODE_SHIFT);
    pool_init(&ledger->points.inners, &ledger->chunks, sizeof(point_inner), LEDGER_NODE_SHIFT);
    ledger->bookings.kind = &booking_kind;
    pool_init(&ledger->bookings.leaves, &ledger->chunks, sizeof(booking_leaf),
              LEDGER_NODE_SHIFT);
    pool_init(&ledger->bookings.inners, &ledger->chunks, sizeof(booking_inner),
              LEDGER_NODE_SHIFT);
    pool_init(&ledger->records, &ledger->chunks, sizeof(booking_record), LEDGER_RECORD_SHIFT);
    return ledger;
}

void fr__ledger_free(fr__ledger *ledger) {
    if (ledger == NULL) {
        return;
    }
    tree_free(&ledger->points);
    tree_free(&ledger->bookings);
    pool_free(&ledger->records);
    keys_free(&ledger->keys);
    source_free(&ledger->chunks);
    free(ledger->schedule);
    free(ledger);
}

int fr__ledger_set_capacity(fr__ledger *ledger, int64_t total_milli,
                            const fr_schedule_entry *schedule, size_t schedule_len) {
    assert(ledger != NULL);
    schedule_assert_valid(total_milli, schedule, schedule_len);
    ledger->version++; /* even a failed call may reshape the tree */
    fr_schedule_entry *copy = NULL;
    if (schedule_len > 0) {
        if (schedule_len > SIZE_MAX / sizeof(*copy) / 2u) {
            return FR_ENOMEM;
        }
        copy = malloc(schedule_len * sizeof(*copy));
        if (copy == NULL) {
            return FR_ENOMEM;
        }
        memcpy(copy, schedule, schedule_len * sizeof(*copy));
    }
    /* The new edges go in first (relative to the new total), the old ones
     * come out after: adding may fail and is then undone, removing cannot. */
    if (schedule_add(ledger, copy, schedule_len, total_milli) != FR_OK) {
        free(copy);
        return FR_ENOMEM;
    }
    schedule_remove(ledger, ledger->schedule, ledger->total_capacity_milli,
                    2u * ledger->schedule_len);
    free(ledger->schedule);
    ledger->total_capacity_milli = total_milli;
    ledger->schedule = copy;
    ledger->schedule_len = schedule_len;
    return FR_OK;
}

int64_t fr__ledger_capacity_at(const fr__ledger *ledger, int64_t t_ms) {
    assert(ledger != NULL);
    size_t i = schedule_index(ledger, t_ms);
    return schedule_capacity(ledger, i, t_ms);
}

int64_t fr__ledger_free_at(const fr__ledger *ledger, int64_t t_ms) {
    assert(ledger != NULL);
    return ledger->total_capacity_milli + point_prefix(&ledger->points, t_ms);
}

int64_t fr__ledger_booked_at(const fr__ledger *ledger, int64_t t_ms) {
    int64_t booked = fr__ledger_capacity_at(ledger, t_ms) - fr__ledger_free_at(ledger, t_ms);
    assert(booked >= 0);
    return booked;
}

int64_t fr__ledger_min_free(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms) {
    assert(ledger != NULL);
    assert(start_ms < end_ms);
    int64_t free_sum = point_prefix(&ledger->points, start_ms);
    int64_t inside = INT64_MAX;
    if (ledger->points.root != LEDGER_NIL) {
        inside = point_range_min(&ledger->points, ledger->points.root, ledger->points.height, 0,
                                 start_ms, end_ms, INT64_MAX);
    }
    return ledger->total_capacity_milli + min_i64(free_sum, inside);
}

int64_t fr__ledger_first_shortfall(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                                   int64_t need_milli) {
    assert(ledger != NULL);
    assert(start_ms < end_ms);
    int64_t free_start;
    int64_t t_ms =
        hint_matches(ledger, start_ms, end_ms)
            ? first_crossing_along(ledger, &ledger->hint.points[0], start_ms, end_ms, need_milli,
                                   &free_start)
            : first_crossing(ledger, start_ms, end_ms, need_milli, true, &free_start);
    if (free_start < need_milli) {
        return start_ms;
    }
    assert(t_ms == FR_TIME_NULL || (t_ms > start_ms && t_ms < end_ms));
    return t_ms;
}

int64_t fr__ledger_next_fit(const fr__ledger *ledger, int64_t from_ms, int64_t duration_ms,
                            int64_t need_milli, int64_t latest_start_ms) {
    assert(ledger != NULL);
    assert(duration_ms > 0);
    assert(from_ms != FR_TIME_INF && from_ms != FR_TIME_NULL);
    int64_t s_ms = from_ms;
    /* Every round skips at least one breakpoint, so this bounds the loop. */
    size_t rounds_max = ledger->points.entries + 2u;
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
        int64_t next_ms = first_crossing(ledger, short_ms, FR_TIME_INF, need_milli, false, NULL);
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
    if (pool_reserve(&ledger->records, 1) != FR_OK ||
        tree_reserve(&ledger->bookings, 1) != FR_OK ||
        tree_reserve(&ledger->points, 2) != FR_OK) {
        return FR_ENOMEM;
    }
    uint32_t handle = pool_alloc(&ledger->records);
    booking_record *r = record_at(ledger, handle);
    r->start_ms = start_ms;
    r->end_ms = end_ms;
    r->quantity_milli = quantity_milli;
    r->tag = tag;
    key_forget(&ledger->keys, handle);
    const ledger_hint *hint = &ledger->hint;
    bool hinted = hint_matches(ledger, start_ms, end_ms) && hint->handle == handle;
    ledger->version++;
    point_edits edits = booking_edits(start_ms, end_ms, quantity_milli);
    point_add(&ledger->points, &edits, hinted ? hint->points : NULL);
    btree *bookings = &ledger->bookings;
    if (bookings->root == LEDGER_NIL) {
        tree_first_leaf(bookings);
    }
    tree_path booking_path;
    if (!hinted) {
        booking_descend(bookings, start_ms, handle, &booking_path);
    }
    if (!booking_add_fast(bookings, hinted ? &hint->booking : &booking_path, start_ms, end_ms,
                          handle)) {
        uint32_t sibling = booking_add_rec(bookings, bookings->root, bookings->height, start_ms,
                                           end_ms, handle);
        if (sibling != LEDGER_NIL) {
            tree_grow_root(bookings, sibling);
        }
    }
    ledger->booked_sum_milli += (uint64_t)quantity_milli;
    ledger->booking_count++;
    assert(ledger->booking_count == bookings->entries);
    *out = handle;
    return FR_OK;
}

/* Walks the three root-to-leaf paths of a booking over [start, end) with
 * the given handle — the breakpoint tree at start and at end, the booking
 * tree at (start, handle) — level by level together, asking for each next
 * node before reading any: their cache misses then overlap instead of
 * following one another, and what follows finds the nodes in cache.  Fills
 * the paths of hint (not its version or interval).  Both trees must be
 * non-empty.  Reads only. */
static void ledger_walk(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                        uint32_t handle, ledger_hint *hint) {
    const btree *points = &ledger->points;
    const btree *bookings = &ledger->bookings;
    assert(points->root != LEDGER_NIL && bookings->root != LEDGER_NIL);
    bool has_end = end_ms != FR_TIME_INF;
    tree_path *at_start = &hint->points[0];
    tree_path *at_end = &hint->points[1];
    tree_path *booking = &hint->booking;
    uint32_t start_node = points->root;
    uint32_t end_node = points->root;
    uint32_t booking_node = bookings->root;
    uint32_t point_level = points->height;
    uint32_t booking_level = bookings->height;
    /* Each round goes down one level of each tree: bounded by the heights. */
    for (uint32_t round = 0; round < LEDGER_DEPTH_MAX && (point_level > 0 || booking_level > 0);
         round++) {
        if (point_level > 0) {
            const point_inner *a = point_inner_at(points, start_node);
            uint32_t c = point_child_for(a, start_ms);
            at_start->node[point_level] = start_node;
            at_start->slot[point_level] = c;
            start_node = a->child[c];
            if (has_end) {
                const point_inner *b = point_inner_at(points, end_node);
                c = point_child_for(b, end_ms);
                at_end->node[point_level] = end_node;
                at_end->slot[point_level] = c;
                end_node = b->child[c];
            }
            point_level--;
            /* Only the bottom three levels: the few nodes above stay cached
             * (prefetching the leaves alone: 21% slower at 10^5 bookings). */
            if (point_level == 0) {
                prefetch_node(point_leaf_at(points, start_node), sizeof(point_leaf));
            } else if (point_level <= 2) {
                prefetch_node(point_inner_at(points, start_node), sizeof(point_inner));
            }
            if (has_end && point_level == 0) {
                prefetch_node(point_leaf_at(points, end_node), sizeof(point_leaf));
            } else if (has_end && point_level <= 2) {
                prefetch_node(point_inner_at(points, end_node), sizeof(point_inner));
            }
        }
        if (booking_level > 0) {
            const booking_inner *in = booking_inner_at(bookings, booking_node);
            uint32_t c = booking_child_for(in, start_ms, handle);
            booking->node[booking_level] = booking_node;
            booking->slot[booking_level] = c;
            booking_node = in->child[c];
            booking_level--;
            if (booking_level == 0) {
                prefetch_node(booking_leaf_at(bookings, booking_node), sizeof(booking_leaf));
            } else if (booking_level <= 2) {
                prefetch_node(booking_inner_at(bookings, booking_node), sizeof(booking_inner));
            }
        }
    }
    at_start->node[0] = start_node;
    at_end->node[0] = end_node;
    booking->node[0] = booking_node;
}

/* Walks the paths of a check-and-book over [start, end) (ledger_walk) for
 * the handle the booking will get, and keeps them (ledger_hint), so that the
 * check and the book do not search for them again.  Measured with
 * bench_ledger at 10^5 bookings: the walk alone gave +15-40% check+book/s,
 * keeping the paths 20% fewer instructions. */
void fr__ledger_prefetch(fr__ledger *ledger, int64_t start_ms, int64_t end_ms) {
    assert(ledger != NULL);
    assert(start_ms < end_ms);
    ledger_hint *hint = &ledger->hint;
    hint->version = 0;
    if (ledger->points.root == LEDGER_NIL || ledger->bookings.root == LEDGER_NIL) {
        return;
    }
    const ledger_pool *records = &ledger->records;
    uint32_t handle = records->free_head != LEDGER_NIL ? records->free_head : records->used;
    ledger_walk(ledger, start_ms, end_ms, handle, hint);
    if (records->free_head != LEDGER_NIL) {
        prefetch_node(record_at(ledger, records->free_head), sizeof(booking_record));
    }
    hint->version = ledger->version;
    hint->start_ms = start_ms;
    hint->end_ms = end_ms;
    hint->handle = handle;
}

void fr__ledger_unbook(fr__ledger *ledger, fr__booking_ref ref) {
    assert(ledger != NULL);
    assert(ref != LEDGER_NIL && ref < ledger->records.used);
    booking_record *r = record_at(ledger, ref);
    assert(r->end_ms != FR_TIME_NULL); /* live */
    ledger->version++;
    int64_t start_ms = r->start_ms;
    int64_t end_ms = r->end_ms;
    int64_t quantity_milli = r->quantity_milli;
    btree *bookings = &ledger->bookings;
    /* The same three paths as a book's (the booking tree's to this key),
     * fetched together. */
    ledger_hint paths;
    ledger_walk(ledger, start_ms, end_ms, ref, &paths);
    booking_remove_rec(bookings, bookings->root, bookings->height, start_ms, end_ms, ref);
    tree_shrink_root(bookings);
    /* The booking tree changed, not the breakpoint tree: its paths hold. */
    point_edits edits = booking_edits(start_ms, end_ms, quantity_milli);
    point_remove(&ledger->points, &edits, paths.points);
    r->end_ms = FR_TIME_NULL; /* marks the record free */
    pool_release(&ledger->records, ref);
    assert(ledger->booked_sum_milli >= (uint64_t)quantity_milli);
    ledger->booked_sum_milli -= (uint64_t)quantity_milli;
    assert(ledger->booking_count > 0);
    ledger->booking_count--;
    assert(ledger->booking_count == bookings->entries);
}

size_t fr__ledger_count(const fr__ledger *ledger) {
    assert(ledger != NULL);
    return ledger->booking_count;
}

size_t fr__ledger_bytes(const fr__ledger *ledger) {
    assert(ledger != NULL);
    size_t bytes = sizeof(*ledger) + LEDGER_MALLOC_OVERHEAD;
    bytes += tree_bytes(&ledger->points) + tree_bytes(&ledger->bookings);
    bytes += pool_bytes(&ledger->records);
    bytes += keys_bytes(&ledger->keys);
    bytes += source_bytes(&ledger->chunks);
    if (ledger->schedule != NULL) {
        bytes += ledger->schedule_len * sizeof(*ledger->schedule) + LEDGER_MALLOC_OVERHEAD;
    }
    return bytes;
}

/* The walk of fr__ledger_overlapping: writes the handles of up to max
 * bookings into handles, returns how many overlap in all. */
static size_t overlapping_handles(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                                  uint64_t *handles, int64_t *starts, int64_t *ends,
                                  size_t max) {
    assert(ledger != NULL);
    assert(start_ms < end_ms);
    assert(max == 0 || handles != NULL);
    assert((starts == NULL) == (ends == NULL));
    overlap_walk walk = {ledger, start_ms, end_ms, handles, starts, ends, max, 0};
    if (ledger->bookings.root != LEDGER_NIL) {
        booking_collect(&ledger->bookings, ledger->bookings.root, ledger->bookings.height,
                        &walk);
    }
    return walk.count;
}

size_t fr__ledger_overlapping(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                              uint64_t *tags, size_t max) {
    size_t count = overlapping_handles(ledger, start_ms, end_ms, tags, NULL, NULL, max);
    size_t listed = count < max ? count : max;
    /* The records are scattered: all of them are requested before the first
     * is read (the misses overlap). */
    for (size_t i = 0; i < listed; i++) {
        __builtin_prefetch(record_at(ledger, (uint32_t)tags[i]));
    }
    for (size_t i = 0; i < listed; i++) {
        tags[i] = record_at(ledger, (uint32_t)tags[i])->tag;
    }
    return count;
}

size_t fr__ledger_overlapping_keys(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                                   uint64_t *tags, fr__ledger_key *keys, int64_t *starts,
                                   int64_t *ends, size_t max) {
    assert(max == 0 || keys != NULL);
    /* A keyed booking's key, else its record, all requested first. */
    size_t count = overlapping_handles(ledger, start_ms, end_ms, tags, starts, ends, max);
    size_t listed = count < max ? count : max;
    for (size_t i = 0; i < listed; i++) {
        uint32_t handle = (uint32_t)tags[i];
        if (key_is_set(&ledger->keys, handle)) {
            __builtin_prefetch(key_at(&ledger->keys, handle));
        } else {
            __builtin_prefetch(record_at(ledger, handle));
        }
    }
    for (size_t i = 0; i < listed; i++) {
        uint32_t handle = (uint32_t)tags[i];
        if (key_is_set(&ledger->keys, handle)) {
            keys[i] = *key_at(&ledger->keys, handle);
            tags[i] = 0;
        } else {
            memset(&keys[i], 0, sizeof(keys[i]));
            tags[i] = record_at(ledger, handle)->tag;
        }
    }
    return count;
}

int fr__ledger_set_key(fr__ledger *ledger, fr__booking_ref ref, const fr__ledger_key *key) {
    assert(ledger != NULL && key != NULL);
    assert(ref != LEDGER_NIL && ref < ledger->records.used);
    assert(record_at(ledger, ref)->end_ms != FR_TIME_NULL); /* live */
    booking_keys *keys = &ledger->keys;
    size_t chunk = ref >> LEDGER_KEY_SHIFT;
    uint64_t *set = grow_zeroed(keys->set, &keys->set_words, sizeof(*set), ref / 64u + 1u);
    if (set == NULL) {
        return FR_ENOMEM;
    }
    keys->set = set;
    fr__ledger_key **chunks = grow_zeroed(keys->chunks, &keys->chunk_count, sizeof(*chunks),
                                          chunk + 1u);
    if (chunks == NULL) {
        return FR_ENOMEM;
    }
    keys->chunks = chunks;
    if (keys->chunks[chunk] == NULL) {
        keys->chunks[chunk] = malloc(sizeof(fr__ledger_key) << LEDGER_KEY_SHIFT);
        if (keys->chunks[chunk] == NULL) {
            return FR_ENOMEM;
        }
    }
    *key_at(keys, ref) = *key;
    keys->set[ref / 64u] |= UINT64_C(1) << (ref % 64u);
    return FR_OK;
}

/* Points fr__ledger_each_overrun walks leaf by leaf before it falls back to
 * descents (see scan_run). */
#ifndef OVERRUN_SCAN_POINTS
#define OVERRUN_SCAN_POINTS 128u
#endif

/* A cursor over the breakpoints in time order, leaf by leaf. */
typedef struct point_cursor {
    const btree *tree;
    const point_leaf *leaf;
    uint32_t pos;
} point_cursor;

/* The next point's time and change of free, or false after the last.
 * Leaves are a linked list scattered in memory: entering one asks for the
 * one after it too, so that walking on does not wait for each in turn. */
static bool cursor_next(point_cursor *c, int64_t *t_ms, int64_t *d_free_milli) {
    while (c->leaf != NULL && c->pos >= c->leaf->head.count) {
        uint32_t next = c->leaf->head.next;
        c->leaf = next == LEDGER_NIL ? NULL : point_leaf_at(c->tree, next);
        c->pos = 0;
        if (c->leaf != NULL && c->leaf->head.next != LEDGER_NIL) {
            prefetch_node(point_leaf_at(c->tree, c->leaf->head.next), sizeof(point_leaf));
        }
    }
    if (c->leaf == NULL) {
        return false;
    }
    *t_ms = c->leaf->t_ms[c->pos];
    *d_free_milli = c->leaf->d_free_milli[c->pos];
    c->pos++;
    return true;
}

/* What a walk over the points found: a run, no run before the last point,
 * or nothing yet within its budget of points. */
typedef enum { SCAN_RUN, SCAN_NONE, SCAN_GAVE_UP } scan_outcome;

/* From a cursor where free is *free_milli >= 0 (the points before it
 * counted), walks to the next run and through it, at most budget points.
 * On SCAN_RUN the cursor is past the run's end and *free_milli is free
 * there. */
static scan_outcome scan_run(point_cursor *c, int64_t *free_milli, uint32_t budget,
                             int64_t *run_start_ms, int64_t *run_end_ms, int64_t *excess_milli) {
    assert(*free_milli >= 0 && budget > 0);
    int64_t free_now = *free_milli;
    int64_t t_ms = 0;
    int64_t d_free = 0;
    do { /* to the run's first point */
        if (!cursor_next(c, &t_ms, &d_free)) {
            return SCAN_NONE;
        }
        free_now += d_free;
    } while (free_now >= 0 && --budget > 0);
    if (free_now >= 0) {
        return SCAN_GAVE_UP;
    }
    int64_t start_ms = t_ms;
    int64_t min_free = free_now;
    while (free_now < 0) { /* to the point where it ends */
        if (--budget == 0) {
            return SCAN_GAVE_UP;
        }
        if (!cursor_next(c, &t_ms, &d_free)) {
            t_ms = FR_TIME_INF; /* short for ever after */
            break;
        }
        free_now += d_free;
        min_free = free_now < 0 ? min_i64(min_free, free_now) : min_free;
    }
    *free_milli = free_now;
    *run_start_ms = start_ms;
    *run_end_ms = t_ms;
    *excess_milli = -min_free;
    return SCAN_RUN;
}

/* A cursor at the first point after t, and free(t) into *free_milli. */
static point_cursor cursor_after(const fr__ledger *ledger, int64_t t_ms, int64_t *free_milli) {
    point_cursor c = {&ledger->points, NULL, 0};
    uint32_t leaf_index;
    *free_milli = ledger->total_capacity_milli +
                  point_seek(&ledger->points, t_ms, &leaf_index, &c.pos);
    c.leaf = leaf_index == LEDGER_NIL ? NULL : point_leaf_at(&ledger->points, leaf_index);
    return c;
}

int fr__ledger_next_overrun(const fr__ledger *ledger, int64_t from_ms, int64_t *run_start_ms,
                            int64_t *run_end_ms, int64_t *excess_milli) {
    assert(ledger != NULL && run_start_ms != NULL && run_end_ms != NULL);
    assert(excess_milli != NULL);
    /* Before the first point free(t) = total >= 0, so every run starts at a
     * point. */
    assert(ledger->total_capacity_milli >= 0);
    const btree *points = &ledger->points;
    int64_t start_ms;
    if (fr__ledger_free_at(ledger, from_ms) < 0) {
        /* The run contains from: it starts right after the last point at or
         * before from where free was >= 0 (or at the very first point). */
        int64_t last_ok_ms = point_last_at_least(points, points->root, points->height, 0,
                                                 from_ms, -ledger->total_capacity_milli);
        int64_t after_ms = last_ok_ms == FR_TIME_NULL ? INT64_MIN : last_ok_ms;
        start_ms = first_crossing(ledger, after_ms, FR_TIME_INF, 0, true, NULL);
        assert(start_ms != FR_TIME_NULL && start_ms <= from_ms);
    } else {
        start_ms = first_crossing(ledger, from_ms, FR_TIME_INF, 0, true, NULL);
        if (start_ms == FR_TIME_NULL) {
            return 0;
        }
    }
    int64_t end_ms = first_crossing(ledger, start_ms, FR_TIME_INF, 0, false, NULL);
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

void fr__ledger_each_overrun(const fr__ledger *ledger, int64_t from_ms, fr__overrun_fn fn,
                             void *ctx) {
    assert(ledger != NULL && fn != NULL);
    int64_t start_ms, end_ms, excess;
    int64_t free_milli;
    point_cursor c = cursor_after(ledger, from_ms, &free_milli);
    /* Walking: c is past from_ms (at first) or the last run's end, and free
     * there is >= 0.  Else (from_ms inside a run, or a gap or run longer
     * than the walk's budget) the runs are searched by descents. */
    bool walking = free_milli >= 0;
    for (;;) {
        if (walking) {
            scan_outcome o = scan_run(&c, &free_milli, OVERRUN_SCAN_POINTS, &start_ms, &end_ms,
                                      &excess);
            if (o == SCAN_NONE) {
                return;
            }
            walking = o == SCAN_RUN;
        }
        if (!walking) {
            if (!fr__ledger_next_overrun(ledger, from_ms, &start_ms, &end_ms, &excess)) {
                return;
            }
            if (end_ms != FR_TIME_INF) {
                c = cursor_after(ledger, end_ms, &free_milli);
                walking = true;
            }
        }
        if (!fn(ctx, start_ms, end_ms, excess) || end_ms == FR_TIME_INF) {
            return;
        }
        from_ms = end_ms;
    }
}

/* Time integrals (milli x ms) overflow int64; 128 bits hold them. */
__extension__ typedef __int128 ledger_wide;

void fr__ledger_stats(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                      int64_t *capacity_avg_milli, int64_t *booked_avg_milli,
                      int64_t *booked_peak_milli) {
    assert(ledger != NULL);
    assert(start_ms < end_ms && end_ms != FR_TIME_INF);
    assert(capacity_avg_milli != NULL && booked_avg_milli != NULL && booked_peak_milli != NULL);
    uint32_t leaf_index;
    uint32_t pos;
    int64_t free_now = ledger->total_capacity_milli +
                       point_seek(&ledger->points, start_ms, &leaf_index, &pos);
    size_t entry = schedule_index(ledger, start_ms);
    int64_t capacity_now = schedule_capacity(ledger, entry, start_ms);
    ledger_wide capacity_integral = 0;
    ledger_wide booked_integral = 0;
    int64_t peak = capacity_now - free_now;
    int64_t at_ms = start_ms;
    /* Walk the points in (start, end) along the leaf chain; the schedule
     * cursor follows (every capacity change is a point too). */
    while (leaf_index != LEDGER_NIL) {
        const point_leaf *leaf = point_leaf_at(&ledger->points, leaf_index);
        for (; pos < leaf->head.count && leaf->t_ms[pos] < end_ms; pos++) {
            int64_t t_ms = leaf->t_ms[pos];
            capacity_integral += (ledger_wide)capacity_now * (t_ms - at_ms);
            booked_integral += (ledger_wide)(capacity_now - free_now) * (t_ms - at_ms);
            at_ms = t_ms;
            free_now += leaf->d_free_milli[pos];
            while (entry < ledger->schedule_len && ledger->schedule[entry].end_ms <= t_ms) {
                entry++;
            }
            capacity_now = schedule_capacity(ledger, entry, t_ms);
            peak = max_i64(peak, capacity_now - free_now);
        }
        leaf_index = pos < leaf->head.count ? LEDGER_NIL : leaf->head.next;
        pos = 0;
    }
    capacity_integral += (ledger_wide)capacity_now * (end_ms - at_ms);
    booked_integral += (ledger_wide)(capacity_now - free_now) * (end_ms - at_ms);
    ledger_wide span = (ledger_wide)end_ms - start_ms;
    *capacity_avg_milli = (int64_t)(capacity_integral / span);
    *booked_avg_milli = (int64_t)(booked_integral / span);
    *booked_peak_milli = peak;
}
