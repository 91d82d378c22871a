/*
 * test_model.c — randomized model-based test of the engine (public API only).
 *
 * A brute-force reference model of the decided semantics — pools with
 * capacity schedules, allocations (holds, exact expiry, double booking,
 * overcommit, release/cancel), the per-(fleet, resource_type) request queues
 * with aging and dispatch, and over_capacity conflicts — is driven side by
 * side with the engine by a seeded random operation generator.  The model is
 * plain arrays and quadratic scans on purpose: it shares no code and no data
 * structure with the engine, so agreeing with it means something.
 *
 * After every operation the whole observable state is compared: every live
 * allocation, every pending request (in queue order, with its computed
 * fields), every pool with its computed capacity fields, and every allocation
 * or request the operation touched.  The capacity invariant is checked again
 * from the engine's own data alone: every instant over capacity must lie in an
 * open over_capacity conflict, and every open one must still cover such an
 * instant.  Invalid operations must return the expected status and change
 * nothing (the comparison after them covers the whole state, and their
 * out-parameters must be left untouched).
 *
 * A failure names the seed, the operation index and what differed, and dumps
 * the last operations to stderr, so any run can be replayed exactly (the
 * generator, the clock and the engine's id seed are all fixed).
 *
 * Budget: the memory store runs 64 seeds x 3,125 operations (200,000) in 8
 * parallel cases; the SQLite store (a file, ?sync=off) 2 x 10,000, closed and
 * reopened in the middle and at the end, the reloaded state compared in full.
 * Sizes stay small (1 fleet, 2 resource types, at most 4 live pools, about 20
 * live allocations) so that the quadratic model and the per-operation
 * comparison stay well under a minute under ASan+UBSan.
 *
 * Knobs (environment): FR_MODEL_SEED=n runs only seed n; FR_MODEL_OPS=n sets
 * the operations per seed; FR_MODEL_SEED_BASE=k shifts every seed by k (a
 * soak over new seeds); FR_MODEL_STATS=1 prints what each seed covered.
 *
 * Where the brief left a choice open, the model follows the engine and the
 * comment at the spot says so: only a growing allocation update is
 * re-checked; next_fit_start in a refusal also avoids the vehicle's other
 * bookings; a cancelled allocation may keep released_at null.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleetres.h"
#include "fr_int.h"

/* ---------------------------------------------------------------------------
 * Scales and the small vocabularies the generator draws from.
 * ------------------------------------------------------------------------- */
#define SEC_MS INT64_C(1000)
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define UNIT INT64_C(1000) /* one unit in milli-units */
#define T0_MS INT64_C(1800000000000) /* 2027-01-15T08:00:00Z, on the hour */
#define GRID_MS (5 * MIN_MS)

#define FLEET "fleet-1"
#define N_TYPES 2
#define N_NAMES 3
#define N_SITES 2
#define N_VEHICLES 6
#define N_OPERATIONS 3
#define POOLS_LIVE_MAX 4
#define POOL_RECORDS_MAX 128
#define SCHED_MAX 3
#define LIVE_SOFT_MAX 22
#define PENDING_SOFT_MAX 12
#define PROF_MAX 1024
#define LOG_N 40
#define DESC_SIZE 384
#define OPEN_MAX 512
#define NO_INDEX SIZE_MAX

static const char *const TYPES[N_TYPES] = {"charging_bay", "wash_bay"};
static const char *const NAMES[N_NAMES] = {"A", "B", "C"};
static const char *const SITES[N_SITES] = {"north", "south"};
static const char *const VEHICLES[N_VEHICLES] = {"v1", "v2", "v3", "v4", "v5", "v6"};
static const char *const OPERATIONS[N_OPERATIONS] = {"op1", "op2", "op3"};
static const char UNKNOWN_ID[] = "01900000-0000-7000-8000-00000000dead";

/* ---------------------------------------------------------------------------
 * The reference model.
 * ------------------------------------------------------------------------- */
typedef struct m_pool {
    char id[FR_ID_SIZE];
    int name; /* index into NAMES */
    int type; /* index into TYPES */
    int site; /* index into SITES, -1: none */
    int status;
    int exclusive;
    int64_t total;
    fr_schedule_entry sched[SCHED_MAX]; /* sorted by start, non-overlapping */
    size_t nsched;
    int deleted;
    int64_t version;
    int64_t created;
} m_pool;

typedef struct m_alloc {
    char id[FR_ID_SIZE]; /* "" until learnt (made by dispatch) */
    size_t pool;
    int type;
    int vehicle;   /* -1: none */
    int operation; /* -1: none */
    int64_t qty;
    int64_t start;
    int64_t end;
    int32_t priority;
    int status;
    int64_t hold_expires;
    size_t request; /* NO_INDEX: none */
    int64_t released_at;
    int64_t version;
    int64_t created;
    int touched;
} m_alloc;

typedef struct m_req {
    char id[FR_ID_SIZE];
    int type;
    int vehicle;
    int operation;
    size_t pool; /* NO_INDEX: unconstrained */
    int site;    /* -1: unconstrained */
    int64_t qty;
    int64_t duration;
    int64_t es;
    int64_t le; /* FR_TIME_INF: no deadline */
    int32_t priority;
    int status;
    int reason;
    size_t alloc; /* NO_INDEX: none */
    int64_t fulfilled_at;
    int64_t created;
    int touched;
} m_req;

typedef struct model {
    uint64_t seed;
    uint64_t rng;
    long op_index;
    char op_desc[DESC_SIZE];
    char log[LOG_N][DESC_SIZE];
    long logged;
    int64_t now;
    int64_t aging_ms;
    int pressure;            /* small pools and more requests: queues fill up */
    int64_t cap_max_units;   /* capacities are drawn in 1..cap_max_units */
    m_pool pools[POOL_RECORDS_MAX];
    size_t npools;
    m_alloc *allocs;
    size_t nallocs;
    size_t allocs_cap;
    m_req *reqs;
    size_t nreqs;
    size_t reqs_cap;
    fr_engine *engine;
    char uri[256];
    unsigned reopen_count;
    char open_ids[OPEN_MAX][FR_ID_SIZE]; /* open over_capacity conflicts last seen */
    size_t nopen;
    long stat_ok;
    long stat_err;
    long stat_dispatched;
    long stat_contested; /* fulfilled behind a request that stayed pending */
    long stat_conflict_ops;  /* operations after which an over_capacity conflict was open */
    long stat_auto_resolved; /* conflicts seen resolving themselves */
    long stat_holds_expired;
    long stat_conf_exact;   /* open conflict observations equal to one run */
    long stat_conf_inexact; /* ... spanning several runs (after a split) */
    long stat_conf_ids_stale; /* ... whose allocation_ids differ from the overlapping live ones */
    long stat_reqs_expired;
    long stat_live_sum;
    long stat_rc[16][FR_STATUS_COUNT]; /* by operation (OP_NAMES) and status */
    long stat_pending_sum;
} model;

/* ---------------------------------------------------------------------------
 * Failure reporting.
 * ------------------------------------------------------------------------- */
static void mfail(const model *m, const char *fmt, ...) {
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fprintf(stderr, "---- model test failure: seed %" PRIu64 ", op %ld; last operations:\n",
            m->seed, m->op_index);
    long first = m->logged > LOG_N ? m->logged - LOG_N : 0;
    for (long i = first; i < m->logged; i++) {
        fprintf(stderr, "  %s\n", m->log[i % LOG_N]);
    }
    fprintf(stderr, "---- %s\n", what);
    cr_assert_fail("seed %" PRIu64 " op %ld [%s]: %s", m->seed, m->op_index, m->op_desc, what);
}

#define MCHECK(m, cond, ...)                                                                    \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            mfail((m), __VA_ARGS__);                                                            \
        }                                                                                       \
    } while (0)

/* Times print relative to T0 in seconds, which is what a reader can follow. */
static const char *ts(int64_t t) {
    static char bufs[16][32];
    static unsigned next;
    char *b = bufs[next++ % 16];
    if (t == FR_TIME_INF) {
        snprintf(b, 32, "INF");
    } else if (t == FR_TIME_NULL) {
        snprintf(b, 32, "NULL");
    } else {
        snprintf(b, 32, "T%+" PRId64 "s", (t - T0_MS) / SEC_MS);
        if ((t - T0_MS) % SEC_MS != 0) {
            snprintf(b, 32, "T%+" PRId64 "ms", t - T0_MS);
        }
    }
    return b;
}

static const char *ec(int rc) {
    const char *s = fr_errcode(rc);
    return s ? s : "?";
}

static void set_desc(model *m, const char *fmt, ...) {
    char body[DESC_SIZE - 40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(m->op_desc, sizeof m->op_desc, "#%ld now=%s %s", m->op_index, ts(m->now), body);
    snprintf(m->log[m->logged % LOG_N], DESC_SIZE, "%s", m->op_desc);
    m->logged++;
}

/* Appends the outcome to the logged description of the current operation. */
static void log_outcome(model *m, int rc, const char *extra) {
    char *line = m->log[(m->logged - 1) % LOG_N];
    size_t len = strlen(line);
    snprintf(line + len, DESC_SIZE - len, " -> %s%s%s", ec(rc), extra ? " " : "",
             extra ? extra : "");
}

/* ---------------------------------------------------------------------------
 * Random numbers (splitmix64: tiny, good enough, fully determined by seed).
 * ------------------------------------------------------------------------- */
static uint64_t rng_next(model *m) {
    uint64_t z = (m->rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi], inclusive. */
static int64_t rnd(model *m, int64_t lo, int64_t hi) {
    cr_assert(lo <= hi);
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(rng_next(m) % span);
}

static int chance(model *m, int percent) { return rnd(m, 0, 99) < percent; }

static int64_t aligned_now(const model *m) { return m->now - (m->now - T0_MS) % GRID_MS; }

/* A time on the 5-minute grid around now (k steps), sometimes off the grid. */
static int64_t rand_time(model *m, int64_t k_lo, int64_t k_hi) {
    int64_t t = aligned_now(m) + rnd(m, k_lo, k_hi) * GRID_MS;
    if (chance(m, 10)) {
        t += rnd(m, 1, 299) * SEC_MS;
    }
    return t;
}

/* ---------------------------------------------------------------------------
 * Model queries.
 * ------------------------------------------------------------------------- */
static int alloc_live(const m_alloc *a) {
    return a->status == FR_ALLOC_HELD || a->status == FR_ALLOC_CONFIRMED;
}

static int64_t win_end(int64_t s, int64_t duration) {
    return duration == FR_TIME_INF ? FR_TIME_INF : s + duration;
}

static int64_t pool_cap_at(const m_pool *p, int64_t t) {
    for (size_t i = 0; i < p->nsched; i++) {
        if (p->sched[i].start_ms <= t && t < p->sched[i].end_ms) {
            return p->sched[i].capacity_milli;
        }
    }
    return p->total;
}

static int64_t pool_live_at(const model *m, size_t pool, int64_t t, size_t exclude) {
    int64_t sum = 0;
    for (size_t i = 0; i < m->nallocs; i++) {
        const m_alloc *a = &m->allocs[i];
        if (i != exclude && a->pool == pool && alloc_live(a) && a->start <= t && t < a->end) {
            sum += a->qty;
        }
    }
    return sum;
}

/* Another live allocation of the same fleet, type and vehicle overlapping [s, e). */
static int vehicle_overlap(const model *m, int type, int vehicle, int64_t s, int64_t e,
                           size_t exclude) {
    if (vehicle < 0) {
        return 0;
    }
    for (size_t i = 0; i < m->nallocs; i++) {
        const m_alloc *a = &m->allocs[i];
        if (i != exclude && alloc_live(a) && a->type == type && a->vehicle == vehicle &&
            a->start < e && s < a->end) {
            return 1;
        }
    }
    return 0;
}

static size_t count_live_allocs(const model *m) {
    size_t n = 0;
    for (size_t i = 0; i < m->nallocs; i++) {
        n += alloc_live(&m->allocs[i]) ? 1 : 0;
    }
    return n;
}

static size_t count_pending(const model *m) {
    size_t n = 0;
    for (size_t i = 0; i < m->nreqs; i++) {
        n += m->reqs[i].status == FR_REQ_PENDING ? 1 : 0;
    }
    return n;
}

static size_t count_live_pools(const model *m) {
    size_t n = 0;
    for (size_t i = 0; i < m->npools; i++) {
        n += m->pools[i].deleted ? 0 : 1;
    }
    return n;
}

/* ---------------------------------------------------------------------------
 * Profiles: free capacity of one pool (and whether one vehicle is busy) at
 * every instant where anything changes, evaluated by brute force.  Value i
 * holds on [t[i], t[i+1]).  Queries always start at a breakpoint (the query
 * start is added as one).
 * ------------------------------------------------------------------------- */
typedef struct profile {
    size_t n;
    int64_t t[PROF_MAX];
    int64_t free[PROF_MAX];
    unsigned char busy[PROF_MAX];
    /* Scratch: the live allocations that matter (of the pool; of the vehicle). */
    const m_alloc *in_pool[PROF_MAX];
    const m_alloc *of_vehicle[PROF_MAX];
} profile;

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One scratch profile: each test runs in its own process, on one thread,
 * and profiles are never nested. */
static profile g_scratch_profile;

static void prof_add(const model *m, profile *pr, int64_t t) {
    if (t == FR_TIME_INF) {
        return;
    }
    MCHECK(m, pr->n < PROF_MAX, "model profile overflow");
    pr->t[pr->n++] = t;
}

/* vehicle < 0: no double-booking dimension.  exclude: an allocation to leave
 * out (an update re-checks without itself). */
static void build_profile(const model *m, size_t pool, int vehicle, size_t exclude, int64_t extra,
                          profile *pr) {
    const m_pool *p = &m->pools[pool];
    pr->n = 0;
    prof_add(m, pr, extra);
    for (size_t i = 0; i < p->nsched; i++) {
        prof_add(m, pr, p->sched[i].start_ms);
        prof_add(m, pr, p->sched[i].end_ms);
    }
    size_t n_pool = 0;
    size_t n_vehicle = 0;
    for (size_t i = 0; i < m->nallocs; i++) {
        const m_alloc *a = &m->allocs[i];
        if (i == exclude || !alloc_live(a)) {
            continue;
        }
        int mine = a->pool == pool;
        int vehicles = vehicle >= 0 && a->type == p->type && a->vehicle == vehicle;
        if (mine || vehicles) {
            prof_add(m, pr, a->start);
            prof_add(m, pr, a->end);
        }
        if (mine) {
            pr->in_pool[n_pool++] = a;
        }
        if (vehicles) {
            pr->of_vehicle[n_vehicle++] = a;
        }
    }
    qsort(pr->t, pr->n, sizeof pr->t[0], cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < pr->n; i++) {
        if (u == 0 || pr->t[u - 1] != pr->t[i]) {
            pr->t[u++] = pr->t[i];
        }
    }
    pr->n = u;
    /* The same sums as pool_live_at and vehicle_overlap, over the subsets. */
    for (size_t i = 0; i < pr->n; i++) {
        int64_t t = pr->t[i];
        int64_t live = 0;
        for (size_t k = 0; k < n_pool; k++) {
            live += pr->in_pool[k]->start <= t && t < pr->in_pool[k]->end ? pr->in_pool[k]->qty : 0;
        }
        int busy = 0;
        for (size_t k = 0; k < n_vehicle && !busy; k++) {
            busy = pr->of_vehicle[k]->start <= t && t < pr->of_vehicle[k]->end;
        }
        pr->free[i] = pool_cap_at(p, t) - live;
        pr->busy[i] = (unsigned char)busy;
    }
}

static size_t prof_idx(const model *m, const profile *pr, int64_t t) {
    for (size_t i = 0; i < pr->n; i++) {
        if (pr->t[i] == t) {
            return i;
        }
    }
    mfail(m, "model: profile has no breakpoint %s", ts(t));
    return 0;
}

/* First index k >= i with t[k] < end where the segment is bad, or -1. */
static long prof_first_bad(const profile *pr, size_t i, int64_t end, int64_t q, int use_busy) {
    for (size_t k = i; k < pr->n && pr->t[k] < end; k++) {
        if (pr->free[k] < q || (use_busy && pr->busy[k])) {
            return (long)k;
        }
    }
    return -1;
}

/* Earliest s in [from, latest] (from a breakpoint) where [s, s + duration) is good. */
static int64_t prof_earliest_fit(const model *m, const profile *pr, int64_t from, int64_t duration,
                                 int64_t q, int64_t latest, int use_busy) {
    size_t i = prof_idx(m, pr, from);
    while (i < pr->n && pr->t[i] <= latest) {
        long k = prof_first_bad(pr, i, win_end(pr->t[i], duration), q, use_busy);
        if (k < 0) {
            return pr->t[i];
        }
        i = (size_t)k + 1;
    }
    return FR_TIME_NULL;
}

static int64_t prof_min_free(const model *m, const profile *pr, int64_t s, int64_t e) {
    size_t i = prof_idx(m, pr, s);
    int64_t best = INT64_MAX;
    for (size_t k = i; k < pr->n && pr->t[k] < e; k++) {
        best = pr->free[k] < best ? pr->free[k] : best;
    }
    return best;
}

/* The capacity check of a booking of q over [s, e) in pool (without exclude). */
typedef struct cap_check {
    int fits;
    int64_t at;
    int64_t free_at;
    int64_t capacity_at;
    int64_t next_fit;
    int64_t min_free;
} cap_check;

/* vehicle: the booking's vehicle (or -1); next_fit also avoids its other
 * bookings when the pool is exclusive, so that it names a start that would
 * really be accepted. */
static cap_check check_capacity(const model *m, size_t pool, int vehicle, int64_t s, int64_t e,
                                int64_t q, size_t exclude) {
    profile *pr = &g_scratch_profile;
    vehicle = m->pools[pool].exclusive ? vehicle : -1;
    build_profile(m, pool, vehicle, exclude, s, pr);
    cap_check c;
    memset(&c, 0, sizeof c);
    c.min_free = prof_min_free(m, pr, s, e);
    long k = prof_first_bad(pr, prof_idx(m, pr, s), e, q, 0);
    c.fits = k < 0;
    c.at = FR_TIME_NULL;
    c.next_fit = FR_TIME_NULL;
    if (!c.fits) {
        c.at = pr->t[k];
        c.free_at = pr->free[k];
        c.capacity_at = pool_cap_at(&m->pools[pool], c.at);
        int64_t duration = e == FR_TIME_INF ? FR_TIME_INF : e - s;
        c.next_fit = prof_earliest_fit(m, pr, s, duration, q, s + FR_HORIZON_SEARCH_MS, 1);
    }
    return c;
}

/* ---------------------------------------------------------------------------
 * Requests: queue order, fit, dispatch, expiry.
 * ------------------------------------------------------------------------- */
static int req_before(const model *m, const m_req *a, const m_req *b) {
    int64_t ra = (int64_t)a->priority * m->aging_ms - a->created;
    int64_t rb = (int64_t)b->priority * m->aging_ms - b->created;
    if (ra != rb) {
        return ra > rb;
    }
    if (a->created != b->created) {
        return a->created < b->created;
    }
    return strcmp(a->id, b->id) < 0;
}

/* Pending requests of one type in queue order (insertion sort; n is small). */
static size_t queue_of(const model *m, int type, size_t *out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < m->nreqs; i++) {
        const m_req *r = &m->reqs[i];
        if (r->status != FR_REQ_PENDING || r->type != type) {
            continue;
        }
        MCHECK(m, n < max, "model: queue overflow");
        size_t j = n++;
        while (j > 0 && req_before(m, r, &m->reqs[out[j - 1]])) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = i;
    }
    return n;
}

static int pool_matches_req(const model *m, size_t pi, const m_req *r) {
    const m_pool *p = &m->pools[pi];
    if (p->deleted || p->status != FR_POOL_ACTIVE || p->type != r->type) {
        return 0;
    }
    if (r->pool != NO_INDEX && r->pool != pi) {
        return 0;
    }
    if (r->site >= 0 && p->site != r->site) {
        return 0;
    }
    return 1;
}

/* The earliest start of r in [from, latest] over its matching pools, pool
 * choice as in dispatch.  Returns 1 if found.  *any_pool tells whether a
 * matching active pool exists. */
static int req_fit(const model *m, const m_req *r, int64_t from, int64_t latest, size_t *out_pool,
                   int64_t *out_start, int *any_pool) {
    int found = 0;
    int64_t best_s = 0;
    int64_t best_free = 0;
    size_t best_pool = NO_INDEX;
    *any_pool = 0;
    profile *pr = &g_scratch_profile;
    for (size_t pi = 0; pi < m->npools; pi++) {
        if (!pool_matches_req(m, pi, r)) {
            continue;
        }
        *any_pool = 1;
        const m_pool *p = &m->pools[pi];
        int vehicle = p->exclusive ? r->vehicle : -1;
        build_profile(m, pi, vehicle, NO_INDEX, from, pr);
        int64_t s = prof_earliest_fit(m, pr, from, r->duration, r->qty, latest, 1);
        if (s == FR_TIME_NULL) {
            continue;
        }
        int64_t mf = prof_min_free(m, pr, s, s + r->duration);
        int better = 0;
        if (!found || s < best_s) {
            better = 1;
        } else if (s == best_s) {
            const m_pool *b = &m->pools[best_pool];
            int byname = strcmp(NAMES[p->name], NAMES[b->name]);
            better = mf < best_free ||
                     (mf == best_free && (byname < 0 || (byname == 0 && strcmp(p->id, b->id) < 0)));
        }
        if (better) {
            found = 1;
            best_s = s;
            best_free = mf;
            best_pool = pi;
        }
    }
    if (found) {
        *out_pool = best_pool;
        *out_start = best_s;
    }
    return found;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static m_alloc *new_alloc(model *m) {
    if (m->nallocs == m->allocs_cap) {
        m->allocs_cap = m->allocs_cap ? 2 * m->allocs_cap : 256;
        m->allocs = realloc(m->allocs, m->allocs_cap * sizeof *m->allocs);
        cr_assert(m->allocs != NULL);
    }
    m_alloc *a = &m->allocs[m->nallocs++];
    memset(a, 0, sizeof *a);
    a->request = NO_INDEX;
    a->vehicle = -1;
    a->operation = -1;
    a->hold_expires = FR_TIME_NULL;
    a->released_at = FR_TIME_NULL;
    a->version = 1;
    a->created = m->now;
    a->touched = 1;
    return a;
}

static m_req *new_req(model *m) {
    if (m->nreqs == m->reqs_cap) {
        m->reqs_cap = m->reqs_cap ? 2 * m->reqs_cap : 128;
        m->reqs = realloc(m->reqs, m->reqs_cap * sizeof *m->reqs);
        cr_assert(m->reqs != NULL);
    }
    m_req *r = &m->reqs[m->nreqs++];
    memset(r, 0, sizeof *r);
    r->pool = NO_INDEX;
    r->alloc = NO_INDEX;
    r->site = -1;
    r->vehicle = -1;
    r->operation = -1;
    r->touched = 1;
    return r;
}

static void model_dispatch(model *m) {
    size_t order[512];
    for (int type = 0; type < N_TYPES; type++) {
        size_t n = queue_of(m, type, order, 512);
        int left_pending = 0;
        for (size_t k = 0; k < n; k++) {
            m_req *r = &m->reqs[order[k]];
            int64_t from = max64(m->now, r->es);
            int64_t latest =
                r->le == FR_TIME_INF ? from + FR_HORIZON_SEARCH_MS : r->le - r->duration;
            size_t pool = NO_INDEX;
            int64_t s = 0;
            int any_pool = 0;
            if (!req_fit(m, r, from, latest, &pool, &s, &any_pool)) {
                int reason = any_pool ? FR_REASON_INSUFFICIENT_CAPACITY : FR_REASON_NO_POOL_OF_TYPE;
                if (reason != r->reason) {
                    r->reason = reason;
                    r->touched = 1;
                }
                left_pending = 1;
                continue;
            }
            size_t ri = order[k];
            m_alloc *a = new_alloc(m);
            r = &m->reqs[ri];
            a->pool = pool;
            a->type = r->type;
            a->vehicle = r->vehicle;
            a->operation = r->operation;
            a->qty = r->qty;
            a->start = s;
            a->end = s + r->duration;
            a->priority = r->priority;
            a->status = FR_ALLOC_CONFIRMED;
            a->request = ri;
            r->status = FR_REQ_FULFILLED;
            r->reason = FR_REASON_NONE;
            r->alloc = m->nallocs - 1;
            r->fulfilled_at = m->now;
            r->touched = 1;
            m->stat_dispatched++;
            m->stat_contested += left_pending;
        }
    }
}

/* Everything driven by time alone at now, then dispatch.  Called before and
 * after every operation (idempotent when nothing changed). */
static void model_settle(model *m) {
    for (size_t i = 0; i < m->nallocs; i++) {
        m_alloc *a = &m->allocs[i];
        if (a->status == FR_ALLOC_HELD && m->now >= a->hold_expires) {
            m->stat_holds_expired++;
            a->status = FR_ALLOC_EXPIRED;
            a->version++;
            a->touched = 1;
        }
    }
    for (size_t i = 0; i < m->nreqs; i++) {
        m_req *r = &m->reqs[i];
        if (r->status == FR_REQ_PENDING && r->le != FR_TIME_INF && r->le - r->duration < m->now) {
            m->stat_reqs_expired++;
            r->status = FR_REQ_EXPIRED;
            r->reason = FR_REASON_NONE;
            r->touched = 1;
        }
    }
    model_dispatch(m);
}

/* ---------------------------------------------------------------------------
 * Comparing one entity with the model.
 * ------------------------------------------------------------------------- */
static int streq_opt(const char *a, const char *b) {
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

static const char *opt_name(const char *const *names, int i) { return i < 0 ? NULL : names[i]; }

static const char *nz(const char *s) { return s ? s : "(null)"; }

static void cmp_pool(const model *m, const m_pool *mp, const fr_pool *ep) {
    MCHECK(m, strcmp(mp->id, ep->id) == 0, "pool id %s != model %s", ep->id, mp->id);
    MCHECK(m, streq_opt(ep->fleet_id, FLEET), "pool %s fleet_id %s", ep->id, nz(ep->fleet_id));
    MCHECK(m, streq_opt(ep->name, NAMES[mp->name]), "pool %s name %s != %s", ep->id, nz(ep->name),
           NAMES[mp->name]);
    MCHECK(m, streq_opt(ep->resource_type, TYPES[mp->type]), "pool %s resource_type %s", ep->id,
           nz(ep->resource_type));
    MCHECK(m, streq_opt(ep->site, opt_name(SITES, mp->site)), "pool %s site %s != %s", ep->id,
           nz(ep->site), nz(opt_name(SITES, mp->site)));
    MCHECK(m, ep->status == mp->status, "pool %s status %d != model %d", ep->id, ep->status,
           mp->status);
    MCHECK(m, !ep->exclusive_per_vehicle == !mp->exclusive, "pool %s exclusive %d != model %d",
           ep->id, ep->exclusive_per_vehicle, mp->exclusive);
    MCHECK(m, ep->total_capacity_milli == mp->total, "pool %s total %" PRId64 " != model %" PRId64,
           ep->id, ep->total_capacity_milli, mp->total);
    MCHECK(m, ep->schedule_len == mp->nsched, "pool %s schedule_len %zu != model %zu", ep->id,
           ep->schedule_len, mp->nsched);
    for (size_t i = 0; i < mp->nsched; i++) {
        const fr_schedule_entry *a = &ep->schedule[i];
        const fr_schedule_entry *b = &mp->sched[i];
        MCHECK(m, a->start_ms == b->start_ms && a->end_ms == b->end_ms &&
                      a->capacity_milli == b->capacity_milli,
               "pool %s schedule[%zu] [%s,%s)=%" PRId64 " != model [%s,%s)=%" PRId64, ep->id, i,
               ts(a->start_ms), ts(a->end_ms), a->capacity_milli, ts(b->start_ms), ts(b->end_ms),
               b->capacity_milli);
    }
    MCHECK(m, ep->deleted == 0, "pool %s deleted flag set in a read", ep->id);
    MCHECK(m, ep->version == mp->version, "pool %s version %" PRId64 " != model %" PRId64, ep->id,
           ep->version, mp->version);
    size_t pi = (size_t)(mp - m->pools);
    int64_t cap = pool_cap_at(mp, m->now);
    int64_t reserved = pool_live_at(m, pi, m->now, NO_INDEX);
    MCHECK(m, ep->capacity_now_milli == cap, "pool %s capacity_now %" PRId64 " != model %" PRId64,
           ep->id, ep->capacity_now_milli, cap);
    MCHECK(m, ep->reserved_capacity_milli == reserved,
           "pool %s reserved %" PRId64 " != model %" PRId64, ep->id, ep->reserved_capacity_milli,
           reserved);
    MCHECK(m, ep->available_capacity_milli == cap - reserved,
           "pool %s available %" PRId64 " != model %" PRId64, ep->id, ep->available_capacity_milli,
           cap - reserved);
}

static void cmp_alloc(const model *m, const m_alloc *ma, const fr_allocation *ea) {
    const char *id = ea->id;
    MCHECK(m, strcmp(ma->id, ea->id) == 0, "allocation id %s != model %s", ea->id, ma->id);
    MCHECK(m, ea->status == ma->status, "allocation %s status %s != model %s", id,
           nz(fr_allocation_status_name(ea->status)), nz(fr_allocation_status_name(ma->status)));
    MCHECK(m, strcmp(ea->pool_id, m->pools[ma->pool].id) == 0, "allocation %s pool %s != model %s",
           id, ea->pool_id, m->pools[ma->pool].id);
    MCHECK(m, ea->start_ms == ma->start && ea->end_ms == ma->end,
           "allocation %s interval [%s,%s) != model [%s,%s)", id, ts(ea->start_ms), ts(ea->end_ms),
           ts(ma->start), ts(ma->end));
    MCHECK(m, ea->quantity_milli == ma->qty, "allocation %s quantity %" PRId64 " != model %" PRId64,
           id, ea->quantity_milli, ma->qty);
    MCHECK(m, ea->version == ma->version, "allocation %s version %" PRId64 " != model %" PRId64,
           id, ea->version, ma->version);
    MCHECK(m, ea->priority == ma->priority, "allocation %s priority %d != model %d", id,
           (int)ea->priority, (int)ma->priority);
    MCHECK(m, streq_opt(ea->fleet_id, FLEET), "allocation %s fleet %s", id, nz(ea->fleet_id));
    MCHECK(m, streq_opt(ea->resource_type, TYPES[ma->type]), "allocation %s type %s", id,
           nz(ea->resource_type));
    MCHECK(m, streq_opt(ea->vehicle_id, opt_name(VEHICLES, ma->vehicle)),
           "allocation %s vehicle %s != model %s", id, nz(ea->vehicle_id),
           nz(opt_name(VEHICLES, ma->vehicle)));
    MCHECK(m, streq_opt(ea->operation_id, opt_name(OPERATIONS, ma->operation)),
           "allocation %s operation %s != model %s", id, nz(ea->operation_id),
           nz(opt_name(OPERATIONS, ma->operation)));
    MCHECK(m, ea->hold_expires_at_ms == ma->hold_expires,
           "allocation %s hold_expires_at %s != model %s", id, ts(ea->hold_expires_at_ms),
           ts(ma->hold_expires));
    const char *rid = ma->request == NO_INDEX ? "" : m->reqs[ma->request].id;
    MCHECK(m, strcmp(ea->request_id, rid) == 0, "allocation %s request_id '%s' != model '%s'", id,
           ea->request_id, rid);
    if (ma->status == FR_ALLOC_CANCELLED) {
        /* The header says released_at is set for cancelled allocations; the
         * decided semantics do not say; the engine leaves it null.  Accept
         * both (see the report). */
        MCHECK(m, ea->released_at_ms == ma->released_at || ea->released_at_ms == FR_TIME_NULL,
               "allocation %s released_at %s != model %s (or null)", id, ts(ea->released_at_ms),
               ts(ma->released_at));
    }
    if (ma->status == FR_ALLOC_RELEASED) {
        MCHECK(m, ea->released_at_ms == ma->released_at,
               "allocation %s released_at %s != model %s", id, ts(ea->released_at_ms),
               ts(ma->released_at));
    }
    if (alloc_live(ma)) {
        MCHECK(m, ea->released_at_ms == FR_TIME_NULL, "allocation %s live with released_at %s", id,
               ts(ea->released_at_ms));
    }
    MCHECK(m, ea->created_at_ms == ma->created, "allocation %s created_at %s != model %s", id,
           ts(ea->created_at_ms), ts(ma->created));
}

static int64_t req_estimated_start(const model *m, const m_req *r) {
    int64_t from = max64(m->now, r->es);
    size_t pool = NO_INDEX;
    int64_t s = FR_TIME_NULL;
    int any_pool = 0;
    if (!req_fit(m, r, from, from + FR_HORIZON_SEARCH_MS, &pool, &s, &any_pool)) {
        return FR_TIME_NULL;
    }
    return s;
}

static int64_t req_queue_position(const model *m, const m_req *r) {
    int64_t pos = 1;
    for (size_t i = 0; i < m->nreqs; i++) {
        const m_req *o = &m->reqs[i];
        if (o != r && o->status == FR_REQ_PENDING && o->type == r->type && req_before(m, o, r)) {
            pos++;
        }
    }
    return pos;
}

static void cmp_req(const model *m, const m_req *mr, const fr_request *er) {
    const char *id = er->id;
    MCHECK(m, strcmp(mr->id, er->id) == 0, "request id %s != model %s", er->id, mr->id);
    MCHECK(m, er->status == mr->status, "request %s status %s != model %s", id,
           nz(fr_request_status_name(er->status)), nz(fr_request_status_name(mr->status)));
    const char *aid = mr->alloc == NO_INDEX ? "" : m->allocs[mr->alloc].id;
    if (mr->status == FR_REQ_FULFILLED) {
        MCHECK(m, strcmp(er->allocation_id, aid) == 0,
               "request %s allocation_id '%s' != model '%s'", id, er->allocation_id, aid);
        MCHECK(m, er->fulfilled_at_ms == mr->fulfilled_at, "request %s fulfilled_at %s != model %s",
               id, ts(er->fulfilled_at_ms), ts(mr->fulfilled_at));
    } else {
        MCHECK(m, er->allocation_id[0] == '\0', "request %s (%s) has allocation_id '%s'", id,
               nz(fr_request_status_name(er->status)), er->allocation_id);
    }
    MCHECK(m, streq_opt(er->fleet_id, FLEET), "request %s fleet %s", id, nz(er->fleet_id));
    MCHECK(m, streq_opt(er->resource_type, TYPES[mr->type]), "request %s type %s", id,
           nz(er->resource_type));
    MCHECK(m, streq_opt(er->vehicle_id, opt_name(VEHICLES, mr->vehicle)),
           "request %s vehicle %s != model %s", id, nz(er->vehicle_id),
           nz(opt_name(VEHICLES, mr->vehicle)));
    MCHECK(m, streq_opt(er->operation_id, opt_name(OPERATIONS, mr->operation)),
           "request %s operation %s", id, nz(er->operation_id));
    const char *pid = mr->pool == NO_INDEX ? "" : m->pools[mr->pool].id;
    MCHECK(m, strcmp(er->pool_id, pid) == 0, "request %s pool_id '%s' != model '%s'", id,
           er->pool_id, pid);
    MCHECK(m, streq_opt(er->site, opt_name(SITES, mr->site)), "request %s site %s", id,
           nz(er->site));
    MCHECK(m, er->quantity_milli == mr->qty && er->duration_ms == mr->duration &&
                  er->earliest_start_ms == mr->es && er->latest_end_ms == mr->le &&
                  er->priority == mr->priority,
           "request %s q=%" PRId64 " d=%" PRId64 " es=%s le=%s p=%d != model q=%" PRId64
           " d=%" PRId64 " es=%s le=%s p=%d",
           id, er->quantity_milli, er->duration_ms, ts(er->earliest_start_ms),
           ts(er->latest_end_ms), (int)er->priority, mr->qty, mr->duration, ts(mr->es), ts(mr->le),
           (int)mr->priority);
    MCHECK(m, er->created_at_ms == mr->created, "request %s created_at %s != model %s", id,
           ts(er->created_at_ms), ts(mr->created));
    if (mr->status == FR_REQ_PENDING) {
        MCHECK(m, er->pending_reason == mr->reason, "request %s pending_reason %s != model %s", id,
               nz(fr_pending_reason_name(er->pending_reason)),
               nz(fr_pending_reason_name(mr->reason)));
        int64_t pos = req_queue_position(m, mr);
        MCHECK(m, er->queue_position == pos,
               "request %s queue_position %" PRId64 " != model %" PRId64, id, er->queue_position,
               pos);
        int64_t eff = mr->priority + (m->now - mr->created) / m->aging_ms;
        MCHECK(m, er->effective_priority == eff,
               "request %s effective_priority %" PRId64 " != model %" PRId64, id,
               er->effective_priority, eff);
        int64_t est = req_estimated_start(m, mr);
        MCHECK(m, er->estimated_start_ms == est, "request %s estimated_start %s != model %s", id,
               ts(er->estimated_start_ms), ts(est));
    } else {
        MCHECK(m, er->queue_position == 0 && er->estimated_start_ms == FR_TIME_NULL,
               "request %s (%s) has queue_position %" PRId64 " estimated_start %s", id,
               nz(fr_request_status_name(er->status)), er->queue_position,
               ts(er->estimated_start_ms));
    }
}

/* ---------------------------------------------------------------------------
 * Comparing the whole state.
 * ------------------------------------------------------------------------- */
/* limit: the per-operation lists are small (and the engine allocates room
 * for limit items), the full comparison pages. */
static void list_query(fr_list_query *q, size_t limit) {
    fr_list_query_init(q);
    q->limit = limit;
    q->fleet_id = NULL; /* one fleet; a filter would only cost a strcmp per entity */
}

static size_t find_pool_by_id(const model *m, const char *id) {
    for (size_t i = 0; i < m->npools; i++) {
        if (strcmp(m->pools[i].id, id) == 0) {
            return i;
        }
    }
    return NO_INDEX;
}

/* Learns the ids of allocations made by dispatch: the engine's allocations
 * of the same request that the model does not know yet, matched by pool,
 * start and quantity.  (A request's allocation_id is not enough: one call can
 * dispatch a request and take the allocation away again, e.g. a force pool
 * delete whose time-driven dispatch happened first.) */
static void learn_dispatched_ids(model *m) {
    for (size_t i = 0; i < m->nallocs; i++) {
        m_alloc *a = &m->allocs[i];
        if (a->id[0] != '\0') {
            continue;
        }
        MCHECK(m, a->request != NO_INDEX, "model: allocation without id nor request");
        const m_req *r = &m->reqs[a->request];
        fr_list_query q;
        list_query(&q, 100);
        q.request_id = r->id;
        fr_allocation *items = NULL;
        size_t n = 0;
        char cursor[FR_CURSOR_SIZE];
        int rc = fr_allocation_list(m->engine, &q, &items, &n, cursor);
        MCHECK(m, rc == FR_OK && cursor[0] == '\0', "allocation_list request_id=%s: %s", r->id,
               ec(rc));
        size_t found = NO_INDEX;
        for (size_t k = 0; k < n; k++) {
            int known = 0;
            for (size_t j = 0; j < m->nallocs && !known; j++) {
                known =
                    m->allocs[j].request == a->request && strcmp(m->allocs[j].id, items[k].id) == 0;
            }
            if (!known && strcmp(items[k].pool_id, m->pools[a->pool].id) == 0 &&
                items[k].start_ms == a->start && items[k].quantity_milli == a->qty) {
                MCHECK(m, found == NO_INDEX, "request %s has two new allocations at %s", r->id,
                       ts(a->start));
                found = k;
            }
        }
        if (found == NO_INDEX) {
            fr_request er;
            memset(&er, 0, sizeof er);
            rc = fr_request_get(m->engine, r->id, &er);
            MCHECK(m, rc == FR_OK, "request_get %s: %s", r->id, ec(rc));
            mfail(m,
                  "request %s should have been fulfilled by dispatch into pool %s [%s,%s) but the "
                  "engine made no such allocation (request is %s, pending_reason %s, "
                  "allocation_id '%s')",
                  r->id, m->pools[a->pool].id, ts(a->start), ts(a->end),
                  nz(fr_request_status_name(er.status)),
                  nz(fr_pending_reason_name(er.pending_reason)), er.allocation_id);
        }
        snprintf(a->id, sizeof a->id, "%s", items[found].id);
        a->touched = 1;
        fr_allocation_free_array(items, n);
    }
}

static void cmp_pools(model *m, fr_pool **out_items, size_t *out_n) {
    fr_list_query q;
    list_query(&q, 64);
    fr_pool *items = NULL;
    size_t n = 0;
    char cursor[FR_CURSOR_SIZE];
    int rc = fr_pool_list(m->engine, &q, &items, &n, cursor);
    MCHECK(m, rc == FR_OK, "pool_list: %s", ec(rc));
    MCHECK(m, n == count_live_pools(m) && cursor[0] == '\0', "pool_list has %zu pools, model %zu",
           n, count_live_pools(m));
    for (size_t i = 0; i < n; i++) {
        size_t pi = find_pool_by_id(m, items[i].id);
        MCHECK(m, pi != NO_INDEX && !m->pools[pi].deleted, "pool_list has unknown pool %s",
               items[i].id);
        cmp_pool(m, &m->pools[pi], &items[i]);
    }
    *out_items = items;
    *out_n = n;
}

static const model *g_sort_model; /* qsort has no context argument */

static int cmp_alloc_index_by_id(const void *a, const void *b) {
    return strcmp(g_sort_model->allocs[*(const size_t *)a].id,
                  g_sort_model->allocs[*(const size_t *)b].id);
}

static int cmp_fr_alloc_by_id(const void *a, const void *b) {
    return strcmp(((const fr_allocation *)a)->id, ((const fr_allocation *)b)->id);
}

/* Lists the live allocations and compares them; returns them for the
 * invariant check (caller frees). */
static void cmp_live_allocs(model *m, fr_allocation **out_items, size_t *out_n) {
    size_t nlive = 0;
    size_t *live = malloc((m->nallocs + 1) * sizeof *live);
    cr_assert(live != NULL);
    for (size_t i = 0; i < m->nallocs; i++) {
        if (alloc_live(&m->allocs[i])) {
            live[nlive++] = i;
        }
    }
    fr_allocation *all = NULL;
    size_t nall = 0;
    const int statuses[2] = {FR_ALLOC_HELD, FR_ALLOC_CONFIRMED};
    for (int s = 0; s < 2; s++) {
        fr_list_query q;
        list_query(&q, 256);
        q.status = statuses[s];
        fr_allocation *items = NULL;
        size_t n = 0;
        char cursor[FR_CURSOR_SIZE];
        int rc = fr_allocation_list(m->engine, &q, &items, &n, cursor);
        MCHECK(m, rc == FR_OK, "allocation_list: %s", ec(rc));
        MCHECK(m, cursor[0] == '\0', "allocation_list: more than %d live", FR_LIST_LIMIT_MAX);
        all = realloc(all, (nall + n + 1) * sizeof *all);
        cr_assert(all != NULL);
        if (n > 0) {
            memcpy(all + nall, items, n * sizeof *items);
        }
        nall += n;
        fr_free(items);
    }
    /* Match by id: both sides sorted by id, then merged. */
    g_sort_model = m;
    qsort(live, nlive, sizeof *live, cmp_alloc_index_by_id);
    qsort(all, nall, sizeof *all, cmp_fr_alloc_by_id);
    size_t k = 0;
    for (size_t i = 0; i < nall; i++) {
        size_t found = NO_INDEX;
        while (k < nlive && strcmp(m->allocs[live[k]].id, all[i].id) < 0) {
            k++;
        }
        if (k < nlive && strcmp(m->allocs[live[k]].id, all[i].id) == 0) {
            found = live[k];
        }
        if (found == NO_INDEX) {
            size_t any = NO_INDEX;
            for (size_t k = 0; k < m->nallocs; k++) {
                if (strcmp(m->allocs[k].id, all[i].id) == 0) {
                    any = k;
                }
            }
            MCHECK(m, 0, "engine has live allocation %s (%s, pool %s, [%s,%s)) that the model %s",
                   all[i].id, nz(fr_allocation_status_name(all[i].status)), all[i].pool_id,
                   ts(all[i].start_ms), ts(all[i].end_ms),
                   any == NO_INDEX ? "does not know"
                                   : fr_allocation_status_name(m->allocs[any].status));
        }
        cmp_alloc(m, &m->allocs[found], &all[i]);
        m->allocs[found].touched = 0;
    }
    if (nall != nlive) {
        for (size_t k = 0; k < nlive; k++) {
            const m_alloc *a = &m->allocs[live[k]];
            int seen = 0;
            for (size_t i = 0; i < nall; i++) {
                seen |= strcmp(a->id, all[i].id) == 0;
            }
            if (!seen) {
                fr_allocation ea;
                memset(&ea, 0, sizeof ea);
                int rc = fr_allocation_get(m->engine, a->id, &ea);
                MCHECK(m, rc == FR_OK, "live allocation %s missing from list; get: %s", a->id,
                       ec(rc));
                cmp_alloc(m, a, &ea);
                MCHECK(m, 0, "live allocation %s missing from the status-filtered list", a->id);
            }
        }
    }
    free(live);
    *out_items = all;
    *out_n = nall;
}

static void cmp_touched(model *m) {
    for (size_t i = 0; i < m->nallocs; i++) {
        m_alloc *a = &m->allocs[i];
        if (!a->touched) {
            continue;
        }
        fr_allocation ea;
        memset(&ea, 0, sizeof ea);
        int rc = fr_allocation_get(m->engine, a->id, &ea);
        MCHECK(m, rc == FR_OK, "allocation_get %s: %s", a->id, ec(rc));
        cmp_alloc(m, a, &ea);
        fr_allocation_clear(&ea);
        a->touched = 0;
    }
    for (size_t i = 0; i < m->nreqs; i++) {
        m_req *r = &m->reqs[i];
        if (!r->touched || r->status == FR_REQ_PENDING) {
            continue;
        }
        fr_request er;
        memset(&er, 0, sizeof er);
        int rc = fr_request_get(m->engine, r->id, &er);
        MCHECK(m, rc == FR_OK, "request_get %s: %s", r->id, ec(rc));
        cmp_req(m, r, &er);
        fr_request_clear(&er);
        r->touched = 0;
    }
}

static void cmp_pending(model *m) {
    size_t order[512];
    for (int type = 0; type < N_TYPES; type++) {
        size_t n = queue_of(m, type, order, 512);
        fr_list_query q;
        list_query(&q, 64);
        q.status = FR_REQ_PENDING;
        q.resource_type = TYPES[type];
        fr_request *items = NULL;
        size_t en = 0;
        char cursor[FR_CURSOR_SIZE];
        int rc = fr_request_list(m->engine, &q, &items, &en, cursor);
        MCHECK(m, rc == FR_OK, "request_list: %s", ec(rc));
        if (en != n) {
            for (size_t i = 0; i < n; i++) {
                fr_request er;
                memset(&er, 0, sizeof er);
                rc = fr_request_get(m->engine, m->reqs[order[i]].id, &er);
                MCHECK(m, rc == FR_OK, "request_get: %s", ec(rc));
                cmp_req(m, &m->reqs[order[i]], &er);
                fr_request_clear(&er);
            }
            for (size_t i = 0; i < en; i++) {
                int known = 0;
                for (size_t k = 0; k < n; k++) {
                    known |= strcmp(items[i].id, m->reqs[order[k]].id) == 0;
                }
                MCHECK(m, known, "engine has pending request %s the model does not (%s)",
                       items[i].id, TYPES[type]);
            }
        }
        MCHECK(m, en == n, "%s queue has %zu pending, model %zu", TYPES[type], en, n);
        for (size_t i = 0; i < n; i++) {
            m_req *r = &m->reqs[order[i]];
            MCHECK(m, strcmp(items[i].id, r->id) == 0,
                   "%s queue position %zu: engine %s, model %s", TYPES[type], i + 1, items[i].id,
                   r->id);
            cmp_req(m, r, &items[i]);
            r->touched = 0;
        }
        fr_request_free_array(items, en);
    }
}

/* A maximal run of instants where a pool is over capacity. */
typedef struct overrun {
    int64_t start;
    int64_t end; /* FR_TIME_INF: open-ended */
    int64_t excess; /* largest booked - capacity inside */
} overrun;

static int64_t booked_at(const fr_allocation *const *mine, size_t n, int64_t t) {
    int64_t sum = 0;
    for (size_t k = 0; k < n; k++) {
        sum += mine[k]->start_ms <= t && t < mine[k]->end_ms ? mine[k]->quantity_milli : 0;
    }
    return sum;
}

/* The over-capacity runs of one pool, from the engine's own data: its
 * capacity function and its live allocations (mine).  bp is scratch room
 * for 2 * nmine + 2 * SCHED_MAX times; out for as many runs. */
static size_t pool_overruns(const fr_pool *pool, const fr_allocation *const *mine, size_t nmine,
                            int64_t *bp, overrun *out) {
    m_pool cap;
    memset(&cap, 0, sizeof cap);
    cap.total = pool->total_capacity_milli;
    cap.nsched = pool->schedule_len;
    if (cap.nsched > 0) {
        memcpy(cap.sched, pool->schedule, cap.nsched * sizeof cap.sched[0]);
    }
    size_t nbp = 0;
    for (size_t i = 0; i < nmine; i++) {
        bp[nbp++] = mine[i]->start_ms;
        if (mine[i]->end_ms != FR_TIME_INF) {
            bp[nbp++] = mine[i]->end_ms;
        }
    }
    for (size_t i = 0; i < cap.nsched; i++) {
        bp[nbp++] = cap.sched[i].start_ms;
        if (cap.sched[i].end_ms != FR_TIME_INF) {
            bp[nbp++] = cap.sched[i].end_ms;
        }
    }
    qsort(bp, nbp, sizeof bp[0], cmp_i64);
    /* Segment i is [bp[i], next breakpoint); past the last one, nothing
     * changes any more.  Before the first, nothing is booked. */
    size_t nruns = 0;
    int open = 0;
    for (size_t i = 0; i <= nbp; i++) {
        if (i < nbp && i > 0 && bp[i] == bp[i - 1]) {
            continue;
        }
        int64_t excess = i < nbp ? booked_at(mine, nmine, bp[i]) - pool_cap_at(&cap, bp[i]) : 0;
        if (excess > 0 && !open) {
            out[nruns].start = bp[i];
            out[nruns].excess = excess;
            open = 1;
        } else if (excess > 0) {
            out[nruns].excess = max64(out[nruns].excess, excess);
        } else if (open) {
            out[nruns].end = i < nbp ? bp[i] : FR_TIME_INF;
            nruns++;
            open = 0;
        }
    }
    return nruns;
}

/* Every instant of the run lies in some open conflict of the pool. */
static void check_run_covered(const model *m, const fr_pool *pool, const overrun *run,
                              const fr_conflict *cs, size_t nc) {
    int64_t x = run->start;
    while (x < run->end) {
        int64_t reach = FR_TIME_NULL;
        for (size_t c = 0; c < nc; c++) {
            if (strcmp(cs[c].pool_id, pool->id) == 0 && cs[c].start_ms <= x && x < cs[c].end_ms) {
                reach = max64(reach, cs[c].end_ms);
            }
        }
        MCHECK(m, reach != FR_TIME_NULL,
               "pool %s over capacity at %s (run [%s,%s)) without an open over_capacity conflict",
               pool->id, ts(x), ts(run->start), ts(run->end));
        x = reach;
    }
}

/* An open conflict of the pool still meets an over-capacity run.  Beyond
 * the brief: a conflict equal to one run carries that run's largest excess.
 * (When a run splits, the engine keeps one conflict over both parts and the
 * gap, which the spec's "stays open while any instant of its interval is
 * over capacity" allows; and its allocation_ids are not pinned down: the
 * engine keeps ids of allocations ended since.  Both are counted, not
 * failed.) */
static void check_open_conflict(model *m, const fr_pool *pool, const fr_conflict *c,
                                const overrun *runs, size_t nruns,
                                const fr_allocation *const *mine, size_t nmine) {
    int meets = 0;
    int exact = 0;
    for (size_t r = 0; r < nruns; r++) {
        meets |= runs[r].start < c->end_ms && c->start_ms < runs[r].end;
        if (runs[r].start == c->start_ms && runs[r].end == c->end_ms) {
            exact = 1;
            MCHECK(m, runs[r].excess == c->excess_milli,
                   "conflict %s [%s,%s) excess %" PRId64 ", the run's largest is %" PRId64, c->id,
                   ts(c->start_ms), ts(c->end_ms), c->excess_milli, runs[r].excess);
        }
    }
    MCHECK(m, meets,
           "open over_capacity conflict %s of pool %s [%s,%s) has no instant over capacity", c->id,
           pool->id, ts(c->start_ms), ts(c->end_ms));
    m->stat_conf_exact += exact;
    m->stat_conf_inexact += !exact;
    size_t overlapping = 0;
    int listed_all = 1;
    for (size_t k = 0; k < nmine; k++) {
        if (mine[k]->start_ms < c->end_ms && c->start_ms < mine[k]->end_ms) {
            overlapping++;
            int listed = 0;
            for (size_t j = 0; j < c->allocation_ids_len; j++) {
                listed |= strcmp(c->allocation_ids[j], mine[k]->id) == 0;
            }
            listed_all &= listed;
        }
    }
    m->stat_conf_ids_stale += !listed_all || overlapping != c->allocation_ids_len;
}

/* Conflicts that were open after the previous operation and are not any
 * more must have resolved themselves, now, with strategy "auto". */
static void check_resolved(model *m, const fr_conflict *cs, size_t nc) {
    for (size_t o = 0; o < m->nopen; o++) {
        int still = 0;
        for (size_t c = 0; c < nc && !still; c++) {
            still = strcmp(cs[c].id, m->open_ids[o]) == 0;
        }
        if (still) {
            continue;
        }
        fr_conflict gone;
        memset(&gone, 0, sizeof gone);
        int rc = fr_conflict_get(m->engine, m->open_ids[o], &gone);
        MCHECK(m, rc == FR_OK, "conflict_get %s: %s", m->open_ids[o], ec(rc));
        MCHECK(m,
               gone.status == FR_CONFLICT_RESOLVED && streq_opt(gone.resolution_strategy, "auto") &&
                   gone.resolved_at_ms == m->now,
               "conflict %s left the open list with status %d strategy %s resolved_at %s", gone.id,
               gone.status, nz(gone.resolution_strategy), ts(gone.resolved_at_ms));
        fr_conflict_clear(&gone);
        m->stat_auto_resolved++;
    }
    MCHECK(m, nc <= OPEN_MAX, "too many open conflicts: %zu", nc);
    m->nopen = nc;
    for (size_t c = 0; c < nc; c++) {
        snprintf(m->open_ids[c], FR_ID_SIZE, "%s", cs[c].id);
    }
}

/* The capacity invariant from the engine's data alone: for each pool every
 * over-capacity instant lies in an open over_capacity conflict, and each open
 * conflict still meets such an instant.  (Conflicts of deleted pools are not
 * checked: what they should become is not specified.) */
static void check_invariant(model *m, const fr_pool *pools, size_t npools,
                            const fr_allocation *live, size_t nlive) {
    fr_list_query q;
    list_query(&q, 256);
    q.status = FR_CONFLICT_OPEN;
    q.type = FR_CONFLICT_OVER_CAPACITY;
    fr_conflict *cs = NULL;
    size_t nc = 0;
    char cursor[FR_CURSOR_SIZE];
    int rc = fr_conflict_list(m->engine, &q, &cs, &nc, cursor);
    MCHECK(m, rc == FR_OK && cursor[0] == '\0', "conflict_list: %s", ec(rc));
    for (size_t c = 0; c < nc; c++) {
        MCHECK(m, cs[c].type == FR_CONFLICT_OVER_CAPACITY && cs[c].status == FR_CONFLICT_OPEN &&
                      streq_opt(cs[c].fleet_id, FLEET),
               "conflict %s listed with type %d status %d fleet %s", cs[c].id, cs[c].type,
               cs[c].status, nz(cs[c].fleet_id));
        MCHECK(m, cs[c].start_ms < cs[c].end_ms && cs[c].excess_milli > 0,
               "conflict %s [%s,%s) excess %" PRId64, cs[c].id, ts(cs[c].start_ms),
               ts(cs[c].end_ms), cs[c].excess_milli);
    }
    size_t room = 2 * nlive + 2 * SCHED_MAX + 1;
    int64_t *bp = malloc(room * sizeof *bp);
    overrun *runs = malloc(room * sizeof *runs);
    const fr_allocation **mine = malloc((nlive + 1) * sizeof *mine);
    cr_assert(bp != NULL && runs != NULL && mine != NULL);
    for (size_t p = 0; p < npools; p++) {
        const fr_pool *pool = &pools[p];
        MCHECK(m, pool->schedule_len <= SCHED_MAX, "pool %s schedule too long", pool->id);
        size_t nmine = 0;
        for (size_t i = 0; i < nlive; i++) {
            if (strcmp(live[i].pool_id, pool->id) == 0) {
                mine[nmine++] = &live[i];
            }
        }
        size_t nruns = pool_overruns(pool, mine, nmine, bp, runs);
        for (size_t r = 0; r < nruns; r++) {
            check_run_covered(m, pool, &runs[r], cs, nc);
        }
        for (size_t c = 0; c < nc; c++) {
            if (strcmp(cs[c].pool_id, pool->id) == 0) {
                check_open_conflict(m, pool, &cs[c], runs, nruns, mine, nmine);
            }
        }
    }
    free(bp);
    free(runs);
    free(mine);
    check_resolved(m, cs, nc);
    m->stat_conflict_ops += nc > 0;
    fr_conflict_free_array(cs, nc);
}

static void compare_all(model *m) {
    learn_dispatched_ids(m);
    fr_pool *pools = NULL;
    size_t npools = 0;
    cmp_pools(m, &pools, &npools);
    fr_allocation *live = NULL;
    size_t nlive = 0;
    cmp_live_allocs(m, &live, &nlive);
    cmp_pending(m);
    cmp_touched(m);
    check_invariant(m, pools, npools, live, nlive);
    for (size_t i = 0; i < nlive; i++) {
        fr_allocation_clear(&live[i]);
    }
    free(live);
    fr_pool_free_array(pools, npools);
}

/* Every allocation and request, paged through the unfiltered lists. */
static void compare_everything(model *m) {
    compare_all(m);
    fr_list_query q;
    list_query(&q, 97);
    char cursor[FR_CURSOR_SIZE] = "";
    char next[FR_CURSOR_SIZE];
    size_t total = 0;
    do {
        q.cursor = cursor;
        fr_allocation *items = NULL;
        size_t n = 0;
        int rc = fr_allocation_list(m->engine, &q, &items, &n, next);
        MCHECK(m, rc == FR_OK, "allocation_list (all): %s", ec(rc));
        for (size_t i = 0; i < n; i++) {
            size_t found = NO_INDEX;
            for (size_t k = 0; k < m->nallocs && found == NO_INDEX; k++) {
                found = strcmp(m->allocs[k].id, items[i].id) == 0 ? k : NO_INDEX;
            }
            MCHECK(m, found != NO_INDEX, "engine has unknown allocation %s", items[i].id);
            cmp_alloc(m, &m->allocs[found], &items[i]);
        }
        total += n;
        fr_allocation_free_array(items, n);
        snprintf(cursor, sizeof cursor, "%s", next);
        MCHECK(m, n > 0 || cursor[0] == '\0', "allocation_list: empty page with a cursor");
    } while (cursor[0] != '\0');
    MCHECK(m, total == m->nallocs, "engine lists %zu allocations, model has %zu", total,
           m->nallocs);
    total = 0;
    cursor[0] = '\0';
    do {
        q.cursor = cursor;
        fr_request *items = NULL;
        size_t n = 0;
        int rc = fr_request_list(m->engine, &q, &items, &n, next);
        MCHECK(m, rc == FR_OK, "request_list (all): %s", ec(rc));
        for (size_t i = 0; i < n; i++) {
            size_t found = NO_INDEX;
            for (size_t k = 0; k < m->nreqs && found == NO_INDEX; k++) {
                found = strcmp(m->reqs[k].id, items[i].id) == 0 ? k : NO_INDEX;
            }
            MCHECK(m, found != NO_INDEX, "engine has unknown request %s", items[i].id);
            cmp_req(m, &m->reqs[found], &items[i]);
        }
        total += n;
        fr_request_free_array(items, n);
        snprintf(cursor, sizeof cursor, "%s", next);
        MCHECK(m, n > 0 || cursor[0] == '\0', "request_list: empty page with a cursor");
    } while (cursor[0] != '\0');
    MCHECK(m, total == m->nreqs, "engine lists %zu requests, model has %zu", total, m->nreqs);
}

/* ---------------------------------------------------------------------------
 * Helpers for calls expected to fail: out-parameters must stay untouched.
 * ------------------------------------------------------------------------- */
#define POISON 0x5A

static const char *const OP_NAMES[] = {"pool_create", "pool_update", "pool_delete",
                                       "alloc_create", "alloc_update", "alloc_delete",
                                       "req_create", "req_update", "req_delete", "tick"};
#define N_OP_NAMES (sizeof OP_NAMES / sizeof OP_NAMES[0])

static void count_outcome(model *m, const char *what, int rc) {
    for (size_t i = 0; i < N_OP_NAMES; i++) {
        if (strcmp(OP_NAMES[i], what) == 0 && rc >= 0 && rc < FR_STATUS_COUNT) {
            m->stat_rc[i][rc]++;
        }
    }
}

static void print_outcomes(const model *m) {
    for (size_t i = 0; i < N_OP_NAMES; i++) {
        char line[512];
        size_t len = (size_t)snprintf(line, sizeof line, "  %-12s", OP_NAMES[i]);
        for (int rc = 0; rc < FR_STATUS_COUNT && len < sizeof line; rc++) {
            if (m->stat_rc[i][rc] > 0) {
                len += (size_t)snprintf(line + len, sizeof line - len, " %s=%ld", ec(rc),
                                        m->stat_rc[i][rc]);
            }
        }
        fprintf(stderr, "%s\n", line);
    }
}

static int is_poison(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != POISON) {
            return 0;
        }
    }
    return 1;
}

/* Checks rc against the expectation; on expected failure the out struct must
 * be untouched.  Returns 1 when the call succeeded (as expected). */
static int expect_rc(model *m, const char *what, int rc, int want, const fr_result *res,
                     const void *out, size_t out_size) {
    char note[300];
    snprintf(note, sizeof note, "(%s)", res ? res->message : "");
    log_outcome(m, rc, rc == FR_OK ? NULL : note);
    count_outcome(m, what, rc);
    MCHECK(m, rc == want, "%s returned %s, model expects %s; engine says: %s", what, ec(rc),
           ec(want), res ? res->message : "");
    if (rc != FR_OK) {
        MCHECK(m, out == NULL || is_poison(out, out_size),
               "%s failed with %s but wrote its out-parameter", what, ec(rc));
        m->stat_err++;
        return 0;
    }
    m->stat_ok++;
    return 1;
}

static void check_capacity_res(model *m, const char *what, const fr_result *res, const m_pool *p,
                               int64_t q, const cap_check *c) {
    MCHECK(m, strcmp(res->pool_id, p->id) == 0, "%s: res.pool_id %s != %s", what, res->pool_id,
           p->id);
    MCHECK(m, res->at_ms == c->at && res->free_milli == c->free_at &&
                  res->capacity_milli == c->capacity_at && res->requested_milli == q,
           "%s: res at=%s free=%" PRId64 " capacity=%" PRId64 " requested=%" PRId64
           " != model at=%s free=%" PRId64 " capacity=%" PRId64 " requested=%" PRId64,
           what, ts(res->at_ms), res->free_milli, res->capacity_milli, res->requested_milli,
           ts(c->at), c->free_at, c->capacity_at, q);
    MCHECK(m, res->next_fit_start_ms == c->next_fit, "%s: res.next_fit_start %s != model %s", what,
           ts(res->next_fit_start_ms), ts(c->next_fit));
}

/* ---------------------------------------------------------------------------
 * Operations.  Each picks its arguments from the model, computes the
 * expected outcome, calls the engine, checks the status and applies the
 * change to the model.
 * ------------------------------------------------------------------------- */
static size_t pick_live_pool(model *m, int want_active) {
    size_t cand[POOL_RECORDS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < m->npools; i++) {
        const m_pool *p = &m->pools[i];
        if (!p->deleted && (!want_active || p->status == FR_POOL_ACTIVE)) {
            cand[n++] = i;
        }
    }
    return n == 0 ? NO_INDEX : cand[rnd(m, 0, (int64_t)n - 1)];
}

static int sched_overlaps(const fr_schedule_entry *s, size_t n, const fr_schedule_entry *e) {
    for (size_t i = 0; i < n; i++) {
        if (s[i].start_ms < e->end_ms && e->start_ms < s[i].end_ms) {
            return 1;
        }
    }
    return 0;
}

static void sched_insert(fr_schedule_entry *s, size_t *n, fr_schedule_entry e) {
    size_t i = *n;
    while (i > 0 && s[i - 1].start_ms > e.start_ms) {
        s[i] = s[i - 1];
        i--;
    }
    s[i] = e;
    (*n)++;
}

static fr_schedule_entry rand_sched_entry(model *m) {
    fr_schedule_entry e;
    e.start_ms = aligned_now(m) + rnd(m, -24, 60) * GRID_MS;
    e.end_ms = chance(m, 8) ? FR_TIME_INF : e.start_ms + rnd(m, 3, 36) * GRID_MS;
    e.capacity_milli = rnd(m, 0, m->cap_max_units) * UNIT;
    return e;
}

/* Adds a non-overlapping entry if one is found in a few tries. */
static int sched_add_random(model *m, fr_schedule_entry *s, size_t *n) {
    if (*n >= SCHED_MAX) {
        return 0;
    }
    for (int tries = 0; tries < 8; tries++) {
        fr_schedule_entry e = rand_sched_entry(m);
        if (!sched_overlaps(s, *n, &e)) {
            sched_insert(s, n, e);
            return 1;
        }
    }
    return 0;
}

static void op_pool_create(model *m) {
    fr_pool_params pp;
    memset(&pp, 0, sizeof pp);
    int name = (int)rnd(m, 0, N_NAMES - 1);
    int type = (int)rnd(m, 0, N_TYPES - 1);
    int site = chance(m, 50) ? (int)rnd(m, 0, N_SITES - 1) : -1;
    int exclusive = chance(m, 80);
    int64_t total = rnd(m, 1, m->cap_max_units) * UNIT;
    fr_schedule_entry sched[SCHED_MAX];
    size_t nsched = 0;
    if (chance(m, 30)) {
        sched_add_random(m, sched, &nsched);
    }
    pp.set = FR_POOL_F_FLEET_ID | FR_POOL_F_NAME | FR_POOL_F_RESOURCE_TYPE |
             FR_POOL_F_TOTAL_CAPACITY;
    pp.fleet_id = FLEET;
    pp.name = NAMES[name];
    pp.resource_type = TYPES[type];
    pp.total_capacity_milli = total;
    if (site >= 0) {
        pp.set |= FR_POOL_F_SITE;
        pp.site = SITES[site];
    }
    if (!exclusive || chance(m, 50)) {
        pp.set |= FR_POOL_F_EXCLUSIVE;
        pp.exclusive_per_vehicle = exclusive;
    }
    if (nsched > 0) {
        pp.set |= FR_POOL_F_SCHEDULE;
        pp.schedule = sched;
        pp.schedule_len = nsched;
    }
    int want = FR_OK;
    int invalid = chance(m, 8) ? (int)rnd(m, 0, 2) : -1;
    fr_schedule_entry bad[2];
    if (invalid == 0) {
        pp.total_capacity_milli = -UNIT;
        want = FR_EINVAL;
    } else if (invalid == 1) {
        bad[0].start_ms = aligned_now(m);
        bad[0].end_ms = bad[0].start_ms + HOUR_MS;
        bad[0].capacity_milli = UNIT;
        bad[1] = bad[0];
        bad[1].start_ms += 30 * MIN_MS;
        bad[1].end_ms += 30 * MIN_MS;
        pp.set |= FR_POOL_F_SCHEDULE;
        pp.schedule = bad;
        pp.schedule_len = 2;
        want = FR_EINVAL;
    } else if (invalid == 2) {
        pp.set &= ~(uint32_t)FR_POOL_F_NAME;
        pp.name = NULL;
        want = FR_EINVAL;
    }
    set_desc(m, "pool_create name=%s type=%s site=%s excl=%d total=%" PRId64 " nsched=%zu%s%s",
             NAMES[name], TYPES[type], nz(opt_name(SITES, site)), exclusive, total / UNIT, nsched,
             nsched ? " sched0=" : "", nsched ? ts(sched[0].start_ms) : "");
    if (invalid >= 0) {
        log_outcome(m, want, invalid == 0 ? "[negative capacity]"
                             : invalid == 1 ? "[overlapping schedule]" : "[no name]");
    }
    fr_pool out;
    fr_result res;
    fr_result_init(&res);
    memset(&out, want == FR_OK ? 0 : POISON, sizeof out);
    int rc = fr_pool_create(m->engine, NULL, &pp, &out, &res);
    int ok = expect_rc(m, "pool_create", rc, want, &res, &out, sizeof out);
    fr_result_clear(&res);
    if (!ok) {
        return;
    }
    MCHECK(m, m->npools < POOL_RECORDS_MAX, "model: too many pools");
    m_pool *p = &m->pools[m->npools++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", out.id);
    p->name = name;
    p->type = type;
    p->site = site;
    p->status = FR_POOL_ACTIVE;
    p->exclusive = exclusive;
    p->total = total;
    memcpy(p->sched, sched, sizeof sched);
    p->nsched = nsched;
    p->version = 1;
    p->created = m->now;
    model_settle(m);
    /* out was read before the dispatch its creation caused; only the stored
     * fields are compared here, the computed ones after the operation. */
    MCHECK(m, out.version == 1 && out.total_capacity_milli == total && out.status == FR_POOL_ACTIVE,
           "pool_create out: version %" PRId64 " total %" PRId64 " status %d", out.version,
           out.total_capacity_milli, out.status);
    fr_pool_clear(&out);
}

static void op_pool_update(model *m) {
    size_t pi = NO_INDEX;
    int unknown = chance(m, 3);
    if (!unknown) {
        pi = pick_live_pool(m, 0);
        if (pi == NO_INDEX) {
            unknown = 1;
        }
    }
    fr_pool_params pp;
    memset(&pp, 0, sizeof pp);
    m_pool next;
    memset(&next, 0, sizeof next);
    if (!unknown) {
        next = m->pools[pi];
    }
    int want = FR_OK;
    const char *kind = "";
    int v = (int)rnd(m, 0, 99);
    fr_schedule_entry bad[SCHED_MAX + 1];
    if (unknown) {
        pp.set = FR_POOL_F_TOTAL_CAPACITY;
        pp.total_capacity_milli = 2 * UNIT;
        want = FR_ENOTFOUND;
        kind = "unknown id";
    } else if (v < 93) {
        /* A valid change: total, add or remove a schedule entry, or status;
         * each falls back on another when it cannot apply. */
        int w = v < 40 ? 0 : v < 65 ? 1 : v < 85 ? 2 : 3;
        if (w == 2 && next.nsched == 0) {
            w = 1;
        }
        if (w == 1 && !sched_add_random(m, next.sched, &next.nsched)) {
            w = next.nsched > 0 ? 2 : 0;
        }
        if (w == 3 && next.status == FR_POOL_ACTIVE && chance(m, 65)) {
            w = 0;
        }
        if (w == 0) {
            int64_t total;
            do {
                total = rnd(m, 1, m->cap_max_units) * UNIT;
            } while (total == next.total);
            next.total = total;
            pp.set = FR_POOL_F_TOTAL_CAPACITY;
            pp.total_capacity_milli = total;
            kind = total > m->pools[pi].total ? "total up" : "total down";
        } else if (w == 1) {
            pp.set = FR_POOL_F_SCHEDULE;
            kind = "add schedule entry";
        } else if (w == 2) {
            size_t k = (size_t)rnd(m, 0, (int64_t)next.nsched - 1);
            memmove(&next.sched[k], &next.sched[k + 1],
                    (next.nsched - k - 1) * sizeof next.sched[0]);
            next.nsched--;
            pp.set = FR_POOL_F_SCHEDULE;
            kind = "remove schedule entry";
        } else {
            next.status = next.status == FR_POOL_ACTIVE ? FR_POOL_DRAINING : FR_POOL_ACTIVE;
            pp.set = FR_POOL_F_STATUS;
            pp.status = next.status;
            kind = next.status == FR_POOL_ACTIVE ? "activate" : "drain";
        }
    } else if (v < 97) {
        /* Invalid: two overlapping schedule entries. */
        bad[0].start_ms = aligned_now(m);
        bad[0].end_ms = bad[0].start_ms + 2 * HOUR_MS;
        bad[0].capacity_milli = UNIT;
        bad[1] = bad[0];
        bad[1].start_ms += HOUR_MS;
        bad[1].end_ms += HOUR_MS;
        pp.set = FR_POOL_F_SCHEDULE;
        pp.schedule = bad;
        pp.schedule_len = 2;
        want = FR_EINVAL;
        kind = "overlapping schedule";
    } else {
        /* Invalid: resource_type is immutable. */
        pp.set = FR_POOL_F_RESOURCE_TYPE;
        pp.resource_type = TYPES[1 - next.type];
        want = FR_EINVAL;
        kind = "change resource_type";
    }
    if (want == FR_OK && (pp.set & FR_POOL_F_SCHEDULE)) {
        pp.schedule = next.sched;
        pp.schedule_len = next.nsched;
    }
    const char *id = unknown ? UNKNOWN_ID : m->pools[pi].id;
    set_desc(m, "pool_update %s (%s) total=%" PRId64 " nsched=%zu status=%d", id, kind,
             next.total / UNIT, next.nsched, next.status);
    for (size_t i = 0; want == FR_OK && i < next.nsched; i++) {
        char *line = m->log[(m->logged - 1) % LOG_N];
        size_t len = strlen(line);
        snprintf(line + len, DESC_SIZE - len, " [%s,%s)=%" PRId64, ts(next.sched[i].start_ms),
                 ts(next.sched[i].end_ms), next.sched[i].capacity_milli / UNIT);
    }
    fr_pool out;
    fr_result res;
    fr_result_init(&res);
    memset(&out, want == FR_OK ? 0 : POISON, sizeof out);
    int rc = fr_pool_update(m->engine, NULL, id, &pp, &out, &res);
    int ok = expect_rc(m, "pool_update", rc, want, &res, &out, sizeof out);
    fr_result_clear(&res);
    if (!ok) {
        return;
    }
    next.version++;
    m->pools[pi] = next;
    model_settle(m);
    MCHECK(m, out.version == next.version, "pool_update out.version %" PRId64 " != %" PRId64,
           out.version, next.version);
    fr_pool_clear(&out);
}

static void op_pool_delete(model *m) {
    size_t pi = pick_live_pool(m, 0);
    int unknown = pi == NO_INDEX || chance(m, 5);
    int force = chance(m, 60);
    int want = FR_OK;
    if (unknown) {
        want = FR_ENOTFOUND;
    } else if (!force) {
        for (size_t i = 0; i < m->nallocs; i++) {
            const m_alloc *a = &m->allocs[i];
            if (a->pool == pi && alloc_live(a) && a->end > m->now) {
                want = FR_EPOOL_IN_USE;
            }
        }
    }
    const char *id = unknown ? UNKNOWN_ID : m->pools[pi].id;
    set_desc(m, "pool_delete %s force=%d", id, force);
    fr_result res;
    fr_result_init(&res);
    int rc = fr_pool_delete(m->engine, NULL, id, force, &res);
    int ok = expect_rc(m, "pool_delete", rc, want, &res, NULL, 0);
    fr_result_clear(&res);
    if (!ok) {
        return;
    }
    m->pools[pi].deleted = 1;
    for (size_t i = 0; i < m->nallocs; i++) {
        m_alloc *a = &m->allocs[i];
        if (a->pool != pi || !alloc_live(a) || a->end <= m->now) {
            continue;
        }
        if (a->start < m->now) {
            a->status = FR_ALLOC_RELEASED;
            a->end = m->now;
        } else {
            a->status = FR_ALLOC_CANCELLED;
        }
        a->released_at = m->now;
        a->version++;
        a->touched = 1;
        if (a->request != NO_INDEX) {
            m_req *r = &m->reqs[a->request];
            r->status = FR_REQ_PENDING;
            r->alloc = NO_INDEX;
            r->touched = 1;
        }
    }
    model_settle(m);
    fr_pool gone;
    memset(&gone, POISON, sizeof gone);
    rc = fr_pool_get(m->engine, id, &gone);
    MCHECK(m, rc == FR_ENOTFOUND && is_poison(&gone, sizeof gone),
           "pool_get of a deleted pool: %s", ec(rc));
}

/* The outcome of an allocation create, as the model sees it. */
typedef struct book_plan {
    int rc;
    size_t pool;
    cap_check cap;     /* by pool: the capacity check */
    int64_t next_fit;  /* by type: the earliest next fit over candidates */
} book_plan;

static book_plan plan_booking_by_type(const model *m, int type, int site, int vehicle, int64_t s,
                                      int64_t e, int64_t q) {
    book_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.pool = NO_INDEX;
    plan.next_fit = FR_TIME_NULL;
    int candidates = 0;
    int blocked_double = 0;
    int64_t best_free = 0;
    for (size_t pi = 0; pi < m->npools; pi++) {
        const m_pool *p = &m->pools[pi];
        if (p->deleted || p->status != FR_POOL_ACTIVE || p->type != type ||
            (site >= 0 && p->site != site)) {
            continue;
        }
        candidates++;
        if (p->exclusive && vehicle_overlap(m, type, vehicle, s, e, NO_INDEX)) {
            blocked_double++;
            continue;
        }
        cap_check c = check_capacity(m, pi, vehicle, s, e, q, NO_INDEX);
        if (!c.fits) {
            if (c.next_fit != FR_TIME_NULL &&
                (plan.next_fit == FR_TIME_NULL || c.next_fit < plan.next_fit)) {
                plan.next_fit = c.next_fit;
            }
            continue;
        }
        int better = plan.pool == NO_INDEX || c.min_free < best_free;
        if (!better && c.min_free == best_free) {
            const m_pool *b = &m->pools[plan.pool];
            int byname = strcmp(NAMES[p->name], NAMES[b->name]);
            better = byname < 0 || (byname == 0 && strcmp(p->id, b->id) < 0);
        }
        if (better) {
            plan.pool = pi;
            best_free = c.min_free;
        }
    }
    if (candidates == 0) {
        plan.rc = FR_EREFERENCE;
    } else if (plan.pool != NO_INDEX) {
        plan.rc = FR_OK;
    } else if (blocked_double == candidates) {
        plan.rc = FR_EDOUBLE;
    } else {
        plan.rc = FR_ECAPACITY;
    }
    return plan;
}

static void op_alloc_create(model *m) {
    fr_allocation_params ap;
    memset(&ap, 0, sizeof ap);
    int by_type = chance(m, 30);
    int type = (int)rnd(m, 0, N_TYPES - 1);
    int site = by_type && chance(m, 30) ? (int)rnd(m, 0, N_SITES - 1) : -1;
    size_t pi = NO_INDEX;
    int unknown_pool = 0;
    if (!by_type) {
        if (m->npools == 0 || chance(m, 2)) {
            unknown_pool = 1;
        } else {
            /* Mostly a live pool (draining ones must be refused); sometimes
             * any record, deleted ones included (refused too). */
            pi = chance(m, 92) ? pick_live_pool(m, chance(m, 85)) : NO_INDEX;
            if (pi == NO_INDEX) {
                pi = (size_t)rnd(m, 0, (int64_t)m->npools - 1);
            }
            type = m->pools[pi].type;
        }
    }
    int vehicle = chance(m, 80) ? (int)rnd(m, 0, N_VEHICLES - 1) : -1;
    int operation = vehicle < 0 || chance(m, 30) ? (int)rnd(m, 0, N_OPERATIONS - 1) : -1;
    int64_t q = chance(m, 10) ? UNIT / 2 : rnd(m, 1, 3) * UNIT;
    int start_given = chance(m, 80);
    int64_t s = start_given ? rand_time(m, -12, 48) : m->now;
    int64_t e = chance(m, 5) ? FR_TIME_INF : s + rnd(m, 1, 12) * 3 * GRID_MS;
    int32_t priority = (int32_t)(chance(m, 50) ? 0 : rnd(m, 0, 1000));
    int64_t hold = chance(m, 25) ? rnd(m, 1, 3600) * SEC_MS : 0;
    int overcommit = 0;
    int may_overcommit = 0;
    if (!by_type && !unknown_pool && chance(m, 6)) {
        overcommit = 1;
        may_overcommit = 1;
    }
    /* One defect at most, so that the expected status is unambiguous. */
    int invalid = chance(m, 10) ? (int)rnd(m, 0, 7) : -1;
    const char *defect = "";
    int want_invalid = FR_OK;
    switch (invalid) {
    case 0:
        q = 0;
        defect = "[zero quantity]";
        want_invalid = FR_EINVAL;
        break;
    case 1:
        q = FR_QTY_MAX_MILLI + 1;
        defect = "[quantity too large]";
        want_invalid = FR_EINVAL;
        break;
    case 2:
        e = s - (chance(m, 50) ? 0 : GRID_MS);
        start_given = 1;
        defect = "[end <= start]";
        want_invalid = FR_EINVAL;
        break;
    case 3:
        vehicle = -1;
        operation = -1;
        defect = "[no vehicle nor operation]";
        want_invalid = FR_EINVAL;
        break;
    case 4:
        priority = chance(m, 50) ? FR_PRIORITY_MAX + 1 : -1;
        defect = "[bad priority]";
        want_invalid = FR_EINVAL;
        break;
    case 5:
        q = -UNIT;
        defect = "[negative quantity]";
        want_invalid = FR_EINVAL;
        break;
    case 6: {
        /* Overcommit without permission, on an active pool, no vehicle. */
        size_t alt = pick_live_pool(m, 1);
        if (alt == NO_INDEX) {
            invalid = -1;
            break;
        }
        by_type = 0;
        unknown_pool = 0;
        pi = alt;
        type = m->pools[pi].type;
        vehicle = -1;
        operation = 0;
        overcommit = 1;
        may_overcommit = 0;
        defect = "[overcommit without permission]";
        want_invalid = FR_EFORBIDDEN;
        break;
    }
    default:
        invalid = -1;
        break;
    }
    ap.set = FR_ALLOC_F_QUANTITY | FR_ALLOC_F_PRIORITY;
    if (by_type) {
        ap.set |= FR_ALLOC_F_FLEET_ID | FR_ALLOC_F_RESOURCE_TYPE;
        ap.fleet_id = FLEET;
        ap.resource_type = chance(m, 3) && invalid < 0 ? "ghost_bay" : TYPES[type];
        if (site >= 0) {
            ap.set |= FR_ALLOC_F_SITE;
            ap.site = SITES[site];
        }
    } else {
        ap.set |= FR_ALLOC_F_POOL_ID;
        ap.pool_id = unknown_pool ? UNKNOWN_ID : m->pools[pi].id;
    }
    if (vehicle >= 0) {
        ap.set |= FR_ALLOC_F_VEHICLE_ID;
        ap.vehicle_id = VEHICLES[vehicle];
    }
    if (operation >= 0) {
        ap.set |= FR_ALLOC_F_OPERATION_ID;
        ap.operation_id = OPERATIONS[operation];
    }
    ap.quantity_milli = q;
    ap.priority = priority;
    if (start_given) {
        ap.set |= FR_ALLOC_F_START;
        ap.start_ms = s;
    }
    if (e != FR_TIME_INF) {
        ap.set |= FR_ALLOC_F_END;
        ap.end_ms = e;
    } else if (chance(m, 50)) {
        ap.set |= FR_ALLOC_F_END;
        ap.end_ms = FR_TIME_INF;
    }
    if (hold > 0) {
        ap.set |= FR_ALLOC_F_HOLD;
        ap.hold_ms = hold;
    }
    if (overcommit) {
        ap.set |= FR_ALLOC_F_OVERCOMMIT;
        ap.overcommit = 1;
    }
    set_desc(m,
             "alloc_create %s%s%s site=%s veh=%s op=%s q=%" PRId64 " [%s,%s) prio=%d hold=%" PRId64
             "s overcommit=%d/%d %s",
             by_type ? "type=" : "pool=", by_type ? ap.resource_type : ap.pool_id,
             by_type ? "" : (pi != NO_INDEX && m->pools[pi].deleted ? "(deleted)" : ""),
             nz(opt_name(SITES, site)), nz(opt_name(VEHICLES, vehicle)),
             nz(opt_name(OPERATIONS, operation)), q, ts(s), ts(e), (int)priority, hold / SEC_MS,
             overcommit, may_overcommit, defect);

    /* The model's verdict. */
    book_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.pool = NO_INDEX;
    if (invalid >= 0 && want_invalid != FR_EFORBIDDEN) {
        plan.rc = want_invalid;
    } else if (by_type) {
        if (strcmp(ap.resource_type, TYPES[type]) != 0) {
            plan.rc = FR_EREFERENCE;
        } else {
            plan = plan_booking_by_type(m, type, site, vehicle, s, e, q);
        }
    } else if (unknown_pool || m->pools[pi].deleted) {
        plan.rc = FR_EREFERENCE;
    } else if (m->pools[pi].status != FR_POOL_ACTIVE) {
        plan.rc = FR_ESTATE;
    } else if (want_invalid == FR_EFORBIDDEN) {
        plan.rc = FR_EFORBIDDEN;
    } else if (m->pools[pi].exclusive && vehicle_overlap(m, type, vehicle, s, e, NO_INDEX)) {
        plan.rc = FR_EDOUBLE;
    } else {
        plan.pool = pi;
        plan.cap = check_capacity(m, pi, vehicle, s, e, q, NO_INDEX);
        plan.rc = plan.cap.fits || (overcommit && may_overcommit) ? FR_OK : FR_ECAPACITY;
    }

    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.actor = "model";
    ctx.may_overcommit = may_overcommit;
    fr_allocation out;
    fr_result res;
    fr_result_init(&res);
    memset(&out, plan.rc == FR_OK ? 0 : POISON, sizeof out);
    int rc = fr_allocation_create(m->engine, &ctx, &ap, &out, &res);
    if (rc != plan.rc && plan.rc == FR_OK && rc == FR_ECAPACITY && by_type) {
        mfail(m, "alloc_create by type: engine refused (%s at %s free %" PRId64
                 ") but pool %s fits",
              res.pool_id, ts(res.at_ms), res.free_milli, m->pools[plan.pool].id);
    }
    int ok = expect_rc(m, "alloc_create", rc, plan.rc, &res, &out, sizeof out);
    if (!ok) {
        if (rc == FR_ECAPACITY && !by_type) {
            check_capacity_res(m, "alloc_create", &res, &m->pools[pi], q, &plan.cap);
        } else if (rc == FR_ECAPACITY) {
            MCHECK(m, res.next_fit_start_ms == plan.next_fit,
                   "alloc_create by type: res.next_fit_start %s != model (earliest over pools) %s",
                   ts(res.next_fit_start_ms), ts(plan.next_fit));
            size_t rp = find_pool_by_id(m, res.pool_id);
            MCHECK(m, rp != NO_INDEX, "alloc_create by type: res.pool_id '%s' unknown",
                   res.pool_id);
            cap_check c = check_capacity(m, rp, vehicle, s, e, q, NO_INDEX);
            MCHECK(m, res.at_ms == c.at && res.free_milli == c.free_at,
                   "alloc_create by type: res at=%s free=%" PRId64 " for pool %s, model at=%s "
                   "free=%" PRId64,
                   ts(res.at_ms), res.free_milli, res.pool_id, ts(c.at), c.free_at);
        } else if (rc == FR_EINVAL) {
            MCHECK(m, res.field[0] != '\0', "alloc_create EINVAL without res.field");
        }
        fr_result_clear(&res);
        return;
    }
    fr_result_clear(&res);
    m_alloc *a = new_alloc(m);
    snprintf(a->id, sizeof a->id, "%s", out.id);
    a->pool = plan.pool;
    a->type = type;
    a->vehicle = vehicle;
    a->operation = operation;
    a->qty = q;
    a->start = s;
    a->end = e;
    a->priority = priority;
    a->status = hold > 0 ? FR_ALLOC_HELD : FR_ALLOC_CONFIRMED;
    a->hold_expires = hold > 0 ? m->now + hold : FR_TIME_NULL;
    cmp_alloc(m, a, &out);
    fr_allocation_clear(&out);
    model_settle(m);
}

/* Picks an allocation: mostly live ones; sometimes any (terminal ones must
 * be refused). */
static size_t pick_alloc(model *m, int live_percent) {
    if (m->nallocs == 0) {
        return NO_INDEX;
    }
    if (chance(m, live_percent)) {
        size_t n = count_live_allocs(m);
        if (n > 0) {
            size_t k = (size_t)rnd(m, 0, (int64_t)n - 1);
            for (size_t i = 0; i < m->nallocs; i++) {
                if (alloc_live(&m->allocs[i]) && k-- == 0) {
                    return i;
                }
            }
        }
    }
    return (size_t)rnd(m, 0, (int64_t)m->nallocs - 1);
}

static void op_alloc_update(model *m) {
    size_t ai = pick_alloc(m, 88);
    int unknown = ai == NO_INDEX || chance(m, 3);
    fr_allocation_params ap;
    memset(&ap, 0, sizeof ap);
    m_alloc next;
    memset(&next, 0, sizeof next);
    if (!unknown) {
        next = m->allocs[ai];
    }
    int want = FR_OK;
    int capacity_check = 0;
    int overcommit = 0;
    int may_overcommit = 0;
    const char *kind = "";
    int v = (int)rnd(m, 0, 99);
    int movable = !unknown && alloc_live(&next) && !m->pools[next.pool].deleted &&
                  m->pools[next.pool].status == FR_POOL_ACTIVE;
    if (unknown) {
        ap.set = FR_ALLOC_F_PRIORITY;
        ap.priority = 1;
        want = FR_ENOTFOUND;
        kind = "unknown id";
    } else if (v < 15) {
        ap.set = FR_ALLOC_F_STATUS;
        ap.status = FR_ALLOC_CONFIRMED;
        kind = "confirm";
        if (next.status == FR_ALLOC_HELD) {
            next.status = FR_ALLOC_CONFIRMED;
            next.hold_expires = FR_TIME_NULL;
        } else if (next.status == FR_ALLOC_CONFIRMED) {
            /* Confirming a confirmed one is not specified; ask for a
             * priority change instead. */
            ap.set = FR_ALLOC_F_PRIORITY;
            ap.priority = (int32_t)rnd(m, 0, 1000);
            next.priority = ap.priority;
            kind = "priority";
        } else {
            want = FR_ESTATE;
        }
    } else if (v < 30) {
        ap.set = FR_ALLOC_F_STATUS;
        ap.status = FR_ALLOC_RELEASED;
        kind = "release";
        if (!alloc_live(&next) || next.start >= m->now) {
            want = FR_ESTATE;
        } else {
            next.status = FR_ALLOC_RELEASED;
            next.end = min64(next.end, m->now);
            next.released_at = m->now;
        }
    } else if (v < 38) {
        ap.set = FR_ALLOC_F_PRIORITY;
        ap.priority = (int32_t)rnd(m, 0, 1000);
        next.priority = ap.priority;
        kind = "priority";
        if (!alloc_live(&next)) {
            want = FR_ESTATE;
        }
    } else if (!movable) {
        /* Moving a terminal allocation is refused whatever the change. */
        ap.set = FR_ALLOC_F_QUANTITY;
        ap.quantity_milli = UNIT;
        kind = "quantity of a non-live/non-active-pool allocation";
        if (alloc_live(&next)) {
            /* Live in a deleted or draining pool: not specified; skip. */
            ap.set = FR_ALLOC_F_PRIORITY;
            ap.priority = (int32_t)rnd(m, 0, 1000);
            next.priority = ap.priority;
            kind = "priority";
        } else {
            want = FR_ESTATE;
        }
    } else if (v < 93) {
        int w = (int)rnd(m, 0, 4);
        int future = next.start > m->now;
        if ((w == 1 || w == 3 || w == 4) && !future) {
            w = chance(m, 50) ? 0 : 2;
        }
        if (w == 1 || w == 3 || w == 4) {
            next.start = aligned_now(m) + rnd(m, 1, 36) * GRID_MS;
            ap.set |= FR_ALLOC_F_START;
        }
        if (w == 0 || w == 3 || w == 4 || (w == 1 && next.end <= next.start)) {
            int64_t base = max64(next.start, aligned_now(m));
            next.end = chance(m, 6) ? FR_TIME_INF : base + rnd(m, 1, 12) * 3 * GRID_MS;
            ap.set |= FR_ALLOC_F_END;
        }
        if (w == 2 || w == 4) {
            next.qty = chance(m, 10) ? UNIT / 2 : rnd(m, 1, 3) * UNIT;
            ap.set |= FR_ALLOC_F_QUANTITY;
        }
        ap.start_ms = next.start;
        ap.end_ms = next.end;
        ap.quantity_milli = next.qty;
        kind = w == 0 ? "end" : w == 1 ? "start" : w == 2 ? "quantity" : w == 3 ? "move" : "move+q";
        capacity_check = 1;
        if (chance(m, 8)) {
            ap.set |= FR_ALLOC_F_OVERCOMMIT;
            ap.overcommit = 1;
            overcommit = 1;
            may_overcommit = chance(m, 80);
            kind = may_overcommit ? "move/overcommit" : "[move/overcommit without permission]";
        }
    } else if (v < 97 && alloc_live(&next)) {
        ap.set = FR_ALLOC_F_END;
        ap.end_ms = next.start - (chance(m, 50) ? 0 : GRID_MS);
        want = FR_EINVAL;
        kind = "[end <= start]";
    } else if (alloc_live(&next)) {
        ap.set = FR_ALLOC_F_QUANTITY;
        ap.quantity_milli = chance(m, 50) ? 0 : -UNIT;
        want = FR_EINVAL;
        kind = "[bad quantity]";
    } else {
        ap.set = FR_ALLOC_F_PRIORITY;
        ap.priority = 7;
        want = FR_ESTATE;
        kind = "priority of a terminal allocation";
    }
    const char *id = unknown ? UNKNOWN_ID : m->allocs[ai].id;
    set_desc(m, "alloc_update %s (%s; was %s [%s,%s) q=%" PRId64 ") -> [%s,%s) q=%" PRId64, id,
             kind, unknown ? "-" : nz(fr_allocation_status_name(m->allocs[ai].status)),
             unknown ? "-" : ts(m->allocs[ai].start), unknown ? "-" : ts(m->allocs[ai].end),
             unknown ? 0 : m->allocs[ai].qty, ts(next.start), ts(next.end), next.qty);
    if (!unknown) {
        m->allocs[ai].touched = 1; /* re-read after the call, failed or not */
    }
    cap_check c;
    memset(&c, 0, sizeof c);
    /* Only a change that grows the booking (earlier start, later end, more
     * quantity) is re-checked: shrinking never makes anything worse, even
     * in an overcommitted pool.  (The brief says every change re-checks; the
     * engine re-checks growth only; the model follows the engine — see the
     * report.) */
    const m_alloc *was = unknown ? NULL : &m->allocs[ai];
    int grows = was != NULL && (next.start < was->start || next.end > was->end ||
                                next.qty > was->qty);
    if (want == FR_OK && overcommit && !may_overcommit) {
        want = FR_EFORBIDDEN;
    } else if (want == FR_OK && capacity_check && grows) {
        const m_pool *p = &m->pools[next.pool];
        if (p->exclusive && vehicle_overlap(m, next.type, next.vehicle, next.start, next.end, ai)) {
            want = FR_EDOUBLE;
        } else {
            c = check_capacity(m, next.pool, next.vehicle, next.start, next.end, next.qty, ai);
            want = c.fits || overcommit ? FR_OK : FR_ECAPACITY;
        }
    }
    fr_allocation out;
    fr_result res;
    fr_result_init(&res);
    memset(&out, want == FR_OK ? 0 : POISON, sizeof out);
    fr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.may_overcommit = may_overcommit;
    int rc = fr_allocation_update(m->engine, &ctx, id, &ap, &out, &res);
    int ok = expect_rc(m, "alloc_update", rc, want, &res, &out, sizeof out);
    if (!ok) {
        if (rc == FR_ECAPACITY) {
            check_capacity_res(m, "alloc_update", &res, &m->pools[next.pool], next.qty, &c);
        }
        fr_result_clear(&res);
        return;
    }
    fr_result_clear(&res);
    next.version++;
    next.touched = 1;
    m->allocs[ai] = next;
    cmp_alloc(m, &m->allocs[ai], &out);
    fr_allocation_clear(&out);
    model_settle(m);
}

static void op_alloc_delete(model *m) {
    size_t ai = NO_INDEX;
    if (count_live_allocs(m) > 14 && chance(m, 70)) {
        /* Prefer the oldest live ones: the past keeps piling up otherwise. */
        for (size_t i = 0; i < m->nallocs && ai == NO_INDEX; i++) {
            ai = alloc_live(&m->allocs[i]) && m->allocs[i].start < m->now ? i : NO_INDEX;
        }
    }
    if (ai == NO_INDEX) {
        ai = pick_alloc(m, 90);
    }
    int unknown = ai == NO_INDEX || chance(m, 3);
    const char *id = unknown ? UNKNOWN_ID : m->allocs[ai].id;
    set_desc(m, "alloc_delete %s (%s [%s,%s))", id,
             unknown ? "-" : nz(fr_allocation_status_name(m->allocs[ai].status)),
             unknown ? "-" : ts(m->allocs[ai].start), unknown ? "-" : ts(m->allocs[ai].end));
    int want = FR_OK;
    if (unknown) {
        want = FR_ENOTFOUND;
    } else if (!alloc_live(&m->allocs[ai])) {
        want = FR_ESTATE;
        m->allocs[ai].touched = 1;
    }
    fr_allocation out;
    fr_result res;
    fr_result_init(&res);
    memset(&out, want == FR_OK ? 0 : POISON, sizeof out);
    int rc = fr_allocation_delete(m->engine, NULL, id, &out, &res);
    int ok = expect_rc(m, "alloc_delete", rc, want, &res, &out, sizeof out);
    fr_result_clear(&res);
    if (!ok) {
        return;
    }
    m_alloc *a = &m->allocs[ai];
    if (a->start >= m->now) {
        a->status = FR_ALLOC_CANCELLED;
    } else {
        a->status = FR_ALLOC_RELEASED;
        a->end = min64(a->end, m->now);
    }
    a->released_at = m->now;
    a->version++;
    a->touched = 1;
    cmp_alloc(m, a, &out);
    fr_allocation_clear(&out);
    model_settle(m);
}

/* The request fields the generator draws (0 / NULL / INF: not sent). */
typedef struct req_draft {
    int64_t qty;
    int64_t duration; /* 0: not given */
    int64_t es;       /* FR_TIME_NULL: not given */
    int64_t le;       /* FR_TIME_INF: not given */
    int32_t priority;
} req_draft;

static void op_req_create(model *m) {
    int type = (int)rnd(m, 0, N_TYPES - 1);
    int vehicle = chance(m, 75) ? (int)rnd(m, 0, N_VEHICLES - 1) : -1;
    int operation = vehicle < 0 || chance(m, 25) ? (int)rnd(m, 0, N_OPERATIONS - 1) : -1;
    size_t pool = NO_INDEX;
    int site = -1;
    if (chance(m, 25)) {
        /* A pool constraint; often a draining pool, so that requests wait
         * (no_pool_of_type) and are dispatched together when it comes back. */
        size_t pi = pick_live_pool(m, 0);
        for (size_t i = 0; i < m->npools && chance(m, 50); i++) {
            if (!m->pools[i].deleted && m->pools[i].status != FR_POOL_ACTIVE) {
                pi = i;
                break;
            }
        }
        if (pi != NO_INDEX) {
            pool = pi;
            type = m->pools[pi].type;
        }
    } else if (chance(m, 15)) {
        site = (int)rnd(m, 0, N_SITES - 1);
    }
    req_draft d;
    d.qty = chance(m, 10) ? UNIT / 2 : chance(m, 15) ? 3 * UNIT : rnd(m, 1, 2) * UNIT;
    d.priority = (int32_t)(int[]){0, 0, 1, 2, 5, 10}[rnd(m, 0, 5)];
    d.es = chance(m, 40) ? FR_TIME_NULL : rand_time(m, -6, 18);
    int64_t es = d.es == FR_TIME_NULL ? m->now : d.es;
    int64_t duration = rnd(m, 1, 8) * 3 * GRID_MS;
    d.duration = duration;
    d.le = FR_TIME_INF;
    if (chance(m, 70)) {
        int64_t slack = chance(m, 35) ? 0 : rnd(m, 1, 12) * GRID_MS;
        d.le = es + duration + slack;
        if (d.le - duration < m->now) {
            d.le = m->now + duration + slack;
        }
        if (es >= m->now && chance(m, 30)) {
            d.duration = 0; /* default: latest_end - earliest_start */
            duration = d.le - es;
        }
    }
    int want = FR_OK;
    int invalid = chance(m, 10) ? (int)rnd(m, 0, 5) : -1;
    const char *defect = "";
    switch (invalid) {
    case 0:
        d.duration = 0;
        d.le = FR_TIME_INF;
        defect = "[no duration, no latest_end]";
        want = FR_EINVAL;
        break;
    case 1:
        d.es = es;
        d.duration = duration;
        d.le = es + duration - GRID_MS;
        if (d.le - duration < m->now) {
            d.es = m->now + HOUR_MS;
            d.le = d.es + duration - GRID_MS;
        }
        defect = "[window shorter than duration]";
        want = FR_EINVAL;
        break;
    case 2:
        d.es = m->now - 2 * HOUR_MS;
        d.duration = duration;
        d.le = m->now + duration - SEC_MS * rnd(m, 1, 600);
        defect = "[latest_end - duration < now]";
        want = FR_EINVAL;
        break;
    case 3:
        d.qty = chance(m, 50) ? 0 : -UNIT;
        defect = "[bad quantity]";
        want = FR_EINVAL;
        break;
    case 4:
        vehicle = -1;
        operation = -1;
        defect = "[no vehicle nor operation]";
        want = FR_EINVAL;
        break;
    case 5:
        pool = NO_INDEX;
        defect = "[unknown pool_id]";
        want = FR_EREFERENCE;
        break;
    default:
        break;
    }
    fr_request_params rp;
    memset(&rp, 0, sizeof rp);
    rp.set = FR_REQ_F_FLEET_ID | FR_REQ_F_RESOURCE_TYPE | FR_REQ_F_QUANTITY | FR_REQ_F_PRIORITY;
    rp.fleet_id = FLEET;
    rp.resource_type = TYPES[type];
    rp.quantity_milli = d.qty;
    rp.priority = d.priority;
    if (vehicle >= 0) {
        rp.set |= FR_REQ_F_VEHICLE_ID;
        rp.vehicle_id = VEHICLES[vehicle];
    }
    if (operation >= 0) {
        rp.set |= FR_REQ_F_OPERATION_ID;
        rp.operation_id = OPERATIONS[operation];
    }
    if (pool != NO_INDEX || invalid == 5) {
        rp.set |= FR_REQ_F_POOL_ID;
        rp.pool_id = invalid == 5 ? UNKNOWN_ID : m->pools[pool].id;
    }
    if (site >= 0) {
        rp.set |= FR_REQ_F_SITE;
        rp.site = SITES[site];
    }
    if (d.duration > 0) {
        rp.set |= FR_REQ_F_DURATION;
        rp.duration_ms = d.duration;
    }
    if (d.es != FR_TIME_NULL) {
        rp.set |= FR_REQ_F_EARLIEST_START;
        rp.earliest_start_ms = d.es;
    }
    if (d.le != FR_TIME_INF) {
        rp.set |= FR_REQ_F_LATEST_END;
        rp.latest_end_ms = d.le;
    }
    set_desc(m,
             "req_create type=%s veh=%s op=%s pool=%s site=%s q=%" PRId64 " dur=%" PRId64
             "s es=%s le=%s prio=%d %s",
             TYPES[type], nz(opt_name(VEHICLES, vehicle)), nz(opt_name(OPERATIONS, operation)),
             rp.pool_id ? rp.pool_id : "-", nz(opt_name(SITES, site)), d.qty, d.duration / SEC_MS,
             d.es == FR_TIME_NULL ? "(now)" : ts(d.es), ts(d.le), (int)d.priority, defect);
    fr_request out;
    fr_result res;
    fr_result_init(&res);
    memset(&out, want == FR_OK ? 0 : POISON, sizeof out);
    int rc = fr_request_create(m->engine, NULL, &rp, &out, &res);
    int ok = expect_rc(m, "req_create", rc, want, &res, &out, sizeof out);
    fr_result_clear(&res);
    if (!ok) {
        return;
    }
    m_req *r = new_req(m);
    snprintf(r->id, sizeof r->id, "%s", out.id);
    r->type = type;
    r->vehicle = vehicle;
    r->operation = operation;
    r->pool = pool;
    r->site = site;
    r->qty = d.qty;
    r->es = es;
    r->le = d.le;
    r->duration = d.duration > 0 ? d.duration : d.le - es;
    r->priority = d.priority;
    r->status = FR_REQ_PENDING;
    r->created = m->now;
    size_t ri = m->nreqs - 1;
    model_settle(m);
    learn_dispatched_ids(m);
    cmp_req(m, &m->reqs[ri], &out);
    fr_request_clear(&out);
}

static size_t pick_req(model *m, int pending_percent) {
    if (m->nreqs == 0) {
        return NO_INDEX;
    }
    if (chance(m, pending_percent)) {
        size_t n = count_pending(m);
        if (n > 0) {
            size_t k = (size_t)rnd(m, 0, (int64_t)n - 1);
            for (size_t i = 0; i < m->nreqs; i++) {
                if (m->reqs[i].status == FR_REQ_PENDING && k-- == 0) {
                    return i;
                }
            }
        }
    }
    return (size_t)rnd(m, 0, (int64_t)m->nreqs - 1);
}

static void op_req_update(model *m) {
    size_t ri = pick_req(m, 95);
    int unknown = ri == NO_INDEX || chance(m, 3);
    m_req next;
    memset(&next, 0, sizeof next);
    if (!unknown) {
        next = m->reqs[ri];
    }
    fr_request_params rp;
    memset(&rp, 0, sizeof rp);
    int want = FR_OK;
    const char *kind = "";
    int v = (int)rnd(m, 0, 99);
    if (unknown) {
        rp.set = FR_REQ_F_PRIORITY;
        rp.priority = 3;
        want = FR_ENOTFOUND;
        kind = "unknown id";
    } else if (v < 35) {
        next.priority = (int32_t)(int[]){0, 1, 2, 5, 10, 20}[rnd(m, 0, 5)];
        rp.set = FR_REQ_F_PRIORITY;
        rp.priority = next.priority;
        kind = "priority";
    } else if (v < 55) {
        next.qty = chance(m, 15) ? UNIT / 2 : rnd(m, 1, 2) * UNIT;
        rp.set = FR_REQ_F_QUANTITY;
        rp.quantity_milli = next.qty;
        kind = "quantity";
    } else if (v < 75) {
        /* New deadline (or none), keeping the window valid. */
        if (chance(m, 25)) {
            next.le = FR_TIME_INF;
        } else {
            int64_t lo = max64(next.es, m->now) + next.duration;
            next.le = lo + rnd(m, 0, 24) * GRID_MS;
        }
        rp.set = FR_REQ_F_LATEST_END;
        rp.latest_end_ms = next.le;
        kind = "latest_end";
    } else if (v < 82) {
        /* Another pool constraint: a live pool of the same type. */
        size_t cand[POOL_RECORDS_MAX];
        size_t n = 0;
        for (size_t i = 0; i < m->npools; i++) {
            if (!m->pools[i].deleted && m->pools[i].type == next.type && i != next.pool) {
                cand[n++] = i;
            }
        }
        if (n > 0) {
            next.pool = cand[rnd(m, 0, (int64_t)n - 1)];
            rp.pool_id = m->pools[next.pool].id;
            kind = "pool_id";
        } else {
            /* One defect at a time: only a pending request gets a bad id. */
            rp.pool_id = UNKNOWN_ID;
            want = next.status == FR_REQ_PENDING ? FR_EREFERENCE : FR_ESTATE;
            kind = "[unknown pool_id]";
        }
        rp.set = FR_REQ_F_POOL_ID;
    } else if (v < 90) {
        next.es = rand_time(m, -6, 36);
        if (next.le != FR_TIME_INF && (next.le - next.es < next.duration)) {
            next.le = max64(next.es, m->now) + next.duration + rnd(m, 0, 12) * GRID_MS;
            rp.set |= FR_REQ_F_LATEST_END;
            rp.latest_end_ms = next.le;
        }
        rp.set |= FR_REQ_F_EARLIEST_START;
        rp.earliest_start_ms = next.es;
        kind = "earliest_start";
    } else {
        /* Invalid: a window shorter than the duration. */
        int64_t es = max64(next.es, m->now) + GRID_MS;
        rp.set = FR_REQ_F_EARLIEST_START | FR_REQ_F_LATEST_END | FR_REQ_F_DURATION;
        rp.earliest_start_ms = es;
        rp.duration_ms = 2 * HOUR_MS;
        rp.latest_end_ms = es + HOUR_MS;
        want = FR_EINVAL;
        kind = "[window shorter than duration]";
    }
    const char *id = unknown ? UNKNOWN_ID : m->reqs[ri].id;
    set_desc(m, "req_update %s (%s; %s) q=%" PRId64 " es=%s le=%s dur=%" PRId64 "s prio=%d", id,
             kind, unknown ? "-" : nz(fr_request_status_name(m->reqs[ri].status)), next.qty,
             ts(next.es), ts(next.le), next.duration / SEC_MS, (int)next.priority);
    if (!unknown) {
        m->reqs[ri].touched = 1;
        if (m->reqs[ri].status != FR_REQ_PENDING && want != FR_ENOTFOUND) {
            want = FR_ESTATE;
        }
    }
    fr_request out;
    fr_result res;
    fr_result_init(&res);
    memset(&out, want == FR_OK ? 0 : POISON, sizeof out);
    int rc = fr_request_update(m->engine, NULL, id, &rp, &out, &res);
    int ok = expect_rc(m, "req_update", rc, want, &res, &out, sizeof out);
    fr_result_clear(&res);
    if (!ok) {
        return;
    }
    next.status = m->reqs[ri].status;
    next.reason = m->reqs[ri].reason;
    next.touched = 1;
    m->reqs[ri] = next;
    model_settle(m);
    learn_dispatched_ids(m);
    cmp_req(m, &m->reqs[ri], &out);
    fr_request_clear(&out);
}

static void op_req_delete(model *m) {
    size_t ri = pick_req(m, 93);
    int unknown = ri == NO_INDEX || chance(m, 3);
    const char *id = unknown ? UNKNOWN_ID : m->reqs[ri].id;
    set_desc(m, "req_delete %s (%s)", id,
             unknown ? "-" : nz(fr_request_status_name(m->reqs[ri].status)));
    int want = FR_OK;
    if (unknown) {
        want = FR_ENOTFOUND;
    } else if (m->reqs[ri].status != FR_REQ_PENDING) {
        want = FR_ESTATE;
        m->reqs[ri].touched = 1;
    }
    fr_request out;
    fr_result res;
    fr_result_init(&res);
    memset(&out, want == FR_OK ? 0 : POISON, sizeof out);
    int rc = fr_request_delete(m->engine, NULL, id, &out, &res);
    int ok = expect_rc(m, "req_delete", rc, want, &res, &out, sizeof out);
    fr_result_clear(&res);
    if (!ok) {
        return;
    }
    m_req *r = &m->reqs[ri];
    r->status = FR_REQ_CANCELLED;
    r->reason = FR_REASON_NONE;
    r->touched = 1;
    cmp_req(m, r, &out);
    fr_request_clear(&out);
    model_settle(m);
}

/* Advances the clock: not at all, a little, a lot, or exactly onto (or just
 * past) an instant where something happens: a hold expiry, a request's last
 * start, an allocation boundary.  Returns 1 when the caller should chain
 * another operation without a tick in between. */
static int op_advance(model *m) {
    int64_t target = m->now;
    int v = (int)rnd(m, 0, 99);
    const char *kind = "0";
    if (v < 12) {
        kind = "zero";
    } else if (v < 55) {
        target = m->now + rnd(m, 1, 600) * SEC_MS;
        kind = "small";
    } else if (v < 65) {
        target = m->now + rnd(m, 30, 180) * MIN_MS;
        kind = "big";
    } else {
        int64_t cand[64];
        size_t n = 0;
        for (size_t i = 0; i < m->nallocs && n < 60; i++) {
            const m_alloc *a = &m->allocs[i];
            if (a->status == FR_ALLOC_HELD) {
                cand[n++] = a->hold_expires + SEC_MS * rnd(m, -1, 1);
            } else if (alloc_live(a) && a->start > m->now && chance(m, 30)) {
                cand[n++] = a->start;
            } else if (alloc_live(a) && a->end > m->now && a->end != FR_TIME_INF && chance(m, 30)) {
                cand[n++] = a->end;
            }
        }
        for (size_t i = 0; i < m->nreqs && n < 64; i++) {
            const m_req *r = &m->reqs[i];
            if (r->status == FR_REQ_PENDING && r->le != FR_TIME_INF) {
                cand[n++] = r->le - r->duration + SEC_MS * rnd(m, 0, 1);
            }
        }
        if (n > 0) {
            target = cand[rnd(m, 0, (int64_t)n - 1)];
            kind = "event";
        }
        if (target <= m->now) {
            target = m->now + rnd(m, 1, 60) * SEC_MS;
            kind = "small";
        }
    }
    int chain = chance(m, 25);
    set_desc(m, "advance %s to %s%s", kind, ts(target), chain ? " (no tick; next op follows)" : "");
    m->now = target;
    if (chain) {
        log_outcome(m, FR_OK, NULL);
        return 1;
    }
    model_settle(m);
    int rc = fr_engine_tick(m->engine);
    expect_rc(m, "tick", rc, FR_OK, NULL, NULL, 0);
    MCHECK(m, fr_engine_now(m->engine) == m->now, "fr_engine_now %s != clock %s",
           ts(fr_engine_now(m->engine)), ts(m->now));
    return 0;
}

/* ---------------------------------------------------------------------------
 * The driver.
 * ------------------------------------------------------------------------- */
static int64_t model_clock(void *ctx) { return *(const int64_t *)ctx; }

/* The memory store with savepoints: every call runs inside a group
 * (lib/group.c), refused ones roll back to their savepoint. */
static int g_grouped;

static void engine_open(model *m) {
    fr_engine_options opt;
    memset(&opt, 0, sizeof opt);
    opt.clock = model_clock;
    opt.clock_ctx = &m->now;
    opt.aging_ms = m->aging_ms == 60000 && (m->seed & 1) ? 0 : m->aging_ms;
    /* A reopened engine gets another id seed: the same seed would replay the
     * same random id bits. */
    opt.seed = m->seed * 1000 + 1 + m->reopen_count;
    char err[256] = "";
    fr_engine *engine = NULL;
    int rc;
    if (g_grouped) {
        fr_store *store = NULL;
        rc = fr__store_memory_open_grouped(&store);
        MCHECK(m, rc == FR_OK, "fr__store_memory_open_grouped: %s", ec(rc));
        rc = fr_engine_open_store(store, &opt, &engine, err, sizeof err);
    } else {
        rc = fr_engine_open(m->uri, &opt, &engine, err, sizeof err);
    }
    MCHECK(m, rc == FR_OK && engine != NULL, "fr_engine_open(%s): %s: %s", m->uri, ec(rc), err);
    m->engine = engine;
}

static void engine_reopen(model *m) {
    set_desc(m, "close and reopen %s", m->uri);
    fr_engine_close(m->engine);
    m->engine = NULL;
    m->reopen_count++;
    engine_open(m);
    model_settle(m);
    for (size_t i = 0; i < m->nallocs; i++) {
        m->allocs[i].touched = 1;
    }
    compare_everything(m);
}

static void do_op(model *m, int allow_advance) {
    /* What the engine will apply first at this now (after an advance without
     * a tick): arguments are drawn from the state the engine will see. */
    model_settle(m);
    size_t live = count_live_allocs(m);
    size_t pending = count_pending(m);
    size_t pools = count_live_pools(m);
    for (;;) {
        int v = (int)rnd(m, 0, 99);
        if (pools == 0 && chance(m, 50)) {
            op_pool_create(m);
            return;
        }
        if (m->pressure && v >= 40 && v < 52 && pending < PENDING_SOFT_MAX &&
            live < LIVE_SOFT_MAX) {
            op_req_create(m);
            return;
        }
        if (v < 18) {
            if (allow_advance) {
                if (op_advance(m)) {
                    do_op(m, 0);
                }
                return;
            }
        } else if (v < 21) {
            if (pools < POOLS_LIVE_MAX && m->npools < POOL_RECORDS_MAX) {
                op_pool_create(m);
                return;
            }
        } else if (v < 27) {
            op_pool_update(m);
            return;
        } else if (v < 28) {
            if (m->npools < POOL_RECORDS_MAX - 2) {
                op_pool_delete(m);
                return;
            }
        } else if (v < 52) {
            if (live < LIVE_SOFT_MAX) {
                op_alloc_create(m);
                return;
            }
        } else if (v < 64) {
            op_alloc_update(m);
            return;
        } else if (v < 73 || live >= LIVE_SOFT_MAX) {
            op_alloc_delete(m);
            return;
        } else if (v < 86) {
            if (pending < PENDING_SOFT_MAX && live < LIVE_SOFT_MAX) {
                op_req_create(m);
                return;
            }
        } else if (v < 93) {
            op_req_update(m);
            return;
        } else {
            op_req_delete(m);
            return;
        }
    }
}

static void remove_db_files(const char *path) {
    const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char f[256];
        snprintf(f, sizeof f, "%s%s", path, suffix[i]);
        unlink(f);
    }
}

/* With FR_MODEL_STATS set: what a run covered, per seed. */
static void print_stats(const model *m, long nops, int sqlite) {
    if (getenv("FR_MODEL_STATS") == NULL) {
        return;
    }
    fprintf(stderr,
            "model seed %" PRIu64 " (%s): %ld ops, %ld ok, %ld refused as expected, %zu pools, "
            "%zu allocations, %zu requests, %ld dispatched (%ld past a pending one), mean live "
            "%.1f, mean pending %.1f; %ld holds and %ld requests expired; over_capacity open "
            "after %ld ops, %ld auto-resolved\n",
            m->seed, sqlite ? "sqlite" : g_grouped ? "memory, grouped" : "memory", nops, m->stat_ok, m->stat_err, m->npools,
            m->nallocs, m->nreqs, m->stat_dispatched, m->stat_contested,
            (double)m->stat_live_sum / (double)nops, (double)m->stat_pending_sum / (double)nops,
            m->stat_holds_expired, m->stat_reqs_expired, m->stat_conflict_ops,
            m->stat_auto_resolved);
    fprintf(stderr,
            "  open conflicts seen equal to one run %ld times, spanning several %ld; "
            "allocation_ids other than the live overlapping ones %ld times\n",
            m->stat_conf_exact, m->stat_conf_inexact, m->stat_conf_ids_stale);
    print_outcomes(m);
}

/* One seed: a fresh engine, nops random operations each followed by the
 * full comparison; SQLite runs close and reopen mid-way and at the end. */
static void run_model(uint64_t seed, long nops, int sqlite) {
    model *m = calloc(1, sizeof *m);
    cr_assert(m != NULL);
    m->seed = seed;
    m->rng = seed * UINT64_C(0x2545F4914F6CDD1D) + 7;
    m->now = T0_MS + (int64_t)(seed % 7) * 37 * SEC_MS;
    m->aging_ms = (seed % 3 == 0) ? 10 * MIN_MS : 60000;
    m->pressure = seed % 4 == 0;
    m->cap_max_units = m->pressure ? 3 : 6;
    char path[200] = "";
    if (sqlite) {
        snprintf(path, sizeof path, "/tmp/fleetres_model_%" PRIu64 "_%ld.db", seed, (long)getpid());
        remove_db_files(path);
        snprintf(m->uri, sizeof m->uri, "%s?sync=off", path);
    } else {
        snprintf(m->uri, sizeof m->uri, ":memory:");
    }
    set_desc(m, "open %s", m->uri);
    engine_open(m);
    for (long i = 0; i < nops; i++) {
        m->op_index = i;
        do_op(m, 1);
        compare_all(m);
        m->stat_live_sum += (long)count_live_allocs(m);
        m->stat_pending_sum += (long)count_pending(m);
        if (sqlite && i == nops / 2) {
            engine_reopen(m);
        }
    }
    m->op_index = nops;
    if (sqlite) {
        engine_reopen(m);
    } else {
        set_desc(m, "final full comparison");
        compare_everything(m);
    }
    print_stats(m, nops, sqlite);
    fr_engine_close(m->engine);
    if (sqlite) {
        remove_db_files(path);
    }
    free(m->allocs);
    free(m->reqs);
    free(m);
}

/* ---------------------------------------------------------------------------
 * The tests.  Ops per seed can be overridden with FR_MODEL_OPS (for a quick
 * local run or a long soak); seeds are fixed so a failure replays.
 * ------------------------------------------------------------------------- */
/* One test case runs `count` seeds one after the other, each on a fresh
 * engine: first_seed, first_seed + 1, ... */
typedef struct model_case {
    uint64_t first_seed;
    int count;
    long nops;
} model_case;

static long ops_override(long dflt) {
    const char *env = getenv("FR_MODEL_OPS");
    if (env == NULL || env[0] == '\0') {
        return dflt;
    }
    long v = strtol(env, NULL, 10);
    return v > 0 ? v : dflt;
}

/* FR_MODEL_SEED=n runs only that seed (to replay a failure). */
static int seed_selected(uint64_t seed) {
    const char *env = getenv("FR_MODEL_SEED");
    if (env == NULL || env[0] == '\0') {
        return 1;
    }
    return strtoull(env, NULL, 10) == seed;
}

/* FR_MODEL_SEED_BASE=k shifts every seed by k: a soak over new seeds. */
static uint64_t seed_base(void) {
    const char *env = getenv("FR_MODEL_SEED_BASE");
    return env == NULL ? 0 : strtoull(env, NULL, 10);
}

static void run_case(const model_case *c, int sqlite) {
    for (int i = 0; i < c->count; i++) {
        uint64_t seed = seed_base() + c->first_seed + (uint64_t)i;
        if (seed_selected(seed)) {
            run_model(seed, ops_override(c->nops), sqlite);
        }
    }
}

/* Memory store: seeds 1..64, 3,125 operations each = 200,000 operations, in
 * 8 cases (processes) that run in parallel.  Many short runs rather than a
 * few long ones: the engine's lists scan the whole history, so the cost of
 * an operation grows with the length of a run. */
ParameterizedTestParameters(model, memory) {
    static model_case cases[8];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cases[i].first_seed = 1 + 8 * (uint64_t)i;
        cases[i].count = 8;
        cases[i].nops = 3125;
    }
    return cr_make_param_array(model_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(model_case *c, model, memory, .timeout = 120) { run_case(c, 0); }

/* The memory store with savepoints (calls in groups, as on PostgreSQL):
 * seeds 201..216, 3,125 operations each, in 2 cases. */
ParameterizedTestParameters(model, grouped) {
    static model_case cases[] = {{201, 8, 3125}, {209, 8, 3125}};
    return cr_make_param_array(model_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(model_case *c, model, grouped, .timeout = 120) {
    g_grouped = 1;
    run_case(c, 0);
}

/* SQLite file store (no fsync): seeds 101 and 102, 10,000 operations each,
 * closed and reopened in the middle and at the end. */
ParameterizedTestParameters(model, sqlite) {
    static model_case cases[] = {{101, 1, 10000}, {102, 1, 10000}};
    return cr_make_param_array(model_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(model_case *c, model, sqlite, .timeout = 120) { run_case(c, 1); }
