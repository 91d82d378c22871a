/*
 * test_ledger.c — unit tests of the capacity ledger (lib/ledger.c), and
 * randomized model-based tests against a brute-force reference.
 *
 * The reference keeps the bookings and the schedule in plain arrays and
 * rebuilds the step functions capacity(t) / booked(t) from scratch before
 * every check, so it shares no code and no idea with the trees.  Every
 * operation goes to two ledgers in lockstep: the real one and a copy of the
 * same source compiled with 4-entry nodes (see "A second ledger"), whose deep
 * trees go through every split, borrow and merge.  A mismatch prints the
 * seed, the operation index and which ledger: rerun that test alone.
 */
/* For the copy of ledger.c below: mmap's MAP_ANONYMOUS, MADV_HUGEPAGE. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"
#include "ledger.h"

#define INF FR_TIME_INF
#define NUL FR_TIME_NULL

/* Time integrals (milli x ms) need more than 64 bits. */
__extension__ typedef __int128 wide;

static fr__ledger *new_ledger(int64_t total, const fr_schedule_entry *schedule, size_t len) {
    fr__ledger *ledger = fr__ledger_new();
    cr_assert_not_null(ledger);
    cr_assert_eq(fr__ledger_set_capacity(ledger, total, schedule, len), FR_OK);
    return ledger;
}

static fr__booking_ref book(fr__ledger *ledger, int64_t start, int64_t end, int64_t qty,
                            uint64_t tag) {
    fr__booking_ref ref = 0;
    cr_assert_eq(fr__ledger_book(ledger, start, end, qty, tag, &ref), FR_OK);
    cr_assert_neq(ref, 0);
    return ref;
}

/* ---------------------------------------------------------------------------
 * Unit tests.
 * ------------------------------------------------------------------------- */

Test(ledger, empty) {
    fr__ledger *ledger = fr__ledger_new();
    cr_assert_not_null(ledger);
    cr_assert_eq(fr__ledger_count(ledger), 0);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 0), 0);
    cr_assert_eq(fr__ledger_booked_at(ledger, 0), 0);
    cr_assert_eq(fr__ledger_free_at(ledger, 0), 0);
    cr_assert_eq(fr__ledger_min_free(ledger, -5, INF), 0);
    cr_assert_eq(fr__ledger_first_shortfall(ledger, 0, 10, 0), NUL);
    cr_assert_eq(fr__ledger_first_shortfall(ledger, 0, 10, 1), 0);
    cr_assert_eq(fr__ledger_next_fit(ledger, 0, 10, 1, INF), NUL);
    cr_assert_eq(fr__ledger_next_fit(ledger, 7, 10, 0, INF), 7);
    cr_assert_eq(fr__ledger_overlapping(ledger, 0, INF, NULL, 0), 0);
    int64_t a = 1, b = 2, c = 3;
    cr_assert_eq(fr__ledger_next_overrun(ledger, 0, &a, &b, &c), 0);
    cr_assert_eq(a, 1); /* untouched when none */
    cr_assert_gt(fr__ledger_bytes(ledger), 0);
    fr__ledger_free(ledger);
    fr__ledger_free(NULL);
}

Test(ledger, capacity_with_schedule) {
    fr_schedule_entry schedule[] = {{100, 200, 4}, {200, 250, 10}, {300, INF, 15}};
    fr__ledger *ledger = new_ledger(10, schedule, 3);
    cr_assert_eq(fr__ledger_capacity_at(ledger, INT64_C(-260000000000000)), 10);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 99), 10);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 100), 4);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 199), 4);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 200), 10);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 299), 10);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 300), 15);
    cr_assert_eq(fr__ledger_capacity_at(ledger, INT64_C(260000000000000)), 15);
    cr_assert_eq(fr__ledger_min_free(ledger, 0, INF), 4);
    cr_assert_eq(fr__ledger_min_free(ledger, 200, INF), 10);
    cr_assert_eq(fr__ledger_min_free(ledger, 199, 200), 4);
    cr_assert_eq(fr__ledger_first_shortfall(ledger, 0, 1000, 5), 100);
    cr_assert_eq(fr__ledger_first_shortfall(ledger, 0, 100, 5), NUL);
    cr_assert_eq(fr__ledger_first_shortfall(ledger, 0, 1000, 11), 0);
    cr_assert_eq(fr__ledger_first_shortfall(ledger, 300, INF, 15), NUL);
    cr_assert_eq(fr__ledger_next_fit(ledger, 0, INF, 11, INF), 300);
    cr_assert_eq(fr__ledger_next_fit(ledger, 50, 60, 5, INF), 200);

    /* Replacing the schedule removes the old overrides entirely. */
    fr_schedule_entry other[] = {{150, 160, 0}};
    cr_assert_eq(fr__ledger_set_capacity(ledger, 7, other, 1), FR_OK);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 100), 7);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 155), 0);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 160), 7);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 300), 7);
    cr_assert_eq(fr__ledger_set_capacity(ledger, 3, NULL, 0), FR_OK);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 155), 3);
    cr_assert_eq(fr__ledger_min_free(ledger, INT64_C(-260000000000000), INF), 3);
    /* An override equal to total changes nothing. */
    fr_schedule_entry same[] = {{10, 20, 3}};
    cr_assert_eq(fr__ledger_set_capacity(ledger, 3, same, 1), FR_OK);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 15), 3);
    fr__ledger_free(ledger);
}

Test(ledger, open_ended_booking) {
    fr__ledger *ledger = new_ledger(10, NULL, 0);
    fr__booking_ref ref = book(ledger, 50, INF, 3, 1);
    cr_assert_eq(fr__ledger_booked_at(ledger, 49), 0);
    cr_assert_eq(fr__ledger_booked_at(ledger, 50), 3);
    cr_assert_eq(fr__ledger_booked_at(ledger, INT64_C(260000000000000)), 3);
    cr_assert_eq(fr__ledger_free_at(ledger, INT64_C(260000000000000)), 7);
    cr_assert_eq(fr__ledger_capacity_at(ledger, 1000), 10);
    cr_assert_eq(fr__ledger_min_free(ledger, 0, 50), 10);
    cr_assert_eq(fr__ledger_min_free(ledger, 0, INF), 7);
    cr_assert_eq(fr__ledger_first_shortfall(ledger, 0, INF, 8), 50);
    cr_assert_eq(fr__ledger_next_fit(ledger, 0, INF, 8, INF), NUL);
    cr_assert_eq(fr__ledger_next_fit(ledger, 0, 50, 8, INF), 0);
    cr_assert_eq(fr__ledger_next_fit(ledger, 1, 50, 8, INF), NUL);
    uint64_t tags[2];
    cr_assert_eq(fr__ledger_overlapping(ledger, INT64_C(100000000000000), INF, tags, 2), 1);
    cr_assert_eq(tags[0], 1);
    cr_assert_eq(fr__ledger_overlapping(ledger, 0, 50, tags, 2), 0);
    fr__ledger_unbook(ledger, ref);
    cr_assert_eq(fr__ledger_min_free(ledger, 0, INF), 10);
    cr_assert_eq(fr__ledger_count(ledger), 0);
    fr__ledger_free(ledger);
}

Test(ledger, touching_intervals_do_not_overlap) {
    fr__ledger *ledger = new_ledger(5, NULL, 0);
    book(ledger, 10, 20, 5, 100);
    cr_assert_eq(fr__ledger_first_shortfall(ledger, 20, 30, 5), NUL);
    cr_assert_eq(fr__ledger_first_shortfall(ledger, 0, 10, 5), NUL);
    cr_assert_eq(fr__ledger_first_shortfall(ledger, 0, 11, 5), 10);
    book(ledger, 20, 30, 5, 200);
    book(ledger, 0, 10, 5, 300);
    cr_assert_eq(fr__ledger_min_free(ledger, 0, 30), 0);
    cr_assert_eq(fr__ledger_booked_at(ledger, 20), 5);
    cr_assert_eq(fr__ledger_booked_at(ledger, 10), 5);
    cr_assert_eq(fr__ledger_booked_at(ledger, 30), 0);
    uint64_t tags[4];
    cr_assert_eq(fr__ledger_overlapping(ledger, 19, 20, tags, 4), 1);
    cr_assert_eq(tags[0], 100);
    cr_assert_eq(fr__ledger_overlapping(ledger, 20, 21, tags, 4), 1);
    cr_assert_eq(tags[0], 200);
    cr_assert_eq(fr__ledger_overlapping(ledger, 30, 40, tags, 4), 0);
    cr_assert_eq(fr__ledger_overlapping(ledger, 9, 21, tags, 4), 3);
    cr_assert_eq(tags[0], 300);
    cr_assert_eq(tags[1], 100);
    cr_assert_eq(tags[2], 200);
    int64_t s, e, x;
    cr_assert_eq(fr__ledger_next_overrun(ledger, INT64_C(-1000), &s, &e, &x), 0);
    cr_assert_eq(fr__ledger_next_fit(ledger, 0, 5, 1, INF), 30);
    fr__ledger_free(ledger);
}

Test(ledger, unbook_restores_state) {
    fr_schedule_entry schedule[] = {{0, 100, 20}};
    fr__ledger *ledger = new_ledger(10, schedule, 1);
    size_t bytes_empty = fr__ledger_bytes(ledger);
    enum { N = 3000 };
    static fr__booking_ref refs[N];
    srand(7);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            int64_t start = rand() % 500;
            int64_t end = rand() % 10 == 0 ? INF : start + 1 + rand() % 50;
            refs[i] = book(ledger, start, end, 1 + rand() % 4, (uint64_t)i);
        }
        cr_assert_eq(fr__ledger_count(ledger), N);
        cr_assert_lt(fr__ledger_min_free(ledger, 0, INF), 0);
        /* Unbook in a shuffled order. */
        for (int i = N - 1; i > 0; i--) {
            int j = rand() % (i + 1);
            fr__booking_ref tmp = refs[i];
            refs[i] = refs[j];
            refs[j] = tmp;
        }
        for (int i = 0; i < N; i++) {
            fr__ledger_unbook(ledger, refs[i]);
        }
        cr_assert_eq(fr__ledger_count(ledger), 0);
        cr_assert_eq(fr__ledger_booked_at(ledger, 50), 0);
        cr_assert_eq(fr__ledger_free_at(ledger, 50), 20);
        cr_assert_eq(fr__ledger_free_at(ledger, 100), 10);
        cr_assert_eq(fr__ledger_min_free(ledger, -10, INF), 10);
        cr_assert_eq(fr__ledger_overlapping(ledger, -10, INF, NULL, 0), 0);
        int64_t s, e, x;
        cr_assert_eq(fr__ledger_next_overrun(ledger, INT64_C(-1000), &s, &e, &x), 0);
    }
    /* The chunks stay for reuse: the second round allocated nothing new. */
    cr_assert_gt(fr__ledger_bytes(ledger), bytes_empty);
    fr__ledger_free(ledger);
}

Test(ledger, handles_are_reused_and_distinct) {
    fr__ledger *ledger = new_ledger(10, NULL, 0);
    fr__booking_ref a = book(ledger, 0, 10, 1, 1);
    fr__booking_ref b = book(ledger, 0, 10, 1, 2);
    cr_assert_neq(a, b);
    fr__ledger_unbook(ledger, a);
    fr__booking_ref c = book(ledger, 5, 15, 2, 3);
    cr_assert_neq(c, b);
    cr_assert_eq(fr__ledger_booked_at(ledger, 7), 3);
    uint64_t tags[4];
    cr_assert_eq(fr__ledger_overlapping(ledger, 0, 20, tags, 4), 2);
    cr_assert_eq(tags[0], 2);
    cr_assert_eq(tags[1], 3);
    fr__ledger_free(ledger);
}

Test(ledger, overlapping_order_and_truncation) {
    fr__ledger *ledger = new_ledger(100, NULL, 0);
    /* Same starts: ordered by handle, i.e. by booking order here. */
    fr__booking_ref r[6];
    r[0] = book(ledger, 30, 40, 1, 1000);
    r[1] = book(ledger, 10, 20, 1, 1001);
    r[2] = book(ledger, 10, 50, 1, 1002);
    r[3] = book(ledger, 10, INF, 1, 1003);
    r[4] = book(ledger, 5, 6, 1, 1004);
    r[5] = book(ledger, 60, 70, 1, 1005);
    cr_assert(r[1] < r[2] && r[2] < r[3]);
    uint64_t tags[8] = {0};
    cr_assert_eq(fr__ledger_overlapping(ledger, 15, 35, tags, 8), 4);
    cr_assert_eq(tags[0], 1001);
    cr_assert_eq(tags[1], 1002);
    cr_assert_eq(tags[2], 1003);
    cr_assert_eq(tags[3], 1000);
    memset(tags, 0, sizeof(tags));
    cr_assert_eq(fr__ledger_overlapping(ledger, 15, 35, tags, 2), 4);
    cr_assert_eq(tags[0], 1001);
    cr_assert_eq(tags[1], 1002);
    cr_assert_eq(tags[2], 0); /* nothing written past max */
    cr_assert_eq(fr__ledger_overlapping(ledger, 15, 35, NULL, 0), 4);
    cr_assert_eq(fr__ledger_overlapping(ledger, 0, INF, tags, 8), 6);
    cr_assert_eq(tags[0], 1004);
    cr_assert_eq(tags[5], 1005);
    cr_assert_eq(fr__ledger_overlapping(ledger, 50, 60, tags, 8), 1);
    cr_assert_eq(tags[0], 1003);
    cr_assert_eq(fr__ledger_overlapping(ledger, 6, 10, tags, 8), 0);
    fr__ledger_free(ledger);
}

Test(ledger, next_fit_across_shortfall_runs) {
    fr__ledger *ledger = new_ledger(10, NULL, 0);
    book(ledger, 10, 20, 8, 1);
    book(ledger, 25, 30, 8, 2);
    book(ledger, 35, 50, 8, 3);
    cr_assert_eq(fr__ledger_next_fit(ledger, 0, 5, 5, INF), 0);
    cr_assert_eq(fr__ledger_next_fit(ledger, 0, 11, 5, INF), 50);
    cr_assert_eq(fr__ledger_next_fit(ledger, 8, 5, 5, INF), 20);
    cr_assert_eq(fr__ledger_next_fit(ledger, 8, 6, 5, INF), 50);
    cr_assert_eq(fr__ledger_next_fit(ledger, 21, 5, 5, INF), 30);
    cr_assert_eq(fr__ledger_next_fit(ledger, 8, 6, 5, 49), NUL);
    cr_assert_eq(fr__ledger_next_fit(ledger, 8, 6, 5, 50), 50);
    cr_assert_eq(fr__ledger_next_fit(ledger, 8, INF, 5, INF), 50);
    cr_assert_eq(fr__ledger_next_fit(ledger, 8, 6, 2, INF), 8);
    cr_assert_eq(fr__ledger_next_fit(ledger, 8, 6, 11, INF), NUL);
    cr_assert_eq(fr__ledger_next_fit(ledger, 60, 6, 5, 59), NUL);
    /* from beyond every point; and a duration whose end overflows. */
    cr_assert_eq(fr__ledger_next_fit(ledger, 100, 6, 5, INF), 100);
    cr_assert_eq(fr__ledger_next_fit(ledger, INT64_C(250000000000000), INT64_MAX - 10, 10, INF),
                 INT64_C(250000000000000));
    cr_assert_eq(fr__ledger_next_fit(ledger, 0, INT64_MAX - 1, 5, INF), 50);
    cr_assert_eq(fr__ledger_next_fit(ledger, INT64_C(-250000000000000), INT64_MAX - 1, 5, INF),
                 50);
    fr__ledger_free(ledger);
}

Test(ledger, next_overrun_runs) {
    fr_schedule_entry schedule[] = {{60, 70, 0}};
    fr__ledger *ledger = new_ledger(10, schedule, 1);
    book(ledger, 10, 20, 12, 1);
    book(ledger, 30, 40, 11, 2);
    book(ledger, 35, 45, 11, 3);
    book(ledger, 50, 80, 1, 4);
    book(ledger, 100, INF, 15, 5);
    int64_t s = 0, e = 0, x = 0;
    cr_assert_eq(fr__ledger_next_overrun(ledger, 0, &s, &e, &x), 1);
    cr_assert_eq(s, 10);
    cr_assert_eq(e, 20);
    cr_assert_eq(x, 2);
    cr_assert_eq(fr__ledger_next_overrun(ledger, 15, &s, &e, &x), 1);
    cr_assert_eq(s, 10);
    cr_assert_eq(e, 20);
    cr_assert_eq(fr__ledger_next_overrun(ledger, 19, &s, &e, &x), 1);
    cr_assert_eq(s, 10);
    cr_assert_eq(fr__ledger_next_overrun(ledger, 20, &s, &e, &x), 1);
    cr_assert_eq(s, 30);
    cr_assert_eq(e, 45);
    cr_assert_eq(x, 12);
    cr_assert_eq(fr__ledger_next_overrun(ledger, 44, &s, &e, &x), 1);
    cr_assert_eq(s, 30);
    cr_assert_eq(fr__ledger_next_overrun(ledger, 45, &s, &e, &x), 1);
    cr_assert_eq(s, 60);
    cr_assert_eq(e, 70);
    cr_assert_eq(x, 1);
    cr_assert_eq(fr__ledger_next_overrun(ledger, 70, &s, &e, &x), 1);
    cr_assert_eq(s, 100);
    cr_assert_eq(e, INF);
    cr_assert_eq(x, 5);
    cr_assert_eq(fr__ledger_next_overrun(ledger, INT64_C(260000000000000), &s, &e, &x), 1);
    cr_assert_eq(s, 100);
    cr_assert_eq(e, INF);
    /* Raising the capacity clears them all. */
    cr_assert_eq(fr__ledger_set_capacity(ledger, 30, NULL, 0), FR_OK);
    cr_assert_eq(fr__ledger_next_overrun(ledger, 0, &s, &e, &x), 0);
    fr__ledger_free(ledger);
}

Test(ledger, stats_by_hand) {
    fr_schedule_entry schedule[] = {{0, 50, 20}};
    fr__ledger *ledger = new_ledger(10, schedule, 1);
    book(ledger, 10, 30, 4, 1);
    book(ledger, 20, 60, 6, 2);
    int64_t cap = 0, avg = 0, peak = 0;
    fr__ledger_stats(ledger, 0, 100, &cap, &avg, &peak);
    cr_assert_eq(cap, 15);  /* (20*50 + 10*50) / 100 */
    cr_assert_eq(avg, 3);   /* (4*10 + 10*10 + 6*30) / 100 = 3.2 */
    cr_assert_eq(peak, 10);
    fr__ledger_stats(ledger, 25, 26, &cap, &avg, &peak);
    cr_assert_eq(cap, 20);
    cr_assert_eq(avg, 10);
    cr_assert_eq(peak, 10);
    fr__ledger_stats(ledger, -100, 0, &cap, &avg, &peak);
    cr_assert_eq(cap, 10);
    cr_assert_eq(avg, 0);
    cr_assert_eq(peak, 0);
    fr__ledger_stats(ledger, 30, 61, &cap, &avg, &peak);
    cr_assert_eq(cap, (20 * 20 + 10 * 11) / 31);
    cr_assert_eq(avg, 6 * 30 / 31);
    cr_assert_eq(peak, 6);
    /* Large values: milli x ms overflows int64 without the wide integral. */
    fr__ledger *big = new_ledger(FR_QTY_MAX_MILLI, NULL, 0);
    book(big, INT64_C(-200000000000000), INT64_C(200000000000000), FR_QTY_MAX_MILLI - 1, 1);
    fr__ledger_stats(big, INT64_C(-250000000000000), INT64_C(250000000000000), &cap, &avg,
                     &peak);
    cr_assert_eq(cap, FR_QTY_MAX_MILLI);
    cr_assert_eq(avg, (int64_t)(((wide)(FR_QTY_MAX_MILLI - 1) * 4) / 5));
    cr_assert_eq(peak, FR_QTY_MAX_MILLI - 1);
    fr__ledger_free(big);
    fr__ledger_free(ledger);
}

Test(ledger, overflow_guard) {
    fr__ledger *ledger = new_ledger(FR_QTY_MAX_MILLI, NULL, 0);
    int64_t limit = INT64_C(1) << 62;
    int64_t n = limit / FR_QTY_MAX_MILLI;
    for (int64_t i = 0; i < n; i++) {
        book(ledger, i % 7, INF, FR_QTY_MAX_MILLI, (uint64_t)i);
    }
    fr__booking_ref ref = 77;
    cr_assert_eq(fr__ledger_book(ledger, 0, 1, FR_QTY_MAX_MILLI, 0, &ref), FR_ELIMIT);
    cr_assert_eq(ref, 77);
    cr_assert_eq(fr__ledger_count(ledger), (size_t)n);
    int64_t rest = limit - n * FR_QTY_MAX_MILLI;
    cr_assert_eq(fr__ledger_book(ledger, 0, 1, rest, 0, &ref), FR_OK);
    cr_assert_eq(fr__ledger_book(ledger, 0, 1, 1, 0, &ref), FR_ELIMIT);
    cr_assert_eq(fr__ledger_booked_at(ledger, 0), (n + 6) / 7 * FR_QTY_MAX_MILLI + rest);
    cr_assert_eq(fr__ledger_booked_at(ledger, 100), n * FR_QTY_MAX_MILLI);
    cr_assert_eq(fr__ledger_free_at(ledger, 100), FR_QTY_MAX_MILLI - n * FR_QTY_MAX_MILLI);
    int64_t s, e, x;
    cr_assert_eq(fr__ledger_next_overrun(ledger, 0, &s, &e, &x), 1);
    cr_assert_eq(s, 0);
    cr_assert_eq(e, INF);
    cr_assert_eq(x, n * FR_QTY_MAX_MILLI - FR_QTY_MAX_MILLI);
    fr__ledger_free(ledger);
}

Test(ledger, bytes_per_booking) {
    fr__ledger *ledger = new_ledger(INT64_C(1000000000), NULL, 0);
    srand(11);
    /* 60,000 bookings are past LEDGER_REGIONS_AFTER_BYTES: whole 2 MB regions
     * count. */
    for (int i = 1; i <= 60000; i++) {
        int64_t start = (int64_t)(rand() % 1000000) * 1000;
        book(ledger, start, start + 1000 + rand() % 100000, 1000, (uint64_t)i);
        if (i == 10 || i == 100 || i == 1000 || i == 5000 || i == 10000 || i == 30000 ||
            i == 60000) {
            size_t per = fr__ledger_bytes(ledger) / (size_t)i;
            /* Below a full chunk the first chunk's doubling may waste up to
             * half of it, and the ledger's fixed part (about 1 KB with the
             * paths it keeps, see fr__ledger_prefetch, plus the inner nodes
             * the first split reserves) is shared by few bookings; from 1000
             * bookings on the bound is 256. */
            cr_assert_leq(per, i < 100 ? 1536 : i < 1000 ? 1024 : 256,
                          "%d bookings: %zu bytes each", i, per);
            cr_log_info("%d bookings: %zu bytes each", i, per);
        }
    }
    fr__ledger_free(ledger);
}

/* ---------------------------------------------------------------------------
 * A second ledger: the same source compiled with 4-entry nodes (and its
 * functions renamed), so that the model tests drive trees 5-12 levels deep
 * through every split, borrow, merge and root change, which 16-entry nodes
 * reach only with many thousands of bookings.
 * ------------------------------------------------------------------------- */

#define POINT_LEAF_MAX 4u
#define POINT_INNER_MAX 4u
#define BOOKING_LEAF_MAX 4u
#define BOOKING_INNER_MAX 4u
/* Chunks from huge-page regions after 4 KB instead of 4 MB, so that the
 * model tests go through that path too. */
#define LEDGER_REGIONS_AFTER_BYTES ((size_t)4096)
/* Run searches give up walking after 3 points, so that both ways to find a
 * run (the walk and the descents) meet the model often. */
#define OVERRUN_SCAN_POINTS 3u
#define fr__ledger_new tiny_ledger_new
#define fr__ledger_free tiny_ledger_free
#define fr__ledger_set_capacity tiny_ledger_set_capacity
#define fr__ledger_capacity_at tiny_ledger_capacity_at
#define fr__ledger_booked_at tiny_ledger_booked_at
#define fr__ledger_free_at tiny_ledger_free_at
#define fr__ledger_min_free tiny_ledger_min_free
#define fr__ledger_first_shortfall tiny_ledger_first_shortfall
#define fr__ledger_next_fit tiny_ledger_next_fit
#define fr__ledger_book tiny_ledger_book
#define fr__ledger_unbook tiny_ledger_unbook
#define fr__ledger_count tiny_ledger_count
#define fr__ledger_bytes tiny_ledger_bytes
#define fr__ledger_overlapping tiny_ledger_overlapping
#define fr__ledger_next_overrun tiny_ledger_next_overrun
#define fr__ledger_stats tiny_ledger_stats
#define fr__ledger_prefetch tiny_ledger_prefetch
#define fr__ledger_overlapping_keys tiny_ledger_overlapping_keys
#define fr__ledger_set_key tiny_ledger_set_key
#define fr__ledger_each_overrun tiny_ledger_each_overrun
#include "ledger.c"
#undef fr__ledger_new
#undef fr__ledger_free
#undef fr__ledger_set_capacity
#undef fr__ledger_capacity_at
#undef fr__ledger_booked_at
#undef fr__ledger_free_at
#undef fr__ledger_min_free
#undef fr__ledger_first_shortfall
#undef fr__ledger_next_fit
#undef fr__ledger_book
#undef fr__ledger_unbook
#undef fr__ledger_count
#undef fr__ledger_bytes
#undef fr__ledger_overlapping
#undef fr__ledger_next_overrun
#undef fr__ledger_stats
#undef fr__ledger_prefetch
#undef fr__ledger_overlapping_keys
#undef fr__ledger_set_key
#undef fr__ledger_each_overrun

/* One ledger implementation, as a table (the real one or the tiny one). */
typedef struct ledger_api {
    const char *name;
    fr__ledger *(*create)(void);
    void (*destroy)(fr__ledger *);
    int (*set_capacity)(fr__ledger *, int64_t, const fr_schedule_entry *, size_t);
    int64_t (*capacity_at)(const fr__ledger *, int64_t);
    int64_t (*booked_at)(const fr__ledger *, int64_t);
    int64_t (*free_at)(const fr__ledger *, int64_t);
    int64_t (*min_free)(const fr__ledger *, int64_t, int64_t);
    int64_t (*first_shortfall)(const fr__ledger *, int64_t, int64_t, int64_t);
    int64_t (*next_fit)(const fr__ledger *, int64_t, int64_t, int64_t, int64_t);
    int (*book)(fr__ledger *, int64_t, int64_t, int64_t, uint64_t, fr__booking_ref *);
    void (*unbook)(fr__ledger *, fr__booking_ref);
    size_t (*count)(const fr__ledger *);
    size_t (*overlapping)(const fr__ledger *, int64_t, int64_t, uint64_t *, size_t);
    int (*next_overrun)(const fr__ledger *, int64_t, int64_t *, int64_t *, int64_t *);
    void (*stats)(const fr__ledger *, int64_t, int64_t, int64_t *, int64_t *, int64_t *);
    void (*prefetch)(fr__ledger *, int64_t, int64_t);
    size_t (*overlapping_keys)(const fr__ledger *, int64_t, int64_t, uint64_t *,
                               fr__ledger_key *, int64_t *, int64_t *, size_t);
    int (*set_key)(fr__ledger *, fr__booking_ref, const fr__ledger_key *);
    void (*each_overrun)(const fr__ledger *, int64_t, fr__overrun_fn, void *);
} ledger_api;

static const ledger_api apis[2] = {
    {"real", fr__ledger_new, fr__ledger_free, fr__ledger_set_capacity, fr__ledger_capacity_at,
     fr__ledger_booked_at, fr__ledger_free_at, fr__ledger_min_free, fr__ledger_first_shortfall,
     fr__ledger_next_fit, fr__ledger_book, fr__ledger_unbook, fr__ledger_count,
     fr__ledger_overlapping, fr__ledger_next_overrun, fr__ledger_stats, fr__ledger_prefetch,
     fr__ledger_overlapping_keys, fr__ledger_set_key, fr__ledger_each_overrun},
    {"tiny", tiny_ledger_new, tiny_ledger_free, tiny_ledger_set_capacity,
     tiny_ledger_capacity_at, tiny_ledger_booked_at, tiny_ledger_free_at, tiny_ledger_min_free,
     tiny_ledger_first_shortfall, tiny_ledger_next_fit, tiny_ledger_book, tiny_ledger_unbook,
     tiny_ledger_count, tiny_ledger_overlapping, tiny_ledger_next_overrun, tiny_ledger_stats,
     tiny_ledger_prefetch, tiny_ledger_overlapping_keys, tiny_ledger_set_key,
     tiny_ledger_each_overrun},
};
enum { LEDGERS = 2 };

/* ---------------------------------------------------------------------------
 * The model-based tests.
 * ------------------------------------------------------------------------- */

#define MODEL_BOOKINGS_MAX 4096
#define MODEL_SCHEDULE_MAX 5
#define MODEL_POINTS_MAX (2 * (MODEL_BOOKINGS_MAX + MODEL_SCHEDULE_MAX) + 1)

typedef struct model_booking {
    int64_t start, end, qty;
    uint64_t tag;
    fr__booking_ref ref[LEDGERS]; /* its handle in each ledger */
} model_booking;

/* How one model run behaves. */
typedef struct model_params {
    int live_max;          /* live bookings at most */
    int64_t span;          /* times fall in about [0, span) */
    int64_t scale;         /* capacities and needs are scaled by this */
    int steps;
    int check_every;       /* full check after every k-th step */
    bool grow_then_shrink; /* book mostly in the first half, unbook in the second */
} model_params;

typedef struct model {
    model_params p;
    model_booking b[MODEL_BOOKINGS_MAX];
    int n;
    int64_t total;
    fr_schedule_entry sched[MODEL_SCHEDULE_MAX];
    size_t sched_len;
    /* The step function, rebuilt before every check: segment i is
     * [seg_start[i], seg_start[i + 1]) (the last one ends at INF). */
    int64_t seg_start[MODEL_POINTS_MAX];
    int64_t seg_cap[MODEL_POINTS_MAX];
    int64_t seg_book[MODEL_POINTS_MAX];
    int segs;
} model;

static uint64_t rng_state;

static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int64_t rnd_range(int64_t lo, int64_t hi) { /* inclusive */
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

/* A time in the model's span, often on a coarse grid so that points
 * collide. */
static int64_t rnd_time(const model *m) {
    int64_t span = m->p.span;
    return rnd() % 2 ? rnd_range(0, 40) * (span / 40) : rnd_range(-span / 50, span + span / 50);
}

static int64_t model_capacity_at(const model *m, int64_t t) {
    for (size_t i = 0; i < m->sched_len; i++) {
        if (m->sched[i].start_ms <= t && t < m->sched[i].end_ms) {
            return m->sched[i].capacity_milli;
        }
    }
    return m->total;
}

static int64_t model_booked_at(const model *m, int64_t t) {
    int64_t sum = 0;
    for (int i = 0; i < m->n; i++) {
        if (m->b[i].start <= t && t < m->b[i].end) {
            sum += m->b[i].qty;
        }
    }
    return sum;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int seg_index(const model *m, int64_t t) {
    int lo = 0, hi = m->segs - 1; /* the last segment starting at or before t */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (m->seg_start[mid] <= t) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

/* Sorts the distinct breakpoints, then fills capacity by direct evaluation
 * and booked by a difference array over the segments. */
static void model_rebuild(model *m) {
    static int64_t pts[MODEL_POINTS_MAX];
    static int64_t diff[MODEL_POINTS_MAX + 1];
    int n = 0;
    pts[n++] = INT64_MIN;
    for (int i = 0; i < m->n; i++) {
        pts[n++] = m->b[i].start;
        if (m->b[i].end != INF) {
            pts[n++] = m->b[i].end;
        }
    }
    for (size_t i = 0; i < m->sched_len; i++) {
        pts[n++] = m->sched[i].start_ms;
        if (m->sched[i].end_ms != INF) {
            pts[n++] = m->sched[i].end_ms;
        }
    }
    qsort(pts, (size_t)n, sizeof(pts[0]), cmp_i64);
    m->segs = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && pts[i] == pts[i - 1]) {
            continue;
        }
        m->seg_start[m->segs] = pts[i];
        m->seg_cap[m->segs] = model_capacity_at(m, pts[i]);
        diff[m->segs] = 0;
        m->segs++;
    }
    for (int i = 0; i < m->n; i++) {
        diff[seg_index(m, m->b[i].start)] += m->b[i].qty;
        if (m->b[i].end != INF) {
            diff[seg_index(m, m->b[i].end)] -= m->b[i].qty;
        }
    }
    int64_t booked = 0;
    for (int i = 0; i < m->segs; i++) {
        booked += diff[i];
        m->seg_book[i] = booked;
    }
}

static int64_t seg_end(const model *m, int i) {
    return i + 1 < m->segs ? m->seg_start[i + 1] : INF;
}

static int64_t seg_free(const model *m, int i) { return m->seg_cap[i] - m->seg_book[i]; }

static int64_t model_min_free(const model *m, int64_t a, int64_t b) {
    int64_t best = INT64_MAX;
    for (int i = seg_index(m, a); i < m->segs && m->seg_start[i] < b; i++) {
        best = seg_free(m, i) < best ? seg_free(m, i) : best;
    }
    return best;
}

static int64_t model_first_shortfall(const model *m, int64_t a, int64_t b, int64_t need) {
    for (int i = seg_index(m, a); i < m->segs && m->seg_start[i] < b; i++) {
        if (seg_free(m, i) < need) {
            return m->seg_start[i] > a ? m->seg_start[i] : a;
        }
    }
    return NUL;
}

static int64_t add_time(int64_t s, int64_t d) {
    if (d == INF || (s > 0 && d >= INF - s)) {
        return INF;
    }
    return s + d;
}

/* Tries every candidate start (from, then each breakpoint) in order, each
 * checked segment by segment. */
static int64_t model_next_fit(const model *m, int64_t from, int64_t dur, int64_t need,
                              int64_t latest) {
    for (int i = seg_index(m, from); i < m->segs; i++) {
        int64_t c = m->seg_start[i] > from ? m->seg_start[i] : from;
        if (c > latest) {
            return NUL;
        }
        int64_t end = add_time(c, dur);
        bool fits = true;
        for (int j = i; j < m->segs && m->seg_start[j] < end && fits; j++) {
            fits = seg_free(m, j) >= need;
        }
        if (fits) {
            return c;
        }
    }
    return NUL;
}

static int model_next_overrun(const model *m, int64_t from, int64_t *s, int64_t *e,
                              int64_t *x) {
    for (int i = 0; i < m->segs; i++) {
        if (seg_free(m, i) >= 0) {
            continue;
        }
        int j = i;
        int64_t worst = seg_free(m, i);
        while (j + 1 < m->segs && seg_free(m, j + 1) < 0) {
            j++;
            worst = seg_free(m, j) < worst ? seg_free(m, j) : worst;
        }
        if (seg_end(m, j) > from) {
            *s = m->seg_start[i];
            *e = seg_end(m, j);
            *x = -worst;
            return 1;
        }
        i = j;
    }
    return 0;
}

static void model_stats(const model *m, int64_t a, int64_t b, int64_t *cap, int64_t *avg,
                        int64_t *peak) {
    wide ci = 0, bi = 0;
    *peak = INT64_MIN;
    for (int i = seg_index(m, a); i < m->segs && m->seg_start[i] < b; i++) {
        int64_t lo = m->seg_start[i] > a ? m->seg_start[i] : a;
        int64_t hi = seg_end(m, i) < b ? seg_end(m, i) : b;
        ci += (wide)m->seg_cap[i] * (hi - lo);
        bi += (wide)m->seg_book[i] * (hi - lo);
        *peak = m->seg_book[i] > *peak ? m->seg_book[i] : *peak;
    }
    *cap = (int64_t)(ci / (b - a));
    *avg = (int64_t)(bi / (b - a));
}

/* Sorting the overlap hits by (start, handle in ledger sort_ledger). */
static int sort_ledger;

static int cmp_booking(const void *a, const void *b) {
    const model_booking *x = a, *y = b;
    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return (x->ref[sort_ledger] > y->ref[sort_ledger]) - (x->ref[sort_ledger] < y->ref[sort_ledger]);
}

static size_t model_overlapping(const model *m, int k, int64_t a, int64_t b, uint64_t *tags,
                                size_t max) {
    static model_booking hit[MODEL_BOOKINGS_MAX];
    size_t count = 0;
    for (int i = 0; i < m->n; i++) {
        if (m->b[i].start < b && m->b[i].end > a) {
            hit[count++] = m->b[i];
        }
    }
    sort_ledger = k;
    qsort(hit, count, sizeof(hit[0]), cmp_booking);
    for (size_t i = 0; i < count && i < max; i++) {
        tags[i] = hit[i].tag;
    }
    return count;
}

/* A random interval [a, b): b may be INF unless finite is asked. */
static void rnd_interval(const model *m, int64_t *a, int64_t *b, bool finite) {
    *a = rnd_time(m);
    if (!finite && rnd() % 6 == 0) {
        *b = INF;
    } else {
        *b = *a + rnd_range(1, m->p.span * 3 / 10);
    }
}

static void model_random_schedule(model *m) {
    int64_t span = m->p.span;
    m->total = rnd_range(0, 40) * m->p.scale;
    m->sched_len = (size_t)rnd_range(0, MODEL_SCHEDULE_MAX);
    int64_t t = rnd_range(-span / 20, span / 5);
    for (size_t i = 0; i < m->sched_len; i++) {
        m->sched[i].start_ms = t;
        bool last = i + 1 == m->sched_len;
        m->sched[i].end_ms = last && rnd() % 3 == 0 ? INF : t + rnd_range(1, span / 4);
        m->sched[i].capacity_milli = rnd_range(0, 40) * m->p.scale;
        if (m->sched[i].end_ms == INF) {
            m->sched_len = i + 1;
            break;
        }
        t = m->sched[i].end_ms + (rnd() % 2 ? 0 : rnd_range(1, span / 10));
    }
}

/* The key the model attaches to a booking with an odd tag. */
static fr__ledger_key key_of(uint64_t tag) {
    fr__ledger_key key;
    for (size_t i = 0; i < sizeof key.bytes; i++) {
        key.bytes[i] = (unsigned char)(tag >> (8 * (i % 8)) ^ i);
    }
    return key;
}

/* Applies one random operation to the model and to every ledger. */
static void model_step(model *m, fr__ledger **ledgers, int step, uint64_t *tag_next) {
    uint64_t op = rnd() % 100;
    int book_percent = 45;
    if (m->p.grow_then_shrink) {
        book_percent = step < m->p.steps / 2 ? 75 : 15;
    }
    if (op < 10) {
        model_random_schedule(m);
        for (int k = 0; k < LEDGERS; k++) {
            cr_assert_eq(apis[k].set_capacity(ledgers[k], m->total, m->sched, m->sched_len),
                         FR_OK);
        }
    } else if ((op < 10u + (uint64_t)book_percent && m->n < m->p.live_max) || m->n == 0) {
        model_booking *b = &m->b[m->n];
        rnd_interval(m, &b->start, &b->end, false);
        b->qty = rnd_range(1, 9);
        b->tag = (*tag_next)++;
        int64_t need = rnd_range(0, 40) * m->p.scale;
        int hint_case = (int)(rnd() % 4);
        for (int k = 0; k < LEDGERS; k++) {
            /* A hint that must change no result: the checks after every step
             * compare the whole state with the model.  The check between the
             * hint and the book (as the engine does it) follows the paths the
             * hint kept and must answer as it does without them. */
            int64_t plain = apis[k].first_shortfall(ledgers[k], b->start, b->end, need);
            apis[k].prefetch(ledgers[k], b->start, b->end);
            cr_assert_eq(apis[k].first_shortfall(ledgers[k], b->start, b->end, need), plain,
                         "step %d %s: first_shortfall after prefetch", step, apis[k].name);
            if (hint_case == 1 && m->n > 0) {
                /* A change in between makes the kept paths stale. */
                fr__booking_ref spare = 0;
                cr_assert_eq(apis[k].book(ledgers[k], b->start, b->end, b->qty, 0, &spare),
                             FR_OK);
                apis[k].unbook(ledgers[k], spare);
            } else if (hint_case == 2) {
                /* A hint for another interval. */
                apis[k].prefetch(ledgers[k], b->start, add_time(b->start, 1));
            }
            cr_assert_eq(apis[k].book(ledgers[k], b->start, b->end, b->qty, b->tag, &b->ref[k]),
                         FR_OK);
            fr__ledger_key key = key_of(b->tag);
            if (b->tag % 2 == 1) { /* even tags keep none: a reused record must not show an old one */
                cr_assert_eq(apis[k].set_key(ledgers[k], b->ref[k], &key), FR_OK);
            }
        }
        m->n++;
    } else {
        int i = (int)(rnd() % (uint64_t)m->n);
        for (int k = 0; k < LEDGERS; k++) {
            apis[k].unbook(ledgers[k], m->b[i].ref[k]);
        }
        m->b[i] = m->b[--m->n];
    }
}

#define SEED_FMT "seed %llu op %d %s: "
#define SEED_ARGS(k) (unsigned long long)seed, step, apis[k].name

/* Point queries at random times and at breakpoints. */
static void check_points(const model *m, fr__ledger **ledgers, uint64_t seed, int step) {
    for (int j = 0; j < 2; j++) {
        int64_t t = j == 0 ? rnd_time(m) : m->seg_start[rnd() % (uint64_t)m->segs];
        t = t == INT64_MIN ? -1000 : t;
        int64_t cap = model_capacity_at(m, t);
        int64_t booked = model_booked_at(m, t);
        for (int k = 0; k < LEDGERS; k++) {
            cr_assert_eq(apis[k].capacity_at(ledgers[k], t), cap, SEED_FMT "capacity_at(%lld)",
                         SEED_ARGS(k), (long long)t);
            cr_assert_eq(apis[k].booked_at(ledgers[k], t), booked, SEED_FMT "booked_at(%lld)",
                         SEED_ARGS(k), (long long)t);
            cr_assert_eq(apis[k].free_at(ledgers[k], t), cap - booked, SEED_FMT "free_at(%lld)",
                         SEED_ARGS(k), (long long)t);
        }
    }
}

/* min_free, first_shortfall and next_fit on random arguments. */
static void check_ranges(const model *m, fr__ledger **ledgers, uint64_t seed, int step) {
    int64_t a, b;
    rnd_interval(m, &a, &b, false);
    int64_t want = model_min_free(m, a, b);
    for (int k = 0; k < LEDGERS; k++) {
        cr_assert_eq(apis[k].min_free(ledgers[k], a, b), want, SEED_FMT "min_free(%lld, %lld)",
                     SEED_ARGS(k), (long long)a, (long long)b);
    }
    int64_t need = rnd_range(-5, 40) * m->p.scale;
    rnd_interval(m, &a, &b, false);
    want = model_first_shortfall(m, a, b, need);
    for (int k = 0; k < LEDGERS; k++) {
        cr_assert_eq(apis[k].first_shortfall(ledgers[k], a, b, need), want,
                     SEED_FMT "first_shortfall(%lld, %lld, %lld)", SEED_ARGS(k), (long long)a,
                     (long long)b, (long long)need);
        /* Along the paths a hint kept (see fr__ledger_prefetch). */
        apis[k].prefetch(ledgers[k], a, b);
        cr_assert_eq(apis[k].first_shortfall(ledgers[k], a, b, need), want,
                     SEED_FMT "first_shortfall(%lld, %lld, %lld) after prefetch", SEED_ARGS(k),
                     (long long)a, (long long)b, (long long)need);
    }
    int64_t from = rnd_time(m);
    int64_t dur = rnd() % 8 == 0 ? INF : rnd_range(1, m->p.span / 5);
    int64_t latest = rnd() % 4 == 0 ? INF : from + rnd_range(0, m->p.span * 6 / 10);
    need = rnd_range(0, 30) * m->p.scale;
    want = model_next_fit(m, from, dur, need, latest);
    for (int k = 0; k < LEDGERS; k++) {
        cr_assert_eq(apis[k].next_fit(ledgers[k], from, dur, need, latest), want,
                     SEED_FMT "next_fit(%lld, %lld, %lld, %lld)", SEED_ARGS(k),
                     (long long)from, (long long)dur, (long long)need, (long long)latest);
    }
}

/* The runs each_overrun reports, up to max of them. */
typedef struct run_list {
    int64_t runs[8][3];
    size_t n;
    size_t max;
} run_list;

static int collect_run(void *ctx, int64_t start, int64_t end, int64_t excess) {
    run_list *l = ctx;
    cr_assert(l->n < l->max, "each_overrun went on after the callback said stop");
    l->runs[l->n][0] = start;
    l->runs[l->n][1] = end;
    l->runs[l->n][2] = excess;
    l->n++;
    return l->n < l->max;
}

/* The model's booking with this tag (tags are unique). */
static const model_booking *booking_of_tag(const model *m, uint64_t tag) {
    for (int i = 0; i < m->n; i++) {
        if (m->b[i].tag == tag) {
            return &m->b[i];
        }
    }
    cr_assert_fail("no booking has tag %llu", (unsigned long long)tag);
    return NULL;
}

/* overlapping, next_overrun and stats on random arguments. */
static void check_walks(const model *m, fr__ledger **ledgers, uint64_t seed, int step) {
    static uint64_t got[MODEL_BOOKINGS_MAX], want[MODEL_BOOKINGS_MAX];
    static fr__ledger_key keys[MODEL_BOOKINGS_MAX];
    static int64_t starts[MODEL_BOOKINGS_MAX], ends[MODEL_BOOKINGS_MAX];
    size_t max = (size_t)rnd_range(0, 12);
    int64_t a, b;
    rnd_interval(m, &a, &b, false);
    for (int k = 0; k < LEDGERS; k++) {
        size_t count = apis[k].overlapping(ledgers[k], a, b, got, max);
        cr_assert_eq(count, model_overlapping(m, k, a, b, want, max),
                     SEED_FMT "overlapping count", SEED_ARGS(k));
        for (size_t i = 0; i < count && i < max; i++) {
            cr_assert_eq(got[i], want[i], SEED_FMT "overlapping[%zu]", SEED_ARGS(k), i);
        }
        /* The same walk with keys (the key set for each odd tag, none
         * else: a record reused by a booking without a key shows none) and
         * intervals, half of the time. */
        int with_times = rnd() % 2 == 0;
        cr_assert_eq(apis[k].overlapping_keys(ledgers[k], a, b, got, keys,
                                              with_times ? starts : NULL,
                                              with_times ? ends : NULL, max),
                     count, SEED_FMT "overlapping_keys count", SEED_ARGS(k));
        for (size_t i = 0; i < count && i < max; i++) {
            fr__ledger_key key = key_of(want[i]);
            if (want[i] % 2 == 0) {
                memset(&key, 0, sizeof key);
            }
            /* A keyed booking's tag is not read: 0 stands for it. */
            uint64_t tag = want[i] % 2 == 1 ? 0 : want[i];
            cr_assert(got[i] == tag && memcmp(&keys[i], &key, sizeof key) == 0,
                      SEED_FMT "overlapping_keys[%zu]", SEED_ARGS(k), i);
            const model_booking *mb = booking_of_tag(m, want[i]);
            cr_assert(!with_times || (starts[i] == mb->start && ends[i] == mb->end),
                      SEED_FMT "overlapping_keys[%zu] interval", SEED_ARGS(k), i);
        }
    }
    int64_t from = rnd_time(m);
    int64_t s2 = 0, e2 = 0, x2 = 0;
    int found = model_next_overrun(m, from, &s2, &e2, &x2);
    for (int k = 0; k < LEDGERS; k++) {
        int64_t s1 = 0, e1 = 0, x1 = 0;
        cr_assert_eq(apis[k].next_overrun(ledgers[k], from, &s1, &e1, &x1), found,
                     SEED_FMT "next_overrun(%lld)", SEED_ARGS(k), (long long)from);
        cr_assert(!found || (s1 == s2 && e1 == e2 && x1 == x2),
                  SEED_FMT "next_overrun(%lld) = [%lld, %lld) %lld, want [%lld, %lld) %lld",
                  SEED_ARGS(k), (long long)from, (long long)s1, (long long)e1, (long long)x1,
                  (long long)s2, (long long)e2, (long long)x2);
    }
    /* Several runs in a row, as repeated next_overrun calls find them. */
    run_list got_runs = {{{0}}, 0, (size_t)rnd_range(1, 8)};
    for (int k = 0; k < LEDGERS; k++) {
        got_runs.n = 0;
        apis[k].each_overrun(ledgers[k], from, collect_run, &got_runs);
        int64_t at = from;
        size_t want_n = 0;
        int64_t s3 = 0, e3 = 0, x3 = 0;
        while (want_n < got_runs.max && model_next_overrun(m, at, &s3, &e3, &x3)) {
            cr_assert(want_n < got_runs.n, SEED_FMT "each_overrun from %lld: %zu runs, want more",
                      SEED_ARGS(k), (long long)from, got_runs.n);
            const int64_t *r = got_runs.runs[want_n];
            cr_assert(r[0] == s3 && r[1] == e3 && r[2] == x3,
                      SEED_FMT "each_overrun run %zu = [%lld, %lld) %lld, want [%lld, %lld) %lld",
                      SEED_ARGS(k), want_n, (long long)r[0], (long long)r[1], (long long)r[2],
                      (long long)s3, (long long)e3, (long long)x3);
            want_n++;
            if (e3 == INF) {
                break;
            }
            at = e3;
        }
        cr_assert_eq(got_runs.n, want_n, SEED_FMT "each_overrun from %lld: %zu runs, want %zu",
                     SEED_ARGS(k), (long long)from, got_runs.n, want_n);
    }
    rnd_interval(m, &a, &b, true);
    int64_t c2, b2, p2;
    model_stats(m, a, b, &c2, &b2, &p2);
    for (int k = 0; k < LEDGERS; k++) {
        int64_t c1, b1, p1;
        apis[k].stats(ledgers[k], a, b, &c1, &b1, &p1);
        cr_assert(c1 == c2 && b1 == b2 && p1 == p2,
                  SEED_FMT "stats(%lld, %lld) = %lld %lld %lld, want %lld %lld %lld",
                  SEED_ARGS(k), (long long)a, (long long)b, (long long)c1, (long long)b1,
                  (long long)p1, (long long)c2, (long long)b2, (long long)p2);
    }
}

/* Runs p.steps random operations from one seed on both ledgers, comparing
 * every query with the model after every p.check_every-th step.  Returns the
 * number of operations. */
static int model_run(uint64_t seed, model_params p) {
    static model m; /* one per process: Criterion runs each test in its own */
    rng_state = seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
    memset(&m, 0, sizeof(m));
    m.p = p;
    cr_assert(p.live_max <= MODEL_BOOKINGS_MAX);
    fr__ledger *ledgers[LEDGERS];
    for (int k = 0; k < LEDGERS; k++) {
        ledgers[k] = apis[k].create();
        cr_assert_not_null(ledgers[k]);
    }
    uint64_t tag_next = 1;
    for (int step = 0; step < p.steps; step++) {
        model_step(&m, ledgers, step, &tag_next);
        for (int k = 0; k < LEDGERS; k++) {
            cr_assert_eq(apis[k].count(ledgers[k]), (size_t)m.n, SEED_FMT "count",
                         SEED_ARGS(k));
        }
        if (step % p.check_every == 0 || step == p.steps - 1) {
            model_rebuild(&m);
            check_points(&m, ledgers, seed, step);
            check_ranges(&m, ledgers, seed, step);
            check_walks(&m, ledgers, seed, step);
        }
    }
    for (int k = 0; k < LEDGERS; k++) {
        apis[k].destroy(ledgers[k]);
    }
    return p.steps;
}

/* Small pools, checked after every operation: 7 seeds x 5000 = 35,000
 * operations, each applied to both ledgers.  One test per seed, so that
 * Criterion runs them in parallel. */
static const model_params small_params = {64, 1000, 1, 5000, 1, false};

Test(ledger, model_seed_1) { model_run(1, small_params); }
Test(ledger, model_seed_2) { model_run(2, small_params); }
Test(ledger, model_seed_3) { model_run(3, small_params); }
Test(ledger, model_seed_42) { model_run(42, small_params); }
Test(ledger, model_seed_1234) { model_run(1234, small_params); }
Test(ledger, model_seed_987654321) { model_run(987654321, small_params); }
Test(ledger, model_seed_deadbeef) { model_run(0xDEADBEEF, small_params); }

/* Large pools: grow to about 3000 live bookings, then shrink, so that the
 * real ledger's 16-entry trees split and merge at every level too; checked
 * after every 100th operation.  2 seeds x 10,000 = 20,000 operations. */
static const model_params large_params = {3000, 1000000, 60, 10000, 100, true};

Test(ledger, model_large_seed_7) { model_run(7, large_params); }
Test(ledger, model_large_seed_99) { model_run(99, large_params); }
