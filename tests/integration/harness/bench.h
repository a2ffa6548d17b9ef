/* Benchmark helpers: a closed-loop load generator (N connections, one request in flight on each
 * as redis-benchmark does by default, or a fixed pipeline depth), the Redis reference, and the
 * report that prints each figure beside its reference and records it in build/bench.json. */
#ifndef NSL_TEST_BENCH_H
#define NSL_TEST_BENCH_H

#include <stddef.h>
#include <sys/types.h>

enum nsl_load_protocol { NSL_LOAD_FRAMES, NSL_LOAD_HTTP };

struct nsl_load {
    const char *url; /* unix://… or tcp://… */
    enum nsl_load_protocol protocol;
    const char *request; /* the whole request as sent (frame or HTTP), repeated */
    size_t request_len;
    int connections;
    double seconds;     /* measured time, after a short warm-up */
    const char *expect; /* substring every response must hold (NULL: any response) */
    long failures;      /* out: responses without it */
    int depth;          /* requests kept in flight on each connection (0 means 1) */
};

struct nsl_buf;
/* Length of the first whole response (frame or HTTP/1.1 with Content-Length) at the start of buf:
 * 0 while incomplete, -1 when it cannot be parsed. */
long nsl_load_response_length(enum nsl_load_protocol protocol, const struct nsl_buf *buf);

/* Starts a dev stack for a benchmark (enclave without its per-account rate limit, so the load
 * measures the service, plus the parent), connects to the enclave socket and waits until
 * sealed storage is ready. Returns the connection, or -1 (stop the stack either way). */
struct nsl_stack;
int nsl_bench_stack_up(struct nsl_stack *stack);

/* Runs the load and returns completed requests per second, or -1 on failure. */
double nsl_load_run(struct nsl_load *load);

/* CPU seconds (user + system) a process has used so far, from /proc. */
double nsl_process_cpu_seconds(pid_t pid);
/* The number after "field:" in /proc/PID/status (VmRSS and VmLck in kB, Seccomp, NoNewPrivs, …),
 * or -1. */
long nsl_process_status(pid_t pid, const char *field);
/* Open descriptors of a process (entries of /proc/PID/fd), or -1. */
long nsl_process_open_fds(pid_t pid);
/* A connected loopback TCP pair (127.0.0.1, TCP_NODELAY on both ends), as between an HTTP
 * client and server. Returns 0, or -1 with nothing left open. */
int nsl_tcp_loopback_pair(int *client, int *server);
/* `openssl speed -seconds S ecdsap256` signatures per second, on one core or (cpus > 1) with
 * `-multi cpus`, all together; -1 on failure. */
double nsl_openssl_ecdsa_sign_rate(int seconds, int cpus);

/* Starts a throw-away redis-server on a free loopback port, runs
 * `redis-benchmark -t ping -c clients -n requests` against it and returns PING_MBULK per second,
 * or -1 when Redis is not installed. */
double nsl_redis_ping_rps(int clients, int requests);

/* Raw SQLite in the parent's configuration (WAL, synchronous=FULL, the blob table): durable
 * writes of value_len bytes per second, per_txn writes in each transaction, for seconds. The
 * database is <dir>/raw-<per_txn>.db, left behind for read benchmarks (keys k%09ld). */
double nsl_sqlite_raw_writes(const char *dir, int per_txn, size_t value_len, double seconds);

/* Prints "figure  ours  reference  ratio" and records the row in <build>/bench.json, replacing a
 * row with the same figure name. */
void nsl_bench_report(const char *json_path, const char *figure, double ours, double reference,
                      const char *unit);

#endif
