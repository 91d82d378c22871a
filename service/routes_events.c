/*
 * routes_events.c — the event log over HTTP (SPEC §8): replay events in seq
 * order after a given seq, optionally of one fleet.
 *
 * The page is keyed by seq, not by a cursor: a client keeps the last seq it
 * saw (`next_after`) and asks for what follows, so `next_after` is null on an
 * empty page and the client keeps its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "http.h"
#include "router.h"
#include "server.h"

#define FRS_EVENTS_LIMIT_DEFAULT 100

/* ?after=: a non-negative decimal seq (default 0).  0 after answering 400.
 * Read with mg_get_var itself rather than frs_query, which cannot tell an
 * absent parameter from one too long for the buffer: an over-long value must
 * be refused, not mistaken for "from the start". */
static int read_after(frs_exchange *x, int64_t *after)
{
    char text[32];
    *after = 0;
    int len = x->query != NULL ? mg_get_var(x->query, strlen(x->query), "after", text,
                                            sizeof text)
                               : -1;
    if (len == -1) {
        return 1;
    }
    if (len < 0) {
        text[0] = 0; /* too long: refused below */
    }
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    int digits_only = text[0] >= '0' && text[0] <= '9';
    if (!digits_only || *end != 0 || errno != 0 || value < 0) {
        frs_send_invalid(x, "after", "after must be a non-negative integer seq");
        return 0;
    }
    *after = (int64_t)value;
    return 1;
}

/* The events as a JSON array; NULL when out of memory. */
static cJSON *events_to_cjson(const fr_event *items, size_t count)
{
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array != NULL && i < count; i++) {
        cJSON *item = fr__event_to_cjson(&items[i]);
        if (item == NULL || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            cJSON_Delete(array);
            array = NULL;
        }
    }
    return array;
}

/* GET /events?after=&limit=&fleet_id= */
static int list_events(frs_exchange *x)
{
    frs_list_args args; /* limit (1..1000) and fleet_id, parsed like any list */
    int64_t after = 0;
    if (!frs_list_args_parse(x, &args, NULL, NULL) || !read_after(x, &after)) {
        return x->status;
    }
    size_t limit = args.q.limit != 0 ? args.q.limit : FRS_EVENTS_LIMIT_DEFAULT;
    fr_event *items = NULL;
    size_t count = 0;
    int rc = fr_event_list(x->server->engine, after, limit, args.q.fleet_id, &items, &count);
    if (rc != FR_OK) {
        return frs_send_result_error(x, rc, NULL);
    }
    int64_t last_seq = count > 0 ? items[count - 1].seq : 0;
    cJSON *array = events_to_cjson(items, count);
    fr_event_free_array(items, count);
    cJSON *page = array != NULL ? cJSON_CreateObject() : NULL;
    if (page == NULL || !cJSON_AddItemToObject(page, "items", array)) {
        cJSON_Delete(page);
        cJSON_Delete(array);
        return frs_send_error(x, 500, "internal", "out of memory", NULL);
    }
    cJSON *next = count > 0 ? cJSON_CreateNumber((double)last_seq) : cJSON_CreateNull();
    if (next == NULL || !cJSON_AddItemToObject(page, "next_after", next)) {
        cJSON_Delete(next);
        cJSON_Delete(page);
        return frs_send_error(x, 500, "internal", "out of memory", NULL);
    }
    return frs_send_json(x, 200, page, NULL);
}

const frs_route frs_routes_events[] = {
    {"GET", "/events", list_events},
    {NULL, NULL, NULL},
};
