/* The wallet service end to end (issue 5) against the real daemons: keys made in the enclave,
 * message and transaction signatures that Neo's own rules and its reference SDK (neon-core, by
 * tests/neon/verify_tx.mjs) accept, policies, import/export, ownership, bad input of every kind,
 * persistence across an enclave restart, and no private key material in the database or the
 * logs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/neon.h"
#include "neo/account.h"
#include "neo/nep17.h"
#include "neo/nep2.h"
#include "neo/tx_witness.h"
#include "neo/wif.h"

#define TESTNET 894710606u
#define MAINNET 860833102u

/* Key 0 of tests/fixtures/neo/vectors.json (Neo's SDK test vectors). */
#define VECTOR_WIF     "L1QqQJnpBwbsPGAuutuzPTac8piqvbR1HRjrY5qHup48TBCBFe4g"
#define VECTOR_ADDRESS "NPTmAHDxo6Pkyic8Nvu3kwyXoYJCvcCB6i"
#define VECTOR_NEP2    "6PYUUUFei9PBBfVkSn8q7hFCnewWFRBKPxcn6Kz6Bmk3FqWyLyuTQE2XFH"

static struct nsl_stack stack;
static struct nsl_client client;
static struct nsl_secret *admin_key;
static char admin_id[64], alice[128], bob[128];
static char key_id[40], key_address[40], key_pub[70];

static void connect_and_wait(void)
{
    client.fd = nsl_test_connect(stack.enclave_url);
    assert_true(client.fd >= 0);
    assert_int_equal(nsl_wait_storage_ready(client.fd, 15000), 0);
}

static json_t *admin(const char *service, const char *operation, const char *params)
{
    struct nsl_signing s = {.key = admin_key, .account = admin_id};
    return nsl_client_signed(&client, &s, service, operation, params);
}

static void new_user(const char *name, char *api_key)
{
    char params[64];
    snprintf(params, sizeof params, "{\"name\":\"%s\"}", name);
    json_t *reply = admin("account", "create", params);
    nsl_client_copy_string(reply, "apiKey", api_key, 128);
    json_decref(reply);
}

static int setup(void **state)
{
    (void)state;
    nsl_log_init("test_wallet", NSL_LOG_ERROR);
    if (nsl_stack_init(&stack) != 0 || nsl_stack_start_enclave(&stack) != 0 ||
        nsl_stack_start_parent(&stack) != 0)
        return -1;
    connect_and_wait();
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    char pub_hex[67], params[128];
    nsl_neo_key_generate(&admin_key, NULL);
    nsl_neo_key_public(admin_key, pub, NULL);
    nsl_hex_encode(pub, sizeof pub, pub_hex);
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", pub_hex);
    json_t *reply =
        nsl_client_send(&client, nsl_client_envelope(&client, "account", "bootstrap", params));
    nsl_client_copy_string(reply, "accountId", admin_id, sizeof admin_id);
    json_decref(reply);
    new_user("alice", alice);
    new_user("bob", bob);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(client.fd);
    nsl_secret_free(admin_key);
    return nsl_stack_stop(&stack);
}

static json_t *as_alice(const char *operation, const char *params)
{
    return nsl_client_apikey(&client, alice, "wallet", operation, params);
}

/* An unsigned NEP-17 GAS transfer with the given account as first signer. */
static char *transfer_hex(const uint8_t account[20], int64_t system_fee)
{
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    struct nsl_buf script = {0}, out = {0};
    assert_int_equal(nsl_neo_nep17_transfer(nsl_neo_gas_hash, account, account, 1, &script, NULL),
                     NSL_OK);
    tx->nonce = (uint32_t)rand();
    tx->system_fee = system_fee;
    tx->network_fee = 1200000;
    tx->valid_until_block = 1000;
    tx->nsigners = 1;
    memcpy(tx->signers[0].account, account, 20);
    tx->signers[0].scopes = NSL_NEO_SCOPE_CALLED_BY_ENTRY;
    tx->script = script.data;
    tx->script_len = script.len;
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &out, NULL), NSL_OK);
    char *hex = nsl_hex_encode_alloc(out.data, out.len);
    nsl_buf_free(&script);
    nsl_buf_free(&out);
    free(tx);
    return hex;
}

static void key_account(uint8_t hash[20])
{
    assert_int_equal(nsl_neo_address_to_hash(key_address, hash, NULL), NSL_OK);
}

static void test_create_returns_public_key_and_address(void **state)
{
    (void)state;
    json_t *reply = as_alice("create", "{\"label\":\"hot\"}");
    json_t *r = nsl_client_result(reply);
    snprintf(key_id, sizeof key_id, "%s", json_string_value(json_object_get(r, "keyId")));
    snprintf(key_address, sizeof key_address, "%s",
             json_string_value(json_object_get(r, "address")));
    snprintf(key_pub, sizeof key_pub, "%s", json_string_value(json_object_get(r, "publicKey")));
    /* The address is the one Neo derives from the public key. */
    uint8_t pub[33];
    size_t n;
    struct nsl_neo_account acct;
    assert_int_equal(nsl_hex_decode(key_pub, strlen(key_pub), pub, sizeof pub, &n), 0);
    assert_int_equal(nsl_neo_account_from_pub(pub, &acct), 0);
    assert_string_equal(acct.address, key_address);
    assert_null(json_object_get(r, "privateKey"));
    assert_null(json_object_get(r, "wif"));
    json_decref(reply);
    char params[96];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\"}", key_id);
    reply = as_alice("get", params);
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "label")),
                        "hot");
    json_decref(reply);
    reply = as_alice("list", NULL);
    assert_int_equal(json_array_size(json_object_get(nsl_client_result(reply), "keys")), 1);
    json_decref(reply);
}

static void test_sign_message_verifies_with_the_public_key(void **state)
{
    (void)state;
    char params[256];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"message\":\"68656c6c6f\"}", key_id);
    json_t *reply = as_alice("signMessage", params);
    const char *sig = json_string_value(json_object_get(nsl_client_result(reply), "signature"));
    uint8_t pub[33], s[64];
    size_t n;
    nsl_hex_decode(key_pub, strlen(key_pub), pub, sizeof pub, &n);
    nsl_hex_decode(sig, strlen(sig), s, sizeof s, &n);
    assert_int_equal(nsl_neo_pubkey_verify(pub, 33, "hello", 5, s, 64), 0);
    char verify[512];
    snprintf(verify, sizeof verify,
             "{\"publicKey\":\"%s\",\"message\":\"68656c6c6f\",\"signature\":\"%s\"}", key_pub,
             sig);
    json_decref(reply);
    reply = as_alice("verify", verify);
    assert_true(json_is_true(json_object_get(nsl_client_result(reply), "valid")));
    json_decref(reply);
    char *digit = &verify[strlen(verify) - 4]; /* a changed signature no longer verifies */
    *digit = *digit == '0' ? '1' : '0';
    reply = as_alice("verify", verify);
    assert_false(json_is_true(json_object_get(nsl_client_result(reply), "valid")));
    json_decref(reply);
}

static json_t *sign_tx(const char *hex, uint32_t network)
{
    char *params = NULL;
    assert_true(asprintf(&params, "{\"keyId\":\"%s\",\"transaction\":\"%s\",\"network\":%u}",
                         key_id, hex, network) > 0);
    json_t *reply = as_alice("signTransaction", params);
    free(params);
    return reply;
}

static void test_signed_transaction_verifies_for_its_network_only(void **state)
{
    (void)state;
    uint8_t account[20];
    key_account(account);
    char *hex = transfer_hex(account, 997800);
    json_t *reply = sign_tx(hex, TESTNET);
    const char *signed_hex =
        json_string_value(json_object_get(nsl_client_result(reply), "signedTransaction"));
    size_t len = strlen(signed_hex) / 2, n;
    uint8_t *bytes = malloc(len);
    nsl_hex_decode(signed_hex, strlen(signed_hex), bytes, len, &n);
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    assert_int_equal(nsl_neo_tx_decode(bytes, n, tx, NULL), NSL_OK);
    assert_int_equal(nsl_neo_tx_verify(tx, TESTNET, NULL), NSL_OK);
    assert_int_not_equal(nsl_neo_tx_verify(tx, MAINNET, NULL), NSL_OK);
    /* The txid is the hash of the unsigned part we sent. */
    uint8_t txid[32];
    char txid_text[NSL_NEO_HASH256_DISPLAY_LEN];
    nsl_neo_tx_hash(tx, txid, NULL);
    nsl_neo_hash256_display(txid, txid_text);
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "txid")),
                        txid_text);
    free(tx);
    free(bytes);
    free(hex);
    json_decref(reply);
}

/* Issue 5's "done when": the wallet service's signature is one Neo's reference SDK accepts. */
static void test_signed_transaction_verifies_in_neon_core(void **state)
{
    (void)state;
    char why[512];
    if (nsl_neon_ensure_installed(why, sizeof why) != 0)
        fail_msg("%s", why);
    uint8_t account[20];
    key_account(account);
    char *hex = transfer_hex(account, 997800);
    json_t *reply = sign_tx(hex, TESTNET);
    json_t *r = nsl_client_result(reply);
    const char *signed_hex = json_string_value(json_object_get(r, "signedTransaction"));
    const char *txid = json_string_value(json_object_get(r, "txid"));
    assert_non_null(signed_hex);
    assert_non_null(txid);

    json_t *v = NULL;
    int rc = nsl_neon_verify_tx(stack.dir, signed_hex, TESTNET, &v);
    if (rc != 0 || !json_is_true(json_object_get(v, "valid"))) {
        char *text = json_dumps(v, JSON_COMPACT);
        fail_msg("neon-core rejects the service's TESTNET transaction (exit %d): %s", rc, text);
    }
    assert_int_equal(json_array_size(json_object_get(v, "failed")), 0);
    assert_string_equal(json_string_value(json_object_get(v, "txid")), txid);
    assert_true(json_is_true(json_object_get(v, "reserialized")));
    json_decref(v);

    rc = nsl_neon_verify_tx(stack.dir, signed_hex, MAINNET, &v);
    if (rc != 1 || !json_is_false(json_object_get(v, "valid"))) {
        char *text = json_dumps(v, JSON_COMPACT);
        fail_msg("neon-core accepts the TESTNET transaction for MAINNET (exit %d): %s", rc, text);
    }
    assert_int_equal(json_integer_value(json_array_get(json_object_get(v, "failed"), 0)), 0);
    assert_string_equal(json_string_value(json_object_get(v, "txid")), txid);
    json_decref(v);
    free(hex);
    json_decref(reply);
}

static void test_transaction_the_key_does_not_sign_for_is_refused(void **state)
{
    (void)state;
    uint8_t other[20] = {1, 2, 3};
    char *hex = transfer_hex(other, 0);
    nsl_client_expect_error(sign_tx(hex, TESTNET), "INVALID_PARAMS");
    free(hex);
}

static void test_bad_transactions_are_refused_clearly(void **state)
{
    (void)state;
    uint8_t account[20];
    key_account(account);
    char *hex = transfer_hex(account, 0);
    size_t len = strlen(hex);
    char *bad = malloc(len + 8);
    /* truncated */
    memcpy(bad, hex, len - 10);
    bad[len - 10] = 0;
    nsl_client_expect_error(sign_tx(bad, TESTNET), "INVALID_PARAMS");
    /* trailing garbage */
    snprintf(bad, len + 8, "%sdead", hex);
    nsl_client_expect_error(sign_tx(bad, TESTNET), "INVALID_PARAMS");
    /* wrong version */
    memcpy(bad, hex, len + 1);
    bad[0] = '0';
    bad[1] = '1';
    nsl_client_expect_error(sign_tx(bad, TESTNET), "INVALID_PARAMS");
    /* not hex */
    nsl_client_expect_error(sign_tx("zz", TESTNET), "INVALID_PARAMS");
    free(bad);
    free(hex);
}

static void test_policy_rules_refuse_and_name_the_rule(void **state)
{
    (void)state;
    uint8_t account[20];
    key_account(account);
    char params[256];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"allowedNetworks\":[%u]}", key_id, MAINNET);
    json_t *set = as_alice("setPolicy", params);
    nsl_client_result(set);
    json_decref(set);
    char *hex = transfer_hex(account, 100);
    json_t *reply = sign_tx(hex, TESTNET);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(reply, "error"), "message")),
               "allowedNetworks"));
    nsl_client_expect_error(reply, "PERMISSION_DENIED");
    snprintf(params, sizeof params,
             "{\"keyId\":\"%s\",\"allowedNetworks\":[%u],\"maxFee\":\"1000000\"}", key_id, TESTNET);
    reply = as_alice("setPolicy", params);
    nsl_client_result(reply);
    json_decref(reply);
    reply = sign_tx(hex, TESTNET); /* fees 100 + 1200000 > 1000000 */
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(reply, "error"), "message")), "maxFee"));
    nsl_client_expect_error(reply, "PERMISSION_DENIED");
    snprintf(params, sizeof params,
             "{\"keyId\":\"%s\",\"maxFee\":\"100000000\",\"allowedContracts\":"
             "[\"0xef4073a0f2b305a38ec4050e4d3d28bc40ea63f5\"]}",
             key_id);
    reply = as_alice("setPolicy", params);
    nsl_client_result(reply);
    json_decref(reply);
    reply = sign_tx(hex, TESTNET); /* a GAS transfer, only NEO allowed */
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(reply, "error"), "message")),
               "allowedContracts"));
    nsl_client_expect_error(reply, "PERMISSION_DENIED");
    snprintf(
        params, sizeof params,
        "{\"keyId\":\"%s\",\"allowedContracts\":[\"0xd2a4cff31913016155e38e474a2c06d08be276cf\"]}",
        key_id);
    reply = as_alice("setPolicy", params);
    nsl_client_result(reply);
    json_decref(reply);
    reply = sign_tx(hex, TESTNET);
    nsl_client_result(reply);
    json_decref(reply);
    free(hex);
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"allowedContracts\":[\"GAS\"]}", key_id);
    nsl_client_expect_error(as_alice("setPolicy", params), "INVALID_PARAMS");
}

static void test_bad_inputs_get_clear_errors(void **state)
{
    (void)state;
    nsl_client_expect_error(as_alice("get", "{\"keyId\":\"wk_0000000000000000\"}"), "NOT_FOUND");
    char params[512];
    snprintf(params, sizeof params,
             "{\"publicKey\":\"02%062d\",\"message\":\"00\",\"signature\":\"%0128d\"}", 0, 0);
    nsl_client_expect_error(as_alice("verify", params), "INVALID_PARAMS"); /* not on the curve */
    snprintf(params, sizeof params,
             "{\"publicKey\":\"%s\",\"message\":\"00\",\"signature\":\"00\"}", key_pub);
    nsl_client_expect_error(as_alice("verify", params), "INVALID_PARAMS"); /* short signature */
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"message\":\"abc\"}", key_id);
    nsl_client_expect_error(as_alice("signMessage", params), "INVALID_PARAMS"); /* odd hex */
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"extra\":1}", key_id);
    nsl_client_expect_error(as_alice("get", params), "INVALID_PARAMS");
}

static void test_another_account_cannot_see_or_use_the_key(void **state)
{
    (void)state;
    char params[128];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"message\":\"00\"}", key_id);
    nsl_client_expect_error(nsl_client_apikey(&client, bob, "wallet", "signMessage", params),
                            "NOT_FOUND");
    json_t *reply = nsl_client_apikey(&client, bob, "wallet", "list", NULL);
    assert_int_equal(json_array_size(json_object_get(nsl_client_result(reply), "keys")), 0);
    json_decref(reply);
}

static void test_import_wif_and_nep2_give_the_vector_address(void **state)
{
    (void)state;
    json_t *reply = as_alice("import", "{\"wif\":\"" VECTOR_WIF "\"}");
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "address")),
                        VECTOR_ADDRESS);
    json_decref(reply);
    reply = as_alice("import", "{\"nep2\":\"" VECTOR_NEP2 "\",\"passphrase\":\"city of zion\"}");
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "address")),
                        VECTOR_ADDRESS);
    json_decref(reply);
    nsl_client_expect_error(
        as_alice("import", "{\"nep2\":\"" VECTOR_NEP2 "\",\"passphrase\":\"nope\"}"),
        "INVALID_PARAMS");
    nsl_client_expect_error(
        as_alice("import", "{\"wif\":\"L1QqQJnpBwbsPGAuutuzPTac8piqvbR1HRjrY5qHup48TBCBFe4h\"}"),
        "INVALID_PARAMS");
    nsl_client_expect_error(as_alice("import", "{}"), "INVALID_PARAMS");
}

static void test_export_only_for_exportable_keys(void **state)
{
    (void)state;
    char params[128];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"passphrase\":\"correct horse\"}", key_id);
    nsl_client_expect_error(as_alice("export", params), "PERMISSION_DENIED");
    json_t *reply = as_alice("create", "{\"exportable\":true}");
    char id[40], address[40];
    nsl_client_copy_string(reply, "keyId", id, sizeof id);
    nsl_client_copy_string(reply, "address", address, sizeof address);
    json_decref(reply);
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"passphrase\":\"correct horse\"}", id);
    reply = as_alice("export", params);
    const char *nep2 = json_string_value(json_object_get(nsl_client_result(reply), "nep2"));
    struct nsl_secret *key = NULL;
    assert_int_equal(nsl_neo_nep2_decrypt(nep2, "correct horse", 13, NULL, &key, NULL), NSL_OK);
    struct nsl_neo_account acct;
    nsl_neo_account_from_key(key, &acct, NULL);
    assert_string_equal(acct.address, address);
    nsl_secret_free(key);
    json_decref(reply);
}

static void test_keys_survive_an_enclave_restart(void **state)
{
    (void)state;
    close(client.fd);
    assert_int_equal(WEXITSTATUS(nsl_stack_kill(&stack.enclave_pid, SIGTERM)), 0);
    assert_int_equal(nsl_stack_start_enclave(&stack), 0);
    connect_and_wait();
    char params[128];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"message\":\"00\"}", key_id);
    json_t *reply = as_alice("signMessage", params);
    nsl_client_result(reply);
    json_decref(reply);
}

static void test_deleted_key_is_gone(void **state)
{
    (void)state;
    char params[128];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\"}", key_id);
    json_t *reply = as_alice("delete", params);
    nsl_client_result(reply);
    json_decref(reply);
    nsl_client_expect_error(as_alice("get", params), "NOT_FOUND");
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"message\":\"00\"}", key_id);
    nsl_client_expect_error(as_alice("signMessage", params), "NOT_FOUND");
}

static bool file_contains(const char *name, const void *needle, size_t len)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", stack.dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    static char buf[32 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return memmem(buf, n, needle, len) != NULL;
}

static void test_private_keys_appear_in_no_file_or_log(void **state)
{
    (void)state;
    struct nsl_secret *key = NULL;
    assert_int_equal(nsl_neo_wif_decode(VECTOR_WIF, &key, NULL), NSL_OK);
    char hex[65];
    nsl_hex_encode(nsl_secret_bytes(key), 32, hex);
    const char *files[] = {"nsl.db", "nsl.db-wal", "enclave.log", "parent.log"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        assert_false(file_contains(files[i], nsl_secret_bytes(key), 32));
        assert_false(file_contains(files[i], hex, 64));
        assert_false(file_contains(files[i], VECTOR_WIF, strlen(VECTOR_WIF)));
    }
    nsl_secret_free(key);
}

int main(void)
{
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_returns_public_key_and_address),
        cmocka_unit_test(test_sign_message_verifies_with_the_public_key),
        cmocka_unit_test(test_signed_transaction_verifies_for_its_network_only),
        cmocka_unit_test(test_signed_transaction_verifies_in_neon_core),
        cmocka_unit_test(test_transaction_the_key_does_not_sign_for_is_refused),
        cmocka_unit_test(test_bad_transactions_are_refused_clearly),
        cmocka_unit_test(test_policy_rules_refuse_and_name_the_rule),
        cmocka_unit_test(test_bad_inputs_get_clear_errors),
        cmocka_unit_test(test_another_account_cannot_see_or_use_the_key),
        cmocka_unit_test(test_import_wif_and_nep2_give_the_vector_address),
        cmocka_unit_test(test_export_only_for_exportable_keys),
        cmocka_unit_test(test_keys_survive_an_enclave_restart),
        cmocka_unit_test(test_deleted_key_is_gone),
        cmocka_unit_test(test_private_keys_appear_in_no_file_or_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
