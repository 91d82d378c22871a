/*
 * pg_read.c — the PostgreSQL store's reads: load (one consistent snapshot of
 * every table and the head), the event log, idempotency records.
 *
 * load decodes each row's doc (jsonb, rendered as text by the server) with the
 * codec, exactly as the SQLite store does; the plain columns are only read
 * where the document does not carry the value (a pool's deleted flag).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "codec.h"
#include "pg_int.h"

enum { KIND_POOL, KIND_ALLOCATION, KIND_REQUEST, KIND_CONFLICT, KIND_SAMPLE, KIND_PLAN, KIND_COUNT };

static const char *const LOAD_SQL[KIND_COUNT] = {
    [KIND_POOL] = "SELECT id, doc, deleted FROM fleet_resources.resource_pools"
                  " ORDER BY created_at, id",
    [KIND_ALLOCATION] = "SELECT id, doc, false FROM fleet_resources.resource_allocations"
                        " ORDER BY created_at, id",
    [KIND_REQUEST] = "SELECT id, doc, false FROM fleet_resources.resource_requests"
                     " ORDER BY created_at, id",
    [KIND_CONFLICT] = "SELECT id, doc, false FROM fleet_resources.resource_conflicts"
                      " ORDER BY created_at, id",
    [KIND_SAMPLE] = "SELECT id, doc, false FROM fleet_resources.resource_utilization"
                    " ORDER BY created_at, id",
    [KIND_PLAN] = "SELECT id, doc, false FROM fleet_resources.resource_planning"
                  " ORDER BY created_at, id",
};

/* Decodes one document and hands it to its callback.  *decoded tells a
 * corrupt row (FR_EINVAL from the codec) from a callback's failure. */
static int deliver(int kind, const cJSON *json, int deleted, const fr_store_loader *l,
                   int *decoded)
{
    int rc;
    switch (kind) {
    case KIND_POOL: {
        fr_pool v;
        memset(&v, 0, sizeof v);
        rc = fr__pool_from_cjson(json, &v);
        *decoded = rc == FR_OK;
        v.deleted = deleted; /* the column is authoritative */
        rc = rc == FR_OK && l->pool != NULL ? l->pool(l->ctx, &v) : rc;
        fr_pool_clear(&v);
        return rc;
    }
    case KIND_ALLOCATION: {
        fr_allocation v;
        memset(&v, 0, sizeof v);
        rc = fr__allocation_from_cjson(json, &v);
        *decoded = rc == FR_OK;
        rc = rc == FR_OK && l->allocation != NULL ? l->allocation(l->ctx, &v) : rc;
        fr_allocation_clear(&v);
        return rc;
    }
    case KIND_REQUEST: {
        fr_request v;
        memset(&v, 0, sizeof v);
        rc = fr__request_from_cjson(json, &v);
        *decoded = rc == FR_OK;
        rc = rc == FR_OK && l->request != NULL ? l->request(l->ctx, &v) : rc;
        fr_request_clear(&v);
        return rc;
    }
    case KIND_CONFLICT: {
        fr_conflict v;
        memset(&v, 0, sizeof v);
        rc = fr__conflict_from_cjson(json, &v);
        *decoded = rc == FR_OK;
        rc = rc == FR_OK && l->conflict != NULL ? l->conflict(l->ctx, &v) : rc;
        fr_conflict_clear(&v);
        return rc;
    }
    case KIND_PLAN: {
        fr_plan v;
        memset(&v, 0, sizeof v);
        rc = fr__plan_from_cjson(json, &v);
        *decoded = rc == FR_OK;
        rc = rc == FR_OK && l->plan != NULL ? l->plan(l->ctx, &v) : rc;
        fr_plan_clear(&v);
        return rc;
    }
    default: {
        fr_sample v;
        memset(&v, 0, sizeof v);
        rc = fr__sample_from_cjson(json, &v);
        *decoded = rc == FR_OK;
        rc = rc == FR_OK && l->sample != NULL ? l->sample(l->ctx, &v) : rc;
        fr_sample_clear(&v);
        return rc;
    }
    }
}

static int wants(int kind, const fr_store_loader *l)
{
    switch (kind) {
    case KIND_POOL: return l->pool != NULL;
    case KIND_ALLOCATION: return l->allocation != NULL;
    case KIND_REQUEST: return l->request != NULL;
    case KIND_CONFLICT: return l->conflict != NULL;
    case KIND_PLAN: return l->plan != NULL;
    default: return l->sample != NULL;
    }
}

static int load_kind(pg_store *s, int kind, const fr_store_loader *l)
{
    if (!wants(kind, l)) {
        return FR_OK;
    }
    PGresult *r = NULL;
    if (frs_pg_exec(&s->main, LOAD_SQL[kind], PGRES_TUPLES_OK, &r, s->message,
                    sizeof s->message) != 0) {
        return FR_ESTORE;
    }
    int rc = FR_OK;
    int rows = PQntuples(r);
    for (int i = 0; rc == FR_OK && i < rows; i++) {
        cJSON *json = cJSON_ParseWithLength(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
        if (json == NULL) {
            snprintf(s->message, sizeof s->message, "postgres: row %s: doc is not JSON",
                     PQgetvalue(r, i, 0));
            rc = FR_ESTORE;
            break;
        }
        int decoded = 0;
        rc = deliver(kind, json, strcmp(PQgetvalue(r, i, 2), "t") == 0, l, &decoded);
        cJSON_Delete(json);
        if (!decoded && rc == FR_EINVAL) {
            snprintf(s->message, sizeof s->message, "postgres: row %s: doc does not decode",
                     PQgetvalue(r, i, 0));
            rc = FR_ESTORE;
        }
    }
    PQclear(r);
    return rc;
}

static int load_in_snapshot(pg_store *s, const fr_store_loader *l, int64_t *head_seq)
{
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        int rc = load_kind(s, kind, l);
        if (rc != FR_OK) {
            return rc;
        }
    }
    PGresult *r = NULL;
    if (frs_pg_exec(&s->main, "SELECT seq FROM fleet_resources.head WHERE id = 1",
                    PGRES_TUPLES_OK, &r, s->message, sizeof s->message) != 0) {
        return FR_ESTORE;
    }
    int bad = PQntuples(r) != 1 || frs_pg_cell_i64(r, 0, 0, head_seq) != 0;
    PQclear(r);
    return bad ? FR_ESTORE : FR_OK;
}

/* Every table and the head from one snapshot, so they agree. */
int frs_pg_load(fr_store *store, const fr_store_loader *loader, int64_t *head_seq)
{
    pg_store *s = (pg_store *)store;
    assert(!s->in_txn);
    if (frs_pg_main_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
                         PGRES_COMMAND_OK, NULL) != FR_OK) {
        return FR_ESTORE;
    }
    int64_t head = 0;
    int rc = load_in_snapshot(s, loader, &head);
    char ignored[128];
    (void)frs_pg_exec(&s->main, "ROLLBACK", PGRES_COMMAND_OK, NULL, ignored, sizeof ignored);
    if (rc == FR_OK) {
        *head_seq = head;
        s->known_seq = head;
        frs_pg_note_commit(s); /* what was read may not be flushed yet */
    }
    return rc;
}

/* ---- events ----------------------------------------------------------------- */

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

static char *cell_dup(const PGresult *r, int row, int col, int *oom)
{
    if (PQgetisnull(r, row, col)) {
        return NULL;
    }
    char *copy = strdup(PQgetvalue(r, row, col));
    *oom |= copy == NULL;
    return copy;
}

static int fixed_cell(const PGresult *r, int row, int col, char *dst, size_t size)
{
    const char *v = PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
    if (strlen(v) >= size) {
        return FR_ESTORE;
    }
    memcpy(dst, v, strlen(v) + 1);
    return FR_OK;
}

static int read_event(const PGresult *r, int row, fr_event *e)
{
    int oom = 0;
    int rc = frs_pg_cell_i64(r, row, 0, &e->seq) == 0 ? FR_OK : FR_ESTORE;
    if (rc == FR_OK) {
        rc = fixed_cell(r, row, 1, e->id, sizeof e->id);
    }
    if (rc == FR_OK) {
        rc = fixed_cell(r, row, 2, e->type, sizeof e->type);
    }
    e->entity_type = entity_type_parse(PQgetvalue(r, row, 3));
    if (rc == FR_OK && e->entity_type < 0) {
        rc = FR_ESTORE;
    }
    if (rc == FR_OK) {
        rc = fixed_cell(r, row, 4, e->entity_id, sizeof e->entity_id);
    }
    if (rc == FR_OK && frs_pg_cell_i64(r, row, 6, &e->occurred_at_ms) != 0) {
        rc = FR_ESTORE;
    }
    if (rc == FR_OK) {
        e->fleet_id = cell_dup(r, row, 5, &oom);
        e->actor = cell_dup(r, row, 7, &oom);
        e->data_json = cell_dup(r, row, 8, &oom);
        rc = oom ? FR_ENOMEM : FR_OK;
    }
    if (rc != FR_OK) {
        fr_event_clear(e);
    }
    return rc;
}

static int events_query(pg_store *s, int64_t after, size_t limit, const char *fleet_id,
                        PGresult **out)
{
    char after_text[32], limit_text[32];
    snprintf(after_text, sizeof after_text, "%lld", (long long)after);
    snprintf(limit_text, sizeof limit_text, "%llu",
             (unsigned long long)(limit > 1000000 ? 1000000 : limit));
    const char *values[3] = {after_text, limit_text, fleet_id};
    static const char cols[] = "SELECT " FRS_PG_EVENT_COLUMNS " FROM fleet_resources.events";
    char sql[512];
    snprintf(sql, sizeof sql, "%s WHERE seq > $1::bigint%s ORDER BY seq LIMIT $2::bigint", cols,
             fleet_id != NULL ? " AND fleet_id = $3" : "");
    if (frs_pg_main_exec(s, sql, fleet_id != NULL ? 3 : 2, values, PGRES_TUPLES_OK, out) !=
        FR_OK) {
        return FR_ESTORE;
    }
    return FR_OK;
}

int frs_pg_events_after(fr_store *store, int64_t after, size_t limit, const char *fleet_id,
                        fr_event **items, size_t *count)
{
    pg_store *s = (pg_store *)store;
    *items = NULL;
    *count = 0;
    if (limit == 0) {
        return FR_OK;
    }
    PGresult *r = NULL;
    int cached = s->in_txn && s->prefetched != NULL && fleet_id == NULL &&
                 after == s->prefetched_after;
    int rc = cached ? FR_OK : events_query(s, after, limit, fleet_id, &r);
    if (rc != FR_OK) {
        return rc;
    }
    /* The prefetched rows are the first ones of this very query, read under
     * the same lock: a prefix of its answer, which is all it promises. */
    const PGresult *res = cached ? s->prefetched : r;
    size_t rows = (size_t)PQntuples(res);
    rows = rows > limit ? limit : rows;
    fr_event *list = rows > 0 ? calloc(rows, sizeof *list) : NULL;
    if (rows > 0 && list == NULL) {
        PQclear(r);
        return FR_ENOMEM;
    }
    size_t n = 0;
    for (; rc == FR_OK && n < rows; n++) {
        rc = read_event(res, (int)n, &list[n]);
    }
    PQclear(r);
    if (rc != FR_OK) {
        fr_event_free_array(list, n > 0 ? n - 1 : 0);
        return rc;
    }
    if (rows > 0) {
        frs_pg_note_commit(s); /* others' commits we may act on: sync covers them */
        if (fleet_id == NULL && after <= s->known_seq && list[rows - 1].seq > s->known_seq) {
            s->known_seq = list[rows - 1].seq;
        }
    }
    *items = list;
    *count = rows;
    return FR_OK;
}

int frs_pg_get_idempotency(fr_store *store, const char *scope, const char *key, char **doc)
{
    pg_store *s = (pg_store *)store;
    int pending = frs_pg_pending_idempotency(s, scope, key, doc);
    if (pending != FR_ENOTFOUND) {
        return pending; /* put earlier in this transaction, not sent yet */
    }
    const char *values[2] = {scope, key};
    PGresult *r = NULL;
    if (frs_pg_main_exec(s,
                         "SELECT doc FROM fleet_resources.idempotency_keys"
                         " WHERE scope = $1 AND key = $2",
                         2, values, PGRES_TUPLES_OK, &r) != FR_OK) {
        return FR_ESTORE;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return FR_ENOTFOUND;
    }
    char *copy = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (copy == NULL) {
        return FR_ENOMEM;
    }
    *doc = copy;
    return FR_OK;
}
