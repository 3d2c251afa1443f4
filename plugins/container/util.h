/*
 * util.h - small helpers shared by the container executor's files.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * kit_errf, kit_strerror, kit_now_ms and kit_format_real come from
 * plugins/kit (kit/kit.h); the parsers here are the container executor's own.
 */
#ifndef CTR_UTIL_H
#define CTR_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>

#include "kit/kit.h"

/*
 * Parse a size: digits with an optional binary unit K, M, G or T (case
 * insensitive, an optional trailing "B" or "iB": "64M", "512k", "1GiB");
 * no unit means bytes. Returns 0 with the value in *bytes, or -1.
 */
int ctr_parse_size(const char *text, int64_t *bytes);

#endif /* CTR_UTIL_H */
