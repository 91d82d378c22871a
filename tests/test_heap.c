/*
 * test_heap.c — tests of the time-event min-heap (lib/heap.c).
 *
 * Unit tests pin down the order (key_ms, then push order), the out-parameter
 * contract of peek, growth and the lazy-invalidation pattern the engine uses;
 * a randomized model-based test compares interleaved pushes and pops with a
 * brute-force reference (linear minimum search, and a sort of what is left at
 * the end) and prints the seed and operation number of the first
 * disagreement.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fleetres.h"
#include "heap.h"

/* ---------------------------------------------------------------------------
 * Unit tests.
 * ------------------------------------------------------------------------- */

static void push_ok(fr__heap *heap, int64_t key_ms, void *payload, uint64_t stamp) {
    cr_assert_eq(fr__heap_push(heap, key_ms, payload, stamp), FR_OK);
}

/* Peeks, checks key and payload, and pops. */
static void pop_expect(fr__heap *heap, int64_t key_ms, const char *payload) {
    int64_t key_got = 0;
    void *payload_got = NULL;
    cr_assert_eq(fr__heap_peek(heap, &key_got, &payload_got, NULL), 1);
    cr_assert_eq(key_got, key_ms, "key %lld, expected %lld", (long long)key_got,
                 (long long)key_ms);
    cr_assert_str_eq(payload_got, payload);
    fr__heap_pop(heap);
}

Test(heap, empty_heap) {
    fr__heap *heap = fr__heap_new();
    cr_assert_not_null(heap);
    cr_assert_eq(fr__heap_count(heap), 0);
    int64_t key_ms = 42;
    void *payload = &key_ms;
    uint64_t stamp = 7;
    cr_assert_eq(fr__heap_peek(heap, &key_ms, &payload, &stamp), 0);
    cr_assert_eq(key_ms, 42, "peek on an empty heap leaves out-parameters untouched");
    cr_assert_eq(payload, &key_ms);
    cr_assert_eq(stamp, 7);
    cr_assert_eq(fr__heap_peek(heap, NULL, NULL, NULL), 0);
    fr__heap_free(heap);
    fr__heap_free(NULL);
}

Test(heap, single_entry_round_trip) {
    fr__heap *heap = fr__heap_new();
    static char payload[] = "hold-1";
    push_ok(heap, 1764165600000, payload, UINT64_MAX);
    cr_assert_eq(fr__heap_count(heap), 1);
    int64_t key_ms = 0;
    void *payload_got = NULL;
    uint64_t stamp = 0;
    cr_assert_eq(fr__heap_peek(heap, &key_ms, &payload_got, &stamp), 1);
    cr_assert_eq(key_ms, 1764165600000);
    cr_assert_eq(payload_got, payload);
    cr_assert_eq(stamp, UINT64_MAX);
    cr_assert_eq(fr__heap_count(heap), 1, "peek does not remove");
    cr_assert_eq(fr__heap_peek(heap, NULL, NULL, &stamp), 1, "NULL out-parameters are skipped");
    fr__heap_pop(heap);
    cr_assert_eq(fr__heap_count(heap), 0);
    cr_assert_eq(fr__heap_peek(heap, NULL, NULL, NULL), 0);
    fr__heap_free(heap);
}

Test(heap, orders_by_key) {
    fr__heap *heap = fr__heap_new();
    push_ok(heap, 300, "300", 0);
    push_ok(heap, -20, "-20", 0);
    push_ok(heap, INT64_MAX, "max", 0);
    push_ok(heap, 0, "0", 0);
    push_ok(heap, INT64_MIN, "min", 0);
    push_ok(heap, 299, "299", 0);
    pop_expect(heap, INT64_MIN, "min");
    pop_expect(heap, -20, "-20");
    pop_expect(heap, 0, "0");
    pop_expect(heap, 299, "299");
    pop_expect(heap, 300, "300");
    pop_expect(heap, INT64_MAX, "max");
    cr_assert_eq(fr__heap_count(heap), 0);
    fr__heap_free(heap);
}

Test(heap, equal_keys_come_out_in_push_order) {
    fr__heap *heap = fr__heap_new();
    static char names[20][4];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof(names[i]), "%d", i);
        push_ok(heap, 1000, names[i], 0);
    }
    push_ok(heap, 999, "early", 0);
    pop_expect(heap, 999, "early");
    for (int i = 0; i < 20; i++) {
        pop_expect(heap, 1000, names[i]);
    }
    fr__heap_free(heap);
}

Test(heap, push_order_survives_pops) {
    /* seq keeps counting across pops: a later push with an equal key still
     * comes after the earlier ones still in the heap. */
    fr__heap *heap = fr__heap_new();
    push_ok(heap, 5, "a", 0);
    push_ok(heap, 1, "x", 0);
    pop_expect(heap, 1, "x");
    push_ok(heap, 5, "b", 0);
    push_ok(heap, 5, "c", 0);
    pop_expect(heap, 5, "a");
    push_ok(heap, 5, "d", 0);
    pop_expect(heap, 5, "b");
    pop_expect(heap, 5, "c");
    pop_expect(heap, 5, "d");
    fr__heap_free(heap);
}

Test(heap, grows_past_initial_capacity) {
    enum { N = 20000 };
    fr__heap *heap = fr__heap_new();
    int *values = malloc(N * sizeof(*values));
    cr_assert_not_null(values);
    for (int i = 0; i < N; i++) {
        values[i] = N - 1 - i;
        push_ok(heap, values[i], &values[i], (uint64_t)i);
    }
    cr_assert_eq(fr__heap_count(heap), (size_t)N);
    for (int k = 0; k < N; k++) {
        int64_t key_ms = -1;
        void *payload = NULL;
        uint64_t stamp = 0;
        cr_assert_eq(fr__heap_peek(heap, &key_ms, &payload, &stamp), 1);
        cr_assert_eq(key_ms, k);
        cr_assert_eq(*(int *)payload, k);
        cr_assert_eq(stamp, (uint64_t)(N - 1 - k));
        fr__heap_pop(heap);
    }
    cr_assert_eq(fr__heap_count(heap), 0);
    free(values);
    fr__heap_free(heap);
}

/* The engine's pattern: moving an event pushes a new entry and bumps the
 * payload's stamp; entries whose stamp is stale are dropped when they surface. */
typedef struct hold {
    const char *name;
    uint64_t stamp;
} hold;

Test(heap, lazy_invalidation_by_stamp) {
    fr__heap *heap = fr__heap_new();
    hold a = {"a", 1};
    hold b = {"b", 1};
    push_ok(heap, 100, &a, a.stamp);
    push_ok(heap, 200, &b, b.stamp);
    a.stamp = 2; /* a's expiry moves from 100 to 300 */
    push_ok(heap, 300, &a, a.stamp);

    const char *fired[3];
    int fired_count = 0;
    for (int guard = 0; guard < 10; guard++) {
        void *payload = NULL;
        uint64_t stamp = 0;
        if (fr__heap_peek(heap, NULL, &payload, &stamp) == 0) {
            break;
        }
        fr__heap_pop(heap);
        const hold *event = payload;
        if (stamp == event->stamp) {
            cr_assert_lt(fired_count, 3);
            fired[fired_count++] = event->name;
        }
    }
    cr_assert_eq(fired_count, 2);
    cr_assert_str_eq(fired[0], "b");
    cr_assert_str_eq(fired[1], "a");
    fr__heap_free(heap);
}

/* ---------------------------------------------------------------------------
 * Randomized test against a brute-force reference.
 * ------------------------------------------------------------------------- */

enum { MODEL_OPS = 60000 };

typedef struct model_entry {
    int64_t key_ms;
    uint64_t order;   /* push number: the reference's own tie-break */
    void *payload;
    uint64_t stamp;
} model_entry;

typedef struct model {
    model_entry *entries;  /* unsorted multiset of what the heap holds */
    size_t count;
    uint64_t pushes;
    uint64_t seed;
    int op;
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

static int model_compare(const void *a_void, const void *b_void) {
    const model_entry *a = a_void;
    const model_entry *b = b_void;
    if (a->key_ms != b->key_ms) {
        return a->key_ms < b->key_ms ? -1 : 1;
    }
    return a->order < b->order ? -1 : a->order > b->order ? 1 : 0;
}

static void model_fail(const model *m, const char *format, ...) {
    char message[256];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    cr_assert_fail("seed %llu, op %d: %s", (unsigned long long)m->seed, m->op, message);
}

#define MODEL_CHECK(m, cond, ...)         \
    do {                                  \
        if (!(cond)) {                    \
            model_fail((m), __VA_ARGS__); \
        }                                 \
    } while (0)

/* Keys from a small range give many ties; a few are extreme. */
static int64_t random_key(uint64_t *rng) {
    const uint64_t dice = random_below(rng, 100);
    if (dice == 0) {
        return INT64_MIN;
    }
    if (dice == 1) {
        return INT64_MAX;
    }
    return (int64_t)random_below(rng, 500) - 100;
}

static void model_push(model *m, fr__heap *heap, uint64_t *rng, int *payloads) {
    const model_entry entry = {
        .key_ms = random_key(rng),
        .order = m->pushes,
        .payload = &payloads[m->op],
        .stamp = splitmix64(rng),
    };
    MODEL_CHECK(m, fr__heap_push(heap, entry.key_ms, entry.payload, entry.stamp) == FR_OK,
                "push");
    m->entries[m->count++] = entry;
    m->pushes++;
}

/* Compares the heap's top with the reference minimum (a linear scan);
 * returns the reference index of the minimum, or count when empty. */
static size_t model_check_top(const model *m, const fr__heap *heap) {
    MODEL_CHECK(m, fr__heap_count(heap) == m->count, "count %zu, expected %zu",
                fr__heap_count(heap), m->count);
    int64_t key_ms = 0;
    void *payload = NULL;
    uint64_t stamp = 0;
    const int present = fr__heap_peek(heap, &key_ms, &payload, &stamp);
    if (m->count == 0) {
        MODEL_CHECK(m, present == 0, "peek on empty returned %d", present);
        return 0;
    }
    size_t min_at = 0;
    for (size_t i = 1; i < m->count; i++) {
        if (model_compare(&m->entries[i], &m->entries[min_at]) < 0) {
            min_at = i;
        }
    }
    const model_entry *min = &m->entries[min_at];
    MODEL_CHECK(m, present == 1, "peek returned %d", present);
    MODEL_CHECK(m, key_ms == min->key_ms, "key %lld, expected %lld", (long long)key_ms,
                (long long)min->key_ms);
    MODEL_CHECK(m, payload == min->payload, "payload of push %llu expected",
                (unsigned long long)min->order);
    MODEL_CHECK(m, stamp == min->stamp, "stamp");
    return min_at;
}

static void model_pop(model *m, fr__heap *heap) {
    const size_t min_at = model_check_top(m, heap);
    if (m->count == 0) {
        return;
    }
    fr__heap_pop(heap);
    m->entries[min_at] = m->entries[m->count - 1];
    m->count--;
}

/* Drains the heap and compares the sequence with the sorted reference. */
static void model_drain(model *m, fr__heap *heap) {
    qsort(m->entries, m->count, sizeof(model_entry), model_compare);
    for (size_t i = 0; i < m->count; i++) {
        int64_t key_ms = 0;
        void *payload = NULL;
        MODEL_CHECK(m, fr__heap_peek(heap, &key_ms, &payload, NULL) == 1, "drain: empty at %zu",
                    i);
        MODEL_CHECK(m, key_ms == m->entries[i].key_ms && payload == m->entries[i].payload,
                    "drain: entry %zu differs", i);
        fr__heap_pop(heap);
    }
    m->count = 0;
    MODEL_CHECK(m, fr__heap_count(heap) == 0, "drain: heap not empty");
}

/* The push/pop mix swings every 4000 operations (grow, steady, shrink), and
 * twice per run the whole heap is drained against a sort. */
static void model_run(uint64_t seed) {
    static const uint64_t push_percent[3] = {70, 50, 30};
    uint64_t rng = seed;
    model m = {.seed = seed};
    m.entries = malloc(MODEL_OPS * sizeof(model_entry));
    int *payloads = malloc(MODEL_OPS * sizeof(int));
    fr__heap *heap = fr__heap_new();
    cr_assert(m.entries != NULL && payloads != NULL && heap != NULL);

    size_t count_max = 0;
    for (m.op = 0; m.op < MODEL_OPS; m.op++) {
        const uint64_t dice = random_below(&rng, 100);
        if (dice < push_percent[(m.op / 4000) % 3]) {
            model_push(&m, heap, &rng, payloads);
        } else if (dice < 90) {
            model_pop(&m, heap);
        } else {
            model_check_top(&m, heap);
        }
        if (m.op == MODEL_OPS / 3 || m.op == 2 * MODEL_OPS / 3) {
            model_drain(&m, heap);
        }
        count_max = m.count > count_max ? m.count : count_max;
    }
    cr_assert_gt(count_max, 1000, "seed %llu: max size %zu", (unsigned long long)seed, count_max);
    model_drain(&m, heap);
    fr__heap_free(heap);
    free(payloads);
    free(m.entries);
}

Test(heap_random, against_reference_seed_1) { model_run(1); }
Test(heap_random, against_reference_seed_2) { model_run(UINT64_C(0x2545F4914F6CDD1D)); }
Test(heap_random, against_reference_seed_3) { model_run(20261126); }
