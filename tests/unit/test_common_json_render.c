/* Direct JSON rendering: byte-identical to jansson's compact dump wherever jansson's choices are
 * the only sensible ones (member order, numbers, UTF-8, the two-character escapes), control
 * characters escaped, and every rendering reading back as the same value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_render.h"

static char *render(const json_t *v)
{
    struct nsl_buf b = {0};
    assert_int_equal(nsl_json_render(v, &b), 0);
    assert_int_equal(nsl_buf_append_u8(&b, 0), 0);
    return (char *)b.data;
}

static void assert_same_as_jansson(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    assert_non_null(v);
    char *ours = render(v), *theirs = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(ours, theirs);
    free(ours);
    free(theirs);
    json_decref(v);
}

static void test_matches_jansson_compact_dump(void **state)
{
    (void)state;
    assert_same_as_jansson(
        "{\"id\":\"b\",\"ok\":true,\"result\":{\"z\":1,\"a\":[true,false,null]}}");
    assert_same_as_jansson("[0,-1,9223372036854775807,-9223372036854775808]");
    assert_same_as_jansson("[0.5,3.0,1e5,1.5e-7,-2.25e300,0.1,123456789.125]");
    assert_same_as_jansson("{\"s\":\"quote \\\" backslash \\\\ slash / nl \\n tab \\t cr \\r\"}");
    assert_same_as_jansson("{\"\\u00e9t\\u00e9\":\"\\u2028 \\ud83d\\ude00 caf\\u00e9\"}");
    assert_same_as_jansson("{\"b\":\"\\b\\f\",\"empty\":\"\",\"o\":{},\"a\":[]}");
    assert_same_as_jansson("\"just a string\"");
}

static void test_control_characters_are_escaped_and_read_back(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s}", "k", "a\x01z\x1f");
    char *text = render(v);
    assert_string_equal(text, "{\"k\":\"a\\u0001z\\u001f\"}");
    json_t *back = json_loads(text, 0, NULL);
    assert_true(json_equal(v, back));
    json_decref(back);
    json_decref(v);
    free(text);
}

static void test_embedded_nul_is_escaped(void **state)
{
    (void)state;
    json_t *v = json_stringn("a\0b", 3);
    char *text = render(v);
    assert_string_equal(text, "\"a\\u0000b\"");
    json_decref(v);
    free(text);
}

static void test_non_finite_real_and_null_value_fail(void **state)
{
    (void)state;
    struct nsl_buf b = {0};
    json_t *v = json_real(1.0);
    json_real_set(v, INFINITY); /* jansson refuses to make one, but a set must not slip through */
    assert_int_equal(nsl_json_render(NULL, &b), -1);
    if (!isfinite(json_real_value(v)))
        assert_int_equal(nsl_json_render(v, &b), -1);
    json_decref(v);
    nsl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_jansson_compact_dump),
        cmocka_unit_test(test_control_characters_are_escaped_and_read_back),
        cmocka_unit_test(test_embedded_nul_is_escaped),
        cmocka_unit_test(test_non_finite_real_and_null_value_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
