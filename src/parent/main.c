/* nsl-parent: the parent instance's daemon (ARCHITECTURE §1, §9). Parses options, wires the
 * enclave pool, the HTTP API and the host-channel listener together, stops them cleanly on
 * SIGTERM / SIGINT, and re-reads its log levels on SIGHUP. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/log_output.h"
#include "common/options.h"
#include "parent/config.h"
#include "parent/blobstore.h"
#include "parent/blobstore_migrate.h"
#include "parent/egress.h"
#include "parent/egress_request.h"
#include "parent/enclave_pool.h"
#include "parent/hostchan_server.h"
#include "parent/http.h"
#include "parent/metrics.h"

#define NSL_OPTIONS_OF struct nsl_parent_config

static int check_egress_allow(const char *value, char *why, size_t why_len)
{
    struct nsl_egress_allowlist allow;
    int rc = nsl_egress_allowlist_parse(value, &allow, why, why_len);
    if (rc == 0)
        nsl_egress_allowlist_clear(&allow);
    return rc;
}

static int db_check(const char *value, char *why, size_t why_len)
{
    if (!value[0] || strncmp(value, "postgres://", 11) == 0 ||
        strncmp(value, "postgresql://", 13) == 0)
        return 0;
    snprintf(why, why_len, "must be empty (SQLite) or a postgres:// URL");
    return -1;
}

/* How long an info or debug line may wait to be written with others (docs/logging.md): the
 * access log is one line per HTTP request, and a write(2) each cost the wallet bench ~2 us of
 * its ~40 us of parent CPU per request. */
#define LOG_FLUSH_MS   50
#define MIGRATE_PREFIX "sqlite:"

static int migrate_check(const char *value, char *why, size_t why_len)
{
    if (!value[0])
        return 0;
    if (strncmp(value, MIGRATE_PREFIX, strlen(MIGRATE_PREFIX)) != 0) {
        snprintf(why, why_len, "must be empty or sqlite:PATH (a parent's nsl.db)");
        return -1;
    }
    return nsl_option_check_path(value + strlen(MIGRATE_PREFIX), why, why_len);
}

static int optional_path_check(const char *value, char *why, size_t why_len)
{
    return value[0] ? nsl_option_check_path(value, why, why_len) : 0;
}

static const struct nsl_option parent_options[] = {
    NSL_OPTION_CHECKED("http", http, "127.0.0.1:8080", nsl_option_check_host_port,
                       NSL_OPTION_FORM_HOST_PORT,
                       "address of the JSON-RPC API (port 0 = any free port)"),
    NSL_OPTION("enclave", NSL_OPT_URL, enclave, "vsock://16:5000", 0, 0, "the enclave's listener"),
    NSL_OPTION("host-listen", NSL_OPT_URL, host_listen, "vsock://ANY:5001", 0, 0,
               "where the enclave's host channel connects"),
    NSL_OPTION_CHECKED("state", state, "/var/lib/nsl", nsl_option_check_path, NSL_OPTION_FORM_PATH,
                       "state directory (created 0700 if missing)"),
    NSL_OPTION("enclave-connections", NSL_OPT_INT, enclave_connections, "0", 0, 256,
               "connections to the enclave; 0 = one per CPU, at most 8"),
    NSL_OPTION("http-threads", NSL_OPT_INT, http_threads, "0", 0, 64,
               "HTTP worker threads; 0 = one per CPU, at most 4"),
    NSL_OPTION("max-body", NSL_OPT_INT, max_body, "1048576", 1024, 16777216,
               "largest request body in bytes"),
    NSL_OPTION("max-batch", NSL_OPT_INT, max_batch, "100", 1, 1000, "most calls in one batch"),
    NSL_OPTION("request-timeout-ms", NSL_OPT_INT, request_timeout_ms, "30000", 1, 3600000,
               "how long the enclave may take to answer"),
    NSL_OPTION("max-frame", NSL_OPT_INT, max_frame, "1048576", 1024, 67108864,
               "largest enclave frame in bytes"),
    NSL_OPTION("host-max-frame", NSL_OPT_INT, host_max_frame, "4194304", 2097152, 67108864,
               "largest host-channel frame in bytes (the enclave's must match)"),
    NSL_OPTION("egress-listen", NSL_OPT_URL, egress_listen, "vsock://ANY:5002", 0, 0,
               "where the enclave's egress client sends HTTP CONNECT (docs/egress.md)"),
    NSL_OPTION_CHECKED("egress-allow", egress_allow, "", check_egress_allow,
                       "HOST:PORT,... (comma-separated, exact matches; empty: nothing)",
                       "targets the enclave may reach through the egress proxy"),
    NSL_OPTION("egress-connect-timeout-ms", NSL_OPT_INT, egress_connect_timeout_ms, "5000", 100,
               600000, "longest upstream TCP connect (then 504)"),
    NSL_OPTION("egress-max-tunnels", NSL_OPT_INT, egress_max_tunnels, "64", 1, 4096,
               "egress tunnels open at once (further CONNECTs get 503)"),
    NSL_OPTION("egress-max-bytes", NSL_OPT_INT, egress_max_bytes, "16777216", 1024, 1073741824,
               "bytes one tunnel may relay, both directions together (then it is closed)"),
    NSL_OPTION("egress-idle-timeout-ms", NSL_OPT_INT, egress_idle_timeout_ms, "30000", 100, 3600000,
               "a tunnel with no traffic for this long is closed"),
    NSL_OPTION_CHOICE("key-provider", key_provider, "kms", "kms|sim",
                      "sim (dev: wrapping key kept on the parent, NOT SECURE) or kms"),
    NSL_OPTION_CHECKED("db", db, "", db_check, "empty, or a postgres:// (postgresql://) URL",
                       "blob store: empty for SQLite under --state, or PostgreSQL, which several "
                       "parents may share (docs/scale-out.md)"),
    NSL_OPTION_CHECKED(
        "sim-key-file", sim_key_file, "", optional_path_check, "empty, or " NSL_OPTION_FORM_PATH,
        "the sim key provider's wrapping key file (empty: <state>/sim-wrapping.key); "
        "parents sharing a database share it"),
    NSL_OPTION_CHECKED(
        "migrate-from", migrate_from, "", migrate_check, "empty, or sqlite:PATH",
        "copy the SQLite blob store at PATH (a stopped parent's nsl.db) into the empty "
        "PostgreSQL database of --db, versions intact, then exit (docs/scale-out.md)"),
    NSL_OPTION_CHECKED("log-level", log_level, "info", nsl_log_levels_check, NSL_LOG_LEVELS_FORM,
                       "what is logged, per component; re-read from --config on SIGHUP"),
    NSL_OPTIONS_END,
};

static const struct nsl_options_spec parent_spec = {
    .program = "nsl-parent",
    .usage = "[OPTIONS]",
    .summary = "Public JSON-RPC API for the Neo Service Layer enclave, and its host channel.",
    .options = parent_options,
};

/* --migrate-from: the copy alone, no server. 0 copied, 1 failed (nothing written), 2 misused. */
static int migrate(const struct nsl_parent_config *cfg)
{
    if (!cfg->db[0]) {
        fprintf(stderr, "nsl-parent: --migrate-from needs --db postgres://… (the target)\n");
        return 2;
    }
    const char *path = cfg->migrate_from + strlen(MIGRATE_PREFIX);
    uint64_t rows = 0;
    struct nsl_error err = {0};
    if (nsl_blobstore_migrate(path, cfg->db, &rows, &err) != NSL_OK) {
        fprintf(stderr, "nsl-parent: migration failed: %s\n", err.message);
        return 1;
    }
    char count[32];
    snprintf(count, sizeof count, "%llu", (unsigned long long)rows);
    nsl_log(NSL_LOG_INFO, "store_migrated", "from", path, "rows", count, NULL);
    return 0;
}

/* Makes dir (and missing parents) with mode 0700. */
static int make_state_dir(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return -1;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* Blocks SIGTERM/SIGINT/SIGHUP in every thread (threads inherit the mask); serve waits for them. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The host channel's context: the blob store and the key provider's setting. */
static struct nsl_blobstore *open_host_context(const struct nsl_parent_config *cfg,
                                               struct nsl_metrics *metrics,
                                               struct nsl_host_context *ctx)
{
    *ctx =
        (struct nsl_host_context){.state_dir = cfg->state,
                                  .sim_key_file = cfg->sim_key_file[0] ? cfg->sim_key_file : NULL,
                                  .metrics = metrics,
                                  .max_frame = (size_t)cfg->host_max_frame,
                                  .sim_keys = strcmp(cfg->key_provider, "sim") == 0};
    if (ctx->sim_keys)
        nsl_log(NSL_LOG_WARN, "sim_key_provider", "security",
                "key material is kept on the parent: NOT SECURE", NULL);
    if (!metrics)
        ctx->store = NULL;
    else if (cfg->db[0])
        ctx->store = nsl_blobstore_open_postgres(cfg->db, metrics);
    else
        ctx->store = nsl_blobstore_open_sqlite(cfg->state, metrics);
    return ctx->store;
}

/* SIGHUP: the settings are read again as at start (flags over the --config file over defaults)
 * and their log-level takes effect; nothing else changes. Who may signal the process may change
 * its levels: no endpoint is opened for it. */
static void reload_log_levels(int argc, char **argv)
{
    struct nsl_parent_config fresh = {0};
    struct nsl_log_levels levels;
    char why[512] = "the settings no longer parse (the reason is on stderr)";
    if (nsl_options_parse(&parent_spec, &fresh, argc, argv, NULL) == NSL_OPTIONS_OK &&
        nsl_log_levels_parse(fresh.log_level, &levels, why, sizeof why) == 0) {
        nsl_log_levels_apply(&levels);
        nsl_log(NSL_LOG_WARN, "log_level_changed", "log_level", fresh.log_level, "by", "SIGHUP",
                NULL);
    } else {
        nsl_log(NSL_LOG_ERROR, "log_level_unchanged", "reason", why, NULL);
    }
    nsl_options_free(&parent_spec, &fresh);
}

/* Waits for SIGTERM or SIGINT, reloading the log levels on each SIGHUP meanwhile. */
static int wait_for_stop(const sigset_t *signals, int argc, char **argv)
{
    int sig = 0;
    for (;;) {
        if (sigwait(signals, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            return sig;
        reload_log_levels(argc, argv);
    }
}

/* More threads than CPUs only add wake-ups and hand-offs between threads: on 2 CPUs, 4 HTTP
 * threads and 8 pool readers cost the wallet HTTP bench about a fifth of its requests per
 * CPU-second; hence the per-CPU defaults below. */
static int serve(const struct nsl_parent_config *cfg, const sigset_t *signals, int argc,
                 char **argv)
{
    int rc = 1;
    struct nsl_host_context host_ctx;
    struct nsl_metrics *metrics = nsl_metrics_new();
    struct nsl_blobstore *store = open_host_context(cfg, metrics, &host_ctx);
    struct nsl_pool_config pool_cfg = {.url = cfg->enclave,
                                       .connections =
                                           nsl_option_per_cpu(cfg->enclave_connections, 8),
                                       .max_frame = (size_t)cfg->max_frame};
    struct nsl_pool *pool = metrics ? nsl_pool_new(&pool_cfg, metrics) : NULL;
    struct nsl_http_config http_cfg = {.listen = cfg->http,
                                       .threads =
                                           (unsigned)nsl_option_per_cpu(cfg->http_threads, 4),
                                       .max_body = (size_t)cfg->max_body,
                                       .max_batch = (size_t)cfg->max_batch,
                                       .request_timeout_ms = (int)cfg->request_timeout_ms};
    struct nsl_http *http = NULL;
    struct nsl_hostchan *hc = NULL;
    struct nsl_egress_proxy_config egress_cfg = {
        .listen = cfg->egress_listen,
        .allow = cfg->egress_allow,
        .connect_timeout_ms = (int)cfg->egress_connect_timeout_ms,
        .max_tunnels = (size_t)cfg->egress_max_tunnels,
        .max_bytes = (uint64_t)cfg->egress_max_bytes,
        .idle_timeout_ms = (int)cfg->egress_idle_timeout_ms};
    struct nsl_egress_proxy *egress = NULL;
    if (!pool || !store)
        goto cleanup;
    hc = nsl_hostchan_start(cfg->host_listen, (size_t)cfg->host_max_frame, &host_ctx);
    if (!hc)
        goto cleanup;
    egress = nsl_egress_proxy_start(&egress_cfg, metrics);
    if (!egress)
        goto cleanup;
    http = nsl_http_start(&http_cfg, pool, metrics);
    if (!http)
        goto cleanup;
    char port[16], threads[16], connections[16];
    snprintf(port, sizeof port, "%u", nsl_http_port(http));
    snprintf(threads, sizeof threads, "%u", http_cfg.threads);
    snprintf(connections, sizeof connections, "%zu", pool_cfg.connections);
    nsl_log(NSL_LOG_INFO, "started", "http", cfg->http, "port", port, "enclave", cfg->enclave,
            "host_listen", cfg->host_listen, "http_threads", threads, "enclave_connections",
            connections, NULL);
    nsl_log_output_flush(); /* the started line goes out now, not with the first requests */
    int sig = wait_for_stop(signals, argc, argv);
    nsl_log(NSL_LOG_INFO, "stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    rc = 0;
cleanup:
    nsl_pool_stop(pool); /* completes suspended requests, so MHD can stop */
    nsl_http_stop(http);
    nsl_egress_proxy_stop(egress);
    nsl_hostchan_stop(hc); /* answers every write in flight before the store closes */
    nsl_blobstore_close(store);
    nsl_pool_free(pool);
    nsl_metrics_free(metrics);
    return rc;
}

int main(int argc, char **argv)
{
    struct nsl_parent_config cfg = {0};
    struct nsl_log_levels levels;
    char why[512];
    sigset_t signals;
    switch (nsl_options_parse(&parent_spec, &cfg, argc, argv, NULL)) {
    case NSL_OPTIONS_EXIT_SUCCESS:
        nsl_options_free(&parent_spec, &cfg);
        return 0;
    case NSL_OPTIONS_EXIT_FAILURE:
        nsl_options_free(&parent_spec, &cfg);
        return 2;
    case NSL_OPTIONS_OK:
        break;
    }
    if (nsl_log_levels_parse(cfg.log_level, &levels, why, sizeof why) != 0) {
        fprintf(stderr, "nsl-parent: --log-level: %s\n", why);
        nsl_options_free(&parent_spec, &cfg);
        return 2;
    }
    /* --key-provider, --db, --egress-allow, --http and --state were checked by the option table. */
    nsl_log_init("nsl-parent", NSL_LOG_INFO);
    nsl_log_levels_apply(&levels);
    if (cfg.migrate_from[0]) {
        int migrated = migrate(&cfg);
        nsl_options_free(&parent_spec, &cfg);
        return migrated;
    }
    block_signals(&signals);
    int rc = 1;
    if (make_state_dir(cfg.state) != 0)
        nsl_logf(NSL_LOG_ERROR, "state_dir_failed", "%s: %s", cfg.state, strerror(errno));
    else {
        /* After block_signals: the flusher thread must not take SIGTERM from sigwait. */
        if (nsl_log_output_buffer_start(LOG_FLUSH_MS) != 0)
            nsl_log(NSL_LOG_WARN, "log_buffer_failed", "msg", "log lines are written one by one",
                    NULL);
        rc = serve(&cfg, &signals, argc, argv);
        nsl_log_output_buffer_stop();
    }
    nsl_options_free(&parent_spec, &cfg);
    return rc;
}
