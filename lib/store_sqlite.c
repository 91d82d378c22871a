/*
 * store_sqlite.c — the durable single-process store: one SQLite file.
 *
 * Each entity is stored as one row holding its JSON document (the codec's
 * text, the same shape a client sees) plus a few plain columns that exist
 * only so that a person with the sqlite3 shell can inspect the file; `load`
 * reads the documents back, never the columns (except pools.deleted, which
 * the client-facing JSON need not carry).  Events are rows keyed by seq.
 *
 * Durability: WAL journal, group commit.  COMMIT runs with synchronous=NORMAL
 * (SQLite syncs the WAL and the database around checkpoints, never per
 * commit), and `sync` — called by the engine after it released its lock —
 * fdatasyncs the WAL once for every transaction committed so far: one caller
 * leads a sync while the others wait for it, so N concurrent commits cost one
 * flush, not N.  A call is acknowledged only after a sync that started after its
 * commit returned, and WAL frames are written in commit order, so nothing
 * acknowledged is lost.  The path may end in
 * "?sync=off" (test-only!): synchronous=OFF, which loses recent commits on a
 * power failure and must never be used for real data.
 *
 * Ownership: one process owns the file.  The connection runs in
 * locking_mode=EXCLUSIVE and enters WAL in that mode, so it takes an exclusive
 * lock on its first access and keeps it until close; a second opener (in this
 * or another process) fails after the busy timeout with a clear message.  No
 * shared-memory wal-index is used.
 *
 * Schema version: PRAGMA user_version = FR_SQLITE_SCHEMA_VERSION.  A file with
 * a newer version is refused; version 0 (a new file) gets the schema; version
 * 1 (before samples) gets the samples table and is bumped to 2; version 3
 * (before plans) gets the plans table and is bumped to 4.  Every
 * statement of the schema is "IF NOT EXISTS", so upgrading is running it.
 *
 * Every statement is prepared once at open and cached on the store.
 * Not thread-safe; the engine serializes its calls (see fleetres_store.h).
 */
#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "codec.h"
#include "entity.h"
#include "fleetres_store.h"
#include "sqlite_walbuf.h"

#define FR_SQLITE_SCHEMA_VERSION 4
#define FR_SQLITE_STRINGIFY_(x) #x
#define FR_SQLITE_STRINGIFY(x) FR_SQLITE_STRINGIFY_(x)
#define FR_SQLITE_BUSY_TIMEOUT_MS 1000
#define FR_SQLITE_SYNC_OFF_SUFFIX "?sync=off"

/* The schema of version 2 (version 1 had no samples).  Plain columns are for inspection; doc is the
 * entity.  Times are ms since the epoch; NULL means absent or open-ended. */
static const char SCHEMA_SQL[] =
    "CREATE TABLE IF NOT EXISTS pools ("
    " id TEXT PRIMARY KEY, fleet_id TEXT, name TEXT, resource_type TEXT, site TEXT,"
    " status TEXT, deleted INTEGER NOT NULL, total_capacity_milli INTEGER,"
    " version INTEGER, created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS pools_by_created ON pools (created_at_ms, id);"
    "CREATE TABLE IF NOT EXISTS allocations ("
    " id TEXT PRIMARY KEY, fleet_id TEXT, pool_id TEXT, vehicle_id TEXT, status TEXT,"
    " quantity_milli INTEGER, start_ms INTEGER, end_ms INTEGER, request_id TEXT,"
    " version INTEGER, created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER,"
    " doc TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS requests ("
    " id TEXT PRIMARY KEY, fleet_id TEXT, resource_type TEXT, status TEXT,"
    " priority INTEGER, quantity_milli INTEGER, allocation_id TEXT,"
    " version INTEGER, created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS requests_by_created ON requests (created_at_ms, id);"
    "CREATE TABLE IF NOT EXISTS conflicts ("
    " id TEXT PRIMARY KEY, fleet_id TEXT, pool_id TEXT, type TEXT, status TEXT,"
    " version INTEGER, created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS conflicts_by_created ON conflicts (created_at_ms, id);"
    "CREATE TABLE IF NOT EXISTS events ("
    " seq INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL,"
    " entity_type TEXT NOT NULL, entity_id TEXT, fleet_id TEXT,"
    " occurred_at_ms INTEGER NOT NULL, actor TEXT, data TEXT);"
    "CREATE INDEX IF NOT EXISTS events_by_fleet ON events (fleet_id, seq);"
    "CREATE TABLE IF NOT EXISTS samples ("
    " id TEXT PRIMARY KEY, pool_id TEXT NOT NULL, fleet_id TEXT,"
    " timestamp_ms INTEGER NOT NULL, used_milli INTEGER NOT NULL,"
    " capacity_milli INTEGER, source TEXT, created_at_ms INTEGER NOT NULL,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS samples_by_pool_time ON samples (pool_id, timestamp_ms);"
    "CREATE INDEX IF NOT EXISTS samples_by_created ON samples (created_at_ms, id);"
    "CREATE TABLE IF NOT EXISTS idempotency ("
    " scope TEXT NOT NULL, key TEXT NOT NULL, created_at_ms INTEGER NOT NULL,"
    " doc TEXT NOT NULL, PRIMARY KEY (scope, key));"
    "CREATE TABLE IF NOT EXISTS plans ("
    " id TEXT PRIMARY KEY, fleet_id TEXT, status TEXT, deleted INTEGER NOT NULL,"
    " horizon_start_ms INTEGER, horizon_end_ms INTEGER, version INTEGER,"
    " created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER, doc TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS plans_by_created ON plans (created_at_ms, id);";

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_HEAD_SEQ,
    ST_PUT_POOL,
    ST_PUT_ALLOCATION,
    ST_PUT_REQUEST,
    ST_PUT_CONFLICT,
    ST_APPEND_EVENT,
    ST_EVENTS_ALL,
    ST_EVENTS_FLEET,
    ST_LOAD_POOLS,
    ST_LOAD_ALLOCATIONS,
    ST_LOAD_REQUESTS,
    ST_LOAD_CONFLICTS,
    ST_PING,
    ST_PUT_SAMPLE,
    ST_LOAD_SAMPLES,
    ST_PUT_IDEMPOTENCY,
    ST_GET_IDEMPOTENCY,
    ST_PUT_PLAN,
    ST_LOAD_PLANS,
    ST_COUNT
};

static const char *const STATEMENT_SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_HEAD_SEQ] = "SELECT coalesce(max(seq), 0) FROM events",
    [ST_PUT_POOL] =
        "INSERT INTO pools (id, fleet_id, name, resource_type, site, status, deleted,"
        " total_capacity_milli, version, created_at_ms, updated_at_ms, doc)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET"
        " fleet_id = excluded.fleet_id, name = excluded.name,"
        " resource_type = excluded.resource_type, site = excluded.site,"
        " status = excluded.status, deleted = excluded.deleted,"
        " total_capacity_milli = excluded.total_capacity_milli,"
        " version = excluded.version, created_at_ms = excluded.created_at_ms,"
        " updated_at_ms = excluded.updated_at_ms, doc = excluded.doc",
    [ST_PUT_ALLOCATION] =
        "INSERT INTO allocations (id, fleet_id, pool_id, vehicle_id, status,"
        " quantity_milli, start_ms, end_ms, request_id, version, created_at_ms,"
        " updated_at_ms, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (id) DO UPDATE SET"
        " fleet_id = excluded.fleet_id, pool_id = excluded.pool_id,"
        " vehicle_id = excluded.vehicle_id, status = excluded.status,"
        " quantity_milli = excluded.quantity_milli, start_ms = excluded.start_ms,"
        " end_ms = excluded.end_ms, request_id = excluded.request_id,"
        " version = excluded.version, created_at_ms = excluded.created_at_ms,"
        " updated_at_ms = excluded.updated_at_ms, doc = excluded.doc",
    [ST_PUT_REQUEST] =
        "INSERT INTO requests (id, fleet_id, resource_type, status, priority,"
        " quantity_milli, allocation_id, version, created_at_ms, updated_at_ms, doc)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET"
        " fleet_id = excluded.fleet_id, resource_type = excluded.resource_type,"
        " status = excluded.status, priority = excluded.priority,"
        " quantity_milli = excluded.quantity_milli,"
        " allocation_id = excluded.allocation_id, version = excluded.version,"
        " created_at_ms = excluded.created_at_ms,"
        " updated_at_ms = excluded.updated_at_ms, doc = excluded.doc",
    [ST_PUT_CONFLICT] =
        "INSERT INTO conflicts (id, fleet_id, pool_id, type, status, version,"
        " created_at_ms, updated_at_ms, doc) VALUES (?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (id) DO UPDATE SET"
        " fleet_id = excluded.fleet_id, pool_id = excluded.pool_id,"
        " type = excluded.type, status = excluded.status, version = excluded.version,"
        " created_at_ms = excluded.created_at_ms,"
        " updated_at_ms = excluded.updated_at_ms, doc = excluded.doc",
    [ST_APPEND_EVENT] =
        "INSERT INTO events (seq, id, type, entity_type, entity_id, fleet_id,"
        " occurred_at_ms, actor, data) VALUES (?,?,?,?,?,?,?,?,?)",
    [ST_EVENTS_ALL] =
        "SELECT seq, id, type, entity_type, entity_id, fleet_id, occurred_at_ms,"
        " actor, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
    [ST_EVENTS_FLEET] =
        "SELECT seq, id, type, entity_type, entity_id, fleet_id, occurred_at_ms,"
        " actor, data FROM events WHERE fleet_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    [ST_LOAD_POOLS] = "SELECT id, doc, deleted FROM pools ORDER BY created_at_ms, id",
    [ST_LOAD_ALLOCATIONS] = "SELECT id, doc, 0 FROM allocations ORDER BY created_at_ms, id",
    [ST_LOAD_REQUESTS] = "SELECT id, doc, 0 FROM requests ORDER BY created_at_ms, id",
    [ST_LOAD_CONFLICTS] = "SELECT id, doc, 0 FROM conflicts ORDER BY created_at_ms, id",
    [ST_PING] = "SELECT 1",
    [ST_PUT_IDEMPOTENCY] =
        "INSERT INTO idempotency (scope, key, created_at_ms, doc) VALUES (?,?,?,?)"
        " ON CONFLICT (scope, key) DO UPDATE SET created_at_ms = excluded.created_at_ms,"
        " doc = excluded.doc",
    [ST_GET_IDEMPOTENCY] = "SELECT doc FROM idempotency WHERE scope = ? AND key = ?",
    [ST_PUT_SAMPLE] =
        "INSERT INTO samples (id, pool_id, fleet_id, timestamp_ms, used_milli,"
        " capacity_milli, source, created_at_ms, doc) VALUES (?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (id) DO UPDATE SET"
        " pool_id = excluded.pool_id, fleet_id = excluded.fleet_id,"
        " timestamp_ms = excluded.timestamp_ms, used_milli = excluded.used_milli,"
        " capacity_milli = excluded.capacity_milli, source = excluded.source,"
        " created_at_ms = excluded.created_at_ms, doc = excluded.doc",
    [ST_LOAD_SAMPLES] = "SELECT id, doc, 0 FROM samples ORDER BY created_at_ms, id",
    [ST_PUT_PLAN] =
        "INSERT INTO plans (id, fleet_id, status, deleted, horizon_start_ms, horizon_end_ms,"
        " version, created_at_ms, updated_at_ms, doc) VALUES (?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (id) DO UPDATE SET"
        " fleet_id = excluded.fleet_id, status = excluded.status,"
        " deleted = excluded.deleted, horizon_start_ms = excluded.horizon_start_ms,"
        " horizon_end_ms = excluded.horizon_end_ms, version = excluded.version,"
        " created_at_ms = excluded.created_at_ms,"
        " updated_at_ms = excluded.updated_at_ms, doc = excluded.doc",
    [ST_LOAD_PLANS] = "SELECT id, doc, 0 FROM plans ORDER BY created_at_ms, id",
};

typedef struct sqlite_store {
    fr_store base; /* first: a sqlite_store * is a fr_store * */
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    int in_transaction;
    int64_t last_seq;   /* inside a transaction: the last committed or appended seq */
    /* Group commit (see the top of the file).  Guarded by sync_lock. */
    int group_commit;   /* 0 with ?sync=off */
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_done;
    uint64_t committed_gen; /* commits so far */
    uint64_t synced_gen;    /* commits known to be on disk */
    int syncing;            /* a leader is in fdatasync */
    int wal_fd;             /* our own descriptor of the -wal file, or -1 */
    /* A committed transaction's WAL bytes could not be written from the
     * shim's buffer (sqlite_walbuf.c): SQLite's view is ahead of the file,
     * so every later call fails until the store is reopened. */
    int poisoned;
    char *wal_path;
    char message[256];  /* the last failure, for debugging */
} sqlite_store;

static sqlite_store *sqlite_store_of(fr_store *store)
{
    assert(store != NULL);
    return (sqlite_store *)store;
}

/* Maps a SQLite result code to a status: out of memory is ours, the rest is
 * the store's. */
static int status_of(int rc)
{
    assert(rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW);
    return (rc & 0xff) == SQLITE_NOMEM ? FR_ENOMEM : FR_ESTORE;
}

/* Records what failed (with SQLite's message) and returns the status. */
static int fail(sqlite_store *s, int rc, const char *what)
{
    snprintf(s->message, sizeof(s->message), "sqlite: %s: %s", what,
             sqlite3_errmsg(s->db));
    return status_of(rc);
}

/* Resets a statement after use and drops its bindings (which may point at
 * memory the caller is about to free). */
static void finish(sqlite3_stmt *st)
{
    /* reset repeats the error of the last step, which the caller handled. */
    (void)sqlite3_reset(st);
    int rc = sqlite3_clear_bindings(st);
    assert(rc == SQLITE_OK);
    (void)rc;
}

/* Runs a statement that returns no rows.  FR_OK or the failure's status. */
static int run_write(sqlite_store *s, int which, const char *what)
{
    sqlite3_stmt *st = s->stmt[which];
    int rc = sqlite3_step(st);
    int status = FR_OK;
    if (rc != SQLITE_DONE) {
        status = fail(s, rc, what);
    }
    finish(st);
    return status;
}

/* Reads one int64 from a single-row query. */
static int run_scalar(sqlite_store *s, int which, const char *what, int64_t *out)
{
    sqlite3_stmt *st = s->stmt[which];
    int rc = sqlite3_step(st);
    int status = FR_OK;
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else {
        status = fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc, what);
    }
    finish(st);
    return status;
}

/* ---------------------------------------------------------------------------
 * Binding parameters in order.  The first failure sticks; the text is bound
 * SQLITE_STATIC, so it must outlive the step (finish() drops it).
 * ------------------------------------------------------------------------- */
typedef struct binder {
    sqlite3_stmt *stmt;
    int which; /* ST_* */
    int index;
    int rc;
} binder;

static binder binder_start(sqlite_store *s, int which)
{
    binder b = {s->stmt[which], which, 0, SQLITE_OK};
    return b;
}

static void bind_text(binder *b, const char *text)
{
    if (b->rc != SQLITE_OK) {
        return;
    }
    b->index++;
    if (text == NULL) {
        b->rc = sqlite3_bind_null(b->stmt, b->index);
    } else {
        b->rc = sqlite3_bind_text(b->stmt, b->index, text, -1, SQLITE_STATIC);
    }
}

/* An id column: "" (absent) is stored as NULL. */
static void bind_id(binder *b, const char *id)
{
    bind_text(b, id[0] == '\0' ? NULL : id);
}

static void bind_int(binder *b, int64_t value)
{
    if (b->rc != SQLITE_OK) {
        return;
    }
    b->index++;
    b->rc = sqlite3_bind_int64(b->stmt, b->index, value);
}

/* A time column: FR_TIME_NULL and FR_TIME_INF are stored as NULL. */
static void bind_time(binder *b, int64_t ms)
{
    if (ms == FR_TIME_NULL || ms == FR_TIME_INF) {
        bind_text(b, NULL);
    } else {
        bind_int(b, ms);
    }
}

/* Ends binding: FR_OK, or the failure's status (bindings dropped). */
static int binder_end(sqlite_store *s, binder *b, int expected_count, const char *what)
{
    if (b->rc != SQLITE_OK) {
        int status = fail(s, b->rc, what);
        finish(b->stmt);
        return status;
    }
    assert(b->index == expected_count);
    assert(b->index == sqlite3_bind_parameter_count(b->stmt));
    (void)expected_count;
    return FR_OK;
}

/* ---------------------------------------------------------------------------
 * Transactions.
 * ------------------------------------------------------------------------- */

/* Writes must land inside the engine's transaction.  SQLite rolls a
 * transaction back by itself after some errors (SQLITE_FULL, IOERR, NOMEM);
 * a write after that would autocommit on its own, so refuse it. */
static int check_in_transaction(sqlite_store *s, const char *what)
{
    assert(s->in_transaction);
    if (sqlite3_get_autocommit(s->db)) {
        snprintf(s->message, sizeof(s->message),
                 "sqlite: %s: the transaction was rolled back after an earlier error",
                 what);
        return FR_ESTORE;
    }
    return FR_OK;
}

static int sqlite_begin(fr_store *store, int64_t *head_seq)
{
    sqlite_store *s = sqlite_store_of(store);
    assert(head_seq != NULL);
    assert(!s->in_transaction);
    if (s->poisoned) {
        snprintf(s->message, sizeof(s->message),
                 "sqlite: a commit's WAL write failed earlier; reopen the store");
        return FR_ESTORE;
    }
    int status = run_write(s, ST_BEGIN, "begin");
    if (status != FR_OK) {
        return status;
    }
    int64_t head = 0;
    status = run_scalar(s, ST_HEAD_SEQ, "read head seq", &head);
    if (status != FR_OK) {
        (void)run_write(s, ST_ROLLBACK, "rollback after failed begin");
        return status;
    }
    assert(head >= 0);
    s->in_transaction = 1;
    s->last_seq = head;
    *head_seq = head;
    return FR_OK;
}

static int sqlite_commit(fr_store *store)
{
    sqlite_store *s = sqlite_store_of(store);
    assert(s->in_transaction);
    int status = check_in_transaction(s, "commit");
    if (status == FR_OK) {
        status = run_write(s, ST_COMMIT, "commit");
        /* The transaction's frames, buffered by the VFS shim, in one write. */
        if (status == FR_OK && fr__walbuf_flush(s->db) != SQLITE_OK) {
            snprintf(s->message, sizeof(s->message), "sqlite: writing the WAL failed");
            s->poisoned = 1;
            s->in_transaction = 0;
            return FR_ESTORE;
        }
    }
    if (status != FR_OK) {
        /* COMMIT may fail with the transaction still open (SQLITE_BUSY). */
        if (!sqlite3_get_autocommit(s->db)) {
            (void)run_write(s, ST_ROLLBACK, "rollback after failed commit");
        }
        status = FR_ESTORE;
    }
    s->in_transaction = 0;
    if (status == FR_OK && s->group_commit) {
        pthread_mutex_lock(&s->sync_lock);
        s->committed_gen++;
        pthread_mutex_unlock(&s->sync_lock);
    }
    return status;
}

/* fdatasync of the WAL file: it flushes the file's data whichever descriptor
 * wrote it. */
static int flush_wal(sqlite_store *s)
{
    if (s->wal_fd < 0) {
        s->wal_fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
        if (s->wal_fd < 0) {
            return FR_ESTORE;
        }
    }
    return fdatasync(s->wal_fd) == 0 ? FR_OK : FR_ESTORE;
}

/* Makes every transaction committed before this call durable (see top). */
static int sqlite_sync(fr_store *store)
{
    sqlite_store *s = sqlite_store_of(store);
    if (!s->group_commit) {
        return FR_OK;
    }
    int status = FR_OK;
    pthread_mutex_lock(&s->sync_lock);
    uint64_t target = s->committed_gen;
    while (status == FR_OK && s->synced_gen < target) {
        if (s->syncing) {
            pthread_cond_wait(&s->sync_done, &s->sync_lock);
            continue;
        }
        /* Lead one flush for everything committed so far. */
        s->syncing = 1;
        uint64_t batch = s->committed_gen;
        pthread_mutex_unlock(&s->sync_lock);
        status = flush_wal(s);
        pthread_mutex_lock(&s->sync_lock);
        s->syncing = 0;
        if (status == FR_OK && batch > s->synced_gen) {
            s->synced_gen = batch;
        }
        pthread_cond_broadcast(&s->sync_done);
    }
    pthread_mutex_unlock(&s->sync_lock);
    return status;
}

static void sqlite_rollback(fr_store *store)
{
    sqlite_store *s = sqlite_store_of(store);
    /* Tolerates "no transaction": SQLite may have rolled back already. */
    if (!sqlite3_get_autocommit(s->db)) {
        (void)run_write(s, ST_ROLLBACK, "rollback");
    }
    s->in_transaction = 0;
}

/* ---------------------------------------------------------------------------
 * Writes.
 * ------------------------------------------------------------------------- */

/* Binds doc (owned; freed here) as the last parameter and runs the upsert. */
static int run_upsert(sqlite_store *s, binder *b, int count, char *doc, const char *what)
{
    if (doc == NULL) {
        finish(b->stmt);
        return FR_ENOMEM;
    }
    bind_text(b, doc);
    int status = binder_end(s, b, count, what);
    if (status == FR_OK) {
        status = run_write(s, b->which, what);
    }
    free(doc);
    return status;
}

static int sqlite_put_pool(fr_store *store, const fr_pool *pool)
{
    sqlite_store *s = sqlite_store_of(store);
    assert(pool != NULL);
    int status = check_in_transaction(s, "put pool");
    if (status != FR_OK) {
        return status;
    }
    binder b = binder_start(s, ST_PUT_POOL);
    bind_id(&b, pool->id);
    bind_text(&b, pool->fleet_id);
    bind_text(&b, pool->name);
    bind_text(&b, pool->resource_type);
    bind_text(&b, pool->site);
    bind_text(&b, fr_pool_status_name(pool->status));
    bind_int(&b, pool->deleted ? 1 : 0);
    bind_int(&b, pool->total_capacity_milli);
    bind_int(&b, pool->version);
    bind_int(&b, pool->created_at_ms);
    bind_int(&b, pool->updated_at_ms);
    return run_upsert(s, &b, 12, fr__pool_to_json_text(pool), "put pool");
}

static int sqlite_put_allocation(fr_store *store, const fr_allocation *a)
{
    sqlite_store *s = sqlite_store_of(store);
    assert(a != NULL);
    int status = check_in_transaction(s, "put allocation");
    if (status != FR_OK) {
        return status;
    }
    binder b = binder_start(s, ST_PUT_ALLOCATION);
    bind_id(&b, a->id);
    bind_text(&b, a->fleet_id);
    bind_id(&b, a->pool_id);
    bind_text(&b, a->vehicle_id);
    bind_text(&b, fr_allocation_status_name(a->status));
    bind_int(&b, a->quantity_milli);
    bind_time(&b, a->start_ms);
    bind_time(&b, a->end_ms);
    bind_id(&b, a->request_id);
    bind_int(&b, a->version);
    bind_int(&b, a->created_at_ms);
    bind_int(&b, a->updated_at_ms);
    return run_upsert(s, &b, 13, fr__allocation_to_json_text(a), "put allocation");
}

static int sqlite_put_request(fr_store *store, const fr_request *r)
{
    sqlite_store *s = sqlite_store_of(store);
    assert(r != NULL);
    int status = check_in_transaction(s, "put request");
    if (status != FR_OK) {
        return status;
    }
    binder b = binder_start(s, ST_PUT_REQUEST);
    bind_id(&b, r->id);
    bind_text(&b, r->fleet_id);
    bind_text(&b, r->resource_type);
    bind_text(&b, fr_request_status_name(r->status));
    bind_int(&b, r->priority);
    bind_int(&b, r->quantity_milli);
    bind_id(&b, r->allocation_id);
    bind_int(&b, r->version);
    bind_int(&b, r->created_at_ms);
    bind_int(&b, r->updated_at_ms);
    return run_upsert(s, &b, 11, fr__request_to_json_text(r), "put request");
}

static int sqlite_put_conflict(fr_store *store, const fr_conflict *c)
{
    sqlite_store *s = sqlite_store_of(store);
    assert(c != NULL);
    int status = check_in_transaction(s, "put conflict");
    if (status != FR_OK) {
        return status;
    }
    binder b = binder_start(s, ST_PUT_CONFLICT);
    bind_id(&b, c->id);
    bind_text(&b, c->fleet_id);
    bind_id(&b, c->pool_id);
    bind_text(&b, fr_conflict_type_name(c->type));
    bind_text(&b, fr_conflict_status_name(c->status));
    bind_int(&b, c->version);
    bind_int(&b, c->created_at_ms);
    bind_int(&b, c->updated_at_ms);
    return run_upsert(s, &b, 9, fr__conflict_to_json_text(c), "put conflict");
}

static int sqlite_put_sample(fr_store *store, const fr_sample *sample)
{
    sqlite_store *s = sqlite_store_of(store);
    assert(sample != NULL);
    int status = check_in_transaction(s, "put sample");
    if (status != FR_OK) {
        return status;
    }
    binder b = binder_start(s, ST_PUT_SAMPLE);
    bind_id(&b, sample->id);
    bind_id(&b, sample->pool_id);
    bind_text(&b, sample->fleet_id);
    bind_int(&b, sample->timestamp_ms);
    bind_int(&b, sample->used_milli);
    bind_int(&b, sample->capacity_milli);
    bind_text(&b, sample->source);
    bind_int(&b, sample->created_at_ms);
    return run_upsert(s, &b, 9, fr__sample_to_json_text(sample), "put sample");
}

static int sqlite_put_plan(fr_store *store, const fr_plan *plan)
{
    sqlite_store *s = sqlite_store_of(store);
    assert(plan != NULL);
    int status = check_in_transaction(s, "put plan");
    if (status != FR_OK) {
        return status;
    }
    binder b = binder_start(s, ST_PUT_PLAN);
    bind_id(&b, plan->id);
    bind_text(&b, plan->fleet_id);
    bind_text(&b, fr_plan_status_name(plan->status));
    bind_int(&b, plan->deleted ? 1 : 0);
    bind_int(&b, plan->horizon_start_ms);
    bind_int(&b, plan->horizon_end_ms);
    bind_int(&b, plan->version);
    bind_int(&b, plan->created_at_ms);
    bind_int(&b, plan->updated_at_ms);
    return run_upsert(s, &b, 10, fr__plan_to_json_text(plan), "put plan");
}

static int sqlite_put_idempotency(fr_store *store, const char *scope, const char *key,
                                  const char *doc, int64_t created_at_ms)
{
    sqlite_store *s = sqlite_store_of(store);
    int status = check_in_transaction(s, "put idempotency");
    if (status != FR_OK) {
        return status;
    }
    char *copy = strdup(doc);
    binder b = binder_start(s, ST_PUT_IDEMPOTENCY);
    bind_text(&b, scope);
    bind_text(&b, key);
    bind_int(&b, created_at_ms);
    return run_upsert(s, &b, 4, copy, "put idempotency");
}

static int sqlite_get_idempotency(fr_store *store, const char *scope, const char *key,
                                  char **doc)
{
    sqlite_store *s = sqlite_store_of(store);
    binder b = binder_start(s, ST_GET_IDEMPOTENCY);
    bind_text(&b, scope);
    bind_text(&b, key);
    int status = binder_end(s, &b, 2, "get idempotency");
    if (status != FR_OK) {
        return status;
    }
    int rc = sqlite3_step(b.stmt);
    if (rc == SQLITE_DONE) {
        finish(b.stmt);
        return FR_ENOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        status = fail(s, rc, "get idempotency");
        finish(b.stmt);
        return status;
    }
    const unsigned char *text = sqlite3_column_text(b.stmt, 0);
    char *copy = text != NULL ? strdup((const char *)text) : NULL;
    finish(b.stmt);
    if (copy == NULL) {
        return FR_ENOMEM;
    }
    *doc = copy;
    return FR_OK;
}

static int sqlite_append_event(fr_store *store, const fr_event *e)
{
    sqlite_store *s = sqlite_store_of(store);
    assert(e != NULL);
    assert(e->seq == s->last_seq + 1);
    assert(fr_entity_type_name(e->entity_type) != NULL);
    int status = check_in_transaction(s, "append event");
    if (status != FR_OK) {
        return status;
    }
    binder b = binder_start(s, ST_APPEND_EVENT);
    bind_int(&b, e->seq);
    bind_text(&b, e->id);
    bind_text(&b, e->type);
    bind_text(&b, fr_entity_type_name(e->entity_type));
    bind_id(&b, e->entity_id);
    bind_text(&b, e->fleet_id);
    bind_int(&b, e->occurred_at_ms);
    bind_text(&b, e->actor);
    bind_text(&b, e->data_json);
    status = binder_end(s, &b, 9, "append event");
    if (status == FR_OK) {
        status = run_write(s, ST_APPEND_EVENT, "append event");
    }
    if (status == FR_OK) {
        s->last_seq = e->seq;
    }
    return status;
}

/* ---------------------------------------------------------------------------
 * Reads.
 * ------------------------------------------------------------------------- */
static const char *const TABLE_OF[ST_COUNT] = {
    [ST_EVENTS_ALL] = "events",
    [ST_EVENTS_FLEET] = "events",
    [ST_LOAD_POOLS] = "pools",
    [ST_LOAD_ALLOCATIONS] = "allocations",
    [ST_LOAD_REQUESTS] = "requests",
    [ST_LOAD_CONFLICTS] = "conflicts",
    [ST_LOAD_SAMPLES] = "samples",
    [ST_LOAD_PLANS] = "plans",
};

/* A row that cannot be decoded: the file was changed behind our back. */
static int corrupt(sqlite_store *s, int which, const char *key, const char *detail)
{
    assert(TABLE_OF[which] != NULL);
    snprintf(s->message, sizeof(s->message), "sqlite: corrupt row in %s (%s): %s",
             TABLE_OF[which], key, detail);
    return FR_ESTORE;
}

/* Copies a text column into a fixed buffer ("" for NULL).  FR_ESTORE (corrupt)
 * when it does not fit, FR_ENOMEM when SQLite cannot produce the text. */
static int column_fixed(sqlite_store *s, int which, int col, char *dst, size_t size)
{
    sqlite3_stmt *st = s->stmt[which];
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        dst[0] = '\0';
        return FR_OK;
    }
    const unsigned char *text = sqlite3_column_text(st, col);
    if (text == NULL) {
        return FR_ENOMEM;
    }
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    if (len >= size) {
        return corrupt(s, which, sqlite3_column_name(st, col), "text too long");
    }
    memcpy(dst, text, len + 1);
    return FR_OK;
}

/* A malloc'd copy of a text column in *out (NULL for NULL). */
static int column_strdup(sqlite_store *s, int which, int col, char **out)
{
    sqlite3_stmt *st = s->stmt[which];
    *out = NULL;
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        return FR_OK;
    }
    const unsigned char *text = sqlite3_column_text(st, col);
    if (text == NULL) {
        return FR_ENOMEM;
    }
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return FR_ENOMEM;
    }
    memcpy(copy, text, len + 1);
    *out = copy;
    return FR_OK;
}

/* The enum value of an entity type name, or -1. */
static int entity_type_parse(const char *name)
{
    for (int type = FR_ENTITY_POOL; type <= FR_ENTITY_PLAN; type++) {
        const char *known = fr_entity_type_name(type);
        if (known != NULL && strcmp(known, name) == 0) {
            return type;
        }
    }
    return -1;
}

/* Fills a zeroed *e from the current row of an events query. */
static int read_event(sqlite_store *s, int which, fr_event *e)
{
    sqlite3_stmt *st = s->stmt[which];
    char entity_type[32];
    e->seq = sqlite3_column_int64(st, 0);
    int status = column_fixed(s, which, 1, e->id, sizeof(e->id));
    if (status == FR_OK) {
        status = column_fixed(s, which, 2, e->type, sizeof(e->type));
    }
    if (status == FR_OK) {
        status = column_fixed(s, which, 3, entity_type, sizeof(entity_type));
    }
    if (status == FR_OK) {
        e->entity_type = entity_type_parse(entity_type);
        if (e->entity_type < 0) {
            status = corrupt(s, which, "entity_type", "unknown entity type");
        }
    }
    if (status == FR_OK) {
        status = column_fixed(s, which, 4, e->entity_id, sizeof(e->entity_id));
    }
    if (status == FR_OK) {
        status = column_strdup(s, which, 5, &e->fleet_id);
    }
    e->occurred_at_ms = sqlite3_column_int64(st, 6);
    if (status == FR_OK) {
        status = column_strdup(s, which, 7, &e->actor);
    }
    if (status == FR_OK) {
        status = column_strdup(s, which, 8, &e->data_json);
    }
    if (status != FR_OK) {
        fr_event_clear(e);
    }
    return status;
}

typedef struct event_list {
    fr_event *items;
    size_t len;
    size_t cap;
} event_list;

/* Makes room for one more event (capacity never above limit). */
static int event_list_grow(event_list *list, size_t limit)
{
    assert(list->len < limit);
    if (list->len < list->cap) {
        return FR_OK;
    }
    size_t cap = list->cap == 0 ? 16 : list->cap * 2;
    if (cap > limit || cap < list->cap) {
        cap = limit;
    }
    if (cap > SIZE_MAX / sizeof(fr_event)) {
        return FR_ENOMEM;
    }
    fr_event *items = realloc(list->items, cap * sizeof(fr_event));
    if (items == NULL) {
        return FR_ENOMEM;
    }
    list->items = items;
    list->cap = cap;
    return FR_OK;
}

/* Steps an events query (bound already) into list, at most limit rows. */
static int read_events(sqlite_store *s, int which, size_t limit, event_list *list)
{
    sqlite3_stmt *st = s->stmt[which];
    while (list->len < limit) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            return FR_OK;
        }
        if (rc != SQLITE_ROW) {
            return fail(s, rc, "read events");
        }
        int status = event_list_grow(list, limit);
        if (status != FR_OK) {
            return status;
        }
        fr_event *e = &list->items[list->len];
        memset(e, 0, sizeof(*e));
        status = read_event(s, which, e);
        if (status != FR_OK) {
            return status;
        }
        list->len++;
    }
    return FR_OK;
}

/* Inside a transaction this also sees the transaction's own appends (the
 * memory store does not; the engine only reads before appending).  No match:
 * *items = NULL, *count = 0. */
static int sqlite_events_after(fr_store *store, int64_t after, size_t limit,
                               const char *fleet_id, fr_event **items, size_t *count)
{
    sqlite_store *s = sqlite_store_of(store);
    assert(items != NULL);
    assert(count != NULL);
    if (limit == 0) {
        *items = NULL;
        *count = 0;
        return FR_OK;
    }
    int which = fleet_id == NULL ? ST_EVENTS_ALL : ST_EVENTS_FLEET;
    binder b = binder_start(s, which);
    if (fleet_id != NULL) {
        bind_text(&b, fleet_id);
    }
    bind_int(&b, after);
    bind_int(&b, limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit);
    int status = binder_end(s, &b, fleet_id == NULL ? 2 : 3, "events after");
    if (status != FR_OK) {
        return status;
    }
    event_list list = {NULL, 0, 0};
    status = read_events(s, which, limit, &list);
    finish(s->stmt[which]);
    if (status != FR_OK) {
        fr_event_free_array(list.items, list.len);
        return status;
    }
    if (list.len == 0) {
        free(list.items);
        list.items = NULL;
    }
    *items = list.items;
    *count = list.len;
    return FR_OK;
}

/* ---------------------------------------------------------------------------
 * Load: decode each document and hand it to the loader.  *decoded says
 * whether a failure came from decoding (corrupt row) or from the callback.
 * ------------------------------------------------------------------------- */
static int deliver_pool(const cJSON *json, int deleted, const fr_store_loader *loader,
                        int *decoded)
{
    fr_pool pool;
    memset(&pool, 0, sizeof(pool));
    int status = fr__pool_from_cjson(json, &pool);
    *decoded = status == FR_OK;
    if (status == FR_OK) {
        /* The column is authoritative: the client JSON need not carry it. */
        pool.deleted = deleted;
        status = loader->pool == NULL ? FR_OK : loader->pool(loader->ctx, &pool);
    }
    fr_pool_clear(&pool);
    return status;
}

static int deliver_allocation(const cJSON *json, const fr_store_loader *loader, int *decoded)
{
    fr_allocation allocation;
    memset(&allocation, 0, sizeof(allocation));
    int status = fr__allocation_from_cjson(json, &allocation);
    *decoded = status == FR_OK;
    if (status == FR_OK && loader->allocation != NULL) {
        status = loader->allocation(loader->ctx, &allocation);
    }
    fr_allocation_clear(&allocation);
    return status;
}

static int deliver_request(const cJSON *json, const fr_store_loader *loader, int *decoded)
{
    fr_request request;
    memset(&request, 0, sizeof(request));
    int status = fr__request_from_cjson(json, &request);
    *decoded = status == FR_OK;
    if (status == FR_OK && loader->request != NULL) {
        status = loader->request(loader->ctx, &request);
    }
    fr_request_clear(&request);
    return status;
}

static int deliver_conflict(const cJSON *json, const fr_store_loader *loader, int *decoded)
{
    fr_conflict conflict;
    memset(&conflict, 0, sizeof(conflict));
    int status = fr__conflict_from_cjson(json, &conflict);
    *decoded = status == FR_OK;
    if (status == FR_OK && loader->conflict != NULL) {
        status = loader->conflict(loader->ctx, &conflict);
    }
    fr_conflict_clear(&conflict);
    return status;
}

static int deliver_sample(const cJSON *json, const fr_store_loader *loader, int *decoded)
{
    fr_sample sample;
    memset(&sample, 0, sizeof(sample));
    int status = fr__sample_from_cjson(json, &sample);
    *decoded = status == FR_OK;
    if (status == FR_OK && loader->sample != NULL) {
        status = loader->sample(loader->ctx, &sample);
    }
    fr_sample_clear(&sample);
    return status;
}

static int deliver_plan(const cJSON *json, const fr_store_loader *loader, int *decoded)
{
    fr_plan plan;
    memset(&plan, 0, sizeof(plan));
    int status = fr__plan_from_cjson(json, &plan);
    *decoded = status == FR_OK;
    if (status == FR_OK && loader->plan != NULL) {
        status = loader->plan(loader->ctx, &plan);
    }
    fr_plan_clear(&plan);
    return status;
}

/* Decodes the current row (id, doc, deleted) of a load query and delivers it. */
static int load_row(sqlite_store *s, int which, const fr_store_loader *loader)
{
    sqlite3_stmt *st = s->stmt[which];
    char id[FR_ID_SIZE];
    int status = column_fixed(s, which, 0, id, sizeof(id));
    if (status != FR_OK) {
        return status;
    }
    const char *doc = (const char *)sqlite3_column_text(st, 1);
    if (doc == NULL) {
        return FR_ENOMEM; /* doc is NOT NULL, so SQLite ran out of memory */
    }
    cJSON *json = cJSON_ParseWithLength(doc, (size_t)sqlite3_column_bytes(st, 1));
    if (json == NULL) {
        return corrupt(s, which, id, "doc is not JSON");
    }
    int decoded = 0;
    switch (which) {
    case ST_LOAD_POOLS:
        status = deliver_pool(json, sqlite3_column_int(st, 2) != 0, loader, &decoded);
        break;
    case ST_LOAD_ALLOCATIONS:
        status = deliver_allocation(json, loader, &decoded);
        break;
    case ST_LOAD_REQUESTS:
        status = deliver_request(json, loader, &decoded);
        break;
    case ST_LOAD_SAMPLES:
        status = deliver_sample(json, loader, &decoded);
        break;
    case ST_LOAD_PLANS:
        status = deliver_plan(json, loader, &decoded);
        break;
    default:
        assert(which == ST_LOAD_CONFLICTS);
        status = deliver_conflict(json, loader, &decoded);
        break;
    }
    cJSON_Delete(json);
    if (!decoded && status == FR_EINVAL) {
        return corrupt(s, which, id, "doc does not decode");
    }
    return status;
}

/* Streams one table.  The loop is bounded by the table's row count. */
static int load_table(sqlite_store *s, int which, const fr_store_loader *loader)
{
    sqlite3_stmt *st = s->stmt[which];
    int status = FR_OK;
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            break;
        }
        if (rc != SQLITE_ROW) {
            status = fail(s, rc, "load");
            break;
        }
        status = load_row(s, which, loader);
        if (status != FR_OK) {
            break;
        }
    }
    finish(st);
    return status;
}

static int sqlite_load(fr_store *store, const fr_store_loader *loader, int64_t *head_seq)
{
    static const int tables[] = {ST_LOAD_POOLS, ST_LOAD_ALLOCATIONS, ST_LOAD_REQUESTS,
                                 ST_LOAD_CONFLICTS, ST_LOAD_SAMPLES, ST_LOAD_PLANS};
    sqlite_store *s = sqlite_store_of(store);
    assert(loader != NULL);
    assert(head_seq != NULL);
    assert(!s->in_transaction);
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        int status = load_table(s, tables[i], loader);
        if (status != FR_OK) {
            return status;
        }
    }
    int64_t head = 0;
    int status = run_scalar(s, ST_HEAD_SEQ, "read head seq", &head);
    if (status == FR_OK) {
        *head_seq = head;
    }
    return status;
}

static int sqlite_control(fr_store *store, int op, void *arg)
{
    sqlite_store *s = sqlite_store_of(store);
    (void)arg;
    if (op == FR_STORE_CTL_PING) {
        int64_t one = 0;
        return run_scalar(s, ST_PING, "ping", &one);
    }
    return FR_ENOTFOUND;
}

/* Also used to clean up a half-opened store (db or statements NULL). */
static void sqlite_close(fr_store *store)
{
    sqlite_store *s = sqlite_store_of(store);
    /* An open transaction is lost, as it would be in a crash. */
    if (s->db != NULL && !sqlite3_get_autocommit(s->db)) {
        int rc = sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        (void)rc; /* close rolls back anyway */
    }
    for (int i = 0; i < ST_COUNT; i++) {
        /* finalize repeats the statement's last error, handled already. */
        (void)sqlite3_finalize(s->stmt[i]);
    }
    int rc = sqlite3_close(s->db);
    assert(rc == SQLITE_OK); /* every statement is finalized */
    (void)rc;
    if (s->wal_fd >= 0) {
        close(s->wal_fd);
    }
    pthread_mutex_destroy(&s->sync_lock);
    pthread_cond_destroy(&s->sync_done);
    free(s->wal_path);
    free(s);
}

static const struct fr_store_methods sqlite_methods = {
    .version = FR_STORE_METHODS_VERSION,
    .close = sqlite_close,
    .load = sqlite_load,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .put_pool = sqlite_put_pool,
    .put_allocation = sqlite_put_allocation,
    .put_request = sqlite_put_request,
    .put_conflict = sqlite_put_conflict,
    .append_event = sqlite_append_event,
    .events_after = sqlite_events_after,
    .control = sqlite_control,
    .put_sample = sqlite_put_sample,
    .put_idempotency = sqlite_put_idempotency,
    .get_idempotency = sqlite_get_idempotency,
    .sync = sqlite_sync,
    .put_plan = sqlite_put_plan,
};

/* ---------------------------------------------------------------------------
 * Open.
 * ------------------------------------------------------------------------- */

/* A failure while opening file: SQLITE_BUSY means another owner. */
static int fail_open(sqlite_store *s, int rc, const char *file, const char *what)
{
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        snprintf(s->message, sizeof(s->message),
                 "sqlite: %s is in use by another process or connection (%s)", file,
                 sqlite3_errmsg(s->db));
        return FR_ESTORE;
    }
    snprintf(s->message, sizeof(s->message), "sqlite: %s: %s: %s", file, what,
             sqlite3_errmsg(s->db));
    return status_of(rc);
}

static int exec_sql(sqlite_store *s, const char *file, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? FR_OK : fail_open(s, rc, file, what);
}

/* Runs a PRAGMA that answers one row and copies its first column (text). */
static int pragma_text(sqlite_store *s, const char *file, const char *sql, char *out,
                       size_t size)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return fail_open(s, rc, file, sql);
    }
    rc = sqlite3_step(st);
    int status = FR_OK;
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(st, 0);
        if (text == NULL) {
            snprintf(s->message, sizeof(s->message), "sqlite: %s: out of memory", file);
            status = FR_ENOMEM;
        } else {
            snprintf(out, size, "%s", (const char *)text);
        }
    } else {
        status = fail_open(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc, file, sql);
    }
    (void)sqlite3_finalize(st); /* repeats the step's error, handled above */
    return status;
}

/* Enters WAL: the first access to the file, which takes the exclusive lock. */
static int enter_wal(sqlite_store *s, const char *file)
{
    char mode[32];
    int status = pragma_text(s, file, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
    if (status == FR_OK && strcmp(mode, "wal") != 0) {
        snprintf(s->message, sizeof(s->message),
                 "sqlite: %s: cannot use the WAL journal (journal mode is %s)", file, mode);
        status = FR_ESTORE;
    }
    return status;
}

/* Creates the schema in a new file, upgrades an older one (version 1: adds
 * the samples table; 3: the plans table); refuses a newer one.  One
 * transaction. */
static int ensure_schema(sqlite_store *s, const char *file)
{
    int status = exec_sql(s, file, "BEGIN IMMEDIATE", "begin schema check");
    if (status != FR_OK) {
        return status;
    }
    char text[32];
    status = pragma_text(s, file, "PRAGMA user_version", text, sizeof(text));
    long version = status == FR_OK ? strtol(text, NULL, 10) : 0;
    if (status == FR_OK && version > FR_SQLITE_SCHEMA_VERSION) {
        snprintf(s->message, sizeof(s->message),
                 "sqlite: %s has schema version %ld, newer than this library's %d; "
                 "refusing to open it",
                 file, version, FR_SQLITE_SCHEMA_VERSION);
        status = FR_ESTORE;
    }
    if (status == FR_OK && version < FR_SQLITE_SCHEMA_VERSION) {
        status = exec_sql(s, file, SCHEMA_SQL, "create schema");
        if (status == FR_OK) {
            status = exec_sql(s, file,
                              "PRAGMA user_version = "
                              FR_SQLITE_STRINGIFY(FR_SQLITE_SCHEMA_VERSION),
                              "set schema version");
        }
    }
    if (status == FR_OK) {
        /* Files made before allocations became WITHOUT ROWID kept a second
         * index that only ordered the load: every booking paid a page write
         * for it.  The load sorts without it. */
        status = exec_sql(s, file, "DROP INDEX IF EXISTS allocations_by_created",
                          "drop an index the load no longer needs");
    }
    if (status == FR_OK) {
        status = exec_sql(s, file, "COMMIT", "commit schema");
    }
    if (status != FR_OK && !sqlite3_get_autocommit(s->db)) {
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); /* the error is set */
    }
    return status;
}

static int open_database(sqlite_store *s, const char *file, int sync_off)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    /* Through the WAL-batching shim when it registered (else plain). */
    const char *vfs = fr__walbuf_register() == SQLITE_OK ? FR_WALBUF_VFS : NULL;
    int rc = sqlite3_open_v2(file, &s->db, flags, vfs);
    if (rc != SQLITE_OK) {
        if (s->db == NULL) {
            snprintf(s->message, sizeof(s->message), "sqlite: %s: out of memory", file);
            return FR_ENOMEM;
        }
        return fail_open(s, rc, file, "cannot open");
    }
    /* SQLite quietly falls back to read-only when it may not write the file. */
    if (sqlite3_db_readonly(s->db, "main") != 0) {
        snprintf(s->message, sizeof(s->message), "sqlite: %s: the file is not writable",
                 file);
        return FR_ESTORE;
    }
    rc = sqlite3_busy_timeout(s->db, FR_SQLITE_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK) {
        return fail_open(s, rc, file, "set busy timeout");
    }
    /* Exclusive before the first access: then WAL needs no shared memory and
     * the lock is taken at once and held until close. */
    int status = exec_sql(s, file, "PRAGMA locking_mode = EXCLUSIVE", "set locking mode");
    if (status == FR_OK) {
        status = enter_wal(s, file);
    }
    if (status == FR_OK) {
        status = exec_sql(s, file,
                          sync_off ? "PRAGMA synchronous = OFF" : "PRAGMA synchronous = NORMAL",
                          "set synchronous");
    }
    if (status == FR_OK) {
        status = exec_sql(s, file, "PRAGMA foreign_keys = OFF", "set foreign_keys");
    }
    if (status == FR_OK) {
        status = ensure_schema(s, file);
    }
    return status;
}

static int prepare_statements(sqlite_store *s, const char *file)
{
    for (int i = 0; i < ST_COUNT; i++) {
        assert(STATEMENT_SQL[i] != NULL);
        int rc = sqlite3_prepare_v3(s->db, STATEMENT_SQL[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmt[i], NULL);
        if (rc != SQLITE_OK) {
            return fail_open(s, rc, file, "prepare statements");
        }
    }
    return FR_OK;
}

/* Splits the test-only "?sync=off" suffix from path.  Returns a malloc'd
 * file name, or NULL when out of memory. */
static char *file_of_path(const char *path, int *sync_off)
{
    size_t len = strlen(path);
    size_t suffix_len = strlen(FR_SQLITE_SYNC_OFF_SUFFIX);
    *sync_off = len > suffix_len &&
                strcmp(path + len - suffix_len, FR_SQLITE_SYNC_OFF_SUFFIX) == 0;
    if (*sync_off) {
        len -= suffix_len;
    }
    char *file = malloc(len + 1);
    if (file != NULL) {
        memcpy(file, path, len);
        file[len] = '\0';
    }
    return file;
}

static void write_errbuf(char *errbuf, size_t size, const char *message)
{
    if (errbuf != NULL && size > 0) {
        snprintf(errbuf, size, "%s", message);
    }
}

FR_API int fr_store_sqlite_open(const char *path, fr_store **out, char *errbuf,
                                size_t errbuf_size)
{
    if (path == NULL || path[0] == '\0' || out == NULL) {
        write_errbuf(errbuf, errbuf_size, "sqlite: a file path is required");
        return FR_EINVAL;
    }
    int sync_off = 0;
    char *file = file_of_path(path, &sync_off);
    sqlite_store *s = calloc(1, sizeof(*s));
    if (file == NULL || s == NULL) {
        free(file);
        free(s);
        write_errbuf(errbuf, errbuf_size, "sqlite: out of memory");
        return FR_ENOMEM;
    }
    s->base.methods = &sqlite_methods;
    s->wal_fd = -1;
    s->group_commit = !sync_off;
    pthread_mutex_init(&s->sync_lock, NULL);
    pthread_cond_init(&s->sync_done, NULL);
    size_t wal_len = strlen(file) + 5;
    s->wal_path = malloc(wal_len);
    if (s->wal_path == NULL) {
        free(file);
        sqlite_close(&s->base);
        write_errbuf(errbuf, errbuf_size, "sqlite: out of memory");
        return FR_ENOMEM;
    }
    snprintf(s->wal_path, wal_len, "%s-wal", file);
    int status = open_database(s, file, sync_off);
    if (status == FR_OK) {
        status = prepare_statements(s, file);
    }
    free(file);
    if (status != FR_OK) {
        write_errbuf(errbuf, errbuf_size, s->message);
        sqlite_close(&s->base);
        return status;
    }
    *out = &s->base;
    return FR_OK;
}
