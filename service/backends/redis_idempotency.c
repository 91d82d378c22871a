/*
 * redis_idempotency.c — a copy of each recorded Idempotency-Key outcome in
 * Redis (see redis.h), so a retry on any instance is answered without
 * touching the engine.
 *
 * The engine's record (in the store, written in the change's own
 * transaction) stays the source of truth: this copy is written only for an
 * outcome the library recorded — a 2xx, or a refusal that reached the
 * library (http.c sets x->idem_refusal_recorded) — and only after the
 * commit, and a retry that finds no complete copy (a miss, Redis down, a
 * torn or foreign value) falls through to the engine, which replays from
 * the store.  The copy is the first response itself, byte for byte: status,
 * headers (ETag) and body; the engine's replay renders the same ids as they
 * are now.
 *
 * Key: fr:idem:<scope>\n<path>\n<key> (scope = "POST <route>"; the path too,
 * because the library scopes a key to the path's ids as well: a resolve of
 * one conflict is not a replay of another's); value:
 *   "FRI1 <body hash, 16 hex> <status> <headers length> <body length>\n"
 *   followed by the headers and the body.  The lengths make a value
 * complete or refused, never half-read.  TTL 48 h (SPEC: at least 24 h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../server.h"
#include "redis.h"

#define IDEM_TTL_SECONDS "172800"
#define IDEM_KEY_MAX 255
#define IDEM_HEADERS_MAX 512

/* The library's rule for keys (1-255 printable); others never reach Redis. */
static int key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > IDEM_KEY_MAX) {
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *)key; *p != 0; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* The Redis key, or 0 when this exchange has no usable key. */
static int redis_key(const frs_exchange *x, char *buf, size_t size)
{
    const char *key = x->ctx.idempotency_key;
    if (!frs_redis_enabled() || key == NULL || x->ctx.idempotency_scope == NULL ||
        !key_valid(key)) {
        return 0;
    }
    int n = snprintf(buf, size, "fr:idem:%s\n%s\n%s", x->ctx.idempotency_scope, x->path, key);
    return n > 0 && (size_t)n < size;
}

typedef struct stored {
    char hash[17];
    int status;
    const char *headers;
    size_t headers_len;
    const char *body;
    size_t body_len;
} stored;

/* Parses a value; 0 unless it is complete and well-formed. */
static int parse_stored(const char *value, size_t len, stored *s)
{
    const char *nl = memchr(value, '\n', len);
    if (nl == NULL || nl - value > 80) {
        return 0;
    }
    char head[96];
    memcpy(head, value, (size_t)(nl - value));
    head[nl - value] = 0;
    unsigned long long headers_len = 0, body_len = 0;
    int used = 0;
    if (sscanf(head, "FRI1 %16[0-9a-f] %d %llu %llu%n", s->hash, &s->status, &headers_len,
               &body_len, &used) != 4 ||
        head[used] != 0 || strlen(s->hash) != 16 || s->status < 200 || s->status > 499) {
        return 0;
    }
    size_t rest = len - (size_t)(nl + 1 - value);
    if (headers_len > IDEM_HEADERS_MAX || headers_len + body_len != rest) {
        return 0;
    }
    s->headers = nl + 1;
    s->headers_len = (size_t)headers_len;
    s->body = s->headers + headers_len;
    s->body_len = (size_t)body_len;
    return 1;
}

/* Answers a parsed copy: the first response, or 422 for another body (the
 * library's own refusal, same code and message). */
static void answer(frs_exchange *x, const stored *s)
{
    char hash[24];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)x->ctx.idempotency_body_hash);
    x->engine_untouched = 1; /* nothing to sync: this answer changed nothing */
    if (strcmp(hash, s->hash) != 0) {
        fr_result res;
        fr_result_init(&res);
        res.status = FR_EIDEMPOTENCY;
        snprintf(res.field, sizeof res.field, "Idempotency-Key");
        snprintf(res.message, sizeof res.message,
                 "this Idempotency-Key was used with another body");
        frs_send_result_error(x, FR_EIDEMPOTENCY, &res);
        fr_result_clear(&res);
        return;
    }
    char headers[IDEM_HEADERS_MAX + 1];
    memcpy(headers, s->headers, s->headers_len);
    headers[s->headers_len] = 0;
    x->idem_replayed = 1;
    frs_send_raw_json(x, s->status, s->body, s->body_len, headers);
}

int frs_idem_redis_replay(frs_exchange *x)
{
    char key[IDEM_KEY_MAX + 200];
    if (!redis_key(x, key, sizeof key)) {
        return 0;
    }
    const char *argv[] = {"GET", key};
    size_t lens[] = {3, strlen(key)};
    redisReply *r = frs_redis_argv(2, argv, lens);
    if (r == NULL) {
        return 0;
    }
    stored s;
    int complete = r->type == REDIS_REPLY_STRING && parse_stored(r->str, r->len, &s);
    if (complete) {
        answer(x, &s);
        frs_redis_count(FRS_REDIS_M_IDEM_REPLAYS);
    }
    freeReplyObject(r);
    return complete;
}

void frs_idem_redis_record(frs_exchange *x, int status, const char *body, size_t body_len,
                           const char *extra_headers)
{
    int recorded = (status >= 200 && status < 300) ||
                   (status >= 400 && status < 500 && x->idem_refusal_recorded);
    char key[IDEM_KEY_MAX + 200];
    if (!recorded || x->idem_replayed || strcmp(x->method, "POST") != 0 ||
        !redis_key(x, key, sizeof key)) {
        return;
    }
    size_t headers_len = extra_headers != NULL ? strlen(extra_headers) : 0;
    if (headers_len > IDEM_HEADERS_MAX) {
        return;
    }
    char head[96];
    int n = snprintf(head, sizeof head, "FRI1 %016llx %d %zu %zu\n",
                     (unsigned long long)x->ctx.idempotency_body_hash, status, headers_len,
                     body_len);
    size_t total = (size_t)n + headers_len + body_len;
    char *value = malloc(total + 1);
    if (n < 0 || (size_t)n >= sizeof head || value == NULL) {
        free(value);
        return;
    }
    memcpy(value, head, (size_t)n);
    if (headers_len > 0) {
        memcpy(value + n, extra_headers, headers_len);
    }
    if (body_len > 0) {
        memcpy(value + (size_t)n + headers_len, body, body_len);
    }
    /* NX: the first copy stays (a later engine replay renders entities as
     * they are now; the client's first answer is the one to repeat). */
    const char *argv[] = {"SET", key, value, "EX", IDEM_TTL_SECONDS, "NX"};
    size_t lens[] = {3, strlen(key), total, 2, strlen(IDEM_TTL_SECONDS), 2};
    redisReply *r = frs_redis_argv(6, argv, lens);
    if (r != NULL) {
        if (r->type == REDIS_REPLY_STATUS) {
            frs_redis_count(FRS_REDIS_M_IDEM_STORED);
        }
        freeReplyObject(r);
    }
    free(value);
}
