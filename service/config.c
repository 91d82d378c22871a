/*
 * config.c — the environment (SPEC §9) into frs_config, with bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static int env_int(const char *name, long min, long max, long fallback, long *out, char *err,
                   size_t err_size)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == 0) {
        *out = fallback;
        return 1;
    }
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (*end != 0 || n < min || n > max) {
        snprintf(err, err_size, "%s must be an integer from %ld to %ld", name, min, max);
        return 0;
    }
    *out = n;
    return 1;
}

static int env_string(const char *name, const char *fallback, char *out, size_t size,
                      char *err, size_t err_size)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == 0) {
        v = fallback;
    }
    if (strlen(v) >= size) {
        snprintf(err, err_size, "%s is too long", name);
        return 0;
    }
    memcpy(out, v, strlen(v) + 1);
    return 1;
}

/* RATE_LIMIT_RPS (requests per second, up to 3 decimals) and
 * RATE_LIMIT_BURST (bucket size); off unless RATE_LIMIT_RPS is set. */
static int rate_limits(frs_config *c, char *err, size_t err_size)
{
    const char *rps = getenv("RATE_LIMIT_RPS");
    const char *burst = getenv("RATE_LIMIT_BURST");
    if (rps == NULL || rps[0] == 0) {
        if (burst != NULL && burst[0] != 0) {
            snprintf(err, err_size, "RATE_LIMIT_BURST needs RATE_LIMIT_RPS");
            return 0;
        }
        return 1;
    }
    char *end = NULL;
    double v = strtod(rps, &end);
    if (*end != 0 || !(v >= 0.001 && v <= 1000000.0)) {
        snprintf(err, err_size, "RATE_LIMIT_RPS must be a number from 0.001 to 1000000");
        return 0;
    }
    c->rate_limit_milli = (int64_t)(v * 1000.0 + 0.5);
    long fallback = (long)((c->rate_limit_milli + 999) / 1000);
    long b = 0;
    if (!env_int("RATE_LIMIT_BURST", 1, 1000000, fallback, &b, err, err_size)) {
        return 0;
    }
    c->rate_limit_burst = b;
    return 1;
}

/* REDIS_CACHE: on (default) or off — the read cache only; the Redis
 * idempotency copies and rate limits stay. */
static int redis_cache(frs_config *c, char *err, size_t err_size)
{
    const char *v = getenv("REDIS_CACHE");
    if (v == NULL || v[0] == 0 || strcmp(v, "on") == 0) {
        c->redis_cache = 1;
        return 1;
    }
    if (strcmp(v, "off") == 0) {
        c->redis_cache = 0;
        return 1;
    }
    snprintf(err, err_size, "REDIS_CACHE must be on or off");
    return 0;
}

static int parse_level(const char *v, int *out)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return 1;
        }
    }
    return 0;
}

int frs_config_from_env(frs_config *c, char *err, size_t err_size)
{
    memset(c, 0, sizeof *c);
    long port, threads, aging, tick, body, pg_sync;
    char level[16];
    int ok = env_string("DATABASE_URL", "fleetres.db", c->database_url, sizeof c->database_url,
                        err, err_size) &&
             env_string("LISTEN_ADDR", "127.0.0.1", c->listen_addr, sizeof c->listen_addr, err,
                        err_size) &&
             env_string("LOG_LEVEL", "info", level, sizeof level, err, err_size) &&
             env_string("REDIS_ADDR", "", c->redis_addr, sizeof c->redis_addr, err, err_size) &&
             env_string("KAFKA_BROKERS", "", c->kafka_brokers, sizeof c->kafka_brokers, err,
                        err_size) &&
             env_string("CLICKHOUSE_ADDR", "", c->clickhouse_addr, sizeof c->clickhouse_addr,
                        err, err_size) &&
             env_int("PORT", 1, 65535, 8080, &port, err, err_size) &&
             env_int("WORKER_THREADS", 2, 256, 32, &threads, err, err_size) &&
             env_int("QUEUE_AGING_SECONDS", 1, 86400, 60, &aging, err, err_size) &&
             env_int("TICK_MS", 10, 1000, 250, &tick, err, err_size) &&
             env_int("MAX_BODY_BYTES", 1024, 64L * 1024 * 1024, 1024 * 1024, &body, err,
                     err_size) &&
             env_int("PG_SYNC_CONNECTIONS", 1, 64, 4, &pg_sync, err, err_size);
    if (!ok || !rate_limits(c, err, err_size) || !redis_cache(c, err, err_size)) {
        return 0;
    }
    if (!parse_level(level, &c->log_level)) {
        snprintf(err, err_size, "LOG_LEVEL must be debug, info, warn or error");
        return 0;
    }
    /* Without authentication the service never listens beyond loopback (SPEC §9). */
    if (strcmp(c->listen_addr, "127.0.0.1") != 0 && strcmp(c->listen_addr, "localhost") != 0) {
        snprintf(err, err_size, "LISTEN_ADDR must be loopback while authentication is off");
        return 0;
    }
    c->port = (int)port;
    c->threads = (int)threads;
    c->aging_ms = aging * 1000;
    c->tick_ms = tick;
    c->body_max = (size_t)body;
    c->pg_sync_connections = (int)pg_sync;
    return 1;
}
