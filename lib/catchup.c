/*
 * catchup.c — keeping the engine's in-memory view equal to a store shared by
 * several processes (docs/storage.md, "Several processes on one database").
 *
 * The event log is the replication stream: each event's data is the entity
 * after the change.  When the store reports a head seq ahead of the engine's
 * (another instance wrote), the engine reads the events after its own seq and
 * applies each one: upsert the record, re-index it with the same index
 * functions a transaction uses.  Applying is idempotent per event and the
 * engine's head advances event by event, so a failure halfway leaves a view
 * that is simply less far along.  When the store is behind the engine (the
 * database lost commits that were never synced, e.g. after a crash), when its
 * epoch changed (it restarted), or when an event cannot be applied, the
 * engine drops its state and loads everything again.
 *
 * Single-process stores (memory, SQLite) answer FR_STORE_CTL_HEAD with
 * FR_ENOTFOUND: reads never ask them again, and begin never reports a head
 * the engine did not write.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "entity.h"
#include "fr_int.h"

#define FR__CATCHUP_PAGE 1000

/* Registers a new record in its id map and ordered list; FR_OK or nothing. */
static int register_rec(fr__idmap *map, fr__vec *list, void *rec, const char *id,
                        int64_t created_at_ms, int64_t (*created_of)(const void *),
                        const char *(*id_of)(const void *))
{
    int rc = fr__idmap_put(map, id, rec);
    if (rc == FR_OK) {
        rc = fr__vec_insert_ordered(list, rec, created_at_ms, id, created_of, id_of);
        if (rc != FR_OK) {
            fr__idmap_del(map, id);
        }
    }
    return rc;
}

static int apply_pool(fr_engine *e, fr_pool *v)
{
    fr__pool_rec *rec = fr__idmap_get(&e->pools_by_id, v->id);
    if (rec != NULL) {
        fr__pool_unindex(e, rec);
        fr_pool_clear(&rec->p);
        rec->p = *v; /* takes ownership */
        memset(v, 0, sizeof *v);
        return fr__pool_index(e, rec);
    }
    rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    rec->live = fr__ledger_new();
    rec->usage = fr__ledger_new();
    int rc = rec->live == NULL || rec->usage == NULL ? FR_ENOMEM : FR_OK;
    if (rc == FR_OK) {
        rec->p = *v;
        rc = register_rec(&e->pools_by_id, &e->pools, rec, rec->p.id, rec->p.created_at_ms,
                          fr__pool_created_of, fr__pool_id_of);
    }
    if (rc != FR_OK) {
        fr__ledger_free(rec->live);
        fr__ledger_free(rec->usage);
        free(rec);
        return rc; /* v still owns its strings */
    }
    memset(v, 0, sizeof *v);
    return fr__pool_index(e, rec);
}

static int apply_allocation(fr_engine *e, fr_allocation *v)
{
    fr__pool_rec *pool = fr__idmap_get(&e->pools_by_id, v->pool_id);
    if (pool == NULL) {
        return FR_ESTORE; /* names a pool we never saw: reload */
    }
    fr__alloc_rec *rec = fr__idmap_get(&e->allocs_by_id, v->id);
    if (rec != NULL) {
        fr__alloc_unindex(e, rec);
        fr_allocation_clear(&rec->a);
    } else {
        rec = calloc(1, sizeof *rec);
        if (rec == NULL) {
            return FR_ENOMEM;
        }
        memcpy(rec->a.id, v->id, FR_ID_SIZE);
        int rc = register_rec(&e->allocs_by_id, &e->allocs, rec, rec->a.id, v->created_at_ms,
                              fr__alloc_created_of, fr__alloc_id_of);
        if (rc != FR_OK) {
            free(rec);
            return rc;
        }
    }
    rec->a = *v;
    memset(v, 0, sizeof *v);
    rec->pool = pool;
    return fr__alloc_index(e, rec);
}

static int apply_request(fr_engine *e, fr_request *v)
{
    fr__req_rec *rec = fr__idmap_get(&e->reqs_by_id, v->id);
    if (rec != NULL) {
        fr__req_unindex(e, rec);
        fr_request_clear(&rec->r);
    } else {
        rec = calloc(1, sizeof *rec);
        if (rec == NULL) {
            return FR_ENOMEM;
        }
        memcpy(rec->r.id, v->id, FR_ID_SIZE);
        int rc = register_rec(&e->reqs_by_id, &e->reqs, rec, rec->r.id, v->created_at_ms,
                              fr__req_created_of, fr__req_id_of);
        if (rc != FR_OK) {
            free(rec);
            return rc;
        }
    }
    rec->r = *v;
    memset(v, 0, sizeof *v);
    return fr__req_index(e, rec);
}

static int apply_conflict(fr_engine *e, fr_conflict *v)
{
    fr__conflict_rec *rec = fr__idmap_get(&e->conflicts_by_id, v->id);
    if (rec != NULL) {
        fr__conflict_unindex(e, rec);
        fr__conflict_rec_clear(rec);
    } else {
        rec = calloc(1, sizeof *rec);
        if (rec == NULL) {
            return FR_ENOMEM;
        }
        memcpy(rec->c.id, v->id, FR_ID_SIZE);
        int rc = register_rec(&e->conflicts_by_id, &e->conflicts, rec, rec->c.id,
                              v->created_at_ms, fr__conflict_created_of, fr__conflict_id_of);
        if (rc != FR_OK) {
            free(rec);
            return rc;
        }
    }
    rec->c = *v;
    memset(v, 0, sizeof *v);
    rec->pool = fr__idmap_get(&e->pools_by_id, rec->c.pool_id);
    fr__conflict_index(e, rec);
    return FR_OK;
}

static int apply_sample(fr_engine *e, fr_sample *v)
{
    if (fr__idmap_get(&e->samples_by_id, v->id) != NULL) {
        return FR_OK; /* immutable: already here */
    }
    return fr__load_sample(e, v);
}

/* Plans have no derived index: replace the record's content, or add it. */
static int apply_plan(fr_engine *e, const fr_plan *v)
{
    fr__plan_rec *rec = fr__idmap_get(&e->plans_by_id, v->id);
    if (rec == NULL) {
        return fr__load_plan(e, v);
    }
    fr_plan copy;
    int rc = fr__plan_copy(&copy, v);
    if (rc != FR_OK) {
        return rc;
    }
    fr_plan_clear(&rec->p);
    rec->p = copy;
    return FR_OK;
}

/* Decodes one event's data and applies it.  FR_ESTORE: cannot be applied
 * (unknown kind, undecodable, dangling reference): the caller reloads. */
static int apply_event(fr_engine *e, const fr_event *ev)
{
    cJSON *json = ev->data_json != NULL ? cJSON_Parse(ev->data_json) : NULL;
    if (json == NULL) {
        return FR_ESTORE;
    }
    int rc;
    switch (ev->entity_type) {
    case FR_ENTITY_POOL: {
        fr_pool v;
        memset(&v, 0, sizeof v);
        rc = fr__pool_from_cjson(json, &v) == FR_OK ? apply_pool(e, &v) : FR_ESTORE;
        fr_pool_clear(&v);
        break;
    }
    case FR_ENTITY_ALLOCATION: {
        fr_allocation v;
        memset(&v, 0, sizeof v);
        rc = fr__allocation_from_cjson(json, &v) == FR_OK ? apply_allocation(e, &v) : FR_ESTORE;
        fr_allocation_clear(&v);
        break;
    }
    case FR_ENTITY_REQUEST: {
        fr_request v;
        memset(&v, 0, sizeof v);
        rc = fr__request_from_cjson(json, &v) == FR_OK ? apply_request(e, &v) : FR_ESTORE;
        fr_request_clear(&v);
        break;
    }
    case FR_ENTITY_CONFLICT: {
        fr_conflict v;
        memset(&v, 0, sizeof v);
        rc = fr__conflict_from_cjson(json, &v) == FR_OK ? apply_conflict(e, &v) : FR_ESTORE;
        fr_conflict_clear(&v);
        break;
    }
    case FR_ENTITY_SAMPLE: {
        fr_sample v;
        memset(&v, 0, sizeof v);
        rc = fr__sample_from_cjson(json, &v) == FR_OK ? apply_sample(e, &v) : FR_ESTORE;
        fr_sample_clear(&v);
        break;
    }
    case FR_ENTITY_PLAN: {
        fr_plan v;
        memset(&v, 0, sizeof v);
        rc = fr__plan_from_cjson(json, &v) == FR_OK ? apply_plan(e, &v) : FR_ESTORE;
        fr_plan_clear(&v);
        break;
    }
    default:
        rc = FR_ESTORE; /* a kind this code cannot apply: a full load can */
        break;
    }
    cJSON_Delete(json);
    return rc;
}

/* Applies the events in (e->head_seq, head].  FR_ESTORE when the log does
 * not continue the engine's seq exactly or an event cannot be applied. */
static int apply_log(fr_engine *e, int64_t head)
{
    const struct fr_store_methods *m = e->store->methods;
    while (e->head_seq < head) {
        fr_event *items = NULL;
        size_t count = 0;
        int rc = m->events_after(e->store, e->head_seq, FR__CATCHUP_PAGE, NULL, &items, &count);
        if (rc != FR_OK) {
            return rc == FR_ENOMEM ? rc : FR_ESTORE;
        }
        if (count == 0) {
            rc = FR_ESTORE; /* the head says more is committed than the log has */
        }
        for (size_t i = 0; rc == FR_OK && i < count && e->head_seq < head; i++) {
            if (items[i].seq != e->head_seq + 1) {
                rc = FR_ESTORE;
                break;
            }
            rc = apply_event(e, &items[i]);
            if (rc == FR_OK) {
                e->head_seq = items[i].seq;
                e->call_committed = 1; /* acknowledge only after a sync covers it */
            }
        }
        fr_event_free_array(items, count);
        if (rc != FR_OK) {
            return rc;
        }
    }
    return FR_OK;
}

int fr__reload(fr_engine *e)
{
    fr__state_reset(e);
    e->needs_reload = 1;
    int rc = fr__load_state(e);
    if (rc != FR_OK) {
        fr__state_reset(e); /* never serve a half-loaded view */
        return rc == FR_ENOMEM ? rc : FR_ESTORE;
    }
    e->needs_reload = 0;
    e->call_committed = 1; /* what was loaded may not be flushed yet */
    return FR_OK;
}

/* FR__ERELOAD when the store's durable history changed under the engine. */
static int check_epoch(fr_engine *e)
{
    int64_t epoch = 0;
    int rc = e->store->methods->control(e->store, FR_STORE_CTL_EPOCH, &epoch);
    if (rc == FR_ENOTFOUND) {
        return FR_OK;
    }
    if (rc != FR_OK) {
        return FR_ESTORE;
    }
    if (!e->has_epoch || epoch != e->store_epoch) {
        int was_known = e->has_epoch;
        e->store_epoch = epoch;
        e->has_epoch = 1;
        if (was_known) {
            e->needs_reload = 1;
            return FR__ERELOAD;
        }
    }
    return FR_OK;
}

int fr__catch_up(fr_engine *e, int64_t head)
{
    int rc = check_epoch(e);
    if (rc != FR_OK || head == e->head_seq) {
        return rc;
    }
    if (head > e->head_seq) {
        rc = apply_log(e, head);
        if (rc == FR_OK) {
            return rc;
        }
    }
    /* Behind the engine (lost commits), an inconsistent log, or an apply
     * that failed halfway (even out of memory: a record may be registered
     * but not indexed) — only a full load is sure to be right. */
    e->needs_reload = 1;
    return FR__ERELOAD;
}

int fr__refresh(fr_engine *e)
{
    if (e->group != NULL) {
        return FR_OK; /* this engine holds the writer lock: nobody else wrote */
    }
    if (e->needs_reload) {
        int rc = fr__reload(e);
        if (rc != FR_OK) {
            return rc;
        }
    }
    if (!e->shared_store) {
        return FR_OK;
    }
    int64_t head = 0;
    int rc = e->store->methods->control(e->store, FR_STORE_CTL_HEAD, &head);
    if (rc != FR_OK) {
        return FR_ESTORE;
    }
    rc = fr__catch_up(e, head);
    return rc == FR__ERELOAD ? fr__reload(e) : rc;
}

int fr__detect_shared(fr_engine *e)
{
    int64_t head = 0;
    int rc = e->store->methods->control(e->store, FR_STORE_CTL_HEAD, &head);
    e->shared_store = rc != FR_ENOTFOUND;
    return e->shared_store ? check_epoch(e) : FR_OK;
}
