/*
 * kit.h - small helpers every first-party plugin uses (see README.md).
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef KIT_KIT_H
#define KIT_KIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sluice/plugin.h>

/* printf into err (errlen bytes, always NUL-terminated when errlen > 0). */
void kit_errf(char *err, size_t errlen, const char *fmt, ...) SLUICE_PRINTF(3, 4);

/* The text of errno value e, thread-safe. */
const char *kit_strerror(int e, char *buf, size_t len);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t kit_now_ms(void);

/*
 * Format a double as the shortest decimal text that reads back as the same
 * value, always with a '.' decimal point and always recognisable as a real
 * (1.0 stays "1.0"), into buf. Returns the length.
 */
size_t kit_format_real(double value, char *buf, size_t len);

/* The longest duration a plugin setting takes (kill_grace, timeout, ...). */
#define KIT_DURATION_MAX_MS (24L * 3600L * 1000L)

/*
 * A duration setting, read by the SDK's sluice_json_duration so that it
 * means what it means in sluice.conf: "250ms", "30s", "5m", "1h", "1d", or a
 * bare number (an integer or a digit string) of seconds. At most
 * KIT_DURATION_MAX_MS. Returns 0 and *ms, or -1.
 */
int kit_duration(const json_t *v, long *ms);

/*
 * A size setting, read by the SDK's sluice_json_size so that it means what
 * it means in sluice.conf: an integer of bytes, or a string "4096", "512K",
 * "1M", "2G" (also "KB", "KiB", ...; powers of 1024, case-insensitive).
 * Also "T", "TB" and "TiB", which the container executor's memory took
 * before it read sizes this way and the SDK does not know. The caller
 * bounds the result. Returns 0 and *bytes, or -1.
 */
int kit_size(const json_t *v, uint64_t *bytes);

/*
 * A flow's config group as configure receives it, read with the SDK's
 * sluice_json_config and, when allowed (NULL-terminated) is given,
 * sluice_json_check_keys. Errors read "where: plugin: why". Returns a new
 * reference to the object, or NULL.
 */
json_t *kit_config(const char *cfg_json, size_t cfg_len, const char *const *allowed,
                   const char *where, const char *plugin, char *err, size_t errlen);

#endif /* KIT_KIT_H */
