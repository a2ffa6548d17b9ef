/* Enclave wire framing (ARCHITECTURE §2): a 4-byte big-endian length N, then N bytes of JSON.
 * N = 0 or N > max is a protocol error. The decoder is incremental and never copies. */
#ifndef NSL_COMMON_FRAME_H
#define NSL_COMMON_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define NSL_FRAME_HEADER_LEN  4
#define NSL_FRAME_DEFAULT_MAX (1u << 20)

enum nsl_frame_status {
    NSL_FRAME_NEED_MORE, /* not a whole frame yet */
    NSL_FRAME_READY,     /* a whole frame: payload at data + 4, *payload_len bytes */
    NSL_FRAME_INVALID,   /* zero or oversize length: answer BAD_FRAME and close */
};

/* Looks at the start of data. A header is judged as soon as its 4 bytes are in, so an oversize
 * length is refused before any of its payload is read. */
enum nsl_frame_status nsl_frame_peek(const uint8_t *data, size_t len, size_t max,
                                     size_t *payload_len);

/* Appends header and payload to out. Returns 0, or -1 if len is 0 or too big for 32 bits. */
int nsl_frame_append(struct nsl_buf *out, const void *payload, size_t len);
/* A frame written in place: begin appends a header to be filled and returns where the frame
 * starts (or -1); the payload is then appended to out; end writes its length into the header.
 * end returns 0, or -1 (the frame is cut off out again) for an empty or too big payload. */
long nsl_frame_begin(struct nsl_buf *out);
int nsl_frame_end(struct nsl_buf *out, size_t start);

/* Blocking helpers for clients (parent pool, host channel, tests): send a whole frame; receive
 * one into a malloc'd, NUL-terminated payload. Return 0, or -1 with errno (EPROTO for a bad
 * length, ETIMEDOUT after timeout_ms without progress, ECONNRESET on EOF). */
int nsl_frame_send(int fd, const void *payload, size_t len);
int nsl_frame_recv(int fd, size_t max, int timeout_ms, char **payload, size_t *len);

#endif
