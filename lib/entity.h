/*
 * entity.h — entity plumbing shared by the engine and the stores (private).
 *
 * Deep copies of the public entity structs, a strdup that passes NULL through,
 * and the helper every mutation uses to explain a failure in an fr_result.
 * The public side (names, clear/free, result init) is declared in fleetres.h
 * and implemented in entity.c as well.
 */
#ifndef FR_ENTITY_H
#define FR_ENTITY_H

#include "fleetres.h"

#if defined(__GNUC__)
#define FR__PRINTF_FORMAT(fmt_index, args_index) \
    __attribute__((format(printf, fmt_index, args_index)))
#else
#define FR__PRINTF_FORMAT(fmt_index, args_index)
#endif

/* A malloc'd copy of s, or NULL when s is NULL.  Also NULL when out of memory:
 * callers tell the two apart by checking s. */
char *fr__strdup_or_null(const char *s);

/* Deep copies src into dst.  dst is overwritten, not cleared first (whatever it
 * owned is not freed).  Returns FR_OK, or FR_ENOMEM with dst zeroed and
 * nothing leaked.  dst and src must not be the same struct. */
int fr__pool_copy(fr_pool *dst, const fr_pool *src);
int fr__allocation_copy(fr_allocation *dst, const fr_allocation *src);
int fr__request_copy(fr_request *dst, const fr_request *src);
int fr__conflict_copy(fr_conflict *dst, const fr_conflict *src);
int fr__event_copy(fr_event *dst, const fr_event *src);
int fr__sample_copy(fr_sample *dst, const fr_sample *src);
int fr__plan_copy(fr_plan *dst, const fr_plan *src); /* plan_codec.c */

/* Records a failure in res (which may be NULL): sets res->status, res->field
 * (field may be NULL: ""; truncated to fit) and res->message from the printf
 * format (truncated to fit).  The other members of res are left as they are. */
void fr__result_fail(fr_result *res, int status, const char *field, const char *fmt, ...)
    FR__PRINTF_FORMAT(4, 5);

#endif /* FR_ENTITY_H */
