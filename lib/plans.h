/*
 * plans.h — the two halves of plans (private): plan_build.c turns the
 * engine's state into the planner's input and the planner's output into a
 * plan's results; plans.c is the entity's lifecycle (create, re-plan,
 * commit, discard, delete, reads, store).
 */
#ifndef FR_PLANS_H
#define FR_PLANS_H

#include "fr_int.h"

/* Runs the planner for plan's inputs (fleet, horizon, bucket, demands,
 * capacity changes, include_pending_requests, time budget) against the
 * engine's current state, and replaces plan's results (assignments,
 * unplaced, forecast, shortfall, score, planning_ms, planned_at = now_ms).
 * Inputs must be validated.  FR_ELIMIT (res names the field) when the
 * fleet is too big for one plan, FR_ENOMEM; on failure plan is unchanged. */
int fr__plan_run(fr_engine *e, fr_plan *plan, int64_t now_ms, fr_result *res);

#endif /* FR_PLANS_H */
