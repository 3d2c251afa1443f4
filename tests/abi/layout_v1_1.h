/*
 * layout_v1_1.h - compile-time checks of what ABI 1.1 appended.
 *
 * Included after some <sluice/plugin.h> of minor 1 or later (the frozen
 * v1.1 copy or the current one) and after layout_v1_0.h, whose checks of
 * the v1.0 fields this file builds on. 1.1 appended two host functions to
 * sluice_host, right after exec_set_response, and three limits; sluice_plugin
 * did not grow. Never edit this file except to add checks; a later minor
 * adds a layout_v1_N.h of its own.
 */
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#if SLUICE_ABI_MINOR < 1
#error "layout_v1_1.h needs a header of ABI 1.1 or later"
#endif

/* ---- sluice_host 1.1: the appended functions, their types, their place ---- */

ABI_NEXT(sluice_host, exec_set_response, exec_body,
         const char *(*)(const sluice_exec *, size_t *, const char **));
ABI_NEXT(sluice_host, exec_body, exec_set_meta, int (*)(sluice_exec *, const char *, const char *));
#define ABI_HOST_V1_1_END ABI_END(sluice_host, exec_set_meta)

_Static_assert(sizeof(sluice_host) >= ABI_HOST_V1_1_END, "sluice_host only grows");
#if SLUICE_ABI_MINOR == 1
_Static_assert(sizeof(sluice_host) == ABI_ALIGN_UP(ABI_HOST_V1_1_END, _Alignof(sluice_host)),
               "sluice_host v1.1 ends with exec_set_meta");
_Static_assert(sizeof(sluice_plugin) == ABI_ALIGN_UP(ABI_PLUGIN_V1_0_END, _Alignof(sluice_plugin)),
               "sluice_plugin did not grow in 1.1");
#endif

#if (defined(__x86_64__) && defined(__LP64__)) || defined(__aarch64__) || \
    (defined(__riscv) && __riscv_xlen == 64) || defined(__powerpc64__) || defined(__s390x__)
ABI_AT(sluice_host, exec_body, 104);
ABI_AT(sluice_host, exec_set_meta, 112);
_Static_assert(ABI_HOST_V1_1_END == 120, "sluice_host v1.1 is 120 bytes on LP64");
#elif defined(__i386__) || (defined(__x86_64__) && defined(__ILP32__)) || defined(__arm__)
ABI_AT(sluice_host, exec_body, 60);
ABI_AT(sluice_host, exec_set_meta, 64);
_Static_assert(ABI_HOST_V1_1_END == 68, "sluice_host v1.1 is 68 bytes on ILP32");
#endif

/* ---- constants 1.1 added: limits, which may grow but never shrink ---- */

_Static_assert(SLUICE_META_MAX >= 32u, "meta key count never shrinks");
_Static_assert(SLUICE_META_KEY_MAX >= 64u, "meta key size never shrinks");
_Static_assert(SLUICE_META_VALUE_MAX >= 1024u, "meta value size never shrinks");

/* ---- the same facts as data, for the run-time comparison ---- */

const abi_field *ABI_LAYOUT_1_1_FN(size_t *n)
{
    static const abi_field fields[] = {
        ABI_ROW(sluice_host, exec_body),
        ABI_ROW(sluice_host, exec_set_meta),
        {"end of sluice_host v1.1", ABI_HOST_V1_1_END, 0},
    };
    *n = sizeof(fields) / sizeof(fields[0]);
    return fields;
}

const long *ABI_CONSTANTS_1_1_FN(size_t *n)
{
    static const long values[] = {
        (long)SLUICE_META_MAX,
        (long)SLUICE_META_KEY_MAX,
        (long)SLUICE_META_VALUE_MAX,
    };
    *n = sizeof(values) / sizeof(values[0]);
    return values;
}
