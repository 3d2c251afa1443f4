/*
 * confparse.h - helpers for reading libconfig settings into the model.
 */
#ifndef SLUICE_CONFPARSE_H
#define SLUICE_CONFPARSE_H

#include <jansson.h>
#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>

typedef struct parse_ctx {
    char *err;
    size_t errlen;
    const char *dir; /* directory of the main config file */
    int failed;
} parse_ctx;

/* Record the first error as "file:line: message" (s may be NULL). Returns -1. */
int cp_fail(parse_ctx *c, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void cp_strv_free(char **v);
size_t cp_strv_len(char *const *v);

/* Reject any member of group not in allowed (NULL-terminated). */
int cp_check_keys(parse_ctx *c, const config_setting_t *group, const char *what,
                  const char *const *allowed);
/* Resolve "@env:NAME" / "@file:PATH" / literal into a malloc'd string. */
int cp_resolve_string(parse_ctx *c, const config_setting_t *s, const char *what, const char *raw,
                      char **out);

/* Optional members; outputs are untouched when absent. */
int cp_get_string(parse_ctx *c, const config_setting_t *g, const char *name, const char *what,
                  char **out);
int cp_get_strv(parse_ctx *c, const config_setting_t *g, const char *name, const char *what,
                char ***out);
int cp_get_int(parse_ctx *c, const config_setting_t *g, const char *name, const char *what,
               long long lo, long long hi, int *out);
int cp_get_size(parse_ctx *c, const config_setting_t *g, const char *name, const char *what,
                uint64_t *out);
int cp_get_duration(parse_ctx *c, const config_setting_t *g, const char *name, const char *what,
                    uint64_t *out);

/* [A-Za-z0-9._-]{1,128} */
int cp_valid_id(const char *s);
/* "file:line" of a setting (malloc'd). */
char *cp_where_of(const config_setting_t *s);
/* A setting as JSON, strings resolved. NULL after cp_fail. */
json_t *cp_setting_to_json(parse_ctx *c, const config_setting_t *s, const char *what);

#endif
