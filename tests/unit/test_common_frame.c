/* Unit tests of common/frame: the incremental decoder and blocking frame I/O. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/frame.h"

static void header(uint8_t *out, uint32_t n)
{
    out[0] = (uint8_t)(n >> 24);
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
}

static void test_frame_peek_needs_four_header_bytes(void **state)
{
    (void)state;
    uint8_t data[4];
    header(data, 0); /* even an invalid length is not judged before the header is whole */
    size_t n = 77;
    for (size_t len = 0; len < 4; len++)
        assert_int_equal(nsl_frame_peek(data, len, 100, &n), NSL_FRAME_NEED_MORE);
    assert_int_equal(n, 77);
}

static void test_frame_peek_zero_length_is_invalid(void **state)
{
    (void)state;
    uint8_t data[8] = {0};
    size_t n;
    assert_int_equal(nsl_frame_peek(data, 4, 100, &n), NSL_FRAME_INVALID);
    assert_int_equal(nsl_frame_peek(data, sizeof data, 100, &n), NSL_FRAME_INVALID);
}

static void test_frame_rejects_oversize_length_from_header_alone(void **state)
{
    (void)state;
    uint8_t data[4];
    size_t n;
    header(data, 101);
    assert_int_equal(nsl_frame_peek(data, 4, 100, &n), NSL_FRAME_INVALID);
    header(data, 0xffffffffu);
    assert_int_equal(nsl_frame_peek(data, 4, NSL_FRAME_DEFAULT_MAX, &n), NSL_FRAME_INVALID);
    header(data, NSL_FRAME_DEFAULT_MAX + 1);
    assert_int_equal(nsl_frame_peek(data, 4, NSL_FRAME_DEFAULT_MAX, &n), NSL_FRAME_INVALID);
    /* The limit itself is allowed: the header alone says "need more". */
    header(data, 100);
    assert_int_equal(nsl_frame_peek(data, 4, 100, &n), NSL_FRAME_NEED_MORE);
    assert_int_equal(n, 100);
}

static void test_frame_peek_ready_at_exact_length(void **state)
{
    (void)state;
    uint8_t data[4 + 5 + 3];
    header(data, 5);
    memcpy(data + 4, "hello", 5);
    memcpy(data + 9, "xyz", 3);
    size_t n = 0;
    assert_int_equal(nsl_frame_peek(data, 8, 100, &n), NSL_FRAME_NEED_MORE);
    assert_int_equal(n, 5);
    n = 0;
    assert_int_equal(nsl_frame_peek(data, 9, 100, &n), NSL_FRAME_READY);
    assert_int_equal(n, 5);
    /* Bytes of the next frame after it do not matter. */
    assert_int_equal(nsl_frame_peek(data, sizeof data, 100, &n), NSL_FRAME_READY);
    assert_int_equal(n, 5);
}

static void test_frame_append_writes_header_and_payload(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_frame_append(&b, "{}", 2), 0);
    assert_int_equal(nsl_frame_append(&b, "{\"a\":1}", 7), 0);
    const uint8_t want[] = {0, 0, 0, 2, '{', '}', 0, 0, 0, 7, '{', '"', 'a', '"', ':', '1', '}'};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    /* The decoder walks the two frames back. */
    size_t n;
    assert_int_equal(nsl_frame_peek(b.data, b.len, 100, &n), NSL_FRAME_READY);
    assert_int_equal(n, 2);
    nsl_buf_consume(&b, 4 + n);
    assert_int_equal(nsl_frame_peek(b.data, b.len, 100, &n), NSL_FRAME_READY);
    assert_int_equal(n, 7);
    nsl_buf_free(&b);
}

static void test_frame_append_rejects_empty_payload(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_frame_append(&b, "", 0), -1);
    assert_int_equal(b.len, 0);
    nsl_buf_free(&b);
}

static int pair[2];

static int setup_pair(void **state)
{
    (void)state;
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
}

static int teardown_pair(void **state)
{
    (void)state;
    if (pair[0] >= 0)
        close(pair[0]);
    if (pair[1] >= 0)
        close(pair[1]);
    return 0;
}

static void test_frame_send_recv_small_frame(void **state)
{
    (void)state;
    assert_int_equal(nsl_frame_send(pair[0], "{\"id\":\"1\"}", 10), 0);
    char *payload = NULL;
    size_t len = 0;
    assert_int_equal(nsl_frame_recv(pair[1], 1024, 2000, &payload, &len), 0);
    assert_int_equal(len, 10);
    assert_string_equal(payload, "{\"id\":\"1\"}"); /* NUL-terminated */
    free(payload);
}

/* Sends from a second thread so that a frame larger than the socket buffer cannot deadlock. */
struct sender {
    int fd;
    const char *data;
    size_t len;
    int rc;
};

static void *send_thread(void *arg)
{
    struct sender *s = arg;
    s->rc = nsl_frame_send(s->fd, s->data, s->len);
    return NULL;
}

static void test_frame_send_recv_large_frames(void **state)
{
    (void)state;
    static const size_t sizes[] = {4095, 4096, 4097, 70000, 1u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t size = sizes[i];
        char *data = malloc(size);
        assert_non_null(data);
        for (size_t k = 0; k < size; k++)
            data[k] = (char)('a' + k % 26);
        struct sender s = {pair[0], data, size, -1};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, send_thread, &s), 0);
        char *payload = NULL;
        size_t len = 0;
        assert_int_equal(nsl_frame_recv(pair[1], NSL_FRAME_DEFAULT_MAX, 5000, &payload, &len), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(s.rc, 0);
        assert_int_equal(len, size);
        assert_memory_equal(payload, data, size);
        assert_int_equal(payload[size], 0);
        free(payload);
        free(data);
    }
}

static void test_frame_send_rejects_empty_payload(void **state)
{
    (void)state;
    errno = 0;
    assert_int_equal(nsl_frame_send(pair[0], "", 0), -1);
    assert_int_equal(errno, EINVAL);
}

static void test_frame_recv_on_eof_is_connection_reset(void **state)
{
    (void)state;
    close(pair[0]);
    pair[0] = -1;
    char *payload = NULL;
    size_t len;
    errno = 0;
    assert_int_equal(nsl_frame_recv(pair[1], 1024, 2000, &payload, &len), -1);
    assert_int_equal(errno, ECONNRESET);
    assert_null(payload);
}

static void test_frame_recv_eof_inside_payload_is_connection_reset(void **state)
{
    (void)state;
    uint8_t partial[4 + 3];
    header(partial, 10);
    memcpy(partial + 4, "abc", 3);
    assert_int_equal(write(pair[0], partial, sizeof partial), (ssize_t)sizeof partial);
    close(pair[0]);
    pair[0] = -1;
    char *payload = NULL;
    size_t len;
    errno = 0;
    assert_int_equal(nsl_frame_recv(pair[1], 1024, 2000, &payload, &len), -1);
    assert_int_equal(errno, ECONNRESET);
    assert_null(payload); /* nothing leaks: ASan checks */
}

static void test_frame_recv_times_out_without_data(void **state)
{
    (void)state;
    char *payload = NULL;
    size_t len;
    errno = 0;
    assert_int_equal(nsl_frame_recv(pair[1], 1024, 50, &payload, &len), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_null(payload);
}

static void test_frame_recv_times_out_inside_payload(void **state)
{
    (void)state;
    uint8_t partial[4 + 2];
    header(partial, 8);
    memcpy(partial + 4, "ab", 2);
    assert_int_equal(write(pair[0], partial, sizeof partial), (ssize_t)sizeof partial);
    char *payload = NULL;
    size_t len;
    errno = 0;
    assert_int_equal(nsl_frame_recv(pair[1], 1024, 50, &payload, &len), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_null(payload);
}

static void test_frame_recv_oversize_header_is_protocol_error(void **state)
{
    (void)state;
    uint8_t h[4];
    header(h, 1025);
    assert_int_equal(write(pair[0], h, 4), 4);
    char *payload = NULL;
    size_t len;
    errno = 0;
    assert_int_equal(nsl_frame_recv(pair[1], 1024, 2000, &payload, &len), -1);
    assert_int_equal(errno, EPROTO);
    assert_null(payload);
}

static void test_frame_recv_zero_header_is_protocol_error(void **state)
{
    (void)state;
    uint8_t h[4] = {0};
    assert_int_equal(write(pair[0], h, 4), 4);
    char *payload = NULL;
    size_t len;
    errno = 0;
    assert_int_equal(nsl_frame_recv(pair[1], 1024, 2000, &payload, &len), -1);
    assert_int_equal(errno, EPROTO);
}

static void test_frame_recv_reads_back_to_back_frames(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_frame_append(&b, "one", 3), 0);
    assert_int_equal(nsl_frame_append(&b, "second", 6), 0);
    assert_int_equal(write(pair[0], b.data, b.len), (ssize_t)b.len);
    nsl_buf_free(&b);
    char *payload;
    size_t len;
    assert_int_equal(nsl_frame_recv(pair[1], 1024, 2000, &payload, &len), 0);
    assert_string_equal(payload, "one");
    free(payload);
    assert_int_equal(nsl_frame_recv(pair[1], 1024, 2000, &payload, &len), 0);
    assert_string_equal(payload, "second");
    free(payload);
}

static void test_frame_send_to_closed_peer_fails(void **state)
{
    (void)state;
    close(pair[1]);
    pair[1] = -1;
    errno = 0;
    assert_int_equal(nsl_frame_send(pair[0], "x", 1), -1); /* no SIGPIPE */
    assert_int_equal(errno, EPIPE);
}

/* A frame written in place reads back as one frame; an empty one is cut off again. */
static void test_frame_written_in_place(void **state)
{
    (void)state;
    struct nsl_buf out = {0};
    assert_int_equal(nsl_buf_append(&out, "xy", 2), 0);
    long start = nsl_frame_begin(&out);
    assert_int_equal(start, 2);
    assert_int_equal(nsl_buf_append(&out, "{\"a\":1}", 7), 0);
    assert_int_equal(nsl_frame_end(&out, (size_t)start), 0);
    size_t n = 0;
    assert_int_equal(nsl_frame_peek(out.data + 2, out.len - 2, 1024, &n), NSL_FRAME_READY);
    assert_int_equal(n, 7);
    assert_memory_equal(out.data + 2 + NSL_FRAME_HEADER_LEN, "{\"a\":1}", 7);
    start = nsl_frame_begin(&out);
    assert_int_equal(nsl_frame_end(&out, (size_t)start), -1);
    assert_int_equal(out.len, 2 + NSL_FRAME_HEADER_LEN + 7);
    nsl_buf_free(&out);
}

#define PAIR_TEST(f) cmocka_unit_test_setup_teardown(f, setup_pair, teardown_pair)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_written_in_place),
        cmocka_unit_test(test_frame_peek_needs_four_header_bytes),
        cmocka_unit_test(test_frame_peek_zero_length_is_invalid),
        cmocka_unit_test(test_frame_rejects_oversize_length_from_header_alone),
        cmocka_unit_test(test_frame_peek_ready_at_exact_length),
        cmocka_unit_test(test_frame_append_writes_header_and_payload),
        cmocka_unit_test(test_frame_append_rejects_empty_payload),
        PAIR_TEST(test_frame_send_recv_small_frame),
        PAIR_TEST(test_frame_send_recv_large_frames),
        PAIR_TEST(test_frame_send_rejects_empty_payload),
        PAIR_TEST(test_frame_recv_on_eof_is_connection_reset),
        PAIR_TEST(test_frame_recv_eof_inside_payload_is_connection_reset),
        PAIR_TEST(test_frame_recv_times_out_without_data),
        PAIR_TEST(test_frame_recv_times_out_inside_payload),
        PAIR_TEST(test_frame_recv_oversize_header_is_protocol_error),
        PAIR_TEST(test_frame_recv_zero_header_is_protocol_error),
        PAIR_TEST(test_frame_recv_reads_back_to_back_frames),
        PAIR_TEST(test_frame_send_to_closed_peer_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
