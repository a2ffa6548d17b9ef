/* make bench, function figures (issue 8): function.invoke of a trivial function over the enclave
 * socket — a fresh Duktape heap per invocation in a sandboxed worker — beside the bare engine
 * (this process creating a fresh Duktape heap, evaluating the same source, calling main and
 * JSON-encoding the result), measured in the same run:
 *   - latency at low load: one connection, one request in flight, p50/p99 and rate, against the
 *     bare engine on one thread;
 *   - throughput: CONNS connections, one request in flight each (as the parent multiplexes its
 *     clients over pooled connections), against the bare engine on CONNS threads: as many
 *     runnable threads as the service has requests, so that on a machine shared with other work
 *     the scheduler gives both sides a like share (with one thread per CPU the reference was
 *     starved on a loaded machine and the ratio came out above 2); on an idle machine the
 *     reference rate is that of one thread per CPU.
 * Optional arguments: the bench.json path, then the seconds of the concurrent run (default 3). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <duktape.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/encoding.h"
#include "common/frame.h"
#include "common/log.h"
#include "harness/bench.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "neo/key.h"

#define SOURCE  "function main(args) { return {sum: args.a + args.b}; }"
#define SAMPLES 2000
#define CONNS   16 /* the figure names say 16 */

static struct nsl_stack stack;
static struct nsl_client client;
static char request[512]; /* function.invoke of add(2, 40) */
static char api_key[128];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct figures {
    double rate, p50_us, p99_us;
};

static void summarise(double *lat, size_t n, double elapsed, struct figures *f)
{
    qsort(lat, n, sizeof *lat, compare);
    f->rate = (double)n / elapsed;
    f->p50_us = lat[n / 2] * 1e6;
    f->p99_us = lat[n * 99 / 100] * 1e6;
}

/* The bare engine's invocation: fresh heap, eval, call main, JSON-encode the result, destroy. */
static void bare_once(void)
{
    duk_context *ctx = duk_create_heap_default();
    duk_eval_string_noresult(ctx, SOURCE);
    duk_get_global_string(ctx, "main");
    duk_push_object(ctx);
    duk_push_int(ctx, 2);
    duk_put_prop_string(ctx, -2, "a");
    duk_push_int(ctx, 40);
    duk_put_prop_string(ctx, -2, "b");
    duk_call(ctx, 1);
    duk_json_encode(ctx, -1);
    duk_destroy_heap(ctx);
}

static void bare_engine(struct figures *f)
{
    static double lat[SAMPLES];
    double start = now_s();
    for (size_t i = 0; i < SAMPLES; i++) {
        double t = now_s();
        bare_once();
        lat[i] = now_s() - t;
    }
    summarise(lat, SAMPLES, now_s() - start, f);
}

struct bare_thread {
    pthread_t thread;
    double until;
    long count;
    double cpu; /* the thread's CPU seconds */
};

static void *bare_loop(void *arg)
{
    struct bare_thread *t = arg;
    while (now_s() < t->until) {
        bare_once();
        t->count++;
    }
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    t->cpu = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    return NULL;
}

/* The bare engine on CONNS threads for `seconds`: invocations per second in all, and per
 * CPU-second in *per_cpu. */
static double bare_parallel(double seconds, double *per_cpu)
{
    long n = CONNS;
    struct bare_thread threads[CONNS];
    double start = now_s();
    long total = 0;
    for (long i = 0; i < n; i++) {
        threads[i] = (struct bare_thread){.until = start + seconds};
        assert_int_equal(pthread_create(&threads[i].thread, NULL, bare_loop, &threads[i]), 0);
    }
    double cpu = 0;
    for (long i = 0; i < n; i++) {
        pthread_join(threads[i].thread, NULL);
        total += threads[i].count;
        cpu += threads[i].cpu;
    }
    *per_cpu = cpu > 0 ? (double)total / cpu : -1;
    return (double)total / (now_s() - start);
}

static void prepare(void)
{
    struct nsl_secret *admin = NULL;
    char admin_id[64];
    nsl_client_bootstrap(&client, &admin, admin_id, sizeof admin_id);
    struct nsl_signing s = {.key = admin, .account = admin_id};
    nsl_client_create_user(&client, &s, "bench", api_key, sizeof api_key);
    json_t *reply = nsl_client_apikey(&client, api_key, "function", "deploy",
                                      "{\"name\":\"add\",\"source\":\"" SOURCE "\"}");
    nsl_client_result(reply);
    json_decref(reply);
    nsl_secret_free(admin);
    snprintf(request, sizeof request,
             "{\"id\":\"b\",\"serviceType\":\"function\",\"operation\":\"invoke\",\"params\":"
             "{\"name\":\"add\",\"args\":{\"a\":2,\"b\":40}},\"auth\":{\"scheme\":\"apikey\","
             "\"apiKey\":\"%s\"}}",
             api_key);
}

/* Sequential invocations on one connection: latency and rate with isolation per call. */
static void service(struct figures *f)
{
    static double lat[SAMPLES];
    double start = now_s();
    for (size_t i = 0; i < SAMPLES; i++) {
        double t = now_s();
        char *reply = NULL;
        assert_int_equal(nsl_test_roundtrip(client.fd, request, &reply), 0);
        assert_non_null(strstr(reply, "\"ok\":true"));
        free(reply);
        lat[i] = now_s() - t;
    }
    summarise(lat, SAMPLES, now_s() - start, f);
}

/* CPU seconds used so far by the parent, the enclave and the enclave's descendants (the sandbox
 * zygote and its workers), from /proc. */
static double server_cpu_seconds(void)
{
    pid_t tree[256] = {stack.enclave_pid};
    size_t n = 1;
    /* Two rounds of "whose parent is in the tree": zygote, then workers. */
    for (int round = 0; round < 2; round++) {
        FILE *ps = popen("ps -e -o pid= -o ppid=", "r");
        int pid, ppid;
        while (ps && fscanf(ps, "%d %d", &pid, &ppid) == 2 && n < 256) {
            bool parent_in = false, known = false;
            for (size_t i = 0; i < n; i++) {
                parent_in = parent_in || tree[i] == ppid;
                known = known || tree[i] == pid;
            }
            if (parent_in && !known)
                tree[n++] = pid;
        }
        if (ps)
            pclose(ps);
    }
    double cpu = nsl_process_cpu_seconds(stack.parent_pid);
    for (size_t i = 0; i < n; i++)
        cpu += nsl_process_cpu_seconds(tree[i]);
    return cpu;
}

/* CONNS connections, one invocation in flight on each: invocations per second, and per CPU-second
 * of the server processes (parent, enclave, sandbox zygote and workers) in *per_cpu. */
static double service_concurrent(double seconds, double *per_cpu)
{
    struct nsl_buf frame = {0};
    assert_int_equal(nsl_frame_append(&frame, request, strlen(request)), 0);
    struct nsl_load load = {.url = stack.enclave_url,
                            .protocol = NSL_LOAD_FRAMES,
                            .request = (const char *)frame.data,
                            .request_len = frame.len,
                            .connections = CONNS,
                            .seconds = seconds,
                            .expect = "\"ok\":true"};
    double cpu = server_cpu_seconds(), wall = now_s();
    double rate = nsl_load_run(&load);
    cpu = server_cpu_seconds() - cpu;
    wall = now_s() - wall;
    *per_cpu = cpu > 0 ? rate / (cpu / wall) : -1;
    assert_true(rate > 0);
    assert_int_equal(load.failures, 0);
    nsl_buf_free(&frame);
    return rate;
}

static double seconds = 3.0;

static void run_bench(void **state)
{
    (void)state;
    prepare();
    struct figures ours, bare;
    double ours_cpu, bare_cpu;
    service(&ours);
    double ours_concurrent = service_concurrent(seconds, &ours_cpu);
    bare_engine(&bare);
    double bare_concurrent = bare_parallel(seconds, &bare_cpu);
    const char *json_path = getenv("NSL_BENCH_JSON");
    printf("%-52s %12s %12s %9s  %s\n", "figure", "ours", "reference", "ratio", "unit");
    nsl_bench_report(json_path, "function.invoke rate (16 conns, sandboxed)", ours_concurrent,
                     bare_concurrent, "invocations/s vs fresh Duktape heap, 16 threads");
    nsl_bench_report(json_path, "function.invoke per server CPU-second (16 conns)", ours_cpu,
                     bare_cpu, "invocations per CPU-second vs the bare engine's");
    nsl_bench_report(json_path, "function.invoke rate (1 conn, sandboxed)", ours.rate, bare.rate,
                     "invocations/s vs fresh Duktape heap in-process, 1 thread");
    nsl_bench_report(json_path, "function.invoke p50 latency (1 conn)", ours.p50_us, bare.p50_us,
                     "microseconds (lower is better)");
    nsl_bench_report(json_path, "function.invoke p99 latency (1 conn)", ours.p99_us, bare.p99_us,
                     "microseconds (lower is better)");
}

static int setup(void **state)
{
    (void)state;
    nsl_log_init("bench_function", NSL_LOG_ERROR);
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
    if (argc > 2 && atof(argv[2]) > 0)
        seconds = atof(argv[2]);
    const struct CMUnitTest tests[] = {cmocka_unit_test(run_bench)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
