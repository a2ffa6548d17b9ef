/* Frames between the pool and a worker: one JSON object per common/frame frame. Messages:
 *   pool -> worker  {"type":"job"|"syntax", "source", "args"?, "limits"?, "seed"?}
 *                   (seed: 32 hex digits, Math.random's state for this job)
 *   worker -> pool  {"type":"call", "op":"secret"|"price"|"http"|"random", ...}
 *   pool -> worker  {"ok":true, "value"?} | {"ok":false, "code", "message"}
 *   worker -> pool  {"type":"done", "status", "message"?, "stack"?, "line"?, "result"?, "logs",
 *                    "memory_peak", "retire"?}
 * Everything the pool reads from a worker is untrusted (it runs user code) and is checked there.
 * Frames can carry secret values, so their text is wiped once parsed or sent.
 * Every invocation crosses here at least twice, so the I/O is lean: a frame is one sendmsg, and a
 * frame of up to 8 KiB one recv (after one poll when waiting with a deadline). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/frame.h"
#include "crypto/secret.h"
#include "sandbox/sandbox_internal.h"

uint64_t nsl_sandbox_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sends header and payload with one sendmsg (the rest again if it was cut short). */
static int send_frame(int fd, const char *text, size_t len)
{
    uint8_t header[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                         (uint8_t)len};
    struct iovec iov[2] = {{header, 4}, {(void *)text, len}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    while (m.msg_iovlen > 0) {
        ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        while (m.msg_iovlen > 0 && (size_t)n >= m.msg_iov->iov_len) {
            n -= (ssize_t)m.msg_iov->iov_len;
            m.msg_iov++;
            m.msg_iovlen--;
        }
        if (m.msg_iovlen > 0) {
            m.msg_iov->iov_base = (uint8_t *)m.msg_iov->iov_base + n;
            m.msg_iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

int nsl_sandbox_send(int fd, const json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    size_t len = strlen(text);
    int rc = len > NSL_SANDBOX_FRAME_MAX ? (errno = EMSGSIZE, -1) : send_frame(fd, text, len);
    int saved = errno;
    nsl_wipe(text, len);
    free(text);
    errno = saved;
    return rc;
}

/* Waits until fd is readable or the deadline (CLOCK_MONOTONIC ns) passes. */
static int wait_readable(int fd, uint64_t deadline_ns)
{
    for (;;) {
        uint64_t now = nsl_sandbox_now_ns();
        if (now >= deadline_ns) {
            errno = ETIMEDOUT;
            return -1;
        }
        uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int rc = poll(&pfd, 1, left_ms > INT32_MAX ? INT32_MAX : (int)left_ms);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* Reads up to cap bytes, at least one. Without a deadline (0) recv blocks; with one, what is
 * there is read at once and poll waits only when nothing is. */
static ssize_t read_some(int fd, void *p, size_t cap, uint64_t deadline_ns)
{
    for (;;) {
        ssize_t n = recv(fd, p, cap, deadline_ns ? MSG_DONTWAIT : 0);
        if (n > 0)
            return n;
        if (n == 0) {
            errno = ECONNRESET;
            return -1;
        }
        if (errno == EINTR)
            continue;
        if ((errno != EAGAIN && errno != EWOULDBLOCK) || !deadline_ns ||
            wait_readable(fd, deadline_ns) != 0)
            return -1;
    }
}

/* The payload of one frame, parsed. Messages strictly alternate (each side waits for the other's
 * answer), so bytes beyond the frame can only come from a peer speaking out of turn: EPROTO.
 * A small frame costs one recv; the first wait is a poll when there is a deadline (the answer
 * has just been asked for), else the blocking recv itself. */
static int recv_frame(int fd, uint64_t deadline_ns, json_t **msg)
{
    uint8_t first[8192];
    size_t have = 0, len = 0;
    char *big = NULL;
    int rc = deadline_ns ? wait_readable(fd, deadline_ns) : 0;
    while (rc == 0 && have < 4) {
        ssize_t n = read_some(fd, first + have, sizeof first - have, deadline_ns);
        rc = n < 0 ? -1 : 0;
        have += n > 0 ? (size_t)n : 0;
    }
    if (rc == 0 && (nsl_frame_peek(first, have, NSL_SANDBOX_FRAME_MAX, &len) == NSL_FRAME_INVALID ||
                    have > 4 + len))
        rc = (errno = EPROTO, -1);
    const char *text = (const char *)first + 4;
    if (rc == 0 && have < 4 + len) {
        size_t got = have - 4;
        big = malloc(len);
        rc = big ? 0 : (errno = ENOMEM, -1);
        if (big)
            memcpy(big, first + 4, got);
        while (rc == 0 && got < len) {
            ssize_t n = read_some(fd, big + got, len - got, deadline_ns);
            rc = n < 0 ? -1 : 0;
            got += n > 0 ? (size_t)n : 0;
        }
        text = big;
    }
    json_t *v = NULL;
    if (rc == 0) {
        json_error_t jerr;
        v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
        if (!json_is_object(v)) {
            json_decref(v);
            v = NULL;
            rc = (errno = EPROTO, -1);
        }
    }
    int saved = errno;
    nsl_wipe(first, have);
    if (big) {
        nsl_wipe(big, len);
        free(big);
    }
    errno = saved;
    *msg = v;
    return rc;
}

int nsl_sandbox_recv(int fd, int timeout_ms, json_t **msg)
{
    uint64_t deadline =
        timeout_ms < 0 ? 0 : nsl_sandbox_now_ns() + (uint64_t)timeout_ms * 1000000u + 1;
    return recv_frame(fd, deadline, msg);
}
