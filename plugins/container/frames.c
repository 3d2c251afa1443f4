/*
 * frames.c - split the Engine API's multiplexed stream into stdout/stderr.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#include "frames.h"

#include <string.h>

#include <sluice/plugin.h>

void ctr_frames_init(struct ctr_frames *f, ctr_frames_emit emit, void *ctx)
{
    memset(f, 0, sizeof(*f));
    f->emit = emit;
    f->ctx = ctx;
}

/* A header is a stream type 0-2 and three zero bytes; anything else is raw. */
static int ctr_frames_header_ok(const unsigned char *h)
{
    return h[0] <= 2 && h[1] == 0 && h[2] == 0 && h[3] == 0;
}

void ctr_frames_feed(struct ctr_frames *f, const char *data, size_t len)
{
    if (len > 0 && !f->started) {
        f->started = 1;
        /* Only the first byte can be judged before a whole header arrives. */
        f->raw = (unsigned char)data[0] > 2;
    }
    while (len > 0) {
        if (f->raw) {
            f->emit(f->ctx, SLUICE_STDOUT, data, len);
            return;
        }
        if (f->remain > 0) {
            size_t n = len < f->remain ? len : f->remain;

            f->emit(f->ctx, f->stream, data, n);
            f->remain -= (uint32_t)n;
            data += n;
            len -= n;
            continue;
        }
        size_t need = sizeof(f->hdr) - f->hdr_have;
        size_t n = len < need ? len : need;

        memcpy(f->hdr + f->hdr_have, data, n);
        f->hdr_have += n;
        data += n;
        len -= n;
        if (f->hdr_have < sizeof(f->hdr))
            return;
        f->hdr_have = 0;
        if (!ctr_frames_header_ok(f->hdr)) {
            /* Not a frame after all: hand over what was taken for one. */
            f->raw = 1;
            f->emit(f->ctx, SLUICE_STDOUT, (const char *)f->hdr, sizeof(f->hdr));
            continue;
        }
        f->stream = f->hdr[0] == 2 ? SLUICE_STDERR : SLUICE_STDOUT;
        f->remain = (uint32_t)f->hdr[4] << 24 | (uint32_t)f->hdr[5] << 16 |
                    (uint32_t)f->hdr[6] << 8 | (uint32_t)f->hdr[7];
    }
}

int ctr_frames_partial(const struct ctr_frames *f)
{
    return !f->raw && (f->remain > 0 || f->hdr_have > 0);
}
