/*
 * planner_profile.h — one pool's free capacity over the planning horizon, as
 * the planner changes it (lib/planner_profile.c).
 *
 * The planner asks two things millions of times: "the earliest start >= t
 * where q fits for d" and "reserve (or release) q over [a, b)".  The profile
 * is a step function over [begin_ms, end_ms) kept as sorted segments in
 * chunks of bounded size, each chunk carrying a lazy add and its min/max, so
 * both operations skip whole chunks: O(sqrt n) per operation with small
 * constants and no recursion.
 *
 * Every answer depends only on the step function's values, never on where
 * its segment boundaries happen to lie: two profiles that are equal as
 * functions answer alike (the shortfall guarantee relies on it).
 */
#ifndef FR_PLANNER_PROFILE_H
#define FR_PLANNER_PROFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct fr__profile fr__profile;

/* A profile of step_count steps: free_milli[i] on [start_ms[i], start_ms[i+1])
 * and the last one up to end_ms; start_ms[0] is the begin, strictly
 * increasing, all < end_ms (the caller checked).  NULL when out of memory. */
fr__profile *fr__profile_new(int64_t end_ms, size_t step_count, const int64_t *start_ms,
                             const int64_t *free_milli);
void fr__profile_free(fr__profile *profile);

int64_t fr__profile_begin_ms(const fr__profile *profile);
int64_t fr__profile_end_ms(const fr__profile *profile);

/* Adds delta_milli over [a_ms, b_ms) ∩ [begin, end).  FR_OK or FR_ENOMEM (then
 * the profile is unchanged). */
int fr__profile_add(fr__profile *profile, int64_t a_ms, int64_t b_ms, int64_t delta_milli);

/* The minimum free over [a_ms, b_ms), which must lie inside [begin, end) and be
 * non-empty. */
int64_t fr__profile_min(const fr__profile *profile, int64_t a_ms, int64_t b_ms);

/* The earliest s with from_ms <= s <= latest_start_ms and min over
 * [s, s + duration_ms) >= quantity_milli, into *start_ms; 1 if found, else 0.
 * The caller guarantees latest_start_ms + duration_ms <= end. */
int fr__profile_earliest(const fr__profile *profile, int64_t from_ms, int64_t duration_ms,
                         int64_t quantity_milli, int64_t latest_start_ms, int64_t *start_ms);

/* The first segment boundary strictly after t_ms (end when none) — the next
 * point where the free value may change. */
int64_t fr__profile_next_boundary(const fr__profile *profile, int64_t t_ms);

/* The value at t_ms (begin <= t_ms < end). */
int64_t fr__profile_at(const fr__profile *profile, int64_t t_ms);

/* Segments currently kept (for tests and metrics). */
size_t fr__profile_segment_count(const fr__profile *profile);

#endif /* FR_PLANNER_PROFILE_H */
