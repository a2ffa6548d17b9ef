/* The frames between the sandbox pool and its workers (sandbox/protocol.c): small and large
 * objects round trip, a peer speaking out of turn (bytes past the frame), a bad length or a
 * payload that is not an object is EPROTO, silence is ETIMEDOUT and a closed peer ECONNRESET. */
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

#include "common/buf.h"
#include "common/frame.h"
#include "sandbox/sandbox_internal.h"

static int sv[2];

static int setup(void **state)
{
    (void)state;
    return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static int teardown(void **state)
{
    (void)state;
    close(sv[0]);
    close(sv[1]);
    return 0;
}

static void send_raw(const char *payload)
{
    struct nsl_buf b = {0};
    assert_int_equal(nsl_frame_append(&b, payload, strlen(payload)), 0);
    assert_int_equal(send(sv[1], b.data, b.len, 0), (ssize_t)b.len);
    nsl_buf_free(&b);
}

static void *send_big(void *msg)
{
    return nsl_sandbox_send(sv[1], msg) == 0 ? msg : NULL;
}

static void test_small_and_large_objects_round_trip(void **state)
{
    (void)state;
    json_t *msg = json_pack("{s:s, s:i}", "type", "job", "n", 1), *got = NULL;
    assert_int_equal(nsl_sandbox_send(sv[1], msg), 0);
    assert_int_equal(nsl_sandbox_recv(sv[0], 1000, &got), 0);
    assert_true(json_equal(msg, got));
    json_decref(got);
    json_decref(msg);
    /* Larger than the first read and than the socket buffer: a writer thread feeds it. */
    size_t big = 3u << 20;
    char *text = malloc(big + 1);
    memset(text, 'a', big);
    text[big] = 0;
    msg = json_pack("{s:s}", "source", text);
    free(text);
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, send_big, msg), 0);
    assert_int_equal(nsl_sandbox_recv(sv[0], -1, &got), 0);
    void *sent;
    pthread_join(writer, &sent);
    assert_non_null(sent);
    assert_true(json_equal(msg, got));
    json_decref(got);
    json_decref(msg);
}

static void test_a_peer_speaking_out_of_turn_is_refused(void **state)
{
    (void)state;
    json_t *got = NULL;
    send_raw("{\"type\":\"done\"}");
    send_raw("{\"type\":\"call\"}");
    usleep(1000);
    assert_int_equal(nsl_sandbox_recv(sv[0], 1000, &got), -1);
    assert_int_equal(errno, EPROTO);
    assert_null(got);
}

static void test_bad_frames_are_eproto(void **state)
{
    (void)state;
    json_t *got = NULL;
    send_raw("[1, 2]"); /* not an object */
    assert_int_equal(nsl_sandbox_recv(sv[0], 1000, &got), -1);
    assert_int_equal(errno, EPROTO);
    send_raw("{\"a\":1,\"a\":2}"); /* duplicate key */
    assert_int_equal(nsl_sandbox_recv(sv[0], 1000, &got), -1);
    assert_int_equal(errno, EPROTO);
    const uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff}; /* over the frame limit */
    assert_int_equal(send(sv[1], huge, 4, 0), 4);
    assert_int_equal(nsl_sandbox_recv(sv[0], 1000, &got), -1);
    assert_int_equal(errno, EPROTO);
    assert_null(got);
}

static void test_silence_times_out_and_a_closed_peer_resets(void **state)
{
    (void)state;
    json_t *got = NULL;
    assert_int_equal(nsl_sandbox_recv(sv[0], 50, &got), -1);
    assert_int_equal(errno, ETIMEDOUT);
    /* Half a frame, then silence. */
    const uint8_t half[6] = {0, 0, 0, 10, '{', '"'};
    assert_int_equal(send(sv[1], half, sizeof half, 0), (ssize_t)sizeof half);
    assert_int_equal(nsl_sandbox_recv(sv[0], 50, &got), -1);
    assert_int_equal(errno, ETIMEDOUT);
    close(sv[1]);
    sv[1] = -1;
    assert_int_equal(nsl_sandbox_recv(sv[0], 1000, &got), -1);
    assert_int_equal(errno, ECONNRESET);
    assert_null(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_small_and_large_objects_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_peer_speaking_out_of_turn_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames_are_eproto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence_times_out_and_a_closed_peer_resets, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
