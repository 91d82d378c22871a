/*
 * http.c — answering one exchange in SPEC §1's shapes: JSON bodies written
 * with their headers in one write (tcp_nodelay + one write: no Nagle delay),
 * SPEC error bodies, ETags, query parameters and list arguments.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends/redis.h"
#include "codec.h"
#include "server.h"

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

/* Writes status line, headers and body in one mg_write. */
static int send_raw(frs_exchange *x, int status, const char *content_type, const char *body,
                    size_t body_len, const char *extra_headers)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Length: %zu\r\n"
                     "%s%s%s"
                     "X-Request-ID: %s\r\n"
                     "%s"
                     "\r\n",
                     status, reason_phrase(status), body_len,
                     content_type != NULL ? "Content-Type: " : "",
                     content_type != NULL ? content_type : "", content_type != NULL ? "\r\n" : "",
                     x->request_id, extra_headers != NULL ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof head) {
        n = snprintf(head, sizeof head, "HTTP/1.1 500 %s\r\nContent-Length: 0\r\n\r\n",
                     reason_phrase(500));
        body_len = 0;
        status = 500;
    }
    /* Before the client learns the outcome: the cache forgets what changed,
     * and a recorded idempotent outcome is copied to Redis (redis.h). */
    if (!x->engine_untouched && x->server != NULL) {
        frs_cache_sync(x->server->engine);
    }
    if (x->ctx.idempotency_key != NULL) {
        frs_idem_redis_record(x, status, body, body_len, extra_headers);
    }
    size_t total = (size_t)n + body_len;
    char *out = malloc(total > 0 ? total : 1);
    if (out == NULL) {
        mg_write(x->conn, head, (size_t)n);
        x->status = status;
        return status;
    }
    memcpy(out, head, (size_t)n);
    if (body_len > 0) {
        memcpy(out + n, body, body_len);
    }
    mg_write(x->conn, out, total);
    free(out);
    x->status = status;
    return status;
}

int frs_send_json(frs_exchange *x, int status, cJSON *body, const char *extra_headers)
{
    if (body == NULL) {
        return send_raw(x, status, NULL, NULL, 0, extra_headers);
    }
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (text == NULL) {
        return send_raw(x, 500, "application/json",
                        "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\","
                        "\"details\":{}}}",
                        strlen("{\"error\":{\"code\":\"internal\",\"message\":\"out of "
                               "memory\",\"details\":{}}}"),
                        NULL);
    }
    int rc = send_raw(x, status, "application/json", text, strlen(text), extra_headers);
    free(text);
    return rc;
}

int frs_send_error(frs_exchange *x, int status, const char *code, const char *message,
                   cJSON *details)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    if (details == NULL) {
        details = cJSON_CreateObject();
    }
    if (x->error_index >= 0 && details != NULL &&
        cJSON_GetObjectItemCaseSensitive(details, "index") == NULL) {
        cJSON_AddNumberToObject(details, "index", (double)x->error_index);
    }
    if (err != NULL) {
        cJSON_AddStringToObject(err, "code", code);
        cJSON_AddStringToObject(err, "message", message);
        cJSON_AddItemToObject(err, "details", details != NULL ? details : cJSON_CreateObject());
    } else {
        cJSON_Delete(details);
    }
    return frs_send_json(x, status, root, NULL);
}

int frs_send_invalid(frs_exchange *x, const char *field, const char *message)
{
    cJSON *details = cJSON_CreateObject();
    if (field != NULL) {
        cJSON_AddStringToObject(details, "field", field);
    }
    return frs_send_error(x, 400, "invalid_request", message, details);
}

static int http_status_of(int rc)
{
    switch (rc) {
    case FR_EINVAL: return 400;
    case FR_ELIMIT: return 400;
    case FR_ENOTFOUND: return 404;
    case FR_ECAPACITY:
    case FR_EDOUBLE:
    case FR_ESTATE:
    case FR_EPOOL_IN_USE:
    case FR_EPLAN_STALE:
    case FR_EUNRESOLVABLE: return 409;
    case FR_EVERSION: return 412;
    case FR_EREFERENCE: return 422;
    case FR_EIDEMPOTENCY: return 422;
    case FR_EFORBIDDEN: return 403;
    case FR_ESTORE: return 503;
    default: return 500;
    }
}

static cJSON *id_array(const char (*ids)[FR_ID_SIZE], size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        cJSON_AddItemToArray(arr, cJSON_CreateString(ids[i]));
    }
    return arr;
}

static cJSON *result_details(int rc, const fr_result *res)
{
    cJSON *d = cJSON_CreateObject();
    if (d == NULL || res == NULL) {
        return d;
    }
    if (res->field[0] != 0) {
        cJSON_AddStringToObject(d, "field", res->field);
    }
    if (res->index >= 0) {
        cJSON_AddNumberToObject(d, "index", (double)res->index);
    }
    if (rc == FR_ECAPACITY) {
        cJSON_AddStringToObject(d, "pool_id", res->pool_id);
        cJSON_AddItemToObject(d, "at", fr__time_to_cjson(res->at_ms));
        cJSON_AddItemToObject(d, "capacity", fr__qty_to_cjson(res->capacity_milli));
        cJSON_AddItemToObject(d, "free", fr__qty_to_cjson(res->free_milli));
        cJSON_AddItemToObject(d, "requested", fr__qty_to_cjson(res->requested_milli));
        cJSON_AddItemToObject(d, "conflicting_allocation_ids",
                              id_array((const char(*)[FR_ID_SIZE])res->conflicting_ids,
                                       res->conflicting_count));
        cJSON_AddItemToObject(d, "next_fit_start", fr__time_to_cjson(res->next_fit_start_ms));
    } else if (rc == FR_EDOUBLE) {
        cJSON_AddStringToObject(d, "vehicle_id", res->vehicle_id);
        cJSON_AddItemToObject(d, "conflicting_allocation_ids",
                              id_array((const char(*)[FR_ID_SIZE])res->conflicting_ids,
                                       res->conflicting_count));
    }
    return d;
}

int frs_send_result_error(frs_exchange *x, int rc, const fr_result *res)
{
    int status = http_status_of(rc);
    /* The library records a refusal under the key except for these. */
    x->idem_refusal_recorded = res != NULL && status >= 400 && status < 500 &&
                               rc != FR_EIDEMPOTENCY && rc != FR_ENOMEM && rc != FR_ESTORE;
    const char *message = (res != NULL && res->message[0] != 0) ? res->message : fr_errstr(rc);
    const char *code = status == 500 ? "internal" : fr_errcode(rc);
    return frs_send_error(x, status, code, message, result_details(rc, res));
}

int frs_send_raw_json(frs_exchange *x, int status, const char *json, size_t len,
                      const char *extra_headers)
{
    return send_raw(x, status, len > 0 ? "application/json" : NULL, json, len, extra_headers);
}

int frs_send_version_json(frs_exchange *x, int status, const char *json, size_t len,
                          int64_t version)
{
    char etag[64];
    snprintf(etag, sizeof etag, "ETag: \"%lld\"\r\n", (long long)version);
    return send_raw(x, status, "application/json", json, len, etag);
}

int frs_send_entity(frs_exchange *x, int status, cJSON *entity, int64_t version)
{
    char etag[64];
    snprintf(etag, sizeof etag, "ETag: \"%lld\"\r\n", (long long)version);
    return frs_send_json(x, status, entity, etag);
}

int frs_send_items(frs_exchange *x, int status, cJSON *items)
{
    cJSON *body = items != NULL ? cJSON_CreateObject() : NULL;
    if (body == NULL || !cJSON_AddItemToObject(body, "items", items)) {
        cJSON_Delete(body);
        cJSON_Delete(items);
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    return frs_send_json(x, status, body, NULL);
}

int frs_send_text(frs_exchange *x, int status, const char *content_type, const char *body,
                  size_t len)
{
    return send_raw(x, status, content_type, body, len, NULL);
}

int frs_send_no_content(frs_exchange *x)
{
    return send_raw(x, 204, NULL, NULL, 0, NULL);
}

const char *frs_header(const frs_exchange *x, const char *name)
{
    return mg_get_header(x->conn, name);
}

int frs_query(const frs_exchange *x, const char *name, char *buf, size_t size)
{
    if (x->query == NULL) {
        return 0;
    }
    int n = mg_get_var(x->query, strlen(x->query), name, buf, size);
    if (n == -2) { /* present, but does not fit */
        if (size > 0) {
            buf[0] = 0;
        }
        return -1;
    }
    return n >= 0;
}

int64_t frs_if_match(const frs_exchange *x)
{
    const char *h = frs_header(x, "If-Match");
    if (h == NULL) {
        return 0;
    }
    while (*h == ' ') {
        h++;
    }
    if (strcmp(h, "*") == 0) {
        return 0;
    }
    if (strncmp(h, "W/", 2) == 0) {
        h += 2; /* weak tags accepted (SPEC §1) */
    }
    long long v = 0;
    int used = 0;
    if (sscanf(h, "\"%lld\"%n", &v, &used) == 1 && h[used] == 0 && v > 0) {
        return v;
    }
    if (sscanf(h, "%lld%n", &v, &used) == 1 && h[used] == 0 && v > 0) {
        return v;
    }
    return -1;
}

int frs_read_if_match(frs_exchange *x)
{
    int64_t version = frs_if_match(x);
    if (version < 0) {
        frs_send_invalid(x, "If-Match", "If-Match must be an entity tag such as \"3\" or *.");
        return 0;
    }
    x->ctx.if_match_version = version;
    return 1;
}

int frs_send_not_found(frs_exchange *x, const char *what, const char *id)
{
    char message[160];
    snprintf(message, sizeof message, "%s %.64s does not exist.", what, id);
    return frs_send_error(x, 404, "not_found", message, NULL);
}

/* ---- lists ----------------------------------------------------------------- */

static int query_filter(frs_exchange *x, const char *name, char *buf, const char **out)
{
    char tmp[FRS_LIST_FILTER_LEN + 8];
    int found = frs_query(x, name, tmp, sizeof tmp);
    if (found == 0) {
        return 1;
    }
    if (found < 0 || strlen(tmp) == 0 || strlen(tmp) >= FRS_LIST_FILTER_LEN) {
        frs_send_invalid(x, name, "filter value must be 1-128 characters");
        return 0;
    }
    memcpy(buf, tmp, strlen(tmp) + 1);
    *out = buf;
    return 1;
}

static int query_time(frs_exchange *x, const char *name, int64_t *out)
{
    char tmp[64];
    int found = frs_query(x, name, tmp, sizeof tmp);
    if (found == 0) {
        return 1;
    }
    if (found < 0 || fr_time_parse(tmp, out) != FR_OK) {
        frs_send_invalid(x, name, "must be an RFC 3339 timestamp");
        return 0;
    }
    return 1;
}

static int query_enum(frs_exchange *x, const char *name, int (*parse)(const char *), int *out)
{
    char tmp[64];
    int found = parse == NULL ? 0 : frs_query(x, name, tmp, sizeof tmp);
    if (found == 0) {
        return 1;
    }
    int v = found < 0 ? -1 : parse(tmp);
    if (v < 0) {
        frs_send_invalid(x, name, "unknown value");
        return 0;
    }
    *out = v;
    return 1;
}

int frs_list_args_parse(frs_exchange *x, frs_list_args *a, int (*status_parse)(const char *),
                        int (*type_parse)(const char *))
{
    memset(a, 0, sizeof *a);
    fr_list_query_init(&a->q);
    char tmp[32];
    if (frs_query(x, "limit", tmp, sizeof tmp) != 0) {
        char *end = NULL;
        long v = strtol(tmp, &end, 10);
        if (tmp[0] == 0 || *end != 0 || v < 1 || v > FR_LIST_LIMIT_MAX) {
            frs_send_invalid(x, "limit", "limit must be an integer from 1 to 1000");
            return 0;
        }
        a->q.limit = (size_t)v;
    }
    int cursor = frs_query(x, "cursor", a->cursor, sizeof a->cursor);
    if (cursor < 0) {
        frs_send_invalid(x, "cursor", "cursor is not one this server issued");
        return 0;
    }
    if (cursor > 0) {
        a->q.cursor = a->cursor;
    }
    return query_filter(x, "fleet_id", a->fleet_id, &a->q.fleet_id) &&
           query_filter(x, "pool_id", a->pool_id, &a->q.pool_id) &&
           query_filter(x, "resource_type", a->resource_type, &a->q.resource_type) &&
           query_filter(x, "site", a->site, &a->q.site) &&
           query_filter(x, "vehicle_id", a->vehicle_id, &a->q.vehicle_id) &&
           query_filter(x, "operation_id", a->operation_id, &a->q.operation_id) &&
           query_filter(x, "request_id", a->request_id, &a->q.request_id) &&
           query_filter(x, "plan_id", a->plan_id, &a->q.plan_id) &&
           query_filter(x, "allocation_type", a->allocation_type, &a->q.allocation_type) &&
           query_time(x, "from", &a->q.from_ms) && query_time(x, "to", &a->q.to_ms) &&
           query_enum(x, "status", status_parse, &a->q.status) &&
           query_enum(x, "type", type_parse, &a->q.type);
}

cJSON *frs_page(cJSON *items, const char *next_cursor)
{
    cJSON *page = cJSON_CreateObject();
    if (page == NULL) {
        cJSON_Delete(items);
        return NULL;
    }
    cJSON_AddItemToObject(page, "items", items != NULL ? items : cJSON_CreateArray());
    if (next_cursor != NULL && next_cursor[0] != 0) {
        cJSON_AddStringToObject(page, "next_cursor", next_cursor);
    } else {
        cJSON_AddNullToObject(page, "next_cursor");
    }
    return page;
}
