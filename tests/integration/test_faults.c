/* Fault injection (issue 11): 20 cycles of SIGKILL of nsl-enclave or nsl-parent, chosen at random
 * from a logged seed (NSL_FAULT_SEED=<n> replays the choices; thread timing still varies), at a
 * random moment of a mixed workload over every service: account.create, wallet create and
 * signMessage, secrets put and get, function deploy and invoke, pricefeed.update against a local
 * HTTPS price source, gasbank deposit, reserve+settle and withdraw. After each kill the victim is
 * restarted on the same state dir and sockets and, once healthy, every write acknowledged so far
 * must be there and its sealed blob must open: each account's API key works, each wallet key signs
 * (checked against its public key), each secret reads back, each function answers, each price
 * round is in the history, each gas bank deposit, settle and withdrawal is in its account's
 * history; and gasbank.audit must hold. The workload runs on its own connections with
 * non-asserting calls; anything but success or a fault's own errors (UNAVAILABLE, TIMEOUT, a
 * closed connection) fails the test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/https.h"
#include "neo/account.h"
#include "neo/key.h"

#define CYCLES  20
#define WORKERS 3
#define TESTNET 894710606u
#define MESSAGE "6661756c74" /* "fault", signed by every wallet key after each restart */

/* Sanitized builds run about 5x slower: a shorter window before the kill keeps the test quick
 * while every cycle still kills mid-workload. */
#if defined(__SANITIZE_ADDRESS__)
#define KILL_WINDOW_MS 250
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILL_WINDOW_MS 250
#endif
#endif
#ifndef KILL_WINDOW_MS
#define KILL_WINDOW_MS 600
#endif

enum kind { ACCOUNT, WALLET, SECRET, FUNCTION, ROUND, DEPOSIT, SETTLE, WITHDRAW };
static const char *const kind_names[] = {"account", "wallet",  "secret", "function",
                                         "round",   "deposit", "settle", "withdraw"};

/* One acknowledged write: what to look for after a restart. */
struct ack {
    enum kind kind;
    int owner;   /* worker whose account made it */
    char a[136]; /* account id / key id / secret name / function name / txHash / reservation */
    char b[136]; /* API key / public key / secret value / expected result / txid */
};

struct user {
    char key[128];
    char id[64];
};

static struct {
    struct nsl_stack stack;
    struct nsl_client client; /* the checker's connection */
    struct nsl_secret *admin_key;
    char admin_id[64];
    char op[128];
    struct user users[WORKERS];
    char withdraw_to[40];
    struct nsl_https_server price;
    atomic_int cents;
    char allow[64];
    char ca_file[600];
    pthread_mutex_t lock;
    struct ack *acks;
    size_t nacks, cap;
    int made[8]; /* acknowledged writes by kind */
} t = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void record(enum kind kind, int owner, const char *a, const char *b)
{
    pthread_mutex_lock(&t.lock);
    if (t.nacks == t.cap) {
        t.cap = t.cap ? t.cap * 2 : 256;
        t.acks = realloc(t.acks, t.cap * sizeof *t.acks);
    }
    struct ack *k = &t.acks[t.nacks++];
    k->kind = kind;
    k->owner = owner;
    snprintf(k->a, sizeof k->a, "%s", a);
    snprintf(k->b, sizeof k->b, "%s", b ? b : "");
    t.made[kind]++;
    pthread_mutex_unlock(&t.lock);
}

static const char *str(const json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}

/* ---- the local price source: binance's shape, a new price every answer ---- */

static void price_answer(void *ctx, const char *path, struct nsl_https_response *resp)
{
    (void)ctx;
    (void)path;
    int cents = atomic_fetch_add(&t.cents, 1);
    nsl_https_body(resp, "{\"symbol\":\"NEOUSDT\",\"price\":\"%d.%02d\"}", cents / 100,
                   cents % 100);
}

/* ---- setup ---- */

static void connect_checker(void)
{
    t.client.fd = nsl_test_connect(t.stack.enclave_url);
    assert_true(t.client.fd >= 0);
    assert_int_equal(nsl_wait_storage_ready(t.client.fd, 20000), 0);
}

static bool is_unavailable(json_t *reply)
{
    const char *code = str(json_object_get(reply, "error"), "code");
    return code && strcmp(code, "UNAVAILABLE") == 0;
}

/* One request of the checker (key NULL: signed by the admin). UNAVAILABLE is a fault's own
 * transient answer — under load a host-channel ping can miss its deadline and the channel
 * reconnects — so the checker waits for storage and asks again, for up to 30 s. */
static json_t *checked(const char *key, const char *service, const char *operation,
                       const char *params)
{
    struct nsl_signing s = {.key = t.admin_key, .account = t.admin_id};
    for (int attempt = 0;; attempt++) {
        json_t *reply = key ? nsl_client_apikey(&t.client, key, service, operation, params)
                            : nsl_client_signed(&t.client, &s, service, operation, params);
        if (!is_unavailable(reply) || attempt == 30)
            return reply;
        json_decref(reply);
        assert_int_equal(nsl_wait_storage_ready(t.client.fd, 20000), 0);
        usleep(100000); /* pacing between retries, not a synchronisation */
    }
}

static json_t *admin(const char *service, const char *operation, const char *params)
{
    return checked(NULL, service, operation, params);
}

static void create_account(const char *name, const char *role, char *key, char *id)
{
    char params[128];
    snprintf(params, sizeof params, "{\"name\":\"%s\",\"roles\":[\"%s\"]}", name, role);
    json_t *reply = admin("account", "create", params);
    nsl_client_copy_string(reply, "apiKey", key, 128);
    nsl_client_copy_string(reply, "accountId", id, 64);
    json_decref(reply);
}

static void configure_price_feed(void)
{
    char params[512];
    snprintf(params, sizeof params,
             "{\"pair\":\"NEO/USD\",\"updateIntervalSec\":86400,\"minSources\":1,"
             "\"deviationThresholdBps\":0,\"sources\":[{\"preset\":\"binance\",\"url\":"
             "\"https://127.0.0.1:%d/api/v3/ticker/price?symbol=NEOUSDT\"}]}",
             t.price.port);
    json_t *reply = nsl_client_apikey(&t.client, t.op, "pricefeed", "configure", params);
    nsl_client_result(reply);
    json_decref(reply);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    nsl_log_init("test_faults", NSL_LOG_ERROR);
    struct nsl_stack *st = &t.stack;
    struct nsl_test_ca ca;
    if (nsl_stack_init(st) != 0 || nsl_test_ca_make(st->dir, "price", &ca) != 0)
        return -1;
    atomic_store(&t.cents, 1000);
    if (nsl_https_server_start(&t.price, ca.cert, ca.key, price_answer, NULL) < 0)
        return -1;
    snprintf(t.allow, sizeof t.allow, "127.0.0.1:%d", t.price.port);
    snprintf(t.ca_file, sizeof t.ca_file, "%s", ca.ca_cert);
    const char *enclave_extra[] = {"--rate-limit", "0", "--ca-file", t.ca_file, NULL};
    memcpy(st->enclave_extra, enclave_extra, sizeof enclave_extra);
    st->parent_extra[0] = "--egress-allow";
    st->parent_extra[1] = t.allow;
    if (nsl_stack_start_enclave(st) != 0 || nsl_stack_start_parent(st) != 0)
        return -1;
    connect_checker();
    nsl_client_bootstrap(&t.client, &t.admin_key, t.admin_id, sizeof t.admin_id);
    char op_id[64];
    create_account("op", "operator", t.op, op_id);
    for (int i = 0; i < WORKERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "worker%d", i);
        create_account(name, "user", t.users[i].key, t.users[i].id);
    }
    configure_price_feed();
    struct nsl_secret *to_key = NULL;
    struct nsl_neo_account to;
    nsl_neo_key_generate(&to_key, NULL);
    nsl_neo_account_from_key(to_key, &to, NULL);
    nsl_secret_free(to_key);
    snprintf(t.withdraw_to, sizeof t.withdraw_to, "%s", to.address);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (t.client.fd > 0)
        close(t.client.fd);
    int rc = nsl_stack_stop(&t.stack);
    nsl_https_server_stop(&t.price);
    nsl_secret_free(t.admin_key);
    free(t.acks);
    return rc;
}

/* ---- the workload: non-asserting calls on the worker's own connection ---- */

struct worker {
    pthread_t thread;
    int id;
    unsigned seed;
    int fd;
    struct nsl_client c; /* builds envelopes and signed requests (its fd is unused) */
    atomic_int stop;
    atomic_int acked;
    int serial;        /* makes names unique: starts at cycle * 100000 */
    char failure[512]; /* the first unexpected answer */
};

enum outcome { OK, FAULT, SHORT, REFUSED };

/* Sends request (taking it). OK with *result; FAULT when the connection broke or the answer is a
 * fault's own error; SHORT for INSUFFICIENT_FUNDS (a reserve or withdrawal that met too little
 * money: refused, never lost); REFUSED, with w->failure set, for any other error. */
static enum outcome send_request(struct worker *w, json_t *request, json_t **result)
{
    char *text = json_dumps(request, JSON_COMPACT), *reply_text = NULL;
    json_decref(request);
    *result = NULL;
    if (w->fd < 0 && (w->fd = nsl_test_connect(t.stack.enclave_url)) < 0) {
        free(text);
        usleep(20000);
        return FAULT;
    }
    int rc = nsl_test_roundtrip(w->fd, text, &reply_text);
    free(text);
    if (rc != 0) {
        close(w->fd);
        w->fd = -1;
        return FAULT;
    }
    json_t *reply = json_loads(reply_text, 0, NULL);
    free(reply_text);
    if (json_is_true(json_object_get(reply, "ok"))) {
        *result = json_incref(json_object_get(reply, "result"));
        json_decref(reply);
        return OK;
    }
    const char *code = str(json_object_get(reply, "error"), "code");
    enum outcome o = code && (strcmp(code, "UNAVAILABLE") == 0 || strcmp(code, "TIMEOUT") == 0)
                         ? FAULT
                     : code && strcmp(code, "INSUFFICIENT_FUNDS") == 0 ? SHORT
                                                                       : REFUSED;
    if (o == REFUSED && !w->failure[0]) {
        char *dump = json_dumps(reply, JSON_COMPACT);
        snprintf(w->failure, sizeof w->failure, "%s", dump ? dump : "(unparsable reply)");
        free(dump);
    }
    json_decref(reply);
    return o;
}

static enum outcome call(struct worker *w, const char *key, const char *service,
                         const char *operation, json_t *params, json_t **result)
{
    char *text = json_dumps(params, JSON_COMPACT);
    json_decref(params);
    json_t *req = nsl_client_envelope(&w->c, service, operation, text);
    free(text);
    json_object_set_new(req, "auth", json_pack("{s:s, s:s}", "scheme", "apikey", "apiKey", key));
    return send_request(w, req, result);
}

static void acked(struct worker *w, enum kind kind, const char *a, const char *b)
{
    record(kind, w->id, a, b);
    atomic_fetch_add(&w->acked, 1);
}

static void do_account(struct worker *w)
{
    char params[96];
    snprintf(params, sizeof params, "{\"name\":\"w%d-acct-%d\"}", w->id, w->serial++);
    struct nsl_signing s = {.key = t.admin_key, .account = t.admin_id};
    json_t *r;
    if (send_request(w, nsl_client_signed_request(&w->c, &s, "account", "create", params), &r) ==
        OK)
        acked(w, ACCOUNT, str(r, "accountId"), str(r, "apiKey"));
    json_decref(r);
}

static void do_wallet(struct worker *w)
{
    const char *key = t.users[w->id].key;
    json_t *r;
    if (call(w, key, "wallet", "create", json_object(), &r) != OK)
        return;
    char key_id[64];
    snprintf(key_id, sizeof key_id, "%s", str(r, "keyId"));
    acked(w, WALLET, key_id, str(r, "publicKey"));
    json_decref(r);
    if (call(w, key, "wallet", "signMessage",
             json_pack("{s:s, s:s}", "keyId", key_id, "message", MESSAGE), &r) == OK)
        json_decref(r);
}

static void do_secret(struct worker *w)
{
    char name[48], value[64];
    snprintf(name, sizeof name, "w%d/s%d", w->id, w->serial);
    snprintf(value, sizeof value, "value-%d-%d-%08x", w->id, w->serial++, rand_r(&w->seed));
    json_t *r;
    if (call(w, t.users[w->id].key, "secrets", "put",
             json_pack("{s:s, s:s}", "name", name, "value", value), &r) != OK)
        return;
    acked(w, SECRET, name, value);
    json_decref(r);
    if (call(w, t.users[w->id].key, "secrets", "get", json_pack("{s:s}", "name", name), &r) == OK) {
        if (strcmp(str(r, "value"), value) != 0 && !w->failure[0])
            snprintf(w->failure, sizeof w->failure, "secret %s read back wrong", name);
        json_decref(r);
    }
}

static void do_function(struct worker *w)
{
    char name[48], source[160], expect[24];
    int n = w->serial++;
    snprintf(name, sizeof name, "w%d-f%d", w->id, n);
    snprintf(source, sizeof source, "function main(args) { return {v: args.x * %d + %d}; }", n + 2,
             w->id);
    snprintf(expect, sizeof expect, "%d", 3 * (n + 2) + w->id);
    json_t *r;
    if (call(w, t.users[w->id].key, "function", "deploy",
             json_pack("{s:s, s:s}", "name", name, "source", source), &r) != OK)
        return;
    acked(w, FUNCTION, name, expect);
    json_decref(r);
    if (call(w, t.users[w->id].key, "function", "invoke",
             json_pack("{s:s, s:{s:i}}", "name", name, "args", "x", 3), &r) == OK)
        json_decref(r);
}

static void do_round(struct worker *w)
{
    json_t *r;
    if (call(w, t.op, "pricefeed", "update", json_pack("{s:s}", "pair", "NEO/USD"), &r) != OK)
        return;
    if (json_is_true(json_object_get(r, "published"))) {
        char round[24];
        snprintf(
            round, sizeof round, "%lld",
            (long long)json_integer_value(json_object_get(json_object_get(r, "round"), "round")));
        acked(w, ROUND, round, NULL);
    } else if (!w->failure[0]) {
        snprintf(w->failure, sizeof w->failure, "no round published: %s", str(r, "reason"));
    }
    json_decref(r);
}

static void do_deposit(struct worker *w)
{
    char hash[72];
    snprintf(hash, sizeof hash, "0x%08x%056x", rand_r(&w->seed), w->serial++);
    json_t *r;
    if (call(w, t.op, "gasbank", "deposit",
             json_pack("{s:s, s:s, s:s}", "accountId", t.users[w->id].id, "amount", "1000000",
                       "txHash", hash),
             &r) == OK)
        acked(w, DEPOSIT, hash + 2, NULL);
    json_decref(r);
}

/* Reserve then settle part of it: the ledger's transfer from available to charged. */
static void do_settle(struct worker *w)
{
    const char *key = t.users[w->id].key;
    json_t *r;
    enum outcome o = call(w, key, "gasbank", "reserve",
                          json_pack("{s:s, s:s}", "amount", "5000", "reference", "fault"), &r);
    if (o != OK)
        return;
    char id[64];
    snprintf(id, sizeof id, "%s", str(r, "reservationId"));
    json_decref(r);
    if (call(w, key, "gasbank", "settle",
             json_pack("{s:s, s:s}", "reservationId", id, "amount", "3000"), &r) == OK)
        acked(w, SETTLE, id, NULL);
    json_decref(r);
}

static void do_withdraw(struct worker *w)
{
    char idem[48];
    snprintf(idem, sizeof idem, "w%d-%d-%08x", w->id, w->serial++, rand_r(&w->seed));
    json_t *r;
    if (call(w, t.users[w->id].key, "gasbank", "withdraw",
             json_pack("{s:s, s:s, s:i, s:s, s:i}", "amount", "1000", "toAddress", t.withdraw_to,
                       "network", (json_int_t)TESTNET, "idempotencyKey", idem, "validUntilBlock",
                       1000),
             &r) == OK)
        acked(w, WITHDRAW, idem, str(r, "txid"));
    json_decref(r);
}

/* Deposits come first and often so that reserves and withdrawals find money; the rest by weight. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->fd = -1;
    do_deposit(w);
    while (!atomic_load(&w->stop) && !w->failure[0]) {
        int pick = (int)(rand_r(&w->seed) % 100);
        if (pick < 4)
            do_account(w);
        else if (pick < 20)
            do_wallet(w);
        else if (pick < 40)
            do_secret(w);
        else if (pick < 48)
            do_function(w);
        else if (pick < 54)
            do_round(w);
        else if (pick < 72)
            do_deposit(w);
        else if (pick < 90)
            do_settle(w);
        else
            do_withdraw(w);
    }
    if (w->fd >= 0)
        close(w->fd);
    return NULL;
}

/* ---- checks after each restart ---- */

static json_t *all_history(const char *account)
{
    json_t *all = json_array();
    char params[200];
    snprintf(params, sizeof params, "{\"accountId\":\"%s\",\"limit\":1000}", account);
    for (;;) {
        json_t *reply = checked(t.op, "gasbank", "history", params);
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

static bool has_entry(json_t *entries, const char *field, const char *value)
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

static json_t *as(const char *key, const char *service, const char *operation, json_t *params)
{
    char *text = json_dumps(params, JSON_COMPACT);
    json_decref(params);
    json_t *reply = checked(key, service, operation, text);
    free(text);
    return reply;
}

static void check_wallet(const struct ack *k)
{
    json_t *reply = as(t.users[k->owner].key, "wallet", "signMessage",
                       json_pack("{s:s, s:s}", "keyId", k->a, "message", MESSAGE));
    const char *sig_hex = str(nsl_client_result(reply), "signature");
    uint8_t sig[64], pub[33], msg[5];
    size_t n;
    assert_int_equal(nsl_hex_decode(sig_hex, strlen(sig_hex), sig, sizeof sig, &n), 0);
    assert_int_equal(nsl_hex_decode(k->b, strlen(k->b), pub, sizeof pub, &n), 0);
    assert_int_equal(nsl_hex_decode(MESSAGE, 10, msg, sizeof msg, &n), 0);
    if (nsl_neo_pubkey_verify(pub, sizeof pub, msg, sizeof msg, sig, sizeof sig) != 0)
        fail_msg("wallet key %s signs, but not as its public key", k->a);
    json_decref(reply);
}

static void check_one(const struct ack *k, json_t *const *histories, json_t *rounds)
{
    const char *user = t.users[k->owner].key;
    json_t *reply = NULL;
    char round[24];
    switch (k->kind) {
    case ACCOUNT:
        reply = checked(k->b, "account", "whoami", NULL);
        assert_string_equal(str(nsl_client_result(reply), "accountId"), k->a);
        break;
    case WALLET:
        check_wallet(k);
        break;
    case SECRET:
        reply = as(user, "secrets", "get", json_pack("{s:s}", "name", k->a));
        assert_string_equal(str(nsl_client_result(reply), "value"), k->b);
        break;
    case FUNCTION:
        reply = as(user, "function", "get", json_pack("{s:s}", "name", k->a));
        nsl_client_result(reply);
        break;
    case ROUND:
        for (size_t i = 0; i < json_array_size(rounds); i++) {
            snprintf(
                round, sizeof round, "%lld",
                (long long)json_integer_value(json_object_get(json_array_get(rounds, i), "round")));
            if (strcmp(round, k->a) == 0)
                return;
        }
        fail_msg("acknowledged price round %s is missing", k->a);
        break;
    case DEPOSIT:
        if (!has_entry(histories[k->owner], "txHash", k->a))
            fail_msg("acknowledged deposit %s is missing", k->a);
        break;
    case SETTLE:
        if (!has_entry(histories[k->owner], "reservationId", k->a))
            fail_msg("acknowledged settle of %s is missing", k->a);
        break;
    case WITHDRAW:
        if (!has_entry(histories[k->owner], "txid", k->b))
            fail_msg("acknowledged withdrawal %s is missing", k->b);
        break;
    }
    json_decref(reply);
}

/* Invokes the functions acknowledged since the last check: the sandbox serves after a restart and
 * each function's stored source is the one deployed. */
static void invoke_new_functions(size_t from)
{
    for (size_t i = from; i < t.nacks; i++) {
        const struct ack *k = &t.acks[i];
        if (k->kind != FUNCTION)
            continue;
        json_t *reply = as(t.users[k->owner].key, "function", "invoke",
                           json_pack("{s:s, s:{s:i}}", "name", k->a, "args", "x", 3));
        json_t *v = json_object_get(json_object_get(nsl_client_result(reply), "result"), "v");
        char got[24];
        snprintf(got, sizeof got, "%lld", (long long)json_integer_value(v));
        assert_string_equal(got, k->b);
        json_decref(reply);
    }
}

static void expect_audit_ok(void)
{
    json_t *reply = admin("gasbank", "audit", NULL);
    json_t *r = nsl_client_result(reply);
    if (!json_is_true(json_object_get(r, "ok"))) {
        char *text = json_dumps(r, JSON_COMPACT);
        fail_msg("gas bank audit failed: %s", text);
    }
    json_decref(reply);
}

static void check_everything(size_t new_from)
{
    json_t *histories[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        histories[i] = all_history(t.users[i].id);
    json_t *reply = checked(t.op, "pricefeed", "history", "{\"pair\":\"NEO/USD\",\"limit\":1000}");
    json_t *rounds = json_object_get(nsl_client_result(reply), "rounds");
    for (size_t i = 0; i < t.nacks; i++)
        check_one(&t.acks[i], histories, rounds);
    json_decref(reply);
    for (int i = 0; i < WORKERS; i++)
        json_decref(histories[i]);
    invoke_new_functions(new_from);
    expect_audit_ok();
}

/* ---- the cycles ---- */

struct progress {
    struct worker *w;
    int base[WORKERS];
};

/* Every worker has had a write acknowledged since base: the restarted daemon serves writes. */
static bool all_progressed(void *ctx)
{
    struct progress *p = ctx;
    for (int i = 0; i < WORKERS; i++)
        if (atomic_load(&p->w[i].acked) <= p->base[i] && !p->w[i].failure[0])
            return false;
    return true;
}

static void restart(bool enclave)
{
    if (enclave) {
        close(t.client.fd);
        assert_int_equal(nsl_stack_start_enclave(&t.stack), 0);
        connect_checker();
    } else {
        assert_int_equal(nsl_stack_start_parent(&t.stack), 0);
        assert_int_equal(nsl_wait_storage_ready(t.client.fd, 20000), 0);
    }
}

static void run_cycle(int cycle, unsigned *seed, struct worker *w)
{
    bool enclave = cycle < 2 ? cycle == 0 : rand_r(seed) % 2 == 0;
    int delay_ms = 50 + (int)(rand_r(seed) % KILL_WINDOW_MS);
    size_t before = t.nacks;
    for (int i = 0; i < WORKERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        w[i].seed = rand_r(seed);
        w[i].serial = cycle * 100000;
        assert_int_equal(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
    }
    usleep((useconds_t)delay_ms * 1000); /* the random kill point, not a synchronisation */
    struct progress p = {.w = w};
    for (int i = 0; i < WORKERS; i++)
        p.base[i] = atomic_load(&w[i].acked);
    nsl_stack_kill(enclave ? &t.stack.enclave_pid : &t.stack.parent_pid, SIGKILL);
    restart(enclave);
    int progressed = nsl_wait_until(all_progressed, &p, 30000);
    for (int i = 0; i < WORKERS; i++)
        atomic_store(&w[i].stop, 1);
    for (int i = 0; i < WORKERS; i++) {
        pthread_join(w[i].thread, NULL);
        if (w[i].failure[0])
            fail_msg("cycle %d, worker %d: unexpected answer %s", cycle, i, w[i].failure);
    }
    assert_int_equal(progressed, 0);
    check_everything(before);
    print_message("      cycle %2d: SIGKILL %-7s after %3d ms; %zu writes acknowledged so far, "
                  "all present\n",
                  cycle, enclave ? "enclave" : "parent", delay_ms, t.nacks);
}

static void test_sigkill_cycles_lose_no_acknowledged_write(void **state)
{
    (void)state;
    const char *env = getenv("NSL_FAULT_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    print_message("      seed %u (NSL_FAULT_SEED=%u replays the choices)\n", seed, seed);
    static struct worker w[WORKERS];
    for (int cycle = 0; cycle < CYCLES; cycle++)
        run_cycle(cycle, &seed, w);
    char summary[256] = "";
    for (int k = 0; k <= WITHDRAW; k++) {
        size_t used = strlen(summary);
        snprintf(summary + used, sizeof summary - used, "%s%s %d", k ? ", " : "", kind_names[k],
                 t.made[k]);
        /* Every kind of write happened, so every service was under fault. */
        assert_true(t.made[k] > 0);
    }
    print_message("      %d cycles; acknowledged and verified: %s\n", CYCLES, summary);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_cycles_lose_no_acknowledged_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
