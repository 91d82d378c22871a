/*
 * pg_migrate.c — applies the embedded migrations (pg_migrations.h).
 *
 * Why one transaction under an advisory lock: several instances may start at
 * once against a new database; the lock makes one of them migrate while the
 * others wait and then find nothing to do, and PostgreSQL's transactional DDL
 * makes a failed migration leave the schema exactly as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"
#include "pg_migrations.h"

/* pg_advisory_xact_lock key: "fleetres" in ASCII, as an int64. */
#define FRS_PG_MIGRATE_LOCK "7380656687109047667"

static const char PREPARE_SQL[] =
    "SELECT pg_advisory_xact_lock(" FRS_PG_MIGRATE_LOCK ");"
    "CREATE SCHEMA IF NOT EXISTS fleet_resources;"
    "CREATE TABLE IF NOT EXISTS fleet_resources.schema_migrations ("
    " version integer PRIMARY KEY, name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

static int read_version(pg_conn *c, int *version, char *err, size_t err_size)
{
    PGresult *r = NULL;
    if (frs_pg_exec(c, "SELECT coalesce(max(version), 0) FROM fleet_resources.schema_migrations",
                    PGRES_TUPLES_OK, &r, err, err_size) != 0) {
        return -1;
    }
    int64_t v = 0;
    int bad = PQntuples(r) != 1 || frs_pg_cell_i64(r, 0, 0, &v) != 0 || v < 0 || v > 1000000;
    PQclear(r);
    if (bad) {
        snprintf(err, err_size, "postgres: schema_migrations holds a bad version");
        return -1;
    }
    *version = (int)v;
    return 0;
}

int frs_pg_schema_version(pg_conn *c, int *version, char *err, size_t err_size)
{
    PGresult *r = NULL;
    if (frs_pg_exec(c, "SELECT to_regclass('fleet_resources.schema_migrations') IS NOT NULL",
                    PGRES_TUPLES_OK, &r, err, err_size) != 0) {
        return -1;
    }
    int exists = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!exists) {
        *version = 0;
        return 0;
    }
    return read_version(c, version, err, err_size);
}

static int apply_one(pg_conn *c, const frs_pg_migration *m, char *err, size_t err_size)
{
    if (frs_pg_exec(c, m->sql, PGRES_COMMAND_OK, NULL, err, err_size) != 0) {
        size_t n = strlen(err);
        snprintf(err + n, err_size - n, " (migration %04d_%s)", m->version, m->name);
        return -1;
    }
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *values[2] = {version, m->name};
    return frs_pg_exec_params(c,
                              "INSERT INTO fleet_resources.schema_migrations (version, name)"
                              " VALUES ($1::integer, $2)",
                              2, values, PGRES_COMMAND_OK, NULL, err, err_size);
}

static int migrate_in_txn(pg_conn *c, int target, int *from, int *to, char *err,
                          size_t err_size)
{
    int current = 0;
    if (frs_pg_exec(c, PREPARE_SQL, PGRES_COMMAND_OK, NULL, err, err_size) != 0 ||
        read_version(c, &current, err, err_size) != 0) {
        return -1;
    }
    if (from != NULL) {
        *from = current;
    }
    if (current > frs_pg_migrations_count) {
        snprintf(err, err_size,
                 "postgres: the database schema is version %d, newer than this server knows"
                 " (%d); upgrade fleetres-server",
                 current, frs_pg_migrations_count);
        return -1;
    }
    for (int v = current + 1; v <= target; v++) {
        if (apply_one(c, &frs_pg_migrations[v - 1], err, err_size) != 0) {
            return -1;
        }
    }
    if (to != NULL) {
        *to = current > target ? current : target;
    }
    return 0;
}

int frs_pg_migrate(pg_conn *c, int target, int *from, int *to, char *err, size_t err_size)
{
    if (target <= 0) {
        target = frs_pg_migrations_count;
    }
    if (target > frs_pg_migrations_count) {
        snprintf(err, err_size, "postgres: no migration %d (the newest is %d)", target,
                 frs_pg_migrations_count);
        return -1;
    }
    if (frs_pg_ensure(c, err, err_size) != 0 ||
        frs_pg_exec(c, "BEGIN", PGRES_COMMAND_OK, NULL, err, err_size) != 0) {
        return -1;
    }
    if (migrate_in_txn(c, target, from, to, err, err_size) != 0) {
        char ignored[64];
        (void)frs_pg_exec(c, "ROLLBACK", PGRES_COMMAND_OK, NULL, ignored, sizeof ignored);
        return -1;
    }
    return frs_pg_exec(c, "COMMIT", PGRES_COMMAND_OK, NULL, err, err_size);
}
