/* Unit tests of sandbox/: results, args, logs, errors and every limit of a user function, the
 * globals it may (not) see, host calls, syntax checks, the pool's recovery and concurrency. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "sandbox/sandbox_internal.h"

static struct nsl_sandbox *sb;

static const struct nsl_sandbox_limits limits = {.time_ms = 1000,
                                                 .memory_bytes = 8u << 20,
                                                 .max_result = 64 * 1024,
                                                 .max_logs = 16 * 1024,
                                                 .max_http = 2};

struct host_state {
    unsigned http_calls;
};

static nsl_err host_secret(void *ctx, const char *name, char **value, size_t *len,
                           struct nsl_error *err)
{
    (void)ctx;
    if (strcmp(name, "apiKey") != 0)
        return nsl_fail(err, NSL_ERR_NOT_FOUND, "secret %s is not granted", name);
    *value = strdup("s3cr3t");
    *len = 6;
    return NSL_OK;
}

static nsl_err host_price(void *ctx, const char *pair, json_t **price, struct nsl_error *err)
{
    (void)ctx;
    (void)err;
    *price = json_pack("{s:s,s:s}", "pair", pair, "price", "12.5");
    return NSL_OK;
}

static nsl_err host_http(void *ctx, const json_t *request, json_t **response, struct nsl_error *err)
{
    (void)err;
    struct host_state *h = ctx;
    h->http_calls++;
    *response = json_pack("{s:i,s:O}", "status", 200, "url", json_object_get(request, "url"));
    return NSL_OK;
}

static nsl_err invoke_with(const char *src, const json_t *args, struct nsl_sandbox_limits l,
                           struct host_state *hs, struct nsl_sandbox_outcome *out,
                           struct nsl_error *err)
{
    static struct host_state fallback;
    struct nsl_sandbox_host host = {hs ? hs : &fallback, host_secret, host_price, host_http};
    struct nsl_sandbox_run run = {src, strlen(src), args, l, &host};
    return nsl_sandbox_invoke(sb, &run, out, err);
}

static nsl_err invoke(const char *src, struct nsl_sandbox_outcome *out, struct nsl_error *err)
{
    return invoke_with(src, NULL, limits, NULL, out, err);
}

/* Runs src and expects main to return a result whose JSON text is want. */
static void expect_result(const char *src, const char *want)
{
    struct nsl_sandbox_outcome out;
    struct nsl_error err = {0};
    nsl_err rc = invoke(src, &out, &err);
    if (rc != NSL_OK)
        fail_msg("%s: %s", nsl_err_name(rc), err.message);
    char *got = json_dumps(out.result, JSON_ENCODE_ANY | JSON_COMPACT);
    assert_string_equal(got, want);
    free(got);
    nsl_sandbox_outcome_free(&out);
}

static void expect_error(const char *src, nsl_err want, const char *fragment)
{
    struct nsl_sandbox_outcome out;
    struct nsl_error err = {0};
    nsl_err rc = invoke(src, &out, &err);
    if (rc != want)
        fail_msg("want %s, got %s: %s", nsl_err_name(want), nsl_err_name(rc), err.message);
    if (fragment && !strstr(err.message, fragment))
        fail_msg("'%s' not in '%s'", fragment, err.message);
    nsl_sandbox_outcome_free(&out);
}

static void test_sandbox_returns_main_result(void **state)
{
    (void)state;
    expect_result("function main(a) { return {sum: 1 + 2, list: [true, null, 'x']}; }",
                  "{\"sum\":3,\"list\":[true,null,\"x\"]}");
    expect_result("function main() {}", "null");
}

static void test_sandbox_passes_args(void **state)
{
    (void)state;
    json_t *args = json_pack("{s:i,s:[s]}", "n", 41, "names", "neo");
    struct nsl_sandbox_outcome out;
    struct nsl_error err = {0};
    assert_int_equal(invoke_with("function main(a) { return a.n + 1 + a.names[0]; }", args, limits,
                                 NULL, &out, &err),
                     NSL_OK);
    assert_string_equal(json_string_value(out.result), "42neo");
    assert_true(out.memory_peak > 0);
    nsl_sandbox_outcome_free(&out);
    json_decref(args);
}

static void test_sandbox_captures_console(void **state)
{
    (void)state;
    struct nsl_sandbox_outcome out;
    struct nsl_error err = {0};
    assert_int_equal(invoke("function main() { console.log('a', 1, {b: 2}); console.warn('w');"
                            " console.error('e'); return 0; }",
                            &out, &err),
                     NSL_OK);
    assert_int_equal(json_array_size(out.logs), 3);
    json_t *first = json_array_get(out.logs, 0);
    assert_string_equal(json_string_value(json_object_get(first, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(first, "message")), "a 1 {\"b\":2}");
    assert_string_equal(json_string_value(json_object_get(json_array_get(out.logs, 1), "level")),
                        "warn");
    assert_string_equal(json_string_value(json_object_get(json_array_get(out.logs, 2), "level")),
                        "error");
    nsl_sandbox_outcome_free(&out);
}

static void test_sandbox_throw_is_function_failed_with_stack(void **state)
{
    (void)state;
    struct nsl_sandbox_outcome out;
    struct nsl_error err = {0};
    assert_int_equal(invoke("function helper() { throw new Error('boom here'); }\n"
                            "function main() { console.log('before'); helper(); }",
                            &out, &err),
                     NSL_ERR_FUNCTION_FAILED);
    assert_non_null(strstr(err.message, "boom here"));
    assert_non_null(out.error);
    assert_string_equal(json_string_value(json_object_get(out.error, "message")), "boom here");
    assert_non_null(strstr(json_string_value(json_object_get(out.error, "stack")), "helper"));
    assert_int_equal(json_array_size(out.logs), 1);
    nsl_sandbox_outcome_free(&out);
    expect_error("function main() { throw 'plain'; }", NSL_ERR_FUNCTION_FAILED, "plain");
    expect_error("var x = 1;", NSL_ERR_FUNCTION_FAILED, "main is not a function");
}

static void test_sandbox_infinite_loop_times_out_and_pool_recovers(void **state)
{
    (void)state;
    struct nsl_sandbox_limits l = limits;
    l.time_ms = 300;
    struct nsl_sandbox_outcome out;
    struct nsl_error err = {0};
    assert_int_equal(invoke_with("function main() { for (;;) {} }", NULL, l, NULL, &out, &err),
                     NSL_ERR_TIMEOUT);
    assert_true(out.duration_us < 1500 * 1000);
    nsl_sandbox_outcome_free(&out);
    /* A loop that swallows the timeout error is stopped as well. */
    assert_int_equal(
        invoke_with("function main() { for (;;) { try { for (;;) {} } catch (e) {} } }", NULL, l,
                    NULL, &out, &err),
        NSL_ERR_TIMEOUT);
    nsl_sandbox_outcome_free(&out);
    for (int i = 0; i < 4; i++)
        expect_result("function main() { return 'alive'; }", "\"alive\"");
}

/* Catastrophic regex backtracking runs inside one native call that never reaches Duktape's
 * interrupt check: the pool's hard deadline kills the worker and replaces it. */
static void test_sandbox_hard_deadline_kills_worker(void **state)
{
    (void)state;
    struct nsl_sandbox_limits l = limits;
    l.time_ms = 200;
    struct nsl_sandbox_outcome out;
    struct nsl_error err = {0};
    assert_int_equal(invoke_with("function main() { return /^(a+)+$/.test("
                                 "new Array(40).join('a') + 'b'); }",
                                 NULL, l, NULL, &out, &err),
                     NSL_ERR_TIMEOUT);
    assert_true(out.duration_us < 1500 * 1000);
    nsl_sandbox_outcome_free(&out);
    for (int i = 0; i < 5; i++)
        expect_result("function main() { return 'replaced'; }", "\"replaced\"");
}

static void test_sandbox_memory_bomb_is_limit_exceeded(void **state)
{
    (void)state;
    expect_error("function main() { var a = [], big = new Array(10000).join('y');"
                 " for (;;) a.push(big + a.length); }",
                 NSL_ERR_LIMIT_EXCEEDED, "memory");
    expect_error("function main() { var s = 'x'; for (;;) s = s + s; }", NSL_ERR_LIMIT_EXCEEDED,
                 "memory");
    expect_result("function main() { return 1; }", "1");
}

static void test_sandbox_output_limits(void **state)
{
    (void)state;
    expect_error("function main() { return new Array(100000).join('r'); }", NSL_ERR_LIMIT_EXCEEDED,
                 "result");
    expect_error("function main() { for (var i = 0; i < 100000; i++) console.log('spam ' + i); }",
                 NSL_ERR_LIMIT_EXCEEDED, "console");
    /* Catching the log error does not help. */
    expect_error("function main() { try { console.log(new Array(20000).join('z')); } catch (e) {}"
                 " return 1; }",
                 NSL_ERR_LIMIT_EXCEEDED, "console");
}

static void test_sandbox_deep_recursion_is_handled(void **state)
{
    (void)state;
    expect_error("function f(n) { return f(n + 1) + 1; } function main() { return f(0); }",
                 NSL_ERR_FUNCTION_FAILED, NULL);
    expect_error("function main() { var o = []; for (var i = 0; i < 20000; i++) o = [o];"
                 " return o; }",
                 NSL_ERR_FUNCTION_FAILED, NULL);
    expect_result("function main() { return 2; }", "2");
}

static void test_sandbox_globals_do_not_survive(void **state)
{
    (void)state;
    expect_result("var counter; function main() { globalThis.leak = 'set'; Object.prototype.x = 1;"
                  " return 1; }",
                  "1");
    for (int i = 0; i < 4; i++)
        expect_result("function main() { return [typeof leak, typeof ({}).x]; }",
                      "[\"undefined\",\"undefined\"]");
}

/* One worker, so every job lands on it: the heap it resets to a saved fresh image after each
 * job (runtime installed, no user code run) is fresh for each job, and a job's own cap applies
 * to it. */
static void test_sandbox_prepared_heaps_are_fresh_on_one_worker(void **state)
{
    (void)state;
    struct nsl_sandbox *shared = sb;
    struct nsl_error err = {0};
    assert_int_equal(nsl_sandbox_start(1, &sb, &err), NSL_OK);
    for (int i = 0; i < 3; i++) {
        expect_result("function main() { var was = [typeof leak, typeof ({}).x, typeof [].push,"
                      " typeof nsl.secrets.get, typeof console.log];"
                      " globalThis.leak = 1; Object.prototype.x = 2; Array.prototype.push = null;"
                      " nsl.secrets = 'gone'; console.log = null; return was; }",
                      "[\"undefined\",\"undefined\",\"function\",\"function\",\"function\"]");
    }
    struct nsl_sandbox_limits tiny = limits;
    tiny.memory_bytes = 4096; /* below what a fresh heap needs */
    struct nsl_sandbox_outcome out;
    assert_int_equal(invoke_with("function main() { return 1; }", NULL, tiny, NULL, &out, &err),
                     NSL_ERR_LIMIT_EXCEEDED);
    nsl_sandbox_outcome_free(&out);
    expect_result("function main() { return typeof leak; }", "\"undefined\"");
    nsl_sandbox_stop(sb);
    sb = shared;
}

/* Every job starts from the same saved heap image: Math.random's state is kept outside it, so
 * jobs on one worker do not repeat each other's numbers. */
static void test_sandbox_math_random_differs_between_jobs(void **state)
{
    (void)state;
    struct nsl_sandbox *shared = sb;
    struct nsl_error err = {0};
    assert_int_equal(nsl_sandbox_start(1, &sb, &err), NSL_OK);
    char *seen[4];
    for (int i = 0; i < 4; i++) {
        struct nsl_sandbox_outcome out;
        assert_int_equal(
            invoke("function main() { return [Math.random(), Math.random()]; }", &out, &err),
            NSL_OK);
        seen[i] = json_dumps(out.result, JSON_COMPACT);
        nsl_sandbox_outcome_free(&out);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
    for (int i = 0; i < 4; i++)
        free(seen[i]);
    nsl_sandbox_stop(sb);
    sb = shared;
}

static void test_sandbox_forbidden_globals_absent(void **state)
{
    (void)state;
    expect_result("function main() { return [typeof require, typeof process, typeof Duktape,"
                  " typeof print, typeof alert, typeof fs, typeof module, typeof CBOR,"
                  " typeof performance]; }",
                  "[\"undefined\",\"undefined\",\"undefined\",\"undefined\",\"undefined\","
                  "\"undefined\",\"undefined\",\"undefined\",\"undefined\"]");
    expect_result("function main() { return [typeof JSON, typeof Math, typeof nsl.crypto.sha256,"
                  " typeof console.log, new Date(0).getTime()]; }",
                  "[\"object\",\"object\",\"function\",\"function\",0]");
}

static void test_sandbox_secrets_via_host(void **state)
{
    (void)state;
    expect_result("function main() { return nsl.secrets.get('apiKey'); }", "\"s3cr3t\"");
    expect_error("function main() { return nsl.secrets.get('other'); }", NSL_ERR_FUNCTION_FAILED,
                 "not granted");
    expect_result("function main() { try { nsl.secrets.get('other'); } catch (e) {"
                  " return e.code; } }",
                  "\"NOT_FOUND\"");
    expect_error("function main() { return nsl.secrets.get(42); }", NSL_ERR_FUNCTION_FAILED, NULL);
}

static void test_sandbox_price_and_crypto(void **state)
{
    (void)state;
    expect_result("function main() { return nsl.price.get('NEO/USD').price; }", "\"12.5\"");
    expect_result("function main() { return nsl.crypto.sha256('abc'); }",
                  "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
    expect_result("function main() { var r = nsl.crypto.randomBytes(16);"
                  " return [r.length, /^[0-9a-f]+$/.test(r)]; }",
                  "[32,true]");
    expect_error("function main() { return nsl.crypto.randomBytes(5000); }",
                 NSL_ERR_FUNCTION_FAILED, NULL);
}

static void test_sandbox_http_count_limit(void **state)
{
    (void)state;
    struct host_state hs = {0};
    struct nsl_sandbox_outcome out;
    struct nsl_error err = {0};
    const char *src = "function main() { var r = [];"
                      " for (var i = 0; i < 3; i++) r.push(nsl.http.request({method: 'GET',"
                      " url: 'https://example.com/' + i}).status); return r; }";
    assert_int_equal(invoke_with(src, NULL, limits, &hs, &out, &err), NSL_ERR_LIMIT_EXCEEDED);
    assert_int_equal(hs.http_calls, 2);
    assert_int_equal(out.http_requests, 2);
    nsl_sandbox_outcome_free(&out);
    /* Swallowing the error does not hide it. */
    assert_int_equal(invoke_with("function main() { for (var i = 0; i < 3; i++) try {"
                                 " nsl.http.request({method: 'GET', url: 'u'}); } catch (e) {}"
                                 " return 1; }",
                                 NULL, limits, &hs, &out, &err),
                     NSL_ERR_LIMIT_EXCEEDED);
    nsl_sandbox_outcome_free(&out);
    expect_result("function main() { return nsl.http.request({method: 'GET', url: 'x'}); }",
                  "{\"status\":200,\"url\":\"x\"}");
}

static void test_sandbox_syntax_check_reports_line(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    const char *good = "function main() { return 1; }";
    assert_int_equal(nsl_sandbox_check_syntax(sb, good, strlen(good), &err), NSL_OK);
    const char *bad = "function main() {\n  return 1;\n  var = ;\n}";
    assert_int_equal(nsl_sandbox_check_syntax(sb, bad, strlen(bad), &err), NSL_ERR_INVALID_PARAMS);
    assert_true(strncmp(err.message, "line 3: ", 8) == 0);
}

static void *concurrent_invoke(void *arg)
{
    intptr_t id = (intptr_t)arg;
    char src[128];
    snprintf(src, sizeof src,
             "function main() { var s = 0; for (var i = 0; i < 20000; i++) s += i; return %d; }",
             (int)id);
    for (int i = 0; i < 5; i++) {
        struct nsl_sandbox_outcome out;
        struct nsl_error err = {0};
        if (invoke(src, &out, &err) != NSL_OK || json_integer_value(out.result) != id)
            return (void *)1;
        nsl_sandbox_outcome_free(&out);
    }
    return NULL;
}

static void test_sandbox_concurrent_invocations(void **state)
{
    (void)state;
    pthread_t t[4];
    for (intptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, concurrent_invoke, (void *)i), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        assert_null(rc);
    }
}

static int setup(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    return nsl_sandbox_start(4, &sb, &err) == NSL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nsl_sandbox_stop(sb);
    return 0;
}

/* Runs one job with this seed on a worker of its own (the pool's protocol, spoken directly) and
 * returns its result text. */
static char *job_with_seed(int fd, const char *seed)
{
    json_t *job = json_pack("{s:s, s:s, s:[], s:{s:i, s:i, s:i, s:i}, s:s}", "type", "job",
                            "source", "function main() { return [Math.random(), Math.random()]; }",
                            "args", "limits", "time_ms", 1000, "memory_bytes", 16 << 20,
                            "max_result", 65536, "max_logs", 65536, "seed", seed);
    json_t *done = NULL;
    assert_int_equal(nsl_sandbox_send(fd, job), 0);
    assert_int_equal(nsl_sandbox_recv(fd, 10000, &done), 0);
    const char *result = json_string_value(json_object_get(done, "result"));
    assert_non_null(result);
    char *text = strdup(result);
    json_decref(job);
    json_decref(done);
    return text;
}

/* Each job's Math.random starts from the seed the pool sends with it: the same seed gives the
 * same numbers even on a worker that has run other jobs since, so nothing carries over from one
 * job (one account) to the next. */
static void test_sandbox_math_random_state_is_the_jobs_seed(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* keep only the worker's socket: others (the pool's zygote) must see EOF */
        int fd = dup2(sv[1], 3);
        close_range(4, ~0u, 0);
        nsl_worker_main(fd);
    }
    close(sv[1]);
    const char *a = "000102030405060708090a0b0c0d0e0f", *b = "f0e0d0c0b0a090807060504030201000";
    char *first = job_with_seed(sv[0], a), *other = job_with_seed(sv[0], b),
         *again = job_with_seed(sv[0], a);
    assert_string_equal(first, again);
    assert_string_not_equal(first, other);
    free(first);
    free(other);
    free(again);
    close(sv[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandbox_returns_main_result),
        cmocka_unit_test(test_sandbox_passes_args),
        cmocka_unit_test(test_sandbox_captures_console),
        cmocka_unit_test(test_sandbox_throw_is_function_failed_with_stack),
        cmocka_unit_test(test_sandbox_infinite_loop_times_out_and_pool_recovers),
        cmocka_unit_test(test_sandbox_hard_deadline_kills_worker),
        cmocka_unit_test(test_sandbox_memory_bomb_is_limit_exceeded),
        cmocka_unit_test(test_sandbox_output_limits),
        cmocka_unit_test(test_sandbox_deep_recursion_is_handled),
        cmocka_unit_test(test_sandbox_globals_do_not_survive),
        cmocka_unit_test(test_sandbox_prepared_heaps_are_fresh_on_one_worker),
        cmocka_unit_test(test_sandbox_math_random_differs_between_jobs),
        cmocka_unit_test(test_sandbox_math_random_state_is_the_jobs_seed),
        cmocka_unit_test(test_sandbox_forbidden_globals_absent),
        cmocka_unit_test(test_sandbox_secrets_via_host),
        cmocka_unit_test(test_sandbox_price_and_crypto),
        cmocka_unit_test(test_sandbox_http_count_limit),
        cmocka_unit_test(test_sandbox_syntax_check_reports_line),
        cmocka_unit_test(test_sandbox_concurrent_invocations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
