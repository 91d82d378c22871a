/*
 * pg_int.h — private to the PostgreSQL backend's files: one connection with
 * reconnect-on-next-use (pg_conn.c) and the buffered writes of a transaction
 * (pg_batch.c: executions of prepared statements, sent in one pipeline with
 * COMMIT).
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
    int prepared;      /* the store's statements are prepared on this connection */
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

/* ---- pg_batch.c ----------------------------------------------------------- */

/* A growing text; appends never fail loudly: the first failed allocation
 * sets oom. */
typedef struct frs_sqlbuf {
    char *text;
    size_t len;
    size_t cap;
    int oom;
} frs_sqlbuf;

void frs_sql_raw(frs_sqlbuf *b, const char *s);
void frs_sql_free(frs_sqlbuf *b);

/* The prepared statements a transaction's writes execute. */
enum {
    FRS_PG_PUT_POOL,
    FRS_PG_PUT_ALLOCATION,
    FRS_PG_PUT_REQUEST,
    FRS_PG_PUT_CONFLICT,
    FRS_PG_PUT_SAMPLE,
    FRS_PG_PUT_PLAN,
    FRS_PG_PUT_IDEMPOTENCY,
    FRS_PG_APPEND_EVENT,
    FRS_PG_STMT_COUNT
};

typedef struct frs_pg_stmt_ref {
    int kind;         /* FRS_PG_* */
    size_t first_arg; /* its parameters: args[first_arg ..] up to the next one's */
} frs_pg_stmt_ref;

/* The buffered writes: statements and their text parameters, each a C
 * string in one arena (an offset; SIZE_MAX is NULL). */
typedef struct frs_pg_batch {
    frs_sqlbuf text;
    size_t *args;
    size_t args_len, args_cap;
    frs_pg_stmt_ref *stmts;
    size_t stmts_len, stmts_cap;
    int oom;
} frs_pg_batch;

typedef struct frs_pg_batch_mark {
    size_t stmts, args, text;
} frs_pg_batch_mark;

/* SQL that prepares every statement (and fr_set_head) on a connection:
 * malloc'd, or NULL when out of memory. */
char *frs_pg_prepare_text(void);
/* Starts a statement; its parameters follow, in the order of its columns. */
void frs_pg_batch_start(frs_pg_batch *b, int kind);
void frs_pg_arg_text(frs_pg_batch *b, const char *s); /* NULL: SQL NULL */
void frs_pg_arg_id(frs_pg_batch *b, const char *id);  /* "" or NULL: SQL NULL */
void frs_pg_arg_int(frs_pg_batch *b, int64_t v);
void frs_pg_arg_qty(frs_pg_batch *b, int64_t milli); /* thousandths: 2500 -> 2.500 */
void frs_pg_arg_ts(frs_pg_batch *b, int64_t ms);     /* NULL for FR_TIME_NULL/INF */
void frs_pg_arg_bool(frs_pg_batch *b, int v);
void frs_pg_arg_doc(frs_pg_batch *b, char *doc); /* frees doc; NULL (no memory) sets oom */
int frs_pg_batch_oom(const frs_pg_batch *b);
frs_pg_batch_mark frs_pg_batch_here(const frs_pg_batch *b);
void frs_pg_batch_rewind(frs_pg_batch *b, frs_pg_batch_mark m);
void frs_pg_batch_reset(frs_pg_batch *b);
void frs_pg_batch_free(frs_pg_batch *b);
/* Inside the open transaction on pg (statements prepared): executes every
 * buffered statement, then fr_set_head(head_seq) unless head_seq < 0, then
 * COMMIT, in one pipeline.  0: committed.  1: a statement failed, the
 * transaction is aborted (roll it back).  -1: the connection failed or its
 * state is unknown (drop it).  A message in err unless 0. */
int frs_pg_batch_commit(PGconn *pg, const frs_pg_batch *b, int64_t head_seq, char *err,
                        size_t err_size);

/* ---- the store (postgres.c: transactions, writes, sync; pg_read.c) -------- */

#include <pthread.h>

#include "fleetres_store.h"
#include "postgres.h"

typedef struct pg_sync_conn {
    pg_conn conn;
    int busy;
} pg_sync_conn;

typedef struct pg_idem_rec {
    char *scope, *key, *doc;
} pg_idem_rec;

typedef struct pg_store {
    fr_store base; /* first: a pg_store * is a fr_store * */
    char *url;
    frs_pg_options opt;
    pg_conn main;       /* used by the engine, one thread at a time */
    int main_was_lost;  /* for logging the recovery once */
    int in_txn;
    int64_t begin_seq;  /* head seq reported by begin */
    int64_t last_seq;   /* inside a transaction: the last appended seq */
    frs_pg_batch batch; /* the transaction's writes, sent with COMMIT */
    char *prepare_sql;  /* frs_pg_prepare_text(), run once per main connection */
    /* Savepoint (the engine runs several calls in one transaction): where
     * the batch, the seq and the idempotency records stood. */
    frs_pg_batch_mark mark;
    int64_t mark_seq;
    size_t mark_idem;
    /* Idempotency records put in the open transaction, so that
     * get_idempotency sees them before they are sent (newest last). */
    struct pg_idem_rec *idem;
    size_t idem_len, idem_cap;
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
/* FR_OK and a copy when the open transaction put (scope, key); FR_ENOTFOUND;
 * FR_ENOMEM.  (postgres.c) */
int frs_pg_pending_idempotency(pg_store *s, const char *scope, const char *key, char **doc);

#endif /* FRS_PG_INT_H */
