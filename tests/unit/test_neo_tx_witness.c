/* Witnesses: the neon-core-signed NEP-17 vector verifies on TestNet only; our own single-sig and
 * multisig witnesses verify; tampering is caught. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "neo/account.h"
#include "neo/tx_witness.h"
#include "test_neo_fixture.h"

static uint32_t magic(const char *net)
{
    return (uint32_t)json_integer_value(json_object_get(neo_vec("networkMagic"), net));
}

static json_t *nep17_vec(void)
{
    return json_array_get(neo_vec("transactions"), 2);
}

static struct nsl_neo_tx *decode_signed(uint8_t **raw, size_t *len)
{
    *raw = neo_unhex(neo_str(nep17_vec(), "signed"), len);
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    assert_non_null(tx);
    assert_int_equal(nsl_neo_tx_decode(*raw, *len, tx, NULL), NSL_OK);
    return tx;
}

static void test_vector_signature_verifies_on_testnet_only(void **state)
{
    (void)state;
    uint8_t *raw;
    size_t len;
    struct nsl_neo_tx *tx = decode_signed(&raw, &len);
    neo_assert_hex(tx->witnesses[0].invocation + 2, 64, neo_str(nep17_vec(), "signature"));
    assert_int_equal(nsl_neo_tx_verify(tx, magic("testnet"), NULL), NSL_OK);
    struct nsl_error err = {0};
    assert_int_equal(nsl_neo_tx_verify(tx, magic("mainnet"), &err), NSL_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(err.message, "signature"));
    free(tx);
    free(raw);
}

static void test_vector_witness_rebuilt_from_key_and_signature(void **state)
{
    (void)state;
    uint8_t *raw;
    size_t len;
    struct nsl_neo_tx *tx = decode_signed(&raw, &len);
    uint8_t pub[33], sig[64];
    neo_unhex_into(neo_str(json_array_get(neo_vec("keys"), 0), "publicKey"), pub, 33);
    neo_unhex_into(neo_str(nep17_vec(), "signature"), sig, 64);
    memset(&tx->witnesses[0], 0, sizeof tx->witnesses[0]);
    assert_int_equal(nsl_neo_witness_single(pub, sig, &tx->witnesses[0], NULL), NSL_OK);
    struct nsl_buf b = {0};
    assert_int_equal(nsl_neo_tx_encode(tx, &b, NULL), NSL_OK);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, raw, len);
    nsl_buf_free(&b);
    free(tx);
    free(raw);
}

static void test_our_signature_verifies_and_reencodes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *raw = neo_unhex(neo_str(nep17_vec(), "unsigned"), &len);
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx), *back = calloc(1, sizeof *back);
    assert_int_equal(nsl_neo_tx_decode_unsigned(raw, len, tx, NULL), NSL_OK);
    struct nsl_secret *k = neo_key(0);
    assert_int_equal(nsl_neo_tx_sign(tx, magic("testnet"), k, NULL), NSL_OK);
    assert_int_equal(tx->nwitnesses, 1);
    assert_int_equal(nsl_neo_tx_verify(tx, magic("testnet"), NULL), NSL_OK);
    assert_int_equal(nsl_neo_tx_verify(tx, magic("mainnet"), NULL), NSL_ERR_UNAUTHENTICATED);
    struct nsl_buf b = {0};
    assert_int_equal(nsl_neo_tx_encode(tx, &b, NULL), NSL_OK);
    assert_int_equal(b.len, len + 1 + 1 + 66 + 1 + 40);
    assert_memory_equal(b.data, raw, len);
    assert_int_equal(nsl_neo_tx_decode(b.data, b.len, back, NULL), NSL_OK);
    assert_int_equal(nsl_neo_tx_verify(back, magic("testnet"), NULL), NSL_OK);
    nsl_buf_free(&b);
    nsl_secret_free(k);
    free(back);
    free(tx);
    free(raw);
}

static void test_sign_refuses_a_key_that_is_not_a_signer(void **state)
{
    (void)state;
    size_t len;
    uint8_t *raw = neo_unhex(neo_str(nep17_vec(), "unsigned"), &len);
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    assert_int_equal(nsl_neo_tx_decode_unsigned(raw, len, tx, NULL), NSL_OK);
    struct nsl_secret *k = neo_key(1);
    struct nsl_error err = {0};
    assert_int_equal(nsl_neo_tx_sign(tx, magic("testnet"), k, &err), NSL_ERR_NOT_FOUND);
    assert_int_equal(tx->nwitnesses, 0);
    nsl_secret_free(k);
    free(tx);
    free(raw);
}

static void test_verify_catches_tampering(void **state)
{
    (void)state;
    uint8_t *raw;
    size_t len;
    struct nsl_neo_tx *tx = decode_signed(&raw, &len);
    struct nsl_error err = {0};
    /* A changed field changes the txid. */
    tx->nonce++;
    assert_int_equal(nsl_neo_tx_verify(tx, magic("testnet"), &err), NSL_ERR_UNAUTHENTICATED);
    tx->nonce--;
    /* Another key's verification script does not hash to the signer. */
    struct nsl_neo_account other;
    uint8_t pub[33];
    neo_unhex_into(neo_str(json_array_get(neo_vec("keys"), 1), "publicKey"), pub, 33);
    assert_int_equal(nsl_neo_account_from_pub(pub, &other), 0);
    memcpy(tx->witnesses[0].verification, other.script, 40);
    assert_int_equal(nsl_neo_tx_verify(tx, magic("testnet"), &err), NSL_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(err.message, "hash"));
    /* A witness that is not a signature contract cannot be checked offline. */
    tx->witnesses[0].verification_len = 1;
    assert_int_equal(nsl_neo_tx_verify(tx, magic("testnet"), &err), NSL_ERR_INVALID_PARAMS);
    /* A 63-byte signature push is not a signature witness either. */
    free(tx);
    free(raw);
    tx = decode_signed(&raw, &len);
    tx->witnesses[0].invocation[1] = 63;
    tx->witnesses[0].invocation_len = 65;
    assert_int_equal(nsl_neo_tx_verify(tx, magic("testnet"), &err), NSL_ERR_INVALID_PARAMS);
    free(tx);
    free(raw);
}

/* A 2-of-3 multisig signer (the vectors' multisig account) signed by keys of the given indexes. */
static nsl_err multisig_case(const size_t *signing, size_t nsig, struct nsl_error *err)
{
    json_t *ms = json_array_get(neo_vec("multisig"), 0);
    uint8_t keys[3][33];
    for (size_t i = 0; i < 3; i++)
        neo_unhex_into(json_string_value(json_array_get(json_object_get(ms, "publicKeys"), i)),
                       keys[i], 33);
    struct nsl_buf vs = {0};
    assert_int_equal(nsl_neo_script_multisig(2, (const uint8_t(*)[33])keys, 3, &vs, NULL), NSL_OK);
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    uint8_t script[1] = {0x40};
    tx->nsigners = 1;
    assert_int_equal(nsl_neo_script_hash(vs.data, vs.len, tx->signers[0].account), 0);
    tx->signers[0].scopes = NSL_NEO_SCOPE_CALLED_BY_ENTRY;
    tx->script = script;
    tx->script_len = 1;
    uint8_t data[36], sigs[3][64];
    assert_int_equal(nsl_neo_tx_sign_data(tx, magic("testnet"), data, NULL), NSL_OK);
    for (size_t i = 0; i < nsig; i++) {
        struct nsl_secret *k = neo_key(signing[i]);
        assert_int_equal(nsl_neo_key_sign(k, data, sizeof data, sigs[i], NULL), NSL_OK);
        nsl_secret_free(k);
    }
    tx->nwitnesses = 1;
    nsl_err rc = nsl_neo_witness_multisig(vs.data, vs.len, (const uint8_t(*)[64])sigs, nsig,
                                          &tx->witnesses[0], err);
    if (rc == NSL_OK)
        rc = nsl_neo_tx_verify(tx, magic("testnet"), err);
    nsl_buf_free(&vs);
    free(tx);
    return rc;
}

static void test_multisig_witness_verifies_in_key_order_only(void **state)
{
    (void)state;
    /* By X the vector's keys sort as key 0 (028a..), key 1 (1d8e..), key 2 (232c..). */
    const size_t in_order[] = {0, 1}, also_in_order[] = {1, 2}, reversed[] = {2, 0};
    const size_t repeated[] = {0, 0};
    struct nsl_error err = {0};
    assert_int_equal(multisig_case(in_order, 2, &err), NSL_OK);
    assert_int_equal(multisig_case(also_in_order, 2, &err), NSL_OK);
    assert_int_equal(multisig_case(reversed, 2, &err), NSL_ERR_UNAUTHENTICATED);
    assert_int_equal(multisig_case(repeated, 2, &err), NSL_ERR_UNAUTHENTICATED);
    assert_int_equal(multisig_case(in_order, 1, &err), NSL_ERR_INVALID_PARAMS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_signature_verifies_on_testnet_only),
        cmocka_unit_test(test_vector_witness_rebuilt_from_key_and_signature),
        cmocka_unit_test(test_our_signature_verifies_and_reencodes),
        cmocka_unit_test(test_sign_refuses_a_key_that_is_not_a_signer),
        cmocka_unit_test(test_verify_catches_tampering),
        cmocka_unit_test(test_multisig_witness_verifies_in_key_order_only),
    };
    return cmocka_run_group_tests(tests, neo_vectors_setup, neo_vectors_teardown);
}
