/*
 * idempotency.c — Idempotency-Key records (SPEC §1) for the create calls.
 *
 * A create call made with ctx->idempotency_key records its outcome under
 * (scope, key): on success inside the very transaction that commits the
 * change (txn.c calls fr__idem_put_success before commit), so a record exists
 * exactly when the change does; on a refusal (4xx) in a small transaction of
 * its own.  A later call with the same scope and key replays the outcome —
 * the same ids and status (the entities as they are now) — if its body hash
 * matches, and fails with FR_EIDEMPOTENCY if not.  The record is JSON:
 *   {"hash": "<16 hex>", "status": N, "entity_type": N, "ids": [...],
 *    "result": {...the fr_result of a refusal...}}
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fr_int.h"

#define FR__IDEM_KEY_MAX 255

static int store_supports(const fr_engine *e)
{
    return e->store->methods->version >= 3 && e->store->methods->get_idempotency != NULL &&
           e->store->methods->put_idempotency != NULL;
}

static int has_key(const fr_ctx *ctx)
{
    return ctx != NULL && ctx->idempotency_key != NULL && ctx->idempotency_scope != NULL;
}

static int valid_key(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > FR__IDEM_KEY_MAX) {
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *)key; *p != 0; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* ---- fr_result <-> JSON (only what a refusal carries) ---------------------- */

static void add_i64(cJSON *o, const char *name, int64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v);
    cJSON_AddStringToObject(o, name, text);
}

static int64_t get_i64(const cJSON *o, const char *name, int64_t fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    long long out = 0;
    if (!cJSON_IsString(v) || sscanf(v->valuestring, "%lld", &out) != 1) {
        return fallback;
    }
    return (int64_t)out;
}

static void get_str(const cJSON *o, const char *name, char *buf, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(v) && size > 0) {
        snprintf(buf, size, "%s", v->valuestring);
    }
}

static cJSON *result_to_cjson(const fr_result *r)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    cJSON_AddStringToObject(o, "message", r->message);
    cJSON_AddStringToObject(o, "field", r->field);
    add_i64(o, "index", r->index);
    cJSON_AddStringToObject(o, "pool_id", r->pool_id);
    add_i64(o, "at", r->at_ms);
    add_i64(o, "capacity", r->capacity_milli);
    add_i64(o, "free", r->free_milli);
    add_i64(o, "requested", r->requested_milli);
    add_i64(o, "next_fit_start", r->next_fit_start_ms);
    cJSON_AddStringToObject(o, "vehicle_id", r->vehicle_id);
    cJSON *ids = cJSON_AddArrayToObject(o, "conflicting_ids");
    for (size_t i = 0; ids != NULL && i < r->conflicting_count; i++) {
        cJSON_AddItemToArray(ids, cJSON_CreateString(r->conflicting_ids[i]));
    }
    return o;
}

static void result_from_cjson(const cJSON *o, fr_result *r)
{
    get_str(o, "message", r->message, sizeof r->message);
    get_str(o, "field", r->field, sizeof r->field);
    r->index = get_i64(o, "index", -1);
    get_str(o, "pool_id", r->pool_id, sizeof r->pool_id);
    r->at_ms = get_i64(o, "at", FR_TIME_NULL);
    r->capacity_milli = get_i64(o, "capacity", 0);
    r->free_milli = get_i64(o, "free", 0);
    r->requested_milli = get_i64(o, "requested", 0);
    r->next_fit_start_ms = get_i64(o, "next_fit_start", FR_TIME_NULL);
    get_str(o, "vehicle_id", r->vehicle_id, sizeof r->vehicle_id);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "conflicting_ids");
    const cJSON *id = NULL;
    r->conflicting_count = 0;
    cJSON_ArrayForEach(id, ids)
    {
        if (r->conflicting_count < FR_CONFLICTING_MAX && cJSON_IsString(id)) {
            snprintf(r->conflicting_ids[r->conflicting_count++], FR_ID_SIZE, "%s",
                     id->valuestring);
        }
    }
}

/* ---- records --------------------------------------------------------------- */

static char *record_text(const fr_ctx *ctx, int status, int entity_type,
                         const char (*ids)[FR_ID_SIZE], size_t n, const fr_result *res)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    char hash[24];
    snprintf(hash, sizeof hash, "%016" PRIx64, ctx->idempotency_body_hash);
    cJSON_AddStringToObject(o, "hash", hash);
    cJSON_AddNumberToObject(o, "status", status);
    cJSON_AddNumberToObject(o, "entity_type", entity_type);
    cJSON *arr = cJSON_AddArrayToObject(o, "ids");
    for (size_t i = 0; arr != NULL && i < n; i++) {
        cJSON_AddItemToArray(arr, cJSON_CreateString(ids[i]));
    }
    if (res != NULL) {
        cJSON_AddItemToObject(o, "result", result_to_cjson(res));
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

void fr__idem_prior_clear(fr__idem_prior *prior)
{
    free(prior->ids);
    memset(prior, 0, sizeof *prior);
}

static int parse_record(const char *doc, const fr_ctx *ctx, fr__idem_prior *prior,
                        fr_result *res)
{
    cJSON *o = cJSON_Parse(doc);
    if (o == NULL) {
        return FR_ESTORE;
    }
    char hash[24];
    snprintf(hash, sizeof hash, "%016" PRIx64, ctx->idempotency_body_hash);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hash");
    if (!cJSON_IsString(h) || strcmp(h->valuestring, hash) != 0) {
        cJSON_Delete(o);
        fr__result_fail(res, FR_EIDEMPOTENCY, "Idempotency-Key",
                        "this Idempotency-Key was used with another body");
        return FR_EIDEMPOTENCY;
    }
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "ids");
    size_t n = (size_t)cJSON_GetArraySize(ids);
    prior->ids = calloc(n > 0 ? n : 1, sizeof *prior->ids);
    if (prior->ids == NULL) {
        cJSON_Delete(o);
        return FR_ENOMEM;
    }
    const cJSON *id = NULL;
    cJSON_ArrayForEach(id, ids)
    {
        if (cJSON_IsString(id) && prior->ids_len < n) {
            snprintf(prior->ids[prior->ids_len++], FR_ID_SIZE, "%s", id->valuestring);
        }
    }
    prior->found = 1;
    prior->status = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "status"));
    prior->entity_type =
        (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "entity_type"));
    fr_result_init(&prior->result);
    result_from_cjson(cJSON_GetObjectItemCaseSensitive(o, "result"), &prior->result);
    cJSON_Delete(o);
    return FR_OK;
}

int fr__idem_lookup(fr_engine *e, const fr_ctx *ctx, fr__idem_prior *prior, fr_result *res)
{
    memset(prior, 0, sizeof *prior);
    if (!has_key(ctx) || !store_supports(e)) {
        return FR_OK;
    }
    if (!valid_key(ctx->idempotency_key)) {
        fr__result_fail(res, FR_EINVAL, "Idempotency-Key",
                        "Idempotency-Key must be 1-255 printable characters");
        return FR_EINVAL;
    }
    char *doc = NULL;
    int rc = e->store->methods->get_idempotency(e->store, ctx->idempotency_scope,
                                               ctx->idempotency_key, &doc);
    if (rc == FR_ENOTFOUND) {
        return FR_OK;
    }
    if (rc != FR_OK) {
        return rc == FR_ENOMEM ? rc : FR_ESTORE;
    }
    /* A record another process wrote names entities this view may not have
     * yet: catch up now, to a head that includes the record's commit (a
     * no-op for a single-process store). */
    rc = fr__refresh(e);
    if (rc != FR_OK) {
        free(doc);
        return rc;
    }
    rc = parse_record(doc, ctx, prior, res);
    free(doc);
    if (rc != FR_OK) {
        fr__idem_prior_clear(prior);
    }
    return rc;
}

/* The kind and ids of what the transaction created first: the call's own
 * entities (consequences such as dispatched allocations come later). */
int fr__idem_put_success(fr_engine *e)
{
    const fr_ctx *ctx = e->txn.idem;
    if (ctx == NULL) {
        return FR_OK;
    }
    int kind = -1;
    size_t n = 0;
    char(*ids)[FR_ID_SIZE] = calloc(e->txn.journal_len + 1, sizeof *ids);
    if (ids == NULL) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < e->txn.journal_len; i++) {
        const fr__journal_entry *j = &e->txn.journal[i];
        if (j->snapshot != NULL || (kind >= 0 && j->kind != kind)) {
            continue;
        }
        kind = j->kind;
        const char *id = kind == FR_ENTITY_POOL ? ((fr__pool_rec *)j->rec)->p.id
                         : kind == FR_ENTITY_ALLOCATION ? ((fr__alloc_rec *)j->rec)->a.id
                         : kind == FR_ENTITY_REQUEST    ? ((fr__req_rec *)j->rec)->r.id
                         : kind == FR_ENTITY_CONFLICT   ? ((fr__conflict_rec *)j->rec)->c.id
                         : kind == FR_ENTITY_PLAN       ? ((fr__plan_rec *)j->rec)->p.id
                                                        : ((fr__sample_rec *)j->rec)->s.id;
        snprintf(ids[n++], FR_ID_SIZE, "%s", id);
    }
    char *doc = record_text(ctx, FR_OK, kind, (const char(*)[FR_ID_SIZE])ids, n, NULL);
    free(ids);
    if (doc == NULL) {
        return FR_ENOMEM;
    }
    int rc = e->store->methods->put_idempotency(e->store, ctx->idempotency_scope,
                                               ctx->idempotency_key, doc, e->txn.now_ms);
    free(doc);
    return rc;
}

void fr__idem_put_failure(fr_engine *e, const fr_ctx *ctx, int status, const fr_result *res)
{
    /* Refusals are replayed; failures of the service itself (store, memory)
     * are not recorded, so that a retry can succeed. */
    if (!has_key(ctx) || !store_supports(e) || status == FR_OK || status == FR_ENOMEM ||
        status == FR_ESTORE || status == FR_EIDEMPOTENCY || !valid_key(ctx->idempotency_key)) {
        return;
    }
    fr_result empty;
    fr_result_init(&empty);
    char *doc = record_text(ctx, status, -1, NULL, 0, res != NULL ? res : &empty);
    if (doc == NULL) {
        return;
    }
    int64_t now = fr__now(e);
    if (fr__txn_begin(e, now, ctx->actor) == FR_OK) {
        /* Under the writer lock: never replace what another process recorded
         * meanwhile (its success must keep being replayed). */
        char *other = NULL;
        int rc = !e->shared_store ? FR_ENOTFOUND
                                  : e->store->methods->get_idempotency(
                                        e->store, ctx->idempotency_scope, ctx->idempotency_key,
                                        &other);
        free(other);
        rc = rc == FR_ENOTFOUND ? e->store->methods->put_idempotency(
                                      e->store, ctx->idempotency_scope, ctx->idempotency_key,
                                      doc, now)
                                : FR__EREPLAY;
        if (rc == FR_OK) {
            (void)fr__txn_commit(e, NULL); /* best effort: a lost record means a re-run */
        } else {
            fr__txn_abort(e); /* also when another process recorded the key */
        }
    }
    free(doc);
}

int fr__idem_replay_result(const fr__idem_prior *prior, fr_result *res)
{
    if (res != NULL) {
        free(res->conflicts_detected);
        *res = prior->result;
        res->conflicts_detected = NULL;
        res->conflicts_detected_len = 0;
        res->status = prior->status;
        res->replayed = 1;
    }
    return prior->status;
}

/* Copies the current state of one recorded entity into out[i]. */
static int copy_recorded(fr_engine *e, int kind, const char *id, void *out, size_t i)
{
    switch (kind) {
    case FR_ENTITY_POOL: {
        fr__pool_rec *r = fr__idmap_get(&e->pools_by_id, id);
        if (r == NULL) {
            return FR_ENOTFOUND;
        }
        fr_pool *dst = (fr_pool *)out + i;
        int rc = fr__pool_copy(dst, &r->p);
        if (rc == FR_OK) {
            fr__pool_fill_computed(e, r, dst);
        }
        return rc;
    }
    case FR_ENTITY_ALLOCATION: {
        fr__alloc_rec *r = fr__idmap_get(&e->allocs_by_id, id);
        return r == NULL ? FR_ENOTFOUND : fr__allocation_copy((fr_allocation *)out + i, &r->a);
    }
    case FR_ENTITY_REQUEST: {
        fr__req_rec *r = fr__idmap_get(&e->reqs_by_id, id);
        if (r == NULL) {
            return FR_ENOTFOUND;
        }
        fr_request *dst = (fr_request *)out + i;
        int rc = fr__request_copy(dst, &r->r);
        if (rc == FR_OK) {
            fr__req_fill_computed(e, r, dst);
        }
        return rc;
    }
    case FR_ENTITY_CONFLICT: {
        fr__conflict_rec *r = fr__idmap_get(&e->conflicts_by_id, id);
        return r == NULL ? FR_ENOTFOUND : fr__conflict_rec_copy((fr_conflict *)out + i, r);
    }
    case FR_ENTITY_SAMPLE: {
        fr__sample_rec *r = fr__idmap_get(&e->samples_by_id, id);
        return r == NULL ? FR_ENOTFOUND : fr__sample_copy((fr_sample *)out + i, &r->s);
    }
    case FR_ENTITY_PLAN: {
        fr__plan_rec *r = fr__idmap_get(&e->plans_by_id, id);
        return r == NULL ? FR_ENOTFOUND : fr__plan_copy((fr_plan *)out + i, &r->p);
    }
    default:
        return FR_ENOTFOUND;
    }
}

static void clear_copied(int kind, void *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case FR_ENTITY_POOL: fr_pool_clear((fr_pool *)out + i); break;
        case FR_ENTITY_ALLOCATION: fr_allocation_clear((fr_allocation *)out + i); break;
        case FR_ENTITY_REQUEST: fr_request_clear((fr_request *)out + i); break;
        case FR_ENTITY_CONFLICT: fr_conflict_clear((fr_conflict *)out + i); break;
        case FR_ENTITY_SAMPLE: fr_sample_clear((fr_sample *)out + i); break;
        case FR_ENTITY_PLAN: fr_plan_clear((fr_plan *)out + i); break;
        default: break;
        }
    }
}

int fr__idem_replay(fr_engine *e, const fr__idem_prior *prior, int kind, void *out, size_t n,
                    fr_result *res)
{
    if (prior->status != FR_OK) {
        return fr__idem_replay_result(prior, res);
    }
    if (prior->entity_type != kind || prior->ids_len != n) {
        fr__result_fail(res, FR_EIDEMPOTENCY, "Idempotency-Key",
                        "this Idempotency-Key was used for another kind of request");
        return FR_EIDEMPOTENCY;
    }
    for (size_t i = 0; out != NULL && i < n; i++) {
        int rc = copy_recorded(e, kind, prior->ids[i], out, i);
        if (rc != FR_OK) {
            clear_copied(kind, out, i);
            return rc == FR_ENOTFOUND ? FR_ESTORE : rc;
        }
    }
    if (res != NULL) {
        res->replayed = 1;
    }
    return FR_OK;
}

int fr__idem_settle(fr_engine *e, const fr_ctx *ctx, int rc, fr__idem_prior *prior, int kind,
                    void *out, size_t n, fr_result *res)
{
    if (rc != FR__EREPLAY) {
        fr__idem_put_failure(e, ctx, rc, res);
        return rc;
    }
    fr__idem_prior_clear(prior);
    rc = fr__idem_lookup(e, ctx, prior, res);
    if (rc == FR_OK && !prior->found) {
        rc = FR_ESTORE; /* it was there under the lock a moment ago */
    }
    return rc == FR_OK ? fr__idem_replay(e, prior, kind, out, n, res) : rc;
}
