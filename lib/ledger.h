/*
 * ledger.h — the time-aware capacity ledger of one pool (private).
 *
 * A ledger holds the pool's capacity as a step function of time (a base
 * capacity plus non-overlapping schedule overrides) and a set of bookings,
 * each a half-open interval [start, end) (end may be FR_TIME_INF) of a
 * quantity.  free(t) = capacity(t) - booked(t), where booked(t) is the sum of
 * the quantities of the bookings containing t.  All values are int64
 * milli-units and milliseconds.
 *
 * Every operation is O(log n) in the number of bookings (plus the output size
 * for the enumerating ones, plus the number of schedule entries for capacity
 * changes).  The ledger never checks the capacity invariant itself: callers
 * ask (min_free / first_shortfall) and then book, so that overcommit is
 * possible and the rule lives in one place (the engine).
 *
 * Not thread-safe; the engine's mutex protects it.
 */
#ifndef FR_LEDGER_H
#define FR_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "fleetres.h"

typedef struct fr__ledger fr__ledger;

/* Handle of a booking inside one ledger; 0 is never a valid handle. */
typedef uint32_t fr__booking_ref;

/* Sixteen bytes a caller may attach to a booking besides its tag — the
 * engine puts an allocation's id there in binary — so that listing the
 * bookings over an interval by id reads nothing outside the ledger.  All
 * zero means none. */
typedef struct fr__ledger_key {
    unsigned char bytes[16];
} fr__ledger_key;

/* A new empty ledger with capacity 0 everywhere, or NULL when out of memory. */
fr__ledger *fr__ledger_new(void);
/* Frees everything; NULL is a no-op. */
void fr__ledger_free(fr__ledger *ledger);

/* Sets the capacity function: total everywhere except inside schedule
 * entries, which must be sorted by start and non-overlapping (the caller
 * validates).  Returns FR_OK or FR_ENOMEM (then the old capacity stays). */
int fr__ledger_set_capacity(fr__ledger *ledger, int64_t total_milli,
                            const fr_schedule_entry *schedule, size_t schedule_len);

/* capacity(t), booked(t) and free(t) at one instant. */
int64_t fr__ledger_capacity_at(const fr__ledger *ledger, int64_t t_ms);
int64_t fr__ledger_booked_at(const fr__ledger *ledger, int64_t t_ms);
int64_t fr__ledger_free_at(const fr__ledger *ledger, int64_t t_ms);

/* min over t in [start, end) of free(t); end may be FR_TIME_INF; start < end. */
int64_t fr__ledger_min_free(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms);

/* The first t in [start, end) with free(t) < need_milli, or FR_TIME_NULL when
 * free(t) >= need everywhere in it. */
int64_t fr__ledger_first_shortfall(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                                   int64_t need_milli);

/* The earliest s with from <= s <= latest_start such that free(t) >= need for
 * every t in [s, s + duration) — duration may be FR_TIME_INF (open-ended) —
 * or FR_TIME_NULL when there is none.  Cost: O((1 + k) log n), k the number
 * of separate shortfall runs skipped. */
int64_t fr__ledger_next_fit(const fr__ledger *ledger, int64_t from_ms, int64_t duration_ms,
                            int64_t need_milli, int64_t latest_start_ms);

/* Adds a booking unconditionally and returns its handle in *out.  tag is the
 * caller's id for it (returned by the enumerations).  FR_ENOMEM, or FR_ELIMIT
 * when the sum of all quantities would exceed 2^62 (overflow guard). */
int fr__ledger_book(fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                    int64_t quantity_milli, uint64_t tag, fr__booking_ref *out);
/* A hint before a check-and-book over [start, end) (end may be FR_TIME_INF):
 * warms the caches for it and remembers the tree paths it found, which the
 * next first_shortfall and book over the same interval then use instead of
 * searching again (any change to the ledger forgets them).  Changes no
 * result of any call.  O(log n). */
void fr__ledger_prefetch(fr__ledger *ledger, int64_t start_ms, int64_t end_ms);
/* Removes a booking.  ref must be live. */
void fr__ledger_unbook(fr__ledger *ledger, fr__booking_ref ref);
/* Number of live bookings. */
size_t fr__ledger_count(const fr__ledger *ledger);
/* Heap bytes held by the ledger (for the benchmark's bytes per booking). */
size_t fr__ledger_bytes(const fr__ledger *ledger);

/* Writes the tags of up to max bookings overlapping [start, end) (ordered by
 * start, then handle) into tags; returns how many overlap in all, which may
 * exceed max.  O(log n + k * height) worst case: subtrees are skipped by their
 * largest end. */
size_t fr__ledger_overlapping(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                              uint64_t *tags, size_t max);

/* As fr__ledger_overlapping (tags may not be NULL when max > 0), and the
 * bookings' keys into keys (all zero for a booking without one), and unless
 * starts and ends are NULL their intervals into those.  The tag of a
 * booking with a key is not read: 0 stands for it. */
size_t fr__ledger_overlapping_keys(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                                   uint64_t *tags, fr__ledger_key *keys, int64_t *starts,
                                   int64_t *ends, size_t max);
/* Attaches a key to a live booking (a new booking has none).  FR_OK, or
 * FR_ENOMEM (the booking then has none). */
int fr__ledger_set_key(fr__ledger *ledger, fr__booking_ref ref, const fr__ledger_key *key);

/* The first maximal run [*run_start, *run_end) with free(t) < 0 that ends
 * after from (it may start before from), and the largest deficit in it
 * (*excess_milli = -min free, > 0).  Returns 1 if found, 0 if none. */
int fr__ledger_next_overrun(const fr__ledger *ledger, int64_t from_ms, int64_t *run_start_ms,
                            int64_t *run_end_ms, int64_t *excess_milli);

/* Calls fn with each run that fr__ledger_next_overrun finds from from and
 * then from each run's end, in time order, until fn returns 0 or no run is
 * left.  Runs close together are found by walking the points between them
 * (no descent each): O((k + 1) log n + points walked), at most a bounded
 * number of points per run. */
typedef int (*fr__overrun_fn)(void *ctx, int64_t run_start_ms, int64_t run_end_ms,
                              int64_t excess_milli);
void fr__ledger_each_overrun(const fr__ledger *ledger, int64_t from_ms, fr__overrun_fn fn,
                             void *ctx);

/* Time-weighted statistics of [start, end) (end finite, start < end):
 * average capacity, average booked and peak booked, all in milli-units
 * (averages truncated toward zero). O(log n + k), k breakpoints inside. */
void fr__ledger_stats(const fr__ledger *ledger, int64_t start_ms, int64_t end_ms,
                      int64_t *capacity_avg_milli, int64_t *booked_avg_milli,
                      int64_t *booked_peak_milli);

#endif /* FR_LEDGER_H */
