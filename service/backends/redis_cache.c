/*
 * redis_cache.c — the read cache for GETs by id (see redis.h), shared by
 * every instance through Redis, never stale after a completed write.
 *
 * Keys: fr:epoch = the current epoch E (16 hex); fr:E:v:<k>:<id> = the
 * rendered entity ("<version>\n<json>"); fr:E:lease:<k>:<id> = the token of
 * the one reader allowed to fill it.  Protocol (lease + invalidate):
 *   reader:  [one script] read E (make one if Redis lost it), GET the value;
 *            on a miss take the lease (SET NX PX 2000);  then read the engine
 *            (fresh);  then [script] store the value only if its lease is
 *            still the reader's, deleting the lease.
 *   writer:  after the commit and before answering, delete value and lease
 *            of every entity the change touched (the events appended since
 *            the last sync — dispatch, preemption and expiry included).
 * A reader whose engine read predates a commit took its lease before that
 * commit, so the writer's delete (after the commit) removes the lease and
 * the stale fill is refused.  A writer that could not delete (Redis
 * unreachable) marks the epoch dirty; no cache access happens on this
 * instance until a new random epoch is set, which orphans every old value.
 * Only renderings that cannot change with time alone are cached, or cached
 * no longer than they stay true (a held allocation until hold_expires_at).
 * docs/service.md ("Redis") has the full argument.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../server.h"
#include "redis.h"

#define CACHE_VALUE_TTL_MS 300000 /* bounds a value's life without writes */
#define CACHE_LEASE_MS "2000"
#define CACHE_EXPIRY_MARGIN_MS 20 /* a held value leaves before its hold ends */
#define CACHE_SYNC_PAGE 256
#define CACHE_SYNC_PAGES_MAX 64  /* per call; the rest on the next one */

/* One round trip: epoch (created when missing), value, or the lease. */
static const char read_script[] =
    "local e = redis.call('GET', 'fr:epoch')\n"
    "if not e then e = ARGV[1]; redis.call('SET', 'fr:epoch', e) end\n"
    "local v = redis.call('GET', 'fr:' .. e .. ':v:' .. ARGV[2])\n"
    "if v then return {e, v, 2} end\n"
    "if redis.call('SET', 'fr:' .. e .. ':lease:' .. ARGV[2], ARGV[3], 'NX', 'PX', ARGV[4])"
    " then return {e, '', 1} end\n"
    "return {e, '', 0}\n";

/* ARGV: epoch, key, token, value ('' = release only), ttl ms. */
static const char fill_script[] =
    "local l = 'fr:' .. ARGV[1] .. ':lease:' .. ARGV[2]\n"
    "if redis.call('GET', l) ~= ARGV[3] then return 0 end\n"
    "redis.call('DEL', l)\n"
    "if ARGV[4] ~= '' then\n"
    "  redis.call('SET', 'fr:' .. ARGV[1] .. ':v:' .. ARGV[2], ARGV[4], 'PX', ARGV[5])\n"
    "end\n"
    "return 1\n";

/* ARGV: keys.  Without an epoch nothing is cached: nothing to delete. */
static const char invalidate_script[] =
    "local e = redis.call('GET', 'fr:epoch')\n"
    "if not e then return 0 end\n"
    "for i = 1, #ARGV do\n"
    "  redis.call('DEL', 'fr:' .. e .. ':v:' .. ARGV[i], 'fr:' .. e .. ':lease:' .. ARGV[i])\n"
    "end\n"
    "return #ARGV\n";

static struct {
    int lookups; /* 0: REDIS_CACHE=off, invalidate only */
    pthread_mutex_t sync_lock;
    int64_t cursor_seq; /* events up to here are invalidated */
    /* The epoch is dirty while dirty_gen > clean_gen: a failed invalidation
     * raises dirty_gen; a successful bump sets clean_gen to the dirty_gen it
     * saw before bumping, so a failure during a bump keeps it dirty. */
    _Atomic uint64_t dirty_gen;
    _Atomic uint64_t clean_gen;
} c = {.sync_lock = PTHREAD_MUTEX_INITIALIZER};

static void mark_dirty(void)
{
    atomic_fetch_add(&c.dirty_gen, 1);
}

/* Replaces the epoch when dirty; 1 when the cache may be used. */
static int epoch_clean(void)
{
    uint64_t seen = atomic_load(&c.dirty_gen);
    if (seen <= atomic_load(&c.clean_gen)) {
        return 1;
    }
    char epoch[17];
    frs_redis_random_hex(epoch);
    const char *argv[] = {"SET", "fr:epoch", epoch};
    size_t lens[] = {3, 8, 16};
    redisReply *r = frs_redis_argv(3, argv, lens);
    if (r == NULL) {
        return 0;
    }
    freeReplyObject(r);
    frs_redis_count(FRS_REDIS_M_EPOCH_BUMPS);
    uint64_t clean = atomic_load(&c.clean_gen);
    while (clean < seen && !atomic_compare_exchange_weak(&c.clean_gen, &clean, seen)) {
    }
    return atomic_load(&c.dirty_gen) <= atomic_load(&c.clean_gen);
}

/* 1 when the log has an event with seq > after; -1 when it cannot be read. */
static int has_after(fr_engine *engine, int64_t after)
{
    fr_event *items = NULL;
    size_t n = 0;
    if (fr_event_list(engine, after, 1, NULL, &items, &n) != FR_OK) {
        return -1;
    }
    fr_event_free_array(items, n);
    return n > 0;
}

/* The largest committed seq, by doubling then bisecting has_after (about
 * 2 log2(head) one-row queries instead of reading the whole log). */
static int find_head_seq(fr_engine *engine, int64_t *head)
{
    int more = has_after(engine, 0);
    if (more <= 0) {
        *head = 0;
        return more == 0;
    }
    int64_t lo = 0, hi = 1; /* has_after(lo) holds; find hi where it does not */
    while ((more = has_after(engine, hi)) == 1 && hi < INT64_MAX / 2) {
        lo = hi;
        hi *= 2;
    }
    if (more < 0) {
        return 0;
    }
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        more = has_after(engine, mid);
        if (more < 0) {
            return 0;
        }
        if (more) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    *head = hi;
    return 1;
}

int frs_cache_start(fr_engine *engine, int lookups)
{
    c.lookups = lookups;
    mark_dirty();
    if (!frs_redis_enabled()) {
        return 1;
    }
    int64_t head = 0;
    if (!find_head_seq(engine, &head)) {
        return 0;
    }
    pthread_mutex_lock(&c.sync_lock);
    c.cursor_seq = head;
    pthread_mutex_unlock(&c.sync_lock);
    return 1;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A hit: "<version>\n<json>" answered with its ETag; 0 when the value is
 * not in that shape (then the engine answers). */
static int send_cached(frs_exchange *x, const char *value, size_t len)
{
    const char *nl = memchr(value, '\n', len);
    long long version = 0;
    int used = 0;
    if (nl == NULL || sscanf(value, "%lld%n", &version, &used) != 1 || value + used != nl ||
        version < 1) {
        return 0;
    }
    frs_send_version_json(x, 200, nl + 1, len - (size_t)(nl + 1 - value), version);
    return 1;
}

static void cache_key(char *buf, size_t size, int kind, const char *id)
{
    snprintf(buf, size, "%c:%s", kind, id);
}

int frs_cache_lookup(frs_exchange *x, int kind, const char *id, frs_cache_lease *lease)
{
    memset(lease, 0, sizeof *lease);
    lease->kind = kind;
    snprintf(lease->id, sizeof lease->id, "%s", id);
    if (!frs_redis_enabled() || !c.lookups || !epoch_clean()) {
        return 0;
    }
    char key[FR_ID_SIZE + 80], candidate[17];
    cache_key(key, sizeof key, kind, id);
    frs_redis_random_hex(candidate);
    frs_redis_random_hex(lease->token);
    const char *argv[] = {"EVAL", read_script, "0", candidate, key, lease->token,
                          CACHE_LEASE_MS};
    size_t lens[7];
    for (int i = 0; i < 7; i++) {
        lens[i] = strlen(argv[i]);
    }
    redisReply *r = frs_redis_argv(7, argv, lens);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_INTEGER || r->element[0]->len >= sizeof lease->epoch) {
        if (r != NULL) {
            freeReplyObject(r);
        }
        frs_redis_count(FRS_REDIS_M_CACHE_MISSES);
        return 0;
    }
    memcpy(lease->epoch, r->element[0]->str, r->element[0]->len);
    lease->epoch[r->element[0]->len] = 0;
    long long state = r->element[2]->integer;
    int answered = 0;
    if (state == 2) {
        x->engine_untouched = 1; /* no engine call: nothing to sync before answering */
        answered = send_cached(x, r->element[1]->str, r->element[1]->len);
        x->engine_untouched = answered;
    }
    lease->leased = state == 1;
    freeReplyObject(r);
    frs_redis_count(answered ? FRS_REDIS_M_CACHE_HITS : FRS_REDIS_M_CACHE_MISSES);
    return answered;
}

/* Stores (or, with value NULL, just releases) under the lease. */
static void fill(frs_cache_lease *lease, const char *value, size_t value_len, int64_t ttl_ms)
{
    char key[FR_ID_SIZE + 80], ttl[24];
    cache_key(key, sizeof key, lease->kind, lease->id);
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    const char *argv[] = {"EVAL", fill_script, "0", lease->epoch, key, lease->token,
                          value != NULL ? value : "", ttl};
    size_t lens[8];
    for (int i = 0; i < 8; i++) {
        lens[i] = strlen(argv[i]);
    }
    lens[6] = value != NULL ? value_len : 0;
    redisReply *r = frs_redis_argv(8, argv, lens);
    if (r != NULL) {
        if (r->type == REDIS_REPLY_INTEGER && r->integer == 1 && value != NULL) {
            frs_redis_count(FRS_REDIS_M_CACHE_FILLS);
        }
        freeReplyObject(r);
    }
    lease->leased = 0;
}

void frs_cache_release(frs_cache_lease *lease)
{
    if (lease->leased) {
        fill(lease, NULL, 0, 0);
    }
}

int frs_cache_send(frs_exchange *x, frs_cache_lease *lease, cJSON *entity, int64_t version,
                   int64_t valid_until_ms)
{
    char *json = entity != NULL ? cJSON_PrintUnformatted(entity) : NULL;
    cJSON_Delete(entity);
    if (json == NULL) {
        frs_cache_release(lease);
        return frs_send_result_error(x, FR_ENOMEM, NULL);
    }
    size_t json_len = strlen(json);
    if (lease->leased) {
        int64_t ttl_ms = CACHE_VALUE_TTL_MS;
        if (valid_until_ms != FR_TIME_INF) {
            int64_t left = valid_until_ms - wall_ms() - CACHE_EXPIRY_MARGIN_MS;
            ttl_ms = left < ttl_ms ? left : ttl_ms;
        }
        char *value = NULL;
        size_t value_len = 0;
        if (ttl_ms > 0 && epoch_clean()) {
            value = malloc(json_len + 32);
        }
        if (value != NULL) {
            value_len = (size_t)snprintf(value, 32, "%lld\n", (long long)version);
            memcpy(value + value_len, json, json_len);
            value_len += json_len;
            value[value_len] = 0;
        }
        fill(lease, value, value_len, ttl_ms);
        free(value);
    }
    int status = frs_send_version_json(x, 200, json, json_len, version);
    free(json);
    return status;
}

/* Adds the cache key of an event's entity to argv; 1 if it had one. */
static int event_key(const fr_event *ev, char *buf, size_t size)
{
    if (ev->entity_type == FR_ENTITY_ALLOCATION) {
        cache_key(buf, size, FRS_CACHE_ALLOCATION, ev->entity_id);
        return 1;
    }
    if (ev->entity_type == FR_ENTITY_CONFLICT) {
        cache_key(buf, size, FRS_CACHE_CONFLICT, ev->entity_id);
        return 1;
    }
    return 0;
}

/* Deletes the keys of one page of events; 0 when Redis did not confirm. */
static int invalidate_page(const fr_event *items, size_t n)
{
    char(*keys)[FR_ID_SIZE + 80] = calloc(n + 1, sizeof *keys);
    const char **argv = calloc(n + 3, sizeof *argv);
    size_t *lens = calloc(n + 3, sizeof *lens);
    int ok = keys != NULL && argv != NULL && lens != NULL;
    size_t argc = 3;
    for (size_t i = 0; ok && i < n; i++) {
        if (event_key(&items[i], keys[i], sizeof keys[i])) {
            argv[argc] = keys[i];
            lens[argc] = strlen(keys[i]);
            argc++;
        }
    }
    if (ok && argc > 3) {
        argv[0] = "EVAL";
        argv[1] = invalidate_script;
        argv[2] = "0";
        for (size_t i = 0; i < 3; i++) {
            lens[i] = strlen(argv[i]);
        }
        redisReply *r = frs_redis_argv((int)argc, argv, lens);
        ok = r != NULL && r->type == REDIS_REPLY_INTEGER;
        if (r != NULL) {
            freeReplyObject(r);
        }
        for (size_t i = 3; ok && i < argc; i++) {
            frs_redis_count(FRS_REDIS_M_CACHE_INVALIDATED);
        }
    }
    free(keys);
    free(argv);
    free(lens);
    return ok;
}

void frs_cache_sync(fr_engine *engine)
{
    if (!frs_redis_enabled()) {
        return;
    }
    pthread_mutex_lock(&c.sync_lock);
    for (int page = 0; page < CACHE_SYNC_PAGES_MAX; page++) {
        fr_event *items = NULL;
        size_t n = 0;
        if (fr_event_list(engine, c.cursor_seq, CACHE_SYNC_PAGE, NULL, &items, &n) != FR_OK) {
            /* The log is unreadable: whatever changed cannot be named. */
            mark_dirty();
            break;
        }
        if (n == 0) {
            break;
        }
        if (!invalidate_page(items, n)) {
            mark_dirty();
        }
        c.cursor_seq = items[n - 1].seq;
        fr_event_free_array(items, n);
        if (page == CACHE_SYNC_PAGES_MAX - 1) {
            /* Too many to name one by one before answering: drop them all
             * with the epoch and continue from the head. */
            int64_t head = 0;
            mark_dirty();
            if (find_head_seq(engine, &head)) {
                c.cursor_seq = head;
            }
        }
    }
    pthread_mutex_unlock(&c.sync_lock);
    /* A failed invalidation is repaired as soon as Redis answers (the tick
     * runs this every TICK_MS), not only at this instance's next read: the
     * other instances read the same keys. */
    (void)epoch_clean();
}
