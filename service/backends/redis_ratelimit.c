/*
 * redis_ratelimit.c — per-client token buckets (RATE_LIMIT_RPS,
 * RATE_LIMIT_BURST; off unless set), shared by all instances through Redis,
 * per instance while Redis is down (see redis.h).
 *
 * A bucket holds up to `burst` tokens and gains `rate` tokens per second; a
 * request takes one or is refused with 429 rate_limited and Retry-After
 * (whole seconds, rounded up, until one token is back).  The client is the
 * X-Client-Id header when present (1-128 printable characters), else the
 * remote address: with authentication off that header is the caller's own
 * word, so the limit protects against accidents, not against an attacker
 * who rotates ids.  /health and /metrics are never limited, so that probes
 * and scrapes keep working under a flood.
 *
 * In Redis the check is one Lua script (atomic across instances; one round
 * trip; Redis's own clock, so instances' clocks do not matter).  The
 * fallback is a fixed table of TABLE_SIZE buckets (open addressing, PROBE
 * slots per client; a new client takes the least recently seen slot of its
 * probe window), so memory stays bounded whatever the number of clients.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../server.h"
#include "redis.h"

#define CLIENT_MAX 128
#define TABLE_SIZE 4096
#define PROBE 8

/* ARGV: rate (milli-tokens/s), burst.  Tokens are kept in milli-tokens so
 * the arithmetic stays integral.  Returns {allowed, wait_ms}. */
static const char bucket_script[] =
    "local rate = tonumber(ARGV[1]); local burst = tonumber(ARGV[2]) * 1000\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
    "local tokens = tonumber(b[1]) or burst; local ts = tonumber(b[2]) or now\n"
    "if now > ts then tokens = math.min(burst, tokens + math.floor((now - ts) * rate / 1000)) end\n"
    "local allowed = 0; local wait = 0\n"
    "if tokens >= 1000 then tokens = tokens - 1000; allowed = 1\n"
    "else wait = math.ceil((1000 - tokens) * 1000 / rate) end\n"
    "redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)\n"
    "return {allowed, wait}\n";

typedef struct bucket {
    char client[CLIENT_MAX + 8]; /* "id:" or "ip:" and the client */
    int64_t tokens_milli;
    int64_t ts_ms;
} bucket;

static struct {
    int64_t rate_milli; /* milli-tokens per second; 0 = off */
    int64_t burst;
    pthread_mutex_t lock;
    bucket *table; /* TABLE_SIZE buckets, allocated when limiting is on */
} rl = {.lock = PTHREAD_MUTEX_INITIALIZER};

int frs_ratelimit_init(int64_t rate_milli, int64_t burst)
{
    rl.rate_milli = rate_milli;
    rl.burst = burst;
    if (rate_milli <= 0) {
        return 1;
    }
    rl.table = calloc(TABLE_SIZE, sizeof *rl.table);
    return rl.table != NULL;
}

void frs_ratelimit_shutdown(void)
{
    free(rl.table);
    rl.table = NULL;
    rl.rate_milli = 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t hash_client(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s != 0; s++) {
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    }
    return h;
}

/* The slot of client: its own, else the least recently seen of its probe
 * window (reset to a full bucket). */
static bucket *slot_of(const char *client, int64_t now_ms)
{
    uint64_t h = hash_client(client);
    bucket *oldest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        bucket *b = &rl.table[(h + i) % TABLE_SIZE];
        if (strcmp(b->client, client) == 0) {
            return b;
        }
        if (oldest == NULL || b->ts_ms < oldest->ts_ms) {
            oldest = b;
        }
    }
    snprintf(oldest->client, sizeof oldest->client, "%s", client);
    oldest->tokens_milli = rl.burst * 1000;
    oldest->ts_ms = now_ms;
    return oldest;
}

/* The per-instance bucket: 1 = allowed, else *wait_ms until a token. */
static int local_take(const char *client, int64_t *wait_ms)
{
    int64_t now = mono_ms();
    pthread_mutex_lock(&rl.lock);
    bucket *b = slot_of(client, now);
    int64_t cap = rl.burst * 1000;
    if (now > b->ts_ms) {
        int64_t gained = (now - b->ts_ms) * rl.rate_milli / 1000;
        b->tokens_milli = cap - b->tokens_milli < gained ? cap : b->tokens_milli + gained;
    }
    b->ts_ms = now;
    int allowed = b->tokens_milli >= 1000;
    if (allowed) {
        b->tokens_milli -= 1000;
    } else {
        *wait_ms = ((1000 - b->tokens_milli) * 1000 + rl.rate_milli - 1) / rl.rate_milli;
    }
    pthread_mutex_unlock(&rl.lock);
    return allowed;
}

/* The shared bucket: 1 allowed, 0 refused (*wait_ms), -1 Redis failed. */
static int redis_take(const char *client, int64_t *wait_ms)
{
    char key[CLIENT_MAX + 16], rate[24], burst[24];
    snprintf(key, sizeof key, "fr:rl:%s", client);
    snprintf(rate, sizeof rate, "%lld", (long long)rl.rate_milli);
    snprintf(burst, sizeof burst, "%lld", (long long)rl.burst);
    const char *argv[] = {"EVAL", bucket_script, "1", key, rate, burst};
    size_t lens[6];
    for (int i = 0; i < 6; i++) {
        lens[i] = strlen(argv[i]);
    }
    redisReply *r = frs_redis_argv(6, argv, lens);
    int result = -1;
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER) {
        result = r->element[0]->integer == 1;
        *wait_ms = r->element[1]->integer;
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    return result;
}

/* X-Client-Id when it is a sane id, else the remote address. */
static void client_of(const frs_exchange *x, char *buf, size_t size)
{
    const char *given = frs_header(x, "X-Client-Id");
    size_t n = given != NULL ? strlen(given) : 0;
    int ok = n > 0 && n <= CLIENT_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        ok = given[i] > 0x20 && given[i] < 0x7f;
    }
    if (ok) {
        snprintf(buf, size, "id:%s", given);
        return;
    }
    const struct mg_request_info *ri = mg_get_request_info(x->conn);
    snprintf(buf, size, "ip:%s", ri != NULL ? ri->remote_addr : "unknown");
}

int frs_ratelimit_admit(frs_exchange *x)
{
    if (rl.rate_milli <= 0 || strcmp(x->path, "/health") == 0 ||
        strcmp(x->path, "/metrics") == 0) {
        return 1;
    }
    char client[CLIENT_MAX + 8];
    client_of(x, client, sizeof client);
    int64_t wait_ms = 0;
    int allowed = frs_redis_enabled() ? redis_take(client, &wait_ms) : -1;
    if (allowed < 0) {
        allowed = local_take(client, &wait_ms);
        if (frs_redis_enabled()) {
            frs_redis_count(FRS_REDIS_M_RATE_FALLBACK);
        }
    }
    if (allowed) {
        return 1;
    }
    int64_t retry_seconds = (wait_ms + 999) / 1000;
    retry_seconds = retry_seconds < 1 ? 1 : retry_seconds;
    char header[64];
    snprintf(header, sizeof header, "Retry-After: %lld\r\n", (long long)retry_seconds);
    cJSON *details = cJSON_CreateObject();
    cJSON_AddNumberToObject(details, "retry_after_seconds", (double)retry_seconds);
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(err, "code", "rate_limited");
    cJSON_AddStringToObject(err, "message", "too many requests from this client; retry later");
    cJSON_AddItemToObject(err, "details", details);
    frs_redis_count(FRS_REDIS_M_RATE_LIMITED);
    x->engine_untouched = 1;
    frs_send_json(x, 429, root, header);
    return 0;
}
