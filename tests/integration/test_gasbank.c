/* The gas bank end to end (issue 10) against the real daemons: deposits idempotent per txHash,
 * balances, reservations (settle, release, expiry), history paging, withdrawals whose signed
 * transfer is exactly the expected NEP-17 script, sponsored transactions whose bank witness
 * verifies once the user adds theirs, the audit, 50 clients racing on one balance, and SIGKILL of
 * the parent and of the enclave during a mixed workload with nothing acknowledged lost. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/neon.h"
#include "neo/account.h"
#include "neo/nep17.h"
#include "neo/tx_witness.h"

#define TESTNET 894710606u
#define MAINNET 860833102u

static struct nsl_stack stack;
static struct nsl_client client;
static struct nsl_secret *admin_key;
static char admin_id[64], alice[128], bob[128], op[128], carol[128], dave[128];
static char alice_id[64], carol_id[64], dave_id[64];
static struct nsl_neo_account bank;

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

static void new_user(const char *name, const char *roles, char *api_key, char *id)
{
    char params[128];
    snprintf(params, sizeof params, "{\"name\":\"%s\",\"roles\":%s}", name, roles);
    json_t *reply = admin("account", "create", params);
    nsl_client_copy_string(reply, "apiKey", api_key, 128);
    if (id)
        nsl_client_copy_string(reply, "accountId", id, 64);
    json_decref(reply);
}

static json_t *gb(const char *key, const char *operation, const char *params)
{
    return nsl_client_apikey(&client, key, "gasbank", operation, params);
}

static int setup(void **state)
{
    (void)state;
    nsl_log_init("test_gasbank", NSL_LOG_ERROR);
    if (nsl_stack_init(&stack) != 0)
        return -1;
    stack.enclave_extra[0] = "--rate-limit";
    stack.enclave_extra[1] = "0";
    if (nsl_stack_start_enclave(&stack) != 0 || nsl_stack_start_parent(&stack) != 0)
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
    new_user("alice", "[\"user\"]", alice, alice_id);
    new_user("bob", "[\"user\"]", bob, NULL);
    new_user("op", "[\"operator\"]", op, NULL);
    new_user("carol", "[\"user\"]", carol, carol_id);
    new_user("dave", "[\"user\"]", dave, dave_id);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(client.fd);
    nsl_secret_free(admin_key);
    return nsl_stack_stop(&stack);
}

static const char *str(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

static void deposit(const char *account, const char *amount, int hash_seed)
{
    char params[256];
    snprintf(params, sizeof params,
             "{\"accountId\":\"%s\",\"amount\":\"%s\",\"txHash\":\"0x%064x\"}", account, amount,
             hash_seed);
    json_t *reply = gb(op, "deposit", params);
    nsl_client_result(reply);
    json_decref(reply);
}

static void expect_balance(const char *key, const char *available, const char *reserved)
{
    json_t *reply = gb(key, "balance", NULL);
    json_t *r = nsl_client_result(reply);
    assert_string_equal(str(r, "available"), available);
    assert_string_equal(str(r, "reserved"), reserved);
    json_decref(reply);
}

static void expect_message(json_t *reply, const char *code, const char *words)
{
    const char *m = str(json_object_get(reply, "error"), "message");
    if (!m || !strstr(m, words))
        fail_msg("error message '%s' does not name '%s'", m ? m : "(none)", words);
    nsl_client_expect_error(reply, code);
}

static void test_bank_address_is_public_and_stable(void **state)
{
    (void)state;
    json_t *a =
        nsl_client_send(&client, nsl_client_envelope(&client, "gasbank", "bankAddress", NULL));
    json_t *b = gb(alice, "bankAddress", NULL);
    assert_string_equal(str(nsl_client_result(a), "address"), str(nsl_client_result(b), "address"));
    uint8_t pub[33];
    size_t n;
    const char *pub_hex = str(nsl_client_result(a), "publicKey");
    assert_int_equal(nsl_hex_decode(pub_hex, strlen(pub_hex), pub, sizeof pub, &n), 0);
    assert_int_equal(nsl_neo_account_from_pub(pub, &bank), 0);
    assert_string_equal(bank.address, str(nsl_client_result(a), "address"));
    json_decref(a);
    json_decref(b);
}

static void test_deposit_is_idempotent_per_tx_hash(void **state)
{
    (void)state;
    char params[256];
    snprintf(params, sizeof params,
             "{\"accountId\":\"%s\",\"amount\":\"1000000000\",\"txHash\":\"0x%064x\"}", alice_id,
             1);
    json_t *first = gb(op, "deposit", params);
    json_t *again = gb(op, "deposit", params);
    assert_true(json_equal(json_object_get(nsl_client_result(first), "entry"),
                           json_object_get(nsl_client_result(again), "entry")));
    assert_true(json_is_true(json_object_get(nsl_client_result(again), "duplicate")));
    json_decref(first);
    json_decref(again);
    expect_balance(alice, "1000000000", "0");
    snprintf(params, sizeof params,
             "{\"accountId\":\"%s\",\"amount\":\"999\",\"txHash\":\"0x%064x\"}", alice_id, 1);
    expect_message(gb(op, "deposit", params), "CONFLICT", "txHash");
    expect_balance(alice, "1000000000", "0");
}

static void test_deposit_errors(void **state)
{
    (void)state;
    char params[256];
    snprintf(params, sizeof params,
             "{\"accountId\":\"%s\",\"amount\":\"5\",\"txHash\":\"0x%064x\"}", alice_id, 2);
    nsl_client_expect_error(gb(alice, "deposit", params), "PERMISSION_DENIED");
    const char *bad_amounts[] = {"0", "abc", "4611686018427387905", "99999999999999999999", "-1"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(params, sizeof params,
                 "{\"accountId\":\"%s\",\"amount\":\"%s\",\"txHash\":\"0x%064x\"}", alice_id,
                 bad_amounts[i], 3);
        nsl_client_expect_error(gb(op, "deposit", params), "INVALID_PARAMS");
    }
    snprintf(params, sizeof params, "{\"accountId\":\"%s\",\"amount\":1,\"txHash\":\"0x%064x\"}",
             alice_id, 3);
    nsl_client_expect_error(gb(op, "deposit", params), "INVALID_PARAMS"); /* not a string */
    snprintf(params, sizeof params, "{\"accountId\":\"%s\",\"amount\":\"1\",\"txHash\":\"0x12\"}",
             alice_id);
    nsl_client_expect_error(gb(op, "deposit", params), "INVALID_PARAMS");
    snprintf(params, sizeof params,
             "{\"accountId\":\"acct_000000000000\",\"amount\":\"1\",\"txHash\":\"0x%064x\"}", 4);
    nsl_client_expect_error(gb(op, "deposit", params), "NOT_FOUND");
    /* 2^62 is the cap: a deposit that would pass it is refused. */
    snprintf(params, sizeof params,
             "{\"accountId\":\"%s\",\"amount\":\"4611686018427387904\",\"txHash\":\"0x%064x\"}",
             alice_id, 5);
    nsl_client_expect_error(gb(op, "deposit", params), "LIMIT_EXCEEDED");
    expect_balance(alice, "1000000000", "0");
}

static void test_balance_of_others_only_for_admins_and_operators(void **state)
{
    (void)state;
    char params[128];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\"}", alice_id);
    nsl_client_expect_error(gb(bob, "balance", params), "PERMISSION_DENIED");
    nsl_client_expect_error(gb(bob, "history", params), "PERMISSION_DENIED");
    json_t *reply = gb(op, "balance", params);
    assert_string_equal(str(nsl_client_result(reply), "total"), "1000000000");
    json_decref(reply);
    reply = admin("gasbank", "balance", params);
    assert_string_equal(str(nsl_client_result(reply), "available"), "1000000000");
    json_decref(reply);
    expect_balance(bob, "0", "0");
}

static void reserve(const char *key, const char *amount, int ttl, char *id)
{
    char params[160];
    snprintf(params, sizeof params, "{\"amount\":\"%s\",\"reference\":\"job-1\",\"ttlSec\":%d}",
             amount, ttl);
    json_t *reply = gb(key, "reserve", params);
    snprintf(id, 40, "%s", str(nsl_client_result(reply), "reservationId"));
    assert_true(json_integer_value(json_object_get(nsl_client_result(reply), "expiresAt")) >
                time(NULL) - 5);
    json_decref(reply);
}

static void test_reserve_settle_release(void **state)
{
    (void)state;
    char id[40], params[160];
    reserve(alice, "300", 600, id);
    expect_balance(alice, "999999700", "300");
    snprintf(params, sizeof params, "{\"reservationId\":\"%s\",\"amount\":\"301\"}", id);
    nsl_client_expect_error(gb(alice, "settle", params), "INVALID_PARAMS");
    nsl_client_expect_error(gb(bob, "settle", params), "NOT_FOUND"); /* not bob's */
    snprintf(params, sizeof params, "{\"reservationId\":\"%s\",\"amount\":\"200\"}", id);
    json_t *reply = gb(alice, "settle", params);
    assert_string_equal(str(nsl_client_result(reply), "charged"), "200");
    assert_string_equal(str(nsl_client_result(reply), "released"), "100");
    json_decref(reply);
    nsl_client_expect_error(gb(alice, "settle", params), "NOT_FOUND"); /* only once */
    expect_balance(alice, "999999800", "0");
    reserve(alice, "50", 600, id);
    snprintf(params, sizeof params, "{\"reservationId\":\"%s\"}", id);
    reply = gb(alice, "release", params);
    assert_string_equal(str(nsl_client_result(reply), "released"), "50");
    json_decref(reply);
    nsl_client_expect_error(gb(alice, "release", params), "NOT_FOUND");
    expect_balance(alice, "999999800", "0");
    nsl_client_expect_error(gb(alice, "reserve", "{\"amount\":\"999999801\",\"reference\":\"x\"}"),
                            "INSUFFICIENT_FUNDS");
    nsl_client_expect_error(gb(bob, "reserve", "{\"amount\":\"1\",\"reference\":\"x\"}"),
                            "INSUFFICIENT_FUNDS");
    nsl_client_expect_error(gb(alice, "reserve", "{\"amount\":\"0\",\"reference\":\"x\"}"),
                            "INVALID_PARAMS");
    nsl_client_expect_error(
        gb(alice, "reserve", "{\"amount\":\"1\",\"reference\":\"x\",\"ttlSec\":0}"),
        "INVALID_PARAMS");
}

static bool reservation_expired(void *ctx)
{
    (void)ctx;
    json_t *reply = gb(alice, "balance", NULL);
    bool done = strcmp(str(nsl_client_result(reply), "reserved"), "0") == 0;
    json_decref(reply);
    return done;
}

static void test_expired_reservation_is_released(void **state)
{
    (void)state;
    char id[40], params[160];
    reserve(alice, "400", 1, id);
    assert_int_equal(nsl_wait_until(reservation_expired, NULL, 5000), 0);
    expect_balance(alice, "999999800", "0");
    snprintf(params, sizeof params, "{\"reservationId\":\"%s\",\"amount\":\"1\"}", id);
    nsl_client_expect_error(gb(alice, "settle", params), "NOT_FOUND");
    json_t *reply = gb(alice, "history", "{\"limit\":1}");
    json_t *e = json_array_get(json_object_get(nsl_client_result(reply), "entries"), 0);
    assert_string_equal(str(e, "type"), "expire");
    assert_string_equal(str(e, "reservationId"), id);
    json_decref(reply);
}

static void test_history_is_newest_first_and_paged(void **state)
{
    (void)state;
    /* alice: deposit, reserve, settle, reserve, release, reserve, expire = 7 entries */
    json_t *all = gb(alice, "history", NULL);
    json_t *entries = json_object_get(nsl_client_result(all), "entries");
    assert_int_equal(json_array_size(entries), 7);
    assert_null(json_object_get(nsl_client_result(all), "cursor"));
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(entries, i), "seq")),
                         7 - (json_int_t)i);
    assert_string_equal(str(json_array_get(entries, 6), "type"), "deposit");
    char params[96];
    snprintf(params, sizeof params, "{\"limit\":3}");
    size_t seen = 0;
    for (int page = 0; page < 5; page++) {
        json_t *reply = gb(alice, "history", params);
        json_t *r = nsl_client_result(reply);
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r, "entries"), i, e)
        {
            assert_true(json_equal(e, json_array_get(entries, seen)));
            seen++;
        }
        const char *cursor = str(r, "cursor");
        if (cursor)
            snprintf(params, sizeof params, "{\"limit\":3,\"cursor\":\"%s\"}", cursor);
        json_decref(reply);
        if (!cursor)
            break;
    }
    assert_int_equal(seen, 7);
    json_decref(all);
}

static uint8_t *decode_hex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out = malloc(n / 2 + 1);
    assert_int_equal(nsl_hex_decode(hex, n, out, n / 2 + 1, len), 0);
    return out;
}

/* Neo's reference SDK (neon-core) accepts every witness for TestNet and computes the same txid. */
static void expect_neon_valid(const char *hex, const char *txid)
{
    char why[512];
    if (nsl_neon_ensure_installed(why, sizeof why) != 0)
        fail_msg("%s", why);
    json_t *v = NULL;
    assert_int_equal(nsl_neon_verify_tx(stack.dir, hex, TESTNET, &v), 0);
    assert_true(json_is_true(json_object_get(v, "valid")));
    assert_string_equal(json_string_value(json_object_get(v, "txid")), txid);
    json_decref(v);
}

static void test_withdraw_signs_the_exact_transfer_once(void **state)
{
    (void)state;
    struct nsl_secret *to_key = NULL;
    struct nsl_neo_account to;
    nsl_neo_key_generate(&to_key, NULL);
    nsl_neo_account_from_key(to_key, &to, NULL);
    nsl_secret_free(to_key);
    char params[256];
    snprintf(params, sizeof params,
             "{\"amount\":\"100000000\",\"toAddress\":\"%s\",\"network\":%u,"
             "\"idempotencyKey\":\"w-1\",\"validUntilBlock\":1000}",
             to.address, TESTNET);
    json_t *first = gb(alice, "withdraw", params);
    json_t *again = gb(alice, "withdraw", params);
    json_t *r = nsl_client_result(first);
    assert_string_equal(str(r, "txid"), str(nsl_client_result(again), "txid"));
    assert_string_equal(str(r, "signedTransaction"),
                        str(nsl_client_result(again), "signedTransaction"));
    int64_t fee = atoll(str(r, "fee"));
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)(999999800 - 100000000 - fee));
    expect_balance(alice, want, "0"); /* debited once */
    size_t len;
    uint8_t *bytes = decode_hex(str(r, "signedTransaction"), &len);
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    assert_int_equal(nsl_neo_tx_decode(bytes, len, tx, NULL), NSL_OK);
    struct nsl_buf script = {0};
    assert_int_equal(
        nsl_neo_nep17_transfer(nsl_neo_gas_hash, bank.hash, to.hash, 100000000, &script, NULL),
        NSL_OK);
    assert_int_equal(tx->script_len, script.len);
    assert_memory_equal(tx->script, script.data, script.len);
    assert_memory_equal(tx->signers[0].account, bank.hash, 20);
    assert_int_equal(tx->valid_until_block, 1000);
    assert_int_equal(nsl_neo_tx_verify(tx, TESTNET, NULL), NSL_OK);
    assert_int_not_equal(nsl_neo_tx_verify(tx, MAINNET, NULL), NSL_OK);
    expect_neon_valid(str(r, "signedTransaction"), str(r, "txid"));
    nsl_buf_free(&script);
    free(tx);
    free(bytes);
    json_decref(first);
    json_decref(again);
    snprintf(params, sizeof params,
             "{\"amount\":\"100000001\",\"toAddress\":\"%s\",\"network\":%u,"
             "\"idempotencyKey\":\"w-1\"}",
             to.address, TESTNET);
    expect_message(gb(alice, "withdraw", params), "CONFLICT", "idempotencyKey");
    snprintf(params, sizeof params,
             "{\"amount\":\"900000000\",\"toAddress\":\"%s\",\"network\":%u,"
             "\"idempotencyKey\":\"w-2\"}",
             to.address, TESTNET);
    nsl_client_expect_error(gb(alice, "withdraw", params), "INSUFFICIENT_FUNDS");
    snprintf(params, sizeof params,
             "{\"amount\":\"1\",\"toAddress\":\"NotAnAddress\",\"network\":%u,"
             "\"idempotencyKey\":\"w-3\"}",
             TESTNET);
    nsl_client_expect_error(gb(alice, "withdraw", params), "INVALID_PARAMS");
    snprintf(params, sizeof params,
             "{\"amount\":\"1\",\"toAddress\":\"%s\",\"network\":%u,\"idempotencyKey\":\"a b\"}",
             to.address, TESTNET);
    nsl_client_expect_error(gb(alice, "withdraw", params), "INVALID_PARAMS");
}

/* An unsigned GAS transfer from user with signers [first (scope), user (CalledByEntry)]. */
static char *sponsored_hex(const uint8_t first[20], uint8_t scope, const uint8_t user[20],
                           int64_t system_fee, int64_t network_fee)
{
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    struct nsl_buf script = {0}, out = {0};
    assert_int_equal(nsl_neo_nep17_transfer(nsl_neo_gas_hash, user, first, 5, &script, NULL),
                     NSL_OK);
    tx->nonce = (uint32_t)rand();
    tx->system_fee = system_fee;
    tx->network_fee = network_fee;
    tx->valid_until_block = 5000;
    tx->nsigners = 2;
    memcpy(tx->signers[0].account, first, 20);
    tx->signers[0].scopes = scope;
    memcpy(tx->signers[1].account, user, 20);
    tx->signers[1].scopes = NSL_NEO_SCOPE_CALLED_BY_ENTRY;
    tx->script = script.data;
    tx->script_len = script.len;
    assert_int_equal(nsl_neo_tx_encode_unsigned(tx, &out, NULL), NSL_OK);
    char *hex = nsl_hex_encode_alloc(out.data, out.len);
    nsl_buf_free(&script);
    nsl_buf_free(&out);
    free(tx);
    return hex;
}

static json_t *sponsor(const char *hex, uint32_t network, const char *max_fee)
{
    char *params = NULL;
    assert_true(asprintf(&params, "{\"transaction\":\"%s\",\"network\":%u%s%s%s}", hex, network,
                         max_fee ? ",\"maxFee\":\"" : "", max_fee ? max_fee : "",
                         max_fee ? "\"" : "") > 0);
    json_t *reply = gb(carol, "sponsorTransaction", params);
    free(params);
    return reply;
}

static void test_sponsored_transaction_verifies_after_the_user_signs(void **state)
{
    (void)state;
    deposit(carol_id, "10000000", 100);
    struct nsl_secret *user_key = NULL;
    struct nsl_neo_account user;
    nsl_neo_key_generate(&user_key, NULL);
    nsl_neo_account_from_key(user_key, &user, NULL);
    char *hex = sponsored_hex(bank.hash, NSL_NEO_SCOPE_NONE, user.hash, 997780, 2400000);
    json_t *reply = sponsor(hex, TESTNET, "5000000");
    json_t *r = nsl_client_result(reply);
    assert_string_equal(str(r, "charged"), "3397780");
    expect_balance(carol, "6602220", "0");
    json_t *again = sponsor(hex, TESTNET, NULL); /* same tx: signed again, not charged again */
    assert_string_equal(str(nsl_client_result(again), "txid"), str(r, "txid"));
    json_decref(again);
    expect_balance(carol, "6602220", "0");
    size_t len;
    uint8_t *bytes = decode_hex(str(r, "signedTransaction"), &len);
    struct nsl_neo_tx *tx = calloc(1, sizeof *tx);
    assert_int_equal(nsl_neo_tx_decode(bytes, len, tx, NULL), NSL_OK);
    assert_int_equal(tx->nwitnesses, 2);
    assert_int_equal(tx->witnesses[1].invocation_len, 0); /* the user's slot is left empty */
    assert_int_equal(nsl_neo_tx_sign(tx, TESTNET, user_key, NULL), NSL_OK);
    assert_int_equal(nsl_neo_tx_verify(tx, TESTNET, NULL), NSL_OK);
    assert_int_not_equal(nsl_neo_tx_verify(tx, MAINNET, NULL), NSL_OK);
    struct nsl_buf full = {0};
    assert_int_equal(nsl_neo_tx_encode(tx, &full, NULL), NSL_OK);
    char *full_hex = nsl_hex_encode_alloc(full.data, full.len);
    expect_neon_valid(full_hex, str(r, "txid"));
    free(full_hex);
    nsl_buf_free(&full);
    free(tx);
    free(bytes);
    free(hex);
    json_decref(reply);
    nsl_secret_free(user_key);
}

static void test_sponsor_rules_are_enforced_and_named(void **state)
{
    (void)state;
    struct nsl_secret *user_key = NULL;
    struct nsl_neo_account user;
    nsl_neo_key_generate(&user_key, NULL);
    nsl_neo_account_from_key(user_key, &user, NULL);
    nsl_secret_free(user_key);
    char *hex = sponsored_hex(user.hash, NSL_NEO_SCOPE_CALLED_BY_ENTRY, bank.hash, 1, 1);
    expect_message(sponsor(hex, TESTNET, NULL), "INVALID_PARAMS", "first signer");
    free(hex);
    hex = sponsored_hex(bank.hash, NSL_NEO_SCOPE_CALLED_BY_ENTRY, user.hash, 1, 1);
    expect_message(sponsor(hex, TESTNET, NULL), "INVALID_PARAMS", "scope None");
    free(hex);
    hex = sponsored_hex(bank.hash, NSL_NEO_SCOPE_NONE, user.hash, 1000, 1000);
    expect_message(sponsor(hex, TESTNET, "1999"), "PERMISSION_DENIED", "maxFee");
    free(hex);
    hex = sponsored_hex(bank.hash, NSL_NEO_SCOPE_NONE, user.hash, 6602220, 1);
    nsl_client_expect_error(sponsor(hex, TESTNET, NULL), "INSUFFICIENT_FUNDS");
    free(hex);
    nsl_client_expect_error(sponsor("00", TESTNET, NULL), "INVALID_PARAMS");
    expect_balance(carol, "6602220", "0");
}

static void expect_audit_ok(void)
{
    json_t *reply = admin("gasbank", "audit", NULL);
    json_t *r = nsl_client_result(reply);
    if (!json_is_true(json_object_get(r, "ok"))) {
        char *text = json_dumps(r, 0);
        fail_msg("audit not ok: %s", text);
    }
    json_decref(reply);
}

static void test_audit_holds_and_is_admin_only(void **state)
{
    (void)state;
    expect_audit_ok();
    json_t *reply = admin("gasbank", "audit", NULL);
    json_t *totals = json_object_get(nsl_client_result(reply), "totals");
    assert_string_equal(str(totals, "withdrawals"), "100000000");
    json_decref(reply);
    nsl_client_expect_error(gb(alice, "audit", NULL), "PERMISSION_DENIED");
    nsl_client_expect_error(gb(op, "audit", NULL), "PERMISSION_DENIED");
}

/* ---- 50 clients racing on one balance ---- */

#define RACERS 50
#define ROUNDS 6

struct racer {
    pthread_t thread;
    int settled, refused, failed;
};

static bool call_ok(struct nsl_client *c, const char *key, const char *op_name, const char *params,
                    json_t **reply)
{
    *reply = nsl_client_apikey(c, key, "gasbank", op_name, params);
    return json_is_true(json_object_get(*reply, "ok"));
}

static void *racer_main(void *arg)
{
    struct racer *me = arg;
    struct nsl_client c = {.fd = nsl_test_connect(stack.enclave_url)};
    for (int i = 0; i < ROUNDS && c.fd >= 0; i++) {
        json_t *reply;
        if (!call_ok(&c, dave, "reserve", "{\"amount\":\"10\",\"reference\":\"race\"}", &reply)) {
            const char *code = str(json_object_get(reply, "error"), "code");
            if (code && strcmp(code, "INSUFFICIENT_FUNDS") == 0)
                me->refused++;
            else
                me->failed++;
            json_decref(reply);
            continue;
        }
        char params[128];
        snprintf(params, sizeof params, "{\"reservationId\":\"%s\",\"amount\":\"7\"}",
                 str(json_object_get(reply, "result"), "reservationId"));
        json_decref(reply);
        if (call_ok(&c, dave, "settle", params, &reply))
            me->settled++;
        else
            me->failed++;
        json_decref(reply);
    }
    close(c.fd);
    return NULL;
}

static void test_racing_clients_never_overspend(void **state)
{
    (void)state;
    deposit(dave_id, "1500", 200); /* room for ~214 settles of 7, 300 are attempted */
    struct racer *r = calloc(RACERS, sizeof *r);
    for (int i = 0; i < RACERS; i++)
        pthread_create(&r[i].thread, NULL, racer_main, &r[i]);
    int settled = 0, refused = 0, failed = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(r[i].thread, NULL);
        settled += r[i].settled;
        refused += r[i].refused;
        failed += r[i].failed;
    }
    free(r);
    print_message("      settled %d, refused %d, failed %d\n", settled, refused, failed);
    assert_int_equal(failed, 0);
    assert_true(refused > 0);
    char want[32];
    snprintf(want, sizeof want, "%d", 1500 - 7 * settled);
    expect_balance(dave, want, "0");
    assert_true(1500 - 7 * settled >= 0);
    expect_audit_ok();
}

/* ---- SIGKILL during a mixed workload ---- */

struct worker {
    pthread_t thread;
    int id;
    volatile int stop;
    int acked_deposits[4096];
    int nacked;
    char settled[64][40];
    int nsettled;
};

static int raw_call(int fd, const char *key, const char *op_name, const char *params,
                    json_t **result)
{
    char *req = NULL, *reply_text = NULL;
    static int seq;
    int n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
    if (asprintf(&req,
                 "{\"id\":\"c%d\",\"serviceType\":\"gasbank\",\"operation\":\"%s\",\"params\":%s,"
                 "\"auth\":{\"scheme\":\"apikey\",\"apiKey\":\"%s\"}}",
                 n, op_name, params, key) < 0)
        return -1;
    int rc = nsl_test_roundtrip(fd, req, &reply_text);
    free(req);
    if (rc != 0)
        return -1;
    json_t *reply = json_loads(reply_text, 0, NULL);
    free(reply_text);
    rc = json_is_true(json_object_get(reply, "ok")) ? 0 : 1;
    if (rc == 0 && result)
        *result = json_incref(json_object_get(reply, "result"));
    json_decref(reply);
    return rc;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int fd = -1;
    for (int i = 0; !w->stop && w->nacked < 4096; i++) {
        if (fd < 0 && (fd = nsl_test_connect(stack.enclave_url)) < 0) {
            usleep(20000);
            continue;
        }
        char params[256];
        int hash = 0x100000 * (w->id + 1) + i;
        snprintf(params, sizeof params,
                 "{\"accountId\":\"%s\",\"amount\":\"100\",\"txHash\":\"0x%064x\"}", carol_id,
                 hash);
        int rc = raw_call(fd, op, "deposit", params, NULL);
        if (rc == 0)
            w->acked_deposits[w->nacked++] = hash;
        json_t *res = NULL;
        if (rc >= 0)
            rc =
                raw_call(fd, carol, "reserve", "{\"amount\":\"50\",\"reference\":\"crash\"}", &res);
        if (rc == 0) {
            char id[40];
            snprintf(id, sizeof id, "%s", str(res, "reservationId"));
            snprintf(params, sizeof params, "{\"reservationId\":\"%s\",\"amount\":\"30\"}", id);
            if (raw_call(fd, carol, "settle", params, NULL) == 0 && w->nsettled < 64)
                snprintf(w->settled[w->nsettled++], 40, "%s", id);
        }
        json_decref(res);
        if (rc < 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static bool history_has(json_t *entries, const char *field, const char *value)
{
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        const char *v = str(e, field);
        if (v && strcmp(v, value) == 0)
            return true;
    }
    return false;
}

static json_t *all_history(const char *account)
{
    json_t *all = json_array();
    char params[160];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\",\"limit\":1000}", account);
    for (;;) {
        json_t *reply = admin("gasbank", "history", params);
        json_t *r = nsl_client_result(reply);
        json_array_extend(all, json_object_get(r, "entries"));
        const char *cursor = str(r, "cursor");
        if (cursor)
            snprintf(params, sizeof params,
                     "{\"accountId\":\"%s\",\"limit\":1000,\"cursor\":\"%s\"}", account, cursor);
        json_decref(reply);
        if (!cursor)
            return all;
    }
}

static void crash_during_workload(pid_t *victim, bool enclave)
{
    struct worker *w = calloc(4, sizeof *w);
    for (int i = 0; i < 4; i++) {
        w[i].id = i + (enclave ? 4 : 0);
        pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
    }
    usleep(700000);
    nsl_stack_kill(victim, SIGKILL);
    if (enclave) {
        close(client.fd);
        assert_int_equal(nsl_stack_start_enclave(&stack), 0);
        connect_and_wait();
    } else {
        assert_int_equal(nsl_stack_start_parent(&stack), 0);
        assert_int_equal(nsl_wait_storage_ready(client.fd, 15000), 0);
    }
    usleep(500000); /* let the workload run on the restarted daemon */
    for (int i = 0; i < 4; i++)
        w[i].stop = 1;
    int acked = 0, settled = 0;
    for (int i = 0; i < 4; i++)
        pthread_join(w[i].thread, NULL);
    json_t *history = all_history(carol_id);
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < w[i].nacked; j++, acked++) {
            char hash[65];
            snprintf(hash, sizeof hash, "%064x", w[i].acked_deposits[j]);
            if (!history_has(history, "txHash", hash))
                fail_msg("acknowledged deposit %s is missing", hash);
        }
        for (int j = 0; j < w[i].nsettled; j++, settled++)
            assert_true(history_has(history, "reservationId", w[i].settled[j]));
    }
    print_message("      %d deposits and %d settles acknowledged, all present\n", acked, settled);
    assert_true(acked > 0);
    json_decref(history);
    free(w);
    expect_audit_ok();
}

static void test_sigkill_of_parent_loses_nothing_acknowledged(void **state)
{
    (void)state;
    crash_during_workload(&stack.parent_pid, false);
}

static void test_sigkill_of_enclave_loses_nothing_acknowledged(void **state)
{
    (void)state;
    crash_during_workload(&stack.enclave_pid, true);
}

int main(void)
{
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bank_address_is_public_and_stable),
        cmocka_unit_test(test_deposit_is_idempotent_per_tx_hash),
        cmocka_unit_test(test_deposit_errors),
        cmocka_unit_test(test_balance_of_others_only_for_admins_and_operators),
        cmocka_unit_test(test_reserve_settle_release),
        cmocka_unit_test(test_expired_reservation_is_released),
        cmocka_unit_test(test_history_is_newest_first_and_paged),
        cmocka_unit_test(test_withdraw_signs_the_exact_transfer_once),
        cmocka_unit_test(test_sponsored_transaction_verifies_after_the_user_signs),
        cmocka_unit_test(test_sponsor_rules_are_enforced_and_named),
        cmocka_unit_test(test_audit_holds_and_is_admin_only),
        cmocka_unit_test(test_racing_clients_never_overspend),
        cmocka_unit_test(test_sigkill_of_parent_loses_nothing_acknowledged),
        cmocka_unit_test(test_sigkill_of_enclave_loses_nothing_acknowledged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
