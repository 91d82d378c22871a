/*
 * group.c — several engine calls in one store transaction.
 *
 * Why: with a store shared by processes (PostgreSQL) a transaction costs a
 * round trip to take the writer lock and one to commit, plus the database's
 * per-transaction work, all while the engine lock is held.  One transaction
 * per call capped the service near 1,000 bookings/s however idle the CPUs
 * were.  So calls that arrive while others are in flight share a
 * transaction, as a database's group commit shares a WAL flush.
 *
 * How: the first transaction after the lock opens the store's transaction
 * (begin: writer lock, catch-up) and a group.  Every transaction then runs
 * between a savepoint and either a rollback to it (the call failed: only its
 * writes go) or fr__group_join (its undo journal moves to the group's).
 * When the engine lock is about to be released and no thread waits for it
 * — or the group is big or old enough — the group is committed, under the
 * lock, in one round trip.  After the unlock the thread that committed it
 * waits for durability (sync) and publishes the outcome; every call in the
 * group waits for that outcome before it answers.  If the commit fails,
 * every call of the group is undone (the journal, in reverse) and answers
 * FR_ESTORE, as one call did before.
 *
 * What it changes for readers: a read under the lock sees the group's calls
 * before they are committed, as a read already saw commits before their
 * flush; no call is acknowledged before its group is durable.
 */
#include <stdlib.h>
#include <time.h>

#include "fr_int.h"

/* A group's outcome, shared by the calls in it. */
typedef struct fr__group {
    pthread_cond_t done_cv; /* its own: a broadcast wakes only its calls */
    int refs;   /* the engine's (until finished) + one per call in it */
    int done;   /* the outcome is known */
    int rc;     /* FR_OK: every call in it is durable */
    int synced; /* 0: committed, not yet made durable */
} fr__group;

/* Bounds on a group: calls, and age while others keep arriving. */
#define GROUP_MAX_CALLS 256
#define GROUP_MAX_AGE_NS INT64_C(5000000)

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int fr__group_open(fr_engine *e)
{
    fr__group *g = calloc(1, sizeof *g);
    if (g == NULL) {
        return FR_ENOMEM;
    }
    if (pthread_cond_init(&g->done_cv, NULL) != 0) {
        free(g);
        return FR_ENOMEM;
    }
    if (e->store->methods->savepoint(e->store) != FR_OK) {
        pthread_cond_destroy(&g->done_cv);
        free(g);
        return FR_ESTORE;
    }
    g->refs = 1;
    e->group = g;
    e->group_calls = 0;
    e->group_start_seq = e->head_seq;
    e->group_opened_ns = monotonic_ns();
    e->group_journal_len = 0;
    return FR_OK;
}

int fr__group_join(fr_engine *e)
{
    fr__txn *t = &e->txn;
    size_t need = e->group_journal_len + t->journal_len;
    if (need > e->group_journal_cap) {
        size_t cap = e->group_journal_cap == 0 ? 64 : e->group_journal_cap;
        while (cap < need) {
            cap *= 2;
        }
        fr__journal_entry *j = realloc(e->group_journal, cap * sizeof *j);
        if (j == NULL) {
            return FR_ENOMEM; /* the caller aborts this transaction alone */
        }
        e->group_journal = j;
        e->group_journal_cap = cap;
    }
    for (size_t i = 0; i < t->journal_len; i++) {
        e->group_journal[e->group_journal_len++] = t->journal[i];
    }
    t->journal_len = 0; /* the snapshots are the group's now */
    e->group_calls++;
    if (e->call_group == NULL) {
        pthread_mutex_lock(&e->group_mu);
        e->group->refs++;
        pthread_mutex_unlock(&e->group_mu);
        e->call_group = e->group;
    }
    return FR_OK;
}

static int due(fr_engine *e)
{
    return e->group_calls == 0 || atomic_load(&e->lock_waiters) == 0 ||
           e->group_calls >= GROUP_MAX_CALLS ||
           monotonic_ns() - e->group_opened_ns >= GROUP_MAX_AGE_NS;
}

fr__group *fr__group_close_if_due(fr_engine *e, int force)
{
    fr__group *g = e->group;
    if (g == NULL || (!force && !due(e))) {
        return NULL;
    }
    const struct fr_store_methods *m = e->store->methods;
    e->group = NULL;
    if (e->group_calls == 0) {
        m->rollback(e->store); /* nothing joined: just release the writer lock */
        g->rc = FR_OK;
        g->synced = 1;
    } else if (m->commit(e->store) == FR_OK) {
        fr__journal_forget(e->group_journal, e->group_journal_len);
        g->rc = FR_OK;
        e->counters.store_commits++;
        e->counters.grouped_calls += e->group_calls;
    } else {
        e->counters.failed_groups++;
        /* Unknown outcome if the connection broke during COMMIT: undone
         * here; if it did commit, the next begin catches up. */
        fr__journal_undo(e, e->group_journal, e->group_journal_len);
        e->head_seq = e->group_start_seq;
        g->rc = FR_ESTORE;
        g->synced = 1;
    }
    e->group_journal_len = 0;
    e->group_calls = 0;
    return g;
}

/* Drops one reference; group_mu held. */
static void release(fr__group *g)
{
    if (--g->refs == 0) {
        pthread_cond_destroy(&g->done_cv);
        free(g);
    }
}

void fr__group_finish(fr_engine *e, fr__group *g)
{
    int rc = g->rc;
    const struct fr_store_methods *m = e->store->methods;
    if (rc == FR_OK && !g->synced && m->sync != NULL && m->sync(e->store) != FR_OK) {
        rc = FR_ESTORE; /* committed, but not known to be durable: in doubt */
    }
    pthread_mutex_lock(&e->group_mu);
    g->rc = rc;
    g->done = 1;
    pthread_cond_broadcast(&g->done_cv);
    release(g);
    pthread_mutex_unlock(&e->group_mu);
}

int fr__group_wait(fr_engine *e, fr__group *g)
{
    pthread_mutex_lock(&e->group_mu);
    while (!g->done) {
        pthread_cond_wait(&g->done_cv, &e->group_mu);
    }
    int rc = g->rc;
    release(g);
    pthread_mutex_unlock(&e->group_mu);
    return rc;
}
