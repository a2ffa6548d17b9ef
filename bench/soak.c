/* make soak (issue 11): NSL_SOAK_CLIENTS (1000) concurrent clients, each with one request in
 * flight, run a mixed workload for NSL_SOAK_SECONDS (300) against a dev stack: most on their own
 * connection to the enclave socket, NSL_SOAK_HTTP_CLIENTS (100) through the parent's HTTP gateway
 * with keep-alive. One epoll loop drives them all. Every 10 s it samples RSS (/proc/PID/status
 * VmRSS) and open descriptors (/proc/PID/fd) of nsl-enclave and nsl-parent. At the end it prints
 * throughput, p50/p99 latency and errors by code (over the time after warm-up), and the growth
 * between the first sample after warm-up (NSL_SOAK_WARMUP_SECONDS, default min(30, seconds/3))
 * and the last; it writes everything to argv[1] (build/soak.json) and fails when any request
 * failed, when a daemon's RSS grew by more than NSL_SOAK_RSS_TOLERANCE_KB (8192: allocator
 * arenas and SQLite's page cache settle in steps of a few MiB), or when its descriptors grew. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/frame.h"
#include "common/log.h"
#include "harness/bench.h"
#include "harness/client.h"
#include "harness/harness.h"

#define USERS        20
#define SAMPLE_EVERY 10.0
#define MAX_SAMPLES  1024
#define MAX_CODES    24

static struct nsl_stack stack;
static struct nsl_client client;
static char op_key[128];
static struct {
    char key[128], id[64], key_id[64];
} users[USERS];

struct sample {
    double t;
    long rss_kb[2], fds[2]; /* [0] enclave, [1] parent */
};

struct soak_conn {
    int fd, id, user;
    enum nsl_load_protocol protocol;
    struct nsl_buf in, out;
    double sent;
    char method[48]; /* of the request in flight */
    unsigned seed;
    long serial;
};

static struct {
    int seconds, warmup, clients, http_clients;
    long rss_tolerance_kb;
    double start;
    uint32_t *latency_us; /* post-warm-up answers */
    size_t nlat, caplat;
    long total, measured, failed;
    char codes[MAX_CODES][80]; /* answers by code */
    long code_count[MAX_CODES];
    char failures[MAX_CODES][80]; /* failed answers by "operation code" */
    long failure_count[MAX_CODES];
    char ops[MAX_CODES][80]; /* answers by operation, with their summed latency */
    long op_count[MAX_CODES];
    double op_seconds[MAX_CODES];
    struct sample samples[MAX_SAMPLES];
    int nsamples;
} s;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

/* ---- the stack's users ---- */

static void prepare(void)
{
    struct nsl_secret *admin = NULL;
    char admin_id[64];
    nsl_client_bootstrap(&client, &admin, admin_id, sizeof admin_id);
    struct nsl_signing sig = {.key = admin, .account = admin_id};
    json_t *reply = nsl_client_signed(&client, &sig, "account", "create",
                                      "{\"name\":\"operator\",\"roles\":[\"operator\"]}");
    nsl_client_copy_string(reply, "apiKey", op_key, sizeof op_key);
    json_decref(reply);
    for (int i = 0; i < USERS; i++) {
        char params[64];
        snprintf(params, sizeof params, "{\"name\":\"soak%d\"}", i);
        reply = nsl_client_signed(&client, &sig, "account", "create", params);
        nsl_client_copy_string(reply, "apiKey", users[i].key, sizeof users[i].key);
        nsl_client_copy_string(reply, "accountId", users[i].id, sizeof users[i].id);
        json_decref(reply);
        reply = nsl_client_apikey(&client, users[i].key, "wallet", "create", NULL);
        nsl_client_copy_string(reply, "keyId", users[i].key_id, sizeof users[i].key_id);
        json_decref(reply);
        reply = nsl_client_apikey(&client, users[i].key, "function", "deploy",
                                  "{\"name\":\"soak\",\"source\":\"function main(a) { return "
                                  "{v: a.x + 1}; }\"}");
        nsl_client_result(reply);
        json_decref(reply);
    }
    nsl_secret_free(admin);
}

/* ---- requests: a mixed workload, chosen per request ---- */

/* The operation and params of the next request of c; *key gets the API key to use. */
static void next_call(struct soak_conn *c, char *method, char *params, size_t len, const char **key)
{
    int pick = (int)(rand_r(&c->seed) % 100);
    const char *k = users[c->user].key;
    long n = c->serial++;
    if (pick < 30) {
        strcpy(method, "wallet.signMessage");
        snprintf(params, len, "{\"keyId\":\"%s\",\"message\":\"%08lx\"}", users[c->user].key_id, n);
    } else if (pick < 45) {
        strcpy(method, "account.whoami");
        snprintf(params, len, "{}");
    } else if (pick < 55) {
        strcpy(method, "secrets.put");
        snprintf(params, len, "{\"name\":\"c%d\",\"value\":\"soak-%d-%ld\"}", c->id, c->id, n);
    } else if (pick < 70) {
        /* "base" was put for every user before the clock started, so a get never misses. */
        strcpy(method, "secrets.get");
        snprintf(params, len, "{\"name\":\"base\"}");
    } else if (pick < 80) {
        strcpy(method, "gasbank.balance");
        snprintf(params, len, "{}");
    } else if (pick < 88) {
        strcpy(method, "gasbank.deposit");
        snprintf(params, len,
                 "{\"accountId\":\"%s\",\"amount\":\"1000\",\"txHash\":\"%032x%032lx\"}",
                 users[c->user].id, (unsigned)c->id, n);
        k = op_key;
    } else if (pick < 93) {
        strcpy(method, "function.invoke");
        snprintf(params, len, "{\"name\":\"soak\",\"args\":{\"x\":%ld}}", n);
    } else {
        strcpy(method, "system.health");
        snprintf(params, len, "{}");
    }
    *key = k;
}

static void queue_request(struct soak_conn *c)
{
    char method[48], params[512], text[1024];
    const char *key;
    next_call(c, method, params, sizeof params, &key);
    snprintf(c->method, sizeof c->method, "%s", method);
    if (c->protocol == NSL_LOAD_FRAMES) {
        char *dot = strchr(method, '.');
        *dot = 0;
        int n = snprintf(text, sizeof text,
                         "{\"id\":\"s\",\"serviceType\":\"%s\",\"operation\":\"%s\",\"params\":%s,"
                         "\"auth\":{\"scheme\":\"apikey\",\"apiKey\":\"%s\"}}",
                         method, dot + 1, params, key);
        nsl_frame_append(&c->out, text, (size_t)n);
    } else {
        char body[640];
        int blen = snprintf(body, sizeof body,
                            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
                            method, params);
        int n = snprintf(text, sizeof text,
                         "POST /v1/rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                         "application/json\r\nAuthorization: NSL-APIKEY %s\r\nContent-Length: "
                         "%d\r\n\r\n%s",
                         key, blen, body);
        nsl_buf_append(&c->out, text, (size_t)n);
    }
    c->sent = now_s();
}

/* ---- answers ---- */

/* Counts name in a small table; returns its slot (-1 when the table is full). */
static int count(char (*names)[80], long *counts, size_t name_len, const char *name)
{
    for (int i = 0; i < MAX_CODES; i++) {
        if (!names[i][0])
            snprintf(names[i], name_len, "%s", name);
        if (strcmp(names[i], name) == 0) {
            counts[i]++;
            return i;
        }
    }
    return -1;
}

/* The error code of one answer ("OK" on success). */
static const char *answer_code(const struct soak_conn *c, const char *data, size_t len)
{
    static char code[32];
    const char *body = data + 4;
    size_t blen = len - 4;
    if (c->protocol == NSL_LOAD_HTTP) {
        const char *end = memmem(data, len, "\r\n\r\n", 4);
        body = end + 4;
        blen = len - (size_t)(body - data);
    }
    json_t *j = json_loadb(body, blen, 0, NULL);
    json_t *err = json_object_get(j, "error");
    if (c->protocol == NSL_LOAD_HTTP)
        err = json_object_get(err, "data");
    const char *got = !j    ? "UNPARSABLE"
                      : err ? json_string_value(json_object_get(err, "code"))
                            : "OK";
    snprintf(code, sizeof code, "%s", got ? got : "NO_CODE");
    json_decref(j);
    return code;
}

static void record_answer(const struct soak_conn *c, const char *code, double now)
{
    s.total++;
    if (now - s.start < s.warmup)
        return;
    s.measured++;
    int op = count(s.ops, s.op_count, sizeof s.ops[0], c->method);
    if (op >= 0)
        s.op_seconds[op] += now - c->sent;
    count(s.codes, s.code_count, sizeof s.codes[0], code);
    if (strcmp(code, "OK") != 0) {
        char what[80];
        snprintf(what, sizeof what, "%s %s", c->method, code);
        count(s.failures, s.failure_count, sizeof s.failures[0], what);
        s.failed++;
    }
    if (s.nlat == s.caplat) {
        s.caplat = s.caplat ? s.caplat * 2 : 1 << 16;
        s.latency_us = realloc(s.latency_us, s.caplat * sizeof *s.latency_us);
    }
    s.latency_us[s.nlat++] = (uint32_t)((now - c->sent) * 1e6);
}

/* Reads what is there and answers each whole response with the next request; -1 when the
 * connection broke (counted as a failure: a soak never expects one). */
static int on_readable(struct soak_conn *c)
{
    for (;;) {
        if (nsl_buf_reserve(&c->in, 65536) != 0)
            return -1;
        ssize_t n = recv(c->fd, c->in.data + c->in.len, 65536, MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0)
            return -1;
        c->in.len += (size_t)n;
    }
    long len;
    while ((len = nsl_load_response_length(c->protocol, &c->in)) > 0) {
        double now = now_s();
        record_answer(c, answer_code(c, (const char *)c->in.data, (size_t)len), now);
        nsl_buf_consume(&c->in, (size_t)len);
        queue_request(c);
    }
    return len < 0 ? -1 : 0;
}

static int flush(struct soak_conn *c)
{
    while (c->out.len) {
        ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0)
            return -1;
        nsl_buf_consume(&c->out, (size_t)n);
    }
    return 0;
}

/* ---- process samples ---- */

static void take_sample(double now)
{
    if (s.nsamples == MAX_SAMPLES)
        return;
    struct sample *p = &s.samples[s.nsamples++];
    p->t = now - s.start;
    pid_t pids[2] = {stack.enclave_pid, stack.parent_pid};
    for (int i = 0; i < 2; i++) {
        p->rss_kb[i] = nsl_process_status(pids[i], "VmRSS");
        p->fds[i] = nsl_process_open_fds(pids[i]);
    }
    printf("  t=%5.0fs  requests %8ld  enclave rss %7ld kB fds %5ld  parent rss %7ld kB fds "
           "%5ld\n",
           p->t, s.total, p->rss_kb[0], p->fds[0], p->rss_kb[1], p->fds[1]);
    fflush(stdout);
}

/* ---- the run ---- */

static struct soak_conn *open_clients(int ep)
{
    struct soak_conn *conns = calloc((size_t)s.clients, sizeof *conns);
    char http_url[64];
    snprintf(http_url, sizeof http_url, "tcp://127.0.0.1:%d", stack.http_port);
    for (int i = 0; i < s.clients; i++) {
        struct soak_conn *c = &conns[i];
        c->id = i;
        c->user = i % USERS;
        c->seed = (unsigned)i * 2654435761u;
        c->protocol = i < s.http_clients ? NSL_LOAD_HTTP : NSL_LOAD_FRAMES;
        c->fd = nsl_test_connect(c->protocol == NSL_LOAD_HTTP ? http_url : stack.enclave_url);
        assert_true(c->fd >= 0);
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
        assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev), 0);
    }
    return conns;
}

/* Every user's secret "base", read by the workload's gets. */
static void put_base_secrets(void)
{
    for (int i = 0; i < USERS; i++) {
        json_t *reply = nsl_client_apikey(&client, users[i].key, "secrets", "put",
                                          "{\"name\":\"base\",\"value\":\"soak-base\"}");
        nsl_client_result(reply);
        json_decref(reply);
    }
}

static void drive(struct soak_conn *conns, int ep)
{
    for (int i = 0; i < s.clients; i++) {
        queue_request(&conns[i]);
        assert_int_equal(flush(&conns[i]), 0);
    }
    struct epoll_event events[256];
    double next_sample = s.start, end = s.start + s.seconds;
    for (;;) {
        double now = now_s();
        if (now >= next_sample) {
            take_sample(now);
            next_sample += SAMPLE_EVERY;
        }
        if (now >= end)
            break;
        int n = epoll_wait(ep, events, 256, 100);
        for (int i = 0; i < n; i++) {
            struct soak_conn *c = events[i].data.ptr;
            if (((events[i].events & EPOLLIN) && on_readable(c) != 0) || flush(c) != 0)
                fail_msg("client %d: connection broke (%s)", c->id,
                         c->protocol == NSL_LOAD_HTTP ? "http" : "enclave socket");
        }
    }
    take_sample(now_s());
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_ms(double q)
{
    if (!s.nlat)
        return -1;
    size_t i = (size_t)(q * (double)(s.nlat - 1));
    return s.latency_us[i] / 1000.0;
}

/* The first sample at or after warm-up, and the last. */
static void growth(int *first, int *last)
{
    *last = s.nsamples - 1;
    *first = *last;
    for (int i = 0; i < s.nsamples; i++)
        if (s.samples[i].t >= s.warmup) {
            *first = i;
            break;
        }
}

static json_t *report(double rps, bool *pass)
{
    int a, b;
    growth(&a, &b);
    json_t *samples = json_array(), *errors = json_object(), *failures = json_object(),
           *ops = json_object();
    for (int i = 0; i < MAX_CODES && s.ops[i][0]; i++)
        json_object_set_new(ops, s.ops[i],
                            json_pack("{s:I, s:f}", "answers", (json_int_t)s.op_count[i], "meanMs",
                                      s.op_seconds[i] * 1000 / (double)s.op_count[i]));
    for (int i = 0; i < s.nsamples; i++) {
        const struct sample *p = &s.samples[i];
        json_array_append_new(samples, json_pack("{s:f, s:I, s:I, s:I, s:I}", "t", p->t,
                                                 "enclaveRssKb", (json_int_t)p->rss_kb[0],
                                                 "enclaveFds", (json_int_t)p->fds[0], "parentRssKb",
                                                 (json_int_t)p->rss_kb[1], "parentFds",
                                                 (json_int_t)p->fds[1]));
    }
    for (int i = 0; i < MAX_CODES && s.codes[i][0]; i++)
        if (strcmp(s.codes[i], "OK") != 0)
            json_object_set_new(errors, s.codes[i], json_integer(s.code_count[i]));
    for (int i = 0; i < MAX_CODES && s.failures[i][0]; i++)
        json_object_set_new(failures, s.failures[i], json_integer(s.failure_count[i]));
    long rss_growth[2], fd_growth[2];
    const char *names[2] = {"nsl-enclave", "nsl-parent"};
    *pass = s.failed == 0 && s.measured > 0;
    for (int i = 0; i < 2; i++) {
        rss_growth[i] = s.samples[b].rss_kb[i] - s.samples[a].rss_kb[i];
        fd_growth[i] = s.samples[b].fds[i] - s.samples[a].fds[i];
        bool ok = rss_growth[i] <= s.rss_tolerance_kb && fd_growth[i] <= 0;
        printf("  %-12s rss %+ld kB (tolerance %ld kB), fds %+ld, from t=%.0fs to t=%.0fs: %s\n",
               names[i], rss_growth[i], s.rss_tolerance_kb, fd_growth[i], s.samples[a].t,
               s.samples[b].t, ok ? "ok" : "GREW");
        *pass = *pass && ok;
    }
    return json_pack(
        "{s:i, s:i, s:i, s:i, s:I, s:I, s:f, s:f, s:f, s:o, s:o, s:o, s:o, s:{s:I, s:I, "
        "s:I, s:I, s:I}, s:b}",
        "seconds", s.seconds, "warmupSeconds", s.warmup, "clients", s.clients, "httpClients",
        s.http_clients, "requests", (json_int_t)s.total, "measuredRequests", (json_int_t)s.measured,
        "throughputPerSec", rps, "p50Ms", percentile_ms(0.50), "p99Ms", percentile_ms(0.99),
        "errors", errors, "errorsByOperation", failures, "operations", ops, "samples", samples,
        "growth", "enclaveRssKb", (json_int_t)rss_growth[0], "enclaveFds", (json_int_t)fd_growth[0],
        "parentRssKb", (json_int_t)rss_growth[1], "parentFds", (json_int_t)fd_growth[1],
        "rssToleranceKb", (json_int_t)s.rss_tolerance_kb, "pass", *pass);
}

static void run(void **state)
{
    (void)state;
    prepare();
    put_base_secrets();
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct soak_conn *conns = open_clients(ep);
    printf("soak: %d clients (%d over HTTP keep-alive), %d s, warm-up %d s\n", s.clients,
           s.http_clients, s.seconds, s.warmup);
    s.start = now_s();
    drive(conns, ep);
    double rps = (double)s.measured / (s.seconds - s.warmup);
    qsort(s.latency_us, s.nlat, sizeof *s.latency_us, compare_u32);
    printf("  throughput %.0f requests/s, p50 %.2f ms, p99 %.2f ms (after warm-up, %ld requests)\n",
           rps, percentile_ms(0.50), percentile_ms(0.99), s.measured);
    for (int i = 0; i < MAX_CODES && s.codes[i][0]; i++)
        printf("  %-20s %ld\n", s.codes[i], s.code_count[i]);
    for (int i = 0; i < MAX_CODES && s.failures[i][0]; i++)
        printf("  failed: %-40s %ld\n", s.failures[i], s.failure_count[i]);
    for (int i = 0; i < MAX_CODES && s.ops[i][0]; i++)
        printf("  %-20s %8ld answers, mean %.1f ms\n", s.ops[i], s.op_count[i],
               s.op_seconds[i] * 1000 / (double)s.op_count[i]);
    bool pass;
    json_t *out = report(rps, &pass);
    const char *path = getenv("NSL_SOAK_JSON");
    if (json_dump_file(out, path, JSON_INDENT(2)) != 0)
        fprintf(stderr, "soak: could not write %s\n", path);
    printf("soak: %s (written to %s)\n", pass ? "PASS" : "FAIL", path);
    json_decref(out);
    for (int i = 0; i < s.clients; i++) {
        close(conns[i].fd);
        nsl_buf_free(&conns[i].in);
        nsl_buf_free(&conns[i].out);
    }
    free(conns);
    free(s.latency_us);
    close(ep);
    assert_true(pass);
}

static int setup(void **state)
{
    (void)state;
    nsl_log_init("soak", NSL_LOG_ERROR);
    s.seconds = env_int("NSL_SOAK_SECONDS", 300);
    s.warmup = env_int("NSL_SOAK_WARMUP_SECONDS", s.seconds / 3 < 30 ? s.seconds / 3 : 30);
    s.clients = env_int("NSL_SOAK_CLIENTS", 1000);
    s.http_clients = env_int("NSL_SOAK_HTTP_CLIENTS", 100);
    s.rss_tolerance_kb = env_int("NSL_SOAK_RSS_TOLERANCE_KB", 8192);
    if (s.seconds < s.warmup + SAMPLE_EVERY || s.http_clients > s.clients || s.clients < 1) {
        fprintf(stderr, "soak: NSL_SOAK_SECONDS must exceed the warm-up by 10 s (two samples to "
                        "compare), and 1 <= HTTP clients <= clients\n");
        return -1;
    }
    /* A descriptor per client, and the daemons' own. */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    client.fd = nsl_bench_stack_up(&stack);
    if (client.fd >= 0)
        return 0;
    nsl_stack_stop(&stack); /* cmocka runs no teardown after a failed setup */
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    close(client.fd);
    return nsl_stack_stop(&stack);
}

int main(int argc, char **argv)
{
    setenv("NSL_SOAK_JSON", argc > 1 ? argv[1] : "build/soak.json", 1);
    const struct CMUnitTest tests[] = {cmocka_unit_test(run)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
