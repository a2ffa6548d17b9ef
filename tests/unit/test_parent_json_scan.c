/* Unit tests of parent/json_scan: what is well-formed, what is not, and where members are. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parent/json_scan.h"

static const char *const names[] = {"id", "ok", "result"};

static int scan(const char *text, struct nsl_json_span spans[3])
{
    return nsl_json_scan_object(text, strlen(text), names, 3, spans);
}

static void assert_span(const char *text, struct nsl_json_span span, const char *want)
{
    assert_int_equal(span.len, strlen(want));
    assert_memory_equal(text + span.off, want, span.len);
}

static void test_json_scan_finds_top_level_members(void **state)
{
    (void)state;
    struct nsl_json_span s[3];
    const char *text = " {\"result\": {\"id\":1,\"ok\":[true, {\"x\":null}]} ,\"id\" :\"p-1\","
                       "\"other\":-0.5e+3, \"ok\":true }\n";
    assert_int_equal(scan(text, s), 0);
    assert_span(text, s[0], "\"p-1\"");
    assert_span(text, s[1], "true");
    assert_span(text, s[2], "{\"id\":1,\"ok\":[true, {\"x\":null}]}");
    assert_true(nsl_json_span_is(text, s[1], "true"));
    assert_false(nsl_json_span_is(text, s[1], "false"));
    assert_int_equal(scan("{}", s), 0);
    assert_int_equal(s[0].len + s[1].len + s[2].len, 0); /* absent */
}

static void test_json_scan_accepts_valid_values(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{\"a\":0}",
        "{\"a\":-0.0e-0}",
        "{\"a\":123456789012345678901234567890}",
        "{\"a\":[]}",
        "{\"a\":[[],{},\"\",false,null]}",
        "{\"a\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"}",
        "{\"a\":\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
        "{\"a\":1,\"a\":2}", /* duplicates of members nobody asked for are not looked for */
    };
    struct nsl_json_span s[3];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(scan(good[i], s), 0);
}

static void test_json_scan_rejects_malformed_text(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "[]",
        "\"x\"",
        "{",
        "{\"a\"",
        "{\"a\":}",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "{,\"a\":1}",
        "{a:1}",
        "{\"a\":1} x",
        "{\"a\":1}{}",
        "{\"a\":[1,]}",
        "{\"a\":[1 2]}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":-}",
        "{\"a\":1e}",
        "{\"a\":+1}",
        "{\"a\":\"x}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\uD83D\"}",
        "{\"a\":\"\\uDE00\"}",
        "{\"a\":\"\\uD83D\\u0041\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"\xc0\x80\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf5\x80\x80\x80\"}",
        "{\"a\":\"\xe2\x82\"}",
        "{\"a\":\"\x80\"}",
        "{\"id\":1,\"id\":2}", /* a named member twice */
    };
    struct nsl_json_span s[3];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (scan(bad[i], s) != -1)
            fail_msg("accepted bad text #%zu: %s", i, bad[i]);
    }
    /* A NUL byte inside the given length is refused. */
    assert_int_equal(nsl_json_scan_object("{\"a\":\"\0\"}", 8, names, 3, s), -1);
}

static void test_json_scan_bounds_nesting(void **state)
{
    (void)state;
    struct nsl_json_span s[3];
    size_t deep = NSL_JSON_SCAN_DEPTH + 1; /* the object itself plus this many arrays */
    char *text = malloc(2 * deep + 16);
    assert_non_null(text);
    for (size_t depth = NSL_JSON_SCAN_DEPTH - 1; depth <= deep; depth++) {
        size_t n = 0;
        n += (size_t)sprintf(text, "{\"a\":");
        for (size_t i = 0; i < depth; i++)
            text[n++] = '[';
        for (size_t i = 0; i < depth; i++)
            text[n++] = ']';
        text[n++] = '}';
        text[n] = 0;
        assert_int_equal(scan(text, s), depth + 1 <= NSL_JSON_SCAN_DEPTH ? 0 : -1);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_scan_finds_top_level_members),
        cmocka_unit_test(test_json_scan_accepts_valid_values),
        cmocka_unit_test(test_json_scan_rejects_malformed_text),
        cmocka_unit_test(test_json_scan_bounds_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
