/*
 * postgres.h — the PostgreSQL store (a fr_store for libfleetres) and the
 * schema migrations, for fleetres-server and the store tests.  The library
 * itself does not link libpq; this backend lives in the service.
 */
#ifndef FRS_POSTGRES_H
#define FRS_POSTGRES_H

#include <stddef.h>

#include "fleetres_store.h"

typedef struct frs_pg_options {
    /* Connections used by `sync` (group commit), 1..64; 0: 8.  The engine
     * calls sync from every worker thread at once; more threads than
     * connections wait for a flush to cover them. */
    int sync_connections;
    /* Apply missing migrations at open (the server does; tests may not). */
    int migrate;
    /* Called (rarely) when the database connection is lost or comes back. */
    void (*log)(int is_error, const char *message, const char *detail);
} frs_pg_options;

/* 1 when url names PostgreSQL (postgres:// or postgresql://). */
int frs_pg_is_url(const char *url);

/* Opens the store on url.  Refuses a schema newer than this build knows and,
 * without opt->migrate, one older.  *out is owned by the caller until handed
 * to fr_engine_open_store. */
int frs_store_pg_open(const char *url, const frs_pg_options *opt, fr_store **out, char *err,
                      size_t err_size);

/* `fleetres-server migrate [VERSION]`: applies the missing migrations up to
 * target (0: all).  0 on success with a summary in msg, -1 with the error. */
int frs_pg_migrate_url(const char *url, int target, char *msg, size_t msg_size);

#endif /* FRS_POSTGRES_H */
