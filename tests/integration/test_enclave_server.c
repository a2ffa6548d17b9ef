/* nsl-enclave over raw frames: framing errors, envelope errors, pipelining, many connections,
 * backpressure from a client that stops reading, and the host channel's reconnection. The
 * enclave runs three I/O loops, so connections land on different loops, as in production. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/frame.h"
#include "common/url.h"
#include "harness/harness.h"

static struct nsl_stack stack;

static int start_enclave(void **state)
{
    (void)state;
    if (nsl_stack_init(&stack) != 0)
        return -1;
    stack.enclave_extra[0] = "--idle-timeout-ms";
    stack.enclave_extra[1] = "1500";
    stack.enclave_extra[2] = "--write-buffer-max";
    stack.enclave_extra[3] = "8192";
    stack.enclave_extra[4] = "--max-frame";
    stack.enclave_extra[5] = "65536";
    stack.enclave_extra[6] = "--io-threads";
    stack.enclave_extra[7] = "3";
    return nsl_stack_start_enclave(&stack);
}

static int stop_enclave(void **state)
{
    (void)state;
    return nsl_stack_stop(&stack);
}

static int connect_enclave(void)
{
    int fd = nsl_test_connect(stack.enclave_url);
    assert_true(fd >= 0);
    return fd;
}

static json_t *roundtrip(int fd, const char *request)
{
    char *text = NULL;
    assert_int_equal(nsl_test_roundtrip(fd, request, &text), 0);
    json_t *reply = json_loads(text, 0, NULL);
    assert_non_null(reply);
    free(text);
    return reply;
}

static void assert_error(json_t *reply, const char *code, const char *id)
{
    assert_false(json_is_true(json_object_get(reply, "ok")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply, "error"), "code")),
                        code);
    if (id)
        assert_string_equal(json_string_value(json_object_get(reply, "id")), id);
    else
        assert_true(json_is_null(json_object_get(reply, "id")));
}

static void assert_health_ok(int fd)
{
    json_t *reply =
        roundtrip(fd, "{\"id\":\"h\",\"serviceType\":\"system\",\"operation\":\"health\"}");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(reply, "result"), "status")), "ok");
    json_decref(reply);
}

/* Reads until EOF within a deadline; true when the peer closed. */
static bool closed_by_peer(int fd, int timeout_ms)
{
    char buf[4096];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            return false;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0)
            return false;
    }
}

static void test_health_answers(void **state)
{
    (void)state;
    int fd = connect_enclave();
    assert_health_ok(fd);
    close(fd);
}

static void send_raw(int fd, const void *data, size_t len)
{
    assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static json_t *read_reply(int fd)
{
    char *text;
    size_t len;
    assert_int_equal(nsl_frame_recv(fd, 1 << 20, 5000, &text, &len), 0);
    json_t *reply = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(reply);
    return reply;
}

static void test_oversize_frame_gets_bad_frame_and_close(void **state)
{
    (void)state;
    int fd = connect_enclave();
    uint8_t header[4] = {0, 1, 0, 1}; /* 65537 > --max-frame 65536 */
    send_raw(fd, header, 4);
    json_t *reply = read_reply(fd);
    assert_error(reply, "BAD_FRAME", NULL);
    json_decref(reply);
    assert_true(closed_by_peer(fd, 5000));
    close(fd);
}

static void test_zero_length_frame_gets_bad_frame_and_close(void **state)
{
    (void)state;
    int fd = connect_enclave();
    uint8_t header[4] = {0, 0, 0, 0};
    send_raw(fd, header, 4);
    json_t *reply = read_reply(fd);
    assert_error(reply, "BAD_FRAME", NULL);
    json_decref(reply);
    assert_true(closed_by_peer(fd, 5000));
    close(fd);
}

static void test_garbage_and_non_object_keep_connection(void **state)
{
    (void)state;
    int fd = connect_enclave();
    const char *bad[] = {"garbage", "[1,2]", "\"text\"", "{\"id\":", "{\"a\":1}{\"b\":2}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *reply = roundtrip(fd, bad[i]);
        assert_error(reply, "BAD_FRAME", NULL);
        json_decref(reply);
    }
    assert_health_ok(fd);
    close(fd);
}

static void test_envelope_errors_name_the_problem(void **state)
{
    (void)state;
    static const struct {
        const char *request, *code, *id;
    } cases[] = {
        {"{\"id\":\"a\",\"serviceType\":\"nope\",\"operation\":\"x\"}", "UNKNOWN_SERVICE", "a"},
        {"{\"id\":\"b\",\"serviceType\":\"system\",\"operation\":\"nope\"}", "UNKNOWN_OPERATION",
         "b"},
        {"{\"id\":\"c\",\"serviceType\":\"system\",\"operation\":\"health\",\"params\":{\"x\":1}}",
         "INVALID_PARAMS", "c"},
        {"{\"id\":\"d\",\"serviceType\":\"system\",\"operation\":\"health\",\"extra\":true}",
         "INVALID_REQUEST", "d"},
        {"{\"id\":\"e\",\"serviceType\":7,\"operation\":\"health\"}", "INVALID_REQUEST", "e"},
        {"{\"serviceType\":\"system\",\"operation\":\"health\"}", "INVALID_REQUEST", NULL},
        {"{\"id\":5,\"serviceType\":\"system\",\"operation\":\"health\"}", "INVALID_REQUEST", NULL},
        {"{\"id\":\"f\",\"serviceType\":\"system\",\"operation\":\"health\",\"params\":[]}",
         "INVALID_REQUEST", "f"},
        {"{\"id\":\"g\",\"id\":\"h\",\"serviceType\":\"system\",\"operation\":\"health\"}",
         "INVALID_REQUEST", NULL},
        {"{\"id\":\"i\",\"serviceType\":\"system\",\"operation\":\"info\"}", "UNAUTHENTICATED",
         "i"},
        {"{\"id\":\"j\",\"serviceType\":\"system\",\"operation\":\"info\",\"auth\":{\"scheme\":"
         "\"apikey\",\"apiKey\":\"x\"}}",
         "UNAVAILABLE", "j"}, /* no parent here: the sealed store that holds keys is absent */
    };
    int fd = connect_enclave();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *reply = roundtrip(fd, cases[i].request);
        assert_error(reply, cases[i].code, cases[i].id);
        const char *msg =
            json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
        assert_true(msg && *msg);
        json_decref(reply);
    }
    close(fd);
}

static void test_truncated_frame_then_close_leaves_server_serving(void **state)
{
    (void)state;
    int fd = connect_enclave();
    uint8_t partial[4 + 10] = {0, 0, 0, 100, '{', '"', 'i', 'd', '"', ':', '"', 'x', '"', ','};
    send_raw(fd, partial, sizeof partial);
    close(fd);
    int other = connect_enclave();
    assert_health_ok(other);
    close(other);
}

static void test_silent_client_is_closed_after_idle_timeout(void **state)
{
    (void)state;
    int fd = connect_enclave();
    uint8_t partial[6] = {0, 0, 0, 100, '{', '"'};
    send_raw(fd, partial, sizeof partial);
    assert_true(closed_by_peer(fd, 10000)); /* --idle-timeout-ms 1500 */
    close(fd);
}

static void test_200_pipelined_requests_on_one_connection(void **state)
{
    (void)state;
    int fd = connect_enclave();
    struct nsl_buf out = {0};
    for (int i = 0; i < 200; i++) {
        char req[128];
        int n = snprintf(req, sizeof req,
                         "{\"id\":\"p%d\",\"serviceType\":\"system\",\"operation\":\"%s\"}", i,
                         i % 3 ? "health" : "info");
        assert_int_equal(nsl_frame_append(&out, req, (size_t)n), 0);
    }
    send_raw(fd, out.data, out.len);
    nsl_buf_free(&out);
    bool seen[200] = {0};
    for (int i = 0; i < 200; i++) {
        json_t *reply = read_reply(fd);
        int k = -1;
        assert_int_equal(sscanf(json_string_value(json_object_get(reply, "id")), "p%d", &k), 1);
        assert_true(k >= 0 && k < 200 && !seen[k]);
        seen[k] = true;
        if (k % 3)
            assert_true(json_is_true(json_object_get(reply, "ok")));
        else
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(reply, "error"), "code")),
                "UNAUTHENTICATED");
        json_decref(reply);
    }
    close(fd);
}

static void test_1000_idle_connections_plus_one_working(void **state)
{
    (void)state;
    enum { N = 1000 };
    static int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = connect_enclave();
    int fd = connect_enclave();
    for (int i = 0; i < 20; i++)
        assert_health_ok(fd);
    /* The idle ones are still open and served too. */
    assert_health_ok(fds[0]);
    assert_health_ok(fds[N - 1]);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    close(fd);
}

static void test_client_that_stops_reading_delays_no_one(void **state)
{
    (void)state;
    int slow = connect_enclave();
    const char req[] = "{\"id\":\"s\",\"serviceType\":\"system\",\"operation\":\"health\"}";
    struct nsl_buf frame = {0};
    assert_int_equal(nsl_frame_append(&frame, req, sizeof req - 1), 0);
    /* Write until the enclave stops reading from us (its write buffer for us is full). */
    size_t sent_frames = 0;
    for (int stalls = 0; stalls < 3 && sent_frames < 2000000;) {
        ssize_t n = send(slow, frame.data, frame.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == (ssize_t)frame.len) {
            sent_frames++;
            continue;
        }
        assert_true(n < 0 && errno == EAGAIN); /* frames are small: all or nothing here */
        stalls++;
        struct pollfd p = {.fd = slow, .events = POLLOUT};
        poll(&p, 1, 200);
    }
    assert_true(sent_frames > 100);
    /* Others are served while the slow client's answers wait. */
    int fd = connect_enclave();
    for (int i = 0; i < 50; i++)
        assert_health_ok(fd);
    close(fd);
    /* Once it reads again, every request it sent is answered. */
    for (size_t i = 0; i < sent_frames; i++) {
        json_t *reply = read_reply(slow);
        assert_true(json_is_true(json_object_get(reply, "ok")));
        json_decref(reply);
    }
    nsl_buf_free(&frame);
    close(slow);
}

static void test_vanishing_clients_do_not_disturb_server(void **state)
{
    (void)state;
    for (int i = 0; i < 50; i++) {
        int fd = connect_enclave();
        const char req[] = "{\"id\":\"v\",\"serviceType\":\"system\",\"operation\":\"health\"}";
        nsl_frame_send(fd, req, sizeof req - 1);
        close(fd);
    }
    int fd = connect_enclave();
    assert_health_ok(fd);
    close(fd);
}

/* Clients on their own threads and connections, each pipelining requests answered on its loop
 * (health) and by workers (attestation, which here answers UNAVAILABLE: this enclave has no
 * parent, so no storage), whose answers must come back to the loop that owns the connection. */
#define PARALLEL_CLIENTS  6
#define PARALLEL_REQUESTS 60

static void *parallel_client(void *arg)
{
    intptr_t failures = 0;
    int who = (int)(intptr_t)arg;
    int fd = nsl_test_connect(stack.enclave_url);
    struct nsl_buf out = {0};
    for (int i = 0; i < PARALLEL_REQUESTS; i++) {
        char req[160];
        int n = snprintf(req, sizeof req, "{\"id\":\"c%d-%d\",%s}", who, i,
                         i % 2 ? "\"serviceType\":\"system\",\"operation\":\"health\""
                               : "\"serviceType\":\"attestation\",\"operation\":\"getDocument\","
                                 "\"params\":{\"nonce\":\"01\"}");
        failures += nsl_frame_append(&out, req, (size_t)n) != 0;
    }
    failures += fd < 0 || send(fd, out.data, out.len, MSG_NOSIGNAL) != (ssize_t)out.len;
    nsl_buf_free(&out);
    bool seen[PARALLEL_REQUESTS] = {0};
    for (int i = 0; fd >= 0 && i < PARALLEL_REQUESTS; i++) {
        char *text = NULL;
        size_t len;
        int k = -1, from = -1;
        json_t *reply =
            nsl_frame_recv(fd, 1 << 20, 10000, &text, &len) == 0 ? json_loads(text, 0, NULL) : NULL;
        free(text);
        const char *id = json_string_value(json_object_get(reply, "id"));
        bool ok = id && sscanf(id, "c%d-%d", &from, &k) == 2 && from == who && k >= 0 &&
                  k < PARALLEL_REQUESTS && !seen[k];
        const char *code =
            json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
        if (ok && k % 2)
            ok = json_is_true(json_object_get(reply, "ok"));
        else if (ok)
            ok = code && strcmp(code, "UNAVAILABLE") == 0;
        if (ok)
            seen[k] = true;
        failures += !ok;
        json_decref(reply);
    }
    if (fd >= 0)
        close(fd);
    return (void *)failures;
}

static void test_parallel_clients_on_several_loops_get_their_own_answers(void **state)
{
    (void)state;
    pthread_t threads[PARALLEL_CLIENTS];
    for (int i = 0; i < PARALLEL_CLIENTS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, parallel_client, (void *)(intptr_t)i),
                         0);
    for (int i = 0; i < PARALLEL_CLIENTS; i++) {
        void *failures = NULL;
        pthread_join(threads[i], &failures);
        assert_int_equal((intptr_t)failures, 0);
    }
}

/* The connection limit counts connections on every loop together. */
static void test_connection_limit_spans_loops(void **state)
{
    (void)state;
    static struct nsl_stack limited;
    assert_int_equal(nsl_stack_init(&limited), 0);
    const char *extra[] = {"--max-connections", "4", "--io-threads", "3"};
    memcpy(limited.enclave_extra, extra, sizeof extra);
    assert_int_equal(nsl_stack_start_enclave(&limited), 0);
    int fds[4];
    const char req[] = "{\"id\":\"l\",\"serviceType\":\"system\",\"operation\":\"health\"}";
    for (int i = 0; i < 4; i++) {
        fds[i] = nsl_test_connect(limited.enclave_url);
        assert_true(fds[i] >= 0);
        char *text = NULL;
        assert_int_equal(nsl_test_roundtrip(fds[i], req, &text), 0); /* accepted and served */
        free(text);
    }
    int fifth = nsl_test_connect(limited.enclave_url);
    assert_true(fifth >= 0);
    assert_true(closed_by_peer(fifth, 5000));
    close(fifth);
    close(fds[0]); /* frees a slot, whichever loop held it */
    char *text = NULL;
    int again = -1;
    for (int tries = 0; tries < 100 && !text; tries++) {
        again = nsl_test_connect(limited.enclave_url);
        if (again >= 0 && nsl_test_roundtrip(again, req, &text) != 0) {
            close(again);
            again = -1;
            usleep(20000); /* the close may not have reached the enclave yet */
        }
    }
    assert_non_null(text);
    free(text);
    close(again);
    for (int i = 1; i < 4; i++)
        close(fds[i]);
    assert_int_equal(nsl_stack_stop(&limited), 0);
}

/* CPU clock ticks (user + system) the thread of pid named comm has used, or -1 when none is. */
static long thread_ticks(pid_t pid, const char *comm)
{
    char path[300], name[32], stat[1024];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    long ticks = -1;
    for (struct dirent *d; tasks && ticks < 0 && (d = readdir(tasks));) {
        snprintf(path, sizeof path, "/proc/%d/task/%s/comm", (int)pid, d->d_name);
        FILE *f = fopen(path, "r");
        bool match = f && fgets(name, sizeof name, f) && strncmp(name, comm, strlen(comm)) == 0 &&
                     name[strlen(comm)] == '\n';
        if (f)
            fclose(f);
        snprintf(path, sizeof path, "/proc/%d/task/%s/stat", (int)pid, d->d_name);
        f = match ? fopen(path, "r") : NULL;
        size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
        if (f)
            fclose(f);
        stat[n] = 0;
        char *after = strrchr(stat, ')');
        long utime, stime;
        if (after && sscanf(after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
                            &utime, &stime) == 2)
            ticks = utime + stime;
    }
    if (tasks)
        closedir(tasks);
    return ticks;
}

/* Connections are spread over the loops: with three connections and three loops, each loop's
 * thread serves one and so uses CPU of its own. */
static void test_connections_are_spread_over_the_loops(void **state)
{
    (void)state;
    static struct nsl_stack spread;
    assert_int_equal(nsl_stack_init(&spread), 0);
    spread.enclave_extra[0] = "--io-threads";
    spread.enclave_extra[1] = "3";
    assert_int_equal(nsl_stack_start_enclave(&spread), 0);
    assert_true(thread_ticks(spread.enclave_pid, "nsl-io-1") <= 0); /* idle (or not up) so far */
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = nsl_test_connect(spread.enclave_url);
        assert_true(fds[i] >= 0);
    }
    const char req[] = "{\"id\":\"s\",\"serviceType\":\"system\",\"operation\":\"health\"}";
    struct nsl_buf batch = {0};
    for (int i = 0; i < 500; i++)
        assert_int_equal(nsl_frame_append(&batch, req, sizeof req - 1), 0);
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 3; i++)
            send_raw(fds[i], batch.data, batch.len);
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 500; k++)
                json_decref(read_reply(fds[i]));
    }
    nsl_buf_free(&batch);
    assert_true(thread_ticks(spread.enclave_pid, "nsl-io-1") > 0);
    assert_true(thread_ticks(spread.enclave_pid, "nsl-io-2") > 0);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    assert_int_equal(nsl_stack_stop(&spread), 0);
}

/* ---- host channel against a fake parent listener ---- */

struct fake_host {
    int listen_fd;
    volatile bool stop;
    pthread_t thread;
};

static void *fake_host_main(void *arg)
{
    struct fake_host *h = arg;
    while (!h->stop) {
        struct pollfd p = {.fd = h->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(h->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        while (!h->stop) {
            struct pollfd q = {.fd = fd, .events = POLLIN};
            if (poll(&q, 1, 50) <= 0)
                continue;
            char *text;
            size_t len;
            if (nsl_frame_recv(fd, 1 << 20, 1000, &text, &len) != 0)
                break;
            json_t *req = json_loads(text, 0, NULL);
            free(text);
            json_t *reply = json_pack("{s:O, s:b, s:{s:I}}", "id", json_object_get(req, "id"), "ok",
                                      1, "result", "time", (json_int_t)1);
            char *out = json_dumps(reply, JSON_COMPACT);
            nsl_frame_send(fd, out, strlen(out));
            free(out);
            json_decref(reply);
            json_decref(req);
        }
        close(fd);
    }
    return NULL;
}

static void fake_host_start(struct fake_host *h)
{
    struct nsl_url url;
    assert_int_equal(nsl_url_parse(stack.host_url, &url, NULL, 0), 0);
    h->stop = false;
    h->listen_fd = nsl_net_listen(&url, 16);
    assert_true(h->listen_fd >= 0);
    assert_int_equal(pthread_create(&h->thread, NULL, fake_host_main, h), 0);
}

static void fake_host_stop(struct fake_host *h)
{
    h->stop = true;
    pthread_join(h->thread, NULL);
    close(h->listen_fd);
}

struct health_probe {
    bool want_connected;
    int64_t min_reconnects;
    bool want_rtt;
};

static bool host_channel_is(void *ctx)
{
    struct health_probe *want = ctx;
    int fd = nsl_test_connect(stack.enclave_url);
    if (fd < 0)
        return false;
    char *text = NULL;
    bool match = false;
    if (nsl_test_roundtrip(fd,
                           "{\"id\":\"hc\",\"serviceType\":\"system\",\"operation\":\"health\"}",
                           &text) == 0) {
        json_t *reply = json_loads(text, 0, NULL);
        json_t *hc = json_object_get(json_object_get(reply, "result"), "hostChannel");
        match = json_is_true(json_object_get(hc, "connected")) == want->want_connected &&
                json_integer_value(json_object_get(hc, "reconnects")) >= want->min_reconnects &&
                (!want->want_rtt || json_object_get(hc, "lastPingUs"));
        json_decref(reply);
    }
    free(text);
    close(fd);
    return match;
}

static void test_host_channel_connects_pings_and_reconnects(void **state)
{
    (void)state;
    static struct fake_host host;
    fake_host_start(&host);
    struct health_probe up = {true, 0, true};
    assert_int_equal(nsl_wait_until(host_channel_is, &up, 15000), 0);
    fake_host_stop(&host);
    struct health_probe down = {false, 0, false};
    assert_int_equal(nsl_wait_until(host_channel_is, &down, 15000), 0);
    fake_host_start(&host);
    struct health_probe again = {true, 1, false};
    assert_int_equal(nsl_wait_until(host_channel_is, &again, 15000), 0);
    fake_host_stop(&host);
}

int main(void)
{
    struct rlimit files = {4096, 4096};
    setrlimit(RLIMIT_NOFILE, &files);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_answers),
        cmocka_unit_test(test_oversize_frame_gets_bad_frame_and_close),
        cmocka_unit_test(test_zero_length_frame_gets_bad_frame_and_close),
        cmocka_unit_test(test_garbage_and_non_object_keep_connection),
        cmocka_unit_test(test_envelope_errors_name_the_problem),
        cmocka_unit_test(test_truncated_frame_then_close_leaves_server_serving),
        cmocka_unit_test(test_silent_client_is_closed_after_idle_timeout),
        cmocka_unit_test(test_200_pipelined_requests_on_one_connection),
        cmocka_unit_test(test_1000_idle_connections_plus_one_working),
        cmocka_unit_test(test_client_that_stops_reading_delays_no_one),
        cmocka_unit_test(test_vanishing_clients_do_not_disturb_server),
        cmocka_unit_test(test_parallel_clients_on_several_loops_get_their_own_answers),
        cmocka_unit_test(test_connection_limit_spans_loops),
        cmocka_unit_test(test_connections_are_spread_over_the_loops),
        cmocka_unit_test(test_host_channel_connects_pings_and_reconnects),
    };
    return cmocka_run_group_tests(tests, start_enclave, stop_enclave);
}
