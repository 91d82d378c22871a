/*
 * conflicts.c — conflict detection (SPEC §6): over-capacity intervals after a
 * capacity cut or an overcommit, vehicle double bookings after a pool turns
 * exclusive, auto-resolution when the condition disappears, and manual
 * conflicts.  Resolution strategies (preempt, reschedule, reassign) build on
 * these records in resolve.c.
 *
 * Over-capacity reconciliation of one pool costs O((k + 1) log n) for k runs
 * (ledger.h), plus O(c log k) for its c open conflicts (found newest first
 * among all conflicts).  After a resolution, which moves only bookings, it
 * is limited to the runs and conflicts near the bookings it moved.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fr_int.h"

/* Runs where the pool's free capacity is negative, in time order. */
#define FR__RUNS_MAX 10000

typedef struct run {
    int64_t start_ms, end_ms, excess_milli;
} run;

static int overlaps(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    return a0 < b1 && b0 < a1;
}

/* Whether a listed booking has a key (its id in binary); all zero is none:
 * its id is not in canonical form. */
static int has_key(const fr__ledger_key *key)
{
    static const fr__ledger_key none;
    return memcmp(key, &none, sizeof none) != 0;
}

/* Sets the conflict's allocation ids to the live bookings over [start, end)
 * (at most FR__CONFLICT_IDS_MAX; arrays sized to what is listed: a pool cut
 * for months may record thousands of conflicts at once).  One walk of the
 * ledger into buffers on the stack.  The ids are the ledger's keys, kept in
 * binary (see conflict_rec.c); only when a booking has no key (an id not in
 * canonical form) are they copied as text from the allocation records. */
static int set_ids_over(fr__conflict_rec *rec)
{
    const fr_conflict *c = &rec->c;
    uint64_t tags[FR__CONFLICT_IDS_MAX];
    fr__ledger_key keys[FR__CONFLICT_IDS_MAX];
    size_t n = fr__ledger_overlapping_keys(rec->pool->live, c->start_ms, c->end_ms, tags, keys,
                                           NULL, NULL, FR__CONFLICT_IDS_MAX);
    n = n < FR__CONFLICT_IDS_MAX ? n : FR__CONFLICT_IDS_MAX;
    size_t keyed = 0;
    while (keyed < n && has_key(&keys[keyed])) {
        keyed++;
    }
    if (keyed == n) {
        unsigned char(*ids)[16] = malloc((n > 0 ? n : 1) * sizeof *ids);
        if (ids == NULL) {
            return FR_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            memcpy(ids[i], keys[i].bytes, sizeof ids[i]);
        }
        fr__conflict_rec_set_ids_bin(rec, ids, n);
        return FR_OK;
    }
    char(*text)[FR_ID_SIZE] = malloc(n * sizeof *text);
    if (text == NULL) {
        return FR_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (has_key(&keys[i])) {
            fr__uuid_format(keys[i].bytes, text[i]);
        } else {
            memcpy(text[i], ((const fr__alloc_rec *)(uintptr_t)tags[i])->a.id, FR_ID_SIZE);
        }
    }
    fr__conflict_rec_clear_ids(rec);
    rec->c.allocation_ids = text;
    rec->c.allocation_ids_len = n;
    return FR_OK;
}

/* ---- ids of many new conflicts at once --------------------------------------
 * A cut over weeks makes thousands of runs, each a new conflict listing the
 * bookings over it; a booking near two runs is listed by both.  Walking the
 * ledger once per batch of runs instead of once per run descends the tree
 * once per batch and reads each booking's record once. */

/* Runs per batch, and bookings one batch may list (a batch that lists more
 * falls back to a walk per run). */
#define BATCH_RUNS 32
#define BATCH_LISTED 4096

typedef struct batch_buffers {
    uint64_t tags[BATCH_LISTED];
    fr__ledger_key keys[BATCH_LISTED];
    int64_t starts[BATCH_LISTED];
    int64_t ends[BATCH_LISTED];
} batch_buffers;

/* The binary ids over each of runs[0..n) (sorted, disjoint, n <= BATCH_RUNS)
 * into out[k] (malloc'd, out_len[k] of them), exactly as set_ids_over lists
 * them: the bookings meeting run k in (start, handle) order, the first
 * FR__CONFLICT_IDS_MAX.  FR_ELIMIT when the batch lists more than
 * BATCH_LISTED or a booking without a key (nothing is set), or FR_ENOMEM. */
static int list_batch(const fr__pool_rec *pool, const run *runs, size_t n, batch_buffers *b,
                      unsigned char (**out)[16], size_t *out_len)
{
    assert(n > 0 && n <= BATCH_RUNS);
    size_t listed = fr__ledger_overlapping_keys(pool->live, runs[0].start_ms,
                                                runs[n - 1].end_ms, b->tags, b->keys, b->starts,
                                                b->ends, BATCH_LISTED);
    if (listed > BATCH_LISTED) {
        return FR_ELIMIT;
    }
    for (size_t i = 0; i < listed; i++) {
        if (!has_key(&b->keys[i])) {
            return FR_ELIMIT;
        }
    }
    size_t count[BATCH_RUNS] = {0};
    for (int pass = 0; pass < 2; pass++) {
        /* Bookings come by start: the first run a booking can meet (the
         * first that ends after its start) only moves forward. */
        size_t first = 0;
        for (size_t i = 0; i < listed; i++) {
            while (first < n && runs[first].end_ms <= b->starts[i]) {
                first++;
            }
            for (size_t k = first; k < n && runs[k].start_ms < b->ends[i]; k++) {
                if (pass == 0) {
                    count[k]++;
                } else if (out_len[k] < FR__CONFLICT_IDS_MAX) {
                    memcpy(out[k][out_len[k]++], b->keys[i].bytes, sizeof out[k][0]);
                }
            }
        }
        for (size_t k = 0; pass == 0 && k < n; k++) {
            size_t len = count[k] < FR__CONFLICT_IDS_MAX ? count[k] : FR__CONFLICT_IDS_MAX;
            out[k] = malloc((len > 0 ? len : 1) * sizeof *out[k]);
            out_len[k] = 0;
            if (out[k] == NULL) {
                for (size_t j = 0; j < k; j++) {
                    free(out[j]);
                }
                return FR_ENOMEM;
            }
        }
    }
    return FR_OK;
}

/* Appends s to text (of size bytes, len used), truncating at the end. */
static void append_text(char *text, size_t size, size_t *len, const char *s)
{
    size_t n = strlen(s);
    size_t room = size - 1 - *len;
    n = n < room ? n : room;
    memcpy(text + *len, s, n);
    *len += n;
    text[*len] = '\0';
}

/* "pool NAME is over capacity by EXCESS from START to END", built from its
 * pieces (a printf per conflict was a tenth of a large detection). */
static int describe(fr_conflict *c, const char *pool_name)
{
    char excess[32], start[32], end[32] = "open end";
    fr_qty_format(c->excess_milli, excess, sizeof excess);
    fr_time_format(c->start_ms, start, sizeof start);
    if (c->end_ms != FR_TIME_INF) {
        fr_time_format(c->end_ms, end, sizeof end);
    }
    char text[512] = "";
    size_t len = 0;
    const char *pieces[] = {"pool ", pool_name, " is over capacity by ", excess, " from ",
                            start, " to ", end};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        append_text(text, sizeof text, &len, pieces[i]);
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return FR_ENOMEM;
    }
    memcpy(copy, text, len + 1);
    free(c->description);
    c->description = copy;
    return FR_OK;
}

static int resolve_auto(fr_engine *e, fr__conflict_rec *rec)
{
    int rc = fr__conflict_touch(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    rec->c.status = FR_CONFLICT_RESOLVED;
    rec->c.resolved_at_ms = e->txn.now_ms;
    free(rec->c.resolution_strategy);
    free(rec->c.resolution_resolved_by);
    rec->c.resolution_strategy = strdup("auto");
    rec->c.resolution_resolved_by = strdup("system");
    if (rec->c.resolution_strategy == NULL || rec->c.resolution_resolved_by == NULL) {
        return FR_ENOMEM;
    }
    return fr__conflict_changed(e, rec, "resolved");
}

/* Updates an open conflict to the hull of the runs meeting it. */
static int refresh(fr_engine *e, fr__conflict_rec *rec, int64_t start, int64_t end,
                   int64_t excess)
{
    if (rec->c.start_ms == start && rec->c.end_ms == end && rec->c.excess_milli == excess) {
        return FR_OK;
    }
    int rc = fr__conflict_touch(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    rec->c.start_ms = start;
    rec->c.end_ms = end;
    rec->c.excess_milli = excess;
    rc = set_ids_over(rec);
    if (rc == FR_OK) {
        rc = describe(&rec->c, rec->pool->p.name);
    }
    if (rc == FR_OK) {
        rc = fr__conflict_changed(e, rec, "updated");
    }
    return rc;
}

/* A new conflict over run r.  ids (binary, ids_len of them, or NULL:
 * listed here) are the run's, from list_batch; this takes them over in
 * every case. */
static int create_overcap(fr_engine *e, fr__pool_rec *pool, const run *r,
                          unsigned char (*ids)[16], size_t ids_len)
{
    fr__conflict_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        free(ids);
        return FR_ENOMEM;
    }
    fr_conflict *c = &rec->c;
    rec->pool = pool;
    c->type = FR_CONFLICT_OVER_CAPACITY;
    c->status = FR_CONFLICT_OPEN;
    c->start_ms = r->start_ms;
    c->end_ms = r->end_ms;
    c->excess_milli = r->excess_milli;
    c->resolved_at_ms = FR_TIME_NULL;
    memcpy(c->pool_id, pool->p.id, FR_ID_SIZE);
    if (ids != NULL) {
        fr__conflict_rec_set_ids_bin(rec, ids, ids_len);
    }
    c->fleet_id = strdup(pool->p.fleet_id);
    int rc = c->fleet_id == NULL ? FR_ENOMEM : ids == NULL ? set_ids_over(rec) : FR_OK;
    if (rc == FR_OK) {
        rc = describe(c, pool->p.name);
    }
    if (rc == FR_OK) {
        fr__new_id(e, c->id);
        rc = fr__conflict_created(e, rec, "detected");
        if (rc == FR_OK || fr__idmap_get(&e->conflicts_by_id, c->id) == rec) {
            return rc; /* registered: the txn owns it now */
        }
    }
    fr__conflict_rec_clear(rec);
    free(rec);
    return rc;
}

/* Open over-capacity conflicts of the pool (borrowed pointers).  Newest
 * first, and no further than the pool's count of them: open ones are
 * usually recent, and the list holds every conflict ever recorded. */
static int open_overcap_of(fr_engine *e, const fr__pool_rec *pool, fr__vec *out)
{
    if (pool->open_overcap == 0) {
        return FR_OK;
    }
    for (size_t i = e->conflicts.len; i > 0 && out->len < pool->open_overcap; i--) {
        fr__conflict_rec *c = e->conflicts.items[i - 1];
        if (c->pool == pool && c->c.type == FR_CONFLICT_OVER_CAPACITY &&
            c->c.status == FR_CONFLICT_OPEN) {
            int rc = fr__vec_push(out, c);
            if (rc != FR_OK) {
                return rc;
            }
        }
    }
    return FR_OK;
}

static size_t first_ending_after(const run *runs, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (runs[mid].end_ms <= t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* A new conflict for every run that met no open one: in batches of runs
 * next to each other when there are many (list_batch). */
static int create_unmet(fr_engine *e, fr__pool_rec *pool, const run *runs, size_t n,
                        const char *met)
{
    size_t unmet = 0;
    for (size_t j = 0; j < n; j++) {
        unmet += !met[j];
    }
    batch_buffers *b = unmet >= BATCH_RUNS ? malloc(sizeof *b) : NULL;
    int rc = FR_OK;
    for (size_t j = 0; rc == FR_OK && j < n;) {
        size_t len = 0; /* the unmet runs from j on, up to a batch */
        while (b != NULL && j + len < n && len < BATCH_RUNS && !met[j + len]) {
            len++;
        }
        if (len <= 1) {
            rc = met[j] ? FR_OK : create_overcap(e, pool, &runs[j], NULL, 0);
            j++;
            continue;
        }
        unsigned char(*ids[BATCH_RUNS])[16];
        size_t ids_len[BATCH_RUNS];
        /* A batch that lists too much (or finds no memory) goes run by run. */
        int listed = list_batch(pool, runs + j, len, b, ids, ids_len) == FR_OK;
        for (size_t k = 0; k < len; k++) {
            if (rc == FR_OK) {
                rc = create_overcap(e, pool, &runs[j + k], listed ? ids[k] : NULL,
                                    listed ? ids_len[k] : 0);
            } else if (listed) {
                free(ids[k]);
            }
        }
        j += len;
    }
    free(b);
    return rc;
}

static int reconcile(fr_engine *e, fr__pool_rec *pool, const run *runs, size_t n,
                     fr__vec *open)
{
    /* Which runs meet an open conflict (by the conflicts' old intervals). */
    char *met = calloc(n > 0 ? n : 1, 1);
    if (met == NULL) {
        return FR_ENOMEM;
    }
    int rc = FR_OK;
    for (size_t i = 0; rc == FR_OK && i < open->len; i++) {
        fr__conflict_rec *c = open->items[i];
        int64_t s = 0, t = 0, excess = 0;
        int any = 0;
        /* Runs are disjoint and sorted: those meeting c are consecutive,
         * from the first that ends after c starts. */
        for (size_t j = first_ending_after(runs, n, c->c.start_ms);
             j < n && runs[j].start_ms < c->c.end_ms; j++) {
            if (!overlaps(c->c.start_ms, c->c.end_ms, runs[j].start_ms, runs[j].end_ms)) {
                continue;
            }
            met[j] = 1;
            s = any ? s : runs[j].start_ms;
            t = runs[j].end_ms;
            excess = (!any || runs[j].excess_milli > excess) ? runs[j].excess_milli : excess;
            any = 1;
        }
        rc = any ? refresh(e, c, s, t, excess) : resolve_auto(e, c);
    }
    if (rc == FR_OK) {
        rc = create_unmet(e, pool, runs, n, met);
    }
    free(met);
    return rc;
}

/* Whether [a0, a1] and [b0, b1] meet (touching counts). */
static int meets(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    return a0 <= b1 && b0 <= a1;
}

/* What collect_runs_near gathers, run by run from the ledger. */
typedef struct run_collection {
    run *runs;
    size_t n, cap;
    int64_t lo, hi;
    int failed; /* out of memory */
} run_collection;

/* Takes a run meeting [lo, hi] and grows the window to cover it; 0 to stop
 * (past the window, full, or out of memory). */
static int take_run(void *ctx, int64_t start_ms, int64_t end_ms, int64_t excess_milli)
{
    run_collection *col = ctx;
    if (start_ms > col->hi) {
        return 0;
    }
    if (col->n == col->cap) {
        size_t cap = col->cap == 0 ? 4 : col->cap * 2;
        run *grown = realloc(col->runs, cap * sizeof *grown);
        if (grown == NULL) {
            col->failed = 1;
            return 0;
        }
        col->runs = grown;
        col->cap = cap;
    }
    col->runs[col->n++] = (run){start_ms, end_ms, excess_milli};
    col->lo = start_ms < col->lo ? start_ms : col->lo;
    col->hi = end_ms > col->hi ? end_ms : col->hi;
    return col->n < FR__RUNS_MAX;
}

/* The runs meeting [*lo, *hi], which grows to cover them.  FR_OK or
 * FR_ENOMEM; *runs is malloc'd (or NULL). */
static int collect_runs_near(const fr__pool_rec *pool, int64_t *lo, int64_t *hi, run **out,
                             size_t *count)
{
    run_collection col = {NULL, 0, 0, *lo, *hi, 0};
    /* A run ending at lo touches it. */
    fr__ledger_each_overrun(pool->live, *lo - 1, take_run, &col);
    if (col.failed) {
        free(col.runs);
        return FR_ENOMEM;
    }
    *lo = col.lo;
    *hi = col.hi;
    *out = col.runs;
    *count = col.n;
    return FR_OK;
}

/* Every run of the pool. */
static int collect_runs(const fr__pool_rec *pool, run **out, size_t *count)
{
    int64_t lo = FR_TIME_MIN_MS, hi = INT64_MAX;
    return collect_runs_near(pool, &lo, &hi, out, count);
}

/* Reconciliation around [from, to), where only bookings changed (a
 * resolution's victims): outside it the free capacity, its runs and the
 * conflicts that meet only those are as the last reconciliation left them.
 * The window grows until it covers every open conflict and every run that
 * meets it (a run crossing its edge, a conflict spanning runs on both
 * sides), then only those runs and conflicts are reconciled: O((k + c)
 * log n) for the k runs and c conflicts near the change, instead of every
 * run of the pool. */
static int detect_near(fr_engine *e, fr__pool_rec *pool, fr__vec *open, int64_t from_ms,
                       int64_t to_ms)
{
    int64_t lo = from_ms, hi = to_ms;
    run *runs = NULL;
    size_t n = 0;
    int rc = FR_OK;
    /* Each pass that grows the window takes in another conflict or run. */
    for (size_t pass = 0; rc == FR_OK && pass <= open->len + FR__RUNS_MAX; pass++) {
        int64_t lo0 = lo, hi0 = hi;
        for (size_t i = 0; i < open->len; i++) {
            const fr_conflict *c = &((const fr__conflict_rec *)open->items[i])->c;
            if (meets(c->start_ms, c->end_ms, lo, hi)) {
                lo = c->start_ms < lo ? c->start_ms : lo;
                hi = c->end_ms > hi ? c->end_ms : hi;
            }
        }
        free(runs);
        rc = collect_runs_near(pool, &lo, &hi, &runs, &n);
        if (rc != FR_OK) {
            return rc;
        }
        if (lo == lo0 && hi == hi0) {
            break;
        }
    }
    size_t kept = 0; /* the open conflicts inside the window, in order */
    for (size_t i = 0; i < open->len; i++) {
        const fr_conflict *c = &((const fr__conflict_rec *)open->items[i])->c;
        if (meets(c->start_ms, c->end_ms, lo, hi)) {
            open->items[kept++] = open->items[i];
        }
    }
    open->len = kept;
    if (n > 0 || open->len > 0) {
        rc = reconcile(e, pool, runs, n, open);
    }
    free(runs);
    return rc;
}

int fr__detect_overcap(fr_engine *e, fr__pool_rec *pool)
{
    fr__vec open = {0};
    int rc = open_overcap_of(e, pool, &open);
    int whole = pool->dirty_txn != e->txn.id || pool->dirty_from_ms == INT64_MIN ||
                pool->dirty_to_ms == INT64_MAX;
    if (rc == FR_OK && !whole) {
        rc = detect_near(e, pool, &open, pool->dirty_from_ms, pool->dirty_to_ms);
    } else if (rc == FR_OK) {
        run *runs = NULL;
        size_t n = 0;
        rc = collect_runs(pool, &runs, &n);
        if (rc == FR_OK && (n > 0 || open.len > 0)) {
            rc = reconcile(e, pool, runs, n, &open);
        }
        free(runs);
    }
    fr__vec_free(&open);
    return rc;
}

/* ---- double booking --------------------------------------------------------- */

static int listed_in_open_double(fr_engine *e, const char *alloc_id)
{
    for (size_t i = 0; i < e->open_double.len; i++) {
        const fr_conflict *c = &((fr__conflict_rec *)e->open_double.items[i])->c;
        for (size_t k = 0; k < c->allocation_ids_len; k++) {
            if (strcmp(c->allocation_ids[k], alloc_id) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static int create_double(fr_engine *e, fr__pool_rec *pool, fr__alloc_rec *a,
                         fr__alloc_rec **others, size_t n)
{
    fr__conflict_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    fr_conflict *c = &rec->c;
    rec->pool = pool;
    c->type = FR_CONFLICT_DOUBLE_BOOKING;
    c->status = FR_CONFLICT_OPEN;
    c->resolved_at_ms = FR_TIME_NULL;
    memcpy(c->pool_id, pool->p.id, FR_ID_SIZE);
    c->start_ms = FR_TIME_INF;
    c->end_ms = FR_TIME_MIN_MS;
    c->allocation_ids = calloc(n + 1, sizeof *c->allocation_ids);
    c->fleet_id = strdup(pool->p.fleet_id);
    c->vehicle_id = strdup(a->a.vehicle_id);
    char text[256];
    snprintf(text, sizeof text, "vehicle %s holds %zu overlapping allocations of type %s",
             a->a.vehicle_id, n + 1, a->a.resource_type);
    c->description = strdup(text);
    int rc = (c->allocation_ids && c->fleet_id && c->vehicle_id && c->description) ? FR_OK
                                                                                 : FR_ENOMEM;
    for (size_t i = 0; rc == FR_OK && i <= n; i++) {
        const fr_allocation *x = i == 0 ? &a->a : &others[i - 1]->a;
        memcpy(c->allocation_ids[i], x->id, FR_ID_SIZE);
        if (i > 0) { /* the overlap with a */
            int64_t s = x->start_ms > a->a.start_ms ? x->start_ms : a->a.start_ms;
            int64_t t = x->end_ms < a->a.end_ms ? x->end_ms : a->a.end_ms;
            c->start_ms = s < c->start_ms ? s : c->start_ms;
            c->end_ms = t > c->end_ms ? t : c->end_ms;
        }
    }
    c->allocation_ids_len = n + 1;
    if (rc == FR_OK) {
        fr__new_id(e, c->id);
        rc = fr__conflict_created(e, rec, "detected");
        if (rc == FR_OK || fr__idmap_get(&e->conflicts_by_id, c->id) == rec) {
            return rc;
        }
    }
    fr_conflict_clear(c);
    free(rec);
    return rc;
}

int fr__detect_double(fr_engine *e, fr__pool_rec *pool)
{
    size_t n = fr__ledger_overlapping(pool->live, FR_TIME_MIN_MS, FR_TIME_INF, NULL, 0);
    if (n == 0) {
        return FR_OK;
    }
    uint64_t *tags = malloc(n * sizeof *tags);
    if (tags == NULL) {
        return FR_ENOMEM;
    }
    fr__ledger_overlapping(pool->live, FR_TIME_MIN_MS, FR_TIME_INF, tags, n);
    int rc = FR_OK;
    for (size_t i = 0; rc == FR_OK && i < n; i++) {
        fr__alloc_rec *a = (fr__alloc_rec *)(uintptr_t)tags[i];
        if (a->a.vehicle_id == NULL || listed_in_open_double(e, a->a.id)) {
            continue;
        }
        fr__alloc_rec *others[FR_CONFLICTING_MAX];
        size_t k = fr__vehicle_overlaps(e, a->a.fleet_id, a->a.resource_type, a->a.vehicle_id,
                                        a->a.start_ms, a->a.end_ms, a, others, FR_CONFLICTING_MAX);
        if (k > 0) {
            rc = create_double(e, pool, a, others, k < FR_CONFLICTING_MAX ? k : FR_CONFLICTING_MAX);
        }
    }
    free(tags);
    return rc;
}

/* A double booking persists while two of its allocations are live and overlap. */
static int still_double(fr_engine *e, const fr_conflict *c)
{
    for (size_t i = 0; i < c->allocation_ids_len; i++) {
        const fr__alloc_rec *x = fr__idmap_get(&e->allocs_by_id, c->allocation_ids[i]);
        if (x == NULL || !fr__alloc_is_live(&x->a)) {
            continue;
        }
        for (size_t j = i + 1; j < c->allocation_ids_len; j++) {
            const fr__alloc_rec *y = fr__idmap_get(&e->allocs_by_id, c->allocation_ids[j]);
            if (y != NULL && fr__alloc_is_live(&y->a) &&
                overlaps(x->a.start_ms, x->a.end_ms, y->a.start_ms, y->a.end_ms)) {
                return 1;
            }
        }
    }
    return 0;
}

int fr__recheck_double(fr_engine *e)
{
    /* Resolving removes entries from open_double: walk a copy. */
    fr__vec to_resolve = {0};
    int rc = FR_OK;
    for (size_t i = 0; rc == FR_OK && i < e->open_double.len; i++) {
        fr__conflict_rec *c = e->open_double.items[i];
        if (!still_double(e, &c->c)) {
            rc = fr__vec_push(&to_resolve, c);
        }
    }
    for (size_t i = 0; rc == FR_OK && i < to_resolve.len; i++) {
        rc = resolve_auto(e, to_resolve.items[i]);
    }
    fr__vec_free(&to_resolve);
    return rc;
}

/* ---- manual conflicts and reads ----------------------------------------------- */

static int create_manual(fr_engine *e, const fr_conflict_params *p, fr__conflict_rec **out,
                         fr_result *res)
{
    fr__pool_rec *pool = p->pool_id == NULL ? NULL : fr__idmap_get(&e->pools_by_id, p->pool_id);
    if (pool == NULL || pool->p.deleted) {
        fr__result_fail(res, FR_EREFERENCE, "pool_id", "pool_id names no pool");
        return FR_EREFERENCE;
    }
    if (!fr__valid_time(p->start_ms) || !fr__valid_end(p->end_ms) || p->end_ms <= p->start_ms) {
        fr__result_fail(res, FR_EINVAL, "end", "end must be after start");
        return FR_EINVAL;
    }
    if (p->description == NULL || strlen(p->description) > 4096 ||
        p->allocation_ids_len > FR__CONFLICT_IDS_MAX ||
        (p->allocation_ids == NULL && p->allocation_ids_len > 0)) {
        fr__result_fail(res, FR_EINVAL, p->description == NULL ? "description" : "allocation_ids",
                        "description is required (<= 4096 bytes), at most 1000 allocation ids");
        return FR_EINVAL;
    }
    for (size_t i = 0; i < p->allocation_ids_len; i++) {
        if (p->allocation_ids[i] == NULL ||
            fr__idmap_get(&e->allocs_by_id, p->allocation_ids[i]) == NULL) {
            fr__result_fail(res, FR_EREFERENCE, "allocation_ids", "allocation %s does not exist",
                            p->allocation_ids[i] != NULL ? p->allocation_ids[i] : "(null)");
            return FR_EREFERENCE;
        }
    }
    fr__conflict_rec *rec = calloc(1, sizeof *rec);
    if (rec == NULL) {
        return FR_ENOMEM;
    }
    fr_conflict *c = &rec->c;
    rec->pool = pool;
    c->type = FR_CONFLICT_MANUAL;
    c->status = FR_CONFLICT_OPEN;
    c->start_ms = p->start_ms;
    c->end_ms = p->end_ms;
    c->resolved_at_ms = FR_TIME_NULL;
    memcpy(c->pool_id, pool->p.id, FR_ID_SIZE);
    c->fleet_id = strdup(pool->p.fleet_id);
    c->description = strdup(p->description);
    c->allocation_ids = calloc(p->allocation_ids_len + 1, sizeof *c->allocation_ids);
    int rc = (c->fleet_id && c->description && c->allocation_ids) ? FR_OK : FR_ENOMEM;
    for (size_t i = 0; rc == FR_OK && i < p->allocation_ids_len; i++) {
        const fr__alloc_rec *a = fr__idmap_get(&e->allocs_by_id, p->allocation_ids[i]);
        memcpy(c->allocation_ids[i], a->a.id, FR_ID_SIZE);
    }
    c->allocation_ids_len = p->allocation_ids_len;
    if (rc == FR_OK) {
        fr__new_id(e, c->id);
        rc = fr__conflict_created(e, rec, "detected");
        if (rc == FR_OK || fr__idmap_get(&e->conflicts_by_id, c->id) == rec) {
            *out = rec;
            return rc;
        }
    }
    fr_conflict_clear(c);
    free(rec);
    return rc;
}

static int create_conflict_locked(fr_engine *engine, const fr_ctx *ctx,
                                  const fr_conflict_params *params, fr_conflict *out,
                                  fr_result *res)
{
    int rc = fr__begin_call(engine, ctx);
    fr__conflict_rec *rec = NULL;
    if (rc == FR_OK) {
        rc = create_manual(engine, params, &rec, res);
        if (rc != FR_OK) {
            fr__txn_abort(engine);
        }
    }
    char id[FR_ID_SIZE] = "";
    if (rc == FR_OK) {
        memcpy(id, rec->c.id, FR_ID_SIZE);
        rc = fr__txn_commit(engine, res);
    }
    if (rc == FR_OK && out != NULL) {
        rec = fr__idmap_get(&engine->conflicts_by_id, id);
        rc = fr__conflict_rec_copy(out, rec);
    }
    return rc;
}

int fr_conflict_create(fr_engine *engine, const fr_ctx *ctx, const fr_conflict_params *params,
                       fr_conflict *out, fr_result *res)
{
    if (engine == NULL || params == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine and params are required");
        return FR_EINVAL;
    }
    fr__lock(engine);
    fr__idem_prior prior;
    int rc = fr__idem_lookup(engine, ctx, &prior, res);
    if (rc == FR_OK && prior.found) {
        rc = fr__idem_replay(engine, &prior, FR_ENTITY_CONFLICT, out, 1, res);
    } else if (rc == FR_OK) {
        rc = create_conflict_locked(engine, ctx, params, out, res);
        rc = fr__idem_settle(engine, ctx, rc, &prior, FR_ENTITY_CONFLICT, out, 1, res);
    }
    fr__idem_prior_clear(&prior);
    return fr__unlock_call(engine, rc);
}

int fr_conflict_get(fr_engine *engine, const char *id, fr_conflict *out)
{
    if (engine == NULL || out == NULL) {
        return FR_EINVAL;
    }
    fr__lock(engine);
    int rc = fr__advance(engine, fr__now(engine));
    fr__conflict_rec *rec =
        (rc == FR_OK && id != NULL) ? fr__idmap_get(&engine->conflicts_by_id, id) : NULL;
    if (rc == FR_OK) {
        rc = rec == NULL ? FR_ENOTFOUND : fr__conflict_rec_copy(out, rec);
    }
    return fr__unlock_call(engine, rc);
}
