/* Accounts, authentication, authorization and audit end to end (issue 4) against the real
 * daemons over raw frames: bootstrap, apikey and neo-sig requests, every way a signed request
 * can be wrong, roles and ownership, disable and revoke taking effect at once, rate limits, the
 * audit chain catching an edited or removed entry, persistence across an enclave restart, and no
 * API key in the database or the logs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "crypto/secret.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "neo/key.h"

static struct nsl_stack stack;
static struct nsl_client client = {.fd = -1};
static struct nsl_secret *admin_key, *other_key;
static char admin_pub[67], other_pub[67];
static char admin_id[64], user_id[64], user_api_key[128], user_key_id[64];

static void public_hex(const struct nsl_secret *key, char out[67])
{
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    assert_int_equal(nsl_neo_key_public(key, pub, NULL), NSL_OK);
    nsl_hex_encode(pub, sizeof pub, out);
}

static int start_stack(void)
{
    stack.enclave_extra[0] = "--rate-limit";
    stack.enclave_extra[1] = "50";
    stack.enclave_extra[2] = "--rate-burst";
    stack.enclave_extra[3] = "100";
    if (nsl_stack_start_enclave(&stack) != 0 || nsl_stack_start_parent(&stack) != 0)
        return -1;
    client.fd = nsl_test_connect(stack.enclave_url);
    return client.fd >= 0 && nsl_wait_storage_ready(client.fd, 15000) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    nsl_log_init("test_accounts", NSL_LOG_ERROR);
    if (nsl_stack_init(&stack) != 0)
        return -1;
    if (nsl_neo_key_generate(&admin_key, NULL) != NSL_OK ||
        nsl_neo_key_generate(&other_key, NULL) != NSL_OK)
        return -1;
    public_hex(admin_key, admin_pub);
    public_hex(other_key, other_pub);
    return start_stack();
}

static int teardown(void **state)
{
    (void)state;
    close(client.fd);
    nsl_secret_free(admin_key);
    nsl_secret_free(other_key);
    return nsl_stack_stop(&stack);
}

/* ---- requests ---- */

static json_t *call_admin(const char *service, const char *operation, const char *params)
{
    struct nsl_signing s = {.key = admin_key, .account = admin_id};
    return nsl_client_signed(&client, &s, service, operation, params);
}

/* ---- tests ---- */

static void test_bootstrap_creates_the_first_admin_once(void **state)
{
    (void)state;
    char params[128];
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", admin_pub);
    json_t *reply =
        nsl_client_send(&client, nsl_client_envelope(&client, "account", "bootstrap", params));
    snprintf(admin_id, sizeof admin_id, "%s",
             json_string_value(json_object_get(nsl_client_result(reply), "accountId")));
    json_decref(reply);
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", other_pub);
    nsl_client_expect_error(
        nsl_client_send(&client, nsl_client_envelope(&client, "account", "bootstrap", params)),
        "ALREADY_EXISTS");
    nsl_client_expect_error(
        nsl_client_send(&client, nsl_client_envelope(&client, "account", "bootstrap",
                                                     "{\"publicKey\":\"02ff\"}")),
        "INVALID_PARAMS");
}

static void test_admin_creates_a_user_whose_api_key_works(void **state)
{
    (void)state;
    json_t *reply = call_admin("account", "create", "{\"name\":\"alice\"}");
    json_t *r = nsl_client_result(reply);
    snprintf(user_id, sizeof user_id, "%s", json_string_value(json_object_get(r, "accountId")));
    snprintf(user_api_key, sizeof user_api_key, "%s",
             json_string_value(json_object_get(r, "apiKey")));
    snprintf(user_key_id, sizeof user_key_id, "%s", json_string_value(json_object_get(r, "keyId")));
    json_decref(reply);
    reply = nsl_client_apikey(&client, user_api_key, "account", "whoami", NULL);
    r = nsl_client_result(reply);
    assert_string_equal(json_string_value(json_object_get(r, "accountId")), user_id);
    assert_string_equal(json_string_value(json_object_get(r, "scheme")), "apikey");
    json_decref(reply);
}

static void test_missing_and_wrong_credentials_are_unauthenticated(void **state)
{
    (void)state;
    nsl_client_expect_error(
        nsl_client_send(&client, nsl_client_envelope(&client, "account", "whoami", NULL)),
        "UNAUTHENTICATED");
    char wrong[128];
    snprintf(wrong, sizeof wrong, "%s", user_api_key);
    wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == '0' ? '1' : '0';
    nsl_client_expect_error(nsl_client_apikey(&client, wrong, "account", "whoami", NULL),
                            "UNAUTHENTICATED");
    nsl_client_expect_error(nsl_client_apikey(&client, "nsl_garbage", "account", "whoami", NULL),
                            "UNAUTHENTICATED");
    json_t *req = nsl_client_envelope(&client, "account", "whoami", NULL);
    json_object_set_new(req, "auth", json_pack("{s:s}", "scheme", "password"));
    nsl_client_expect_error(nsl_client_send(&client, req), "UNAUTHENTICATED");
}

static void test_user_lacks_admin_permissions(void **state)
{
    (void)state;
    json_t *reply = nsl_client_apikey(&client, user_api_key, "account", "list", NULL);
    const char *msg =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    assert_non_null(strstr(msg, "account:list"));
    nsl_client_expect_error(reply, "PERMISSION_DENIED");
    char params[128];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\"}", admin_id);
    nsl_client_expect_error(nsl_client_apikey(&client, user_api_key, "account", "get", params),
                            "PERMISSION_DENIED");
}

static void test_admin_operations_need_neo_sig(void **state)
{
    (void)state;
    char params[128];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\"}", admin_id);
    json_t *reply = call_admin("account", "createApiKey", params);
    char admin_api_key[128];
    snprintf(admin_api_key, sizeof admin_api_key, "%s",
             json_string_value(json_object_get(nsl_client_result(reply), "apiKey")));
    json_decref(reply);
    reply = nsl_client_apikey(&client, admin_api_key, "account", "list", NULL);
    const char *msg =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    assert_non_null(strstr(msg, "neo-sig"));
    nsl_client_expect_error(reply, "PERMISSION_DENIED");
    reply = call_admin("account", "list", NULL);
    assert_true(json_array_size(json_object_get(nsl_client_result(reply), "accounts")) >= 2);
    json_decref(reply);
}

static void test_signed_request_replayed_is_refused(void **state)
{
    (void)state;
    struct nsl_signing s = {.key = admin_key, .account = admin_id};
    json_t *req = nsl_client_signed_request(&client, &s, "account", "whoami", NULL);
    json_t *copy = json_deep_copy(req);
    json_t *first = nsl_client_send(&client, req);
    nsl_client_result(first);
    json_decref(first);
    nsl_client_expect_error(nsl_client_send(&client, copy), "UNAUTHENTICATED");
}

static void test_signed_request_altered_after_signing_is_refused(void **state)
{
    (void)state;
    char params[128];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\"}", user_id);
    /* params changed */
    struct nsl_signing s = {.key = admin_key, .account = admin_id, .sign_params = "{}"};
    nsl_client_expect_error(nsl_client_signed(&client, &s, "account", "get", params),
                            "UNAUTHENTICATED");
    /* operation changed */
    struct nsl_signing op = {.key = admin_key, .account = admin_id, .sign_operation = "whoami"};
    nsl_client_expect_error(nsl_client_signed(&client, &op, "account", "list", NULL),
                            "UNAUTHENTICATED");
    /* timestamp changed after signing */
    json_t *req = nsl_client_signed_request(
        &client, &(struct nsl_signing){.key = admin_key, .account = admin_id}, "account", "whoami",
        NULL);
    json_t *auth = json_object_get(req, "auth");
    char ts[24];
    snprintf(ts, sizeof ts, "%lld",
             atoll(json_string_value(json_object_get(auth, "timestamp"))) + 1);
    json_object_set_new(auth, "timestamp", json_string(ts));
    nsl_client_expect_error(nsl_client_send(&client, req), "UNAUTHENTICATED");
}

static void test_signed_request_outside_window_or_wrong_key_is_refused(void **state)
{
    (void)state;
    struct nsl_signing late = {.key = admin_key, .account = admin_id, .skew = -301};
    json_t *reply = nsl_client_signed(&client, &late, "account", "whoami", NULL);
    const char *msg =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    assert_non_null(strstr(msg, "window"));
    nsl_client_expect_error(reply, "UNAUTHENTICATED");
    struct nsl_signing early = {.key = admin_key, .account = admin_id, .skew = 301};
    nsl_client_expect_error(nsl_client_signed(&client, &early, "account", "whoami", NULL),
                            "UNAUTHENTICATED");
    struct nsl_signing wrong = {.key = other_key, .account = admin_id};
    nsl_client_expect_error(nsl_client_signed(&client, &wrong, "account", "whoami", NULL),
                            "UNAUTHENTICATED");
    struct nsl_signing short_nonce = {.key = admin_key, .account = admin_id, .nonce = "abc"};
    nsl_client_expect_error(nsl_client_signed(&client, &short_nonce, "account", "whoami", NULL),
                            "UNAUTHENTICATED");
}

static void test_disabled_account_and_revoked_key_stop_at_once(void **state)
{
    (void)state;
    char params[160];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\",\"disabled\":true}", user_id);
    json_t *updated = call_admin("account", "update", params);
    nsl_client_result(updated);
    json_decref(updated);
    nsl_client_expect_error(nsl_client_apikey(&client, user_api_key, "account", "whoami", NULL),
                            "UNAUTHENTICATED");
    snprintf(params, sizeof params, "{\"accountId\":\"%s\",\"disabled\":false}", user_id);
    json_t *reply = call_admin("account", "update", params);
    nsl_client_result(reply);
    json_decref(reply);
    reply = nsl_client_apikey(&client, user_api_key, "account", "whoami", NULL);
    nsl_client_result(reply);
    json_decref(reply);
    /* A second key, revoked by its owner. */
    reply = nsl_client_apikey(&client, user_api_key, "account", "createApiKey", NULL);
    char second[128], second_id[64];
    snprintf(second, sizeof second, "%s",
             json_string_value(json_object_get(nsl_client_result(reply), "apiKey")));
    snprintf(second_id, sizeof second_id, "%s",
             json_string_value(json_object_get(nsl_client_result(reply), "keyId")));
    json_decref(reply);
    reply = nsl_client_apikey(&client, second, "account", "whoami", NULL);
    nsl_client_result(reply);
    json_decref(reply);
    snprintf(params, sizeof params, "{\"keyId\":\"%s\"}", second_id);
    reply = nsl_client_apikey(&client, user_api_key, "account", "revokeApiKey", params);
    nsl_client_result(reply);
    json_decref(reply);
    nsl_client_expect_error(nsl_client_apikey(&client, second, "account", "whoami", NULL),
                            "UNAUTHENTICATED");
}

static void test_accounts_cannot_reach_each_others_keys(void **state)
{
    (void)state;
    json_t *reply = call_admin("account", "create", "{\"name\":\"bob\"}");
    char bob_key[128];
    snprintf(bob_key, sizeof bob_key, "%s",
             json_string_value(json_object_get(nsl_client_result(reply), "apiKey")));
    json_decref(reply);
    char params[128];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\"}", user_key_id);
    nsl_client_expect_error(nsl_client_apikey(&client, bob_key, "account", "revokeApiKey", params),
                            "NOT_FOUND");
    snprintf(params, sizeof params, "{\"accountId\":\"%s\"}", user_id);
    nsl_client_expect_error(nsl_client_apikey(&client, bob_key, "account", "createApiKey", params),
                            "PERMISSION_DENIED");
    reply = nsl_client_apikey(&client, user_api_key, "account", "whoami",
                              NULL); /* alice's key still works */
    nsl_client_result(reply);
    json_decref(reply);
}

static void test_rate_limit_applies_per_account(void **state)
{
    (void)state;
    json_t *reply = call_admin("account", "create", "{\"name\":\"busy\"}");
    char busy[128];
    snprintf(busy, sizeof busy, "%s",
             json_string_value(json_object_get(nsl_client_result(reply), "apiKey")));
    json_decref(reply);
    int limited = 0;
    for (int i = 0; i < 300 && !limited; i++) {
        reply = nsl_client_apikey(&client, busy, "account", "whoami", NULL);
        if (!json_is_true(json_object_get(reply, "ok"))) {
            nsl_client_expect_error(reply, "RATE_LIMITED");
            limited = i;
        } else {
            json_decref(reply);
        }
    }
    assert_true(limited >= 90); /* burst 100 */
    reply =
        nsl_client_apikey(&client, user_api_key, "account", "whoami", NULL); /* others unaffected */
    nsl_client_result(reply);
    json_decref(reply);
}

static json_t *audit_log(void)
{
    json_t *reply = call_admin("account", "auditLog", "{\"limit\":1000}");
    json_t *r = json_incref(nsl_client_result(reply));
    json_decref(reply);
    return r;
}

static size_t count_entries(json_t *log, const char *operation, const char *outcome)
{
    size_t i, n = 0;
    json_t *e;
    json_array_foreach(json_object_get(log, "entries"), i, e)
    {
        n += strcmp(json_string_value(json_object_get(e, "operation")), operation) == 0 &&
             strcmp(json_string_value(json_object_get(e, "outcome")), outcome) == 0;
    }
    return n;
}

/* account.whoami is tried on the I/O thread first (NSL_ROUTE_CACHED); a denial needs an audit
 * entry, which only a worker may write: the request runs again there, yet is audited, counted
 * and answered exactly once. */
static void test_denied_cached_request_is_audited_once(void **state)
{
    (void)state;
    const char *unknown = "nsl_00112233445566ff_"
                          "0000000000000000000000000000000000000000000000000000000000000000";
    json_t *before = audit_log();
    size_t denied = count_entries(before, "account.whoami", "UNAUTHENTICATED");
    json_decref(before);
    nsl_client_expect_error(nsl_client_apikey(&client, unknown, "account", "whoami", NULL),
                            "UNAUTHENTICATED");
    json_t *after = audit_log();
    assert_int_equal(count_entries(after, "account.whoami", "UNAUTHENTICATED"), denied + 1);
    assert_true(json_is_true(json_object_get(after, "verified")));
    json_decref(after);
}

/* A probe never spends a neo-sig nonce: the signed request runs once on a worker, and only a
 * second use of the nonce is a replay. */
static void test_signed_cached_request_spends_its_nonce_once(void **state)
{
    (void)state;
    struct nsl_signing s = {.key = admin_key, .account = admin_id, .nonce = "cached-route-nonce-1"};
    json_t *reply = nsl_client_signed(&client, &s, "account", "whoami", NULL);
    nsl_client_result(reply);
    json_decref(reply);
    nsl_client_expect_error(nsl_client_signed(&client, &s, "account", "whoami", NULL),
                            "UNAUTHENTICATED");
}

static void test_audit_log_records_mutations_and_denials_and_verifies(void **state)
{
    (void)state;
    json_t *log = audit_log();
    assert_true(json_is_true(json_object_get(log, "verified")));
    json_t *entries = json_object_get(log, "entries");
    bool saw_bootstrap = false, saw_denial = false, saw_create = false;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        const char *op = json_string_value(json_object_get(e, "operation"));
        const char *outcome = json_string_value(json_object_get(e, "outcome"));
        saw_bootstrap |= strcmp(op, "account.bootstrap") == 0 && strcmp(outcome, "ok") == 0;
        saw_create |= strcmp(op, "account.create") == 0;
        saw_denial |= strcmp(outcome, "PERMISSION_DENIED") == 0;
        assert_non_null(json_object_get(e, "paramsHash"));
        assert_null(json_object_get(e, "params")); /* never the values */
    }
    assert_true(saw_bootstrap && saw_create && saw_denial);
    json_decref(log);
}

static void db_exec(const char *sql)
{
    char path[300];
    snprintf(path, sizeof path, "%s/nsl.db", stack.dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s", msg);
    sqlite3_close(db);
}

static void test_audit_chain_detects_edited_and_removed_entries(void **state)
{
    (void)state;
    /* Edit: swap entry 3's blob for entry 2's (a parent cannot forge a sealed entry). */
    db_exec("CREATE TABLE saved AS SELECT * FROM blobs WHERE ns='audit' AND key IN "
            "('e/0000000000000002','e/0000000000000003')");
    db_exec("UPDATE blobs SET value=(SELECT value FROM saved WHERE key='e/0000000000000002') "
            "WHERE ns='audit' AND key='e/0000000000000003'");
    json_t *log = audit_log();
    assert_false(json_is_true(json_object_get(log, "verified")));
    assert_non_null(json_object_get(log, "problem"));
    json_decref(log);
    /* Restore, then remove entry 2 altogether. */
    db_exec("UPDATE blobs SET value=(SELECT value FROM saved WHERE key='e/0000000000000003') "
            "WHERE ns='audit' AND key='e/0000000000000003'");
    log = audit_log();
    assert_true(json_is_true(json_object_get(log, "verified")));
    json_decref(log);
    db_exec("DELETE FROM blobs WHERE ns='audit' AND key='e/0000000000000002'");
    log = audit_log();
    assert_false(json_is_true(json_object_get(log, "verified")));
    assert_non_null(strstr(json_string_value(json_object_get(log, "problem")), "missing"));
    json_decref(log);
    db_exec("INSERT INTO blobs SELECT * FROM saved WHERE key='e/0000000000000002'");
    db_exec("DROP TABLE saved");
}

static void test_accounts_survive_an_enclave_restart(void **state)
{
    (void)state;
    close(client.fd);
    assert_int_equal(WEXITSTATUS(nsl_stack_kill(&stack.enclave_pid, SIGTERM)), 0);
    assert_int_equal(nsl_stack_start_enclave(&stack), 0);
    client.fd = nsl_test_connect(stack.enclave_url);
    assert_int_equal(nsl_wait_storage_ready(client.fd, 15000), 0);
    json_t *reply = nsl_client_apikey(&client, user_api_key, "account", "whoami", NULL);
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "accountId")),
                        user_id);
    json_decref(reply);
    reply = call_admin("account", "whoami", NULL);
    nsl_client_result(reply);
    json_decref(reply);
}

static bool file_contains(const char *name, const char *needle)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", stack.dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    static char buf[32 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static void test_api_keys_appear_in_no_file_or_log(void **state)
{
    (void)state;
    const char *files[] = {"nsl.db", "nsl.db-wal", "enclave.log", "parent.log"};
    const char *secret_part = strrchr(user_api_key, '_') + 1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        assert_false(file_contains(files[i], secret_part));
}

int main(void)
{
    srand((unsigned)time(NULL));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap_creates_the_first_admin_once),
        cmocka_unit_test(test_admin_creates_a_user_whose_api_key_works),
        cmocka_unit_test(test_missing_and_wrong_credentials_are_unauthenticated),
        cmocka_unit_test(test_user_lacks_admin_permissions),
        cmocka_unit_test(test_admin_operations_need_neo_sig),
        cmocka_unit_test(test_signed_request_replayed_is_refused),
        cmocka_unit_test(test_signed_request_altered_after_signing_is_refused),
        cmocka_unit_test(test_signed_request_outside_window_or_wrong_key_is_refused),
        cmocka_unit_test(test_disabled_account_and_revoked_key_stop_at_once),
        cmocka_unit_test(test_accounts_cannot_reach_each_others_keys),
        cmocka_unit_test(test_rate_limit_applies_per_account),
        cmocka_unit_test(test_audit_log_records_mutations_and_denials_and_verifies),
        cmocka_unit_test(test_denied_cached_request_is_audited_once),
        cmocka_unit_test(test_signed_cached_request_spends_its_nonce_once),
        cmocka_unit_test(test_audit_chain_detects_edited_and_removed_entries),
        cmocka_unit_test(test_accounts_survive_an_enclave_restart),
        cmocka_unit_test(test_api_keys_appear_in_no_file_or_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
