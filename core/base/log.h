/*
 * log.h - one line per event on stderr: time, level, request id, message.
 *
 * Every line looks like
 *     2026-11-23T12:00:00.123Z info  [0193a8c2-...] accepted trigger=github flow=prod/deploy
 * so that grep and log shippers can split it without a parser. Secrets never
 * reach these functions: callers pass ids and names, never headers or keys.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>

#define LOG_ERROR 0
#define LOG_WARN 1
#define LOG_INFO 2
#define LOG_DEBUG 3

/* Lines above this level are dropped. Default LOG_INFO. */
void log_set_level(int level);
int log_get_level(void);
/* Parse "error", "warn", "info" or "debug"; -1 when unknown. */
int log_parse_level(const char *name);

/* request_id may be NULL. The message gets no trailing newline. */
void log_msg(int level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(int level, const char *request_id, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
