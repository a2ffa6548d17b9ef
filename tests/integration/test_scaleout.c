/* Scale-out (issue 13, docs/scale-out.md): two nsl-parent + nsl-enclave pairs on one throw-away
 * PostgreSQL database and one sim wrapping-key file serve the same state. A secret written
 * through one pair is read through the other; an API key revoked on one pair is refused on the
 * other at once; a neo-sig request replayed to the other pair is refused, and still is once its
 * nonce record has been pruned after the time window; 50 gas bank clients spread over both pairs
 * never overspend; the price scheduler's lease is held by one pair and taken over by the other
 * when the holder is killed; SIGKILL of a whole pair during a workload loses nothing it
 * acknowledged. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/postgres.h"
#include "neo/key.h"

#define PAIRS 2
/* A short neo-sig window and a sweep every second, so that spent nonce records expire within the
 * test (docs/scale-out.md#spent-nonce-records). */
#define AUTH_WINDOW     10
#define AUTH_WINDOW_ARG "10"

static struct nsl_pg_server pg;
static char db_url[256], key_file[300];
static struct nsl_stack stacks[PAIRS];
static struct nsl_client clients[PAIRS];
static struct nsl_secret *admin_key;
static char admin_id[64], alice[128], op[128], dave[128], dave_id[64], carol[128], carol_id[64];

static int start_pair(int i)
{
    struct nsl_stack *s = &stacks[i];
    s->enclave_extra[0] = "--rate-limit";
    s->enclave_extra[1] = "0";
    s->enclave_extra[2] = "--auth-window-sec";
    s->enclave_extra[3] = AUTH_WINDOW_ARG;
    s->enclave_extra[4] = "--nonce-prune-interval-sec";
    s->enclave_extra[5] = "1";
    s->parent_extra[0] = "--db";
    s->parent_extra[1] = db_url;
    s->parent_extra[2] = "--sim-key-file";
    s->parent_extra[3] = key_file;
    if (nsl_stack_start_enclave(s) != 0 || nsl_stack_start_parent(s) != 0)
        return -1;
    clients[i] = (struct nsl_client){.fd = nsl_test_connect(s->enclave_url)};
    return clients[i].fd >= 0 && nsl_wait_storage_ready(clients[i].fd, 30000) == 0 ? 0 : -1;
}

static json_t *admin_on(int pair, const char *service, const char *operation, const char *params)
{
    struct nsl_signing s = {.key = admin_key, .account = admin_id};
    return nsl_client_signed(&clients[pair], &s, service, operation, params);
}

static void new_user(const char *name, const char *roles, char *api_key, char *id)
{
    char params[128];
    snprintf(params, sizeof params, "{\"name\":\"%s\",\"roles\":%s}", name, roles);
    json_t *reply = admin_on(0, "account", "create", params);
    nsl_client_copy_string(reply, "apiKey", api_key, 128);
    if (id)
        nsl_client_copy_string(reply, "accountId", id, 64);
    json_decref(reply);
}

static int teardown(void **state);

static int start_all(void)
{
    for (int i = 0; i < PAIRS; i++)
        clients[i].fd = -1;
    if (nsl_pg_server_start(&pg) != 0 ||
        nsl_pg_server_create_db(&pg, "scaleout", db_url, sizeof db_url) != 0)
        return -1;
    for (int i = 0; i < PAIRS; i++)
        if (nsl_stack_init(&stacks[i]) != 0)
            return -1;
    /* The wrapping key lives outside both state dirs, as a shared file would. */
    snprintf(key_file, sizeof key_file, "%s/shared-wrapping.key", pg.dir);
    for (int i = 0; i < PAIRS; i++)
        if (start_pair(i) != 0)
            return -1;
    char account[64];
    nsl_client_bootstrap(&clients[0], &admin_key, account, sizeof account);
    snprintf(admin_id, sizeof admin_id, "%s", account);
    new_user("alice", "[\"user\"]", alice, NULL);
    new_user("op", "[\"operator\"]", op, NULL);
    new_user("dave", "[\"user\"]", dave, dave_id);
    new_user("carol", "[\"user\"]", carol, carol_id);
    return 0;
}

/* cmocka runs no teardown after a failed setup: stop whatever did start. */
static int setup(void **state)
{
    nsl_log_init("test_scaleout", NSL_LOG_ERROR);
    if (start_all() == 0)
        return 0;
    teardown(state);
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = 0;
    for (int i = 0; i < PAIRS; i++) {
        if (clients[i].fd >= 0)
            close(clients[i].fd);
        if (stacks[i].dir[0] && nsl_stack_stop(&stacks[i]) != 0)
            rc = -1;
    }
    nsl_secret_free(admin_key);
    nsl_pg_server_stop(&pg);
    return rc;
}

static const char *str(json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

static void test_both_pairs_share_one_master_key_and_one_admin(void **state)
{
    (void)state;
    /* The admin bootstrapped through pair 0 signs on pair 1: same accounts, and pair 1 could
     * unseal them, so it unwrapped the same master key. */
    json_t *reply = admin_on(1, "account", "whoami", NULL);
    assert_string_equal(str(nsl_client_result(reply), "accountId"), admin_id);
    json_decref(reply);
    struct nsl_secret *other = NULL;
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    char pub_hex[2 * NSL_NEO_PUBKEY_LEN + 1], params[128];
    assert_int_equal(nsl_neo_key_generate(&other, NULL), NSL_OK);
    assert_int_equal(nsl_neo_key_public(other, pub, NULL), NSL_OK);
    nsl_secret_free(other);
    nsl_hex_encode(pub, sizeof pub, pub_hex);
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", pub_hex);
    nsl_client_expect_error(nsl_client_send(&clients[1], nsl_client_envelope(&clients[1], "account",
                                                                             "bootstrap", params)),
                            "ALREADY_EXISTS");
}

static void test_secret_written_through_one_pair_is_read_through_the_other(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        int writer = round % 2, reader = 1 - writer;
        char params[128];
        snprintf(params, sizeof params, "{\"name\":\"db/password\",\"value\":\"v%d\"}", round);
        json_t *reply = nsl_client_apikey(&clients[writer], alice, "secrets", "put", params);
        assert_int_equal(json_integer_value(json_object_get(nsl_client_result(reply), "version")),
                         round + 1);
        json_decref(reply);
        reply = nsl_client_apikey(&clients[reader], alice, "secrets", "get",
                                  "{\"name\":\"db/password\"}");
        char want[8];
        snprintf(want, sizeof want, "v%d", round);
        assert_string_equal(str(nsl_client_result(reply), "value"), want);
        json_decref(reply);
    }
}

static void deploy_on(int pair, const char *source)
{
    json_t *params = json_pack("{s:s, s:s}", "name", "which", "source", source);
    char *text = json_dumps(params, 0);
    json_t *reply = nsl_client_apikey(&clients[pair], alice, "function", "deploy", text);
    nsl_client_result(reply);
    json_decref(reply);
    free(text);
    json_decref(params);
}

static json_int_t invoked_on(int pair)
{
    json_t *reply =
        nsl_client_apikey(&clients[pair], alice, "function", "invoke", "{\"name\":\"which\"}");
    json_int_t r = json_integer_value(json_object_get(nsl_client_result(reply), "result"));
    json_decref(reply);
    return r;
}

/* Pair 1 caches the deployed code on its first invocation; a redeploy and a delete through pair
 * 0 must show on pair 1's very next invocation (the cache checks versions on a shared store). */
static void test_function_redeployed_on_one_pair_runs_new_code_on_the_other(void **state)
{
    (void)state;
    deploy_on(0, "function main(args) { return 1; }");
    assert_int_equal(invoked_on(1), 1);
    assert_int_equal(invoked_on(1), 1);
    deploy_on(0, "function main(args) { return 2; }");
    assert_int_equal(invoked_on(1), 2);
    json_t *reply =
        nsl_client_apikey(&clients[0], alice, "function", "delete", "{\"name\":\"which\"}");
    nsl_client_result(reply);
    json_decref(reply);
    nsl_client_expect_error(
        nsl_client_apikey(&clients[1], alice, "function", "invoke", "{\"name\":\"which\"}"),
        "NOT_FOUND");
}

static void test_api_key_revoked_on_one_pair_is_refused_on_the_other(void **state)
{
    (void)state;
    json_t *reply = nsl_client_apikey(&clients[0], alice, "account", "createApiKey", NULL);
    char key[128], key_id[64];
    snprintf(key, sizeof key, "%s", str(nsl_client_result(reply), "apiKey"));
    snprintf(key_id, sizeof key_id, "%s", str(nsl_client_result(reply), "keyId"));
    json_decref(reply);
    /* Pair 1 learns (and caches) the key... */
    for (int i = 0; i < 3; i++) {
        reply = nsl_client_apikey(&clients[1], key, "account", "whoami", NULL);
        nsl_client_result(reply);
        json_decref(reply);
    }
    /* ...pair 0 revokes it, and pair 1 refuses it on the very next request. */
    char params[96];
    snprintf(params, sizeof params, "{\"keyId\":\"%s\"}", key_id);
    reply = nsl_client_apikey(&clients[0], alice, "account", "revokeApiKey", params);
    nsl_client_result(reply);
    json_decref(reply);
    nsl_client_expect_error(nsl_client_apikey(&clients[1], key, "account", "whoami", NULL),
                            "UNAUTHENTICATED");
    nsl_client_expect_error(nsl_client_apikey(&clients[0], key, "account", "whoami", NULL),
                            "UNAUTHENTICATED");
}

static void test_signed_request_replayed_to_the_other_pair_is_refused(void **state)
{
    (void)state;
    struct nsl_signing sig = {.key = admin_key, .account = admin_id};
    json_t *req = nsl_client_signed_request(&clients[0], &sig, "account", "whoami", NULL);
    json_t *reply = nsl_client_send(&clients[0], json_deep_copy(req));
    nsl_client_result(reply);
    json_decref(reply);
    /* The parent of pair 0 saw the request; it hands the very same bytes to pair 1. */
    nsl_client_expect_error(nsl_client_send(&clients[1], req), "UNAUTHENTICATED");
}

/* ---- spent nonce records are pruned once their time has left the window ---- */

static long long nonce_rows(const char *nonce)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM nsl_blobs WHERE ns = 'nonces'"
             " AND convert_from(key, 'UTF8') LIKE '%%/%s'",
             nonce);
    return nsl_pg_query_int(db_url, sql);
}

static bool nonce_row_gone(void *nonce)
{
    return nonce_rows(nonce) == 0;
}

/* Fails unless reply is UNAUTHENTICATED with a message containing want; frees reply. */
static void expect_refused(json_t *reply, const char *want)
{
    json_t *error = json_object_get(reply, "error");
    const char *code = str(error, "code"), *message = str(error, "message");
    if (!code || strcmp(code, "UNAUTHENTICATED") != 0 || !message || !strstr(message, want))
        fail_msg("want UNAUTHENTICATED \"%s\", got %s \"%s\"", want, code ? code : "ok",
                 message ? message : "");
    json_decref(reply);
}

/* The pairs run with a window of AUTH_WINDOW s and sweep every second: a request signed
 * AUTH_WINDOW - 3 s in the past is accepted, its nonce record blocks a replay to the other pair,
 * the record is gone two windows after its time (a fresh one stays), and a replay after that is
 * still refused, by its timestamp. */
static void test_spent_nonces_are_pruned_after_the_window_and_replays_stay_refused(void **state)
{
    (void)state;
    char old_nonce[] = "prune-old-0123456789", fresh_nonce[] = "prune-fresh-0123456789";
    struct nsl_signing old = {
        .key = admin_key, .account = admin_id, .skew = -(AUTH_WINDOW - 3), .nonce = old_nonce};
    struct nsl_signing fresh = {.key = admin_key, .account = admin_id, .nonce = fresh_nonce};
    json_t *req = nsl_client_signed_request(&clients[0], &old, "account", "whoami", NULL);
    json_t *reply = nsl_client_send(&clients[0], json_deep_copy(req));
    nsl_client_result(reply);
    json_decref(reply);
    json_decref(nsl_client_signed(&clients[0], &fresh, "account", "whoami", NULL));
    assert_int_equal(nonce_rows(old_nonce), 1);
    assert_int_equal(nonce_rows(fresh_nonce), 1);
    expect_refused(nsl_client_send(&clients[1], json_deep_copy(req)), "invalid credentials");
    assert_int_equal(nsl_wait_until(nonce_row_gone, old_nonce, 6 * AUTH_WINDOW * 1000), 0);
    assert_int_equal(nonce_rows(fresh_nonce), 1); /* its time is inside the bound */
    expect_refused(nsl_client_send(&clients[1], json_deep_copy(req)),
                   "outside the accepted window");
    expect_refused(nsl_client_send(&clients[0], req), "outside the accepted window");
}

/* ---- 50 gas bank clients over both pairs ---- */

#define RACERS 50
#define ROUNDS 4

struct racer {
    pthread_t thread;
    int pair;
    int settled, refused, failed;
};

static bool call_ok(struct nsl_client *c, const char *key, const char *operation,
                    const char *params, json_t **reply)
{
    *reply = nsl_client_apikey(c, key, "gasbank", operation, params);
    return json_is_true(json_object_get(*reply, "ok"));
}

static void *racer_main(void *arg)
{
    struct racer *me = arg;
    struct nsl_client c = {.fd = nsl_test_connect(stacks[me->pair].enclave_url)};
    for (int i = 0; i < ROUNDS && c.fd >= 0; i++) {
        json_t *reply;
        if (!call_ok(&c, dave, "reserve", "{\"amount\":\"10\",\"reference\":\"race\"}", &reply)) {
            const char *code = str(json_object_get(reply, "error"), "code");
            if (code && strcmp(code, "INSUFFICIENT_FUNDS") == 0) {
                me->refused++;
            } else {
                me->failed++;
                char *text = json_dumps(reply, 0);
                fprintf(stderr, "reserve failed: %s\n", text ? text : "(no reply)");
                free(text);
            }
            json_decref(reply);
            continue;
        }
        char params[128];
        snprintf(params, sizeof params, "{\"reservationId\":\"%s\",\"amount\":\"7\"}",
                 str(json_object_get(reply, "result"), "reservationId"));
        json_decref(reply);
        if (call_ok(&c, dave, "settle", params, &reply)) {
            me->settled++;
        } else {
            me->failed++;
            char *text = json_dumps(reply, 0);
            fprintf(stderr, "settle failed: %s\n", text ? text : "(no reply)");
            free(text);
        }
        json_decref(reply);
    }
    if (c.fd >= 0)
        close(c.fd);
    else
        me->failed++;
    return NULL;
}

static void deposit_on(int pair, const char *account, const char *amount, int hash_seed)
{
    char params[256];
    snprintf(params, sizeof params,
             "{\"accountId\":\"%s\",\"amount\":\"%s\",\"txHash\":\"0x%064x\"}", account, amount,
             hash_seed);
    json_t *reply = nsl_client_apikey(&clients[pair], op, "gasbank", "deposit", params);
    nsl_client_result(reply);
    json_decref(reply);
}

static void expect_audit_ok(int pair)
{
    json_t *reply = admin_on(pair, "gasbank", "audit", NULL);
    assert_true(json_is_true(json_object_get(nsl_client_result(reply), "ok")));
    json_decref(reply);
}

static void test_racing_gasbank_clients_on_two_pairs_never_overspend(void **state)
{
    (void)state;
    deposit_on(0, dave_id, "1000", 1); /* room for ~142 settles of 7; 200 are attempted */
    struct racer *r = calloc(RACERS, sizeof *r);
    for (int i = 0; i < RACERS; i++) {
        r[i].pair = i % PAIRS;
        pthread_create(&r[i].thread, NULL, racer_main, &r[i]);
    }
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
    snprintf(want, sizeof want, "%d", 1000 - 7 * settled);
    for (int pair = 0; pair < PAIRS; pair++) {
        json_t *reply = nsl_client_apikey(&clients[pair], dave, "gasbank", "balance", NULL);
        assert_string_equal(str(nsl_client_result(reply), "available"), want);
        assert_string_equal(str(nsl_client_result(reply), "reserved"), "0");
        json_decref(reply);
        expect_audit_ok(pair);
    }
    assert_true(1000 - 7 * settled >= 0);
}

/* ---- SIGKILL of a whole pair ---- */

struct worker {
    pthread_t thread;
    int id, pair;
    volatile int stop;
    int acked[2048];
    int nacked;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct nsl_client c = {.fd = -1};
    for (int i = 0; !w->stop && w->nacked < 2048; i++) {
        if (c.fd < 0 && (c.fd = nsl_test_connect(stacks[w->pair].enclave_url)) < 0) {
            usleep(20000); /* the pair is down: keep trying until told to stop */
            continue;
        }
        char params[256];
        int hash = 0x200000 * (w->id + 1) + i;
        snprintf(params, sizeof params,
                 "{\"accountId\":\"%s\",\"amount\":\"100\",\"txHash\":\"0x%064x\"}", carol_id,
                 hash);
        /* Raw round trips: the harness client's assertions must not run off the main thread. */
        json_t *req = nsl_client_envelope(&c, "gasbank", "deposit", params);
        json_object_set_new(req, "auth", json_pack("{s:s, s:s}", "scheme", "apikey", "apiKey", op));
        char *text = json_dumps(req, JSON_COMPACT), *answer = NULL;
        json_decref(req);
        int rc = text ? nsl_test_roundtrip(c.fd, text, &answer) : -1;
        free(text);
        json_t *reply = rc == 0 ? json_loads(answer, 0, NULL) : NULL;
        free(answer);
        if (json_is_true(json_object_get(reply, "ok")))
            w->acked[w->nacked++] = hash;
        if (rc != 0) { /* the connection broke */
            close(c.fd);
            c.fd = -1;
        }
        json_decref(reply);
    }
    if (c.fd >= 0)
        close(c.fd);
    return NULL;
}

static bool has_taken_lease(int pair)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "grep -q pricefeed_scheduler_lease_taken '%s/enclave.log'",
             stacks[pair].dir);
    return system(cmd) == 0;
}

static bool took_lease(void *ctx)
{
    return has_taken_lease(*(int *)ctx);
}

static bool some_acked(void *ctx)
{
    struct worker *w = ctx;
    for (int i = 0; i < 4; i++)
        if (w[i].nacked < 3)
            return false;
    return true;
}

static bool deposited(json_t *history, int hash)
{
    char want[65];
    snprintf(want, sizeof want, "%064x", hash);
    size_t i;
    json_t *e;
    json_array_foreach(history, i, e)
    {
        const char *v = str(e, "txHash");
        if (v && strcmp(v, want) == 0)
            return true;
    }
    return false;
}

static json_t *all_history(int pair, const char *account)
{
    json_t *all = json_array();
    char params[200];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\",\"limit\":1000}", account);
    for (;;) {
        json_t *reply = admin_on(pair, "gasbank", "history", params);
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

static void test_sigkill_of_a_pair_loses_nothing_and_the_other_takes_the_lease(void **state)
{
    (void)state;
    /* Exactly one pair runs the price scheduler: kill that one. */
    bool holder0 = has_taken_lease(0), holder1 = has_taken_lease(1);
    assert_true(holder0 != holder1);
    int victim = holder0 ? 0 : 1, survivor = 1 - victim;
    struct worker *w = calloc(4, sizeof *w);
    for (int i = 0; i < 4; i++) {
        w[i].id = i;
        w[i].pair = i % PAIRS;
        pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
    }
    assert_int_equal(nsl_wait_until(some_acked, w, 30000), 0);
    nsl_stack_kill(&stacks[victim].parent_pid, SIGKILL);
    nsl_stack_kill(&stacks[victim].enclave_pid, SIGKILL);
    close(clients[victim].fd);
    clients[victim].fd = -1;
    int before = w[survivor].nacked + w[survivor + 2].nacked;
    /* The survivor takes the lease once the dead holder's has expired. */
    assert_int_equal(nsl_wait_until(took_lease, &survivor, 30000), 0);
    for (int i = 0; i < 4; i++)
        w[i].stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(w[i].thread, NULL);
    assert_true(w[survivor].nacked + w[survivor + 2].nacked >= before); /* it kept serving */
    json_t *history = all_history(survivor, carol_id);
    int acked = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < w[i].nacked; j++, acked++)
            if (!deposited(history, w[i].acked[j]))
                fail_msg("acknowledged deposit %x (pair %d) is missing", w[i].acked[j], w[i].pair);
    print_message("      %d deposits acknowledged over both pairs, all present\n", acked);
    json_decref(history);
    free(w);
    expect_audit_ok(survivor);
    /* The killed pair comes back on the same database and serves the same state. */
    assert_int_equal(start_pair(victim), 0);
    json_t *reply =
        nsl_client_apikey(&clients[victim], alice, "secrets", "get", "{\"name\":\"db/password\"}");
    assert_string_equal(str(nsl_client_result(reply), "value"), "v2");
    json_decref(reply);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a killed pair's sockets fail with EPIPE instead */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_pairs_share_one_master_key_and_one_admin),
        cmocka_unit_test(test_secret_written_through_one_pair_is_read_through_the_other),
        cmocka_unit_test(test_function_redeployed_on_one_pair_runs_new_code_on_the_other),
        cmocka_unit_test(test_api_key_revoked_on_one_pair_is_refused_on_the_other),
        cmocka_unit_test(test_signed_request_replayed_to_the_other_pair_is_refused),
        cmocka_unit_test(test_spent_nonces_are_pruned_after_the_window_and_replays_stay_refused),
        cmocka_unit_test(test_racing_gasbank_clients_on_two_pairs_never_overspend),
        cmocka_unit_test(test_sigkill_of_a_pair_loses_nothing_and_the_other_takes_the_lease),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
