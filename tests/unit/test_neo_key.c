/* secp256r1 keys: public keys of the vectors, point validation, low-S signing, verification. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "neo/key.h"
#include "test_neo_fixture.h"

/* The P-256 group order n, big-endian. */
static const char order_hex[] = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

static void test_key_public_matches_every_vector(void **state)
{
    (void)state;
    json_t *keys = neo_vec("keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        struct nsl_secret *k = neo_key(i);
        uint8_t pub[NSL_NEO_PUBKEY_LEN];
        assert_int_equal(nsl_neo_key_public(k, pub, NULL), NSL_OK);
        neo_assert_hex(pub, sizeof pub, neo_str(json_array_get(keys, i), "publicKey"));
        assert_int_equal(nsl_neo_pubkey_check(pub, sizeof pub), 0);
        nsl_secret_free(k);
    }
}

static void test_key_rejects_out_of_range_scalars(void **state)
{
    (void)state;
    uint8_t raw[32] = {0};
    struct nsl_secret *zero = nsl_secret_from(raw, 32);
    neo_unhex_into(order_hex, raw, 32);
    struct nsl_secret *n = nsl_secret_from(raw, 32);
    struct nsl_secret *short_key = nsl_secret_from(raw, 31);
    struct nsl_error err = {0};
    uint8_t pub[33], sig[64];
    assert_int_equal(nsl_neo_key_check(zero, &err), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_neo_key_check(n, &err), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_neo_key_check(short_key, &err), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_neo_key_public(n, pub, &err), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(nsl_neo_key_sign(zero, "x", 1, sig, &err), NSL_ERR_INVALID_PARAMS);
    nsl_secret_free(zero);
    nsl_secret_free(n);
    nsl_secret_free(short_key);
}

static void test_key_generate_gives_distinct_valid_keys(void **state)
{
    (void)state;
    struct nsl_secret *a = NULL, *b = NULL;
    assert_int_equal(nsl_neo_key_generate(&a, NULL), NSL_OK);
    assert_int_equal(nsl_neo_key_generate(&b, NULL), NSL_OK);
    assert_int_equal(nsl_secret_len(a), 32);
    assert_int_equal(nsl_neo_key_check(a, NULL), NSL_OK);
    assert_false(nsl_equal_ct(nsl_secret_bytes(a), nsl_secret_bytes(b), 32));
    nsl_secret_free(a);
    nsl_secret_free(b);
}

static void test_sign_produces_low_s_that_verifies(void **state)
{
    (void)state;
    uint8_t n[32], half[32], pub[33], sig[64];
    neo_unhex_into(order_hex, n, 32);
    /* half = n >> 1 */
    for (int i = 0, carry = 0; i < 32; i++) {
        half[i] = (uint8_t)((n[i] >> 1) | (carry << 7));
        carry = n[i] & 1;
    }
    struct nsl_secret *k = neo_key(0);
    assert_int_equal(nsl_neo_key_public(k, pub, NULL), NSL_OK);
    for (int i = 0; i < 32; i++) {
        const char msg[] = "hello neo";
        assert_int_equal(nsl_neo_key_sign(k, msg, sizeof msg - 1, sig, NULL), NSL_OK);
        assert_true(memcmp(sig + 32, half, 32) <= 0);
        assert_int_equal(nsl_neo_pubkey_verify(pub, 33, msg, sizeof msg - 1, sig, 64), 0);
        assert_int_equal(nsl_neo_pubkey_verify(pub, 33, "hello nep", 9, sig, 64), -1);
    }
    nsl_secret_free(k);
}

/* n - s, big-endian, for the high-S twin of a signature. */
static void negate_s(uint8_t *s)
{
    uint8_t n[32];
    neo_unhex_into(order_hex, n, 32);
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = n[i] - s[i] - borrow;
        borrow = d < 0;
        s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

static void test_verify_accepts_high_s_like_neo_nodes(void **state)
{
    (void)state;
    uint8_t pub[33], sig[64];
    struct nsl_secret *k = neo_key(1);
    assert_int_equal(nsl_neo_key_public(k, pub, NULL), NSL_OK);
    assert_int_equal(nsl_neo_key_sign(k, "m", 1, sig, NULL), NSL_OK);
    negate_s(sig + 32);
    assert_int_equal(nsl_neo_pubkey_verify(pub, 33, "m", 1, sig, 64), 0);
    nsl_secret_free(k);
}

static void test_verify_rejects_wrong_length_and_zero_signatures(void **state)
{
    (void)state;
    uint8_t pub[33], sig[65] = {0};
    struct nsl_secret *k = neo_key(0);
    assert_int_equal(nsl_neo_key_public(k, pub, NULL), NSL_OK);
    assert_int_equal(nsl_neo_key_sign(k, "m", 1, sig, NULL), NSL_OK);
    assert_int_equal(nsl_neo_pubkey_verify(pub, 33, "m", 1, sig, 63), -1);
    assert_int_equal(nsl_neo_pubkey_verify(pub, 33, "m", 1, sig, 65), -1);
    assert_int_equal(nsl_neo_pubkey_verify(pub, 32, "m", 1, sig, 64), -1);
    uint8_t zero[64] = {0};
    assert_int_equal(nsl_neo_pubkey_verify(pub, 33, "m", 1, zero, 64), -1);
    sig[10] ^= 1;
    assert_int_equal(nsl_neo_pubkey_verify(pub, 33, "m", 1, sig, 64), -1);
    nsl_secret_free(k);
}

static void test_pubkey_rejects_invalid_points(void **state)
{
    (void)state;
    uint8_t pub[33];
    neo_unhex_into(neo_str(json_array_get(neo_vec("keys"), 0), "publicKey"), pub, 33);
    uint8_t bad[33];
    const uint8_t prefixes[] = {0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xff};
    for (size_t i = 0; i < sizeof prefixes; i++) {
        memcpy(bad, pub, 33);
        bad[0] = prefixes[i];
        assert_int_equal(nsl_neo_pubkey_check(bad, 33), -1);
    }
    /* About half of all X values have no point on the curve: some small X must be refused. */
    int found = 0;
    for (uint8_t x = 1; x < 50 && !found; x++) {
        memset(bad, 0, 33);
        bad[0] = 2;
        bad[32] = x;
        if (nsl_neo_pubkey_check(bad, 33) != 0)
            found = 1;
    }
    assert_true(found);
    memset(bad, 0xff, 33); /* X >= p */
    bad[0] = 2;
    assert_int_equal(nsl_neo_pubkey_check(bad, 33), -1);
    uint8_t sig[64] = {1};
    assert_int_equal(nsl_neo_pubkey_verify(bad, 33, "m", 1, sig, 64), -1);
}

static void test_pubkey_compress_round_trip_and_off_curve_uncompressed(void **state)
{
    (void)state;
    json_t *keys = neo_vec("keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        uint8_t pub[33], full[65], back[33];
        neo_unhex_into(neo_str(json_array_get(keys, i), "publicKey"), pub, 33);
        assert_int_equal(nsl_neo_pubkey_decompress(pub, full), 0);
        assert_int_equal(full[0], 4);
        assert_int_equal(nsl_neo_pubkey_compress(full, 65, back), 0);
        assert_memory_equal(back, pub, 33);
        full[64] ^= 1; /* Y no longer matches X */
        assert_int_equal(nsl_neo_pubkey_compress(full, 65, back), -1);
    }
}

static void test_pubkey_compare_orders_by_x_then_y(void **state)
{
    (void)state;
    uint8_t a[33], b[33];
    json_t *keys = neo_vec("keys");
    neo_unhex_into(neo_str(json_array_get(keys, 0), "publicKey"), a, 33); /* X = 028a... */
    neo_unhex_into(neo_str(json_array_get(keys, 1), "publicKey"), b, 33); /* X = 1d8e... */
    assert_true(nsl_neo_pubkey_compare(a, b) < 0);
    assert_true(nsl_neo_pubkey_compare(b, a) > 0);
    assert_int_equal(nsl_neo_pubkey_compare(a, a), 0);
    uint8_t neg[33];
    memcpy(neg, a, 33);
    neg[0] ^= 1; /* same X, the other Y */
    uint8_t ua[65], un[65];
    assert_int_equal(nsl_neo_pubkey_decompress(a, ua), 0);
    assert_int_equal(nsl_neo_pubkey_decompress(neg, un), 0);
    int expect = memcmp(ua + 33, un + 33, 32) < 0 ? -1 : 1;
    int got = nsl_neo_pubkey_compare(a, neg);
    assert_int_equal(got < 0 ? -1 : 1, expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_public_matches_every_vector),
        cmocka_unit_test(test_key_rejects_out_of_range_scalars),
        cmocka_unit_test(test_key_generate_gives_distinct_valid_keys),
        cmocka_unit_test(test_sign_produces_low_s_that_verifies),
        cmocka_unit_test(test_verify_accepts_high_s_like_neo_nodes),
        cmocka_unit_test(test_verify_rejects_wrong_length_and_zero_signatures),
        cmocka_unit_test(test_pubkey_rejects_invalid_points),
        cmocka_unit_test(test_pubkey_compress_round_trip_and_off_curve_uncompressed),
        cmocka_unit_test(test_pubkey_compare_orders_by_x_then_y),
    };
    return cmocka_run_group_tests(tests, neo_vectors_setup, neo_vectors_teardown);
}
