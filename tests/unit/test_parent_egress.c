/* Unit tests of parent/egress_request: CONNECT head parsing and allowlist matching, plus the
 * egress series of parent/metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parent/egress_request.h"
#include "parent/metrics.h"

static int parse(const char *head, struct nsl_egress_target *t, char *why)
{
    return nsl_egress_parse_connect(head, strlen(head), t, why, 128);
}

static void test_egress_parses_connect_with_headers(void **state)
{
    (void)state;
    struct nsl_egress_target t;
    char why[128];
    assert_int_equal(parse("CONNECT Api.Example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n"
                           "User-Agent: x\r\n\r\n",
                           &t, why),
                     0);
    assert_string_equal(t.host, "api.example.com");
    assert_int_equal(t.port, 443);
    assert_int_equal(parse("CONNECT 127.0.0.1:8443 HTTP/1.0\n\n", &t, why), 0);
    assert_string_equal(t.host, "127.0.0.1");
    assert_int_equal(t.port, 8443);
    assert_int_equal(parse("CONNECT [::1]:443 HTTP/1.1\r\n\r\n", &t, why), 0);
    assert_string_equal(t.host, "::1");
    char text[64];
    nsl_egress_target_format(&t, text, sizeof text);
    assert_string_equal(text, "[::1]:443");
}

static void test_egress_rejects_malformed_connect(void **state)
{
    (void)state;
    struct nsl_egress_target t;
    char why[128];
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\n\r\n",
        "GET http://a:80/ HTTP/1.1\r\n\r\n",
        "connect a:443 HTTP/1.1\r\n\r\n",
        "CONNECT a:443\r\n\r\n",
        "CONNECT a:443 HTTP/2\r\n\r\n",
        "CONNECT  a:443 HTTP/1.1\r\n\r\n",
        "CONNECT a HTTP/1.1\r\n\r\n",
        "CONNECT a: HTTP/1.1\r\n\r\n",
        "CONNECT :443 HTTP/1.1\r\n\r\n",
        "CONNECT a:0 HTTP/1.1\r\n\r\n",
        "CONNECT a:65536 HTTP/1.1\r\n\r\n",
        "CONNECT a:443x HTTP/1.1\r\n\r\n",
        "CONNECT a/b:443 HTTP/1.1\r\n\r\n",
        "CONNECT user@a:443 HTTP/1.1\r\n\r\n",
        "CONNECT [::1:443 HTTP/1.1\r\n\r\n",
        "CONNECT [zz]:443 HTTP/1.1\r\n\r\n",
        "CONNECT a:443 HTTP/1.1\r\nno colon here\r\n\r\n",
        "CONNECT a:443 HTTP/1.1\r\n: empty name\r\n\r\n",
        "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n",
        "CONNECT a:443 HTTP/1.1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = 0;
        if (parse(bad[i], &t, why) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_true(why[0] != 0);
    }
    /* A NUL inside the head does not make the parser read past len. */
    static const char nul[] = "CONNECT a:443 HTTP/1.1\r\nX: \0y\r\n\r\n";
    assert_int_equal(nsl_egress_parse_connect(nul, sizeof nul - 1, &t, why, sizeof why), -1);
}

static void test_egress_finds_head_end(void **state)
{
    (void)state;
    assert_int_equal(nsl_egress_head_length("CONNECT a:1 HTTP/1.1\r\n", 22), 0);
    assert_int_equal(nsl_egress_head_length("CONNECT a:1 HTTP/1.1\r\n\r\nTLS", 27), 24);
    assert_int_equal(nsl_egress_head_length("x\n\nrest", 7), 3);
    assert_int_equal(nsl_egress_head_length("", 0), 0);
}

static void test_egress_allowlist_matches_exactly(void **state)
{
    (void)state;
    struct nsl_egress_allowlist list;
    char why[128];
    assert_int_equal(nsl_egress_allowlist_parse(" api.example.com:443, 127.0.0.1:8443,[::1]:443 ",
                                                &list, why, sizeof why),
                     0);
    assert_int_equal(list.count, 3);
    struct nsl_egress_target t;
    static const struct {
        const char *target;
        bool allowed;
    } cases[] = {
        {"api.example.com:443", true},
        {"API.EXAMPLE.COM:443", true},
        {"api.example.com:80", false},
        {"example.com:443", false},
        {"xapi.example.com:443", false},
        {"127.0.0.1:8443", true},
        {"127.0.0.1:443", false},
        {"[::1]:443", true},
        {"[::2]:443", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(nsl_egress_parse_authority(cases[i].target, strlen(cases[i].target), &t),
                         0);
        if (nsl_egress_allowlist_match(&list, &t) != cases[i].allowed)
            fail_msg("%s: expected %d", cases[i].target, cases[i].allowed);
    }
    nsl_egress_allowlist_clear(&list);
}

static void test_egress_empty_allowlist_allows_nothing(void **state)
{
    (void)state;
    struct nsl_egress_allowlist list;
    struct nsl_egress_target t;
    assert_int_equal(nsl_egress_allowlist_parse("", &list, NULL, 0), 0);
    assert_int_equal(list.count, 0);
    assert_int_equal(nsl_egress_parse_authority("a:1", 3, &t), 0);
    assert_false(nsl_egress_allowlist_match(&list, &t));
    nsl_egress_allowlist_clear(&list);
}

static void test_egress_allowlist_rejects_bad_entries(void **state)
{
    (void)state;
    struct nsl_egress_allowlist list;
    char why[128];
    static const char *const bad[] = {"a",          "a:",      "a:443,",      ",a:443",
                                      "a:443,,b:1", "a:99999", "http://a:443"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (nsl_egress_allowlist_parse(bad[i], &list, why, sizeof why) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_null(list.entries);
    }
}

static void test_egress_metrics_render(void **state)
{
    (void)state;
    struct nsl_metrics *m = nsl_metrics_new();
    assert_non_null(m);
    nsl_metrics_count_egress_tunnel(m, NSL_EGRESS_OUTCOME_OK);
    nsl_metrics_count_egress_tunnel(m, NSL_EGRESS_OUTCOME_FORBIDDEN);
    nsl_metrics_count_egress_tunnel(m, NSL_EGRESS_OUTCOME_FORBIDDEN);
    nsl_metrics_add_egress_open(m, 2);
    nsl_metrics_add_egress_open(m, -1);
    nsl_metrics_add_egress_bytes(m, true, 10);
    nsl_metrics_add_egress_bytes(m, false, 2000);
    struct nsl_buf out = {0};
    assert_int_equal(nsl_metrics_render(m, &out), 0);
    assert_int_equal(nsl_buf_append_u8(&out, 0), 0);
    const char *text = (const char *)out.data;
    assert_non_null(strstr(text, "\nnsl_egress_tunnels_open 1\n"));
    assert_non_null(strstr(text, "\nnsl_egress_tunnels_total{outcome=\"ok\"} 1\n"));
    assert_non_null(strstr(text, "\nnsl_egress_tunnels_total{outcome=\"forbidden\"} 2\n"));
    assert_non_null(strstr(text, "\nnsl_egress_tunnels_total{outcome=\"busy\"} 0\n"));
    assert_non_null(strstr(text, "\nnsl_egress_bytes_total{direction=\"up\"} 10\n"));
    assert_non_null(strstr(text, "\nnsl_egress_bytes_total{direction=\"down\"} 2000\n"));
    nsl_buf_free(&out);
    nsl_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_egress_parses_connect_with_headers),
        cmocka_unit_test(test_egress_rejects_malformed_connect),
        cmocka_unit_test(test_egress_finds_head_end),
        cmocka_unit_test(test_egress_allowlist_matches_exactly),
        cmocka_unit_test(test_egress_empty_allowlist_allows_nothing),
        cmocka_unit_test(test_egress_allowlist_rejects_bad_entries),
        cmocka_unit_test(test_egress_metrics_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
