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
    frs_pg_batch_reset(&s->batch);
    *head_seq = seq;
    return FR_OK;
}

/* ---- savepoints and pending idempotency records ------------------------------ */

static void idem_truncate(pg_store *s, size_t len)
{
    while (s->idem_len > len) {
        pg_idem_rec *r = &s->idem[--s->idem_len];
        free(r->scope);
        free(r->key);
        free(r->doc);
    }
}

static int idem_remember(pg_store *s, const char *scope, const char *key, const char *doc)
{
    if (s->idem_len == s->idem_cap) {
        size_t cap = s->idem_cap == 0 ? 16 : s->idem_cap * 2;
        pg_idem_rec *items = realloc(s->idem, cap * sizeof *items);
        if (items == NULL) {
            return FR_ENOMEM;
        }
        s->idem = items;
        s->idem_cap = cap;
    }
    pg_idem_rec r = {strdup(scope), strdup(key), strdup(doc)};
    if (r.scope == NULL || r.key == NULL || r.doc == NULL) {
        free(r.scope);
        free(r.key);
        free(r.doc);
        return FR_ENOMEM;
    }
    s->idem[s->idem_len++] = r;
    return FR_OK;
}

int frs_pg_pending_idempotency(pg_store *s, const char *scope, const char *key, char **doc)
{
    for (size_t i = s->idem_len; i > 0; i--) {
        const pg_idem_rec *r = &s->idem[i - 1];
        if (strcmp(r->scope, scope) == 0 && strcmp(r->key, key) == 0) {
            *doc = strdup(r->doc);
            return *doc != NULL ? FR_OK : FR_ENOMEM;
        }
    }
    return FR_ENOTFOUND;
}

static int pg_savepoint(fr_store *store)
{
    pg_store *s = pg_of(store);
    assert(s->in_txn);
    s->mark = frs_pg_batch_here(&s->batch);
    s->mark_seq = s->last_seq;
    s->mark_idem = s->idem_len;
    return FR_OK;
}

static void pg_rollback_to_savepoint(fr_store *store)
{
    pg_store *s = pg_of(store);
    assert(s->in_txn);
    frs_pg_batch_rewind(&s->batch, s->mark);
    s->last_seq = s->mark_seq;
    idem_truncate(s, s->mark_idem);
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
    frs_pg_batch_reset(&s->batch);
    idem_truncate(s, 0);
    frs_pg_drop_prefetch(s);
    if (s->main.pg != NULL) {
        char ignored[128];
        (void)frs_pg_exec(&s->main, "ROLLBACK", PGRES_COMMAND_OK, NULL, ignored, sizeof ignored);
    }
}

/* Prepares the write statements once per main connection (a new connection
 * after a restart has none; PREPARE outlives a rolled-back transaction). */
static int ensure_prepared(pg_store *s)
{
    if (s->main.prepared) {
        return 0;
    }
    if (frs_pg_exec(&s->main, s->prepare_sql, PGRES_COMMAND_OK, NULL, s->message,
                    sizeof s->message) != 0) {
        return -1;
    }
    s->main.prepared = 1;
    return 0;
}

static int pg_commit(fr_store *store)
{
    pg_store *s = pg_of(store);
    assert(s->in_txn);
    if (frs_pg_batch_oom(&s->batch)) {
        pg_rollback(store);
        return FR_ENOMEM;
    }
    int rc = s->main.pg == NULL ? -1 : ensure_prepared(s);
    if (rc == 0) {
        rc = frs_pg_batch_commit(s->main.pg, &s->batch,
                                 s->last_seq != s->begin_seq ? s->last_seq : -1, s->message,
                                 sizeof s->message);
        if (rc < 0) {
            frs_pg_close(&s->main); /* its state is unknown: reconnect on next use */
        }
    }
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
    frs_pg_batch_reset(&s->batch);
    idem_truncate(s, 0);
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
    return frs_pg_batch_oom(&s->batch) ? FR_ENOMEM : FR_OK;
}

static int pg_put_pool(fr_store *store, const fr_pool *p)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    frs_pg_batch *b = &s->batch;
    frs_pg_batch_start(b, FRS_PG_PUT_POOL);
    frs_pg_arg_id(b, p->id), frs_pg_arg_text(b, p->fleet_id), frs_pg_arg_text(b, p->name);
    frs_pg_arg_text(b, p->resource_type), frs_pg_arg_text(b, p->site);
    frs_pg_arg_text(b, fr_pool_status_name(p->status)), frs_pg_arg_bool(b, p->deleted);
    frs_pg_arg_qty(b, p->total_capacity_milli), frs_pg_arg_int(b, p->version);
    frs_pg_arg_ts(b, p->created_at_ms), frs_pg_arg_ts(b, p->updated_at_ms);
    frs_pg_arg_doc(b, fr__pool_to_json_text(p));
    return end_statement(s);
}

static int pg_put_allocation(fr_store *store, const fr_allocation *a)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    frs_pg_batch *b = &s->batch;
    frs_pg_batch_start(b, FRS_PG_PUT_ALLOCATION);
    frs_pg_arg_id(b, a->id), frs_pg_arg_text(b, a->fleet_id), frs_pg_arg_id(b, a->pool_id);
    frs_pg_arg_text(b, a->vehicle_id), frs_pg_arg_id(b, a->request_id);
    frs_pg_arg_text(b, fr_allocation_status_name(a->status));
    frs_pg_arg_qty(b, a->quantity_milli), frs_pg_arg_ts(b, a->start_ms);
    frs_pg_arg_ts(b, a->end_ms), frs_pg_arg_int(b, a->version);
    frs_pg_arg_ts(b, a->created_at_ms), frs_pg_arg_ts(b, a->updated_at_ms);
    frs_pg_arg_doc(b, fr__allocation_to_json_text(a));
    return end_statement(s);
}

static int pg_put_request(fr_store *store, const fr_request *r)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    frs_pg_batch *b = &s->batch;
    frs_pg_batch_start(b, FRS_PG_PUT_REQUEST);
    frs_pg_arg_id(b, r->id), frs_pg_arg_text(b, r->fleet_id);
    frs_pg_arg_text(b, r->resource_type), frs_pg_arg_text(b, fr_request_status_name(r->status));
    frs_pg_arg_int(b, r->priority), frs_pg_arg_qty(b, r->quantity_milli);
    frs_pg_arg_id(b, r->allocation_id), frs_pg_arg_int(b, r->version);
    frs_pg_arg_ts(b, r->created_at_ms), frs_pg_arg_ts(b, r->updated_at_ms);
    frs_pg_arg_doc(b, fr__request_to_json_text(r));
    return end_statement(s);
}

static int pg_put_conflict(fr_store *store, const fr_conflict *c)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    frs_pg_batch *b = &s->batch;
    frs_pg_batch_start(b, FRS_PG_PUT_CONFLICT);
    frs_pg_arg_id(b, c->id), frs_pg_arg_text(b, c->fleet_id), frs_pg_arg_id(b, c->pool_id);
    frs_pg_arg_text(b, fr_conflict_type_name(c->type));
    frs_pg_arg_text(b, fr_conflict_status_name(c->status)), frs_pg_arg_int(b, c->version);
    frs_pg_arg_ts(b, c->created_at_ms), frs_pg_arg_ts(b, c->updated_at_ms);
    frs_pg_arg_doc(b, fr__conflict_to_json_text(c));
    return end_statement(s);
}

static int pg_put_sample(fr_store *store, const fr_sample *x)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    frs_pg_batch *b = &s->batch;
    frs_pg_batch_start(b, FRS_PG_PUT_SAMPLE);
    frs_pg_arg_id(b, x->id), frs_pg_arg_id(b, x->pool_id), frs_pg_arg_text(b, x->fleet_id);
    frs_pg_arg_ts(b, x->timestamp_ms), frs_pg_arg_qty(b, x->used_milli);
    frs_pg_arg_qty(b, x->capacity_milli), frs_pg_arg_text(b, x->source);
    frs_pg_arg_ts(b, x->created_at_ms), frs_pg_arg_doc(b, fr__sample_to_json_text(x));
    return end_statement(s);
}

static int pg_put_plan(fr_store *store, const fr_plan *plan)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    frs_pg_batch *b = &s->batch;
    frs_pg_batch_start(b, FRS_PG_PUT_PLAN);
    frs_pg_arg_id(b, plan->id), frs_pg_arg_text(b, plan->fleet_id);
    frs_pg_arg_text(b, fr_plan_status_name(plan->status)), frs_pg_arg_int(b, plan->version);
    frs_pg_arg_ts(b, plan->created_at_ms), frs_pg_arg_ts(b, plan->updated_at_ms);
    frs_pg_arg_doc(b, fr__plan_to_json_text(plan));
    return end_statement(s);
}

static int pg_put_idempotency(fr_store *store, const char *scope, const char *key,
                              const char *doc, int64_t created_at_ms)
{
    pg_store *s = pg_of(store);
    if (check_txn(s) != FR_OK) {
        return FR_ESTORE;
    }
    frs_pg_batch *b = &s->batch;
    frs_pg_batch_start(b, FRS_PG_PUT_IDEMPOTENCY);
    frs_pg_arg_text(b, scope), frs_pg_arg_text(b, key), frs_pg_arg_ts(b, created_at_ms);
    frs_pg_arg_text(b, doc);
    int rc = end_statement(s);
    return rc == FR_OK ? idem_remember(s, scope, key, doc) : rc;
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
    frs_pg_batch *b = &s->batch;
    frs_pg_batch_start(b, FRS_PG_APPEND_EVENT);
    frs_pg_arg_int(b, e->seq), frs_pg_arg_text(b, e->id), frs_pg_arg_text(b, e->type);
    frs_pg_arg_text(b, fr_entity_type_name(e->entity_type)), frs_pg_arg_id(b, e->entity_id);
    frs_pg_arg_text(b, e->fleet_id), frs_pg_arg_int(b, e->occurred_at_ms);
    frs_pg_arg_text(b, e->actor), frs_pg_arg_text(b, e->data_json);
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
    frs_pg_batch_free(&s->batch);
    free(s->prepare_sql);
    idem_truncate(s, 0);
    free(s->idem);
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
    .savepoint = pg_savepoint,
    .rollback_to_savepoint = pg_rollback_to_savepoint,
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
    s->prepare_sql = frs_pg_prepare_text();
    s->sync = calloc((size_t)s->sync_count, sizeof *s->sync);
    if (s->url == NULL || s->sync == NULL || s->prepare_sql == NULL ||
        pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s->prepare_sql);
        free(s->url);
        free(s->sync);
        free(s);
        return NULL;
    }
    if (pthread_cond_init(&s->flushed, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        free(s->prepare_sql);
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
