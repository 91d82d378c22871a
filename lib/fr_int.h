/*
 * fr_int.h — private declarations shared by the engine's files.
 *
 * The engine keeps the working state in memory (records below) and indexes
 * derived from it: the pool ledgers, the vehicle index, the request queues,
 * the time-driven heaps.  Every index is a pure function of the records'
 * state, maintained by index/unindex pairs, so undoing a change is: unindex,
 * restore the record's snapshot, index again (txn.c).
 */
#ifndef FR_INT_H
#define FR_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>

#include "entity.h"
#include "fleetres.h"
#include "fleetres_store.h"
#include "heap.h"
#include "idmap.h"
#include "uuid.h"
#include "ledger.h"
#include "queue.h"

#define FR__DAY_MS (INT64_C(86400) * 1000)
#define FR__AGING_DEFAULT_MS INT64_C(60000)
/* How long the time-driven re-dispatch of every queue may be delayed; it
 * covers fits that enter the 30-day search window as time passes. */
#define FR__FULL_DISPATCH_EVERY_MS INT64_C(60000)
/* At most this many allocation ids are listed in one conflict. */
#define FR__CONFLICT_IDS_MAX 1000

/* A growable array of pointers (borrowed; the vector owns only its array). */
typedef struct fr__vec {
    void **items;
    size_t len;
    size_t cap;
} fr__vec;

int fr__vec_push(fr__vec *v, void *item);
/* Removes the first occurrence of item (order of the rest is kept); 1 if found. */
int fr__vec_remove(fr__vec *v, void *item);
void fr__vec_free(fr__vec *v);

/* Uniform random numbers for ids (xorshift128+), seeded from the OS or the
 * engine options. */
typedef struct fr__rng {
    uint64_t s[2];
} fr__rng;

void fr__rng_seed(fr__rng *rng, uint64_t seed);
uint64_t fr__rng_next(fr__rng *rng);
/* A UUIDv7 for time ms: 48-bit time, then a 12-bit counter-ordered part and
 * random bits, so ids made by one engine sort in creation order. */
void fr__uuid_v7(fr__rng *rng, int64_t ms, uint16_t *counter, int64_t *last_ms,
                 char out[FR_ID_SIZE]);

typedef struct fr__pool_rec fr__pool_rec;

/* The working records.  The public struct comes first; the rest is derived. */
typedef struct fr__pool_rec {
    fr_pool p;
    fr__ledger *live;  /* held + confirmed bookings: the capacity invariant */
    fr__ledger *usage; /* live + ended ones up to their end: utilization */
    size_t open_overcap; /* open over_capacity conflicts on this pool */
    uint64_t dirty_txn;    /* the txn that marked it for reconciliation, */
    int64_t dirty_from_ms; /* over [dirty_from, dirty_to) (INT64_MIN, */
    int64_t dirty_to_ms;   /* INT64_MAX: all of it) */
    uint64_t journal_txn;
    uint64_t version_txn; /* the txn that last bumped the version */
    fr__vec samples;      /* fr__sample_rec* by (timestamp, created_at, id) (samples.c) */
} fr__pool_rec;

typedef struct fr__alloc_rec {
    fr_allocation a;
    fr__pool_rec *pool;
    fr__booking_ref live_ref;
    fr__booking_ref usage_ref;
    int in_vehicle_index;
    uint64_t stamp; /* bumped on every index, invalidating old heap entries */
    uint64_t journal_txn;
    uint64_t version_txn;
} fr__alloc_rec;

typedef struct fr__queue_rec {
    char *key; /* fleet_id \x1f resource_type */
    fr__queue *queue;
    uint64_t dirty_txn; /* scheduled for dispatch in this txn */
} fr__queue_rec;

typedef struct fr__req_rec {
    fr_request r;
    fr__queue_rec *queue;
    fr__queue_ref queue_ref;
    uint64_t stamp;
    uint64_t journal_txn;
    uint64_t version_txn;
} fr__req_rec;

typedef struct fr__conflict_rec {
    fr_conflict c;
    /* While not NULL: the allocation ids in binary, ids_bin_len of them, and
     * c.allocation_ids is empty.  A cut over weeks records thousands of
     * conflicts listing hundreds of thousands of ids; kept at 16 bytes an id
     * instead of 37, written straight into the events' JSON.  Read such a
     * record with fr__conflict_rec_copy / _json (conflict_rec.c). */
    unsigned char (*ids_bin)[16];
    size_t ids_bin_len;
    fr__pool_rec *pool;
    int indexed_open; /* counted in pool->open_overcap / engine->open_double */
    uint64_t journal_txn;
    uint64_t version_txn;
} fr__conflict_rec;

/* A utilization sample.  Immutable: only ever journaled as created. */
typedef struct fr__sample_rec {
    fr_sample s;
    fr__pool_rec *pool;
    uint64_t journal_txn;
} fr__sample_rec;

/* A plan (plans.c).  No derived index: it only lives in the id map and
 * the ordered list. */
typedef struct fr__plan_rec {
    fr_plan p;
    uint64_t journal_txn;
    uint64_t version_txn;
} fr__plan_rec;

/* One entry of a transaction's undo journal. */
typedef struct fr__journal_entry {
    int kind;       /* enum fr_entity_type */
    void *rec;      /* the engine's record */
    void *snapshot; /* deep copy of the public struct before the txn; NULL = created */
} fr__journal_entry;

/* An event queued in the current transaction (seq assigned at commit). */
typedef struct fr__pending_event {
    fr_event ev;
} fr__pending_event;

typedef struct fr__txn {
    uint64_t id;
    int64_t now_ms;
    const char *actor;
    fr__journal_entry *journal;
    size_t journal_len, journal_cap;
    fr_event *events;
    size_t events_len, events_cap;
    fr__vec dirty_queues;   /* fr__queue_rec*: dispatch before commit */
    fr__vec dirty_pools;    /* fr__pool_rec*: re-detect over-capacity */
    int touched_allocations;
    fr__vec detected;       /* fr__conflict_rec* created in this txn */
    const fr_ctx *idem;     /* the call's idempotency key, recorded at commit */
} fr__txn;

struct fr_engine {
    pthread_mutex_t lock;
    fr_store *store;
    fr_clock_fn clock;
    void *clock_ctx;
    int64_t aging_ms;
    fr__rng rng;
    uint16_t uuid_counter;
    int64_t uuid_last_ms;
    int64_t head_seq;
    int64_t last_full_dispatch_ms;
    int call_committed; /* the current call committed something: sync before acking */

    fr__idmap pools_by_id;     /* id -> fr__pool_rec* */
    fr__idmap allocs_by_id;    /* id -> fr__alloc_rec* */
    fr__idmap reqs_by_id;      /* id -> fr__req_rec* */
    fr__idmap conflicts_by_id; /* id -> fr__conflict_rec* */
    fr__vec pools;             /* by (created_at, id) */
    fr__vec allocs;
    fr__vec reqs;
    fr__vec conflicts;

    fr__idmap pools_by_type;   /* fleet\x1ftype -> fr__vec* of fr__pool_rec* (not deleted) */
    fr__idmap vehicles;        /* fleet\x1ftype\x1fvehicle -> fr__vec* of live fr__alloc_rec* */
    fr__idmap queues;          /* fleet\x1ftype -> fr__queue_rec* */
    fr__vec open_double;       /* open double_booking fr__conflict_rec* */
    fr__heap *hold_heap;       /* held allocations by hold_expires_at */
    fr__heap *deadline_heap;   /* pending requests by latest start */

    uint64_t txn_seq;
    fr__txn txn; /* the open transaction (txn.id != 0) */

    fr__idmap samples_by_id; /* id -> fr__sample_rec* */
    fr__vec samples;         /* by (created_at, id) */

    fr__idmap plans_by_id; /* id -> fr__plan_rec* (plans.c) */
    fr__vec plans;         /* by (created_at, id) */
    /* A store shared with other processes (catchup.c). */
    int shared_store;    /* it answers FR_STORE_CTL_HEAD: reads check the head */
    int needs_reload;    /* the view is empty or stale: load everything first */
    int has_epoch;
    int64_t store_epoch; /* FR_STORE_CTL_EPOCH when the view was built */

    /* Several calls in one store transaction (group.c), when the store has
     * savepoints.  All but the outcome are guarded by `lock`. */
    int batching;               /* the store has savepoints */
    atomic_int lock_waiters;    /* threads blocked in fr__lock */
    struct fr__group *group;    /* the open group; NULL: no store transaction open */
    size_t group_calls;         /* transactions that joined it */
    int64_t group_start_seq;    /* head_seq before it: restored if it fails */
    int64_t group_opened_ns;    /* CLOCK_MONOTONIC */
    fr__journal_entry *group_journal; /* its transactions' undo entries, in order */
    size_t group_journal_len, group_journal_cap;
    struct fr__group *call_group; /* the group the current call's changes joined */
    fr_engine_counters counters; /* under `lock` */
    pthread_mutex_t group_mu;   /* guards fr__group's outcome and refs */
};

/* ---- store_memory.c ---------------------------------------------------- */
/* A memory store with savepoints: the engine runs its calls in groups, as
 * with PostgreSQL (tests). */
int fr__store_memory_open_grouped(fr_store **out);
/* 0 for the memory store (the engine's records are its entities: puts keep
 * nothing), 1 for every other store. */
int fr__store_keeps_entities(const fr_store *store);

/* ---- group.c ----------------------------------------------------------- */
/* Opens a group for the store transaction begin just opened. */
int fr__group_open(fr_engine *e);
/* The current transaction succeeded: its undo entries move to the group and
 * the call will wait for the group's outcome. */
int fr__group_join(fr_engine *e);
/* Under the lock, before it is released: commits the open group when nobody
 * else is waiting to add to it (or it is big or old enough); returns the
 * closed group, for fr__group_finish after the unlock, or NULL. */
struct fr__group *fr__group_close_if_due(fr_engine *e, int force);
/* Outside the lock: makes a closed group durable and publishes its outcome. */
void fr__group_finish(fr_engine *e, struct fr__group *g);
/* Outside the lock: waits for the outcome of the group a call joined. */
int fr__group_wait(fr_engine *e, struct fr__group *g);

/* ---- txn.c: undo journals ------------------------------------------------ */
/* Undoes entries [0, n) in reverse order and frees their snapshots. */
void fr__journal_undo(fr_engine *e, fr__journal_entry *entries, size_t n);
/* Frees the snapshots of entries [0, n) (their changes stay). */
void fr__journal_forget(fr__journal_entry *entries, size_t n);

/* ---- engine.c ---------------------------------------------------------- */
int64_t fr__now(fr_engine *e);
void fr__lock(fr_engine *e);
void fr__unlock(fr_engine *e);
/* Ends a public call: unlocks, then waits until what the call committed is
 * durable (group commit).  Returns rc, or FR_ESTORE if the flush failed. */
int fr__unlock_call(fr_engine *e, int rc);
/* Applies time-driven changes due at now in their own transaction. */
int fr__advance(fr_engine *e, int64_t now_ms);
/* "a\x1fb[\x1fc]" into buf; 0 if it did not fit. */
int fr__key2(char *buf, size_t size, const char *a, const char *b);
int fr__key3(char *buf, size_t size, const char *a, const char *b, const char *c);
#define FR__KEY_SIZE (3 * (FR_CLIENT_ID_MAX + FR_SLUG_MAX) + 8)
/* A new entity id, distinct from every pool, allocation, request,
 * conflict, sample and plan id in use. */
void fr__new_id(fr_engine *e, char out[FR_ID_SIZE]);
/* A new event id: events are never looked up by id, so it skips the check
 * against the entity maps (six hash lookups, a third of an event's cost
 * when one change records thousands of conflicts). */
void fr__new_event_id(fr_engine *e, char out[FR_ID_SIZE]);
/* Checks a client id / slug / name; 1 when valid. */
int fr__valid_client_id(const char *s);
int fr__valid_slug(const char *s);
int fr__valid_name(const char *s);
int fr__valid_unit(const char *s); /* free text like "kW", 1-64 printable */
int fr__valid_json_object(const char *s);
int fr__valid_time(int64_t ms);
int fr__valid_end(int64_t ms); /* a time or FR_TIME_INF */
/* Inserts rec into v keeping (created_at, id) order; created_at at +0 of the
 * public struct is not shared, so callers pass the accessors' values. */
int fr__vec_insert_ordered(fr__vec *v, void *rec, int64_t created_at_ms, const char *id,
                           int64_t (*created_of)(const void *), const char *(*id_of)(const void *));
int fr__check_if_match(const fr_ctx *ctx, int64_t version, fr_result *res);
/* Applies what time made due, then opens the call's transaction. */
int fr__begin_call(fr_engine *e, const fr_ctx *ctx);
/* Replaces *dst with a copy of src (NULL allowed); FR_ENOMEM leaves it. */
int fr__set_string(char **dst, const char *src);

/* ---- txn.c ------------------------------------------------------------- */
/* Opens the engine's transaction at now with the given actor. */
int fr__txn_begin(fr_engine *e, int64_t now_ms, const char *actor);
/* Runs dispatch / conflict detection the txn scheduled, writes everything to
 * the store and commits; on any failure undoes the txn and returns the code. */
int fr__txn_commit(fr_engine *e, fr_result *res);
/* Undoes every change of the open txn (memory and store). */
void fr__txn_abort(fr_engine *e);
/* Journal a record before its first change in the txn and take it out of its
 * indexes; the caller then mutates it and calls *_changed. */
int fr__pool_touch(fr_engine *e, fr__pool_rec *rec);
int fr__alloc_touch(fr_engine *e, fr__alloc_rec *rec);
int fr__req_touch(fr_engine *e, fr__req_rec *rec);
int fr__conflict_touch(fr_engine *e, fr__conflict_rec *rec);
/* Re-index after a change, bump version/updated_at and queue an event
 * "<entity>.<verb>".  A record created in the txn: journal it with
 * fr__*_created (which also indexes and queues "<entity>.created"...). */
int fr__pool_changed(fr_engine *e, fr__pool_rec *rec, const char *verb);
int fr__alloc_changed(fr_engine *e, fr__alloc_rec *rec, const char *verb);
int fr__req_changed(fr_engine *e, fr__req_rec *rec, const char *verb);
int fr__conflict_changed(fr_engine *e, fr__conflict_rec *rec, const char *verb);
int fr__pool_created(fr_engine *e, fr__pool_rec *rec);
int fr__alloc_created(fr_engine *e, fr__alloc_rec *rec);
int fr__req_created(fr_engine *e, fr__req_rec *rec, const char *verb);
/* conflict_rec.c: records whose ids are held in binary (ids_bin). */
/* A deep copy with the ids as text, whichever way the record holds them. */
int fr__conflict_rec_copy(fr_conflict *dst, const fr__conflict_rec *rec);
/* The record as JSON text (malloc'd), or NULL when out of memory. */
char *fr__conflict_rec_json(const fr__conflict_rec *rec);
/* Turns the record's binary ids into text in place.  FR_OK or FR_ENOMEM
 * (then unchanged). */
int fr__conflict_rec_ids_text(fr__conflict_rec *rec);
/* Gives the record these binary ids (owned from now on, n of them) in place
 * of any it had. */
void fr__conflict_rec_set_ids_bin(fr__conflict_rec *rec, unsigned char (*ids)[16], size_t n);
/* Drops the record's ids, however held. */
void fr__conflict_rec_clear_ids(fr__conflict_rec *rec);
/* Frees what the record holds (not the record). */
void fr__conflict_rec_clear(fr__conflict_rec *rec);
int fr__conflict_created(fr_engine *e, fr__conflict_rec *rec, const char *verb);
/* Schedules a dispatch of the queue of (fleet, type) / a conflict re-check. */
int fr__mark_queue_dirty(fr_engine *e, const char *fleet_id, const char *resource_type);
/* Marks the pool's over-capacity conflicts for reconciliation at commit:
 * all of its time, or only around [from, to) where a change of bookings
 * alone (a conflict resolution's victims) can have moved them. */
int fr__mark_pool_dirty(fr_engine *e, fr__pool_rec *pool);
int fr__mark_pool_dirty_range(fr_engine *e, fr__pool_rec *pool, int64_t from_ms, int64_t to_ms);

/* ---- index.c (in txn.c): index = f(state) -------------------------------- */
int fr__pool_index(fr_engine *e, fr__pool_rec *rec);
void fr__pool_unindex(fr_engine *e, fr__pool_rec *rec);
int fr__alloc_index(fr_engine *e, fr__alloc_rec *rec);
void fr__alloc_unindex(fr_engine *e, fr__alloc_rec *rec);
int fr__req_index(fr_engine *e, fr__req_rec *rec);
void fr__req_unindex(fr_engine *e, fr__req_rec *rec);
void fr__conflict_index(fr_engine *e, fr__conflict_rec *rec);
void fr__conflict_unindex(fr_engine *e, fr__conflict_rec *rec);
fr__queue_rec *fr__queue_get(fr_engine *e, const char *fleet_id, const char *resource_type,
                             int create);
fr__vec *fr__pools_of_type(fr_engine *e, const char *fleet_id, const char *resource_type);

/* ---- allocations.c ------------------------------------------------------- */
int fr__alloc_is_live(const fr_allocation *a);
/* Live allocations of the vehicle in (fleet, type) overlapping [start, end),
 * except `except`; writes up to max into out; returns the total. */
size_t fr__vehicle_overlaps(fr_engine *e, const char *fleet_id, const char *resource_type,
                            const char *vehicle_id, int64_t start_ms, int64_t end_ms,
                            const fr__alloc_rec *except, fr__alloc_rec **out, size_t max);
/* Creates a confirmed/held allocation record in the txn (no checks). */
int fr__alloc_insert(fr_engine *e, fr__pool_rec *pool, const fr_allocation *proto,
                     fr__alloc_rec **out);
/* Ends a live allocation at now: released if started, else
 * `not_started_status` (cancelled or preempted); with requeue, the request
 * it came from goes back to pending. */
int fr__alloc_end(fr_engine *e, fr__alloc_rec *rec, int not_started_status, int requeue);
/* The earliest s in [from, latest_start] where q fits in pool for
 * [s, s+dur) and (if exclusive) the vehicle has no other live booking. */
int64_t fr__pool_next_fit(fr_engine *e, fr__pool_rec *pool, int64_t from_ms, int64_t dur_ms,
                          int64_t q_milli, const char *vehicle_id, int64_t latest_start_ms);

/* ---- requests.c / dispatch.c ------------------------------------------- */
int fr__dispatch_queue(fr_engine *e, fr__queue_rec *q);
int fr__req_requeue(fr_engine *e, const char *request_id);
int fr__req_expire_due(fr_engine *e, int64_t now_ms);
int64_t fr__req_latest_start(const fr_request *r);
/* Earliest fit at now ignoring the deadline (within 30 days), or FR_TIME_NULL. */
int64_t fr__req_estimated_start(fr_engine *e, const fr_request *r, int64_t now_ms);
void fr__req_fill_computed(fr_engine *e, const fr__req_rec *rec, fr_request *out);

/* ---- pools.c ----------------------------------------------------------- */
void fr__pool_fill_computed(fr_engine *e, const fr__pool_rec *rec, fr_pool *out);
int fr__schedule_valid(const fr_schedule_entry *s, size_t n, int64_t *bad_index);

/* ---- conflicts.c ------------------------------------------------------- */
/* Reconciles the pool's over_capacity conflicts with its ledger. */
int fr__detect_overcap(fr_engine *e, fr__pool_rec *pool);
/* Records double_booking conflicts for overlaps in an exclusive pool. */
int fr__detect_double(fr_engine *e, fr__pool_rec *pool);
/* Resolves open double_booking conflicts whose overlap disappeared. */
int fr__recheck_double(fr_engine *e);

/* ---- victims.c, resolve.c, preempt.c: taking bookings away ---------------- */
typedef int (*fr__eligible_fn)(const fr__alloc_rec *rec, const void *ctx);
typedef struct fr__victims {
    fr__alloc_rec **recs; /* malloc'd; the records are borrowed */
    size_t len;
    int64_t priority_sum;
    int exact;           /* proven fewest (then lowest total priority) */
    int64_t short_at_ms; /* FR_EUNRESOLVABLE: an instant nothing eligible clears */
} fr__victims;
/* The fewest eligible live bookings of pool overlapping [start, end) whose
 * removal leaves free(t) >= extra for every t in it (cover.h); then lowest
 * total priority.  FR_EUNRESOLVABLE when even all of them are not enough. */
int fr__choose_victims(const fr__pool_rec *pool, int64_t start_ms, int64_t end_ms,
                       int64_t extra_milli, fr__eligible_fn eligible, const void *ctx,
                       fr__victims *out);
void fr__victims_free(fr__victims *v);
/* Preempts a live allocation at now: status preempted, released_at now, end
 * cut to now if it had started; its request goes back to pending. */
int fr__alloc_preempt(fr_engine *e, fr__alloc_rec *rec);
/* Places a pending request with "preempt" that fits nowhere by preempting
 * lower-priority allocations that have not started; *placed = 1 if done. */
int fr__req_preempt(fr_engine *e, fr__req_rec *rec, int64_t latest_start_ms, int *placed);
/* dispatch.c: pool eligibility and fulfilment, shared with preempt.c. */
int fr__pool_matches_request(const fr__pool_rec *pool, const fr_request *r);
int fr__req_fulfil(fr_engine *e, fr__req_rec *rec, fr__pool_rec *pool, int64_t start_ms);

/* ---- idempotency.c ------------------------------------------------------ */
/* What an earlier call with the same idempotency key did. */
typedef struct fr__idem_prior {
    int found;
    int status;
    int entity_type;
    char (*ids)[FR_ID_SIZE];
    size_t ids_len;
    fr_result result;
} fr__idem_prior;

/* Looks the call's key up: FR_OK with prior->found 0/1, FR_EIDEMPOTENCY for
 * another body, FR_EINVAL for a malformed key, or a store failure. */
int fr__idem_lookup(fr_engine *e, const fr_ctx *ctx, fr__idem_prior *prior, fr_result *res);
void fr__idem_prior_clear(fr__idem_prior *prior);
/* Records the open txn's success (called by commit when txn.idem is set). */
int fr__idem_put_success(fr_engine *e);
/* Records a refusal in its own transaction (best effort). */
void fr__idem_put_failure(fr_engine *e, const fr_ctx *ctx, int status, const fr_result *res);
/* A replayed refusal: copies the recorded result into res; returns its status. */
int fr__idem_replay_result(const fr__idem_prior *prior, fr_result *res);
/* Replays a recorded call: its refusal, or the current state of the n
 * entities of `kind` it created, copied into out (an array of that kind). */
int fr__idem_replay(fr_engine *e, const fr__idem_prior *prior, int kind, void *out, size_t n,
                    fr_result *res);

/* Load callbacks (engine.c) */
int fr__load_state(fr_engine *e);

/* ---- catchup.c: a store shared by several processes ---------------------- */
/* Internal status codes (never returned by the public API). */
#define FR__ERELOAD 1001 /* the view must be loaded again (needs_reload is set) */
#define FR__EREPLAY 1002 /* another process recorded the call's idempotency key */
/* Brings the view up to `head` (inside the locked store transaction): applies
 * the events after the engine's seq; FR__ERELOAD when only a full load can
 * (the store is behind, restarted, or the log cannot be applied). */
int fr__catch_up(fr_engine *e, int64_t head);
/* Before a read: asks a shared store for its head and catches up (or
 * reloads) outside any transaction.  A no-op for single-process stores. */
int fr__refresh(fr_engine *e);
/* Drops the whole view and loads it from the store (outside transactions). */
int fr__reload(fr_engine *e);
/* At open: whether the store is shared, and its epoch. */
int fr__detect_shared(fr_engine *e);
/* Frees every record and index and leaves an empty view (engine.c). */
void fr__state_reset(fr_engine *e);
/* After a create call ran: on FR__EREPLAY (another process committed the
 * same key meanwhile) looks the record up again and replays it; otherwise
 * records a refusal.  Returns the call's final status. */
int fr__idem_settle(fr_engine *e, const fr_ctx *ctx, int rc, fr__idem_prior *prior, int kind,
                    void *out, size_t n, fr_result *res);

/* ---- samples.c --------------------------------------------------------- */
/* Registers a sample made in the txn (journal, id map, list, its pool's
 * series) and queues "sample.created" (txn.c). */
int fr__sample_created(fr_engine *e, fr__sample_rec *rec);
/* Inserts into / removes from the pool's time-ordered series (unindex is a
 * no-op for a sample not in it). */
int fr__sample_index(fr_engine *e, fr__sample_rec *rec);
void fr__sample_unindex(fr_engine *e, fr__sample_rec *rec);
/* Writes a sample to the store (FR_ESTORE if its methods are older than 2). */
int fr__sample_put(fr_engine *e, const fr__sample_rec *rec);
/* The loader callback for stored samples (ctx is the engine). */
int fr__load_sample(void *ctx, const fr_sample *sample);
/* Frees every sample and the sample indexes (engine close). */
void fr__samples_free(fr_engine *e);

/* ---- plans.c / plan_codec.c -------------------------------------------- */
/* Journal a plan before its first change in the txn (txn.c). */
int fr__plan_touch(fr_engine *e, fr__plan_rec *rec);
/* Bump version/updated_at and queue "plan.<verb>" (txn.c). */
int fr__plan_changed(fr_engine *e, fr__plan_rec *rec, const char *verb);
/* Registers a plan made in the txn and queues "plan.created" (txn.c). */
int fr__plan_created(fr_engine *e, fr__plan_rec *rec);
/* Writes a plan to the store (FR_ESTORE if its methods are older than 5). */
int fr__plan_put(fr_engine *e, const fr__plan_rec *rec);
/* The loader callback for stored plans (ctx is the engine). */
int fr__load_plan(void *ctx, const fr_plan *plan);
/* Frees every plan and the plan indexes (engine close). */
void fr__plans_free(fr_engine *e);


/* Keys of the (created_at, id) record lists, for fr__vec_insert_ordered
 * (txn.c; catchup.c inserts with them too). */
int64_t fr__pool_created_of(const void *r);
const char *fr__pool_id_of(const void *r);
int64_t fr__alloc_created_of(const void *r);
const char *fr__alloc_id_of(const void *r);
int64_t fr__req_created_of(const void *r);
const char *fr__req_id_of(const void *r);
int64_t fr__conflict_created_of(const void *r);
const char *fr__conflict_id_of(const void *r);

#endif /* FR_INT_H */
