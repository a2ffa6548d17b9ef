/* Per-account token buckets: burst then refusal, refill over time, accounts independent. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "enclave/rate_limit.h"

static void test_burst_then_refused_then_refilled(void **state)
{
    (void)state;
    struct nsl_rate_limit *rl = nsl_rate_limit_new(10, 5);
    for (int i = 0; i < 5; i++)
        assert_true(nsl_rate_limit_take(rl, "a", 1000));
    assert_false(nsl_rate_limit_take(rl, "a", 1000));
    assert_true(nsl_rate_limit_take(rl, "b", 1000));  /* another account is not affected */
    assert_false(nsl_rate_limit_take(rl, "a", 1050)); /* half a token */
    assert_true(nsl_rate_limit_take(rl, "a", 1100));  /* one token after 100 ms at 10/s */
    assert_false(nsl_rate_limit_take(rl, "a", 1100));
    nsl_rate_limit_free(rl);
}

static void test_zero_rate_disables_limiting(void **state)
{
    (void)state;
    struct nsl_rate_limit *rl = nsl_rate_limit_new(0, 0);
    for (int i = 0; i < 1000; i++)
        assert_true(nsl_rate_limit_take(rl, "a", 1000));
    nsl_rate_limit_free(rl);
}

static void test_many_accounts_are_swept_when_idle(void **state)
{
    (void)state;
    struct nsl_rate_limit *rl = nsl_rate_limit_new(100, 10);
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "acct-%d", i);
        assert_true(nsl_rate_limit_take(rl, name, 1000));
    }
    /* Much later every bucket is full again; the sweep frees them (ASan checks no leak). */
    assert_true(nsl_rate_limit_take(rl, "acct-1", 100000));
    nsl_rate_limit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refused_then_refilled),
        cmocka_unit_test(test_zero_rate_disables_limiting),
        cmocka_unit_test(test_many_accounts_are_swept_when_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
