/*
 * heap.c — the binary min-heap of time-driven events.
 *
 * Workload.  The engine has to act on its own at certain instants: a held
 * allocation expires exactly at hold_expires_at, a pending request expires
 * once its window can no longer fit.  Before any read or change it asks "what
 * is the earliest such instant?" (peek, O(1)), handles every event due by now
 * (pop, O(log n) each), and pushes one entry per new hold or request
 * (O(log n)).  Cancelled or moved events are not removed: the engine bumps a
 * stamp on the payload and drops stale entries when they reach the top, so the
 * structure needs only push, peek and pop-min.
 *
 * Why a binary heap.  Those three operations are exactly what a binary heap
 * does best, in one contiguous array of value entries: no per-entry
 * allocation, no pointers to keep valid, O(log n) push and pop with small
 * constants, and no need for the full order that a search tree would keep.
 * Ties on key_ms are broken by a per-heap insertion counter (seq), as libuv's
 * timer heap does, so entries due at the same instant come out in the order
 * they were pushed and every run is deterministic.
 *
 * Memory.  The array doubles when full and never shrinks; fr__heap_free
 * returns it.  Entries are 0-based: the children of i are 2i+1 and 2i+2.
 */
#include "heap.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fleetres.h"

/* Initial array capacity (entries). */
#define HEAP_CAPACITY_INITIAL 16
/* A sift walks one root-to-leaf path: at most 64 levels for any size_t count. */
#define HEAP_DEPTH_MAX 64

typedef struct heap_entry {
    int64_t key_ms;   /* the instant the event is due */
    uint64_t seq;     /* insertion counter: breaks ties first-in first-out */
    void *payload;    /* the caller's, never dereferenced */
    uint64_t stamp;   /* the caller's, stored as given */
} heap_entry;

struct fr__heap {
    heap_entry *entries;
    size_t count;
    size_t capacity;
    uint64_t seq_next;  /* the seq of the next push; never wraps in practice */
};

/* True when entry a must come out strictly before entry b. */
static bool heap_before(const heap_entry *a, const heap_entry *b) {
    if (a->key_ms != b->key_ms) {
        return a->key_ms < b->key_ms;
    }
    assert(a->seq != b->seq);
    return a->seq < b->seq;
}

static void heap_swap(heap_entry *entries, size_t i, size_t j) {
    const heap_entry temp = entries[i];
    entries[i] = entries[j];
    entries[j] = temp;
}

/* Moves entry i up until its parent comes before it. */
static void heap_sift_up(fr__heap *heap, size_t i) {
    assert(i < heap->count);
    for (int depth = 0; i > 0; depth++) {
        assert(depth < HEAP_DEPTH_MAX);
        const size_t parent = (i - 1) / 2;
        if (!heap_before(&heap->entries[i], &heap->entries[parent])) {
            break;
        }
        heap_swap(heap->entries, i, parent);
        i = parent;
    }
}

/* Moves entry i down until it comes before both its children. */
static void heap_sift_down(fr__heap *heap, size_t i) {
    assert(i < heap->count);
    /* count <= SIZE_MAX / sizeof(heap_entry), so 2 * i + 2 cannot wrap. */
    for (int depth = 0;; depth++) {
        assert(depth < HEAP_DEPTH_MAX);
        const size_t left = 2 * i + 1;
        if (left >= heap->count) {
            break;
        }
        const size_t right = left + 1;
        size_t first = left;
        if (right < heap->count && heap_before(&heap->entries[right], &heap->entries[left])) {
            first = right;
        }
        if (!heap_before(&heap->entries[first], &heap->entries[i])) {
            break;
        }
        heap_swap(heap->entries, i, first);
        i = first;
    }
}

/* Makes room for one more entry; FR_OK or FR_ENOMEM (then nothing changed). */
static int heap_reserve_one(fr__heap *heap) {
    if (heap->count < heap->capacity) {
        return FR_OK;
    }
    assert(heap->count == heap->capacity);
    if (heap->capacity > SIZE_MAX / 2 / sizeof(heap_entry)) {
        return FR_ENOMEM;
    }
    const size_t capacity_new = heap->capacity * 2;
    heap_entry *entries = realloc(heap->entries, capacity_new * sizeof(heap_entry));
    if (entries == NULL) {
        return FR_ENOMEM;
    }
    heap->entries = entries;
    heap->capacity = capacity_new;
    return FR_OK;
}

fr__heap *fr__heap_new(void) {
    fr__heap *heap = calloc(1, sizeof(*heap));
    if (heap == NULL) {
        return NULL;
    }
    heap->entries = calloc(HEAP_CAPACITY_INITIAL, sizeof(heap_entry));
    if (heap->entries == NULL) {
        free(heap);
        return NULL;
    }
    heap->capacity = HEAP_CAPACITY_INITIAL;
    heap->count = 0;
    heap->seq_next = 0;
    return heap;
}

void fr__heap_free(fr__heap *heap) {
    if (heap == NULL) {
        return;
    }
    free(heap->entries);
    free(heap);
}

int fr__heap_push(fr__heap *heap, int64_t key_ms, void *payload, uint64_t stamp) {
    assert(heap != NULL);
    assert(heap->seq_next < UINT64_MAX);
    if (heap_reserve_one(heap) != FR_OK) {
        return FR_ENOMEM;
    }
    const size_t i = heap->count;
    heap->entries[i] = (heap_entry){
        .key_ms = key_ms, .seq = heap->seq_next, .payload = payload, .stamp = stamp};
    heap->seq_next += 1;
    heap->count += 1;
    heap_sift_up(heap, i);
    return FR_OK;
}

int fr__heap_peek(const fr__heap *heap, int64_t *key_ms, void **payload, uint64_t *stamp) {
    assert(heap != NULL);
    if (heap->count == 0) {
        return 0;
    }
    const heap_entry *top = &heap->entries[0];
    if (key_ms != NULL) {
        *key_ms = top->key_ms;
    }
    if (payload != NULL) {
        *payload = top->payload;
    }
    if (stamp != NULL) {
        *stamp = top->stamp;
    }
    return 1;
}

void fr__heap_pop(fr__heap *heap) {
    assert(heap != NULL);
    assert(heap->count > 0);
    heap->count -= 1;
    if (heap->count == 0) {
        return;
    }
    heap->entries[0] = heap->entries[heap->count];
    heap_sift_down(heap, 0);
    assert(heap->count < 2 || !heap_before(&heap->entries[1], &heap->entries[0]));
    assert(heap->count < 3 || !heap_before(&heap->entries[2], &heap->entries[0]));
}

size_t fr__heap_count(const fr__heap *heap) {
    assert(heap != NULL);
    return heap->count;
}

/* Drops every entry of one payload (O(n), then re-heapify O(n)).  Used only
 * when a payload is freed, e.g. a record created by a transaction that was
 * rolled back, so no entry may outlive it. */
void fr__heap_remove_payload(fr__heap *heap, const void *payload) {
    assert(heap != NULL);
    size_t kept = 0;
    for (size_t i = 0; i < heap->count; i++) {
        if (heap->entries[i].payload != payload) {
            heap->entries[kept++] = heap->entries[i];
        }
    }
    if (kept == heap->count) {
        return;
    }
    heap->count = kept;
    for (size_t i = kept / 2; i > 0; i--) {
        heap_sift_down(heap, i - 1);
    }
}
