/*
 * router.h — the route table of fleetres-server.
 *
 * A route is a method, a path pattern under the API base with up to two
 * "{name}" segments, and a handler.  Unknown paths get 404 not_found; known
 * paths with another method get 405 with an Allow header.  Every module of
 * routes registers its table once at start-up (routes_*.c).
 */
#ifndef FRS_ROUTER_H
#define FRS_ROUTER_H

#include "http.h"

/* A handler answers the exchange (exactly one frs_send_*) and returns the status. */
typedef int (*frs_handler)(frs_exchange *x);

typedef struct frs_route {
    const char *method;  /* "GET", "POST", "PUT", "DELETE" */
    const char *pattern; /* "/pools/{id}" — relative to FRS_API_BASE, or absolute
                            when it starts with "//" (e.g. "//health") */
    frs_handler handler;
} frs_route;

/* Each routes_*.c file exports its table, ending with a {NULL} entry. */
extern const frs_route frs_routes_pools[];
extern const frs_route frs_routes_allocations[];
extern const frs_route frs_routes_requests[];
extern const frs_route frs_routes_conflicts[];
extern const frs_route frs_routes_utilization[];
extern const frs_route frs_routes_events[];
extern const frs_route frs_routes_ops[];
extern const frs_route frs_routes_planning[];

/* Finds the route for x->method and x->path, fills x->params and x->route,
 * and runs it; answers 404/405 itself. */
int frs_route_dispatch(frs_exchange *x);
/* Calls fn for every route (method, full path pattern) — for the OpenAPI
 * check and the metrics labels. */
void frs_route_each(void (*fn)(void *ctx, const char *method, const char *path), void *ctx);
/* Prints every route as "METHOD PATH\n" on stdout (routes_list.c), for
 * `fleetres-server --routes`; 0 on success, 1 if stdout failed. */
int frs_print_routes(void);

#endif /* FRS_ROUTER_H */
