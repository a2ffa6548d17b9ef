/* NEP-17 transfer scripts: byte-exact against the vectors' scripts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "neo/nep17.h"
#include "neo/tx.h"
#include "test_neo_fixture.h"

static void script_of(size_t v, uint8_t **raw, struct nsl_neo_tx *tx)
{
    size_t len;
    *raw = neo_unhex(neo_str(json_array_get(neo_vec("transactions"), v), "unsigned"), &len);
    assert_int_equal(nsl_neo_tx_decode_unsigned(*raw, len, tx, NULL), NSL_OK);
}

static void test_transfer_reproduces_the_neon_core_vector(void **state)
{
    (void)state;
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    uint8_t *raw;
    script_of(2, &raw, tx);
    uint8_t from[20];
    neo_unhex_into(neo_str(json_array_get(neo_vec("keys"), 0), "scriptHashRaw"), from, 20);
    struct nsl_buf b = {0};
    assert_int_equal(nsl_neo_nep17_transfer(nsl_neo_gas_hash, from, from, 1, &b, NULL), NSL_OK);
    assert_int_equal(b.len, tx->script_len);
    assert_memory_equal(b.data, tx->script, b.len);
    nsl_buf_free(&b);
    free(tx);
    free(raw);
}

static void test_transfer_reproduces_the_neo_go_vector_with_pushint64(void **state)
{
    (void)state;
    /* neo-go's script is the same call followed by ASSERT (0x39); amount 0x000a4d88ddd94000. */
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    uint8_t *raw;
    script_of(0, &raw, tx);
    uint8_t from[20], to[20];
    neo_unhex_into("deee79c189f30098b0ba6a2eb90b3a9258a6c7ff", from, 20);
    neo_unhex_into("80cec7b6f5b56f50578f737f162d3ab14d46650d", to, 20);
    struct nsl_buf b = {0};
    assert_int_equal(
        nsl_neo_nep17_transfer(nsl_neo_gas_hash, from, to, 0x000a4d88ddd94000LL, &b, NULL), NSL_OK);
    assert_int_equal(nsl_buf_append_u8(&b, 0x39), 0);
    assert_int_equal(b.len, tx->script_len);
    assert_memory_equal(b.data, tx->script, b.len);
    nsl_buf_free(&b);
    free(tx);
    free(raw);
}

static void test_native_hashes_display_as_documented(void **state)
{
    (void)state;
    char d[NSL_NEO_HASH160_DISPLAY_LEN];
    nsl_neo_hash160_display(nsl_neo_gas_hash, d);
    assert_string_equal(d, "0xd2a4cff31913016155e38e474a2c06d08be276cf");
    nsl_neo_hash160_display(nsl_neo_neo_hash, d);
    assert_string_equal(d, "0xef4073a0f2b305a38ec4050e4d3d28bc40ea63f5");
}

static void test_transfer_refuses_negative_amounts(void **state)
{
    (void)state;
    uint8_t a[20] = {0};
    struct nsl_buf b = {0};
    struct nsl_error err = {0};
    assert_int_equal(nsl_neo_nep17_transfer(nsl_neo_neo_hash, a, a, -1, &b, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_int_equal(b.len, 0);
    nsl_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_reproduces_the_neon_core_vector),
        cmocka_unit_test(test_transfer_reproduces_the_neo_go_vector_with_pushint64),
        cmocka_unit_test(test_native_hashes_display_as_documented),
        cmocka_unit_test(test_transfer_refuses_negative_amounts),
    };
    return cmocka_run_group_tests(tests, neo_vectors_setup, neo_vectors_teardown);
}
