/*
 * util.h - small helpers shared by the container executor's files.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The first four are copied from plugins/shell (plugins share no code at
 * link time); keep them in step. The parsers below them are the container
 * executor's own.
 */
#ifndef CTR_UTIL_H
#define CTR_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>

/* printf into err (errlen bytes, always NUL-terminated when errlen > 0). */
void ctr_errf(char *err, size_t errlen, const char *fmt, ...) SLUICE_PRINTF(3, 4);

/* The text of errno value e, thread-safe. */
const char *ctr_strerror(int e, char *buf, size_t len);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t ctr_now_ms(void);

/*
 * Format a double as the shortest decimal text that reads back as the same
 * value, always with a '.' decimal point and always recognisable as a real
 * (1.0 stays "1.0"), into buf. Returns the length.
 */
size_t ctr_format_real(double value, char *buf, size_t len);

/*
 * Parse a size: digits with an optional binary unit K, M, G or T (case
 * insensitive, an optional trailing "B" or "iB": "64M", "512k", "1GiB");
 * no unit means bytes. Returns 0 with the value in *bytes, or -1.
 */
int ctr_parse_size(const char *text, int64_t *bytes);

/*
 * Parse a duration: digits followed by ms, s, m or h ("500ms", "30s",
 * "5m"), at most 24h. Returns 0 with the value in *ms, or -1.
 */
int ctr_parse_duration(const char *text, long *ms);

#endif /* CTR_UTIL_H */
