/* Integration test of nsl-parent against a fake enclave that lives in this process: a thread
 * that speaks frames on a unix socket, answers system.health, holds test.hold calls until a
 * test.release arrives (then answers them in reverse order), never answers test.silent, and can
 * be stopped and restarted. The real nsl-parent binary runs as a child process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/frame.h"
#include "common/url.h"

#define MAX_CONNS 64
#define MAX_HELD  16

struct fake_enclave {
    char path[200];
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;
    bool running;
};

struct conn_state {
    int fd;
    struct nsl_buf in;
    char *held[MAX_HELD]; /* ids of held test.hold calls */
    size_t nheld;
};

static struct {
    char dir[128];
    char enclave_url[256];
    char host_url[256];
    char host_path[200];
    int port;
    pid_t parent;
    struct fake_enclave fake;
} g;

static atomic_uint held_total; /* test.hold calls the fake has received */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- fake enclave ---- */

/* A success echoes the enclave id and the traceId the parent sent (when there was one). */
static void reply(int fd, const char *id, const char *trace, bool ok, const char *code)
{
    json_t *r = ok ? json_pack("{s:s,s:b,s:{s:s,s:s,s:s*}}", "id", id, "ok", 1, "result", "status",
                               "ok", "echo", id, "trace", trace)
                   : json_pack("{s:s,s:b,s:{s:s,s:s}}", "id", id, "ok", 0, "error", "code", code,
                               "message", "fake enclave says no");
    char *text = json_dumps(r, JSON_COMPACT);
    nsl_frame_send(fd, text, strlen(text));
    free(text);
    json_decref(r);
}

static void handle_frame(struct conn_state *c, const char *payload, size_t len)
{
    json_t *req = json_loadb(payload, len, 0, NULL);
    const char *id = json_string_value(json_object_get(req, "id"));
    const char *svc = json_string_value(json_object_get(req, "serviceType"));
    const char *op = json_string_value(json_object_get(req, "operation"));
    const char *trace = json_string_value(json_object_get(req, "traceId"));
    if (!id || !svc || !op) {
        const char *bad = "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"BAD_FRAME\","
                          "\"message\":\"bad\"}}";
        nsl_frame_send(c->fd, bad, strlen(bad));
    } else if (strcmp(svc, "system") == 0 && strcmp(op, "health") == 0) {
        reply(c->fd, id, trace, true, NULL);
    } else if (strcmp(svc, "test") == 0 && strcmp(op, "hold") == 0 && c->nheld < MAX_HELD) {
        c->held[c->nheld++] = strdup(id);
        atomic_fetch_add(&held_total, 1);
    } else if (strcmp(svc, "test") == 0 && strcmp(op, "release") == 0) {
        reply(c->fd, id, trace, true, NULL);
        while (c->nheld) {
            char *held = c->held[--c->nheld];
            reply(c->fd, held, NULL, true, NULL);
            free(held);
        }
    } else if (strcmp(svc, "test") == 0 && strcmp(op, "silent") == 0) {
        /* never answered */
    } else if (strcmp(svc, "test") == 0 && strcmp(op, "garbled") == 0) {
        char text[160]; /* its result is not JSON: the parent cannot trust this connection */
        int n =
            snprintf(text, sizeof text, "{\"id\":\"%s\",\"ok\":true,\"result\":{\"a\":tru}}", id);
        nsl_frame_send(c->fd, text, (size_t)n);
    } else if (strcmp(svc, "test") == 0 && strcmp(op, "noresult") == 0) {
        char text[120]; /* well-formed, but a success without a result */
        int n = snprintf(text, sizeof text, "{\"id\":\"%s\",\"ok\":true}", id);
        nsl_frame_send(c->fd, text, (size_t)n);
    } else if (strcmp(svc, "test") == 0 && strcmp(op, "denied") == 0) {
        reply(c->fd, id, NULL, false, "PERMISSION_DENIED");
    } else {
        reply(c->fd, id, NULL, false, "UNKNOWN_SERVICE");
    }
    json_decref(req);
}

/* Returns -1 when the connection should close. */
static int conn_read(struct conn_state *c)
{
    if (nsl_buf_reserve(&c->in, 65536) != 0)
        return -1;
    ssize_t n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
    if (n <= 0)
        return -1;
    c->in.len += (size_t)n;
    size_t plen;
    enum nsl_frame_status st;
    while ((st = nsl_frame_peek(c->in.data, c->in.len, 1 << 20, &plen)) == NSL_FRAME_READY) {
        handle_frame(c, (const char *)c->in.data + 4, plen);
        nsl_buf_consume(&c->in, plen + 4);
    }
    return st == NSL_FRAME_INVALID ? -1 : 0;
}

static void conn_close(struct conn_state *c)
{
    close(c->fd);
    nsl_buf_free(&c->in);
    while (c->nheld)
        free(c->held[--c->nheld]);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static void *fake_main(void *arg)
{
    struct fake_enclave *f = arg;
    struct conn_state conns[MAX_CONNS];
    for (int i = 0; i < MAX_CONNS; i++) {
        memset(&conns[i], 0, sizeof conns[i]);
        conns[i].fd = -1;
    }
    for (;;) {
        struct pollfd p[MAX_CONNS + 2];
        int map[MAX_CONNS + 2], n = 0;
        p[n] = (struct pollfd){.fd = f->stop_pipe[0], .events = POLLIN};
        map[n++] = -1;
        p[n] = (struct pollfd){.fd = f->listen_fd, .events = POLLIN};
        map[n++] = -1;
        for (int i = 0; i < MAX_CONNS; i++)
            if (conns[i].fd >= 0) {
                p[n] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
                map[n++] = i;
            }
        if (poll(p, (nfds_t)n, 1000) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (p[1].revents & POLLIN) {
            int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            for (int i = 0; fd >= 0 && i < MAX_CONNS; i++)
                if (conns[i].fd < 0) {
                    conns[i].fd = fd;
                    fd = -1;
                }
            if (fd >= 0)
                close(fd);
        }
        for (int k = 2; k < n; k++)
            if (p[k].revents && conn_read(&conns[map[k]]) != 0)
                conn_close(&conns[map[k]]);
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].fd >= 0)
            conn_close(&conns[i]);
    return NULL;
}

static void fake_start(struct fake_enclave *f)
{
    struct nsl_url url;
    assert_int_equal(nsl_url_parse(g.enclave_url, &url, NULL, 0), 0);
    f->listen_fd = nsl_net_listen(&url, 16);
    assert_true(f->listen_fd >= 0);
    assert_int_equal(pipe2(f->stop_pipe, O_CLOEXEC), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
    f->running = true;
}

static void fake_stop(struct fake_enclave *f)
{
    if (!f->running)
        return;
    char one = 1;
    assert_int_equal(write(f->stop_pipe[1], &one, 1), 1);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    close(f->stop_pipe[0]);
    close(f->stop_pipe[1]);
    unlink(f->path);
    f->running = false;
}

/* ---- HTTP client ---- */

struct http_reply {
    int status;
    char head[4096];
    char *body;
};

static int http_do(const char *method, const char *path, const char *headers, const char *body,
                   size_t body_len, struct http_reply *out)
{
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        close(fd);
        return -1;
    }
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, headers ? headers : "", body_len);
    send(fd, req, (size_t)n, MSG_NOSIGNAL);
    if (body_len)
        send(fd, body, body_len, MSG_NOSIGNAL);
    struct nsl_buf in = {0};
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, 10000) > 0) {
        nsl_buf_reserve(&in, 65536);
        ssize_t r = recv(fd, in.data + in.len, in.cap - in.len, 0);
        if (r <= 0)
            break;
        in.len += (size_t)r;
    }
    close(fd);
    nsl_buf_append_u8(&in, 0);
    char *text = (char *)in.data;
    char *sep = text ? strstr(text, "\r\n\r\n") : NULL;
    if (!sep || sscanf(text, "HTTP/1.1 %d", &out->status) != 1) {
        nsl_buf_free(&in);
        return -1;
    }
    snprintf(out->head, sizeof out->head, "%.*s", (int)(sep - text), text);
    out->body = strdup(sep + 4);
    nsl_buf_free(&in);
    return 0;
}

static json_t *rpc(const char *body, int *status)
{
    struct http_reply r;
    assert_int_equal(
        http_do("POST", "/v1/rpc", "Content-Type: application/json\r\n", body, strlen(body), &r),
        0);
    *status = r.status;
    json_t *v = json_loads(r.body, 0, NULL);
    free(r.body);
    return v;
}

static const char *error_code(const json_t *resp)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(resp, "error"), "data"), "code"));
}

static int healthz_status(void)
{
    struct http_reply r;
    if (http_do("GET", "/healthz", NULL, NULL, 0, &r) != 0)
        return -1;
    free(r.body);
    return r.status;
}

static bool wait_healthz(int want, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        if (healthz_status() == want)
            return true;
        poll(NULL, 0, 20);
    }
    return false;
}

/* ---- set-up ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    bind(fd, (struct sockaddr *)&sin, sizeof sin);
    getsockname(fd, (struct sockaddr *)&sin, &len);
    close(fd);
    return ntohs(sin.sin_port);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g.dir, sizeof g.dir, "/tmp/nslpt-XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    snprintf(g.fake.path, sizeof g.fake.path, "%s/enclave.sock", g.dir);
    snprintf(g.enclave_url, sizeof g.enclave_url, "unix://%s", g.fake.path);
    snprintf(g.host_path, sizeof g.host_path, "%s/host.sock", g.dir);
    snprintf(g.host_url, sizeof g.host_url, "unix://%s", g.host_path);
    fake_start(&g.fake);
    g.port = free_port();
    char bin[512], http[64], state_dir[256], log[256];
    const char *dir = getenv("NSL_BIN_DIR");
    snprintf(bin, sizeof bin, "%s/nsl-parent", dir ? dir : ".");
    snprintf(http, sizeof http, "127.0.0.1:%d", g.port);
    snprintf(state_dir, sizeof state_dir, "%s/state", g.dir);
    snprintf(log, sizeof log, "%s/parent.log", g.dir);
    /* Never the default vsock://ANY:5002: tests bind only their own sockets. */
    char egress[300];
    snprintf(egress, sizeof egress, "unix://%s/egress.sock", g.dir);
    g.parent = fork();
    if (g.parent == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        execl(bin, bin, "--enclave", g.enclave_url, "--host-listen", g.host_url, "--http", http,
              "--state", state_dir, "--max-body", "4096", "--max-batch", "5",
              "--request-timeout-ms", "500", "--enclave-connections", "2", "--log-level", "debug",
              "--egress-listen", egress, (char *)NULL);
        _exit(127);
    }
    assert_true(g.parent > 0);
    assert_true(wait_healthz(200, 10000));
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = 0;
    kill(g.parent, SIGTERM);
    assert_int_equal(waitpid(g.parent, &status, 0), g.parent);
    fake_stop(&g.fake);
    char log[256];
    snprintf(log, sizeof log, "%s/parent.log", g.dir);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "cat %s >&2", log);
        if (system(cmd) != 0)
            fprintf(stderr, "could not show %s\n", log);
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char path[256];
    unlink(log);
    snprintf(path, sizeof path, "%s/state", g.dir);
    rmdir(path);
    rmdir(g.dir);
    return 0;
}

/* ---- tests ---- */

static void test_gateway_healthz_ok(void **state)
{
    (void)state;
    struct http_reply r;
    assert_int_equal(http_do("GET", "/healthz", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\",\"enclave\":\"up\"}");
    free(r.body);
}

/* The X-Request-Id line of a response head ("" when there is none). */
static void response_request_id(const struct http_reply *r, char *out, size_t len)
{
    const char *h = strstr(r->head, "X-Request-Id: ");
    out[0] = 0;
    if (h)
        snprintf(out, len, "%.*s", (int)strcspn(h + 14, "\r\n"), h + 14);
}

static bool is_generated_id(const char *id)
{
    return strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16;
}

/* Posts one system.health call with extra headers; returns the X-Request-Id and the traceId the
 * fake enclave received. */
static void health_with_headers(const char *headers, char *rid, char *trace, size_t len)
{
    struct http_reply r;
    char all[512];
    snprintf(all, sizeof all, "Content-Type: application/json\r\n%s", headers);
    const char *body = "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"system.health\"}";
    assert_int_equal(http_do("POST", "/v1/rpc", all, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 200);
    response_request_id(&r, rid, len);
    json_t *v = json_loads(r.body, 0, NULL);
    const char *t = json_string_value(json_object_get(json_object_get(v, "result"), "trace"));
    snprintf(trace, len, "%s", t ? t : "");
    json_decref(v);
    free(r.body);
}

static void test_gateway_single_call_has_request_id(void **state)
{
    (void)state;
    struct http_reply r;
    const char *body = "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"system.health\"}";
    assert_int_equal(http_do("POST", "/v1/rpc",
                             "Content-Type: application/json\r\nAuthorization: NSL-APIKEY k1\r\n",
                             body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 200);
    char rid[128];
    response_request_id(&r, rid, sizeof rid);
    assert_true(is_generated_id(rid)); /* no X-Request-Id sent: 16 random hex characters */
    assert_non_null(strstr(r.head, "Content-Type: application/json"));
    json_t *v = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(v, "id")), "a");
    json_t *result = json_object_get(v, "result");
    assert_string_equal(json_string_value(json_object_get(result, "status")), "ok");
    /* The enclave request carried the same id as its traceId. */
    assert_string_equal(json_string_value(json_object_get(result, "trace")), rid);
    json_decref(v);
    free(r.body);
    /* Two requests get two different ids. */
    char rid2[128], trace2[128];
    health_with_headers("", rid2, trace2, sizeof rid2);
    assert_true(is_generated_id(rid2));
    assert_string_not_equal(rid, rid2);
}

static void test_gateway_client_request_id_is_kept(void **state)
{
    (void)state;
    char rid[128], trace[128];
    health_with_headers("X-Request-Id: client-Req_1.x\r\n", rid, trace, sizeof rid);
    assert_string_equal(rid, "client-Req_1.x");
    assert_string_equal(trace, "client-Req_1.x");
    char longest[80];
    memset(longest, 'a', 64);
    longest[64] = 0;
    char header[128];
    snprintf(header, sizeof header, "X-Request-Id: %s\r\n", longest);
    health_with_headers(header, rid, trace, sizeof rid);
    assert_string_equal(rid, longest);
    assert_string_equal(trace, longest);
}

/* Too long, a character outside [A-Za-z0-9._-], or empty: replaced by a generated id, and the
 * refusal is logged (without the value). */
static void test_gateway_bad_request_id_is_replaced(void **state)
{
    (void)state;
    char too_long[80];
    memset(too_long, 'b', 65);
    too_long[65] = 0;
    char header[160];
    const char *bad[] = {too_long, "has space", "quote\"", "slash/", "semi;colon", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char rid[128], trace[128];
        snprintf(header, sizeof header, "X-Request-Id: %s\r\n", bad[i]);
        health_with_headers(header, rid, trace, sizeof rid);
        if (!is_generated_id(rid))
            fail_msg("X-Request-Id \"%s\" came back as \"%s\"", bad[i], rid);
        assert_string_equal(trace, rid);
    }
    char log[256], cmd[400];
    snprintf(log, sizeof log, "%s/parent.log", g.dir);
    snprintf(cmd, sizeof cmd, "grep -c '\"event\":\"request_id_refused\"' '%s' | grep -qx '[6-9]'",
             log);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "grep -q 'has space' '%s'", log);
    assert_int_not_equal(system(cmd), 0); /* the refused value is never logged */
}

/* --http-threads 0 (the default) is one thread per online CPU, at most 4; a configured
 * --enclave-connections is kept. The started line says what was chosen. */
static void test_gateway_started_line_gives_thread_counts(void **state)
{
    (void)state;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long threads = cpus < 1 ? 1 : cpus > 4 ? 4 : cpus;
    char cmd[600];
    snprintf(cmd, sizeof cmd,
             "grep '\"event\":\"started\"' '%s/parent.log' | grep '\"http_threads\":\"%ld\"' | "
             "grep -q '\"enclave_connections\":\"2\"'",
             g.dir, threads);
    assert_int_equal(system(cmd), 0);
}

static void test_gateway_batch_is_pipelined_and_matched_out_of_order(void **state)
{
    (void)state;
    int status;
    json_t *v = rpc("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.hold\"},"
                    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test.hold\"},"
                    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"test.release\"},"
                    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"test.denied\"}]",
                    &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(v), 4);
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(v, i);
        assert_int_equal(json_integer_value(json_object_get(r, "id")), (json_int_t)i + 1);
        /* The fake echoes the enclave id: consecutive ids prove each got its own answer. */
        assert_non_null(json_object_get(json_object_get(r, "result"), "echo"));
    }
    const char *e1 =
        json_string_value(json_object_get(json_object_get(json_array_get(v, 0), "result"), "echo"));
    const char *e2 =
        json_string_value(json_object_get(json_object_get(json_array_get(v, 1), "result"), "echo"));
    assert_int_equal(strtoull(e2 + 2, NULL, 10), strtoull(e1 + 2, NULL, 10) + 1);
    /* Each call of a batch has its own traceId: "<request id>.<index in the batch>". */
    const char *trace = json_string_value(
        json_object_get(json_object_get(json_array_get(v, 2), "result"), "trace"));
    assert_non_null(trace);
    assert_int_equal(strlen(trace), 18);
    assert_string_equal(trace + 16, ".2");
    json_t *denied = json_array_get(v, 3);
    assert_string_equal(error_code(denied), "PERMISSION_DENIED");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(denied, "error"), "code")),
                     -32002);
    json_decref(v);
}

static void test_gateway_notifications_get_no_content(void **state)
{
    (void)state;
    struct http_reply r;
    const char *body = "[{\"jsonrpc\":\"2.0\",\"method\":\"system.health\"}]";
    assert_int_equal(http_do("POST", "/v1/rpc", NULL, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 204);
    assert_string_equal(r.body, "");
    free(r.body);
}

static void test_gateway_parse_and_request_errors(void **state)
{
    (void)state;
    int status;
    json_t *v = rpc("{nope", &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "error"), "code")),
                     -32700);
    assert_true(json_is_null(json_object_get(v, "id")));
    json_decref(v);
    v = rpc("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"nodot\"}", &status);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "error"), "code")),
                     -32600);
    assert_string_equal(error_code(v), "INVALID_REQUEST");
    json_decref(v);
    v = rpc("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"a.b\",\"params\":[1]}", &status);
    assert_string_equal(error_code(v), "INVALID_PARAMS");
    json_decref(v);
    v = rpc("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"nosuch.op\"}", &status);
    assert_string_equal(error_code(v), "UNKNOWN_SERVICE");
    json_decref(v);
}

/* The enclave's result text is copied, not rebuilt: a reply that is not well-formed JSON closes
 * its connection (the call gets UNAVAILABLE), a success without a result is INTERNAL, and the
 * gateway keeps serving. */
static void test_gateway_malformed_enclave_replies(void **state)
{
    (void)state;
    int status;
    json_t *v = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.garbled\"}", &status);
    assert_int_equal(status, 200);
    assert_string_equal(error_code(v), "UNAVAILABLE");
    json_decref(v);
    v = rpc("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test.noresult\"}", &status);
    assert_string_equal(error_code(v), "INTERNAL");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "error"), "code")),
                     -32603);
    json_decref(v);
    v = rpc("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"system.health\"}", &status);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "result"), "status")),
                        "ok");
    assert_string_equal(json_string_value(json_object_get(v, "id")), "x");
    assert_null(json_object_get(v, "error"));
    json_decref(v);
}

static void test_gateway_limits(void **state)
{
    (void)state;
    char big[5000];
    memset(big, ' ', sizeof big);
    memcpy(big, "{}", 2);
    struct http_reply r;
    assert_int_equal(http_do("POST", "/v1/rpc", NULL, big, sizeof big, &r), 0);
    assert_int_equal(r.status, 413);
    json_t *v = json_loads(r.body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "error"), "code")),
                     -32600);
    assert_string_equal(error_code(v), "LIMIT_EXCEEDED");
    json_decref(v);
    free(r.body);
    int status;
    v = rpc("[1,2,3,4,5,6]", &status);
    assert_true(json_is_object(v));
    assert_string_equal(error_code(v), "LIMIT_EXCEEDED");
    json_decref(v);
    assert_int_equal(http_do("POST", "/v1/rpc", "Content-Type: text/plain\r\n", "{}", 2, &r), 0);
    assert_int_equal(r.status, 415);
    free(r.body);
}

static void test_gateway_timeout(void **state)
{
    (void)state;
    int status;
    int64_t start = now_ms();
    json_t *v = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.silent\"}", &status);
    assert_string_equal(error_code(v), "TIMEOUT");
    assert_true(now_ms() - start >= 400);
    json_decref(v);
}

static void test_gateway_paths_and_methods(void **state)
{
    (void)state;
    struct http_reply r;
    assert_int_equal(http_do("GET", "/nowhere", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 404);
    free(r.body);
    assert_int_equal(http_do("GET", "/v1/rpc", "X-Request-Id: get-1\r\n", NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    char rid[128];
    response_request_id(&r, rid, sizeof rid); /* refused requests carry their id too */
    assert_string_equal(rid, "get-1");
    free(r.body);
}

static void test_gateway_metrics(void **state)
{
    (void)state;
    int status;
    json_decref(rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"zzz.unknown\"}", &status));
    struct http_reply r;
    assert_int_equal(http_do("GET", "/metrics", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body, "# TYPE nsl_http_requests_total counter"));
    assert_non_null(strstr(r.body, "nsl_http_requests_total{method=\"system.health\"}"));
    assert_non_null(strstr(r.body, "nsl_http_requests_total{method=\"unknown\"}"));
    assert_null(strstr(r.body, "zzz"));
    assert_non_null(strstr(r.body, "nsl_rpc_errors_total{code=\"TIMEOUT\"}"));
    assert_non_null(strstr(r.body, "nsl_enclave_rtt_seconds_count"));
    assert_non_null(strstr(r.body, "nsl_enclave_up 1"));
    assert_non_null(strstr(r.body, "nsl_http_open_connections"));
    free(r.body);
}

static bool health_call_ok(void)
{
    int status;
    json_t *v = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"system.health\"}", &status);
    bool ok = json_object_get(v, "result") != NULL;
    json_decref(v);
    return ok;
}

static void test_gateway_enclave_down_then_back(void **state)
{
    (void)state;
    fake_stop(&g.fake);
    int status;
    json_t *v = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"system.health\"}", &status);
    assert_string_equal(error_code(v), "UNAVAILABLE");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "error"), "code")),
                     -32009);
    json_decref(v);
    assert_true(wait_healthz(503, 5000));
    fake_start(&g.fake);
    int64_t deadline = now_ms() + 10000;
    while (!health_call_ok() && now_ms() < deadline)
        poll(NULL, 0, 20);
    assert_true(health_call_ok());
    assert_true(wait_healthz(200, 5000));
    struct http_reply r;
    assert_int_equal(http_do("GET", "/metrics", NULL, NULL, 0, &r), 0);
    assert_null(strstr(r.body, "nsl_enclave_reconnects_total 0"));
    free(r.body);
}

static void *hold_call(void *arg)
{
    int status;
    *(json_t **)arg = rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.hold\"}", &status);
    return NULL;
}

static void test_gateway_in_flight_request_fails_when_enclave_dies(void **state)
{
    (void)state;
    json_t *v = NULL;
    unsigned before = atomic_load(&held_total);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold_call, &v), 0);
    int64_t deadline = now_ms() + 5000;
    while (atomic_load(&held_total) == before && now_ms() < deadline)
        poll(NULL, 0, 5);
    assert_true(atomic_load(&held_total) > before);
    fake_stop(&g.fake); /* closes the connection the call is waiting on */
    pthread_join(t, NULL);
    assert_string_equal(error_code(v), "UNAVAILABLE");
    json_decref(v);
    fake_start(&g.fake);
}

static void test_gateway_host_channel_ping(void **state)
{
    (void)state;
    struct nsl_url url;
    assert_int_equal(nsl_url_parse(g.host_url, &url, NULL, 0), 0);
    int fd = nsl_net_connect(&url, 1000);
    assert_true(fd >= 0);
    const char *reqs[] = {
        "{\"id\":\"h-1\",\"serviceType\":\"host\",\"operation\":\"ping\",\"params\":{}}",
        "{\"id\":\"h-2\",\"serviceType\":\"host\",\"operation\":\"nope\",\"params\":{}}",
        "{\"id\":\"h-3\",\"serviceType\":\"host\",\"operation\":\"ping\",\"bogus\":1}",
        "{\"id\":\"h-4\",\"serviceType\":\"host\",\"operation\":\"ping\",\"traceId\":\"a b\"}",
        "{\"id\":\"h-5\",\"serviceType\":\"host\",\"operation\":\"ping\",\"traceId\":\"\"}",
        "{\"id\":\"h-6\",\"serviceType\":\"host\",\"operation\":\"ping\",\"traceId\":\"t.1\"}",
    };
    size_t count = sizeof reqs / sizeof reqs[0];
    for (size_t i = 0; i < count; i++) /* pipelined */
        assert_int_equal(nsl_frame_send(fd, reqs[i], strlen(reqs[i])), 0);
    const char *want[] = {
        NULL, "UNKNOWN_OPERATION", "INVALID_REQUEST", "INVALID_REQUEST", "INVALID_REQUEST", NULL};
    for (size_t i = 0; i < count; i++) {
        char *payload;
        size_t len;
        assert_int_equal(nsl_frame_recv(fd, 1 << 20, 5000, &payload, &len), 0);
        json_t *v = json_loads(payload, 0, NULL);
        char id[8];
        snprintf(id, sizeof id, "h-%zu", i + 1);
        assert_string_equal(json_string_value(json_object_get(v, "id")), id);
        if (want[i]) {
            assert_true(json_is_false(json_object_get(v, "ok")));
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(v, "error"), "code")), want[i]);
        } else {
            assert_true(json_is_true(json_object_get(v, "ok")));
            json_int_t t =
                json_integer_value(json_object_get(json_object_get(v, "result"), "time"));
            assert_true(t > (json_int_t)time(NULL) * 1000 - 60000);
        }
        json_decref(v);
        free(payload);
    }
    /* A zero-length frame is answered BAD_FRAME and the connection closed. */
    uint8_t zero[4] = {0};
    assert_int_equal(send(fd, zero, 4, MSG_NOSIGNAL), 4);
    char *payload;
    size_t len;
    assert_int_equal(nsl_frame_recv(fd, 1 << 20, 5000, &payload, &len), 0);
    assert_non_null(strstr(payload, "BAD_FRAME"));
    free(payload);
    assert_int_equal(nsl_frame_recv(fd, 1 << 20, 5000, &payload, &len), -1);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gateway_healthz_ok),
        cmocka_unit_test(test_gateway_single_call_has_request_id),
        cmocka_unit_test(test_gateway_client_request_id_is_kept),
        cmocka_unit_test(test_gateway_bad_request_id_is_replaced),
        cmocka_unit_test(test_gateway_started_line_gives_thread_counts),
        cmocka_unit_test(test_gateway_batch_is_pipelined_and_matched_out_of_order),
        cmocka_unit_test(test_gateway_malformed_enclave_replies),
        cmocka_unit_test(test_gateway_notifications_get_no_content),
        cmocka_unit_test(test_gateway_parse_and_request_errors),
        cmocka_unit_test(test_gateway_limits),
        cmocka_unit_test(test_gateway_timeout),
        cmocka_unit_test(test_gateway_paths_and_methods),
        cmocka_unit_test(test_gateway_metrics),
        cmocka_unit_test(test_gateway_enclave_down_then_back),
        cmocka_unit_test(test_gateway_in_flight_request_fails_when_enclave_dies),
        cmocka_unit_test(test_gateway_host_channel_ping),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
