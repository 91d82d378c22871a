/*
 * store_memory.c — the volatile store: an event log in memory, nothing else.
 *
 * The engine keeps the authoritative working state (pools, allocations,
 * requests, conflicts) in its own memory, and a memory store dies with the
 * process, so storing a second copy of every entity here would buy nothing:
 * there is no later `load` that could use it.  put_* therefore accept the
 * entity and do nothing.  What the store does keep is the event log, because
 * fr_event_list answers from it (`events_after`) and because the transaction
 * rules still apply to it: events appended inside a transaction become visible
 * on commit and vanish on rollback.
 *
 * Workload: appends at the tail in seq order, reads of a seq range (catch-up,
 * replay, GET /events).  A growing array sorted by seq fits: append is
 * amortized O(1), events_after is a binary search plus a scan.  Appended
 * events wait in a pending array until commit; commit cannot fail because
 * append_event reserves room in the committed array beforehand.
 *
 * Not thread-safe; the engine serializes its calls (see fleetres_store.h).
 */
#include <assert.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entity.h"
#include "fleetres_store.h"
#include "fr_int.h"
#include "idmap.h"

/* An array of owned events, sorted by seq. */
typedef struct event_array {
    fr_event *items;
    size_t len;
    size_t cap;
} event_array;

typedef struct memory_store {
    fr_store base; /* first: a memory_store * is a fr_store * */
    event_array committed;
    event_array pending;
    int in_transaction;
    fr__idmap idempotency;   /* scope \x1f key -> doc (committed) */
    fr__idmap idem_pending;  /* the same, written by the open transaction */
    /* Savepoints (fr__store_memory_open_grouped): where the pending events
     * stood, and an undo log of the pending idempotency records. */
    size_t mark_events;
    size_t mark_idem;
    struct idem_undo {
        char *key;
        char *prev; /* the pending doc it replaced, or NULL */
    } *idem_log;
    size_t idem_log_len, idem_log_cap;
    struct fr_store_methods grouped_methods; /* the table when opened grouped */
} memory_store;

/* Frees the docs held by an idempotency map, then the map. */
static void idem_map_free(fr__idmap *map)
{
    size_t cur = 0;
    const char *key;
    void *doc;
    while (fr__idmap_next(map, &cur, &key, &doc)) {
        free(doc);
    }
    fr__idmap_free(map);
}

/* Undoes the pending idempotency puts after the first `keep` (newest first). */
static void idem_log_undo(memory_store *m, size_t keep)
{
    while (m->idem_log_len > keep) {
        struct idem_undo *u = &m->idem_log[--m->idem_log_len];
        free(fr__idmap_get(&m->idem_pending, u->key));
        if (u->prev != NULL) {
            fr__idmap_replace(&m->idem_pending, u->key, u->prev);
        } else {
            fr__idmap_del(&m->idem_pending, u->key);
        }
        free(u->key);
    }
}

/* The transaction ended: its log is no longer needed. */
static void idem_log_forget(memory_store *m)
{
    for (size_t i = 0; i < m->idem_log_len; i++) {
        free(m->idem_log[i].key);
        free(m->idem_log[i].prev);
    }
    m->idem_log_len = 0;
}

static memory_store *memory_store_of(fr_store *store)
{
    assert(store != NULL);
    return (memory_store *)store;
}

/* Grows a's capacity to at least need items.  FR_OK or FR_ENOMEM (a untouched). */
static int event_array_reserve(event_array *a, size_t need)
{
    if (need <= a->cap) {
        return FR_OK;
    }
    size_t cap = a->cap < 16 ? 16 : a->cap;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / sizeof(fr_event)) {
            return FR_ENOMEM;
        }
        cap *= 2;
    }
    fr_event *items = realloc(a->items, cap * sizeof(fr_event));
    if (items == NULL) {
        return FR_ENOMEM;
    }
    a->items = items;
    a->cap = cap;
    return FR_OK;
}

/* Clears every event in a and empties it (the capacity is kept). */
static void event_array_clear(event_array *a)
{
    for (size_t i = 0; i < a->len; i++) {
        fr_event_clear(&a->items[i]);
    }
    a->len = 0;
}

static void event_array_free(event_array *a)
{
    event_array_clear(a);
    free(a->items);
    a->items = NULL;
    a->cap = 0;
}

static int64_t committed_head(const memory_store *m)
{
    return m->committed.len == 0 ? 0 : m->committed.items[m->committed.len - 1].seq;
}

/* Index of the first committed event with seq > after (len when none). */
static size_t committed_lower_bound(const memory_store *m, int64_t after)
{
    size_t lo = 0;
    size_t hi = m->committed.len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->committed.items[mid].seq <= after) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void memory_close(fr_store *store)
{
    memory_store *m = memory_store_of(store);
    /* An open transaction is lost, as with a crash of a durable store. */
    event_array_free(&m->pending);
    event_array_free(&m->committed);
    idem_log_forget(m);
    free(m->idem_log);
    idem_map_free(&m->idempotency);
    idem_map_free(&m->idem_pending);
    free(m);
}

/* Nothing but the event log is kept, so nothing is streamed. */
static int memory_load(fr_store *store, const fr_store_loader *loader, int64_t *head_seq)
{
    memory_store *m = memory_store_of(store);
    (void)loader;
    assert(loader != NULL);
    assert(head_seq != NULL);
    assert(!m->in_transaction);
    *head_seq = committed_head(m);
    return FR_OK;
}

static int memory_begin(fr_store *store, int64_t *head_seq)
{
    memory_store *m = memory_store_of(store);
    assert(head_seq != NULL);
    assert(!m->in_transaction);
    assert(m->pending.len == 0);
    m->in_transaction = 1;
    *head_seq = committed_head(m);
    return FR_OK;
}

static int memory_commit(fr_store *store)
{
    memory_store *m = memory_store_of(store);
    assert(m->in_transaction);
    /* append_event reserved the room, so this move cannot fail. */
    assert(m->committed.cap - m->committed.len >= m->pending.len);
    if (m->pending.len > 0) {
        memcpy(&m->committed.items[m->committed.len], m->pending.items,
               m->pending.len * sizeof(fr_event));
        m->committed.len += m->pending.len;
        m->pending.len = 0; /* ownership moved: do not clear */
    }
    /* put_idempotency reserved each key in the committed map: no allocation. */
    size_t cur = 0;
    const char *key;
    void *doc;
    while (fr__idmap_next(&m->idem_pending, &cur, &key, &doc)) {
        free(fr__idmap_get(&m->idempotency, key));
        int found = fr__idmap_replace(&m->idempotency, key, doc);
        assert(found);
        (void)found;
        fr__idmap_replace(&m->idem_pending, key, NULL);
    }
    idem_map_free(&m->idem_pending);
    idem_log_forget(m);
    m->in_transaction = 0;
    return FR_OK;
}

static void memory_rollback(fr_store *store)
{
    memory_store *m = memory_store_of(store);
    event_array_clear(&m->pending);
    idem_map_free(&m->idem_pending);
    idem_log_forget(m);
    m->in_transaction = 0;
}

static int memory_savepoint(fr_store *store)
{
    memory_store *m = memory_store_of(store);
    assert(m->in_transaction);
    m->mark_events = m->pending.len;
    m->mark_idem = m->idem_log_len;
    return FR_OK;
}

static void memory_rollback_to_savepoint(fr_store *store)
{
    memory_store *m = memory_store_of(store);
    assert(m->in_transaction && m->pending.len >= m->mark_events);
    while (m->pending.len > m->mark_events) {
        fr_event_clear(&m->pending.items[--m->pending.len]);
    }
    idem_log_undo(m, m->mark_idem);
}

static int idem_key(char *buf, size_t size, const char *scope, const char *key)
{
    int n = snprintf(buf, size, "%s\x1f%s", scope, key);
    return n > 0 && (size_t)n < size;
}

static int memory_put_idempotency(fr_store *store, const char *scope, const char *key,
                                  const char *doc, int64_t created_at_ms)
{
    memory_store *m = memory_store_of(store);
    assert(m->in_transaction);
    (void)created_at_ms; /* kept for the life of the process */
    char k[1024];
    if (!idem_key(k, sizeof k, scope, key)) {
        return FR_EINVAL;
    }
    /* Reserve the key in the committed map now (NULL reads as absent), so
     * that commit only swaps pointers and cannot fail. */
    if (fr__idmap_get(&m->idempotency, k) == NULL &&
        fr__idmap_put(&m->idempotency, k, NULL) != FR_OK) {
        return FR_ENOMEM;
    }
    if (m->idem_log_len == m->idem_log_cap) {
        size_t cap = m->idem_log_cap == 0 ? 8 : m->idem_log_cap * 2;
        struct idem_undo *log = realloc(m->idem_log, cap * sizeof *log);
        if (log == NULL) {
            return FR_ENOMEM;
        }
        m->idem_log = log;
        m->idem_log_cap = cap;
    }
    char *copy = strdup(doc);
    char *key_copy = strdup(k);
    if (copy == NULL || key_copy == NULL) {
        free(copy);
        free(key_copy);
        return FR_ENOMEM;
    }
    char *prev = fr__idmap_get(&m->idem_pending, k);
    if (fr__idmap_put(&m->idem_pending, k, copy) != FR_OK) {
        free(copy);
        free(key_copy);
        return FR_ENOMEM;
    }
    m->idem_log[m->idem_log_len++] = (struct idem_undo){key_copy, prev};
    return FR_OK;
}

static int memory_get_idempotency(fr_store *store, const char *scope, const char *key,
                                  char **doc)
{
    memory_store *m = memory_store_of(store);
    char k[1024];
    if (!idem_key(k, sizeof k, scope, key)) {
        return FR_ENOTFOUND;
    }
    /* The open transaction's own records first (required with savepoints). */
    const char *found = fr__idmap_get(&m->idem_pending, k);
    if (found == NULL) {
        found = fr__idmap_get(&m->idempotency, k);
    }
    if (found == NULL) {
        return FR_ENOTFOUND;
    }
    char *copy = strdup(found);
    if (copy == NULL) {
        return FR_ENOMEM;
    }
    *doc = copy;
    return FR_OK;
}

/* Entities are not stored: the engine's memory is the only copy (see the top
 * of this file).  Accepting them keeps the engine's code backend-agnostic. */
static int memory_put_pool(fr_store *store, const fr_pool *pool)
{
    (void)store;
    (void)pool;
    assert(memory_store_of(store)->in_transaction);
    assert(pool != NULL);
    return FR_OK;
}

static int memory_put_allocation(fr_store *store, const fr_allocation *allocation)
{
    (void)store;
    (void)allocation;
    assert(memory_store_of(store)->in_transaction);
    assert(allocation != NULL);
    return FR_OK;
}

static int memory_put_request(fr_store *store, const fr_request *request)
{
    (void)store;
    (void)request;
    assert(memory_store_of(store)->in_transaction);
    assert(request != NULL);
    return FR_OK;
}

static int memory_put_conflict(fr_store *store, const fr_conflict *conflict)
{
    (void)store;
    (void)conflict;
    assert(memory_store_of(store)->in_transaction);
    assert(conflict != NULL);
    return FR_OK;
}

int fr__store_keeps_entities(const fr_store *store)
{
    /* Also a copy of the memory store's methods (the grouped test store). */
    return store->methods->put_conflict != memory_put_conflict;
}

static int memory_put_sample(fr_store *store, const fr_sample *sample)
{
    (void)store;
    (void)sample;
    assert(memory_store_of(store)->in_transaction);
    assert(sample != NULL);
    return FR_OK;
}

static int memory_put_plan(fr_store *store, const fr_plan *plan)
{
    (void)store;
    (void)plan;
    assert(memory_store_of(store)->in_transaction);
    assert(plan != NULL);
    return FR_OK;
}

/* Checks the seq and reserves room for one more pending event, and for it
 * in the committed array, so that commit cannot fail later. */
static int reserve_append(memory_store *m, const fr_event *event)
{
    assert(m->in_transaction);
    assert(event != NULL);
    int64_t last = m->pending.len > 0 ? m->pending.items[m->pending.len - 1].seq
                                      : committed_head(m);
    assert(event->seq == last + 1);
    (void)last;
    (void)event;
    size_t need = m->committed.len + m->pending.len + 1;
    int rc = event_array_reserve(&m->committed, need);
    if (rc == FR_OK) {
        rc = event_array_reserve(&m->pending, m->pending.len + 1);
    }
    return rc;
}

static int memory_append_event(fr_store *store, const fr_event *event)
{
    memory_store *m = memory_store_of(store);
    int rc = reserve_append(m, event);
    if (rc == FR_OK) {
        rc = fr__event_copy(&m->pending.items[m->pending.len], event);
    }
    if (rc != FR_OK) {
        return rc;
    }
    m->pending.len++;
    return FR_OK;
}

/* The engine's event is kept as it is: its strings change hands. */
static int memory_append_event_owned(fr_store *store, fr_event *event)
{
    memory_store *m = memory_store_of(store);
    int rc = reserve_append(m, event);
    if (rc != FR_OK) {
        return rc;
    }
    m->pending.items[m->pending.len++] = *event;
    event->fleet_id = NULL;
    event->actor = NULL;
    event->data_json = NULL;
    return FR_OK;
}

static int fleet_matches(const fr_event *event, const char *fleet_id)
{
    if (fleet_id == NULL) {
        return 1;
    }
    return event->fleet_id != NULL && strcmp(event->fleet_id, fleet_id) == 0;
}

/* Answers from committed events only: events appended by an open transaction
 * are not visible until commit.  No match: *items = NULL, *count = 0. */
static int memory_events_after(fr_store *store, int64_t after, size_t limit,
                               const char *fleet_id, fr_event **items, size_t *count)
{
    memory_store *m = memory_store_of(store);
    assert(items != NULL);
    assert(count != NULL);

    size_t first = committed_lower_bound(m, after);
    size_t room = m->committed.len - first;
    if (room > limit) {
        room = limit;
    }
    fr_event *out = NULL;
    if (room > 0) {
        out = calloc(room, sizeof(fr_event));
        if (out == NULL) {
            return FR_ENOMEM;
        }
    }
    size_t n = 0;
    for (size_t i = first; i < m->committed.len && n < room; i++) {
        const fr_event *e = &m->committed.items[i];
        if (!fleet_matches(e, fleet_id)) {
            continue;
        }
        int rc = fr__event_copy(&out[n], e);
        if (rc != FR_OK) {
            fr_event_free_array(out, n);
            return rc;
        }
        n++;
    }
    assert(n <= room);
    if (n == 0) {
        free(out);
        out = NULL;
    }
    *items = out;
    *count = n;
    return FR_OK;
}

static int memory_control(fr_store *store, int op, void *arg)
{
    (void)memory_store_of(store);
    (void)arg;
    if (op == FR_STORE_CTL_PING) {
        return FR_OK;
    }
    return FR_ENOTFOUND;
}

static const struct fr_store_methods memory_methods = {
    .version = FR_STORE_METHODS_VERSION,
    .close = memory_close,
    .load = memory_load,
    .begin = memory_begin,
    .commit = memory_commit,
    .rollback = memory_rollback,
    .put_pool = memory_put_pool,
    .put_allocation = memory_put_allocation,
    .put_request = memory_put_request,
    .put_conflict = memory_put_conflict,
    .append_event = memory_append_event,
    .events_after = memory_events_after,
    .control = memory_control,
    .put_sample = memory_put_sample,
    .put_idempotency = memory_put_idempotency,
    .get_idempotency = memory_get_idempotency,
    .put_plan = memory_put_plan,
    .append_event_owned = memory_append_event_owned,
};


FR_API int fr_store_memory_open(fr_store **out)
{
    if (out == NULL) {
        return FR_EINVAL;
    }
    memory_store *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return FR_ENOMEM;
    }
    m->base.methods = &memory_methods;
    *out = &m->base;
    return FR_OK;
}

/* The same with savepoints: the engine then runs calls in groups (group.c),
 * as with PostgreSQL; the tests use it to exercise that path.  The store
 * carries its own copy of the table with the two methods added. */
int fr__store_memory_open_grouped(fr_store **out)
{
    int rc = fr_store_memory_open(out);
    if (rc == FR_OK) {
        memory_store *m = memory_store_of(*out);
        m->grouped_methods = memory_methods;
        m->grouped_methods.savepoint = memory_savepoint;
        m->grouped_methods.rollback_to_savepoint = memory_rollback_to_savepoint;
        m->base.methods = &m->grouped_methods;
    }
    return rc;
}
