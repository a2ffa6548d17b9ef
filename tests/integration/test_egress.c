/* Integration tests of the egress path (docs/egress.md): the real nsl-parent's egress proxy on a
 * unix socket, the enclave's HTTPS client (enclave/egress_client.h) in this process, and small
 * HTTPS servers on 127.0.0.1 with certificates made at test time by the openssl command. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enclave/egress_client.h"
#include "harness/harness.h"
#include "harness/https.h"

#define PRICE_BODY "{\"symbol\":\"NEOUSD\",\"price\":\"12.34\"}"

/* What one test server answers: PRICE_BODY, or body_size bytes of 'x', after delay_ms. */
struct answer {
    int delay_ms;
    size_t body_size;
};

static struct {
    struct nsl_stack stack;
    struct nsl_https_server ok, other_ca, slow, big;
    struct answer ok_answer, slow_answer, big_answer;
    int dead_port;
    char allow[256];
    char egress_url[320];
    char ca_cert[512]; /* the test CA that signed t.ok's certificate */
    struct nsl_egress *eg;
} t;

static void answer(void *ctx, const char *path, struct nsl_https_response *resp)
{
    const struct answer *a = ctx;
    (void)path;
    resp->delay_ms = a->delay_ms;
    if (a->body_size) {
        resp->body = malloc(a->body_size);
        if (resp->body) {
            memset(resp->body, 'x', a->body_size);
            resp->body_len = a->body_size;
        }
    } else {
        nsl_https_body(resp, "%s", PRICE_BODY);
    }
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    struct nsl_stack *st = &t.stack;
    struct nsl_test_ca srv, other;
    if (nsl_stack_init(st) != 0 || nsl_test_ca_make(st->dir, "srv", &srv) != 0 ||
        nsl_test_ca_make(st->dir, "other", &other) != 0)
        return -1;
    t.slow_answer.delay_ms = 3000;
    t.big_answer.body_size = 200000;
    if (nsl_https_server_start(&t.ok, srv.cert, srv.key, answer, &t.ok_answer) < 0 ||
        nsl_https_server_start(&t.other_ca, other.cert, other.key, answer, &t.ok_answer) < 0 ||
        nsl_https_server_start(&t.slow, srv.cert, srv.key, answer, &t.slow_answer) < 0 ||
        nsl_https_server_start(&t.big, srv.cert, srv.key, answer, &t.big_answer) < 0)
        return -1;
    int dead = nsl_test_listen_loopback(&t.dead_port); /* a port with no listener once closed */
    if (dead < 0)
        return -1;
    close(dead);
    snprintf(t.allow, sizeof t.allow,
             "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d,"
             "127.0.0.1:%d",
             t.ok.port, t.other_ca.port, t.slow.port, t.big.port, t.dead_port);
    st->parent_extra[0] = "--egress-allow";
    st->parent_extra[1] = t.allow;
    if (nsl_stack_start_parent(st) != 0)
        return -1;
    snprintf(t.egress_url, sizeof t.egress_url, "unix://%s/egress.sock", st->dir);
    snprintf(t.ca_cert, sizeof t.ca_cert, "%s", srv.ca_cert);
    struct nsl_error err = {0};
    if (nsl_egress_new(t.egress_url, srv.ca_cert, &t.eg, &err) != NSL_OK) {
        fprintf(stderr, "nsl_egress_new: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nsl_egress_free(t.eg);
    nsl_https_server_stop(&t.ok);
    nsl_https_server_stop(&t.other_ca);
    nsl_https_server_stop(&t.slow);
    nsl_https_server_stop(&t.big);
    return nsl_stack_stop(&t.stack) == 0 ? 0 : -1;
}

static nsl_err fetch(const struct nsl_egress *eg, const char *url, int timeout_ms, size_t max,
                     struct nsl_egress_response *resp, struct nsl_error *err)
{
    const char *headers[] = {"Accept: application/json"};
    struct nsl_egress_request req = {.method = "GET",
                                     .url = url,
                                     .headers = headers,
                                     .header_count = 1,
                                     .timeout_ms = timeout_ms,
                                     .max_response_bytes = max};
    return nsl_egress_fetch(eg, &req, resp, err);
}

static void url_for(char *out, size_t len, int port)
{
    snprintf(out, len, "https://127.0.0.1:%d/price", port);
}

static void test_egress_fetches_allowlisted_https(void **state)
{
    (void)state;
    char url[128];
    url_for(url, sizeof url, t.ok.port);
    struct nsl_egress_response resp;
    struct nsl_error err = {0};
    nsl_err rc = fetch(t.eg, url, 0, 0, &resp, &err);
    if (rc != NSL_OK)
        fail_msg("%s: %s", nsl_err_name(rc), err.message);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body_len, strlen(PRICE_BODY));
    assert_string_equal(resp.body, PRICE_BODY);
    assert_non_null(resp.headers);
    assert_non_null(strstr(resp.headers, "Content-Type: application/json"));
    assert_null(strstr(resp.headers, "Connection established")); /* the proxy's answer is ours */
    assert_true(resp.duration_us > 0);
    nsl_egress_response_clear(&resp);
}

static void expect_error(const struct nsl_egress *eg, const char *url, int timeout_ms, size_t max,
                         nsl_err want, const char *in_message)
{
    struct nsl_egress_response resp;
    struct nsl_error err = {0};
    nsl_err rc = fetch(eg, url, timeout_ms, max, &resp, &err);
    if (rc != want || !strstr(err.message, in_message))
        fail_msg("%s: got %s \"%s\", want %s \"%s\"", url, nsl_err_name(rc), err.message,
                 nsl_err_name(want), in_message);
    assert_null(resp.body);
}

static void test_egress_refuses_target_outside_allowlist(void **state)
{
    (void)state;
    expect_error(t.eg, "https://127.0.0.1:1/price", 0, 0, NSL_ERR_PERMISSION_DENIED,
                 "127.0.0.1:1 is not in the egress allowlist");
}

static void test_egress_refuses_certificate_of_other_ca(void **state)
{
    (void)state;
    char url[128];
    url_for(url, sizeof url, t.other_ca.port);
    expect_error(t.eg, url, 0, 0, NSL_ERR_UNAVAILABLE, "did not verify");
}

static void test_egress_without_ca_file_trusts_system_bundle_only(void **state)
{
    (void)state;
    struct nsl_egress *plain = NULL;
    assert_int_equal(nsl_egress_new(t.egress_url, NULL, &plain, NULL), NSL_OK);
    char url[128];
    url_for(url, sizeof url, t.ok.port);
    expect_error(plain, url, 0, 0, NSL_ERR_UNAVAILABLE, "certificate of 127.0.0.1");
    nsl_egress_free(plain);
}

/* The trust store is built once, when the client is made: the CA file can be gone by the time
 * of a request. */
static void test_egress_trust_is_read_once_at_start(void **state)
{
    (void)state;
    char copy[600], cmd[1300];
    snprintf(copy, sizeof copy, "%s/ca-read-once.pem", t.stack.dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", t.ca_cert, copy);
    assert_int_equal(system(cmd), 0);
    struct nsl_egress *eg = NULL;
    assert_int_equal(nsl_egress_new(t.egress_url, copy, &eg, NULL), NSL_OK);
    assert_int_equal(unlink(copy), 0);
    char url[128];
    url_for(url, sizeof url, t.ok.port);
    struct nsl_egress_response resp;
    struct nsl_error err = {0};
    nsl_err rc = fetch(eg, url, 0, 0, &resp, &err);
    if (rc != NSL_OK)
        fail_msg("%s: %s", nsl_err_name(rc), err.message);
    assert_int_equal(resp.status, 200);
    nsl_egress_response_clear(&resp);
    nsl_egress_free(eg);
}

static void test_egress_refuses_plain_http(void **state)
{
    (void)state;
    expect_error(t.eg, "http://127.0.0.1:80/price", 0, 0, NSL_ERR_INVALID_PARAMS, "https");
    expect_error(t.eg, "ftp://127.0.0.1/x", 0, 0, NSL_ERR_INVALID_PARAMS, "https");
}

static void test_egress_times_out_on_slow_server(void **state)
{
    (void)state;
    char url[128];
    url_for(url, sizeof url, t.slow.port);
    expect_error(t.eg, url, 500, 0, NSL_ERR_TIMEOUT, "did not answer within 500 ms");
}

static void test_egress_caps_response_size(void **state)
{
    (void)state;
    char url[128];
    url_for(url, sizeof url, t.big.port);
    expect_error(t.eg, url, 0, 1024, NSL_ERR_LIMIT_EXCEEDED, "over 1024 bytes");
}

static void test_egress_reports_upstream_connect_failure(void **state)
{
    (void)state;
    char url[128];
    url_for(url, sizeof url, t.dead_port);
    expect_error(t.eg, url, 0, 0, NSL_ERR_UNAVAILABLE, "cannot connect");
}

static void test_egress_reports_unreachable_proxy(void **state)
{
    (void)state;
    char gone[320];
    snprintf(gone, sizeof gone, "unix://%s/no-such.sock", t.stack.dir);
    struct nsl_egress *eg = NULL;
    assert_int_equal(nsl_egress_new(gone, NULL, &eg, NULL), NSL_OK);
    char url[128];
    url_for(url, sizeof url, t.ok.port);
    expect_error(eg, url, 0, 0, NSL_ERR_UNAVAILABLE, "egress proxy is unreachable");
    nsl_egress_free(eg);
}

static void test_egress_fetch_many_runs_concurrently(void **state)
{
    (void)state;
    enum { N = 5 };
    char urls[N][128];
    struct nsl_egress_request reqs[N];
    struct nsl_egress_response resps[N];
    struct nsl_error errs[N];
    for (int i = 0; i < N; i++) {
        url_for(urls[i], sizeof urls[i], i == N - 1 ? 1 : t.ok.port);
        reqs[i] = (struct nsl_egress_request){.url = urls[i]};
    }
    assert_int_equal(nsl_egress_fetch_many(t.eg, reqs, N, resps, errs), NSL_OK);
    for (int i = 0; i < N - 1; i++) {
        if (errs[i].code != NSL_OK)
            fail_msg("request %d: %s", i, errs[i].message);
        assert_int_equal(resps[i].status, 200);
        assert_string_equal(resps[i].body, PRICE_BODY);
        nsl_egress_response_clear(&resps[i]);
    }
    assert_int_equal(errs[N - 1].code, NSL_ERR_PERMISSION_DENIED); /* one bad source alone */
    assert_null(resps[N - 1].body);
}

static unsigned long long metric(const char *text, const char *series)
{
    char needle[160];
    snprintf(needle, sizeof needle, "\n%s ", series);
    const char *p = strstr(text, needle);
    if (!p)
        fail_msg("no series %s", series);
    return strtoull(p + strlen(needle), NULL, 10);
}

static void test_egress_metrics_count_tunnels(void **state)
{
    (void)state;
    int status = 0;
    char *body = NULL;
    assert_int_equal(
        nsl_http_request(t.stack.http_port, "GET", "/metrics", NULL, NULL, &status, &body), 0);
    assert_int_equal(status, 200);
    assert_true(metric(body, "nsl_egress_tunnels_total{outcome=\"ok\"}") >= 8);
    assert_true(metric(body, "nsl_egress_tunnels_total{outcome=\"forbidden\"}") >= 2);
    assert_true(metric(body, "nsl_egress_tunnels_total{outcome=\"connect_failed\"}") >= 1);
    assert_int_equal(metric(body, "nsl_egress_tunnels_total{outcome=\"busy\"}"), 0);
    assert_true(metric(body, "nsl_egress_bytes_total{direction=\"up\"}") > 0);
    assert_true(metric(body, "nsl_egress_bytes_total{direction=\"down\"}") > 1024);
    (void)metric(body, "nsl_egress_tunnels_open");
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_egress_fetches_allowlisted_https),
        cmocka_unit_test(test_egress_refuses_target_outside_allowlist),
        cmocka_unit_test(test_egress_refuses_certificate_of_other_ca),
        cmocka_unit_test(test_egress_without_ca_file_trusts_system_bundle_only),
        cmocka_unit_test(test_egress_trust_is_read_once_at_start),
        cmocka_unit_test(test_egress_refuses_plain_http),
        cmocka_unit_test(test_egress_times_out_on_slow_server),
        cmocka_unit_test(test_egress_caps_response_size),
        cmocka_unit_test(test_egress_reports_upstream_connect_failure),
        cmocka_unit_test(test_egress_reports_unreachable_proxy),
        cmocka_unit_test(test_egress_fetch_many_runs_concurrently),
        cmocka_unit_test(test_egress_metrics_count_tunnels),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
