/*
 * routes_ops.c — operations endpoints (SPEC §8): GET /health and
 * GET /metrics (Prometheus text).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/redis.h"
#include "router.h"
#include "server.h"

/* An optional backend: "disabled" when unset.  This build has no client for
 * them yet, so a configured one is reported down (and the service degraded)
 * rather than silently ignored. */
static const char *optional_check(const char *configured, cJSON *checks, const char *name)
{
    cJSON *c = cJSON_AddObjectToObject(checks, name);
    if (configured[0] == 0) {
        cJSON_AddStringToObject(c, "status", "disabled");
        return "disabled";
    }
    cJSON_AddStringToObject(c, "status", "down");
    cJSON_AddStringToObject(c, "error", "not supported by this build");
    return "down";
}

/* Redis answers a PING now, or the service runs without it (degraded). */
static int redis_check(const frs_config *cfg, cJSON *checks)
{
    cJSON *c = cJSON_AddObjectToObject(checks, "redis");
    if (!frs_redis_enabled()) {
        cJSON_AddStringToObject(c, "status", "disabled");
        return 1;
    }
    char err[300];
    int ok = frs_redis_ping(err, sizeof err);
    cJSON_AddStringToObject(c, "status", ok ? "ok" : "down");
    cJSON_AddStringToObject(c, "addr", cfg->redis_addr);
    if (!ok) {
        cJSON_AddStringToObject(c, "error", err);
    }
    return ok;
}

static int get_health(frs_exchange *x)
{
    const frs_config *cfg = &x->server->config;
    cJSON *root = cJSON_CreateObject();
    cJSON *checks = cJSON_CreateObject();
    int db_ok = fr_engine_ping(x->server->engine) == FR_OK;
    cJSON *db = cJSON_AddObjectToObject(checks, "database");
    cJSON_AddStringToObject(db, "status", db_ok ? "ok" : "down");
    cJSON_AddStringToObject(db, "backend", "sqlite");
    int degraded = 0;
    degraded |= !redis_check(cfg, checks);
    degraded |= strcmp(optional_check(cfg->kafka_brokers, checks, "kafka"), "down") == 0;
    degraded |= strcmp(optional_check(cfg->clickhouse_addr, checks, "clickhouse"), "down") == 0;
    cJSON_AddStringToObject(root, "status", !db_ok ? "down" : degraded ? "degraded" : "ok");
    cJSON_AddItemToObject(root, "checks", checks);
    return frs_send_json(x, db_ok ? 200 : 503, root, NULL);
}

/* Pool gauges: capacity now, reserved, utilization (reserved / capacity). */
static int render_pools(fr_engine *e, frs_buf *out)
{
    int ok = frs_buf_appendf(out,
        "# HELP fleetres_pool_capacity Capacity of the pool now.\n"
        "# TYPE fleetres_pool_capacity gauge\n"
        "# HELP fleetres_pool_reserved Held and confirmed quantity covering now.\n"
        "# TYPE fleetres_pool_reserved gauge\n"
        "# HELP fleetres_pool_utilization Reserved over capacity now.\n"
        "# TYPE fleetres_pool_utilization gauge\n");
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    char cursor[FR_CURSOR_SIZE] = "";
    do {
        fr_pool *items = NULL;
        size_t n = 0;
        q.cursor = cursor;
        char next[FR_CURSOR_SIZE] = "";
        if (fr_pool_list(e, &q, &items, &n, next) != FR_OK) {
            return 0;
        }
        for (size_t i = 0; ok && i < n; i++) {
            const fr_pool *p = &items[i];
            char cap[32], res[32];
            fr_qty_format(p->capacity_now_milli, cap, sizeof cap);
            fr_qty_format(p->reserved_capacity_milli, res, sizeof res);
            ok = frs_buf_appendf(out,
                "fleetres_pool_capacity{pool_id=\"%s\",resource_type=\"%s\"} %s\n"
                "fleetres_pool_reserved{pool_id=\"%s\",resource_type=\"%s\"} %s\n",
                p->id, p->resource_type, cap, p->id, p->resource_type, res);
            if (ok && p->capacity_now_milli > 0) {
                ok = frs_buf_appendf(out,
                    "fleetres_pool_utilization{pool_id=\"%s\",resource_type=\"%s\"} %.6f\n",
                    p->id, p->resource_type,
                    (double)p->reserved_capacity_milli / (double)p->capacity_now_milli);
            }
        }
        fr_pool_free_array(items, n);
        memcpy(cursor, next, sizeof cursor);
    } while (ok && cursor[0] != 0);
    return ok;
}

/* Queue depth per resource type, and request fulfilment time (from creation
 * to fulfilment) over the fulfilled requests the engine knows. */
static int render_requests(fr_engine *e, frs_buf *out)
{
    size_t pending = 0, fulfilled = 0;
    double fulfil_seconds = 0;
    fr_list_query q;
    fr_list_query_init(&q);
    q.limit = FR_LIST_LIMIT_MAX;
    char cursor[FR_CURSOR_SIZE] = "";
    int ok = 1;
    do {
        fr_request *items = NULL;
        size_t n = 0;
        q.cursor = cursor;
        char next[FR_CURSOR_SIZE] = "";
        if (fr_request_list(e, &q, &items, &n, next) != FR_OK) {
            return 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (items[i].status == FR_REQ_PENDING) {
                pending++;
            } else if (items[i].status == FR_REQ_FULFILLED) {
                fulfilled++;
                fulfil_seconds +=
                    (double)(items[i].fulfilled_at_ms - items[i].created_at_ms) / 1000.0;
            }
        }
        fr_request_free_array(items, n);
        memcpy(cursor, next, sizeof cursor);
    } while (cursor[0] != 0);
    ok = frs_buf_appendf(out,
        "# HELP fleetres_queue_depth Pending requests.\n"
        "# TYPE fleetres_queue_depth gauge\n"
        "fleetres_queue_depth %zu\n"
        "# HELP fleetres_request_fulfilment_seconds From request creation to fulfilment.\n"
        "# TYPE fleetres_request_fulfilment_seconds summary\n"
        "fleetres_request_fulfilment_seconds_sum %.3f\n"
        "fleetres_request_fulfilment_seconds_count %zu\n",
        pending, fulfil_seconds, fulfilled);
    return ok;
}

static int render_store(fr_engine *e, frs_buf *out)
{
    fr_engine_counters c;
    if (fr_engine_counters_get(e, &c) != FR_OK) {
        return 0;
    }
    return frs_buf_appendf(out,
        "# HELP fleetres_store_commits_total Store transactions committed.\n"
        "# TYPE fleetres_store_commits_total counter\n"
        "fleetres_store_commits_total %llu\n"
        "# HELP fleetres_store_grouped_calls_total Calls that shared a store transaction"
        " (PostgreSQL groups).\n"
        "# TYPE fleetres_store_grouped_calls_total counter\n"
        "fleetres_store_grouped_calls_total %llu\n"
        "# HELP fleetres_store_failed_groups_total Shared transactions whose commit failed.\n"
        "# TYPE fleetres_store_failed_groups_total counter\n"
        "fleetres_store_failed_groups_total %llu\n",
        (unsigned long long)c.store_commits, (unsigned long long)c.grouped_calls,
        (unsigned long long)c.failed_groups);
}

static int get_metrics(frs_exchange *x)
{
    frs_buf out = {0};
    int ok = frs_metrics_render_http(&x->server->metrics, &out) &&
             render_pools(x->server->engine, &out) &&
             render_requests(x->server->engine, &out) &&
             render_store(x->server->engine, &out) &&
             frs_metrics_render_planning(&x->server->metrics, x->server->engine, &out) &&
             frs_redis_metrics_render(&out);
    if (!ok || out.data == NULL) {
        free(out.data);
        return frs_send_error(x, 503, "unavailable", "metrics could not be rendered", NULL);
    }
    int rc = frs_send_text(x, 200, "text/plain; version=0.0.4", out.data, out.len);
    free(out.data);
    return rc;
}

const frs_route frs_routes_ops[] = {
    {"GET", "//health", get_health},
    {"GET", "//metrics", get_metrics},
    {NULL, NULL, NULL},
};
