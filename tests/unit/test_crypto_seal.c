/* Blob sealing (docs/storage.md): HKDF against RFC 5869, round trips, and every way a parent
 * could tamper with a stored blob: flipped bits, truncation, another key, another namespace,
 * another version, another master key, an unknown format byte. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/encoding.h"
#include "crypto/seal.h"
#include "store/master_key.h"

static struct nsl_sealer *sealer_with(uint8_t fill)
{
    uint8_t k[32];
    memset(k, fill, sizeof k);
    struct nsl_secret *master = nsl_secret_from(k, sizeof k);
    struct nsl_sealer *s = nsl_sealer_new(master);
    nsl_secret_free(master);
    assert_non_null(s);
    return s;
}

static void hex(const char *text, uint8_t *out, size_t *len)
{
    assert_int_equal(nsl_hex_decode(text, strlen(text), out, 256, len), 0);
}

/* RFC 5869 Appendix A.1 (basic) and A.3 (empty salt and info). */
static void test_hkdf_matches_rfc5869_vectors(void **state)
{
    (void)state;
    uint8_t ikm[64], salt[64], info[64], okm[64], want[64];
    size_t ikm_len, salt_len, info_len, want_len;
    hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", ikm, &ikm_len);
    hex("000102030405060708090a0b0c", salt, &salt_len);
    hex("f0f1f2f3f4f5f6f7f8f9", info, &info_len);
    hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        want, &want_len);
    assert_int_equal(nsl_hkdf_sha256(ikm, ikm_len, salt, salt_len, info, info_len, okm, want_len),
                     0);
    assert_memory_equal(okm, want, want_len);
    hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
        want, &want_len);
    assert_int_equal(nsl_hkdf_sha256(ikm, ikm_len, "", 0, "", 0, okm, want_len), 0);
    assert_memory_equal(okm, want, want_len);
}

static void seal_sample(struct nsl_sealer *s, struct nsl_buf *blob)
{
    struct nsl_error err = {0};
    assert_int_equal(nsl_seal(s, "wallet", "k1", 7, "top secret", 10, blob, &err), NSL_OK);
    assert_int_equal(blob->len, 10 + NSL_SEAL_OVERHEAD);
    assert_null(memmem(blob->data, blob->len, "top secret", 10));
}

static void assert_integrity_failure(struct nsl_sealer *s, const char *ns, const char *key,
                                     uint64_t version, const void *blob, size_t len)
{
    struct nsl_error err = {0};
    struct nsl_secret *plain = (struct nsl_secret *)1;
    assert_int_equal(nsl_unseal(s, ns, key, version, blob, len, &plain, &err), NSL_ERR_INTERNAL);
    assert_null(plain);
    assert_non_null(strstr(err.message, "integrity check"));
}

static void test_seal_round_trip(void **state)
{
    (void)state;
    struct nsl_sealer *s = sealer_with(1);
    struct nsl_buf blob = {0};
    seal_sample(s, &blob);
    struct nsl_secret *plain = NULL;
    struct nsl_error err = {0};
    assert_int_equal(nsl_unseal(s, "wallet", "k1", 7, blob.data, blob.len, &plain, &err), NSL_OK);
    assert_int_equal(nsl_secret_len(plain), 10);
    assert_memory_equal(nsl_secret_bytes(plain), "top secret", 10);
    nsl_secret_free(plain);
    nsl_buf_free(&blob);
    nsl_sealer_free(s);
}

static void test_seal_uses_a_fresh_nonce_each_time(void **state)
{
    (void)state;
    struct nsl_sealer *s = sealer_with(1);
    struct nsl_buf a = {0}, b = {0};
    seal_sample(s, &a);
    seal_sample(s, &b);
    assert_memory_not_equal(a.data + 1, b.data + 1, 12);
    nsl_buf_free(&a);
    nsl_buf_free(&b);
    nsl_sealer_free(s);
}

static void test_empty_value_round_trips(void **state)
{
    (void)state;
    struct nsl_sealer *s = sealer_with(1);
    struct nsl_buf blob = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_seal(s, "ns", "k", 1, "", 0, &blob, &err), NSL_OK);
    struct nsl_secret *plain = NULL;
    assert_int_equal(nsl_unseal(s, "ns", "k", 1, blob.data, blob.len, &plain, &err), NSL_OK);
    assert_int_equal(nsl_secret_len(plain), 0);
    nsl_secret_free(plain);
    nsl_buf_free(&blob);
    nsl_sealer_free(s);
}

static void test_unseal_rejects_every_flipped_bit(void **state)
{
    (void)state;
    struct nsl_sealer *s = sealer_with(1);
    struct nsl_buf blob = {0};
    seal_sample(s, &blob);
    for (size_t i = 0; i < blob.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            blob.data[i] ^= (uint8_t)(1 << bit);
            assert_integrity_failure(s, "wallet", "k1", 7, blob.data, blob.len);
            blob.data[i] ^= (uint8_t)(1 << bit);
        }
    }
    nsl_buf_free(&blob);
    nsl_sealer_free(s);
}

static void test_unseal_rejects_truncation_at_every_length(void **state)
{
    (void)state;
    struct nsl_sealer *s = sealer_with(1);
    struct nsl_buf blob = {0};
    seal_sample(s, &blob);
    for (size_t len = 0; len < blob.len; len++)
        assert_integrity_failure(s, "wallet", "k1", 7, blob.data, len);
    nsl_buf_free(&blob);
    nsl_sealer_free(s);
}

static void test_unseal_rejects_blob_moved_to_another_key_namespace_or_version(void **state)
{
    (void)state;
    struct nsl_sealer *s = sealer_with(1);
    struct nsl_buf blob = {0};
    seal_sample(s, &blob);
    assert_integrity_failure(s, "wallet", "k2", 7, blob.data, blob.len);
    assert_integrity_failure(s, "secrets", "k1", 7, blob.data, blob.len);
    assert_integrity_failure(s, "wallet", "k1", 6, blob.data, blob.len);
    assert_integrity_failure(s, "wallet", "k1", 8, blob.data, blob.len);
    /* Length prefixes keep ns/key boundaries unambiguous: ("walle","tk1") is not ("wallet","k1").
     */
    assert_integrity_failure(s, "walle", "tk1", 7, blob.data, blob.len);
    nsl_buf_free(&blob);
    nsl_sealer_free(s);
}

static void test_unseal_rejects_other_master_key_and_unknown_format(void **state)
{
    (void)state;
    struct nsl_sealer *s = sealer_with(1), *other = sealer_with(2);
    struct nsl_buf blob = {0};
    seal_sample(s, &blob);
    assert_integrity_failure(other, "wallet", "k1", 7, blob.data, blob.len);
    blob.data[0] = 2;
    assert_integrity_failure(s, "wallet", "k1", 7, blob.data, blob.len);
    nsl_buf_free(&blob);
    nsl_sealer_free(s);
    nsl_sealer_free(other);
}

static void test_master_key_wrap_round_trip_and_tamper(void **state)
{
    (void)state;
    struct nsl_secret *wrapping = nsl_secret_random(32), *master = nsl_secret_random(32);
    struct nsl_buf wrapped = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_master_key_wrap(wrapping, master, &wrapped, &err), NSL_OK);
    assert_null(memmem(wrapped.data, wrapped.len, nsl_secret_bytes(master), 32));
    struct nsl_secret *back = NULL;
    assert_int_equal(nsl_master_key_unwrap(wrapping, wrapped.data, wrapped.len, &back, &err),
                     NSL_OK);
    assert_memory_equal(nsl_secret_bytes(back), nsl_secret_bytes(master), 32);
    nsl_secret_free(back);
    wrapped.data[wrapped.len - 1] ^= 1;
    assert_int_equal(nsl_master_key_unwrap(wrapping, wrapped.data, wrapped.len, &back, &err),
                     NSL_ERR_INTERNAL);
    nsl_buf_free(&wrapped);
    nsl_secret_free(wrapping);
    nsl_secret_free(master);
}

static void test_sealer_refuses_master_key_of_wrong_size(void **state)
{
    (void)state;
    struct nsl_secret *short_key = nsl_secret_random(16);
    assert_null(nsl_sealer_new(short_key));
    nsl_secret_free(short_key);
}

int main(void)
{
    nsl_secure_heap_init(1 << 16);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_matches_rfc5869_vectors),
        cmocka_unit_test(test_seal_round_trip),
        cmocka_unit_test(test_seal_uses_a_fresh_nonce_each_time),
        cmocka_unit_test(test_empty_value_round_trips),
        cmocka_unit_test(test_unseal_rejects_every_flipped_bit),
        cmocka_unit_test(test_unseal_rejects_truncation_at_every_length),
        cmocka_unit_test(test_unseal_rejects_blob_moved_to_another_key_namespace_or_version),
        cmocka_unit_test(test_unseal_rejects_other_master_key_and_unknown_format),
        cmocka_unit_test(test_master_key_wrap_round_trip_and_tamper),
        cmocka_unit_test(test_sealer_refuses_master_key_of_wrong_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
