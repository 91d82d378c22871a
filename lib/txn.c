/*
 * txn.c — transactions: the undo journal, derived indexes, events, commit.
 *
 * A public mutation runs as: txn_begin (store begin) -> touch/mutate/changed
 * on records -> txn_commit, which first runs what the change caused (conflict
 * detection on pools it marked, dispatch of queues it marked), then writes
 * every touched record and the queued events to the store and commits.  Any
 * failure before the store's commit returned OK undoes everything: the
 * journal holds each touched record's state before the transaction, and the
 * indexes are recomputed from it.  So a failed call changes nothing.
 *
 * With a store that has savepoints, a transaction may instead join the
 * group of calls sharing one store transaction (group.c): begin sets a
 * savepoint, abort rolls back to it, and commit hands the journal to the
 * group, which undoes it if the group's store commit fails.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fr_int.h"

/* ---- derived indexes: index = f(state), unindex idempotent -------------- */

fr__vec *fr__pools_of_type(fr_engine *e, const char *fleet_id, const char *resource_type)
{
    char key[FR__KEY_SIZE];
    if (!fr__key2(key, sizeof key, fleet_id, resource_type)) {
        return NULL;
    }
    return fr__idmap_get(&e->pools_by_type, key);
}

int fr__pool_index(fr_engine *e, fr__pool_rec *rec)
{
    int rc = fr__ledger_set_capacity(rec->live, rec->p.total_capacity_milli, rec->p.schedule,
                                     rec->p.schedule_len);
    if (rc == FR_OK) {
        rc = fr__ledger_set_capacity(rec->usage, rec->p.total_capacity_milli, rec->p.schedule,
                                     rec->p.schedule_len);
    }
    if (rc != FR_OK || rec->p.deleted) {
        return rc;
    }
    char key[FR__KEY_SIZE];
    if (!fr__key2(key, sizeof key, rec->p.fleet_id, rec->p.resource_type)) {
        return FR_ELIMIT;
    }
    fr__vec *v = fr__idmap_get(&e->pools_by_type, key);
    if (v == NULL) {
        v = calloc(1, sizeof *v);
        if (v == NULL) {
            return FR_ENOMEM;
        }
        rc = fr__idmap_put(&e->pools_by_type, key, v);
        if (rc != FR_OK) {
            free(v);
            return rc;
        }
    }
    return fr__vec_push(v, rec);
}

void fr__pool_unindex(fr_engine *e, fr__pool_rec *rec)
{
    fr__vec *v = fr__pools_of_type(e, rec->p.fleet_id, rec->p.resource_type);
    if (v != NULL) {
        fr__vec_remove(v, rec);
    }
}

int fr__alloc_is_live(const fr_allocation *a)
{
    return a->status == FR_ALLOC_HELD || a->status == FR_ALLOC_CONFIRMED;
}

static fr__vec *vehicle_vec(fr_engine *e, const fr_allocation *a, int create)
{
    char key[FR__KEY_SIZE];
    if (!fr__key3(key, sizeof key, a->fleet_id, a->resource_type, a->vehicle_id)) {
        return NULL;
    }
    fr__vec *v = fr__idmap_get(&e->vehicles, key);
    if (v == NULL && create) {
        v = calloc(1, sizeof *v);
        if (v != NULL && fr__idmap_put(&e->vehicles, key, v) != FR_OK) {
            free(v);
            v = NULL;
        }
    }
    return v;
}

/* The part of an ended allocation that counts for utilization. */
static int64_t used_end(const fr_allocation *a)
{
    if ((a->status != FR_ALLOC_RELEASED && a->status != FR_ALLOC_PREEMPTED) ||
        a->released_at_ms == FR_TIME_NULL) {
        return FR_TIME_NULL;
    }
    int64_t end = a->end_ms < a->released_at_ms ? a->end_ms : a->released_at_ms;
    return end > a->start_ms ? end : FR_TIME_NULL;
}

int fr__alloc_index(fr_engine *e, fr__alloc_rec *rec)
{
    const fr_allocation *a = &rec->a;
    uint64_t tag = (uint64_t)(uintptr_t)rec;
    rec->stamp++;
    if (!fr__alloc_is_live(a)) {
        int64_t end = used_end(a);
        if (end == FR_TIME_NULL) {
            return FR_OK;
        }
        return fr__ledger_book(rec->pool->usage, a->start_ms, end, a->quantity_milli, tag,
                               &rec->usage_ref);
    }
    int rc = fr__ledger_book(rec->pool->live, a->start_ms, a->end_ms, a->quantity_milli, tag,
                             &rec->live_ref);
    fr__ledger_key key;
    if (rc == FR_OK && fr__uuid_parse(a->id, key.bytes)) {
        /* Conflicts list the live bookings by id straight from the ledger.
         * Without memory for it the booking has no key, and its id is read
         * from this record instead: nothing to undo. */
        (void)fr__ledger_set_key(rec->pool->live, rec->live_ref, &key);
    }
    if (rc == FR_OK) {
        rc = fr__ledger_book(rec->pool->usage, a->start_ms, a->end_ms, a->quantity_milli, tag,
                             &rec->usage_ref);
    }
    if (rc == FR_OK && a->vehicle_id != NULL) {
        fr__vec *v = vehicle_vec(e, a, 1);
        rc = v == NULL ? FR_ENOMEM : fr__vec_push(v, rec);
        rec->in_vehicle_index = rc == FR_OK;
    }
    if (rc == FR_OK && a->status == FR_ALLOC_HELD) {
        rc = fr__heap_push(e->hold_heap, a->hold_expires_at_ms, rec, rec->stamp);
    }
    return rc;
}

void fr__alloc_unindex(fr_engine *e, fr__alloc_rec *rec)
{
    if (rec->live_ref != 0) {
        fr__ledger_unbook(rec->pool->live, rec->live_ref);
        rec->live_ref = 0;
    }
    if (rec->usage_ref != 0) {
        fr__ledger_unbook(rec->pool->usage, rec->usage_ref);
        rec->usage_ref = 0;
    }
    if (rec->in_vehicle_index) {
        fr__vec *v = vehicle_vec(e, &rec->a, 0);
        if (v != NULL) {
            fr__vec_remove(v, rec);
        }
        rec->in_vehicle_index = 0;
    }
    rec->stamp++; /* drops its hold-heap entry */
}

fr__queue_rec *fr__queue_get(fr_engine *e, const char *fleet_id, const char *resource_type,
                             int create)
{
    char key[FR__KEY_SIZE];
    if (!fr__key2(key, sizeof key, fleet_id, resource_type)) {
        return NULL;
    }
    fr__queue_rec *q = fr__idmap_get(&e->queues, key);
    if (q != NULL || !create) {
        return q;
    }
    q = calloc(1, sizeof *q);
    if (q == NULL) {
        return NULL;
    }
    q->key = strdup(key);
    q->queue = fr__queue_new();
    if (q->key == NULL || q->queue == NULL || fr__idmap_put(&e->queues, key, q) != FR_OK) {
        fr__queue_free(q->queue);
        free(q->key);
        free(q);
        return NULL;
    }
    return q;
}

int64_t fr__req_latest_start(const fr_request *r)
{
    if (r->latest_end_ms == FR_TIME_INF) {
        return FR_TIME_INF;
    }
    return r->latest_end_ms - r->duration_ms;
}

int fr__req_index(fr_engine *e, fr__req_rec *rec)
{
    rec->stamp++;
    if (rec->r.status != FR_REQ_PENDING) {
        return FR_OK;
    }
    fr__queue_rec *q = fr__queue_get(e, rec->r.fleet_id, rec->r.resource_type, 1);
    if (q == NULL) {
        return FR_ENOMEM;
    }
    fr__queue_key key = {
        .rank = (int64_t)rec->r.priority * e->aging_ms - rec->r.created_at_ms,
        .created_at_ms = rec->r.created_at_ms,
        .id = rec->r.id,
    };
    int rc = fr__queue_insert(q->queue, &key, rec, &rec->queue_ref);
    if (rc != FR_OK) {
        return rc;
    }
    rec->queue = q;
    int64_t latest = fr__req_latest_start(&rec->r);
    if (latest != FR_TIME_INF) {
        rc = fr__heap_push(e->deadline_heap, latest, rec, rec->stamp);
    }
    return rc;
}

void fr__req_unindex(fr_engine *e, fr__req_rec *rec)
{
    (void)e;
    if (rec->queue_ref != 0) {
        fr__queue_remove(rec->queue->queue, rec->queue_ref);
        rec->queue_ref = 0;
        rec->queue = NULL;
    }
    rec->stamp++;
}

void fr__conflict_index(fr_engine *e, fr__conflict_rec *rec)
{
    assert(!rec->indexed_open);
    if (rec->c.status != FR_CONFLICT_OPEN) {
        return;
    }
    if (rec->c.type == FR_CONFLICT_OVER_CAPACITY && rec->pool != NULL) {
        rec->pool->open_overcap++;
        rec->indexed_open = 1;
    } else if (rec->c.type == FR_CONFLICT_DOUBLE_BOOKING) {
        /* The vector grows rarely; on OOM the conflict is simply not
         * re-checked automatically (it stays open, never wrong). */
        rec->indexed_open = fr__vec_push(&e->open_double, rec) == FR_OK;
    }
}

void fr__conflict_unindex(fr_engine *e, fr__conflict_rec *rec)
{
    if (!rec->indexed_open) {
        return;
    }
    if (rec->c.type == FR_CONFLICT_OVER_CAPACITY && rec->pool != NULL) {
        assert(rec->pool->open_overcap > 0);
        rec->pool->open_overcap--;
    } else if (rec->c.type == FR_CONFLICT_DOUBLE_BOOKING) {
        fr__vec_remove(&e->open_double, rec);
    }
    rec->indexed_open = 0;
}

/* ---- journal ------------------------------------------------------------ */

static int journal_push(fr_engine *e, int kind, void *rec, void *snapshot)
{
    fr__txn *t = &e->txn;
    if (t->journal_len == t->journal_cap) {
        size_t cap = t->journal_cap == 0 ? 32 : t->journal_cap * 2;
        fr__journal_entry *j = realloc(t->journal, cap * sizeof *j);
        if (j == NULL) {
            return FR_ENOMEM;
        }
        t->journal = j;
        t->journal_cap = cap;
    }
    t->journal[t->journal_len++] = (fr__journal_entry){kind, rec, snapshot};
    return FR_OK;
}

/* Snapshot a record's public struct the first time the txn touches it. */
static int journal_snapshot(fr_engine *e, int kind, void *rec, uint64_t *mark)
{
    if (*mark == e->txn.id) {
        return FR_OK;
    }
    void *snap = NULL;
    int rc = FR_ENOMEM;
    switch (kind) {
    case FR_ENTITY_POOL:
        snap = calloc(1, sizeof(fr_pool));
        rc = snap == NULL ? FR_ENOMEM : fr__pool_copy(snap, &((fr__pool_rec *)rec)->p);
        break;
    case FR_ENTITY_ALLOCATION:
        snap = calloc(1, sizeof(fr_allocation));
        rc = snap == NULL ? FR_ENOMEM : fr__allocation_copy(snap, &((fr__alloc_rec *)rec)->a);
        break;
    case FR_ENTITY_REQUEST:
        snap = calloc(1, sizeof(fr_request));
        rc = snap == NULL ? FR_ENOMEM : fr__request_copy(snap, &((fr__req_rec *)rec)->r);
        break;
    case FR_ENTITY_CONFLICT:
        snap = calloc(1, sizeof(fr_conflict));
        rc = snap == NULL ? FR_ENOMEM : fr__conflict_rec_copy(snap, rec);
        break;
    case FR_ENTITY_PLAN:
        snap = calloc(1, sizeof(fr_plan));
        rc = snap == NULL ? FR_ENOMEM : fr__plan_copy(snap, &((fr__plan_rec *)rec)->p);
        break;
    default:
        assert(0);
    }
    if (rc == FR_OK) {
        rc = journal_push(e, kind, rec, snap);
    }
    if (rc != FR_OK) {
        free(snap); /* a failed copy left it zeroed, nothing to clear */
        return rc;
    }
    *mark = e->txn.id;
    return FR_OK;
}

int fr__pool_touch(fr_engine *e, fr__pool_rec *rec)
{
    int rc = journal_snapshot(e, FR_ENTITY_POOL, rec, &rec->journal_txn);
    if (rc == FR_OK) {
        fr__pool_unindex(e, rec);
    }
    return rc;
}

int fr__alloc_touch(fr_engine *e, fr__alloc_rec *rec)
{
    int rc = journal_snapshot(e, FR_ENTITY_ALLOCATION, rec, &rec->journal_txn);
    if (rc == FR_OK) {
        fr__alloc_unindex(e, rec);
        e->txn.touched_allocations = 1;
    }
    return rc;
}

int fr__req_touch(fr_engine *e, fr__req_rec *rec)
{
    int rc = journal_snapshot(e, FR_ENTITY_REQUEST, rec, &rec->journal_txn);
    if (rc == FR_OK) {
        fr__req_unindex(e, rec);
    }
    return rc;
}

int fr__conflict_touch(fr_engine *e, fr__conflict_rec *rec)
{
    int rc = journal_snapshot(e, FR_ENTITY_CONFLICT, rec, &rec->journal_txn);
    if (rc == FR_OK) {
        fr__conflict_unindex(e, rec);
    }
    return rc;
}

int fr__plan_touch(fr_engine *e, fr__plan_rec *rec)
{
    return journal_snapshot(e, FR_ENTITY_PLAN, rec, &rec->journal_txn); /* no index */
}

/* ---- events ------------------------------------------------------------- */

static int queue_event(fr_engine *e, int entity_type, const char *entity_id,
                       const char *fleet_id, const char *verb, char *data_json)
{
    fr__txn *t = &e->txn;
    if (data_json == NULL) {
        return FR_ENOMEM;
    }
    if (t->events_len == t->events_cap) {
        size_t cap = t->events_cap == 0 ? 16 : t->events_cap * 2;
        fr_event *ev = realloc(t->events, cap * sizeof *ev);
        if (ev == NULL) {
            free(data_json);
            return FR_ENOMEM;
        }
        t->events = ev;
        t->events_cap = cap;
    }
    fr_event *ev = &t->events[t->events_len];
    memset(ev, 0, sizeof *ev);
    fr__new_event_id(e, ev->id);
    snprintf(ev->type, sizeof ev->type, "%s.%s", fr_entity_type_name(entity_type), verb);
    ev->entity_type = entity_type;
    snprintf(ev->entity_id, sizeof ev->entity_id, "%s", entity_id);
    ev->fleet_id = fr__strdup_or_null(fleet_id);
    ev->actor = strdup(t->actor);
    ev->occurred_at_ms = t->now_ms;
    ev->data_json = data_json;
    if ((fleet_id != NULL && ev->fleet_id == NULL) || ev->actor == NULL) {
        fr_event_clear(ev);
        return FR_ENOMEM;
    }
    t->events_len++;
    return FR_OK;
}

/* One call is one change: a record's version grows at most once per
 * transaction, however many steps (update, then re-dispatch) touched it. */
static void stamp_change(fr_engine *e, int64_t *version, int64_t *updated_at_ms,
                         uint64_t *version_txn)
{
    if (*version_txn != e->txn.id) {
        (*version)++;
        *version_txn = e->txn.id;
    }
    *updated_at_ms = e->txn.now_ms;
}

/* Request events carry the computed fields as a read at that moment would. */
static int queue_request_event(fr_engine *e, fr__req_rec *rec, const char *verb)
{
    fr_request view = rec->r;
    fr__req_fill_computed(e, rec, &view);
    return queue_event(e, FR_ENTITY_REQUEST, rec->r.id, rec->r.fleet_id, verb,
                       fr__request_to_json_text(&view));
}

int fr__pool_changed(fr_engine *e, fr__pool_rec *rec, const char *verb)
{
    stamp_change(e, &rec->p.version, &rec->p.updated_at_ms, &rec->version_txn);
    int rc = fr__pool_index(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    fr_pool view = rec->p;
    fr__pool_fill_computed(e, rec, &view);
    return queue_event(e, FR_ENTITY_POOL, rec->p.id, rec->p.fleet_id, verb,
                       fr__pool_to_json_text(&view));
}

int fr__alloc_changed(fr_engine *e, fr__alloc_rec *rec, const char *verb)
{
    stamp_change(e, &rec->a.version, &rec->a.updated_at_ms, &rec->version_txn);
    int rc = fr__alloc_index(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    return queue_event(e, FR_ENTITY_ALLOCATION, rec->a.id, rec->a.fleet_id, verb,
                       fr__allocation_to_json_text(&rec->a));
}

int fr__req_changed(fr_engine *e, fr__req_rec *rec, const char *verb)
{
    stamp_change(e, &rec->r.version, &rec->r.updated_at_ms, &rec->version_txn);
    int rc = fr__req_index(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    return queue_request_event(e, rec, verb);
}

int fr__conflict_changed(fr_engine *e, fr__conflict_rec *rec, const char *verb)
{
    stamp_change(e, &rec->c.version, &rec->c.updated_at_ms, &rec->version_txn);
    fr__conflict_index(e, rec);
    return queue_event(e, FR_ENTITY_CONFLICT, rec->c.id, rec->c.fleet_id, verb,
                       fr__conflict_rec_json(rec));
}

int64_t fr__pool_created_of(const void *r)
{
    return ((const fr__pool_rec *)r)->p.created_at_ms;
}
const char *fr__pool_id_of(const void *r)
{
    return ((const fr__pool_rec *)r)->p.id;
}
int64_t fr__alloc_created_of(const void *r)
{
    return ((const fr__alloc_rec *)r)->a.created_at_ms;
}
const char *fr__alloc_id_of(const void *r)
{
    return ((const fr__alloc_rec *)r)->a.id;
}
int64_t fr__req_created_of(const void *r)
{
    return ((const fr__req_rec *)r)->r.created_at_ms;
}
const char *fr__req_id_of(const void *r)
{
    return ((const fr__req_rec *)r)->r.id;
}
int64_t fr__conflict_created_of(const void *r)
{
    return ((const fr__conflict_rec *)r)->c.created_at_ms;
}
const char *fr__conflict_id_of(const void *r)
{
    return ((const fr__conflict_rec *)r)->c.id;
}

/* Registers a new record: journal (snapshot NULL = undo deletes it), id map
 * and ordered list.  On failure nothing is registered. */
static int register_new(fr_engine *e, int kind, void *rec, uint64_t *mark, fr__idmap *map,
                        fr__vec *list, const char *id, int64_t created_at_ms,
                        int64_t (*created_of)(const void *), const char *(*id_of)(const void *))
{
    int rc = fr__idmap_put(map, id, rec);
    if (rc != FR_OK) {
        return rc;
    }
    rc = fr__vec_insert_ordered(list, rec, created_at_ms, id, created_of, id_of);
    if (rc == FR_OK) {
        rc = journal_push(e, kind, rec, NULL);
        if (rc != FR_OK) {
            fr__vec_remove(list, rec);
        }
    }
    if (rc != FR_OK) {
        fr__idmap_del(map, id);
        return rc;
    }
    *mark = e->txn.id;
    return FR_OK;
}

static void stamp_create(fr_engine *e, int64_t *version, int64_t *created, int64_t *updated)
{
    *version = 1;
    *created = e->txn.now_ms;
    *updated = e->txn.now_ms;
}

int fr__pool_created(fr_engine *e, fr__pool_rec *rec)
{
    stamp_create(e, &rec->p.version, &rec->p.created_at_ms, &rec->p.updated_at_ms);
    rec->version_txn = e->txn.id;
    int rc = register_new(e, FR_ENTITY_POOL, rec, &rec->journal_txn, &e->pools_by_id, &e->pools,
                          rec->p.id, rec->p.created_at_ms, fr__pool_created_of, fr__pool_id_of);
    if (rc != FR_OK) {
        return rc; /* the caller still owns rec */
    }
    rc = fr__pool_index(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    fr_pool view = rec->p;
    fr__pool_fill_computed(e, rec, &view);
    return queue_event(e, FR_ENTITY_POOL, rec->p.id, rec->p.fleet_id, "created",
                       fr__pool_to_json_text(&view));
}

int fr__alloc_created(fr_engine *e, fr__alloc_rec *rec)
{
    stamp_create(e, &rec->a.version, &rec->a.created_at_ms, &rec->a.updated_at_ms);
    rec->version_txn = e->txn.id;
    int rc = register_new(e, FR_ENTITY_ALLOCATION, rec, &rec->journal_txn, &e->allocs_by_id,
                          &e->allocs, rec->a.id, rec->a.created_at_ms, fr__alloc_created_of,
                          fr__alloc_id_of);
    if (rc != FR_OK) {
        return rc;
    }
    e->txn.touched_allocations = 1;
    rc = fr__alloc_index(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    return queue_event(e, FR_ENTITY_ALLOCATION, rec->a.id, rec->a.fleet_id, "created",
                       fr__allocation_to_json_text(&rec->a));
}

int fr__req_created(fr_engine *e, fr__req_rec *rec, const char *verb)
{
    stamp_create(e, &rec->r.version, &rec->r.created_at_ms, &rec->r.updated_at_ms);
    rec->version_txn = e->txn.id;
    int rc = register_new(e, FR_ENTITY_REQUEST, rec, &rec->journal_txn, &e->reqs_by_id, &e->reqs,
                          rec->r.id, rec->r.created_at_ms, fr__req_created_of, fr__req_id_of);
    if (rc != FR_OK) {
        return rc;
    }
    rc = fr__req_index(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    return queue_request_event(e, rec, verb);
}

int fr__conflict_created(fr_engine *e, fr__conflict_rec *rec, const char *verb)
{
    stamp_create(e, &rec->c.version, &rec->c.created_at_ms, &rec->c.updated_at_ms);
    rec->version_txn = e->txn.id;
    rec->c.detected_at_ms = e->txn.now_ms;
    int rc = register_new(e, FR_ENTITY_CONFLICT, rec, &rec->journal_txn, &e->conflicts_by_id,
                          &e->conflicts, rec->c.id, rec->c.created_at_ms, fr__conflict_created_of,
                          fr__conflict_id_of);
    if (rc != FR_OK) {
        return rc;
    }
    fr__conflict_index(e, rec);
    rc = fr__vec_push(&e->txn.detected, rec);
    if (rc != FR_OK) {
        return rc;
    }
    return queue_event(e, FR_ENTITY_CONFLICT, rec->c.id, rec->c.fleet_id, verb,
                       fr__conflict_rec_json(rec));
}

static int64_t sample_created_of(const void *r)
{
    return ((const fr__sample_rec *)r)->s.created_at_ms;
}
static const char *sample_id_of(const void *r)
{
    return ((const fr__sample_rec *)r)->s.id;
}

/* Samples are immutable, so the journal only ever holds them as created
 * records (snapshot NULL): undo removes them, write_journal puts them. */
int fr__sample_created(fr_engine *e, fr__sample_rec *rec)
{
    rec->s.created_at_ms = e->txn.now_ms;
    int rc = register_new(e, FR_ENTITY_SAMPLE, rec, &rec->journal_txn, &e->samples_by_id,
                          &e->samples, rec->s.id, rec->s.created_at_ms, sample_created_of,
                          sample_id_of);
    if (rc != FR_OK) {
        return rc; /* the caller still owns rec */
    }
    rc = fr__sample_index(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    return queue_event(e, FR_ENTITY_SAMPLE, rec->s.id, rec->s.fleet_id, "created",
                       fr__sample_to_json_text(&rec->s));
}

int fr__plan_changed(fr_engine *e, fr__plan_rec *rec, const char *verb)
{
    stamp_change(e, &rec->p.version, &rec->p.updated_at_ms, &rec->version_txn);
    return queue_event(e, FR_ENTITY_PLAN, rec->p.id, rec->p.fleet_id, verb,
                       fr__plan_to_json_text(&rec->p));
}

static int64_t plan_created_of(const void *r)
{
    return ((const fr__plan_rec *)r)->p.created_at_ms;
}
static const char *plan_id_of(const void *r)
{
    return ((const fr__plan_rec *)r)->p.id;
}

int fr__plan_created(fr_engine *e, fr__plan_rec *rec)
{
    stamp_create(e, &rec->p.version, &rec->p.created_at_ms, &rec->p.updated_at_ms);
    rec->version_txn = e->txn.id;
    int rc = register_new(e, FR_ENTITY_PLAN, rec, &rec->journal_txn, &e->plans_by_id, &e->plans,
                          rec->p.id, rec->p.created_at_ms, plan_created_of, plan_id_of);
    if (rc != FR_OK) {
        return rc; /* the caller still owns rec */
    }
    return queue_event(e, FR_ENTITY_PLAN, rec->p.id, rec->p.fleet_id, "created",
                       fr__plan_to_json_text(&rec->p));
}

int fr__mark_queue_dirty(fr_engine *e, const char *fleet_id, const char *resource_type)
{
    fr__queue_rec *q = fr__queue_get(e, fleet_id, resource_type, 0);
    if (q == NULL || q->dirty_txn == e->txn.id || fr__queue_count(q->queue) == 0) {
        return FR_OK; /* no queue, or nobody waiting: nothing to dispatch */
    }
    q->dirty_txn = e->txn.id;
    return fr__vec_push(&e->txn.dirty_queues, q);
}

int fr__mark_pool_dirty_range(fr_engine *e, fr__pool_rec *pool, int64_t from_ms, int64_t to_ms)
{
    assert(from_ms < to_ms);
    if (pool->dirty_txn == e->txn.id) { /* marked already: the hull of both */
        pool->dirty_from_ms = from_ms < pool->dirty_from_ms ? from_ms : pool->dirty_from_ms;
        pool->dirty_to_ms = to_ms > pool->dirty_to_ms ? to_ms : pool->dirty_to_ms;
        return FR_OK;
    }
    int rc = fr__vec_push(&e->txn.dirty_pools, pool);
    if (rc == FR_OK) {
        pool->dirty_txn = e->txn.id;
        pool->dirty_from_ms = from_ms;
        pool->dirty_to_ms = to_ms;
    }
    return rc;
}

int fr__mark_pool_dirty(fr_engine *e, fr__pool_rec *pool)
{
    return fr__mark_pool_dirty_range(e, pool, INT64_MIN, INT64_MAX);
}

/* ---- begin / commit / abort ---------------------------------------------- */

static int txn_start(fr_engine *e, int64_t now_ms, const char *actor);

int fr__txn_begin(fr_engine *e, int64_t now_ms, const char *actor)
{
    assert(e->txn.id == 0);
    if (e->group != NULL) {
        /* A group's store transaction is open: the writer lock is held, so
         * the view is current; mark where this transaction's writes start. */
        if (e->store->methods->savepoint(e->store) != FR_OK) {
            return FR_ESTORE;
        }
        return txn_start(e, now_ms, actor);
    }
    /* begin takes the store's writer lock; if another process wrote since,
     * the view catches up under it (catchup.c), or is loaded again outside
     * the transaction and the lock taken anew (bounded: a store that keeps
     * changing its history under us is a failing store). */
    for (int attempt = 0;; attempt++) {
        if (e->needs_reload) {
            int rc = fr__reload(e);
            if (rc != FR_OK) {
                return rc;
            }
        }
        int64_t head = 0;
        int rc = e->store->methods->begin(e->store, &head);
        if (rc != FR_OK) {
            return FR_ESTORE;
        }
        rc = fr__catch_up(e, head);
        if (rc == FR_OK) {
            break;
        }
        e->store->methods->rollback(e->store);
        if (rc != FR__ERELOAD || attempt == 2) {
            return rc == FR_ENOMEM ? rc : FR_ESTORE;
        }
    }
    if (e->batching) {
        int rc = fr__group_open(e);
        if (rc != FR_OK) {
            e->store->methods->rollback(e->store);
            return rc;
        }
    }
    return txn_start(e, now_ms, actor);
}

static int txn_start(fr_engine *e, int64_t now_ms, const char *actor)
{
    e->txn.id = ++e->txn_seq;
    e->txn.now_ms = now_ms;
    e->txn.actor = actor != NULL ? actor : "anonymous";
    e->txn.journal_len = 0;
    e->txn.events_len = 0;
    e->txn.dirty_queues.len = 0;
    e->txn.dirty_pools.len = 0;
    e->txn.detected.len = 0;
    e->txn.touched_allocations = 0;
    e->txn.idem = NULL;
    return FR_OK;
}

static void free_snapshot(int kind, void *snap)
{
    if (snap == NULL) {
        return;
    }
    switch (kind) {
    case FR_ENTITY_POOL:
        fr_pool_clear(snap);
        break;
    case FR_ENTITY_ALLOCATION:
        fr_allocation_clear(snap);
        break;
    case FR_ENTITY_REQUEST:
        fr_request_clear(snap);
        break;
    case FR_ENTITY_CONFLICT:
        fr_conflict_clear(snap);
        break;
    case FR_ENTITY_PLAN:
        fr_plan_clear(snap);
        break;
    default:
        assert(0);
    }
    free(snap);
}

static void txn_reset(fr_engine *e)
{
    fr__txn *t = &e->txn;
    fr__journal_forget(t->journal, t->journal_len);
    for (size_t i = 0; i < t->events_len; i++) {
        fr_event_clear(&t->events[i]);
    }
    t->journal_len = 0;
    t->events_len = 0;
    t->dirty_queues.len = 0;
    t->dirty_pools.len = 0;
    t->detected.len = 0;
    t->idem = NULL;
    t->id = 0;
}

/* Undo helpers: a created record is removed; a changed one restored.  Must
 * not fail: index() on restored state reuses the memory unindex() freed, and
 * if it cannot, the engine's state would be wrong — so abort. */
static void must(int rc)
{
    if (rc != FR_OK) {
        abort();
    }
}

static void undo_pool(fr_engine *e, fr__pool_rec *rec, fr_pool *snap)
{
    fr__pool_unindex(e, rec);
    if (snap == NULL) {
        fr__idmap_del(&e->pools_by_id, rec->p.id);
        fr__vec_remove(&e->pools, rec);
        fr__ledger_free(rec->live);
        fr__ledger_free(rec->usage);
        fr_pool_clear(&rec->p);
        free(rec);
        return;
    }
    fr_pool_clear(&rec->p);
    rec->p = *snap;
    free(snap);
    must(fr__pool_index(e, rec));
}

static void undo_alloc(fr_engine *e, fr__alloc_rec *rec, fr_allocation *snap)
{
    fr__alloc_unindex(e, rec);
    if (snap == NULL) {
        fr__heap_remove_payload(e->hold_heap, rec);
        fr__idmap_del(&e->allocs_by_id, rec->a.id);
        fr__vec_remove(&e->allocs, rec);
        fr_allocation_clear(&rec->a);
        free(rec);
        return;
    }
    fr_allocation_clear(&rec->a);
    rec->a = *snap;
    free(snap);
    if (strcmp(rec->pool->p.id, rec->a.pool_id) != 0) { /* a reassignment (resolve.c) */
        rec->pool = fr__idmap_get(&e->pools_by_id, rec->a.pool_id);
    }
    must(fr__alloc_index(e, rec));
}

static void undo_req(fr_engine *e, fr__req_rec *rec, fr_request *snap)
{
    fr__req_unindex(e, rec);
    if (snap == NULL) {
        fr__heap_remove_payload(e->deadline_heap, rec);
        fr__idmap_del(&e->reqs_by_id, rec->r.id);
        fr__vec_remove(&e->reqs, rec);
        fr_request_clear(&rec->r);
        free(rec);
        return;
    }
    fr_request_clear(&rec->r);
    rec->r = *snap;
    free(snap);
    must(fr__req_index(e, rec));
}

static void undo_conflict(fr_engine *e, fr__conflict_rec *rec, fr_conflict *snap)
{
    fr__conflict_unindex(e, rec);
    if (snap == NULL) {
        fr__idmap_del(&e->conflicts_by_id, rec->c.id);
        fr__vec_remove(&e->conflicts, rec);
        fr__conflict_rec_clear(rec);
        free(rec);
        return;
    }
    fr__conflict_rec_clear(rec); /* the snapshot holds its ids as text */
    rec->c = *snap;
    free(snap);
    fr__conflict_index(e, rec);
}

static void undo_sample(fr_engine *e, fr__sample_rec *rec)
{
    fr__sample_unindex(e, rec);
    fr__idmap_del(&e->samples_by_id, rec->s.id);
    fr__vec_remove(&e->samples, rec);
    fr_sample_clear(&rec->s);
    free(rec);
}

static void undo_plan(fr_engine *e, fr__plan_rec *rec, fr_plan *snap)
{
    if (snap == NULL) {
        fr__idmap_del(&e->plans_by_id, rec->p.id);
        fr__vec_remove(&e->plans, rec);
        fr_plan_clear(&rec->p);
        free(rec);
        return;
    }
    fr_plan_clear(&rec->p);
    rec->p = *snap;
    free(snap);
}

void fr__journal_undo(fr_engine *e, fr__journal_entry *entries, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        fr__journal_entry *j = &entries[i - 1];
        switch (j->kind) {
        case FR_ENTITY_POOL:
            undo_pool(e, j->rec, j->snapshot);
            break;
        case FR_ENTITY_ALLOCATION:
            undo_alloc(e, j->rec, j->snapshot);
            break;
        case FR_ENTITY_REQUEST:
            undo_req(e, j->rec, j->snapshot);
            break;
        case FR_ENTITY_CONFLICT:
            undo_conflict(e, j->rec, j->snapshot);
            break;
        case FR_ENTITY_SAMPLE:
            assert(j->snapshot == NULL); /* samples are only ever created */
            undo_sample(e, j->rec);
            break;
        case FR_ENTITY_PLAN:
            undo_plan(e, j->rec, j->snapshot);
            break;
        default:
            assert(0);
        }
        j->snapshot = NULL; /* consumed */
        /* A restored record may be touched again by a later txn. */
    }
    /* Records restored keep journal_txn == t->id; ids never repeat, so a
     * stale mark can never match a future transaction. */
}

void fr__journal_forget(fr__journal_entry *entries, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free_snapshot(entries[i].kind, entries[i].snapshot);
        entries[i].snapshot = NULL;
    }
}

void fr__txn_abort(fr_engine *e)
{
    fr__txn *t = &e->txn;
    assert(t->id != 0);
    if (e->group != NULL) {
        /* Only this transaction's writes go; the group's earlier ones stay. */
        e->store->methods->rollback_to_savepoint(e->store);
    } else {
        e->store->methods->rollback(e->store);
    }
    fr__journal_undo(e, t->journal, t->journal_len);
    txn_reset(e);
}

/* Runs what the change caused until nothing is left to do: over-capacity
 * reconciliation on marked pools, then dispatch of marked queues.  Each
 * dispatch only adds bookings that fit, so it cannot make a pool dirty;
 * the loop is bounded by the number of marks. */
static int run_consequences(fr_engine *e)
{
    fr__txn *t = &e->txn;
    size_t pools_done = 0;
    size_t queues_done = 0;
    while (pools_done < t->dirty_pools.len || queues_done < t->dirty_queues.len) {
        while (pools_done < t->dirty_pools.len) {
            int rc = fr__detect_overcap(e, t->dirty_pools.items[pools_done++]);
            if (rc != FR_OK) {
                return rc;
            }
        }
        while (queues_done < t->dirty_queues.len) {
            fr__queue_rec *q = t->dirty_queues.items[queues_done++];
            int rc = fr__dispatch_queue(e, q);
            if (rc != FR_OK) {
                return rc;
            }
        }
    }
    if (t->touched_allocations && e->open_double.len > 0) {
        return fr__recheck_double(e);
    }
    return FR_OK;
}

/* A store that keeps entities gets the ids as text, and the record keeps
 * them so from then on (it is read back as text anyway); the memory store
 * keeps nothing, so its records stay compact. */
static int put_conflict(fr_engine *e, fr__conflict_rec *rec)
{
    int rc = fr__store_keeps_entities(e->store) ? fr__conflict_rec_ids_text(rec) : FR_OK;
    return rc == FR_OK ? e->store->methods->put_conflict(e->store, &rec->c) : rc;
}

static int write_journal(fr_engine *e)
{
    fr__txn *t = &e->txn;
    const struct fr_store_methods *m = e->store->methods;
    for (size_t i = 0; i < t->journal_len; i++) {
        fr__journal_entry *j = &t->journal[i];
        int rc = FR_OK;
        switch (j->kind) {
        case FR_ENTITY_POOL:
            rc = m->put_pool(e->store, &((fr__pool_rec *)j->rec)->p);
            break;
        case FR_ENTITY_ALLOCATION:
            rc = m->put_allocation(e->store, &((fr__alloc_rec *)j->rec)->a);
            break;
        case FR_ENTITY_REQUEST:
            rc = m->put_request(e->store, &((fr__req_rec *)j->rec)->r);
            break;
        case FR_ENTITY_CONFLICT:
            rc = put_conflict(e, j->rec);
            break;
        case FR_ENTITY_SAMPLE:
            rc = fr__sample_put(e, j->rec);
            break;
        case FR_ENTITY_PLAN:
            rc = fr__plan_put(e, j->rec);
            break;
        default:
            assert(0);
        }
        if (rc != FR_OK) {
            return rc;
        }
    }
    /* A store that keeps events as they are takes them over (no copy of
     * their JSON); the cleared ones are then freed by the store. */
    int hand_over = m->version >= 6 && m->append_event_owned != NULL;
    for (size_t i = 0; i < t->events_len; i++) {
        t->events[i].seq = e->head_seq + 1 + (int64_t)i;
        int rc = hand_over ? m->append_event_owned(e->store, &t->events[i])
                           : m->append_event(e->store, &t->events[i]);
        if (rc != FR_OK) {
            return rc;
        }
    }
    return FR_OK;
}

static int report_detected(fr_engine *e, fr_result *res)
{
    fr__txn *t = &e->txn;
    if (res == NULL) {
        return FR_OK;
    }
    /* A result reused across calls reports only this change. */
    free(res->conflicts_detected);
    res->conflicts_detected = NULL;
    res->conflicts_detected_len = 0;
    if (t->detected.len == 0) {
        return FR_OK;
    }
    char(*ids)[FR_ID_SIZE] = calloc(t->detected.len, sizeof *ids);
    if (ids == NULL) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < t->detected.len; i++) {
        memcpy(ids[i], ((fr__conflict_rec *)t->detected.items[i])->c.id, FR_ID_SIZE);
    }
    free(res->conflicts_detected);
    res->conflicts_detected = ids;
    res->conflicts_detected_len = t->detected.len;
    return FR_OK;
}

int fr__txn_commit(fr_engine *e, fr_result *res)
{
    int rc = run_consequences(e);
    if (rc == FR_OK) {
        rc = report_detected(e, res);
    }
    if (rc == FR_OK) {
        rc = fr__idem_put_success(e);
    }
    if (rc == FR_OK) {
        rc = write_journal(e);
        if (rc != FR_OK && rc != FR_ENOMEM) {
            rc = FR_ESTORE;
        }
    }
    if (rc == FR_OK && e->group != NULL) {
        rc = fr__group_join(e); /* committed with the group, later */
    } else if (rc == FR_OK) {
        rc = e->store->methods->commit(e->store);
        if (rc != FR_OK) {
            rc = FR_ESTORE;
        }
        if (rc == FR_OK) {
            e->call_committed = 1; /* sync before acknowledging */
            e->counters.store_commits++;
        }
    }
    if (rc != FR_OK) {
        if (res != NULL) {
            free(res->conflicts_detected);
            res->conflicts_detected = NULL;
            res->conflicts_detected_len = 0;
            if (res->status == FR_OK) {
                fr__result_fail(res, rc, NULL, "%s",
                                rc == FR_ESTORE ? "the store failed; nothing was changed"
                                                : "out of memory; nothing was changed");
            }
        }
        fr__txn_abort(e);
        return rc;
    }
    e->head_seq += (int64_t)e->txn.events_len;
    txn_reset(e);
    return FR_OK;
}
