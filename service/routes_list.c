/*
 * routes_list.c — the server's route table as text, one "METHOD PATH" line
 * per route (`fleetres-server --routes`), so a test can check that
 * docs/openapi.yaml describes exactly the routes the router serves.
 *
 * Paths are the full patterns the router matches, with "{name}" segments
 * for path parameters (e.g. "GET /api/v1/fleet-resources/pools/{id}").
 */
#include <stdio.h>

#include "router.h"

/* Prints one route; remembers a failed write in *ctx. */
static void print_route(void *ctx, const char *method, const char *path)
{
    int *failed = ctx;
    if (printf("%s %s\n", method, path) < 0) {
        *failed = 1;
    }
}

/* Prints every route on stdout in table order; 0 on success, 1 if stdout
 * could not be written. */
int frs_print_routes(void)
{
    int failed = 0;
    frs_route_each(print_route, &failed);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        failed = 1;
    }
    return failed;
}
