/* Integration-test harness (see harness.h). */
#include "harness/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/frame.h"
#include "common/url.h"

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Slow runs (the daemons under valgrind) stretch the harness's own deadlines by
 * NSL_TEST_TIMEOUT_SCALE (a whole number, default 1). */
static int scaled(int ms)
{
    const char *v = getenv("NSL_TEST_TIMEOUT_SCALE");
    int k = v ? atoi(v) : 1;
    return k > 1 && k < 1000 ? ms * k : ms;
}

int nsl_wait_until(bool (*cond)(void *ctx), void *ctx, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    int pause_us = 1000;
    while (!cond(ctx)) {
        if (now_ms() > deadline)
            return -1;
        usleep((useconds_t)pause_us);
        if (pause_us < 50000)
            pause_us *= 2;
    }
    return 0;
}

const char *nsl_bin_path(const char *name, char *out, size_t len)
{
    const char *dir = getenv("NSL_BIN_DIR");
    snprintf(out, len, "%s/%s", dir ? dir : "build/bin", name);
    return out;
}

/* Ports handed out here come from below the kernel's ephemeral range (ip_local_port_range,
 * 32768-60999 by default), from which every bind to port 0 draws: between this check and the
 * daemon's own bind, a test server binding port 0 cannot take the port. */
#define FREE_PORT_FIRST 20000
#define FREE_PORT_COUNT 12000

static bool tcp_port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                              .sin_port = htons((uint16_t)port)};
    bool free_now = fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
    if (fd >= 0)
        close(fd);
    return free_now;
}

int nsl_free_tcp_port(void)
{
    static _Thread_local unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int tries = 0; tries < 1000; tries++) {
        int port = FREE_PORT_FIRST + (int)(rand_r(&seed) % FREE_PORT_COUNT);
        if (tcp_port_free(port))
            return port;
    }
    return -1;
}

int nsl_stack_init(struct nsl_stack *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/nsl-test-XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->enclave_url, sizeof s->enclave_url, "unix://%s/enclave.sock", s->dir);
    snprintf(s->host_url, sizeof s->host_url, "unix://%s/host.sock", s->dir);
    s->http_port = nsl_free_tcp_port();
    return s->http_port > 0 ? 0 : -1;
}

static pid_t spawn(const char *const *argv, const char *log_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

static size_t append_args(const char **argv, size_t n, const char *const *extra)
{
    for (size_t i = 0; extra[i] && i < 16; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return n;
}

struct connect_probe {
    const char *url;
    pid_t pid;
};

static bool daemon_gone(pid_t pid)
{
    int status;
    return waitpid(pid, &status, WNOHANG) == pid;
}

static bool enclave_accepts(void *ctx)
{
    struct connect_probe *p = ctx;
    int fd = nsl_test_connect(p->url);
    if (fd >= 0)
        close(fd);
    return fd >= 0 || daemon_gone(p->pid);
}

int nsl_stack_start_enclave(struct nsl_stack *s)
{
    char bin[512], log[300];
    nsl_bin_path("nsl-enclave", bin, sizeof bin);
    snprintf(log, sizeof log, "%s/enclave.log", s->dir);
    char egress[300];
    snprintf(egress, sizeof egress, "unix://%s/egress.sock", s->dir);
    const char *argv[40] = {bin,         "--mode",   "sim",          "--key-provider",
                            "sim",       "--listen", s->enclave_url, "--host-channel",
                            s->host_url, "--egress", egress};
    append_args(argv, 11, s->enclave_extra);
    s->enclave_pid = spawn(argv, log);
    if (s->enclave_pid < 0)
        return -1;
    struct connect_probe probe = {s->enclave_url, s->enclave_pid};
    if (nsl_wait_until(enclave_accepts, &probe, scaled(15000)) != 0 || kill(s->enclave_pid, 0) != 0)
        return -1;
    return 0;
}

static bool parent_healthy(void *ctx)
{
    struct nsl_stack *s = ctx;
    int status = 0;
    char *body = NULL;
    int rc = nsl_http_request(s->http_port, "GET", "/healthz", NULL, NULL, &status, &body);
    free(body);
    /* Without an enclave the parent is up once it answers at all (503: enclave down). */
    bool up = rc == 0 && (status == 200 || s->enclave_pid == 0);
    return up || kill(s->parent_pid, 0) != 0;
}

int nsl_stack_start_parent(struct nsl_stack *s)
{
    char bin[512], log[300], http[64];
    nsl_bin_path("nsl-parent", bin, sizeof bin);
    snprintf(log, sizeof log, "%s/parent.log", s->dir);
    snprintf(http, sizeof http, "127.0.0.1:%d", s->http_port);
    char egress[300];
    snprintf(egress, sizeof egress, "unix://%s/egress.sock", s->dir);
    const char *argv[40] = {bin,         "--enclave",      s->enclave_url, "--host-listen",
                            s->host_url, "--http",         http,           "--state",
                            s->dir,      "--key-provider", "sim",          "--egress-listen",
                            egress};
    append_args(argv, 13, s->parent_extra);
    s->parent_pid = spawn(argv, log);
    if (s->parent_pid < 0)
        return -1;
    if (nsl_wait_until(parent_healthy, s, scaled(15000)) != 0 || kill(s->parent_pid, 0) != 0)
        return -1;
    return 0;
}

int nsl_stack_kill(pid_t *pid, int sig)
{
    if (*pid <= 0)
        return 0;
    int status = 0;
    kill(*pid, sig);
    long deadline = now_ms() + scaled(10000);
    while (waitpid(*pid, &status, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(*pid, SIGKILL);
            waitpid(*pid, &status, 0);
            break;
        }
        usleep(2000);
    }
    *pid = 0;
    return status;
}

static void remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (getenv("NSL_KEEP_TEST_DIR") == NULL && system(cmd) != 0)
        fprintf(stderr, "harness: could not remove %s\n", dir);
}

static void show_log(const char *dir, const char *name)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "tail -n 30 '%s/%s' >&2", dir, name);
    if (system(cmd) != 0)
        fprintf(stderr, "harness: no %s\n", name);
}

int nsl_stack_stop(struct nsl_stack *s)
{
    int parent = nsl_stack_kill(&s->parent_pid, SIGTERM);
    int enclave = nsl_stack_kill(&s->enclave_pid, SIGTERM);
    int clean = WIFEXITED(parent) && WEXITSTATUS(parent) == 0 && WIFEXITED(enclave) &&
                WEXITSTATUS(enclave) == 0;
    if (!clean) {
        fprintf(stderr, "harness: unclean exit (parent status %d, enclave status %d)\n", parent,
                enclave);
        show_log(s->dir, "parent.log");
        show_log(s->dir, "enclave.log");
    }
    remove_dir(s->dir);
    return clean ? 0 : -1;
}

int nsl_test_connect(const char *url)
{
    struct nsl_url u;
    if (nsl_url_parse(url, &u, NULL, 0) != 0)
        return -1;
    return nsl_net_connect(&u, 2000);
}

int nsl_test_roundtrip(int fd, const char *json, char **response)
{
    size_t len;
    if (nsl_frame_send(fd, json, strlen(json)) != 0)
        return -1;
    return nsl_frame_recv(fd, 16u << 20, scaled(10000), response, &len);
}

static int read_http_response(int fd, int *status, char **head, char **body)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return -1;
    long deadline = now_ms() + scaled(10000);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        if (len == cap) {
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger)
                break;
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (sscanf(buf, "HTTP/1.%*d %d", status) != 1 || !sep) {
        free(buf);
        return -1;
    }
    *body = strdup(sep + 4);
    if (head)
        *head = strndup(buf, (size_t)(sep - buf));
    free(buf);
    if (head && !*head) {
        free(*body);
        *body = NULL;
    }
    return *body ? 0 : -1;
}

int nsl_http_request(int port, const char *method, const char *path, const char *headers,
                     const char *body, int *status, char **response_body)
{
    return nsl_http_exchange(port, method, path, headers, body, status, NULL, response_body);
}

int nsl_http_exchange(int port, const char *method, const char *path, const char *headers,
                      const char *body, int *status, char **response_head, char **response_body)
{
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
    int fd = nsl_test_connect(url);
    if (fd < 0)
        return -1;
    size_t blen = body ? strlen(body) : 0;
    char head[2048];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, headers ? headers : "",
                     body ? "Content-Type: application/json\r\n" : "", blen);
    int rc = -1;
    if (n > 0 && (size_t)n < sizeof head && send(fd, head, (size_t)n, MSG_NOSIGNAL) == n &&
        (blen == 0 || send(fd, body, blen, MSG_NOSIGNAL) == (ssize_t)blen))
        rc = read_http_response(fd, status, response_head, response_body);
    close(fd);
    return rc;
}

static bool storage_ready(void *ctx)
{
    int fd = *(int *)ctx;
    char *text = NULL;
    bool ready = nsl_test_roundtrip(fd,
                                    "{\"id\":\"h\",\"serviceType\":\"system\","
                                    "\"operation\":\"health\"}",
                                    &text) == 0 &&
                 strstr(text, "\"state\":\"ready\"") != NULL;
    free(text);
    return ready;
}

int nsl_wait_storage_ready(int fd, int timeout_ms)
{
    return nsl_wait_until(storage_ready, &fd, scaled(timeout_ms));
}
