/*
 * layout_v1_0.h - compile-time checks of the ABI v1.0 layout.
 *
 * Included after some <sluice/plugin.h> (the frozen v1.0 copy or the
 * current one) by layout_frozen.c and layout_current.c. Whatever a later
 * 1.x minor appends, every check here must keep holding for the current
 * header; a failure means a published field moved, changed type or
 * changed meaning, which needs a new major (and a new entry symbol).
 *
 * Three kinds of checks:
 *   - the type of every field, exactly (_Generic), so a changed parameter
 *     list fails even if the size does not change;
 *   - generically, that every field sits right after the one before it
 *     with only the padding its alignment requires (offsetof arithmetic),
 *     so the struct has no holes and no reordering on any ABI;
 *   - on x86-64 (and the other LP64 and ILP32 Linux ABIs), the literal
 *     offsets, written down by hand once and never recomputed.
 *
 * When a minor appends fields, add a layout_v1_N.h with the same checks for
 * the new fields and a frozen/v1.N copy of that header; never edit this file
 * except to add checks.
 */
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#define ABI_ALIGN_UP(x, a) ((((x) + (a)-1) / (a)) * (a))
#define ABI_MSIZE(T, f) sizeof(((T *)0)->f)
#define ABI_END(T, f) (offsetof(T, f) + ABI_MSIZE(T, f))

#define ABI_TYPE(T, f, type) \
    _Static_assert(_Generic(((T *)0)->f, type : 1, default : 0), #T "." #f " has type " #type)
#define ABI_FIRST(T, f, type) \
    ABI_TYPE(T, f, type);     \
    _Static_assert(offsetof(T, f) == 0, #T "." #f " is the first field")
#define ABI_NEXT(T, prev, f, type)                                                   \
    ABI_TYPE(T, f, type);                                                            \
    _Static_assert(offsetof(T, f) == ABI_ALIGN_UP(ABI_END(T, prev), _Alignof(type)), \
                   #T "." #f " directly follows " #prev)

/* ---- sluice_plugin v1.0: every field, its type, its place ---- */

ABI_FIRST(sluice_plugin, abi_major, uint32_t);
ABI_NEXT(sluice_plugin, abi_major, abi_minor, uint32_t);
ABI_NEXT(sluice_plugin, abi_minor, struct_size, uint32_t);
ABI_NEXT(sluice_plugin, struct_size, flags, uint32_t);
ABI_NEXT(sluice_plugin, flags, name, const char *);
ABI_NEXT(sluice_plugin, name, version, const char *);
ABI_NEXT(sluice_plugin, version, description, const char *);
ABI_NEXT(sluice_plugin, description, license, const char *);
ABI_NEXT(sluice_plugin, license, init, int (*)(const sluice_host *, void **, char *, size_t));
ABI_NEXT(sluice_plugin, init, destroy, void (*)(void *));
ABI_NEXT(sluice_plugin, destroy, configure,
         int (*)(void *, const char *, size_t, const char *, void **, char *, size_t));
ABI_NEXT(sluice_plugin, configure, unconfigure, void (*)(void *));
ABI_NEXT(sluice_plugin, unconfigure, execute, int (*)(void *, sluice_exec *));
ABI_NEXT(sluice_plugin, execute, cancel, void (*)(void *, sluice_exec *));
#define ABI_PLUGIN_V1_0_END ABI_END(sluice_plugin, cancel)

/* ---- sluice_host v1.0 ---- */

ABI_FIRST(sluice_host, abi_major, uint32_t);
ABI_NEXT(sluice_host, abi_major, abi_minor, uint32_t);
ABI_NEXT(sluice_host, abi_minor, struct_size, uint32_t);
ABI_NEXT(sluice_host, struct_size, reserved0, uint32_t);
ABI_NEXT(sluice_host, reserved0, log,
         void (*)(const sluice_host *, const sluice_exec *, int, const char *, ...));
ABI_NEXT(sluice_host, log, exec_event, const char *(*)(const sluice_exec *, size_t *));
ABI_NEXT(sluice_host, exec_event, exec_header, const char *(*)(const sluice_exec *, const char *));
ABI_NEXT(sluice_host, exec_header, exec_meta, const char *(*)(const sluice_exec *, const char *));
ABI_NEXT(sluice_host, exec_meta, exec_set_output, int (*)(sluice_exec *, const char *, size_t));
ABI_NEXT(sluice_host, exec_set_output, exec_set_error, int (*)(sluice_exec *, const char *));
ABI_NEXT(sluice_host, exec_set_error, exec_set_exit_code, int (*)(sluice_exec *, int));
ABI_NEXT(sluice_host, exec_set_exit_code, exec_write_log,
         int (*)(sluice_exec *, int, const char *, size_t));
ABI_NEXT(sluice_host, exec_write_log, exec_is_cancelled, int (*)(const sluice_exec *));
ABI_NEXT(sluice_host, exec_is_cancelled, exec_complete, void (*)(sluice_exec *, int));
ABI_NEXT(sluice_host, exec_complete, exec_set_response,
         int (*)(sluice_exec *, int, const char *, const char *, size_t));
#define ABI_HOST_V1_0_END ABI_END(sluice_host, exec_set_response)

/* Later minors may only append: the structs are at least the v1.0 size. */
_Static_assert(sizeof(sluice_plugin) >= ABI_PLUGIN_V1_0_END, "sluice_plugin only grows");
_Static_assert(sizeof(sluice_host) >= ABI_HOST_V1_0_END, "sluice_host only grows");
#if SLUICE_ABI_MINOR == 0
/* In v1.0 itself the structs end with the last v1.0 field. */
_Static_assert(sizeof(sluice_plugin) == ABI_ALIGN_UP(ABI_PLUGIN_V1_0_END, _Alignof(sluice_plugin)),
               "sluice_plugin v1.0 has no trailing fields");
_Static_assert(sizeof(sluice_host) == ABI_ALIGN_UP(ABI_HOST_V1_0_END, _Alignof(sluice_host)),
               "sluice_host v1.0 has no trailing fields");
#endif

/* ---- literal offsets, written down once ---- */

#define ABI_AT(T, f, off) _Static_assert(offsetof(T, f) == (off), #T "." #f " is at " #off)

#if (defined(__x86_64__) && defined(__LP64__)) || defined(__aarch64__) || \
    (defined(__riscv) && __riscv_xlen == 64) || defined(__powerpc64__) || defined(__s390x__)
/* x86-64 SysV and the other LP64 ABIs: 4-byte uint32_t, 8-byte pointers. */
ABI_AT(sluice_plugin, abi_major, 0);
ABI_AT(sluice_plugin, abi_minor, 4);
ABI_AT(sluice_plugin, struct_size, 8);
ABI_AT(sluice_plugin, flags, 12);
ABI_AT(sluice_plugin, name, 16);
ABI_AT(sluice_plugin, version, 24);
ABI_AT(sluice_plugin, description, 32);
ABI_AT(sluice_plugin, license, 40);
ABI_AT(sluice_plugin, init, 48);
ABI_AT(sluice_plugin, destroy, 56);
ABI_AT(sluice_plugin, configure, 64);
ABI_AT(sluice_plugin, unconfigure, 72);
ABI_AT(sluice_plugin, execute, 80);
ABI_AT(sluice_plugin, cancel, 88);
_Static_assert(ABI_PLUGIN_V1_0_END == 96, "sluice_plugin v1.0 is 96 bytes on LP64");

ABI_AT(sluice_host, abi_major, 0);
ABI_AT(sluice_host, abi_minor, 4);
ABI_AT(sluice_host, struct_size, 8);
ABI_AT(sluice_host, reserved0, 12);
ABI_AT(sluice_host, log, 16);
ABI_AT(sluice_host, exec_event, 24);
ABI_AT(sluice_host, exec_header, 32);
ABI_AT(sluice_host, exec_meta, 40);
ABI_AT(sluice_host, exec_set_output, 48);
ABI_AT(sluice_host, exec_set_error, 56);
ABI_AT(sluice_host, exec_set_exit_code, 64);
ABI_AT(sluice_host, exec_write_log, 72);
ABI_AT(sluice_host, exec_is_cancelled, 80);
ABI_AT(sluice_host, exec_complete, 88);
ABI_AT(sluice_host, exec_set_response, 96);
_Static_assert(ABI_HOST_V1_0_END == 104, "sluice_host v1.0 is 104 bytes on LP64");
#elif defined(__i386__) || (defined(__x86_64__) && defined(__ILP32__)) || defined(__arm__)
/* i386, x32 and 32-bit ARM: 4-byte pointers. */
ABI_AT(sluice_plugin, name, 16);
ABI_AT(sluice_plugin, license, 28);
ABI_AT(sluice_plugin, init, 32);
ABI_AT(sluice_plugin, cancel, 52);
_Static_assert(ABI_PLUGIN_V1_0_END == 56, "sluice_plugin v1.0 is 56 bytes on ILP32");
ABI_AT(sluice_host, log, 16);
ABI_AT(sluice_host, exec_set_response, 56);
_Static_assert(ABI_HOST_V1_0_END == 60, "sluice_host v1.0 is 60 bytes on ILP32");
#endif

/* ---- constants: the values plugins compiled against v1.0 carry ---- */

_Static_assert(SLUICE_ABI_MAJOR == 1, "this file describes ABI major 1");
_Static_assert(SLUICE_ABI_MINOR >= 0, "minors count up from 0");
_Static_assert(SLUICE_OK == 0 && SLUICE_ERR == -1 && SLUICE_PENDING == 1, "execute results");
_Static_assert(SLUICE_LOG_ERROR == 0 && SLUICE_LOG_WARN == 1 && SLUICE_LOG_INFO == 2 &&
                   SLUICE_LOG_DEBUG == 3,
               "log levels");
_Static_assert(SLUICE_STDOUT == 1 && SLUICE_STDERR == 2, "log streams");
_Static_assert(SLUICE_CANCEL_NONE == 0 && SLUICE_CANCEL_REQUEST == 1 &&
                   SLUICE_CANCEL_TIMEOUT == 2 && SLUICE_CANCEL_SHUTDOWN == 3,
               "cancel reasons");
_Static_assert(SLUICE_PF_REENTRANT == 0x1u, "plugin flags");
/* Limits may grow in a minor (a plugin that respects the old ones still
 * does) but never shrink. */
_Static_assert(SLUICE_MAX_OUTPUT >= 1024u * 1024u, "outputs limit never shrinks");
_Static_assert(SLUICE_MAX_ERROR >= 4096u, "error limit never shrinks");
_Static_assert(SLUICE_LOG_KEEP >= 32u * 1024u, "log keep never shrinks");

/* ---- the same facts as data, for the run-time comparison ---- */

#define ABI_ROW(T, f)                              \
    {                                              \
#T "." #f, offsetof(T, f), ABI_MSIZE(T, f) \
    }

const abi_field *ABI_LAYOUT_FN(size_t *n)
{
    static const abi_field fields[] = {
        ABI_ROW(sluice_plugin, abi_major),
        ABI_ROW(sluice_plugin, abi_minor),
        ABI_ROW(sluice_plugin, struct_size),
        ABI_ROW(sluice_plugin, flags),
        ABI_ROW(sluice_plugin, name),
        ABI_ROW(sluice_plugin, version),
        ABI_ROW(sluice_plugin, description),
        ABI_ROW(sluice_plugin, license),
        ABI_ROW(sluice_plugin, init),
        ABI_ROW(sluice_plugin, destroy),
        ABI_ROW(sluice_plugin, configure),
        ABI_ROW(sluice_plugin, unconfigure),
        ABI_ROW(sluice_plugin, execute),
        ABI_ROW(sluice_plugin, cancel),
        {"end of sluice_plugin v1.0", ABI_PLUGIN_V1_0_END, 0},
        ABI_ROW(sluice_host, abi_major),
        ABI_ROW(sluice_host, abi_minor),
        ABI_ROW(sluice_host, struct_size),
        ABI_ROW(sluice_host, reserved0),
        ABI_ROW(sluice_host, log),
        ABI_ROW(sluice_host, exec_event),
        ABI_ROW(sluice_host, exec_header),
        ABI_ROW(sluice_host, exec_meta),
        ABI_ROW(sluice_host, exec_set_output),
        ABI_ROW(sluice_host, exec_set_error),
        ABI_ROW(sluice_host, exec_set_exit_code),
        ABI_ROW(sluice_host, exec_write_log),
        ABI_ROW(sluice_host, exec_is_cancelled),
        ABI_ROW(sluice_host, exec_complete),
        ABI_ROW(sluice_host, exec_set_response),
        {"end of sluice_host v1.0", ABI_HOST_V1_0_END, 0},
    };
    *n = sizeof(fields) / sizeof(fields[0]);
    return fields;
}

/* Exact values first, then the three limits (which may only grow). */
const long *ABI_CONSTANTS_FN(size_t *n)
{
    static const long values[] = {
        SLUICE_ABI_MAJOR,
        SLUICE_OK,
        SLUICE_ERR,
        SLUICE_PENDING,
        SLUICE_LOG_ERROR,
        SLUICE_LOG_WARN,
        SLUICE_LOG_INFO,
        SLUICE_LOG_DEBUG,
        SLUICE_STDOUT,
        SLUICE_STDERR,
        SLUICE_CANCEL_NONE,
        SLUICE_CANCEL_REQUEST,
        SLUICE_CANCEL_TIMEOUT,
        SLUICE_CANCEL_SHUTDOWN,
        (long)SLUICE_PF_REENTRANT,
        (long)SLUICE_MAX_OUTPUT,
        (long)SLUICE_MAX_ERROR,
        (long)SLUICE_LOG_KEEP,
    };
    *n = sizeof(values) / sizeof(values[0]);
    return values;
}
