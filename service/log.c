/*
 * log.c — one JSON object per line on stderr (SPEC §8: ts, level, msg,
 * request_id, method, path, status, duration_ms, actor), filtered by
 * LOG_LEVEL.  cJSON does the escaping; a line is written with one fputs so
 * lines from concurrent threads do not interleave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http.h"
#include "server.h"

static int min_level = FRS_LOG_INFO;

static const char *level_name(int level)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    return (level >= 0 && level <= 3) ? names[level] : "info";
}

void frs_log_set_level(int level)
{
    min_level = level;
}

static cJSON *line_start(int level, const char *msg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[32];
    fr_time_format((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, when, sizeof when);
    cJSON *line = cJSON_CreateObject();
    if (line != NULL) {
        cJSON_AddStringToObject(line, "ts", when);
        cJSON_AddStringToObject(line, "level", level_name(level));
        cJSON_AddStringToObject(line, "msg", msg);
    }
    return line;
}

static void emit(cJSON *line)
{
    char *text = line != NULL ? cJSON_PrintUnformatted(line) : NULL;
    cJSON_Delete(line);
    if (text != NULL) {
        fprintf(stderr, "%s\n", text);
        free(text);
    }
}

void frs_log(int level, const char *msg, const char *key, const char *value)
{
    if (level < min_level) {
        return;
    }
    cJSON *line = line_start(level, msg);
    if (line != NULL && key != NULL) {
        cJSON_AddStringToObject(line, key, value != NULL ? value : "");
    }
    emit(line);
}

void frs_log_request(int level, const frs_exchange *x, double duration_ms)
{
    if (level < min_level) {
        return;
    }
    cJSON *line = line_start(level, "request");
    if (line == NULL) {
        return;
    }
    cJSON_AddStringToObject(line, "request_id", x->request_id);
    cJSON_AddStringToObject(line, "method", x->method);
    cJSON_AddStringToObject(line, "path", x->path);
    cJSON_AddNumberToObject(line, "status", x->status);
    cJSON_AddNumberToObject(line, "duration_ms", duration_ms);
    cJSON_AddStringToObject(line, "actor", x->actor != NULL ? x->actor : "anonymous");
    emit(line);
}
