/* Buffered frame reader (see frame_stream.h). */
#include "common/frame_stream.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "common/frame.h"

#define READ_CHUNK 65536

void nsl_frame_stream_init(struct nsl_frame_stream *s, int fd, size_t max_frame)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->max_frame = max_frame;
}

/* Moves unread bytes to the front so that the buffer never grows beyond one frame + a chunk. */
static void compact(struct nsl_frame_stream *s)
{
    if (s->pos == 0)
        return;
    memmove(s->buf.data, s->buf.data + s->pos, s->buf.len - s->pos);
    s->buf.len -= s->pos;
    s->pos = 0;
}

static int fill(struct nsl_frame_stream *s)
{
    compact(s);
    if (nsl_buf_reserve(&s->buf, READ_CHUNK) != 0) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        ssize_t n = recv(s->fd, s->buf.data + s->buf.len, s->buf.cap - s->buf.len, 0);
        if (n > 0) {
            s->buf.len += (size_t)n;
            return 0;
        }
        if (n == 0) {
            errno = ECONNRESET;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

int nsl_frame_stream_next(struct nsl_frame_stream *s, const char **payload, size_t *len)
{
    s->pos += s->skip;
    s->skip = 0;
    for (;;) {
        size_t n = 0;
        const uint8_t *at = s->buf.data ? s->buf.data + s->pos : NULL;
        switch (nsl_frame_peek(at, s->buf.len - s->pos, s->max_frame, &n)) {
        case NSL_FRAME_READY:
            *payload = (const char *)at + NSL_FRAME_HEADER_LEN;
            *len = n;
            s->skip = NSL_FRAME_HEADER_LEN + n;
            return 0;
        case NSL_FRAME_INVALID:
            errno = EPROTO;
            return -1;
        case NSL_FRAME_NEED_MORE:
            if (fill(s) != 0)
                return -1;
            break;
        }
    }
}

void nsl_frame_stream_free(struct nsl_frame_stream *s)
{
    nsl_buf_free(&s->buf);
    s->pos = s->skip = 0;
}
