/* The secrets service end to end (issue 7): sealed and plain round trips, versions, the version
 * cap, soft delete and destroy, grants, limits, another account refused, the clear-text refusal
 * when sealing is required, and no stored value in nsl.db*, the logs or any error message. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "crypto/hpke.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "neo/key.h"

#define MARKER "s3cr3t-VALUE-7f1e9a"

static struct nsl_stack stack;
static struct nsl_client client;
static char alice[128], bob[128];
static uint8_t hpke_pk[NSL_HPKE_PUBLIC_KEY_LEN];
static char *errors_seen; /* every error message, scanned for the marker at the end */

static int setup(void **state)
{
    (void)state;
    nsl_log_init("test_secrets", NSL_LOG_ERROR);
    if (nsl_stack_init(&stack) != 0)
        return -1;
    stack.enclave_extra[0] = "--max-secrets-per-account";
    stack.enclave_extra[1] = "5";
    if (nsl_stack_start_enclave(&stack) != 0 || nsl_stack_start_parent(&stack) != 0)
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
    json_t *reply = nsl_client_send(
        &client, nsl_client_envelope(&client, "attestation", "getDocument", "{\"nonce\":\"01\"}"));
    size_t n;
    const char *pk = json_string_value(json_object_get(nsl_client_result(reply), "hpkePublicKey"));
    nsl_hex_decode(pk, strlen(pk), hpke_pk, sizeof hpke_pk, &n);
    json_decref(reply);
    errors_seen = calloc(1, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(client.fd);
    free(errors_seen);
    return nsl_stack_stop(&stack);
}

static json_t *as(const char *key, const char *operation, const char *params)
{
    json_t *reply = nsl_client_apikey(&client, key, "secrets", operation, params);
    const char *msg =
        json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    if (msg) {
        size_t old = strlen(errors_seen);
        errors_seen = realloc(errors_seen, old + strlen(msg) + 2);
        strcpy(errors_seen + old, msg);
    }
    return reply;
}

static void put(const char *name, const char *value, long want_version)
{
    char *params = NULL;
    assert_true(asprintf(&params, "{\"name\":\"%s\",\"value\":\"%s\"}", name, value) > 0);
    json_t *reply = as(alice, "put", params);
    free(params);
    assert_int_equal(json_integer_value(json_object_get(nsl_client_result(reply), "version")),
                     want_version);
    json_decref(reply);
}

static void expect_secret(const char *key, const char *params, const char *value)
{
    json_t *reply = as(key, "get", params);
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "value")),
                        value);
    json_decref(reply);
}

static void test_plain_round_trip_and_versions(void **state)
{
    (void)state;
    put("db/password", "one", 1);
    put("db/password", MARKER, 2);
    expect_secret(alice, "{\"name\":\"db/password\"}", MARKER);
    expect_secret(alice, "{\"name\":\"db/password\",\"version\":1}", "one");
    json_t *reply = as(alice, "versions", "{\"name\":\"db/password\"}");
    json_t *versions = json_object_get(nsl_client_result(reply), "versions");
    assert_int_equal(json_array_size(versions), 2);
    char *listed = json_dumps(versions, 0);
    assert_null(strstr(listed, MARKER)); /* metadata, never values */
    free(listed);
    json_decref(reply);
    reply = as(alice, "list", NULL);
    char *text = json_dumps(nsl_client_result(reply), 0);
    assert_non_null(strstr(text, "db/password"));
    assert_null(strstr(text, MARKER));
    free(text);
    json_decref(reply);
    nsl_client_expect_error(as(alice, "get", "{\"name\":\"db/password\",\"version\":9}"),
                            "NOT_FOUND");
}

static void test_sealed_round_trip(void **state)
{
    (void)state;
    const char *params = "{\"name\":\"api/token\",\"value\":\"sealed-" MARKER "\"}";
    uint8_t enc[NSL_HPKE_ENC_LEN];
    struct nsl_buf ct = {0};
    assert_int_equal(nsl_hpke_seal(hpke_pk, "nsl-request-1", 13, "secrets.put", 11, params,
                                   strlen(params), enc, &ct, NULL),
                     NSL_OK);
    char enc_hex[65];
    nsl_hex_encode(enc, sizeof enc, enc_hex);
    char *b64 = nsl_base64_encode_alloc(ct.data, ct.len);
    json_t *req = nsl_client_envelope(&client, "secrets", "put", NULL);
    json_object_set_new(req, "params",
                        json_pack("{s:{s:s, s:s}}", "sealed", "enc", enc_hex, "ct", b64));
    json_object_set_new(req, "auth", json_pack("{s:s, s:s}", "scheme", "apikey", "apiKey", alice));
    json_t *reply = nsl_client_send(&client, req);
    assert_int_equal(json_integer_value(json_object_get(nsl_client_result(reply), "version")), 1);
    json_decref(reply);
    free(b64);
    nsl_buf_free(&ct);
    expect_secret(alice, "{\"name\":\"api/token\"}", "sealed-" MARKER);
}

static void test_another_account_cannot_read_it(void **state)
{
    (void)state;
    nsl_client_expect_error(as(bob, "get", "{\"name\":\"db/password\"}"), "NOT_FOUND");
    json_t *reply = as(bob, "list", NULL);
    assert_int_equal(json_array_size(json_object_get(nsl_client_result(reply), "secrets")), 0);
    json_decref(reply);
}

static void test_delete_is_soft_and_destroy_is_final(void **state)
{
    (void)state;
    put("tmp", "x", 1);
    json_t *reply = as(alice, "delete", "{\"name\":\"tmp\"}");
    nsl_client_result(reply);
    json_decref(reply);
    nsl_client_expect_error(as(alice, "get", "{\"name\":\"tmp\"}"), "NOT_FOUND");
    put("tmp", "y", 2); /* a new put revives it and continues the versions */
    expect_secret(alice, "{\"name\":\"tmp\",\"version\":1}", "x");
    reply = as(alice, "destroy", "{\"name\":\"tmp\"}");
    nsl_client_result(reply);
    json_decref(reply);
    nsl_client_expect_error(as(alice, "versions", "{\"name\":\"tmp\"}"), "NOT_FOUND");
    /* The name can be used again; its versions number on past every destroyed one (the meta
     * record was written 3 times, its tombstone is 4), so no old version is ever reached. */
    put("tmp", "z", 5);
    put("tmp", "w", 6);
    expect_secret(alice, "{\"name\":\"tmp\",\"version\":5}", "z");
    expect_secret(alice, "{\"name\":\"tmp\"}", "w");
    nsl_client_expect_error(as(alice, "get", "{\"name\":\"tmp\",\"version\":1}"), "NOT_FOUND");
    reply = as(alice, "destroy", "{\"name\":\"tmp\"}");
    nsl_client_result(reply);
    json_decref(reply);
}

static void test_grant_and_revoke(void **state)
{
    (void)state;
    json_t *reply = as(alice, "grant", "{\"name\":\"db/password\",\"function\":\"pricebot\"}");
    assert_int_equal(json_array_size(json_object_get(nsl_client_result(reply), "grants")), 1);
    json_decref(reply);
    reply = as(alice, "revoke", "{\"name\":\"db/password\",\"function\":\"pricebot\"}");
    assert_int_equal(json_array_size(json_object_get(nsl_client_result(reply), "grants")), 0);
    json_decref(reply);
    nsl_client_expect_error(
        as(alice, "revoke", "{\"name\":\"db/password\",\"function\":\"pricebot\"}"), "NOT_FOUND");
}

static void test_limits_and_names_are_enforced(void **state)
{
    (void)state;
    nsl_client_expect_error(as(alice, "put", "{\"name\":\"bad name\",\"value\":\"x\"}"),
                            "INVALID_PARAMS");
    nsl_client_expect_error(as(alice, "put", "{\"name\":\"\",\"value\":\"x\"}"), "INVALID_PARAMS");
    size_t big = 65537;
    char *params = malloc(big + 64);
    int n = snprintf(params, 64, "{\"name\":\"big\",\"value\":\"");
    memset(params + n, 'a', big);
    strcpy(params + n + big, "\"}");
    nsl_client_expect_error(as(alice, "put", params), "INVALID_PARAMS");
    free(params);
    /* At most 100 versions are kept: the oldest goes. */
    for (int i = 1; i <= 102; i++) {
        char value[16];
        snprintf(value, sizeof value, "v%d", i);
        put("rotating", value, i);
    }
    json_t *reply = as(alice, "versions", "{\"name\":\"rotating\"}");
    json_t *versions = json_object_get(nsl_client_result(reply), "versions");
    assert_int_equal(json_array_size(versions), 100);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(versions, 0), "version")),
                     3);
    json_decref(reply);
    nsl_client_expect_error(as(alice, "get", "{\"name\":\"rotating\",\"version\":1}"), "NOT_FOUND");
}

static void test_count_limit_is_named(void **state)
{
    (void)state;
    /* alice holds db/password, api/token and rotating; the limit is 5. */
    put("c1", "x", 1);
    put("c2", "x", 1);
    json_t *reply = as(alice, "put", "{\"name\":\"c3\",\"value\":\"x\"}");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(reply, "error"), "message")),
               "max-secrets-per-account"));
    nsl_client_expect_error(reply, "LIMIT_EXCEEDED");
    put("c2", "y", 2); /* a new version of an existing secret is not a new secret */
}

/* ---- racing writers of one account ---- */

enum { RACERS = 4, RACE_ROUNDS = 5 };

struct racer {
    pthread_t thread;
    int id;
    pthread_barrier_t *start;
    int failures;
};

static bool racer_call(int fd, const char *operation, const char *params)
{
    char *req = NULL, *reply = NULL;
    assert_true(asprintf(&req,
                         "{\"id\":\"r\",\"serviceType\":\"secrets\",\"operation\":\"%s\","
                         "\"params\":%s,\"auth\":{\"scheme\":\"apikey\",\"apiKey\":\"%s\"}}",
                         operation, params, bob) > 0);
    bool ok = nsl_test_roundtrip(fd, req, &reply) == 0 && strstr(reply, "\"ok\":true") != NULL;
    free(req);
    free(reply);
    return ok;
}

static void *racer_main(void *arg)
{
    struct racer *r = arg;
    int fd = nsl_test_connect(stack.enclave_url);
    char put[96], destroy[96];
    for (int round = 0; round < RACE_ROUNDS; round++) {
        snprintf(put, sizeof put, "{\"name\":\"race/%d/%d\",\"value\":\"v\"}", r->id, round);
        snprintf(destroy, sizeof destroy, "{\"name\":\"race/%d/%d\"}", r->id, round);
        pthread_barrier_wait(r->start);
        r->failures += !racer_call(fd, "put", put);
        pthread_barrier_wait(r->start);
        r->failures += !racer_call(fd, "destroy", destroy);
    }
    close(fd);
    return NULL;
}

/* New secrets of one account all bump its secret count: concurrent puts and destroys race on it,
 * and the losers must be retried inside the enclave, never answered CONFLICT. Five rounds under
 * the limit of 5 secrets also prove the count ends where it should. */
static void test_concurrent_new_secrets_of_one_account_all_succeed(void **state)
{
    (void)state;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    struct racer r[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){.id = i, .start = &start};
        pthread_create(&r[i].thread, NULL, racer_main, &r[i]);
    }
    int failures = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(r[i].thread, NULL);
        failures += r[i].failures;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(failures, 0);
    json_t *reply = nsl_client_apikey(&client, bob, "secrets", "list", NULL);
    assert_int_equal(json_array_size(json_object_get(nsl_client_result(reply), "secrets")), 0);
    json_decref(reply);
}

static bool file_contains(const char *name, const char *needle)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", stack.dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    static char buf[64 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static void test_values_appear_in_no_file_log_or_error(void **state)
{
    (void)state;
    const char *files[] = {"nsl.db", "nsl.db-wal", "enclave.log", "parent.log"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        assert_false(file_contains(files[i], MARKER));
    assert_null(strstr(errors_seen, MARKER));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_round_trip_and_versions),
        cmocka_unit_test(test_sealed_round_trip),
        cmocka_unit_test(test_another_account_cannot_read_it),
        cmocka_unit_test(test_delete_is_soft_and_destroy_is_final),
        cmocka_unit_test(test_grant_and_revoke),
        cmocka_unit_test(test_limits_and_names_are_enforced),
        cmocka_unit_test(test_count_limit_is_named),
        cmocka_unit_test(test_concurrent_new_secrets_of_one_account_all_succeed),
        cmocka_unit_test(test_values_appear_in_no_file_log_or_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
