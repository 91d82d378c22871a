/*
 * sqlite_walbuf.h — a VFS shim that writes a transaction's WAL frames with
 * one write call (private; see sqlite_walbuf.c for why and how).
 */
#ifndef FR_SQLITE_WALBUF_H
#define FR_SQLITE_WALBUF_H

#include <sqlite3.h>

#define FR_WALBUF_VFS "fleetres-walbuf"

/* Registers the shim on top of the default VFS (once per process; thread
 * safe).  SQLITE_OK, or an error: then open without it. */
int fr__walbuf_register(void);

/* Writes the WAL bytes the shim holds for db's main database.  The store
 * calls it right after a COMMIT: a failure means the committed frames may
 * not be in the file. */
int fr__walbuf_flush(sqlite3 *db);

#endif /* FR_SQLITE_WALBUF_H */
