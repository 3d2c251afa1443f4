/*
 * settings_parts.h - what settings.c and sandbox.c share while parsing.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Each parser takes the JSON value of one setting, fills cfg, and returns
 * 0, or -1 with err reading "<where>: container: <what>".
 */
#ifndef CTR_SETTINGS_PARTS_H
#define CTR_SETTINGS_PARTS_H

#include <stddef.h>

#include <jansson.h>
#include <sluice/plugin.h>

#include "settings.h"

/* Every configure error reads "<where>: container: <what>". */
void ctr_fail(char *err, size_t errlen, const char *where, const char *fmt, ...)
    SLUICE_PRINTF(4, 5);

/* Nonzero when s is non-empty and every byte is a letter, a digit or in extra. */
int ctr_chars_ok(const char *s, const char *extra);

/* sandbox.c: what confines the container. v may be NULL where a default applies. */
int ctr_settings_network(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                         size_t errlen);
int ctr_settings_memory(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                        size_t errlen);
int ctr_settings_cpus(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                      size_t errlen);
int ctr_settings_pids(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                      size_t errlen);
int ctr_settings_ulimits(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                         size_t errlen);
int ctr_settings_user(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                      size_t errlen);
int ctr_settings_mounts(struct ctr_settings *cfg, json_t *v, const char *where, char *err,
                        size_t errlen);

#endif /* CTR_SETTINGS_PARTS_H */
