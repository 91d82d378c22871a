/*
 * redis.h — the Redis layer of fleetres-server (REDIS_ADDR, hiredis 0.14):
 * a read cache for GETs by id, a shared copy of Idempotency-Key outcomes,
 * and per-client token-bucket rate limiting.
 *
 * Redis is optional and never the source of truth: the engine (and its
 * store) is.  Every function here degrades instead of failing — a Redis
 * error makes the cache miss, the idempotency lookup fall through to the
 * engine, and the rate limiter use per-instance buckets — so Redis being
 * down never turns into a 5xx.  One Redis layer per process (module state);
 * all functions are thread-safe (one connection per calling thread).
 * docs/service.md ("Redis") explains the keys and the staleness protocol.
 */
#ifndef FRS_REDIS_H
#define FRS_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "../http.h"
#include "../metrics.h"

/* ---- connection (redis.c) -------------------------------------------------- */

/* Parses REDIS_ADDR ("host:port", "redis://host:port" or "host"; "" =
 * disabled) and arms the layer; connections are made lazily, so an
 * unreachable Redis at start is not an error.  0 and a message when the
 * address is malformed. */
int frs_redis_init(const char *addr, char *err, size_t err_size);
/* Closes the calling thread's connection (threads that exit close theirs). */
void frs_redis_shutdown(void);
int frs_redis_enabled(void);
/* Runs one command on the calling thread's connection (reconnecting with
 * backoff).  Returns the reply (caller frees with freeReplyObject), or NULL
 * when Redis is disabled, unreachable, timed out or answered an error —
 * counted in fleetres_redis_errors_total. */
redisReply *frs_redis_argv(int argc, const char **argv, const size_t *lens);
/* 1 when a PING answers now (for /health); err names the failure. */
int frs_redis_ping(char *err, size_t err_size);
/* Fills buf with 16 random hex characters (epochs, lease tokens). */
void frs_redis_random_hex(char buf[17]);

/* Counters exported on /metrics. */
enum {
    FRS_REDIS_M_ERRORS,
    FRS_REDIS_M_CACHE_HITS,
    FRS_REDIS_M_CACHE_MISSES,
    FRS_REDIS_M_CACHE_FILLS,
    FRS_REDIS_M_CACHE_INVALIDATED,
    FRS_REDIS_M_EPOCH_BUMPS,
    FRS_REDIS_M_IDEM_REPLAYS,
    FRS_REDIS_M_IDEM_STORED,
    FRS_REDIS_M_RATE_LIMITED,
    FRS_REDIS_M_RATE_FALLBACK,
    FRS_REDIS_M_COUNT
};
void frs_redis_count(int metric);
/* Appends the Redis counters in Prometheus text; 0 on out of memory. */
int frs_redis_metrics_render(frs_buf *out);

/* ---- read cache (redis_cache.c) ------------------------------------------- */

enum { FRS_CACHE_ALLOCATION = 'a', FRS_CACHE_CONFLICT = 'c' };

/* What a miss leaves to the reader: the epoch it read under and, when it
 * won the lease, the token that lets it fill. */
typedef struct frs_cache_lease {
    int kind;
    char id[FR_ID_SIZE + 64];
    char epoch[40];
    char token[17];
    int leased;
} frs_cache_lease;

/* Sets the events cursor to the log's head and marks the epoch for a bump
 * (values a previous process left may predate its last commits).  With
 * lookups 0 (REDIS_CACHE=off) this instance never reads or fills the cache
 * but still invalidates what its changes touch, for the other instances. */
int frs_cache_start(fr_engine *engine, int lookups);
/* GET by id: on a hit answers 200 with the cached body and ETag and returns
 * 1; on a miss returns 0 with *lease ready for frs_cache_send. */
int frs_cache_lookup(frs_exchange *x, int kind, const char *id, frs_cache_lease *lease);
/* Answers 200 with entity (takes ownership) and its ETag, and fills the
 * cache if the lease is still held and valid_until_ms (the instant the
 * rendering stops being true with time alone; FR_TIME_INF = never, 0 = do
 * not cache) is ahead. */
int frs_cache_send(frs_exchange *x, frs_cache_lease *lease, cJSON *entity, int64_t version,
                   int64_t valid_until_ms);
/* Gives the lease back without a value (the engine read failed). */
void frs_cache_release(frs_cache_lease *lease);
/* Deletes the cached value and lease of every entity changed by the events
 * committed since the last sync; called before any engine-touching answer
 * and after each tick.  A failure marks the epoch for a bump. */
void frs_cache_sync(fr_engine *engine);

/* ---- Idempotency-Key copies (redis_idempotency.c) ------------------------- */

/* With a key on the exchange: answers from the Redis copy (the first
 * response, or 422 for another body) and returns 1; 0 = not answered. */
int frs_idem_redis_replay(frs_exchange *x);
/* Called with each response about to be sent: copies a recorded outcome
 * (a 2xx, or a refusal the library recorded) to Redis. */
void frs_idem_redis_record(frs_exchange *x, int status, const char *body, size_t body_len,
                           const char *extra_headers);

/* ---- rate limiting (redis_ratelimit.c) ------------------------------------ */

/* Configures the limiter: rate in milli-requests per second (0 = off) and
 * burst (bucket size, requests). */
int frs_ratelimit_init(int64_t rate_milli, int64_t burst);
void frs_ratelimit_shutdown(void);
/* 1 when the request may proceed; 0 after answering 429 rate_limited with
 * Retry-After.  /health and /metrics are never limited. */
int frs_ratelimit_admit(frs_exchange *x);

#endif /* FRS_REDIS_H */
