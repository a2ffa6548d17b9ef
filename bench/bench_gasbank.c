/* make bench, gas bank figures (issue 10): durable reserve+settle pairs per second with many
 * clients (each pair is two ledger batches: balance CAS + history entry, sealed, over the host
 * channel, made durable by the parent's SQLite) beside raw SQLite with one transaction per write
 * (WAL, synchronous=FULL) measured in the same run. Clients use their own accounts; a second
 * figure has every client on one account, where the enclave serializes the ledger. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/log.h"
#include "harness/bench.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "neo/key.h"

#define CLIENTS 32

static struct nsl_stack stack;
static struct nsl_client client;
static struct nsl_secret *admin;
static char admin_id[64], op_key[128];
static volatile int running;

struct worker {
    pthread_t thread;
    char api_key[128];
    long pairs;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *as_admin(const char *service, const char *operation, const char *params)
{
    struct nsl_signing s = {.key = admin, .account = admin_id};
    return nsl_client_signed(&client, &s, service, operation, params);
}

/* A new account with roles; its API key into key, and a deposit of 10^15 datoshi. */
static void new_account(const char *roles, char *key, int seed)
{
    char params[256], id[64];
    snprintf(params, sizeof params, "{\"name\":\"b%d\",\"roles\":%s}", seed, roles);
    json_t *reply = as_admin("account", "create", params);
    nsl_client_copy_string(reply, "apiKey", key, 128);
    nsl_client_copy_string(reply, "accountId", id, sizeof id);
    json_decref(reply);
    if (!op_key[0])
        return;
    snprintf(params, sizeof params,
             "{\"accountId\":\"%s\",\"amount\":\"1000000000000000\",\"txHash\":\"0x%064x\"}", id,
             seed);
    json_decref(nsl_client_apikey(&client, op_key, "gasbank", "deposit", params));
}

static void prepare(void)
{
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    char pub_hex[67], params[128];
    nsl_neo_key_generate(&admin, NULL);
    nsl_neo_key_public(admin, pub, NULL);
    nsl_hex_encode(pub, sizeof pub, pub_hex);
    snprintf(params, sizeof params, "{\"publicKey\":\"%s\"}", pub_hex);
    json_t *reply =
        nsl_client_send(&client, nsl_client_envelope(&client, "account", "bootstrap", params));
    nsl_client_copy_string(reply, "accountId", admin_id, sizeof admin_id);
    json_decref(reply);
    char key[128];
    new_account("[\"operator\"]", key, 0);
    memcpy(op_key, key, sizeof op_key);
}

static bool ok(json_t *reply)
{
    bool good = json_is_true(json_object_get(reply, "ok"));
    return good;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct nsl_client c = {.fd = nsl_test_connect(stack.enclave_url)};
    while (c.fd >= 0 && __atomic_load_n(&running, __ATOMIC_ACQUIRE)) {
        json_t *r = nsl_client_apikey(&c, w->api_key, "gasbank", "reserve",
                                      "{\"amount\":\"1000\",\"reference\":\"bench\"}");
        if (!ok(r)) {
            json_decref(r);
            break;
        }
        char params[128];
        snprintf(params, sizeof params, "{\"reservationId\":\"%s\",\"amount\":\"600\"}",
                 json_string_value(json_object_get(json_object_get(r, "result"), "reservationId")));
        json_decref(r);
        r = nsl_client_apikey(&c, w->api_key, "gasbank", "settle", params);
        bool good = ok(r);
        json_decref(r);
        if (!good)
            break;
        w->pairs++;
    }
    close(c.fd);
    return NULL;
}

static double run(struct worker *ws, double seconds)
{
    __atomic_store_n(&running, 1, __ATOMIC_RELEASE);
    double start = now_s();
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
    usleep((useconds_t)(seconds * 1e6));
    __atomic_store_n(&running, 0, __ATOMIC_RELEASE);
    long pairs = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(ws[i].thread, NULL);
        pairs += ws[i].pairs;
        ws[i].pairs = 0;
    }
    return (double)pairs / (now_s() - start);
}

int main(int argc, char **argv)
{
    const char *json_path = argc > 1 ? argv[1] : "build/bench.json";
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    nsl_log_init("bench_gasbank", NSL_LOG_ERROR);
    client.fd = nsl_bench_stack_up(&stack);
    if (client.fd < 0) {
        fprintf(stderr, "bench_gasbank: could not start the stack\n");
        nsl_stack_stop(&stack);
        return 1;
    }
    prepare();
    struct worker *ws = calloc(CLIENTS, sizeof *ws);
    for (int i = 0; i < CLIENTS; i++)
        new_account("[\"user\"]", ws[i].api_key, i + 1);
    double many = run(ws, seconds);
    for (int i = 1; i < CLIENTS; i++)
        memcpy(ws[i].api_key, ws[0].api_key, sizeof ws[i].api_key);
    double one = run(ws, seconds);
    double raw = nsl_sqlite_raw_writes(stack.dir, 1, 300, seconds);

    printf("%-52s %12s %12s %9s  %s\n", "figure", "ours", "reference", "ratio", "unit");
    nsl_bench_report(json_path, "gasbank reserve+settle (32 accounts) vs SQLite 1 txn/write", many,
                     raw, "pairs/s");
    nsl_bench_report(json_path, "gasbank reserve+settle (1 account) vs SQLite 1 txn/write", one,
                     raw, "pairs/s");
    free(ws);
    close(client.fd);
    nsl_secret_free(admin);
    return nsl_stack_stop(&stack) == 0 && many > 0 ? 0 : 1;
}
