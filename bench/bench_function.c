/* make bench, function figures (issue 8): function.invoke of a trivial function over the enclave
 * socket — a fresh Duktape heap per invocation in a sandboxed worker — as invocations per second
 * and p50/p99 latency, beside the bare engine: this process creating a fresh Duktape heap,
 * evaluating the same source and calling main, measured in the same run. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <duktape.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/frame.h"
#include "common/log.h"
#include "harness/bench.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "neo/key.h"

#define SOURCE  "function main(args) { return {sum: args.a + args.b}; }"
#define SAMPLES 2000

static struct nsl_stack stack;
static struct nsl_client client;
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

/* The bare engine: fresh heap, eval, call main, JSON-encode the result, destroy. */
static void bare_engine(struct figures *f)
{
    static double lat[SAMPLES];
    double start = now_s();
    for (size_t i = 0; i < SAMPLES; i++) {
        double t = now_s();
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
        lat[i] = now_s() - t;
    }
    summarise(lat, SAMPLES, now_s() - start, f);
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
}

/* Sequential invocations on one connection: latency and rate with isolation per call. */
static void service(struct figures *f)
{
    static double lat[SAMPLES];
    char request[512];
    snprintf(request, sizeof request,
             "{\"id\":\"b\",\"serviceType\":\"function\",\"operation\":\"invoke\",\"params\":"
             "{\"name\":\"add\",\"args\":{\"a\":2,\"b\":40}},\"auth\":{\"scheme\":\"apikey\","
             "\"apiKey\":\"%s\"}}",
             api_key);
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

static void run_bench(void **state)
{
    (void)state;
    prepare();
    struct figures ours, bare;
    service(&ours);
    bare_engine(&bare);
    const char *json_path = getenv("NSL_BENCH_JSON");
    printf("%-52s %12s %12s %9s  %s\n", "figure", "ours", "reference", "ratio", "unit");
    nsl_bench_report(json_path, "function.invoke rate (1 conn, sandboxed)", ours.rate, bare.rate,
                     "invocations/s vs fresh Duktape heap in-process");
    nsl_bench_report(json_path, "function.invoke p50 latency", ours.p50_us, bare.p50_us,
                     "microseconds (lower is better)");
    nsl_bench_report(json_path, "function.invoke p99 latency", ours.p99_us, bare.p99_us,
                     "microseconds (lower is better)");
}

static int setup(void **state)
{
    (void)state;
    nsl_log_init("bench_function", NSL_LOG_ERROR);
    if (nsl_stack_init(&stack) != 0)
        return -1;
    stack.enclave_extra[0] = "--rate-limit";
    stack.enclave_extra[1] = "0";
    if (nsl_stack_start_enclave(&stack) != 0 || nsl_stack_start_parent(&stack) != 0)
        return -1;
    client.fd = nsl_test_connect(stack.enclave_url);
    return nsl_wait_storage_ready(client.fd, 15000);
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
    const struct CMUnitTest tests[] = {cmocka_unit_test(run_bench)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
