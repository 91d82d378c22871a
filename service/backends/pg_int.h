/*
 * pg_int.h — private to the PostgreSQL backend's files: one connection with
 * reconnect-on-next-use (pg_conn.c) and the SQL text builder (pg_sql.c).
 *
 * Why text and not parameters for writes: a write transaction's statements
 * are buffered and sent in one round trip with COMMIT (docs/storage.md), and
 * the simple query protocol runs several statements per message only without
 * parameters.  Values are quoted by pg_sql.c with standard_conforming_strings
 * on (set on every connection), so a quote is the only character to escape.
 */
#ifndef FRS_PG_INT_H
#define FRS_PG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* ---- pg_conn.c ------------------------------------------------------------ */

typedef struct pg_conn {
    PGconn *pg;        /* NULL or broken: reconnected on the next use */
    const char *url;   /* borrowed from the store */
    const char *setup; /* SQL run after every connect (session settings) */
    int64_t epoch_us;  /* pg_postmaster_start_time() of the server connected to */
} pg_conn;

/* Connects if not connected (or the connection broke): a bounded connect
 * (connect_timeout=2 unless the URL says otherwise), then the setup SQL.
 * 0, or -1 with a message. */
int frs_pg_ensure(pg_conn *c, char *err, size_t err_size);
void frs_pg_close(pg_conn *c);
/* Runs sql (simple protocol, several statements allowed) expecting `want`
 * from the last one; *out (may be NULL) receives that result, which the
 * caller PQclears.  0, or -1 with a message; a lost connection is dropped so
 * that the next frs_pg_ensure reconnects. */
int frs_pg_exec(pg_conn *c, const char *sql, ExecStatusType want, PGresult **out, char *err,
                size_t err_size);
/* Runs several statements (simple protocol) and returns the results of
 * the last `n` of them in out[0..n-1] (the caller PQclears them); every
 * statement must succeed.  0, or -1 with a message. */
int frs_pg_exec_tail(pg_conn *c, const char *sql, int n, PGresult **out, char *err,
                     size_t err_size);
/* The same with text parameters ($1...), one statement. */
int frs_pg_exec_params(pg_conn *c, const char *sql, int n, const char *const *values,
                       ExecStatusType want, PGresult **out, char *err, size_t err_size);
/* 1 when the last failure left the connection unusable (and it was dropped). */
int frs_pg_lost(const pg_conn *c);
/* A text cell as int64 (0 for NULL); -1 when it is not an integer. */
int frs_pg_cell_i64(const PGresult *r, int row, int col, int64_t *out);

/* ---- pg_sql.c ------------------------------------------------------------- */

typedef struct frs_sqlbuf {
    char *text;
    size_t len;
    size_t cap;
    int oom; /* an append failed: the text is incomplete */
} frs_sqlbuf;

void frs_sql_raw(frs_sqlbuf *b, const char *s);
/* 'text' with quotes doubled, or NULL. */
void frs_sql_lit(frs_sqlbuf *b, const char *s);
/* An id: NULL when "". */
void frs_sql_id(frs_sqlbuf *b, const char *id);
void frs_sql_int(frs_sqlbuf *b, int64_t v);
/* Thousandths as an exact decimal: 2500 -> 2.500. */
void frs_sql_qty(frs_sqlbuf *b, int64_t milli);
/* ms as timestamptz; NULL for FR_TIME_NULL and FR_TIME_INF. */
void frs_sql_ts(frs_sqlbuf *b, int64_t ms);
/* doc as json, then frees it; NULL doc (out of memory) marks oom. */
void frs_sql_jsonb(frs_sqlbuf *b, char *doc);
void frs_sql_reset(frs_sqlbuf *b);
void frs_sql_free(frs_sqlbuf *b);

#endif /* FRS_PG_INT_H */

/* ---- the store (postgres.c: transactions, writes, sync; pg_read.c) -------- */

#include <pthread.h>

#include "fleetres_store.h"
#include "postgres.h"

typedef struct pg_sync_conn {
    pg_conn conn;
    int busy;
} pg_sync_conn;

typedef struct pg_store {
    fr_store base; /* first: a pg_store * is a fr_store * */
    char *url;
    frs_pg_options opt;
    pg_conn main;       /* used by the engine, one thread at a time */
    int main_was_lost;  /* for logging the recovery once */
    int in_txn;
    int64_t begin_seq;  /* head seq reported by begin */
    int64_t last_seq;   /* inside a transaction: the last appended seq */
    frs_sqlbuf batch;   /* the transaction's writes, sent with COMMIT */
    /* Catch-up prefetch: when another instance wrote recently, begin also
     * reads the events after known_seq in the same round trip, and
     * events_after(known_seq) inside that transaction is served from it. */
    int64_t known_seq;      /* the head the engine last caught up to (a hint) */
    int others_active;      /* the last begin found another writer's events */
    PGresult *prefetched;   /* events after prefetched_after; in_txn only */
    int64_t prefetched_after;
    /* Group commit, guarded by lock. */
    pthread_mutex_t lock;
    pthread_cond_t flushed;
    pg_sync_conn *sync;
    int sync_count;
    uint64_t committed_gen; /* commits (and reads of others' commits) so far */
    uint64_t synced_gen;    /* of those, the ones known to be flushed ... */
    int64_t synced_epoch;   /* ... by a flush on this server incarnation */
    int64_t noted_epoch;    /* the server incarnation of the last noted commit */
    char message[512];      /* the last failure */
} pg_store;

/* Uses the main connection: connects if needed (logging loss/recovery). */
int frs_pg_main_ready(pg_store *s);
/* Runs one query (n > 0: with text parameters) on the main connection,
 * connecting first if needed.  Outside a transaction, a query that failed
 * because the connection had died (the server restarted since its last use)
 * is retried once on a new connection: nothing of it can have run.  FR_OK,
 * or FR_ESTORE with the message in s->message. */
int frs_pg_main_exec(pg_store *s, const char *sql, int n, const char *const *values,
                     ExecStatusType want, PGresult **out);
/* Something was read or written that a later sync must cover. */
void frs_pg_note_commit(pg_store *s);

int frs_pg_load(fr_store *store, const fr_store_loader *loader, int64_t *head_seq);
/* Forgets the prefetched events (end of the transaction). */
void frs_pg_drop_prefetch(pg_store *s);
/* The columns events_after reads, in its order. */
#define FRS_PG_EVENT_COLUMNS                                                        \
    "seq, id, type, entity_type, entity_id, fleet_id, occurred_at_ms, actor, data"
int frs_pg_events_after(fr_store *store, int64_t after, size_t limit, const char *fleet_id,
                        fr_event **items, size_t *count);
int frs_pg_get_idempotency(fr_store *store, const char *scope, const char *key, char **doc);
