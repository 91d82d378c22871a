/*
 * body.c — strict JSON request bodies (see body.h).
 *
 * Exact quantities: cJSON keeps numbers as doubles, so 1.0005 would look
 * like a plausible 1.0005 and 0.1 like 0.1000000000000000055.  We scan the
 * body once for number literals (outside strings) in document order, and walk
 * the parsed tree in the same order: the n-th number node is the n-th
 * literal, whose text fr_qty_parse reads exactly.
 */
#include "body.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends/redis.h"
#include "server.h"

#define FRS_NUMBERS_MAX 100000

typedef struct frs_numtext {
    const cJSON *node;
    char text[40]; /* longer literals are kept truncated and refused as quantities */
} frs_numtext;

struct frs_body_state {
    cJSON *json;
    frs_numtext *numbers;
    size_t numbers_len;
};

/* ---- transport -------------------------------------------------------------- */

static int is_json_type(const char *ct)
{
    if (ct == NULL) {
        return 0;
    }
    while (*ct == ' ') {
        ct++;
    }
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 && (ct[n] == 0 || ct[n] == ';' ||
                                                          ct[n] == ' ');
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len = (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
                                               : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        if (len == 0 || i + len > n) {
            return 0;
        }
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
        }
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F)) {
            return 0;
        }
        i += len;
    }
    return 1;
}

/* Reads the whole body up to the limit; 0 after sending 413. */
static int read_body(frs_exchange *x, size_t limit)
{
    const struct mg_request_info *ri = mg_get_request_info(x->conn);
    if (ri->content_length > (long long)limit) {
        frs_send_error(x, 413, "payload_too_large", "the body is over the size limit", NULL);
        return 0;
    }
    size_t cap = ri->content_length > 0 ? (size_t)ri->content_length + 1 : 4096;
    char *buf = malloc(cap);
    size_t len = 0;
    while (buf != NULL) {
        if (len + 1 >= cap) {
            if (cap > limit) {
                free(buf);
                frs_send_error(x, 413, "payload_too_large", "the body is over the size limit",
                               NULL);
                return 0;
            }
            char *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                break;
            }
            buf = grown;
            cap *= 2;
        }
        int n = mg_read(x->conn, buf + len, cap - len - 1);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
        if (len > limit) {
            free(buf);
            frs_send_error(x, 413, "payload_too_large", "the body is over the size limit", NULL);
            return 0;
        }
    }
    if (buf == NULL) {
        frs_send_error(x, 503, "unavailable", "out of memory", NULL);
        return 0;
    }
    buf[len] = 0;
    x->body = buf;
    x->body_len = len;
    return 1;
}

/* ---- number literals ---------------------------------------------------------- */

/* JSON's number grammar, which cJSON does not enforce (it takes "01"):
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int json_number_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') {
        i++;
    }
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        if (i == d) {
            return 0;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            i++;
        }
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        if (i == d) {
            return 0;
        }
    }
    return i == n;
}

/* Collects the literal texts of numbers outside strings, in order. */
static int scan_numbers(const char *s, size_t n, frs_numtext **out, size_t *count)
{
    size_t cap = 16, len = 0;
    frs_numtext *nums = malloc(cap * sizeof *nums);
    if (nums == NULL) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            for (i++; i < n && s[i] != '"'; i++) {
                if (s[i] == '\\') {
                    i++;
                }
            }
            continue;
        }
        if (s[i] != '-' && (s[i] < '0' || s[i] > '9')) {
            continue;
        }
        size_t start = i;
        while (i < n && strchr("+-0123456789.eE", s[i]) != NULL && s[i] != 0) {
            i++;
        }
        if (!json_number_ok(s + start, i - start)) {
            free(nums);
            return 0;
        }
        if (len == cap) {
            frs_numtext *grown = len < FRS_NUMBERS_MAX ? realloc(nums, cap * 2 * sizeof *nums)
                                                       : NULL;
            if (grown == NULL) {
                free(nums);
                return 0;
            }
            nums = grown;
            cap *= 2;
        }
        /* A literal too long to be a valid quantity is kept as "" so that
         * every exact reader refuses it (never a silently shortened value). */
        size_t l = i - start < sizeof nums[len].text ? i - start : 0;
        memcpy(nums[len].text, s + start, l);
        nums[len].text[l] = 0;
        nums[len].node = NULL;
        len++;
        i--;
    }
    *out = nums;
    *count = len;
    return 1;
}

/* Pairs number nodes with literals in document order: an iterative
 * depth-first walk (cJSON bounds nesting at CJSON_NESTING_LIMIT, 1000). */
#define FRS_WALK_DEPTH_MAX 1024
static int pair_numbers(const cJSON *root, frs_numtext *nums, size_t count)
{
    const cJSON **stack = malloc(FRS_WALK_DEPTH_MAX * sizeof *stack);
    if (stack == NULL) {
        return 0;
    }
    size_t k = 0, depth = 0;
    int ok = 1;
    const cJSON *n = root;
    while (ok) {
        if (n == NULL) {
            if (depth == 0) {
                break;
            }
            n = stack[--depth];
            continue;
        }
        if (cJSON_IsNumber(n)) {
            ok = k < count;
            if (ok) {
                nums[k++].node = n;
            }
        }
        if ((cJSON_IsArray(n) || cJSON_IsObject(n)) && n->child != NULL) {
            ok = ok && depth < FRS_WALK_DEPTH_MAX;
            if (ok) {
                stack[depth++] = n == root ? NULL : n->next;
                n = n->child;
            }
            continue;
        }
        n = n == root ? NULL : n->next;
    }
    free(stack);
    return ok && k == count;
}

const char *frs_number_text(const frs_exchange *x, const cJSON *number)
{
    const struct frs_body_state *st = x->body_state;
    for (size_t i = 0; st != NULL && i < st->numbers_len; i++) {
        if (st->numbers[i].node == number) {
            return st->numbers[i].text;
        }
    }
    return NULL;
}

void frs_body_free(frs_exchange *x)
{
    if (x->body_state != NULL) {
        cJSON_Delete(x->body_state->json);
        free(x->body_state->numbers);
        free(x->body_state);
        x->body_state = NULL;
    }
    free(x->body);
    x->body = NULL;
}

/* ---- Idempotency-Key: the body compared as parsed JSON ---------------------- */

typedef struct fnv {
    uint64_t h;
} fnv;

static void fnv_bytes(fnv *f, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        f->h ^= p[i];
        f->h *= UINT64_C(1099511628211);
    }
}

static void fnv_str(fnv *f, const char *s)
{
    fnv_bytes(f, s, strlen(s) + 1); /* with the NUL: "ab","c" != "a","bc" */
}

static int key_order(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

/* Hashes a value canonically: object members sorted by key, numbers by
 * value, so {"a":1,"b":2} and {"b":2.0,"a":1} are the same request.  Depth is
 * bounded by cJSON's nesting limit. */
static int hash_value(fnv *f, const cJSON *v, int depth)
{
    if (depth > CJSON_NESTING_LIMIT) {
        return 0;
    }
    char tag = cJSON_IsObject(v) ? 'o' : cJSON_IsArray(v) ? 'a' : cJSON_IsString(v) ? 's'
               : cJSON_IsNumber(v) ? 'n' : cJSON_IsTrue(v) ? 't' : cJSON_IsFalse(v) ? 'f' : 'z';
    fnv_bytes(f, &tag, 1);
    if (tag == 's') {
        fnv_str(f, v->valuestring);
    } else if (tag == 'n') {
        char text[40];
        snprintf(text, sizeof text, "%.17g", v->valuedouble);
        fnv_str(f, text);
    } else if (tag == 'a') {
        for (const cJSON *c = v->child; c != NULL; c = c->next) {
            if (!hash_value(f, c, depth + 1)) {
                return 0;
            }
        }
        fnv_bytes(f, "]", 1);
    } else if (tag == 'o') {
        size_t n = (size_t)cJSON_GetArraySize(v);
        const cJSON **members = malloc((n > 0 ? n : 1) * sizeof *members);
        if (members == NULL) {
            return 0;
        }
        size_t k = 0;
        for (const cJSON *c = v->child; c != NULL && k < n; c = c->next) {
            members[k++] = c;
        }
        qsort(members, k, sizeof *members, key_order);
        int ok = 1;
        for (size_t i = 0; ok && i < k; i++) {
            fnv_str(f, members[i]->string);
            ok = hash_value(f, members[i], depth + 1);
        }
        free(members);
        fnv_bytes(f, "}", 1);
        return ok;
    }
    return 1;
}

/* With an Idempotency-Key on a POST, the library records and replays the
 * outcome under (route, key); the body's canonical hash tells a retry from
 * a reuse. */
static int attach_idempotency(frs_exchange *x, const cJSON *json)
{
    const char *key = frs_header(x, "Idempotency-Key");
    if (key == NULL || strcmp(x->method, "POST") != 0) {
        return 1;
    }
    fnv f = {UINT64_C(1469598103934665603)};
    if (!hash_value(&f, json, 0)) {
        frs_send_error(x, 503, "unavailable", "out of memory", NULL);
        return 0;
    }
    snprintf(x->idempotency_scope, sizeof x->idempotency_scope, "POST %s",
             x->route != NULL ? x->route : x->path);
    x->ctx.idempotency_scope = x->idempotency_scope;
    x->ctx.idempotency_key = key;
    x->ctx.idempotency_body_hash = f.h;
    return 1;
}

const cJSON *frs_body_json(frs_exchange *x)
{
    if (x->body_state != NULL) {
        return x->status != 0 ? NULL : x->body_state->json; /* NULL once answered */
    }
    if (!is_json_type(frs_header(x, "Content-Type"))) {
        frs_send_error(x, 415, "unsupported_media_type", "the body must be application/json",
                       NULL);
        return NULL;
    }
    if (!read_body(x, x->server->config.body_max)) {
        return NULL;
    }
    if (!valid_utf8((const unsigned char *)x->body, x->body_len) ||
        strlen(x->body) != x->body_len) {
        frs_send_invalid(x, NULL, "the body is not valid UTF-8");
        return NULL;
    }
    struct frs_body_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        frs_send_error(x, 503, "unavailable", "out of memory", NULL);
        return NULL;
    }
    x->body_state = st;
    const char *end = NULL;
    /* The buffer is NUL-terminated; cJSON checks that NUL inside the length. */
    st->json = cJSON_ParseWithLengthOpts(x->body, x->body_len + 1, &end, 1);
    if (st->json == NULL) {
        frs_send_invalid(x, NULL, "the body is not valid JSON");
        return NULL;
    }
    if (!scan_numbers(x->body, x->body_len, &st->numbers, &st->numbers_len) ||
        !pair_numbers(st->json, st->numbers, st->numbers_len)) {
        frs_send_invalid(x, NULL, "the body's numbers could not be read");
        return NULL;
    }
    if (!attach_idempotency(x, st->json) || frs_idem_redis_replay(x)) {
        return NULL; /* answered: an error, or the Redis copy of the first response */
    }
    return st->json;
}

const cJSON *frs_body_object(frs_exchange *x)
{
    const cJSON *json = frs_body_json(x);
    if (json != NULL && !cJSON_IsObject(json)) {
        frs_send_invalid(x, NULL, "the body must be a JSON object");
        return NULL;
    }
    return json;
}

/* ---- field readers ------------------------------------------------------------ */

static const cJSON *field_of(const cJSON *obj, const char *field, int *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (present != NULL) {
        *present = v != NULL;
    }
    return v;
}

static int bad(frs_exchange *x, const char *field, const char *why)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s %s", field, why);
    frs_send_invalid(x, field, msg);
    return 0;
}

static int printable(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != 0; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int frs_read_string(frs_exchange *x, const cJSON *obj, const char *field, size_t max_len,
                    const char **out, int *present)
{
    const cJSON *v = field_of(obj, field, present);
    if (v == NULL) {
        return 1;
    }
    if (!cJSON_IsString(v) || v->valuestring == NULL) {
        return bad(x, field, "must be a string");
    }
    size_t n = strlen(v->valuestring);
    if (n == 0 || n > max_len || !printable(v->valuestring)) {
        return bad(x, field, "must be 1 to the allowed number of printable characters");
    }
    *out = v->valuestring;
    return 1;
}

int frs_read_enum(frs_exchange *x, const cJSON *obj, const char *field,
                  int (*parse)(const char *name), const char *message, int *out,
                  int *present)
{
    const char *name = NULL;
    int found = 0;
    if (!frs_read_string(x, obj, field, FR_SLUG_MAX, &name, &found)) {
        return 0;
    }
    if (present != NULL) {
        *present = found;
    }
    if (!found) {
        return 1;
    }
    int value = parse(name);
    if (value < 0) {
        frs_send_invalid(x, field, message);
        return 0;
    }
    *out = value;
    return 1;
}

int frs_read_string_or_null(frs_exchange *x, const cJSON *obj, const char *field,
                            size_t max_len, const char **out, int *present)
{
    const cJSON *v = field_of(obj, field, present);
    if (v != NULL && cJSON_IsNull(v)) {
        *out = NULL;
        return 1;
    }
    return frs_read_string(x, obj, field, max_len, out, present);
}

int frs_read_qty(frs_exchange *x, const cJSON *obj, const char *field, int64_t *milli,
                 int *present)
{
    const cJSON *v = field_of(obj, field, present);
    if (v == NULL) {
        return 1;
    }
    const char *text = cJSON_IsNumber(v) ? frs_number_text(x, v) : NULL;
    if (text == NULL) {
        return bad(x, field, "must be a number");
    }
    if (fr_qty_parse(text, milli) != FR_OK) {
        return bad(x, field, "must have at most 3 decimals and be at most 1e12");
    }
    return 1;
}

int frs_read_time(frs_exchange *x, const cJSON *obj, const char *field, int64_t *ms,
                  int *present)
{
    const cJSON *v = field_of(obj, field, present);
    if (v == NULL) {
        return 1;
    }
    if (!cJSON_IsString(v) || fr_time_parse(v->valuestring, ms) != FR_OK) {
        return bad(x, field, "must be an RFC 3339 timestamp");
    }
    return 1;
}

int frs_read_end(frs_exchange *x, const cJSON *obj, const char *field, int64_t *ms,
                 int *present)
{
    const cJSON *v = field_of(obj, field, present);
    if (v != NULL && cJSON_IsNull(v)) {
        *ms = FR_TIME_INF;
        return 1;
    }
    return frs_read_time(x, obj, field, ms, present);
}

int frs_read_int(frs_exchange *x, const cJSON *obj, const char *field, int64_t min,
                 int64_t max, int64_t *out, int *present)
{
    const cJSON *v = field_of(obj, field, present);
    if (v == NULL) {
        return 1;
    }
    const char *text = cJSON_IsNumber(v) ? frs_number_text(x, v) : NULL;
    int64_t milli = 0;
    if (text == NULL || fr_qty_parse(text, &milli) != FR_OK || milli % 1000 != 0 ||
        milli / 1000 < min || milli / 1000 > max) {
        char why[96];
        snprintf(why, sizeof why, "must be an integer from %lld to %lld", (long long)min,
                 (long long)max);
        return bad(x, field, why);
    }
    *out = milli / 1000;
    return 1;
}

int frs_read_seconds(frs_exchange *x, const cJSON *obj, const char *field, int64_t *ms,
                     int *present)
{
    const cJSON *v = field_of(obj, field, present);
    if (v == NULL) {
        return 1;
    }
    const char *text = cJSON_IsNumber(v) ? frs_number_text(x, v) : NULL;
    int64_t milli = 0;
    if (text == NULL || fr_qty_parse(text, &milli) != FR_OK || milli <= 0) {
        return bad(x, field, "must be a positive number of seconds with at most 3 decimals");
    }
    *ms = milli; /* seconds in milli-units are milliseconds */
    return 1;
}

int frs_read_bool(frs_exchange *x, const cJSON *obj, const char *field, int *out,
                  int *present)
{
    const cJSON *v = field_of(obj, field, present);
    if (v == NULL) {
        return 1;
    }
    if (!cJSON_IsBool(v)) {
        return bad(x, field, "must be true or false");
    }
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 1;
}

int frs_read_object_text(frs_exchange *x, const cJSON *obj, const char *field,
                         int strings_only, char **out, int *present)
{
    const cJSON *v = field_of(obj, field, present);
    if (v == NULL) {
        return 1;
    }
    if (!cJSON_IsObject(v)) {
        return bad(x, field, "must be a JSON object");
    }
    for (const cJSON *c = v->child; strings_only && c != NULL; c = c->next) {
        if (!cJSON_IsString(c)) {
            return bad(x, field, "values must be strings");
        }
    }
    char *text = cJSON_PrintUnformatted(v);
    if (text == NULL) {
        frs_send_error(x, 503, "unavailable", "out of memory", NULL);
        return 0;
    }
    *out = text;
    return 1;
}
