/*
 * cover.h — choosing the fewest victims that clear an excess (private).
 *
 * Conflict resolution (resolve.c) and request preemption (preempt.c) both
 * ask the same question: time is cut into m consecutive segments, segment j
 * is short of need[j] milli-units (need <= 0: nothing to clear there), and n
 * candidate bookings each cover a run of segments [lo, hi) with a quantity
 * and a priority.  Which candidates, taken away, leave no segment short —
 * with the fewest candidates, and among those the lowest total priority?
 *
 * That is a multi-cover problem (NP-hard in general).  Small sets are solved
 * exactly by a bounded branch and bound; larger ones greedily by a sweep
 * (at the earliest segment still short, take the covering candidate with the
 * largest quantity, then the latest end, then the lowest priority), followed
 * by a bounded pass that drops victims the others made redundant.
 * Feasibility is exact either way: "no solution" means none exists.
 */
#ifndef FR_COVER_H
#define FR_COVER_H

#include <stddef.h>
#include <stdint.h>

/* Candidates up to this many are solved exactly (within the node budget). */
#define FR__COVER_EXACT_MAX 24
/* Branch-and-bound nodes explored before settling for the best so far. */
#define FR__COVER_NODES_MAX 200000

typedef struct fr__cover_item {
    size_t lo, hi;          /* segments covered: [lo, hi), lo < hi <= m */
    int64_t quantity_milli; /* > 0 */
    int32_t priority;       /* >= 0 */
} fr__cover_item;

/* Chooses victims: chosen[i] = 1 for each one taken (chosen has n slots).
 * Returns FR_OK (then *count holds how many), FR_EUNRESOLVABLE when even
 * every candidate together cannot clear some segment, or FR_ENOMEM.
 * *exact is set to 1 when the answer is proven optimal. */
int fr__cover_solve(const int64_t *need, size_t m, const fr__cover_item *items, size_t n,
                    unsigned char *chosen, size_t *count, int *exact);

#endif /* FR_COVER_H */
