/* Transaction codec: every vector decodes, hashes to its txid and re-encodes exactly; every rule
 * of the format is enforced on decode and on encode. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "neo/tx.h"
#include "neo/varint.h"
#include "test_neo_fixture.h"

static json_t *tx_vec(size_t i)
{
    return json_array_get(neo_vec("transactions"), i);
}

static struct nsl_neo_tx *new_tx(void)
{
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    assert_non_null(tx);
    return tx;
}

static void assert_txid(const struct nsl_neo_tx *tx, const char *display)
{
    uint8_t id[32];
    char text[NSL_NEO_HASH256_DISPLAY_LEN];
    assert_int_equal(nsl_neo_tx_hash(tx, id, NULL), NSL_OK);
    nsl_neo_hash256_display(id, text);
    assert_string_equal(text, display);
}

static void test_unsigned_vectors_decode_hash_and_reencode(void **state)
{
    (void)state;
    for (size_t v = 0; v < json_array_size(neo_vec("transactions")); v++) {
        json_t *t = tx_vec(v);
        if (!json_object_get(t, "unsigned"))
            continue;
        size_t len;
        uint8_t *raw = neo_unhex(neo_str(t, "unsigned"), &len);
        struct nsl_neo_tx *tx = new_tx();
        struct nsl_error err = {0};
        assert_int_equal(nsl_neo_tx_decode_unsigned(raw, len, tx, &err), NSL_OK);
        assert_txid(tx, neo_str(t, "txid"));
        struct nsl_buf b = {0};
        assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &b, NULL), NSL_OK);
        assert_int_equal(b.len, len);
        assert_memory_equal(b.data, raw, len);
        /* An unsigned encoding is not a full transaction: the witness count is missing. */
        assert_int_equal(nsl_neo_tx_decode(raw, len, tx, &err), NSL_ERR_INVALID_PARAMS);
        nsl_buf_free(&b);
        free(tx);
        free(raw);
    }
}

static void test_nep17_vector_fields(void **state)
{
    (void)state;
    json_t *t = tx_vec(2);
    size_t len;
    uint8_t *raw = neo_unhex(neo_str(t, "signed"), &len);
    struct nsl_neo_tx *tx = new_tx();
    assert_int_equal(nsl_neo_tx_decode(raw, len, tx, NULL), NSL_OK);
    assert_int_equal(tx->version, 0);
    assert_int_equal(tx->nonce, 0x3039);
    assert_int_equal(tx->system_fee, 997775);
    assert_int_equal(tx->network_fee, 1230610);
    assert_int_equal(tx->valid_until_block, 1000000);
    assert_int_equal(tx->nsigners, 1);
    assert_int_equal(tx->signers[0].scopes, NSL_NEO_SCOPE_CALLED_BY_ENTRY);
    neo_assert_hex(tx->signers[0].account, 20, "26eba6592ddfb6b04426048cd5891ff0e3fecba7");
    assert_int_equal(tx->nattrs, 0);
    assert_int_equal(tx->script_len, 86);
    assert_int_equal(tx->nwitnesses, 1);
    assert_int_equal(tx->witnesses[0].invocation_len, 66);
    assert_int_equal(tx->witnesses[0].verification_len, 40);
    assert_txid(tx, neo_str(t, "txid"));
    struct nsl_buf b = {0};
    assert_int_equal(nsl_neo_tx_encode(tx, &b, NULL), NSL_OK);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, raw, len);
    nsl_buf_free(&b);
    free(tx);
    free(raw);
}

static void test_csharp_tojson_vector_built_from_fields(void **state)
{
    (void)state;
    /* version 0, nonce 0, systemFee 4200000000, networkFee 0, validUntilBlock 0, one signer
     * (zero account, scope None), no attributes, script 0x42 then 31 x 0x20; size 84. */
    uint8_t script[32];
    script[0] = 0x42;
    memset(script + 1, 0x20, 31);
    struct nsl_neo_tx *tx = new_tx();
    tx->system_fee = 4200000000;
    tx->nsigners = 1;
    tx->script = script;
    tx->script_len = sizeof script;
    tx->nwitnesses = 1; /* an empty witness */
    assert_txid(tx, neo_str(tx_vec(1), "txid"));
    struct nsl_buf b = {0};
    assert_int_equal(nsl_neo_tx_encode(tx, &b, NULL), NSL_OK);
    assert_int_equal(b.len, 84);
    nsl_buf_free(&b);
    free(tx);
}

static void test_sign_data_is_magic_then_raw_txid(void **state)
{
    (void)state;
    json_t *t = tx_vec(2);
    size_t len;
    uint8_t *raw = neo_unhex(neo_str(t, "unsigned"), &len);
    struct nsl_neo_tx *tx = new_tx();
    assert_int_equal(nsl_neo_tx_decode_unsigned(raw, len, tx, NULL), NSL_OK);
    uint8_t data[36];
    uint32_t magic = (uint32_t)json_integer_value(json_object_get(t, "network"));
    assert_int_equal(magic, 894710606);
    assert_int_equal(nsl_neo_tx_sign_data(tx, magic, data, NULL), NSL_OK);
    neo_assert_hex(data, 36,
                   "4e335435ecf16138d87b99c3f5b29a47e8129f0fca414ed4d9d37855b528f85df8fa5816");
    free(tx);
    free(raw);
}

static nsl_err decode_hex(const char *hex, struct nsl_error *err)
{
    size_t len;
    uint8_t *raw = neo_unhex(hex, &len);
    struct nsl_neo_tx *tx = new_tx();
    nsl_err rc = nsl_neo_tx_decode(raw, len, tx, err);
    free(tx);
    free(raw);
    return rc;
}

static void test_decode_rejects_truncation_at_every_length(void **state)
{
    (void)state;
    size_t len;
    uint8_t *raw = neo_unhex(neo_str(tx_vec(2), "signed"), &len);
    struct nsl_neo_tx *tx = new_tx();
    for (size_t n = 0; n < len; n++) {
        struct nsl_error err = {0};
        uint8_t *copy = malloc(n ? n : 1); /* exact-size copy: ASan catches any overread */
        memcpy(copy, raw, n);
        assert_int_equal(nsl_neo_tx_decode(copy, n, tx, &err), NSL_ERR_INVALID_PARAMS);
        assert_true(err.message[0] != 0);
        free(copy);
    }
    free(tx);
    free(raw);
}

static void test_decode_rejects_trailing_garbage(void **state)
{
    (void)state;
    char hex[2048];
    struct nsl_error err = {0};
    snprintf(hex, sizeof hex, "%s00", neo_str(tx_vec(2), "signed"));
    assert_int_equal(decode_hex(hex, &err), NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "trailing"));
}

/* A transaction built from parts (hex) with a one-byte script and no attributes. */
static void build(char *out, size_t cap, const char *header_version, const char *signers,
                  const char *attrs, const char *witnesses)
{
    snprintf(out, cap,
             "%s"
             "39300000"
             "0000000000000000"
             "0000000000000000"
             "40420f00"
             "%s%s"
             "0140"
             "%s",
             header_version, signers, attrs, witnesses);
}

#define ACC_A      "26eba6592ddfb6b04426048cd5891ff0e3fecba7"
#define ACC_B      "0df06de9ec90c77f0f7769c46ea53199f5a68b11"
#define NO_WITNESS "0000"

static nsl_err decode_parts(const char *version, const char *signers, const char *attrs,
                            const char *witnesses, struct nsl_error *err)
{
    char hex[8192];
    build(hex, sizeof hex, version, signers, attrs, witnesses);
    return decode_hex(hex, err);
}

static void expect_bad(const char *signers, const char *attrs, const char *witnesses,
                       const char *needle)
{
    struct nsl_error err = {0};
    assert_int_equal(decode_parts("00", signers, attrs, witnesses, &err), NSL_ERR_INVALID_PARAMS);
    if (!strstr(err.message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
}

static void test_parts_builder_makes_a_valid_transaction(void **state)
{
    (void)state;
    assert_int_equal(decode_parts("00", "01" ACC_A "01", "00", "01" NO_WITNESS, NULL), NSL_OK);
    assert_int_equal(
        decode_parts("00", "02" ACC_A "00" ACC_B "80", "00", "02" NO_WITNESS NO_WITNESS, NULL),
        NSL_OK);
}

static void test_decode_rejects_unknown_version(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    assert_int_equal(decode_parts("01", "01" ACC_A "01", "00", "01" NO_WITNESS, &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "version"));
}

static void test_decode_rejects_signer_errors(void **state)
{
    (void)state;
    expect_bad("00", "00", "00", "at least one signer");
    expect_bad("02" ACC_A "01" ACC_A "00", "00", "02" NO_WITNESS NO_WITNESS, "duplicate signer");
    expect_bad("01" ACC_A "81", "00", "01" NO_WITNESS, "Global scope combined");
    expect_bad("01" ACC_A "90"
               "00",
               "00", "01" NO_WITNESS, "Global scope combined");
    expect_bad("01" ACC_A "02", "00", "01" NO_WITNESS, "unknown witness scope");
    expect_bad("01" ACC_A "08", "00", "01" NO_WITNESS, "unknown witness scope");
    /* 17 signers */
    char signers[2048] = "11";
    for (int i = 0; i < 17; i++) {
        char acc[48];
        snprintf(acc, sizeof acc, "%040x00", i + 1);
        strcat(signers, acc);
    }
    expect_bad(signers, "00", "00", "signers count over the limit");
}

static void test_decode_rejects_witness_count_mismatch(void **state)
{
    (void)state;
    expect_bad("01" ACC_A "01", "00", "00", "witness count differs");
    expect_bad("01" ACC_A "01", "00", "02" NO_WITNESS NO_WITNESS, "witness count");
    expect_bad("02" ACC_A "01" ACC_B "01", "00", "01" NO_WITNESS, "witness count differs");
}

static void test_decode_rejects_oversize_witness_scripts(void **state)
{
    (void)state;
    char w[4200] = "01"
                   "fd0104"; /* invocation of 1025 bytes */
    for (int i = 0; i < 1025; i++)
        strcat(w, "00");
    strcat(w, "00");
    expect_bad("01" ACC_A "01", "00", w, "invocation script over the limit");
    strcpy(w, "01"
              "00"
              "fd0104");
    for (int i = 0; i < 1025; i++)
        strcat(w, "00");
    expect_bad("01" ACC_A "01", "00", w, "verification script over the limit");
}

static void test_decode_rejects_non_canonical_var_ints(void **state)
{
    (void)state;
    expect_bad("fd0100" ACC_A "01", "00", "01" NO_WITNESS, "non-canonical");
    expect_bad("01" ACC_A "01", "fe00000000", "01" NO_WITNESS, "non-canonical");
    expect_bad("01" ACC_A "10"
               "ff0100000000000000" ACC_B,
               "00", "01" NO_WITNESS, "non-canonical");
}

static void test_decode_rejects_subitem_limits(void **state)
{
    (void)state;
    char s[2048] = "01" ACC_A "10"
                   "11";
    for (int i = 0; i < 17; i++)
        strcat(s, ACC_B);
    expect_bad(s, "00", "01" NO_WITNESS, "allowed contracts count over the limit");
    expect_bad("01" ACC_A "20"
               "01"
               "05" ACC_B "000000000000000000000000",
               "00", "01" NO_WITNESS, "compressed");
}

static void test_decode_checks_witness_rules(void **state)
{
    (void)state;
    /* Allow if And(And(Boolean true)): three levels, fine. */
    assert_int_equal(decode_parts("00",
                                  "01" ACC_A "40"
                                  "01"
                                  "01"
                                  "0201"
                                  "0201"
                                  "0001",
                                  "00", "01" NO_WITNESS, NULL),
                     NSL_OK);
    /* Four levels: too deep (MaxNestingDepth 3). */
    expect_bad("01" ACC_A "40"
               "01"
               "01"
               "0201"
               "0201"
               "0201"
               "0001",
               "00", "01" NO_WITNESS, "nesting deeper");
    expect_bad("01" ACC_A "40"
               "01"
               "01"
               "01"
               "01"
               "01"
               "0001",
               "00", "01" NO_WITNESS, "nesting deeper");
    expect_bad("01" ACC_A "40"
               "01"
               "02"
               "0001",
               "00", "01" NO_WITNESS, "action");
    expect_bad("01" ACC_A "40"
               "01"
               "01"
               "0002",
               "00", "01" NO_WITNESS, "Boolean");
    expect_bad("01" ACC_A "40"
               "01"
               "01"
               "0200",
               "00", "01" NO_WITNESS, "empty");
    expect_bad("01" ACC_A "40"
               "01"
               "01"
               "07",
               "00", "01" NO_WITNESS, "unknown witness condition");
    expect_bad("01" ACC_A "40"
               "01"
               "01"
               "18"
               "0011",
               "00", "01" NO_WITNESS, "truncated");
}

static void test_decode_attributes(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    /* HighPriority, NotValidBefore, two Conflicts, NotaryAssisted, OracleResponse. */
    const char *attrs = "06"
                        "01"
                        "2010000000"
                        "21"
                        "1111111111111111111111111111111111111111111111111111111111111111"
                        "21"
                        "2222222222222222222222222222222222222222222222222222222222222222"
                        "2203"
                        "11"
                        "0500000000000000"
                        "00"
                        "03616263";
    assert_int_equal(decode_parts("00", "01" ACC_A "00", attrs, "01" NO_WITNESS, &err), NSL_OK);
    expect_bad("01" ACC_A "00",
               "02"
               "01"
               "01",
               "01" NO_WITNESS, "repeated");
    expect_bad("01" ACC_A "00",
               "01"
               "02",
               "01" NO_WITNESS, "unknown attribute");
    expect_bad("01" ACC_A "00",
               "01"
               "11"
               "0500000000000000"
               "10"
               "0161",
               "01" NO_WITNESS, "not Success");
    expect_bad("01" ACC_A "00",
               "01"
               "11"
               "0500000000000000"
               "13"
               "00",
               "01" NO_WITNESS, "oracle response code");
    /* 16 signers leave room for no attribute. */
    char signers[2048] = "10";
    for (int i = 0; i < 16; i++) {
        char acc[48];
        snprintf(acc, sizeof acc, "%040x00", i + 1);
        strcat(signers, acc);
    }
    expect_bad(signers,
               "01"
               "01",
               "10", "attributes count");
}

static void test_decode_rejects_fee_and_script_errors(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    /* negative system fee */
    assert_int_equal(decode_hex("00"
                                "39300000"
                                "ffffffffffffffff"
                                "0000000000000000"
                                "40420f00"
                                "01" ACC_A "01"
                                "00"
                                "0140"
                                "01" NO_WITNESS,
                                &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "fee"));
    /* fees that overflow together */
    assert_int_equal(decode_hex("00"
                                "39300000"
                                "ffffffffffffff7f"
                                "0100000000000000"
                                "40420f00"
                                "01" ACC_A "01"
                                "00"
                                "0140"
                                "01" NO_WITNESS,
                                &err),
                     NSL_ERR_INVALID_PARAMS);
    /* empty script */
    assert_int_equal(decode_hex("00"
                                "39300000"
                                "0000000000000000"
                                "0000000000000000"
                                "40420f00"
                                "01" ACC_A "01"
                                "00"
                                "00"
                                "01" NO_WITNESS,
                                &err),
                     NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "script is empty"));
}

static void test_decode_and_encode_refuse_oversize_transactions(void **state)
{
    (void)state;
    static uint8_t big[NSL_NEO_TX_MAX_SIZE + 1];
    struct nsl_neo_tx *tx = new_tx();
    struct nsl_error err = {0};
    assert_int_equal(nsl_neo_tx_decode(big, sizeof big, tx, &err), NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "over the limit"));
    /* A 65535-byte script, 16 signers with 16 contracts each and 16 witnesses of 2 x 1024
     * bytes come to 103886 bytes, more than 102400. */
    static uint8_t script[NSL_NEO_TX_MAX_SCRIPT];
    script[0] = 0x40;
    tx->script = script;
    tx->script_len = sizeof script;
    tx->nsigners = tx->nwitnesses = 16;
    for (size_t i = 0; i < 16; i++) {
        tx->signers[i].account[0] = (uint8_t)i;
        tx->signers[i].scopes = NSL_NEO_SCOPE_CUSTOM_CONTRACTS;
        tx->signers[i].ncontracts = 16;
        tx->witnesses[i].invocation_len = tx->witnesses[i].verification_len = 1024;
    }
    struct nsl_buf b = {0};
    assert_int_equal(nsl_neo_tx_encode(tx, &b, &err), NSL_ERR_INVALID_PARAMS);
    assert_int_equal(b.len, 0);
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &b, &err), NSL_OK);
    nsl_buf_free(&b);
    free(tx);
}

static void test_encode_applies_the_decoder_rules(void **state)
{
    (void)state;
    uint8_t script[1] = {0x40};
    struct nsl_neo_tx *tx = new_tx();
    struct nsl_buf b = {0};
    struct nsl_error err = {0};
    tx->script = script;
    tx->script_len = 1;
    tx->nsigners = 2; /* two zero accounts: duplicates */
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &b, &err), NSL_ERR_INVALID_PARAMS);
    assert_non_null(strstr(err.message, "duplicate"));
    tx->signers[1].account[0] = 1;
    tx->signers[1].scopes = NSL_NEO_SCOPE_GLOBAL | NSL_NEO_SCOPE_CALLED_BY_ENTRY;
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &b, &err), NSL_ERR_INVALID_PARAMS);
    tx->signers[1].scopes = NSL_NEO_SCOPE_WITNESS_RULES;
    static const uint8_t rules[] = {0x01, 0x00, 0x01, 0xff};
    tx->signers[1].nrules = 1;
    tx->signers[1].rules = rules;
    tx->signers[1].rules_len = sizeof rules; /* one byte too many */
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &b, &err), NSL_ERR_INVALID_PARAMS);
    tx->signers[1].rules_len = 3;
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &b, &err), NSL_OK);
    assert_int_equal(nsl_neo_tx_encode(tx, &b, &err), NSL_ERR_INVALID_PARAMS); /* no witnesses */
    tx->signers[1].ncontracts = 17;
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &b, &err), NSL_ERR_INVALID_PARAMS);
    tx->signers[1].ncontracts = 0;
    tx->version = 1;
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &b, &err), NSL_ERR_INVALID_PARAMS);
    tx->version = 0;
    tx->script_len = 0;
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &b, &err), NSL_ERR_INVALID_PARAMS);
    nsl_buf_free(&b);
    free(tx);
}

static void test_varint_sizes_round_trip(void **state)
{
    (void)state;
    /* A 300-byte script uses the 0xfd form and round-trips. */
    static uint8_t script[300];
    memset(script, 0x21, sizeof script);
    struct nsl_neo_tx *tx = new_tx(), *back = new_tx();
    tx->nsigners = 1;
    tx->script = script;
    tx->script_len = sizeof script;
    struct nsl_buf b = {0};
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &b, NULL), NSL_OK);
    assert_int_equal(b.data[25 + 1 + 21 + 1], 0xfd);
    assert_int_equal(nsl_neo_tx_decode_unsigned(b.data, b.len, back, NULL), NSL_OK);
    assert_int_equal(back->script_len, 300);
    nsl_buf_free(&b);
    free(tx);
    free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsigned_vectors_decode_hash_and_reencode),
        cmocka_unit_test(test_nep17_vector_fields),
        cmocka_unit_test(test_csharp_tojson_vector_built_from_fields),
        cmocka_unit_test(test_sign_data_is_magic_then_raw_txid),
        cmocka_unit_test(test_decode_rejects_truncation_at_every_length),
        cmocka_unit_test(test_decode_rejects_trailing_garbage),
        cmocka_unit_test(test_parts_builder_makes_a_valid_transaction),
        cmocka_unit_test(test_decode_rejects_unknown_version),
        cmocka_unit_test(test_decode_rejects_signer_errors),
        cmocka_unit_test(test_decode_rejects_witness_count_mismatch),
        cmocka_unit_test(test_decode_rejects_oversize_witness_scripts),
        cmocka_unit_test(test_decode_rejects_non_canonical_var_ints),
        cmocka_unit_test(test_decode_rejects_subitem_limits),
        cmocka_unit_test(test_decode_checks_witness_rules),
        cmocka_unit_test(test_decode_attributes),
        cmocka_unit_test(test_decode_rejects_fee_and_script_errors),
        cmocka_unit_test(test_decode_and_encode_refuse_oversize_transactions),
        cmocka_unit_test(test_encode_applies_the_decoder_rules),
        cmocka_unit_test(test_varint_sizes_round_trip),
    };
    return cmocka_run_group_tests(tests, neo_vectors_setup, neo_vectors_teardown);
}
