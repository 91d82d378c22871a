/*
 * main.c — fleetres-server: configuration, the engine on the configured
 * store, civetweb, the periodic tick (time-driven expiry and dispatch), one
 * JSON log line per request, and graceful shutdown on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/postgres.h"
#include "backends/redis.h"
#include "body.h"
#include "router.h"
#include "server.h"

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* X-Request-ID: the client's (if sane) or a fresh random one, echoed back. */
static void set_request_id(frs_exchange *x)
{
    const char *given = frs_header(x, "X-Request-ID");
    size_t n = given != NULL ? strlen(given) : 0;
    int ok = n > 0 && n < sizeof x->request_id;
    for (size_t i = 0; ok && i < n; i++) {
        ok = given[i] > 0x20 && given[i] < 0x7f;
    }
    if (ok) {
        memcpy(x->request_id, given, n + 1);
        return;
    }
    unsigned long long a = (unsigned long long)mono_ns() * 6364136223846793005ULL;
    a ^= (unsigned long long)(uintptr_t)x ^ ((unsigned long long)rand() << 17);
    snprintf(x->request_id, sizeof x->request_id, "%016llx", a);
}

static int handle(struct mg_connection *conn, void *cbdata)
{
    frs_server *server = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    frs_exchange x;
    memset(&x, 0, sizeof x);
    x.conn = conn;
    x.server = server;
    x.method = ri->request_method;
    x.path = ri->local_uri != NULL ? ri->local_uri : "/";
    x.query = ri->query_string;
    x.start_ns = mono_ns();
    x.actor = "anonymous";
    x.error_index = -1;
    /* Auth is off (loopback only): the anonymous principal may do everything. */
    x.ctx.actor = x.actor;
    x.ctx.may_overcommit = 1;
    x.ctx.may_preempt = 1;
    set_request_id(&x);
    frs_route_dispatch(&x);
    frs_body_free(&x);
    double seconds = (double)(mono_ns() - x.start_ns) / 1e9;
    frs_metrics_record(&server->metrics, x.method, x.route != NULL ? x.route : "unmatched",
                       x.status, seconds);
    frs_log_request(x.status >= 500 ? FRS_LOG_ERROR : FRS_LOG_INFO, &x, seconds * 1000.0);
    return x.status > 0 ? x.status : 500;
}

static int log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    frs_log(FRS_LOG_WARN, "civetweb", "detail", message);
    return 1;
}

static struct mg_context *start_http(frs_server *server)
{
    char port[96], threads[16], timeout[16];
    snprintf(port, sizeof port, "%s:%d", server->config.listen_addr, server->config.port);
    snprintf(threads, sizeof threads, "%d", server->config.threads);
    snprintf(timeout, sizeof timeout, "%d", 30000);
    const char *options[] = {
        "listening_ports", port,
        "num_threads", threads,
        "tcp_nodelay", "1",
        "request_timeout_ms", timeout,
        "enable_keep_alive", "yes",
        "keep_alive_timeout_ms", "30000",
        NULL,
    };
    struct mg_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.log_message = log_message;
    struct mg_context *ctx = mg_start(&callbacks, server, options);
    if (ctx != NULL) {
        mg_set_request_handler(ctx, "/", handle, server);
    }
    return ctx;
}

/* Time-driven changes (hold/request expiry, dispatch) without traffic. */
static void tick_until_stopped(frs_server *server)
{
    struct timespec step = {
        .tv_sec = (time_t)(server->config.tick_ms / 1000),
        .tv_nsec = (long)(server->config.tick_ms % 1000) * 1000000L,
    };
    while (!stop_requested) {
        int rc = fr_engine_tick(server->engine);
        if (rc != FR_OK) {
            frs_log(FRS_LOG_ERROR, "tick failed", "status", fr_errcode(rc));
        }
        frs_cache_sync(server->engine); /* expiry and dispatch change entities too */
        nanosleep(&step, NULL);
    }
}

static void log_store(int is_error, const char *message, const char *detail)
{
    frs_log(is_error ? FRS_LOG_ERROR : FRS_LOG_WARN, message, "detail", detail);
}

/* SQLite or memory through the library; PostgreSQL through the backend,
 * which first applies missing migrations (docs/operations.md). */
static int open_engine(frs_server *server, char *err, size_t err_size)
{
    fr_engine_options opt = {.aging_ms = server->config.aging_ms};
    const char *url = server->config.database_url;
    if (!frs_pg_is_url(url)) {
        return fr_engine_open(url, &opt, &server->engine, err, err_size);
    }
    frs_pg_options pg = {
        .sync_connections = server->config.pg_sync_connections,
        .migrate = 1,
        .log = log_store,
    };
    fr_store *store = NULL;
    int rc = frs_store_pg_open(url, &pg, &store, err, err_size);
    if (rc != FR_OK) {
        return rc;
    }
    return fr_engine_open_store(store, &opt, &server->engine, err, err_size);
}

/* `fleetres-server migrate [VERSION]`: DATABASE_URL's schema up to VERSION
 * (default: the newest this binary knows), then exit. */
static int run_migrate(int argc, char **argv)
{
    long target = 0;
    if (argc == 3) {
        char *end = NULL;
        target = strtol(argv[2], &end, 10);
        if (*end != 0 || target < 1 || target > 9999) {
            frs_log(FRS_LOG_ERROR, "bad migration version", "version", argv[2]);
            return 2;
        }
    }
    const char *url = getenv("DATABASE_URL");
    char msg[512];
    if (frs_pg_migrate_url(url != NULL ? url : "", (int)target, msg, sizeof msg) != 0) {
        frs_log(FRS_LOG_ERROR, "migrate failed", "detail", msg);
        return 1;
    }
    frs_log(FRS_LOG_INFO, "migrate", "detail", msg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
        return frs_print_routes();
    }
    if (argc >= 2 && argc <= 3 && strcmp(argv[1], "migrate") == 0) {
        return run_migrate(argc, argv);
    }
    frs_server server;
    memset(&server, 0, sizeof server);
    char err[512];
    if (!frs_config_from_env(&server.config, err, sizeof err)) {
        frs_log(FRS_LOG_ERROR, "bad configuration", "detail", err);
        return 2;
    }
    frs_log_set_level(server.config.log_level);
    if (!frs_redis_init(server.config.redis_addr, err, sizeof err) ||
        !frs_ratelimit_init(server.config.rate_limit_milli, server.config.rate_limit_burst)) {
        frs_log(FRS_LOG_ERROR, "bad configuration", "detail", err);
        return 2;
    }
    srand((unsigned)mono_ns());
    if (open_engine(&server, err, sizeof err) != FR_OK) {
        frs_log(FRS_LOG_ERROR, "cannot open the database", "detail", err);
        frs_ratelimit_shutdown();
        return 1;
    }
    if (!frs_cache_start(server.engine, server.config.redis_cache) || !frs_metrics_init(&server.metrics)) {
        frs_ratelimit_shutdown();
        fr_engine_close(server.engine);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    mg_init_library(0);
    struct mg_context *http = start_http(&server);
    if (http == NULL) {
        frs_log(FRS_LOG_ERROR, "cannot listen", "port", server.config.listen_addr);
        mg_exit_library();
        fr_engine_close(server.engine);
        return 1;
    }
    frs_log(FRS_LOG_INFO, "fleetres-server listening", "database", server.config.database_url);
    tick_until_stopped(&server);
    /* mg_stop lets in-flight requests finish before it returns. */
    mg_stop(http);
    mg_exit_library();
    frs_ratelimit_shutdown();
    frs_redis_shutdown();
    fr_engine_close(server.engine);
    frs_metrics_destroy(&server.metrics);
    frs_log(FRS_LOG_INFO, "fleetres-server stopped", NULL, NULL);
    return 0;
}
