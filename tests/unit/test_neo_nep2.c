/* NEP-2: every vector encrypts to its string and decrypts back; wrong passphrases and malformed
 * strings are refused. scrypt N=16384 costs ~50-100 ms per call. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "neo/base58.h"
#include "neo/key.h"
#include "neo/nep2.h"
#include "test_neo_fixture.h"

static void test_nep2_encrypt_matches_every_vector(void **state)
{
    (void)state;
    json_t *keys = neo_vec("keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *nep2 = json_object_get(json_array_get(keys, i), "nep2");
        json_t *cost = json_object_get(nep2, "scrypt");
        struct nsl_neo_scrypt c = {(uint64_t)json_integer_value(json_object_get(cost, "n")),
                                   (uint32_t)json_integer_value(json_object_get(cost, "r")),
                                   (uint32_t)json_integer_value(json_object_get(cost, "p"))};
        const char *pass = neo_str(nep2, "passphrase");
        struct nsl_secret *k = neo_key(i);
        char out[NSL_NEO_NEP2_SIZE];
        assert_int_equal(nsl_neo_nep2_encrypt(k, pass, strlen(pass), &c, out, NULL), NSL_OK);
        assert_string_equal(out, neo_str(nep2, "encrypted"));
        nsl_secret_free(k);
    }
}

static void test_nep2_decrypt_matches_every_vector(void **state)
{
    (void)state;
    json_t *keys = neo_vec("keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *nep2 = json_object_get(json_array_get(keys, i), "nep2");
        const char *pass = neo_str(nep2, "passphrase");
        struct nsl_secret *k = neo_key(i), *back = NULL;
        assert_int_equal(
            nsl_neo_nep2_decrypt(neo_str(nep2, "encrypted"), pass, strlen(pass), NULL, &back, NULL),
            NSL_OK);
        assert_memory_equal(nsl_secret_bytes(back), nsl_secret_bytes(k), 32);
        nsl_secret_free(back);
        nsl_secret_free(k);
    }
}

static void test_nep2_wrong_passphrase_is_refused(void **state)
{
    (void)state;
    json_t *nep2 = json_object_get(json_array_get(neo_vec("keys"), 0), "nep2");
    struct nsl_secret *key = NULL;
    struct nsl_error err = {0};
    assert_int_equal(
        nsl_neo_nep2_decrypt(neo_str(nep2, "encrypted"), "city of zion!", 13, NULL, &key, &err),
        NSL_ERR_UNAUTHENTICATED);
    assert_null(key);
    assert_non_null(strstr(err.message, "passphrase"));
}

static void test_nep2_malformed_strings_are_refused(void **state)
{
    (void)state;
    struct nsl_secret *key = NULL;
    struct nsl_error err = {0};
    char text[80];
    strcpy(text, neo_str(json_object_get(json_array_get(neo_vec("keys"), 0), "nep2"), "encrypted"));
    text[30] = text[30] == 'a' ? 'b' : 'a';
    assert_int_equal(nsl_neo_nep2_decrypt(text, "x", 1, NULL, &key, &err), NSL_ERR_INVALID_PARAMS);
    text[57] = 0;
    assert_int_equal(nsl_neo_nep2_decrypt(text, "x", 1, NULL, &key, &err), NSL_ERR_INVALID_PARAMS);
    uint8_t payload[39] = {0x01, 0x43, 0xe0};
    assert_int_equal(nsl_neo_base58check_encode(payload, 39, text, sizeof text), 0);
    assert_int_equal(nsl_neo_nep2_decrypt(text, "x", 1, NULL, &key, &err), NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "prefix"));
    struct nsl_neo_scrypt bad = {1000, 8, 8};
    assert_int_equal(nsl_neo_nep2_decrypt(text, "x", 1, &bad, &key, &err), NSL_ERR_INVALID_PARAMS);
    assert_null(key);
}

static void test_nep2_round_trip_with_cheap_cost_and_empty_passphrase(void **state)
{
    (void)state;
    struct nsl_neo_scrypt cheap = {1024, 1, 1};
    struct nsl_secret *k = NULL, *back = NULL;
    char out[NSL_NEO_NEP2_SIZE];
    assert_int_equal(nsl_neo_key_generate(&k, NULL), NSL_OK);
    assert_int_equal(nsl_neo_nep2_encrypt(k, "", 0, &cheap, out, NULL), NSL_OK);
    assert_int_equal(strlen(out), NSL_NEO_NEP2_LEN);
    assert_int_equal(strncmp(out, "6P", 2), 0);
    assert_int_equal(nsl_neo_nep2_decrypt(out, "", 0, &cheap, &back, NULL), NSL_OK);
    assert_memory_equal(nsl_secret_bytes(back), nsl_secret_bytes(k), 32);
    nsl_secret_free(back);
    back = NULL;
    assert_int_equal(nsl_neo_nep2_decrypt(out, "a", 1, &cheap, &back, NULL),
                     NSL_ERR_UNAUTHENTICATED);
    nsl_secret_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nep2_encrypt_matches_every_vector),
        cmocka_unit_test(test_nep2_decrypt_matches_every_vector),
        cmocka_unit_test(test_nep2_wrong_passphrase_is_refused),
        cmocka_unit_test(test_nep2_malformed_strings_are_refused),
        cmocka_unit_test(test_nep2_round_trip_with_cheap_cost_and_empty_passphrase),
    };
    return cmocka_run_group_tests(tests, neo_vectors_setup, neo_vectors_teardown);
}
