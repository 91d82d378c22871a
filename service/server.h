/*
 * server.h — the process-wide state of fleetres-server: configuration, the
 * engine, metrics, and the lifecycle (start, periodic tick, graceful stop).
 */
#ifndef FRS_SERVER_H
#define FRS_SERVER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "fleetres.h"
#include "metrics.h"

typedef struct frs_config {
    char database_url[1024]; /* DATABASE_URL; default "fleetres.db" */
    char listen_addr[64];    /* LISTEN_ADDR; default 127.0.0.1 */
    int port;                /* PORT; default 8080 */
    int log_level;           /* LOG_LEVEL: 0 debug, 1 info, 2 warn, 3 error */
    size_t body_max;         /* MAX_BODY_BYTES; default 1 MiB */
    int threads;             /* WORKER_THREADS; default 32 */
    int64_t aging_ms;        /* QUEUE_AGING_SECONDS; default 60 */
    int64_t tick_ms;         /* TICK_MS; default 250 */
    char redis_addr[256];    /* REDIS_ADDR ("" = disabled) */
    int redis_cache;         /* REDIS_CACHE: on (default) or off */
    char kafka_brokers[256]; /* KAFKA_BROKERS */
    char clickhouse_addr[256]; /* CLICKHOUSE_ADDR */
    int pg_sync_connections;   /* PG_SYNC_CONNECTIONS; default 4 (group commit) */
    int64_t rate_limit_milli; /* RATE_LIMIT_RPS x 1000 (0 = off) */
    int64_t rate_limit_burst; /* RATE_LIMIT_BURST; default: the rate, at least 1 */
} frs_config;

struct frs_server {
    frs_config config;
    fr_engine *engine;
    frs_metrics metrics;
};

/* Reads the configuration from the environment; 0 and a message on error. */
int frs_config_from_env(frs_config *config, char *err, size_t err_size);

/* Logging: one JSON object per line on stderr (SPEC §8). */
enum { FRS_LOG_DEBUG = 0, FRS_LOG_INFO = 1, FRS_LOG_WARN = 2, FRS_LOG_ERROR = 3 };
void frs_log_set_level(int level);
void frs_log(int level, const char *msg, const char *key, const char *value);

#endif /* FRS_SERVER_H */
