/*
 * abi_rules.c - the host side of <sluice/plugin.h>'s rules (see abi_rules.h).
 */
#include "abi_rules.h"

#include <stdio.h>
#include <string.h>

int abi_rules_descriptor(const sluice_plugin *d, char *why, size_t whylen)
{
    if (d->abi_major != SLUICE_ABI_MAJOR) {
        snprintf(why, whylen, "built for ABI %u.%u, this sluiced speaks ABI %u", d->abi_major,
                 d->abi_minor, SLUICE_ABI_MAJOR);
        return -1;
    }
    if (d->abi_minor > SLUICE_ABI_MINOR) {
        snprintf(why, whylen,
                 "built for ABI %u.%u, newer than this sluiced's %u.%u; upgrade sluiced",
                 d->abi_major, d->abi_minor, SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
        return -1;
    }
    if (d->struct_size < ABI_RULES_V1_0_SIZE) {
        snprintf(why, whylen, "descriptor size %u is smaller than the v1.0 size %zu",
                 d->struct_size, (size_t)ABI_RULES_V1_0_SIZE);
        return -1;
    }
    if (d->struct_size > ABI_RULES_MAX_SIZE) {
        snprintf(why, whylen, "descriptor size %u is implausible", d->struct_size);
        return -1;
    }
    /* A larger descriptor from the same minor can only carry fields this
     * host does not know; they must be zero, or the plugin expects
     * something the host lacks. */
    if (d->struct_size > sizeof(sluice_plugin)) {
        const unsigned char *tail = (const unsigned char *)d + sizeof(sluice_plugin);
        for (size_t i = 0; i < d->struct_size - sizeof(sluice_plugin); i++)
            if (tail[i]) {
                snprintf(why, whylen,
                         "descriptor size %u is larger than this sluiced's %zu and the extra "
                         "fields are set",
                         d->struct_size, sizeof(sluice_plugin));
                return -1;
            }
    }
    return 0;
}

const char *abi_rules_missing_callback(const sluice_plugin *d)
{
    return !d->configure     ? "configure"
           : !d->unconfigure ? "unconfigure"
           : !d->execute     ? "execute"
                             : NULL;
}

int abi_rules_meta_key_ok(const char *key)
{
    size_t n = strnlen(key, SLUICE_META_KEY_MAX + 1);
    if (n == 0 || n > SLUICE_META_KEY_MAX || !strchr(key, '.') || key[0] == '.' || key[0] == '_' ||
        key[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}
