/*
 * abi_rules.h - the rules of <sluice/plugin.h> that a host enforces, written
 * once: sluiced's loader and host table, and the SDK's mock host
 * (libsluice-mock.a), compile this same file, so a plugin that passes its
 * mock tests is not refused by sluiced. Internal: not installed, no ABI.
 */
#ifndef SLUICE_ABI_RULES_H
#define SLUICE_ABI_RULES_H

#include <stddef.h>

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

#endif
