/*
 * router.c — matching a request to its route (see router.h).
 *
 * The tables are small (tens of routes), so matching is a linear scan of
 * segment-by-segment comparisons; no allocation.
 */
#include "router.h"

#include "backends/redis.h"

#include <stdio.h>
#include <string.h>

static const frs_route *const tables[] = {
    frs_routes_pools,     frs_routes_allocations, frs_routes_requests,
    frs_routes_conflicts, frs_routes_utilization, frs_routes_events,
    frs_routes_ops,          frs_routes_planning,
};
#define TABLES_LEN (sizeof tables / sizeof tables[0])

/* The full path of a pattern: relative ones live under the API base. */
static void full_pattern(const frs_route *r, char *buf, size_t size)
{
    if (strncmp(r->pattern, "//", 2) == 0) {
        snprintf(buf, size, "%s", r->pattern + 1);
    } else {
        snprintf(buf, size, "%s%s", FRS_API_BASE, r->pattern);
    }
}

/* Matches path against pattern; fills params on success. */
static int match(const char *pattern, const char *path,
                 char params[FRS_PATH_PARAMS_MAX][FR_ID_SIZE + 64])
{
    size_t np = 0;
    const char *p = pattern, *s = path;
    while (*p != 0 && *s != 0) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            size_t len = se != NULL ? (size_t)(se - s) : strlen(s);
            if (pe == NULL || len == 0 || len >= FR_ID_SIZE + 64 || np == FRS_PATH_PARAMS_MAX) {
                return 0;
            }
            memcpy(params[np], s, len);
            params[np][len] = 0;
            np++;
            p = pe + 1;
            s += len;
            continue;
        }
        if (*p != *s) {
            return 0;
        }
        p++;
        s++;
    }
    /* A trailing slash is tolerated. */
    return *p == 0 && (*s == 0 || (s[0] == '/' && s[1] == 0));
}

int frs_route_dispatch(frs_exchange *x)
{
    char allow[64] = "";
    char pattern[160];
    char params[FRS_PATH_PARAMS_MAX][FR_ID_SIZE + 64];
    if (!frs_ratelimit_admit(x)) {
        x->route = "rate_limited";
        return x->status;
    }
    for (size_t t = 0; t < TABLES_LEN; t++) {
        for (const frs_route *r = tables[t]; r->method != NULL; r++) {
            full_pattern(r, pattern, sizeof pattern);
            if (!match(pattern, x->path, params)) {
                continue;
            }
            if (strcmp(r->method, x->method) == 0) {
                memcpy(x->params, params, sizeof params);
                x->route = r->pattern;
                return r->handler(x);
            }
            size_t len = strlen(allow);
            if (strstr(allow, r->method) == NULL) {
                snprintf(allow + len, sizeof allow - len, "%s%s", len > 0 ? ", " : "",
                         r->method);
            }
        }
    }
    x->route = "unmatched";
    if (allow[0] != 0) {
        char header[96];
        snprintf(header, sizeof header, "Allow: %s\r\n", allow);
        cJSON *details = cJSON_CreateObject();
        cJSON_AddStringToObject(details, "allow", allow);
        cJSON *root = cJSON_CreateObject();
        cJSON *err = cJSON_AddObjectToObject(root, "error");
        cJSON_AddStringToObject(err, "code", "method_not_allowed");
        cJSON_AddStringToObject(err, "message", "this path does not accept that method");
        cJSON_AddItemToObject(err, "details", details);
        return frs_send_json(x, 405, root, header);
    }
    return frs_send_error(x, 404, "not_found", "no such route", NULL);
}

void frs_route_each(void (*fn)(void *ctx, const char *method, const char *path), void *ctx)
{
    char pattern[160];
    for (size_t t = 0; t < TABLES_LEN; t++) {
        for (const frs_route *r = tables[t]; r->method != NULL; r++) {
            full_pattern(r, pattern, sizeof pattern);
            fn(ctx, r->method, pattern);
        }
    }
}
