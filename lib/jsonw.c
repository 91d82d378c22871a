/*
 * jsonw.c — a JSON text writer for the hot rendering paths; see jsonw.h.
 */
#include "jsonw.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"
#include "uuid.h"

/* Unused bytes a finished text may keep (less is not worth a realloc). */
#define JW_SLACK_KEPT 64u

/* Room for any integer, quantity or time text. */
#define JW_NUMBER_TEXT_SIZE 48

void fr__jw_init(fr__jw *w, size_t size_hint) {
    assert(w != NULL);
    memset(w, 0, sizeof *w);
    w->cap = size_hint < 64 ? 64 : size_hint;
    w->buf = malloc(w->cap);
    w->ok = w->buf != NULL;
}

char *fr__jw_finish(fr__jw *w) {
    assert(w != NULL);
    assert(!w->ok || w->depth == 0);
    char *text = NULL;
    if (w->ok) {
        assert(w->len < w->cap);
        w->buf[w->len] = '\0';
        text = w->buf;
        /* Texts are often kept (the memory store's event log): give back
         * what the hint or the doubling left over, in place (a failed
         * shrink leaves the larger block, which is as good). */
        if (w->cap - w->len > JW_SLACK_KEPT) {
            char *fitted = realloc(text, w->len + 1);
            text = fitted != NULL ? fitted : text;
        }
    } else {
        free(w->buf);
    }
    memset(w, 0, sizeof *w);
    return text;
}

/* Makes room for n more bytes and the final NUL; false once failed. */
static int reserve(fr__jw *w, size_t n) {
    if (!w->ok) {
        return 0;
    }
    if (n < w->cap - w->len) {
        return 1;
    }
    size_t cap = w->cap;
    while (n >= cap - w->len) {
        if (cap > SIZE_MAX / 2) {
            w->ok = 0;
            return 0;
        }
        cap *= 2;
    }
    char *grown = realloc(w->buf, cap);
    if (grown == NULL) {
        w->ok = 0;
        return 0;
    }
    w->buf = grown;
    w->cap = cap;
    return 1;
}

static void append(fr__jw *w, const char *bytes, size_t n) {
    if (reserve(w, n)) {
        memcpy(w->buf + w->len, bytes, n);
        w->len += n;
    }
}

static void append_char(fr__jw *w, char c) {
    if (reserve(w, 1)) {
        w->buf[w->len++] = c;
    }
}

/* The comma before every element of a container but the first. */
static void separate(fr__jw *w) {
    if (w->depth > 0) {
        if (!w->first[w->depth - 1]) {
            append_char(w, ',');
        }
        w->first[w->depth - 1] = 0;
    }
}

static void value_start(fr__jw *w);
static void value_end(fr__jw *w);

static void open_container(fr__jw *w, char bracket) {
    value_start(w);
    append_char(w, bracket);
    if (w->depth >= JW_DEPTH_MAX) {
        w->ok = 0; /* deeper than any entity we render: a bug upstream */
        return;
    }
    w->first[w->depth++] = 1;
}

static void close_container(fr__jw *w, char bracket) {
    assert(!w->ok || w->depth > 0);
    if (w->depth > 0) {
        w->depth--;
    }
    append_char(w, bracket);
    value_end(w);
}

void fr__jw_object_begin(fr__jw *w) { open_container(w, '{'); }

void fr__jw_object_end(fr__jw *w) { close_container(w, '}'); }

void fr__jw_array_begin(fr__jw *w) { open_container(w, '['); }

void fr__jw_array_end(fr__jw *w) { close_container(w, ']'); }

/* The escape of a byte that needs one (cJSON's print_string_ptr: the short
 * forms, else \u00xx) into esc; returns its length. */
static size_t escape_of(unsigned char c, char esc[6]) {
    static const char hex[] = "0123456789abcdef";
    esc[0] = '\\';
    switch (c) {
    case '"': esc[1] = '"'; return 2;
    case '\\': esc[1] = '\\'; return 2;
    case '\b': esc[1] = 'b'; return 2;
    case '\f': esc[1] = 'f'; return 2;
    case '\n': esc[1] = 'n'; return 2;
    case '\r': esc[1] = 'r'; return 2;
    case '\t': esc[1] = 't'; return 2;
    default:
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        return 6;
    }
}

static int needs_escape(unsigned char c) { return c < 32 || c == '"' || c == '\\'; }

/* Whether none of the 8 bytes of w needs an escape: no byte < 0x20, none
 * equal to '"' or '\\' (the classic exact "has a zero / has less than n
 * byte" word tests; a byte >= 0x80 is never flagged). */
static int word_is_plain(uint64_t w) {
    const uint64_t ones = UINT64_C(0x0101010101010101);
    const uint64_t highs = UINT64_C(0x8080808080808080);
    uint64_t quote = w ^ (ones * '"');
    uint64_t backslash = w ^ (ones * '\\');
    uint64_t control = (w - ones * 0x20) & ~w & highs;
    uint64_t has_quote = (quote - ones) & ~quote & highs;
    uint64_t has_backslash = (backslash - ones) & ~backslash & highs;
    return (control | has_quote | has_backslash) == 0;
}

/* Length of the run at p (of n bytes) that needs no escape: eight bytes at a
 * time (ids, names and times are long plain runs), then byte by byte. */
static size_t plain_run(const unsigned char *p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        if (!word_is_plain(w)) {
            break;
        }
    }
    while (i < n && !needs_escape(p[i])) {
        i++;
    }
    return i;
}

/* A quoted, escaped string, exactly as cJSON prints it; runs of bytes that
 * need no escape are copied at once. */
static void quoted(fr__jw *w, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    if (!reserve(w, n + 2)) {
        return;
    }
    w->buf[w->len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t run = plain_run(p + i, n - i);
        append(w, (const char *)p + i, run);
        i += run;
        if (i < n) {
            char esc[6];
            append(w, esc, escape_of(p[i], esc));
            i++;
        }
    }
    append_char(w, '"');
}

/* After a member name: the value that follows must not separate itself
 * again. */
static void key_end(fr__jw *w) {
    if (w->depth > 0) {
        w->first[w->depth - 1] = 1;
    }
}

/* "name": for a name with nothing to escape, written at once. */
static void plain_key(fr__jw *w, const char *name, size_t n) {
    if (reserve(w, n + 3)) {
        w->buf[w->len] = '"';
        memcpy(w->buf + w->len + 1, name, n);
        w->buf[w->len + n + 1] = '"';
        w->buf[w->len + n + 2] = ':';
        w->len += n + 3;
    }
}

void fr__jw_key(fr__jw *w, const char *name) {
    assert(name != NULL);
    size_t n = strlen(name);
    separate(w);
    if (plain_run((const unsigned char *)name, n) != n) {
        quoted(w, name);
        append_char(w, ':');
    } else {
        plain_key(w, name, n);
    }
    key_end(w);
}

void fr__jw_key_plain(fr__jw *w, const char *name, size_t len) {
    assert(name != NULL && strlen(name) == len);
    assert(plain_run((const unsigned char *)name, len) == len);
    separate(w);
    plain_key(w, name, len);
    key_end(w);
}

/* Every value: separated from the previous element of an array; a member
 * value right after its key is not (fr__jw_key marked the container). */
static void value_start(fr__jw *w) { separate(w); }

/* After a member value, the container has content again. */
static void value_end(fr__jw *w) {
    if (w->depth > 0) {
        w->first[w->depth - 1] = 0;
    }
}

void fr__jw_string(fr__jw *w, const char *s) {
    value_start(w);
    if (s == NULL) {
        append(w, "null", 4);
    } else {
        quoted(w, s);
    }
    value_end(w);
}

void fr__jw_null(fr__jw *w) {
    value_start(w);
    append(w, "null", 4);
    value_end(w);
}

void fr__jw_bool(fr__jw *w, int value) {
    value_start(w);
    if (value) {
        append(w, "true", 4);
    } else {
        append(w, "false", 5);
    }
    value_end(w);
}

void fr__jw_int(fr__jw *w, int64_t value) {
    char text[JW_NUMBER_TEXT_SIZE];
    size_t len = 0;
    uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    do { /* backwards */
        text[len++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    if (value < 0) {
        text[len++] = '-';
    }
    char forward[JW_NUMBER_TEXT_SIZE];
    for (size_t i = 0; i < len; i++) {
        forward[i] = text[len - 1 - i];
    }
    value_start(w);
    append(w, forward, len);
    value_end(w);
}

void fr__jw_qty(fr__jw *w, int64_t milli) {
    char text[JW_NUMBER_TEXT_SIZE];
    size_t len = fr_qty_format(milli, text, sizeof text);
    assert(len > 0);
    value_start(w);
    append(w, text, len);
    value_end(w);
}

void fr__jw_time(fr__jw *w, int64_t ms) {
    char text[JW_NUMBER_TEXT_SIZE];
    if (ms == FR_TIME_NULL || ms == FR_TIME_INF || fr_time_format(ms, text, sizeof text) == 0) {
        fr__jw_null(w);
        return;
    }
    /* Digits, '-', ':', '.', 'T', 'Z': nothing to escape. */
    size_t n = strlen(text);
    value_start(w);
    if (reserve(w, n + 2)) {
        w->buf[w->len] = '"';
        memcpy(w->buf + w->len + 1, text, n);
        w->buf[w->len + n + 1] = '"';
        w->len += n + 2;
    }
    value_end(w);
}

void fr__jw_id(fr__jw *w, const char *id) {
    fr__jw_string(w, id != NULL && id[0] != '\0' ? id : NULL);
}

/* Whether id is a 36-byte text none of whose bytes needs an escape (a UUID):
 * five overlapping words, no branch per byte.  A NUL is a control byte, so
 * a shorter text fails the test and takes the general path. */
static int is_plain_uuid_sized(const char id[FR_ID_SIZE]) {
    static const size_t at[5] = {0, 8, 16, 24, FR_ID_SIZE - 1 - 8};
    int plain = id[FR_ID_SIZE - 1] == '\0';
    for (size_t k = 0; k < 5; k++) {
        uint64_t word;
        memcpy(&word, id + at[k], sizeof word);
        plain &= word_is_plain(word);
    }
    return plain;
}

void fr__jw_id_array(fr__jw *w, const char (*ids)[FR_ID_SIZE], size_t n) {
    assert(ids != NULL || n == 0);
    fr__jw_array_begin(w);
    /* Room for the usual case at once: each id, its quotes and a comma. */
    if (n <= SIZE_MAX / (FR_ID_SIZE + 2)) {
        (void)reserve(w, n * (FR_ID_SIZE + 2));
    }
    int first = 1; /* the separator is tracked here, and handed over around
                    * the general path */
    for (size_t i = 0; i < n && w->ok; i++) {
        if (!is_plain_uuid_sized(ids[i])) {
            w->first[w->depth - 1] = (unsigned char)first;
            fr__jw_string(w, ids[i]); /* another length, or escapes */
            first = 0;
            continue;
        }
        if (!reserve(w, FR_ID_SIZE + 2)) {
            break;
        }
        char *out = w->buf + w->len;
        if (!first) {
            *out++ = ',';
        }
        *out++ = '"';
        memcpy(out, ids[i], FR_ID_SIZE - 1);
        out += FR_ID_SIZE - 1;
        *out++ = '"';
        w->len = (size_t)(out - w->buf);
        first = 0;
    }
    if (w->ok) {
        w->first[w->depth - 1] = (unsigned char)first;
    }
    fr__jw_array_end(w);
}

void fr__jw_id_array_bin(fr__jw *w, const unsigned char (*ids)[16], size_t n) {
    assert(ids != NULL || n == 0);
    fr__jw_array_begin(w);
    if (n <= SIZE_MAX / (FR_ID_SIZE + 2)) {
        (void)reserve(w, n * (FR_ID_SIZE + 2));
    }
    for (size_t i = 0; i < n && w->ok; i++) {
        /* ,"<36 digits>" and the NUL fr__uuid_format writes after them */
        if (!reserve(w, FR_ID_SIZE + 2)) {
            break;
        }
        char *out = w->buf + w->len;
        if (i > 0) {
            *out++ = ',';
        }
        *out++ = '"';
        fr__uuid_format(ids[i], out);
        out += FR_ID_SIZE - 1;
        *out++ = '"';
        w->len = (size_t)(out - w->buf);
    }
    if (w->ok) {
        w->first[w->depth - 1] = n == 0;
    }
    fr__jw_array_end(w);
}

void fr__jw_raw(fr__jw *w, const char *json) {
    assert(json != NULL);
    value_start(w);
    append(w, json, strlen(json));
    value_end(w);
}
