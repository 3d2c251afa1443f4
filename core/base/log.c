/*
 * log.c - stderr logging, one write(2) per line.
 *
 * Each line is formatted into a stack buffer and written with a single
 * write() so that lines from concurrent threads never interleave, without a
 * lock on the hot path. Control characters are escaped so that a hostile
 * value can never forge a second log line.
 */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(int level)
{
    atomic_store(&log_level, level);
}

int log_get_level(void)
{
    return atomic_load(&log_level);
}

int log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    if (strcmp(name, "warning") == 0)
        return LOG_WARN;
    return -1;
}

void log_vmsg(int level, const char *request_id, const char *prefix, const char *fmt, va_list ap)
{
    if (level > atomic_load(&log_level))
        return;
    if (level < 0)
        level = 0;
    if (level > 3)
        level = 3;

    char raw[2048];
    vsnprintf(raw, sizeof(raw), fmt, ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);

    char line[4096];
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[level]);
    if (request_id && *request_id)
        n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] ", request_id);
    if (prefix && *prefix)
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%s: ", prefix);

    /* Escape control characters so values cannot inject fake lines. */
    for (const unsigned char *p = (const unsigned char *)raw; *p && n < (int)sizeof(line) - 6;
         p++) {
        if (*p < 0x20 || *p == 0x7f)
            n += snprintf(line + n, sizeof(line) - (size_t)n, "\\x%02x", *p);
        else
            line[n++] = (char)*p;
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void log_msg(int level, const char *request_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, request_id, NULL, fmt, ap);
    va_end(ap);
}
