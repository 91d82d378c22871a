/*
 * pg_sql.c — builds SQL text with quoted values for the buffered writes of a
 * transaction (why text: pg_int.h).  Appends never fail loudly: the first
 * failed allocation sets oom and the caller reports FR_ENOMEM at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"
#include "pg_int.h"

static int reserve(frs_sqlbuf *b, size_t more)
{
    if (b->oom) {
        return 0;
    }
    if (b->len + more + 1 <= b->cap) {
        return 1;
    }
    size_t cap = b->cap == 0 ? 1024 : b->cap;
    while (cap < b->len + more + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return 0;
        }
        cap *= 2;
    }
    char *text = realloc(b->text, cap);
    if (text == NULL) {
        b->oom = 1;
        return 0;
    }
    b->text = text;
    b->cap = cap;
    return 1;
}

void frs_sql_raw(frs_sqlbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (reserve(b, n)) {
        memcpy(b->text + b->len, s, n + 1);
        b->len += n;
    }
}

void frs_sql_lit(frs_sqlbuf *b, const char *s)
{
    if (s == NULL) {
        frs_sql_raw(b, "NULL");
        return;
    }
    size_t n = strlen(s);
    size_t quotes = 0;
    for (const char *p = s; *p != 0; p++) {
        quotes += *p == '\'';
    }
    if (n > SIZE_MAX / 2 || !reserve(b, n + quotes + 2)) {
        b->oom = 1;
        return;
    }
    char *out = b->text + b->len;
    *out++ = '\'';
    for (const char *p = s; *p != 0; p++) {
        if (*p == '\'') {
            *out++ = '\'';
        }
        *out++ = *p;
    }
    *out++ = '\'';
    *out = 0;
    b->len = (size_t)(out - b->text);
}

void frs_sql_id(frs_sqlbuf *b, const char *id)
{
    frs_sql_lit(b, id != NULL && id[0] != 0 ? id : NULL);
}

void frs_sql_int(frs_sqlbuf *b, int64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v);
    frs_sql_raw(b, text);
}

void frs_sql_qty(frs_sqlbuf *b, int64_t milli)
{
    char text[48];
    uint64_t mag = milli < 0 ? (uint64_t)0 - (uint64_t)milli : (uint64_t)milli;
    snprintf(text, sizeof text, "%s%" PRIu64 ".%03u", milli < 0 ? "-" : "", mag / 1000,
             (unsigned)(mag % 1000));
    frs_sql_raw(b, text);
}

void frs_sql_ts(frs_sqlbuf *b, int64_t ms)
{
    if (ms == FR_TIME_NULL || ms == FR_TIME_INF) {
        frs_sql_raw(b, "NULL");
        return;
    }
    frs_sql_raw(b, "fleet_resources.ms_to_ts(");
    frs_sql_int(b, ms);
    frs_sql_raw(b, ")");
}

void frs_sql_jsonb(frs_sqlbuf *b, char *doc)
{
    if (doc == NULL) {
        b->oom = 1;
        return;
    }
    frs_sql_lit(b, doc);
    frs_sql_raw(b, "::json");
    free(doc);
}

void frs_sql_reset(frs_sqlbuf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->text != NULL) {
        b->text[0] = 0;
    }
}

void frs_sql_free(frs_sqlbuf *b)
{
    free(b->text);
    memset(b, 0, sizeof *b);
}
