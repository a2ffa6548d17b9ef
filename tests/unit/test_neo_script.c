/* Verification/invocation scripts, multisig ordering, script hashes raw and display. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "neo/address.h"
#include "neo/script.h"
#include "test_neo_fixture.h"

static void pub_of(size_t i, uint8_t pub[33])
{
    neo_unhex_into(neo_str(json_array_get(neo_vec("keys"), i), "publicKey"), pub, 33);
}

static void test_single_sig_script_and_hashes_match_every_vector(void **state)
{
    (void)state;
    json_t *keys = neo_vec("keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        uint8_t pub[33], script[NSL_NEO_SINGLE_SIG_LEN], hash[20];
        char display[NSL_NEO_HASH160_DISPLAY_LEN];
        pub_of(i, pub);
        assert_int_equal(nsl_neo_script_single_sig(pub, script), 0);
        if (json_object_get(k, "verificationScript"))
            neo_assert_hex(script, sizeof script, neo_str(k, "verificationScript"));
        assert_int_equal(nsl_neo_script_hash(script, sizeof script, hash), 0);
        neo_assert_hex(hash, 20, neo_str(k, "scriptHashRaw"));
        nsl_neo_hash160_display(hash, display);
        assert_string_equal(display, neo_str(k, "scriptHashDisplay"));
        uint8_t back[20];
        assert_int_equal(nsl_neo_hash160_parse(display, back), 0);
        assert_memory_equal(back, hash, 20);
        const uint8_t *p = NULL;
        assert_int_equal(nsl_neo_script_parse_single_sig(script, sizeof script, &p), 0);
        assert_memory_equal(p, pub, 33);
    }
}

static void test_single_sig_refuses_invalid_point(void **state)
{
    (void)state;
    uint8_t pub[33], script[40];
    pub_of(0, pub);
    pub[0] = 0x04;
    assert_int_equal(nsl_neo_script_single_sig(pub, script), -1);
}

static void test_multisig_script_hash_matches_vector_whatever_the_key_order(void **state)
{
    (void)state;
    json_t *ms = json_array_get(neo_vec("multisig"), 0);
    json_t *pubs = json_object_get(ms, "publicKeys");
    uint8_t keys[3][33];
    static const size_t orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                        {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (size_t o = 0; o < 6; o++) {
        for (size_t i = 0; i < 3; i++)
            neo_unhex_into(json_string_value(json_array_get(pubs, orders[o][i])), keys[i], 33);
        struct nsl_buf b = {0};
        assert_int_equal(nsl_neo_script_multisig(2, (const uint8_t(*)[33])keys, 3, &b, NULL),
                         NSL_OK);
        uint8_t hash[20];
        char display[NSL_NEO_HASH160_DISPLAY_LEN], address[NSL_NEO_ADDRESS_SIZE];
        assert_int_equal(nsl_neo_script_hash(b.data, b.len, hash), 0);
        nsl_neo_hash160_display(hash, display);
        assert_string_equal(display, neo_str(ms, "scriptHashDisplay"));
        assert_int_equal(nsl_neo_address_from_hash(hash, address), 0);
        assert_string_equal(address, neo_str(ms, "address"));
        /* PUSH2, the three sorted keys, PUSH3, SYSCALL CheckMultisig */
        assert_int_equal(b.data[0], 0x12);
        assert_int_equal(b.data[b.len - 6], 0x13);
        neo_assert_hex(b.data + b.len - 5, 5, "419ed0dc3a");
        size_t m, n;
        const uint8_t *first;
        assert_int_equal(nsl_neo_script_parse_multisig(b.data, b.len, &m, &n, &first), 0);
        assert_int_equal(m, 2);
        assert_int_equal(n, 3);
        for (size_t i = 1; i < n; i++)
            assert_true(nsl_neo_pubkey_compare(first + (i - 1) * NSL_NEO_MULTISIG_KEY_STRIDE,
                                               first + i * NSL_NEO_MULTISIG_KEY_STRIDE) < 0);
        nsl_buf_free(&b);
    }
}

static void test_multisig_refuses_bad_m_n_and_duplicate_or_invalid_keys(void **state)
{
    (void)state;
    uint8_t keys[3][33];
    for (size_t i = 0; i < 3; i++)
        pub_of(i, keys[i]);
    struct nsl_buf b = {0};
    struct nsl_error err = {0};
    const uint8_t(*k)[33] = (const uint8_t(*)[33])keys;
    assert_int_equal(nsl_neo_script_multisig(0, k, 3, &b, &err), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_neo_script_multisig(4, k, 3, &b, &err), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_neo_script_multisig(1, k, 0, &b, &err), NSL_ERR_INVALID_PARAMS);
    memcpy(keys[2], keys[0], 33);
    assert_int_equal(nsl_neo_script_multisig(2, k, 3, &b, &err), NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "distinct"));
    keys[2][0] = 0x05;
    assert_int_equal(nsl_neo_script_multisig(2, k, 3, &b, &err), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(b.len, 0);
    nsl_buf_free(&b);
}

static void test_multisig_with_many_keys_uses_pushint8(void **state)
{
    (void)state;
    /* 17 keys: n is pushed as PUSHINT8 17, still recognised. */
    enum { N = 17 };
    uint8_t keys[N][33];
    for (size_t i = 0; i < N; i++) {
        struct nsl_secret *k = NULL;
        assert_int_equal(nsl_neo_key_generate(&k, NULL), NSL_OK);
        assert_int_equal(nsl_neo_key_public(k, keys[i], NULL), NSL_OK);
        nsl_secret_free(k);
    }
    struct nsl_buf b = {0};
    assert_int_equal(nsl_neo_script_multisig(17, (const uint8_t(*)[33])keys, N, &b, NULL), NSL_OK);
    assert_int_equal(b.data[0], 0x00);
    assert_int_equal(b.data[1], 17);
    size_t m, n;
    const uint8_t *first;
    assert_int_equal(nsl_neo_script_parse_multisig(b.data, b.len, &m, &n, &first), 0);
    assert_int_equal(m, 17);
    assert_int_equal(n, 17);
    b.data[b.len - 1] ^= 1;
    assert_int_equal(nsl_neo_script_parse_multisig(b.data, b.len, &m, &n, &first), -1);
    nsl_buf_free(&b);
}

static void test_parsers_refuse_other_shapes(void **state)
{
    (void)state;
    uint8_t pub[33], script[41];
    pub_of(0, pub);
    assert_int_equal(nsl_neo_script_single_sig(pub, script), 0);
    const uint8_t *p;
    size_t m, n;
    assert_int_equal(nsl_neo_script_parse_single_sig(script, 39, &p), -1);
    script[40] = 0;
    assert_int_equal(nsl_neo_script_parse_single_sig(script, 41, &p), -1);
    assert_int_equal(nsl_neo_script_parse_multisig(script, 40, &m, &n, &p), -1);
    script[39] ^= 1;
    assert_int_equal(nsl_neo_script_parse_single_sig(script, 40, &p), -1);
    uint8_t sig[64] = {7}, inv[132];
    nsl_neo_script_invocation(sig, inv);
    nsl_neo_script_invocation(sig, inv + 66);
    size_t count;
    assert_int_equal(nsl_neo_script_parse_invocation(inv, 132, &count, &p), 0);
    assert_int_equal(count, 2);
    assert_ptr_equal(p, inv + 2);
    assert_int_equal(nsl_neo_script_parse_invocation(inv, 131, &count, &p), -1);
    assert_int_equal(nsl_neo_script_parse_invocation(inv, 0, &count, &p), -1);
    inv[67] = 63;
    assert_int_equal(nsl_neo_script_parse_invocation(inv, 132, &count, &p), -1);
}

static void test_hash160_parse_refuses_bad_text(void **state)
{
    (void)state;
    uint8_t h[20];
    assert_int_equal(nsl_neo_hash160_parse("0xd2a4cff31913016155e38e474a2c06d08be276cf", h), 0);
    neo_assert_hex(h, 20, "cf76e28bd0062c4a478ee35561011319f3cfa4d2");
    assert_int_equal(nsl_neo_hash160_parse("d2a4cff31913016155e38e474a2c06d08be276cf", h), 0);
    assert_int_equal(nsl_neo_hash160_parse("0xd2a4cff31913016155e38e474a2c06d08be276c", h), -1);
    assert_int_equal(nsl_neo_hash160_parse("0xz2a4cff31913016155e38e474a2c06d08be276cf", h), -1);
    assert_int_equal(nsl_neo_hash160_parse("", h), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_sig_script_and_hashes_match_every_vector),
        cmocka_unit_test(test_single_sig_refuses_invalid_point),
        cmocka_unit_test(test_multisig_script_hash_matches_vector_whatever_the_key_order),
        cmocka_unit_test(test_multisig_refuses_bad_m_n_and_duplicate_or_invalid_keys),
        cmocka_unit_test(test_multisig_with_many_keys_uses_pushint8),
        cmocka_unit_test(test_parsers_refuse_other_shapes),
        cmocka_unit_test(test_hash160_parse_refuses_bad_text),
    };
    return cmocka_run_group_tests(tests, neo_vectors_setup, neo_vectors_teardown);
}
