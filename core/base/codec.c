/*
 * codec.c - base64 and hex on Nettle (see codec.h).
 */
#include "codec.h"

#include <string.h>

#include <nettle/base16.h>
#include <nettle/base64.h>

/* Nettle skips whitespace inside the text; none of sluice's inputs (a
 * header value, a configured secret) may carry any. */
static int codec_has_space(const char *in, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || (c >= '\t' && c <= '\r'))
            return 1;
    }
    return 0;
}

int codec_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outcap,
                     size_t *outlen)
{
    static const char pads[] = "==";
    struct base64_decode_ctx ctx;
    size_t n, m = 0, want;

    while (inlen > 0 && in[inlen - 1] == '=')
        inlen--;
    if (inlen % 4 == 1 || codec_has_space(in, inlen) || memchr(in, '=', inlen))
        return -1;
    /* The exact length, so Nettle never writes past outcap. */
    want = inlen / 4 * 3 + (inlen % 4 ? inlen % 4 - 1 : 0);
    if (want > outcap)
        return -1;
    if (memchr(in, '-', inlen) || memchr(in, '_', inlen))
        base64url_decode_init(&ctx);
    else
        base64_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &n, out, inlen, in))
        return -1;
    /* Padding completes the last group; it decodes to no bytes. */
    if (inlen % 4 && !base64_decode_update(&ctx, &m, out + n, 4 - inlen % 4, pads))
        return -1;
    if (!base64_decode_final(&ctx) || n != want)
        return -1;
    *outlen = n;
    return 0;
}

void codec_b64url_encode(const unsigned char *in, size_t n, char *out)
{
    struct base64_encode_ctx ctx;
    size_t len;

    base64url_encode_init(&ctx);
    len = base64_encode_update(&ctx, out, n, in);
    len += base64_encode_final(&ctx, out + len);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = 0;
}

int codec_hex_decode(const char *in, size_t inlen, unsigned char *out, size_t outcap,
                     size_t *outlen)
{
    struct base16_decode_ctx ctx;
    size_t n;

    if (inlen % 2 || inlen / 2 > outcap || codec_has_space(in, inlen))
        return -1;
    base16_decode_init(&ctx);
    if (!base16_decode_update(&ctx, &n, out, inlen, in) || !base16_decode_final(&ctx) ||
        n != inlen / 2)
        return -1;
    *outlen = n;
    return 0;
}

void codec_hex_encode(const unsigned char *in, size_t n, char *out)
{
    base16_encode_update(out, n, in);
    out[2 * n] = 0;
}
