/*
 * uuid.c — random numbers and UUIDv7 ids.
 *
 * Ids are time-ordered (RFC 9562 version 7) so that creation order, list
 * order and index locality agree.  Within one millisecond a 12-bit counter
 * (seeded randomly each new ms) keeps ids made by one engine increasing.
 */
#include <assert.h>

#include "fr_int.h"

/* splitmix64: turns any seed (even 0 or 1) into a well-mixed state. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void fr__rng_seed(fr__rng *rng, uint64_t seed)
{
    rng->s[0] = splitmix64(&seed);
    rng->s[1] = splitmix64(&seed);
    if (rng->s[0] == 0 && rng->s[1] == 0) {
        rng->s[0] = 1;
    }
}

uint64_t fr__rng_next(fr__rng *rng)
{
    uint64_t s1 = rng->s[0];
    const uint64_t s0 = rng->s[1];
    const uint64_t result = s0 + s1;
    rng->s[0] = s0;
    s1 ^= s1 << 23;
    rng->s[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
    return result;
}

void fr__uuid_v7(fr__rng *rng, int64_t ms, uint16_t *counter, int64_t *last_ms,
                 char out[FR_ID_SIZE])
{
    if (ms > *last_ms) {
        *last_ms = ms;
        *counter = (uint16_t)(fr__rng_next(rng) & 0x3FF); /* leave room to count */
    } else if (*counter >= 0xFFF) {
        /* More than the counter holds in one millisecond (a big batch, a
         * frozen test clock): borrow the next millisecond, so that ids keep
         * increasing; the clock catches up with last_ms later. */
        *last_ms += 1;
        *counter = (uint16_t)(fr__rng_next(rng) & 0x3FF);
    } else {
        *counter = (uint16_t)(*counter + 1);
    }
    /* Times before the epoch (tests) map to 0; ordering is then by counter. */
    uint64_t t = *last_ms < 0 ? 0 : (uint64_t)*last_ms;
    uint64_t rnd = fr__rng_next(rng);
    uint8_t b[16];
    for (int i = 0; i < 6; i++) {
        b[i] = (uint8_t)(t >> (40 - 8 * i));
    }
    b[6] = (uint8_t)(0x70 | ((*counter >> 8) & 0x0F));
    b[7] = (uint8_t)(*counter & 0xFF);
    b[8] = (uint8_t)(0x80 | (rnd & 0x3F));
    for (int i = 9; i < 16; i++) {
        b[i] = (uint8_t)(rnd >> (8 * (i - 8)));
    }
    /* 8-4-4-4-12 lowercase hex (snprintf costs ~100x more on the hot path). */
    static const char hex[] = "0123456789abcdef";
    size_t pos = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[pos++] = '-';
        }
        out[pos++] = hex[b[i] >> 4];
        out[pos++] = hex[b[i] & 15];
    }
    assert(pos == 36 && pos < FR_ID_SIZE);
    out[pos] = '\0';
}
