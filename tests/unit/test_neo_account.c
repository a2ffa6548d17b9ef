/* Accounts: a key's script, hash and address all at once, for every vector. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "neo/account.h"
#include "test_neo_fixture.h"

static void test_account_from_key_matches_every_vector(void **state)
{
    (void)state;
    json_t *keys = neo_vec("keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        struct nsl_secret *key = neo_key(i);
        struct nsl_neo_account a;
        assert_int_equal(nsl_neo_account_from_key(key, &a, NULL), NSL_OK);
        neo_assert_hex(a.pub, 33, neo_str(k, "publicKey"));
        neo_assert_hex(a.hash, 20, neo_str(k, "scriptHashRaw"));
        assert_string_equal(a.address, neo_str(k, "address"));
        nsl_secret_free(key);
    }
}

static void test_account_refuses_bad_inputs(void **state)
{
    (void)state;
    uint8_t bad[33];
    memset(bad, 0xff, sizeof bad); /* prefix 0xff, X >= p */
    struct nsl_neo_account a;
    assert_int_equal(nsl_neo_account_from_pub(bad, &a), -1);
    struct nsl_secret *k = nsl_secret_new(32);
    assert_int_equal(nsl_neo_account_from_key(k, &a, NULL), NSL_ERR_INVALID_PARAMS);
    nsl_secret_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_from_key_matches_every_vector),
        cmocka_unit_test(test_account_refuses_bad_inputs),
    };
    return cmocka_run_group_tests(tests, neo_vectors_setup, neo_vectors_teardown);
}
