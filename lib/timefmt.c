/*
 * timefmt.c — the public scalar helpers: RFC 3339 instants and exact decimal
 * quantities.
 *
 * Instants are int64 milliseconds since the Unix epoch.  Parsing accepts
 * exactly `YYYY-MM-DD(T|t)HH:MM:SS[.fraction](Z|z|+HH:MM|-HH:MM)`: no space
 * separator, no leap second (60), no missing parts.  The calendar arithmetic is
 * Howard Hinnant's days-from-civil algorithm (proleptic Gregorian, UTC), so
 * nothing depends on the C library's time zone or locale.
 *
 * Quantities are int64 milli-units.  The decimal text is converted with integer
 * arithmetic only (no strtod): the digits are kept as a significand and a
 * power of ten, so "0.1" is exactly 100 milli-units and "1.0005" is refused
 * rather than rounded.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "fleetres.h"

#define MS_PER_SECOND INT64_C(1000)
#define MS_PER_DAY (INT64_C(86400) * MS_PER_SECOND)
/* Length of "YYYY-MM-DDTHH:MM:SS.mmmZ". */
#define TIME_TEXT_LEN 24

/* ---------------------------------------------------------------------------
 * Calendar.
 * ------------------------------------------------------------------------- */

static int is_leap_year(int64_t year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int64_t year, int month) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    assert(month >= 1 && month <= 12);
    if (month == 2 && is_leap_year(year)) {
        return 29;
    }
    return days[month - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
static int64_t days_from_civil(int64_t year, int month, int day) {
    assert(month >= 1 && month <= 12 && day >= 1 && day <= 31);
    year -= month <= 2 ? 1 : 0;
    const int64_t era = (year >= 0 ? year : year - 399) / 400;
    const int64_t year_of_era = year - era * 400;                           /* [0, 399] */
    const int64_t month_shifted = month > 2 ? month - 3 : month + 9;        /* March = 0 */
    const int64_t day_of_year = (153 * month_shifted + 2) / 5 + day - 1;    /* [0, 365] */
    const int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year; /* [0, 146096] */
    return era * 146097 + day_of_era - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t days, int64_t *year, int *month, int *day) {
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const int64_t day_of_era = days - era * 146097;                         /* [0, 146096] */
    const int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const int64_t month_shifted = (5 * day_of_year + 2) / 153;              /* [0, 11] */
    *day = (int)(day_of_year - (153 * month_shifted + 2) / 5 + 1);
    *month = (int)(month_shifted < 10 ? month_shifted + 3 : month_shifted - 9);
    *year = year_of_era + era * 400 + (*month <= 2 ? 1 : 0);
}

static int64_t floor_div(int64_t a, int64_t b) {
    assert(b > 0);
    int64_t q = a / b;
    if (a % b != 0 && a < 0) {
        q -= 1;
    }
    return q;
}

/* ---------------------------------------------------------------------------
 * RFC 3339 parsing.
 * ------------------------------------------------------------------------- */

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Reads exactly n digits at *p into *out and advances *p; 0 if not digits. */
static int read_digits(const char **p, int n, int *out) {
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i])) {
            return 0;
        }
        value = value * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = value;
    return 1;
}

/* Consumes the single character c at *p; 0 if it is not there. */
static int expect_char(const char **p, char c) {
    if (**p != c) {
        return 0;
    }
    *p += 1;
    return 1;
}

typedef struct civil_time {
    int year, month, day, hour, minute, second;
    int millis;
    int offset_minutes; /* local - UTC */
} civil_time;

static int parse_date_time(const char **p, civil_time *t) {
    if (!read_digits(p, 4, &t->year) || !expect_char(p, '-') || !read_digits(p, 2, &t->month) ||
        !expect_char(p, '-') || !read_digits(p, 2, &t->day)) {
        return 0;
    }
    if (**p != 'T' && **p != 't') {
        return 0;
    }
    *p += 1;
    if (!read_digits(p, 2, &t->hour) || !expect_char(p, ':') || !read_digits(p, 2, &t->minute) ||
        !expect_char(p, ':') || !read_digits(p, 2, &t->second)) {
        return 0;
    }
    return 1;
}

/* Optional fraction: any number of digits, truncated to milliseconds.  The
 * fraction is non-negative, so truncating it always rounds toward the past. */
static int parse_fraction(const char **p, civil_time *t) {
    t->millis = 0;
    if (**p != '.') {
        return 1;
    }
    *p += 1;
    if (!is_digit(**p)) {
        return 0;
    }
    int kept = 0;
    while (is_digit(**p)) {
        if (kept < 3) {
            t->millis = t->millis * 10 + (**p - '0');
            kept += 1;
        }
        *p += 1;
    }
    while (kept < 3) {
        t->millis *= 10;
        kept += 1;
    }
    return 1;
}

static int parse_offset(const char **p, civil_time *t) {
    if (**p == 'Z' || **p == 'z') {
        *p += 1;
        t->offset_minutes = 0;
        return 1;
    }
    if (**p != '+' && **p != '-') {
        return 0;
    }
    const int sign = **p == '-' ? -1 : 1;
    *p += 1;
    int hours = 0;
    int minutes = 0;
    if (!read_digits(p, 2, &hours) || !expect_char(p, ':') || !read_digits(p, 2, &minutes)) {
        return 0;
    }
    if (hours > 23 || minutes > 59) {
        return 0;
    }
    t->offset_minutes = sign * (hours * 60 + minutes);
    return 1;
}

static int civil_time_valid(const civil_time *t) {
    if (t->month < 1 || t->month > 12) {
        return 0;
    }
    if (t->day < 1 || t->day > days_in_month(t->year, t->month)) {
        return 0;
    }
    return t->hour <= 23 && t->minute <= 59 && t->second <= 59;
}

int fr_time_parse(const char *text, int64_t *out_ms) {
    if (text == NULL || out_ms == NULL) {
        return FR_EINVAL;
    }
    const char *p = text;
    civil_time t;
    memset(&t, 0, sizeof t);
    if (!parse_date_time(&p, &t) || !parse_fraction(&p, &t) || !parse_offset(&p, &t)) {
        return FR_EINVAL;
    }
    if (*p != '\0' || !civil_time_valid(&t)) {
        return FR_EINVAL;
    }
    const int64_t days = days_from_civil(t.year, t.month, t.day);
    const int64_t seconds = days * 86400 + t.hour * 3600 + t.minute * 60 + t.second -
                            (int64_t)t.offset_minutes * 60;
    const int64_t ms = seconds * MS_PER_SECOND + t.millis;
    if (ms < FR_TIME_MIN_MS || ms > FR_TIME_MAX_MS) {
        return FR_EINVAL;
    }
    *out_ms = ms;
    return FR_OK;
}

/* ---------------------------------------------------------------------------
 * RFC 3339 formatting.
 * ------------------------------------------------------------------------- */

/* Writes value as exactly n zero-padded digits at buf. */
static void put_digits(char *buf, int64_t value, int n) {
    assert(value >= 0);
    for (int i = n - 1; i >= 0; i--) {
        buf[i] = (char)('0' + value % 10);
        value /= 10;
    }
    assert(value == 0);
}

size_t fr_time_format(int64_t ms, char *buf, size_t size) {
    if (buf == NULL || size < TIME_TEXT_LEN + 1 || ms < FR_TIME_MIN_MS || ms > FR_TIME_MAX_MS) {
        return 0;
    }
    const int64_t days = floor_div(ms, MS_PER_DAY);
    const int64_t ms_of_day = ms - days * MS_PER_DAY;
    assert(ms_of_day >= 0 && ms_of_day < MS_PER_DAY);
    /* Times written together mostly share their day (a conflict's start,
     * end and timestamps, a page of events): the calendar arithmetic is
     * done once a day per thread. */
    static _Thread_local int64_t cached_days = INT64_MIN;
    static _Thread_local char cached_date[11];
    if (days != cached_days) {
        int64_t year = 0;
        int month = 0;
        int day = 0;
        civil_from_days(days, &year, &month, &day);
        assert(year >= 0 && year <= 9999);
        put_digits(cached_date, year, 4);
        cached_date[4] = '-';
        put_digits(cached_date + 5, month, 2);
        cached_date[7] = '-';
        put_digits(cached_date + 8, day, 2);
        cached_date[10] = 'T';
        cached_days = days;
    }
    memcpy(buf, cached_date, 11);
    put_digits(buf + 11, ms_of_day / 3600000, 2);
    buf[13] = ':';
    put_digits(buf + 14, ms_of_day / 60000 % 60, 2);
    buf[16] = ':';
    put_digits(buf + 17, ms_of_day / 1000 % 60, 2);
    buf[19] = '.';
    put_digits(buf + 20, ms_of_day % 1000, 3);
    buf[23] = 'Z';
    buf[TIME_TEXT_LEN] = '\0';
    return TIME_TEXT_LEN;
}

/* ---------------------------------------------------------------------------
 * Quantities.
 * ------------------------------------------------------------------------- */

/* Exponents beyond this are clamped: any number they could produce is far
 * outside the accepted range anyway (or exactly zero). */
#define EXPONENT_CLAMP INT64_C(1000000000)
/* Significant digits of the largest accepted milli value (1e15). */
#define QTY_MAX_DIGITS 16

/* The pieces of a decimal number's text: `-? int (. frac)? ([eE] [+-]? exp)?`. */
typedef struct decimal_text {
    int negative;
    const char *int_digits;
    int64_t int_len;
    const char *frac_digits;
    int64_t frac_len;
    int64_t exponent;
} decimal_text;

static int64_t count_digits(const char *p) {
    int64_t n = 0;
    while (is_digit(p[n])) {
        n += 1;
    }
    return n;
}

/* Splits text into its parts; 0 when it does not follow the grammar. */
static int split_decimal(const char *text, decimal_text *d) {
    const char *p = text;
    memset(d, 0, sizeof *d);
    if (*p == '-') {
        d->negative = 1;
        p += 1;
    }
    d->int_digits = p;
    d->int_len = count_digits(p);
    if (d->int_len == 0) {
        return 0;
    }
    p += d->int_len;
    if (*p == '.') {
        p += 1;
        d->frac_digits = p;
        d->frac_len = count_digits(p);
        if (d->frac_len == 0) {
            return 0;
        }
        p += d->frac_len;
    }
    if (*p == 'e' || *p == 'E') {
        p += 1;
        int64_t sign = 1;
        if (*p == '+' || *p == '-') {
            sign = *p == '-' ? -1 : 1;
            p += 1;
        }
        if (!is_digit(*p)) {
            return 0;
        }
        int64_t exponent = 0;
        while (is_digit(*p)) {
            if (exponent < EXPONENT_CLAMP) {
                exponent = exponent * 10 + (*p - '0');
            }
            p += 1;
        }
        d->exponent = sign * exponent;
    }
    return *p == '\0';
}

/* The i-th digit of the significand int_digits ++ frac_digits. */
static int significand_digit(const decimal_text *d, int64_t i) {
    assert(i >= 0 && i < d->int_len + d->frac_len);
    const char c = i < d->int_len ? d->int_digits[i] : d->frac_digits[i - d->int_len];
    return c - '0';
}

int fr_qty_parse(const char *text, int64_t *out_milli) {
    if (text == NULL || out_milli == NULL) {
        return FR_EINVAL;
    }
    decimal_text d;
    if (!split_decimal(text, &d)) {
        return FR_EINVAL;
    }
    /* value = significand * 10^(exponent - frac_len); strip the zeros at both
     * ends of the significand so that what is left starts and ends non-zero. */
    const int64_t total = d.int_len + d.frac_len;
    int64_t first = 0;
    while (first < total && significand_digit(&d, first) == 0) {
        first += 1;
    }
    if (first == total) {
        *out_milli = 0; /* zero, whatever its exponent or sign */
        return FR_OK;
    }
    int64_t last = total - 1;
    while (significand_digit(&d, last) == 0) {
        last -= 1;
    }
    const int64_t digits = last - first + 1;
    /* milli = D * 10^power, D = digits first..last, which does not end in 0. */
    const int64_t power = d.exponent - d.frac_len + (total - 1 - last) + 3;
    if (power < 0) {
        return FR_EINVAL; /* more than 3 decimals */
    }
    if (digits + power > QTY_MAX_DIGITS) {
        return FR_EINVAL; /* >= 1e16 milli, beyond 1e12 */
    }
    uint64_t milli = 0;
    for (int64_t i = first; i <= last; i++) {
        milli = milli * 10 + (uint64_t)significand_digit(&d, i);
    }
    for (int64_t i = 0; i < power; i++) {
        milli *= 10;
    }
    if (milli > (uint64_t)FR_QTY_MAX_MILLI) {
        return FR_EINVAL;
    }
    *out_milli = d.negative ? -(int64_t)milli : (int64_t)milli;
    return FR_OK;
}

size_t fr_qty_format(int64_t milli, char *buf, size_t size) {
    if (buf == NULL) {
        return 0;
    }
    /* Enough for "-9223372036854775.808". */
    char text[32];
    size_t len = 0;
    const uint64_t magnitude = milli < 0 ? (uint64_t)0 - (uint64_t)milli : (uint64_t)milli;
    uint64_t whole = magnitude / 1000;
    uint64_t fraction = magnitude % 1000;
    int fraction_len = 3;
    while (fraction_len > 0 && fraction % 10 == 0) {
        fraction /= 10;
        fraction_len -= 1;
    }
    /* Built backwards: fraction, point, whole part, sign. */
    for (int i = 0; i < fraction_len; i++) {
        text[len++] = (char)('0' + fraction % 10);
        fraction /= 10;
    }
    if (fraction_len > 0) {
        text[len++] = '.';
    }
    do {
        text[len++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole > 0);
    if (milli < 0) {
        text[len++] = '-';
    }
    assert(len < sizeof text);
    if (len + 1 > size) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        buf[i] = text[len - 1 - i];
    }
    buf[len] = '\0';
    return len;
}
