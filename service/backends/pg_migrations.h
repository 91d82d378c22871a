/*
 * pg_migrations.h — the versioned SQL migrations of the PostgreSQL schema,
 * embedded at build time (embed_migrations.py writes the array from
 * migrations/NNNN_name.sql), and the runner that applies them.
 */
#ifndef FRS_PG_MIGRATIONS_H
#define FRS_PG_MIGRATIONS_H

#include <stddef.h>

typedef struct frs_pg_migration {
    int version; /* 1..N, no gaps */
    const char *name;
    const char *sql;
} frs_pg_migration;

extern const frs_pg_migration frs_pg_migrations[];
extern const int frs_pg_migrations_count;

struct pg_conn;

/* Applies the missing migrations up to `target` (0: all) in order, in one
 * transaction under an advisory lock, recording each in
 * fleet_resources.schema_migrations; running it again is a no-op.  Refuses a
 * database whose schema is newer than the newest migration known.  *from and
 * *to (may be NULL) receive the versions before and after.  0 on success, -1
 * with a message in err. */
int frs_pg_migrate(struct pg_conn *conn, int target, int *from, int *to, char *err,
                   size_t err_size);
/* The applied schema version (0: none) in *version; -1 with a message on a
 * failure. */
int frs_pg_schema_version(struct pg_conn *conn, int *version, char *err, size_t err_size);

#endif /* FRS_PG_MIGRATIONS_H */
