/*
 * uuid.c — random numbers and UUIDv7 ids.
 *
 * Ids are time-ordered (RFC 9562 version 7) so that creation order, list
 * order and index locality agree.  Within one millisecond a 12-bit counter
 * (seeded randomly each new ms) keeps ids made by one engine increasing.
 */
#include <assert.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
    fr__uuid_format(b, out);
}

/* The 8 lowercase hex digits of 4 bytes, in memory order, as the 8 bytes
 * of a little-endian word: the bytes go to 16-bit lanes, each lane gets
 * its two nibbles (high first), and every nibble becomes its digit at once
 * (+ '0', + 39 more for a-f).  About a dozen word operations instead of a
 * loop per digit: conflicts list ids by the hundred thousand. */
static uint64_t hex8_le(const unsigned char bytes[4])
{
    uint64_t v = (uint64_t)bytes[0] | (uint64_t)bytes[1] << 16 | (uint64_t)bytes[2] << 32 |
                 (uint64_t)bytes[3] << 48;
    const uint64_t low_nibbles = UINT64_C(0x000F000F000F000F);
    uint64_t n = ((v >> 4) & low_nibbles) | ((v & low_nibbles) << 8);
    uint64_t letters = ((n + UINT64_C(0x0606060606060606)) >> 4) & UINT64_C(0x0101010101010101);
    return n + UINT64_C(0x3030303030303030) + letters * 39u;
}

/* Stores a word's 8 bytes, least significant first. */
static void store_le(char *out, uint64_t word, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = (char)(word >> (8 * i));
    }
}

void fr__uuid_format_portable(const unsigned char bytes[16], char out[FR_ID_SIZE])
{
    uint64_t w0 = hex8_le(bytes), w1 = hex8_le(bytes + 4), w2 = hex8_le(bytes + 8),
             w3 = hex8_le(bytes + 12);
    store_le(out, w0, 8);           /* bytes 0-3 */
    out[8] = '-';
    store_le(out + 9, w1, 4);       /* bytes 4-5 */
    out[13] = '-';
    store_le(out + 14, w1 >> 32, 4); /* bytes 6-7 */
    out[18] = '-';
    store_le(out + 19, w2, 4);      /* bytes 8-9 */
    out[23] = '-';
    store_le(out + 24, w2 >> 32, 4); /* bytes 10-11 */
    store_le(out + 28, w3, 8);      /* bytes 12-15 */
    out[36] = '\0';
}

#if defined(__SSE2__)
/* All 32 digits at once: each byte's nibbles side by side in two vectors,
 * '0' added to all and 39 more to those above 9 ('a' - '0' - 10). */
void fr__uuid_format(const unsigned char bytes[16], char out[FR_ID_SIZE])
{
    const __m128i low_nibble = _mm_set1_epi8(0x0F);
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)bytes);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low_nibble);
    __m128i lo = _mm_and_si128(v, low_nibble);
    __m128i digits[2] = {_mm_unpacklo_epi8(hi, lo), _mm_unpackhi_epi8(hi, lo)};
    char text[32];
    for (int k = 0; k < 2; k++) {
        __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(digits[k], _mm_set1_epi8(9)),
                                        _mm_set1_epi8(39));
        digits[k] = _mm_add_epi8(_mm_add_epi8(digits[k], _mm_set1_epi8('0')), letters);
        _mm_storeu_si128((__m128i *)(void *)(text + 16 * k), digits[k]);
    }
    memcpy(out, text, 8);
    out[8] = '-';
    memcpy(out + 9, text + 8, 4);
    out[13] = '-';
    memcpy(out + 14, text + 12, 4);
    out[18] = '-';
    memcpy(out + 19, text + 16, 4);
    out[23] = '-';
    memcpy(out + 24, text + 20, 12);
    out[36] = '\0';
}
#else
void fr__uuid_format(const unsigned char bytes[16], char out[FR_ID_SIZE])
{
    fr__uuid_format_portable(bytes, out);
}
#endif

/* Where the four dashes of 8-4-4-4-12 go: before these bytes. */
static int dash_before(int i)
{
    return i == 4 || i == 6 || i == 8 || i == 10;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int fr__uuid_parse(const char *text, unsigned char bytes[16])
{
    size_t pos = 0;
    for (int i = 0; i < 16; i++) {
        if (dash_before(i) && text[pos++] != '-') {
            return 0;
        }
        int hi = hex_digit(text[pos]);
        int lo = hi < 0 ? -1 : hex_digit(text[pos + 1]);
        if (lo < 0) {
            return 0;
        }
        bytes[i] = (unsigned char)(hi << 4 | lo);
        pos += 2;
    }
    return text[pos] == '\0';
}
