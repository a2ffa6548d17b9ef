/* The function service end to end (issue 8) against the real daemons: deploy (syntax errors
 * refused), invoke with args, logs and a receipt whose signature verifies with the enclave's
 * signing key over the JCS of the receipt, secrets only when declared and granted, limits
 * (infinite loop, memory bomb), fresh globals per call, redeploy and delete seen at once,
 * scheduling, ownership. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/jcs.h"
#include "common/log.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/openssl_verify.h"
#include "neo/key.h"

static struct nsl_stack stack;
static struct nsl_client client;
static char alice[128], bob[128];

static int setup(void **state)
{
    (void)state;
    nsl_log_init("test_function", NSL_LOG_ERROR);
    if (nsl_stack_init(&stack) != 0 || nsl_stack_start_enclave(&stack) != 0 ||
        nsl_stack_start_parent(&stack) != 0)
        return -1;
    client.fd = nsl_test_connect(stack.enclave_url);
    if (nsl_wait_storage_ready(client.fd, 15000) != 0)
        return -1;
    struct nsl_secret *key = NULL;
    char admin_id[64];
    nsl_client_bootstrap(&client, &key, admin_id, sizeof admin_id);
    struct nsl_signing admin = {.key = key, .account = admin_id};
    nsl_client_create_user(&client, &admin, "alice", alice, sizeof alice);
    nsl_client_create_user(&client, &admin, "bob", bob, sizeof bob);
    nsl_secret_free(key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(client.fd);
    return nsl_stack_stop(&stack);
}

static json_t *fn(const char *key, const char *operation, json_t *params)
{
    char *text = json_dumps(params, JSON_COMPACT);
    json_decref(params);
    json_t *reply = nsl_client_apikey(&client, key, "function", operation, text);
    free(text);
    return reply;
}

static void deploy(const char *name, const char *source, const char *extra_json)
{
    json_t *p = json_pack("{s:s, s:s}", "name", name, "source", source);
    if (extra_json) {
        json_t *extra = json_loads(extra_json, 0, NULL);
        json_object_update(p, extra);
        json_decref(extra);
    }
    json_t *reply = fn(alice, "deploy", p);
    nsl_client_result(reply);
    json_decref(reply);
}

static json_t *invoke(const char *key, const char *name, const char *args_json)
{
    json_t *args = json_loads(args_json ? args_json : "{}", 0, NULL);
    return fn(key, "invoke", json_pack("{s:s, s:o}", "name", name, "args", args));
}

static void test_syntax_error_is_refused_with_its_line(void **state)
{
    (void)state;
    json_t *reply = fn(alice, "deploy",
                       json_pack("{s:s, s:s}", "name", "broken", "source",
                                 "function main(args) {\n  return 1 +;\n}"));
    const char *msg =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "line 2"));
    nsl_client_expect_error(reply, "INVALID_PARAMS");
}

static void test_invoke_returns_result_logs_and_a_verifiable_receipt(void **state)
{
    (void)state;
    deploy("add",
           "function main(args) { console.log('adding', args.a, args.b); "
           "return {sum: args.a + args.b}; }",
           NULL);
    json_t *reply = invoke(alice, "add", "{\"a\":2,\"b\":40}");
    json_t *r = nsl_client_result(reply);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "result"), "sum")), 42);
    assert_true(json_array_size(json_object_get(r, "logs")) >= 1);
    json_t *receipt = json_deep_copy(json_object_get(r, "receipt"));
    const char *sig_hex = json_string_value(json_object_get(receipt, "signature"));
    const char *pub_hex = json_string_value(json_object_get(receipt, "signerPublicKey"));
    uint8_t sig[64], pub[33];
    size_t n;
    assert_int_equal(nsl_hex_decode(sig_hex, strlen(sig_hex), sig, sizeof sig, &n), 0);
    assert_int_equal(nsl_hex_decode(pub_hex, strlen(pub_hex), pub, sizeof pub, &n), 0);
    json_object_del(receipt, "signature");
    size_t len;
    char *text = nsl_jcs_serialize(receipt, &len);
    assert_int_equal(nsl_neo_pubkey_verify(pub, 33, text, len, sig, 64), 0);
    free(text);
    json_decref(receipt);
    json_decref(reply);
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The receipt checked by the CLI and, independently, by the OpenSSL command line. */
static void test_receipt_verifies_with_the_cli_and_openssl(void **state)
{
    (void)state;
    json_t *reply = invoke(alice, "add", "{\"a\":1,\"b\":2}");
    json_t *receipt = json_object_get(nsl_client_result(reply), "receipt");
    char path[300], cmd[1200], bin[512];
    snprintf(path, sizeof path, "%s/receipt.json", stack.dir);
    assert_int_equal(json_dump_file(receipt, path, 0), 0);
    nsl_bin_path("nsl", bin, sizeof bin);
    const char *signer = json_string_value(json_object_get(receipt, "signerPublicKey"));
    snprintf(cmd, sizeof cmd, "'%s' function verify-receipt --signer %s '%s' >/dev/null", bin,
             signer, path);
    assert_int_equal(run(cmd), 0);
    /* openssl dgst over the JCS of the receipt without its signature */
    json_t *body = json_deep_copy(receipt);
    json_object_del(body, "signature");
    size_t len;
    char *jcs = nsl_jcs_serialize(body, &len);
    assert_int_equal(
        nsl_openssl_verify_p256_hex(
            stack.dir, signer, json_string_value(json_object_get(receipt, "signature")), jcs, len),
        0);
    /* A changed result hash fails both checks. */
    json_object_set_new(receipt, "resultHash",
                        json_string(json_string_value(json_object_get(receipt, "codeHash"))));
    assert_int_equal(json_dump_file(receipt, path, 0), 0);
    snprintf(cmd, sizeof cmd, "'%s' function verify-receipt '%s' 2>/dev/null", bin, path);
    assert_int_equal(run(cmd), 1);
    free(jcs);
    json_decref(body);
    json_decref(reply);
}

static void test_a_throw_is_function_failed_with_the_message(void **state)
{
    (void)state;
    deploy("boom", "function main() { throw new Error('kaboom'); }", NULL);
    json_t *reply = invoke(alice, "boom", NULL);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(reply, "error"), "message")), "kaboom"));
    nsl_client_expect_error(reply, "FUNCTION_FAILED");
}

static void test_limits_stop_runaways_and_the_service_keeps_answering(void **state)
{
    (void)state;
    deploy("spin", "function main() { for (;;) {} }", "{\"limits\":{\"timeMs\":300}}");
    nsl_client_expect_error(invoke(alice, "spin", NULL), "TIMEOUT");
    deploy("hog",
           "function main() { var a = [], s = 'x'; for (;;) { s = s + s; a.push(s + a.length); } }",
           "{\"limits\":{\"memoryBytes\":4194304,\"timeMs\":5000}}");
    nsl_client_expect_error(invoke(alice, "hog", NULL), "LIMIT_EXCEEDED");
    json_t *reply = invoke(alice, "add", "{\"a\":1,\"b\":1}");
    nsl_client_result(reply);
    json_decref(reply);
}

static void test_globals_do_not_survive_between_calls(void **state)
{
    (void)state;
    deploy("counter",
           "function main() { if (typeof seen === 'undefined') seen = 0; "
           "seen++; return {seen: seen, require: typeof require}; }",
           NULL);
    for (int i = 0; i < 3; i++) {
        json_t *reply = invoke(alice, "counter", NULL);
        json_t *r = json_object_get(nsl_client_result(reply), "result");
        assert_int_equal(json_integer_value(json_object_get(r, "seen")), 1);
        assert_string_equal(json_string_value(json_object_get(r, "require")), "undefined");
        json_decref(reply);
    }
}

static void test_secrets_need_declaration_and_grant(void **state)
{
    (void)state;
    json_t *reply = nsl_client_apikey(&client, alice, "secrets", "put",
                                      "{\"name\":\"token\",\"value\":\"t0k3n\"}");
    nsl_client_result(reply);
    json_decref(reply);
    deploy("reader", "function main() { return nsl.secrets.get('token'); }",
           "{\"secrets\":[\"token\"]}");
    nsl_client_expect_error(invoke(alice, "reader", NULL), "FUNCTION_FAILED"); /* not granted */
    reply = nsl_client_apikey(&client, alice, "secrets", "grant",
                              "{\"name\":\"token\",\"function\":\"reader\"}");
    nsl_client_result(reply);
    json_decref(reply);
    reply = invoke(alice, "reader", NULL);
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "result")),
                        "t0k3n");
    json_decref(reply);
}

static json_int_t receipt_version(json_t *reply)
{
    json_t *receipt = json_object_get(nsl_client_result(reply), "receipt");
    return json_integer_value(json_object_get(receipt, "version"));
}

/* The enclave keeps deployed code between invocations (function_cache.h): a redeploy runs the
 * new code at once, a deleted function is gone, and a deploy after a delete goes on with a new
 * version instead of reusing one. */
static void test_redeploy_and_delete_take_effect_at_once(void **state)
{
    (void)state;
    deploy("ver", "function main() { return 'one'; }", NULL);
    json_t *reply = invoke(alice, "ver", NULL);
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "result")),
                        "one");
    json_int_t first = receipt_version(reply);
    json_decref(reply);
    deploy("ver", "function main() { return 'two'; }", NULL);
    reply = invoke(alice, "ver", NULL);
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "result")),
                        "two");
    assert_int_equal(receipt_version(reply), first + 1);
    json_decref(reply);
    reply = fn(alice, "delete", json_pack("{s:s}", "name", "ver"));
    nsl_client_result(reply);
    json_decref(reply);
    nsl_client_expect_error(invoke(alice, "ver", NULL), "NOT_FOUND");
    deploy("ver", "function main() { return 'three'; }", NULL);
    reply = invoke(alice, "ver", NULL);
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "result")),
                        "three");
    assert_true(receipt_version(reply) > first + 1);
    json_decref(reply);
}

static void test_another_account_cannot_invoke(void **state)
{
    (void)state;
    nsl_client_expect_error(invoke(bob, "add", NULL), "NOT_FOUND");
}

struct runs_probe {
    const char *name;
};

static bool has_runs(void *ctx)
{
    struct runs_probe *p = ctx;
    json_t *reply = fn(alice, "runs", json_pack("{s:s}", "name", p->name));
    bool ok = json_array_size(json_object_get(json_object_get(reply, "result"), "runs")) >= 2;
    json_decref(reply);
    return ok;
}

static void test_schedule_runs_and_unschedule_stops(void **state)
{
    (void)state;
    json_t *reply = fn(alice, "schedule",
                       json_pack("{s:s, s:i, s:{s:i, s:i}}", "name", "add", "intervalSec", 1,
                                 "args", "a", 1, "b", 2));
    nsl_client_result(reply);
    json_decref(reply);
    struct runs_probe probe = {"add"};
    assert_int_equal(nsl_wait_until(has_runs, &probe, 15000), 0);
    reply = fn(alice, "unschedule", json_pack("{s:s}", "name", "add"));
    nsl_client_result(reply);
    json_decref(reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax_error_is_refused_with_its_line),
        cmocka_unit_test(test_invoke_returns_result_logs_and_a_verifiable_receipt),
        cmocka_unit_test(test_receipt_verifies_with_the_cli_and_openssl),
        cmocka_unit_test(test_a_throw_is_function_failed_with_the_message),
        cmocka_unit_test(test_limits_stop_runaways_and_the_service_keeps_answering),
        cmocka_unit_test(test_globals_do_not_survive_between_calls),
        cmocka_unit_test(test_secrets_need_declaration_and_grant),
        cmocka_unit_test(test_redeploy_and_delete_take_effect_at_once),
        cmocka_unit_test(test_another_account_cannot_invoke),
        cmocka_unit_test(test_schedule_runs_and_unschedule_stops),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
