/*
 * abi_rules.h - the rules of <sluice/plugin.h> that a host enforces, written
 * once: sluiced's loader and host table, and the SDK's mock host
 * (libsluice-mock.a), compile this same file, so a plugin that passes its
 * mock tests is not refused by sluiced. Internal: not installed, no ABI.
 */
#ifndef SLUICE_ABI_RULES_H
#define SLUICE_ABI_RULES_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/plugin.h>

/* The size of the v1.0 descriptor: a plugin may not be smaller. */
#define ABI_RULES_V1_0_SIZE (offsetof(sluice_plugin, cancel) + sizeof(void (*)(void)))
/* A descriptor claiming more than this is certainly corrupt. */
#define ABI_RULES_MAX_SIZE 4096u

/*
 * The descriptor's frame, in this order: ABI major, minor, struct_size (at
 * least v1.0's, at most ABI_RULES_MAX_SIZE) and, when it is larger than
 * this host's, extra fields all zero. Reads only the three leading fields
 * and the bytes struct_size says exist. Returns 0, or -1 with the reason
 * (without the plugin's name) in why.
 */
int abi_rules_descriptor(const sluice_plugin *d, char *why, size_t whylen);

/* The first mandatory callback d lacks ("configure", ...), or NULL. */
const char *abi_rules_missing_callback(const sluice_plugin *d);

/* exec_set_meta's key rule: [a-z0-9][a-z0-9._-]*, holding a '.', at most
 * SLUICE_META_KEY_MAX bytes. */
int abi_rules_meta_key_ok(const char *key);

/* The keys exec_meta answers from the host's own facts. None holds a '.',
 * so no exec_set_meta key is ever one of them. */
typedef enum abi_rules_host_meta {
    ABI_RULES_META_NONE = -1, /* not a host key */
    ABI_RULES_META_EXECUTION_ID,
    ABI_RULES_META_REQUEST_ID,
    ABI_RULES_META_FLOW,
    ABI_RULES_META_FLOW_ID,
    ABI_RULES_META_NAMESPACE,
    ABI_RULES_META_TRIGGER,
    ABI_RULES_META_FUNCTION,
    ABI_RULES_META_ATTEMPT,
    ABI_RULES_META_TIMEOUT_MS,
    ABI_RULES_META_MODE,
    ABI_RULES_META_RESPOND_WITH,
    ABI_RULES_META_COUNT
} abi_rules_host_meta;

/* The host key named key, or ABI_RULES_META_NONE (also for NULL). */
abi_rules_host_meta abi_rules_host_meta_find(const char *key);
/* The name of host key k (0 <= k < ABI_RULES_META_COUNT). */
const char *abi_rules_host_meta_name(abi_rules_host_meta k);

/*
 * The text exec_set_error keeps (malloc'd; NULL when out of memory): NULL
 * becomes "(no message)", longer text is cut to SLUICE_MAX_ERROR - 1 bytes
 * but never inside a UTF-8 character, and text that is still not UTF-8 has
 * every byte of 0x80 and above replaced by '?' (it goes into JSON
 * documents).
 */
char *abi_rules_error_text(const char *message);

/*
 * One log stream as exec_write_log keeps it: the first SLUICE_LOG_KEEP
 * bytes in head, the last SLUICE_LOG_KEEP in the ring tail; the middle is
 * only counted. Zero-initialised is empty; free head and tail when done.
 */
typedef struct abi_rules_log {
    char *head;
    size_t head_len;
    char *tail; /* ring buffer of SLUICE_LOG_KEEP bytes */
    size_t tail_pos, tail_len;
    uint64_t total;
} abi_rules_log;

/* Keep len bytes of data. Returns 0, or -1 when a buffer could not be
 * allocated (then nothing of data is kept or counted). */
int abi_rules_log_append(abi_rules_log *b, const char *data, size_t len);
/* The bytes abi_rules_log_render writes, the NUL included. */
size_t abi_rules_log_render_size(const abi_rules_log *b);
/* Write the kept text into out (abi_rules_log_render_size bytes), with a
 * marker where bytes were dropped, and a NUL; returns its length. */
size_t abi_rules_log_render(const abi_rules_log *b, char *out);

#endif
