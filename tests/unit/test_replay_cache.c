/* The neo-sig nonce replay cache: a nonce is accepted once per account, other accounts are
 * independent, expired entries make room, and a cache full of live entries refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "enclave/replay_cache.h"

static void test_nonce_is_accepted_once(void **state)
{
    (void)state;
    struct nsl_replay_cache *c = nsl_replay_cache_new(100);
    assert_int_equal(nsl_replay_cache_check(c, "acct", "n1", 1000, 1600), NSL_REPLAY_FRESH);
    assert_int_equal(nsl_replay_cache_check(c, "acct", "n1", 1001, 1601), NSL_REPLAY_SEEN);
    assert_int_equal(nsl_replay_cache_check(c, "other", "n1", 1001, 1601), NSL_REPLAY_FRESH);
    assert_int_equal(nsl_replay_cache_check(c, "acct", "n2", 1001, 1601), NSL_REPLAY_FRESH);
    /* "ab"+"c" and "a"+"bc" are different pairs. */
    assert_int_equal(nsl_replay_cache_check(c, "ab", "c", 1001, 1601), NSL_REPLAY_FRESH);
    assert_int_equal(nsl_replay_cache_check(c, "a", "bc", 1001, 1601), NSL_REPLAY_FRESH);
    nsl_replay_cache_free(c);
}

static void test_full_cache_refuses_until_entries_expire(void **state)
{
    (void)state;
    struct nsl_replay_cache *c = nsl_replay_cache_new(8);
    char nonce[16];
    int accepted = 0;
    for (int i = 0; i < 64; i++) {
        snprintf(nonce, sizeof nonce, "n%d", i);
        if (nsl_replay_cache_check(c, "acct", nonce, 1000, 1600) == NSL_REPLAY_FRESH)
            accepted++;
    }
    assert_true(accepted >= 8 && accepted < 64);
    assert_int_equal(nsl_replay_cache_check(c, "acct", "late", 1000, 1600), NSL_REPLAY_FULL);
    /* After the window has passed, the old entries are swept and room returns. */
    assert_int_equal(nsl_replay_cache_check(c, "acct", "late", 1601, 2200), NSL_REPLAY_FRESH);
    assert_true(nsl_replay_cache_size(c) == 1);
    nsl_replay_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonce_is_accepted_once),
        cmocka_unit_test(test_full_cache_refuses_until_entries_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
