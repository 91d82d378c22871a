/*
 * resolve.c — resolving a conflict on demand (SPEC §6, POST
 * /conflicts/{id}/resolve): preempt, reschedule, reassign or a manual note,
 * all or nothing, optionally as a dry run.
 *
 * The change runs in one transaction like every other: victims are chosen
 * (victims.c: the fewest, then the lowest total priority), changed through
 * the journal, the conflict is marked resolved, and commit runs what that
 * causes (requeued requests are dispatched, the pool's other conflicts are
 * reconciled).  Anything that cannot be done aborts the transaction, so a
 * refusal leaves the engine exactly as it was; a dry run aborts on success.
 *
 * A victim that reschedule or reassign cannot place is set aside and the
 * choice is made again without it, a bounded number of rounds (each round
 * is a fresh transaction), before the conflict is declared unresolvable.
 * Behaviour where SPEC is silent is in docs/design.md "Conflict resolution".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fr_int.h"

/* Rounds of "set the unplaceable victim aside and choose again". */
#define FR__RESOLVE_ROUNDS 8
/* Internal: a victim could not be placed; retry without it. */
#define FR__RETRY (-1)
/* Double-booking conflicts list at most this many allocations to weigh. */
#define FR__DOUBLE_MAX 64

static const char *const strategy_names[] = {"preempt", "reschedule", "reassign", "manual"};

const char *fr_resolve_strategy_name(int strategy)
{
    if (strategy < 0 || strategy > FR_RESOLVE_MANUAL) {
        return NULL;
    }
    return strategy_names[strategy];
}

int fr_resolve_strategy_parse(const char *name)
{
    for (int i = 0; name != NULL && i <= FR_RESOLVE_MANUAL; i++) {
        if (strcmp(name, strategy_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* ---- one resolution attempt ---------------------------------------------- */

typedef struct attempt {
    fr_engine *e;
    fr__conflict_rec *conflict;
    const fr_resolve_params *params;
    int64_t max_delay_ms;
    char (*set_aside)[FR_ID_SIZE]; /* victims that could not be placed */
    size_t set_aside_len;
    fr_resolution_action *actions;
    size_t actions_len, actions_cap;
    char why[200]; /* the reason of a refusal */
} attempt;

static void actions_free(fr_resolution_action *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].action);
        free(a[i].from);
        free(a[i].to);
    }
    free(a);
}

static int add_action(attempt *t, const char *alloc_id, const char *action, const char *from,
                      const char *to)
{
    if (t->actions_len == t->actions_cap) {
        size_t cap = t->actions_cap == 0 ? 8 : t->actions_cap * 2;
        fr_resolution_action *grown = realloc(t->actions, cap * sizeof *grown);
        if (grown == NULL) {
            return FR_ENOMEM;
        }
        t->actions = grown;
        t->actions_cap = cap;
    }
    fr_resolution_action *a = &t->actions[t->actions_len];
    memset(a, 0, sizeof *a);
    memcpy(a->allocation_id, alloc_id, FR_ID_SIZE);
    a->action = strdup(action);
    a->from = from != NULL ? strdup(from) : NULL;
    a->to = to != NULL ? strdup(to) : NULL;
    t->actions_len++;
    if (a->action == NULL || (from != NULL && a->from == NULL) || (to != NULL && a->to == NULL)) {
        return FR_ENOMEM; /* freed with the rest by actions_free */
    }
    return FR_OK;
}

static void time_text(int64_t ms, char *buf, size_t size)
{
    if (ms == FR_TIME_INF || fr_time_format(ms, buf, size) == 0) {
        snprintf(buf, size, "%s", "open end");
    }
}

static int is_set_aside(const attempt *t, const fr__alloc_rec *rec)
{
    for (size_t i = 0; i < t->set_aside_len; i++) {
        if (strcmp(t->set_aside[i], rec->a.id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Preempt may take any live allocation; reschedule and reassign only move
 * allocations that have not started (a session in progress stays put). */
static int eligible(const fr__alloc_rec *rec, const void *ctx)
{
    const attempt *t = ctx;
    if (is_set_aside(t, rec)) {
        return 0;
    }
    return t->params->strategy == FR_RESOLVE_PREEMPT || rec->a.start_ms >= t->e->txn.now_ms;
}

int fr__alloc_preempt(fr_engine *e, fr__alloc_rec *rec)
{
    int64_t now = e->txn.now_ms;
    int64_t old_start_ms = rec->a.start_ms;
    int64_t old_end_ms = rec->a.end_ms;
    int rc = fr__alloc_touch(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    /* Like a release: a started allocation counts for utilization up to now
     * (SPEC §5 "ended ones up to when they ended"); a future one never. */
    if (rec->a.start_ms < now && rec->a.end_ms > now) {
        rec->a.end_ms = now;
    }
    rec->a.status = FR_ALLOC_PREEMPTED;
    rec->a.released_at_ms = now;
    rc = fr__alloc_changed(e, rec, "preempted");
    if (rc == FR_OK && rec->a.request_id[0] != 0) {
        rc = fr__req_requeue(e, rec->a.request_id);
    }
    if (rc == FR_OK) {
        rc = fr__mark_queue_dirty(e, rec->a.fleet_id, rec->a.resource_type);
    }
    if (rc == FR_OK) {
        rc = fr__mark_pool_dirty_range(e, rec->pool, old_start_ms, old_end_ms);
    }
    return rc;
}

static int preempt_all(attempt *t, fr__alloc_rec **victims, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *was = fr_allocation_status_name(victims[i]->a.status);
        int rc = add_action(t, victims[i]->a.id, "preempted", was, "preempted");
        if (rc == FR_OK) {
            rc = fr__alloc_preempt(t->e, victims[i]);
        }
        if (rc != FR_OK) {
            return rc;
        }
    }
    return FR_OK;
}

/* Moves go in priority order (highest first: it gets the earliest room),
 * then start, then id — deterministic. */
static int by_priority_desc(const void *a, const void *b)
{
    const fr_allocation *x = &(*(fr__alloc_rec *const *)a)->a;
    const fr_allocation *y = &(*(fr__alloc_rec *const *)b)->a;
    if (x->priority != y->priority) {
        return x->priority > y->priority ? -1 : 1;
    }
    if (x->start_ms != y->start_ms) {
        return x->start_ms < y->start_ms ? -1 : 1;
    }
    return strcmp(x->id, y->id);
}

static int set_aside(attempt *t, const fr__alloc_rec *rec)
{
    char(*grown)[FR_ID_SIZE] = realloc(t->set_aside, (t->set_aside_len + 1) * sizeof *grown);
    if (grown == NULL) {
        return FR_ENOMEM;
    }
    t->set_aside = grown;
    memcpy(t->set_aside[t->set_aside_len++], rec->a.id, FR_ID_SIZE);
    return FR__RETRY;
}

/* Takes every victim out of the ledgers first, so that each one's new place
 * is judged with all of them gone. */
static int touch_all(fr_engine *e, fr__alloc_rec **victims, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = fr__alloc_touch(e, victims[i]);
        if (rc != FR_OK) {
            return rc;
        }
    }
    qsort(victims, n, sizeof *victims, by_priority_desc);
    return FR_OK;
}

static int64_t end_after(int64_t start_ms, int64_t dur_ms)
{
    return dur_ms == FR_TIME_INF ? FR_TIME_INF : start_ms + dur_ms;
}

/* The earliest later start within max_delay where the pool has room and
 * the vehicle is free (always checked for a double booking). */
static int reschedule_one(attempt *t, fr__alloc_rec *v)
{
    fr_engine *e = t->e;
    fr_allocation *a = &v->a;
    int64_t dur = a->end_ms == FR_TIME_INF ? FR_TIME_INF : a->end_ms - a->start_ms;
    int64_t s = fr__pool_next_fit(e, v->pool, a->start_ms + 1, dur, a->quantity_milli,
                                  a->vehicle_id, a->start_ms + t->max_delay_ms);
    int vehicle_busy = s != FR_TIME_NULL && a->vehicle_id != NULL &&
                       t->conflict->c.type == FR_CONFLICT_DOUBLE_BOOKING &&
                       fr__vehicle_overlaps(e, a->fleet_id, a->resource_type, a->vehicle_id, s,
                                            end_after(s, dur), NULL, NULL, 0) > 0;
    if (s == FR_TIME_NULL || vehicle_busy || !fr__valid_end(end_after(s, dur))) {
        snprintf(t->why, sizeof t->why,
                 "reschedule cannot clear it: allocation %s has no later fit within %lld s",
                 a->id, (long long)(t->max_delay_ms / 1000));
        return set_aside(t, v);
    }
    char from[32], to[32];
    time_text(a->start_ms, from, sizeof from);
    time_text(s, to, sizeof to);
    int rc = add_action(t, a->id, "rescheduled", from, to);
    if (rc != FR_OK) {
        return rc;
    }
    int64_t old_start_ms = a->start_ms;
    a->start_ms = s;
    a->end_ms = end_after(s, dur);
    rc = fr__alloc_changed(e, v, "updated");
    if (rc == FR_OK) {
        rc = fr__mark_queue_dirty(e, a->fleet_id, a->resource_type);
    }
    /* It left [old start, old end) and took [s, s + dur), s later. */
    return rc == FR_OK ? fr__mark_pool_dirty_range(e, v->pool, old_start_ms, a->end_ms) : rc;
}

/* Another active pool of the fleet and type with room for the whole
 * interval: the same site first, then the least free capacity (SPEC §3's
 * choice), then name, then id. */
static fr__pool_rec *reassign_target(fr_engine *e, const fr__alloc_rec *v)
{
    const fr_allocation *a = &v->a;
    fr__vec *pools = fr__pools_of_type(e, a->fleet_id, a->resource_type);
    fr__pool_rec *best = NULL;
    int best_far = 0;
    int64_t best_free = 0;
    for (size_t i = 0; pools != NULL && i < pools->len; i++) {
        fr__pool_rec *p = pools->items[i];
        if (p == v->pool || p->p.status != FR_POOL_ACTIVE || p->p.deleted ||
            fr__ledger_first_shortfall(p->live, a->start_ms, a->end_ms, a->quantity_milli) !=
                FR_TIME_NULL) {
            continue;
        }
        if (p->p.exclusive_per_vehicle && a->vehicle_id != NULL &&
            fr__vehicle_overlaps(e, a->fleet_id, a->resource_type, a->vehicle_id, a->start_ms,
                                 a->end_ms, NULL, NULL, 0) > 0) {
            continue;
        }
        const char *s0 = v->pool->p.site, *s1 = p->p.site;
        int far = !((s0 == NULL && s1 == NULL) || (s0 != NULL && s1 != NULL && strcmp(s0, s1) == 0));
        int64_t free_milli = fr__ledger_min_free(p->live, a->start_ms, a->end_ms);
        int better = best == NULL || far < best_far ||
                     (far == best_far && free_milli < best_free);
        if (!better && best != NULL && far == best_far && free_milli == best_free) {
            int c = strcmp(p->p.name, best->p.name);
            better = c < 0 || (c == 0 && strcmp(p->p.id, best->p.id) < 0);
        }
        if (better) {
            best = p;
            best_far = far;
            best_free = free_milli;
        }
    }
    return best;
}

static int reassign_one(attempt *t, fr__alloc_rec *v)
{
    fr_engine *e = t->e;
    fr__pool_rec *target = reassign_target(e, v);
    if (target == NULL) {
        snprintf(t->why, sizeof t->why,
                 "reassign cannot clear it: no other active pool has room for allocation %s",
                 v->a.id);
        return set_aside(t, v);
    }
    int rc = add_action(t, v->a.id, "reassigned", v->pool->p.id, target->p.id);
    if (rc != FR_OK) {
        return rc;
    }
    fr__pool_rec *old = v->pool;
    v->pool = target; /* undo restores it from pool_id (txn.c) */
    memcpy(v->a.pool_id, target->p.id, FR_ID_SIZE);
    rc = fr__alloc_changed(e, v, "updated");
    if (rc == FR_OK) {
        rc = fr__mark_queue_dirty(e, v->a.fleet_id, v->a.resource_type);
    }
    return rc == FR_OK ? fr__mark_pool_dirty_range(e, old, v->a.start_ms, v->a.end_ms) : rc;
}

static int apply(attempt *t, fr__alloc_rec **victims, size_t n)
{
    int strategy = t->params->strategy;
    if (strategy == FR_RESOLVE_PREEMPT) {
        return preempt_all(t, victims, n);
    }
    int rc = touch_all(t->e, victims, n);
    for (size_t i = 0; rc == FR_OK && i < n; i++) {
        rc = strategy == FR_RESOLVE_RESCHEDULE ? reschedule_one(t, victims[i])
                                               : reassign_one(t, victims[i]);
    }
    return rc;
}

/* ---- over capacity ---------------------------------------------------------- */

static int resolve_overcap(attempt *t)
{
    const fr_conflict *c = &t->conflict->c;
    fr__pool_rec *pool = t->conflict->pool;
    fr__victims v;
    int rc = fr__choose_victims(pool, c->start_ms, c->end_ms, 0, eligible, t, &v);
    if (rc == FR_EUNRESOLVABLE) {
        char at[32];
        time_text(v.short_at_ms, at, sizeof at);
        snprintf(t->why, sizeof t->why,
                 "%s cannot clear it: at %s the allocations it may %s are not enough",
                 fr_resolve_strategy_name(t->params->strategy), at,
                 t->params->strategy == FR_RESOLVE_PREEMPT ? "preempt" : "move (not started)");
        return rc;
    }
    if (rc == FR_OK) {
        rc = apply(t, v.recs, v.len);
    }
    fr__victims_free(&v);
    if (rc == FR_OK &&
        fr__ledger_first_shortfall(pool->live, c->start_ms, c->end_ms, 0) != FR_TIME_NULL) {
        snprintf(t->why, sizeof t->why, "the pool is still over capacity after the %s",
                 fr_resolve_strategy_name(t->params->strategy));
        return FR_EUNRESOLVABLE; /* defensive: the choice above guarantees it */
    }
    return rc;
}

/* ---- double booking ----------------------------------------------------------- */

static int by_end(const void *a, const void *b)
{
    const fr_allocation *x = &(*(fr__alloc_rec *const *)a)->a;
    const fr_allocation *y = &(*(fr__alloc_rec *const *)b)->a;
    if (x->end_ms != y->end_ms) {
        return x->end_ms < y->end_ms ? -1 : 1;
    }
    if (x->start_ms != y->start_ms) {
        return x->start_ms < y->start_ms ? -1 : 1;
    }
    return strcmp(x->id, y->id);
}

/* Which of the n allocations (sorted by end) to keep: the most pairwise
 * non-overlapping ones, then the highest total priority — weighted interval
 * scheduling.  Those that may not move weigh more than all others together,
 * so they are kept whenever they can be.  keep[i] = 1 for each kept. */
static void keep_most(fr__alloc_rec **recs, size_t n, const unsigned char *fixed,
                      unsigned char *keep)
{
    const int64_t base = INT64_C(1) << 20;            /* > FR__DOUBLE_MAX * 1000 */
    const int64_t fixed_weight = base * (FR__DOUBLE_MAX + 1);
    int64_t best[FR__DOUBLE_MAX + 1];
    size_t before[FR__DOUBLE_MAX];
    best[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t p = 0; /* items ending by this one's start (a prefix: sorted by end) */
        while (p < i && recs[p]->a.end_ms <= recs[i]->a.start_ms) {
            p++;
        }
        before[i] = p;
        int64_t w = fixed[i] ? fixed_weight : base + recs[i]->a.priority;
        best[i + 1] = best[i] > w + best[p] ? best[i] : w + best[p];
    }
    memset(keep, 0, n);
    for (size_t i = n; i > 0;) {
        if (best[i] == best[i - 1]) {
            i--;
        } else {
            keep[i - 1] = 1;
            i = before[i - 1];
        }
    }
}

static int resolve_double(attempt *t)
{
    fr_engine *e = t->e;
    const fr_conflict *c = &t->conflict->c;
    if (t->params->strategy == FR_RESOLVE_REASSIGN) {
        snprintf(t->why, sizeof t->why, "reassign cannot clear a double booking: the rule "
                                        "spans every pool of the type");
        return FR_EUNRESOLVABLE;
    }
    fr__alloc_rec *recs[FR__DOUBLE_MAX];
    unsigned char fixed[FR__DOUBLE_MAX], keep[FR__DOUBLE_MAX];
    size_t n = 0;
    for (size_t i = 0; i < c->allocation_ids_len && n < FR__DOUBLE_MAX; i++) {
        fr__alloc_rec *r = fr__idmap_get(&e->allocs_by_id, c->allocation_ids[i]);
        if (r != NULL && fr__alloc_is_live(&r->a)) {
            recs[n++] = r;
        }
    }
    qsort(recs, n, sizeof *recs, by_end);
    for (size_t i = 0; i < n; i++) {
        fixed[i] = !eligible(recs[i], t);
    }
    keep_most(recs, n, fixed, keep);
    fr__alloc_rec *victims[FR__DOUBLE_MAX];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keep[i] && fixed[i]) {
            snprintf(t->why, sizeof t->why, "%s cannot clear it: allocations that may not "
                     "move overlap (allocation %s)",
                     fr_resolve_strategy_name(t->params->strategy), recs[i]->a.id);
            return FR_EUNRESOLVABLE;
        }
        if (!keep[i]) {
            victims[k++] = recs[i];
        }
    }
    return apply(t, victims, k);
}

/* ---- recording ------------------------------------------------------------ */

static int record(attempt *t)
{
    fr_engine *e = t->e;
    fr__conflict_rec *rec = t->conflict;
    int rc = fr__conflict_touch(e, rec);
    if (rc != FR_OK) {
        return rc;
    }
    fr_conflict *c = &rec->c;
    c->status = FR_CONFLICT_RESOLVED;
    c->resolved_at_ms = e->txn.now_ms;
    rc = fr__set_string(&c->resolution_strategy, fr_resolve_strategy_name(t->params->strategy));
    if (rc == FR_OK) {
        const char *note = t->params->note;
        rc = fr__set_string(&c->resolution_note, note != NULL && note[0] != 0 ? note : NULL);
    }
    if (rc == FR_OK) {
        rc = fr__set_string(&c->resolution_resolved_by, e->txn.actor);
    }
    if (rc != FR_OK) {
        return rc;
    }
    actions_free(c->resolution_actions, c->resolution_actions_len);
    c->resolution_actions = t->actions; /* the conflict owns them now */
    c->resolution_actions_len = t->actions_len;
    t->actions = NULL;
    t->actions_len = t->actions_cap = 0;
    rc = fr__conflict_changed(e, rec, "resolved");
    /* A strategy that moved bookings cleared the interval: the commit
     * reconciles the pool around it (manual changes nothing; its condition
     * is detected again by the next change that reconciles the pool). */
    if (rc == FR_OK && c->type == FR_CONFLICT_OVER_CAPACITY && rec->pool != NULL &&
        t->params->strategy != FR_RESOLVE_MANUAL) {
        rc = fr__mark_pool_dirty_range(e, rec->pool, c->start_ms, c->end_ms);
    }
    return rc;
}

static int run_round(attempt *t, const fr_ctx *ctx, const char *id, fr_result *res)
{
    fr_engine *e = t->e;
    fr__conflict_rec *rec = fr__idmap_get(&e->conflicts_by_id, id);
    if (rec == NULL) {
        fr__result_fail(res, FR_ENOTFOUND, NULL, "conflict %s not found", id);
        return FR_ENOTFOUND;
    }
    int rc = fr__check_if_match(ctx, rec->c.version, res);
    if (rc != FR_OK) {
        return rc;
    }
    if (rec->c.status != FR_CONFLICT_OPEN) {
        fr__result_fail(res, FR_ESTATE, NULL, "conflict %s is already resolved", id);
        return FR_ESTATE;
    }
    t->conflict = rec;
    actions_free(t->actions, t->actions_len);
    t->actions = NULL;
    t->actions_len = t->actions_cap = 0;
    if (t->params->strategy == FR_RESOLVE_MANUAL) {
        rc = FR_OK;
    } else if (rec->c.type == FR_CONFLICT_MANUAL) {
        snprintf(t->why, sizeof t->why, "a manual conflict names no condition %s can clear; "
                 "resolve it with strategy manual", fr_resolve_strategy_name(t->params->strategy));
        rc = FR_EUNRESOLVABLE;
    } else if (rec->c.type == FR_CONFLICT_DOUBLE_BOOKING) {
        rc = resolve_double(t);
    } else {
        rc = resolve_overcap(t);
    }
    return rc == FR_OK ? record(t) : rc;
}

/* ---- the call ------------------------------------------------------------------ */

static int check_params(const fr_resolve_params *p, fr_result *res)
{
    const char *bad = NULL, *why = "is invalid";
    if (fr_resolve_strategy_name(p->strategy) == NULL) {
        bad = "strategy", why = "must be preempt, reschedule, reassign or manual";
    } else if (p->note != NULL && strlen(p->note) > FR_NOTE_MAX) {
        bad = "note", why = "must be at most 4096 bytes";
    } else if (p->strategy == FR_RESOLVE_MANUAL && (p->note == NULL || p->note[0] == 0)) {
        bad = "note", why = "is required with strategy manual";
    } else if (p->max_delay_ms != 0 &&
               (p->max_delay_ms < 1000 || p->max_delay_ms > FR_HORIZON_SEARCH_MS)) {
        bad = "max_delay_seconds", why = "must be 1 .. 2592000 (30 days)";
    }
    if (bad != NULL) {
        fr__result_fail(res, FR_EINVAL, bad, "%s %s", bad, why);
        return FR_EINVAL;
    }
    return FR_OK;
}

/* A later round is a fresh transaction at the same instant. */
static int begin_again(fr_engine *e, int64_t now_ms, const fr_ctx *ctx)
{
    int rc = fr__txn_begin(e, now_ms, ctx != NULL ? ctx->actor : NULL);
    if (rc == FR_OK && ctx != NULL && ctx->idempotency_key != NULL &&
        ctx->idempotency_scope != NULL) {
        e->txn.idem = ctx;
    }
    return rc;
}

/* Rounds until the choice holds, then commits (or, dry, aborts). */
static int resolve_locked(attempt *t, const fr_ctx *ctx, const char *id, fr_conflict *out,
                          fr_result *res)
{
    fr_engine *e = t->e;
    int rc = fr__begin_call(e, ctx);
    int64_t now = e->txn.now_ms;
    for (int round = 0; rc == FR_OK; round++) {
        rc = run_round(t, ctx, id, res);
        if (rc != FR__RETRY) {
            break;
        }
        fr__txn_abort(e);
        rc = round + 1 < FR__RESOLVE_ROUNDS ? begin_again(e, now, ctx) : FR_EUNRESOLVABLE;
    }
    if (rc == FR_EUNRESOLVABLE) {
        fr__result_fail(res, rc, NULL, "conflict %s: %s", id, t->why);
    }
    if (rc == FR_OK && t->params->dry_run) {
        rc = out != NULL ? fr__conflict_rec_copy(out, t->conflict) : FR_OK;
        fr__txn_abort(e);
        return rc;
    }
    if (rc == FR_OK) {
        rc = fr__txn_commit(e, res); /* aborts on failure */
    } else if (e->txn.id != 0) {
        fr__txn_abort(e);
    }
    fr__conflict_rec *rec = rc == FR_OK ? fr__idmap_get(&e->conflicts_by_id, id) : NULL;
    if (rec != NULL && out != NULL) {
        rc = fr__conflict_rec_copy(out, rec);
    }
    return rc;
}

/* The replay of an earlier call with the same key: its refusal, or the
 * conflict as it is now. */
static int replay(fr_engine *e, const fr__idem_prior *prior, const char *id, fr_conflict *out,
                  fr_result *res)
{
    if (prior->status != FR_OK) {
        return fr__idem_replay_result(prior, res);
    }
    fr__conflict_rec *rec = fr__idmap_get(&e->conflicts_by_id, id);
    if (rec == NULL) {
        return FR_ESTORE; /* recorded but gone: the store disagrees with itself */
    }
    int rc = out != NULL ? fr__conflict_rec_copy(out, rec) : FR_OK;
    if (rc == FR_OK && res != NULL) {
        res->replayed = 1;
    }
    return rc;
}

int fr_conflict_resolve(fr_engine *engine, const fr_ctx *ctx, const char *id,
                        const fr_resolve_params *params, fr_conflict *out, fr_result *res)
{
    if (engine == NULL || params == NULL || id == NULL) {
        fr__result_fail(res, FR_EINVAL, NULL, "engine, id and params are required");
        return FR_EINVAL;
    }
    int rc = check_params(params, res);
    if (rc != FR_OK) {
        return rc;
    }
    if (strlen(id) >= FR_ID_SIZE) {
        fr__result_fail(res, FR_ENOTFOUND, NULL, "conflict %.64s not found", id);
        return FR_ENOTFOUND;
    }
    /* Keys are scoped to the route and the conflict: the same body sent to
     * another conflict is another request. */
    fr_ctx scoped;
    char scope[256];
    if (ctx != NULL && ctx->idempotency_scope != NULL) {
        scoped = *ctx;
        snprintf(scope, sizeof scope, "%.200s %s", ctx->idempotency_scope, id);
        scoped.idempotency_scope = scope;
        ctx = &scoped;
    }
    attempt t;
    memset(&t, 0, sizeof t);
    t.e = engine;
    t.params = params;
    t.max_delay_ms = params->max_delay_ms != 0 ? params->max_delay_ms : FR_HORIZON_SEARCH_MS;
    fr__lock(engine);
    fr__idem_prior prior;
    rc = fr__idem_lookup(engine, ctx, &prior, res);
    if (rc == FR_OK && prior.found) {
        rc = replay(engine, &prior, id, out, res);
    } else if (rc == FR_OK) {
        rc = resolve_locked(&t, ctx, id, out, res);
        if (rc == FR__EREPLAY) {
            /* Another instance recorded the key meanwhile: answer its record. */
            fr__idem_prior_clear(&prior);
            rc = fr__idem_lookup(engine, ctx, &prior, res);
            if (rc == FR_OK && !prior.found) {
                rc = FR_ESTORE;
            }
            rc = rc == FR_OK ? replay(engine, &prior, id, out, res) : rc;
        } else {
            fr__idem_put_failure(engine, ctx, rc, res);
        }
    }
    fr__idem_prior_clear(&prior);
    actions_free(t.actions, t.actions_len);
    free(t.set_aside);
    return fr__unlock_call(engine, rc);
}
