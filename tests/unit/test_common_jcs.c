/* RFC 8785 canonical JSON: the number samples of Appendix B, string escaping, member order by
 * UTF-16 code units, nesting, and the RFC's own §3.2.2 example. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/jcs.h"

static double from_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void test_numbers_match_rfc8785_appendix_b(void **state)
{
    (void)state;
    static const struct {
        uint64_t bits;
        const char *text;
    } samples[] = {
        {0x0000000000000000, "0"},
        {0x8000000000000000, "0"},
        {0x0000000000000001, "5e-324"},
        {0x8000000000000001, "-5e-324"},
        {0x7fefffffffffffff, "1.7976931348623157e+308"},
        {0xffefffffffffffff, "-1.7976931348623157e+308"},
        {0x4340000000000000, "9007199254740992"},
        {0xc340000000000000, "-9007199254740992"},
        {0x4430000000000000, "295147905179352830000"},
        {0x44b52d02c7e14af5, "9.999999999999997e+22"},
        {0x44b52d02c7e14af6, "1e+23"},
        {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
        {0x444b1ae4d6e2ef4e, "999999999999999700000"},
        {0x444b1ae4d6e2ef4f, "999999999999999900000"},
        {0x444b1ae4d6e2ef50, "1e+21"},
        {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
        {0x3eb0c6f7a0b5ed8d, "0.000001"},
        {0x41b3de4355555553, "333333333.3333332"},
        {0x41b3de4355555554, "333333333.33333325"},
        {0x41b3de4355555555, "333333333.3333333"},
        {0x41b3de4355555556, "333333333.3333334"},
        {0x41b3de4355555557, "333333333.33333343"},
        {0xbecbf647612f3696, "-0.0000033333333333333333"},
        {0x43143ff3c1cb0959, "1424953923781206.2"},
    };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char out[32];
        assert_int_equal(nsl_jcs_number(from_bits(samples[i].bits), out), 0);
        assert_string_equal(out, samples[i].text);
    }
}

/* Integers below 2^53 take a shorter path than other numbers: the same digits. */
static void test_integers_print_as_their_digits(void **state)
{
    (void)state;
    static const struct {
        double value;
        const char *text;
    } samples[] = {{1, "1"},
                   {-1, "-1"},
                   {40, "40"},
                   {1795627962, "1795627962"},
                   {1e15, "1000000000000000"},
                   {9007199254740991.0, "9007199254740991"},
                   {-9007199254740991.0, "-9007199254740991"},
                   {1e20, "100000000000000000000"}};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char out[32];
        assert_int_equal(nsl_jcs_number(samples[i].value, out), 0);
        assert_string_equal(out, samples[i].text);
    }
}

static void test_nan_and_infinity_are_refused(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(nsl_jcs_number(from_bits(0x7ff0000000000000), out), -1);
    assert_int_equal(nsl_jcs_number(from_bits(0x7ff8000000000000), out), -1);
}

static void assert_canonical(const char *input, const char *expected)
{
    json_error_t jerr;
    json_t *v = json_loads(input, JSON_DECODE_ANY, &jerr);
    assert_non_null(v);
    size_t len;
    char *out = nsl_jcs_serialize(v, &len);
    assert_non_null(out);
    assert_string_equal(out, expected);
    assert_int_equal(len, strlen(expected));
    free(out);
    json_decref(v);
}

static void test_rfc8785_section_3_2_2_example(void **state)
{
    (void)state;
    assert_canonical(
        "{\"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],"
        " \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\","
        " \"literals\": [null, true, false]}",
        "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,"
        "1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

static void test_members_sort_by_utf16_code_units(void **state)
{
    (void)state;
    /* RFC 8785 §3.2.3 sorting example: "\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00",
     * "\ufb33" — the emoji (a surrogate pair) sorts before U+FB33 in UTF-16 although its UTF-8
     * bytes sort after. */
    assert_canonical(
        "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew "
        "Letter Dalet With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning "
        "Face\",\"\\u0080\":\"Control\",\"\\u00f6\":\"Latin Small Letter O With "
        "Diaeresis\"}",
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
        "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro "
        "Sign\",\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\",\"\xef\xac\xb3\":\"Hebrew "
        "Letter Dalet With Dagesh\"}");
}

static void test_nested_values_and_integers(void **state)
{
    (void)state;
    assert_canonical("{\"b\":[{\"z\":1,\"a\":{}},[]],\"a\":-0,\"c\":1E23}",
                     "{\"a\":0,\"b\":[{\"a\":{},\"z\":1},[]],\"c\":1e+23}");
    assert_canonical("{\"amount\":\"100\",\"n\":9007199254740993}",
                     "{\"amount\":\"100\",\"n\":9007199254740992}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_match_rfc8785_appendix_b),
        cmocka_unit_test(test_integers_print_as_their_digits),
        cmocka_unit_test(test_nan_and_infinity_are_refused),
        cmocka_unit_test(test_rfc8785_section_3_2_2_example),
        cmocka_unit_test(test_members_sort_by_utf16_code_units),
        cmocka_unit_test(test_nested_values_and_integers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
