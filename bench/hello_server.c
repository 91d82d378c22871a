/*
 * hello_server.c — the baseline of the HTTP load benchmark (bench/load/run.sh).
 *
 * A minimal civetweb server configured like fleetres-server (same thread
 * count, tcp_nodelay=1, keep-alive) that answers every method on every path
 * with a small JSON body, status line + headers + body in one mg_write, and
 * does no other work.  fleetres-server's throughput divided by this one's,
 * measured in the same run on the same machine, is the share of the HTTP
 * layer's ceiling that the service reaches.
 *
 *     PORT=8081 WORKER_THREADS=32 hello_server     (stops on SIGTERM/SIGINT)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <civetweb.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static long env_long(const char *name, long fallback, long min, long max)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == 0) {
        return fallback;
    }
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (*end != 0 || n < min || n > max) {
        fprintf(stderr, "hello_server: %s must be an integer from %ld to %ld\n", name, min, max);
        exit(2);
    }
    return n;
}

static int handle(struct mg_connection *conn, void *cbdata)
{
    (void)cbdata;
    /* Read (and drop) any request body, as a real handler would. */
    char sink[4096];
    while (mg_read(conn, sink, sizeof sink) > 0) {
    }
    static const char body[] = "{\"status\":\"ok\",\"service\":\"hello\"}";
    char out[256];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n"
                     "%s",
                     sizeof body - 1, body);
    if (n < 0 || (size_t)n >= sizeof out) {
        return 500;
    }
    mg_write(conn, out, (size_t)n);
    return 200;
}

int main(void)
{
    long port = env_long("PORT", 8081, 1, 65535);
    long threads = env_long("WORKER_THREADS", 32, 1, 256);
    char listen[32], nthreads[16];
    snprintf(listen, sizeof listen, "127.0.0.1:%ld", port);
    snprintf(nthreads, sizeof nthreads, "%ld", threads);
    const char *options[] = {
        "listening_ports", listen,
        "num_threads", nthreads,
        "tcp_nodelay", "1",
        "request_timeout_ms", "30000",
        "enable_keep_alive", "yes",
        "keep_alive_timeout_ms", "30000",
        NULL,
    };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    mg_init_library(0);
    struct mg_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    struct mg_context *ctx = mg_start(&callbacks, NULL, options);
    if (ctx == NULL) {
        fprintf(stderr, "hello_server: cannot listen on %s\n", listen);
        mg_exit_library();
        return 1;
    }
    mg_set_request_handler(ctx, "/", handle, NULL);
    fprintf(stderr, "hello_server listening on %s with %s threads\n", listen, nthreads);
    struct timespec step = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
    while (!stop_requested) {
        nanosleep(&step, NULL);
    }
    mg_stop(ctx);
    mg_exit_library();
    return 0;
}
