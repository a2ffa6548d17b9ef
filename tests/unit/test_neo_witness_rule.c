/* Witness rules: every condition type, nesting depth 3, subitem limits, bad bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "neo/witness_rule.h"

#define KEY "02028a99826edc0c97d18e22b6932373d908d323aa7f92656a77ec26e8861699ef"
#define H20 "26eba6592ddfb6b04426048cd5891ff0e3fecba7"

static nsl_err check(const char *hex, size_t count, struct nsl_error *err)
{
    size_t n = strlen(hex), got = 0;
    uint8_t *d = malloc(n / 2 + 1);
    assert_int_equal(nsl_hex_decode(hex, n, d, n / 2 + 1, &got), 0);
    struct nsl_reader r;
    nsl_reader_init(&r, d, got);
    nsl_err rc = nsl_neo_witness_rules_read(&r, count, err);
    if (rc == NSL_OK)
        assert_int_equal(nsl_reader_remaining(&r), 0);
    free(d);
    return rc;
}

static void test_every_condition_type_is_read(void **state)
{
    (void)state;
    assert_int_equal(check("0100"
                           "00",
                           1, NULL),
                     NSL_OK); /* Deny Boolean false */
    assert_int_equal(check("01"
                           "0100"
                           "01",
                           1, NULL),
                     NSL_OK); /* Allow Not(Boolean) */
    assert_int_equal(check("01"
                           "0302"
                           "20"
                           "18" H20,
                           1, NULL),
                     NSL_OK); /* Or(Entry, Hash) */
    assert_int_equal(check("01"
                           "19" KEY,
                           1, NULL),
                     NSL_OK);
    assert_int_equal(check("01"
                           "28" H20 "00"
                           "29" KEY,
                           2, NULL),
                     NSL_OK);
}

static void test_nesting_limit_is_three_levels(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    /* Allow Not(Not(Boolean true)): three levels. */
    assert_int_equal(check("0101010001", 1, NULL), NSL_OK);
    assert_int_equal(check("01"
                           "01"
                           "01"
                           "01"
                           "0001",
                           1, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "nesting"));
    assert_int_equal(check("01"
                           "0201"
                           "0301"
                           "0101",
                           1, &err),
                     NSL_ERR_INVALID_PARAMS);
}

static void test_bad_rules_are_refused(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    char hex[256] = "01"
                    "0211";
    for (int i = 0; i < 17; i++)
        strcat(hex, "20");
    assert_int_equal(check(hex, 1, &err), NSL_ERR_INVALID_PARAMS); /* 17 subconditions */
    hex[5] = '0';                                                  /* 0x10: 16 of them */
    hex[strlen(hex) - 2] = 0;
    assert_int_equal(check(hex, 1, &err), NSL_OK);
    assert_int_equal(check("02"
                           "20",
                           1, &err),
                     NSL_ERR_INVALID_PARAMS); /* action */
    assert_int_equal(check("01"
                           "0300",
                           1, &err),
                     NSL_ERR_INVALID_PARAMS); /* empty Or */
    assert_int_equal(check("01"
                           "02fd0100"
                           "20",
                           1, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(check("01"
                           "21",
                           1, &err),
                     NSL_ERR_INVALID_PARAMS); /* type */
    assert_int_equal(check("01"
                           "19"
                           "04" H20 "000000000000000000000000",
                           1, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(check("01"
                           "28"
                           "00",
                           1, &err),
                     NSL_ERR_INVALID_PARAMS); /* truncated */
    assert_int_equal(check("01"
                           "20",
                           2, &err),
                     NSL_ERR_INVALID_PARAMS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_condition_type_is_read),
        cmocka_unit_test(test_nesting_limit_is_three_levels),
        cmocka_unit_test(test_bad_rules_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
