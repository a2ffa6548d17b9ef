/* cli/seal: which requests are sealed, the attestation policy from flags and environment, the
 * checks on an attestation.getDocument answer (documents from the simulator), and sealing that
 * the enclave's own code (enclave/sealing.c) opens, and back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "attest/sim.h"
#include "cli/seal.h"
#include "common/encoding.h"
#include "enclave/identity.h"
#include "enclave/sealing.h"

#define PCR_A                                                                                      \
    "0x"                                                                                           \
    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"                                             \
    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define PCR_B                                                                                      \
    "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"                                             \
    "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"

static const struct nsl_route *route(const char *service, const char *operation)
{
    size_t i;
    assert_int_equal(nsl_route_find(service, operation, &i), NSL_OK);
    return &nsl_routes[i];
}

static void test_seal_wanted_follows_route_flags_and_options(void **state)
{
    (void)state;
    const struct nsl_route *import = route("wallet", "import"), *export = route("wallet", "export");
    const struct nsl_route *health = route("system", "health");
    assert_true(nsl_cli_seal_wanted(import, NSL_CLI_SEAL_AUTO));
    assert_true(nsl_cli_seal_wanted(export, NSL_CLI_SEAL_AUTO));
    assert_false(nsl_cli_seal_wanted(health, NSL_CLI_SEAL_AUTO));
    assert_true(nsl_cli_seal_wanted(health, NSL_CLI_SEAL_ALWAYS));
    assert_false(nsl_cli_seal_wanted(import, NSL_CLI_SEAL_NEVER));
}

static nsl_err policy_of(const char *const *pcrs, const char *env_allow, const char *env_pcrs,
                         struct nsl_attest_policy *p, struct nsl_error *err)
{
    struct nsl_cli_args args = {0};
    while (pcrs && pcrs[args.npcrs])
        args.pcrs[args.npcrs] = pcrs[args.npcrs], args.npcrs++;
    return nsl_cli_seal_policy(&args, env_allow, env_pcrs, p, err);
}

static void test_policy_from_flags_and_environment(void **state)
{
    (void)state;
    struct nsl_attest_policy p;
    struct nsl_error err = {0};
    assert_int_equal(policy_of(NULL, NULL, NULL, &p, &err), NSL_OK);
    assert_false(p.allow_simulated || p.allow_debug || p.pcr_mask || p.nonce);
    assert_int_equal(policy_of(NULL, "1", NULL, &p, &err), NSL_OK);
    assert_true(p.allow_simulated);
    assert_int_equal(policy_of(NULL, "true", NULL, &p, &err), NSL_OK);
    assert_true(p.allow_simulated);
    assert_int_equal(policy_of(NULL, "0", NULL, &p, &err), NSL_OK);
    assert_false(p.allow_simulated);
    assert_int_equal(policy_of(NULL, "yes", NULL, &p, &err), NSL_ERR_INVALID_REQUEST);
    assert_string_equal(err.message, "NSL_ALLOW_SIMULATED must be 1 or 0");

    const char *flags[] = {"2=" PCR_B, "0=" PCR_A, NULL};
    assert_int_equal(policy_of(flags, NULL, " 1=" PCR_A " ", &p, &err), NSL_OK);
    assert_int_equal(p.pcr_mask, (1u << 0) | (1u << 2)); /* a flag wins over NSL_PCRS */
    assert_int_equal(p.pcrs[0][0], 0xa1);
    assert_int_equal(p.pcrs[2][47], 0xb2);
    assert_int_equal(policy_of(NULL, NULL, "0=" PCR_A ", 1=" PCR_B ",2=" PCR_A, &p, &err), NSL_OK);
    assert_int_equal(p.pcr_mask, 7u);
}

static void expect_policy_refused(const char *flag, const char *env, const char *message)
{
    const char *flags[] = {flag, NULL};
    struct nsl_attest_policy p;
    struct nsl_error err = {0};
    assert_int_equal(policy_of(flags, NULL, env, &p, &err), NSL_ERR_INVALID_REQUEST);
    assert_string_equal(err.message, message);
}

static void test_policy_refuses_bad_pcrs(void **state)
{
    (void)state;
    expect_policy_refused("0=abcd", NULL, "--pcr: PCR 0 must be 96 hex digits");
    expect_policy_refused("32=" PCR_B, NULL, "--pcr takes N=HEX with N in 0..31");
    expect_policy_refused("x=" PCR_B, NULL, "--pcr takes N=HEX with N in 0..31");
    expect_policy_refused(PCR_B, NULL, "--pcr takes N=HEX with N in 0..31");
    expect_policy_refused(NULL, "1=" PCR_B ",1=" PCR_A, "NSL_PCRS: PCR 1 given twice");
    expect_policy_refused(NULL, "1=" PCR_B "zz", "NSL_PCRS: PCR 1 must be 96 hex digits");
}

/* An attestation.getDocument answer as the enclave makes it: the simulator signs user_data =
 * commitment(signer, userData) and public_key = hpke. */
struct answer {
    struct nsl_sim *sim;
    uint8_t hpke[NSL_HPKE_PUBLIC_KEY_LEN], signer[NSL_NEO_PUBKEY_LEN], nonce[32];
    struct nsl_attest_policy policy;
};

static json_t *document_answer(struct answer *a, const uint8_t *user_data, size_t user_data_len)
{
    uint8_t commitment[NSL_IDENTITY_USER_DATA_LEN];
    nsl_identity_commitment(a->signer, user_data, user_data_len, commitment);
    struct nsl_buf doc = {0};
    assert_int_equal(nsl_sim_attest(a->sim, commitment, sizeof commitment, a->nonce,
                                    sizeof a->nonce, a->hpke, sizeof a->hpke, &doc, NULL),
                     NSL_OK);
    char *b64 = nsl_base64_encode_alloc(doc.data, doc.len);
    char hpke[65], signer[67];
    nsl_hex_encode(a->hpke, sizeof a->hpke, hpke);
    nsl_hex_encode(a->signer, sizeof a->signer, signer);
    json_t *r = json_pack("{s:s, s:s, s:s, s:s}", "document", b64, "mode", "simulated",
                          "hpkePublicKey", hpke, "signerPublicKey", signer);
    free(b64);
    nsl_buf_free(&doc);
    return r;
}

static int answer_setup(void **state)
{
    struct answer *a = calloc(1, sizeof *a);
    struct nsl_secret *sk = NULL, *signer = NULL;
    if (nsl_sim_new(&a->sim, NULL) != NSL_OK || nsl_hpke_keypair(&sk, a->hpke, NULL) != NSL_OK ||
        nsl_neo_key_generate(&signer, NULL) != NSL_OK ||
        nsl_neo_key_public(signer, a->signer, NULL) != NSL_OK)
        return -1;
    nsl_secret_free(sk);
    nsl_secret_free(signer);
    nsl_random_bytes(a->nonce, sizeof a->nonce);
    a->policy = (struct nsl_attest_policy){
        .nonce = a->nonce, .nonce_len = sizeof a->nonce, .allow_simulated = true};
    *state = a;
    return 0;
}

static int answer_teardown(void **state)
{
    struct answer *a = *state;
    nsl_sim_free(a->sim);
    free(a);
    return 0;
}

static void expect_refused(json_t *answer, const struct nsl_attest_policy *policy,
                           const char *message)
{
    uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN];
    struct nsl_error err = {0};
    assert_int_equal(nsl_cli_seal_check_document(answer, policy, pk, &err),
                     NSL_ERR_UNAUTHENTICATED);
    if (strncmp(err.message, message, strlen(message)) != 0)
        fail_msg("expected \"%s\", got \"%s\"", message, err.message);
    json_decref(answer);
}

static void test_document_check_accepts_a_bound_answer(void **state)
{
    struct answer *a = *state;
    json_t *answer = document_answer(a, NULL, 0);
    uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN] = {0};
    assert_int_equal(nsl_cli_seal_check_document(answer, &a->policy, pk, NULL), NSL_OK);
    assert_memory_equal(pk, a->hpke, sizeof pk);
    json_decref(answer);
}

static void test_document_check_refuses_what_it_cannot_trust(void **state)
{
    struct answer *a = *state;
    struct nsl_attest_policy strict = a->policy;
    strict.allow_simulated = false;
    expect_refused(document_answer(a, NULL, 0), &strict,
                   "enclave attestation failed: simulated document refused");
    uint8_t other_nonce[32] = {1};
    struct nsl_attest_policy replayed = a->policy;
    replayed.nonce = other_nonce;
    expect_refused(document_answer(a, NULL, 0), &replayed,
                   "enclave attestation failed: nonce mismatch");
    /* A key beside the document that the document does not vouch for. */
    json_t *answer = document_answer(a, NULL, 0);
    json_object_set_new(answer, "hpkePublicKey",
                        json_string("11111111111111111111111111111111"
                                    "11111111111111111111111111111111"));
    expect_refused(answer, &a->policy,
                   "enclave attestation failed: hpkePublicKey is not the document's public_key");
    answer = document_answer(a, NULL, 0);
    json_object_set_new(answer, "signerPublicKey", json_string("02ab"));
    expect_refused(answer, &a->policy,
                   "enclave attestation failed: the answer has no signerPublicKey");
    /* Another signing key than the one the document commits to. */
    answer = document_answer(a, NULL, 0);
    char other[2 * NSL_NEO_PUBKEY_LEN + 1];
    a->signer[5] ^= 1;
    nsl_hex_encode(a->signer, sizeof a->signer, other);
    a->signer[5] ^= 1;
    json_object_set_new(answer, "signerPublicKey", json_string(other));
    expect_refused(answer, &a->policy,
                   "enclave attestation failed: user_data does not commit to signerPublicKey");
    /* user_data that commits to caller data too is not the bare commitment. */
    expect_refused(document_answer(a, (const uint8_t *)"x", 1), &a->policy,
                   "enclave attestation failed: user_data does not commit to signerPublicKey");
    expect_refused(json_pack("{s:s}", "mode", "simulated"), &a->policy,
                   "enclave attestation failed: the answer has no document");
    expect_refused(json_pack("{s:s}", "document", "!!!!"), &a->policy,
                   "enclave attestation failed: the answer's document is not base64");
    expect_refused(json_pack("{s:s}", "document", "AAAA"), &a->policy,
                   "enclave attestation failed: malformed");
}

static void test_commitment_is_the_enclaves(void **state)
{
    struct answer *a = *state;
    uint8_t ours[NSL_CLI_SEAL_COMMITMENT_LEN], theirs[NSL_IDENTITY_USER_DATA_LEN];
    nsl_cli_seal_commitment(a->signer, ours);
    nsl_identity_commitment(a->signer, NULL, 0, theirs);
    assert_memory_equal(ours, theirs, sizeof ours);
}

/* Sealed by the CLI, opened by the enclave's code; the result sealed back and opened. */
static void test_sealed_params_and_result_round_trip(void **state)
{
    (void)state;
    struct nsl_identity *id = NULL;
    assert_int_equal(nsl_identity_new(true, &id, NULL), NSL_OK);
    json_t *params =
        json_pack("{s:s, s:b}", "wif", "L1QqQJnpBwbsPGAuutuzPTac8piqvbR1HRjrY5qHup48TBCBFe4g",
                  "exportable", 1);
    json_t *sealed = NULL;
    struct nsl_secret *reply_sk = NULL;
    assert_int_equal(nsl_cli_seal_params(nsl_identity_hpke_public(id), "wallet", "import", params,
                                         &sealed, &reply_sk, NULL),
                     NSL_OK);
    assert_true(nsl_sealing_is_sealed(sealed));
    char *wire = json_dumps(sealed, 0);
    assert_null(strstr(wire, "L1Qq"));
    free(wire);
    assert_null(json_object_get(params, "replyKey")); /* the caller's params are left alone */
    json_t *plain = NULL;
    uint8_t reply_pk[NSL_HPKE_PUBLIC_KEY_LEN], want_pk[NSL_HPKE_PUBLIC_KEY_LEN];
    bool has_reply = false;
    struct nsl_error err = {0};
    assert_int_equal(
        nsl_sealing_open(id, "wallet", "export", sealed, &plain, reply_pk, &has_reply, &err),
        NSL_ERR_INVALID_PARAMS); /* sealed for wallet.import only */
    assert_int_equal(
        nsl_sealing_open(id, "wallet", "import", sealed, &plain, reply_pk, &has_reply, NULL),
        NSL_OK);
    assert_true(has_reply && json_equal(plain, params));
    assert_int_equal(nsl_hpke_public_key(reply_sk, want_pk, NULL), NSL_OK);
    assert_memory_equal(reply_pk, want_pk, sizeof want_pk);

    json_t *result = json_pack("{s:s}", "nep2", "6PYUUUFejoVec73WHNPtRV1BKMZU8ajfkpCQwFG3Ypmn"),
           *sealed_result = NULL, *opened = NULL;
    assert_int_equal(
        nsl_sealing_seal_result("wallet", "import", result, reply_pk, &sealed_result, NULL),
        NSL_OK);
    assert_int_equal(
        nsl_cli_seal_open_result(reply_sk, "wallet", "export", sealed_result, &opened, &err),
        NSL_ERR_UNAUTHENTICATED);
    assert_string_equal(err.message, "the sealed result does not open");
    assert_int_equal(
        nsl_cli_seal_open_result(reply_sk, "wallet", "import", sealed_result, &opened, NULL),
        NSL_OK);
    assert_true(json_equal(opened, result));
    json_decref(opened);
    /* A result in the clear where a sealed one was due: refused; an empty one stands. */
    assert_int_equal(nsl_cli_seal_open_result(reply_sk, "wallet", "import", result, &opened, &err),
                     NSL_ERR_UNAUTHENTICATED);
    assert_null(opened);
    json_t *empty = json_object();
    assert_int_equal(nsl_cli_seal_open_result(reply_sk, "wallet", "import", empty, &opened, NULL),
                     NSL_OK);
    assert_ptr_equal(opened, empty);
    json_decref(opened);
    json_decref(empty);
    json_decref(sealed_result);
    json_decref(result);
    json_decref(plain);
    json_decref(sealed);
    json_decref(params);
    nsl_secret_free(reply_sk);
    nsl_identity_free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_wanted_follows_route_flags_and_options),
        cmocka_unit_test(test_policy_from_flags_and_environment),
        cmocka_unit_test(test_policy_refuses_bad_pcrs),
        cmocka_unit_test_setup_teardown(test_document_check_accepts_a_bound_answer, answer_setup,
                                        answer_teardown),
        cmocka_unit_test_setup_teardown(test_document_check_refuses_what_it_cannot_trust,
                                        answer_setup, answer_teardown),
        cmocka_unit_test_setup_teardown(test_commitment_is_the_enclaves, answer_setup,
                                        answer_teardown),
        cmocka_unit_test(test_sealed_params_and_result_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
