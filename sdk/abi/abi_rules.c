/*
 * abi_rules.c - the host side of <sluice/plugin.h>'s rules (see abi_rules.h).
 */
#include "abi_rules.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
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

static const char *const host_meta_names[ABI_RULES_META_COUNT] = {
    [ABI_RULES_META_EXECUTION_ID] = "execution_id",
    [ABI_RULES_META_REQUEST_ID] = "request_id",
    [ABI_RULES_META_FLOW] = "flow",
    [ABI_RULES_META_FLOW_ID] = "flow_id",
    [ABI_RULES_META_NAMESPACE] = "namespace",
    [ABI_RULES_META_TRIGGER] = "trigger",
    [ABI_RULES_META_FUNCTION] = "function",
    [ABI_RULES_META_ATTEMPT] = "attempt",
    [ABI_RULES_META_TIMEOUT_MS] = "timeout_ms",
    [ABI_RULES_META_MODE] = "mode",
    [ABI_RULES_META_RESPOND_WITH] = "respond_with",
};

abi_rules_host_meta abi_rules_host_meta_find(const char *key)
{
    if (key)
        for (int k = 0; k < ABI_RULES_META_COUNT; k++)
            if (strcmp(host_meta_names[k], key) == 0)
                return (abi_rules_host_meta)k;
    return ABI_RULES_META_NONE;
}

const char *abi_rules_host_meta_name(abi_rules_host_meta k)
{
    return k >= 0 && k < ABI_RULES_META_COUNT ? host_meta_names[k] : NULL;
}

char *abi_rules_error_text(const char *message)
{
    if (!message)
        message = "(no message)";
    size_t n = strnlen(message, SLUICE_MAX_ERROR - 1);
    /* Never cut inside a UTF-8 character... */
    if (message[n] != '\0')
        while (n > 0 && ((unsigned char)message[n] & 0xc0) == 0x80)
            n--;
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, message, n);
    copy[n] = '\0';
    /* ...and keep the text UTF-8, as exec_to_json does for logs: bytes of
     * a bad sequence become '?'. */
    json_t *valid = json_stringn(copy, n);
    if (!valid)
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)copy[i] >= 0x80)
                copy[i] = '?';
    json_decref(valid);
    return copy;
}

int abi_rules_log_append(abi_rules_log *b, const char *data, size_t len)
{
    const size_t keep = SLUICE_LOG_KEEP;
    if (len == 0)
        return 0;
    /* Allocate first, so a failure leaves b as it was. */
    if (!b->head && !(b->head = malloc(keep)))
        return -1;
    if (len > keep - b->head_len && !b->tail && !(b->tail = malloc(keep)))
        return -1;
    b->total += len;
    if (b->head_len < keep) {
        size_t n = keep - b->head_len < len ? keep - b->head_len : len;
        memcpy(b->head + b->head_len, data, n);
        b->head_len += n;
        data += n;
        len -= n;
    }
    if (len == 0)
        return 0;
    if (len >= keep) {
        memcpy(b->tail, data + len - keep, keep);
        b->tail_pos = 0;
        b->tail_len = keep;
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        b->tail[b->tail_pos] = data[i];
        b->tail_pos = (b->tail_pos + 1) % keep;
    }
    b->tail_len = b->tail_len + len > keep ? keep : b->tail_len + len;
    return 0;
}

static size_t log_marker(const abi_rules_log *b, char *marker, size_t size)
{
    uint64_t dropped = b->total - b->head_len - b->tail_len;
    marker[0] = '\0';
    if (dropped)
        snprintf(marker, size, "\n[... %llu bytes dropped ...]\n", (unsigned long long)dropped);
    return strlen(marker);
}

size_t abi_rules_log_render_size(const abi_rules_log *b)
{
    char marker[96];
    return b->head_len + log_marker(b, marker, sizeof(marker)) + b->tail_len + 1;
}

size_t abi_rules_log_render(const abi_rules_log *b, char *out)
{
    const size_t keep = SLUICE_LOG_KEEP;
    char marker[96];
    size_t mlen = log_marker(b, marker, sizeof(marker));
    size_t o = b->head_len;
    if (b->head_len)
        memcpy(out, b->head, b->head_len);
    memcpy(out + o, marker, mlen);
    o += mlen;
    /* The ring's oldest byte is at tail_pos once it has wrapped. */
    size_t start = b->tail_len == keep ? b->tail_pos : 0;
    for (size_t i = 0; i < b->tail_len; i++)
        out[o++] = b->tail[(start + i) % keep];
    out[o] = '\0';
    return o;
}
