/*
 * fleetres_store.h — the storage vtable, for backend authors (like sqlite3_vfs).
 *
 * The engine keeps the authoritative working state in memory and uses a store
 * for durability and for sharing with other processes.  Every public mutation
 * of the engine is one store transaction:
 *
 *     begin -> [catch up: events_after] -> put_* / append_event ... -> commit
 *
 * and nothing the engine acknowledged may be lost once commit returned FR_OK.
 * If any method fails inside the transaction the engine calls rollback and
 * undoes its in-memory changes, so the store must leave no trace of it.
 *
 * Backends extend `struct fr_store` with their own fields (put the base first)
 * and point `methods` at a static table.  The methods struct starts with a
 * version and only ever grows at the end; a caller checks `version` before
 * using a member added later.
 *
 * Concurrency: the engine serializes its own calls; a store is used by one
 * engine, from one thread at a time.  A store shared by several processes
 * (PostgreSQL) makes `begin` take an exclusive writer lock and `events_after`
 * return what other processes committed since; see docs/storage.md.
 */
#ifndef FLEETRES_STORE_H
#define FLEETRES_STORE_H

#include "fleetres.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FR_STORE_METHODS_VERSION 6

/* Control ops (methods->control).  Unknown ops return FR_ENOTFOUND. */
#define FR_STORE_CTL_PING 1 /* arg: NULL; FR_OK when the backend is reachable */
/* arg: int64_t *; the highest committed event seq, read from the store now
 * (outside a transaction), so that a read can catch up first.  A
 * single-process store returns FR_ENOTFOUND: it is never behind. */
#define FR_STORE_CTL_HEAD 2
/* arg: int64_t *; an identifier of the store's durable history that changes
 * when commits not yet synced may have been lost (PostgreSQL: its server
 * restarted).  The engine reloads its state when it changes.  FR_ENOTFOUND:
 * the store has no such thing. */
#define FR_STORE_CTL_EPOCH 3

/* Callbacks through which `load` streams the stored state to the engine.  The
 * pointers are borrowed for the duration of the callback.  A callback's
 * non-OK return stops the load and is returned by it. */
typedef struct fr_store_loader {
    void *ctx;
    int (*pool)(void *ctx, const fr_pool *pool);
    int (*allocation)(void *ctx, const fr_allocation *allocation);
    int (*request)(void *ctx, const fr_request *request);
    int (*conflict)(void *ctx, const fr_conflict *conflict);
    /* Added with methods version 2; NULL: the caller does not want samples. */
    int (*sample)(void *ctx, const fr_sample *sample);
    /* Added with methods version 5; NULL: the caller does not want plans. */
    int (*plan)(void *ctx, const fr_plan *plan);
} fr_store_loader;

struct fr_store_methods {
    int version; /* FR_STORE_METHODS_VERSION this table implements */

    /* Releases everything; the struct itself too.  Called once, last. */
    void (*close)(fr_store *store);

    /* Streams every stored pool (deleted ones too), allocation, request,
     * conflict and sample to loader, pools first, then allocations, requests,
     * conflicts, samples (each kind by created_at, then id; a NULL callback
     * skips its kind), and reports the highest committed event seq (0 when none) in *head_seq.
     * Called once after open, outside any transaction. */
    int (*load)(fr_store *store, const fr_store_loader *loader, int64_t *head_seq);

    /* Starts a write transaction.  A store shared between processes takes its
     * exclusive writer lock here, so that the engine's checks and writes that
     * follow see every committed change and no other writer interleaves.  On
     * failure no transaction is open.  *head_seq receives the highest committed
     * event seq, which tells the engine whether it must catch up. */
    int (*begin)(fr_store *store, int64_t *head_seq);
    /* Makes every write since begin durable, atomically: when it returns
     * FR_OK, the writes survive a crash; when it fails, none of them happened. */
    int (*commit)(fr_store *store);
    /* Drops every write since begin.  Must be safe after a failed method. */
    void (*rollback)(fr_store *store);

    /* Upserts an entity by id (insert or replace the row).  Inside a
     * transaction only.  The pointer is borrowed. */
    int (*put_pool)(fr_store *store, const fr_pool *pool);
    int (*put_allocation)(fr_store *store, const fr_allocation *allocation);
    int (*put_request)(fr_store *store, const fr_request *request);
    int (*put_conflict)(fr_store *store, const fr_conflict *conflict);

    /* Appends one event; event->seq is assigned by the engine and is exactly
     * one more than the last committed or appended seq. */
    int (*append_event)(fr_store *store, const fr_event *event);

    /* Events with seq > after in seq order, at most limit, optionally of one
     * fleet (NULL: all).  *items is malloc'd; the caller frees it with
     * fr_event_free_array.  Inside or outside a transaction. */
    int (*events_after)(fr_store *store, int64_t after, size_t limit, const char *fleet_id,
                        fr_event **items, size_t *count);

    /* Backend-specific operations; see FR_STORE_CTL_*. */
    int (*control)(fr_store *store, int op, void *arg);

    /* ---- version 2 ---- */

    /* Inserts a utilization sample (immutable; putting the same id again
     * replaces the row, like the other puts).  Inside a transaction only; the
     * pointer is borrowed.  `load` streams the stored samples back through
     * loader->sample.  The engine calls it only when version >= 2. */
    int (*put_sample)(fr_store *store, const fr_sample *sample);

    /* ---- version 3 ---- */

    /* Idempotency records (SPEC §1): an opaque text (the engine's JSON) per
     * (scope, key), upserted inside the transaction of the change it records,
     * so that a record exists exactly when its change committed.  The engine
     * calls them only when version >= 3. */
    int (*put_idempotency)(fr_store *store, const char *scope, const char *key,
                           const char *doc, int64_t created_at_ms);
    /* FR_OK and a malloc'd copy of the text in *doc (the caller frees it),
     * FR_ENOTFOUND when there is none, or a failure.  The engine calls it
     * outside and inside transactions (whether a store sees its own
     * uncommitted puts is unspecified, except with savepoints: version 6). */
    int (*get_idempotency)(fr_store *store, const char *scope, const char *key, char **doc);

    /* ---- version 4 ---- */

    /* Group commit: returns once every transaction committed before the call
     * is durable.  A store whose commit is already durable may leave it NULL.
     * The engine calls it after releasing its lock, concurrently with another
     * thread using the store under the lock, and acknowledges a change only
     * after its sync returned FR_OK. */
    int (*sync)(fr_store *store);

    /* ---- version 5 ---- */

    /* Upserts a plan (SPEC §7; deleted ones too, with deleted set).  Inside
     * a transaction only; the pointer is borrowed.  `load` streams the
     * stored plans back through loader->plan, after the samples, by
     * created_at then id.  The engine calls it only when version >= 5. */
    int (*put_plan)(fr_store *store, const fr_plan *plan);

    /* ---- version 6 ---- */

    /* Savepoints, for a store whose transactions are expensive (a round trip
     * and a writer lock shared by processes): with both set, the engine runs
     * several calls in one transaction ("a group", lib/group.c):
     *
     *     begin -> [savepoint -> writes (-> rollback_to_savepoint)]... -> commit
     *
     * `savepoint` marks the current point of the open transaction;
     * `rollback_to_savepoint` drops every write since the last mark and keeps
     * the transaction open (it must not fail).  Such a store's
     * get_idempotency must also see the records put in the open transaction.
     * NULL (memory, SQLite): one transaction per call. */
    int (*savepoint)(fr_store *store);
    void (*rollback_to_savepoint)(fr_store *store);

    /* Optional (NULL: the engine calls append_event): append_event that
     * takes the event's strings (fleet_id, actor, data_json) instead of
     * copying them.  On FR_OK the store owns them and has set those pointers
     * in *event to NULL; on failure *event is untouched and still the
     * caller's.  For a store that keeps events in memory as they are (one
     * change may record thousands of conflict events, megabytes of JSON).
     * The engine calls it only when version >= 6. */
    int (*append_event_owned)(fr_store *store, fr_event *event);
};

struct fr_store {
    const struct fr_store_methods *methods;
};

/* Built-in backends.  *out is owned by the caller until handed to
 * fr_engine_open_store (which takes ownership). */
FR_API int fr_store_memory_open(fr_store **out);
/* path: a file name; created if missing; WAL with group commit (see
 * store_sqlite.c); "PATH?sync=off" disables syncing (tests only). */
FR_API int fr_store_sqlite_open(const char *path, fr_store **out, char *errbuf,
                                size_t errbuf_size);

#ifdef __cplusplus
}
#endif
#endif /* FLEETRES_STORE_H */
