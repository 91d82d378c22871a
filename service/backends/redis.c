/*
 * redis.c — the connection to Redis (REDIS_ADDR) for the cache, the
 * idempotency copies and the rate limiter (see redis.h).
 *
 * hiredis 0.14 contexts are not thread-safe and civetweb runs one handler per
 * worker thread, so each thread keeps its own blocking connection (a
 * pthread key; the destructor closes it when the thread exits): no lock on
 * the request path.  Timeouts are short (connect 100 ms, command 100 ms) so
 * a dead or hung Redis costs a request at most one timeout; after a failure
 * the thread waits (backoff 50 ms doubling to 1 s) before connecting again,
 * so while Redis is down requests do not even try.
 */
#include "redis.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../server.h"

#define REDIS_CONNECT_TIMEOUT_MS 100
#define REDIS_COMMAND_TIMEOUT_MS 100
#define REDIS_BACKOFF_MIN_MS 50
#define REDIS_BACKOFF_MAX_MS 1000

typedef struct thread_conn {
    redisContext *ctx;
    int64_t retry_at_ms; /* no connection attempt before this (monotonic) */
    int64_t backoff_ms;
} thread_conn;

static struct {
    int enabled;
    char host[200];
    int port;
    pthread_key_t key;
    _Atomic uint64_t random_state;
    _Atomic uint64_t counters[FRS_REDIS_M_COUNT];
} g;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_destroy(void *p)
{
    thread_conn *c = p;
    if (c != NULL && c->ctx != NULL) {
        redisFree(c->ctx);
    }
    free(c);
}

/* "host:port", "redis://host:port", "host" (port 6379). */
static int parse_addr(const char *addr, char *err, size_t err_size)
{
    if (strncmp(addr, "redis://", 8) == 0) {
        addr += 8;
    }
    const char *colon = strrchr(addr, ':');
    size_t host_len = colon != NULL ? (size_t)(colon - addr) : strlen(addr);
    long port = 6379;
    if (colon != NULL) {
        char *end = NULL;
        port = strtol(colon + 1, &end, 10);
        if (colon[1] == 0 || *end != 0) {
            port = -1;
        }
    }
    if (host_len == 0 || host_len >= sizeof g.host || port < 1 || port > 65535) {
        snprintf(err, err_size, "REDIS_ADDR must be host:port (e.g. 127.0.0.1:6379)");
        return 0;
    }
    memcpy(g.host, addr, host_len);
    g.host[host_len] = 0;
    g.port = (int)port;
    return 1;
}

static uint64_t seed_random(void)
{
    uint64_t seed = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &seed, sizeof seed) != (ssize_t)sizeof seed) {
            seed = 0;
        }
        close(fd);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return seed ^ ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid();
}

int frs_redis_init(const char *addr, char *err, size_t err_size)
{
    memset(&g, 0, sizeof g);
    atomic_store(&g.random_state, seed_random());
    if (addr == NULL || addr[0] == 0) {
        return 1;
    }
    if (!parse_addr(addr, err, err_size)) {
        return 0;
    }
    if (pthread_key_create(&g.key, conn_destroy) != 0) {
        snprintf(err, err_size, "cannot create the Redis connection key");
        return 0;
    }
    g.enabled = 1;
    return 1;
}

void frs_redis_shutdown(void)
{
    if (!g.enabled) {
        return;
    }
    conn_destroy(pthread_getspecific(g.key));
    pthread_setspecific(g.key, NULL);
}

int frs_redis_enabled(void)
{
    return g.enabled;
}

void frs_redis_random_hex(char buf[17])
{
    /* splitmix64 over an atomic counter: unique per call, unpredictable
     * enough for epochs and lease tokens (not a security boundary). */
    uint64_t z = atomic_fetch_add(&g.random_state, UINT64_C(0x9E3779B97F4A7C15)) +
                 UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    snprintf(buf, 17, "%016llx", (unsigned long long)z);
}

void frs_redis_count(int metric)
{
    if (metric >= 0 && metric < FRS_REDIS_M_COUNT) {
        atomic_fetch_add(&g.counters[metric], 1);
    }
}

/* Doubles the wait before the next connection attempt (50 ms .. 1 s). */
static void back_off(thread_conn *c)
{
    c->backoff_ms = c->backoff_ms == 0 ? REDIS_BACKOFF_MIN_MS : c->backoff_ms * 2;
    if (c->backoff_ms > REDIS_BACKOFF_MAX_MS) {
        c->backoff_ms = REDIS_BACKOFF_MAX_MS;
    }
    c->retry_at_ms = mono_ms() + c->backoff_ms;
}

/* The calling thread's connection, connecting if due; NULL while in backoff
 * or when the connection fails. */
static thread_conn *conn_get(void)
{
    thread_conn *c = pthread_getspecific(g.key);
    if (c == NULL) {
        c = calloc(1, sizeof *c);
        if (c == NULL || pthread_setspecific(g.key, c) != 0) {
            free(c);
            return NULL;
        }
    }
    if (c->ctx != NULL) {
        return c;
    }
    if (mono_ms() < c->retry_at_ms) {
        return NULL;
    }
    struct timeval connect_tv = {0, REDIS_CONNECT_TIMEOUT_MS * 1000};
    struct timeval command_tv = {0, REDIS_COMMAND_TIMEOUT_MS * 1000};
    redisContext *ctx = redisConnectWithTimeout(g.host, g.port, connect_tv);
    if (ctx == NULL || ctx->err != 0 || redisSetTimeout(ctx, command_tv) != REDIS_OK) {
        if (ctx != NULL) {
            redisFree(ctx);
        }
        back_off(c);
        frs_redis_count(FRS_REDIS_M_ERRORS);
        return NULL;
    }
    c->ctx = ctx;
    return c;
}

/* After an I/O error or timeout the context is unusable: drop it, and wait
 * before reconnecting.  The wait only resets after a command succeeds, so a
 * hung Redis (connect works, commands time out) costs each thread one
 * timeout per backoff period, not one per request. */
static void conn_fail(thread_conn *c)
{
    redisFree(c->ctx);
    c->ctx = NULL;
    back_off(c);
}

/* The failure was the server closing the socket (EOF, reset, broken pipe),
 * not a timeout: a command sent on it was not executed. */
static int peer_closed(const redisContext *ctx)
{
    if (ctx->err == REDIS_ERR_EOF) {
        return 1;
    }
    return ctx->err == REDIS_ERR_IO && (strstr(ctx->errstr, "reset") != NULL ||
                                        strstr(ctx->errstr, "Broken pipe") != NULL);
}

redisReply *frs_redis_argv(int argc, const char **argv, const size_t *lens)
{
    if (!g.enabled) {
        return NULL;
    }
    thread_conn *c = conn_get();
    if (c == NULL) {
        return NULL;
    }
    redisReply *reply = redisCommandArgv(c->ctx, argc, argv, lens);
    if (reply == NULL && peer_closed(c->ctx)) {
        /* A connection from before a Redis restart: the server closed it, so
         * the command never ran; one fresh connection, at once. */
        redisFree(c->ctx);
        c->ctx = NULL;
        c = conn_get();
        reply = c != NULL ? redisCommandArgv(c->ctx, argc, argv, lens) : NULL;
        if (c == NULL) {
            return NULL;
        }
    }
    if (reply == NULL) {
        conn_fail(c);
        frs_redis_count(FRS_REDIS_M_ERRORS);
        return NULL;
    }
    c->backoff_ms = 0; /* Redis answered */
    if (reply->type == REDIS_REPLY_ERROR) {
        /* An error reply (a script error, LOADING, OOM) leaves the
         * connection usable; the feature degrades for this call only. */
        frs_log(FRS_LOG_WARN, "redis error reply", "detail", reply->str);
        freeReplyObject(reply);
        frs_redis_count(FRS_REDIS_M_ERRORS);
        return NULL;
    }
    return reply;
}

int frs_redis_ping(char *err, size_t err_size)
{
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    redisReply *reply = frs_redis_argv(1, argv, lens);
    int ok = reply != NULL && reply->type == REDIS_REPLY_STATUS;
    if (reply != NULL) {
        freeReplyObject(reply);
    }
    if (!ok) {
        snprintf(err, err_size, "%s:%d does not answer", g.host, g.port);
    }
    return ok;
}

int frs_redis_metrics_render(frs_buf *out)
{
    static const char *const names[FRS_REDIS_M_COUNT][2] = {
        {"fleetres_redis_errors_total", "Redis commands that failed (down, timeout, error)."},
        {"fleetres_cache_hits_total", "GETs answered from the Redis cache."},
        {"fleetres_cache_misses_total", "Cacheable GETs answered from the engine."},
        {"fleetres_cache_fills_total", "Cache values written under a held lease."},
        {"fleetres_cache_invalidations_total", "Entities invalidated after a change."},
        {"fleetres_cache_epoch_bumps_total", "Cache epochs replaced (all values dropped)."},
        {"fleetres_idempotency_redis_replays_total", "Idempotent replays answered from Redis."},
        {"fleetres_idempotency_redis_stored_total", "Idempotency outcomes copied to Redis."},
        {"fleetres_rate_limited_total", "Requests refused with 429 rate_limited."},
        {"fleetres_rate_limit_fallback_total", "Rate checks made per instance (Redis down)."},
    };
    int ok = 1;
    for (int i = 0; ok && i < FRS_REDIS_M_COUNT; i++) {
        ok = frs_buf_appendf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", names[i][0],
                             names[i][1], names[i][0], names[i][0],
                             (unsigned long long)atomic_load(&g.counters[i]));
    }
    return ok;
}
