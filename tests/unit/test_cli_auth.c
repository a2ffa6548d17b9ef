/* nsl's credentials: the NSL-SIG and NSL-APIKEY header values, loading the signing key from the
 * dev key file and from a NEP-6 wallet (the NEP-2 vector of tests/fixtures/neo), where the
 * account id comes from, every refusal, and a signature that the enclave's check accepts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/auth.h"
#include "crypto/request_sig.h"
#include "neo/account.h"
#include "neo/key.h"
#include "neo/nep2.h"
#include "neo/wif.h"
#include "test_neo_fixture.h"

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/nsl-cli-auth-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return neo_vectors_setup(state);
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return -1;
    return neo_vectors_teardown(state);
}

/* Writes text to dir/name and returns the path (static buffer per call site is enough). */
static const char *write_file(const char *name, const char *text)
{
    static char path[4][128];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static json_t *fixture_key(void)
{
    return json_array_get(neo_vec("keys"), 0);
}

/* The dev key file nsl dev up writes, for the fixture key. */
static const char *dev_key_file(const char *account_id)
{
    json_t *k = fixture_key();
    json_t *file = json_pack("{s:s, s:s, s:s}", "address", neo_str(k, "address"), "publicKey",
                             neo_str(k, "publicKey"), "wif", neo_str(k, "wif"));
    if (account_id)
        json_object_set_new(file, "accountId", json_string(account_id));
    char *text = json_dumps(file, JSON_INDENT(2));
    const char *path = write_file("admin.key", text);
    free(text);
    json_decref(file);
    return path;
}

/* A NEP-6 wallet whose default account (the second) holds nep2 under the given scrypt cost;
 * the first account is watch-only. */
static const char *nep6_file(const char *nep2, const char *address, int n, int r, int p)
{
    json_t *wallet =
        json_pack("{s:s, s:s, s:{s:i, s:i, s:i}, s:[{s:s, s:n, s:b}, {s:s, s:s, s:b, s:s}], s:n}",
                  "name", "test", "version", "1.0", "scrypt", "n", n, "r", r, "p", p, "accounts",
                  "address", "NfgHwwTi3wHAS8aFAN243C5vGbkYDpqLHP", "key", "isDefault", 0, "address",
                  address, "label", "signer", "isDefault", 1, "key", nep2, "extra");
    assert_non_null(wallet);
    char *text = json_dumps(wallet, JSON_INDENT(2));
    const char *path = write_file("wallet.json", text);
    free(text);
    json_decref(wallet);
    return path;
}

static void expect_fixture_key(const struct nsl_cli_signer *s)
{
    size_t n;
    uint8_t *want = neo_unhex(neo_str(fixture_key(), "privateKey"), &n);
    assert_int_equal(nsl_secret_len(s->key), 32);
    assert_memory_equal(nsl_secret_bytes(s->key), want, 32);
    free(want);
}

static void test_sig_header_has_the_four_parts_in_order(void **state)
{
    (void)state;
    char *h =
        nsl_cli_sig_header("acct_1", "1700000000", "00112233445566778899aabbccddeeff", "ab01");
    assert_string_equal(h, "NSL-SIG account=acct_1,ts=1700000000,"
                           "nonce=00112233445566778899aabbccddeeff,sig=ab01");
    nsl_cli_header_free(h);
    h = nsl_cli_apikey_header("nsl_k");
    assert_string_equal(h, "NSL-APIKEY nsl_k");
    nsl_cli_header_free(h);
}

/* The header a signer makes verifies, with the enclave's canonical string, against the public
 * key, for params whose members come in another order (JCS). */
static void test_signed_header_verifies_over_the_params_sent(void **state)
{
    (void)state;
    struct nsl_cli_key_source src = {.path = dev_key_file("acct_abc")};
    struct nsl_cli_signer s;
    assert_int_equal(nsl_cli_signer_load(&src, &s, NULL), NSL_OK);
    expect_fixture_key(&s);
    assert_string_equal(s.account, "acct_abc");
    json_t *params = json_pack("{s:s, s:i}", "name", "alice", "limit", 5);
    char *h = NULL;
    assert_int_equal(
        nsl_cli_signer_authorization(&s, "account", "create", params, 1700000000, &h, NULL),
        NSL_OK);
    nsl_cli_signer_free(&s);
    json_decref(params);
    char account[48], ts[24], nonce[65], sig_hex[129];
    assert_int_equal(sscanf(h, "NSL-SIG account=%47[^,],ts=%23[^,],nonce=%64[^,],sig=%128s",
                            account, ts, nonce, sig_hex),
                     4);
    assert_string_equal(account, "acct_abc");
    assert_string_equal(ts, "1700000000");
    assert_int_equal(strlen(nonce), 32);
    assert_int_equal(strlen(sig_hex), 128);
    json_t *reordered = json_pack("{s:i, s:s}", "limit", 5, "name", "alice");
    char *message = nsl_request_canonical_string("account", "create", reordered, ts, nonce);
    json_decref(reordered);
    uint8_t pub[33], sig[64];
    neo_unhex_into(neo_str(fixture_key(), "publicKey"), pub, sizeof pub);
    neo_unhex_into(sig_hex, sig, sizeof sig);
    assert_int_equal(nsl_neo_pubkey_verify(pub, sizeof pub, message, strlen(message), sig, 64), 0);
    free(message);
    nsl_cli_header_free(h);
}

static void test_canonical_string_is_the_documented_one(void **state)
{
    (void)state;
    json_t *params = json_object();
    char *m = nsl_request_canonical_string("account", "whoami", params, "1700000000", "n1");
    /* SHA-256("{}") */
    assert_string_equal(m, "NSL-REQ-1\naccount\nwhoami\n"
                           "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\n"
                           "1700000000\nn1");
    free(m);
    m = nsl_request_canonical_string("account", "whoami", NULL, "1700000000", "n1");
    assert_non_null(strstr(m, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"));
    free(m);
    json_decref(params);
}

static void test_account_id_flag_then_file_then_environment(void **state)
{
    (void)state;
    struct nsl_cli_signer s;
    struct nsl_error err = {0};
    struct nsl_cli_key_source src = {
        .path = dev_key_file("acct_file"), .account = "acct_flag", .env_account = "acct_env"};
    assert_int_equal(nsl_cli_signer_load(&src, &s, NULL), NSL_OK);
    assert_string_equal(s.account, "acct_flag");
    nsl_cli_signer_free(&s);
    src.account = NULL;
    assert_int_equal(nsl_cli_signer_load(&src, &s, NULL), NSL_OK);
    assert_string_equal(s.account, "acct_file");
    nsl_cli_signer_free(&s);
    src.path = dev_key_file(NULL);
    assert_int_equal(nsl_cli_signer_load(&src, &s, NULL), NSL_OK);
    assert_string_equal(s.account, "acct_env");
    nsl_cli_signer_free(&s);
    src.env_account = "";
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "no account id"));
    assert_null(s.key);
    src.account = "a,b=c";
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_ERR_INVALID_REQUEST);
}

static void test_nep6_wallet_default_account_decrypts(void **state)
{
    (void)state;
    json_t *k = fixture_key(), *nep2 = json_object_get(k, "nep2");
    struct nsl_cli_key_source src = {
        .path = nep6_file(neo_str(nep2, "encrypted"), neo_str(k, "address"), 16384, 8, 8),
        .passphrase = neo_str(nep2, "passphrase"),
        .account = "acct_w"};
    struct nsl_cli_signer s;
    assert_int_equal(nsl_cli_signer_load(&src, &s, NULL), NSL_OK);
    expect_fixture_key(&s);
    nsl_cli_signer_free(&s);
}

/* A cheap scrypt cost named by the wallet is honoured; the passphrase file wins over the
 * environment and loses its trailing newline; a wrong one is UNAUTHENTICATED. */
static void test_nep6_passphrase_sources_and_wrong_passphrase(void **state)
{
    (void)state;
    size_t n;
    json_t *k = fixture_key();
    uint8_t *raw = neo_unhex(neo_str(k, "privateKey"), &n);
    struct nsl_secret *key = nsl_secret_from(raw, n);
    free(raw);
    struct nsl_neo_scrypt cheap = {1024, 8, 1};
    char nep2[NSL_NEO_NEP2_SIZE];
    assert_int_equal(nsl_neo_nep2_encrypt(key, "right", 5, &cheap, nep2, NULL), NSL_OK);
    nsl_secret_free(key);
    struct nsl_cli_key_source src = {.path = nep6_file(nep2, neo_str(k, "address"), 1024, 8, 1),
                                     .passphrase_file = write_file("pass", "right\n"),
                                     .passphrase = "wrong",
                                     .env_account = "acct_e"};
    struct nsl_cli_signer s;
    struct nsl_error err = {0};
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_OK);
    expect_fixture_key(&s);
    nsl_cli_signer_free(&s);
    src.passphrase_file = NULL;
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(err.message, "wrong passphrase"));
    src.passphrase = NULL;
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "NSL_KEY_PASSPHRASE or --passphrase-file"));
}

static void test_bad_key_files_are_refused_without_quoting_them(void **state)
{
    (void)state;
    struct nsl_cli_signer s;
    struct nsl_error err = {0};
    struct nsl_cli_key_source src = {.account = "acct_x"};
    src.path = write_file("broken", "{\"wif\": \"L1QqQJnpBwbsPGAuutuz");
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "not valid JSON"));
    assert_null(strstr(err.message, "L1Qq"));
    src.path =
        write_file("badwif", "{\"wif\": \"L1QqQJnpBwbsPGAuutuzPTac8piqvbR1HRjrY5qHup48TBCBFe4h\"}");
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_ERR_INVALID_REQUEST);
    assert_null(strstr(err.message, "L1Qq"));
    src.path = write_file("other", "{\"name\": \"x\"}");
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "neither a NEP-6 wallet"));
    src.path =
        write_file("mismatch", "{\"wif\": \"L1QqQJnpBwbsPGAuutuzPTac8piqvbR1HRjrY5qHup48TBCBFe4g\","
                               "\"address\": \"NfgHwwTi3wHAS8aFAN243C5vGbkYDpqLHP\"}");
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "does not belong"));
    json_t *wallet = json_pack("{s:[{s:s, s:n}]}", "accounts", "address", "N", "key");
    char *text = json_dumps(wallet, 0);
    src.path = write_file("watch", text);
    free(text);
    json_decref(wallet);
    src.passphrase = "p";
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "watch-only"));
    src.path = "/nonexistent/key";
    assert_int_equal(nsl_cli_signer_load(&src, &s, &err), NSL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(err.message, "cannot open key file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sig_header_has_the_four_parts_in_order),
        cmocka_unit_test(test_signed_header_verifies_over_the_params_sent),
        cmocka_unit_test(test_canonical_string_is_the_documented_one),
        cmocka_unit_test(test_account_id_flag_then_file_then_environment),
        cmocka_unit_test(test_nep6_wallet_default_account_decrypts),
        cmocka_unit_test(test_nep6_passphrase_sources_and_wrong_passphrase),
        cmocka_unit_test(test_bad_key_files_are_refused_without_quoting_them),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
