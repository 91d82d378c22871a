/*
 * fleetres.h — the one public API of libfleetres.
 *
 * libfleetres manages the shared resources of a vehicle fleet over time: a
 * capacity ledger per pool, a priority request queue with aging, conflict
 * detection, behind a storage vtable (memory, SQLite).  The product contract is
 * SPEC.md; this header is its C binding.
 *
 * Conventions (the same for every function below):
 *   - Times are int64 milliseconds since the Unix epoch (UTC).  FR_TIME_INF
 *     means "open-ended" for interval ends and "no deadline"; FR_TIME_NULL means
 *     "absent" for optional instants (hold_expires_at, released_at, ...).
 *   - Quantities are int64 milli-units (fixed point, 3 decimals).  No float is
 *     ever used in a sum.
 *   - Functions return an int status (FR_OK or an FR_E* code).  Results come
 *     back through out-parameters; a failed call leaves them untouched and
 *     changes nothing.
 *   - Entities returned through out-parameters are deep copies owned by the
 *     caller; release them with the matching fr_*_clear() (or fr_*_free_array()
 *     for lists).  Inputs are borrowed for the duration of the call.
 *   - Thread safety: every call on one fr_engine is serialized by a mutex inside
 *     the engine, so an engine may be shared by any number of threads.  Calls on
 *     different engines are independent.  The engine never starts a thread.
 */
#ifndef FLEETRES_H
#define FLEETRES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FR_BUILDING_LIBRARY) && defined(__GNUC__)
#define FR_API __attribute__((visibility("default")))
#else
#define FR_API
#endif

/* ---------------------------------------------------------------------------
 * Status codes.  Append-only: never renumbered.
 * ------------------------------------------------------------------------- */
#define FR_OK 0
#define FR_EINVAL 1         /* invalid_request: bad argument; res->field names it */
#define FR_ENOTFOUND 2      /* not_found: unknown id */
#define FR_ECAPACITY 3      /* capacity_exceeded: res carries the explanation */
#define FR_EDOUBLE 4        /* double_booking */
#define FR_ESTATE 5         /* invalid_state: transition not allowed */
#define FR_EPOOL_IN_USE 6   /* pool_in_use */
#define FR_EPLAN_STALE 7    /* plan_stale */
#define FR_EUNRESOLVABLE 8  /* unresolvable */
#define FR_EVERSION 9       /* version_mismatch: ctx->if_match_version differs */
#define FR_EREFERENCE 10    /* unknown_reference: body names a missing entity */
#define FR_ENOMEM 11        /* out of memory; nothing changed */
#define FR_ESTORE 12        /* unavailable: the store failed; nothing changed */
#define FR_EFORBIDDEN 13    /* forbidden: e.g. overcommit without permission */
#define FR_ELIMIT 14        /* a bound was hit (too many items, overflow) */
#define FR_EIDEMPOTENCY 15  /* idempotency_key_reused: same key, another body */
#define FR_STATUS_COUNT 16

/* Returns a static English description of a status code ("capacity exceeded"). */
FR_API const char *fr_errstr(int status);
/* Returns the SPEC error code for a status ("capacity_exceeded"), static. */
FR_API const char *fr_errcode(int status);
/* Returns the library version string, e.g. "0.1.0", static. */
FR_API const char *fr_version(void);

/* ---------------------------------------------------------------------------
 * Scalars.
 * ------------------------------------------------------------------------- */
#define FR_TIME_INF INT64_MAX  /* open-ended end, no deadline */
#define FR_TIME_NULL INT64_MIN /* absent instant */
/* Largest accepted quantity: 1e12 units, in milli-units. */
#define FR_QTY_MAX_MILLI INT64_C(1000000000000000)
/* Accepted instants: 0000-01-01 .. 9999-12-31 (milliseconds). */
#define FR_TIME_MIN_MS INT64_C(-62167219200000)
#define FR_TIME_MAX_MS INT64_C(253402300799999)
#define FR_ID_SIZE 37          /* UUID text (36) + NUL */
#define FR_CLIENT_ID_MAX 128   /* fleet_id, vehicle_id, operation_id, site */
#define FR_NAME_MAX 256        /* pool name */
#define FR_SLUG_MAX 64         /* resource_type, allocation_type, unit */
#define FR_PRIORITY_MAX 1000
#define FR_BATCH_MAX 1000      /* items in one batch create */
#define FR_SCHEDULE_MAX 1000   /* capacity_schedule entries per pool */
#define FR_HORIZON_SEARCH_MS (INT64_C(30) * 86400 * 1000) /* next_fit search window */
#define FR_CONFLICTING_MAX 20  /* ids listed in a capacity refusal */

/* Parses an RFC 3339 timestamp (any offset; fraction truncated to ms) into
 * *out_ms.  Returns FR_OK or FR_EINVAL (and leaves *out_ms untouched). */
FR_API int fr_time_parse(const char *text, int64_t *out_ms);
/* Formats ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (>= 25 bytes).  Returns the
 * length written, or 0 if buf is too small or ms is outside the accepted range. */
FR_API size_t fr_time_format(int64_t ms, char *buf, size_t size);
/* Parses a decimal quantity ("12", "0.5", "1e3", "-2.125") with at most 3
 * decimals into milli-units.  Rejects more decimals, NaN/Inf, |q| > 1e12. */
FR_API int fr_qty_parse(const char *text, int64_t *out_milli);
/* Formats milli-units as the shortest exact decimal ("12", "0.5", "-2.125"). */
FR_API size_t fr_qty_format(int64_t milli, char *buf, size_t size);

/* ---------------------------------------------------------------------------
 * Enumerations (names are SPEC's; fr_*_name() / fr_*_parse() convert).
 * ------------------------------------------------------------------------- */
enum fr_pool_status { FR_POOL_ACTIVE = 0, FR_POOL_DRAINING = 1, FR_POOL_RETIRED = 2 };
enum fr_allocation_status {
    FR_ALLOC_HELD = 0,
    FR_ALLOC_CONFIRMED = 1,
    FR_ALLOC_RELEASED = 2,
    FR_ALLOC_CANCELLED = 3,
    FR_ALLOC_EXPIRED = 4,
    FR_ALLOC_PREEMPTED = 5
};
enum fr_request_status {
    FR_REQ_PENDING = 0,
    FR_REQ_FULFILLED = 1,
    FR_REQ_CANCELLED = 2,
    FR_REQ_EXPIRED = 3
};
enum fr_pending_reason {
    FR_REASON_NONE = 0,
    FR_REASON_NO_POOL_OF_TYPE = 1,
    FR_REASON_INSUFFICIENT_CAPACITY = 2
};
enum fr_conflict_type {
    FR_CONFLICT_OVER_CAPACITY = 0,
    FR_CONFLICT_DOUBLE_BOOKING = 1,
    FR_CONFLICT_MANUAL = 2
};
enum fr_conflict_status { FR_CONFLICT_OPEN = 0, FR_CONFLICT_RESOLVED = 1 };
enum fr_entity_type {
    FR_ENTITY_POOL = 0,
    FR_ENTITY_ALLOCATION = 1,
    FR_ENTITY_REQUEST = 2,
    FR_ENTITY_SAMPLE = 3,
    FR_ENTITY_CONFLICT = 4,
    FR_ENTITY_PLAN = 5
};

/* Name of an enum value ("held"), or NULL when out of range. */
FR_API const char *fr_pool_status_name(int status);
FR_API const char *fr_allocation_status_name(int status);
FR_API const char *fr_request_status_name(int status);
FR_API const char *fr_pending_reason_name(int reason); /* NULL for NONE */
FR_API const char *fr_conflict_type_name(int type);
FR_API const char *fr_conflict_status_name(int status);
FR_API const char *fr_entity_type_name(int type);
/* Inverse of the above: returns the value, or -1 for an unknown name. */
FR_API int fr_pool_status_parse(const char *name);
FR_API int fr_allocation_status_parse(const char *name);
FR_API int fr_request_status_parse(const char *name);
FR_API int fr_conflict_type_parse(const char *name);
FR_API int fr_conflict_status_parse(const char *name);

/* ---------------------------------------------------------------------------
 * Entities.  Strings are NUL-terminated UTF-8; optional strings are NULL when
 * absent; ids are "" when absent.  JSON-valued fields (labels, metadata) are
 * kept as JSON text, opaque to the engine.
 * ------------------------------------------------------------------------- */
typedef struct fr_schedule_entry {
    int64_t start_ms;
    int64_t end_ms; /* FR_TIME_INF: open-ended */
    int64_t capacity_milli;
} fr_schedule_entry;

typedef struct fr_pool {
    char id[FR_ID_SIZE];
    char *fleet_id;
    char *name;
    char *resource_type;
    char *unit;
    char *site;        /* NULL when absent */
    char *labels_json; /* a JSON object; "{}" by default */
    int status;        /* enum fr_pool_status */
    int exclusive_per_vehicle;
    int64_t total_capacity_milli;
    fr_schedule_entry *schedule; /* sorted by start, non-overlapping */
    size_t schedule_len;
    int deleted; /* 1 once DELETEd: hidden from get/list, kept for history */
    int64_t version;
    int64_t created_at_ms;
    int64_t updated_at_ms;
    /* Computed at the moment of the read (not stored). */
    int64_t capacity_now_milli;
    int64_t reserved_capacity_milli;
    int64_t available_capacity_milli;
} fr_pool;

typedef struct fr_allocation {
    char id[FR_ID_SIZE];
    char pool_id[FR_ID_SIZE];
    char *fleet_id;
    char *resource_type; /* copied from the pool at creation */
    char *vehicle_id;    /* NULL when absent */
    char *operation_id;  /* NULL when absent */
    char *allocation_type;
    int64_t quantity_milli;
    int64_t start_ms;
    int64_t end_ms; /* FR_TIME_INF: open-ended */
    int32_t priority;
    int status; /* enum fr_allocation_status */
    int64_t hold_expires_at_ms; /* FR_TIME_NULL unless held (or expired) */
    char request_id[FR_ID_SIZE];
    char plan_id[FR_ID_SIZE];
    char *metadata_json; /* a JSON object; "{}" by default */
    int64_t released_at_ms; /* when it stopped counting: released or preempted; else FR_TIME_NULL */
    int64_t version;
    int64_t created_at_ms;
    int64_t updated_at_ms;
} fr_allocation;

typedef struct fr_request {
    char id[FR_ID_SIZE];
    char *fleet_id;
    char *vehicle_id;   /* NULL when absent */
    char *operation_id; /* NULL when absent */
    char *resource_type;
    char pool_id[FR_ID_SIZE]; /* "" when unconstrained */
    char *site;               /* NULL when unconstrained */
    int64_t quantity_milli;
    int64_t duration_ms;
    int64_t earliest_start_ms;
    int64_t latest_end_ms; /* FR_TIME_INF: no deadline */
    int32_t priority;
    int status;         /* enum fr_request_status */
    int pending_reason; /* enum fr_pending_reason */
    char allocation_id[FR_ID_SIZE];
    int preempt;
    int64_t fulfilled_at_ms; /* FR_TIME_NULL unless fulfilled */
    char *metadata_json;
    int64_t version;
    int64_t created_at_ms;
    int64_t updated_at_ms;
    /* Computed at the moment of the read (pending only; else 0/FR_TIME_NULL). */
    int64_t queue_position;     /* 1-based within (fleet_id, resource_type) */
    int64_t effective_priority; /* priority + floor(waiting / aging) */
    int64_t estimated_start_ms; /* FR_TIME_NULL when none within 30 days */
} fr_request;

typedef struct fr_resolution_action {
    char allocation_id[FR_ID_SIZE];
    char *action; /* "preempted", "rescheduled", "reassigned", ... */
    char *from;   /* what it was (pool id or time), NULL when n/a */
    char *to;
} fr_resolution_action;

typedef struct fr_conflict {
    char id[FR_ID_SIZE];
    char *fleet_id;
    char pool_id[FR_ID_SIZE];
    int type;   /* enum fr_conflict_type */
    int status; /* enum fr_conflict_status */
    int64_t start_ms;
    int64_t end_ms; /* FR_TIME_INF: open-ended */
    int64_t excess_milli;
    char (*allocation_ids)[FR_ID_SIZE];
    size_t allocation_ids_len;
    char *vehicle_id;  /* double_booking only */
    char *description;
    int64_t detected_at_ms;
    int64_t resolved_at_ms; /* FR_TIME_NULL while open */
    /* Resolution (present once resolved). */
    char *resolution_strategy; /* "auto", "preempt", ..., NULL while open */
    char *resolution_note;
    char *resolution_resolved_by;
    fr_resolution_action *resolution_actions;
    size_t resolution_actions_len;
    int64_t version;
    int64_t created_at_ms;
    int64_t updated_at_ms;
} fr_conflict;

typedef struct fr_event {
    int64_t seq;
    char id[FR_ID_SIZE];
    char type[48];        /* "<entity_type>.<verb>" */
    int entity_type;      /* enum fr_entity_type */
    char entity_id[FR_ID_SIZE];
    char *fleet_id;
    int64_t occurred_at_ms;
    char *actor;
    char *data_json;      /* the entity after the change, as JSON */
} fr_event;

/* Release what an entity owns (not the struct itself); zeroes it.  NULL is a no-op. */
FR_API void fr_pool_clear(fr_pool *pool);
FR_API void fr_allocation_clear(fr_allocation *allocation);
FR_API void fr_request_clear(fr_request *request);
FR_API void fr_conflict_clear(fr_conflict *conflict);
FR_API void fr_event_clear(fr_event *event);
/* Clear each of n items, then free the array (as returned by the list calls). */
FR_API void fr_pool_free_array(fr_pool *items, size_t n);
FR_API void fr_allocation_free_array(fr_allocation *items, size_t n);
FR_API void fr_request_free_array(fr_request *items, size_t n);
FR_API void fr_conflict_free_array(fr_conflict *items, size_t n);
FR_API void fr_event_free_array(fr_event *items, size_t n);

/* Entity -> JSON text in SPEC's shape (malloc'd, caller frees with fr_free). */
FR_API int fr_pool_to_json(const fr_pool *pool, char **out_json);
FR_API int fr_allocation_to_json(const fr_allocation *allocation, char **out_json);
FR_API int fr_request_to_json(const fr_request *request, char **out_json);
FR_API int fr_conflict_to_json(const fr_conflict *conflict, char **out_json);
FR_API int fr_event_to_json(const fr_event *event, char **out_json);
/* Frees memory the library allocated for the caller (JSON text, arrays). */
FR_API void fr_free(void *ptr);

/* ---------------------------------------------------------------------------
 * Call context and results.
 * ------------------------------------------------------------------------- */

/* Per-call context for mutations.  NULL means: actor "anonymous", no
 * If-Match, no overcommit permission. */
typedef struct fr_ctx {
    const char *actor;         /* recorded in events; NULL = "anonymous" */
    int64_t if_match_version;  /* 0 = none; else must equal the entity version */
    int may_overcommit;        /* principal may use "overcommit" (operator+) */
    int may_preempt;           /* principal may use request "preempt" (planner+) */
    /* Idempotency (SPEC §1), for the create calls: with a key, the first
     * call's outcome is recorded in the same transaction as its change; a
     * later call with the same scope and key replays it (same ids, same
     * status; res->replayed = 1) when body_hash matches, and fails with
     * FR_EIDEMPOTENCY when it does not.  Records are kept at least 24 h. */
    const char *idempotency_scope; /* e.g. "POST /allocations"; NULL = none */
    const char *idempotency_key;   /* 1-255 printable characters */
    uint64_t idempotency_body_hash; /* of the request as parsed JSON */
} fr_ctx;

/* The explanation of a result.  Optional out-parameter of every mutation;
 * filled on failure (and conflicts_detected also on success).  Initialize with
 * fr_result_init, release with fr_result_clear. */
typedef struct fr_result {
    int status;
    char message[256]; /* one human sentence */
    char field[64];    /* invalid_request: the offending field ("quantity") */
    int64_t index;     /* batch: index of the failing item, else -1 */
    /* capacity_exceeded */
    char pool_id[FR_ID_SIZE];
    int64_t at_ms;
    int64_t capacity_milli;
    int64_t free_milli;
    int64_t requested_milli;
    int64_t next_fit_start_ms; /* FR_TIME_NULL when none within 30 days */
    /* capacity_exceeded and double_booking */
    char conflicting_ids[FR_CONFLICTING_MAX][FR_ID_SIZE];
    size_t conflicting_count;
    char vehicle_id[FR_CLIENT_ID_MAX + 1];
    /* Conflicts this change detected (ids), on success; malloc'd. */
    char (*conflicts_detected)[FR_ID_SIZE];
    size_t conflicts_detected_len;
    /* 1 when this result replays an earlier call with the same idempotency key. */
    int replayed;
} fr_result;

FR_API void fr_result_init(fr_result *res);
FR_API void fr_result_clear(fr_result *res);
/* Size of the structs, for FFIs that check their layout. */
FR_API size_t fr_struct_size(const char *name);

/* ---------------------------------------------------------------------------
 * Engine.
 * ------------------------------------------------------------------------- */
typedef struct fr_engine fr_engine;
typedef struct fr_store fr_store; /* see fleetres_store.h */

/* A clock returning "now" in ms; injectable for tests and simulations. */
typedef int64_t (*fr_clock_fn)(void *clock_ctx);

typedef struct fr_engine_options {
    fr_clock_fn clock;  /* NULL: the system clock (CLOCK_REALTIME) */
    void *clock_ctx;
    int64_t aging_ms;   /* queue aging step; <= 0: 60000 */
    uint64_t seed;      /* id randomness; 0: from the OS.  Fixed => repeatable ids */
} fr_engine_options;

/* Opens an engine on uri: ":memory:" (volatile), a SQLite file path, or
 * "sqlite://PATH".  Loads the stored state.  opt may be NULL (defaults).
 * On failure *out is untouched and, if errbuf is given, a message is written. */
FR_API int fr_engine_open(const char *uri, const fr_engine_options *opt, fr_engine **out,
                          char *errbuf, size_t errbuf_size);
/* Opens an engine on a store the caller built (takes ownership of store, also
 * on failure). */
FR_API int fr_engine_open_store(fr_store *store, const fr_engine_options *opt,
                                fr_engine **out, char *errbuf, size_t errbuf_size);
/* Closes the engine and its store.  NULL is a no-op. */
FR_API void fr_engine_close(fr_engine *engine);
/* The engine's current time (its clock). */
FR_API int64_t fr_engine_now(fr_engine *engine);
/* Applies the changes driven by time alone up to now: hold expiry, request
 * expiry, and the dispatch they cause.  Every other call does this first too,
 * so calling it is only needed to get events/dispatch without other traffic. */
FR_API int fr_engine_tick(fr_engine *engine);
/* Checks that the store answers (FR_OK) — for health checks. */
FR_API int fr_engine_ping(fr_engine *engine);

/* Store transactions since the engine was opened (monotonic counters). */
typedef struct fr_engine_counters {
    uint64_t store_commits; /* store transactions committed */
    uint64_t grouped_calls; /* transactions that shared one of them with others'
                             * (stores with savepoints: PostgreSQL; docs/concurrency.md) */
    uint64_t failed_groups; /* shared transactions whose commit failed: their calls
                             * answered FR_ESTORE and changed nothing */
} fr_engine_counters;
FR_API int fr_engine_counters_get(fr_engine *engine, fr_engine_counters *out);

/* ---------------------------------------------------------------------------
 * Pools (SPEC §2).
 * ------------------------------------------------------------------------- */
#define FR_POOL_F_FLEET_ID (1u << 0)
#define FR_POOL_F_NAME (1u << 1)
#define FR_POOL_F_RESOURCE_TYPE (1u << 2)
#define FR_POOL_F_UNIT (1u << 3)
#define FR_POOL_F_SITE (1u << 4)
#define FR_POOL_F_LABELS (1u << 5)
#define FR_POOL_F_STATUS (1u << 6)
#define FR_POOL_F_TOTAL_CAPACITY (1u << 7)
#define FR_POOL_F_SCHEDULE (1u << 8)
#define FR_POOL_F_EXCLUSIVE (1u << 9)

/* Inputs of create/update.  `set` says which fields are present; absent
 * fields take their default (create) or stay unchanged (update). */
typedef struct fr_pool_params {
    uint32_t set;
    const char *fleet_id;
    const char *name;
    const char *resource_type;
    const char *unit;
    const char *site; /* NULL with FR_POOL_F_SITE set: clear it */
    const char *labels_json;
    int status;
    int64_t total_capacity_milli;
    const fr_schedule_entry *schedule;
    size_t schedule_len;
    int exclusive_per_vehicle;
} fr_pool_params;

/* Creates a pool (fleet_id, name, resource_type, total_capacity required).
 * Dispatches pending requests that now fit.  *out receives the pool. */
FR_API int fr_pool_create(fr_engine *engine, const fr_ctx *ctx, const fr_pool_params *params,
                          fr_pool *out, fr_result *res);
/* Partial update.  Lowering capacity below what is booked is allowed and
 * records over_capacity conflicts (res->conflicts_detected); raising it
 * dispatches pending requests.  fleet_id/resource_type are immutable. */
FR_API int fr_pool_update(fr_engine *engine, const fr_ctx *ctx, const char *id,
                          const fr_pool_params *params, fr_pool *out, fr_result *res);
/* Deletes a pool.  FR_EPOOL_IN_USE if live allocations end after now, unless
 * force: then in-progress ones are released, future ones cancelled, and their
 * requests go back to pending. */
FR_API int fr_pool_delete(fr_engine *engine, const fr_ctx *ctx, const char *id, int force,
                          fr_result *res);
FR_API int fr_pool_get(fr_engine *engine, const char *id, fr_pool *out);

/* ---------------------------------------------------------------------------
 * Lists.  One query struct for every list; fields a list does not know are
 * ignored.  Order: created_at then id (requests with status=pending: queue
 * order).  next_cursor (>= FR_CURSOR_SIZE bytes) receives "" at the end.
 * ------------------------------------------------------------------------- */
#define FR_CURSOR_SIZE 64
#define FR_LIST_LIMIT_MAX 1000

typedef struct fr_list_query {
    size_t limit;       /* 1..1000; 0 = 100 */
    const char *cursor; /* NULL or "" = from the start */
    const char *fleet_id;
    const char *pool_id;
    const char *resource_type;
    const char *site;
    const char *vehicle_id;
    const char *operation_id;
    const char *request_id;
    const char *plan_id;
    const char *allocation_type;
    int status;         /* -1 = any; else the entity's status enum */
    int type;           /* conflicts: -1 = any */
    int64_t from_ms;    /* FR_TIME_NULL = unbounded; overlap with [from, to) */
    int64_t to_ms;
} fr_list_query;

/* Initializes q to "everything, default limit". */
FR_API void fr_list_query_init(fr_list_query *q);

FR_API int fr_pool_list(fr_engine *engine, const fr_list_query *q, fr_pool **items,
                        size_t *count, char *next_cursor);
FR_API int fr_allocation_list(fr_engine *engine, const fr_list_query *q,
                              fr_allocation **items, size_t *count, char *next_cursor);
FR_API int fr_request_list(fr_engine *engine, const fr_list_query *q, fr_request **items,
                           size_t *count, char *next_cursor);
FR_API int fr_conflict_list(fr_engine *engine, const fr_list_query *q, fr_conflict **items,
                            size_t *count, char *next_cursor);

/* ---------------------------------------------------------------------------
 * Allocations (SPEC §3).
 * ------------------------------------------------------------------------- */
#define FR_ALLOC_F_POOL_ID (1u << 0)
#define FR_ALLOC_F_FLEET_ID (1u << 1)
#define FR_ALLOC_F_RESOURCE_TYPE (1u << 2)
#define FR_ALLOC_F_SITE (1u << 3)
#define FR_ALLOC_F_VEHICLE_ID (1u << 4)
#define FR_ALLOC_F_OPERATION_ID (1u << 5)
#define FR_ALLOC_F_TYPE (1u << 6)
#define FR_ALLOC_F_QUANTITY (1u << 7)
#define FR_ALLOC_F_START (1u << 8)
#define FR_ALLOC_F_END (1u << 9)
#define FR_ALLOC_F_PRIORITY (1u << 10)
#define FR_ALLOC_F_STATUS (1u << 11)
#define FR_ALLOC_F_HOLD (1u << 12)
#define FR_ALLOC_F_METADATA (1u << 13)
#define FR_ALLOC_F_OVERCOMMIT (1u << 14)

typedef struct fr_allocation_params {
    uint32_t set;
    const char *pool_id;       /* or fleet_id + resource_type (+ site) */
    const char *fleet_id;
    const char *resource_type;
    const char *site;
    const char *vehicle_id;
    const char *operation_id;
    const char *allocation_type;
    int64_t quantity_milli;
    int64_t start_ms;          /* default: now */
    int64_t end_ms;            /* FR_TIME_INF: open-ended (default) */
    int32_t priority;
    int status;                /* create: held/confirmed; update: confirmed/released */
    int64_t hold_ms;           /* create: > 0 makes a hold expiring after it */
    const char *metadata_json;
    int overcommit;
} fr_allocation_params;

/* Books one allocation, checking double booking then capacity. */
FR_API int fr_allocation_create(fr_engine *engine, const fr_ctx *ctx,
                                const fr_allocation_params *params, fr_allocation *out,
                                fr_result *res);
/* Books n allocations all or nothing; out receives n items (caller's array).
 * On failure res->index names the failing item. */
FR_API int fr_allocation_create_batch(fr_engine *engine, const fr_ctx *ctx,
                                      const fr_allocation_params *params, size_t n,
                                      fr_allocation *out, fr_result *res);
/* Partial update of start, end, quantity, priority, metadata, status
 * (confirmed, released); capacity re-checked without the allocation itself. */
FR_API int fr_allocation_update(fr_engine *engine, const fr_ctx *ctx, const char *id,
                                const fr_allocation_params *params, fr_allocation *out,
                                fr_result *res);
/* DELETE: cancels before start, releases while in progress; *out is final. */
FR_API int fr_allocation_delete(fr_engine *engine, const fr_ctx *ctx, const char *id,
                                fr_allocation *out, fr_result *res);
FR_API int fr_allocation_get(fr_engine *engine, const char *id, fr_allocation *out);

/* ---------------------------------------------------------------------------
 * Requests (SPEC §4).
 * ------------------------------------------------------------------------- */
#define FR_REQ_F_FLEET_ID (1u << 0)
#define FR_REQ_F_VEHICLE_ID (1u << 1)
#define FR_REQ_F_OPERATION_ID (1u << 2)
#define FR_REQ_F_RESOURCE_TYPE (1u << 3)
#define FR_REQ_F_POOL_ID (1u << 4)
#define FR_REQ_F_SITE (1u << 5)
#define FR_REQ_F_QUANTITY (1u << 6)
#define FR_REQ_F_DURATION (1u << 7)
#define FR_REQ_F_EARLIEST_START (1u << 8)
#define FR_REQ_F_LATEST_END (1u << 9)
#define FR_REQ_F_PRIORITY (1u << 10)
#define FR_REQ_F_PREEMPT (1u << 11)
#define FR_REQ_F_METADATA (1u << 12)

typedef struct fr_request_params {
    uint32_t set;
    const char *fleet_id;
    const char *vehicle_id;
    const char *operation_id;
    const char *resource_type;
    const char *pool_id;
    const char *site;
    int64_t quantity_milli;
    int64_t duration_ms;
    int64_t earliest_start_ms;
    int64_t latest_end_ms; /* FR_TIME_INF: no deadline */
    int32_t priority;
    int preempt;
    const char *metadata_json;
} fr_request_params;

/* Enqueues a request and dispatches at once if it fits (then *out is fulfilled). */
FR_API int fr_request_create(fr_engine *engine, const fr_ctx *ctx,
                             const fr_request_params *params, fr_request *out,
                             fr_result *res);
/* Changes a pending request (re-queued, re-dispatched); FR_ESTATE otherwise. */
FR_API int fr_request_update(fr_engine *engine, const fr_ctx *ctx, const char *id,
                             const fr_request_params *params, fr_request *out,
                             fr_result *res);
/* Cancels a pending request; *out is final.  FR_ESTATE otherwise. */
FR_API int fr_request_delete(fr_engine *engine, const fr_ctx *ctx, const char *id,
                             fr_request *out, fr_result *res);
FR_API int fr_request_get(fr_engine *engine, const char *id, fr_request *out);

/* ---------------------------------------------------------------------------
 * Conflicts (SPEC §6): detection is automatic; manual ones are recorded here.
 * ------------------------------------------------------------------------- */
typedef struct fr_conflict_params {
    const char *pool_id;
    const char *description;
    int64_t start_ms;
    int64_t end_ms; /* FR_TIME_INF: open-ended */
    const char *const *allocation_ids;
    size_t allocation_ids_len;
} fr_conflict_params;

FR_API int fr_conflict_create(fr_engine *engine, const fr_ctx *ctx,
                              const fr_conflict_params *params, fr_conflict *out,
                              fr_result *res);
FR_API int fr_conflict_get(fr_engine *engine, const char *id, fr_conflict *out);

/* Resolution strategies (SPEC §6 POST /conflicts/{id}/resolve). */
enum fr_resolve_strategy {
    FR_RESOLVE_PREEMPT = 0,    /* the fewest allocations become preempted */
    FR_RESOLVE_RESCHEDULE = 1, /* the fewest not-started ones move later */
    FR_RESOLVE_REASSIGN = 2,   /* the fewest not-started ones move to another pool */
    FR_RESOLVE_MANUAL = 3      /* a note only */
};
FR_API const char *fr_resolve_strategy_name(int strategy); /* NULL when out of range */
FR_API int fr_resolve_strategy_parse(const char *name);    /* -1 when unknown */
#define FR_NOTE_MAX 4096 /* resolution note, bytes */

typedef struct fr_resolve_params {
    int strategy;         /* enum fr_resolve_strategy */
    const char *note;     /* NULL = none; required (non-empty) for manual */
    int64_t max_delay_ms; /* reschedule: how much later at most; 0 = 30 days; else
                           * 1 s .. FR_HORIZON_SEARCH_MS */
    int dry_run;          /* 1: compute and return, change nothing */
} fr_resolve_params;

/* Resolves an open conflict, all or nothing (docs/design.md "Conflict
 * resolution").  *out receives the conflict as resolved (with dry_run: as it
 * would be; nothing is stored and no event is written).  FR_EUNRESOLVABLE
 * when the strategy cannot clear the conflict (nothing changed), FR_ESTATE
 * when it is already resolved, FR_ENOTFOUND, FR_EINVAL for bad params. */
FR_API int fr_conflict_resolve(fr_engine *engine, const fr_ctx *ctx, const char *id,
                               const fr_resolve_params *params, fr_conflict *out,
                               fr_result *res);

/* ---------------------------------------------------------------------------
 * Ledger views.
 * ------------------------------------------------------------------------- */
typedef struct fr_bucket {
    int64_t start_ms;
    int64_t end_ms;
    int64_t capacity_avg_milli; /* time-weighted */
    int64_t booked_avg_milli;   /* time-weighted: live + ended-up-to-end */
    int64_t booked_peak_milli;
} fr_bucket;

/* Fills up to max buckets of [from, to) with bucket_ms steps (the last cut at
 * to) for a pool (deleted pools too).  *count receives the number written. */
FR_API int fr_pool_booked_series(fr_engine *engine, const char *pool_id, int64_t from_ms,
                                 int64_t to_ms, int64_t bucket_ms, fr_bucket *out,
                                 size_t max, size_t *count);

/* ---------------------------------------------------------------------------
 * Events (SPEC §8).
 * ------------------------------------------------------------------------- */
/* Events with seq > after (optionally of one fleet), in seq order, at most
 * limit (1..1000).  *items is malloc'd (fr_event_free_array). */
FR_API int fr_event_list(fr_engine *engine, int64_t after, size_t limit, const char *fleet_id,
                         fr_event **items, size_t *count);

/* ---------------------------------------------------------------------------
 * Utilization samples and the utilization series (SPEC §5).
 *
 * A sample is a measurement of how much of a pool was really in use at an
 * instant.  Samples are immutable: created (one by one or in batches), listed,
 * never changed or deleted; a deleted pool keeps its samples, like the rest of
 * its history.
 * ------------------------------------------------------------------------- */
#define FR_SOURCE_MAX 128                /* sample source: 1-128 printable */
#define FR_UTILIZATION_BUCKETS_MAX 10000 /* buckets in one utilization series */

typedef struct fr_sample {
    char id[FR_ID_SIZE];
    char pool_id[FR_ID_SIZE];
    char *fleet_id;         /* the pool's */
    int64_t timestamp_ms;   /* when it was measured */
    int64_t used_milli;     /* 0 .. FR_QTY_MAX_MILLI */
    char *source;           /* NULL when absent */
    int64_t capacity_milli; /* the pool's capacity at timestamp, recorded at creation */
    int64_t created_at_ms;
} fr_sample;

/* Release what a sample owns / clear n samples and free the array. */
FR_API void fr_sample_clear(fr_sample *sample);
FR_API void fr_sample_free_array(fr_sample *items, size_t n);
/* Sample -> JSON in SPEC's shape, with utilization = used / capacity (null
 * when capacity is 0).  Caller frees with fr_free. */
FR_API int fr_sample_to_json(const fr_sample *sample, char **out_json);

#define FR_SAMPLE_F_POOL_ID (1u << 0)
#define FR_SAMPLE_F_TIMESTAMP (1u << 1)
#define FR_SAMPLE_F_USED (1u << 2)
#define FR_SAMPLE_F_SOURCE (1u << 3)

typedef struct fr_sample_params {
    uint32_t set;
    const char *pool_id;  /* required: an existing, not deleted pool */
    int64_t timestamp_ms; /* default: now; past (and future) instants are accepted */
    int64_t used_milli;   /* required; 0 .. FR_QTY_MAX_MILLI */
    const char *source;   /* optional; NULL with FR_SAMPLE_F_SOURCE set: absent */
} fr_sample_params;

/* Records one sample: one transaction appending a sample.created event.
 * *out (may be NULL) receives the stored sample.  FR_EREFERENCE (field
 * pool_id) for an unknown or deleted pool; FR_ESTORE when the store's
 * methods are older than version 2 (it cannot keep samples). */
FR_API int fr_sample_create(fr_engine *engine, const fr_ctx *ctx, const fr_sample_params *params,
                            fr_sample *out, fr_result *res);
/* Records n (1..FR_BATCH_MAX) samples all or nothing, in one transaction;
 * out (may be NULL) receives n items (caller's array).  On failure
 * res->index names the failing item and nothing was recorded. */
FR_API int fr_sample_create_batch(fr_engine *engine, const fr_ctx *ctx,
                                  const fr_sample_params *params, size_t n, fr_sample *out,
                                  fr_result *res);
/* Lists samples in (created_at, id) order; filters pool_id, fleet_id and
 * from/to on the timestamp (from <= timestamp < to).  *items is malloc'd
 * (fr_sample_free_array). */
FR_API int fr_sample_list(fr_engine *engine, const fr_list_query *q, fr_sample **items,
                          size_t *count, char *next_cursor);

/* One bucket of a utilization series (or the summary of the whole range).
 * Averages are in milli-units, truncated toward zero. */
typedef struct fr_utilization_bucket {
    int64_t start_ms;
    int64_t end_ms;
    int64_t capacity_avg_milli; /* time-weighted */
    int64_t booked_avg_milli;   /* time-weighted, from the usage ledger */
    int64_t booked_peak_milli;
    int64_t measured_avg_milli; /* mean used of the samples in [start, end) */
    int64_t measured_count;     /* how many samples that is */
    int has_measured;           /* 0: no sample, measured_avg is 0 and means null */
    int has_utilization;        /* 0: capacity_avg is 0, utilization is null */
    int has_efficiency;         /* 0: no sample or booked_avg is 0, efficiency is null */
    double utilization;         /* booked_avg / capacity_avg */
    double efficiency;          /* measured_avg / booked_avg */
} fr_utilization_bucket;

/* The utilization series of a pool (deleted pools too) over [from, to) in
 * bucket_ms steps (the first starts at from, the last is cut at to):
 * capacity and booked from the ledger, measured from the samples.  Writes
 * the buckets to out (at most max) and their number to *count, and the
 * statistics of the whole range to *summary (may be NULL).  FR_EINVAL for
 * bad arguments (bucket_ms <= 0, to <= from), FR_ELIMIT for more than
 * FR_UTILIZATION_BUCKETS_MAX (or max) buckets, FR_ENOTFOUND for an unknown
 * pool. */
FR_API int fr_pool_utilization(fr_engine *engine, const char *pool_id, int64_t from_ms,
                               int64_t to_ms, int64_t bucket_ms, fr_utilization_bucket *out,
                               size_t max, size_t *count, fr_utilization_bucket *summary);

/* ---------------------------------------------------------------------------
 * Plans (SPEC §7): the horizon planner's output, kept as an entity.
 *
 * A plan is made (and re-made while a draft) against the ledger as it is at
 * that moment; it changes nothing until committed.  Commit books every
 * assignment as a confirmed allocation (plan_id set; a request's assignment
 * fulfils the request) in one transaction, or nothing (FR_EPLAN_STALE with
 * the list of what no longer fits).  Statuses: draft -> committed |
 * discarded; delete hides a draft or discarded plan (committed ones stay).
 * ------------------------------------------------------------------------- */
enum fr_plan_status { FR_PLAN_DRAFT = 0, FR_PLAN_COMMITTED = 1, FR_PLAN_DISCARDED = 2 };
FR_API const char *fr_plan_status_name(int status);
FR_API int fr_plan_status_parse(const char *name);

#define FR_PLAN_DEMANDS_MAX 10000           /* demands in one plan */
#define FR_PLAN_CHANGES_MAX 1000            /* what-if capacity changes in one plan */
#define FR_PLAN_HORIZON_MAX_MS (INT64_C(31) * 86400 * 1000)
#define FR_PLAN_BUCKETS_MAX 10000           /* forecast buckets per pool */
#define FR_PLAN_FORECAST_CELLS_MAX 50000    /* pools x buckets in one forecast */
#define FR_PLAN_BUDGET_MAX_MS 60000
#define FR_PLAN_BUDGET_DEFAULT_MS 200
#define FR_PLAN_REASON_SIZE 32

/* A what-if demand.  As input: site/vehicle_id NULL = none, pool_id NULL or
 * "" = any, earliest_start_ms FR_TIME_NULL = the horizon start, duration_ms
 * 0 = latest_end - earliest_start, latest_end_ms FR_TIME_INF = none.  A
 * stored plan holds them with the defaults applied. */
typedef struct fr_plan_demand {
    char *ref;                /* 1-128 printable, unique in the plan ("1", "2", ... by default) */
    char *resource_type;
    char *site;
    char pool_id[FR_ID_SIZE];
    char *vehicle_id;
    int64_t quantity_milli;   /* > 0 */
    int64_t duration_ms;
    int64_t earliest_start_ms;
    int64_t latest_end_ms;
    int32_t priority;         /* 0..1000 */
} fr_plan_demand;

/* What-if: delta (may be negative) added to a pool's capacity over [start, end). */
typedef struct fr_plan_capacity_change {
    char pool_id[FR_ID_SIZE];
    int64_t start_ms;         /* FR_TIME_NULL as input: the horizon start */
    int64_t end_ms;           /* FR_TIME_INF: to the horizon end */
    int64_t delta_milli;
} fr_plan_capacity_change;

/* One placed item: a demand (ref) or a pending request (request_id). */
typedef struct fr_plan_assignment_info {
    char *ref;                     /* NULL for a request */
    char request_id[FR_ID_SIZE];   /* "" for a demand */
    char pool_id[FR_ID_SIZE];
    int64_t start_ms;
    int64_t end_ms;
    int64_t quantity_milli;
    int32_t priority;
    char allocation_id[FR_ID_SIZE]; /* the booking, once committed; else "" */
} fr_plan_assignment_info;

/* An item left out (unplaced), or one that no longer fits at commit (stale). */
typedef struct fr_plan_miss {
    char *ref;
    char request_id[FR_ID_SIZE];
    char pool_id[FR_ID_SIZE];     /* stale: the pool it was planned on; else "" */
    char reason[FR_PLAN_REASON_SIZE]; /* "insufficient_capacity", "capacity_exceeded", ... */
} fr_plan_miss;

typedef struct fr_plan_forecast_bucket {
    int64_t start_ms;
    int64_t end_ms;
    int64_t capacity_milli; /* time-weighted, what-if changes included */
    int64_t booked_milli;   /* time-weighted held + confirmed (the ledger) */
    int64_t planned_milli;  /* time-weighted assignments */
} fr_plan_forecast_bucket;

typedef struct fr_plan_forecast {
    char pool_id[FR_ID_SIZE];
    fr_plan_forecast_bucket *series;
    size_t series_len;
} fr_plan_forecast;

typedef struct fr_plan_shortage {
    char pool_id[FR_ID_SIZE];
    int64_t start_ms;
    int64_t end_ms;
    int64_t extra_milli;
} fr_plan_shortage;

typedef struct fr_plan {
    char id[FR_ID_SIZE];
    char *fleet_id;
    char *name;               /* NULL when absent */
    int status;               /* enum fr_plan_status */
    int64_t horizon_start_ms;
    int64_t horizon_end_ms;
    int64_t bucket_ms;
    int include_pending_requests;
    int64_t time_budget_ms;
    fr_plan_demand *demands;
    size_t demands_len;
    fr_plan_capacity_change *capacity_changes;
    size_t capacity_changes_len;
    fr_plan_assignment_info *assignments; /* by item: requests, then demands */
    size_t assignments_len;
    fr_plan_miss *unplaced;
    size_t unplaced_len;
    fr_plan_forecast *forecast;           /* active pools of the fleet, by (created_at, id) */
    size_t forecast_len;
    fr_plan_shortage *shortfall;
    size_t shortfall_len;
    int64_t placed_priority;  /* sum of (priority + 1) over assignments */
    int64_t total_delay_ms;   /* sum of (start - max(earliest_start, horizon_start)) */
    int64_t planning_ms;      /* wall time of the last planning run */
    int64_t planned_at_ms;    /* engine time of the last planning run */
    int64_t committed_at_ms;  /* FR_TIME_NULL unless committed */
    int deleted;              /* 1 once DELETEd: hidden from get/list */
    int64_t version;
    int64_t created_at_ms;
    int64_t updated_at_ms;
} fr_plan;

FR_API void fr_plan_clear(fr_plan *plan);
FR_API void fr_plan_free_array(fr_plan *items, size_t n);
FR_API void fr_plan_miss_free_array(fr_plan_miss *items, size_t n);
FR_API int fr_plan_to_json(const fr_plan *plan, char **out_json);

#define FR_PLAN_F_FLEET_ID (1u << 0)
#define FR_PLAN_F_NAME (1u << 1)
#define FR_PLAN_F_HORIZON_START (1u << 2)
#define FR_PLAN_F_HORIZON_END (1u << 3)
#define FR_PLAN_F_HORIZON_LENGTH (1u << 4) /* horizon_end = horizon_start + horizon_ms */
#define FR_PLAN_F_BUCKET (1u << 5)
#define FR_PLAN_F_INCLUDE_PENDING (1u << 6)
#define FR_PLAN_F_DEMANDS (1u << 7)
#define FR_PLAN_F_CAPACITY_CHANGES (1u << 8)
#define FR_PLAN_F_TIME_BUDGET (1u << 9)

typedef struct fr_plan_params {
    uint32_t set;
    const char *fleet_id;        /* required on create; immutable */
    const char *name;            /* NULL with FR_PLAN_F_NAME: clear it */
    int64_t horizon_start_ms;    /* default: now */
    int64_t horizon_end_ms;      /* or horizon_ms; one is required on create */
    int64_t horizon_ms;
    int64_t bucket_ms;           /* default 3600 s */
    int include_pending_requests; /* default 1 */
    const fr_plan_demand *demands; /* borrowed */
    size_t demands_len;
    const fr_plan_capacity_change *capacity_changes;
    size_t capacity_changes_len;
    int64_t time_budget_ms;      /* 1..60000, default 200 */
} fr_plan_params;

/* Plans against the current ledger and stores a draft (event plan.created). */
FR_API int fr_plan_create(fr_engine *engine, const fr_ctx *ctx, const fr_plan_params *params,
                          fr_plan *out, fr_result *res);
/* Changes a draft's inputs (absent ones unchanged) and re-plans it against
 * the current ledger (plan.updated).  FR_ESTATE unless draft. */
FR_API int fr_plan_update(fr_engine *engine, const fr_ctx *ctx, const char *id,
                          const fr_plan_params *params, fr_plan *out, fr_result *res);
/* Books every assignment of a draft, all or nothing (plan.committed).  On
 * FR_EPLAN_STALE, *stale (may be NULL) receives the assignments that no
 * longer fit (malloc'd; fr_plan_miss_free_array) and nothing changed. */
FR_API int fr_plan_commit(fr_engine *engine, const fr_ctx *ctx, const char *id, fr_plan *out,
                          fr_plan_miss **stale, size_t *stale_len, fr_result *res);
/* draft -> discarded (plan.discarded); FR_ESTATE otherwise. */
FR_API int fr_plan_discard(fr_engine *engine, const fr_ctx *ctx, const char *id, fr_plan *out,
                           fr_result *res);
/* Deletes a draft or discarded plan (plan.deleted); FR_ESTATE when committed. */
FR_API int fr_plan_delete(fr_engine *engine, const fr_ctx *ctx, const char *id, fr_result *res);
FR_API int fr_plan_get(fr_engine *engine, const char *id, fr_plan *out);
/* Lists plans by (created_at, id); filters fleet_id and status. */
FR_API int fr_plan_list(fr_engine *engine, const fr_list_query *q, fr_plan **items,
                        size_t *count, char *next_cursor);
/* Planning accuracy over committed plans whose horizon ended by now:
 * *planned = their assignments, *used = those whose allocation was used
 * (confirmed or released; not cancelled, expired or preempted). */
FR_API int fr_plan_accuracy(fr_engine *engine, int64_t *planned, int64_t *used);

#ifdef __cplusplus
}
#endif
#endif /* FLEETRES_H */
