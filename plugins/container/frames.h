/*
 * frames.h - split the Engine API's multiplexed stream into stdout/stderr.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Without a TTY, the logs and attach endpoints send stdout and stderr on
 * one stream as frames: an 8-byte header (stream type 0/1/2, three zero
 * bytes, a big-endian 32-bit length) followed by that many bytes. Frames
 * arrive cut anywhere by the transport, so the splitter is a small state
 * machine fed chunk by chunk. A stream whose first header is not one of
 * these (an engine or container that uses a TTY) is passed on as stdout.
 */
#ifndef CTR_FRAMES_H
#define CTR_FRAMES_H

#include <stddef.h>
#include <stdint.h>

typedef void (*ctr_frames_emit)(void *ctx, int stream, const char *data, size_t len);

struct ctr_frames {
    unsigned char hdr[8];
    size_t hdr_have;
    int stream;      /* SLUICE_STDOUT or SLUICE_STDERR of the current frame */
    uint32_t remain; /* payload bytes left in the current frame */
    int raw;         /* not multiplexed: everything is stdout */
    int started;
    ctr_frames_emit emit;
    void *ctx;
};

void ctr_frames_init(struct ctr_frames *f, ctr_frames_emit emit, void *ctx);

/* Feed the next len bytes of the stream; calls emit for each payload piece. */
void ctr_frames_feed(struct ctr_frames *f, const char *data, size_t len);

/* Nonzero when the stream ended inside a frame (the engine cut it short). */
int ctr_frames_partial(const struct ctr_frames *f);

#endif /* CTR_FRAMES_H */
