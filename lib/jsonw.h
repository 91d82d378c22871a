/*
 * jsonw.h — a JSON text writer for the hot rendering paths (private).
 *
 * Every booking renders its allocation several times (the event's data, the
 * stored document, the response).  Building a cJSON tree for that costs a
 * malloc per field and a printf per number; this writer appends straight
 * into one growing buffer instead.  Its output is byte for byte what
 * cJSON_PrintUnformatted prints for the same tree (same escaping: \" \\ \b
 * \f \n \r \t, other control characters as \u00xx, everything else as is),
 * so texts made either way compare equal; tests/test_codec.c checks it.
 *
 * Errors are sticky: after the first failed allocation every call is a
 * no-op and fr__jw_finish returns NULL.  Nesting is bounded by JW_DEPTH_MAX.
 */
#ifndef FR_JSONW_H
#define FR_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "fleetres.h"

#define JW_DEPTH_MAX 16

typedef struct fr__jw {
    char *buf;
    size_t len;
    size_t cap;
    int ok;
    int depth;
    unsigned char first[JW_DEPTH_MAX]; /* per open container: nothing written yet */
} fr__jw;

/* Starts an empty text with room for about size_hint bytes. */
void fr__jw_init(fr__jw *w, size_t size_hint);
/* The text (malloc'd, the caller frees it) or NULL after a failure; the
 * writer is empty afterwards either way. */
char *fr__jw_finish(fr__jw *w);

void fr__jw_object_begin(fr__jw *w);
void fr__jw_object_end(fr__jw *w);
void fr__jw_array_begin(fr__jw *w);
void fr__jw_array_end(fr__jw *w);
/* The name of the next member of the current object. */
void fr__jw_key(fr__jw *w, const char *name);
/* A member name given as a string literal with nothing to escape (checked
 * in debug builds): its length is known at compile time, so it is copied
 * without a scan (entities are rendered for every change and read). */
#define fr__jw_key_literal(w, name) fr__jw_key_plain((w), "" name "", sizeof(name) - 1)
void fr__jw_key_plain(fr__jw *w, const char *name, size_t len);

/* Values (each one member's value after fr__jw_key, or an array element). */
void fr__jw_string(fr__jw *w, const char *s); /* NULL: null */
void fr__jw_null(fr__jw *w);
void fr__jw_bool(fr__jw *w, int value);
void fr__jw_int(fr__jw *w, int64_t value);
/* A quantity in milli-units as an exact decimal (fr_qty_format). */
void fr__jw_qty(fr__jw *w, int64_t milli);
/* A time as RFC 3339 text; null for FR_TIME_NULL, FR_TIME_INF, or a time
 * outside the printable range. */
void fr__jw_time(fr__jw *w, int64_t ms);
/* An id: "" is absent, rendered null. */
void fr__jw_id(fr__jw *w, const char *id);
/* An array of n ids (each NUL-terminated within FR_ID_SIZE bytes; "" is
 * rendered "", as fr__jw_string would), the same text as n fr__jw_string
 * calls between array begin and end, written in one pass: a conflict lists
 * up to 1000 of them. */
void fr__jw_id_array(fr__jw *w, const char (*ids)[FR_ID_SIZE], size_t n);
/* The same array from ids in binary (16 bytes each, see fr__uuid_format). */
void fr__jw_id_array_bin(fr__jw *w, const unsigned char (*ids)[16], size_t n);
/* Text that already is valid JSON, copied verbatim. */
void fr__jw_raw(fr__jw *w, const char *json);

#endif /* FR_JSONW_H */
