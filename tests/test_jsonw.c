/*
 * test_jsonw.c — the JSON text writer prints exactly what cJSON prints.
 *
 * Randomized: documents of nested objects and arrays with strings over every
 * byte value 1..255 (control characters, quotes, backslashes, UTF-8), ints at
 * the extremes, quantities, times, null and booleans are built twice — with
 * the writer and as a cJSON tree (numbers as raw text, like codec.c) — and
 * the two texts must be identical.  The failing seed and document are
 * printed.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "codec.h"
#include "fleetres.h"
#include "jsonw.h"
#include "uuid.h"

#define DOCS_PER_SEED 400
#define SEEDS 8
#define DEPTH_MAX 5

static uint64_t rng;

static uint64_t next_random(void) { /* splitmix64 */
    uint64_t z = (rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void random_string(char *buf, size_t size) {
    size_t len = next_random() % (size - 1);
    for (size_t i = 0; i < len; i++) {
        buf[i] = (char)(1 + next_random() % 255); /* any byte but NUL */
    }
    buf[len] = '\0';
}

static cJSON *raw_int(int64_t v) {
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v);
    return cJSON_CreateRaw(text);
}

/* One random value, written to w and returned as the equivalent tree. */
static cJSON *random_value(fr__jw *w, int depth);

static cJSON *random_container(fr__jw *w, int depth, int is_object) {
    cJSON *tree = is_object ? cJSON_CreateObject() : cJSON_CreateArray();
    cr_assert_not_null(tree);
    if (is_object) {
        fr__jw_object_begin(w);
    } else {
        fr__jw_array_begin(w);
    }
    size_t n = next_random() % 5;
    for (size_t i = 0; i < n; i++) {
        char key[24];
        if (is_object) {
            random_string(key, sizeof key);
            fr__jw_key(w, key);
        }
        cJSON *item = random_value(w, depth + 1);
        if (is_object) {
            cJSON_AddItemToObject(tree, key, item);
        } else {
            cJSON_AddItemToArray(tree, item);
        }
    }
    if (is_object) {
        fr__jw_object_end(w);
    } else {
        fr__jw_array_end(w);
    }
    return tree;
}

static cJSON *random_value(fr__jw *w, int depth) {
    static const int64_t ints[] = {0, 1, -1, 42, INT64_MAX, INT64_MIN, 1000000000000};
    int kind = (int)(next_random() % (depth < DEPTH_MAX ? 9 : 7));
    char text[48];
    switch (kind) {
    case 0: {
        char s[40];
        random_string(s, sizeof s);
        fr__jw_string(w, s);
        return cJSON_CreateString(s);
    }
    case 1:
        fr__jw_null(w);
        return cJSON_CreateNull();
    case 2: {
        int b = (int)(next_random() % 2);
        fr__jw_bool(w, b);
        return cJSON_CreateBool(b);
    }
    case 3: {
        int64_t v = ints[next_random() % (sizeof ints / sizeof ints[0])];
        fr__jw_int(w, v);
        return raw_int(v);
    }
    case 4: {
        int64_t milli = (int64_t)(next_random() % 2000000001) - 1000000000;
        fr__jw_qty(w, milli);
        cr_assert_gt(fr_qty_format(milli, text, sizeof text), 0);
        return cJSON_CreateRaw(text);
    }
    case 5: {
        int64_t ms = (int64_t)(next_random() % UINT64_C(4102444800000));
        fr__jw_time(w, ms);
        return fr__time_to_cjson(ms);
    }
    case 6: {
        char id[FR_ID_SIZE];
        snprintf(id, sizeof id, "%s", next_random() % 2 ? "" : "01a21995-def5-7165-a11a-3e12d22c29ad");
        fr__jw_id(w, id);
        return id[0] ? cJSON_CreateString(id) : cJSON_CreateNull();
    }
    default:
        return random_container(w, depth, kind == 7);
    }
}

Test(jsonw, prints_what_cjson_prints) {
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        rng = seed;
        for (int doc = 0; doc < DOCS_PER_SEED; doc++) {
            fr__jw w;
            fr__jw_init(&w, (size_t)(next_random() % 100)); /* small: exercises growth */
            cJSON *tree = random_container(&w, 0, (int)(next_random() % 2));
            char *written = fr__jw_finish(&w);
            char *printed = cJSON_PrintUnformatted(tree);
            cr_assert_not_null(written);
            cr_assert_not_null(printed);
            cr_assert_str_eq(written, printed, "seed %" PRIu64 " doc %d differs:\n%s\n%s", seed,
                             doc, written, printed);
            free(written);
            cJSON_free(printed);
            cJSON_Delete(tree);
        }
    }
}

Test(jsonw, special_values) {
    fr__jw w;
    fr__jw_init(&w, 0);
    fr__jw_object_begin(&w);
    fr__jw_key(&w, "t");
    fr__jw_time(&w, FR_TIME_NULL);
    fr__jw_key(&w, "u");
    fr__jw_time(&w, FR_TIME_INF);
    fr__jw_key(&w, "v");
    fr__jw_time(&w, 1795701600007); /* 2026-11-26T14:00:00.007Z */
    fr__jw_key(&w, "q");
    fr__jw_qty(&w, 100);
    fr__jw_key_literal(&w, "s"); /* the literal form writes the same */
    fr__jw_string(&w, NULL);
    fr__jw_key_literal(&w, "raw");
    fr__jw_raw(&w, "{\"a\":[1,2]}");
    fr__jw_key(&w, "e");
    fr__jw_array_begin(&w);
    fr__jw_array_end(&w);
    fr__jw_object_end(&w);
    char *text = fr__jw_finish(&w);
    cr_assert_str_eq(text, "{\"t\":null,\"u\":null,\"v\":\"2026-11-26T14:00:00.007Z\",\"q\":0.1,"
                           "\"s\":null,\"raw\":{\"a\":[1,2]},\"e\":[]}");
    free(text);
}

Test(jsonw, too_deep_fails_cleanly) {
    fr__jw w;
    fr__jw_init(&w, 8);
    for (int i = 0; i <= JW_DEPTH_MAX; i++) {
        fr__jw_array_begin(&w);
    }
    for (int i = 0; i <= JW_DEPTH_MAX; i++) {
        fr__jw_array_end(&w);
    }
    cr_assert_null(fr__jw_finish(&w));
}

/* fr__jw_id_array writes UUID-sized plain ids in one pass and anything else
 * through the general path: the text must be cJSON's array of strings
 * either way, whatever the mix (36-byte texts with a byte to escape,
 * shorter ones, empty ones), and must fit inside a container. */
/* Ends w's object, {"ids": [...] so far, with "after": 1 and compares it
 * with cJSON's print of tree ({"ids": [...]}, given the same member);
 * frees both. */
static void assert_ids_print_as_cjson(fr__jw *w, cJSON *tree, uint64_t seed) {
    fr__jw_key_literal(w, "after");
    fr__jw_int(w, 1);
    fr__jw_object_end(w);
    char *written = fr__jw_finish(w);
    cJSON_AddNumberToObject(tree, "after", 1);
    char *printed = cJSON_PrintUnformatted(tree);
    cr_assert_not_null(written);
    cr_assert_str_eq(written, printed, "seed %" PRIu64 " differs:\n%s\n%s", seed, written,
                     printed);
    free(written);
    cJSON_free(printed);
    cJSON_Delete(tree);
}

Test(jsonw, id_array_prints_what_cjson_prints) {
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        rng = seed;
        size_t n = (size_t)(next_random() % 40);
        char(*ids)[FR_ID_SIZE] = calloc(n + 1, sizeof *ids);
        cr_assert_not_null(ids);
        cJSON *tree = cJSON_CreateObject();
        cJSON *array = cJSON_AddArrayToObject(tree, "ids");
        for (size_t i = 0; i < n; i++) {
            int kind = (int)(next_random() % 4);
            if (kind <= 1) { /* a UUID, sometimes with one byte to escape */
                snprintf(ids[i], FR_ID_SIZE, "%08x-def5-7165-a11a-3e12d22c29ad",
                         (unsigned)next_random());
                if (kind == 1) {
                    static const char special[] = {'"', '\\', '\n', 1, 31};
                    ids[i][next_random() % (FR_ID_SIZE - 1)] = special[next_random() % 5];
                }
            } else if (kind == 2) {
                random_string(ids[i], FR_ID_SIZE);
            } /* else "" */
            cJSON_AddItemToArray(array, cJSON_CreateString(ids[i]));
        }
        fr__jw w;
        fr__jw_init(&w, (size_t)(next_random() % 100));
        fr__jw_object_begin(&w);
        fr__jw_key(&w, "ids");
        fr__jw_id_array(&w, (const char(*)[FR_ID_SIZE])ids, n);
        assert_ids_print_as_cjson(&w, tree, seed);
        free(ids);
    }
}

/* Ids given in binary print as cJSON prints their text, empty arrays and
 * members after them included. */
Test(jsonw, binary_id_array_prints_what_cjson_prints) {
    for (uint64_t seed = 1; seed <= 500; seed++) {
        rng = seed;
        size_t n = (size_t)(next_random() % 40);
        unsigned char(*ids)[16] = calloc(n + 1, sizeof *ids);
        cr_assert_not_null(ids);
        cJSON *tree = cJSON_CreateObject();
        cJSON *array = cJSON_AddArrayToObject(tree, "ids");
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < 16; k++) {
                ids[i][k] = (unsigned char)next_random();
            }
            char text[FR_ID_SIZE];
            fr__uuid_format(ids[i], text);
            cJSON_AddItemToArray(array, cJSON_CreateString(text));
        }
        fr__jw w;
        fr__jw_init(&w, (size_t)(next_random() % 100));
        fr__jw_object_begin(&w);
        fr__jw_key_literal(&w, "ids");
        fr__jw_id_array_bin(&w, (const unsigned char(*)[16])ids, n);
        assert_ids_print_as_cjson(&w, tree, seed);
        free(ids);
    }
}
