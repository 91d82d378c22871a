/*
 * test_timefmt.c — RFC 3339 instants and exact decimal quantities.
 *
 * Besides fixed cases (offsets, leap years, truncation, range boundaries,
 * garbage), a seeded sweep checks format/parse round trips over the whole
 * accepted range against the algorithm's own inverse and against known dates.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fleetres.h"

static int64_t parse_ok(const char *text) {
    int64_t ms = 12345;
    int rc = fr_time_parse(text, &ms);
    cr_assert_eq(rc, FR_OK, "fr_time_parse(\"%s\") = %d", text, rc);
    return ms;
}

static void parse_bad(const char *text) {
    int64_t ms = 12345;
    int rc = fr_time_parse(text, &ms);
    cr_assert_eq(rc, FR_EINVAL, "fr_time_parse(\"%s\") accepted (%lld)", text ? text : "(null)",
                 (long long)ms);
    cr_assert_eq(ms, 12345, "out touched on failure for \"%s\"", text ? text : "(null)");
}

static void format_is(int64_t ms, const char *expected) {
    char buf[32];
    size_t n = fr_time_format(ms, buf, sizeof buf);
    cr_assert_eq(n, strlen(expected), "length for %lld", (long long)ms);
    cr_assert_str_eq(buf, expected);
}

/* ---------------------------------------------------------------- time parse */

Test(time_parse, epoch_and_utc) {
    cr_assert_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
    cr_assert_eq(parse_ok("1970-01-01T00:00:00.000Z"), 0);
    cr_assert_eq(parse_ok("1970-01-01T00:00:01Z"), 1000);
    cr_assert_eq(parse_ok("2026-11-26T14:00:00.000Z"), INT64_C(1795701600000));
    cr_assert_eq(parse_ok("2000-03-01T00:00:00Z"), INT64_C(951868800000));
}

Test(time_parse, lowercase_t_and_z) {
    cr_assert_eq(parse_ok("2026-11-26t14:00:00z"), INT64_C(1795701600000));
    cr_assert_eq(parse_ok("2026-11-26T14:00:00z"), INT64_C(1795701600000));
}

Test(time_parse, offsets) {
    const int64_t utc = parse_ok("2026-11-26T14:00:00Z");
    cr_assert_eq(parse_ok("2026-11-26T15:00:00+01:00"), utc);
    cr_assert_eq(parse_ok("2026-11-26T09:00:00-05:00"), utc);
    cr_assert_eq(parse_ok("2026-11-26T19:45:00+05:45"), utc);
    cr_assert_eq(parse_ok("2026-11-26T14:00:00+00:00"), utc);
    cr_assert_eq(parse_ok("2026-11-26T14:00:00-00:00"), utc);
    /* An offset that crosses a day, a month and a year boundary. */
    cr_assert_eq(parse_ok("2027-01-01T00:30:00+01:00"), parse_ok("2026-12-31T23:30:00Z"));
    cr_assert_eq(parse_ok("2026-12-31T23:30:00-23:59"), parse_ok("2027-01-01T23:29:00Z"));
}

Test(time_parse, fraction_truncated_toward_past) {
    cr_assert_eq(parse_ok("1970-01-01T00:00:00.1Z"), 100);
    cr_assert_eq(parse_ok("1970-01-01T00:00:00.12Z"), 120);
    cr_assert_eq(parse_ok("1970-01-01T00:00:00.123Z"), 123);
    cr_assert_eq(parse_ok("1970-01-01T00:00:00.1239Z"), 123);
    cr_assert_eq(parse_ok("1970-01-01T00:00:00.999999999999999999999Z"), 999);
    /* Before the epoch truncation still goes to the past (floor), not to 0. */
    cr_assert_eq(parse_ok("1969-12-31T23:59:59.9999Z"), -1);
    cr_assert_eq(parse_ok("1969-12-31T23:59:59.0005Z"), -1000);
    cr_assert_eq(parse_ok("1969-12-31T23:59:58.5009Z"), -1500);
}

Test(time_parse, leap_years) {
    cr_assert_eq(parse_ok("2024-02-29T00:00:00Z"), INT64_C(1709164800000));
    cr_assert_eq(parse_ok("2000-02-29T12:00:00Z"), INT64_C(951825600000));
    cr_assert_eq(parse_ok("2024-03-01T00:00:00Z") - parse_ok("2024-02-28T00:00:00Z"),
                 2 * INT64_C(86400000));
    cr_assert_eq(parse_ok("2023-03-01T00:00:00Z") - parse_ok("2023-02-28T00:00:00Z"),
                 INT64_C(86400000));
    parse_ok("0000-02-29T00:00:00Z"); /* year 0 is a leap year (proleptic) */
    parse_ok("1600-02-29T00:00:00Z");
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("1900-02-29T00:00:00Z");
    parse_bad("2100-02-29T00:00:00Z");
    parse_bad("2024-02-30T00:00:00Z");
}

Test(time_parse, day_ranges) {
    parse_ok("2026-01-31T00:00:00Z");
    parse_bad("2026-01-32T00:00:00Z");
    parse_ok("2026-04-30T00:00:00Z");
    parse_bad("2026-04-31T00:00:00Z");
    parse_bad("2026-06-31T00:00:00Z");
    parse_bad("2026-09-31T00:00:00Z");
    parse_bad("2026-11-31T00:00:00Z");
    parse_ok("2026-12-31T23:59:59.999Z");
    parse_bad("2026-00-10T00:00:00Z");
    parse_bad("2026-13-10T00:00:00Z");
    parse_bad("2026-01-00T00:00:00Z");
}

Test(time_parse, clock_ranges) {
    parse_bad("2026-01-01T24:00:00Z");
    parse_bad("2026-01-01T23:60:00Z");
    parse_bad("2026-01-01T23:59:60Z"); /* leap seconds are refused */
    parse_bad("2026-01-01T00:00:00+24:00");
    parse_bad("2026-01-01T00:00:00+01:60");
    parse_ok("2026-01-01T00:00:00+23:59");
}

Test(time_parse, range_boundaries) {
    cr_assert_eq(parse_ok("0000-01-01T00:00:00Z"), FR_TIME_MIN_MS);
    cr_assert_eq(parse_ok("9999-12-31T23:59:59.999Z"), FR_TIME_MAX_MS);
    cr_assert_eq(parse_ok("9999-12-31T23:59:59.9999999Z"), FR_TIME_MAX_MS);
    /* Offsets that push an in-text date outside the range. */
    parse_bad("0000-01-01T00:00:00+00:01");
    parse_bad("9999-12-31T23:59:59-00:01");
    cr_assert_eq(parse_ok("0000-01-01T00:59:00+00:59"), FR_TIME_MIN_MS);
    cr_assert_eq(parse_ok("9999-12-31T22:59:59.999-01:00"), FR_TIME_MAX_MS);
}

Test(time_parse, garbage) {
    const char *bad[] = {
        "",
        "2026",
        "2026-11-26",
        "2026-11-26T14:00",
        "2026-11-26T14:00:00",        /* no offset */
        "2026-11-26 14:00:00Z",       /* space separator */
        "2026-11-26_14:00:00Z",
        "2026-11-26T14:00:00ZZ",
        "2026-11-26T14:00:00Z ",
        " 2026-11-26T14:00:00Z",
        "2026-11-26T14:00:00.Z",      /* empty fraction */
        "2026-11-26T14:00:00,5Z",     /* comma fraction */
        "2026-11-26T14:00:00+01",
        "2026-11-26T14:00:00+0100",
        "2026-11-26T14:00:00+1:00",
        "2026-11-26T14:00:00 +01:00",
        "2026-11-26T14:00:00UTC",
        "2026-1-26T14:00:00Z",
        "2026-11-6T14:00:00Z",
        "2026-11-26T4:00:00Z",
        "26-11-26T14:00:00Z",
        "+2026-11-26T14:00:00Z",
        "-0001-01-01T00:00:00Z",
        "12026-11-26T14:00:00Z",
        "2026/11/26T14:00:00Z",
        "2026-11-26T14:00:00.12a3Z",
        "2026-11-26T14:00:00\nZ",
        "2026-1a-26T14:00:00Z",
        "now",
        "1795701600000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parse_bad(bad[i]);
    }
    parse_bad(NULL);
    cr_assert_eq(fr_time_parse("2026-11-26T14:00:00Z", NULL), FR_EINVAL);
}

Test(time_parse, embedded_nul_stops) {
    const char text[] = "2026-11-26T14:00:00Z\0garbage";
    cr_assert_eq(parse_ok(text), INT64_C(1795701600000));
}

/* --------------------------------------------------------------- time format */

Test(time_format, known_values) {
    format_is(0, "1970-01-01T00:00:00.000Z");
    format_is(1, "1970-01-01T00:00:00.001Z");
    format_is(-1, "1969-12-31T23:59:59.999Z");
    format_is(-1000, "1969-12-31T23:59:59.000Z");
    format_is(-1001, "1969-12-31T23:59:58.999Z");
    format_is(INT64_C(1795701600000), "2026-11-26T14:00:00.000Z");
    format_is(INT64_C(1709164800000) + 3723004, "2024-02-29T01:02:03.004Z");
    format_is(FR_TIME_MIN_MS, "0000-01-01T00:00:00.000Z");
    format_is(FR_TIME_MAX_MS, "9999-12-31T23:59:59.999Z");
    format_is(INT64_C(951782400000), "2000-02-29T00:00:00.000Z");
}

Test(time_format, out_of_range_and_small_buffers) {
    char buf[64];
    memset(buf, 'x', sizeof buf);
    cr_assert_eq(fr_time_format(FR_TIME_MIN_MS - 1, buf, sizeof buf), 0);
    cr_assert_eq(fr_time_format(FR_TIME_MAX_MS + 1, buf, sizeof buf), 0);
    cr_assert_eq(fr_time_format(FR_TIME_NULL, buf, sizeof buf), 0);
    cr_assert_eq(fr_time_format(FR_TIME_INF, buf, sizeof buf), 0);
    cr_assert_eq(fr_time_format(0, buf, 24), 0);
    cr_assert_eq(buf[0], 'x', "nothing written when refused");
    cr_assert_eq(fr_time_format(0, buf, 25), 24);
    cr_assert_eq(fr_time_format(0, NULL, 100), 0);
}

/* Deterministic xorshift so that failures are repeatable. */
static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

Test(time_format, round_trip_sweep) {
    const uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t state = seed;
    const uint64_t span = (uint64_t)(FR_TIME_MAX_MS - FR_TIME_MIN_MS) + 1;
    for (int i = 0; i < 200000; i++) {
        const int64_t ms = FR_TIME_MIN_MS + (int64_t)(next_random(&state) % span);
        char buf[32];
        cr_assert_eq(fr_time_format(ms, buf, sizeof buf), 24, "seed %llx ms %lld",
                     (unsigned long long)seed, (long long)ms);
        int64_t back = 0;
        cr_assert_eq(fr_time_parse(buf, &back), FR_OK, "seed %llx text %s",
                     (unsigned long long)seed, buf);
        cr_assert_eq(back, ms, "seed %llx text %s", (unsigned long long)seed, buf);
    }
}

/* Times of one day in a row (the formatter keeps the last day's date), and
 * the same instants formatted between days again. */
Test(time_format, same_day_in_a_row) {
    const int64_t day = parse_ok("2026-11-27T00:00:00Z");
    static const char *times[] = {"2026-11-27T00:00:00.000Z", "2026-11-27T07:30:15.250Z",
                                  "2026-11-27T23:59:59.999Z"};
    const int64_t offsets[] = {0, INT64_C(27015250), INT64_C(86399999)};
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3; i++) {
            format_is(day + offsets[i], times[i]);
        }
        format_is(day + INT64_C(86400000), "2026-11-28T00:00:00.000Z");
        format_is(day - 1, "2026-11-26T23:59:59.999Z");
    }
}

Test(time_format, every_day_is_consecutive) {
    /* Walk every day of 1899..2101 and check the text advances one day at a
     * time with month lengths and leap years as the calendar says. */
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t ms = parse_ok("1899-01-01T12:00:00Z");
    for (int year = 1899; year <= 2101; year++) {
        const int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        for (int month = 1; month <= 12; month++) {
            const int days = month_days[month - 1] + (month == 2 && leap);
            for (int day = 1; day <= days; day++) {
                char expected[64];
                snprintf(expected, sizeof expected, "%04d-%02d-%02dT12:00:00.000Z", year, month,
                         day);
                format_is(ms, expected);
                ms += INT64_C(86400000);
            }
        }
    }
}

/* ------------------------------------------------------------------ quantity */

static int64_t qty_ok(const char *text) {
    int64_t milli = 777;
    int rc = fr_qty_parse(text, &milli);
    cr_assert_eq(rc, FR_OK, "fr_qty_parse(\"%s\") = %d", text, rc);
    return milli;
}

static void qty_bad(const char *text) {
    int64_t milli = 777;
    int rc = fr_qty_parse(text, &milli);
    cr_assert_eq(rc, FR_EINVAL, "fr_qty_parse(\"%s\") accepted (%lld)", text ? text : "(null)",
                 (long long)milli);
    cr_assert_eq(milli, 777);
}

static void qty_format_is(int64_t milli, const char *expected) {
    char buf[32];
    size_t n = fr_qty_format(milli, buf, sizeof buf);
    cr_assert_eq(n, strlen(expected), "length for %lld", (long long)milli);
    cr_assert_str_eq(buf, expected);
}

Test(qty_parse, plain) {
    cr_assert_eq(qty_ok("0"), 0);
    cr_assert_eq(qty_ok("-0"), 0);
    cr_assert_eq(qty_ok("12"), 12000);
    cr_assert_eq(qty_ok("0.5"), 500);
    cr_assert_eq(qty_ok("-2.125"), -2125);
    cr_assert_eq(qty_ok("0.001"), 1);
    cr_assert_eq(qty_ok("0.1"), 100);
    cr_assert_eq(qty_ok("1.5000"), 1500);
    cr_assert_eq(qty_ok("1.000000000000000000000"), 1000);
    cr_assert_eq(qty_ok("007"), 7000);
    cr_assert_eq(qty_ok("123456789012.345"), INT64_C(123456789012345));
}

Test(qty_parse, exponents) {
    cr_assert_eq(qty_ok("1e3"), 1000000);
    cr_assert_eq(qty_ok("12e2"), 1200000);
    cr_assert_eq(qty_ok("1E3"), 1000000);
    cr_assert_eq(qty_ok("1e+3"), 1000000);
    cr_assert_eq(qty_ok("1e-3"), 1);
    cr_assert_eq(qty_ok("1.5e-2"), 15); /* 0.015 */
    cr_assert_eq(qty_ok("-2.5e-1"), -250);
    cr_assert_eq(qty_ok("1000e-6"), 1);
    cr_assert_eq(qty_ok("0e999999999999999999999"), 0);
    cr_assert_eq(qty_ok("0.000e-999999999999"), 0);
    cr_assert_eq(qty_ok("1e12"), FR_QTY_MAX_MILLI);
    cr_assert_eq(qty_ok("0.000001e9"), 1000000);
    cr_assert_eq(qty_ok("100000000000000e-2"), FR_QTY_MAX_MILLI);
}

Test(qty_parse, more_than_three_decimals) {
    qty_bad("1.0005");
    qty_bad("0.0001");
    qty_bad("1e-4");
    qty_bad("1.5e-3"); /* 0.0015 */
    qty_bad("1.5e-4");
    qty_bad("123456789012.3451");
    qty_bad("1e-999999999999999");
}

Test(qty_parse, magnitude) {
    cr_assert_eq(qty_ok("1000000000000"), FR_QTY_MAX_MILLI);
    cr_assert_eq(qty_ok("-1000000000000"), -FR_QTY_MAX_MILLI);
    cr_assert_eq(qty_ok("999999999999.999"), FR_QTY_MAX_MILLI - 1);
    qty_bad("1000000000000.001");
    qty_bad("-1000000000000.001");
    qty_bad("1e13");
    qty_bad("1.000000000001e12");
    qty_bad("99999999999999999999999999999999");
    qty_bad("1e999999999999999999999");
    qty_bad("9223372036854775807");
    qty_bad("18446744073709551617");
}

Test(qty_parse, garbage) {
    const char *bad[] = {"",     "-",     "+1",   " 1",   "1 ",   "1.",   ".5",    "-.5",
                         "1e",   "1e+",   "1e-",  "e3",   "nan",  "NaN",  "inf",   "-inf",
                         "Infinity", "0x10", "0x1p3", "1,5", "1_000", "--1", "1-", "1.2.3",
                         "1e3.5", "1ee3", "١",   "1\n",  "\t1",  "1d",   "1f",    "12e2e2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        qty_bad(bad[i]);
    }
    qty_bad(NULL);
    cr_assert_eq(fr_qty_parse("1", NULL), FR_EINVAL);
}

Test(qty_format, shortest_exact) {
    qty_format_is(0, "0");
    qty_format_is(12000, "12");
    qty_format_is(500, "0.5");
    qty_format_is(-2125, "-2.125");
    qty_format_is(1, "0.001");
    qty_format_is(-1, "-0.001");
    qty_format_is(10, "0.01");
    qty_format_is(1200, "1.2");
    qty_format_is(1020, "1.02");
    qty_format_is(1001, "1.001");
    qty_format_is(INT64_C(123456789012345), "123456789012.345");
    qty_format_is(FR_QTY_MAX_MILLI, "1000000000000");
    qty_format_is(INT64_MAX, "9223372036854775.807");
    qty_format_is(INT64_MIN, "-9223372036854775.808");
}

Test(qty_format, small_buffers) {
    char buf[8];
    memset(buf, 'x', sizeof buf);
    cr_assert_eq(fr_qty_format(-2125, buf, 6), 0); /* "-2.125" needs 7 */
    cr_assert_eq(buf[0], 'x');
    cr_assert_eq(fr_qty_format(-2125, buf, 7), 6);
    cr_assert_str_eq(buf, "-2.125");
    cr_assert_eq(fr_qty_format(0, buf, 1), 0);
    cr_assert_eq(fr_qty_format(0, buf, 2), 1);
    cr_assert_eq(fr_qty_format(0, NULL, 10), 0);
}

Test(qty_format, round_trip_sweep) {
    const uint64_t seed = UINT64_C(0x2545f4914f6cdd1d);
    uint64_t state = seed;
    for (int i = 0; i < 200000; i++) {
        const uint64_t r = next_random(&state);
        /* Mix magnitudes: small values, values near the bound, everything. */
        int64_t milli = (int64_t)(r % (2 * (uint64_t)FR_QTY_MAX_MILLI + 1)) - FR_QTY_MAX_MILLI;
        if (i % 3 == 0) {
            milli %= 100000;
        }
        char buf[32];
        cr_assert_neq(fr_qty_format(milli, buf, sizeof buf), 0);
        int64_t back = 0;
        cr_assert_eq(fr_qty_parse(buf, &back), FR_OK, "seed %llx text %s",
                     (unsigned long long)seed, buf);
        cr_assert_eq(back, milli, "seed %llx text %s", (unsigned long long)seed, buf);
        /* Shortest: never a trailing zero after the point. */
        const size_t len = strlen(buf);
        if (strchr(buf, '.') != NULL) {
            cr_assert_neq(buf[len - 1], '0', "not shortest: %s", buf);
        }
    }
}
