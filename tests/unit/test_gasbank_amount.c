/* Datoshi parsing and checked arithmetic of the gas bank (services/gasbank_amount.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "services/gasbank_amount.h"
#include "services/gasbank_ledger.h"

static void test_amount_parses_digits_up_to_2_pow_62(void **state)
{
    (void)state;
    int64_t v = -1;
    struct nsl_error err = {0};
    assert_int_equal(nsl_gasbank_amount_parse("0", "amount", 0, &v, &err), NSL_OK);
    assert_int_equal(v, 0);
    assert_int_equal(nsl_gasbank_amount_parse("4611686018427387904", "amount", 1, &v, &err),
                     NSL_OK);
    assert_int_equal(v, NSL_GASBANK_MAX_AMOUNT);
    assert_int_equal(nsl_gasbank_amount_parse("000123", "amount", 1, &v, &err), NSL_OK);
    assert_int_equal(v, 123);
}

static void test_amount_refuses_bad_text_and_names_the_field(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "-1",
                         "+1",
                         "1.5",
                         " 1",
                         "1e3",
                         "abc",
                         "4611686018427387905",
                         "9999999999999999999",
                         "12345678901234567890"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 7;
        struct nsl_error err = {0};
        assert_int_equal(nsl_gasbank_amount_parse(bad[i], "maxFee", 0, &v, &err),
                         NSL_ERR_INVALID_PARAMS);
        assert_non_null(strstr(err.message, "params.maxFee"));
        assert_int_equal(v, 7);
    }
    int64_t v;
    assert_int_equal(nsl_gasbank_amount_parse("0", "amount", 1, &v, NULL), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_gasbank_amount_parse(NULL, "amount", 1, &v, NULL), NSL_ERR_INVALID_PARAMS);
}

static void test_add_and_sub_refuse_leaving_the_range(void **state)
{
    (void)state;
    int64_t out = 42;
    assert_true(nsl_gasbank_amount_add(1, 2, &out));
    assert_int_equal(out, 3);
    assert_true(nsl_gasbank_amount_add(NSL_GASBANK_MAX_AMOUNT - 1, 1, &out));
    assert_false(nsl_gasbank_amount_add(NSL_GASBANK_MAX_AMOUNT, 1, &out));
    assert_false(nsl_gasbank_amount_add(INT64_MAX, INT64_MAX, &out));
    assert_false(nsl_gasbank_amount_add(-1, 1, &out));
    assert_int_equal(out, NSL_GASBANK_MAX_AMOUNT);
    assert_true(nsl_gasbank_amount_sub(5, 5, &out));
    assert_int_equal(out, 0);
    assert_false(nsl_gasbank_amount_sub(5, 6, &out));
    assert_false(nsl_gasbank_amount_sub(INT64_MIN, 0, &out));
    assert_false(nsl_gasbank_amount_sub(0, INT64_MIN, &out));
}

static void test_format_and_json_round_trip(void **state)
{
    (void)state;
    char text[NSL_GASBANK_AMOUNT_LEN];
    nsl_gasbank_amount_format(NSL_GASBANK_MAX_AMOUNT, text);
    assert_string_equal(text, "4611686018427387904");
    json_t *obj =
        json_pack("{s:o, s:s, s:i}", "a", nsl_gasbank_amount_json(123456789), "b", "x", "c", 5);
    assert_int_equal(nsl_gasbank_amount_get(obj, "a", -1), 123456789);
    assert_int_equal(nsl_gasbank_amount_get(obj, "b", -1), -1);
    assert_int_equal(nsl_gasbank_amount_get(obj, "c", -1), -1); /* numbers are not amounts */
    assert_int_equal(nsl_gasbank_amount_get(obj, "missing", -2), -2);
    json_decref(obj);
}

static void test_entry_keys_sort_newest_first(void **state)
{
    (void)state;
    char k1[NSL_GASBANK_KEY_LEN], k2[NSL_GASBANK_KEY_LEN], k10[NSL_GASBANK_KEY_LEN];
    nsl_gasbank_entry_key("acct_a", 1, k1);
    nsl_gasbank_entry_key("acct_a", 2, k2);
    nsl_gasbank_entry_key("acct_a", 10, k10);
    assert_true(strcmp(k10, k2) < 0 && strcmp(k2, k1) < 0);
    assert_int_equal(nsl_gasbank_entry_seq(k10), 10);
    assert_int_equal(nsl_gasbank_entry_seq("entry/acct_a/12"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amount_parses_digits_up_to_2_pow_62),
        cmocka_unit_test(test_amount_refuses_bad_text_and_names_the_field),
        cmocka_unit_test(test_add_and_sub_refuse_leaving_the_range),
        cmocka_unit_test(test_format_and_json_round_trip),
        cmocka_unit_test(test_entry_keys_sort_newest_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
