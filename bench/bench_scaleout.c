/* make bench, scale-out figures (issue 13, docs/scale-out.md): a mixed workload (per request
 * cycle: secrets.put, secrets.get, account.whoami; one durable write, two reads, each checked
 * against the shared store) from CLIENTS clients, with one pair on PostgreSQL, with two pairs on
 * the same PostgreSQL database (clients split over them), and with one pair on SQLite, all
 * measured in the same run on a throw-away local PostgreSQL server. On a small machine the
 * pairs share its cores, so the two-pair figure says what the coordination costs rather than
 * how far it scales. */
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

#include "common/log.h"
#include "harness/bench.h"
#include "harness/client.h"
#include "harness/harness.h"
#include "harness/postgres.h"

#define CLIENTS 32

struct worker {
    pthread_t thread;
    const char *url;
    char api_key[128];
    long cycles;
    bool failed;
};

static volatile int running;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool ok(struct nsl_client *c, const char *key, const char *service, const char *operation,
               const char *params)
{
    json_t *r = nsl_client_apikey(c, key, service, operation, params);
    bool good = json_is_true(json_object_get(r, "ok"));
    json_decref(r);
    return good;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct nsl_client c = {.fd = nsl_test_connect(w->url)};
    for (long i = 0; c.fd >= 0 && __atomic_load_n(&running, __ATOMIC_ACQUIRE); i++) {
        char params[96];
        snprintf(params, sizeof params, "{\"name\":\"bench\",\"value\":\"v%ld\"}", i);
        if (!ok(&c, w->api_key, "secrets", "put", params) ||
            !ok(&c, w->api_key, "secrets", "get", "{\"name\":\"bench\"}") ||
            !ok(&c, w->api_key, "account", "whoami", NULL)) {
            w->failed = true;
            break;
        }
        w->cycles++;
    }
    if (c.fd >= 0)
        close(c.fd);
    return NULL;
}

/* Starts `pairs` stacks (on db when not NULL), creates CLIENTS users spread over them, runs the
 * workload for seconds and returns requests (3 per cycle) per second, or -1. */
static double measure(int pairs, const char *db, const char *key_file, double seconds)
{
    struct nsl_stack stacks[2];
    struct worker *ws = calloc(CLIENTS, sizeof *ws);
    double rate = -1;
    int started = 0;
    for (; started < pairs; started++) {
        struct nsl_stack *s = &stacks[started];
        if (nsl_stack_init(s) != 0)
            goto done;
        s->enclave_extra[0] = "--rate-limit";
        s->enclave_extra[1] = "0";
        if (db) {
            const char *extra[] = {"--db", db, "--sim-key-file", key_file, NULL};
            memcpy(s->parent_extra, extra, sizeof extra);
        }
        if (nsl_stack_start_enclave(s) != 0 || nsl_stack_start_parent(s) != 0) {
            started++;
            goto done;
        }
    }
    struct nsl_client admin = {.fd = nsl_test_connect(stacks[0].enclave_url)};
    struct nsl_secret *admin_key = NULL;
    char admin_id[64];
    for (int i = 0; i < pairs; i++) {
        int fd = nsl_test_connect(stacks[i].enclave_url);
        nsl_wait_storage_ready(fd, 30000);
        close(fd);
    }
    nsl_client_bootstrap(&admin, &admin_key, admin_id, sizeof admin_id);
    struct nsl_signing sig = {.key = admin_key, .account = admin_id};
    for (int i = 0; i < CLIENTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%d", i);
        nsl_client_create_user(&admin, &sig, name, ws[i].api_key, sizeof ws[i].api_key);
        ws[i].url = stacks[i % pairs].enclave_url;
    }
    close(admin.fd);
    nsl_secret_free(admin_key);
    __atomic_store_n(&running, 1, __ATOMIC_RELEASE);
    double start = now_s();
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
    usleep((useconds_t)(seconds * 1e6));
    __atomic_store_n(&running, 0, __ATOMIC_RELEASE);
    long cycles = 0;
    bool failed = false;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(ws[i].thread, NULL);
        cycles += ws[i].cycles;
        failed |= ws[i].failed;
    }
    rate = failed ? -1 : 3.0 * (double)cycles / (now_s() - start);
done:
    for (int i = 0; i < started; i++)
        nsl_stack_stop(&stacks[i]);
    free(ws);
    return rate;
}

int main(int argc, char **argv)
{
    const char *json_path = argc > 1 ? argv[1] : "build/bench.json";
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    nsl_log_init("bench_scaleout", NSL_LOG_ERROR);
    struct nsl_pg_server pg;
    char one[256], two[256], key_one[300], key_two[300];
    if (nsl_pg_server_start(&pg) != 0 || nsl_pg_server_create_db(&pg, "one", one, sizeof one) ||
        nsl_pg_server_create_db(&pg, "two", two, sizeof two)) {
        fprintf(stderr, "bench_scaleout: could not start PostgreSQL\n");
        nsl_pg_server_stop(&pg);
        return 1;
    }
    snprintf(key_one, sizeof key_one, "%s/one.key", pg.dir);
    snprintf(key_two, sizeof key_two, "%s/two.key", pg.dir);
    double sqlite = measure(1, NULL, NULL, seconds);
    double pg_one = measure(1, one, key_one, seconds);
    double pg_two = measure(2, two, key_two, seconds);
    nsl_pg_server_stop(&pg);
    if (sqlite < 0 || pg_one < 0 || pg_two < 0) {
        fprintf(stderr, "bench_scaleout: a run failed (sqlite %.0f, one pair %.0f, two %.0f)\n",
                sqlite, pg_one, pg_two);
        return 1;
    }
    nsl_bench_report(json_path, "mixed requests/s, 1 pair on PostgreSQL vs 1 pair on SQLite",
                     pg_one, sqlite, "req/s");
    nsl_bench_report(json_path, "mixed requests/s, 2 pairs on one PostgreSQL vs 1 pair", pg_two,
                     pg_one, "req/s");
    return 0;
}
