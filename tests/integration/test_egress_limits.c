/* The egress proxy's limits, with raw CONNECT requests over its unix socket to a plain TCP echo
 * server on 127.0.0.1 (the proxy relays bytes; TLS is the enclave's business): a tunnel over
 * --egress-max-tunnels is refused with 503, a tunnel that carries more than --egress-max-bytes
 * is closed, an idle tunnel is closed after --egress-idle-timeout-ms, and the proxy keeps
 * serving afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/harness.h"
#include "harness/https.h"

static struct nsl_stack stack;
static int echo_fd = -1, echo_port;
static volatile int stopping;
static pthread_t echo_thread;
static char egress_url[320], allow[64];

/* Echoes whatever each connection sends until it closes; one thread per connection. */
static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0 || send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
            break;
    }
    close(fd);
    return NULL;
}

static void *echo_main(void *arg)
{
    (void)arg;
    while (!stopping) {
        struct pollfd p = {.fd = echo_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(echo_fd, NULL, NULL);
        pthread_t t;
        if (fd >= 0 && pthread_create(&t, NULL, echo_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
    }
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    if (nsl_stack_init(&stack) != 0)
        return -1;
    echo_fd = nsl_test_listen_loopback(&echo_port);
    if (echo_fd < 0 || pthread_create(&echo_thread, NULL, echo_main, NULL) != 0)
        return -1;
    snprintf(allow, sizeof allow, "127.0.0.1:%d", echo_port);
    snprintf(egress_url, sizeof egress_url, "unix://%s/egress.sock", stack.dir);
    const char *extra[] = {"--egress-allow",
                           allow,
                           "--egress-max-tunnels",
                           "1",
                           "--egress-max-bytes",
                           "4096",
                           "--egress-idle-timeout-ms",
                           "300",
                           NULL};
    for (size_t i = 0; extra[i]; i++)
        stack.parent_extra[i] = extra[i];
    return nsl_stack_start_parent(&stack);
}

static int teardown(void **state)
{
    (void)state;
    int rc = nsl_stack_stop(&stack);
    stopping = 1;
    pthread_join(echo_thread, NULL);
    close(echo_fd);
    return rc;
}

/* Opens a tunnel to the echo server; returns the fd and puts the status line's code in *status. */
static int open_tunnel(int *status)
{
    int fd = nsl_test_connect(egress_url);
    assert_true(fd >= 0);
    char req[128], head[512] = "";
    int n = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", allow, allow);
    /* A busy proxy may answer 503 and close before the request is even sent: read anyway. */
    ssize_t sent = send(fd, req, (size_t)n, MSG_NOSIGNAL);
    (void)sent;
    size_t len = 0;
    while (len < sizeof head - 1 && !strstr(head, "\r\n\r\n")) {
        ssize_t got = recv(fd, head + len, 1, 0);
        if (got <= 0)
            break;
        len += (size_t)got;
        head[len] = 0;
    }
    assert_int_equal(sscanf(head, "HTTP/1.1 %d", status), 1);
    return fd;
}

/* True when the peer closes fd within timeout_ms (reading and dropping what arrives). */
static bool closed_within(int fd, int timeout_ms)
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

static void test_second_tunnel_over_the_cap_gets_503(void **state)
{
    (void)state;
    int status = 0;
    int first = open_tunnel(&status);
    assert_int_equal(status, 200);
    int second = open_tunnel(&status);
    assert_int_equal(status, 503);
    close(second);
    close(first);
}

static void test_tunnel_over_the_byte_cap_is_closed(void **state)
{
    (void)state;
    int status = 0, fd = -1;
    for (int attempt = 0; attempt < 50 && status != 200; attempt++) {
        if (fd >= 0)
            close(fd);
        fd = open_tunnel(&status); /* the previous test's tunnel may still be winding down */
        if (status != 200)
            usleep(20000);
    }
    assert_int_equal(status, 200);
    char chunk[1024];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 8; i++)
        if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) < 0)
            break;
    assert_true(closed_within(fd, 5000));
    close(fd);
}

static void test_idle_tunnel_is_closed_and_the_proxy_still_serves(void **state)
{
    (void)state;
    int status = 0, fd = -1;
    for (int attempt = 0; attempt < 50 && status != 200; attempt++) {
        if (fd >= 0)
            close(fd);
        fd = open_tunnel(&status);
        if (status != 200)
            usleep(20000);
    }
    assert_int_equal(status, 200);
    assert_int_equal(send(fd, "ping", 4, MSG_NOSIGNAL), 4);
    char echo[4];
    assert_int_equal(recv(fd, echo, 4, MSG_WAITALL), 4);
    assert_memory_equal(echo, "ping", 4);
    assert_true(closed_within(fd, 5000)); /* --egress-idle-timeout-ms 300 */
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_tunnel_over_the_cap_gets_503),
        cmocka_unit_test(test_tunnel_over_the_byte_cap_is_closed),
        cmocka_unit_test(test_idle_tunnel_is_closed_and_the_proxy_still_serves),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
