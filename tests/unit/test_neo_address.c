/* Addresses: every vector's address from its script hash and back; bad checksum and version. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "neo/address.h"
#include "neo/base58.h"
#include "test_neo_fixture.h"

static void test_address_matches_every_vector(void **state)
{
    (void)state;
    json_t *keys = neo_vec("keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        uint8_t hash[20], back[20];
        char address[NSL_NEO_ADDRESS_SIZE];
        neo_unhex_into(neo_str(k, "scriptHashRaw"), hash, 20);
        assert_int_equal(nsl_neo_address_from_hash(hash, address), 0);
        assert_string_equal(address, neo_str(k, "address"));
        assert_int_equal(nsl_neo_address_to_hash(neo_str(k, "address"), back, NULL), NSL_OK);
        assert_memory_equal(back, hash, 20);
    }
    uint8_t back[20];
    json_t *ms = json_array_get(neo_vec("multisig"), 0);
    assert_int_equal(nsl_neo_address_to_hash(neo_str(ms, "address"), back, NULL), NSL_OK);
    char display[NSL_NEO_HASH160_DISPLAY_LEN];
    nsl_neo_hash160_display(back, display);
    assert_string_equal(display, neo_str(ms, "scriptHashDisplay"));
}

static void test_address_rejects_bad_checksum_and_characters(void **state)
{
    (void)state;
    char address[64];
    struct nsl_error err = {0};
    uint8_t h[20];
    strcpy(address, neo_str(json_array_get(neo_vec("keys"), 0), "address"));
    address[10] = address[10] == 'a' ? 'b' : 'a';
    assert_int_equal(nsl_neo_address_to_hash(address, h, &err), NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "checksum"));
    assert_int_equal(nsl_neo_address_to_hash("NPTmAHDxo6Pkyic8Nvu3kwyXoYJCvcCB60", h, &err),
                     NSL_ERR_INVALID_PARAMS); /* '0' is not Base58 */
    assert_int_equal(nsl_neo_address_to_hash("", h, &err), NSL_ERR_INVALID_PARAMS);
}

static void test_address_rejects_other_versions_and_lengths(void **state)
{
    (void)state;
    uint8_t payload[22] = {0x17}; /* Neo Legacy's version byte */
    char text[64];
    struct nsl_error err = {0};
    uint8_t h[20];
    assert_int_equal(nsl_neo_base58check_encode(payload, 21, text, sizeof text), 0);
    assert_int_equal(nsl_neo_address_to_hash(text, h, &err), NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "version"));
    payload[0] = 0x35;
    assert_int_equal(nsl_neo_base58check_encode(payload, 22, text, sizeof text), 0);
    assert_int_equal(nsl_neo_address_to_hash(text, h, &err), NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "length"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_matches_every_vector),
        cmocka_unit_test(test_address_rejects_bad_checksum_and_characters),
        cmocka_unit_test(test_address_rejects_other_versions_and_lengths),
    };
    return cmocka_run_group_tests(tests, neo_vectors_setup, neo_vectors_teardown);
}
