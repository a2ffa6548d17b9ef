/* make bench, sealed-storage figures (issue 3): durable writes per second through the store with
 * many concurrent writers (sealing, host channel, parent, SQLite group commit) beside raw SQLite
 * in the same configuration (WAL, synchronous=FULL) with one transaction per write and with one
 * transaction for many; and reads per second beside raw SQLite point reads. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "harness/bench.h"
#include "harness/harness.h"
#include "store/master_key.h"
#include "store/store.h"

#define WRITERS   64
#define READERS   16
#define VALUE_LEN 256

static struct nsl_store *store;
static volatile int running;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct worker {
    int id;
    long done;
    pthread_t thread;
};

static void *writer_main(void *arg)
{
    struct worker *w = arg;
    char value[VALUE_LEN];
    memset(value, 'v', sizeof value);
    for (long i = 0; __atomic_load_n(&running, __ATOMIC_ACQUIRE); i++) {
        char key[48];
        snprintf(key, sizeof key, "w%03d/%08ld", w->id, i);
        struct nsl_error err;
        uint64_t v;
        if (nsl_store_put(store, "bench", key, 0, value, sizeof value, &v, &err) != NSL_OK)
            break;
        w->done++;
    }
    return NULL;
}

static void *reader_main(void *arg)
{
    struct worker *w = arg;
    for (long i = 0; __atomic_load_n(&running, __ATOMIC_ACQUIRE); i++) {
        char key[48];
        snprintf(key, sizeof key, "w%03d/%08ld", (int)(i % WRITERS), i % 50);
        struct nsl_error err;
        struct nsl_secret *value = NULL;
        uint64_t v;
        if (nsl_store_get(store, "bench", key, &value, &v, &err) != NSL_OK)
            break;
        nsl_secret_free(value);
        w->done++;
    }
    return NULL;
}

static double run_workers(int n, void *(*fn)(void *), double seconds)
{
    struct worker *ws = calloc((size_t)n, sizeof *ws);
    __atomic_store_n(&running, 1, __ATOMIC_RELEASE);
    double start = now_s();
    for (int i = 0; i < n; i++) {
        ws[i].id = i;
        pthread_create(&ws[i].thread, NULL, fn, &ws[i]);
    }
    struct timespec pause = {(time_t)seconds, (long)((seconds - (long)seconds) * 1e9)};
    nanosleep(&pause, NULL);
    __atomic_store_n(&running, 0, __ATOMIC_RELEASE);
    long total = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(ws[i].thread, NULL);
        total += ws[i].done;
    }
    double elapsed = now_s() - start;
    free(ws);
    return (double)total / elapsed;
}

static double raw_sqlite_reads(const char *dir, double seconds)
{
    char path[300];
    snprintf(path, sizeof path, "%s/raw-1000.db", dir);
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT version, value FROM blobs WHERE ns='bench' AND key=?1", -1, &st,
                       NULL);
    long n = 0;
    double start = now_s(), stop = start + seconds;
    while (now_s() < stop) {
        for (int i = 0; i < 100; i++, n++) {
            char key[32];
            snprintf(key, sizeof key, "k%09ld", n % 1000);
            sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
            sqlite3_step(st);
            sqlite3_reset(st);
        }
    }
    double rate = (double)n / (now_s() - start);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rate;
}

static bool connected(void *ctx)
{
    struct nsl_hostchan_status st;
    nsl_hostchan_get_status(ctx, &st);
    return st.connected;
}

int main(int argc, char **argv)
{
    const char *json_path = argc > 1 ? argv[1] : "build/bench.json";
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    nsl_log_init("bench_store", NSL_LOG_ERROR);
    nsl_secure_heap_init(1 << 16);
    struct nsl_stack stack;
    nsl_stack_init(&stack);
    if (nsl_stack_start_parent(&stack) != 0) {
        fprintf(stderr, "bench_store: could not start nsl-parent\n");
        nsl_stack_stop(&stack);
        return 1;
    }
    struct nsl_url url;
    nsl_url_parse(stack.host_url, &url, NULL, 0);
    struct nsl_hostchan *hc = nsl_hostchan_start(&url, 4u << 20);
    struct nsl_error err;
    struct nsl_secret *master = NULL;
    if (nsl_wait_until(connected, hc, 15000) != 0 ||
        nsl_master_key_load_sim(hc, 10000, &master, &err) != NSL_OK) {
        fprintf(stderr, "bench_store: no master key\n");
        return 1;
    }
    struct nsl_sealer *sealer = nsl_sealer_new(master);
    nsl_secret_free(master);
    store = nsl_store_new(hc, sealer, 10000);

    double writes = run_workers(WRITERS, writer_main, seconds);
    double reads = run_workers(READERS, reader_main, seconds);
    double raw_one = nsl_sqlite_raw_writes(stack.dir, 1, VALUE_LEN + 29, seconds);
    double raw_many = nsl_sqlite_raw_writes(stack.dir, 1000, VALUE_LEN + 29, seconds);
    double raw_reads = raw_sqlite_reads(stack.dir, seconds);

    printf("%-52s %12s %12s %9s  %s\n", "figure", "ours", "reference", "ratio", "unit");
    nsl_bench_report(json_path, "store durable writes (64 writers) vs SQLite 1 txn/write", writes,
                     raw_one, "writes/s");
    nsl_bench_report(json_path, "store durable writes (64 writers) vs SQLite 1000 writes/txn",
                     writes, raw_many, "writes/s");
    nsl_bench_report(json_path, "store reads (16 readers) vs SQLite point reads (1 thread)", reads,
                     raw_reads, "reads/s");
    nsl_store_free(store);
    nsl_sealer_free(sealer);
    nsl_hostchan_stop(hc);
    return nsl_stack_stop(&stack) == 0 && writes > 0 ? 0 : 1;
}
