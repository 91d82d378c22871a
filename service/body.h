/*
 * body.h — reading a JSON request body strictly (SPEC §1).
 *
 * frs_body_json enforces the transport rules (415 when not JSON, 413 over
 * the limit, 400 for invalid UTF-8 or malformed JSON).  The field readers
 * below validate one field each and, on a bad value, send 400
 * invalid_request with details.field and return 0; callers stop at the first
 * 0.  Quantities are read from the number's own text, so "1.0005" is refused
 * and "0.1" is exact (cJSON alone keeps only a double).
 */
#ifndef FRS_BODY_H
#define FRS_BODY_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "http.h"

#define FRS_BODY_MAX_DEFAULT (1024 * 1024)

/* Reads and parses the body; on failure sends the error and returns NULL.
 * The tree is owned by the exchange (freed when it ends). */
const cJSON *frs_body_json(frs_exchange *x);
/* Requires the body to be a JSON object (else 400) — most routes. */
const cJSON *frs_body_object(frs_exchange *x);

/* Each reader: returns 1 and sets *present (when given) if the field is
 * present with a valid value (JSON null counts as present-and-null where
 * noted), 0 after sending 400 for a bad one; absent fields return 1 with
 * *present = 0 and leave the output untouched. */
int frs_read_string(frs_exchange *x, const cJSON *obj, const char *field, size_t max_len,
                    const char **out, int *present);
/* A string that may be JSON null (*out = NULL then). */
int frs_read_string_or_null(frs_exchange *x, const cJSON *obj, const char *field,
                            size_t max_len, const char **out, int *present);
/* One of an enum's names, read with its parser (fr_*_parse: < 0 for an
 * unknown name); `message` is the 400's text for an unknown one. */
int frs_read_enum(frs_exchange *x, const cJSON *obj, const char *field,
                  int (*parse)(const char *name), const char *message, int *out,
                  int *present);
int frs_read_qty(frs_exchange *x, const cJSON *obj, const char *field, int64_t *milli,
                 int *present);
/* RFC 3339 string. */
int frs_read_time(frs_exchange *x, const cJSON *obj, const char *field, int64_t *ms,
                  int *present);
/* RFC 3339 string or null (null -> FR_TIME_INF: open-ended / no deadline). */
int frs_read_end(frs_exchange *x, const cJSON *obj, const char *field, int64_t *ms,
                 int *present);
/* An integer in [min, max]. */
int frs_read_int(frs_exchange *x, const cJSON *obj, const char *field, int64_t min,
                 int64_t max, int64_t *out, int *present);
/* A number of seconds with at most 3 decimals, > 0, as ms. */
int frs_read_seconds(frs_exchange *x, const cJSON *obj, const char *field, int64_t *ms,
                     int *present);
int frs_read_bool(frs_exchange *x, const cJSON *obj, const char *field, int *out,
                  int *present);
/* A JSON object, returned as unformatted JSON text (malloc'd, caller frees);
 * for labels the values must all be strings (strings_only). */
int frs_read_object_text(frs_exchange *x, const cJSON *obj, const char *field,
                         int strings_only, char **out, int *present);
/* Frees what frs_body_json kept on the exchange (called once it ends). */
void frs_body_free(frs_exchange *x);

/* The raw text of a number node as it appeared in the body, or NULL. */
const char *frs_number_text(const frs_exchange *x, const cJSON *number);

#endif /* FRS_BODY_H */
