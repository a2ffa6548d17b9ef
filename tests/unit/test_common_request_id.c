/* Unit tests of common/request_id: the X-Request-Id / traceId alphabet and length, and generated
 * ids. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/request_id.h"

static void test_request_id_accepts_its_alphabet_up_to_max(void **state)
{
    (void)state;
    assert_true(nsl_request_id_valid("a", NSL_REQUEST_ID_MAX));
    assert_true(nsl_request_id_valid("Req-1_2.3", NSL_REQUEST_ID_MAX));
    assert_true(nsl_request_id_valid("0123456789abcdefABCDEF._-", NSL_REQUEST_ID_MAX));
    char id[NSL_TRACE_ID_MAX + 2];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = 0;
    id[NSL_REQUEST_ID_MAX] = 0;
    assert_true(nsl_request_id_valid(id, NSL_REQUEST_ID_MAX));
    id[NSL_REQUEST_ID_MAX] = 'x'; /* 65 characters */
    id[NSL_REQUEST_ID_MAX + 1] = 0;
    assert_false(nsl_request_id_valid(id, NSL_REQUEST_ID_MAX));
    assert_true(nsl_request_id_valid(id, NSL_TRACE_ID_MAX));
}

static void test_request_id_refuses_other_characters_and_empty(void **state)
{
    (void)state;
    const char *bad[] = {"",     "a b",   "a/b",       "a\"b",     "a\\b", "a:b", "a\nb",
                         "a\tb", "é",     "a;b",       "%41",      "a,b",  "a=b", "{}",
                         "a\rb", "a\x7f", "a\xff\xfe", "<script>", "a+b",  "a~b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (nsl_request_id_valid(bad[i], NSL_TRACE_ID_MAX))
            fail_msg("\"%s\" was accepted", bad[i]);
}

static void test_request_id_generated_are_16_hex_and_differ(void **state)
{
    (void)state;
    char a[NSL_REQUEST_ID_GENERATED_LEN + 1], b[NSL_REQUEST_ID_GENERATED_LEN + 1];
    assert_int_equal(nsl_request_id_generate(a), 0);
    assert_int_equal(nsl_request_id_generate(b), 0);
    assert_int_equal(strlen(a), 16);
    assert_int_equal(strspn(a, "0123456789abcdef"), 16);
    assert_true(nsl_request_id_valid(a, NSL_REQUEST_ID_MAX));
    assert_string_not_equal(a, b);
}

/* Ids come from a per-thread draw of randomness: across several draws they still all differ. */
static void test_request_id_generated_differ_across_draws(void **state)
{
    (void)state;
    enum { N = 100 };
    static char ids[N][NSL_REQUEST_ID_GENERATED_LEN + 1];
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(nsl_request_id_generate(ids[i]), 0);
        assert_int_equal(strspn(ids[i], "0123456789abcdef"), 16);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_id_accepts_its_alphabet_up_to_max),
        cmocka_unit_test(test_request_id_refuses_other_characters_and_empty),
        cmocka_unit_test(test_request_id_generated_are_16_hex_and_differ),
        cmocka_unit_test(test_request_id_generated_differ_across_draws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
