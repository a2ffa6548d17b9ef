/* make bench, wallet figures (issue 5): wallet.signMessage per second over the enclave socket
 * (one request in flight per connection, and pipelined as the parent's pool uses it) and through
 * the HTTP gateway (one call per request, the headline, and JSON-RPC batches of BATCH calls), per
 * CPU-second the server side used, beside `openssl speed ecdsap256` signatures per second (one
 * core) measured in the same run; the ceilings those figures can reach with this design; and the
 * whole machine's signatures per second beside `openssl speed -multi <cores>`. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/frame.h"
#include "common/json.h"
#include "common/log.h"
#include "harness/bench.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "neo/key.h"

#define CLIENTS          50
#define POOL_CONNECTIONS 8
#define POOL_DEPTH       16
#define BATCH            10 /* calls in one JSON-RPC batch request */

static struct nsl_stack stack;
static struct nsl_client client;
static char api_key[128], key_id[40];

/* An admin, a user with an API key, and one wallet key of that user. */
static void prepare(void)
{
    struct nsl_secret *admin = NULL;
    char admin_id[64];
    nsl_client_bootstrap(&client, &admin, admin_id, sizeof admin_id);
    struct nsl_signing s = {.key = admin, .account = admin_id};
    nsl_client_create_user(&client, &s, "bench", api_key, sizeof api_key);
    json_t *reply = nsl_client_apikey(&client, api_key, "wallet", "create", NULL);
    nsl_client_copy_string(reply, "keyId", key_id, sizeof key_id);
    json_decref(reply);
    nsl_secret_free(admin);
}

/* Writes one signMessage call with id followed by a comma into out; returns its length. */
static size_t sign_call(char *out, size_t len, int id)
{
    int n = snprintf(out, len,
                     "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"wallet.signMessage\","
                     "\"params\":{\"keyId\":\"%s\",\"message\":\"68656c6c6f\"}},",
                     id, key_id);
    assert_true(n > 0 && (size_t)n < len);
    return (size_t)n;
}

/* Writes the HTTP request carrying body[0, len) into out; returns its length. */
static size_t http_request(char *out, size_t size, char *body, size_t len)
{
    if (body[len - 1] == ',')
        len--; /* a single call: without sign_call's comma */
    int n = snprintf(out, size,
                     "POST /v1/rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     "application/json\r\nAuthorization: NSL-APIKEY %s\r\nContent-Length: "
                     "%zu\r\n\r\n%.*s",
                     api_key, len, (int)len, body);
    assert_true(n > 0 && (size_t)n < size);
    return (size_t)n;
}

/* Runs load and returns requests per CPU-second of the given processes. */
static double per_cpu_second(struct nsl_load *load, pid_t a, pid_t b)
{
    double before = nsl_process_cpu_seconds(a) + (b ? nsl_process_cpu_seconds(b) : 0);
    double rate = nsl_load_run(load);
    double after = nsl_process_cpu_seconds(a) + (b ? nsl_process_cpu_seconds(b) : 0);
    double cpu = after - before;
    /* The load ran for the warm-up plus the measured time; rate covers the measured part. */
    double wall = load->seconds + 0.5;
    if (rate <= 0 || cpu <= 0 || load->failures)
        return -1;
    return rate * load->seconds / (cpu * load->seconds / wall);
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Seconds one parse (and free) of the request costs the enclave, with its own parser. */
static double parse_seconds(const char *request, size_t len)
{
    const int rounds = 100000;
    double start = now_seconds();
    for (int i = 0; i < rounds; i++) {
        struct nsl_error err;
        json_decref(nsl_json_parse_object(request, len, NSL_ERR_BAD_FRAME, &err));
    }
    return (now_seconds() - start) / rounds;
}

/* Seconds of one recv plus one send of len bytes on a unix stream socket, in one thread (no
 * wake-ups, so less than the server pays per request that is not pipelined). */
static double syscall_seconds(size_t len)
{
    int sv[2];
    char buf[1024];
    if (len > sizeof buf || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    memset(buf, 'x', sizeof buf);
    const int rounds = 100000;
    double start = now_seconds();
    for (int i = 0; i < rounds; i++)
        if (send(sv[0], buf, len, 0) != (ssize_t)len ||
            recv(sv[1], buf, len, MSG_WAITALL) != (ssize_t)len)
            break;
    double t = (now_seconds() - start) / rounds;
    close(sv[0]);
    close(sv[1]);
    return t;
}

/* Seconds a server spends on one HTTP-sized exchange over loopback TCP: the recv of a request
 * and the send of its answer (the send carries the answer through the loopback to the peer's
 * socket). The client's half, in the same thread, is not counted. */
static double tcp_server_seconds(size_t len)
{
    char buf[1024];
    int peer = -1, server = -1;
    if (len > sizeof buf || nsl_tcp_loopback_pair(&peer, &server) != 0)
        return -1;
    memset(buf, 'x', sizeof buf);
    const int rounds = 50000;
    double spent = 0;
    int done = 0;
    for (; done < rounds; done++) {
        if (send(peer, buf, len, 0) != (ssize_t)len)
            break;
        double start = now_seconds();
        bool ok = recv(server, buf, len, MSG_WAITALL) == (ssize_t)len &&
                  send(server, buf, len, 0) == (ssize_t)len;
        spent += now_seconds() - start;
        if (!ok || recv(peer, buf, len, MSG_WAITALL) != (ssize_t)len)
            break;
    }
    close(peer);
    close(server);
    return done == rounds ? spent / rounds : -1;
}

/* What the socket figures could reach if a request cost nothing but its signature, its parse
 * and its share of one recv and one send (depth requests per pair): the ceiling the targets
 * are judged against. Rate per CPU-second. */
static double ceiling_rate(double openssl, double parse, double syscalls, int depth)
{
    return 1.0 / (1.0 / openssl + parse + syscalls / depth);
}

/* The same for HTTP: the signature, the enclave's parse, the parent's TCP recv + send for the
 * client and its unix send + recv to the enclave (the enclave's own recv and send taken as free,
 * as if perfectly batched; no HTTP or JSON-RPC parsing, routing or logging counted at all). */
static double http_ceiling_rate(double openssl, double parse, double syscalls, double tcp)
{
    return 1.0 / (1.0 / openssl + parse + syscalls + tcp);
}

static void run(void **state)
{
    (void)state;
    prepare();
    const char *json_path = getenv("NSL_BENCH_JSON");
    double openssl = nsl_openssl_ecdsa_sign_rate(3, 1);

    char request[512], http[4096], url[64];
    int n = snprintf(request, sizeof request,
                     "{\"id\":\"b\",\"serviceType\":\"wallet\",\"operation\":\"signMessage\","
                     "\"params\":{\"keyId\":\"%s\",\"message\":\"68656c6c6f\"},"
                     "\"auth\":{\"scheme\":\"apikey\",\"apiKey\":\"%s\"}}",
                     key_id, api_key);
    struct nsl_buf frame = {0};
    nsl_frame_append(&frame, request, (size_t)n);
    struct nsl_load raw = {.url = stack.enclave_url,
                           .protocol = NSL_LOAD_FRAMES,
                           .request = (const char *)frame.data,
                           .request_len = frame.len,
                           .connections = CLIENTS,
                           .seconds = 3.0,
                           .expect = "\"ok\":true"};
    double raw_rate = per_cpu_second(&raw, stack.enclave_pid, 0);
    /* How the parent's pool uses the socket: its 8 connections each carry many requests. */
    struct nsl_load piped = raw;
    piped.connections = POOL_CONNECTIONS;
    piped.depth = POOL_DEPTH;
    double piped_rate = per_cpu_second(&piped, stack.enclave_pid, 0);
    /* Throughput of the whole machine: the enclave's loops on every core (the load generator
     * shares them), beside openssl signing on every core. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double machine_rate = nsl_load_run(&piped);
    double openssl_all = nsl_openssl_ecdsa_sign_rate(3, (int)cpus);
    double parse = parse_seconds(request, (size_t)n), syscalls = syscall_seconds((size_t)n);

    char body[256 * BATCH];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", stack.http_port);
    struct nsl_load web = {.url = url,
                           .protocol = NSL_LOAD_HTTP,
                           .request = http,
                           .connections = CLIENTS,
                           .seconds = 3.0,
                           .expect = "\"result\""};
    web.request_len = http_request(http, sizeof http, body, sign_call(body, sizeof body, 1));
    double http_rate = per_cpu_second(&web, stack.enclave_pid, stack.parent_pid);
    double tcp = tcp_server_seconds(web.request_len);
    assert_true(tcp > 0);
    /* A batch: BATCH calls in one array, answered in one response (each call counted). */
    size_t blen = 1;
    body[0] = '[';
    for (int i = 0; i < BATCH; i++)
        blen += sign_call(body + blen, sizeof body - blen, i + 1);
    body[blen - 1] = ']'; /* over the last comma */
    web.request_len = http_request(http, sizeof http, body, blen);
    web.expect = "\"id\":10,\"result\""; /* the batch got through to its last call */
    double batch_rate = per_cpu_second(&web, stack.enclave_pid, stack.parent_pid) * BATCH;

    printf("%-58s %12s %12s %9s  %s\n", "figure", "ours", "reference", "ratio", "unit");
    nsl_bench_report(json_path, "wallet.signMessage over enclave socket (50 conns)", raw_rate,
                     openssl, "signatures per CPU-second vs openssl speed ecdsap256");
    nsl_bench_report(json_path, "wallet.signMessage over enclave socket (8 conns x 16 in flight)",
                     piped_rate, openssl, "signatures per CPU-second vs openssl speed ecdsap256");
    char machine[96];
    snprintf(machine, sizeof machine,
             "signatures per second, %ld cores, vs openssl speed -multi %ld", cpus, cpus);
    nsl_bench_report(json_path, "wallet.signMessage over enclave socket, whole machine (8 x 16)",
                     machine_rate, openssl_all, machine);
    nsl_bench_report(json_path, "ceiling: signature + request parse + recv + send (1 in flight)",
                     ceiling_rate(openssl, parse, syscalls, 1), openssl,
                     "signatures per CPU-second vs openssl speed ecdsap256");
    nsl_bench_report(json_path, "ceiling: the same, recv + send shared by 16 in flight",
                     ceiling_rate(openssl, parse, syscalls, POOL_DEPTH), openssl,
                     "signatures per CPU-second vs openssl speed ecdsap256");
    printf("  (request parse %.2f us, recv + send %.2f us, signature %.2f us)\n", parse * 1e6,
           syscalls * 1e6, 1e6 / openssl);
    nsl_bench_report(json_path, "wallet.signMessage through HTTP gateway (50 conns)", http_rate,
                     openssl, "signatures per CPU-second vs openssl speed ecdsap256");
    nsl_bench_report(json_path, "ceiling: signature + parse + TCP and unix recv + send (HTTP)",
                     http_ceiling_rate(openssl, parse, syscalls, tcp), openssl,
                     "signatures per CPU-second vs openssl speed ecdsap256");
    printf("  (server's loopback TCP recv + send %.2f us)\n", tcp * 1e6);
    nsl_bench_report(json_path, "wallet.signMessage through HTTP, batches of 10 (50 conns)",
                     batch_rate, openssl, "signatures per CPU-second vs openssl speed ecdsap256");
    nsl_buf_free(&frame);
    assert_true(raw_rate > 0 && piped_rate > 0 && machine_rate > 0 && http_rate > 0 &&
                batch_rate > 0);
}

static int setup(void **state)
{
    (void)state;
    nsl_log_init("bench_wallet", NSL_LOG_ERROR);
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
    setenv("NSL_BENCH_JSON", argc > 1 ? argv[1] : "build/bench.json", 0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(run)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
