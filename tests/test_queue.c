/*
 * test_queue.c — tests of the order-statistic request queue (lib/queue.c).
 *
 * Unit tests pin down the order (rank descending, then created_at ascending,
 * then id ascending), positions, traversal and the empty queue; a randomized
 * model-based test compares every operation with a brute-force sorted array
 * and prints the seed and operation number of the first disagreement.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"
#include "queue.h"

/* ---------------------------------------------------------------------------
 * Helpers.
 * ------------------------------------------------------------------------- */

static fr__queue_ref insert_ok(fr__queue *queue, int64_t rank, int64_t created_at_ms,
                               const char *id, void *payload) {
    const fr__queue_key key = {.rank = rank, .created_at_ms = created_at_ms, .id = id};
    fr__queue_ref ref = 0;
    cr_assert_eq(fr__queue_insert(queue, &key, payload, &ref), FR_OK);
    cr_assert_neq(ref, 0);
    return ref;
}

/* Walks the queue from first to last and copies the payloads (as strings)
 * into out; returns how many there were. */
static size_t walk(const fr__queue *queue, const char **out, size_t out_len) {
    size_t n = 0;
    for (fr__queue_ref ref = fr__queue_first(queue); ref != 0; ref = fr__queue_next(queue, ref)) {
        cr_assert_lt(n, out_len);
        out[n] = fr__queue_payload(queue, ref);
        n++;
    }
    return n;
}

static void expect_order(const fr__queue *queue, const char *const *expected, size_t expected_len) {
    const char *got[64];
    const size_t n = walk(queue, got, 64);
    cr_assert_eq(n, expected_len, "walked %zu entries, expected %zu", n, expected_len);
    cr_assert_eq(fr__queue_count(queue), expected_len);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(got[i], expected[i], "at %zu: got %s, expected %s", i, got[i],
                         expected[i]);
    }
}

/* ---------------------------------------------------------------------------
 * Unit tests.
 * ------------------------------------------------------------------------- */

Test(queue, empty_queue) {
    fr__queue *queue = fr__queue_new();
    cr_assert_not_null(queue);
    cr_assert_eq(fr__queue_count(queue), 0);
    cr_assert_eq(fr__queue_first(queue), 0);
    fr__queue_free(queue);
    fr__queue_free(NULL);
}

Test(queue, single_entry) {
    fr__queue *queue = fr__queue_new();
    static char payload[] = "only";
    const fr__queue_ref ref = insert_ok(queue, 5, 100, "a", payload);
    cr_assert_eq(fr__queue_count(queue), 1);
    cr_assert_eq(fr__queue_first(queue), ref);
    cr_assert_eq(fr__queue_next(queue, ref), 0);
    cr_assert_eq(fr__queue_position(queue, ref), 1);
    cr_assert_eq(fr__queue_payload(queue, ref), payload);
    fr__queue_remove(queue, ref);
    cr_assert_eq(fr__queue_count(queue), 0);
    cr_assert_eq(fr__queue_first(queue), 0);
    fr__queue_free(queue);
}

Test(queue, orders_by_rank_descending) {
    fr__queue *queue = fr__queue_new();
    insert_ok(queue, 10, 0, "a", "r10");
    insert_ok(queue, -5, 0, "b", "r-5");
    insert_ok(queue, 300, 0, "c", "r300");
    insert_ok(queue, 0, 0, "d", "r0");
    insert_ok(queue, INT64_MAX, 0, "e", "rmax");
    insert_ok(queue, INT64_MIN, 0, "f", "rmin");
    const char *expected[] = {"rmax", "r300", "r10", "r0", "r-5", "rmin"};
    expect_order(queue, expected, 6);
    fr__queue_free(queue);
}

Test(queue, ties_by_created_then_id) {
    fr__queue *queue = fr__queue_new();
    insert_ok(queue, 7, 200, "b", "7/200/b");
    insert_ok(queue, 7, 100, "z", "7/100/z");
    insert_ok(queue, 7, 200, "a", "7/200/a");
    insert_ok(queue, 9, 900, "y", "9/900/y");
    insert_ok(queue, 7, 100, "m", "7/100/m");
    insert_ok(queue, 7, 200, "ab", "7/200/ab");
    insert_ok(queue, 7, -50, "q", "7/-50/q");
    const char *expected[] = {"9/900/y", "7/-50/q", "7/100/m", "7/100/z",
                              "7/200/a", "7/200/ab", "7/200/b"};
    expect_order(queue, expected, 7);
    fr__queue_free(queue);
}

Test(queue, aging_rank_matches_header_formula) {
    /* rank = priority * aging_ms - created_at_ms: a priority-0 request created
     * 120 s before a priority-2 one ties on aged priority at aging 60 s and
     * wins on created_at; created 119 s before, it loses. */
    const int64_t aging_ms = 60000;
    fr__queue *queue = fr__queue_new();
    insert_ok(queue, 2 * aging_ms - 1000000, 1000000, "new", "p2");
    insert_ok(queue, 0 * aging_ms - 880000, 880000, "old", "p0-120s");
    insert_ok(queue, 0 * aging_ms - 881000, 881000, "mid", "p0-119s");
    const char *expected[] = {"p0-120s", "p2", "p0-119s"};
    expect_order(queue, expected, 3);
    fr__queue_free(queue);
}

Test(queue, next_traversal_visits_all_in_order) {
    fr__queue *queue = fr__queue_new();
    static char ids[40][8];
    fr__queue_ref refs[40];
    /* Insert ranks in a scrambled order: 0, 7, 14, ... mod 40. */
    for (int i = 0; i < 40; i++) {
        const int rank = (i * 7) % 40;
        snprintf(ids[rank], sizeof(ids[rank]), "%02d", rank);
        refs[rank] = insert_ok(queue, rank, 0, ids[rank], ids[rank]);
    }
    fr__queue_ref ref = fr__queue_first(queue);
    for (int rank = 39; rank >= 0; rank--) {
        cr_assert_eq(ref, refs[rank], "rank %d out of place", rank);
        cr_assert_eq(fr__queue_position(queue, ref), (size_t)(40 - rank));
        ref = fr__queue_next(queue, ref);
    }
    cr_assert_eq(ref, 0);
    fr__queue_free(queue);
}

Test(queue, position_after_removals) {
    fr__queue *queue = fr__queue_new();
    static char ids[10][4];
    fr__queue_ref refs[10];
    for (int i = 0; i < 10; i++) {
        snprintf(ids[i], sizeof(ids[i]), "%d", i);
        refs[i] = insert_ok(queue, 100 - i, 0, ids[i], ids[i]); /* i is at position i+1 */
    }
    fr__queue_remove(queue, refs[0]); /* the first */
    fr__queue_remove(queue, refs[5]); /* a middle one */
    fr__queue_remove(queue, refs[9]); /* the last */
    const int live[] = {1, 2, 3, 4, 6, 7, 8};
    for (size_t k = 0; k < 7; k++) {
        cr_assert_eq(fr__queue_position(queue, refs[live[k]]), k + 1, "entry %d", live[k]);
    }
    cr_assert_eq(fr__queue_count(queue), 7);
    cr_assert_eq(fr__queue_first(queue), refs[1]);
    cr_assert_eq(fr__queue_next(queue, refs[4]), refs[6]);
    cr_assert_eq(fr__queue_next(queue, refs[8]), 0);
    /* Removing everything leaves an empty queue that still works. */
    for (size_t k = 0; k < 7; k++) {
        fr__queue_remove(queue, refs[live[k]]);
    }
    cr_assert_eq(fr__queue_count(queue), 0);
    cr_assert_eq(fr__queue_first(queue), 0);
    const fr__queue_ref again = insert_ok(queue, 1, 1, "x", "x");
    cr_assert_eq(fr__queue_position(queue, again), 1);
    fr__queue_free(queue);
}

Test(queue, removed_handles_are_reused) {
    fr__queue *queue = fr__queue_new();
    const fr__queue_ref a = insert_ok(queue, 1, 0, "a", "a");
    insert_ok(queue, 2, 0, "b", "b");
    fr__queue_remove(queue, a);
    const fr__queue_ref c = insert_ok(queue, 3, 0, "c", "c");
    cr_assert_eq(c, a, "the freed slot is reused");
    cr_assert_str_eq(fr__queue_payload(queue, c), "c");
    const char *expected[] = {"c", "b"};
    expect_order(queue, expected, 2);
    fr__queue_free(queue);
}

Test(queue, equal_keys_keep_insertion_order) {
    fr__queue *queue = fr__queue_new();
    insert_ok(queue, 1, 1, "same", "first");
    insert_ok(queue, 1, 1, "same", "second");
    insert_ok(queue, 1, 1, "same", "third");
    const char *expected[] = {"first", "second", "third"};
    expect_order(queue, expected, 3);
    fr__queue_free(queue);
}

/* Sorted input is the worst case of an unbalanced search tree; the treap's
 * depth assertions (< 200) would fire if it degenerated. */
Test(queue, sorted_inserts_stay_balanced) {
    enum { N = 100000 };
    fr__queue *queue = fr__queue_new();
    fr__queue_ref *refs = malloc(N * sizeof(*refs));
    cr_assert_not_null(refs);
    for (int i = 0; i < N; i++) {
        const fr__queue_key key = {.rank = -i, .created_at_ms = 0, .id = "x"};
        cr_assert_eq(fr__queue_insert(queue, &key, NULL, &refs[i]), FR_OK);
    }
    cr_assert_eq(fr__queue_count(queue), (size_t)N);
    for (int i = 0; i < N; i += 997) {
        cr_assert_eq(fr__queue_position(queue, refs[i]), (size_t)i + 1);
    }
    fr__queue_ref ref = fr__queue_first(queue);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(ref, refs[i]);
        ref = fr__queue_next(queue, ref);
    }
    cr_assert_eq(ref, 0);
    for (int i = 0; i < N; i += 2) {
        fr__queue_remove(queue, refs[i]);
    }
    cr_assert_eq(fr__queue_count(queue), (size_t)N / 2);
    cr_assert_eq(fr__queue_position(queue, refs[N - 1]), (size_t)N / 2);
    free(refs);
    fr__queue_free(queue);
}

/* ---------------------------------------------------------------------------
 * Randomized test against a brute-force sorted array.
 * ------------------------------------------------------------------------- */

enum { MODEL_OPS = 60000, MODEL_ID_SIZE = 16 };

typedef struct model_entry {
    int64_t rank;
    int64_t created_at_ms;
    const char *id;
    void *payload;
    fr__queue_ref ref;
} model_entry;

typedef struct model {
    model_entry *entries;  /* sorted in queue order */
    size_t count;
    uint64_t seed;
    int op;                /* the operation number, for failure messages */
} model;

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static uint64_t random_below(uint64_t *state, uint64_t bound) {
    return splitmix64(state) % bound;
}

/* The reference order, written out independently of lib/queue.c. */
static int model_compare(const model_entry *a, const model_entry *b) {
    if (a->rank != b->rank) {
        return a->rank > b->rank ? -1 : 1;
    }
    if (a->created_at_ms != b->created_at_ms) {
        return a->created_at_ms < b->created_at_ms ? -1 : 1;
    }
    return strcmp(a->id, b->id);
}

/* Fails the test with the seed and operation number in front of the message,
 * so that a failure can be replayed. */
static void model_fail(const model *m, const char *format, ...) {
    char message[256];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    cr_assert_fail("seed %llu, op %d: %s", (unsigned long long)m->seed, m->op, message);
}

#define MODEL_CHECK(m, cond, ...)      \
    do {                               \
        if (!(cond)) {                 \
            model_fail((m), __VA_ARGS__); \
        }                              \
    } while (0)

static void model_insert(model *m, fr__queue *queue, uint64_t *rng, char *id_storage) {
    model_entry entry = {
        .rank = (int64_t)random_below(rng, 8) - 4,
        .created_at_ms = (int64_t)random_below(rng, 6),
        .id = id_storage,
        .payload = id_storage,
    };
    /* Unique ids whose order is unrelated to insertion order. */
    snprintf(id_storage, MODEL_ID_SIZE, "%02u-%d", (unsigned)random_below(rng, 100), m->op);
    const fr__queue_key key = {.rank = entry.rank, .created_at_ms = entry.created_at_ms,
                               .id = entry.id};
    MODEL_CHECK(m, fr__queue_insert(queue, &key, entry.payload, &entry.ref) == FR_OK, "insert");
    MODEL_CHECK(m, entry.ref != 0, "insert returned handle 0");
    size_t at = 0;
    while (at < m->count && model_compare(&m->entries[at], &entry) < 0) {
        at++;
    }
    memmove(&m->entries[at + 1], &m->entries[at], (m->count - at) * sizeof(model_entry));
    m->entries[at] = entry;
    m->count++;
}

static void model_remove(model *m, fr__queue *queue, uint64_t *rng) {
    if (m->count == 0) {
        return;
    }
    const size_t at = (size_t)random_below(rng, m->count);
    fr__queue_remove(queue, m->entries[at].ref);
    memmove(&m->entries[at], &m->entries[at + 1], (m->count - at - 1) * sizeof(model_entry));
    m->count--;
}

static void model_check_one(const model *m, const fr__queue *queue, size_t at) {
    const model_entry *entry = &m->entries[at];
    const size_t position = fr__queue_position(queue, entry->ref);
    MODEL_CHECK(m, position == at + 1, "position %zu, expected %zu", position, at + 1);
    const fr__queue_ref next = fr__queue_next(queue, entry->ref);
    const fr__queue_ref next_expected = at + 1 < m->count ? m->entries[at + 1].ref : 0;
    MODEL_CHECK(m, next == next_expected, "next %u, expected %u", (unsigned)next,
                (unsigned)next_expected);
    MODEL_CHECK(m, fr__queue_payload(queue, entry->ref) == entry->payload, "payload");
}

static void model_check_all(const model *m, const fr__queue *queue) {
    MODEL_CHECK(m, fr__queue_count(queue) == m->count, "count %zu, expected %zu",
                fr__queue_count(queue), m->count);
    fr__queue_ref ref = fr__queue_first(queue);
    for (size_t at = 0; at < m->count; at++) {
        MODEL_CHECK(m, ref == m->entries[at].ref, "walk at %zu", at);
        MODEL_CHECK(m, fr__queue_position(queue, ref) == at + 1, "walk position at %zu", at);
        ref = fr__queue_next(queue, ref);
    }
    MODEL_CHECK(m, ref == 0, "walk does not end after %zu entries", m->count);
}

/* One run of MODEL_OPS operations.  The mix swings every 5000 operations
 * (grow, hold steady, drain, grow slowly), so the queue reaches a couple of
 * thousand entries, empties out, and grows again. */
static void model_run(uint64_t seed) {
    static const uint64_t insert_percent[4] = {60, 40, 15, 45};
    static const uint64_t remove_percent[4] = {15, 40, 60, 30};
    uint64_t rng = seed;
    model m = {.seed = seed};
    m.entries = malloc(MODEL_OPS * sizeof(model_entry));
    char(*ids)[MODEL_ID_SIZE] = malloc(MODEL_OPS * sizeof(*ids));
    fr__queue *queue = fr__queue_new();
    cr_assert(m.entries != NULL && ids != NULL && queue != NULL);

    size_t count_max = 0;
    int empty_times = 0;
    for (m.op = 0; m.op < MODEL_OPS; m.op++) {
        const int phase = (m.op / 5000) % 4;
        const uint64_t insert_below = insert_percent[phase];
        const uint64_t remove_below = insert_below + remove_percent[phase];
        const uint64_t first_below = remove_below + (100 - remove_below) / 4;
        const uint64_t dice = random_below(&rng, 100);
        if (dice < insert_below) {
            model_insert(&m, queue, &rng, ids[m.op]);
        } else if (dice < remove_below) {
            model_remove(&m, queue, &rng);
        } else if (dice < first_below) {
            const fr__queue_ref first = fr__queue_first(queue);
            MODEL_CHECK(&m, first == (m.count > 0 ? m.entries[0].ref : 0), "first");
        } else if (m.count > 0) {
            model_check_one(&m, queue, (size_t)random_below(&rng, m.count));
        }
        if (m.op % 2000 == 0 || m.count < 4) {
            model_check_all(&m, queue);
        }
        count_max = m.count > count_max ? m.count : count_max;
        empty_times += m.count == 0;
    }
    /* The run must have exercised both a large tree and the empty one. */
    cr_assert_gt(count_max, 1000, "seed %llu: max size %zu", (unsigned long long)seed, count_max);
    cr_assert_gt(empty_times, 0, "seed %llu: never empty", (unsigned long long)seed);
    model_check_all(&m, queue);
    while (m.count > 0) {
        model_remove(&m, queue, &rng);
    }
    model_check_all(&m, queue);
    fr__queue_free(queue);
    free(ids);
    free(m.entries);
}

Test(queue_random, against_sorted_array_seed_1) { model_run(1); }
Test(queue_random, against_sorted_array_seed_2) { model_run(UINT64_C(0x2545F4914F6CDD1D)); }
Test(queue_random, against_sorted_array_seed_3) { model_run(20261126); }
