/* Attestation and end-to-end sealing against the real daemons (issue 6): the document verifies
 * (simulated root allowed) and binds this boot's HPKE key and the enclave's signing key; sealed
 * params open only for the operation they were sealed for; a tampered payload is refused; sealed
 * results open with the caller's reply key; with sealing required, secrets in the clear are
 * refused; the signing key survives a restart while the HPKE key is per boot. */
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
#include <unistd.h>

#include "attest/verify.h"
#include "common/encoding.h"
#include "common/log.h"
#include "crypto/hpke.h"
#include "enclave/identity.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "neo/key.h"
#include "neo/nep2.h"

#define VECTOR_WIF     "L1QqQJnpBwbsPGAuutuzPTac8piqvbR1HRjrY5qHup48TBCBFe4g"
#define VECTOR_ADDRESS "NPTmAHDxo6Pkyic8Nvu3kwyXoYJCvcCB6i"

static struct nsl_stack stack;
static struct nsl_client client;
static char user_key[128];
static uint8_t hpke_pk[NSL_HPKE_PUBLIC_KEY_LEN];
static char signer_hex[67];

static void bootstrap_user(void)
{
    struct nsl_secret *admin = NULL;
    char admin_id[64];
    nsl_client_bootstrap(&client, &admin, admin_id, sizeof admin_id);
    struct nsl_signing s = {.key = admin, .account = admin_id};
    nsl_client_create_user(&client, &s, "u", user_key, sizeof user_key);
    nsl_secret_free(admin);
}

static int setup(void **state)
{
    (void)state;
    nsl_log_init("test_attestation", NSL_LOG_ERROR);
    if (nsl_stack_init(&stack) != 0)
        return -1;
    stack.enclave_extra[0] = "--require-sealed";
    stack.enclave_extra[1] = "true";
    if (nsl_stack_start_enclave(&stack) != 0 || nsl_stack_start_parent(&stack) != 0)
        return -1;
    client.fd = nsl_test_connect(stack.enclave_url);
    if (nsl_wait_storage_ready(client.fd, 15000) != 0)
        return -1;
    bootstrap_user();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(client.fd);
    return nsl_stack_stop(&stack);
}

static uint8_t *unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out = malloc(n / 2 + 1);
    assert_int_equal(nsl_hex_decode(hex, n, out, n / 2 + 1, len), 0);
    return out;
}

static void fetch_document(const char *nonce_hex, const char *user_data_hex,
                           struct nsl_attest_result *result, bool allow_simulated, nsl_err want)
{
    char params[256];
    snprintf(params, sizeof params,
             user_data_hex ? "{\"nonce\":\"%s\",\"userData\":\"%s\"}" : "{\"nonce\":\"%s\"}",
             nonce_hex, user_data_hex);
    json_t *reply = nsl_client_send(
        &client, nsl_client_envelope(&client, "attestation", "getDocument", params));
    json_t *r = nsl_client_result(reply);
    const char *b64 = json_string_value(json_object_get(r, "document"));
    size_t cap = nsl_base64_decoded_max(strlen(b64)), len, nonce_len;
    uint8_t *doc = malloc(cap);
    assert_int_equal(nsl_base64_decode(b64, strlen(b64), doc, cap, &len), 0);
    uint8_t *nonce = unhex(nonce_hex, &nonce_len);
    struct nsl_attest_policy policy = {
        .nonce = nonce, .nonce_len = nonce_len, .allow_simulated = allow_simulated};
    struct nsl_error err = {0};
    assert_int_equal(nsl_attest_verify(doc, len, &policy, result, &err), want);
    size_t n;
    uint8_t *pk = unhex(json_string_value(json_object_get(r, "hpkePublicKey")), &n);
    memcpy(hpke_pk, pk, sizeof hpke_pk);
    snprintf(signer_hex, sizeof signer_hex, "%s",
             json_string_value(json_object_get(r, "signerPublicKey")));
    assert_string_equal(json_string_value(json_object_get(r, "mode")), "simulated");
    free(pk);
    free(nonce);
    free(doc);
    json_decref(reply);
}

static void test_document_verifies_and_binds_both_keys(void **state)
{
    (void)state;
    struct nsl_attest_result result = {0};
    fetch_document("00112233445566778899", "cafe", &result, true, NSL_OK);
    assert_int_equal(result.mode, NSL_ATTEST_MODE_SIMULATED);
    assert_int_equal(strncmp(result.doc.module_id, "sim-", 4), 0);
    /* public_key is the HPKE key; user_data commits to the signing key and "cafe". */
    assert_int_equal(result.doc.public_key.len, NSL_HPKE_PUBLIC_KEY_LEN);
    assert_memory_equal(result.doc.public_key.data, hpke_pk, NSL_HPKE_PUBLIC_KEY_LEN);
    size_t n;
    uint8_t *signer = unhex(signer_hex, &n);
    uint8_t want[NSL_IDENTITY_USER_DATA_LEN], cafe[2] = {0xca, 0xfe};
    nsl_identity_commitment(signer, cafe, 2, want);
    assert_int_equal(result.doc.user_data.len, sizeof want);
    assert_memory_equal(result.doc.user_data.data, want, sizeof want);
    free(signer);
    nsl_attest_result_free(&result);
}

static void test_simulated_document_is_refused_unless_allowed(void **state)
{
    (void)state;
    struct nsl_attest_result result = {0};
    fetch_document("0102030405060708", NULL, &result, false, NSL_ERR_UNAUTHENTICATED);
    nsl_attest_result_free(&result);
}

/* {"sealed": {...}} of params for service.operation, to the enclave's key. */
static json_t *seal(const char *params, const char *aad)
{
    uint8_t enc[NSL_HPKE_ENC_LEN];
    struct nsl_buf ct = {0};
    assert_int_equal(nsl_hpke_seal(hpke_pk, "nsl-request-1", 13, aad, strlen(aad), params,
                                   strlen(params), enc, &ct, NULL),
                     NSL_OK);
    char enc_hex[65];
    nsl_hex_encode(enc, sizeof enc, enc_hex);
    char *b64 = nsl_base64_encode_alloc(ct.data, ct.len);
    json_t *sealed = json_pack("{s:{s:s, s:s}}", "sealed", "enc", enc_hex, "ct", b64);
    free(b64);
    nsl_buf_free(&ct);
    return sealed;
}

static json_t *sealed_call(const char *operation, json_t *sealed_params)
{
    json_t *req = nsl_client_envelope(&client, "wallet", operation, NULL);
    json_object_set_new(req, "params", sealed_params);
    json_object_set_new(req, "auth",
                        json_pack("{s:s, s:s}", "scheme", "apikey", "apiKey", user_key));
    return nsl_client_send(&client, req);
}

static void test_sealed_import_opens_and_clear_secrets_are_refused(void **state)
{
    (void)state;
    nsl_client_expect_error(
        nsl_client_apikey(&client, user_key, "wallet", "import", "{\"wif\":\"" VECTOR_WIF "\"}"),
        "INVALID_REQUEST");
    json_t *clear = nsl_client_apikey(&client, user_key, "secrets", "put",
                                      "{\"name\":\"db\",\"value\":\"hunter2\"}");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(clear, "error"), "message")),
               "must be sealed"));
    nsl_client_expect_error(clear, "INVALID_REQUEST");
    json_t *reply = sealed_call(
        "import", seal("{\"wif\":\"" VECTOR_WIF "\",\"exportable\":true}", "wallet.import"));
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "address")),
                        VECTOR_ADDRESS);
    json_decref(reply);
}

static void test_tampered_or_moved_sealed_payload_is_refused(void **state)
{
    (void)state;
    json_t *sealed = seal("{\"wif\":\"" VECTOR_WIF "\"}", "wallet.import");
    json_t *inner = json_object_get(sealed, "sealed");
    char *ct = strdup(json_string_value(json_object_get(inner, "ct")));
    ct[4] = ct[4] == 'A' ? 'B' : 'A';
    json_object_set_new(inner, "ct", json_string(ct));
    free(ct);
    json_t *reply = sealed_call("import", sealed);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(reply, "error"), "message")),
               "does not open"));
    nsl_client_expect_error(reply, "INVALID_PARAMS");
    /* A payload sealed for wallet.import, replayed by the parent as wallet.create. */
    nsl_client_expect_error(sealed_call("create", seal("{}", "wallet.import")), "INVALID_PARAMS");
    /* Sealed to some other key: does not open. */
    struct nsl_secret *sk = NULL;
    uint8_t saved[NSL_HPKE_PUBLIC_KEY_LEN];
    memcpy(saved, hpke_pk, sizeof saved);
    nsl_hpke_keypair(&sk, hpke_pk, NULL);
    nsl_client_expect_error(sealed_call("create", seal("{}", "wallet.create")), "INVALID_PARAMS");
    memcpy(hpke_pk, saved, sizeof saved);
    nsl_secret_free(sk);
}

static void test_sealed_result_opens_with_the_reply_key(void **state)
{
    (void)state;
    json_t *reply = nsl_client_apikey(&client, user_key, "wallet", "list", NULL);
    json_t *keys = json_object_get(nsl_client_result(reply), "keys");
    char key_id[40];
    snprintf(key_id, sizeof key_id, "%s",
             json_string_value(json_object_get(json_array_get(keys, 0), "keyId")));
    json_decref(reply);
    /* Without a reply key the enclave (sealing required) will not export. */
    char params[256];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"passphrase\":\"correct horse\"}", key_id);
    nsl_client_expect_error(sealed_call("export", seal(params, "wallet.export")),
                            "INVALID_REQUEST");
    struct nsl_secret *reply_sk = NULL;
    uint8_t reply_pk[NSL_HPKE_PUBLIC_KEY_LEN];
    char reply_hex[65];
    nsl_hpke_keypair(&reply_sk, reply_pk, NULL);
    nsl_hex_encode(reply_pk, sizeof reply_pk, reply_hex);
    snprintf(params, sizeof params,
             "{\"keyId\":\"%s\",\"passphrase\":\"correct horse\",\"replyKey\":\"%s\"}", key_id,
             reply_hex);
    reply = sealed_call("export", seal(params, "wallet.export"));
    json_t *sealed = json_object_get(nsl_client_result(reply), "sealed");
    assert_non_null(sealed);
    assert_null(json_object_get(nsl_client_result(reply), "nep2")); /* the parent sees nothing */
    size_t n, ct_len;
    uint8_t *enc = unhex(json_string_value(json_object_get(sealed, "enc")), &n);
    const char *b64 = json_string_value(json_object_get(sealed, "ct"));
    uint8_t *ct = malloc(strlen(b64));
    nsl_base64_decode(b64, strlen(b64), ct, strlen(b64), &ct_len);
    struct nsl_secret *plain = NULL;
    assert_int_equal(nsl_hpke_open(reply_sk, enc, "nsl-result-1", 12, "wallet.export", 13, ct,
                                   ct_len, &plain, NULL),
                     NSL_OK);
    json_t *result =
        json_loadb((const char *)nsl_secret_bytes(plain), nsl_secret_len(plain), 0, NULL);
    struct nsl_secret *key = NULL;
    assert_int_equal(nsl_neo_nep2_decrypt(json_string_value(json_object_get(result, "nep2")),
                                          "correct horse", 13, NULL, &key, NULL),
                     NSL_OK);
    json_decref(result);
    nsl_secret_free(key);
    nsl_secret_free(plain);
    nsl_secret_free(reply_sk);
    free(ct);
    free(enc);
    json_decref(reply);
}

static void test_signing_key_survives_restart_and_hpke_key_does_not(void **state)
{
    (void)state;
    struct nsl_attest_result result = {0};
    fetch_document("aa", NULL, &result, true, NSL_OK);
    nsl_attest_result_free(&result);
    uint8_t old_hpke[NSL_HPKE_PUBLIC_KEY_LEN];
    char old_signer[67];
    memcpy(old_hpke, hpke_pk, sizeof old_hpke);
    snprintf(old_signer, sizeof old_signer, "%s", signer_hex);
    close(client.fd);
    assert_int_equal(WEXITSTATUS(nsl_stack_kill(&stack.enclave_pid, SIGTERM)), 0);
    assert_int_equal(nsl_stack_start_enclave(&stack), 0);
    client.fd = nsl_test_connect(stack.enclave_url);
    assert_int_equal(nsl_wait_storage_ready(client.fd, 15000), 0);
    fetch_document("bb", NULL, &result, true, NSL_OK);
    nsl_attest_result_free(&result);
    assert_string_equal(signer_hex, old_signer);
    assert_memory_not_equal(hpke_pk, old_hpke, sizeof old_hpke);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_verifies_and_binds_both_keys),
        cmocka_unit_test(test_simulated_document_is_refused_unless_allowed),
        cmocka_unit_test(test_sealed_import_opens_and_clear_secrets_are_refused),
        cmocka_unit_test(test_tampered_or_moved_sealed_payload_is_refused),
        cmocka_unit_test(test_sealed_result_opens_with_the_reply_key),
        cmocka_unit_test(test_signing_key_survives_restart_and_hpke_key_does_not),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
