/*
 * heap.h — a binary min-heap of time-driven events (private).
 *
 * The engine keeps the instants at which something happens by itself (a hold
 * expires, a pending request's deadline passes) in one of these, keyed by
 * that instant in milliseconds.  Entries come out ordered by key_ms, and
 * entries with the same key_ms in the order they were pushed (an insertion
 * counter breaks ties, as in libuv's timers), so the order is deterministic.
 *
 * There is no remove or decrease-key: when an event is cancelled or moved,
 * the engine pushes a new entry and bumps a stamp on the payload; when an
 * entry reaches the top, the engine compares the entry's stamp with the
 * payload's current stamp and drops the entry if they differ (lazy
 * invalidation).
 *
 * Not thread-safe; the engine's mutex protects it.
 */
#ifndef FR_HEAP_H
#define FR_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct fr__heap fr__heap;

/* A new empty heap, or NULL when out of memory. */
fr__heap *fr__heap_new(void);
/* Frees the heap (never the payloads, which it does not own); NULL is a
 * no-op. */
void fr__heap_free(fr__heap *heap);

/* Adds an entry.  payload is the caller's and is never dereferenced; stamp is
 * stored as given.  Returns FR_OK, or FR_ENOMEM (then nothing changed). */
int fr__heap_push(fr__heap *heap, int64_t key_ms, void *payload, uint64_t stamp);

/* Reads the first entry (smallest key_ms; among equal keys, the earliest
 * pushed) without removing it.  Returns 1 and fills every non-NULL
 * out-parameter when the heap is not empty; returns 0 and leaves them
 * untouched when it is. */
int fr__heap_peek(const fr__heap *heap, int64_t *key_ms, void **payload, uint64_t *stamp);

/* Removes the first entry; the heap must not be empty. */
void fr__heap_pop(fr__heap *heap);

/* Drops every entry whose payload is `payload` (O(n)); for payloads about
 * to be freed. */
void fr__heap_remove_payload(fr__heap *heap, const void *payload);

/* Number of entries. */
size_t fr__heap_count(const fr__heap *heap);

#endif /* FR_HEAP_H */
