/* Unit tests of common/url: parsing, formatting, and listen/connect on unix, tcp and vsock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/url.h"

static void parse_ok(const char *text, struct nsl_url *url)
{
    char why[128] = "";
    if (nsl_url_parse(text, url, why, sizeof why) != 0)
        fail_msg("%s should parse: %s", text, why);
}

static void parse_bad(const char *text)
{
    struct nsl_url url;
    char why[128] = "";
    if (nsl_url_parse(text, &url, why, sizeof why) == 0)
        fail_msg("%s should be rejected", text ? text : "(null)");
    assert_true(strlen(why) > 0);
}

static void test_url_parses_vsock_any(void **state)
{
    (void)state;
    struct nsl_url url;
    parse_ok("vsock://ANY:5000", &url);
    assert_int_equal(url.kind, NSL_URL_VSOCK);
    assert_int_equal(url.cid, NSL_URL_ANY_CID);
    assert_int_equal(url.port, 5000);
    parse_ok("vsock://any:1", &url);
    assert_int_equal(url.cid, NSL_URL_ANY_CID);
}

static void test_url_parses_vsock_cid(void **state)
{
    (void)state;
    struct nsl_url url;
    parse_ok("vsock://3:5001", &url);
    assert_int_equal(url.kind, NSL_URL_VSOCK);
    assert_int_equal(url.cid, 3);
    assert_int_equal(url.port, 5001);
    parse_ok("vsock://4294967294:4294967295", &url);
    assert_int_equal(url.cid, 4294967294u);
    assert_int_equal(url.port, 4294967295u);
}

static void test_url_rejects_bad_vsock(void **state)
{
    (void)state;
    parse_bad("vsock://x:1");
    parse_bad("vsock://3");
    parse_bad("vsock://:5000");
    parse_bad("vsock://3:");
    parse_bad("vsock://3:x");
    parse_bad("vsock://-3:1");
    parse_bad("vsock://3:-1");
    parse_bad("vsock://3:+1");
    parse_bad("vsock://4294967295:1"); /* that is ANY; it must be spelled ANY */
    parse_bad("vsock://3:4294967296");
    parse_bad("vsock://12345678901234567:1");
}

static void test_url_rejects_whitespace_before_numbers(void **state)
{
    (void)state;
    parse_bad("vsock://3: 1");
    parse_bad("vsock://\t3:1");
    parse_bad("tcp://127.0.0.1:\t80");
    parse_bad("tcp://127.0.0.1:\n80");
    parse_bad("tcp://127.0.0.1: 80");
}

static void test_url_parses_unix_absolute(void **state)
{
    (void)state;
    struct nsl_url url;
    parse_ok("unix:///run/nsl/enclave.sock", &url);
    assert_int_equal(url.kind, NSL_URL_UNIX);
    assert_string_equal(url.path, "/run/nsl/enclave.sock");
}

static void test_url_rejects_unix_relative(void **state)
{
    (void)state;
    parse_bad("unix://relative/path");
    parse_bad("unix://");
    parse_bad("unix:relative");
}

static void test_url_unix_path_limit_is_107_bytes(void **state)
{
    (void)state;
    char text[200] = "unix://";
    char *p = text + strlen(text);
    p[0] = '/';
    memset(p + 1, 'a', 106);
    p[107] = 0; /* 107-byte path fits sun_path with its NUL */
    struct nsl_url url;
    parse_ok(text, &url);
    assert_int_equal(strlen(url.path), 107);
    p[107] = 'a';
    p[108] = 0;
    parse_bad(text);
}

static void test_url_parses_tcp_ipv4_and_ipv6(void **state)
{
    (void)state;
    struct nsl_url url;
    parse_ok("tcp://127.0.0.1:8080", &url);
    assert_int_equal(url.kind, NSL_URL_TCP);
    assert_string_equal(url.host, "127.0.0.1");
    assert_int_equal(url.port, 8080);
    parse_ok("tcp://[::1]:80", &url);
    assert_string_equal(url.host, "::1");
    assert_int_equal(url.port, 80);
    parse_ok("tcp://localhost:0", &url);
    assert_string_equal(url.host, "localhost");
    assert_int_equal(url.port, 0);
    parse_ok("tcp://h:65535", &url);
}

static void test_url_rejects_bad_tcp(void **state)
{
    (void)state;
    parse_bad("tcp://host:99999");
    parse_bad("tcp://host:65536");
    parse_bad("tcp://127.0.0.1");
    parse_bad("tcp://127.0.0.1:");
    parse_bad("tcp://:80");
    parse_bad("tcp://::1:80");
    parse_bad("tcp://[::1]");
    parse_bad("tcp://[::1]80");
    parse_bad("tcp://[::1:80");
    parse_bad("tcp://[]:80");
    parse_bad("tcp://host:80x");
}

static void test_url_rejects_unknown_scheme(void **state)
{
    (void)state;
    parse_bad("http://127.0.0.1:80");
    parse_bad("VSOCK://3:1");
    parse_bad("");
    parse_bad("127.0.0.1:80");
    parse_bad(NULL);
}

static void test_url_reason_is_optional(void **state)
{
    (void)state;
    struct nsl_url url;
    assert_int_equal(nsl_url_parse("bogus", &url, NULL, 0), -1);
}

static void test_url_format_round_trips(void **state)
{
    (void)state;
    static const char *const texts[] = {"vsock://ANY:5000",   "vsock://3:5001",
                                        "unix:///tmp/x.sock", "tcp://127.0.0.1:8080",
                                        "tcp://[::1]:80",     "tcp://example.org:443"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct nsl_url url, again;
        char out[300];
        parse_ok(texts[i], &url);
        nsl_url_format(&url, out, sizeof out);
        assert_string_equal(out, texts[i]);
        parse_ok(out, &again);
        assert_memory_equal(&url, &again, sizeof url);
    }
    struct nsl_url url;
    parse_ok("vsock://any:7", &url);
    char out[64];
    nsl_url_format(&url, out, sizeof out);
    assert_string_equal(out, "vsock://ANY:7"); /* canonical spelling */
}

/* A fresh private directory for unix sockets. */
static int setup_dir(void **state)
{
    char *dir = strdup("/tmp/nsl-url-XXXXXX");
    if (!dir || !mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int teardown_dir(void **state)
{
    char *dir = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/s.sock", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/file", dir);
    unlink(path);
    rmdir(dir);
    free(dir);
    return 0;
}

static void unix_url(void **state, const char *name, struct nsl_url *url)
{
    char text[256];
    snprintf(text, sizeof text, "unix://%s/%s", (char *)*state, name);
    parse_ok(text, url);
}

/* Accepts one connection on the non-blocking listener lfd, waiting up to 5 s. */
static int accept_one(int lfd)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1)
        return -1;
    return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void assert_connected_pair(int lfd, int cfd)
{
    int afd = accept_one(lfd);
    assert_true(afd >= 0);
    assert_int_equal(write(cfd, "ping", 4), 4);
    char buf[8];
    assert_int_equal(read(afd, buf, sizeof buf), 4);
    assert_memory_equal(buf, "ping", 4);
    close(afd);
}

static void test_net_listen_and_connect_on_unix_socket(void **state)
{
    struct nsl_url url;
    unix_url(state, "s.sock", &url);
    int lfd = nsl_net_listen(&url, 8);
    assert_true(lfd >= 0);
    assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    int cfd = nsl_net_connect(&url, 2000);
    assert_true(cfd >= 0);
    assert_false(fcntl(cfd, F_GETFL) & O_NONBLOCK); /* connected sockets are blocking */
    assert_true(fcntl(cfd, F_GETFD) & FD_CLOEXEC);
    assert_connected_pair(lfd, cfd);
    close(cfd);
    close(lfd);
}

static void test_net_listen_replaces_stale_unix_socket(void **state)
{
    struct nsl_url url;
    unix_url(state, "s.sock", &url);
    int lfd = nsl_net_listen(&url, 8);
    assert_true(lfd >= 0);
    close(lfd); /* the socket file stays behind, with nobody listening */
    struct stat st;
    assert_int_equal(stat(url.path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    lfd = nsl_net_listen(&url, 8);
    assert_true(lfd >= 0);
    int cfd = nsl_net_connect(&url, 2000);
    assert_true(cfd >= 0);
    assert_connected_pair(lfd, cfd);
    close(cfd);
    close(lfd);
}

static void test_net_listen_refuses_live_unix_socket(void **state)
{
    struct nsl_url url;
    unix_url(state, "s.sock", &url);
    int lfd = nsl_net_listen(&url, 8);
    assert_true(lfd >= 0);
    errno = 0;
    assert_int_equal(nsl_net_listen(&url, 8), -1);
    assert_int_equal(errno, EADDRINUSE);
    /* The first listener still works. */
    int cfd = nsl_net_connect(&url, 2000);
    assert_true(cfd >= 0);
    close(cfd);
    close(lfd);
}

static void test_net_listen_never_unlinks_a_regular_file(void **state)
{
    struct nsl_url url;
    unix_url(state, "file", &url);
    int fd = open(url.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "data", 4), 4);
    close(fd);
    errno = 0;
    assert_int_equal(nsl_net_listen(&url, 8), -1);
    assert_int_equal(errno, EADDRINUSE);
    struct stat st;
    assert_int_equal(stat(url.path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 4);
}

static void test_net_connect_to_missing_unix_socket_fails(void **state)
{
    struct nsl_url url;
    unix_url(state, "s.sock", &url);
    errno = 0;
    assert_int_equal(nsl_net_connect(&url, 500), -1);
    assert_int_equal(errno, ENOENT);
}

static void test_net_listen_and_connect_on_tcp_loopback(void **state)
{
    (void)state;
    struct nsl_url url;
    parse_ok("tcp://127.0.0.1:0", &url);
    int lfd = nsl_net_listen(&url, 8);
    assert_true(lfd >= 0);
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
    assert_int_equal(sin.sin_family, AF_INET);
    assert_true(ntohs(sin.sin_port) != 0);
    url.port = ntohs(sin.sin_port);
    int cfd = nsl_net_connect(&url, 2000);
    assert_true(cfd >= 0);
    assert_connected_pair(lfd, cfd);
    close(cfd);
    close(lfd);
}

static void test_net_connect_to_closed_tcp_port_is_refused(void **state)
{
    (void)state;
    struct nsl_url url;
    parse_ok("tcp://127.0.0.1:0", &url);
    int lfd = nsl_net_listen(&url, 8);
    assert_true(lfd >= 0);
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
    close(lfd); /* the port is now free and nobody listens on it */
    url.port = ntohs(sin.sin_port);
    errno = 0;
    assert_int_equal(nsl_net_connect(&url, 2000), -1);
    assert_int_equal(errno, ECONNREFUSED);
}

/* Never connects: only checks that listening on vsock works where the kernel has vsock, and fails
 * cleanly with the socket's errno where it does not. */
static void test_net_listen_on_vsock_any(void **state)
{
    (void)state;
    int probe = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int probe_errno = errno;
    struct nsl_url url;
    parse_ok("vsock://ANY:0", &url);
    if (probe < 0) {
        if (probe_errno != EAFNOSUPPORT && probe_errno != ENODEV)
            fail_msg("socket(AF_VSOCK) failed with unexpected errno %d", probe_errno);
        errno = 0;
        assert_int_equal(nsl_net_listen(&url, 8), -1);
        assert_int_equal(errno, probe_errno);
        return;
    }
    close(probe);
    url.port = VMADDR_PORT_ANY; /* let the kernel pick a free port */
    int lfd = nsl_net_listen(&url, 8);
    if (lfd < 0)
        fail_msg("listen on vsock://ANY:%u failed: %s", url.port, strerror(errno));
    struct sockaddr_vm svm;
    socklen_t len = sizeof svm;
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&svm, &len), 0);
    assert_int_equal(svm.svm_family, AF_VSOCK);
    assert_true(svm.svm_port != VMADDR_PORT_ANY);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parses_vsock_any),
        cmocka_unit_test(test_url_parses_vsock_cid),
        cmocka_unit_test(test_url_rejects_bad_vsock),
        cmocka_unit_test(test_url_rejects_whitespace_before_numbers),
        cmocka_unit_test(test_url_parses_unix_absolute),
        cmocka_unit_test(test_url_rejects_unix_relative),
        cmocka_unit_test(test_url_unix_path_limit_is_107_bytes),
        cmocka_unit_test(test_url_parses_tcp_ipv4_and_ipv6),
        cmocka_unit_test(test_url_rejects_bad_tcp),
        cmocka_unit_test(test_url_rejects_unknown_scheme),
        cmocka_unit_test(test_url_reason_is_optional),
        cmocka_unit_test(test_url_format_round_trips),
        cmocka_unit_test_setup_teardown(test_net_listen_and_connect_on_unix_socket, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_net_listen_replaces_stale_unix_socket, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_net_listen_refuses_live_unix_socket, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_net_listen_never_unlinks_a_regular_file, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_net_connect_to_missing_unix_socket_fails, setup_dir,
                                        teardown_dir),
        cmocka_unit_test(test_net_listen_and_connect_on_tcp_loopback),
        cmocka_unit_test(test_net_connect_to_closed_tcp_port_is_refused),
        cmocka_unit_test(test_net_listen_on_vsock_any),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
