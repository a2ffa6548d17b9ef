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
#include "enclave/auth.h"
#include "harness/harness.h"
#include "neo/key.h"

static struct nsl_stack stack;
static int fd = -1;
static struct nsl_secret *admin_key, *other_key;
static char admin_pub[67], other_pub[67];
static char admin_id[64], user_id[64], user_api_key[128], user_key_id[64];
static int request_seq;

static void public_hex(const struct nsl_secret *key, char out[67])
{
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    assert_int_equal(nsl_neo_key_public(key, pub, NULL), NSL_OK);
    nsl_hex_encode(pub, sizeof pub, out);
}

static bool storage_ready(void *ctx)
{
    (void)ctx;
    char *text = NULL;
    bool ready = false;
    if (nsl_test_roundtrip(fd, "{\"id\":\"h\",\"serviceType\":\"system\",\"operation\":\"health\"}",
                           &text) == 0)
        ready = strstr(text, "\"state\":\"ready\"") != NULL;
    free(text);
    return ready;
}

static int start_stack(void)
{
    stack.enclave_extra[0] = "--rate-limit";
    stack.enclave_extra[1] = "50";
    stack.enclave_extra[2] = "--rate-burst";
    stack.enclave_extra[3] = "100";
    if (nsl_stack_start_enclave(&stack) != 0 || nsl_stack_start_parent(&stack) != 0)
        return -1;
    fd = nsl_test_connect(stack.enclave_url);
    return fd >= 0 && nsl_wait_until(storage_ready, NULL, 15000) == 0 ? 0 : -1;
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
    close(fd);
    nsl_secret_free(admin_key);
    nsl_secret_free(other_key);
    return nsl_stack_stop(&stack);
}

/* ---- requests ---- */

static json_t *send_request(json_t *request)
{
    char *text = json_dumps(request, JSON_COMPACT), *reply = NULL;
    json_decref(request);
    assert_int_equal(nsl_test_roundtrip(fd, text, &reply), 0);
    free(text);
    json_t *r = json_loads(reply, 0, NULL);
    free(reply);
    assert_non_null(r);
    return r;
}

static json_t *envelope(const char *service, const char *operation, const char *params)
{
    char id[32];
    snprintf(id, sizeof id, "r%d", ++request_seq);
    json_t *p = json_loads(params ? params : "{}", 0, NULL);
    assert_non_null(p);
    return json_pack("{s:s, s:s, s:s, s:o}", "id", id, "serviceType", service, "operation",
                     operation, "params", p);
}

static json_t *call_apikey(const char *api_key, const char *service, const char *operation,
                           const char *params)
{
    json_t *req = envelope(service, operation, params);
    json_object_set_new(req, "auth",
                        json_pack("{s:s, s:s}", "scheme", "apikey", "apiKey", api_key));
    return send_request(req);
}

struct signing {
    const struct nsl_secret *key;
    const char *account;
    long long skew;          /* seconds added to the timestamp */
    const char *nonce;       /* NULL: a fresh one */
    const char *sign_params; /* sign these params instead of the ones sent */
    const char *sign_operation;
};

static json_t *signed_request(const struct signing *s, const char *service, const char *operation,
                              const char *params)
{
    json_t *req = envelope(service, operation, params);
    char ts[24], nonce[40], sig_hex[129];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL) + s->skew);
    if (s->nonce)
        snprintf(nonce, sizeof nonce, "%s", s->nonce);
    else
        snprintf(nonce, sizeof nonce, "n%08d%08x", request_seq, (unsigned)rand());
    json_t *signed_params = s->sign_params ? json_loads(s->sign_params, 0, NULL)
                                           : json_incref(json_object_get(req, "params"));
    char *message = nsl_auth_canonical_string(
        service, s->sign_operation ? s->sign_operation : operation, signed_params, ts, nonce);
    json_decref(signed_params);
    uint8_t sig[NSL_NEO_SIG_LEN];
    assert_int_equal(nsl_neo_key_sign(s->key, message, strlen(message), sig, NULL), NSL_OK);
    free(message);
    nsl_hex_encode(sig, sizeof sig, sig_hex);
    json_object_set_new(req, "auth",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "scheme", "neo-sig", "account",
                                  s->account, "timestamp", ts, "nonce", nonce, "signature",
                                  sig_hex));
    return req;
}

static json_t *call_signed(const struct signing *s, const char *service, const char *operation,
                           const char *params)
{
    return send_request(signed_request(s, service, operation, params));
}

static json_t *call_admin(const char *service, const char *operation, const char *params)
{
    struct signing s = {.key = admin_key, .account = admin_id};
    return call_signed(&s, service, operation, params);
}

static json_t *result_of(json_t *reply)
{
    if (!json_is_true(json_object_get(reply, "ok")))
        fail_msg("expected success, got %s", json_dumps(reply, JSON_COMPACT));
    return json_object_get(reply, "result");
}

static void expect_error(json_t *reply, const char *code)
{
    const char *got = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
    if (!got || strcmp(got, code) != 0)
        fail_msg("expected %s, got %s", code, json_dumps(reply, JSON_COMPACT));
    json_decref(reply);
}

/* ---- tests ---- */

static void test_bootstrap_creates_the_first_admin_once(void **state)
{
    (void)state;
    char params[128];
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", admin_pub);
    json_t *reply = send_request(envelope("account", "bootstrap", params));
    snprintf(admin_id, sizeof admin_id, "%s",
             json_string_value(json_object_get(result_of(reply), "accountId")));
    json_decref(reply);
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", other_pub);
    expect_error(send_request(envelope("account", "bootstrap", params)), "ALREADY_EXISTS");
    expect_error(send_request(envelope("account", "bootstrap", "{\"publicKey\":\"02ff\"}")),
                 "INVALID_PARAMS");
}

static void test_admin_creates_a_user_whose_api_key_works(void **state)
{
    (void)state;
    json_t *reply = call_admin("account", "create", "{\"name\":\"alice\"}");
    json_t *r = result_of(reply);
    snprintf(user_id, sizeof user_id, "%s", json_string_value(json_object_get(r, "accountId")));
    snprintf(user_api_key, sizeof user_api_key, "%s",
             json_string_value(json_object_get(r, "apiKey")));
    snprintf(user_key_id, sizeof user_key_id, "%s", json_string_value(json_object_get(r, "keyId")));
    json_decref(reply);
    reply = call_apikey(user_api_key, "account", "whoami", NULL);
    r = result_of(reply);
    assert_string_equal(json_string_value(json_object_get(r, "accountId")), user_id);
    assert_string_equal(json_string_value(json_object_get(r, "scheme")), "apikey");
    json_decref(reply);
}

static void test_missing_and_wrong_credentials_are_unauthenticated(void **state)
{
    (void)state;
    expect_error(send_request(envelope("account", "whoami", NULL)), "UNAUTHENTICATED");
    char wrong[128];
    snprintf(wrong, sizeof wrong, "%s", user_api_key);
    wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == '0' ? '1' : '0';
    expect_error(call_apikey(wrong, "account", "whoami", NULL), "UNAUTHENTICATED");
    expect_error(call_apikey("nsl_garbage", "account", "whoami", NULL), "UNAUTHENTICATED");
    json_t *req = envelope("account", "whoami", NULL);
    json_object_set_new(req, "auth", json_pack("{s:s}", "scheme", "password"));
    expect_error(send_request(req), "UNAUTHENTICATED");
}

static void test_user_lacks_admin_permissions(void **state)
{
    (void)state;
    json_t *reply = call_apikey(user_api_key, "account", "list", NULL);
    const char *msg =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    assert_non_null(strstr(msg, "account:list"));
    expect_error(reply, "PERMISSION_DENIED");
    char params[128];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\"}", admin_id);
    expect_error(call_apikey(user_api_key, "account", "get", params), "PERMISSION_DENIED");
}

static void test_admin_operations_need_neo_sig(void **state)
{
    (void)state;
    char params[128];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\"}", admin_id);
    json_t *reply = call_admin("account", "createApiKey", params);
    char admin_api_key[128];
    snprintf(admin_api_key, sizeof admin_api_key, "%s",
             json_string_value(json_object_get(result_of(reply), "apiKey")));
    json_decref(reply);
    reply = call_apikey(admin_api_key, "account", "list", NULL);
    const char *msg =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    assert_non_null(strstr(msg, "neo-sig"));
    expect_error(reply, "PERMISSION_DENIED");
    reply = call_admin("account", "list", NULL);
    assert_true(json_array_size(json_object_get(result_of(reply), "accounts")) >= 2);
    json_decref(reply);
}

static void test_signed_request_replayed_is_refused(void **state)
{
    (void)state;
    struct signing s = {.key = admin_key, .account = admin_id};
    json_t *req = signed_request(&s, "account", "whoami", NULL);
    json_t *copy = json_deep_copy(req);
    json_t *first = send_request(req);
    result_of(first);
    json_decref(first);
    expect_error(send_request(copy), "UNAUTHENTICATED");
}

static void test_signed_request_altered_after_signing_is_refused(void **state)
{
    (void)state;
    char params[128];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\"}", user_id);
    /* params changed */
    struct signing s = {.key = admin_key, .account = admin_id, .sign_params = "{}"};
    expect_error(call_signed(&s, "account", "get", params), "UNAUTHENTICATED");
    /* operation changed */
    struct signing op = {.key = admin_key, .account = admin_id, .sign_operation = "whoami"};
    expect_error(call_signed(&op, "account", "list", NULL), "UNAUTHENTICATED");
    /* timestamp changed after signing */
    json_t *req = signed_request(&(struct signing){.key = admin_key, .account = admin_id},
                                 "account", "whoami", NULL);
    json_t *auth = json_object_get(req, "auth");
    char ts[24];
    snprintf(ts, sizeof ts, "%lld",
             atoll(json_string_value(json_object_get(auth, "timestamp"))) + 1);
    json_object_set_new(auth, "timestamp", json_string(ts));
    expect_error(send_request(req), "UNAUTHENTICATED");
}

static void test_signed_request_outside_window_or_wrong_key_is_refused(void **state)
{
    (void)state;
    struct signing late = {.key = admin_key, .account = admin_id, .skew = -301};
    json_t *reply = call_signed(&late, "account", "whoami", NULL);
    const char *msg =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    assert_non_null(strstr(msg, "window"));
    expect_error(reply, "UNAUTHENTICATED");
    struct signing early = {.key = admin_key, .account = admin_id, .skew = 301};
    expect_error(call_signed(&early, "account", "whoami", NULL), "UNAUTHENTICATED");
    struct signing wrong = {.key = other_key, .account = admin_id};
    expect_error(call_signed(&wrong, "account", "whoami", NULL), "UNAUTHENTICATED");
    struct signing short_nonce = {.key = admin_key, .account = admin_id, .nonce = "abc"};
    expect_error(call_signed(&short_nonce, "account", "whoami", NULL), "UNAUTHENTICATED");
}

static void test_disabled_account_and_revoked_key_stop_at_once(void **state)
{
    (void)state;
    char params[160];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\",\"disabled\":true}", user_id);
    json_t *updated = call_admin("account", "update", params);
    result_of(updated);
    json_decref(updated);
    expect_error(call_apikey(user_api_key, "account", "whoami", NULL), "UNAUTHENTICATED");
    snprintf(params, sizeof params, "{\"accountId\":\"%s\",\"disabled\":false}", user_id);
    json_t *reply = call_admin("account", "update", params);
    result_of(reply);
    json_decref(reply);
    reply = call_apikey(user_api_key, "account", "whoami", NULL);
    result_of(reply);
    json_decref(reply);
    /* A second key, revoked by its owner. */
    reply = call_apikey(user_api_key, "account", "createApiKey", NULL);
    char second[128], second_id[64];
    snprintf(second, sizeof second, "%s",
             json_string_value(json_object_get(result_of(reply), "apiKey")));
    snprintf(second_id, sizeof second_id, "%s",
             json_string_value(json_object_get(result_of(reply), "keyId")));
    json_decref(reply);
    reply = call_apikey(second, "account", "whoami", NULL);
    result_of(reply);
    json_decref(reply);
    snprintf(params, sizeof params, "{\"keyId\":\"%s\"}", second_id);
    reply = call_apikey(user_api_key, "account", "revokeApiKey", params);
    result_of(reply);
    json_decref(reply);
    expect_error(call_apikey(second, "account", "whoami", NULL), "UNAUTHENTICATED");
}

static void test_accounts_cannot_reach_each_others_keys(void **state)
{
    (void)state;
    json_t *reply = call_admin("account", "create", "{\"name\":\"bob\"}");
    char bob_key[128];
    snprintf(bob_key, sizeof bob_key, "%s",
             json_string_value(json_object_get(result_of(reply), "apiKey")));
    json_decref(reply);
    char params[128];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\"}", user_key_id);
    expect_error(call_apikey(bob_key, "account", "revokeApiKey", params), "NOT_FOUND");
    snprintf(params, sizeof params, "{\"accountId\":\"%s\"}", user_id);
    expect_error(call_apikey(bob_key, "account", "createApiKey", params), "PERMISSION_DENIED");
    reply = call_apikey(user_api_key, "account", "whoami", NULL); /* alice's key still works */
    result_of(reply);
    json_decref(reply);
}

static void test_rate_limit_applies_per_account(void **state)
{
    (void)state;
    json_t *reply = call_admin("account", "create", "{\"name\":\"busy\"}");
    char busy[128];
    snprintf(busy, sizeof busy, "%s",
             json_string_value(json_object_get(result_of(reply), "apiKey")));
    json_decref(reply);
    int limited = 0;
    for (int i = 0; i < 300 && !limited; i++) {
        reply = call_apikey(busy, "account", "whoami", NULL);
        if (!json_is_true(json_object_get(reply, "ok"))) {
            expect_error(reply, "RATE_LIMITED");
            limited = i;
        } else {
            json_decref(reply);
        }
    }
    assert_true(limited >= 90);                                   /* burst 100 */
    reply = call_apikey(user_api_key, "account", "whoami", NULL); /* others unaffected */
    result_of(reply);
    json_decref(reply);
}

static json_t *audit_log(void)
{
    json_t *reply = call_admin("account", "auditLog", "{\"limit\":1000}");
    json_t *r = json_incref(result_of(reply));
    json_decref(reply);
    return r;
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
    close(fd);
    assert_int_equal(WEXITSTATUS(nsl_stack_kill(&stack.enclave_pid, SIGTERM)), 0);
    assert_int_equal(nsl_stack_start_enclave(&stack), 0);
    fd = nsl_test_connect(stack.enclave_url);
    assert_int_equal(nsl_wait_until(storage_ready, NULL, 15000), 0);
    json_t *reply = call_apikey(user_api_key, "account", "whoami", NULL);
    assert_string_equal(json_string_value(json_object_get(result_of(reply), "accountId")), user_id);
    json_decref(reply);
    reply = call_admin("account", "whoami", NULL);
    result_of(reply);
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
        cmocka_unit_test(test_audit_chain_detects_edited_and_removed_entries),
        cmocka_unit_test(test_accounts_survive_an_enclave_restart),
        cmocka_unit_test(test_api_keys_appear_in_no_file_or_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
