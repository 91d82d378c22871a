/*
 * uuid.h — ids in text and in binary (private).
 *
 * Ids are UUIDs in canonical text, 8-4-4-4-12 lowercase hex (FR_ID_SIZE with
 * the NUL).  Where many are kept or listed — the ledger's booking keys,
 * conflicts' allocation ids — they are held as their 16 bytes instead.
 */
#ifndef FR_UUID_H
#define FR_UUID_H

#include "fleetres.h"

/* The 16 bytes of a canonical id: 1, or 0 when text is not exactly such an
 * id (bytes then partly written). */
int fr__uuid_parse(const char *text, unsigned char bytes[16]);
/* The canonical text of 16 bytes: 36 characters and a NUL. */
void fr__uuid_format(const unsigned char bytes[16], char out[FR_ID_SIZE]);
/* The same without vector instructions (what fr__uuid_format is where SSE2
 * is missing; tests compare the two). */
void fr__uuid_format_portable(const unsigned char bytes[16], char out[FR_ID_SIZE]);

#endif /* FR_UUID_H */
