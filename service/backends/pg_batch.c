/*
 * pg_batch.c — the writes of a PostgreSQL transaction, buffered until commit
 * and then sent as prepared statements in one pipeline.
 *
 * Why: when the writes were SQL text, PostgreSQL parsed and planned every
 * INSERT ... ON CONFLICT anew (planning the allocation upsert alone took
 * ~0.15 ms, more than executing it) and started an executor per row; that
 * was most of a booking's CPU on the database.  Now each kind of write is one
 * statement, prepared once per connection (generic plan), whose parameters
 * are arrays holding every row of that kind in the transaction —
 * INSERT ... SELECT FROM unnest($1, $2, ...) — so a group of calls costs one
 * execution per table, and the whole transaction (every kind, the head
 * update, COMMIT) is still one round trip.
 *
 * Values travel as text parameters (array literals), never spliced into SQL;
 * times as bigint milliseconds that the statement turns into timestamptz as
 * fleet_resources.ms_to_ts does.  An upsert keeps the last put of each key
 * (one statement may not update a row twice; the last put is the state at
 * commit).  Appends never fail loudly: the first failed allocation sets oom
 * and the put reports FR_ENOMEM.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"
#include "pg_int.h"

/* What each statement writes.  `types` lists the parameters; "ts" is a
 * bigint of milliseconds stored as timestamptz.  `conflict`: the key of an
 * upsert (every other column is updated), or NULL for a plain INSERT. */
static const struct stmt_def {
    const char *name;
    const char *table;
    const char *columns;
    const char *types;
    const char *conflict;
} STMTS[FRS_PG_STMT_COUNT] = {
    [FRS_PG_PUT_POOL] = {"fr_put_pool", "resource_pools",
                         "id, fleet_id, name, resource_type, site, status, deleted,"
                         " total_capacity, version, created_at, updated_at, doc",
                         "text, text, text, text, text, text, boolean, numeric, bigint, ts, ts,"
                         " json",
                         "id"},
    [FRS_PG_PUT_ALLOCATION] = {"fr_put_allocation", "resource_allocations",
                               "id, fleet_id, pool_id, vehicle_id, request_id, status, quantity,"
                               " start_at, end_at, version, created_at, updated_at, doc",
                               "text, text, text, text, text, text, numeric, ts, ts, bigint, ts,"
                               " ts, json",
                               "id"},
    [FRS_PG_PUT_REQUEST] = {"fr_put_request", "resource_requests",
                            "id, fleet_id, resource_type, status, priority, quantity,"
                            " allocation_id, version, created_at, updated_at, doc",
                            "text, text, text, text, integer, numeric, text, bigint, ts, ts, json",
                            "id"},
    [FRS_PG_PUT_CONFLICT] = {"fr_put_conflict", "resource_conflicts",
                             "id, fleet_id, pool_id, type, status, version, created_at,"
                             " updated_at, doc",
                             "text, text, text, text, text, bigint, ts, ts, json", "id"},
    [FRS_PG_PUT_SAMPLE] = {"fr_put_sample", "resource_utilization",
                           "id, pool_id, fleet_id, sampled_at, used, capacity, source,"
                           " created_at, doc",
                           "text, text, text, ts, numeric, numeric, text, ts, json", "id"},
    [FRS_PG_PUT_PLAN] = {"fr_put_plan", "resource_planning",
                         "id, fleet_id, status, version, created_at, updated_at, doc",
                         "text, text, text, bigint, ts, ts, json", "id"},
    [FRS_PG_PUT_IDEMPOTENCY] = {"fr_put_idempotency", "idempotency_keys",
                                "scope, key, created_at, doc", "text, text, ts, text",
                                "scope, key"},
    [FRS_PG_APPEND_EVENT] = {"fr_append_event", "events",
                             "seq, id, type, entity_type, entity_id, fleet_id, occurred_at_ms,"
                             " actor, data",
                             "bigint, text, text, text, text, text, bigint, text, text", NULL},
};

/* The most parameters of a statement (allocations: 13). */
#define MAX_PARAMS 16

/* ---- text ------------------------------------------------------------------- */

static int reserve(frs_sqlbuf *b, size_t more)
{
    if (b->oom) {
        return 0;
    }
    if (b->len + more + 1 <= b->cap) {
        return 1;
    }
    size_t cap = b->cap == 0 ? 1024 : b->cap;
    while (cap < b->len + more + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return 0;
        }
        cap *= 2;
    }
    char *text = realloc(b->text, cap);
    if (text == NULL) {
        b->oom = 1;
        return 0;
    }
    b->text = text;
    b->cap = cap;
    return 1;
}

void frs_sql_raw(frs_sqlbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (reserve(b, n)) {
        memcpy(b->text + b->len, s, n + 1);
        b->len += n;
    }
}

void frs_sql_free(frs_sqlbuf *b)
{
    free(b->text);
    memset(b, 0, sizeof *b);
}

/* ---- the PREPARE text ------------------------------------------------------ */

/* The next comma-separated item of *list (spaces trimmed) into buf. */
static int next_item(const char **list, char *buf, size_t size)
{
    const char *p = *list;
    while (*p == ' ' || *p == ',') {
        p++;
    }
    size_t n = strcspn(p, ",");
    while (n > 0 && p[n - 1] == ' ') {
        n--;
    }
    if (n == 0 || n >= size) {
        return 0;
    }
    memcpy(buf, p, n);
    buf[n] = 0;
    *list = p + n;
    return 1;
}

static int in_list(const char *list, const char *name)
{
    char item[64];
    while (next_item(&list, item, sizeof item)) {
        if (strcmp(item, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* PREPARE name (type[], ...) AS INSERT INTO table (columns)
 *     SELECT u.c1, ..., <ms as timestamptz> FROM unnest($1, ...) AS u(c1, ...)
 *     [ON CONFLICT (key) DO UPDATE SET column = excluded.column, ...]
 * One execution writes every row of its kind in the transaction. */
static void prepare_one(frs_sqlbuf *b, const struct stmt_def *d)
{
    char item[64];
    char arg[96];
    frs_sql_raw(b, "PREPARE ");
    frs_sql_raw(b, d->name);
    frs_sql_raw(b, " (");
    const char *types = d->types;
    for (int i = 0; next_item(&types, item, sizeof item); i++) {
        frs_sql_raw(b, i > 0 ? ", " : "");
        frs_sql_raw(b, strcmp(item, "ts") == 0 ? "bigint" : item);
        frs_sql_raw(b, "[]");
    }
    frs_sql_raw(b, ") AS INSERT INTO fleet_resources.");
    frs_sql_raw(b, d->table);
    frs_sql_raw(b, " (");
    frs_sql_raw(b, d->columns);
    frs_sql_raw(b, ") SELECT ");
    types = d->types;
    int n = 0;
    for (int i = 1; next_item(&types, item, sizeof item); i++, n++) {
        /* ms_to_ts's body, written out: the function itself ran through
         * fmgr_sql (its body parsed per call) in a generic plan. */
        snprintf(arg, sizeof arg,
                 strcmp(item, "ts") == 0 ? "timestamptz 'epoch' + u.c%d * interval '1 millisecond'"
                                         : "u.c%d",
                 i);
        frs_sql_raw(b, i > 1 ? ", " : "");
        frs_sql_raw(b, arg);
    }
    frs_sql_raw(b, " FROM unnest(");
    for (int i = 1; i <= n; i++) {
        snprintf(arg, sizeof arg, "%s$%d", i > 1 ? ", " : "", i);
        frs_sql_raw(b, arg);
    }
    frs_sql_raw(b, ") AS u(");
    for (int i = 1; i <= n; i++) {
        snprintf(arg, sizeof arg, "%sc%d", i > 1 ? ", " : "", i);
        frs_sql_raw(b, arg);
    }
    frs_sql_raw(b, ")");
    if (d->conflict != NULL) {
        frs_sql_raw(b, " ON CONFLICT (");
        frs_sql_raw(b, d->conflict);
        frs_sql_raw(b, ") DO UPDATE SET ");
        const char *columns = d->columns;
        int first = 1;
        while (next_item(&columns, item, sizeof item)) {
            if (in_list(d->conflict, item)) {
                continue;
            }
            frs_sql_raw(b, first ? "" : ", ");
            frs_sql_raw(b, item);
            frs_sql_raw(b, " = excluded.");
            frs_sql_raw(b, item);
            first = 0;
        }
    }
    frs_sql_raw(b, "; ");
}

char *frs_pg_prepare_text(void)
{
    frs_sqlbuf b = {0};
    frs_sql_raw(&b, "SET plan_cache_mode = force_generic_plan; ");
    for (int i = 0; i < FRS_PG_STMT_COUNT; i++) {
        if (STMTS[i].name != NULL) {
            prepare_one(&b, &STMTS[i]);
        }
    }
    frs_sql_raw(&b, "PREPARE fr_set_head (bigint) AS"
                    " UPDATE fleet_resources.head SET seq = $1 WHERE id = 1");
    if (b.oom) {
        frs_sql_free(&b);
        return NULL;
    }
    return b.text;
}

/* ---- buffering -------------------------------------------------------------- */

static int grow(void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return 1;
    }
    size_t n = *cap == 0 ? 64 : *cap;
    while (n < need) {
        n *= 2;
    }
    void *p = realloc(*items, n * size);
    if (p == NULL) {
        return 0;
    }
    *items = p;
    *cap = n;
    return 1;
}

void frs_pg_batch_start(frs_pg_batch *b, int kind)
{
    if (!grow((void **)&b->stmts, &b->stmts_cap, b->stmts_len + 1, sizeof *b->stmts)) {
        b->oom = 1;
        return;
    }
    b->stmts[b->stmts_len++] = (frs_pg_stmt_ref){kind, b->args_len};
}

void frs_pg_arg_text(frs_pg_batch *b, const char *s)
{
    if (!grow((void **)&b->args, &b->args_cap, b->args_len + 1, sizeof *b->args)) {
        b->oom = 1;
        return;
    }
    if (s == NULL) {
        b->args[b->args_len++] = SIZE_MAX;
        return;
    }
    size_t at = b->text.len;
    frs_sql_raw(&b->text, s); /* leaves its terminating NUL at text.len */
    if (b->text.oom) {
        b->oom = 1;
        return;
    }
    b->text.len++; /* keep the NUL: each value is a C string in the arena */
    b->args[b->args_len++] = at;
}

void frs_pg_arg_id(frs_pg_batch *b, const char *id)
{
    frs_pg_arg_text(b, id != NULL && id[0] != 0 ? id : NULL);
}

void frs_pg_arg_int(frs_pg_batch *b, int64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v);
    frs_pg_arg_text(b, text);
}

void frs_pg_arg_qty(frs_pg_batch *b, int64_t milli)
{
    char text[48];
    uint64_t mag = milli < 0 ? (uint64_t)0 - (uint64_t)milli : (uint64_t)milli;
    snprintf(text, sizeof text, "%s%" PRIu64 ".%03u", milli < 0 ? "-" : "", mag / 1000,
             (unsigned)(mag % 1000));
    frs_pg_arg_text(b, text);
}

void frs_pg_arg_ts(frs_pg_batch *b, int64_t ms)
{
    if (ms == FR_TIME_NULL || ms == FR_TIME_INF) {
        frs_pg_arg_text(b, NULL);
        return;
    }
    frs_pg_arg_int(b, ms);
}

void frs_pg_arg_bool(frs_pg_batch *b, int v)
{
    frs_pg_arg_text(b, v ? "true" : "false");
}

void frs_pg_arg_doc(frs_pg_batch *b, char *doc)
{
    if (doc == NULL) {
        b->oom = 1;
        return;
    }
    frs_pg_arg_text(b, doc);
    free(doc);
}

int frs_pg_batch_oom(const frs_pg_batch *b)
{
    return b->oom;
}

frs_pg_batch_mark frs_pg_batch_here(const frs_pg_batch *b)
{
    return (frs_pg_batch_mark){b->stmts_len, b->args_len, b->text.len};
}

void frs_pg_batch_rewind(frs_pg_batch *b, frs_pg_batch_mark m)
{
    b->stmts_len = m.stmts;
    b->args_len = m.args;
    b->text.len = m.text;
    b->text.oom = 0;
    b->oom = 0; /* what failed to fit went with the rest */
}

void frs_pg_batch_reset(frs_pg_batch *b)
{
    frs_pg_batch_rewind(b, (frs_pg_batch_mark){0, 0, 0});
}

void frs_pg_batch_free(frs_pg_batch *b)
{
    frs_sql_free(&b->text);
    free(b->args);
    free(b->stmts);
    memset(b, 0, sizeof *b);
}

/* ---- sending ---------------------------------------------------------------- */

static void set_err(char *err, size_t size, const char *detail)
{
    char clean[400];
    snprintf(clean, sizeof clean, "%s", detail != NULL ? detail : "");
    size_t n = strlen(clean);
    while (n > 0 && (clean[n - 1] == '\n' || clean[n - 1] == ' ')) {
        clean[--n] = 0;
    }
    snprintf(err, size, "postgres: commit: %s", clean);
}

/* Reads the results of `n` queued queries; the first failure is kept in err.
 * After a failure the server skips the rest (PGRES_PIPELINE_ABORTED). */
static int read_results(PGconn *pg, size_t n, int *ok, char *err, size_t err_size)
{
    for (size_t i = 0; i < n; i++) {
        PGresult *r = PQgetResult(pg);
        if (r == NULL) {
            if (*ok) {
                set_err(err, err_size, PQerrorMessage(pg));
            }
            *ok = 0;
            return -1; /* the connection failed: nothing more will come */
        }
        ExecStatusType st = PQresultStatus(r);
        if (*ok && st != PGRES_COMMAND_OK) {
            set_err(err, err_size,
                    st == PGRES_PIPELINE_ABORTED ? "an earlier statement failed"
                                                 : PQresultErrorMessage(r));
            *ok = 0;
        }
        PQclear(r);
        PGresult *end = PQgetResult(pg); /* NULL: the end of this query's results */
        if (end != NULL) {
            PQclear(end);
            if (*ok) {
                set_err(err, err_size, "unexpected extra result");
            }
            *ok = 0;
        }
    }
    return 0;
}

/* ---- one statement per kind: rows as arrays -------------------------------- */

static size_t args_of(const frs_pg_batch *b, size_t i)
{
    size_t end = i + 1 < b->stmts_len ? b->stmts[i + 1].first_arg : b->args_len;
    return end - b->stmts[i].first_arg;
}

static const char *arg_at(const frs_pg_batch *b, size_t i, size_t k)
{
    size_t at = b->args[b->stmts[i].first_arg + k];
    return at == SIZE_MAX ? NULL : b->text.text + at;
}

/* The key of an upsert row: its first argument, or its first two when the
 * conflict target has two columns (idempotency: scope, key). */
static int key_parts(int kind)
{
    return STMTS[kind].conflict != NULL && strchr(STMTS[kind].conflict, ',') ? 2 : 1;
}

static int same_key(const frs_pg_batch *b, int kind, size_t x, size_t y)
{
    int parts = key_parts(kind);
    for (int k = 0; k < parts; k++) {
        const char *p = arg_at(b, x, (size_t)k), *q = arg_at(b, y, (size_t)k);
        if (p == NULL || q == NULL ? p != q : strcmp(p, q) != 0) {
            return 0;
        }
    }
    return 1;
}

static uint64_t key_hash(const frs_pg_batch *b, int kind, size_t i)
{
    int parts = key_parts(kind);
    uint64_t h = UINT64_C(1469598103934665603);
    for (int k = 0; k < parts; k++) {
        const char *p = arg_at(b, i, (size_t)k);
        for (; p != NULL && *p != 0; p++) {
            h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
        }
        h = (h ^ 0x1f) * UINT64_C(1099511628211);
    }
    return h;
}

/* rows[0..n) are the statements of one upsert kind in order; keeps only the
 * last of each key (one INSERT ... ON CONFLICT may not touch a row twice;
 * the last put is the entity's state at commit).  Returns the new n. */
static size_t keep_last_per_key(const frs_pg_batch *b, int kind, size_t *rows, size_t n,
                                size_t *slots, size_t nslots)
{
    for (size_t i = 0; i < nslots; i++) {
        slots[i] = SIZE_MAX;
    }
    size_t kept = 0;
    for (size_t r = n; r > 0; r--) {
        size_t row = rows[r - 1];
        size_t h = (size_t)key_hash(b, kind, row) & (nslots - 1);
        int seen = 0;
        while (slots[h] != SIZE_MAX) {
            if (same_key(b, kind, slots[h], row)) {
                seen = 1;
                break;
            }
            h = (h + 1) & (nslots - 1);
        }
        if (!seen) {
            slots[h] = row;
            rows[n - 1 - kept++] = row; /* fills from the back, in reverse */
        }
    }
    memmove(rows, rows + (n - kept), kept * sizeof *rows);
    /* rows now holds the kept ones newest first; order does not matter. */
    return kept;
}

/* One array element: NULL, or "text" with \ and " escaped. */
static void array_element(frs_sqlbuf *out, const char *v)
{
    if (v == NULL) {
        frs_sql_raw(out, "NULL");
        return;
    }
    size_t extra = 2;
    for (const char *p = v; *p != 0; p++) {
        extra += *p == '"' || *p == '\\';
    }
    size_t n = strlen(v);
    if (!reserve(out, n + extra)) {
        return;
    }
    char *w = out->text + out->len;
    *w++ = '"';
    for (const char *p = v; *p != 0; p++) {
        if (*p == '"' || *p == '\\') {
            *w++ = '\\';
        }
        *w++ = *p;
    }
    *w++ = '"';
    *w = 0;
    out->len = (size_t)(w - out->text);
}

/* Sends the statement of `kind` with rows[0..n) as its array parameters. */
static int send_kind(PGconn *pg, const frs_pg_batch *b, int kind, const size_t *rows, size_t n,
                     frs_sqlbuf *arrays, char *err, size_t err_size)
{
    size_t ncols = args_of(b, rows[0]);
    if (ncols > MAX_PARAMS) {
        set_err(err, err_size, "a statement with too many values");
        return 0;
    }
    size_t offsets[MAX_PARAMS];
    arrays->len = 0;
    for (size_t c = 0; c < ncols; c++) {
        offsets[c] = arrays->len;
        frs_sql_raw(arrays, "{");
        for (size_t r = 0; r < n; r++) {
            if (args_of(b, rows[r]) != ncols) {
                set_err(err, err_size, "rows of one statement differ in length");
                return 0;
            }
            if (r > 0) {
                frs_sql_raw(arrays, ",");
            }
            array_element(arrays, arg_at(b, rows[r], c));
        }
        frs_sql_raw(arrays, "}");
        arrays->len++; /* keep the NUL: each array is a C string */
        if (arrays->oom) {
            set_err(err, err_size, "out of memory");
            return 0;
        }
    }
    const char *values[MAX_PARAMS];
    for (size_t c = 0; c < ncols; c++) {
        values[c] = arrays->text + offsets[c];
    }
    if (PQsendQueryPrepared(pg, STMTS[kind].name, (int)ncols, values, NULL, NULL, 0) != 1) {
        set_err(err, err_size, PQerrorMessage(pg));
        return -1;
    }
    return 1;
}

int frs_pg_batch_commit(PGconn *pg, const frs_pg_batch *b, int64_t head_seq, char *err,
                        size_t err_size)
{
    /* Scratch: the rows of one kind, a hash table for their keys, and the
     * array texts. */
    size_t nslots = 16;
    while (nslots < 2 * b->stmts_len) {
        nslots *= 2;
    }
    size_t *rows = malloc((b->stmts_len + 1) * sizeof *rows);
    size_t *slots = malloc(nslots * sizeof *slots);
    frs_sqlbuf arrays = {0};
    if (rows == NULL || slots == NULL) {
        free(rows);
        free(slots);
        set_err(err, err_size, "out of memory");
        return 1;
    }
    if (PQenterPipelineMode(pg) != 1) {
        free(rows);
        free(slots);
        set_err(err, err_size, PQerrorMessage(pg));
        return -1;
    }
    int ok = 1, alive = 1;
    size_t sent = 0;
    for (int kind = 0; ok && kind < FRS_PG_STMT_COUNT; kind++) {
        size_t n = 0;
        for (size_t i = 0; i < b->stmts_len; i++) {
            if (b->stmts[i].kind == kind) {
                rows[n++] = i;
            }
        }
        if (n == 0) {
            continue;
        }
        if (STMTS[kind].conflict != NULL) {
            n = keep_last_per_key(b, kind, rows, n, slots, nslots);
        }
        int rc = send_kind(pg, b, kind, rows, n, &arrays, err, err_size);
        ok = rc == 1;
        alive = rc >= 0;
        sent += rc == 1;
    }
    free(rows);
    free(slots);
    frs_sql_free(&arrays);
    if (alive && ok && head_seq >= 0) {
        char seq[32];
        snprintf(seq, sizeof seq, "%" PRId64, head_seq);
        const char *v[1] = {seq};
        alive = PQsendQueryPrepared(pg, "fr_set_head", 1, v, NULL, NULL, 0) == 1;
        sent += alive;
    }
    if (alive && ok) {
        alive = PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1;
        sent += alive;
    }
    alive = alive && PQpipelineSync(pg) == 1;
    if (alive) {
        alive = read_results(pg, sent, &ok, err, err_size) == 0;
    }
    if (alive) {
        PGresult *r = PQgetResult(pg);
        alive = r != NULL && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
    }
    if (!alive) {
        if (ok) {
            set_err(err, err_size, PQerrorMessage(pg));
        }
        return -1; /* the caller drops the connection: its state is unknown */
    }
    if (PQexitPipelineMode(pg) != 1) {
        set_err(err, err_size, PQerrorMessage(pg));
        return -1;
    }
    return ok ? 0 : 1;
}
