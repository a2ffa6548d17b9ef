/* Fuzzes the enclave wire framing: nsl_frame_peek walked over a buffer of back-to-back frames as
 * the server does, under a small and the default size cap, and nsl_frame_stream_next reading the
 * same bytes from a socket. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/frame.h"
#include "common/frame_stream.h"
#include "fuzz.h"

static void walk(const uint8_t *data, size_t size, size_t max)
{
    size_t pos = 0;
    for (;;) {
        size_t n = 0;
        enum nsl_frame_status st = nsl_frame_peek(data + pos, size - pos, max, &n);
        if (st != NSL_FRAME_READY)
            break;
        FUZZ_CHECK(n >= 1 && n <= max && n <= size - pos - NSL_FRAME_HEADER_LEN);
        pos += NSL_FRAME_HEADER_LEN + n;
    }
}

static void stream(const uint8_t *data, size_t size, size_t max)
{
    int sv[2];
    if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return;
    /* The whole input fits the socket buffer, so writing it first never blocks. */
    ssize_t w = size ? write(sv[0], data, size) : 0;
    close(sv[0]);
    if (w == (ssize_t)size) {
        struct nsl_frame_stream s;
        nsl_frame_stream_init(&s, sv[1], max);
        const char *payload;
        size_t len;
        size_t total = 0;
        while (nsl_frame_stream_next(&s, &payload, &len) == 0) {
            FUZZ_CHECK(len >= 1 && len <= max);
            total += NSL_FRAME_HEADER_LEN + len;
            FUZZ_CHECK(total <= size);
            FUZZ_CHECK(memcmp(payload, data + total - len, len) == 0);
        }
        nsl_frame_stream_free(&s);
    }
    close(sv[1]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk(data, size, 64);
    walk(data, size, NSL_FRAME_DEFAULT_MAX);
    stream(data, size, 64);
    stream(data, size, NSL_FRAME_DEFAULT_MAX);
    return 0;
}
