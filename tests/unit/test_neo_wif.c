/* WIF: every vector key encodes to its WIF and back; malformed WIFs are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "neo/base58.h"
#include "neo/wif.h"
#include "test_neo_fixture.h"

static void test_wif_matches_every_vector(void **state)
{
    (void)state;
    json_t *keys = neo_vec("keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *expect = neo_str(json_array_get(keys, i), "wif");
        struct nsl_secret *k = neo_key(i), *wif = NULL, *back = NULL;
        assert_int_equal(nsl_neo_wif_encode(k, &wif, NULL), NSL_OK);
        assert_string_equal((const char *)nsl_secret_bytes(wif), expect);
        assert_int_equal(nsl_neo_wif_decode(expect, &back, NULL), NSL_OK);
        assert_int_equal(nsl_secret_len(back), 32);
        assert_memory_equal(nsl_secret_bytes(back), nsl_secret_bytes(k), 32);
        nsl_secret_free(k);
        nsl_secret_free(wif);
        nsl_secret_free(back);
    }
}

static void test_wif_rejects_bad_checksum_length_and_markers(void **state)
{
    (void)state;
    struct nsl_secret *key = NULL;
    struct nsl_error err = {0};
    char text[80];
    strcpy(text, neo_str(json_array_get(neo_vec("keys"), 0), "wif"));
    text[20] = text[20] == 'a' ? 'b' : 'a';
    assert_int_equal(nsl_neo_wif_decode(text, &key, &err), NSL_ERR_INVALID_PARAMS);
    assert_null(key);
    assert_int_equal(
        nsl_neo_wif_decode("L1QqQJnpBwbsPGAuutuzPTac8piqvbR1HRjrY5qHup48TBCBFe4", &key, &err),
        NSL_ERR_INVALID_PARAMS);
    /* Right length and checksum, wrong markers: 0x81 prefix, then a missing 0x01 suffix. */
    uint8_t payload[34] = {0x81};
    payload[1] = 1;
    payload[33] = 0x01;
    assert_int_equal(nsl_neo_base58check_encode(payload, 34, text, sizeof text), 0);
    assert_int_equal(nsl_neo_wif_decode(text, &key, &err), NSL_ERR_INVALID_PARAMS);
    payload[0] = 0x80;
    payload[33] = 0x02;
    assert_int_equal(nsl_neo_base58check_encode(payload, 34, text, sizeof text), 0);
    assert_int_equal(nsl_neo_wif_decode(text, &key, &err), NSL_ERR_INVALID_PARAMS);
    /* A zero scalar is not a key. */
    memset(payload, 0, sizeof payload);
    payload[0] = 0x80;
    payload[33] = 0x01;
    assert_int_equal(nsl_neo_base58check_encode(payload, 34, text, sizeof text), 0);
    assert_int_equal(nsl_neo_wif_decode(text, &key, &err), NSL_ERR_INVALID_PARAMS);
    assert_null(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wif_matches_every_vector),
        cmocka_unit_test(test_wif_rejects_bad_checksum_length_and_markers),
    };
    return cmocka_run_group_tests(tests, neo_vectors_setup, neo_vectors_teardown);
}
