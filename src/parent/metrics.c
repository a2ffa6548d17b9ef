/* Counters, gauges and histograms for GET /metrics (see metrics.h). Histogram buckets are stored
 * per bucket and summed at render time, so an observation is two atomic adds and no lock. */
#include "parent/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/routes.h"

static const double bucket_bounds[] = {.0001, .00025, .0005, .001, .0025, .005, .01, .025,
                                       .05,   .1,     .25,   .5,   1,     2.5,  5,   10};
#define BUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0])
/* Writes per group commit: fewer bounds than BUCKETS; observe_in puts overflow at index n. */
static const double commit_write_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
#define COMMIT_WRITE_BUCKETS (sizeof commit_write_bounds / sizeof commit_write_bounds[0])
static const char *const kv_op_names[NSL_KV_OP_COUNT] = {"get",  "put",   "delete",
                                                         "list", "batch", "prune"};
static const char *const egress_outcome_names[NSL_EGRESS_OUTCOME_COUNT] = {
    "ok", "forbidden", "bad_request", "connect_failed", "timeout", "busy"};

struct histogram {
    _Atomic uint64_t buckets[BUCKETS + 1]; /* last one: above every bound */
    _Atomic uint64_t sum_ns;
};

struct nsl_metrics {
    size_t methods;              /* nsl_route_count + 1 ("unknown" last) */
    _Atomic uint64_t *requests;  /* per method */
    struct histogram *durations; /* per method */
    _Atomic uint64_t *failures;  /* per method: calls answered with an error */
    _Atomic uint64_t errors[NSL_ERR_COUNT];
    _Atomic int64_t open_connections;
    struct histogram enclave_rtt;
    _Atomic uint64_t reconnects;
    _Atomic int enclave_up;
    _Atomic uint64_t kv_ops[NSL_KV_OP_COUNT];
    _Atomic uint64_t kv_commits;
    struct histogram kv_commit_writes; /* bounds: commit_write_bounds */
    struct histogram kv_commit_duration;
    _Atomic uint64_t egress_tunnels[NSL_EGRESS_OUTCOME_COUNT];
    _Atomic int64_t egress_open;
    _Atomic uint64_t egress_bytes[2]; /* up, down */
};

struct nsl_metrics *nsl_metrics_new(void)
{
    struct nsl_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->methods = nsl_route_count + 1;
    m->requests = calloc(m->methods, sizeof *m->requests);
    m->durations = calloc(m->methods, sizeof *m->durations);
    m->failures = calloc(m->methods, sizeof *m->failures);
    if (!m->requests || !m->durations || !m->failures) {
        nsl_metrics_free(m);
        return NULL;
    }
    return m;
}

void nsl_metrics_free(struct nsl_metrics *m)
{
    if (!m)
        return;
    free(m->requests);
    free(m->durations);
    free(m->failures);
    free(m);
}

static void observe_in(struct histogram *h, const double *bounds, size_t n, double seconds)
{
    size_t i = 0;
    while (i < n && seconds > bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    uint64_t ns = seconds > 0 ? (uint64_t)(seconds * 1e9) : 0;
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

static void observe(struct histogram *h, double seconds)
{
    observe_in(h, bucket_bounds, BUCKETS, seconds);
}

static size_t method_index(const struct nsl_metrics *m, long route)
{
    return route >= 0 && (size_t)route < nsl_route_count ? (size_t)route : m->methods - 1;
}

void nsl_metrics_observe_call(struct nsl_metrics *m, long route, double seconds)
{
    size_t i = method_index(m, route);
    atomic_fetch_add_explicit(&m->requests[i], 1, memory_order_relaxed);
    observe(&m->durations[i], seconds);
}

void nsl_metrics_count_error(struct nsl_metrics *m, long route, nsl_err code)
{
    if ((unsigned)code < NSL_ERR_COUNT)
        atomic_fetch_add_explicit(&m->errors[code], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->failures[method_index(m, route)], 1, memory_order_relaxed);
}

void nsl_metrics_add_connections(struct nsl_metrics *m, int delta)
{
    atomic_fetch_add_explicit(&m->open_connections, delta, memory_order_relaxed);
}

void nsl_metrics_observe_enclave_rtt(struct nsl_metrics *m, double seconds)
{
    observe(&m->enclave_rtt, seconds);
}

void nsl_metrics_count_reconnect(struct nsl_metrics *m)
{
    atomic_fetch_add_explicit(&m->reconnects, 1, memory_order_relaxed);
}

void nsl_metrics_set_enclave_up(struct nsl_metrics *m, bool up)
{
    atomic_store_explicit(&m->enclave_up, up ? 1 : 0, memory_order_relaxed);
}

void nsl_metrics_count_kv_op(struct nsl_metrics *m, enum nsl_kv_op op)
{
    if ((unsigned)op < NSL_KV_OP_COUNT)
        atomic_fetch_add_explicit(&m->kv_ops[op], 1, memory_order_relaxed);
}

void nsl_metrics_observe_kv_commit(struct nsl_metrics *m, size_t writes, double seconds)
{
    atomic_fetch_add_explicit(&m->kv_commits, 1, memory_order_relaxed);
    observe_in(&m->kv_commit_writes, commit_write_bounds, COMMIT_WRITE_BUCKETS, (double)writes);
    observe(&m->kv_commit_duration, seconds);
}

void nsl_metrics_count_egress_tunnel(struct nsl_metrics *m, enum nsl_egress_outcome outcome)
{
    if ((unsigned)outcome < NSL_EGRESS_OUTCOME_COUNT)
        atomic_fetch_add_explicit(&m->egress_tunnels[outcome], 1, memory_order_relaxed);
}

void nsl_metrics_add_egress_open(struct nsl_metrics *m, int delta)
{
    atomic_fetch_add_explicit(&m->egress_open, delta, memory_order_relaxed);
}

void nsl_metrics_add_egress_bytes(struct nsl_metrics *m, bool up, size_t bytes)
{
    atomic_fetch_add_explicit(&m->egress_bytes[up ? 0 : 1], bytes, memory_order_relaxed);
}

static int appendf(struct nsl_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int appendf(struct nsl_buf *out, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    return nsl_buf_append(out, line, (size_t)n);
}

static int header(struct nsl_buf *out, const char *name, const char *type, const char *help)
{
    return appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Writes one histogram's series; label is "" or `method="x",` (with the trailing comma). */
static int render_histogram_in(struct nsl_buf *out, const char *name, const char *label,
                               const struct histogram *h, const double *bounds, size_t n)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= n; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        char le[32];
        if (i < n)
            snprintf(le, sizeof le, "%g", bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        if (appendf(out, "%s_bucket{%sle=\"%s\"} %llu\n", name, label, le,
                    (unsigned long long)cumulative) != 0)
            return -1;
    }
    char plain[128];
    size_t llen = strlen(label);
    snprintf(plain, sizeof plain, "%s%.*s%s", llen ? "{" : "", (int)(llen ? llen - 1 : 0), label,
             llen ? "}" : "");
    double sum = (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9;
    if (appendf(out, "%s_sum%s %.9f\n%s_count%s %llu\n", name, plain, sum, name, plain,
                (unsigned long long)cumulative) != 0)
        return -1;
    return 0;
}

static int render_histogram(struct nsl_buf *out, const char *name, const char *label,
                            const struct histogram *h)
{
    return render_histogram_in(out, name, label, h, bucket_bounds, BUCKETS);
}

static void method_label(const struct nsl_metrics *m, size_t i, char *out, size_t len)
{
    if (i == m->methods - 1)
        snprintf(out, len, "unknown");
    else
        snprintf(out, len, "%s.%s", nsl_routes[i].service, nsl_routes[i].operation);
}

static int render_methods(struct nsl_metrics *m, struct nsl_buf *out)
{
    char method[128], label[160];
    int rc = header(out, "nsl_http_requests_total", "counter", "JSON-RPC calls by method");
    for (size_t i = 0; rc == 0 && i < m->methods; i++) {
        method_label(m, i, method, sizeof method);
        rc = appendf(out, "nsl_http_requests_total{method=\"%s\"} %llu\n", method,
                     (unsigned long long)atomic_load(&m->requests[i]));
    }
    if (rc == 0)
        rc = header(out, "nsl_http_request_errors_total", "counter",
                    "JSON-RPC calls answered with an error, by method");
    for (size_t i = 0; rc == 0 && i < m->methods; i++) {
        method_label(m, i, method, sizeof method);
        rc = appendf(out, "nsl_http_request_errors_total{method=\"%s\"} %llu\n", method,
                     (unsigned long long)atomic_load(&m->failures[i]));
    }
    if (rc == 0)
        rc = header(out, "nsl_http_request_duration_seconds", "histogram",
                    "JSON-RPC call latency from request arrival to answer, by method");
    for (size_t i = 0; rc == 0 && i < m->methods; i++) {
        method_label(m, i, method, sizeof method);
        snprintf(label, sizeof label, "method=\"%s\",", method);
        rc = render_histogram(out, "nsl_http_request_duration_seconds", label, &m->durations[i]);
    }
    return rc;
}

static int render_kv(struct nsl_metrics *m, struct nsl_buf *out)
{
    int rc = header(out, "nsl_kv_ops_total", "counter", "host-channel storage operations by op");
    for (size_t i = 0; rc == 0 && i < NSL_KV_OP_COUNT; i++)
        rc = appendf(out, "nsl_kv_ops_total{op=\"%s\"} %llu\n", kv_op_names[i],
                     (unsigned long long)atomic_load(&m->kv_ops[i]));
    if (rc == 0)
        rc = header(out, "nsl_kv_commits_total", "counter", "group commits of the blob store");
    if (rc == 0)
        rc = appendf(out, "nsl_kv_commits_total %llu\n",
                     (unsigned long long)atomic_load(&m->kv_commits));
    if (rc == 0)
        rc = header(out, "nsl_kv_commit_writes", "histogram", "writes made durable per commit");
    if (rc == 0)
        rc = render_histogram_in(out, "nsl_kv_commit_writes", "", &m->kv_commit_writes,
                                 commit_write_bounds, COMMIT_WRITE_BUCKETS);
    if (rc == 0)
        rc = header(out, "nsl_kv_commit_duration_seconds", "histogram",
                    "time from BEGIN to a durable COMMIT of one group");
    if (rc == 0)
        rc = render_histogram(out, "nsl_kv_commit_duration_seconds", "", &m->kv_commit_duration);
    return rc;
}

static int render_egress(struct nsl_metrics *m, struct nsl_buf *out)
{
    int rc = header(out, "nsl_egress_tunnels_open", "gauge", "egress tunnels currently open");
    if (rc == 0)
        rc =
            appendf(out, "nsl_egress_tunnels_open %lld\n", (long long)atomic_load(&m->egress_open));
    if (rc == 0)
        rc = header(out, "nsl_egress_tunnels_total", "counter",
                    "egress CONNECT requests by outcome");
    for (size_t i = 0; rc == 0 && i < NSL_EGRESS_OUTCOME_COUNT; i++)
        rc =
            appendf(out, "nsl_egress_tunnels_total{outcome=\"%s\"} %llu\n", egress_outcome_names[i],
                    (unsigned long long)atomic_load(&m->egress_tunnels[i]));
    if (rc == 0)
        rc = header(out, "nsl_egress_bytes_total", "counter",
                    "bytes relayed by egress tunnels (up: enclave to upstream)");
    for (size_t i = 0; rc == 0 && i < 2; i++)
        rc = appendf(out, "nsl_egress_bytes_total{direction=\"%s\"} %llu\n", i ? "down" : "up",
                     (unsigned long long)atomic_load(&m->egress_bytes[i]));
    return rc;
}

int nsl_metrics_render(struct nsl_metrics *m, struct nsl_buf *out)
{
    int rc = render_methods(m, out);
    if (rc == 0)
        rc = header(out, "nsl_rpc_errors_total", "counter", "JSON-RPC errors by data.code");
    for (size_t i = 1; rc == 0 && i < NSL_ERR_COUNT; i++)
        rc = appendf(out, "nsl_rpc_errors_total{code=\"%s\"} %llu\n", nsl_err_name((nsl_err)i),
                     (unsigned long long)atomic_load(&m->errors[i]));
    if (rc == 0)
        rc = header(out, "nsl_http_open_connections", "gauge", "open HTTP connections");
    if (rc == 0)
        rc = appendf(out, "nsl_http_open_connections %lld\n",
                     (long long)atomic_load(&m->open_connections));
    if (rc == 0)
        rc = header(out, "nsl_enclave_rtt_seconds", "histogram",
                    "round-trip time of one enclave request frame");
    if (rc == 0)
        rc = render_histogram(out, "nsl_enclave_rtt_seconds", "", &m->enclave_rtt);
    if (rc == 0)
        rc = header(out, "nsl_enclave_reconnects_total", "counter",
                    "enclave connections re-established after a loss");
    if (rc == 0)
        rc = appendf(out, "nsl_enclave_reconnects_total %llu\n",
                     (unsigned long long)atomic_load(&m->reconnects));
    if (rc == 0)
        rc = header(out, "nsl_enclave_up", "gauge", "1 while a connection to the enclave is open");
    if (rc == 0)
        rc = appendf(out, "nsl_enclave_up %d\n", atomic_load(&m->enclave_up));
    if (rc == 0)
        rc = render_kv(m, out);
    if (rc == 0)
        rc = render_egress(m, out);
    return rc;
}
