/* Unit tests of common/errors: names, descriptions, JSON-RPC codes and nsl_fail. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/errors.h"

static void test_errors_every_code_has_a_unique_name(void **state)
{
    (void)state;
    for (int i = 0; i < NSL_ERR_COUNT; i++) {
        const char *a = nsl_err_name((nsl_err)i);
        assert_non_null(a);
        assert_true(strlen(a) > 0);
        assert_non_null(nsl_err_description((nsl_err)i));
        assert_true(strlen(nsl_err_description((nsl_err)i)) > 0);
        for (int j = i + 1; j < NSL_ERR_COUNT; j++)
            assert_string_not_equal(a, nsl_err_name((nsl_err)j));
    }
}

static void test_errors_name_round_trips_to_code(void **state)
{
    (void)state;
    for (int i = 0; i < NSL_ERR_COUNT; i++) {
        nsl_err code = NSL_ERR_COUNT;
        assert_true(nsl_err_from_name(nsl_err_name((nsl_err)i), &code));
        assert_int_equal(code, i);
    }
}

static void test_errors_from_name_rejects_unknown_and_wrong_case(void **state)
{
    (void)state;
    nsl_err code = NSL_ERR_INTERNAL;
    assert_false(nsl_err_from_name("NO_SUCH_CODE", &code));
    assert_false(nsl_err_from_name("internal", &code));
    assert_false(nsl_err_from_name("", &code));
    assert_int_equal(code, NSL_ERR_INTERNAL);
}

static void test_errors_documented_codes_exist(void **state)
{
    (void)state;
    static const char *const names[] = {"BAD_FRAME",
                                        "INVALID_REQUEST",
                                        "UNKNOWN_SERVICE",
                                        "UNKNOWN_OPERATION",
                                        "INVALID_PARAMS",
                                        "UNAUTHENTICATED",
                                        "PERMISSION_DENIED",
                                        "NOT_FOUND",
                                        "ALREADY_EXISTS",
                                        "CONFLICT",
                                        "INSUFFICIENT_FUNDS",
                                        "LIMIT_EXCEEDED",
                                        "RATE_LIMITED",
                                        "UNAVAILABLE",
                                        "TIMEOUT",
                                        "FUNCTION_FAILED",
                                        "INTERNAL"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        nsl_err code;
        assert_true(nsl_err_from_name(names[i], &code));
        assert_string_equal(nsl_err_name(code), names[i]);
    }
    /* OK plus the seventeen documented codes, nothing else. */
    assert_int_equal(NSL_ERR_COUNT, 1 + sizeof names / sizeof names[0]);
    assert_int_equal(NSL_OK, 0);
    assert_string_equal(nsl_err_name(NSL_OK), "OK");
}

static void test_errors_jsonrpc_codes_follow_the_spec(void **state)
{
    (void)state;
    assert_int_equal(nsl_err_jsonrpc_code(NSL_OK), 0);
    assert_int_equal(nsl_err_jsonrpc_code(NSL_ERR_BAD_FRAME), -32700);
    assert_int_equal(nsl_err_jsonrpc_code(NSL_ERR_INVALID_REQUEST), -32600);
    assert_int_equal(nsl_err_jsonrpc_code(NSL_ERR_UNKNOWN_SERVICE), -32601);
    assert_int_equal(nsl_err_jsonrpc_code(NSL_ERR_UNKNOWN_OPERATION), -32601);
    assert_int_equal(nsl_err_jsonrpc_code(NSL_ERR_INVALID_PARAMS), -32602);
    assert_int_equal(nsl_err_jsonrpc_code(NSL_ERR_INTERNAL), -32603);
    /* Application codes live in the implementation-defined server range. */
    for (int i = NSL_ERR_UNAUTHENTICATED; i < NSL_ERR_INTERNAL; i++) {
        int c = nsl_err_jsonrpc_code((nsl_err)i);
        assert_true(c <= -32000 && c >= -32099);
    }
}

static void test_errors_out_of_range_code_reads_as_internal(void **state)
{
    (void)state;
    nsl_err bad[] = {NSL_ERR_COUNT, (nsl_err)(NSL_ERR_COUNT + 7), (nsl_err)-1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_string_equal(nsl_err_name(bad[i]), "INTERNAL");
        assert_int_equal(nsl_err_jsonrpc_code(bad[i]), -32603);
        assert_string_equal(nsl_err_description(bad[i]), nsl_err_description(NSL_ERR_INTERNAL));
    }
}

static void test_errors_fail_fills_code_and_message(void **state)
{
    (void)state;
    struct nsl_error err;
    memset(&err, 0, sizeof err);
    nsl_err rc = nsl_fail(&err, NSL_ERR_INVALID_PARAMS, "field %s is %d bytes", "x", 42);
    assert_int_equal(rc, NSL_ERR_INVALID_PARAMS);
    assert_int_equal(err.code, NSL_ERR_INVALID_PARAMS);
    assert_string_equal(err.message, "field x is 42 bytes");
}

static void test_errors_fail_truncates_long_message_with_terminator(void **state)
{
    (void)state;
    char longtext[1000];
    memset(longtext, 'a', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = 0;
    struct nsl_error err;
    memset(&err, 'Z', sizeof err);
    assert_int_equal(nsl_fail(&err, NSL_ERR_LIMIT_EXCEEDED, "%s", longtext),
                     NSL_ERR_LIMIT_EXCEEDED);
    assert_int_equal(err.code, NSL_ERR_LIMIT_EXCEEDED);
    assert_int_equal(strlen(err.message), sizeof err.message - 1);
    assert_int_equal(err.message[sizeof err.message - 1], 0);
    assert_int_equal(err.message[0], 'a');
}

static void test_errors_fail_accepts_null_record(void **state)
{
    (void)state;
    assert_int_equal(nsl_fail(NULL, NSL_ERR_TIMEOUT, "ignored %d", 1), NSL_ERR_TIMEOUT);
}

static nsl_err try_twice(nsl_err first, nsl_err second, int *reached)
{
    NSL_TRY(first);
    *reached = 1;
    NSL_TRY(second);
    *reached = 2;
    return NSL_OK;
}

static void test_errors_try_returns_first_failure(void **state)
{
    (void)state;
    int reached = 0;
    assert_int_equal(try_twice(NSL_ERR_NOT_FOUND, NSL_OK, &reached), NSL_ERR_NOT_FOUND);
    assert_int_equal(reached, 0);
    assert_int_equal(try_twice(NSL_OK, NSL_ERR_CONFLICT, &reached), NSL_ERR_CONFLICT);
    assert_int_equal(reached, 1);
    assert_int_equal(try_twice(NSL_OK, NSL_OK, &reached), NSL_OK);
    assert_int_equal(reached, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_every_code_has_a_unique_name),
        cmocka_unit_test(test_errors_name_round_trips_to_code),
        cmocka_unit_test(test_errors_from_name_rejects_unknown_and_wrong_case),
        cmocka_unit_test(test_errors_documented_codes_exist),
        cmocka_unit_test(test_errors_jsonrpc_codes_follow_the_spec),
        cmocka_unit_test(test_errors_out_of_range_code_reads_as_internal),
        cmocka_unit_test(test_errors_fail_fills_code_and_message),
        cmocka_unit_test(test_errors_fail_truncates_long_message_with_terminator),
        cmocka_unit_test(test_errors_fail_accepts_null_record),
        cmocka_unit_test(test_errors_try_returns_first_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
