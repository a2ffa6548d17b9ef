/* Unit tests of common/time_keys.c: which namespaces kv.prune may clear, and the ten-digit time
 * that leads their keys, whose byte order must be time order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/time_keys.h"

static void test_only_nonces_is_time_keyed(void **state)
{
    (void)state;
    assert_true(nsl_time_keyed_ns("nonces"));
    assert_false(nsl_time_keyed_ns("secrets"));
    assert_false(nsl_time_keyed_ns("system"));
    assert_false(nsl_time_keyed_ns("nonce"));
    assert_false(nsl_time_keyed_ns("nonces_"));
    assert_false(nsl_time_keyed_ns(""));
}

static void test_times_are_ten_digits_in_time_order(void **state)
{
    (void)state;
    char a[NSL_TIME_KEY_DIGITS + 1], b[NSL_TIME_KEY_DIGITS + 1];
    assert_int_equal(nsl_time_key_format(0, a), 0);
    assert_string_equal(a, "0000000000");
    assert_int_equal(nsl_time_key_format(1764000000, a), 0);
    assert_string_equal(a, "1764000000");
    assert_int_equal(nsl_time_key_format(NSL_TIME_KEY_MAX, a), 0);
    assert_string_equal(a, "9999999999");
    assert_int_equal(nsl_time_key_format(99, a), 0);
    assert_int_equal(nsl_time_key_format(100, b), 0);
    assert_true(strcmp(a, b) < 0); /* "99" > "100" as text: the padding makes it time order */
}

static void test_times_outside_ten_digits_are_refused(void **state)
{
    (void)state;
    char a[NSL_TIME_KEY_DIGITS + 1];
    assert_int_equal(nsl_time_key_format(-1, a), -1);
    assert_int_equal(nsl_time_key_format(NSL_TIME_KEY_MAX + 1, a), -1);
    assert_int_equal(nsl_time_key_format(INT64_MIN, a), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_nonces_is_time_keyed),
        cmocka_unit_test(test_times_are_ten_digits_in_time_order),
        cmocka_unit_test(test_times_outside_ten_digits_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
