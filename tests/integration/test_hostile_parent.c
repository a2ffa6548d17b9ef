/* A hostile parent (docs/hostile-parent.md). nsl-enclave's host channel goes through a proxy
 * (harness/hostile_proxy.h) standing in for the parent, which drops, delays, duplicates, reorders
 * and corrupts replies, moves blobs between keys and versions, serves old versions, and sends
 * garbage and oversized frames; a second proxy between a client and the enclave socket replays
 * and alters forwarded requests. After every scenario the enclave must be alive, serve a normal
 * request, and never have answered with data other than what was written; integrity failures
 * must come back as INTERNAL and be logged. What a parent can still do (deny service, roll back
 * state a client has not seen) is shown too, with the version numbers by which clients notice. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/url.h"
#include "enclave/hostchan.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/hostile_proxy.h"
#include "neo/key.h"

#define STORE_TIMEOUT "2000" /* ms the enclave waits for one host-channel reply */

static struct nsl_stack stack;
static struct nsl_hostile_proxy *host;
static struct nsl_client client;
static struct nsl_secret *admin_key;
static char admin_id[64], alice[128], alice_id[64], op_key[128];
static char hostile_path[300], hostile_url[310];

/* ---- helpers ---- */

static void connect_and_wait(void)
{
    client.fd = nsl_test_connect(stack.enclave_url);
    assert_true(client.fd >= 0);
    assert_int_equal(nsl_wait_storage_ready(client.fd, 20000), 0);
}

static json_t *as_alice(const char *service, const char *operation, const char *params)
{
    return nsl_client_apikey(&client, alice, service, operation, params);
}

static json_t *as_admin(struct nsl_client *c, const char *service, const char *operation,
                        const char *params)
{
    struct nsl_signing s = {.key = admin_key, .account = admin_id};
    return nsl_client_signed(c, &s, service, operation, params);
}

static int rule(enum nsl_hostile_way way, const char *operation, const char *key,
                enum nsl_hostile_action action, int times)
{
    struct nsl_hostile_rule r = {
        .way = way, .operation = operation, .key = key, .action = action, .times = times};
    return nsl_hostile_add(host, &r);
}

/* A reply to operation on key gets value at field (the rule takes value). */
static int rewrite(const char *operation, const char *key, const char *field, json_t *value)
{
    struct nsl_hostile_rule r = {.way = NSL_HOSTILE_REPLY,
                                 .operation = operation,
                                 .key = key,
                                 .action = NSL_HOSTILE_SET,
                                 .field = field,
                                 .value = value};
    int n = nsl_hostile_add(host, &r);
    json_decref(value);
    return n;
}

static const char *val_key(const char *name, int version)
{
    static char key[256];
    snprintf(key, sizeof key, "val/%s/%s/%010d", alice_id, name, version);
    return key;
}

static const char *meta_key(const char *name)
{
    static char key[256];
    snprintf(key, sizeof key, "meta/%s/%s", alice_id, name);
    return key;
}

static json_t *secret_get(const char *name)
{
    char params[200];
    snprintf(params, sizeof params, "{\"name\":\"%s\"}", name);
    return as_alice("secrets", "get", params);
}

static void put_secret(const char *name, const char *value, int version)
{
    char params[300];
    snprintf(params, sizeof params, "{\"name\":\"%s\",\"value\":\"%s\"}", name, value);
    json_t *reply = as_alice("secrets", "put", params);
    assert_int_equal(json_integer_value(json_object_get(nsl_client_result(reply), "version")),
                     version);
    json_decref(reply);
}

/* The secret comes back exactly as written at that version: never other data. */
static void expect_secret(const char *name, const char *value, int version)
{
    json_t *reply = secret_get(name);
    json_t *r = nsl_client_result(reply);
    assert_string_equal(json_string_value(json_object_get(r, "value")), value);
    assert_int_equal(json_integer_value(json_object_get(r, "version")), version);
    json_decref(reply);
}

static void expect_error_saying(json_t *reply, const char *code, const char *words)
{
    const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    if (!m || !strstr(m, words))
        fail_msg("error message '%s' does not say '%s'", m ? m : "(none)", words);
    nsl_client_expect_error(reply, code);
}

/* Lines of enclave.log holding both needles. */
static int log_lines(const char *needle, const char *also)
{
    char path[300], line[4096];
    snprintf(path, sizeof path, "%s/enclave.log", stack.dir);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) && (!also || strstr(line, also));
    if (f)
        fclose(f);
    return n;
}

static void expect_integrity_failure(json_t *reply, const char *key)
{
    expect_error_saying(reply, "INTERNAL", "integrity check");
    assert_true(log_lines("integrity_check_failed", key) > 0);
}

static bool secret_served(void *ctx)
{
    json_t *reply = secret_get(ctx);
    bool ok = json_is_true(json_object_get(reply, "ok"));
    json_decref(reply);
    return ok;
}

/* After every scenario: the parent behaves again, and the enclave is alive and serves. */
static void assert_still_serving(void)
{
    nsl_hostile_clear(host);
    int status;
    assert_int_equal(waitpid(stack.enclave_pid, &status, WNOHANG), 0); /* running, not a zombie */
    assert_int_equal(nsl_wait_until(secret_served, "canary", 20000), 0);
    expect_secret("canary", "still-here", 1);
}

static bool hit(void *ctx)
{
    return nsl_hostile_hits(host, *(int *)ctx) > 0;
}

/* ---- setup ---- */

static int setup(void **state)
{
    (void)state;
    nsl_log_init("test_hostile_parent", NSL_LOG_ERROR);
    if (nsl_stack_init(&stack) != 0)
        return -1;
    snprintf(hostile_path, sizeof hostile_path, "%s/hostile.sock", stack.dir);
    snprintf(hostile_url, sizeof hostile_url, "unix://%s", hostile_path);
    const char *extra[] = {"--host-channel",
                           hostile_url,
                           "--store-timeout-ms",
                           STORE_TIMEOUT,
                           "--rate-limit",
                           "0",
                           "--nonce-prune-interval-sec",
                           "1",
                           NULL};
    memcpy(stack.enclave_extra, extra, sizeof extra);
    if (nsl_stack_start_parent(&stack) != 0)
        return -1;
    host = nsl_hostile_start(hostile_path, stack.host_url);
    if (!host || nsl_stack_start_enclave(&stack) != 0)
        return -1;
    connect_and_wait();
    char account[64];
    nsl_client_bootstrap(&client, &admin_key, account, sizeof account);
    snprintf(admin_id, sizeof admin_id, "%s", account);
    struct nsl_signing admin = {.key = admin_key, .account = admin_id};
    json_t *reply = nsl_client_signed(&client, &admin, "account", "create",
                                      "{\"name\":\"alice\",\"roles\":[\"user\"]}");
    nsl_client_copy_string(reply, "apiKey", alice, sizeof alice);
    nsl_client_copy_string(reply, "accountId", alice_id, sizeof alice_id);
    json_decref(reply);
    reply = nsl_client_signed(&client, &admin, "account", "create",
                              "{\"name\":\"op\",\"roles\":[\"operator\"]}");
    nsl_client_copy_string(reply, "apiKey", op_key, sizeof op_key);
    json_decref(reply);
    put_secret("canary", "still-here", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (client.fd > 0)
        close(client.fd);
    nsl_secret_free(admin_key);
    int rc = nsl_stack_stop(&stack); /* the enclave must exit cleanly, too */
    nsl_hostile_stop(host);
    return rc;
}

/* ---- replies that never come, come late, or come twice ---- */

static void test_dropped_reply_or_request_times_out(void **state)
{
    (void)state;
    put_secret("drop", "drop-v1", 1);
    rule(NSL_HOSTILE_REPLY, "kv.get", val_key("drop", 1), NSL_HOSTILE_DROP, 1);
    expect_error_saying(secret_get("drop"), "TIMEOUT", "no reply");
    rule(NSL_HOSTILE_REQUEST, "kv.get", val_key("drop", 1), NSL_HOSTILE_DROP, 1);
    expect_error_saying(secret_get("drop"), "TIMEOUT", "no reply");
    /* A dropped write acknowledgement: the caller hears TIMEOUT, yet the write is durable
     * (an ambiguous outcome, as with any network); the next read shows what was stored. */
    rule(NSL_HOSTILE_REPLY, "kv.batch", NULL, NSL_HOSTILE_DROP, 1);
    json_t *reply = as_alice("secrets", "put", "{\"name\":\"drop\",\"value\":\"drop-v2\"}");
    nsl_client_expect_error(reply, "TIMEOUT");
    assert_still_serving();
    expect_secret("drop", "drop-v2", 2);
}

static void test_delayed_reply_is_used_in_time_and_ignored_when_late(void **state)
{
    (void)state;
    put_secret("late", "late-v1", 1);
    struct nsl_hostile_rule r = {.way = NSL_HOSTILE_REPLY,
                                 .operation = "kv.get",
                                 .key = val_key("late", 1),
                                 .action = NSL_HOSTILE_DELAY,
                                 .times = 1,
                                 .delay_ms = 100};
    nsl_hostile_add(host, &r);
    expect_secret("late", "late-v1", 1);
    r.delay_ms = 2 * atoi(STORE_TIMEOUT);
    int n = nsl_hostile_add(host, &r);
    expect_error_saying(secret_get("late"), "TIMEOUT", "no reply");
    assert_int_equal(nsl_hostile_hits(host, n), 1);
    /* The late reply arrives while these run; it answers nobody. */
    for (int i = 0; i < 5; i++)
        expect_secret("late", "late-v1", 1);
    assert_still_serving();
}

static void test_duplicated_replies_answer_once(void **state)
{
    (void)state;
    int n = rule(NSL_HOSTILE_REPLY, NULL, NULL, NSL_HOSTILE_DUPLICATE, 0);
    put_secret("dup", "dup-v1", 1);
    expect_secret("dup", "dup-v1", 1);
    put_secret("dup", "dup-v2", 2);
    expect_secret("dup", "dup-v2", 2);
    expect_secret("canary", "still-here", 1);
    assert_true(nsl_hostile_hits(host, n) >= 6);
    assert_still_serving();
}

/* ---- replies out of order, or for nobody ---- */

struct background_get {
    struct nsl_client c;
    json_t *reply;
};

static void *get_in_background(void *arg)
{
    struct background_get *b = arg;
    char params[64];
    snprintf(params, sizeof params, "{\"name\":\"first\"}");
    b->reply = nsl_client_apikey(&b->c, alice, "secrets", "get", params);
    return NULL;
}

static void test_reordered_replies_reach_their_own_callers(void **state)
{
    (void)state;
    put_secret("first", "first-v1", 1);
    put_secret("second", "second-v1", 1);
    /* The reply to the first caller's read is held back until a later reply has passed it. */
    int n = rule(NSL_HOSTILE_REPLY, "kv.get", val_key("first", 1), NSL_HOSTILE_HOLD, 1);
    struct background_get b = {.c = {.fd = nsl_test_connect(stack.enclave_url)}};
    assert_true(b.c.fd >= 0);
    pthread_t t;
    pthread_create(&t, NULL, get_in_background, &b);
    assert_int_equal(nsl_wait_until(hit, &n, 10000), 0);
    expect_secret("second", "second-v1", 1);
    pthread_join(t, NULL);
    json_t *r = nsl_client_result(b.reply);
    assert_string_equal(json_string_value(json_object_get(r, "value")), "first-v1");
    json_decref(b.reply);
    close(b.c.fd);
    /* A reply whose id answers no call is dropped, and said so. */
    rewrite("kv.get", val_key("first", 1), "id", json_string("not-an-id"));
    expect_error_saying(secret_get("first"), "TIMEOUT", "no reply");
    assert_true(log_lines("host_reply_dropped", "reply without a known id") > 0);
    assert_still_serving();
}

/* ---- blobs tampered with, moved, or served at another version ---- */

static void test_corrupted_blob_fails_integrity_for_that_object_only(void **state)
{
    (void)state;
    put_secret("bent", "bent-v1", 1);
    struct nsl_hostile_rule r = {.way = NSL_HOSTILE_REPLY,
                                 .operation = "kv.get",
                                 .key = val_key("bent", 1),
                                 .action = NSL_HOSTILE_CORRUPT,
                                 .field = "result.value"};
    nsl_hostile_add(host, &r);
    expect_integrity_failure(secret_get("bent"), val_key("bent", 1));
    expect_secret("canary", "still-here", 1); /* everything else is served meanwhile */
    /* The metadata record too, and a page of a list. */
    r.key = meta_key("bent");
    nsl_hostile_add(host, &r);
    expect_integrity_failure(secret_get("bent"), meta_key("bent"));
    r.operation = "kv.list";
    r.key = NULL;
    r.field = "result.items.0.value";
    nsl_hostile_add(host, &r);
    expect_error_saying(as_alice("secrets", "list", NULL), "INTERNAL", "integrity check");
    assert_still_serving();
    expect_secret("bent", "bent-v1", 1);
}

static void test_blob_moved_to_another_key_or_version_fails_integrity(void **state)
{
    (void)state;
    put_secret("mine", "mine-v1", 1);
    put_secret("theirs", "theirs-v1", 1);
    expect_secret("theirs", "theirs-v1", 1); /* the proxy records that reply */
    json_t *theirs = nsl_hostile_recorded(host, "kv.get", val_key("theirs", 1));
    assert_non_null(theirs);
    /* Another key's blob. */
    int n = rewrite("kv.get", val_key("mine", 1), "result.value",
                    json_incref(json_object_get(theirs, "value")));
    expect_integrity_failure(secret_get("mine"), val_key("mine", 1));
    /* Another key's whole reply. */
    nsl_hostile_clear(host);
    rewrite("kv.get", val_key("mine", 1), "result", json_incref(theirs));
    expect_integrity_failure(secret_get("mine"), val_key("mine", 1));
    /* The right blob under another version number. */
    nsl_hostile_clear(host);
    rewrite("kv.get", val_key("mine", 1), "result.version", json_integer(2));
    expect_integrity_failure(secret_get("mine"), val_key("mine", 1));
    /* A refusal the store never makes is not passed on as the service's own answer. */
    nsl_hostile_clear(host);
    rewrite("kv.get", val_key("mine", 1), NULL,
            json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", "INSUFFICIENT_FUNDS",
                      "message", "pay up"));
    expect_error_saying(secret_get("mine"), "INTERNAL", "refused a storage call");
    /* Not even a version: a malformed reply, refused before any blob is opened. */
    nsl_hostile_clear(host);
    rewrite("kv.get", val_key("mine", 1), "result.version", json_string("1"));
    expect_error_saying(secret_get("mine"), "INTERNAL", "malformed kv.get");
    assert_true(nsl_hostile_hits(host, n) >= 1);
    json_decref(theirs);
    assert_still_serving();
    expect_secret("mine", "mine-v1", 1);
}

/* A list page with nothing on it that says there is more would keep a paging loop (the audit
 * log's, the scheduler's) asking for ever: the store refuses it as malformed. */
static void test_endless_empty_list_pages_are_refused(void **state)
{
    (void)state;
    json_t *reply = as_admin(&client, "account", "auditLog", NULL);
    nsl_client_result(reply);
    json_decref(reply);
    rewrite("kv.list", NULL, "result", json_pack("{s:[], s:b}", "items", "more", 1));
    /* The audit log answers, and says it could not verify its chain. */
    reply = as_admin(&client, "account", "auditLog", NULL);
    json_t *verification = nsl_client_result(reply);
    assert_true(json_is_false(json_object_get(verification, "verified")));
    assert_non_null(json_object_get(verification, "problem"));
    json_decref(reply);
    expect_error_saying(as_alice("secrets", "list", NULL), "INTERNAL", "malformed kv.list");
    assert_still_serving();
    reply = as_admin(&client, "account", "auditLog", NULL);
    assert_true(json_is_true(json_object_get(nsl_client_result(reply), "verified")));
    json_decref(reply);
}

/* ---- rollback: the residual risk ---- */

static void test_rolled_back_state_is_authentic_old_data_and_shows_its_version(void **state)
{
    (void)state;
    put_secret("rb", "rb-old", 1);
    expect_secret("rb", "rb-old", 1);
    json_t *old_meta = nsl_hostile_recorded(host, "kv.get", meta_key("rb"));
    assert_non_null(old_meta);
    put_secret("rb", "rb-new", 2);
    /* The parent serves the metadata as it was: the enclave cannot tell (no trusted monotonic
     * counter), so the caller gets version 1, which is what was written as version 1. A client
     * that has seen version 2 notices the version going back. */
    rewrite("kv.get", meta_key("rb"), "result", json_deep_copy(old_meta));
    expect_secret("rb", "rb-old", 1);
    nsl_client_expect_error(as_alice("secrets", "get", "{\"name\":\"rb\",\"version\":2}"),
                            "NOT_FOUND");
    /* A write based on the rolled-back state does not go through: the real store's version has
     * moved on, so the compare-and-swap fails. */
    nsl_client_expect_error(as_alice("secrets", "put", "{\"name\":\"rb\",\"value\":\"rb-x\"}"),
                            "CONFLICT");
    /* Hiding an object altogether is a rollback to before it existed. */
    nsl_hostile_clear(host);
    rewrite("kv.get", meta_key("rb"), "result", json_pack("{s:b, s:i}", "found", 0, "version", 0));
    nsl_client_expect_error(secret_get("rb"), "NOT_FOUND");
    json_decref(old_meta);
    assert_still_serving();
    expect_secret("rb", "rb-new", 2);
}

/* ---- the other services ---- */

static void deposit(const char *amount, int seed)
{
    char params[256];
    snprintf(params, sizeof params,
             "{\"accountId\":\"%s\",\"amount\":\"%s\",\"txHash\":\"0x%064x\"}", alice_id, amount,
             seed);
    json_t *reply = nsl_client_apikey(&client, op_key, "gasbank", "deposit", params);
    nsl_client_result(reply);
    json_decref(reply);
}

static void expect_balance(const char *available)
{
    json_t *reply = as_alice("gasbank", "balance", NULL);
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "available")),
                        available);
    json_decref(reply);
}

static void test_gasbank_balance_under_a_hostile_parent(void **state)
{
    (void)state;
    char acct[128];
    snprintf(acct, sizeof acct, "acct/%s", alice_id);
    deposit("1000", 1);
    expect_balance("1000");
    json_t *old = nsl_hostile_recorded(host, "kv.get", acct);
    assert_non_null(old);
    deposit("500", 2);
    expect_balance("1500");
    struct nsl_hostile_rule r = {.way = NSL_HOSTILE_REPLY,
                                 .operation = "kv.get",
                                 .key = acct,
                                 .action = NSL_HOSTILE_CORRUPT,
                                 .field = "result.value"};
    nsl_hostile_add(host, &r);
    expect_integrity_failure(as_alice("gasbank", "balance", NULL), acct);
    nsl_hostile_clear(host);
    rewrite("kv.get", acct, "result.version", json_integer(1));
    expect_integrity_failure(as_alice("gasbank", "balance", NULL), acct);
    /* Rolled back: an authentic old balance (the residual risk; gasbank.history and the
     * deposits a client made tell it apart). */
    nsl_hostile_clear(host);
    rewrite("kv.get", acct, "result", json_incref(old));
    expect_balance("1000");
    json_decref(old);
    assert_still_serving();
    expect_balance("1500");
}

static bool storage_ready_again(void *ctx)
{
    (void)ctx;
    if (client.fd > 0)
        close(client.fd);
    client.fd = nsl_test_connect(stack.enclave_url);
    return client.fd >= 0 && nsl_wait_storage_ready(client.fd, 2000) == 0;
}

static void sign_hello(const char *key_id, const uint8_t *pub)
{
    char params[256];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\",\"message\":\"68656c6c6f\"}", key_id);
    json_t *reply = as_alice("wallet", "signMessage", params);
    const char *sig = json_string_value(json_object_get(nsl_client_result(reply), "signature"));
    uint8_t s[64];
    size_t n;
    assert_int_equal(nsl_hex_decode(sig, strlen(sig), s, sizeof s, &n), 0);
    assert_int_equal(nsl_neo_pubkey_verify(pub, 33, "hello", 5, s, 64), 0);
    json_decref(reply);
}

static void test_wallet_keys_under_a_hostile_parent(void **state)
{
    (void)state;
    json_t *reply = as_alice("wallet", "create", "{\"label\":\"hostile\"}");
    char key_id[64], pub_hex[67];
    nsl_client_copy_string(reply, "keyId", key_id, sizeof key_id);
    nsl_client_copy_string(reply, "publicKey", pub_hex, sizeof pub_hex);
    json_decref(reply);
    uint8_t pub[33];
    size_t n;
    assert_int_equal(nsl_hex_decode(pub_hex, 66, pub, sizeof pub, &n), 0);
    sign_hello(key_id, pub);
    /* A fresh enclave has nothing cached: every key comes from the parent again. */
    assert_int_equal(nsl_stack_kill(&stack.enclave_pid, SIGTERM), 0);
    assert_int_equal(nsl_stack_start_enclave(&stack), 0);
    assert_int_equal(nsl_wait_until(storage_ready_again, NULL, 20000), 0);
    char priv[160], meta[160], params[128];
    snprintf(priv, sizeof priv, "priv/%s/%s", alice_id, key_id);
    snprintf(meta, sizeof meta, "meta/%s/%s", alice_id, key_id);
    /* Metadata first (the records cache keeps what it once loaded), then the private key. */
    rewrite("kv.get", meta, "result.version", json_integer(7));
    snprintf(params, sizeof params, "{\"keyId\":\"%s\"}", key_id);
    expect_integrity_failure(as_alice("wallet", "get", params), meta);
    nsl_hostile_clear(host);
    struct nsl_hostile_rule r = {.way = NSL_HOSTILE_REPLY,
                                 .operation = "kv.get",
                                 .key = priv,
                                 .action = NSL_HOSTILE_CORRUPT,
                                 .field = "result.value"};
    nsl_hostile_add(host, &r);
    char sign[128];
    snprintf(sign, sizeof sign, "{\"keyId\":\"%s\",\"message\":\"00\"}", key_id);
    expect_integrity_failure(as_alice("wallet", "signMessage", sign), priv);
    assert_still_serving();
    reply = as_alice("wallet", "get", params);
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "publicKey")),
                        pub_hex);
    json_decref(reply);
    sign_hello(key_id, pub);
}

/* ---- the nonce sweep (docs/scale-out.md#spent-nonce-records) ---- */

static int sweep_refusals(void)
{
    return log_lines("nonce_sweep_failed", "malformed kv.prune reply");
}

static bool prune_rewritten_twice(void *ctx)
{
    return nsl_hostile_hits(host, *(int *)ctx) >= 2;
}

/* A parent that says its store is shared gets the sweeper's kv.prune calls. An answer claiming
 * more rows than were asked for, or a `more` that is not a boolean, is refused and logged; the
 * enclave serves on. Each sweep ends (and logs) before the next begins, so two rewritten calls
 * mean the first one's sweep has been judged. */
static void test_malformed_prune_replies_are_refused(void **state)
{
    (void)state;
    assert_int_equal(nsl_stack_kill(&stack.enclave_pid, SIGTERM), 0);
    rewrite("kv.info", NULL, "result.shared", json_true());
    int removed = rewrite("kv.prune", NULL, "result.removed", json_integer(1000000));
    assert_int_equal(nsl_stack_start_enclave(&stack), 0);
    assert_int_equal(nsl_wait_until(storage_ready_again, NULL, 20000), 0);
    assert_int_equal(nsl_wait_until(prune_rewritten_twice, &removed, 20000), 0);
    assert_true(sweep_refusals() >= 1);
    nsl_hostile_clear(host);
    int before = sweep_refusals();
    int more = rewrite("kv.prune", NULL, "result.more", json_string("yes"));
    assert_int_equal(nsl_wait_until(prune_rewritten_twice, &more, 20000), 0);
    assert_true(sweep_refusals() > before);
    /* Back to a parent that tells the truth (not shared), for the scenarios after this one. */
    assert_int_equal(nsl_stack_kill(&stack.enclave_pid, SIGTERM), 0);
    nsl_hostile_clear(host);
    assert_int_equal(nsl_stack_start_enclave(&stack), 0);
    assert_int_equal(nsl_wait_until(storage_ready_again, NULL, 20000), 0);
    assert_still_serving();
}

static bool sweep_ended_after_its_cap(void *ctx)
{
    (void)ctx;
    return log_lines("nonces_pruned", "\"removed\":\"100\"") > 0;
}

/* A parent that always answers "one row removed, and more left" cannot keep a sweep going: it
 * ends after its 100 calls (and logs the 100 rows it was told of); the next starts an interval
 * later. The enclave serves on. */
static void test_endless_more_ends_the_sweep_at_its_cap(void **state)
{
    (void)state;
    assert_int_equal(nsl_stack_kill(&stack.enclave_pid, SIGTERM), 0);
    rewrite("kv.info", NULL, "result.shared", json_true());
    rewrite("kv.prune", NULL, "result", json_pack("{s:i, s:b}", "removed", 1, "more", 1));
    assert_int_equal(nsl_stack_start_enclave(&stack), 0);
    assert_int_equal(nsl_wait_until(storage_ready_again, NULL, 20000), 0);
    assert_int_equal(nsl_wait_until(sweep_ended_after_its_cap, NULL, 30000), 0);
    assert_int_equal(log_lines("nonces_pruned", "\"removed\":\"101\""), 0);
    assert_int_equal(nsl_stack_kill(&stack.enclave_pid, SIGTERM), 0);
    nsl_hostile_clear(host);
    assert_int_equal(nsl_stack_start_enclave(&stack), 0);
    assert_int_equal(nsl_wait_until(storage_ready_again, NULL, 20000), 0);
    assert_still_serving();
}

/* ---- broken framing ---- */

static bool reconnected(void *ctx)
{
    return nsl_hostile_connections(host) > *(uint64_t *)ctx;
}

static void test_garbage_and_bad_frames_are_survived(void **state)
{
    (void)state;
    put_secret("frames", "frames-v1", 1);
    /* Well framed but not JSON: dropped and logged, the channel stays. */
    uint64_t before = nsl_hostile_connections(host);
    rule(NSL_HOSTILE_REPLY, "kv.get", val_key("frames", 1), NSL_HOSTILE_GARBAGE, 1);
    expect_error_saying(secret_get("frames"), "TIMEOUT", "no reply");
    assert_true(log_lines("host_reply_dropped", "not a JSON object") > 0);
    assert_int_equal(nsl_hostile_connections(host), before);
    expect_secret("frames", "frames-v1", 1);
    /* A length over the limit, or zero: the enclave drops the channel and reconnects; the call
     * in flight fails UNAVAILABLE. */
    enum nsl_hostile_action bad[] = {NSL_HOSTILE_OVERSIZE, NSL_HOSTILE_EMPTY};
    for (size_t i = 0; i < 2; i++) {
        before = nsl_hostile_connections(host);
        rule(NSL_HOSTILE_REPLY, "kv.get", val_key("frames", 1), bad[i], 1);
        expect_error_saying(secret_get("frames"), "UNAVAILABLE", "closed");
        assert_int_equal(nsl_wait_until(reconnected, &before, 20000), 0);
        assert_int_equal(nsl_wait_until(secret_served, "frames", 20000), 0);
        expect_secret("frames", "frames-v1", 1);
    }
    assert_still_serving();
}

/* ---- a parent that stops reading ---- */

static bool channel_up(void *ctx)
{
    struct nsl_hostchan_status st;
    nsl_hostchan_get_status(ctx, &st);
    return st.connected;
}

/* The enclave's host-channel client (in this process) against a listener that never accepts, so
 * nothing it sends is ever read: once the socket buffer is full a write would block for good.
 * Every call must still end by its deadline, and not hold up the calls behind it. */
static void test_parent_that_stops_reading_cannot_wedge_the_host_channel(void **state)
{
    (void)state;
    char text[330];
    snprintf(text, sizeof text, "unix://%s/deaf.sock", stack.dir);
    struct nsl_url url;
    assert_int_equal(nsl_url_parse(text, &url, NULL, 0), 0);
    int deaf = nsl_net_listen(&url, 4);
    assert_true(deaf >= 0);
    struct nsl_hostchan *hc = nsl_hostchan_start(&url, 4u << 20);
    assert_int_equal(nsl_wait_until(channel_up, hc, 10000), 0);
    size_t big = 1u << 20;
    char *value = malloc(big + 1);
    memset(value, 'A', big);
    value[big] = 0;
    json_t *params = json_pack("{s:s, s:s, s:i, s:s}", "ns", "x", "key", "k", "expectedVersion", 0,
                               "value", value);
    free(value);
    for (int i = 0; i < 3; i++) {
        struct nsl_error err = {0};
        json_t *result = NULL;
        nsl_err rc = nsl_hostchan_call(hc, "kv", "put", params, 300, &result, &err);
        assert_true(rc == NSL_ERR_TIMEOUT || rc == NSL_ERR_UNAVAILABLE);
        assert_null(result);
    }
    json_decref(params);
    nsl_hostchan_stop(hc);
    close(deaf);
    /* The real enclave behind a parent that stops reading its host channel: storage calls end
     * in TIMEOUT (denial of service, which a parent can always do) while the enclave still
     * answers what needs no storage; once the parent reads again, all is served. */
    put_secret("deaf", "deaf-v1", 1);
    rule(NSL_HOSTILE_REQUEST, "kv.get", val_key("deaf", 1), NSL_HOSTILE_STALL, 1);
    nsl_client_expect_error(secret_get("deaf"), "TIMEOUT");
    nsl_client_expect_error(secret_get("canary"), "TIMEOUT");
    json_t *reply =
        nsl_client_send(&client, nsl_client_envelope(&client, "system", "health", NULL));
    nsl_client_result(reply);
    json_decref(reply);
    assert_still_serving();
    expect_secret("deaf", "deaf-v1", 1);
}

/* ---- the client side: forwarded requests replayed or altered ---- */

/* The reply to a request the proxy sent again on its own. */
static json_t *replayed(struct nsl_hostile_proxy *front, struct nsl_client *c,
                        const char *operation)
{
    char *text = NULL;
    size_t len;
    assert_int_equal(nsl_hostile_replay(front, operation, NULL), 0);
    assert_int_equal(nsl_frame_recv(c->fd, 1 << 20, 10000, &text, &len), 0);
    json_t *reply = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(reply);
    return reply;
}

static void test_replayed_or_altered_forwarded_requests(void **state)
{
    (void)state;
    char front_path[300], url[310];
    snprintf(front_path, sizeof front_path, "%s/front.sock", stack.dir);
    snprintf(url, sizeof url, "unix://%s", front_path);
    struct nsl_hostile_proxy *front = nsl_hostile_start(front_path, stack.enclave_url);
    assert_non_null(front);
    struct nsl_client c = {.fd = nsl_test_connect(url)};
    assert_true(c.fd >= 0);
    /* A neo-sig request replayed: done once; the copy is refused by the nonce cache. */
    json_t *reply = as_admin(&c, "secrets", "put", "{\"name\":\"once\",\"value\":\"one\"}");
    assert_int_equal(json_integer_value(json_object_get(nsl_client_result(reply), "version")), 1);
    json_decref(reply);
    int before = log_lines("authentication_failed", "nonce replayed");
    nsl_client_expect_error(replayed(front, &c, "secrets.put"), "UNAUTHENTICATED");
    assert_true(log_lines("authentication_failed", "nonce replayed") > before);
    /* Altered after signing: refused, nothing written. */
    struct nsl_hostile_rule alter = {.way = NSL_HOSTILE_REQUEST,
                                     .operation = "secrets.put",
                                     .action = NSL_HOSTILE_SET,
                                     .field = "params.value",
                                     .value = json_string("altered")};
    nsl_hostile_add(front, &alter);
    json_decref(alter.value);
    nsl_client_expect_error(as_admin(&c, "secrets", "put", "{\"name\":\"once\",\"value\":\"two\"}"),
                            "UNAUTHENTICATED");
    nsl_hostile_clear(front);
    reply = as_admin(&c, "secrets", "versions", "{\"name\":\"once\"}");
    assert_int_equal(json_array_size(json_object_get(nsl_client_result(reply), "versions")), 1);
    json_decref(reply);
    reply = as_admin(&c, "secrets", "get", "{\"name\":\"once\"}");
    assert_string_equal(json_string_value(json_object_get(nsl_client_result(reply), "value")),
                        "one");
    json_decref(reply);
    /* An API-key request carries no nonce: a parent can replay it, and it happens twice
     * (docs/hostile-parent.md: use neo-sig for anything that must happen once). */
    reply = nsl_client_apikey(&c, alice, "secrets", "put", "{\"name\":\"twice\",\"value\":\"t\"}");
    nsl_client_result(reply);
    json_decref(reply);
    reply = replayed(front, &c, "secrets.put");
    assert_int_equal(json_integer_value(json_object_get(nsl_client_result(reply), "version")), 2);
    json_decref(reply);
    close(c.fd);
    nsl_hostile_stop(front);
    assert_still_serving();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropped_reply_or_request_times_out),
        cmocka_unit_test(test_delayed_reply_is_used_in_time_and_ignored_when_late),
        cmocka_unit_test(test_duplicated_replies_answer_once),
        cmocka_unit_test(test_reordered_replies_reach_their_own_callers),
        cmocka_unit_test(test_corrupted_blob_fails_integrity_for_that_object_only),
        cmocka_unit_test(test_blob_moved_to_another_key_or_version_fails_integrity),
        cmocka_unit_test(test_endless_empty_list_pages_are_refused),
        cmocka_unit_test(test_rolled_back_state_is_authentic_old_data_and_shows_its_version),
        cmocka_unit_test(test_gasbank_balance_under_a_hostile_parent),
        cmocka_unit_test(test_garbage_and_bad_frames_are_survived),
        cmocka_unit_test(test_parent_that_stops_reading_cannot_wedge_the_host_channel),
        cmocka_unit_test(test_replayed_or_altered_forwarded_requests),
        cmocka_unit_test(test_wallet_keys_under_a_hostile_parent),
        cmocka_unit_test(test_malformed_prune_replies_are_refused),
        cmocka_unit_test(test_endless_more_ends_the_sweep_at_its_cap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
