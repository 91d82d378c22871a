/*
 * postgres.c — the PostgreSQL store: several fleetres-server processes on one
 * database (docs/storage.md, "Several processes on one database").
 *
 * Transactions: `begin` opens a transaction on the main connection and takes
 * the writer lock by locking the one row of fleet_resources.head (FOR
 * UPDATE), which also reports the head seq; the engine then catches up from
 * the event log if another instance wrote.  The puts and appends are only
 * buffered as SQL text; `commit` sends them with the head update and COMMIT
 * in one round trip, so the lock is held for two round trips per change.
 *
 * Durability with throughput: the main connection commits with
 * synchronous_commit = off (COMMIT returns before the WAL flush, the lock is
 * released at once); `sync` then commits a tiny synchronous update of a flush
 * slot on one of its own connections, whose flush covers every earlier
 * commit, and PostgreSQL batches concurrent flushes.  The engine acknowledges
 * a change only after its sync returned FR_OK.
 *
 * Failures: any error is FR_ESTORE and the transaction is rolled back; a
 * broken connection is reconnected on its next use (pg_conn.c).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "pg_int.h"
#include "pg_migrations.h"

#define FRS_PG_SYNC_DEFAULT 8
#define FRS_PG_SYNC_MAX 64

static const char MAIN_SETUP[] =
    "SET standard_conforming_strings = on; SET client_encoding = 'UTF8';"
    " SET client_min_messages = warning;"
    " SET synchronous_commit = off; SET lock_timeout = '10s';"
    " SET idle_in_transaction_session_timeout = '30s'";
static const char SYNC_SETUP[] =
    "SET standard_conforming_strings = on; SET synchronous_commit = on;"
    " SET statement_timeout = '10s'";

static pg_store *pg_of(fr_store *store)
{
    return (pg_store *)store;
}

int frs_pg_is_url(const char *url)
{
    return url != NULL &&
           (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0);
}

static void log_event(pg_store *s, int is_error, const char *message, const char *detail)
{
    if (s->opt.log != NULL) {
        s->opt.log(is_error, message, detail);
    }
}

int frs_pg_main_ready(pg_store *s)
{
    int was_connected = s->main.pg != NULL;
    if (frs_pg_ensure(&s->main, s->message, sizeof s->message) != 0) {
        if (!s->main_was_lost) {
            log_event(s, 1, "database connection lost", s->message);
        }
        s->main_was_lost = 1;
        return FR_ESTORE;
    }
    if (!was_connected && s->main_was_lost) {
        log_event(s, 0, "database connection restored", NULL);
        s->main_was_lost = 0;
    }
    return FR_OK;
}

static int exec_once(pg_store *s, const char *sql, int n, const char *const *values,
                     ExecStatusType want, PGresult **out)
{
    if (frs_pg_main_ready(s) != FR_OK) {
        return -1;
    }
    return n > 0 ? frs_pg_exec_params(&s->main, sql, n, values, want, out, s->message,
                                      sizeof s->message)
                 : frs_pg_exec(&s->main, sql, want, out, s->message, sizeof s->message);
}

int frs_pg_main_exec(pg_store *s, const char *sql, int n, const char *const *values,
                     ExecStatusType want, PGresult **out)
{
    int had_connection = s->main.pg != NULL;
    int rc = exec_once(s, sql, n, values, want, out);
    if (rc != 0 && had_connection && frs_pg_lost(&s->main) && !s->in_txn) {
        rc = exec_once(s, sql, n, values, want, out);
    }
    return rc == 0 ? FR_OK : FR_ESTORE;
}

/* What the calling thread last committed (or read) and must see flushed
 * before it acknowledges: the engine commits and then syncs on the same
 * thread.  The epoch matters: a flush on a restarted server (new epoch) says
 * nothing about a commit made before the restart, which may be lost. */
static _Thread_local struct {
    const pg_store *store;
    uint64_t gen;
    int64_t epoch;
} t_pending;

void frs_pg_note_commit(pg_store *s)
{
    pthread_mutex_lock(&s->lock);
    s->committed_gen++;
    t_pending.store = s;
    t_pending.gen = s->committed_gen;
    t_pending.epoch = s->main.epoch_us;
    s->noted_epoch = s->main.epoch_us;
    pthread_mutex_unlock(&s->lock);
}

/* A failed query: remember it and note a lost connection for the log. */
static int failed(pg_store *s)
{
    if (frs_pg_lost(&s->main) && !s->main_was_lost) {
        log_event(s, 1, "database connection lost", s->message);
        s->main_was_lost = 1;
    }
    return FR_ESTORE;
}

/* ---- transactions ---------------------------------------------------------- */

/* BEGIN, the writer lock and (when another instance wrote recently) the
 * events the engine will ask for, in one round trip; retried once on a new
 * connection if the old one turned out dead. */
static int begin_query(pg_store *s, int prefetch, PGresult **head, PGresult **events)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT seq FROM fleet_resources.head WHERE id = 1 FOR UPDATE%s",
             prefetch ? "; SELECT " FRS_PG_EVENT_COLUMNS " FROM fleet_resources.events"
                        " WHERE seq > " : "");
    if (prefetch) {
        size_t n = strlen(sql);
        snprintf(sql + n, sizeof sql - n, "%lld ORDER BY seq LIMIT 1000",
                 (long long)s->known_seq);
    }
    PGresult *out[2] = {NULL, NULL};
    int rc = -1;
    for (int attempt = 0; rc != 0 && attempt < 2; attempt++) {
        int had_connection = s->main.pg != NULL;
        if (frs_pg_main_ready(s) != FR_OK) {
            return FR_ESTORE;
        }
        rc = frs_pg_exec_tail(&s->main, sql, prefetch ? 2 : 1, out, s->message,
                              sizeof s->message);
        if (rc != 0 && !(had_connection && frs_pg_lost(&s->main))) {
            break;
        }
    }
    if (rc != 0) {
        return FR_ESTORE;
    }
    *head = out[0];
    *events = prefetch ? out[1] : NULL;
    return FR_OK;
}

static int pg_begin(fr_store *store, int64_t *head_seq)
{
    pg_store *s = pg_of(store);
    assert(!s->in_txn);
    PGresult *r = NULL, *events = NULL;
    int prefetch = s->others_active;
    if (begin_query(s, prefetch, &r, &events) != FR_OK) {
        if (s->main.pg != NULL && PQtransactionStatus(s->main.pg) != PQTRANS_IDLE) {
            char ignored[128];
            (void)frs_pg_exec(&s->main, "ROLLBACK", PGRES_COMMAND_OK, NULL, ignored,
                              sizeof ignored);
        }
        return failed(s);
    }
    int64_t seq = 0;
    int bad = PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
              frs_pg_cell_i64(r, 0, 0, &seq) != 0;
    PQclear(r);
    if (bad) {
        PQclear(events);
        snprintf(s->message, sizeof s->message, "postgres: fleet_resources.head has no row 1");
        char ignored[128];
        (void)frs_pg_exec(&s->main, "ROLLBACK", PGRES_COMMAND_OK, NULL, ignored, sizeof ignored);
        return FR_ESTORE;
    }
    s->in_txn = 1;
    s->begin_seq = seq;
    s->last_seq = seq;
    s->prefetched = events;
    s->prefetched_after = s->known_seq;
    s->others_active = seq != s->known_seq;
    s->known_seq = seq; /* the engine catches up to it (or reloads) */
    frs_sql_reset(&s->batch);
    *head_seq = seq;
    return FR_OK;
}

void frs_pg_drop_prefetch(pg_store *s)
{
    PQclear(s->prefetched);
    s->prefetched = NULL;
}

static void pg_rollback(fr_store *store)
{
    pg_store *s = pg_of(store);
    if (!s->in_txn) {
        return;
    }
    s->in_txn = 0;
    frs_sql_reset(&s->batch);
    frs_pg_drop_prefetch(s);
    if (s->main.pg != NULL) {
        char ignored[128];
        (void)frs_pg_exec(&s->main, "ROLLBACK", PGRES_COMMAND_OK, NULL, ignored, sizeof ignored);
    }
}

static int pg_commit(fr_store *store)
{
    pg_store *s = pg_of(store);
    assert(s->in_txn);
    if (s->last_seq != s->begin_seq) {
        frs_sql_raw(&s->batch, "UPDATE fleet_resources.head SET seq = ");
        frs_sql_int(&s->batch, s->last_seq);
        frs_sql_raw(&s->batch, " WHERE id = 1;");
    }
    frs_sql_raw(&s->batch, "COMMIT");
    if (s->batch.oom) {
        pg_rollback(store);
        return FR_ENOMEM;
    }
    int rc = frs_pg_exec(&s->main, s->batch.text, PGRES_COMMAND_OK, NULL, s->message,
                         sizeof s->message);
    if (rc == 0 && PQtransactionStatus(s->main.pg) != PQTRANS_IDLE) {
        snprintf(s->message, sizeof s->message, "postgres: COMMIT left a transaction open");
        rc = -1;
    }
    if (rc != 0) {
        /* Unknown outcome if the connection broke during COMMIT: the engine
         * undoes its change, and catches up if the commit did happen. */
        pg_rollback(store);
        return failed(s);
    }
    s->in_txn = 0;
    frs_sql_reset(&s->batch);
    frs_pg_drop_prefetch(s);
    s->known_seq = s->last_seq;
    frs_pg_note_commit(s);
    return FR_OK;
}

/* ---- buffered writes ----------------------------------------------------------- */

static int check_txn(pg_store *s)
{
    assert(s->in_txn);
    return s->in_txn ? FR_OK : FR_ESTORE;
}

static int end_statement(pg_store *s)
{
    frs_sql_raw(&s->batch, ";");
    return s->batch.oom ? FR_ENOMEM : FR_OK;
}

/* The column list "(a, b, c)" after INSERT INTO table, and the update
 * clause for every column but the first (the id). */
static void upsert_head(frs_sqlbuf *b, const char *table, const char *columns)
{
    frs_sql_raw(b, "INSERT INTO fleet_resources.");
    frs_sql_raw(b, table);
    frs_sql_raw(b, " (");
    frs_sql_raw(b, columns);
    frs_sql_raw(b, ") VALUES (");
}

static void upsert_tail(frs_sqlbuf *b, const char *conflict, const char *columns)
{
    frs_sql_raw(b, ") ON CONFLICT (");
    frs_sql_raw(b, conflict);
    frs_sql_raw(b, ") DO UPDATE SET ");
    /* columns is "id, a, b": every one after the key gets = excluded.x */
    const char *p = strchr(columns, ',');
    int first = 1;
    char name[64];
    while (p != NULL) {
        p++;
        while (*p == ' ') {
            p++;
        }
        size_t n = strcspn(p, ",");
        if (n >= sizeof name) {
            b->oom = 1;
            return;
        }
        memcpy(name, p, n);
        name[n] = 0;
        frs_sql_raw(b, first ? "" : ", ");
        frs_sql_raw(b, name);
        frs_sql_raw(b, " = excluded.");
        frs_sql_raw(b, name);
        first = 0;
        p = strchr(p, ',');
    }
}

#define COMMA frs_sql_raw(b, ", ")

static int pg_put_pool(fr_store *store, const fr_pool *p)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    static const char cols[] = "id, fleet_id, name, resource_type, site, status, deleted,"
                               " total_capacity, version, created_at, updated_at, doc";
    frs_sqlbuf *b = &s->batch;
    upsert_head(b, "resource_pools", cols);
    frs_sql_id(b, p->id), COMMA, frs_sql_lit(b, p->fleet_id), COMMA;
    frs_sql_lit(b, p->name), COMMA, frs_sql_lit(b, p->resource_type), COMMA;
    frs_sql_lit(b, p->site), COMMA, frs_sql_lit(b, fr_pool_status_name(p->status)), COMMA;
    frs_sql_raw(b, p->deleted ? "true" : "false"), COMMA;
    frs_sql_qty(b, p->total_capacity_milli), COMMA, frs_sql_int(b, p->version), COMMA;
    frs_sql_ts(b, p->created_at_ms), COMMA, frs_sql_ts(b, p->updated_at_ms), COMMA;
    frs_sql_jsonb(b, fr__pool_to_json_text(p));
    upsert_tail(b, "id", cols);
    return end_statement(s);
}

static int pg_put_allocation(fr_store *store, const fr_allocation *a)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    static const char cols[] = "id, fleet_id, pool_id, vehicle_id, request_id, status, quantity,"
                               " start_at, end_at, version, created_at, updated_at, doc";
    frs_sqlbuf *b = &s->batch;
    upsert_head(b, "resource_allocations", cols);
    frs_sql_id(b, a->id), COMMA, frs_sql_lit(b, a->fleet_id), COMMA;
    frs_sql_id(b, a->pool_id), COMMA, frs_sql_lit(b, a->vehicle_id), COMMA;
    frs_sql_id(b, a->request_id), COMMA;
    frs_sql_lit(b, fr_allocation_status_name(a->status)), COMMA;
    frs_sql_qty(b, a->quantity_milli), COMMA, frs_sql_ts(b, a->start_ms), COMMA;
    frs_sql_ts(b, a->end_ms), COMMA, frs_sql_int(b, a->version), COMMA;
    frs_sql_ts(b, a->created_at_ms), COMMA, frs_sql_ts(b, a->updated_at_ms), COMMA;
    frs_sql_jsonb(b, fr__allocation_to_json_text(a));
    upsert_tail(b, "id", cols);
    return end_statement(s);
}

static int pg_put_request(fr_store *store, const fr_request *r)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    static const char cols[] = "id, fleet_id, resource_type, status, priority, quantity,"
                               " allocation_id, version, created_at, updated_at, doc";
    frs_sqlbuf *b = &s->batch;
    upsert_head(b, "resource_requests", cols);
    frs_sql_id(b, r->id), COMMA, frs_sql_lit(b, r->fleet_id), COMMA;
    frs_sql_lit(b, r->resource_type), COMMA;
    frs_sql_lit(b, fr_request_status_name(r->status)), COMMA;
    frs_sql_int(b, r->priority), COMMA, frs_sql_qty(b, r->quantity_milli), COMMA;
    frs_sql_id(b, r->allocation_id), COMMA, frs_sql_int(b, r->version), COMMA;
    frs_sql_ts(b, r->created_at_ms), COMMA, frs_sql_ts(b, r->updated_at_ms), COMMA;
    frs_sql_jsonb(b, fr__request_to_json_text(r));
    upsert_tail(b, "id", cols);
    return end_statement(s);
}

static int pg_put_conflict(fr_store *store, const fr_conflict *c)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    static const char cols[] = "id, fleet_id, pool_id, type, status, version, created_at,"
                               " updated_at, doc";
    frs_sqlbuf *b = &s->batch;
    upsert_head(b, "resource_conflicts", cols);
    frs_sql_id(b, c->id), COMMA, frs_sql_lit(b, c->fleet_id), COMMA;
    frs_sql_id(b, c->pool_id), COMMA, frs_sql_lit(b, fr_conflict_type_name(c->type)), COMMA;
    frs_sql_lit(b, fr_conflict_status_name(c->status)), COMMA;
    frs_sql_int(b, c->version), COMMA, frs_sql_ts(b, c->created_at_ms), COMMA;
    frs_sql_ts(b, c->updated_at_ms), COMMA;
    frs_sql_jsonb(b, fr__conflict_to_json_text(c));
    upsert_tail(b, "id", cols);
    return end_statement(s);
}

static int pg_put_sample(fr_store *store, const fr_sample *x)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    static const char cols[] = "id, pool_id, fleet_id, sampled_at, used, capacity, source,"
                               " created_at, doc";
    frs_sqlbuf *b = &s->batch;
    upsert_head(b, "resource_utilization", cols);
    frs_sql_id(b, x->id), COMMA, frs_sql_id(b, x->pool_id), COMMA;
    frs_sql_lit(b, x->fleet_id), COMMA, frs_sql_ts(b, x->timestamp_ms), COMMA;
    frs_sql_qty(b, x->used_milli), COMMA, frs_sql_qty(b, x->capacity_milli), COMMA;
    frs_sql_lit(b, x->source), COMMA, frs_sql_ts(b, x->created_at_ms), COMMA;
    frs_sql_jsonb(b, fr__sample_to_json_text(x));
    upsert_tail(b, "id", cols);
    return end_statement(s);
}

static int pg_put_plan(fr_store *store, const fr_plan *plan)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    static const char cols[] = "id, fleet_id, status, version, created_at, updated_at, doc";
    frs_sqlbuf *b = &s->batch;
    upsert_head(b, "resource_planning", cols);
    frs_sql_id(b, plan->id), COMMA, frs_sql_lit(b, plan->fleet_id), COMMA;
    frs_sql_lit(b, fr_plan_status_name(plan->status)), COMMA;
    frs_sql_int(b, plan->version), COMMA, frs_sql_ts(b, plan->created_at_ms), COMMA;
    frs_sql_ts(b, plan->updated_at_ms), COMMA;
    frs_sql_jsonb(b, fr__plan_to_json_text(plan));
    upsert_tail(b, "id", cols);
    return end_statement(s);
}

static int pg_put_idempotency(fr_store *store, const char *scope, const char *key,
                              const char *doc, int64_t created_at_ms)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    static const char cols[] = "scope, key, created_at, doc";
    frs_sqlbuf *b = &s->batch;
    upsert_head(b, "idempotency_keys", cols);
    frs_sql_lit(b, scope), COMMA, frs_sql_lit(b, key), COMMA;
    frs_sql_ts(b, created_at_ms), COMMA, frs_sql_lit(b, doc);
    frs_sql_raw(b, ") ON CONFLICT (scope, key) DO UPDATE SET created_at = excluded.created_at,"
                   " doc = excluded.doc");
    return end_statement(s);
}

static int pg_append_event(fr_store *store, const fr_event *e)
{
    pg_store *s = pg_of(store);
    assert(e != NULL);
    assert(e->seq == s->last_seq + 1);
    assert(fr_entity_type_name(e->entity_type) != NULL);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    frs_sqlbuf *b = &s->batch;
    frs_sql_raw(b, "INSERT INTO fleet_resources.events (seq, id, type, entity_type, entity_id,"
                   " fleet_id, occurred_at_ms, actor, data) VALUES (");
    frs_sql_int(b, e->seq), COMMA, frs_sql_lit(b, e->id), COMMA, frs_sql_lit(b, e->type), COMMA;
    frs_sql_lit(b, fr_entity_type_name(e->entity_type)), COMMA;
    frs_sql_id(b, e->entity_id), COMMA, frs_sql_lit(b, e->fleet_id), COMMA;
    frs_sql_int(b, e->occurred_at_ms), COMMA, frs_sql_lit(b, e->actor), COMMA;
    frs_sql_lit(b, e->data_json);
    frs_sql_raw(b, ")");
    int rc = end_statement(s);
    if (rc == FR_OK) {
        s->last_seq = e->seq;
    }
    return rc;
}

/* ---- group commit ------------------------------------------------------------ */

/* One synchronous commit on a sync connection: its WAL flush covers every
 * commit (any connection's) whose commit record came before it. */
static int flush_once(pg_store *s, pg_sync_conn *c, int64_t *epoch)
{
    (void)s;
    char err[256];
    /* A connection that died since its last use (server restart) is
     * retried once on a new one: a flush is idempotent. */
    for (int attempt = 0; attempt < 2; attempt++) {
        int had_connection = c->conn.pg != NULL;
        if (frs_pg_ensure(&c->conn, err, sizeof err) != 0) {
            return FR_ESTORE;
        }
        if (frs_pg_exec(&c->conn,
                        "UPDATE fleet_resources.flush_slots SET n = n + 1"
                        " WHERE slot = pg_backend_pid() % 256",
                        PGRES_COMMAND_OK, NULL, err, sizeof err) == 0) {
            *epoch = c->conn.epoch_us;
            return FR_OK;
        }
        if (!had_connection || !frs_pg_lost(&c->conn)) {
            break;
        }
    }
    return FR_ESTORE;
}

static pg_sync_conn *free_sync_conn(pg_store *s)
{
    for (int i = 0; i < s->sync_count; i++) {
        if (!s->sync[i].busy) {
            return &s->sync[i];
        }
    }
    return NULL;
}

/* Returns once what this thread committed (or read) is flushed: either its
 * own flush started after it, or another one did — on the same server
 * incarnation.  A flush on a restarted server cannot vouch for a commit made
 * before the restart: FR_ESTORE (its outcome is unknown; the engine reloads
 * when it sees the new epoch). */
static int pg_sync(fr_store *store)
{
    pg_store *s = pg_of(store);
    int rc = FR_OK;
    pthread_mutex_lock(&s->lock);
    /* Another thread's caller (or nothing pending here): wait for every
     * commit so far, as the vtable's contract says. */
    uint64_t want = t_pending.store == s ? t_pending.gen : s->committed_gen;
    int64_t epoch = t_pending.store == s ? t_pending.epoch : s->noted_epoch;
    while (want > 0 && rc == FR_OK && !(s->synced_epoch == epoch && s->synced_gen >= want)) {
        if (s->synced_epoch != epoch && s->synced_gen >= want) {
            rc = FR_ESTORE; /* flushed on another incarnation: in doubt */
            break;
        }
        pg_sync_conn *c = free_sync_conn(s);
        if (c == NULL) {
            pthread_cond_wait(&s->flushed, &s->lock);
            continue;
        }
        c->busy = 1;
        uint64_t covers = s->committed_gen;
        pthread_mutex_unlock(&s->lock);
        int64_t flushed_epoch = 0;
        rc = flush_once(s, c, &flushed_epoch);
        pthread_mutex_lock(&s->lock);
        c->busy = 0;
        if (rc == FR_OK && (flushed_epoch != s->synced_epoch || covers > s->synced_gen)) {
            s->synced_epoch = flushed_epoch;
            s->synced_gen = covers;
        }
        if (rc == FR_OK && flushed_epoch != epoch) {
            rc = FR_ESTORE;
        }
        pthread_cond_broadcast(&s->flushed);
    }
    if (t_pending.store == s && rc == FR_OK) {
        t_pending.store = NULL; /* nothing pending any more */
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- control, close, open ----------------------------------------------------- */

static int read_head(pg_store *s, int64_t *seq)
{
    PGresult *r = NULL;
    if (frs_pg_main_exec(s, "SELECT seq FROM fleet_resources.head WHERE id = 1", 0, NULL,
                         PGRES_TUPLES_OK, &r) != FR_OK) {
        return failed(s);
    }
    int bad = PQntuples(r) != 1 || frs_pg_cell_i64(r, 0, 0, seq) != 0;
    PQclear(r);
    return bad ? FR_ESTORE : FR_OK;
}

static int pg_control(fr_store *store, int op, void *arg)
{
    pg_store *s = pg_of(store);
    if (op == FR_STORE_CTL_PING) {
        if (frs_pg_main_exec(s, "SELECT 1", 0, NULL, PGRES_TUPLES_OK, NULL) != FR_OK) {
            return failed(s);
        }
        return FR_OK;
    }
    if (op == FR_STORE_CTL_HEAD && arg != NULL) {
        return read_head(s, arg);
    }
    if (op == FR_STORE_CTL_EPOCH && arg != NULL) {
        if (frs_pg_main_ready(s) != FR_OK) {
            return FR_ESTORE;
        }
        *(int64_t *)arg = s->main.epoch_us;
        return FR_OK;
    }
    return FR_ENOTFOUND;
}

static void pg_close(fr_store *store)
{
    pg_store *s = pg_of(store);
    if (s == NULL) {
        return;
    }
    pg_rollback(store); /* an open transaction is lost, as in a crash */
    frs_pg_close(&s->main);
    for (int i = 0; s->sync != NULL && i < s->sync_count; i++) {
        frs_pg_close(&s->sync[i].conn);
    }
    free(s->sync);
    frs_sql_free(&s->batch);
    pthread_cond_destroy(&s->flushed);
    pthread_mutex_destroy(&s->lock);
    free(s->url);
    free(s);
}

static const struct fr_store_methods pg_methods = {
    .version = FR_STORE_METHODS_VERSION,
    .close = pg_close,
    .load = frs_pg_load,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .put_pool = pg_put_pool,
    .put_allocation = pg_put_allocation,
    .put_request = pg_put_request,
    .put_conflict = pg_put_conflict,
    .append_event = pg_append_event,
    .events_after = frs_pg_events_after,
    .control = pg_control,
    .put_sample = pg_put_sample,
    .put_plan = pg_put_plan,
    .put_idempotency = pg_put_idempotency,
    .get_idempotency = frs_pg_get_idempotency,
    .sync = pg_sync,
};

static int check_schema(pg_store *s, char *err, size_t err_size)
{
    if (s->opt.migrate &&
        frs_pg_migrate(&s->main, 0, NULL, NULL, err, err_size) != 0) {
        return -1;
    }
    int version = 0;
    if (frs_pg_schema_version(&s->main, &version, err, err_size) != 0) {
        return -1;
    }
    if (version > frs_pg_migrations_count) {
        snprintf(err, err_size,
                 "postgres: the database schema is version %d, newer than this server knows"
                 " (%d); upgrade fleetres-server",
                 version, frs_pg_migrations_count);
        return -1;
    }
    if (version < frs_pg_migrations_count) {
        snprintf(err, err_size,
                 "postgres: the database schema is version %d, this server needs %d;"
                 " run `fleetres-server migrate`",
                 version, frs_pg_migrations_count);
        return -1;
    }
    return 0;
}

static pg_store *store_new(const char *url, const frs_pg_options *opt)
{
    pg_store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->base.methods = &pg_methods;
    if (opt != NULL) {
        s->opt = *opt;
    }
    int n = s->opt.sync_connections;
    s->sync_count = n <= 0 ? FRS_PG_SYNC_DEFAULT : n > FRS_PG_SYNC_MAX ? FRS_PG_SYNC_MAX : n;
    s->url = strdup(url);
    s->sync = calloc((size_t)s->sync_count, sizeof *s->sync);
    if (s->url == NULL || s->sync == NULL || pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s->url);
        free(s->sync);
        free(s);
        return NULL;
    }
    if (pthread_cond_init(&s->flushed, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        free(s->url);
        free(s->sync);
        free(s);
        return NULL;
    }
    s->main.url = s->url;
    s->main.setup = MAIN_SETUP;
    for (int i = 0; i < s->sync_count; i++) {
        s->sync[i].conn.url = s->url;
        s->sync[i].conn.setup = SYNC_SETUP;
    }
    return s;
}

int frs_store_pg_open(const char *url, const frs_pg_options *opt, fr_store **out, char *err,
                      size_t err_size)
{
    if (!frs_pg_is_url(url) || out == NULL) {
        snprintf(err, err_size, "postgres: not a postgres:// URL");
        return FR_EINVAL;
    }
    pg_store *s = store_new(url, opt);
    if (s == NULL) {
        snprintf(err, err_size, "postgres: out of memory");
        return FR_ENOMEM;
    }
    if (frs_pg_ensure(&s->main, err, err_size) != 0 || check_schema(s, err, err_size) != 0) {
        pg_close(&s->base);
        return FR_ESTORE;
    }
    *out = &s->base;
    return FR_OK;
}

int frs_pg_migrate_url(const char *url, int target, char *msg, size_t msg_size)
{
    if (!frs_pg_is_url(url)) {
        snprintf(msg, msg_size, "DATABASE_URL must be a postgres:// URL to migrate");
        return -1;
    }
    pg_conn c = {.url = url, .setup = "SET client_min_messages = warning"};
    int from = 0, to = 0;
    int rc = frs_pg_migrate(&c, target, &from, &to, msg, msg_size);
    frs_pg_close(&c);
    if (rc == 0) {
        if (from == to) {
            snprintf(msg, msg_size, "schema is at version %d; nothing to do", to);
        } else {
            snprintf(msg, msg_size, "schema migrated from version %d to %d", from, to);
        }
    }
    return rc;
}
