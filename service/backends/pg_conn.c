/*
 * pg_conn.c — one PostgreSQL connection that heals itself: a failed query
 * on a broken connection drops it, and the next use connects again (bounded
 * by connect_timeout), so the service survives a database restart without
 * being restarted itself.  Every connection records the server's start time
 * (its "epoch"): a changed epoch tells the store that commits not yet flushed
 * may have been lost (docs/storage.md, "after a crash").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

static void set_err(char *err, size_t size, const char *what, const char *detail)
{
    if (err == NULL || size == 0) {
        return;
    }
    char clean[400];
    snprintf(clean, sizeof clean, "%s", detail != NULL ? detail : "");
    size_t n = strlen(clean);
    while (n > 0 && (clean[n - 1] == '\n' || clean[n - 1] == ' ')) {
        clean[--n] = 0;
    }
    snprintf(err, size, "postgres: %s: %s", what, clean);
}

static void drop_if_broken(pg_conn *c)
{
    if (c->pg != NULL && PQstatus(c->pg) != CONNECTION_OK) {
        PQfinish(c->pg);
        c->pg = NULL;
        c->prepared = 0;
    }
}

int frs_pg_lost(const pg_conn *c)
{
    return c->pg == NULL;
}

void frs_pg_close(pg_conn *c)
{
    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    c->prepared = 0;
}

int frs_pg_cell_i64(const PGresult *r, int row, int col, int64_t *out)
{
    if (PQgetisnull(r, row, col)) {
        *out = 0;
        return 0;
    }
    const char *text = PQgetvalue(r, row, col);
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != 0) {
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

/* Defaults the URL may override: a bounded connect, and a bound on how long
 * a query waits on a server that stopped answering without closing the
 * connection (TCP keepalives and the user timeout; a stopped or crashed
 * server closes its sockets and fails the call at once). */
static const char *const DEFAULTS[][2] = {
    {"connect_timeout", "2"},     {"application_name", "fleetres"},
    {"keepalives_idle", "10"},    {"keepalives_interval", "3"},
    {"keepalives_count", "3"},    {"tcp_user_timeout", "20000"},
};
#define N_DEFAULTS (sizeof DEFAULTS / sizeof DEFAULTS[0])

static int connect_now(pg_conn *c, char *err, size_t err_size)
{
    const char *keys[N_DEFAULTS + 2] = {"dbname"};
    const char *values[N_DEFAULTS + 2] = {c->url};
    size_t n = 1;
    for (size_t i = 0; i < N_DEFAULTS; i++) {
        if (strstr(c->url, DEFAULTS[i][0]) == NULL) {
            keys[n] = DEFAULTS[i][0];
            values[n++] = DEFAULTS[i][1];
        }
    }
    keys[n] = NULL;
    values[n] = NULL;
    c->pg = PQconnectdbParams(keys, values, 1);
    if (c->pg == NULL) {
        set_err(err, err_size, "connect", "out of memory");
        return -1;
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        set_err(err, err_size, "connect", PQerrorMessage(c->pg));
        frs_pg_close(c);
        return -1;
    }
    return 0;
}

int frs_pg_ensure(pg_conn *c, char *err, size_t err_size)
{
    drop_if_broken(c);
    if (c->pg != NULL) {
        return 0;
    }
    if (connect_now(c, err, err_size) != 0) {
        return -1;
    }
    PGresult *r = NULL;
    /* The setup is SET statements: the last one answers COMMAND_OK. */
    if (c->setup != NULL &&
        frs_pg_exec(c, c->setup, PGRES_COMMAND_OK, NULL, err, err_size) != 0) {
        frs_pg_close(c);
        return -1;
    }
    if (frs_pg_exec(c,
                    "SELECT (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint",
                    PGRES_TUPLES_OK, &r, err, err_size) != 0) {
        frs_pg_close(c);
        return -1;
    }
    int64_t epoch = 0;
    int bad = PQntuples(r) != 1 || frs_pg_cell_i64(r, 0, 0, &epoch) != 0;
    PQclear(r);
    if (bad) {
        set_err(err, err_size, "connect", "cannot read the server start time");
        frs_pg_close(c);
        return -1;
    }
    c->epoch_us = epoch;
    return 0;
}

static int check_result(pg_conn *c, PGresult *r, ExecStatusType want, PGresult **out,
                        const char *what, char *err, size_t err_size)
{
    if (r == NULL || PQresultStatus(r) != want) {
        set_err(err, err_size, what,
                r != NULL && PQresultErrorMessage(r)[0] != 0 ? PQresultErrorMessage(r)
                                                              : PQerrorMessage(c->pg));
        PQclear(r);
        drop_if_broken(c);
        return -1;
    }
    if (out != NULL) {
        *out = r;
    } else {
        PQclear(r);
    }
    return 0;
}

int frs_pg_exec(pg_conn *c, const char *sql, ExecStatusType want, PGresult **out, char *err,
                size_t err_size)
{
    if (c->pg == NULL) {
        set_err(err, err_size, "query", "not connected");
        return -1;
    }
    return check_result(c, PQexec(c->pg, sql), want, out, "query", err, err_size);
}

int frs_pg_exec_params(pg_conn *c, const char *sql, int n, const char *const *values,
                       ExecStatusType want, PGresult **out, char *err, size_t err_size)
{
    if (c->pg == NULL) {
        set_err(err, err_size, "query", "not connected");
        return -1;
    }
    PGresult *r = PQexecParams(c->pg, sql, n, NULL, values, NULL, NULL, 0);
    return check_result(c, r, want, out, "query", err, err_size);
}

int frs_pg_exec_tail(pg_conn *c, const char *sql, int n, PGresult **out, char *err,
                     size_t err_size)
{
    if (c->pg == NULL || PQsendQuery(c->pg, sql) == 0) {
        set_err(err, err_size, "query", c->pg != NULL ? PQerrorMessage(c->pg) : "not connected");
        drop_if_broken(c);
        return -1;
    }
    int ok = 1, got = 0;
    PGresult *r;
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
    }
    while ((r = PQgetResult(c->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (ok && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            set_err(err, err_size, "query", PQresultErrorMessage(r));
            ok = 0;
        }
        if (n > 0) {
            PQclear(out[0]); /* keep the last n: shift the window */
            memmove(out, out + 1, (size_t)(n - 1) * sizeof *out);
            out[n - 1] = r;
        } else {
            PQclear(r);
        }
        got++;
    }
    if (ok && got < n) {
        set_err(err, err_size, "query", "fewer results than statements");
        ok = 0;
    }
    if (!ok) {
        for (int i = 0; i < n; i++) {
            PQclear(out[i]);
            out[i] = NULL;
        }
        drop_if_broken(c);
        return -1;
    }
    return 0;
}
