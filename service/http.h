/*
 * http.h — one HTTP exchange of fleetres-server: the parsed request and the
 * helpers that answer it in SPEC §1's shapes (JSON bodies, error bodies,
 * ETag), so route handlers only parse, call the library, and render.
 *
 * Handlers run on civetweb's worker threads, concurrently; an exchange is
 * owned by one thread.  The engine serializes the library calls.
 */
#ifndef FRS_HTTP_H
#define FRS_HTTP_H

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "fleetres.h"

#define FRS_API_BASE "/api/v1/fleet-resources"
#define FRS_PATH_PARAMS_MAX 2

typedef struct frs_server frs_server;

typedef struct frs_exchange {
    struct mg_connection *conn;
    frs_server *server;
    const char *method;
    const char *path;         /* decoded local URI */
    const char *query;        /* raw query string, or NULL */
    char request_id[64];
    const char *route;        /* the route pattern matched, for metrics */
    char params[FRS_PATH_PARAMS_MAX][FR_ID_SIZE + 64]; /* {id} values */
    /* Body: read on demand by frs_body_json (body.h), freed at the end. */
    char *body;
    size_t body_len;
    struct frs_body_state *body_state;
    int64_t start_ns;
    int status;               /* what was sent, for logs and metrics */
    int64_t error_index;      /* >= 0: batch item being read; errors carry details.index */
    const char *actor;        /* principal: "anonymous" with auth off */
    fr_ctx ctx;               /* library call context (actor, If-Match, roles) */
    char idempotency_scope[128]; /* "POST <route>", when an Idempotency-Key came */
    int idem_refusal_recorded; /* a 4xx the library recorded under the key */
    int idem_replayed;         /* answered from the Redis copy (backends/redis.h) */
    int engine_untouched;      /* answered without an engine call (cache hit, Redis
                                  replay, 429): no cache sync before answering */
} frs_exchange;

/* Sends status with a JSON body (takes ownership of body; NULL = no body) and
 * optional extra header lines ("Name: value\r\n...", may be NULL).  Headers and
 * body go out in one write.  Returns the status. */
int frs_send_json(frs_exchange *x, int status, cJSON *body, const char *extra_headers);
/* Sends SPEC's error body {"error": {code, message, details}} (takes
 * ownership of details; NULL = {}). */
int frs_send_error(frs_exchange *x, int status, const char *code, const char *message,
                   cJSON *details);
/* Shortcut: 400 invalid_request with details.field. */
int frs_send_invalid(frs_exchange *x, const char *field, const char *message);
/* Maps a library status and its fr_result to the HTTP error (status, code,
 * message, details: capacity and double-booking explanations, field, index). */
int frs_send_result_error(frs_exchange *x, int status, const fr_result *res);
/* Sends an entity rendered as JSON with ETag: "<version>" (takes ownership). */
int frs_send_entity(frs_exchange *x, int status, cJSON *entity, int64_t version);
/* Sends a JSON text as it is (not taken), with extra header lines. */
int frs_send_raw_json(frs_exchange *x, int status, const char *json, size_t len,
                      const char *extra_headers);
/* Sends a JSON text as it is (not taken) with ETag: "<version>". */
int frs_send_version_json(frs_exchange *x, int status, const char *json, size_t len,
                          int64_t version);
/* {"items": items} for a batch create (takes ownership; NULL items = out of
 * memory, answered as such). */
int frs_send_items(frs_exchange *x, int status, cJSON *items);
/* A non-JSON body (metrics text). */
int frs_send_text(frs_exchange *x, int status, const char *content_type, const char *body,
                  size_t len);
/* 204 No Content. */
int frs_send_no_content(frs_exchange *x);

/* A query parameter, URL-decoded into buf: 1 if present, 0 if absent, -1 if
 * present but longer than buf (buf then holds ""). */
int frs_query(const frs_exchange *x, const char *name, char *buf, size_t size);
/* Sets x->ctx.if_match_version from If-Match; 0 after sending 400 (field
 * "If-Match") for a malformed one. */
int frs_read_if_match(frs_exchange *x);
/* 404 not_found: "<What> <id> does not exist." */
int frs_send_not_found(frs_exchange *x, const char *what, const char *id);
/* The If-Match header as a version (0 = absent or "*"); -1 when malformed. */
int64_t frs_if_match(const frs_exchange *x);
/* A request header, or NULL. */
const char *frs_header(const frs_exchange *x, const char *name);

/* ---- lists (SPEC §1): ?limit=&cursor= and field filters ------------------- */
#define FRS_LIST_FILTER_LEN 160

typedef struct frs_list_args {
    fr_list_query q; /* points into the buffers below */
    char cursor[FR_CURSOR_SIZE + 8];
    char fleet_id[FRS_LIST_FILTER_LEN];
    char pool_id[FRS_LIST_FILTER_LEN];
    char resource_type[FRS_LIST_FILTER_LEN];
    char site[FRS_LIST_FILTER_LEN];
    char vehicle_id[FRS_LIST_FILTER_LEN];
    char operation_id[FRS_LIST_FILTER_LEN];
    char request_id[FRS_LIST_FILTER_LEN];
    char plan_id[FRS_LIST_FILTER_LEN];
    char allocation_type[FRS_LIST_FILTER_LEN];
} frs_list_args;

/* Parses limit (1..1000, default 100), cursor, from/to (RFC 3339) and the
 * string filters present in the query; `status` is parsed with
 * status_parse (NULL: not a filter of this list) and `type` with
 * type_parse.  On a bad value sends 400 (details.field) and returns 0. */
int frs_list_args_parse(frs_exchange *x, frs_list_args *a, int (*status_parse)(const char *),
                        int (*type_parse)(const char *));
/* {"items": items, "next_cursor": cursor or null} (takes ownership of items). */
cJSON *frs_page(cJSON *items, const char *next_cursor);

/* One JSON log line for a finished exchange (log.c). */
void frs_log_request(int level, const frs_exchange *x, double duration_ms);

#endif /* FRS_HTTP_H */
