/* Unit tests of parent/metrics: the Prometheus exposition text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/routes.h"
#include "parent/metrics.h"

static char *render(struct nsl_metrics *m)
{
    struct nsl_buf out = {0};
    assert_int_equal(nsl_metrics_render(m, &out), 0);
    assert_int_equal(nsl_buf_append_u8(&out, 0), 0);
    return (char *)out.data;
}

static unsigned long long value_of(const char *text, const char *series)
{
    char needle[256];
    snprintf(needle, sizeof needle, "\n%s ", series);
    const char *p = strstr(text, needle);
    assert_non_null(p);
    return strtoull(p + strlen(needle), NULL, 10);
}

static void test_metrics_have_help_and_type(void **state)
{
    (void)state;
    struct nsl_metrics *m = nsl_metrics_new();
    char *text = render(m);
    static const char *const names[] = {"nsl_http_requests_total counter",
                                        "nsl_http_request_duration_seconds histogram",
                                        "nsl_rpc_errors_total counter",
                                        "nsl_http_open_connections gauge",
                                        "nsl_enclave_rtt_seconds histogram",
                                        "nsl_enclave_reconnects_total counter",
                                        "nsl_enclave_up gauge"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "# TYPE %s\n", names[i]);
        assert_non_null(strstr(text, line));
        snprintf(line, sizeof line, "# HELP %.*s ", (int)strcspn(names[i], " "), names[i]);
        assert_non_null(strstr(text, line));
    }
    /* Every error code is present, zero included. */
    assert_int_equal(value_of(text, "nsl_rpc_errors_total{code=\"NOT_FOUND\"}"), 0);
    assert_int_equal(value_of(text, "nsl_enclave_up"), 0);
    free(text);
    nsl_metrics_free(m);
}

static void test_metrics_histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    struct nsl_metrics *m = nsl_metrics_new();
    nsl_metrics_observe_call(m, 0, 0.00005);
    nsl_metrics_observe_call(m, 0, 0.003);
    nsl_metrics_observe_call(m, 0, 20);
    nsl_metrics_count_error(m, 0, NSL_ERR_NOT_FOUND);
    nsl_metrics_add_connections(m, 2);
    nsl_metrics_set_enclave_up(m, true);
    char *text = render(m);
    const char *h = "nsl_http_request_duration_seconds_bucket{method=\"system.health\",le=";
    char s[256];
    snprintf(s, sizeof s, "%s\"0.0001\"}", h);
    assert_int_equal(value_of(text, s), 1);
    snprintf(s, sizeof s, "%s\"0.0025\"}", h);
    assert_int_equal(value_of(text, s), 1);
    snprintf(s, sizeof s, "%s\"0.005\"}", h);
    assert_int_equal(value_of(text, s), 2);
    snprintf(s, sizeof s, "%s\"10\"}", h);
    assert_int_equal(value_of(text, s), 2);
    snprintf(s, sizeof s, "%s\"+Inf\"}", h);
    assert_int_equal(value_of(text, s), 3);
    assert_int_equal(
        value_of(text, "nsl_http_request_duration_seconds_count{method=\"system.health\"}"), 3);
    assert_int_equal(value_of(text, "nsl_http_requests_total{method=\"system.health\"}"), 3);
    assert_int_equal(value_of(text, "nsl_rpc_errors_total{code=\"NOT_FOUND\"}"), 1);
    assert_int_equal(value_of(text, "nsl_http_open_connections"), 2);
    assert_int_equal(value_of(text, "nsl_enclave_up"), 1);
    free(text);
    nsl_metrics_free(m);
}

static void test_metrics_label_unknown_methods(void **state)
{
    (void)state;
    struct nsl_metrics *m = nsl_metrics_new();
    nsl_metrics_observe_call(m, -1, 0.001);
    nsl_metrics_observe_call(m, 100000, 0.001);
    char *text = render(m);
    assert_int_equal(value_of(text, "nsl_http_requests_total{method=\"unknown\"}"), 2);
    free(text);
    nsl_metrics_free(m);
}

static void test_metrics_count_errors_by_method_and_code(void **state)
{
    (void)state;
    struct nsl_metrics *m = nsl_metrics_new();
    long find = nsl_route_find_method("account.get");
    nsl_metrics_count_error(m, find, NSL_ERR_PERMISSION_DENIED);
    nsl_metrics_count_error(m, find, NSL_ERR_NOT_FOUND);
    nsl_metrics_count_error(m, -1, NSL_ERR_INVALID_REQUEST);
    char *text = render(m);
    assert_int_equal(value_of(text, "nsl_http_request_errors_total{method=\"account.get\"}"), 2);
    assert_int_equal(value_of(text, "nsl_http_request_errors_total{method=\"unknown\"}"), 1);
    assert_int_equal(value_of(text, "nsl_http_request_errors_total{method=\"system.health\"}"), 0);
    assert_int_equal(value_of(text, "nsl_rpc_errors_total{code=\"PERMISSION_DENIED\"}"), 1);
    assert_int_equal(value_of(text, "nsl_rpc_errors_total{code=\"INVALID_REQUEST\"}"), 1);
    free(text);
    nsl_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_have_help_and_type),
        cmocka_unit_test(test_metrics_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_metrics_label_unknown_methods),
        cmocka_unit_test(test_metrics_count_errors_by_method_and_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
