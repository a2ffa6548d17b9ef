/* Buffered reading of enclave frames (common/frame.h) from a blocking socket: one recv(2) may
 * bring many frames, and each is handed out in place, without a copy. Used by the parent's
 * enclave pool and host-channel server and by the enclave's host-channel client. */
#ifndef NSL_COMMON_FRAME_STREAM_H
#define NSL_COMMON_FRAME_STREAM_H

#include <stddef.h>

#include "common/buf.h"

struct nsl_frame_stream {
    int fd;
    size_t max_frame;
    struct nsl_buf buf;
    size_t pos;  /* start of the unread bytes in buf */
    size_t skip; /* bytes of the frame handed out last, dropped on the next call */
};

void nsl_frame_stream_init(struct nsl_frame_stream *s, int fd, size_t max_frame);
/* Blocks for the next frame; *payload stays valid until the next call. Returns 0, or -1 with
 * errno: EPROTO (zero or oversize length), ECONNRESET (end of stream) or the recv error. */
int nsl_frame_stream_next(struct nsl_frame_stream *s, const char **payload, size_t *len);
void nsl_frame_stream_free(struct nsl_frame_stream *s);

#endif
