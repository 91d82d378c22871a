/*
 * bench_planner.c — the horizon planner's quality and speed (make bench).
 *
 * (a) Quality against the exact optimum: random small instances (at most 14
 *     requests, 2-3 pools, integer hours over 24 h) are written as a
 *     time-indexed MILP in CPLEX LP format and solved by GLPK's glpsol
 *     (Debian glpk-utils); the planner's placed_priority is compared with the
 *     optimum (average and worst ratio), every planner result and every MILP
 *     solution is checked by the independent checker of
 *     tests/planner_util.h, and when the priorities tie the delays are
 *     compared too.  Without glpsol on PATH this part says so and is skipped.
 *     --emit-cases FILE writes the first 40 instances with their optimum as
 *     the regression data of tests/test_planner.c.
 * (b) Speed: 10,000 requests over 100 pools and a 7-day horizon, and
 *     100,000, each next to a first-come-first-served earliest-fit baseline
 *     (arrival order, no improvement) measured in the same run.
 *
 * MILP.  x[i,p,s] = 1 when item i starts on pool p at hour s (only starts
 * inside the window, on eligible pools, clear of the vehicle's fixed busy
 * intervals).  Rows: each item at most once; per pool and hour the quantity
 * of the items running then <= the free capacity; per vehicle and hour at
 * most one of its items running (every pool of these instances is exclusive
 * per vehicle).  Objective: maximize sum of x * ((priority + 1) * BIG -
 * delay_hours) with BIG = 1000 > any total delay in hours (14 * 24), which
 * is the lexicographic objective of SPEC §7.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fleetres.h"
#include "planner.h"
#include "planner_core.h"
#include "planner_util.h"

extern char **environ;

#define MILP_BIG 1000
#define EMIT_CASES 40
#define HOURS 24

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this process: the machine is shared, so wall time alone would
 * measure the neighbours too. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_path(const char *name) {
    const char *path = getenv("PATH");
    char dir[4096];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        if (n < sizeof dir - 64) {
            memcpy(dir, path, n);
            snprintf(dir + n, sizeof dir - n, "/%s", name);
            if (access(dir, X_OK) == 0) {
                return 1;
            }
        }
        path += n + (path[n] == ':');
    }
    return 0;
}

/* One MILP column. */
typedef struct col {
    size_t item;
    size_t pool;
    int64_t start_h;
} col;

static int64_t hour_of(const fr_plan_input *in, int64_t t_ms) {
    return (t_ms - in->horizon_start_ms) / PL_HOUR_MS;
}

static int busy_clash(const fr_plan_input *in, const fr_plan_item *it, int64_t a_ms, int64_t b_ms) {
    for (size_t b = 0; it->vehicle_id && b < in->busy_count; b++) {
        const fr_plan_busy *bz = &in->busy[b];
        if (strcmp(bz->vehicle_id, it->vehicle_id) == 0 &&
            strcmp(bz->resource_type, it->resource_type) == 0 && bz->start_ms < b_ms && a_ms < bz->end_ms) {
            return 1;
        }
    }
    return 0;
}

/* The columns of an instance; returns the count (cols has room for all). */
static size_t milp_columns(const fr_plan_input *in, col *cols) {
    size_t n = 0;
    for (size_t i = 0; i < in->item_count; i++) {
        const fr_plan_item *it = &in->items[i];
        int64_t lo = it->earliest_start_ms > in->horizon_start_ms ? it->earliest_start_ms : in->horizon_start_ms;
        int64_t hi = it->latest_end_ms < in->horizon_end_ms ? it->latest_end_ms : in->horizon_end_ms;
        for (size_t p = 0; p < in->pool_count; p++) {
            if (!pl_eligible(it, &in->pools[p])) {
                continue;
            }
            for (int64_t s = lo; s + it->duration_ms <= hi; s += PL_HOUR_MS) {
                if (in->pools[p].exclusive_per_vehicle && busy_clash(in, it, s, s + it->duration_ms)) {
                    continue;
                }
                cols[n++] = (col){i, p, hour_of(in, s)};
            }
        }
    }
    return n;
}

static int covers(const fr_plan_input *in, const col *c, int64_t h) {
    int64_t d = in->items[c->item].duration_ms / PL_HOUR_MS;
    return c->start_h <= h && h < c->start_h + d;
}

static void write_lp(FILE *f, const fr_plan_input *in, const col *cols, size_t n) {
    fprintf(f, "Maximize\n obj:");
    for (size_t k = 0; k < n; k++) {
        const fr_plan_item *it = &in->items[cols[k].item];
        int64_t lo_h = hour_of(in, it->earliest_start_ms > in->horizon_start_ms ? it->earliest_start_ms
                                                                                 : in->horizon_start_ms);
        fprintf(f, " + %lld x%zu", (long long)((it->priority + 1) * MILP_BIG - (cols[k].start_h - lo_h)), k);
    }
    fprintf(f, "\nSubject To\n");
    for (size_t i = 0; i < in->item_count; i++) {
        int any = 0;
        for (size_t k = 0; k < n; k++) {
            if (cols[k].item == i) {
                fprintf(f, "%s x%zu", any ? " +" : " ", k);
                any = 1;
            }
        }
        if (any) {
            fprintf(f, " <= 1\n");
        }
    }
    for (size_t p = 0; p < in->pool_count; p++) {
        for (int64_t h = 0; h < HOURS; h++) {
            int any = 0;
            for (size_t k = 0; k < n; k++) {
                if (cols[k].pool == p && covers(in, &cols[k], h)) {
                    fprintf(f, "%s %lld x%zu", any ? " +" : " ", (long long)in->items[cols[k].item].quantity_milli, k);
                    any = 1;
                }
            }
            if (any) {
                fprintf(f, " <= %lld\n", (long long)pl_free_at(&in->pools[p], in->horizon_start_ms + h * PL_HOUR_MS));
            }
        }
    }
    for (size_t v = 0; v < in->item_count; v++) { /* one row set per (vehicle, type) leader */
        const fr_plan_item *lead = &in->items[v];
        int leader = lead->vehicle_id != NULL;
        for (size_t j = 0; leader && j < v; j++) {
            const fr_plan_item *o = &in->items[j];
            leader = !(o->vehicle_id && strcmp(o->vehicle_id, lead->vehicle_id) == 0 &&
                       strcmp(o->resource_type, lead->resource_type) == 0);
        }
        for (int64_t h = 0; leader && h < HOURS; h++) {
            int any = 0;
            for (size_t k = 0; k < n; k++) {
                const fr_plan_item *it = &in->items[cols[k].item];
                if (it->vehicle_id && strcmp(it->vehicle_id, lead->vehicle_id) == 0 &&
                    strcmp(it->resource_type, lead->resource_type) == 0 && covers(in, &cols[k], h)) {
                    fprintf(f, "%s x%zu", any ? " +" : " ", k);
                    any = 1;
                }
            }
            if (any) {
                fprintf(f, " <= 1\n");
            }
        }
    }
    fprintf(f, "Binary\n");
    for (size_t k = 0; k < n; k++) {
        fprintf(f, " x%zu\n", k);
    }
    fprintf(f, "End\n");
}

/* Runs glpsol on lp_path, writing the raw solution to sol_path; 0 on success. */
static int run_glpsol(const char *lp_path, const char *sol_path) {
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        return -1;
    }
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"glpsol", "--lp", (char *)lp_path, "-w", (char *)sol_path, NULL};
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, "glpsol", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Reads the raw MIP solution: the value of each column (x[k] = j k+1). */
static int read_solution(const char *sol_path, unsigned char *x, size_t n) {
    FILE *f = fopen(sol_path, "r");
    if (!f) {
        return -1;
    }
    char line[256];
    int optimal = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long j = 0;
        double v = 0;
        char status = 0;
        if (line[0] == 's' && sscanf(line, "s mip %*u %*u %c", &status) == 1) {
            optimal = status == 'o';
        } else if (line[0] == 'j' && sscanf(line, "j %llu %lf", &j, &v) == 2 && j >= 1 && j <= n) {
            x[j - 1] = v > 0.5;
        }
    }
    fclose(f);
    return optimal ? 0 : -1;
}

/* The MILP solution as a planner result (for the checker and the score). */
static void milp_result(const fr_plan_input *in, const col *cols, const unsigned char *x, size_t n,
                        fr_plan_result *r, fr_plan_assignment *as, fr_plan_unplaced *un) {
    memset(r, 0, sizeof *r);
    r->assignments = as;
    r->unplaced = un;
    for (size_t i = 0; i < in->item_count; i++) {
        const fr_plan_item *it = &in->items[i];
        int64_t lo = it->earliest_start_ms > in->horizon_start_ms ? it->earliest_start_ms : in->horizon_start_ms;
        size_t k = 0;
        while (k < n && !(x[k] && cols[k].item == i)) {
            k++;
        }
        if (k == n) {
            un[r->unplaced_count++] = (fr_plan_unplaced){i, FR_PLAN_INSUFFICIENT_CAPACITY};
            continue;
        }
        int64_t s = in->horizon_start_ms + cols[k].start_h * PL_HOUR_MS;
        as[r->assignment_count++] = (fr_plan_assignment){i, cols[k].pool, s, s + it->duration_ms};
        r->placed_priority += it->priority + 1;
        r->total_delay_ms += s - lo;
    }
}

typedef struct optimum {
    int64_t placed_priority;
    int64_t delay_ms;
} optimum;

/* Solves one instance exactly; 0 on success. */
static int milp_solve(const fr_plan_input *in, optimum *opt) {
    size_t cap = in->item_count * in->pool_count * HOURS + 1;
    col *cols = malloc(cap * sizeof *cols);
    unsigned char *x = calloc(cap, 1);
    fr_plan_assignment *as = malloc((in->item_count + 1) * sizeof *as);
    fr_plan_unplaced *un = malloc((in->item_count + 1) * sizeof *un);
    int rc = cols && x && as && un ? 0 : -1;
    size_t n = rc == 0 ? milp_columns(in, cols) : 0;
    char lp_path[] = "/tmp/bench_planner_XXXXXX";
    char sol_path[64];
    int fd = rc == 0 && n > 0 ? mkstemp(lp_path) : -1;
    if (fd >= 0) {
        snprintf(sol_path, sizeof sol_path, "%s.sol", lp_path);
        FILE *f = fdopen(fd, "w");
        if (f) {
            write_lp(f, in, cols, n);
            fclose(f);
        }
        rc = f ? run_glpsol(lp_path, sol_path) : -1;
        rc = rc == 0 ? read_solution(sol_path, x, n) : rc;
        unlink(lp_path);
        unlink(sol_path);
    }
    if (rc == 0) {
        fr_plan_result r;
        milp_result(in, cols, x, n, &r, as, un);
        char err[256] = "";
        if (!pl_check(in, &r, err, sizeof err)) {
            fprintf(stderr, "MILP solution fails the checker: %s\n", err);
            rc = -1;
        }
        opt->placed_priority = r.placed_priority;
        opt->delay_ms = r.total_delay_ms;
    }
    free(cols);
    free(x);
    free(as);
    free(un);
    return rc;
}

/* Writes one instance as a C string literal. */
static void emit_case(FILE *out, uint64_t seed, const optimum *opt, const fr_plan_input *in) {
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m) {
        return;
    }
    pl_write(m, in);
    fclose(m);
    fprintf(out, "    {%llu, %lld, %lld,\n     \"", (unsigned long long)seed, (long long)opt->placed_priority,
            (long long)opt->delay_ms);
    for (size_t k = 0; k < len; k++) {
        if (text[k] == '\n') {
            fprintf(out, k + 1 < len ? "\\n\"\n     \"" : "\\n\"");
        } else {
            fputc(text[k], out);
        }
    }
    fprintf(out, "},\n");
    free(text);
}

static void quality_report(size_t solved, double ratio_sum, double worst, size_t optimal,
                           size_t infeasible, size_t ties, size_t delay_equal, int64_t delay_excess_ms) {
    printf("quality: %zu instances (<= 14 requests, 2-3 pools, 24 h), exact optimum by glpsol\n", solved);
    printf("quality: placed_priority planner/optimum: average %.4f, worst %.4f, optimal in %zu/%zu\n",
           solved ? ratio_sum / (double)solved : 0.0, worst, optimal, solved);
    printf("quality: infeasible planner results: %zu (must be 0)\n", infeasible);
    printf("quality: when placed_priority ties (%zu): delay equal to the optimum's in %zu, "
           "average excess %.2f h\n", ties, delay_equal,
           ties ? (double)delay_excess_ms / (double)ties / (double)PL_HOUR_MS : 0.0);
}

static int quality(size_t count, const char *emit_path) {
    if (!on_path("glpsol")) {
        printf("quality: glpsol not found on PATH (Debian package glpk-utils; make deps installs it) "
               "-- skipping the comparison with the exact optimum\n");
        return 0;
    }
    FILE *emit = emit_path ? fopen(emit_path, "w") : NULL;
    if (emit) {
        fprintf(emit, "/* Generated by bench_planner --emit-cases: small instances (text form of\n"
                      " * tests/planner_util.h) with the optimum found by glpsol. */\n"
                      "typedef struct milp_case {\n    unsigned long long seed;\n    int64_t optimum;\n"
                      "    int64_t optimum_delay_ms;\n    const char *text;\n} milp_case;\n\n"
                      "static const milp_case milp_cases[] = {\n");
    }
    double ratio_sum = 0, worst = 1.0, t_planner = 0, t_milp = 0;
    size_t solved = 0, infeasible = 0, optimal = 0, ties = 0, delay_equal = 0;
    int64_t delay_excess_ms = 0;
    for (uint64_t seed = 1; seed <= count; seed++) {
        pl_params pr = milp_params_for(seed);
        pl_inst x;
        if (!pl_gen(&x, &pr, seed)) {
            return 1;
        }
        x.in.time_budget_ms = 100;
        optimum opt;
        double t0 = now_s();
        int ok = milp_solve(&x.in, &opt) == 0;
        double t1 = now_s();
        fr_plan_result r;
        if (!ok || fr__plan_solve(&x.in, &r) != FR_OK) {
            printf("quality: seed %llu: %s failed\n", (unsigned long long)seed, ok ? "planner" : "glpsol");
            pl_free(&x);
            continue;
        }
        t_milp += t1 - t0;
        t_planner += now_s() - t1;
        char err[256] = "";
        if (!pl_check(&x.in, &r, err, sizeof err)) {
            infeasible++;
            printf("quality: seed %llu: planner result infeasible: %s\n", (unsigned long long)seed, err);
        }
        double ratio = opt.placed_priority ? (double)r.placed_priority / (double)opt.placed_priority : 1.0;
        ratio_sum += ratio;
        worst = ratio < worst ? ratio : worst;
        if (ratio < 0.95) {
            printf("quality: seed %llu: planner %lld, optimum %lld (%.4f)\n", (unsigned long long)seed,
                   (long long)r.placed_priority, (long long)opt.placed_priority, ratio);
        }
        solved++;
        optimal += r.placed_priority == opt.placed_priority;
        if (r.placed_priority == opt.placed_priority) {
            ties++;
            delay_equal += r.total_delay_ms == opt.delay_ms;
            delay_excess_ms += r.total_delay_ms - opt.delay_ms;
        }
        if (emit && seed <= EMIT_CASES) {
            emit_case(emit, seed, &opt, &x.in);
        }
        fr__plan_result_free(&r);
        pl_free(&x);
    }
    if (emit) {
        fprintf(emit, "};\n");
        fclose(emit);
    }
    quality_report(solved, ratio_sum, worst, optimal, infeasible, ties, delay_equal, delay_excess_ms);
    printf("quality: time planner %.3f s, glpsol %.3f s in total\n", t_planner, t_milp);
    return infeasible ? 1 : 0;
}

/* About 1.2 times more demand than capacity: 9 unit-hours per request on
 * average (1-3 units, 1-8 h), 100 pools over 168 h. */
static pl_params speed_params(size_t items) {
    int64_t cap = (int64_t)(items * 9 / (12 * 16800 / 10)) + 1;
    pl_params pr = {
        .pools = 100, .items = items, .types = 5, .sites = 4, .vehicles = items / 10, .busy = items / 20,
        .horizon_hours = 168, .steps_max = 8, .cap_min_milli = cap * 500, .cap_max_milli = cap * 1500 + 1000,
        .qty_max_milli = 3000, .dur_max_hours = 8, .slack_max_hours = 48, .deadline_pct = 50,
        .site_pct = 30, .pool_pct = 5, .vehicle_pct = 20, .exclusive_pct = 50, .outside_pct = 2,
        .unit_ms = PL_HOUR_MS / 4,
    };
    return pr;
}

static int speed(size_t items, int64_t budget_ms) {
    pl_params pr = speed_params(items);
    pl_inst x;
    if (!pl_gen(&x, &pr, 42 + items)) {
        return 1;
    }
    x.in.time_budget_ms = budget_ms;
    fr_plan_result r, base;
    double c0 = cpu_s();
    double t0 = now_s();
    int rc = fr__plan_solve(&x.in, &r);
    double t1 = now_s();
    double c1 = cpu_s();
    int rc2 = fr__plan_solve_fcfs(&x.in, &base);
    double t2 = now_s();
    double c2 = cpu_s();
    if (rc != FR_OK || rc2 != FR_OK) {
        printf("speed: solve failed (%d, %d)\n", rc, rc2);
        pl_free(&x);
        return 1;
    }
    printf("speed: %zu requests, 100 pools, 7 days, budget %lld ms: %.3f s wall (%.3f s CPU), placed %zu, "
           "unplaced %zu, placed_priority %lld, delay %.1f h, moves %llu, shortfall pieces %zu\n",
           items, (long long)budget_ms, t1 - t0, c1 - c0, r.assignment_count, r.unplaced_count,
           (long long)r.placed_priority, (double)r.total_delay_ms / (double)PL_HOUR_MS,
           (unsigned long long)r.moves, r.shortfall_count);
    /* The shortfall's promise (issue 5): re-planning with it added places
     * every insufficient_capacity item (not timed). */
    pl_inst y;
    fr_plan_result again;
    size_t targets = 0, missed = 0;
    if (!pl_with_extra(&x, r.shortfall, r.shortfall_count, &y) ||
        fr__plan_solve(&y.in, &again) != FR_OK) {
        printf("speed: re-plan with the shortfall failed\n");
        return 1;
    }
    for (size_t u = 0; u < r.unplaced_count; u++) {
        if (r.unplaced[u].reason != FR_PLAN_INSUFFICIENT_CAPACITY) {
            continue;
        }
        int found = 0;
        for (size_t k = 0; k < again.assignment_count && !found; k++) {
            found = again.assignments[k].item == r.unplaced[u].item;
        }
        targets++;
        missed += !found;
    }
    printf("speed: re-planned with the shortfall added: %zu of %zu insufficient_capacity "
           "items still unplaced\n", missed, targets);
    fr__plan_result_free(&again);
    pl_free(&y);
    printf("speed: baseline FCFS earliest fit: %.3f s wall (%.3f s CPU), placed %zu, placed_priority %lld, delay %.1f h; "
           "planner/baseline placed_priority %.3f\n",
           t2 - t1, c2 - c1, base.assignment_count, (long long)base.placed_priority,
           (double)base.total_delay_ms / (double)PL_HOUR_MS,
           base.placed_priority ? (double)r.placed_priority / (double)base.placed_priority : 0.0);
    fr__plan_result_free(&r);
    fr__plan_result_free(&base);
    pl_free(&x);
    return missed > 0;
}

int main(int argc, char **argv) {
    size_t count = 200;
    const char *emit = NULL;
    int do_quality = 1, do_speed = 1;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--quality") == 0 && a + 1 < argc) {
            count = (size_t)strtoull(argv[++a], NULL, 10);
        } else if (strcmp(argv[a], "--emit-cases") == 0 && a + 1 < argc) {
            emit = argv[++a];
        } else if (strcmp(argv[a], "--no-speed") == 0) {
            do_speed = 0;
        } else if (strcmp(argv[a], "--no-quality") == 0) {
            do_quality = 0;
        } else {
            fprintf(stderr, "usage: %s [--quality N] [--emit-cases FILE] [--no-speed] [--no-quality]\n", argv[0]);
            return 2;
        }
    }
    int rc = do_quality ? quality(count, emit) : 0;
    if (do_speed) {
        rc |= speed(10000, 100);
        rc |= speed(100000, 500);
    }
    return rc;
}
