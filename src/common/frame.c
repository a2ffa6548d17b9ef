/* Frame decoding and blocking frame I/O (see frame.h). */
#include "common/frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum nsl_frame_status nsl_frame_peek(const uint8_t *data, size_t len, size_t max,
                                     size_t *payload_len)
{
    if (len < NSL_FRAME_HEADER_LEN)
        return NSL_FRAME_NEED_MORE;
    uint32_t n = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 |
                 (uint32_t)data[3];
    if (n == 0 || n > max)
        return NSL_FRAME_INVALID;
    *payload_len = n;
    return len - NSL_FRAME_HEADER_LEN >= n ? NSL_FRAME_READY : NSL_FRAME_NEED_MORE;
}

int nsl_frame_append(struct nsl_buf *out, const void *payload, size_t len)
{
    if (len == 0 || len > UINT32_MAX)
        return -1;
    if (nsl_buf_reserve(out, len + NSL_FRAME_HEADER_LEN) != 0)
        return -1;
    nsl_buf_append_u32be(out, (uint32_t)len);
    return nsl_buf_append(out, payload, len);
}

long nsl_frame_begin(struct nsl_buf *out)
{
    size_t start = out->len;
    return nsl_buf_append_u32be(out, 0) == 0 ? (long)start : -1;
}

int nsl_frame_end(struct nsl_buf *out, size_t start)
{
    size_t len = out->len - start - NSL_FRAME_HEADER_LEN;
    if (len == 0 || len > UINT32_MAX) {
        out->len = start;
        return -1;
    }
    uint8_t *header = out->data + start;
    header[0] = (uint8_t)(len >> 24);
    header[1] = (uint8_t)(len >> 16);
    header[2] = (uint8_t)(len >> 8);
    header[3] = (uint8_t)len;
    return 0;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                poll(&pfd, 1, 1000);
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int nsl_frame_send(int fd, const void *payload, size_t len)
{
    if (len == 0 || len > UINT32_MAX) {
        errno = EINVAL;
        return -1;
    }
    uint8_t header[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                         (uint8_t)len};
    /* One send for small frames: fewer packets, which vsock prefers (NITRO.md). */
    if (len <= 4096) {
        uint8_t one[4 + 4096];
        memcpy(one, header, 4);
        memcpy(one + 4, payload, len);
        return send_all(fd, one, len + 4);
    }
    if (send_all(fd, header, 4) != 0)
        return -1;
    return send_all(fd, payload, len);
}

static int recv_exact(int fd, uint8_t *p, size_t len, int timeout_ms)
{
    while (len) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, timeout_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = ECONNRESET;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int nsl_frame_recv(int fd, size_t max, int timeout_ms, char **payload, size_t *len)
{
    uint8_t header[4];
    size_t n;
    if (recv_exact(fd, header, 4, timeout_ms) != 0)
        return -1;
    if (nsl_frame_peek(header, 4, max, &n) == NSL_FRAME_INVALID) {
        errno = EPROTO;
        return -1;
    }
    char *p = malloc(n + 1);
    if (!p)
        return -1;
    if (recv_exact(fd, (uint8_t *)p, n, timeout_ms) != 0) {
        int saved = errno;
        free(p);
        errno = saved;
        return -1;
    }
    p[n] = 0;
    *payload = p;
    *len = n;
    return 0;
}
