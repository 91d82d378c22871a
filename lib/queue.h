/*
 * queue.h — an order-statistic priority queue of pending requests (private).
 *
 * One queue exists per (fleet_id, resource_type).  Requests are ordered by a
 * key that does not change as time passes, so the structure never needs to
 * be rebuilt: with aging step A (ms), a request of priority p created at c
 * has aged priority p + (now - c) / A, and comparing two of them at any now
 * is comparing  rank = p * A - c  (larger first).  Ties go to the earlier
 * created_at, then the smaller id.  See docs/design.md ("Queue order").
 *
 * Operations are O(log n): insert, remove, first, next (in-order successor),
 * and position (1-based rank).  Deterministic: the tree shape depends only on
 * the sequence of operations (treap priorities come from a fixed-seed PRNG).
 *
 * Not thread-safe; the engine's mutex protects it.
 */
#ifndef FR_QUEUE_H
#define FR_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct fr__queue fr__queue;

/* The ordering key of one pending request. */
typedef struct fr__queue_key {
    int64_t rank;          /* priority * aging_ms - created_at_ms; larger first */
    int64_t created_at_ms; /* earlier first */
    const char *id;        /* smaller (strcmp) first; borrowed, must outlive the entry */
} fr__queue_key;

/* Handle of an entry; 0 is never valid. */
typedef uint32_t fr__queue_ref;

fr__queue *fr__queue_new(void);
void fr__queue_free(fr__queue *queue);

/* Inserts an entry with key and the caller's payload pointer; *out gets its
 * handle.  FR_OK or FR_ENOMEM. */
int fr__queue_insert(fr__queue *queue, const fr__queue_key *key, void *payload,
                     fr__queue_ref *out);
/* Removes a live entry. */
void fr__queue_remove(fr__queue *queue, fr__queue_ref ref);
/* Number of entries. */
size_t fr__queue_count(const fr__queue *queue);
/* The first entry in queue order, or 0 when empty. */
fr__queue_ref fr__queue_first(const fr__queue *queue);
/* The entry after ref in queue order, or 0 at the end. */
fr__queue_ref fr__queue_next(const fr__queue *queue, fr__queue_ref ref);
/* The payload of a live entry. */
void *fr__queue_payload(const fr__queue *queue, fr__queue_ref ref);
/* The 1-based position of a live entry in queue order. */
size_t fr__queue_position(const fr__queue *queue, fr__queue_ref ref);

#endif /* FR_QUEUE_H */
