/*
 * base64.c - standard base64 on Nettle's codec.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#include "kit/base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>

char *kit_base64_encode(const unsigned char *data, size_t len)
{
    char *out;

    if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
        return NULL;
    out = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
    if (!out)
        return NULL;
    base64_encode_raw(out, len, data);
    out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
    return out;
}

int kit_base64_decode(const char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
    static const char pads[] = "==";
    struct base64_decode_ctx ctx;
    unsigned char *buf;
    size_t n, m, npad;

    for (int pad = 0; pad < 2 && inlen > 0 && in[inlen - 1] == '='; pad++)
        inlen--;
    if (inlen % 4 == 1)
        return -1;
    /* Nettle skips whitespace and reads '=' as padding anywhere; the callers'
     * inputs (an event field, a key, one known_hosts field) have neither. */
    for (size_t i = 0; i < inlen; i++) {
        unsigned char c = (unsigned char)in[i];

        if (c == '=' || c == ' ' || (c >= '\t' && c <= '\r'))
            return -1;
    }
    buf = malloc(BASE64_DECODE_LENGTH(inlen) + 1);
    if (!buf)
        return -2;
    npad = (4 - inlen % 4) % 4;
    base64_decode_init(&ctx);
    n = BASE64_DECODE_LENGTH(inlen);
    if (!base64_decode_update(&ctx, &n, buf, inlen, in))
        goto bad;
    m = 0; /* the padding decodes to no bytes, it only completes the group */
    if (npad > 0 && !base64_decode_update(&ctx, &m, buf + n, npad, pads))
        goto bad;
    if (!base64_decode_final(&ctx))
        goto bad;
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
bad:
    free(buf);
    return -1;
}
